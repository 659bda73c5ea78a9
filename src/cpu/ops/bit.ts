/**
 * Bit instructions: BT/BTS/BTR/BTC (register and immediate offsets, bit strings in memory),
 * BSF/BSR, POPCNT.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CF, ZF } from "../registers.ts";
import { readE } from "./_operands.ts";

const TWO47 = 140737488355328;

/** BT family with the bit offset in a register (0f a3, ab, b3, bb): `op` 0 BT, 1 BTS, 2 BTR, 3 BTC. */
export function btEG(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const bits = size * 8;
  let off = cpu.readReg(size, i.reg);
  const offHi = cpu.hi;
  if (!i.mem) {
    btApply(cpu, i, off & (bits - 1), false, 0);
    return;
  }
  // A register offset addresses a bit string: signed, any distance from the operand.
  let signed: number;
  if (size === 8) signed = (offHi | 0) * 4294967296 + off;
  else if (size === 4) signed = off | 0;
  else signed = (off << 16) >> 16;
  const word = Math.floor(signed / bits);
  off = signed - word * bits;
  btApply(cpu, i, off, true, word * size);
}

/** BT family with an immediate offset (0f ba /4../7). */
export function btEI(cpu: Cpu, i: Insn): void {
  btApply(cpu, i, i.imm & (i.size * 8 - 1), i.mem, 0);
}

function btApply(cpu: Cpu, i: Insn, bit: number, mem: boolean, delta: number): void {
  const size = i.size;
  let lin = 0, v: number, vh = 0;
  if (mem) {
    lin = cpu.linear(i) + delta;
    // A far bit offset can leave canonical space: #GP(0), or #SS(0) for a stack-based address.
    if (delta !== 0 && (lin < -TWO47 || lin >= TWO47)) {
      cpu.fault(i.base === 4 || i.base === 5 ? 12 : 13, true, 0);
    }
    if (i.op !== 0) cpu.probeWrite(lin, size);
    v = cpu.read(lin, size);
    vh = cpu.hi;
  } else {
    v = cpu.readReg(size, i.rm);
    vh = cpu.hi;
  }
  const inHi = bit >= 32;
  const m = 1 << (inHi ? bit - 32 : bit);
  const cur = inHi ? vh : v;
  const cf = (cur & m) !== 0 ? 1 : 0;
  if (i.op !== 0) {
    let n = cur;
    if (i.op === 1) n = cur | m;
    else if (i.op === 2) n = cur & ~m;
    else n = cur ^ m;
    n >>>= 0;
    if (inHi) vh = n;
    else v = n;
    if (mem) cpu.write(lin, size, v, vh);
    else cpu.writeReg(size, i.rm, v, vh);
  }
  cpu.fl.putArith(CF, cf);
}

/** BSF Gv, Ev (0f bc; also with F3, which is TZCNT only on CPUs with BMI1, not reported by CPUID). */
export function bsf(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  const vh = i.size === 8 ? cpu.hi : 0;
  if (v === 0 && vh === 0) {
    cpu.fl.putArith(ZF, ZF);
    return;
  }
  const n = v !== 0 ? 31 - Math.clz32(v & -v) : 63 - Math.clz32(vh & -vh);
  cpu.writeReg(i.size, i.reg, n, 0);
  cpu.fl.putArith(ZF, 0);
}

/** BSR Gv, Ev (0f bd). */
export function bsr(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  const vh = i.size === 8 ? cpu.hi : 0;
  if (v === 0 && vh === 0) {
    cpu.fl.putArith(ZF, ZF);
    return;
  }
  const n = vh !== 0 ? 63 - Math.clz32(vh) : 31 - Math.clz32(v);
  cpu.writeReg(i.size, i.reg, n, 0);
  cpu.fl.putArith(ZF, 0);
}

/** Number of set bits of a 32-bit value. */
function bitCount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** POPCNT Gv, Ev (f3 0f b8): the number of set bits; ZF set for a zero source, OF SF AF CF PF cleared. */
export function popcnt(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  const vh = i.size === 8 ? cpu.hi : 0;
  const n = bitCount(v) + bitCount(vh);
  cpu.writeReg(i.size, i.reg, n, 0);
  cpu.fl.put((cpu.fl.get() & ~0x8d5) | (n === 0 ? ZF : 0));
}

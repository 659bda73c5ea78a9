/**
 * Exchange-and-operate instructions: CMPXCHG, CMPXCHG8B/CMPXCHG16B and XADD (atomic with LOCK; one
 * CPU makes every instruction atomic here).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { RAX, RBX, RCX, RDX, ZF } from "../registers.ts";
import { alu, ALU_ADD, ALU_CMP } from "./alu.ts";
import { readEForWrite, writeBackE } from "./_operands.ts";

/** CMPXCHG Eb/Ev, Gb/Gv (0f b0, 0f b1): compare the accumulator with the destination. */
export function cmpxchg(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readEForWrite(cpu, i), dh = cpu.hi;
  const a = cpu.readReg(size, RAX), ah = cpu.hi;
  alu(cpu, ALU_CMP, size, a, ah, d, dh);
  const equal = cpu.fl.zf() !== 0;
  if (equal) {
    const s = cpu.readReg(size, i.reg);
    writeBackE(cpu, i, s, cpu.hi);
  } else {
    // "DEST := TEMP" (SDM Vol. 2 CMPXCHG, Operation): the destination is written back unchanged,
    // so a 32-bit register destination is zero-extended (SDM Vol. 1 §3.4.1.1). AMD processors
    // leave a register destination alone (docs/intel_vs_amd.md); hvsim follows the Intel SDM.
    writeBackE(cpu, i, d, dh);
    cpu.writeReg(size, RAX, d, dh);
  }
}

/** XADD Eb/Ev, Gb/Gv (0f c0, 0f c1): exchange, then store the sum. */
export function xadd(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readEForWrite(cpu, i), dh = cpu.hi;
  const s = cpu.readReg(size, i.reg), sh = cpu.hi;
  const r = alu(cpu, ALU_ADD, size, d, dh, s, sh);
  const rh = cpu.hi;
  cpu.writeReg(size, i.reg, d, dh);
  writeBackE(cpu, i, r, rh);
}

/**
 * CMPXCHG8B m64 / CMPXCHG16B m128 (0f c7 /1; REX.W selects 16B): compares EDX:EAX (RDX:RAX) with
 * the memory operand; if equal, ZF = 1 and the operand takes ECX:EBX (RCX:RBX), otherwise ZF = 0,
 * the operand is written back unchanged and EDX:EAX (RDX:RAX) takes its value (32-bit writes
 * zero-extend). Only ZF changes. CMPXCHG16B raises #GP(0) on an operand not aligned to 16 bytes
 * (SDM Vol. 2A CMPXCHG8B/CMPXCHG16B). The operand is checked for writing before anything is read.
 */
export function cmpxchg8b16b(cpu: Cpu, i: Insn): void {
  const lin = cpu.linear(i);
  const g = cpu.gpr;
  if (i.size === 8) {
    if ((lin & 15) !== 0) cpu.gp0();
    cpu.probeWrite(lin, 16);
    const m0 = cpu.read(lin, 8), m0h = cpu.hi;
    const m1 = cpu.read(lin + 8, 8), m1h = cpu.hi;
    const equal = m0 === g[2 * RAX] && m0h === g[2 * RAX + 1] && m1 === g[2 * RDX] && m1h === g[2 * RDX + 1];
    if (equal) {
      cpu.write(lin, 8, g[2 * RBX], g[2 * RBX + 1]);
      cpu.write(lin + 8, 8, g[2 * RCX], g[2 * RCX + 1]);
    } else {
      cpu.write(lin, 8, m0, m0h);
      cpu.write(lin + 8, 8, m1, m1h);
      cpu.writeReg(8, RAX, m0, m0h);
      cpu.writeReg(8, RDX, m1, m1h);
    }
    cpu.fl.putArith(ZF, equal ? ZF : 0);
    return;
  }
  cpu.probeWrite(lin, 8);
  const lo = cpu.read(lin, 8), hi = cpu.hi;
  const equal = lo === g[2 * RAX] && hi === g[2 * RDX];
  if (equal) cpu.write(lin, 8, g[2 * RBX], g[2 * RCX]);
  else {
    cpu.write(lin, 8, lo, hi);
    cpu.writeReg(4, RAX, lo, 0);
    cpu.writeReg(4, RDX, hi, 0);
  }
  cpu.fl.putArith(ZF, equal ? ZF : 0);
}

/**
 * Data movement: MOV, MOVZX, MOVSX, MOVSXD, LEA, XCHG, BSWAP, CMOVcc, SETcc, CBW/CWDE/CDQE,
 * CWD/CDQ/CQO.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { RAX, RBX, RDX } from "../registers.ts";
import { NONE } from "../insn.ts";
import { readE, readEForWrite, writeBackE, writeE } from "./_operands.ts";

/** MOV Eb/Ev, Gb/Gv (88, 89). */
export function movEG(cpu: Cpu, i: Insn): void {
  const v = cpu.readReg(i.size, i.reg);
  writeE(cpu, i, v, cpu.hi);
}

/** MOV Gb/Gv, Eb/Ev (8a, 8b). */
export function movGE(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  cpu.writeReg(i.size, i.reg, v, cpu.hi);
}

/** MOV Eb/Ev, Ib/Iz (c6 /0, c7 /0). */
export function movEI(cpu: Cpu, i: Insn): void {
  writeE(cpu, i, i.imm, i.immHi);
}

/** MOV r, imm (b0+r, b8+r; with REX.W a full 64-bit immediate). */
export function movRI(cpu: Cpu, i: Insn): void {
  cpu.writeReg(i.size, i.reg, i.imm, i.immHi);
}

/** MOV AL/eAX, moffs and moffs, AL/eAX (a0..a3). */
export function movMoffs(cpu: Cpu, i: Insn): void {
  const lo = i.disp >>> 0;
  const hi = i.asize === 4 ? 0 : i.immHi;
  const lin = cpu.withSegmentBase(i.seg, cpu.canonical(lo, hi));
  if (i.op === 0) {
    const v = cpu.read(lin, i.size);
    cpu.writeReg(i.size, RAX, v, cpu.hi);
  } else {
    const v = cpu.readReg(i.size, RAX);
    cpu.write(lin, i.size, v, cpu.hi);
  }
}

/** MOVZX Gv, Eb (0f b6) and Gv, Ew (0f b7): `op` is the source size. */
export function movzx(cpu: Cpu, i: Insn): void {
  const v = i.mem ? cpu.read(cpu.linear(i), i.op) : cpu.readReg(i.op, i.rm);
  cpu.writeReg(i.size, i.reg, v, 0);
}

/** MOVSX Gv, Eb (0f be) / Gv, Ew (0f bf), MOVSXD Gv, Ed (63): `op` is the source size. */
export function movsx(cpu: Cpu, i: Insn): void {
  const src = i.op;
  let v = i.mem ? cpu.read(cpu.linear(i), src) : cpu.readReg(src, i.rm);
  if (src === 1) v = (v << 24) >> 24;
  else if (src === 2) v = (v << 16) >> 16;
  else v = v | 0;
  const size = i.size;
  if (size === 2) cpu.writeReg(2, i.reg, v & 0xffff, 0);
  else cpu.writeReg(size, i.reg, v >>> 0, v < 0 ? 0xffffffff : 0);
}

/** LEA Gv, M (8d). */
export function lea(cpu: Cpu, i: Insn): void {
  cpu.effectiveAddress(i);
  cpu.writeReg(i.size, i.reg, i.size === 2 ? cpu.eaLo & 0xffff : cpu.eaLo, cpu.eaHi);
}

/** XCHG Eb/Ev, Gb/Gv (86, 87; always locked when memory). */
export function xchgEG(cpu: Cpu, i: Insn): void {
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  const b = cpu.readReg(i.size, i.reg);
  writeBackE(cpu, i, b, cpu.hi);
  cpu.writeReg(i.size, i.reg, a, ah);
}

/** XCHG eAX, r (90+r); 90 without REX.B is NOP. */
export function xchgAR(cpu: Cpu, i: Insn): void {
  if (i.reg === RAX) return; // 90 is NOP: XCHG EAX, EAX would otherwise clear RAX[63:32]
  const a = cpu.readReg(i.size, RAX);
  const ah = cpu.hi;
  const b = cpu.readReg(i.size, i.reg);
  cpu.writeReg(i.size, RAX, b, cpu.hi);
  cpu.writeReg(i.size, i.reg, a, ah);
}

/** BSWAP r (0f c8+r). */
export function bswap(cpu: Cpu, i: Insn): void {
  const v = cpu.readReg(i.size, i.reg);
  const h = cpu.hi;
  const sw = (x: number) =>
    (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
  if (i.size === 8) cpu.writeReg(8, i.reg, sw(h), sw(v));
  else if (i.size === 4) cpu.writeReg(4, i.reg, sw(v), 0);
  else cpu.writeReg(2, i.reg, 0, 0); // 16-bit BSWAP is undefined; hardware gives 0
}

/** CMOVcc Gv, Ev (0f 40+cc): the source is read whatever the condition. */
export function cmov(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  const h = cpu.hi;
  if (cpu.fl.cond(i.op)) cpu.writeReg(i.size, i.reg, v, h);
  else if (i.size === 4) cpu.writeReg(4, i.reg, cpu.readReg(4, i.reg), 0); // 32-bit CMOV always zero-extends
}

/** SETcc Eb (0f 90+cc). */
export function setcc(cpu: Cpu, i: Insn): void {
  writeE(cpu, i, cpu.fl.cond(i.op) ? 1 : 0, 0);
}

/** CBW/CWDE/CDQE (98). */
export function cbw(cpu: Cpu, i: Insn): void {
  const g = cpu.gpr;
  if (i.size === 2) {
    const v = (g[0] << 24) >> 24;
    cpu.writeReg(2, RAX, v & 0xffff, 0);
  } else if (i.size === 4) {
    const v = (g[0] << 16) >> 16;
    cpu.writeReg(4, RAX, v >>> 0, 0);
  } else {
    g[1] = (g[0] | 0) < 0 ? 0xffffffff : 0;
  }
}

/** CWD/CDQ/CQO (99). */
export function cwd(cpu: Cpu, i: Insn): void {
  const g = cpu.gpr;
  if (i.size === 2) cpu.writeReg(2, RDX, (g[0] & 0x8000) !== 0 ? 0xffff : 0, 0);
  else if (i.size === 4) cpu.writeReg(4, RDX, (g[0] | 0) < 0 ? 0xffffffff : 0, 0);
  else {
    const s = (g[1] | 0) < 0 ? 0xffffffff : 0;
    cpu.writeReg(8, RDX, s, s);
  }
}

/**
 * XLAT/XLATB (d7): AL = the byte at [RBX + AL] (EBX with a 67 prefix), in DS or the segment an
 * override names (SDM Vol. 2 XLAT). The entry has no ModRM: the operand is set up here each time.
 */
export function xlat(cpu: Cpu, i: Insn): void {
  i.base = RBX;
  i.index = NONE;
  i.disp = cpu.gpr[2 * RAX] & 0xff;
  cpu.writeReg(1, RAX, cpu.read(cpu.linear(i), 1), 0);
}

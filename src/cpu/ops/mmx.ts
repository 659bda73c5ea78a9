/**
 * MMX: the integer SIMD instructions on the eight 64-bit MMX registers (SDM Vol. 1 ch. 9, Vol. 2
 * App. A.3 without a mandatory prefix). MMn is the significand of the x87 physical register Rn
 * (SDM Vol. 1 §9.5): every MMX instruction but EMMS sets TOP to 0 and tags all eight registers
 * valid, and a write to MMn sets bits 79:64 of Rn to ones; EMMS tags them all empty.
 *
 * The arithmetic is the SSE2 implementation's (sse_int.ts, sse_move.ts), run on 64-bit operands:
 * the MMX operands are staged in the low halves of scratch XMM registers and the handler of the XMM
 * form computes; its low 64 bits are the MMX result (its high 64 bits for PUNPCKH*, which are the
 * upper half of PUNPCKL* on the same operands; PACK* packs both operands staged in one register). The
 * SSSE3 forms (0f 38 and 0f 3a 0f without a prefix) reuse ssse3.ts the same way: PHADD/PHSUB stage
 * both operands in one register as PACK* does, PSHUFB stages the destination in both halves (a
 * selector's bit 3 then picks the same byte as bits 2:0), and PALIGNR stages the 16-byte
 * destination:source composite as the source of an XMM PALIGNR with a zero destination.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import { Insn } from "../insn.ts";
import type { Handler } from "../insn.ts";
import { CR0_EM, CR0_NE, CR0_TS, CR4_OSFXSR, EXC_MF, EXC_NM, RDI } from "../registers.ts";
import { sseCheck } from "./_sse.ts";

/** Scratch XMM register: the destination operand. */
const T_A = 18;
/** Scratch XMM register: the source operand. */
const T_B = 19;

/** How an MMX form maps onto its XMM handler. */
export const MM_BINARY = 0;
/** PUNPCKH*: the high half of the XMM PUNPCKL* result. */
export const MM_UNPACK_HIGH = 1;
/** PACK*: both operands staged in one register. */
export const MM_PACK = 2;
/** Shift by an immediate (group 12-14): the operand is ModRM.rm. */
export const MM_SHIFT_IMM = 3;
/** PMOVMSKB, PEXTRW: a general register destination. */
export const MM_TO_GPR = 4;
/** PINSRW: a general register or m16 source. */
export const MM_FROM_GPR = 5;
/** PSHUFB: the destination staged in both halves. */
export const MM_DEST_TWICE = 6;
/** PALIGNR: the destination:source composite staged as the source, the destination zero. */
export const MM_ALIGN = 7;

/**
 * The checks of every MMX instruction (SDM Vol. 1 §9.6, Vol. 3 §2.5): #UD with CR0.EM, #NM with
 * CR0.TS, #MF for a pending unmasked x87 exception (CR0.NE=1); then the x87 transition of SDM Vol. 1
 * Table 9-3: TOP = 0, all tags valid.
 */
export function mmxEnter(cpu: Cpu): void {
  if ((cpu.cr0 & CR0_EM) !== 0) cpu.ud();
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.fault(EXC_NM, false, 0);
  const f = cpu.fpu;
  if ((f.fsw & 0x80) !== 0 && (cpu.cr0 & CR0_NE) !== 0) cpu.fault(EXC_MF, false, 0);
  f.fsw &= ~(7 << 11);
  f.ftw = 0;
}

/** Copies MMn into the low half of XMM register t (the high half zero). */
function stage(cpu: Cpu, n: number, t: number): void {
  const st = cpu.fpu.st, b = cpu.fpu.xmmU8;
  for (let k = 0; k < 8; k++) b[16 * t + k] = st[10 * n + k];
  for (let k = 8; k < 16; k++) b[16 * t + k] = 0;
}

/** Writes MMn from 8 bytes of XMM register t at byte offset `at` (0 or 8), exponent bits to ones. */
function unstage(cpu: Cpu, n: number, t: number, at: number): void {
  const st = cpu.fpu.st, b = cpu.fpu.xmmU8;
  for (let k = 0; k < 8; k++) st[10 * n + k] = b[16 * t + at + k];
  st[10 * n + 8] = 0xff;
  st[10 * n + 9] = 0xff;
}

/** Writes MMn from two 32-bit halves. */
export function setMm(cpu: Cpu, n: number, lo: number, hi: number): void {
  const st = cpu.fpu.st;
  for (let k = 0; k < 4; k++) {
    st[10 * n + k] = (lo >>> (8 * k)) & 0xff;
    st[10 * n + 4 + k] = (hi >>> (8 * k)) & 0xff;
  }
  st[10 * n + 8] = 0xff;
  st[10 * n + 9] = 0xff;
}

/** MMn's low 32 bits; the high half is left in `cpu.hi`. */
export function getMm(cpu: Cpu, n: number): number {
  const st = cpu.fpu.st;
  const w = (o: number) => (st[o] | (st[o + 1] << 8) | (st[o + 2] << 16) | (st[o + 3] << 24)) >>> 0;
  cpu.hi = w(10 * n + 4);
  return w(10 * n);
}

/** Runs the XMM handler `h` on the scratch registers (register operands only: it cannot fault). */
function runXmm(cpu: Cpu, h: Handler, si: Insn): void {
  // The MMX checks are done; the XMM handler's own (CR4.OSFXSR) do not apply to MMX.
  const cr4 = cpu.cr4;
  cpu.cr4 |= CR4_OSFXSR;
  try {
    h(cpu, si);
  } finally {
    cpu.cr4 = cr4;
  }
}

function scratchInsn(i: Insn, h: Handler): Insn {
  const si = new Insn(h);
  Object.assign(si, i);
  return si;
}

/**
 * The MMX form of an XMM integer handler: `h` computes, `mode` (MM_*) says how the operands map.
 */
export function mmxForm(h: Handler, mode: number): Handler {
  return (cpu: Cpu, i: Insn) => {
    mmxEnter(cpu);
    const si = scratchInsn(i, h);
    switch (mode) {
      case MM_SHIFT_IMM: {
        const n = i.rm & 7;
        stage(cpu, n, T_A);
        si.rm = T_A;
        si.mem = false;
        runXmm(cpu, h, si);
        unstage(cpu, n, T_A, 0);
        return;
      }
      case MM_TO_GPR:
        stage(cpu, i.rm & 7, T_B);
        si.rm = T_B;
        si.imm = i.imm & 3;
        runXmm(cpu, h, si);
        return;
      case MM_FROM_GPR: {
        const n = i.reg & 7;
        stage(cpu, n, T_A);
        si.reg = T_A;
        si.imm = i.imm & 3;
        runXmm(cpu, h, si);
        unstage(cpu, n, T_A, 0);
        return;
      }
    }
    const d = i.reg & 7;
    // The source: MMn or m64 (no alignment rule for MMX memory operands).
    if (i.mem) {
      const lin = cpu.linear(i);
      const lo = cpu.read(lin, 8), hi = cpu.hi;
      const x = cpu.fpu.xmm;
      x[4 * T_B] = lo;
      x[4 * T_B + 1] = hi;
      x[4 * T_B + 2] = 0;
      x[4 * T_B + 3] = 0;
    } else stage(cpu, i.rm & 7, T_B);
    stage(cpu, d, T_A);
    si.reg = T_A;
    si.rm = T_B;
    si.mem = false;
    const x = cpu.fpu.xmm;
    if (mode === MM_PACK) {
      x[4 * T_A + 2] = x[4 * T_B];
      x[4 * T_A + 3] = x[4 * T_B + 1];
      si.rm = T_A;
    } else if (mode === MM_DEST_TWICE) {
      x[4 * T_A + 2] = x[4 * T_A];
      x[4 * T_A + 3] = x[4 * T_A + 1];
    } else if (mode === MM_ALIGN) {
      x[4 * T_B + 2] = x[4 * T_A];
      x[4 * T_B + 3] = x[4 * T_A + 1];
      x.fill(0, 4 * T_A, 4 * T_A + 4);
    }
    runXmm(cpu, h, si);
    unstage(cpu, d, T_A, mode === MM_UNPACK_HIGH ? 8 : 0);
  };
}

/** EMMS (0f 77): tags every x87 register empty, TOP = 0 (SDM Vol. 1 Table 9-3). */
export function emms(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr0 & CR0_EM) !== 0) cpu.ud();
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.fault(EXC_NM, false, 0);
  const f = cpu.fpu;
  if ((f.fsw & 0x80) !== 0 && (cpu.cr0 & CR0_NE) !== 0) cpu.fault(EXC_MF, false, 0);
  f.ftw = 0xffff;
  f.fsw &= ~(7 << 11);
}

/** MOVD/MOVQ mm, r/m32/64 (0f 6e, REX.W for 64 bits): zero-extended. */
export function movdMmE(cpu: Cpu, i: Insn): void {
  mmxEnter(cpu);
  let lo: number, hi = 0;
  if (i.mem) {
    lo = cpu.read(cpu.linear(i), i.size === 8 ? 8 : 4);
    if (i.size === 8) hi = cpu.hi;
  } else {
    lo = cpu.readReg(i.size === 8 ? 8 : 4, i.rm);
    if (i.size === 8) hi = cpu.hi;
  }
  setMm(cpu, i.reg & 7, lo, hi);
}

/** MOVD/MOVQ r/m32/64, mm (0f 7e). */
export function movdEMm(cpu: Cpu, i: Insn): void {
  mmxEnter(cpu);
  const lo = getMm(cpu, i.reg & 7), hi = cpu.hi;
  if (i.mem) cpu.write(cpu.linear(i), i.size === 8 ? 8 : 4, lo, hi);
  else cpu.writeReg(i.size === 8 ? 8 : 4, i.rm, lo, hi);
}

/** MOVQ mm, mm/m64 (0f 6f). */
export function movqMmE(cpu: Cpu, i: Insn): void {
  mmxEnter(cpu);
  let lo: number, hi: number;
  if (i.mem) {
    lo = cpu.read(cpu.linear(i), 8);
    hi = cpu.hi;
  } else {
    lo = getMm(cpu, i.rm & 7);
    hi = cpu.hi;
  }
  setMm(cpu, i.reg & 7, lo, hi);
}

/** MOVQ mm/m64, mm (0f 7f) and MOVNTQ m64, mm (0f e7). */
export function movqEMm(cpu: Cpu, i: Insn): void {
  mmxEnter(cpu);
  const lo = getMm(cpu, i.reg & 7), hi = cpu.hi;
  if (i.mem) cpu.write(cpu.linear(i), 8, lo, hi);
  else setMm(cpu, i.rm & 7, lo, hi);
}

/** MOVQ2DQ xmm, mm (f3 0f d6): XMM = MMn zero-extended. */
export function movq2dq(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  mmxEnter(cpu);
  const lo = getMm(cpu, i.rm & 7), hi = cpu.hi;
  const x = cpu.fpu.xmm;
  x[4 * i.reg] = lo;
  x[4 * i.reg + 1] = hi;
  x[4 * i.reg + 2] = 0;
  x[4 * i.reg + 3] = 0;
}

/** MOVDQ2Q mm, xmm (f2 0f d6): MMn = the low 64 bits of XMM. */
export function movdq2q(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  mmxEnter(cpu);
  const x = cpu.fpu.xmm;
  setMm(cpu, i.reg & 7, x[4 * i.rm], x[4 * i.rm + 1]);
}

/** MASKMOVQ mm, mm (0f f7): the bytes of MM(reg) whose MM(rm) mask byte has bit 7 set go to [RDI]. */
export function maskmovq(cpu: Cpu, i: Insn): void {
  mmxEnter(cpu);
  const hi = i.asize === 4 ? 0 : cpu.gpr[2 * RDI + 1];
  const base = cpu.withSegmentBase(i.seg, cpu.canonical(cpu.gpr[2 * RDI], hi));
  const st = cpu.fpu.st, data = 10 * (i.reg & 7), mask = 10 * (i.rm & 7);
  let any = false;
  for (let k = 0; k < 8; k++) if ((st[mask + k] & 0x80) !== 0) any = true;
  if (any) cpu.probeWrite(base, 8);
  for (let k = 0; k < 8; k++) if ((st[mask + k] & 0x80) !== 0) cpu.write(base + k, 1, st[data + k], 0);
  // The register operands are unchanged but, like any MMX instruction, marked in use (exponent untouched).
}

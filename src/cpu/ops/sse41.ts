/**
 * SSE4.1 (SDM Vol. 2): blends (PBLENDVB, BLENDVPS/PD with the implicit XMM0 mask, BLENDPS/PD,
 * PBLENDW), PMINSB/SD, PMINUW/UD, PMAXSB/SD/UW/UD, PMOVSX/PMOVZX, PTEST, ROUNDPS/PD/SS/SD, DPPS/DPPD,
 * INSERTPS, EXTRACTPS, PEXTRB/W/D/Q, PINSRB/D/Q, PMULLD, PMULDQ, PCMPEQQ, PACKUSDW, MPSADBW,
 * PHMINPOSUW (MOVNTDQA is MOVDQA's handler). The floating-point ones go lane by lane through the
 * SSE2 lane operations of sse_fp.ts (rounding, DAZ/FTZ, NaNs, flags and #XM as ADDPS/MULPS).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import { type FpuState, MX_DAZ, MX_IE, MX_PE, MX_RC_SHIFT } from "../fpu_state.ts";
import type { Insn } from "../insn.ts";
import { CF, ZF } from "../registers.ts";
import { OP_ADD, OP_MUL, RC_DOWN, RC_NEAREST, RC_UP } from "../softfloat.ts";
import { readE } from "./_operands.ts";
import { copy128, src128, src32, src64, sseCheck, T_DST, T_SRC } from "./_sse.ts";
import { arithD, arithS, finish, K_DEN, K_QNAN, K_SNAN, kindD, kindS } from "./sse_fp.ts";

/** Scratch XMM registers for intermediate results (DPPS/DPPD). */
const T_TMP1 = 18, T_TMP2 = 19;

/**
 * PBLENDVB (op 1), BLENDVPS (op 4), BLENDVPD (op 8): each element from the source where the
 * element of XMM0 has its top bit set, else kept.
 */
export function blendv(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const b = cpu.fpu.xmmU8;
  const s = 16 * src128(cpu, i, true), d = 16 * i.reg, t = 16 * T_DST;
  const n = i.op;
  for (let e = 0; e < 16; e += n) {
    const from = (b[e + n - 1] & 0x80) !== 0 ? s : d; // XMM0's element sign bit
    for (let k = e; k < e + n; k++) b[t + k] = b[from + k];
  }
  copy128(cpu.fpu.xmm, i.reg, T_DST);
}

/** BLENDPS (op 4), BLENDPD (op 8), PBLENDW (op 2): element k from the source where imm8 bit k is set. */
export function blendImm(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const b = cpu.fpu.xmmU8;
  const s = 16 * src128(cpu, i, true), d = 16 * i.reg;
  const n = i.op;
  for (let e = 0, bit = 0; e < 16; e += n, bit++) {
    if (((i.imm >> bit) & 1) === 0) continue;
    for (let k = e; k < e + n; k++) b[d + k] = b[s + k];
  }
}

/** `op` of {@linkcode pminmax}: element bytes (1, 2, 4) | MM_SIGNED | MM_MAX. */
export const MM_SIGNED = 16;
/** Maximum rather than minimum. */
export const MM_MAX = 32;

/** PMINSB/SD, PMINUW/UD, PMAXSB/SD, PMAXUW/UD. */
export function pminmax(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const size = i.op & 15, signed = (i.op & MM_SIGNED) !== 0, max = (i.op & MM_MAX) !== 0;
  const v = size === 1
    ? (signed ? f.xmmI8 : f.xmmU8)
    : size === 2
    ? (signed ? f.xmmI16 : f.xmmU16)
    : (signed ? f.xmmI32 : f.xmm);
  const n = 16 / size;
  const s = n * src128(cpu, i, true), d = n * i.reg;
  for (let k = 0; k < n; k++) {
    const a = v[d + k], c = v[s + k];
    v[d + k] = max ? (a > c ? a : c) : (a < c ? a : c);
  }
}

/**
 * PMOVSX/PMOVZX: op = source element bytes | destination element bytes << 4 | 0x100 signed. The
 * source is the low 128 / (destination/source ratio) bits of an XMM register or memory (not aligned).
 */
export function pmovx(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  const from = i.op & 15, to = (i.op >> 4) & 15, signed = (i.op & 0x100) !== 0;
  const n = 16 / to, bytes = n * from;
  let s = i.rm;
  if (i.mem) {
    const lin = cpu.linear(i);
    s = T_SRC;
    if (bytes === 8) {
      x[4 * s] = cpu.read(lin, 8);
      x[4 * s + 1] = cpu.hi;
    } else x[4 * s] = cpu.read(lin, bytes);
  }
  const src = from === 1 ? (signed ? f.xmmI8 : f.xmmU8) : from === 2 ? (signed ? f.xmmI16 : f.xmmU16) : (
    signed ? f.xmmI32 : f.xmm
  );
  const sn = 16 / from;
  for (let k = 0; k < n; k++) {
    const v = src[sn * s + k];
    if (to === 8) {
      x[4 * T_DST + 2 * k] = v >>> 0;
      x[4 * T_DST + 2 * k + 1] = v < 0 ? 0xffffffff : 0;
    } else if (to === 4) x[4 * T_DST + k] = v >>> 0;
    else f.xmmU16[8 * T_DST + k] = v;
  }
  copy128(x, i.reg, T_DST);
}

/** PTEST: ZF = (source AND destination) is zero, CF = (source AND NOT destination) is zero; AF, OF, PF, SF cleared. */
export function ptest(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = 4 * src128(cpu, i, true), d = 4 * i.reg;
  let and = 0, andn = 0;
  for (let k = 0; k < 4; k++) {
    and |= x[s + k] & x[d + k];
    andn |= x[s + k] & ~x[d + k];
  }
  cpu.fl.put((cpu.fl.get() & ~0x8d5) | (and === 0 ? ZF : 0) | (andn === 0 ? CF : 0));
}

/** `v` rounded to an integer value under rounding control `rc` (RC_*), the sign of a zero kept. */
function roundToInteger(v: number, rc: number): number {
  switch (rc) {
    case RC_NEAREST: {
      const fl = Math.floor(v), diff = v - fl;
      const r = diff < 0.5 ? fl : diff > 0.5 ? fl + 1 : (fl % 2 === 0 ? fl : fl + 1);
      return r === 0 && (v < 0 || Object.is(v, -0)) ? -0 : r;
    }
    case RC_DOWN:
      return Math.floor(v);
    case RC_UP:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}

/** One lane of ROUNDxx: NaNs quieted (IE for an SNaN), DAZ honoured, PE when inexact unless `quiet`. */
function roundLane(f: FpuState, double: boolean, s: number, o: number, rc: number, quiet: boolean): void {
  const x = f.xmm;
  const kind = double ? kindD(x[2 * s + 1], x[2 * s]) : kindS(x[s]);
  if (kind >= K_QNAN) {
    if (kind === K_SNAN) f.pre |= MX_IE;
    if (double) {
      x[2 * o] = x[2 * s];
      x[2 * o + 1] = x[2 * s + 1] | 0x80000;
    } else x[o] = x[s] | 0x400000;
    return;
  }
  let v = double ? f.xmmF64[s] : f.xmmF32[s];
  if (kind === K_DEN && (f.mxcsr & MX_DAZ) !== 0) v = v < 0 ? -0 : 0;
  const r = roundToInteger(v, rc);
  if (r !== v && !quiet) f.post |= MX_PE;
  if (double) f.xmmF64[o] = r;
  else f.xmmF32[o] = r;
}

/** `op` of {@linkcode round}: binary64 lanes. */
export const RND_DOUBLE = 1;
/** Scalar form (lane 0 only; the destination's other lanes kept). */
export const RND_SCALAR = 2;

/**
 * ROUNDPS/PD/SS/SD xmm, xmm/m, imm8: imm8[1:0] the rounding mode unless imm8[2] selects MXCSR.RC;
 * imm8[3] suppresses the precision exception (SDM Vol. 2 ROUNDPS, Table 4-18).
 */
export function round(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const double = (i.op & RND_DOUBLE) !== 0, scalar = (i.op & RND_SCALAR) !== 0;
  const s = scalar ? (double ? src64(cpu, i) : src32(cpu, i)) : src128(cpu, i, true);
  const rc = (i.imm & 4) !== 0 ? (f.mxcsr >>> MX_RC_SHIFT) & 3 : i.imm & 3;
  const quiet = (i.imm & 8) !== 0;
  copy128(x, T_DST, i.reg);
  const n = scalar ? 1 : double ? 2 : 4;
  for (let k = 0; k < n; k++) {
    if (double) roundLane(f, true, 2 * s + k, 2 * T_DST + k, rc, quiet);
    else roundLane(f, false, 4 * s + k, 4 * T_DST + k, rc, quiet);
  }
  finish(cpu);
  copy128(x, i.reg, T_DST);
}

/**
 * DPPS (op 0) / DPPD (op 1) xmm, xmm/m128, imm8: the products the imm8[7:4] (DPPD: [5:4]) mask
 * selects (+0.0 for the others), summed as the SDM's operation orders it ((p0 + p1) + (p2 + p3)),
 * each step rounded; the sum goes to the lanes imm8[3:0] selects, +0.0 to the rest.
 */
export function dp(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const s = src128(cpu, i, true), d = i.reg, imm = i.imm;
  if (i.op === 1) {
    for (let k = 0; k < 2; k++) {
      if (((imm >> (4 + k)) & 1) !== 0) arithD(f, OP_MUL, 2 * d + k, 2 * s + k, 2 * T_TMP1 + k);
      else f.xmmF64[2 * T_TMP1 + k] = 0;
    }
    finish(cpu);
    arithD(f, OP_ADD, 2 * T_TMP1, 2 * T_TMP1 + 1, 2 * T_TMP2);
    finish(cpu);
    for (let k = 0; k < 2; k++) {
      x[4 * d + 2 * k] = ((imm >> k) & 1) !== 0 ? x[4 * T_TMP2] : 0;
      x[4 * d + 2 * k + 1] = ((imm >> k) & 1) !== 0 ? x[4 * T_TMP2 + 1] : 0;
    }
    return;
  }
  for (let k = 0; k < 4; k++) {
    if (((imm >> (4 + k)) & 1) !== 0) arithS(f, OP_MUL, 4 * d + k, 4 * s + k, 4 * T_TMP1 + k);
    else x[4 * T_TMP1 + k] = 0;
  }
  finish(cpu);
  arithS(f, OP_ADD, 4 * T_TMP1, 4 * T_TMP1 + 1, 4 * T_TMP2);
  arithS(f, OP_ADD, 4 * T_TMP1 + 2, 4 * T_TMP1 + 3, 4 * T_TMP2 + 1);
  finish(cpu);
  arithS(f, OP_ADD, 4 * T_TMP2, 4 * T_TMP2 + 1, 4 * T_TMP2 + 2);
  finish(cpu);
  for (let k = 0; k < 4; k++) x[4 * d + k] = ((imm >> k) & 1) !== 0 ? x[4 * T_TMP2 + 2] : 0;
}

/**
 * INSERTPS xmm, xmm/m32, imm8: the source lane imm8[7:6] (a register source; a memory source is
 * the 32-bit value) into lane imm8[5:4], then the lanes set in imm8[3:0] zeroed.
 */
export function insertps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, d = 4 * i.reg;
  const v = i.mem ? cpu.read(cpu.linear(i), 4) : x[4 * i.rm + ((i.imm >> 6) & 3)];
  x[d + ((i.imm >> 4) & 3)] = v;
  for (let k = 0; k < 4; k++) if (((i.imm >> k) & 1) !== 0) x[d + k] = 0;
}

/** EXTRACTPS r/m32, xmm, imm8: lane imm8[1:0] (a 64-bit register destination is zero-extended). */
export function extractps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = cpu.fpu.xmm[4 * i.reg + (i.imm & 3)];
  if (i.mem) cpu.write(cpu.linear(i), 4, v, 0);
  else cpu.writeReg(4, i.rm, v, 0);
}

/**
 * PEXTRB (op 1), PEXTRW (op 2), PEXTRD/PEXTRQ (op 4; REX.W: 8) r/m, xmm, imm8: the element imm8
 * selects; a register destination is zero-extended.
 */
export function pextr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const size = i.op === 4 ? i.size : i.op;
  let lo: number, hi = 0;
  if (size === 1) lo = f.xmmU8[16 * i.reg + (i.imm & 15)];
  else if (size === 2) lo = f.xmmU16[8 * i.reg + (i.imm & 7)];
  else if (size === 4) lo = f.xmm[4 * i.reg + (i.imm & 3)];
  else {
    lo = f.xmm[4 * i.reg + 2 * (i.imm & 1)];
    hi = f.xmm[4 * i.reg + 2 * (i.imm & 1) + 1];
  }
  if (i.mem) cpu.write(cpu.linear(i), size, lo, hi);
  else cpu.writeReg(size === 8 ? 8 : 4, i.rm, lo, hi);
}

/** PINSRB (op 1: r32 low byte or m8), PINSRD/PINSRQ (op 4; REX.W: 8) xmm, r/m, imm8. */
export function pinsr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  if (i.op === 1) {
    const v = i.mem ? cpu.read(cpu.linear(i), 1) : cpu.readReg(4, i.rm);
    f.xmmU8[16 * i.reg + (i.imm & 15)] = v;
    return;
  }
  const lo = readE(cpu, i);
  if (i.size === 8) {
    const hi = cpu.hi;
    f.xmm[4 * i.reg + 2 * (i.imm & 1)] = lo;
    f.xmm[4 * i.reg + 2 * (i.imm & 1) + 1] = hi;
  } else f.xmm[4 * i.reg + (i.imm & 3)] = lo;
}

/** Operations of {@linkcode pmisc41}: PMULLD. */
export const P41_MULLD = 0;
/** PMULDQ: signed 32 x 32 -> 64 of lanes 0 and 2. */
export const P41_MULDQ = 1;
/** PCMPEQQ. */
export const P41_CMPEQQ = 2;
/** PACKUSDW. */
export const P41_PACKUSDW = 3;
/** PCMPGTQ (SSE4.2). */
export const P41_CMPGTQ = 4;

/** PMULLD, PMULDQ, PCMPEQQ, PACKUSDW, PCMPGTQ (op P41_*). */
export function pmisc41(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  const s = src128(cpu, i, true), d = i.reg;
  switch (i.op) {
    case P41_MULLD:
      for (let k = 0; k < 4; k++) x[4 * d + k] = Math.imul(x[4 * d + k], x[4 * s + k]);
      break;
    case P41_MULDQ:
      for (let k = 0; k < 4; k += 2) {
        const p = BigInt(f.xmmI32[4 * d + k]) * BigInt(f.xmmI32[4 * s + k]);
        x[4 * d + k] = Number(BigInt.asUintN(32, p));
        x[4 * d + k + 1] = Number(BigInt.asUintN(32, p >> 32n));
      }
      break;
    case P41_CMPEQQ:
    case P41_CMPGTQ:
      for (let k = 0; k < 4; k += 2) {
        const a = 4 * d + k, b = 4 * s + k;
        const r = i.op === P41_CMPEQQ
          ? x[a] === x[b] && x[a + 1] === x[b + 1]
          : (x[a + 1] | 0) > (x[b + 1] | 0) || ((x[a + 1] === x[b + 1]) && x[a] > x[b]);
        x[a] = x[a + 1] = r ? 0xffffffff : 0;
      }
      break;
    default:
      for (let k = 0; k < 8; k++) {
        const e = k < 4 ? f.xmmI32[4 * d + k] : f.xmmI32[4 * s + k - 4];
        f.xmmU16[8 * T_DST + k] = e < 0 ? 0 : e > 0xffff ? 0xffff : e;
      }
      copy128(x, d, T_DST);
  }
}

/**
 * MPSADBW xmm, xmm/m128, imm8: eight sums of absolute differences between the source's 4-byte
 * block imm8[1:0] and the destination's 4-byte windows starting at bytes 4 * imm8[2] + 0 .. 7.
 */
export function mpsadbw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, b = f.xmmU8;
  const s = 16 * src128(cpu, i, true) + 4 * (i.imm & 3), d = 16 * i.reg + 4 * ((i.imm >> 2) & 1);
  for (let k = 0; k < 8; k++) {
    let sum = 0;
    for (let j = 0; j < 4; j++) sum += Math.abs(b[d + k + j] - b[s + j]);
    f.xmmU16[8 * T_DST + k] = sum;
  }
  copy128(f.xmm, i.reg, T_DST);
}

/** PHMINPOSUW: the smallest unsigned word of the source in bits 15:0, its (lowest) index in 18:16, the rest zero. */
export function phminposuw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, w = f.xmmU16;
  const s = 8 * src128(cpu, i, true);
  let min = w[s], at = 0;
  for (let k = 1; k < 8; k++) {
    if (w[s + k] < min) {
      min = w[s + k];
      at = k;
    }
  }
  const d = 4 * i.reg;
  f.xmm[d] = min + at * 65536;
  f.xmm[d + 1] = f.xmm[d + 2] = f.xmm[d + 3] = 0;
}

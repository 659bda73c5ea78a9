/**
 * SSE/SSE2 floating point on XMM registers (SDM Vol. 2: ADDPS .. SQRTSD, MINPS .. MAXSD, CMPPS ..
 * CMPSD, COMISS .. UCOMISD, CVT*), with the MXCSR semantics of SDM Vol. 1 §10.2.3, §11.5: the
 * rounding mode, DAZ, FTZ, sticky flags, masked responses, QNaN/SNaN propagation (the first source's
 * NaN wins, SNaNs are quieted: Table 4-7), the default NaN ("real indefinite"), integer indefinite
 * on out-of-range conversions, and #XM (or #UD with CR4.OSXMMEXCPT=0) for an unmasked exception,
 * in which case no destination is written (pre-computation exceptions of all elements first, then
 * post-computation ones, §11.5.1).
 *
 * The common case runs in JavaScript doubles: round to nearest with the precision flag already set
 * and masked, normal operands and a normal result (binary32 through `Math.fround`, which is correct
 * for one + - * / or sqrt of binary32 operands computed in binary64). Everything else takes the exact
 * path of `softfloat.ts`.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import {
  type FpuState,
  MX_DAZ,
  MX_DE,
  MX_FTZ,
  MX_IE,
  MX_MASK_SHIFT,
  MX_PE,
  MX_RC_SHIFT,
  MX_ZE,
} from "../fpu_state.ts";
import { CF, CR4_OSXMMEXCPT, EXC_XM, PF, ZF } from "../registers.ts";
import {
  BINARY32,
  BINARY64,
  type BinaryFormat,
  decompose,
  exactArith,
  OP_ADD,
  OP_DIV,
  OP_MUL,
  OP_SQRT,
  OP_SUB,
  RC_DOWN,
  RC_NEAREST,
  RC_ZERO,
  roundExact,
} from "../softfloat.ts";
import { readE } from "./_operands.ts";
import { copy128, src128, src32, src64, sseCheck, T_DST } from "./_sse.ts";

/** Operand kinds of {@linkcode kindS} and {@linkcode kindD}: zero, normal, denormal, infinity, QNaN, SNaN. */
export const K_ZERO = 0, K_NORM = 1, K_DEN = 2, K_INF = 3, K_QNAN = 4, K_SNAN = 5;
const TWO32 = 4294967296;
const MIN_NORMAL_S = 1.1754943508222875e-38;
const MAX_S = 3.4028234663852886e38;
const MIN_NORMAL_D = 2.2250738585072014e-308;
/** MXCSR bits the fast path needs: RC = nearest, PE set, PM set. */
const FAST_BITS = (3 << MX_RC_SHIFT) | MX_PE | (MX_PE << MX_MASK_SHIFT);
const FAST_OK = MX_PE | (MX_PE << MX_MASK_SHIFT);

/** `op` bits of the arithmetic handlers: the operation (OP_* of softfloat.ts) in bits 2:0. */
const OPF_DOUBLE = 8;
/** The scalar form (lane 0 only; other lanes of the destination kept). */
const OPF_SCALAR = 16;
export { OPF_DOUBLE, OPF_SCALAR };

/** The kind (K_*) of a binary32 value's bits. */
export function kindS(v: number): number {
  const ex = v & 0x7f800000, fr = v & 0x7fffff;
  if (ex === 0x7f800000) return fr === 0 ? K_INF : (fr & 0x400000) !== 0 ? K_QNAN : K_SNAN;
  if (ex === 0) return fr === 0 ? K_ZERO : K_DEN;
  return K_NORM;
}

/** The kind (K_*) of a binary64 value's bits, high and low halves. */
export function kindD(hi: number, lo: number): number {
  const ex = hi & 0x7ff00000, fr = (hi & 0xfffff) | lo;
  if (ex === 0x7ff00000) return fr === 0 ? K_INF : (hi & 0x80000) !== 0 ? K_QNAN : K_SNAN;
  if (ex === 0) return fr === 0 ? K_ZERO : K_DEN;
  return K_NORM;
}

/** Raises the SIMD floating-point exception: #XM with CR4.OSXMMEXCPT, else #UD (SDM Vol. 3 §6.15 #XM). */
export function simdFault(cpu: Cpu): never {
  if ((cpu.cr4 & CR4_OSXMMEXCPT) !== 0) return cpu.fault(EXC_XM, false, 0);
  return cpu.ud();
}

/** Ends an instruction's floating point: records the flags, or raises #XM for an unmasked one (nothing written). */
export function finish(cpu: Cpu): void {
  const f = cpu.fpu;
  const pre = f.pre, post = f.post;
  if ((pre | post) === 0) return;
  const masks = (f.mxcsr >>> MX_MASK_SHIFT) & 0x3f;
  if ((pre & ~masks) !== 0) {
    f.mxcsr |= pre;
    simdFault(cpu);
  }
  f.mxcsr |= pre | post;
  if ((post & ~masks) !== 0) simdFault(cpu);
}

/** A denormal operand: DAZ makes it a zero of its sign, otherwise it flags DE. */
export function denormal(f: FpuState, v: number): number {
  if ((f.mxcsr & MX_DAZ) !== 0) return v < 0 ? -0 : 0;
  f.pre |= MX_DE;
  return v;
}

/** Rounds a finite value that is already exact in `fmt` (or in binary64) to `fmt`, for tininess and FTZ. */
function roundValue(f: FpuState, v: number, fmt: BinaryFormat): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  // A normal value of the format is its own rounding, with no flags.
  const m = Math.abs(v);
  if (fmt === BINARY64 ? m >= MIN_NORMAL_D : m >= MIN_NORMAL_S && Math.fround(v) === v) return v;
  const mx = f.mxcsr;
  const d = decompose(v);
  const r = roundExact(
    v < 0,
    d.m,
    d.e,
    false,
    fmt,
    (mx >>> MX_RC_SHIFT) & 3,
    (mx & MX_FTZ) !== 0,
    (mx >>> MX_MASK_SHIFT) & 0x3f,
  );
  f.post |= r.flags;
  return r.value;
}

/** a op b on non-NaN operands (denormals already handled); NaN return = the default NaN. */
function arithValue(f: FpuState, fmt: BinaryFormat, op: number, a: number, b: number): number {
  const mx = f.mxcsr;
  const rc = (mx >>> MX_RC_SHIFT) & 3;
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      const bn = op === OP_SUB ? -b : b;
      if (!Number.isFinite(a) || !Number.isFinite(bn)) {
        if (!Number.isFinite(a) && !Number.isFinite(bn) && a !== bn) {
          f.pre |= MX_IE;
          return NaN;
        }
        return a + bn;
      }
      if (a === 0 && bn === 0) {
        if (rc === RC_DOWN && (Object.is(a, -0) || Object.is(bn, -0))) return -0;
        return a + bn;
      }
      if (a === 0) return roundValue(f, bn, fmt);
      if (bn === 0) return roundValue(f, a, fmt);
      break;
    }
    case OP_MUL:
      if ((!Number.isFinite(a) && b === 0) || (!Number.isFinite(b) && a === 0)) {
        f.pre |= MX_IE;
        return NaN;
      }
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return a * b;
      break;
    case OP_DIV:
      if ((!Number.isFinite(a) && !Number.isFinite(b)) || (a === 0 && b === 0)) {
        f.pre |= MX_IE;
        return NaN;
      }
      if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return a / b;
      if (b === 0) {
        f.pre |= MX_ZE;
        return a / b;
      }
      break;
    default:
      if (a < 0) {
        f.pre |= MX_IE;
        return NaN;
      }
      if (a === 0 || !Number.isFinite(a)) return a;
  }
  const r = exactArith(op, a, b, fmt, rc, (mx & MX_FTZ) !== 0, (mx >>> MX_MASK_SHIFT) & 0x3f);
  f.post |= r.flags;
  return r.value;
}

function compute(op: number, a: number, b: number): number {
  switch (op) {
    case OP_ADD:
      return a + b;
    case OP_SUB:
      return a - b;
    case OP_MUL:
      return a * b;
    case OP_DIV:
      return a / b;
    default:
      return Math.sqrt(a);
  }
}

/** One binary32 lane: xmm[ai] op xmm[bi] -> xmm[oi] (indices of 32-bit lanes; flags into `f.pre`/`f.post`). */
export function arithS(f: FpuState, op: number, ai: number, bi: number, oi: number): void {
  const x = f.xmm;
  const va = x[ai], vb = x[bi];
  if ((f.mxcsr & FAST_BITS) === FAST_OK) {
    // Normal or zero operands (no zero divisor, no negative square root) and a normal result, or a
    // zero that cannot come from underflow. A result of exactly the smallest normal may be tiny
    // (tininess after rounding to the precision with an unbounded exponent, SDM Vol. 1 §4.9.1.5,
    // so UE), and goes to the exact path.
    const ea = va & 0x7f800000, eb = vb & 0x7f800000;
    const za = (va & 0x7fffffff) === 0, zb = (vb & 0x7fffffff) === 0;
    if (
      (ea !== 0 || za) && ea !== 0x7f800000 &&
      (op === OP_SQRT ? va < 0x80000000 : (eb !== 0 || (zb && op !== OP_DIV)) && eb !== 0x7f800000)
    ) {
      const r = Math.fround(compute(op, f.xmmF32[ai], f.xmmF32[bi]));
      const m = Math.abs(r);
      if ((m > MIN_NORMAL_S && m <= MAX_S) || (m === 0 && (op <= OP_SUB || za || zb || op === OP_SQRT))) {
        f.xmmF32[oi] = r;
        return;
      }
    }
  }
  const ka = kindS(va), kb = op === OP_SQRT ? K_ZERO : kindS(vb);
  if (ka >= K_QNAN || kb >= K_QNAN) {
    if (ka === K_SNAN || kb === K_SNAN) f.pre |= MX_IE;
    x[oi] = (ka >= K_QNAN ? va : vb) | 0x400000;
    return;
  }
  const before = f.pre;
  f.pre = 0;
  let a = f.xmmF32[ai], b = op === OP_SQRT ? 0 : f.xmmF32[bi];
  if (ka === K_DEN) a = denormal(f, a);
  if (kb === K_DEN) b = denormal(f, b);
  const r = arithValue(f, BINARY32, op, a, b);
  // An invalid operation or a division by zero hides the denormal operand (as the host CPU does).
  f.pre = before | ((f.pre & (MX_IE | MX_ZE)) !== 0 ? f.pre & ~MX_DE : f.pre);
  if (r !== r) x[oi] = 0xffc00000;
  else f.xmmF32[oi] = r;
}

/** One binary64 lane: F64 lane ai op lane bi -> lane oi (flags into `f.pre`/`f.post`). */
export function arithD(f: FpuState, op: number, ai: number, bi: number, oi: number): void {
  const x = f.xmm;
  const ha = x[2 * ai + 1], hb = x[2 * bi + 1];
  if ((f.mxcsr & FAST_BITS) === FAST_OK) {
    // As arithS: normal or zero operands, a normal result or a zero that cannot come from underflow.
    const ea = ha & 0x7ff00000, eb = hb & 0x7ff00000;
    const za = ((ha & 0x7fffffff) | x[2 * ai]) === 0, zb = ((hb & 0x7fffffff) | x[2 * bi]) === 0;
    if (
      (ea !== 0 || za) && ea !== 0x7ff00000 &&
      (op === OP_SQRT ? ha < 0x80000000 : (eb !== 0 || (zb && op !== OP_DIV)) && eb !== 0x7ff00000)
    ) {
      const r = compute(op, f.xmmF64[ai], f.xmmF64[bi]);
      const m = Math.abs(r);
      if ((m > MIN_NORMAL_D && m < Infinity) || (m === 0 && (op <= OP_SUB || za || zb || op === OP_SQRT))) {
        f.xmmF64[oi] = r;
        return;
      }
    }
  }
  const ka = kindD(ha, x[2 * ai]), kb = op === OP_SQRT ? K_ZERO : kindD(hb, x[2 * bi]);
  if (ka >= K_QNAN || kb >= K_QNAN) {
    if (ka === K_SNAN || kb === K_SNAN) f.pre |= MX_IE;
    const from = ka >= K_QNAN ? ai : bi;
    x[2 * oi] = x[2 * from];
    x[2 * oi + 1] = x[2 * from + 1] | 0x80000;
    return;
  }
  const before = f.pre;
  f.pre = 0;
  let a = f.xmmF64[ai], b = op === OP_SQRT ? 0 : f.xmmF64[bi];
  if (ka === K_DEN) a = denormal(f, a);
  if (kb === K_DEN) b = denormal(f, b);
  const r = arithValue(f, BINARY64, op, a, b);
  // An invalid operation or a division by zero hides the denormal operand (as the host CPU does).
  f.pre = before | ((f.pre & (MX_IE | MX_ZE)) !== 0 ? f.pre & ~MX_DE : f.pre);
  if (r !== r) {
    x[2 * oi] = 0;
    x[2 * oi + 1] = 0xfff80000;
  } else f.xmmF64[oi] = r;
}

function srcFor(cpu: Cpu, i: Insn, double: boolean, scalar: boolean): number {
  return scalar ? (double ? src64(cpu, i) : src32(cpu, i)) : src128(cpu, i, true);
}

/**
 * ADD/SUB/MUL/DIV/SQRT PS/PD/SS/SD: `op` = OP_* | OPF_DOUBLE | OPF_SCALAR. SQRT takes the r/m
 * operand as its source; the scalar forms keep the destination's other lanes.
 */
export function fpArith(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const op = i.op & 7, double = (i.op & OPF_DOUBLE) !== 0, scalar = (i.op & OPF_SCALAR) !== 0;
  const s = srcFor(cpu, i, double, scalar), d = i.reg;
  const a = op === OP_SQRT ? s : d;
  const t = 4 * T_DST;
  if (scalar) {
    // Lane 0 only: the other lanes of the destination stay as they are.
    if (double) arithD(f, op, 2 * a, 2 * s, 2 * T_DST);
    else arithS(f, op, 4 * a, 4 * s, t);
    finish(cpu);
    x[4 * d] = x[t];
    if (double) x[4 * d + 1] = x[t + 1];
    return;
  }
  if (double) {
    for (let k = 0; k < 2; k++) arithD(f, op, 2 * a + k, 2 * s + k, 2 * T_DST + k);
  } else {
    for (let k = 0; k < 4; k++) arithS(f, op, 4 * a + k, 4 * s + k, t + k);
  }
  finish(cpu);
  copy128(x, d, T_DST);
}

/** MIN (op 0) / MAX (op 1) PS/PD/SS/SD (| OPF_DOUBLE | OPF_SCALAR): a NaN or two zeros give the second operand. */
export function fpMinMax(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const max = (i.op & 1) !== 0, double = (i.op & OPF_DOUBLE) !== 0, scalar = (i.op & OPF_SCALAR) !== 0;
  const s = srcFor(cpu, i, double, scalar), d = i.reg;
  copy128(x, T_DST, d);
  const n = scalar ? 1 : double ? 2 : 4;
  for (let k = 0; k < n; k++) {
    if (double) {
      const ai = 2 * d + k, bi = 2 * s + k, oi = 2 * T_DST + k;
      const ka = kindD(x[2 * ai + 1], x[2 * ai]), kb = kindD(x[2 * bi + 1], x[2 * bi]);
      if (ka >= K_QNAN || kb >= K_QNAN) {
        f.pre |= MX_IE;
        if (kb === K_DEN && (f.mxcsr & MX_DAZ) !== 0) f.xmmF64[oi] = f.xmmF64[bi] < 0 ? -0 : 0;
        else {
          x[2 * oi] = x[2 * bi];
          x[2 * oi + 1] = x[2 * bi + 1];
        }
        continue;
      }
      let a = f.xmmF64[ai], b = f.xmmF64[bi];
      if (ka === K_DEN) a = denormal(f, a);
      if (kb === K_DEN) b = denormal(f, b);
      f.xmmF64[oi] = (max ? a > b : a < b) ? a : b;
    } else {
      const ai = 4 * d + k, bi = 4 * s + k, oi = 4 * T_DST + k;
      const ka = kindS(x[ai]), kb = kindS(x[bi]);
      if (ka >= K_QNAN || kb >= K_QNAN) {
        f.pre |= MX_IE;
        x[oi] = kb === K_DEN && (f.mxcsr & MX_DAZ) !== 0 ? x[bi] & 0x80000000 : x[bi];
        continue;
      }
      let a = f.xmmF32[ai], b = f.xmmF32[bi];
      if (ka === K_DEN) a = denormal(f, a);
      if (kb === K_DEN) b = denormal(f, b);
      f.xmmF32[oi] = (max ? a > b : a < b) ? a : b;
    }
  }
  finish(cpu);
  copy128(x, d, T_DST);
}

/** Compares lane values for CMPccPS/PD/SS/SD predicate `p` (imm8 bits 2:0); QNaN signals for LT, LE, NLT, NLE. */
function predicate(f: FpuState, p: number, a: number, ka: number, b: number, kb: number): boolean {
  const unordered = ka >= K_QNAN || kb >= K_QNAN;
  if (ka === K_SNAN || kb === K_SNAN) f.pre |= MX_IE;
  else if (unordered && (p & 3) !== 0 && (p & 3) !== 3) f.pre |= MX_IE;
  if (!unordered) {
    if (ka === K_DEN) a = denormal(f, a);
    if (kb === K_DEN) b = denormal(f, b);
  }
  switch (p) {
    case 0:
      return !unordered && a === b;
    case 1:
      return !unordered && a < b;
    case 2:
      return !unordered && a <= b;
    case 3:
      return unordered;
    case 4:
      return unordered || a !== b;
    case 5:
      return unordered || !(a < b);
    case 6:
      return unordered || !(a <= b);
    default:
      return !unordered;
  }
}

/** CMPPS/CMPPD/CMPSS/CMPSD xmm, xmm/m, imm8 (0f c2): `op` = OPF_DOUBLE | OPF_SCALAR; all-ones or zero per lane. */
export function fpCmp(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const double = (i.op & OPF_DOUBLE) !== 0, scalar = (i.op & OPF_SCALAR) !== 0;
  const s = srcFor(cpu, i, double, scalar), d = i.reg, p = i.imm & 7;
  copy128(x, T_DST, d);
  const n = scalar ? 1 : double ? 2 : 4;
  for (let k = 0; k < n; k++) {
    if (double) {
      const ai = 2 * d + k, bi = 2 * s + k, oi = 2 * T_DST + k;
      const r = predicate(
        f,
        p,
        f.xmmF64[ai],
        kindD(x[2 * ai + 1], x[2 * ai]),
        f.xmmF64[bi],
        kindD(x[2 * bi + 1], x[2 * bi]),
      );
      x[2 * oi] = x[2 * oi + 1] = r ? 0xffffffff : 0;
    } else {
      const ai = 4 * d + k, bi = 4 * s + k;
      x[4 * T_DST + k] = predicate(f, p, f.xmmF32[ai], kindS(x[ai]), f.xmmF32[bi], kindS(x[bi]))
        ? 0xffffffff
        : 0;
    }
  }
  finish(cpu);
  copy128(x, d, T_DST);
}

/** COMISS/UCOMISS (op 0/1) and COMISD/UCOMISD (| OPF_DOUBLE): ZF, PF, CF from the compare; OF, SF, AF cleared. */
export function fpComi(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const double = (i.op & OPF_DOUBLE) !== 0, unordered = (i.op & 1) !== 0;
  const s = double ? src64(cpu, i) : src32(cpu, i), d = i.reg;
  let a: number, b: number, ka: number, kb: number;
  if (double) {
    a = f.xmmF64[2 * d];
    b = f.xmmF64[2 * s];
    ka = kindD(x[4 * d + 1], x[4 * d]);
    kb = kindD(x[4 * s + 1], x[4 * s]);
  } else {
    a = f.xmmF32[4 * d];
    b = f.xmmF32[4 * s];
    ka = kindS(x[4 * d]);
    kb = kindS(x[4 * s]);
  }
  let fl: number;
  if (ka >= K_QNAN || kb >= K_QNAN) {
    if (!unordered || ka === K_SNAN || kb === K_SNAN) f.pre |= MX_IE;
    fl = ZF | PF | CF;
  } else {
    if (ka === K_DEN) a = denormal(f, a);
    if (kb === K_DEN) b = denormal(f, b);
    fl = a > b ? 0 : a < b ? CF : ZF;
  }
  finish(cpu);
  cpu.fl.put((cpu.fl.get() & ~0x8d5) | fl);
}

// ---------------------------------------------------------------- conversions

/**
 * A value to a signed integer of `bits` (32 or 64) under rounding `rc`: the integer, or NaN for
 * integer indefinite (IE flagged). Flags PE when inexact.
 */
function toInt(f: FpuState, v: number, kind: number, rc: number, bits: number): number {
  if (kind >= K_INF) {
    f.pre |= MX_IE;
    return NaN;
  }
  if (kind === K_DEN && (f.mxcsr & MX_DAZ) !== 0) v = 0;
  let r: number;
  switch (rc) {
    case RC_NEAREST: {
      const fl = Math.floor(v), diff = v - fl;
      r = diff < 0.5 ? fl : diff > 0.5 ? fl + 1 : (fl % 2 === 0 ? fl : fl + 1);
      break;
    }
    case RC_DOWN:
      r = Math.floor(v);
      break;
    case RC_ZERO:
      r = Math.trunc(v);
      break;
    default:
      r = Math.ceil(v);
  }
  const lim = bits === 32 ? 2147483648 : 9223372036854775808;
  if (r < -lim || r >= lim) {
    f.pre |= MX_IE;
    return NaN;
  }
  if (r !== v) f.post |= MX_PE;
  return r;
}

function laneValue(f: FpuState, double: boolean, r: number, k: number): number {
  return double ? f.xmmF64[2 * r + k] : f.xmmF32[4 * r + k];
}

function laneKind(f: FpuState, double: boolean, r: number, k: number): number {
  const x = f.xmm;
  return double ? kindD(x[4 * r + 2 * k + 1], x[4 * r + 2 * k]) : kindS(x[4 * r + k]);
}

/**
 * CVTSS2SI/CVTSD2SI (op 0 | OPF_DOUBLE) and CVTTSS2SI/CVTTSD2SI (op 1, truncating) r32/r64,
 * xmm/m: integer indefinite (0x80000000, 0x8000000000000000) for NaN and out of range.
 */
export function cvtToSi(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  f.pre = f.post = 0;
  const double = (i.op & OPF_DOUBLE) !== 0;
  const s = double ? src64(cpu, i) : src32(cpu, i);
  const rc = (i.op & 1) !== 0 ? RC_ZERO : (f.mxcsr >>> MX_RC_SHIFT) & 3;
  const r = toInt(f, laneValue(f, double, s, 0), laneKind(f, double, s, 0), rc, 8 * i.size);
  finish(cpu);
  if (r !== r) cpu.writeReg(i.size, i.reg, i.size === 8 ? 0 : 0x80000000, 0x80000000);
  else {
    const hi = Math.floor(r / TWO32);
    cpu.writeReg(i.size, i.reg, (r - hi * TWO32) >>> 0, hi >>> 0);
  }
}

/** Rounds an integer given as bigint to `fmt` under MXCSR; flags PE. */
function intToFp(f: FpuState, v: bigint, fmt: BinaryFormat): number {
  if (v === 0n) return 0;
  const neg = v < 0n;
  const r = roundExact(neg, neg ? -v : v, 0, false, fmt, (f.mxcsr >>> MX_RC_SHIFT) & 3, false, 0x3f);
  f.post |= r.flags;
  return r.value;
}

/** CVTSI2SS (op 0) / CVTSI2SD (OPF_DOUBLE) xmm, r/m32/64: lane 0 written, the rest kept. */
export function cvtFromSi(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  f.pre = f.post = 0;
  const lo = readE(cpu, i), hi = cpu.hi;
  const double = (i.op & OPF_DOUBLE) !== 0;
  const n = i.size === 8 ? (hi | 0) * TWO32 + lo : lo | 0;
  const exact = i.size === 4 || ((hi | 0) >= -0x200000 && (hi | 0) < 0x200000); // |n| < 2^53: n is exact
  let r: number;
  if (exact && Math.abs(n) <= (double ? 9007199254740992 : 16777216)) r = n;
  else {
    const v = i.size === 8 ? BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)) : BigInt(lo | 0);
    r = intToFp(f, v, double ? BINARY64 : BINARY32);
  }
  finish(cpu);
  if (double) f.xmmF64[2 * i.reg] = r;
  else f.xmmF32[4 * i.reg] = r;
}

/** Converts one lane between binary32 and binary64 (`toDouble`), with NaN quieting, DAZ/DE and rounding. */
function convertLane(f: FpuState, toDouble: boolean, s: number, k: number, o: number, ko: number): void {
  const x = f.xmm;
  if (toDouble) {
    const bits = x[4 * s + k], kind = kindS(bits);
    if (kind >= K_QNAN) {
      if (kind === K_SNAN) f.pre |= MX_IE;
      x[4 * o + 2 * ko + 1] = (bits & 0x80000000) | 0x7ff80000 | ((bits & 0x3fffff) >>> 3);
      x[4 * o + 2 * ko] = (bits << 29) >>> 0;
      return;
    }
    let v = f.xmmF32[4 * s + k];
    if (kind === K_DEN) v = denormal(f, v);
    f.xmmF64[2 * o + ko] = v;
  } else {
    const hi = x[4 * s + 2 * k + 1], lo = x[4 * s + 2 * k], kind = kindD(hi, lo);
    if (kind >= K_QNAN) {
      if (kind === K_SNAN) f.pre |= MX_IE;
      x[4 * o + ko] = ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29)) >>> 0;
      return;
    }
    let v = f.xmmF64[2 * s + k];
    if (kind === K_DEN) v = denormal(f, v);
    f.xmmF32[4 * o + ko] = roundValue(f, v, BINARY32);
  }
}

/** CVT operations between packed formats and scalar precisions, by `op` (see {@linkcode CVT_NAMES}). */
export function cvtPacked(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  f.pre = f.post = 0;
  const op = i.op, d = i.reg;
  const rc = (f.mxcsr >>> MX_RC_SHIFT) & 3;
  const t = T_DST;
  let s: number;
  switch (op) {
    case CVT_SS2SD:
      s = src32(cpu, i);
      copy128(x, t, d);
      convertLane(f, true, s, 0, t, 0);
      break;
    case CVT_SD2SS:
      s = src64(cpu, i);
      copy128(x, t, d);
      convertLane(f, false, s, 0, t, 0);
      break;
    case CVT_PS2PD:
      s = src64(cpu, i);
      convertLane(f, true, s, 0, t, 0);
      convertLane(f, true, s, 1, t, 1);
      break;
    case CVT_PD2PS:
      s = src128(cpu, i, true);
      convertLane(f, false, s, 0, t, 0);
      convertLane(f, false, s, 1, t, 1);
      x[4 * t + 2] = x[4 * t + 3] = 0;
      break;
    case CVT_DQ2PS:
      s = src128(cpu, i, true);
      for (let k = 0; k < 4; k++) {
        const v = f.xmmI32[4 * s + k];
        f.xmmF32[4 * t + k] = Math.abs(v) <= 16777216 ? v : intToFp(f, BigInt(v), BINARY32);
      }
      break;
    case CVT_DQ2PD:
      s = src64(cpu, i);
      f.xmmF64[2 * t] = f.xmmI32[4 * s];
      f.xmmF64[2 * t + 1] = f.xmmI32[4 * s + 1];
      break;
    default: {
      // PS2DQ, TPS2DQ, PD2DQ, TPD2DQ
      const double = op === CVT_PD2DQ || op === CVT_TPD2DQ;
      const trunc = op === CVT_TPS2DQ || op === CVT_TPD2DQ;
      s = src128(cpu, i, true);
      const n = double ? 2 : 4;
      for (let k = 0; k < 4; k++) {
        if (k >= n) {
          x[4 * t + k] = 0;
          continue;
        }
        const r = toInt(f, laneValue(f, double, s, k), laneKind(f, double, s, k), trunc ? RC_ZERO : rc, 32);
        x[4 * t + k] = r !== r ? 0x80000000 : r >>> 0;
      }
    }
  }
  finish(cpu);
  copy128(x, d, t);
}

/** {@linkcode cvtPacked} op: CVTSS2SD. */
export const CVT_SS2SD = 0;
/** CVTSD2SS. */
export const CVT_SD2SS = 1;
/** CVTPS2PD. */
export const CVT_PS2PD = 2;
/** CVTPD2PS. */
export const CVT_PD2PS = 3;
/** CVTDQ2PS. */
export const CVT_DQ2PS = 4;
/** CVTDQ2PD. */
export const CVT_DQ2PD = 5;
/** CVTPS2DQ. */
export const CVT_PS2DQ = 6;
/** CVTTPS2DQ. */
export const CVT_TPS2DQ = 7;
/** CVTPD2DQ. */
export const CVT_PD2DQ = 8;
/** CVTTPD2DQ. */
export const CVT_TPD2DQ = 9;
/** Names of the {@linkcode cvtPacked} operations, by op. */
export const CVT_NAMES = [
  "cvtss2sd",
  "cvtsd2ss",
  "cvtps2pd",
  "cvtpd2ps",
  "cvtdq2ps",
  "cvtdq2pd",
  "cvtps2dq",
  "cvttps2dq",
  "cvtpd2dq",
  "cvttpd2dq",
];

/**
 * RCPPS/RCPSS (op 0) and RSQRTPS/RSQRTSS (op 1, | OPF_SCALAR): approximations the SDM bounds by a
 * relative error of 1.5 * 2^-12; hvsim returns the correctly rounded value, which is within it. No
 * MXCSR flags; zeros and denormals give infinities of their sign, infinities zeros, tiny results
 * are flushed to zero, a negative RSQRT operand gives the default NaN, NaNs are quieted.
 */
export function fpApprox(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, x = f.xmm;
  const rsqrt = (i.op & 1) !== 0, scalar = (i.op & OPF_SCALAR) !== 0;
  const s = scalar ? src32(cpu, i) : src128(cpu, i, true), d = i.reg;
  copy128(x, T_DST, d);
  const n = scalar ? 1 : 4;
  for (let k = 0; k < n; k++) {
    const bits = x[4 * s + k], kind = kindS(bits), o = 4 * T_DST + k;
    const neg = bits >= 0x80000000;
    if (kind >= K_QNAN) x[o] = bits | 0x400000;
    else if (kind === K_ZERO || kind === K_DEN) x[o] = (bits & 0x80000000) | 0x7f800000;
    else if (rsqrt && neg) x[o] = 0xffc00000;
    else if (kind === K_INF) x[o] = bits & 0x80000000;
    else {
      const v = f.xmmF32[4 * s + k];
      const r = Math.fround(rsqrt ? 1 / Math.sqrt(v) : 1 / v);
      if (Math.abs(r) < MIN_NORMAL_S) x[o] = neg ? 0x80000000 : 0;
      else f.xmmF32[o] = r;
    }
  }
  copy128(x, d, T_DST);
}

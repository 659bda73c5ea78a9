/**
 * The x87 transcendental instructions (SDM Vol. 2 F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN,
 * FCOS, FSINCOS), their special cases as the SDM's tables give them, and their values computed in
 * fixed point with at least 190 bits beyond the result's leading bit (BigInt series: atanh for
 * logarithms, the exponential series, atan with argument halving, sin and cos after an exact
 * reduction by pi/2 with a pi of enough bits for any argument below 2^63) and rounded once to 64
 * bits under the rounding control. The SDM bounds the processor's error by 1 ulp of extended
 * precision (Vol. 1 §8.3.10); these results are correctly rounded except in cases closer to a
 * rounding boundary than 2^-190 relative, so they lie within 1 ulp of any processor's result.
 * FSIN, FCOS, FSINCOS and FPTAN reduce their argument by pi/2 as the processor does, with a 66-bit
 * pi (§8.3.10), so for large arguments they follow the processor rather than the true function.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { bitLength, isqrt } from "../softfloat.ts";
import {
  type Ext,
  EXT_INDEFINITE,
  EXT_ONE,
  extClass,
  extExact,
  extNaNResult,
  type ExtResult,
  extRound,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_ZERO,
  MX_DE,
  MX_IE,
  MX_ZE,
} from "../x87.ts";
import {
  getST,
  isEmpty,
  pop,
  push,
  raise,
  rounding,
  setC1,
  setST,
  setTop,
  SW_C1,
  SW_C2,
  SW_SF,
  top,
  underflow,
  x87Check,
  x87Pointers,
} from "./_x87.ts";

const GUARD = 190;

// ------------------------------------------------------------------ fixed point (value = v / 2^P)

/** a * b / 2^P, truncated toward zero (so a series of shrinking negative terms reaches 0). */
function mulP(a: bigint, b: bigint, P: number): bigint {
  const p = a * b;
  return p >= 0n ? p >> BigInt(P) : -((-p) >> BigInt(P));
}

function divP(a: bigint, b: bigint, P: number): bigint {
  return (a << BigInt(P)) / b;
}

/** atanh(t) = t + t^3/3 + t^5/5 + ... for |t| <= 0.2. */
function atanhP(t: bigint, P: number): bigint {
  const t2 = mulP(t, t, P);
  let term = t, sum = t;
  for (let k = 3; term !== 0n; k += 2) {
    term = mulP(term, t2, P);
    sum += term / BigInt(k);
  }
  return sum;
}

/** atan(t) for |t| <= 1, after three argument halvings atan(t) = 2 atan(t / (1 + sqrt(1 + t^2))). */
function atanP(t: bigint, P: number): bigint {
  const one = 1n << BigInt(P);
  let halvings = 0;
  for (; halvings < 3; halvings++) {
    const s = isqrt((one * one) + t * t); // sqrt(1 + t^2) scaled by 2^P
    t = divP(t, one + s, P);
  }
  const t2 = mulP(t, t, P);
  let term = t, sum = t;
  for (let k = 3, sign = -1n; term !== 0n; k += 2, sign = -sign) {
    term = mulP(term, t2, P);
    sum += (sign * term) / BigInt(k);
  }
  return sum << BigInt(halvings);
}

/** e^y - 1 for |y| <= 1. */
function expm1P(y: bigint, P: number): bigint {
  let term = y, sum = y;
  for (let k = 2n; term !== 0n; k++) {
    term = mulP(term, y, P) / k;
    sum += term;
  }
  return sum;
}

/** sin(r) and cos(r) for |r| <= pi/4. */
function sinCosP(r: bigint, P: number): [bigint, bigint] {
  const one = 1n << BigInt(P);
  const r2 = mulP(r, r, P);
  let s = r, ts = r;
  for (let k = 2n; ts !== 0n; k += 2n) {
    ts = -mulP(ts, r2, P) / (k * (k + 1n));
    s += ts;
  }
  let c = one, tc = one;
  for (let k = 1n; tc !== 0n; k += 2n) {
    tc = -mulP(tc, r2, P) / (k * (k + 1n));
    c += tc;
  }
  return [s, c];
}

/**
 * A mathematical constant to P bits, computed once to the most bits asked so far and shifted down
 * (a memo of a pure function: it holds no machine state).
 */
class ConstantCache {
  #bits = 0;
  #value = 0n;
  constructor(private readonly compute: (P: number) => bigint) {}
  get(P: number): bigint {
    if (P > this.#bits) {
      this.#bits = Math.max(P, 512);
      this.#value = this.compute(this.#bits + 16) >> 16n;
    }
    return this.#value >> BigInt(this.#bits - P);
  }
}

const LN2 = new ConstantCache((P) => 2n * atanhP((1n << BigInt(P)) / 3n, P));
const PI = new ConstantCache(piSeries);

/** ln 2 to P bits: 2 atanh(1/3). */
function ln2P(P: number): bigint {
  return LN2.get(P);
}

/** pi to P bits. */
function piP(P: number): bigint {
  return PI.get(P);
}

/** pi to P bits: Machin's formula, 16 atan(1/5) - 4 atan(1/239). */
function piSeries(P: number): bigint {
  const one = 1n << BigInt(P + 8);
  const acot = (n: bigint) => {
    const n2 = n * n;
    let term = one / n, sum = term;
    for (let k = 3n, sign = -1n; term !== 0n; k += 2n, sign = -sign) {
      term /= n2;
      sum += (sign * term) / k;
    }
    return sum;
  };
  return (16n * acot(5n) - 4n * acot(239n)) >> 8n;
}

/** A finite value as fixed point with P fraction bits (truncated). */
function toP(x: Ext, P: number): bigint {
  const { m, e } = extExact(x);
  const sh = e + P;
  const v = sh >= 0 ? m << BigInt(sh) : m >> BigInt(-sh);
  return x.neg ? -v : v;
}

/** The exponent of x's leading bit (x finite, nonzero). */
function expOf(x: Ext): number {
  const { m, e } = extExact(x);
  return e + bitLength(m) - 1;
}

/** Rounds the fixed-point value v / 2^P (an inexact transcendental value) to 64 bits. */
function roundP(v: bigint, P: number, rc: number, masks: number): ExtResult {
  const neg = v < 0n;
  return extRound(neg, neg ? -v : v, -P, true, 64, rc, masks);
}

function denormals(a: Ext, b: Ext | null): number {
  return extClass(a) === K_DENORMAL || (b !== null && extClass(b) === K_DENORMAL) ? MX_DE : 0;
}

function signedZero(neg: boolean): Ext {
  return { neg, exp: 0, sig: 0n };
}

function infinity(neg: boolean): Ext {
  return { neg, exp: 0x7fff, sig: 1n << 63n };
}

// ------------------------------------------------------------------ values

/** 2^x - 1 (F2XM1; the SDM defines it for -1 <= x <= +1). */
export function f2xm1Value(x: Ext, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(x, null);
  if (nan !== null) return nan;
  const k = extClass(x);
  if (k === K_ZERO) return { x, flags: 0, up: false };
  if (k === K_INF) return { x: x.neg ? { neg: true, exp: 0x3fff, sig: 1n << 63n } : x, flags: 0, up: false };
  const de = denormals(x, null);
  const P = GUARD + 64 + Math.max(0, -expOf(x));
  const { m, e } = extExact(x);
  // Exact cases: x = +1 gives 1, x = -1 gives -1/2.
  if (m === 1n << 63n && e === -63) {
    return { x: x.neg ? { neg: true, exp: 0x3ffe, sig: 1n << 63n } : EXT_ONE, flags: de, up: false };
  }
  if (expOf(x) >= 0) {
    // Outside the SDM's domain (|x| > 1; the result is undefined there): 2^n * 2^f - 1 all the same.
    if (expOf(x) > 15) {
      return x.neg ? { x: { neg: true, exp: 0x3fff, sig: 1n << 63n }, flags: de | 0x20, up: false } : {
        ...extRound(false, 1n, 1 << 16, false, 64, rc, masks),
      };
    }
    const X = toP(x, P);
    const n = X >> BigInt(P); // floor
    const frac = X - (n << BigInt(P));
    const one = 1n << BigInt(P);
    const pow = expm1P(mulP(frac, ln2P(P), P), P) + one; // 2^frac in [1, 2)
    const v = n >= 0n ? (pow << n) - one : (pow >> -n) - one;
    const r = roundP(v, P, rc, masks);
    r.flags |= de;
    return r;
  }
  const y = mulP(toP(x, P), ln2P(P), P);
  const r = roundP(expm1P(y, P), P, rc, masks);
  r.flags |= de;
  return r;
}

/** log2(x) * 2^P as fixed point for a finite positive x != 1; `plus1` takes log2(1 + x) (x > -1) instead. */
function log2P(x: Ext, plus1: boolean, P: number): bigint {
  const one = 1n << BigInt(P);
  const ln2 = ln2P(P);
  let { m, e } = extExact(x);
  if (plus1) {
    // 1 + x exactly.
    if (e < 0) m = (1n << BigInt(-e)) + (x.neg ? -m : m);
    else {
      m = 1n + (x.neg ? -(m << BigInt(e)) : m << BigInt(e));
      e = 0;
    }
  }
  const L = bitLength(m);
  let E = e + L - 1;
  // s = x / 2^E in [1, 2); take it to [sqrt(1/2), sqrt(2)).
  let s = (m << BigInt(P)) >> BigInt(L - 1);
  if (s * s > 2n * one * one) {
    s >>= 1n;
    E += 1;
  }
  const lnS = 2n * atanhP(divP(s - one, s + one, P), P);
  return BigInt(E) * one + divP(lnS, ln2, P);
}

/** y * log2(x) (FYL2X) or y * log2(x + 1) (FYL2XP1, `plus1`). */
export function fyl2xValue(x: Ext, y: Ext, plus1: boolean, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(x, y);
  if (nan !== null) return nan;
  const kx = extClass(x), ky = extClass(y);
  const de = denormals(x, y);
  const bad = { x: EXT_INDEFINITE, flags: MX_IE, up: false };
  if (plus1) {
    if (kx === K_ZERO) {
      if (ky === K_INF) return bad;
      return { x: signedZero(x.neg !== y.neg), flags: de, up: false };
    }
    if (kx === K_INF) {
      if (x.neg || ky === K_ZERO) return bad;
      return { x: infinity(y.neg), flags: de, up: false };
    }
    if (x.neg && expOf(x) >= 0) return bad; // x <= -1
    if (ky === K_ZERO) return { x: signedZero(y.neg !== x.neg), flags: de, up: false };
    if (ky === K_INF) return { x: infinity(y.neg !== x.neg), flags: de, up: false };
  } else {
    if (x.neg && kx !== K_ZERO) return bad;
    if (kx === K_ZERO) {
      if (ky === K_ZERO) return bad;
      if (ky === K_INF) return { x: infinity(!y.neg), flags: de, up: false };
      return { x: infinity(!y.neg), flags: de | MX_ZE, up: false };
    }
    if (kx === K_INF) {
      if (ky === K_ZERO) return bad;
      return { x: infinity(y.neg), flags: de, up: false };
    }
    const isOne = x.sig === 1n << 63n && x.exp === 0x3fff;
    if (isOne) {
      if (ky === K_INF) return bad;
      return { x: signedZero(y.neg), flags: de, up: false };
    }
    const below = expOf(x) < 0;
    if (ky === K_ZERO) return { x: signedZero(y.neg !== below), flags: de, up: false };
    if (ky === K_INF) return { x: infinity(y.neg !== below), flags: de, up: false };
    // x a power of two: log2(x) is the integer E, and y * E is one rounding.
    const { m, e } = extExact(x);
    if ((m & (m - 1n)) === 0n) {
      const E = BigInt(e + bitLength(m) - 1);
      const ym = extExact(y);
      const prod = ym.m * (E < 0n ? -E : E);
      const r = extRound(y.neg !== (E < 0n), prod, ym.e, false, 64, rc, masks);
      r.flags |= de;
      return r;
    }
  }
  const P = GUARD + 64 + (plus1 ? Math.max(0, -expOf(x)) : 0);
  const l = log2P(x, plus1, P);
  const ym = extExact(y);
  const v = l * ym.m * (y.neg ? -1n : 1n);
  const neg = v < 0n;
  const r = extRound(neg, neg ? -v : v, ym.e - P, true, 64, rc, masks);
  r.flags |= de;
  return r;
}

/** atan2(y, x) as FPATAN computes it: arctan(ST(1) / ST(0)) with the quadrant of (x, y). */
export function fpatanValue(x: Ext, y: Ext, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(x, y);
  if (nan !== null) return nan;
  const kx = extClass(x), ky = extClass(y);
  const de = denormals(x, y);
  const P0 = GUARD + 64;
  // Special cases (SDM Vol. 2 FPATAN, Table 3-29): results that are multiples of pi/4 or zeros.
  const piOver = (num: bigint, den: bigint, neg: boolean): ExtResult => {
    const v = (piP(P0) * num) / den;
    const r = roundP(neg ? -v : v, P0, rc, masks);
    r.flags |= de;
    return r;
  };
  if (ky === K_ZERO || (ky !== K_INF && kx === K_INF)) {
    if (ky === K_ZERO && kx === K_ZERO && !x.neg) return { x: signedZero(y.neg), flags: de, up: false };
    if (x.neg) return piOver(1n, 1n, y.neg);
    return { x: signedZero(y.neg), flags: de, up: false };
  }
  if (ky === K_INF) {
    if (kx === K_INF) return piOver(x.neg ? 3n : 1n, 4n, y.neg);
    return piOver(1n, 2n, y.neg);
  }
  if (kx === K_ZERO) return piOver(1n, 2n, y.neg);
  // General case: a = atan(min/max) to relative precision, then the quadrant.
  const ex = expOf(x), ey = expOf(y);
  const P = P0 + Math.max(0, ex - ey);
  const one = 1n << BigInt(P);
  const ax = extExact(x), ay = extExact(y);
  // |y| / |x| and its reciprocal, both as fixed point.
  const ratio = (n: { m: bigint; e: number }, d: { m: bigint; e: number }): bigint => {
    const sh = n.e - d.e + P;
    return sh >= 0 ? (n.m << BigInt(sh)) / d.m : n.m / (d.m << BigInt(-sh));
  };
  let a: bigint;
  const yBigger = ey > ex || (ey === ex && ratio(ay, ax) > one);
  if (!yBigger) a = atanP(ratio(ay, ax), P);
  else a = piP(P) / 2n - atanP(ratio(ax, ay), P);
  if (x.neg) a = piP(P) - a;
  const r = roundP(y.neg ? -a : a, P, rc, masks);
  r.flags |= de;
  return r;
}

/** pi to 66 bits, 0xC90FDAA22168C234C * 2^-66 scaled to 2^-64 (the processor's reduction constant). */
const PI66 = 0x3243f6a8885a308d3n;

/** The reduction of a finite x (|x| < 2^63): r = x - q * pi/2 with |r| <= pi/4, as fixed point, and q mod 4. */
function reduce(x: Ext): { r: bigint; q: number; P: number } {
  const ex = expOf(x);
  const P = GUARD + 64 + Math.max(0, -ex);
  if (ex < -1) return { r: toP(x, P), q: 0, P };
  // The processor reduces with a 66-bit pi (SDM Vol. 1 §8.3.10), exactly: r = x - q * PI66 / 2.
  const Pp = P + 70;
  const halfPi = PI66 << BigInt(Pp - 65);
  const X = toP(x, Pp);
  const q = (X + (X >= 0n ? halfPi / 2n : -halfPi / 2n)) / halfPi;
  const r = (X - q * halfPi) >> 70n;
  return { r, q: Number(BigInt.asUintN(2, q)), P };
}

/** sin or cos of a finite x with |x| < 2^63 (`which` 0 sin, 1 cos). */
export function sinCosValue(x: Ext, which: number, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(x, null);
  if (nan !== null) return nan;
  const k = extClass(x);
  if (k === K_INF) return { x: EXT_INDEFINITE, flags: MX_IE, up: false };
  if (k === K_ZERO) return which === 0 ? { x, flags: 0, up: false } : { x: EXT_ONE, flags: 0, up: false };
  const de = denormals(x, null);
  const { r, q, P } = reduce(x);
  const [s, c] = sinCosP(r, P);
  const n = (q + which) & 3;
  const v = n === 0 ? s : n === 1 ? c : n === 2 ? -s : -c;
  const res = roundP(v, P, rc, masks);
  res.flags |= de;
  return res;
}

/** tan of a finite x with |x| < 2^63. */
export function tanValue(x: Ext, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(x, null);
  if (nan !== null) return nan;
  const k = extClass(x);
  if (k === K_INF) return { x: EXT_INDEFINITE, flags: MX_IE, up: false };
  if (k === K_ZERO) return { x, flags: 0, up: false };
  const de = denormals(x, null);
  const { r, q, P } = reduce(x);
  const [s, c] = sinCosP(r, P);
  const v = (q & 1) === 0 ? divP(s, c, P) : -divP(c, s, P);
  const res = roundP(v, P, rc, masks);
  res.flags |= de;
  return res;
}

/** |x| >= 2^63: FSIN, FCOS, FSINCOS and FPTAN leave ST(0) alone and set C2 (SDM Vol. 2 FSIN). */
function outOfRange(x: Ext): boolean {
  const k = extClass(x);
  return (k === K_NORMAL || k === K_DENORMAL) && expOf(x) >= 63;
}

// ------------------------------------------------------------------ instructions

/** F2XM1 (d9 f0). */
export function f2xm1(cpu: Cpu, i: Insn): void {
  unaryTrans(cpu, i, (x, rc, masks) => f2xm1Value(x, rc, masks));
}

function unaryTrans(cpu: Cpu, i: Insn, op: (x: Ext, rc: number, masks: number) => ExtResult): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (isEmpty(f, 0)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const r = op(getST(f, 0), rounding(f), f.fcw & 0x3f);
  if (!raise(f, r.flags)) return;
  setST(f, 0, r.x);
  setC1(f, r.up && (r.flags & 0x20) !== 0);
}

/** FYL2X (d9 f1, `arg` 0) and FYL2XP1 (d9 f9, `arg` 1): ST(1) = ST(1) * log2(ST(0) [+ 1]), pop. */
export function fyl2x(cpu: Cpu, i: Insn): void {
  binaryPop(cpu, i, (x, y, rc, masks) => fyl2xValue(x, y, i.op === 1, rc, masks));
}

/** FPATAN (d9 f3): ST(1) = arctan(ST(1) / ST(0)), pop. */
export function fpatan(cpu: Cpu, i: Insn): void {
  binaryPop(cpu, i, fpatanValue);
}

function binaryPop(
  cpu: Cpu,
  i: Insn,
  op: (x: Ext, y: Ext, rc: number, masks: number) => ExtResult,
): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (!underflow(f)) return;
    setST(f, 1, EXT_INDEFINITE);
    pop(f);
    return;
  }
  const r = op(getST(f, 0), getST(f, 1), rounding(f), f.fcw & 0x3f);
  if (!raise(f, r.flags)) return;
  setST(f, 1, r.x);
  pop(f);
  setC1(f, r.up && (r.flags & 0x20) !== 0);
}

/** FSIN (d9 fe, `arg` 0) and FCOS (d9 ff, `arg` 1). */
export function fsincosOne(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  f.fsw &= ~SW_C2;
  if (isEmpty(f, 0)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const x = getST(f, 0);
  if (outOfRange(x)) {
    f.fsw |= SW_C2;
    return;
  }
  const r = sinCosValue(x, i.op, rounding(f), f.fcw & 0x3f);
  if (!raise(f, r.flags)) return;
  setST(f, 0, r.x);
  setC1(f, r.up && (r.flags & 0x20) !== 0);
}

/**
 * FSINCOS (d9 fb: ST(0) = sin, then push cos) and FPTAN (d9 f2: ST(0) = tan, then push 1.0). A full
 * stack is #IS (C1 = 1): with IE masked both registers take the real indefinite.
 */
function twoResults(
  cpu: Cpu,
  i: Insn,
  op: (x: Ext, rc: number, masks: number) => [ExtResult, ExtResult],
): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  f.fsw &= ~SW_C2;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    setST(f, 0, EXT_INDEFINITE);
    push(f, EXT_INDEFINITE);
    return;
  }
  if (!isEmpty(f, -1)) {
    f.fsw |= SW_C1;
    if (!raise(f, MX_IE | SW_SF)) return;
    setST(f, 0, EXT_INDEFINITE);
    setTop(f, top(f) - 1);
    setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const x = getST(f, 0);
  if (outOfRange(x)) {
    f.fsw |= SW_C2;
    return;
  }
  const [a, b] = op(x, rounding(f), f.fcw & 0x3f);
  if (!raise(f, a.flags | b.flags)) return;
  setST(f, 0, a.x);
  push(f, b.x);
  // C1 reports the rounding of the value pushed last when inexact.
  f.fsw = (b.up && (b.flags & 0x20) !== 0) || (a.up && (a.flags & 0x20) !== 0)
    ? f.fsw | SW_C1
    : f.fsw & ~SW_C1;
}

/** FSINCOS (d9 fb). */
export function fsincos(cpu: Cpu, i: Insn): void {
  twoResults(cpu, i, (x, rc, masks) => [sinCosValue(x, 0, rc, masks), sinCosValue(x, 1, rc, masks)]);
}

/** FPTAN (d9 f2). */
export function fptan(cpu: Cpu, i: Insn): void {
  twoResults(cpu, i, (x, rc, masks) => {
    const t = tanValue(x, rc, masks);
    // A NaN operand: both registers take the NaN.
    const nanIn = x.exp === 0x7fff && x.sig !== 1n << 63n;
    return [t, nanIn || (t.flags & MX_IE) !== 0 ? t : { x: EXT_ONE, flags: 0, up: false }];
  });
}

/**
 * Exact IEEE 754 binary arithmetic for the slow paths of the SSE instructions: the exact result
 * of an operation as an integer significand and a power of two (BigInt), rounded once to a binary
 * format under a rounding mode, with tininess detected after rounding (SDM Vol. 1 §4.9.1.5),
 * flush-to-zero (§10.2.3.3), and the exception flags each rounding raises (MXCSR bit layout).
 *
 * @example
 * ```ts
 * import { BINARY32, roundExact, RC_NEAREST } from "./softfloat.ts";
 * // 1 + 2^-24 in single precision: a tie, rounds to even (1.0), inexact.
 * const r = roundExact(false, (1n << 24n) + 1n, -24, false, BINARY32, RC_NEAREST, false, 0x3f);
 * if (r.value !== 1 || r.flags !== 0x20) throw new Error("rounding");
 * ```
 *
 * @module
 */

import { MX_OE, MX_PE, MX_UE } from "./fpu_state.ts";

/** A binary floating-point format: precision in bits and the normal exponent range. */
export interface BinaryFormat {
  /** Significand bits, the integer bit included. */
  p: number;
  /** Smallest normal exponent. */
  emin: number;
  /** Largest exponent. */
  emax: number;
  /** Largest finite value. */
  max: number;
}

/** IEEE binary32 (single precision). */
export const BINARY32: BinaryFormat = { p: 24, emin: -126, emax: 127, max: 3.4028234663852886e38 };
/** IEEE binary64 (double precision). */
export const BINARY64: BinaryFormat = { p: 53, emin: -1022, emax: 1023, max: Number.MAX_VALUE };

/** Rounding control: to nearest, ties to even (MXCSR.RC = 0). */
export const RC_NEAREST = 0;
/** Toward negative infinity. */
export const RC_DOWN = 1;
/** Toward positive infinity. */
export const RC_UP = 2;
/** Toward zero. */
export const RC_ZERO = 3;

/** A rounded value and the flags (MX_PE, MX_UE, MX_OE) the rounding raised. */
export interface Rounded {
  /** The result (exact in the target format); meaningless when an unmasked flag is raised. */
  value: number;
  /** MXCSR flag bits. */
  flags: number;
}

/** Number of bits of a positive bigint. */
export function bitLength(m: bigint): number {
  return m === 0n ? 0 : m.toString(2).length;
}

function roundsUp(lsb: boolean, round: boolean, sticky: boolean, neg: boolean, rc: number): boolean {
  switch (rc) {
    case RC_NEAREST:
      return round && (sticky || lsb);
    case RC_DOWN:
      return neg && (round || sticky);
    case RC_UP:
      return !neg && (round || sticky);
    default:
      return false;
  }
}

/** Result kind of {@linkcode roundBits}: a finite value q * 2^exp (q = 0 for a zero). */
export const RB_FINITE = 0;
/** Overflow (masked) to infinity. */
export const RB_INF = 1;
/** Overflow (masked) to the largest finite value, (2^p - 1) * 2^(emax - p + 1). */
export const RB_MAX = 2;
/**
 * Overflow or underflow with that exception unmasked: q * 2^exp is the value rounded to p bits
 * with an unbounded exponent (the x87 FPU delivers it with its exponent adjusted, SDM Vol. 1
 * §8.5.4 and §8.5.5; SSE delivers nothing).
 */
export const RB_UNMASKED = 3;

/** A significand rounded to a precision: what {@linkcode roundBits} returns. */
export interface RoundedBits {
  /** RB_FINITE, RB_INF, RB_MAX or RB_UNMASKED. */
  kind: number;
  /** The integer significand (at most p bits). */
  q: bigint;
  /** Its exponent: the value is (-1)^neg * q * 2^exp. */
  exp: number;
  /** MXCSR / x87 status-word flag bits (PE, UE, OE: the same positions in both). */
  flags: number;
  /** The magnitude was rounded up (the x87 FPU reports it in C1, SDM Vol. 1 §8.1.3.3). */
  up: boolean;
}

/**
 * Rounds (-1)^neg * (m + sticky) * 2^e to p significand bits with normal exponents emin..emax
 * under rounding control `rc`: the one rounding core of the SSE and x87 slow paths. `sticky` says
 * nonzero bits lie below m's last bit (m must then carry at least p + 2 bits). `masks` are the
 * exception mask bits shifted to the flags' positions. `ftz` flushes tiny results to zero when
 * underflow is masked. With underflow unmasked a tiny result raises UE whether exact or not, and
 * PE only when rounding it to p bits with an unbounded exponent is inexact; likewise OE with
 * overflow unmasked (as the host CPU does).
 */
export function roundBits(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  p: number,
  emin: number,
  emax: number,
  rc: number,
  ftz: boolean,
  masks: number,
): RoundedBits {
  if (m === 0n) return { kind: RB_FINITE, q: 0n, exp: 0, flags: 0, up: false };
  const L = bitLength(m);
  const E = e + L - 1;
  // Rounding with an unbounded exponent (tininess is detected after rounding).
  const ub = roundAt(neg, m, e, sticky, E - p + 1, rc);
  const e1 = bitLength(ub.q) + ub.exp - 1;
  const tiny = e1 < emin;
  if (tiny && (masks & MX_UE) === 0) {
    return { kind: RB_UNMASKED, q: ub.q, exp: ub.exp, flags: MX_UE | (ub.inexact ? MX_PE : 0), up: ub.up };
  }
  if (tiny && ftz) return { kind: RB_FINITE, q: 0n, exp: 0, flags: MX_UE | MX_PE, up: false };
  const r = E - p + 1 >= emin - p + 1 ? ub : roundAt(neg, m, e, sticky, emin - p + 1, rc);
  if (e1 > emax) {
    if ((masks & MX_OE) === 0) {
      return { kind: RB_UNMASKED, q: ub.q, exp: ub.exp, flags: MX_OE | (ub.inexact ? MX_PE : 0), up: ub.up };
    }
    const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
    return toInf
      ? { kind: RB_INF, q: 0n, exp: 0, flags: MX_OE | MX_PE, up: true }
      : { kind: RB_MAX, q: (1n << BigInt(p)) - 1n, exp: emax - p + 1, flags: MX_OE | MX_PE, up: false };
  }
  let flags = r.inexact ? MX_PE : 0;
  if (tiny && r.inexact) flags |= MX_UE;
  return { kind: RB_FINITE, q: r.q, exp: r.exp, flags, up: r.up };
}

/** Rounds m * 2^e (+ sticky) to a multiple of 2^lsbExp. */
function roundAt(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  lsbExp: number,
  rc: number,
): { q: bigint; exp: number; inexact: boolean; up: boolean } {
  const sh = lsbExp - e;
  let q: bigint, rb: boolean, st: boolean;
  if (sh > 0) {
    q = m >> BigInt(sh);
    rb = ((m >> BigInt(sh - 1)) & 1n) === 1n;
    st = sticky || (sh > 1 && (m & ((1n << BigInt(sh - 1)) - 1n)) !== 0n);
  } else {
    q = m << BigInt(-sh);
    rb = false;
    st = sticky;
  }
  const up = roundsUp((q & 1n) === 1n, rb, st, neg, rc);
  if (up) q += 1n;
  return { q, exp: lsbExp, inexact: rb || st, up };
}

/**
 * Rounds (-1)^neg * (m + sticky) * 2^e to `fmt` ({@linkcode roundBits} with the format's
 * precision and range), as a number: `masks` are MXCSR's exception mask bits (12:7) shifted down
 * to the flags' positions; a result with an unmasked OE or UE is not delivered (value 0).
 */
export function roundExact(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  fmt: BinaryFormat,
  rc: number,
  ftz: boolean,
  masks: number,
): Rounded {
  if (m === 0n) return { value: neg ? -0 : 0, flags: 0 };
  const r = roundBits(neg, m, e, sticky, fmt.p, fmt.emin, fmt.emax, rc, ftz, masks);
  let v: number;
  if (r.kind === RB_UNMASKED) v = 0;
  else if (r.kind === RB_INF) v = Infinity;
  else if (r.kind === RB_MAX) v = fmt.max;
  else v = Number(r.q) * 2 ** r.exp;
  return { value: neg ? -v : v, flags: r.flags };
}

/** Splits a finite nonzero double into an integer significand and exponent: |x| = m * 2^e. */
export function decompose(x: number): { m: bigint; e: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  const hi = dv.getUint32(4, true), lo = dv.getUint32(0, true);
  const bexp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (bexp === 0) return { m: frac, e: -1074 };
  return { m: frac | (1n << 52n), e: bexp - 1075 };
}

/** Integer square root of a nonnegative bigint (floor). */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Operation codes of {@linkcode exactArith}. */
export const OP_ADD = 0;
/** Subtraction. */
export const OP_SUB = 1;
/** Multiplication. */
export const OP_MUL = 2;
/** Division. */
export const OP_DIV = 3;
/** Square root (of `a`; `b` ignored). */
export const OP_SQRT = 4;

/**
 * The correctly rounded result of `a op b` for finite nonzero operands whose exact result is not
 * an exact zero (the callers handle zeros, infinities and NaNs first).
 */
export function exactArith(
  op: number,
  a: number,
  b: number,
  fmt: BinaryFormat,
  rc: number,
  ftz: boolean,
  masks: number,
): Rounded {
  const da = decompose(a);
  const na = a < 0;
  if (op === OP_SQRT) {
    let s = Math.max(0, 2 * (fmt.p + 2) - bitLength(da.m));
    if (((da.e - s) & 1) !== 0) s++;
    const M = da.m << BigInt(s);
    const q = isqrt(M);
    return roundExact(false, q, (da.e - s) / 2, q * q !== M, fmt, rc, ftz, masks);
  }
  const db = decompose(b);
  const nb = (b < 0) !== (op === OP_SUB);
  if (op === OP_ADD || op === OP_SUB) {
    const e = Math.min(da.e, db.e);
    const x = (na ? -da.m : da.m) << BigInt(da.e - e);
    const y = (nb ? -db.m : db.m) << BigInt(db.e - e);
    const s = x + y;
    if (s === 0n) return { value: rc === RC_DOWN ? -0 : 0, flags: 0 };
    return roundExact(s < 0n, s < 0n ? -s : s, e, false, fmt, rc, ftz, masks);
  }
  const neg = na !== (b < 0);
  if (op === OP_MUL) return roundExact(neg, da.m * db.m, da.e + db.e, false, fmt, rc, ftz, masks);
  const k = Math.max(0, fmt.p + 3 + bitLength(db.m) - bitLength(da.m));
  const num = da.m << BigInt(k);
  const q = num / db.m;
  return roundExact(neg, q, da.e - db.e - k, q * db.m !== num, fmt, rc, ftz, masks);
}

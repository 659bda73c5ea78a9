/**
 * Extended-precision (80-bit) floating point for the x87 FPU, exact and in BigInt (SDM Vol. 1
 * §4.2.2, §4.8, §8.2, §8.5): the double extended format (sign, 15-bit biased exponent, 64-bit
 * significand with an explicit integer bit J), its classes (with the unsupported encodings of
 * §8.2.2: unnormals, pseudo-NaNs and pseudo-infinities raise #IA, pseudo-denormals are used as
 * denormals), arithmetic rounded once to the precision control's 24, 53 or 64 bits under the
 * rounding control by the rounding core of softfloat.ts, NaN propagation (§4.8.3.5, Table 4-7),
 * and conversions to and from single, double, integer and packed BCD formats.
 *
 * Every operation returns its result and the exception flags it raised (status-word positions:
 * IE, DE, ZE, OE, UE, PE as MXCSR's). What the flags do (masking, #MF) is the instruction layer's.
 *
 * @example
 * ```ts
 * import { extAdd, extFromF64, extToF64 } from "./x87.ts";
 * const one = extFromF64(1).x, third = extFromF64(1 / 3).x;
 * const r = extAdd(one, third, false, 64, 0, 0x3f);
 * if (extToF64(r.x) !== 1 + 1 / 3) throw new Error("add");
 * ```
 *
 * @module
 */

import { MX_DE, MX_IE, MX_OE, MX_PE, MX_UE, MX_ZE } from "./fpu_state.ts";
import {
  bitLength,
  isqrt,
  RB_FINITE,
  RB_INF,
  RB_MAX,
  RB_UNMASKED,
  RC_DOWN,
  RC_NEAREST,
  RC_UP,
  RC_ZERO,
  roundBits,
} from "./softfloat.ts";

/** An 80-bit extended value as its fields. */
export interface Ext {
  /** Sign bit. */
  neg: boolean;
  /** Biased exponent, 0..0x7fff. */
  exp: number;
  /** 64-bit significand, integer bit J in bit 63. */
  sig: bigint;
}

/** A result and the flags its operation raised. */
export interface ExtResult {
  /** The value (real indefinite or a quiet NaN after a masked #IA). */
  x: Ext;
  /** Status-word exception flags (IE, DE, ZE, OE, UE, PE). */
  flags: number;
  /** The rounding increased the magnitude (C1 after an inexact result, SDM Vol. 1 §8.1.3.3). */
  up: boolean;
}

/** Exponent bias of the extended format. */
export const EXT_BIAS = 16383;
/** The exponent adjustment of a result with an unmasked overflow or underflow (SDM Vol. 1 §8.5.4-5). */
export const EXT_ADJUST = 24576;
const J = 1n << 63n;
const QUIET = 1n << 62n;
const SIG_MASK = (1n << 64n) - 1n;
/** Exponent of the significand's last bit for biased exponent 1: 1 - 16383 - 63. */
const LSB_EMIN = 1 - EXT_BIAS - 63;
const EMIN = 1 - EXT_BIAS, EMAX = EXT_BIAS;

/** Class: +-0. */
export const K_ZERO = 0;
/** Class: a denormal or pseudo-denormal (biased exponent 0, nonzero significand). */
export const K_DENORMAL = 1;
/** Class: a normal finite value. */
export const K_NORMAL = 2;
/** Class: +-infinity. */
export const K_INF = 3;
/** Class: a quiet NaN. */
export const K_QNAN = 4;
/** Class: a signaling NaN. */
export const K_SNAN = 5;
/** Class: an unsupported encoding (unnormal, pseudo-NaN, pseudo-infinity: SDM Vol. 1 §8.2.2). */
export const K_UNSUPPORTED = 6;

/** The real indefinite QNaN (SDM Vol. 1 Table 4-3). */
export const EXT_INDEFINITE: Ext = { neg: true, exp: 0x7fff, sig: 0xc000000000000000n };
/** +0. */
export const EXT_ZERO: Ext = { neg: false, exp: 0, sig: 0n };
/** +1. */
export const EXT_ONE: Ext = { neg: false, exp: EXT_BIAS, sig: J };

/** The class (K_*) of an extended value. */
export function extClass(x: Ext): number {
  if (x.exp === 0) return x.sig === 0n ? K_ZERO : K_DENORMAL;
  if ((x.sig & J) === 0n) return K_UNSUPPORTED;
  if (x.exp === 0x7fff) {
    if (x.sig === J) return K_INF;
    return (x.sig & QUIET) !== 0n ? K_QNAN : K_SNAN;
  }
  return K_NORMAL;
}

/** Reads an extended value from 10 little-endian bytes. */
export function extRead(b: Uint8Array, off: number): Ext {
  let sig = 0n;
  for (let k = 7; k >= 0; k--) sig = (sig << 8n) | BigInt(b[off + k]);
  const se = b[off + 8] | (b[off + 9] << 8);
  return { neg: (se & 0x8000) !== 0, exp: se & 0x7fff, sig };
}

/** Writes an extended value as 10 little-endian bytes. */
export function extWrite(b: Uint8Array, off: number, x: Ext): void {
  let s = x.sig;
  for (let k = 0; k < 8; k++) {
    b[off + k] = Number(s & 0xffn);
    s >>= 8n;
  }
  const se = x.exp | (x.neg ? 0x8000 : 0);
  b[off + 8] = se & 0xff;
  b[off + 9] = se >>> 8;
}

/** Builds the extended value (-1)^neg * q * 2^e, which must be exact in the format (q < 2^64 after normalizing). */
export function extPack(neg: boolean, q: bigint, e: number): Ext {
  if (q === 0n) return { neg, exp: 0, sig: 0n };
  const L = bitLength(q);
  const E = e + L - 1;
  if (E >= EMIN) return { neg, exp: E + EXT_BIAS, sig: (q << BigInt(64 - L)) & SIG_MASK };
  const sh = e - LSB_EMIN;
  return { neg, exp: 0, sig: sh >= 0 ? q << BigInt(sh) : q >> BigInt(-sh) };
}

/** The exact value of a finite extended value: |x| = m * 2^e. */
export function extExact(x: Ext): { m: bigint; e: number } {
  return { m: x.sig, e: (x.exp === 0 ? 1 : x.exp) - EXT_BIAS - 63 };
}

/**
 * Rounds (-1)^neg * (m + sticky) * 2^e to `p` bits (the precision control: 24, 53 or 64) in the
 * extended exponent range. With an unmasked overflow or underflow the result rounded with an
 * unbounded exponent is delivered with its exponent adjusted by 24576 (SDM Vol. 1 §8.5.4-5).
 */
export function extRound(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  p: number,
  rc: number,
  masks: number,
): ExtResult {
  const r = roundBits(neg, m, e, sticky, p, EMIN, EMAX, rc, false, masks);
  switch (r.kind) {
    case RB_INF:
      return { x: { neg, exp: 0x7fff, sig: J }, flags: r.flags, up: true };
    case RB_MAX:
      return { x: extPack(neg, r.q, r.exp), flags: r.flags, up: false };
    case RB_UNMASKED: {
      const adj = (r.flags & MX_OE) !== 0 ? -EXT_ADJUST : EXT_ADJUST;
      const x = extPack(neg, r.q, r.exp + adj);
      // Out of range even so (FSCALE can go that far): infinity or zero of the sign (as the host CPU does).
      if (x.exp === 0 || x.exp >= 0x7fff) {
        const over = (r.flags & MX_OE) !== 0;
        return {
          x: over ? { neg, exp: 0x7fff, sig: J } : { neg, exp: 0, sig: 0n },
          flags: r.flags | MX_PE,
          up: over,
        };
      }
      return { x, flags: r.flags, up: r.up };
    }
    default:
      return { x: extPack(neg, r.q, r.exp), flags: r.flags, up: r.up };
  }
}

function quiet(x: Ext): Ext {
  return { neg: x.neg, exp: x.exp, sig: x.sig | QUIET };
}

/**
 * The result of an operation with a NaN or unsupported operand (SDM Vol. 1 Table 4-7, x87 column;
 * §8.2.2), or null when neither operand is one. `b` may be null for a one-operand operation.
 */
export function extNaNResult(a: Ext, b: Ext | null): ExtResult | null {
  const ka = extClass(a), kb = b === null ? K_ZERO : extClass(b);
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) return { x: EXT_INDEFINITE, flags: MX_IE, up: false };
  const na = ka === K_QNAN || ka === K_SNAN, nb = kb === K_QNAN || kb === K_SNAN;
  if (!na && !nb) return null;
  const flags = ka === K_SNAN || kb === K_SNAN ? MX_IE : 0;
  if (!nb) return { x: quiet(a), flags, up: false };
  if (!na) return { x: quiet(b!), flags, up: false };
  // Both NaNs: a QNaN over an SNaN, else the larger significand (then the positive one).
  if (ka !== kb) return { x: quiet(ka === K_QNAN ? a : b!), flags, up: false };
  const sa = a.sig | QUIET, sb = b!.sig | QUIET;
  if (sa !== sb) return { x: quiet(sa > sb ? a : b!), flags, up: false };
  return { x: quiet(a.neg && !b!.neg ? b! : a), flags, up: false };
}

function denormalFlag(a: Ext, b: Ext | null): number {
  return (a.exp === 0 && a.sig !== 0n) || (b !== null && b.exp === 0 && b.sig !== 0n) ? MX_DE : 0;
}

function inf(neg: boolean): Ext {
  return { neg, exp: 0x7fff, sig: J };
}

function zero(neg: boolean): Ext {
  return { neg, exp: 0, sig: 0n };
}

function ok(x: Ext, flags: number): ExtResult {
  return { x, flags, up: false };
}

/** a + b (or a - b with `sub`), rounded to `p` bits under `rc`; `masks` are FCW bits 5:0. */
export function extAdd(a: Ext, b: Ext, sub: boolean, p: number, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(a, b);
  if (nan !== null) return nan;
  const de = denormalFlag(a, b);
  const ka = extClass(a), kb = extClass(b);
  const nb = b.neg !== sub;
  if (ka === K_INF || kb === K_INF) {
    if (ka === K_INF && kb === K_INF && a.neg !== nb) return ok(EXT_INDEFINITE, MX_IE);
    return ok(inf(ka === K_INF ? a.neg : nb), de);
  }
  if (ka === K_ZERO && kb === K_ZERO) {
    return ok(zero(a.neg === nb ? a.neg : rc === RC_DOWN), de);
  }
  const xa = extExact(a), xb = extExact(b);
  const e = Math.min(xa.e, xb.e);
  const s = (a.neg ? -xa.m : xa.m) * (1n << BigInt(xa.e - e)) +
    (nb ? -xb.m : xb.m) * (1n << BigInt(xb.e - e));
  if (s === 0n) return ok(zero(rc === RC_DOWN), de);
  const r = extRound(s < 0n, s < 0n ? -s : s, e, false, p, rc, masks);
  r.flags |= de;
  return r;
}

/** a * b. */
export function extMul(a: Ext, b: Ext, p: number, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(a, b);
  if (nan !== null) return nan;
  const de = denormalFlag(a, b);
  const ka = extClass(a), kb = extClass(b);
  const neg = a.neg !== b.neg;
  if (ka === K_INF || kb === K_INF) {
    if (ka === K_ZERO || kb === K_ZERO) return ok(EXT_INDEFINITE, MX_IE);
    return ok(inf(neg), de);
  }
  if (ka === K_ZERO || kb === K_ZERO) return ok(zero(neg), de);
  const xa = extExact(a), xb = extExact(b);
  const r = extRound(neg, xa.m * xb.m, xa.e + xb.e, false, p, rc, masks);
  r.flags |= de;
  return r;
}

/** a / b. */
export function extDiv(a: Ext, b: Ext, p: number, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(a, b);
  if (nan !== null) return nan;
  const de = denormalFlag(a, b);
  const ka = extClass(a), kb = extClass(b);
  const neg = a.neg !== b.neg;
  if (ka === K_INF) return kb === K_INF ? ok(EXT_INDEFINITE, MX_IE) : ok(inf(neg), de);
  if (kb === K_INF) return ok(zero(neg), de);
  // Division by zero: #Z alone, a denormal dividend not reported (as the host CPU does).
  if (kb === K_ZERO) return ka === K_ZERO ? ok(EXT_INDEFINITE, MX_IE) : ok(inf(neg), MX_ZE);
  if (ka === K_ZERO) return ok(zero(neg), de);
  const xa = extExact(a), xb = extExact(b);
  const k = Math.max(0, 66 + bitLength(xb.m) - bitLength(xa.m));
  const num = xa.m << BigInt(k);
  const q = num / xb.m;
  const r = extRound(neg, q, xa.e - xb.e - k, q * xb.m !== num, p, rc, masks);
  r.flags |= de;
  return r;
}

/** The square root of a. */
export function extSqrt(a: Ext, p: number, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(a, null);
  if (nan !== null) return nan;
  const de = denormalFlag(a, null);
  const ka = extClass(a);
  if (ka === K_ZERO) return ok(a, 0);
  if (a.neg) return ok(EXT_INDEFINITE, MX_IE);
  if (ka === K_INF) return ok(a, 0);
  const xa = extExact(a);
  let s = Math.max(0, 2 * 66 - bitLength(xa.m));
  if (((xa.e - s) & 1) !== 0) s++;
  const M = xa.m << BigInt(s);
  const q = isqrt(M);
  const r = extRound(false, q, (xa.e - s) / 2, q * q !== M, p, rc, masks);
  r.flags |= de;
  return r;
}

/**
 * Compares a with b: 0 a > b, 1 a < b, 2 equal, 3 unordered (the C3,C2,C0 / ZF,PF,CF encodings of
 * SDM Vol. 2 FCOM and FCOMI, in the order 000, 001, 100, 111). `quietNaN` (FUCOM) raises #IA only
 * for SNaNs; FCOM raises it for any NaN.
 */
export function extCompare(a: Ext, b: Ext, quietNaN: boolean): { rel: number; flags: number } {
  const ka = extClass(a), kb = extClass(b);
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) return { rel: 3, flags: MX_IE };
  if (ka >= K_QNAN || kb >= K_QNAN) {
    const signal = !quietNaN || ka === K_SNAN || kb === K_SNAN;
    return { rel: 3, flags: signal ? MX_IE : 0 };
  }
  const flags = denormalFlag(a, b);
  const c = extCmpValues(a, b);
  return { rel: c > 0 ? 0 : c < 0 ? 1 : 2, flags };
}

/** Sign of a - b for two non-NaN values (zeros equal whatever their signs). */
function extCmpValues(a: Ext, b: Ext): number {
  const ka = extClass(a), kb = extClass(b);
  const sa = ka === K_ZERO ? 0 : a.neg ? -1 : 1, sb = kb === K_ZERO ? 0 : b.neg ? -1 : 1;
  if (sa !== sb) return sa > sb ? 1 : -1;
  if (sa === 0) return 0;
  let mag: number;
  if (ka === K_INF || kb === K_INF) mag = ka === kb ? 0 : ka === K_INF ? 1 : -1;
  else {
    const xa = extExact(a), xb = extExact(b);
    const e = Math.min(xa.e, xb.e);
    const va = xa.m << BigInt(xa.e - e), vb = xb.m << BigInt(xb.e - e);
    mag = va === vb ? 0 : va > vb ? 1 : -1;
  }
  return sa * mag;
}

// ------------------------------------------------------------------ conversions

/** A binary interchange format as the x87 FPU loads and stores it. */
export interface MemFormat {
  /** Significand bits with the hidden bit. */
  p: number;
  /** Exponent field bits. */
  ebits: number;
}

/** binary32 (m32fp). */
export const M32: MemFormat = { p: 24, ebits: 8 };
/** binary64 (m64fp). */
export const M64: MemFormat = { p: 53, ebits: 11 };

/**
 * Loads a binary32 or binary64 value (its bits) as an extended value, exactly: an SNaN raises #IA
 * and becomes quiet, a denormal raises #D (SDM Vol. 2 FLD).
 */
export function extFromBits(bits: bigint, fmt: MemFormat): ExtResult {
  const fbits = fmt.p - 1;
  const bias = (1 << (fmt.ebits - 1)) - 1;
  const neg = (bits >> BigInt(fbits + fmt.ebits)) !== 0n;
  const be = Number((bits >> BigInt(fbits)) & BigInt((1 << fmt.ebits) - 1));
  const frac = bits & ((1n << BigInt(fbits)) - 1n);
  if (be === (1 << fmt.ebits) - 1) {
    if (frac === 0n) return ok(inf(neg), 0);
    const sig = J | (frac << BigInt(63 - fbits));
    const snan = (frac >> BigInt(fbits - 1)) === 0n;
    return ok({ neg, exp: 0x7fff, sig: sig | QUIET }, snan ? MX_IE : 0);
  }
  if (be === 0) {
    if (frac === 0n) return ok(zero(neg), 0);
    return ok(extPack(neg, frac, 1 - bias - fbits), MX_DE);
  }
  return ok(extPack(neg, frac | (1n << BigInt(fbits)), be - bias - fbits), 0);
}

/** Loads a double (a JS number) as an extended value. */
export function extFromF64(v: number): ExtResult {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  return extFromBits(dv.getBigUint64(0, true), M64);
}

/** An extended value that is exact as a double, as a JS number (tests and messages). */
export function extToF64(x: Ext): number {
  const k = extClass(x);
  if (k === K_ZERO) return x.neg ? -0 : 0;
  if (k === K_INF) return x.neg ? -Infinity : Infinity;
  if (k >= K_QNAN) return NaN;
  const { m, e } = extExact(x);
  const v = Number(m) * 2 ** e;
  return x.neg ? -v : v;
}

/** A value stored to memory: its bits, the flags, C1, and whether the store happens (no store after an unmasked exception). */
export interface StoreResult {
  /** The bits to store. */
  bits: bigint;
  /** Exception flags raised. */
  flags: number;
  /** Rounded up (C1). */
  up: boolean;
}

/**
 * Rounds an extended value to binary32/64 for FST (SDM Vol. 2 FST: #IA for an SNaN or unsupported
 * source, #D for a denormal source, #O, #U, #P; rounding control applies, precision control does not).
 */
export function extToBits(x: Ext, fmt: MemFormat, rc: number, masks: number): StoreResult {
  const fbits = fmt.p - 1;
  const bias = (1 << (fmt.ebits - 1)) - 1;
  const emax = BigInt((1 << fmt.ebits) - 1);
  const sign = x.neg ? 1n << BigInt(fbits + fmt.ebits) : 0n;
  const k = extClass(x);
  const infBits = sign | (emax << BigInt(fbits));
  if (k === K_UNSUPPORTED) {
    return {
      bits: (1n << BigInt(fbits + fmt.ebits)) | infBits | (1n << BigInt(fbits - 1)),
      flags: MX_IE,
      up: false,
    };
  }
  if (k === K_QNAN || k === K_SNAN) {
    return {
      bits: infBits | ((x.sig & ~J) >> BigInt(63 - fbits)) | (1n << BigInt(fbits - 1)),
      flags: k === K_SNAN ? MX_IE : 0,
      up: false,
    };
  }
  if (k === K_INF) return { bits: infBits, flags: 0, up: false };
  if (k === K_ZERO) return { bits: sign, flags: 0, up: false };
  // A denormal source raises no #D here (SDM Vol. 2 FST lists none; the host CPU agrees).
  const de = 0;
  const { m, e } = extExact(x);
  const r = roundBits(x.neg, m, e, false, fmt.p, 1 - bias, bias, rc, false, masks);
  if (r.kind === RB_INF) return { bits: infBits, flags: r.flags | de, up: true };
  // Unmasked overflow or underflow: nothing is stored, and only OE or UE is raised.
  if (r.kind === RB_UNMASKED) return { bits: 0n, flags: (r.flags & ~MX_PE) | de, up: false };
  const q = r.q;
  if (q === 0n) return { bits: sign, flags: r.flags | de, up: r.up };
  const L = bitLength(q);
  const E = r.exp + L - 1;
  let bits: bigint;
  if (E >= 1 - bias) {
    bits = sign | (BigInt(E + bias) << BigInt(fbits)) |
      ((q << BigInt(fmt.p - L)) & ((1n << BigInt(fbits)) - 1n));
  } else bits = sign | (q << BigInt(r.exp - (1 - bias - fbits)));
  void RB_MAX;
  void RB_FINITE;
  return { bits, flags: r.flags | de, up: r.up };
}

/** Loads a signed integer (FILD): exact. */
export function extFromInt(v: bigint): Ext {
  return v < 0n ? extPack(true, -v, 0) : extPack(false, v, 0);
}

/**
 * Converts to a signed integer of `bits` bits (FIST/FISTP with rounding control `rc`; FISTTP with
 * RC_ZERO). A NaN, infinity, unsupported value or out-of-range result raises #IA and gives the
 * integer indefinite -2^(bits-1) (SDM Vol. 2 FIST).
 */
export function extToInt(x: Ext, bits: number, rc: number): { v: bigint; flags: number; up: boolean } {
  const indefinite = -(1n << BigInt(bits - 1));
  const k = extClass(x);
  if (k === K_ZERO) return { v: 0n, flags: 0, up: false };
  if (k === K_INF || k >= K_QNAN) return { v: indefinite, flags: MX_IE, up: false };
  const r = extRoundInt(x, rc);
  const { m, e } = extExact(r.x);
  let v = r.x.exp === 0 ? 0n : e >= 0 ? m << BigInt(e) : m >> BigInt(-e);
  if (r.x.neg) v = -v;
  if (v < indefinite || v >= -indefinite) return { v: indefinite, flags: MX_IE, up: false };
  return { v, flags: r.flags & MX_PE, up: r.up };
}

/** Rounds to an integral value under `rc` (FRNDINT): PE when inexact (and DE for a denormal). */
export function extRoundInt(x: Ext, rc: number): ExtResult {
  const nan = extNaNResult(x, null);
  if (nan !== null) return nan;
  const k = extClass(x);
  if (k === K_ZERO || k === K_INF) return ok(x, 0);
  const de = k === K_DENORMAL ? MX_DE : 0;
  const { m, e } = extExact(x);
  if (e >= 0) return ok(x, de);
  const sh = BigInt(-e);
  let q = sh >= 66n ? 0n : m >> sh;
  const rem = sh >= 66n ? m : m - (q << sh);
  if (rem === 0n) return ok(x, de);
  const half = 1n << (sh - 1n);
  let up = false;
  switch (rc) {
    case RC_NEAREST:
      up = rem > half || (rem === half && (q & 1n) === 1n);
      break;
    case RC_DOWN:
      up = x.neg;
      break;
    case RC_UP:
      up = !x.neg;
      break;
    case RC_ZERO:
      up = false;
  }
  if (up) q += 1n;
  return { x: q === 0n ? zero(x.neg) : extPack(x.neg, q, 0), flags: de | MX_PE, up };
}

/** The packed BCD integer indefinite (SDM Vol. 1 Table 4-3), as 10 bytes' value. */
export const BCD_INDEFINITE: bigint = 0xffffc000000000000000n;

/** Loads an 18-digit packed BCD integer (FBLD). Digits above 9 give an undefined value; here they count as their binary value. */
export function extFromBcd(v: bigint): Ext {
  let n = 0n;
  for (let d = 17; d >= 0; d--) n = n * 10n + ((v >> BigInt(4 * d)) & 15n);
  const neg = (v >> 79n) !== 0n;
  return n === 0n ? zero(neg) : extPack(neg, n, 0);
}

/** Stores as an 18-digit packed BCD integer (FBSTP: rounds under `rc`; #IA and the BCD indefinite when out of range). */
export function extToBcd(x: Ext, rc: number): { v: bigint; flags: number; up: boolean } {
  const k = extClass(x);
  if (k === K_INF || k >= K_QNAN) return { v: BCD_INDEFINITE, flags: MX_IE, up: false };
  const r = k === K_ZERO ? ok(x, 0) : extRoundInt(x, rc);
  const { m, e } = extExact(r.x);
  let n = r.x.exp === 0 || m === 0n ? 0n : e >= 0 ? m << BigInt(e) : m >> BigInt(-e);
  if (n >= 10n ** 18n) return { v: BCD_INDEFINITE, flags: MX_IE, up: false };
  let v = 0n;
  for (let d = 0; d < 18; d++) {
    v |= (n % 10n) << BigInt(4 * d);
    n /= 10n;
  }
  if (x.neg) v |= 1n << 79n;
  return { v, flags: r.flags & MX_PE, up: r.up };
}

/** Flag bits re-exported for the instruction layer. */
export { MX_DE, MX_IE, MX_OE, MX_PE, MX_UE, MX_ZE };

/**
 * The x87 state of a conformance case (case.ts `x87`): FCW, FSW, the full tag word and ST0-ST7 as
 * 86 bytes, and the values of x87 memory operands. Values are edge-biased extended values: zeros,
 * denormals, pseudo-denormals, normals of small and extreme exponents, integers, infinities, QNaNs,
 * SNaNs, the real indefinite and (rarely) the unsupported encodings of SDM Vol. 1 §8.2.2; the
 * operands of the transcendental instructions mostly lie in their documented domains.
 * @module
 */

import type { Prng } from "./prng.ts";
import { X87_TRANSCENDENTAL } from "./x87_forms.ts";

/** Bytes of a case's x87 state: FCW, FSW, FTW (2 each), then ST0-ST7 (10 each). */
export const X87_STATE_BYTES = 86;

/** An x87 memory operand of a case: scratch offset and size in bits. */
export interface X87MemOperand {
  /** Offset in the scratch area. */
  off: number;
  /** Size in bits. */
  bits: number;
}

/** An edge-biased extended value as [sign+exponent (16 bits), significand (64 bits)]. */
export function extValue(rng: Prng, kind = "any"): [number, bigint] {
  const J = 1n << 63n;
  const sign = rng.chance(0.35) ? 0x8000 : 0;
  const sig = () => J | rng.bits(63);
  if (kind === "unit") {
    // The SDM's domains: |x| <= 1 (F2XM1), |x| < 1 - sqrt(2)/2 (FYL2XP1); sometimes a zero or a NaN.
    if (rng.chance(0.1)) return rng.pick<[number, bigint]>([[sign, 0n], [sign | 0x7fff, J | (1n << 62n)]]);
    return [sign | rng.range(0x3fc0, 0x3ffc), sig()];
  }
  if (kind === "trig" && rng.chance(0.8)) return [sign | rng.range(0x3fe0, 0x400a), sig()];
  if (kind === "positive" && rng.chance(0.8)) return [rng.range(0x3f00, 0x4100), sig()];
  switch (rng.int(12)) {
    case 0:
      return [sign, 0n]; // zero
    case 1:
      return [sign | 0x3fff, J]; // +-1
    case 2:
      return [sign | 0x7fff, J]; // infinity
    case 3:
      // NaNs: quiet, signaling, the indefinite.
      return rng.pick<[number, bigint]>([
        [sign | 0x7fff, J | (1n << 62n) | rng.bits(20)],
        [sign | 0x7fff, J | 1n + rng.bits(40)],
        [0xffff, 0xc000000000000000n],
      ]);
    case 4:
      // Denormals; sometimes a pseudo-denormal (J set).
      return [sign, rng.chance(0.2) ? J | rng.bits(40) : rng.bits(rng.range(1, 63))];
    case 5:
      // Extremes of the exponent range.
      return [sign | rng.pick([1, 2, 63, 64, 0x7ffe, 0x7ffd, 0x3f80, 0x407f, 0x3c00, 0x43ff]), sig()];
    case 6: {
      // Small integers and exact binary fractions.
      const n = BigInt(rng.range(1, 100000));
      const L = n.toString(2).length;
      return [sign | (0x3fff + L - 1 - rng.int(4)), n << BigInt(64 - L)];
    }
    case 7:
      // The unsupported encodings: unnormal, pseudo-infinity, pseudo-NaN (rare).
      if (rng.chance(0.5)) return [sign | rng.pick([0x7fff, rng.range(1, 0x7ffe)]), rng.bits(62)];
      return [sign | rng.range(0x3ff0, 0x4010), sig()];
    case 8:
      // A significand with few bits (exact results of multiplications and sums).
      return [sign | rng.range(0x3ff0, 0x4010), J | (rng.bits(12) << 51n)];
    default:
      return [sign | rng.range(0x3fc0, 0x4040), sig()];
  }
}

function putExt(out: Uint8Array, at: number, v: [number, bigint]): void {
  for (let k = 0; k < 8; k++) out[at + k] = Number((v[1] >> BigInt(8 * k)) & 0xffn);
  out[at + 8] = v[0] & 0xff;
  out[at + 9] = v[0] >> 8;
}

/** An FCW for a case: mostly FNINIT's, else random precision, rounding and masks. */
export function caseFcw(rng: Prng): number {
  if (rng.chance(0.3)) return 0x37f;
  const pc = rng.pick([0, 2, 3, 3, 3]);
  const masks = rng.chance(0.75) ? 0x3f : rng.int(64);
  return 0x40 | masks | (pc << 8) | (rng.int(4) << 10);
}

/**
 * Builds the case's x87 state and fills its x87 memory operands. Returns the state bytes and
 * whether the results are bounded approximations (the transcendental instructions).
 */
export function x87Setup(
  rng: Prng,
  template: string,
  mem: Uint8Array,
  operands: X87MemOperand[],
): { state: Uint8Array; approx: boolean; undefMem: [number, number][] } {
  const word = template.split(" ")[0];
  const kind = /^(f2xm1|fyl2xp1)$/.test(word)
    ? "unit"
    : /^(fsin|fcos|fsincos|fptan)$/.test(word)
    ? "trig"
    : word === "fyl2x"
    ? "positive"
    : "any";
  const mmx = /%mm|<mm>|^emms/.test(template);
  const state = new Uint8Array(X87_STATE_BYTES);
  const dv = new DataView(state.buffer);
  const fcw = caseFcw(rng);
  const top = rng.int(8);
  let ftw = 0;
  for (let i = 0; i < 8; i++) {
    const p = (top + i) & 7;
    const empty = rng.chance(i === 0 ? 0.04 : i === 1 ? 0.06 : i === 7 ? 0.75 : 0.25);
    const v: [number, bigint] = mmx
      ? [rng.chance(0.7) ? 0xffff : rng.int(0x10000), mmxValue(rng)]
      : extValue(rng, i <= 1 ? kind : "any");
    putExt(state, 6 + 10 * i, v);
    ftw |= (empty ? 3 : tagOf(v)) << (2 * p);
  }
  let fsw = top << 11;
  if (rng.chance(0.3)) fsw |= rng.int(64);
  if (rng.chance(0.3)) fsw |= rng.int(16) << 8 & 0x4700;
  if (rng.chance(0.05)) fsw |= 0x40;
  if ((fsw & ~fcw & 0x3f) !== 0) fsw |= 0x8080; // ES and B follow the flags and masks
  dv.setUint16(0, fcw, true);
  dv.setUint16(2, fsw, true);
  dv.setUint16(4, ftw, true);
  for (const op of operands) fillOperand(rng, word, mem, op, kind);
  // FNSTENV/FNSAVE: the last instruction and data pointers (FIP, FCS, FOP, FDP, FDS) name the host's
  // own last x87 instruction, which no case sets.
  const undefMem: [number, number][] = [];
  if (word === "fnstenv" || word === "fnsave") {
    for (let k = 12; k < 28; k++) {
      if (operands[0].off + k < mem.length) undefMem.push([operands[0].off + k, 0xff]);
    }
  }
  return { state, approx: X87_TRANSCENDENTAL.test(word), undefMem };
}

/** A 64-bit MMX value: lanes of edge values (0, -1, sign boundaries) or random bits. */
function mmxValue(rng: Prng): bigint {
  if (rng.chance(0.5)) return rng.bits(64);
  let v = 0n;
  const lane = rng.pick([8, 16, 32]);
  for (let k = 0; k < 64; k += lane) {
    const m = (1n << BigInt(lane)) - 1n;
    const e = rng.pick([0n, m, m >> 1n, (m >> 1n) + 1n, 1n, rng.bits(lane)]);
    v |= (e & m) << BigInt(k);
  }
  return v;
}

function tagOf(v: [number, bigint]): number {
  const exp = v[0] & 0x7fff;
  if (exp === 0x7fff) return 2;
  if (exp === 0) return v[1] === 0n ? 1 : 2;
  return v[1] >> 63n ? 0 : 2;
}

function fillOperand(rng: Prng, word: string, mem: Uint8Array, op: X87MemOperand, kind: string): void {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const put = (v: bigint, bytes: number) => {
    for (let k = 0; k < bytes; k++) mem[op.off + k] = Number((v >> BigInt(8 * k)) & 0xffn);
  };
  if (word === "fldcw") {
    dv.setUint16(op.off, rng.chance(0.8) ? caseFcw(rng) : rng.int(0x10000), true);
  } else if (word === "fbld") {
    let v = 0n;
    for (let d = 0; d < 18; d++) v |= BigInt(rng.chance(0.97) ? rng.int(10) : rng.int(16)) << BigInt(4 * d);
    if (rng.chance(0.5)) v &= (1n << BigInt(4 * rng.range(1, 18))) - 1n;
    if (rng.chance(0.4)) v |= 1n << 79n;
    put(v, 10);
  } else if (word === "fldenv" || word === "frstor") {
    // A plausible environment (32-bit layout) and, for FRSTOR, registers.
    const img = new Uint8Array(108);
    const st = new Uint8Array(X87_STATE_BYTES);
    const idv = new DataView(img.buffer);
    const fcw = caseFcw(rng);
    const top = rng.int(8);
    let ftw = 0;
    for (let i = 0; i < 8; i++) {
      const v = extValue(rng, kind);
      putExt(st, 6 + 10 * i, v);
      putExt(img, 28 + 10 * i, v);
      ftw |= (rng.chance(0.3) ? 3 : rng.int(3)) << (2 * ((top + i) & 7));
    }
    let fsw = (top << 11) | (rng.chance(0.5) ? rng.int(64) : 0);
    if ((fsw & ~fcw & 0x3f) !== 0) fsw |= 0x8080;
    idv.setUint32(0, 0xffff0000 | fcw, true);
    idv.setUint32(4, 0xffff0000 | fsw, true);
    idv.setUint32(8, 0xffff0000 | ftw, true);
    const n = word === "fldenv" ? 28 : 108;
    for (let k = 0; k < n && op.off + k < mem.length; k++) mem[op.off + k] = img[k];
  } else if (op.bits === 80) {
    const v = extValue(rng, kind);
    const b = new Uint8Array(10);
    putExt(b, 0, v);
    mem.set(b, op.off);
  } else if (!word.startsWith("fi") && /^f(add|sub|subr|mul|div|divr|com|comp|ld|st|stp)[sl]$/.test(word)) {
    if (word.endsWith("s")) put(BigInt(f32(rng)), 4);
    else put(f64(rng), 8);
  }
}

function f32(rng: Prng): number {
  switch (rng.int(4)) {
    case 0:
      return rng.pick([
        0,
        0x80000000,
        0x3f800000,
        1,
        0x807fffff,
        0x7f800000,
        0xff800000,
        0x7fc00000,
        0x7fa00000,
      ]);
    case 1:
      return ((rng.chance(0.3) ? 0x80000000 : 0) | (rng.range(100, 154) << 23) | (rng.u32() & 0x7fffff)) >>>
        0;
    default:
      return rng.u32();
  }
}

function f64(rng: Prng): bigint {
  switch (rng.int(4)) {
    case 0:
      return rng.pick([
        0n,
        1n << 63n,
        0x3ff0000000000000n,
        1n,
        0x800fffffffffffffn,
        0x7ff0000000000000n,
        0xfff8000000000000n,
        0x7ff4000000000000n,
      ]);
    case 1:
      return (BigInt(rng.chance(0.3) ? 1 : 0) << 63n) | (BigInt(rng.range(990, 1060)) << 52n) | rng.bits(52);
    default:
      return rng.bits(64);
  }
}

/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded by splitmix32): the conformance
 * generator's only source of randomness, so a seed reproduces a run exactly.
 * @module
 */

/** xoshiro128** (Blackman and Vigna), seeded from one 32-bit number. */
export class Prng {
  #s = new Uint32Array(4);

  /**
   * Seeds the state with splitmix32 from `seed`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Prng } from "./prng.ts";
   * assert.equal(new Prng(7).u32(), new Prng(7).u32());
   * ```
   */
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** The next 32 random bits as an unsigned number. */
  u32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A uniform integer in `[0, n)`, `n` at most 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }

  /** A uniform integer in `[lo, hi]`. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `bits` random bits (up to 64) as a bigint. */
  bits(bits: number): bigint {
    const v = (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    return BigInt.asUintN(bits, v);
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A dirty-page bitmap: one bit per 4 KiB guest page, kept in 64-bit words.
 *
 * Every bulk operation works a 64-bit word at a time: marking all pages dirty fills whole words,
 * iteration skips a word when both of its 32-bit halves are empty (64 clean pages per step) and
 * finds the next set bit with a count-trailing-zeros over the pair, and counting uses a word
 * popcount. Page `i` is bit `i & 63` of 64-bit word `i >>> 6`, least significant bit first, and
 * each 64-bit word is stored as two 32-bit halves, low half first (little-endian). That is the same
 * layout as {@link MigratableVm.takeDirtyLog}'s 32-bit words: page `i` is bit `i & 31` of 32-bit
 * word `i >>> 5` of {@link DirtyBitmap.words}, so a VM's log merges in as it is.
 *
 * JavaScript has no 64-bit integer that is not a BigInt, so a 64-bit word is handled as its two
 * halves in plain numbers (a BigUint64Array walk was measured slower: every load allocates a
 * BigInt unless V8 can prove it does not escape).
 *
 * @module
 */

import type { MigratableVm } from "./vm_interface.ts";

/** Number of set bits in a 32-bit word (SWAR popcount). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Index of the lowest set bit of a non-zero 32-bit word (count trailing zeros via `Math.clz32`). */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Index of the lowest set bit (0..63) of the non-zero 64-bit word whose halves are `lo` (bits
 * 0-31) and `hi` (bits 32-63).
 *
 * @example
 * ```ts
 * import { ctz64 } from "./dirty_bitmap.ts";
 * import { equal } from "node:assert/strict";
 * equal(ctz64(0, 0x80000000), 63);
 * equal(ctz64(0x10, 1), 4);
 * ```
 */
export function ctz64(lo: number, hi: number): number {
  return lo !== 0 ? 31 - Math.clz32(lo & -lo) : 63 - Math.clz32(hi & -hi);
}

/** A run of consecutive pages: [first page, number of pages]. */
export type PageSpan = [first: number, length: number];

/**
 * The maximal runs of set bits among the first `pages` bits of `words` (the layout of
 * {@link DirtyBitmap.words} and of a VM's dirty log), in ascending order.
 *
 * @example
 * ```ts
 * import { pageSpans } from "./dirty_bitmap.ts";
 * import { deepEqual } from "node:assert/strict";
 * deepEqual(pageSpans(new Uint32Array([0b1110_0001, 0x80000000, 1, 0]), 128), [[0, 1], [5, 3], [63, 2]]);
 * ```
 */
export function pageSpans(words: Uint32Array, pages: number): PageSpan[] {
  const out: PageSpan[] = [];
  let start = -1;
  const n = Math.min(words.length, Math.ceil(pages / 32));
  for (let i = 0; i < n; i++) {
    const w = words[i];
    if (w === 0 && start < 0) continue;
    if (w === 0xffffffff && start >= 0) continue;
    for (let b = 0; b < 32; b++) {
      const p = i * 32 + b;
      if (p >= pages) break;
      if ((w >>> b) & 1) {
        if (start < 0) start = p;
      } else if (start >= 0) {
        out.push([start, p - start]);
        start = -1;
      }
    }
  }
  if (start >= 0) out.push([start, Math.min(pages, n * 32) - start]);
  return out;
}

/** The bits of 32-bit `word` from bit `b` up: all for b <= 0, none for b >= 32. */
function fromBit(word: number, b: number): number {
  return b <= 0 ? word : b >= 32 ? 0 : (word & (0xffffffff << b)) >>> 0;
}

/**
 * One bit per guest page.
 *
 * @example
 * ```ts
 * import { DirtyBitmap } from "./dirty_bitmap.ts";
 * import { deepEqual } from "node:assert/strict";
 * const b = new DirtyBitmap(100);
 * b.set(3);
 * b.set(70);
 * deepEqual([...b], [3, 70]);
 * deepEqual(b.count(), 2);
 * deepEqual(b.words.length, 4); // two 64-bit words, as 32-bit halves
 * ```
 */
export class DirtyBitmap {
  /** Number of pages tracked. */
  readonly pages: number;
  /**
   * The bits, as the 32-bit halves of 64-bit words (low half first; even length): page `i` is bit
   * `i & 31` of `words[i >>> 5]`. Bits at or above `pages` are always 0.
   */
  readonly words: Uint32Array;
  /** Mask of the valid bits in the low half of the last 64-bit word. */
  readonly #lastLo: number;
  /** Mask of the valid bits in the high half of the last 64-bit word. */
  readonly #lastHi: number;

  /** Create an all-clear bitmap for `pages` pages. */
  constructor(pages: number) {
    if (!Number.isSafeInteger(pages) || pages < 0) {
      throw new RangeError(
        `Cannot create a dirty bitmap for ${pages} pages: expected a non-negative integer`,
      );
    }
    this.pages = pages;
    this.words = new Uint32Array(DirtyBitmap.wordsFor(pages));
    const tail = pages % 64;
    if (tail === 0) this.#lastLo = this.#lastHi = 0xffffffff;
    else if (tail <= 32) {
      this.#lastLo = tail === 32 ? 0xffffffff : ((1 << tail) - 1) >>> 0;
      this.#lastHi = 0;
    } else {
      this.#lastLo = 0xffffffff;
      this.#lastHi = ((1 << (tail - 32)) - 1) >>> 0;
    }
  }

  /** Number of 32-bit words (two per 64-bit word) a bitmap for `pages` pages uses. */
  static wordsFor(pages: number): number {
    return 2 * Math.ceil(pages / 64);
  }

  #check(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.pages) || !Number.isInteger(pfn)) {
      throw new RangeError(`Page ${pfn} is outside the dirty bitmap: expected 0..${this.pages - 1}`);
    }
  }

  /** Mark page `pfn` dirty. Throws a RangeError outside 0..pages-1. */
  set(pfn: number): void {
    this.#check(pfn);
    this.words[pfn >>> 5] |= 1 << (pfn & 31);
  }

  /** Whether page `pfn` is dirty. Throws a RangeError outside 0..pages-1. */
  test(pfn: number): boolean {
    this.#check(pfn);
    return (this.words[pfn >>> 5] & (1 << (pfn & 31))) !== 0;
  }

  /** Mark page `pfn` clean. Throws a RangeError outside 0..pages-1. */
  clear(pfn: number): void {
    this.#check(pfn);
    this.words[pfn >>> 5] &= ~(1 << (pfn & 31));
  }

  /** Mark every page dirty: fill whole 64-bit words, then mask the last one. */
  setAll(): void {
    const w = this.words;
    const n = w.length;
    if (n === 0) return;
    w.fill(0xffffffff);
    w[n - 2] = this.#lastLo;
    w[n - 1] = this.#lastHi;
  }

  /** Mark every page clean. */
  clearAll(): void {
    this.words.fill(0);
  }

  /** Number of dirty pages (popcount of each non-empty 64-bit word). */
  count(): number {
    const w = this.words;
    let c = 0;
    for (let i = 0; i < w.length; i += 2) {
      const lo = w[i];
      const hi = w[i + 1];
      if ((lo | hi) !== 0) c += popcount32(lo) + popcount32(hi);
    }
    return c;
  }

  /** Whether no page is dirty (a 64-bit word at a time). */
  isEmpty(): boolean {
    const w = this.words;
    for (let i = 0; i < w.length; i += 2) if ((w[i] | w[i + 1]) !== 0) return false;
    return true;
  }

  /**
   * The first dirty page at or after `from`, or -1 if there is none.
   * Skips empty 64-bit words; finds the bit with count-trailing-zeros over the pair.
   */
  next(from = 0): number {
    if (from >= this.pages) return -1;
    if (from < 0) from = 0;
    const w = this.words;
    let i = (from >>> 5) & ~1; // low half of from's 64-bit word
    let lo = fromBit(w[i], from & 63);
    let hi = fromBit(w[i + 1], (from & 63) - 32);
    while ((lo | hi) === 0) {
      i += 2;
      if (i >= w.length) return -1;
      lo = w[i];
      hi = w[i + 1];
    }
    return i * 32 + ctz64(lo, hi);
  }

  /**
   * Write up to `out.length` dirty page numbers, starting at page `from`, into `out`; return how many.
   * The allocation-free way to walk a large bitmap in batches: continue from `out[n - 1] + 1`.
   */
  collect(out: Uint32Array, from = 0): number {
    const w = this.words;
    const max = out.length;
    if (max === 0 || from >= this.pages) return 0;
    if (from < 0) from = 0;
    let n = 0;
    let i = (from >>> 5) & ~1;
    let lo = fromBit(w[i], from & 63);
    let hi = fromBit(w[i + 1], (from & 63) - 32);
    for (;;) {
      if ((lo | hi) !== 0) {
        const base = i * 32;
        while (lo !== 0) {
          const low = lo & -lo;
          out[n++] = base + 31 - Math.clz32(low);
          if (n === max) return n;
          lo ^= low;
        }
        while (hi !== 0) {
          const low = hi & -hi;
          out[n++] = base + 63 - Math.clz32(low);
          if (n === max) return n;
          hi ^= low;
        }
      }
      i += 2;
      if (i >= w.length) return n;
      lo = w[i];
      hi = w[i + 1];
    }
  }

  /** Iterate the dirty page numbers in ascending order, a 64-bit word at a time. */
  *[Symbol.iterator](): IterableIterator<number> {
    const w = this.words;
    for (let i = 0; i < w.length; i += 2) {
      let lo = w[i];
      let hi = w[i + 1];
      if ((lo | hi) === 0) continue;
      const base = i * 32;
      while (lo !== 0) {
        const low = lo & -lo;
        yield base + 31 - Math.clz32(low);
        lo ^= low;
      }
      while (hi !== 0) {
        const low = hi & -hi;
        yield base + 63 - Math.clz32(low);
        hi ^= low;
      }
    }
  }

  /** Copy the bits out and clear them (take-and-clear); the copy has the layout of `words`. */
  take(): Uint32Array {
    const copy = this.words.slice();
    this.words.fill(0);
    return copy;
  }

  /**
   * OR the bits of `other` into this bitmap (merge-back after a failed round, or harvesting a
   * dirty log). `other` is a bitmap for as many pages, or 32-bit words in this layout: either as
   * many as {@link DirtyBitmap.words}, or one per 32 pages as {@link MigratableVm.takeDirtyLog}
   * returns (one fewer when the last 64-bit word's high half holds no page). Bits beyond the last
   * page are dropped.
   */
  or(other: Uint32Array | DirtyBitmap): void {
    const src = other instanceof DirtyBitmap ? other.words : other;
    const w = this.words;
    if (src.length !== w.length && src.length !== Math.ceil(this.pages / 32)) {
      throw new RangeError(
        `Cannot merge a dirty log of ${src.length} words into a bitmap of ${w.length} words ` +
          `(${this.pages} pages): expected ${w.length} or ${Math.ceil(this.pages / 32)} 32-bit words`,
      );
    }
    for (let i = 0; i < src.length; i++) w[i] |= src[i];
    const n = w.length;
    if (n > 0) {
      w[n - 2] &= this.#lastLo;
      w[n - 1] &= this.#lastHi;
    }
  }

  /** OR the VM's dirty log into this bitmap (take-and-clear on the VM side); returns the log. */
  harvest(vm: MigratableVm): Uint32Array {
    const log = vm.takeDirtyLog();
    this.or(log);
    return log;
  }
}

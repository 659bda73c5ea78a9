/**
 * A dirty-page bitmap: one bit per 4 KiB guest page, kept in 32-bit words.
 *
 * Every bulk operation works a word at a time: marking all pages dirty fills words, iteration skips
 * empty words and finds the next set bit with a count-trailing-zeros trick, and counting uses a
 * word popcount. The layout matches {@link MigratableVm.takeDirtyLog}: page `i` is bit `i & 31` of
 * word `i >>> 5`, least significant bit first.
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
 * ```
 */
export class DirtyBitmap {
  /** Number of pages tracked. */
  readonly pages: number;
  /** The bits: page `i` is bit `i & 31` of word `i >>> 5`. Bits at or above `pages` are always 0. */
  readonly words: Uint32Array;
  /** Mask of the valid bits in the last word (0xffffffff when `pages` is a multiple of 32). */
  readonly #lastMask: number;

  /** Create an all-clear bitmap for `pages` pages. */
  constructor(pages: number) {
    if (!Number.isSafeInteger(pages) || pages < 0) {
      throw new RangeError(
        `Cannot create a dirty bitmap for ${pages} pages: expected a non-negative integer`,
      );
    }
    this.pages = pages;
    this.words = new Uint32Array((pages + 31) >>> 5);
    const tail = pages & 31;
    this.#lastMask = tail === 0 ? 0xffffffff : ((1 << tail) - 1) >>> 0;
  }

  /** Number of 32-bit words a bitmap for `pages` pages uses. */
  static wordsFor(pages: number): number {
    return Math.ceil(pages / 32);
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

  /** Mark every page dirty, a word at a time. */
  setAll(): void {
    const n = this.words.length;
    if (n === 0) return;
    this.words.fill(0xffffffff);
    this.words[n - 1] = this.#lastMask;
  }

  /** Mark every page clean. */
  clearAll(): void {
    this.words.fill(0);
  }

  /** Number of dirty pages (word popcount). */
  count(): number {
    const w = this.words;
    let c = 0;
    for (let i = 0; i < w.length; i++) {
      const x = w[i];
      if (x !== 0) c += popcount32(x);
    }
    return c;
  }

  /** Whether no page is dirty. */
  isEmpty(): boolean {
    const w = this.words;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }

  /**
   * The first dirty page at or after `from`, or -1 if there is none.
   * Skips empty words; finds the bit with count-trailing-zeros.
   */
  next(from = 0): number {
    if (from >= this.pages) return -1;
    if (from < 0) from = 0;
    const w = this.words;
    let i = from >>> 5;
    let x = w[i] & (0xffffffff << (from & 31));
    while (x === 0) {
      if (++i >= w.length) return -1;
      x = w[i];
    }
    return (i << 5) + ctz32(x);
  }

  /**
   * Write up to `out.length` dirty page numbers, starting at page `from`, into `out`; return how many.
   * The allocation-free way to walk a large bitmap in batches: continue from `out[n - 1] + 1`.
   */
  collect(out: Uint32Array, from = 0): number {
    const w = this.words;
    const max = out.length;
    if (max === 0 || from >= this.pages) return 0;
    let n = 0;
    let i = from >>> 5;
    let x = w[i] & (0xffffffff << (from & 31));
    for (;;) {
      while (x !== 0) {
        const low = x & -x;
        out[n++] = (i << 5) + (31 - Math.clz32(low));
        if (n === max) return n;
        x ^= low;
      }
      if (++i >= w.length) return n;
      x = w[i];
    }
  }

  /** Iterate the dirty page numbers in ascending order, a word at a time. */
  *[Symbol.iterator](): IterableIterator<number> {
    const w = this.words;
    for (let i = 0; i < w.length; i++) {
      let x = w[i];
      while (x !== 0) {
        const low = x & -x;
        yield (i << 5) + (31 - Math.clz32(low));
        x ^= low;
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
   * dirty log). `other` must have this bitmap's word count.
   */
  or(other: Uint32Array | DirtyBitmap): void {
    const src = other instanceof DirtyBitmap ? other.words : other;
    const w = this.words;
    if (src.length !== w.length) {
      throw new RangeError(
        `Cannot merge a dirty log of ${src.length} words into a bitmap of ${w.length} words (${this.pages} pages)`,
      );
    }
    for (let i = 0; i < w.length; i++) w[i] |= src[i];
    if (w.length > 0) w[w.length - 1] &= this.#lastMask;
  }

  /** OR the VM's dirty log into this bitmap (take-and-clear on the VM side); returns the log. */
  harvest(vm: MigratableVm): Uint32Array {
    const log = vm.takeDirtyLog();
    this.or(log);
    return log;
  }
}

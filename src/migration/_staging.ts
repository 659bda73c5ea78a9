/** Destination-side holding area for received pages, applied to a VM only after full verification. */

import type { PageVisitor } from "./ram_pages.ts";
import type { MigratableVm } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Page states: 0 not received, 1 zero, 2 data. */
const ZERO = 1;
const DATA = 2;
/** Pages per slab of copied page data (8 MiB). */
const SLAB_PAGES = 2048;

/** Whether `a[ao..ao+4096)` equals `b[bo..bo+4096)` (`b` null: all zero). */
function pageEquals(a: Uint8Array, ao: number, b: Uint8Array | null, bo: number): boolean {
  if (b === null) {
    for (let i = 0; i < PAGE_SIZE; i++) if (a[ao + i] !== 0) return false;
  } else {
    for (let i = 0; i < PAGE_SIZE; i++) if (a[ao + i] !== b[bo + i]) return false;
  }
  return true;
}

/**
 * Received pages: a state byte per page, and where each data page's bytes are. With `keepViews`
 * (the source never reuses the memory of the views it returns) a page is kept as a reference into
 * the record it arrived in, with no copy; otherwise it is copied into 8 MiB slabs filled in arrival
 * order, so memory grows with the pages received, not with the guest's RAM.
 */
export class PageStaging implements PageVisitor {
  /** Pages in the guest. */
  readonly pages: number;
  /** Per page: 0 not received, 1 zero, 2 data. */
  readonly state: Uint8Array;
  #keep: boolean;
  /** Slabs (copy mode) or record payloads (keep mode). */
  #arrays: Uint8Array[] = [];
  /** Per page: index into #arrays, -1 if the page never had data. */
  #where: Int32Array;
  /** Per page: byte offset of its data in its array. */
  #offset: Int32Array;
  #slabUsed = SLAB_PAGES;

  /** Stage pages of a guest of `pages` pages; `keepViews`: keep references instead of copies. */
  constructor(pages: number, keepViews = false) {
    this.pages = pages;
    this.state = new Uint8Array(pages);
    this.#keep = keepViews;
    this.#where = new Int32Array(pages).fill(-1);
    this.#offset = new Int32Array(pages);
  }

  /** Page `pfn` arrived as a zero page. */
  zero(pfn: number): void {
    this.state[pfn] = ZERO;
  }

  /** Page `pfn` arrived with the data at `payload[offset..+4096)`. */
  data(pfn: number, payload: Uint8Array, offset: number): void {
    this.state[pfn] = DATA;
    const arrays = this.#arrays;
    if (this.#keep) {
      if (arrays.length === 0 || arrays[arrays.length - 1] !== payload) arrays.push(payload);
      this.#where[pfn] = arrays.length - 1;
      this.#offset[pfn] = offset;
      return;
    }
    if (this.#where[pfn] < 0) {
      if (this.#slabUsed === SLAB_PAGES) {
        arrays.push(new Uint8Array(SLAB_PAGES * PAGE_SIZE));
        this.#slabUsed = 0;
      }
      this.#where[pfn] = arrays.length - 1;
      this.#offset[pfn] = this.#slabUsed++ * PAGE_SIZE;
    }
    arrays[this.#where[pfn]].set(payload.subarray(offset, offset + PAGE_SIZE), this.#offset[pfn]);
  }

  /** Whether page `pfn` as received equals `payload[offset..+4096)` (null: a zero page). */
  matches(pfn: number, payload: Uint8Array | null, offset: number): boolean {
    if (this.state[pfn] !== DATA) return payload === null;
    const a = this.#arrays[this.#where[pfn]];
    const o = this.#offset[pfn];
    return payload === null ? pageEquals(a, o, null, 0) : pageEquals(a, o, payload, offset);
  }

  /**
   * Write the received pages into `vm`. Pages with data are written; zero pages are written only
   * when `writeZero` (a fresh VM's RAM is already zero).
   */
  applyTo(vm: MigratableVm, writeZero: boolean): void {
    const zeroPage = writeZero ? new Uint8Array(PAGE_SIZE) : undefined;
    const state = this.state;
    const arrays = this.#arrays;
    for (let pfn = 0; pfn < this.pages; pfn++) {
      const s = state[pfn];
      if (s === DATA) {
        const o = this.#offset[pfn];
        vm.writePage(pfn, arrays[this.#where[pfn]].subarray(o, o + PAGE_SIZE));
      } else if (s === ZERO && zeroPage) vm.writePage(pfn, zeroPage);
    }
  }
}

/**
 * Pages written straight into a destination VM that nobody can run yet (the receiver returns it
 * only after full verification and discards it otherwise). Saves the staging copy and its memory.
 */
export class DirectPages implements PageVisitor {
  /** Per page: 0 not received, 1 zero, 2 data. */
  readonly state: Uint8Array;
  #vm: MigratableVm;
  #zero = new Uint8Array(PAGE_SIZE);
  #scratch = new Uint8Array(PAGE_SIZE);

  /** Write pages of a guest of `pages` pages into `vm`. */
  constructor(vm: MigratableVm, pages: number) {
    this.#vm = vm;
    this.state = new Uint8Array(pages);
  }

  /** Page `pfn` arrived as a zero page. */
  zero(pfn: number): void {
    // A fresh VM's RAM is zero: only a page that received data before must be cleared.
    if (this.state[pfn] === DATA) this.#vm.writePage(pfn, this.#zero);
    this.state[pfn] = ZERO;
  }

  /** Page `pfn` arrived with the data at `payload[offset..+4096)`. */
  data(pfn: number, payload: Uint8Array, offset: number): void {
    this.#vm.writePage(pfn, payload.subarray(offset, offset + PAGE_SIZE));
    this.state[pfn] = DATA;
  }

  /** Whether page `pfn` of the VM equals `payload[offset..+4096)` (null: a zero page). */
  matches(pfn: number, payload: Uint8Array | null, offset: number): boolean {
    this.#vm.readPage(pfn, this.#scratch);
    return pageEquals(this.#scratch, 0, payload, offset);
  }
}

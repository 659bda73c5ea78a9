/** Destination-side holding area for received pages, applied to a VM only after full verification. */

import type { PageVisitor } from "./ram_pages.ts";
import type { MigratableVm } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Page states: 0 not received, 1 zero, 2 data. */
const ZERO = 1;
const DATA = 2;
/** Pages per lazily allocated chunk (2 MiB). */
const CHUNK_PAGES = 512;

/** Received pages: a state byte per page, data in 2 MiB chunks allocated on first use. */
export class PageStaging implements PageVisitor {
  readonly pages: number;
  readonly state: Uint8Array;
  #chunks: (Uint8Array | undefined)[];

  constructor(pages: number) {
    this.pages = pages;
    this.state = new Uint8Array(pages);
    this.#chunks = new Array(Math.ceil(pages / CHUNK_PAGES));
  }

  zero(pfn: number): void {
    this.state[pfn] = ZERO;
  }

  data(pfn: number, payload: Uint8Array, offset: number): void {
    const ci = (pfn / CHUNK_PAGES) | 0;
    let chunk = this.#chunks[ci];
    if (chunk === undefined) chunk = this.#chunks[ci] = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
    chunk.set(payload.subarray(offset, offset + PAGE_SIZE), (pfn % CHUNK_PAGES) * PAGE_SIZE);
    this.state[pfn] = DATA;
  }

  /** Whether page `pfn` as received equals `payload[offset..+4096)` (null: a zero page). */
  matches(pfn: number, payload: Uint8Array | null, offset: number): boolean {
    const s = this.state[pfn];
    if (s === ZERO || s === 0) return payload === null;
    const chunk = this.#chunks[(pfn / CHUNK_PAGES) | 0]!;
    const o = (pfn % CHUNK_PAGES) * PAGE_SIZE;
    if (payload === null) return chunk.subarray(o, o + PAGE_SIZE).every((b) => b === 0);
    for (let i = 0; i < PAGE_SIZE; i++) if (chunk[o + i] !== payload[offset + i]) return false;
    return true;
  }

  /**
   * Write the received pages into `vm`. Pages with data are written; zero pages are written only
   * when `writeZero` (a fresh VM's RAM is already zero).
   */
  applyTo(vm: MigratableVm, writeZero: boolean): void {
    const zeroPage = writeZero ? new Uint8Array(PAGE_SIZE) : undefined;
    for (let ci = 0; ci < this.#chunks.length; ci++) {
      const chunk = this.#chunks[ci];
      const first = ci * CHUNK_PAGES;
      const last = Math.min(this.pages, first + CHUNK_PAGES);
      for (let pfn = first; pfn < last; pfn++) {
        const s = this.state[pfn];
        if (s === DATA) {
          const o = (pfn - first) * PAGE_SIZE;
          vm.writePage(pfn, chunk!.subarray(o, o + PAGE_SIZE));
        } else if (s === ZERO && zeroPage) vm.writePage(pfn, zeroPage);
      }
    }
  }
}

/**
 * Pages written straight into a destination VM that nobody can run yet (the receiver returns it
 * only after full verification and discards it otherwise). Saves the staging copy and its memory.
 */
export class DirectPages implements PageVisitor {
  readonly state: Uint8Array;
  #vm: MigratableVm;
  #zero = new Uint8Array(PAGE_SIZE);

  constructor(vm: MigratableVm, pages: number) {
    this.#vm = vm;
    this.state = new Uint8Array(pages);
  }

  zero(pfn: number): void {
    // A fresh VM's RAM is zero: only a page that received data before must be cleared.
    if (this.state[pfn] === DATA) this.#vm.writePage(pfn, this.#zero);
    this.state[pfn] = ZERO;
  }

  data(pfn: number, payload: Uint8Array, offset: number): void {
    this.#vm.writePage(pfn, payload.subarray(offset, offset + PAGE_SIZE));
    this.state[pfn] = DATA;
  }

  /** Whether page `pfn` of the VM equals `payload[offset..+4096)` (null: a zero page). */
  matches(pfn: number, payload: Uint8Array | null, offset: number): boolean {
    const page = new Uint8Array(PAGE_SIZE);
    this.#vm.readPage(pfn, page);
    if (payload === null) return page.every((b) => b === 0);
    for (let i = 0; i < PAGE_SIZE; i++) if (page[i] !== payload[offset + i]) return false;
    return true;
  }
}

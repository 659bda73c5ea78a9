/**
 * Guest-physical memory with dirty-page tracking, before EPT: the same gate the EPT dirty flag
 * gives (DESIGN.md "Performance approach"). The software TLB gets a write entry for a page only
 * once the page is dirty in this round, so a store to an already-dirty page costs nothing extra;
 * the first store to a clean page takes the slow path, which marks it. Taking the log clears the
 * bitmap and drops every write entry, as INVEPT would.
 *
 * @module
 */

import { ACC_WRITE, type Cpu, type GuestPhysicalMap } from "../cpu/mod.ts";

/** Guest RAM at host-physical `base`, `size` bytes, with a dirty bitmap (one bit per 4 KiB page). */
export class TrackingMap implements GuestPhysicalMap {
  /** The dirty bitmap: bit (i & 31) of word (i >> 5) is page i. */
  private bitmap: Uint32Array;
  /** Whether stores are being tracked. */
  tracking = false;
  /** Pages marked dirty since tracking started (statistics). */
  marked = 0;

  constructor(readonly base: number, readonly size: number) {
    this.bitmap = new Uint32Array(Math.ceil(size / 4096 / 32));
  }

  translate(cpu: Cpu, gpa: number, access: number, gla: number): number {
    if (gpa < 0 || gpa >= this.size) cpu.badPhysical(gpa, access, gla);
    if (access === ACC_WRITE && this.tracking) this.mark(gpa);
    return this.base + gpa;
  }

  writeCached(gpa: number): boolean {
    if (!this.tracking) return true;
    const p = Math.floor(gpa / 4096);
    return (this.bitmap[p >>> 5] & (1 << (p & 31))) !== 0;
  }

  /** Marks the page of `gpa` dirty (also for writes that do not come from the CPU: devices, DMA). */
  mark(gpa: number): void {
    const p = Math.floor(gpa / 4096);
    const w = p >>> 5, m = 1 << (p & 31);
    if ((this.bitmap[w] & m) === 0) {
      this.bitmap[w] |= m;
      this.marked++;
    }
  }

  /** Returns the pages written since the last call and starts a new round. */
  take(cpu: Cpu): Uint32Array {
    const out = this.bitmap;
    this.bitmap = new Uint32Array(out.length);
    cpu.flushWriteTlb();
    return out;
  }

  /** Turns tracking on (with an empty log) or off. */
  setTracking(cpu: Cpu, on: boolean): void {
    this.tracking = on;
    this.bitmap.fill(0);
    cpu.flushWriteTlb();
  }
}

/**
 * State fingerprints shared by recording and replay: a 64-bit hash per guest page written since
 * boot, kept up to date through the machine's dirty log, fine points (registers + pages written since the last point),
 * and the checkpoint digest (SHA-256 over the CPU state, the device sections and the page-hash
 * vector), which costs a hash of the pages written since the last point instead of all of RAM.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { encodeCpuState, saveCpuState } from "../cpu/mod.ts";
import type { Machine } from "../vm/mod.ts";
import type { CheckpointRecord, FinePoint } from "./log.ts";
import { toHex } from "./log.ts";

const PAGE = 4096;
const NO_PAGES = { pages: new Uint32Array(0), before: new Uint32Array(0) };

/** 64-bit hash of one 4 KiB page of `words` (an Int32Array over RAM) into out[2*pfn], out[2*pfn+1]. */
export function hashPage(words: Int32Array, pfn: number, out: Uint32Array): void {
  let a = 0x243f6a88 ^ pfn, b = 0x85a308d3;
  const base = pfn * 1024;
  for (let i = base, end = base + 1024; i < end; i += 2) {
    a = Math.imul(a ^ words[i], 0x9e3779b1);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ words[i + 1], 0x85ebca77);
    b = (b << 17) | (b >>> 15);
  }
  a = Math.imul(a ^ (a >>> 16), 0x7feb352d) ^ b;
  b = Math.imul(b ^ (b >>> 15), 0x846ca68b) ^ a;
  out[2 * pfn] = (a ^ (a >>> 15)) >>> 0;
  out[2 * pfn + 1] = (b ^ (b >>> 16)) >>> 0;
}

/** Fingerprints one machine's state as it runs (dirty tracking must stay with it). */
export class StateTracer {
  /** The machine (replaced by {@linkcode adopt} when the run moves to another machine). */
  machine: Machine;
  /** 64-bit hash of every page: low at [2*pfn], high at [2*pfn+1]. */
  readonly pageHash: Uint32Array;
  /** Pages written since the last {@linkcode takeCheckpointPages} (one bit each). */
  readonly sinceCheckpoint: Uint32Array;
  /** Pages written since the last {@linkcode takeSnapshotPages} (one bit each). */
  readonly sinceSnapshot: Uint32Array;
  #words: Int32Array;
  /** Dirty bits taken by another consumer (migration) and not yet seen by this tracer. */
  readonly #stash: Uint32Array;

  /**
   * Starts tracing `machine` from its boot state: turns dirty tracking on. A page not written
   * since boot keeps hash 0 ("as the ELF and boot protocol left it"), so nothing reads all of RAM;
   * two machines booted from the same ELF, RAM size and command line agree on those pages.
   */
  constructor(machine: Machine) {
    this.machine = machine;
    const pages = machine.ramBytes / PAGE;
    this.#words = new Int32Array(machine.mem.buffer, machine.mem.byteOffset, machine.ramBytes / 4);
    machine.setDirtyTracking(true);
    this.sinceCheckpoint = new Uint32Array(Math.ceil(pages / 32));
    this.sinceSnapshot = new Uint32Array(Math.ceil(pages / 32));
    this.pageHash = new Uint32Array(2 * pages);
    this.#stash = new Uint32Array(Math.ceil(pages / 32));
  }

  /**
   * Takes the machine's dirty log for another consumer (a migration running inside a recording):
   * the caller gets the bits, and this tracer still sees them at its next memory point.
   */
  takeDirtyLogShared(): Uint32Array {
    const d = this.machine.takeDirtyLog();
    for (let w = 0; w < d.length; w++) this.#stash[w] |= d[w];
    return d.slice();
  }

  /**
   * Continues on `next`, a machine holding the same RAM and state (a migration destination):
   * pages written on the old machine since the last memory point are rehashed from the new one.
   */
  adopt(next: Machine): void {
    if (next.ramBytes !== this.machine.ramBytes) {
      throw new RangeError(
        `cannot continue a recording on ${next.ramBytes} bytes of RAM; it has ${this.machine.ramBytes}`,
      );
    }
    this.takeDirtyLogShared();
    this.machine = next;
    this.#words = new Int32Array(next.mem.buffer, next.mem.byteOffset, next.ramBytes / 4);
    next.setDirtyTracking(true);
  }

  /**
   * Takes the dirty log and rehashes the pages written since the last call.
   * @returns pfn, low hash pairs of those pages (ascending pfn), and their previous low hashes.
   */
  takePages(): { pages: Uint32Array; before: Uint32Array } {
    const dirty = this.machine.takeDirtyLog();
    for (let w = 0; w < dirty.length; w++) {
      dirty[w] |= this.#stash[w];
      this.#stash[w] = 0;
    }
    let n = 0;
    for (let w = 0; w < dirty.length; w++) {
      let x = dirty[w];
      this.sinceCheckpoint[w] |= x;
      this.sinceSnapshot[w] |= x;
      while (x !== 0) {
        n++;
        x &= x - 1;
      }
    }
    const pages = new Uint32Array(2 * n), before = new Uint32Array(n);
    let k = 0;
    for (let w = 0; w < dirty.length; w++) {
      let x = dirty[w];
      while (x !== 0) {
        const bit = 31 - Math.clz32(x & -x);
        x &= x - 1;
        const pfn = w * 32 + bit;
        before[k] = this.pageHash[2 * pfn];
        hashPage(this.#words, pfn, this.pageHash);
        pages[2 * k] = pfn;
        pages[2 * k + 1] = this.pageHash[2 * pfn];
        k++;
      }
    }
    return { pages, before };
  }

  /**
   * A fine point now: the registers, and at a memory point the pages written since the previous
   * memory point (taking the dirty log costs more than the rest, so not every point does).
   */
  point(kind: number, memory: boolean): { point: FinePoint; before: Uint32Array } {
    const cpu = this.machine.cpu;
    const { pages, before } = memory ? this.takePages() : NO_PAGES;
    return {
      point: {
        icount: cpu.icount,
        kind,
        memory,
        gpr: cpu.gpr.slice(),
        rip: cpu.rip,
        rflags: cpu.getRflags(),
        pages,
      },
      before,
    };
  }

  /** pfn, hash low, hash high of every page written since the last call, and starts a new interval. */
  takeCheckpointPages(): Uint32Array {
    let n = 0;
    for (const x of this.sinceCheckpoint) {
      let y = x;
      while (y !== 0) {
        n++;
        y &= y - 1;
      }
    }
    const out = new Uint32Array(3 * n);
    let k = 0;
    for (let w = 0; w < this.sinceCheckpoint.length; w++) {
      let x = this.sinceCheckpoint[w];
      while (x !== 0) {
        const pfn = w * 32 + 31 - Math.clz32(x & -x);
        x &= x - 1;
        out[k++] = pfn;
        out[k++] = this.pageHash[2 * pfn];
        out[k++] = this.pageHash[2 * pfn + 1];
      }
    }
    this.sinceCheckpoint.fill(0);
    return out;
  }

  /** How many pages were written since the last {@linkcode takeSnapshotPages}. */
  snapshotPageCount(): number {
    let n = 0;
    for (const x of this.sinceSnapshot) {
      let y = x;
      while (y !== 0) {
        n++;
        y &= y - 1;
      }
    }
    return n;
  }

  /** Page numbers written since the last call (ascending), and starts a new snapshot interval. */
  takeSnapshotPages(): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.sinceSnapshot.length; w++) {
      let x = this.sinceSnapshot[w];
      while (x !== 0) {
        out.push(w * 32 + 31 - Math.clz32(x & -x));
        x &= x - 1;
      }
    }
    this.sinceSnapshot.fill(0);
    return out;
  }

  /** Hashes the given pages now (for a machine restored from a snapshot: the pages written since boot). */
  hashPages(pfns: Iterable<number>): void {
    for (const pfn of pfns) hashPage(this.#words, pfn, this.pageHash);
  }

  /** The checkpoint digest and its parts, now (call right after {@linkcode point}). */
  digest(): Omit<CheckpointRecord, "pages"> {
    const m = this.machine;
    const cpuHash = createHash("sha256").update(encodeCpuState(saveCpuState(m.cpu))).update(m.cpu.fpu.save())
      .digest();
    const dh = createHash("sha256");
    for (const s of m.deviceState()) {
      dh.update(s.name);
      dh.update(new Uint8Array(new Uint32Array([s.version, s.data.length]).buffer));
      dh.update(s.data);
    }
    const deviceHash = dh.digest();
    const ramHash = createHash("sha256").update(
      new Uint8Array(this.pageHash.buffer, this.pageHash.byteOffset, this.pageHash.byteLength),
    ).digest();
    const digest = createHash("sha256").update(cpuHash).update(deviceHash).update(ramHash).digest();
    return {
      icount: m.cpu.icount,
      digest: toHex(digest),
      cpuHash: toHex(cpuHash),
      deviceHash: toHex(deviceHash),
      ramHash: toHex(ramHash),
    };
  }
}

/** The checkpoint digest over its three part hashes (hex in, hex out). */
export function combineDigest(cpuHash: string, deviceHash: string, ramHash: string): string {
  const h = createHash("sha256");
  for (const x of [cpuHash, deviceHash, ramHash]) {
    h.update(Uint8Array.from(x.match(/../g)!.map((b) => parseInt(b, 16))));
  }
  return h.digest("hex");
}

/** SHA-256 of a byte array, hex. */
export function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

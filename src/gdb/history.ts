/**
 * Execution history for reverse debugging, built on hvsim's determinism: while the guest runs
 * forward, an in-memory snapshot every `interval` instructions (the machine's state sections, as
 * migration and snapshots save them, plus a copy of each page the EPT dirty log says was written
 * since the previous snapshot; the first snapshot holds every non-zero page). Going back to
 * instruction N restores the nearest snapshot at or before N into the same machine, in place
 * (only pages written since then are rewritten), and runs forward exactly to N.
 *
 * The debugger owns the dirty log while it is attached: each harvest also feeds the set of pages
 * `monitor dirty` reports.
 *
 * @module
 */

import type { DebugHit } from "../cpu/mod.ts";
import type { StateSection } from "../migration/vm_interface.ts";
import type { Machine } from "../vm/mod.ts";

const PAGE = 4096;

/** One point of the history. */
interface Snapshot {
  /** Retired instructions at the snapshot. */
  icount: number;
  /** The machine's non-RAM state. */
  sections: StateSection[];
  /** Pages written since the previous snapshot (for the first: every non-zero page), as they were here. */
  pages: Map<number, Uint8Array>;
}

/** Options of a history. */
export interface HistoryOptions {
  /** Instructions between snapshots (default 250,000). */
  interval?: number;
  /** Bytes of page copies kept before the oldest snapshots are folded into the first (default 512 MiB). */
  maxBytes?: number;
  /** Called after the machine was put back to an earlier instruction (a replay repositions its input log). */
  onRestore?: (icount: number) => void;
}

/** Snapshots of one machine's run, and the ways back through them. */
export class History {
  /** Instructions between snapshots. */
  readonly interval: number;
  private readonly maxBytes: number;
  private readonly onRestore?: (icount: number) => void;
  private readonly snapshots: Snapshot[] = [];
  /** Pages written since the last snapshot (harvested from the dirty log so far). */
  private sinceLast: Uint32Array;
  /** Pages written since the last `monitor dirty`. */
  private sinceMonitor: Uint32Array;
  private bytes = 0;
  /** Snapshots taken (statistics). */
  taken = 0;
  /** In-place restores done (statistics). */
  restores = 0;

  /** Snapshot history of `machine` for reverse execution (see HistoryOptions for its limits). */
  constructor(readonly machine: Machine, opts: HistoryOptions = {}) {
    this.interval = opts.interval ?? 250_000;
    this.maxBytes = opts.maxBytes ?? 512 * 2 ** 20;
    this.onRestore = opts.onRestore;
    const words = Math.ceil(machine.ramBytes / PAGE / 32);
    this.sinceLast = new Uint32Array(words);
    this.sinceMonitor = new Uint32Array(words);
    machine.loadLazyRam();
    machine.setDirtyTracking(true);
    this.takeBase();
  }

  /** The first instruction the history reaches back to. */
  get start(): number {
    return this.snapshots[0].icount;
  }

  /** Number of snapshots held. */
  get size(): number {
    return this.snapshots.length;
  }

  /** Instruction count at which the next periodic snapshot is due. */
  get nextSnapshotAt(): number {
    return this.snapshots[this.snapshots.length - 1].icount + this.interval;
  }

  /** Adds the machine's dirty log to the pages written since the last snapshot and since the last `monitor dirty`. */
  private harvest(): void {
    const log = this.machine.takeDirtyLog();
    for (let w = 0; w < log.length; w++) {
      this.sinceLast[w] |= log[w];
      this.sinceMonitor[w] |= log[w];
    }
  }

  /** Takes the base snapshot the history starts from. */
  private takeBase(): void {
    const m = this.machine;
    this.harvest();
    this.sinceLast.fill(0);
    const pages = new Map<number, Uint8Array>();
    const words = new Uint32Array(m.mem.buffer, m.mem.byteOffset, m.ramBytes / 4);
    for (let pfn = 0; pfn < m.ramBytes / PAGE; pfn++) {
      const w0 = pfn * (PAGE / 4);
      for (let w = w0; w < w0 + PAGE / 4; w++) {
        if (words[w] !== 0) {
          pages.set(pfn, m.mem.slice(pfn * PAGE, (pfn + 1) * PAGE));
          break;
        }
      }
    }
    this.bytes = pages.size * PAGE;
    this.snapshots.length = 0;
    this.snapshots.push({ icount: m.instructions, sections: m.saveState(), pages });
    this.taken++;
  }

  /** Takes a snapshot at the current instruction (replacing one already there). */
  snapshot(): void {
    const m = this.machine;
    const last = this.snapshots[this.snapshots.length - 1];
    if (last.icount === m.instructions) {
      if (this.snapshots.length === 1) {
        this.takeBase();
        return;
      }
      // Fold it into the one it replaces: its pages were written since the one before.
      this.snapshots.pop();
      for (const [pfn] of last.pages) this.sinceLast[pfn >>> 5] |= 1 << (pfn & 31);
      for (const b of last.pages.values()) this.bytes -= b.length;
    }
    this.harvest();
    const pages = new Map<number, Uint8Array>();
    forEachBit(this.sinceLast, (pfn) => pages.set(pfn, m.mem.slice(pfn * PAGE, (pfn + 1) * PAGE)));
    this.sinceLast.fill(0);
    this.bytes += pages.size * PAGE;
    this.snapshots.push({ icount: m.instructions, sections: m.saveState(), pages });
    this.taken++;
    while (this.bytes > this.maxBytes && this.snapshots.length > 2) this.foldOldest();
  }

  /** The history now starts at the second snapshot: the first takes in its pages and state. */
  private foldOldest(): void {
    const [base, next] = this.snapshots;
    for (const [pfn, bytes] of next.pages) {
      const old = base.pages.get(pfn);
      if (old !== undefined) this.bytes -= old.length;
      base.pages.set(pfn, bytes);
    }
    base.icount = next.icount;
    base.sections = next.sections;
    this.snapshots.splice(1, 1);
  }

  /** Takes the periodic snapshot if it is due. */
  maybeSnapshot(): void {
    if (this.machine.instructions >= this.nextSnapshotAt) this.snapshot();
  }

  /**
   * The debugger changed the guest's registers or memory: the run from here on is a new one, so a
   * snapshot is taken here (earlier snapshots still replay the history up to this point).
   */
  changed(): void {
    this.snapshot();
  }

  /** Index of the last snapshot at or before instruction `n` (0 if none). */
  private indexAtOrBefore(n: number): number {
    let k = this.snapshots.length - 1;
    while (k > 0 && this.snapshots[k].icount > n) k--;
    return k;
  }

  /** Puts the machine back to snapshot `k`, in place; later snapshots are dropped. */
  private restore(k: number): void {
    const m = this.machine;
    this.harvest();
    const touched = this.sinceLast;
    for (let j = k + 1; j < this.snapshots.length; j++) {
      for (const pfn of this.snapshots[j].pages.keys()) touched[pfn >>> 5] |= 1 << (pfn & 31);
      for (const b of this.snapshots[j].pages.values()) this.bytes -= b.length;
    }
    const snap = this.snapshots[k];
    m.restoreState(snap.sections); // dirty tracking goes off: the pages below are not guest writes
    const zero = new Uint8Array(PAGE);
    forEachBit(touched, (pfn) => m.writePage(pfn, this.pageAt(pfn, k) ?? zero));
    touched.fill(0);
    this.snapshots.length = k + 1;
    m.setDirtyTracking(true);
    this.restores++;
    this.onRestore?.(snap.icount);
  }

  /** Page `pfn` as snapshot `k` holds it, if the history has it. */
  private pageAt(pfn: number, k: number): Uint8Array | undefined {
    for (let j = k; j >= 0; j--) {
      const p = this.snapshots[j].pages.get(pfn);
      if (p !== undefined) return p;
    }
    return undefined;
  }

  /**
   * Puts the machine at instruction `n` (at least {@linkcode start}, at most the current count):
   * restores the nearest snapshot and runs forward without the debugger's hooks.
   */
  seek(n: number): void {
    const m = this.machine;
    if (n < this.start || n > m.instructions) {
      throw new RangeError(`instruction ${n} is outside the history (${this.start}..${m.instructions})`);
    }
    if (n === m.instructions) return;
    this.restore(this.indexAtOrBefore(n));
    // Snapshots on the way, at n - 2^j instructions (j >= 12), so that stepping back again from
    // near n (reverse-step is many reverse-stepi) re-runs a few thousand instructions, not an interval.
    for (let j = 30; j >= 12; j--) {
      const p = n - 2 ** j;
      if (p > m.instructions) {
        this.runTo(p, null);
        this.snapshot();
      }
    }
    this.runTo(n, null);
  }

  /** Runs forward to exactly instruction `n` with `debug` as the CPU's hooks (null: none). */
  private runTo(n: number, debug: Machine["cpu"]["debug"]): void {
    const m = this.machine;
    const saved = m.cpu.debug;
    m.cpu.debug = debug;
    m.cpu.flushTlb();
    try {
      while (m.instructions < n && m.exit === null) {
        m.run(n - m.instructions);
      }
    } finally {
      m.cpu.debug = saved;
      m.cpu.flushTlb();
    }
    if (m.instructions !== n) {
      throw new Error(`replaying the history reached instruction ${m.instructions}, not ${n}`);
    }
  }

  /**
   * Finds the last breakpoint or watchpoint hit before the current instruction, going back one
   * interval at a time (each re-run from its snapshot with the hooks recording, not stopping), and
   * puts the machine there. Returns the hit, or null after putting the machine at the start of
   * the history when there is none. `debug` holds the breakpoints and watchpoints.
   */
  reverseToLastHit(debug: NonNullable<Machine["cpu"]["debug"]>): DebugHit | null {
    const m = this.machine;
    const now = m.instructions;
    let end = now;
    for (let k = this.indexAtOrBefore(now - 1); now > this.start; k--) {
      const from = this.snapshots[k].icount;
      this.restore(k);
      const hits: DebugHit[] = [];
      debug.record = hits;
      debug.resumeAt = -1;
      debug.stopped = null;
      try {
        this.runTo(end, debug);
      } finally {
        debug.record = null;
      }
      const last = hits.findLast((h) => h.icount < now);
      if (last !== undefined) {
        this.seek(last.icount);
        return last;
      }
      if (k === 0) break;
      end = from;
    }
    if (m.instructions !== this.start) this.seek(this.start);
    return null;
  }

  /** Pages written since the last call (the first: since the debugger attached), in order. */
  takeMonitorDirty(): number[] {
    this.harvest();
    const out: number[] = [];
    forEachBit(this.sinceMonitor, (pfn) => out.push(pfn));
    this.sinceMonitor.fill(0);
    return out;
  }
}

function forEachBit(bits: Uint32Array, f: (index: number) => void): void {
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w];
    while (word !== 0) {
      const b = 31 - Math.clz32(word & -word);
      word &= word - 1;
      f(w * 32 + b);
    }
  }
}

/**
 * Debugger hooks on a CPU: instruction breakpoints and data watchpoints that a debugger (the GDB
 * server) sets, invisible to the guest. Nothing is written into guest memory and the guest's own
 * debug registers (DR0-DR7) are left alone.
 *
 * While {@linkcode Cpu.debug} is null the CPU runs as it always does (compiled blocks, the software
 * TLB's inline hit path): the hooks cost nothing. With hooks set the run loop executes one
 * instruction at a time and checks the breakpoints before each; a watched page never enters the
 * software TLB, so every access to it takes the slow path, which checks the watchpoints.
 *
 * @module
 */

/** A breakpoint the debugger inserted as a software breakpoint (gdb's Z0) or a hardware one (Z1). */
export type BreakKind = "swbreak" | "hwbreak";

/** Watchpoint kinds, as gdb's Z2 (write), Z3 (read) and Z4 (access). */
export type WatchKind = "watch" | "rwatch" | "awatch";

/** What stopped the guest: a breakpoint before an instruction, or a watched access by one. */
export interface DebugHit {
  /** The breakpoint's or watchpoint's kind. */
  kind: BreakKind | WatchKind;
  /**
   * For a breakpoint, its address; for a watchpoint, the first watched byte the access touched
   * (linear addresses as the CPU holds them: canonical, signed).
   */
  address: number;
  /**
   * Retired-instruction count before the instruction: the breakpoint's instruction, or the one
   * that made the watched access.
   */
  icount: number;
}

/** A watched range of linear addresses. */
export interface Watch {
  /** First byte (canonical linear address, signed). */
  start: number;
  /** Length in bytes (at least 1). */
  length: number;
  /** Which accesses it catches. */
  kind: WatchKind;
}

/** The breakpoints and watchpoints of one CPU, and what they caught. */
export class CpuDebug {
  /** Breakpoints by linear address (canonical, signed). */
  readonly breakpoints: Map<number, BreakKind> = new Map();
  /** Watched ranges. */
  readonly watches: Watch[] = [];
  /** Linear page numbers (as the software TLB tags them) that hold a watched byte. */
  readonly watchPages: Set<number> = new Set();
  /** Breakpoints are not checked before the instruction at this count (the one a resume starts on). */
  resumeAt: number = -1;
  /** The hit that stopped the guest, until the debugger takes it. */
  stopped: DebugHit | null = null;
  /**
   * When set, hits are appended here and the guest runs on instead of stopping (how the reverse
   * engine finds the last hit in an interval).
   */
  record: DebugHit[] | null = null;
  /** A watched access by the instruction executing now (reported once it has retired). */
  pending: DebugHit | null = null;

  /** Whether any breakpoint or watchpoint is set (with none, the CPU should not carry the hooks). */
  get active(): boolean {
    return this.breakpoints.size !== 0 || this.watches.length !== 0;
  }

  /** Adds a watched range (the caller flushes the CPU's TLB so the pages leave it). */
  addWatch(w: Watch): void {
    if (!(w.length >= 1)) throw new RangeError(`a watchpoint covers at least one byte, got ${w.length}`);
    this.watches.push(w);
    this.rebuildPages();
  }

  /** Removes a watched range equal to `w`; returns whether there was one. */
  removeWatch(w: Watch): boolean {
    const i = this.watches.findIndex((x) =>
      x.start === w.start && x.length === w.length && x.kind === w.kind
    );
    if (i < 0) return false;
    this.watches.splice(i, 1);
    this.rebuildPages();
    return true;
  }

  /** Rebuilds the set of pages that hold a watched address. */
  private rebuildPages(): void {
    this.watchPages.clear();
    for (const w of this.watches) {
      const first = Math.floor(w.start / 4096), last = Math.floor((w.start + w.length - 1) / 4096);
      for (let p = first; p <= last; p++) this.watchPages.add(p);
    }
  }

  /** The CPU accessed `size` bytes at linear `lin` (a write when `write`), at instruction `icount`. */
  access(lin: number, size: number, write: boolean, icount: number): void {
    if (this.pending !== null) return;
    for (const w of this.watches) {
      if (lin + size <= w.start || lin >= w.start + w.length) continue;
      if (w.kind === "watch" && !write) continue;
      if (w.kind === "rwatch" && write) continue;
      this.pending = { kind: w.kind, address: Math.max(lin, w.start), icount };
      return;
    }
  }

  /** Records or reports a hit; returns true when the guest must stop. */
  hit(h: DebugHit): boolean {
    if (this.record !== null) {
      this.record.push(h);
      return false;
    }
    this.stopped = h;
    return true;
  }
}

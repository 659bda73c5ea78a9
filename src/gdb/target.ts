/**
 * The debug target: one machine as a debugger drives it. Breakpoints and watchpoints (kept in the
 * CPU's debug hooks, which are detached whenever none is set, so the guest then runs at full
 * speed), forward execution in slices (so a client's interrupt is seen), reverse execution through
 * the history, and the stop replies of the GDB remote protocol ("Stop Reply Packets" in the GDB
 * manual).
 *
 * @module
 */

import { type BreakKind, CpuDebug, type DebugHit, type WatchKind } from "../cpu/mod.ts";
import type { Machine, RunExit } from "../vm/mod.ts";
import type { AddressSpace } from "./guest_memory.ts";
import { History, type HistoryOptions } from "./history.ts";

/** gdb's signal numbers used in stop replies. */
export const SIGINT = 2, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGSEGV = 11;

/** Instructions per slice between looks at the client: without hooks, and with them. */
const SLICE_FAST = 2_000_000, SLICE_DEBUG = 50_000;

/** Options of a debug target. */
export interface TargetOptions extends HistoryOptions {
  /** Keep no history (no reverse execution). */
  noHistory?: boolean;
}

/** Converts an address as gdb sends it (64-bit unsigned) to the CPU's canonical signed number. */
export function linearOf(addr: bigint): number {
  return Number(BigInt.asIntN(64, addr));
}

function hex64(n: number): string {
  return BigInt.asUintN(64, BigInt(n)).toString(16);
}

/** The stop reply for a guest that ended (W with its exit status, or X with a signal). */
export function exitReply(exit: RunExit): string {
  switch (exit.reason) {
    case "debug-exit":
      return "W" + (exit.code & 0xff).toString(16).padStart(2, "0");
    case "hlt":
    case "reset":
    case "instruction-limit":
      return "W00";
    case "triple-fault":
    case "bad-physical-access":
      return "X" + SIGSEGV.toString(16).padStart(2, "0");
    case "unhandled-exit":
      return "X" + SIGILL.toString(16).padStart(2, "0");
    default:
      return "X" + SIGABRT.toString(16).padStart(2, "0");
  }
}

/** The T reply for a breakpoint or watchpoint hit. */
export function hitReply(h: DebugHit): string {
  switch (h.kind) {
    case "swbreak":
    case "hwbreak":
      return `T05${h.kind}:;`;
    default:
      return `T05${h.kind}:${hex64(h.address)};`;
  }
}

/** A machine under a debugger. */
export class DebugTarget {
  /** The breakpoints and watchpoints (on the CPU only while any is set). */
  readonly debug: CpuDebug = new CpuDebug();
  /** Whether m/M/X addresses are guest-virtual or guest-physical (`monitor phys on|off`). */
  space: AddressSpace = "virtual";
  /** The reply to `?`: why the guest is stopped. */
  lastStop = "S05";
  /** The history for reverse execution, or null. */
  readonly history: History | null;

  /** A debug target over `machine`, with reverse-execution history unless `opts.noHistory`. */
  constructor(readonly machine: Machine, opts: TargetOptions = {}) {
    this.history = opts.noHistory ? null : new History(machine, opts);
    if (machine.exit !== null) this.lastStop = exitReply(machine.exit);
  }

  /** The guest has ended. */
  get finished(): boolean {
    return this.machine.exit !== null;
  }

  /** Attaches the debug state to the CPU while a breakpoint or watchpoint is set (`flush`: flush the TLB too). */
  private sync(flush: boolean): void {
    const cpu = this.machine.cpu;
    cpu.debug = this.debug.active ? this.debug : null;
    if (flush) cpu.flushTlb();
  }

  /** Inserts a breakpoint at `addr`. */
  insertBreakpoint(kind: BreakKind, addr: bigint): void {
    this.debug.breakpoints.set(linearOf(addr), kind);
    this.sync(false);
  }

  /** Removes the breakpoint at `addr` (removing one that is not there is no error, as gdb expects). */
  removeBreakpoint(addr: bigint): void {
    this.debug.breakpoints.delete(linearOf(addr));
    this.sync(false);
  }

  /** Inserts a watchpoint on `length` bytes at `addr`. */
  insertWatchpoint(kind: WatchKind, addr: bigint, length: number): void {
    this.debug.addWatch({ kind, start: linearOf(addr), length });
    this.sync(true);
  }

  /** Removes a watchpoint. */
  removeWatchpoint(kind: WatchKind, addr: bigint, length: number): void {
    this.debug.removeWatch({ kind, start: linearOf(addr), length });
    this.sync(true);
  }

  /** The debugger changed registers or memory: the history takes note. */
  changed(): void {
    this.history?.changed();
  }

  /** Clears the last stop and marks where the next run resumes (a breakpoint there is not hit again). */
  private prepare(): void {
    this.debug.stopped = null;
    this.debug.pending = null;
    this.debug.resumeAt = this.machine.instructions;
    this.sync(false);
  }

  /** After a run slice: the stop reply when the guest ended or hit a breakpoint or watchpoint, else null (a history snapshot may be taken). */
  private afterSlice(exit: RunExit | null): string | null {
    if (exit !== null) return this.lastStop = exitReply(exit);
    this.history?.maybeSnapshot();
    const hit = this.debug.stopped;
    if (hit !== null) {
      this.debug.stopped = null;
      return this.lastStop = hitReply(hit);
    }
    return null;
  }

  /** Executes one instruction (a watched access it makes is reported). */
  step(): string {
    const m = this.machine;
    if (m.exit !== null) return this.lastStop = exitReply(m.exit);
    this.prepare();
    const exit = m.run(1);
    return this.afterSlice(exit) ?? (this.lastStop = "T05");
  }

  /**
   * Runs until a breakpoint, a watchpoint, the guest's end or `interrupted()`; between slices it
   * awaits `pause()` (where the server reads the client's bytes).
   */
  async cont(interrupted: () => boolean, pause: () => Promise<void>): Promise<string> {
    const m = this.machine;
    if (m.exit !== null) return this.lastStop = exitReply(m.exit);
    this.prepare();
    for (;;) {
      let slice = this.debug.active ? SLICE_DEBUG : SLICE_FAST;
      if (this.history !== null) {
        slice = Math.max(1, Math.min(slice, this.history.nextSnapshotAt - m.instructions));
      }
      const stop = this.afterSlice(m.run(slice));
      if (stop !== null) return stop;
      await pause();
      if (interrupted()) return this.lastStop = "T02";
    }
  }

  /** Runs the guest without a debugger attached, in slices, until it ends or `attached()`. */
  async runDetached(attached: () => boolean, pause: () => Promise<void>): Promise<void> {
    const m = this.machine;
    this.prepare();
    while (m.exit === null && !attached()) {
      let slice = this.debug.active ? SLICE_DEBUG : SLICE_FAST;
      if (this.history !== null) {
        slice = Math.max(1, Math.min(slice, this.history.nextSnapshotAt - m.instructions));
      }
      const exit = m.run(slice);
      if (exit !== null) {
        this.lastStop = exitReply(exit);
        return;
      }
      this.history?.maybeSnapshot();
      if (this.debug.stopped !== null) {
        // Breakpoints left set by a client that went away stop the guest until one attaches again.
        this.lastStop = hitReply(this.debug.stopped);
        this.debug.stopped = null;
        return;
      }
      await pause();
    }
  }

  /** Steps back one instruction; at the start of the history, says so. */
  reverseStep(): string {
    const h = this.history;
    if (h === null) return "E01";
    const m = this.machine;
    if (m.instructions <= h.start) return this.lastStop = "T05replaylog:begin;";
    h.seek(m.instructions - 1);
    return this.lastStop = "T05";
  }

  /** Runs backwards to the last breakpoint or watchpoint hit, or to the start of the history. */
  reverseContinue(): string {
    const h = this.history;
    if (h === null) return "E01";
    const hit = h.reverseToLastHit(this.debug);
    this.sync(true);
    return this.lastStop = hit === null ? "T05replaylog:begin;" : hitReply(hit);
  }
}

/**
 * Replay: runs a guest again from its log, in a fresh machine, handing each logged input back at
 * the instruction count at which it was consumed, and checks every fine point and every
 * checkpoint digest on the way. On the first mismatch it stops and bisects to the first
 * instruction whose state differs.
 *
 * ## How divergence is found (the bisection)
 *
 * The recording stores four levels of evidence, from coarse to fine:
 *
 * 1. checkpoints every N instructions (default 10 million) and at the end: a SHA-256 digest of
 *    the CPU state, the device sections and the vector of 64-bit page hashes, with the three parts
 *    stored separately and the list of pages written since the previous checkpoint;
 * 2. memory points every M instructions (default 2^20, further apart for guests that write many
 *    pages: about 4096 instructions per page written), at every checkpoint and at the end: the
 *    registers plus (page, hash) for every page written since the previous memory point (from the
 *    machine's dirty log, so the cost follows the writes, not the RAM size);
 * 3. fine points every K instructions (default 131072): all general registers, RIP and RFLAGS;
 * 4. a fine point just before every instruction that consumes an input (RDRAND, RDSEED, a COM1
 *    read), so every input starts a window of its own.
 *
 * The replay computes the same points and compares each one as it reaches it. The first point p
 * that does not match bounds the window: registers are known equal at the last matching point
 * qr, memory at the last matching memory point qm, so the first differing instruction lies in
 * (qr, p] (at most K instructions) when registers differ, or in (qm, p] (at most M) when only
 * memory does. The replayer then restores the nearest verified snapshot into a probe machine and
 * names the instruction:
 *
 * - if the window starts at an input point (the registers matched just before an input and
 *   differ at the next point), the input-consuming instruction itself: it is the only
 *   nondeterministic event in the window, so (for a replay by the same hvsim) it is the first
 *   differing instruction. The same holds for a memory window holding exactly one input. This is
 *   how a changed input value is named exactly;
 * - otherwise it re-executes the window, first in strides of 256 instructions and then one
 *   instruction at a time inside the stride that matters, and names the earliest of the last
 *   instructions that changed each differing register or page: the value that still differs at p
 *   was produced there. If the window consumed several inputs, the report lists them as the
 *   likely origin; if it consumed none, hvsim itself computed differently.
 *
 * It prints that instruction disassembled with its address and icount, the registers that differ
 * at p (recorded and replayed values) and the pages whose contents differ. A checkpoint whose
 * digest differs while every point matched is reported by part (CPU state outside the general
 * registers, device state, RAM, or the digest itself, which means the log was altered) and names
 * the last instruction before the checkpoint.
 *
 * Snapshots: at every verified checkpoint the replayer keeps the non-RAM state and a copy of the
 * pages written since the previous one (a diff snapshot in memory); a snapshot is restored into a
 * machine freshly loaded from the ELF by applying the diffs in order. Seeking and the bisection
 * both start from the nearest snapshot.
 *
 * @module
 */

import { decode, disassemble, GPR_NAMES } from "../cpu/mod.ts";
import { bootMachine, formatSize, type Machine, MAX_GUEST_RAM_BYTES, type RunExit } from "../vm/mod.ts";
import type { StateSection } from "../migration/vm_interface.ts";
import { ReplayInputs } from "./inputs.ts";
import {
  type CheckpointRecord,
  type FinePoint,
  inputKindName,
  type InputRecord,
  LogError,
  NO_DIGEST,
  POINT_INPUT,
  POINT_PERIODIC,
  type ReplayLog,
} from "./log.ts";
import { resultOf, type RunResult } from "./run.ts";
import { combineDigest, hashPage, sha256Hex, StateTracer } from "./_tracer.ts";

/** Verified snapshots a replayer keeps (besides boot); older ones are folded into newer ones. */
export const MAX_KEPT_SNAPSHOTS = 17;

/** Instructions per VM entry in the bisection's first pass over a window. */
const STRIDE = 256;

/** One register that differs. */
export interface RegisterDiff {
  /** Register name (rax .. r15, rip, rflags). */
  name: string;
  /** Value in the recording, hex. */
  recorded: string;
  /** Value in the replay, hex. */
  replayed: string;
}

/** The instruction a divergence report names. */
export interface NamedInstruction {
  /** Instructions retired before it. */
  icount: number;
  /** Its address, hex. */
  rip: string;
  /** Its disassembly. */
  text: string;
  /** Why it was named. */
  why: string;
}

/** Where and how a replay departed from its log. */
export interface Divergence {
  /** What was detected. */
  reason: string;
  /** Instruction count at which it was detected. */
  detectedAt: number;
  /** Instruction count of the last fine point whose registers matched. */
  lastGood: number;
  /** Instruction count of the last memory point that matched (registers and memory). */
  lastFullMatch: number;
  /** The first differing instruction. */
  instruction: NamedInstruction | null;
  /** Registers that differ at `detectedAt`. */
  registers: RegisterDiff[];
  /** Guest-physical page numbers whose contents differ at `detectedAt`. */
  pages: number[];
  /** The whole report, several lines. */
  report: string;
}

/** What a replay produced. */
export interface ReplayResult {
  /** Whether every fine point, checkpoint and the end matched. */
  ok: boolean;
  /** The replayed run's result (where it stopped). */
  result: RunResult;
  /** Checkpoints verified. */
  checkpointsVerified: number;
  /** Fine points verified. */
  pointsVerified: number;
  /** Inputs handed back. */
  inputsReplayed: number;
  /** The divergence, when not ok. */
  divergence: Divergence | null;
}

/** A snapshot the replay verified: non-RAM state and the pages written since the previous one. */
export interface VerifiedSnapshot {
  /** Instructions retired. */
  icount: number;
  /** {@linkcode Machine.saveState} there. */
  sections: StateSection[];
  /** Pages written since the previous snapshot (the first: since boot), page number to bytes. */
  pages: Map<number, Uint8Array>;
}

interface PendingDivergence {
  reason: string;
  at: number;
  lastGood: FinePoint;
  lastGoodMemory: FinePoint;
  registers: RegisterDiff[];
  pages: number[];
}

function hex64(lo: number, hi: number): string {
  return "0x" + (BigInt(hi >>> 0) * 4294967296n + BigInt(lo >>> 0)).toString(16);
}

function ripHex(rip: number): string {
  return "0x" + BigInt.asUintN(64, BigInt(rip)).toString(16);
}

/**
 * Runs `m` up to `n` more instructions as the recording ran it: with the log's COM1 poll interval
 * `poll` (2.2; 0: none), the UART is polled at each multiple of it where the log has a byte taken
 * at that count, as the recording's console polled it there (before the instruction after it).
 * Returns the exit, or null when the instructions ran out.
 */
export function runAsRecorded(m: Machine, inputs: ReplayInputs, poll: number, n: number): RunExit | null {
  const stop = m.instructions + n;
  while (m.instructions < stop) {
    // A poll at the count the run starts from or passes, never at the one it stops at: the
    // recording took its points (and snapshot) there first.
    const ic = m.instructions;
    if (poll > 0 && ic > 0 && ic % poll === 0 && inputs.nextSerial() === ic) m.serial.poll();
    const exit = m.run((poll > 0 ? Math.min(stop, (Math.floor(ic / poll) + 1) * poll) : stop) - ic);
    if (exit !== null) return exit;
  }
  return m.exit; // as m.run(0) would
}

/** Disassembly of the instruction at the machine's RIP. */
export function textAt(m: Machine): string {
  try {
    const insn = decode(m.cpu, m.cpu.rip, Infinity);
    return insn ? disassemble(insn) : "(undecodable)";
  } catch {
    return "(not fetchable)";
  }
}

/** Registers that differ between a recorded and a replayed fine point. */
export function registerDiffs(rec: FinePoint, rep: FinePoint): RegisterDiff[] {
  const out: RegisterDiff[] = [];
  for (let r = 0; r < 16; r++) {
    if (rec.gpr[2 * r] !== rep.gpr[2 * r] || rec.gpr[2 * r + 1] !== rep.gpr[2 * r + 1]) {
      out.push({
        name: GPR_NAMES[r],
        recorded: hex64(rec.gpr[2 * r], rec.gpr[2 * r + 1]),
        replayed: hex64(rep.gpr[2 * r], rep.gpr[2 * r + 1]),
      });
    }
  }
  if (rec.rip !== rep.rip) out.push({ name: "rip", recorded: ripHex(rec.rip), replayed: ripHex(rep.rip) });
  if (rec.rflags !== rep.rflags) {
    out.push({
      name: "rflags",
      recorded: "0x" + rec.rflags.toString(16),
      replayed: "0x" + rep.rflags.toString(16),
    });
  }
  return out;
}

/**
 * Pages whose contents differ at a fine point, given the recorded and replayed lists of written
 * pages and the replay's hashes before the write (`before`, parallel to `rep.pages`) and now.
 */
function pageDiffs(rec: FinePoint, rep: FinePoint, before: Uint32Array, pageHash: Uint32Array): number[] {
  const recMap = new Map<number, number>();
  for (let i = 0; i < rec.pages.length; i += 2) recMap.set(rec.pages[i], rec.pages[i + 1]);
  const out: number[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < rep.pages.length / 2; k++) {
    const pfn = rep.pages[2 * k];
    seen.add(pfn);
    const expected = recMap.get(pfn) ?? before[k];
    if (expected !== rep.pages[2 * k + 1]) out.push(pfn);
  }
  for (const [pfn, h] of recMap) if (!seen.has(pfn) && pageHash[2 * pfn] !== h) out.push(pfn);
  return out.sort((a, b) => a - b);
}

/** Replays a log against its guest. */
export class Replayer {
  /** The log. */
  readonly log: ReplayLog;
  /** The replaying machine. */
  readonly machine: Machine;
  /** Verified checkpoint snapshots, in order (the first is the start). */
  readonly snapshots: VerifiedSnapshot[] = [];
  readonly #elf: Uint8Array;
  readonly #inputs: ReplayInputs;
  /** The log's COM1 poll interval (2.2; 0: none). */
  readonly #poll: number;
  readonly #tracer: StateTracer;
  #pi = 0;
  #ci = 0;
  #good: FinePoint;
  #goodMemory: FinePoint;
  #lastPeriodic: number;
  #pending: PendingDivergence | null = null;
  #done = false;
  #result: ReplayResult | null = null;
  #inputsReplayed = 0;
  readonly #initrd: Uint8Array | undefined;
  #pointsVerified = 0;

  /**
   * Prepares a replay of `log` on `elf`; throws a {@link LogError} if the ELF, RAM size or
   * command line are not the ones recorded, or the log is for more guest RAM than
   * `opts.maxMemory` (default 16 GiB, the most a machine has) allows.
   */
  constructor(log: ReplayLog, elf: Uint8Array, opts: { maxMemory?: number; initrd?: Uint8Array } = {}) {
    const max = opts.maxMemory ?? MAX_GUEST_RAM_BYTES;
    if (log.header.memory > max) {
      throw new LogError(
        `Replay log is for ${formatSize(log.header.memory)} of guest RAM: this replay allows at most ${
          formatSize(max)
        }`,
      );
    }
    const sha = sha256Hex(elf);
    if (sha !== log.header.elfSha256) {
      throw new LogError(
        `Replay log was recorded with another guest: log has ELF sha256 ${
          log.header.elfSha256.slice(0, 16)
        }..., ` +
          `this ELF is ${sha.slice(0, 16)}...`,
      );
    }
    const want = log.header.initrd?.sha256;
    if (want === undefined && opts.initrd !== undefined) {
      throw new LogError("Replay log was recorded without an initrd, but one was given");
    }
    if (want !== undefined) {
      if (opts.initrd === undefined) {
        throw new LogError("Replay log was recorded with an initrd: give it (replay --initrd FILE)");
      }
      const got = sha256Hex(opts.initrd);
      if (got !== want) {
        throw new LogError(
          `Replay log was recorded with another initrd: log has sha256 ${want.slice(0, 16)}..., ` +
            `this initrd is ${got.slice(0, 16)}...`,
        );
      }
    }
    this.log = log;
    this.#elf = elf;
    this.#initrd = opts.initrd;
    this.#inputs = new ReplayInputs(log.inputs, log.header.entropyState);
    this.#poll = log.header.serialPoll ?? 0;
    this.machine = this.#freshMachine(this.#inputs);
    this.#tracer = new StateTracer(this.machine);
    this.#inputs.onInput = (r) => this.#onInput(r);
    this.#lastPeriodic = log.points.findLastIndex((x) => x.kind === POINT_PERIODIC);
    const first = log.points[0];
    if (first === undefined || first.icount !== 0) {
      throw new LogError("Replay log has no fine point at instruction 0");
    }
    const p0 = this.#tracer.point(POINT_PERIODIC, first.memory);
    this.#good = this.#goodMemory = first;
    this.#compare(first, p0.point, p0.before, "state at boot differs from the log");
    if (this.#pending === null) {
      this.#pi = 1;
      this.#pointsVerified = 1;
    }
    this.snapshots.push({ icount: 0, sections: this.machine.saveState(), pages: new Map() });
  }

  #freshMachine(inputs: ReplayInputs): Machine {
    const h = this.log.header;
    let m: Machine;
    try {
      m = bootMachine(this.#elf, this.#initrd, {
        memory: h.memory,
        cmdline: h.cmdline,
        entropy: inputs.entropy,
        serialInput: inputs.serial,
        rtcStart: h.rtcStart,
      });
    } catch (e) {
      throw new LogError(
        `Replay log's guest cannot be loaded with ${h.memory} bytes of RAM: ${(e as Error).message}`,
      );
    }
    inputs.machine = m;
    return m;
  }

  /** Instructions retired by the replay so far. */
  get instructions(): number {
    return this.machine.instructions;
  }

  #fail(reason: string, at: number, registers: RegisterDiff[] = [], pages: number[] = []): void {
    this.#pending ??= {
      reason,
      at,
      lastGood: this.#good,
      lastGoodMemory: this.#goodMemory,
      registers,
      pages,
    };
  }

  #accept(rec: FinePoint): void {
    this.#good = rec;
    if (rec.memory) this.#goodMemory = rec;
    this.#pointsVerified++;
  }

  #compare(rec: FinePoint, rep: FinePoint, before: Uint32Array, reason: string): boolean {
    if (this.#pending) return false;
    const registers = registerDiffs(rec, rep);
    const pages = rec.memory && rep.memory ? pageDiffs(rec, rep, before, this.#tracer.pageHash) : [];
    if (
      rec.icount !== rep.icount || rec.kind !== rep.kind || rec.memory !== rep.memory ||
      registers.length > 0 ||
      pages.length > 0
    ) {
      this.#fail(reason, rep.icount, registers, pages);
      return false;
    }
    return true;
  }

  #onInput(_r: InputRecord): void {
    this.#inputsReplayed++;
    const rec = this.log.points[this.#pi];
    const { point, before } = this.#tracer.point(POINT_INPUT, rec?.memory ?? false);
    if (this.#pending) return;
    if (rec === undefined || rec.kind !== POINT_INPUT || rec.icount !== point.icount) {
      this.#fail(`the log has no input-point at instruction ${point.icount}`, point.icount);
      return;
    }
    if (this.#compare(rec, point, before, "state before an input differs from the log")) {
      this.#accept(rec);
      this.#pi++;
    }
  }

  /**
   * Replays until instruction `until` (default: the end) or the first divergence, verifying every
   * fine point and checkpoint on the way.
   */
  run(until = Infinity): ReplayResult {
    const log = this.log, m = this.machine;
    while (!this.#done && this.#pending === null && m.instructions < until) {
      let j = this.#pi;
      while (j < log.points.length && log.points[j].kind !== POINT_PERIODIC) j++;
      const rec = log.points[j];
      if (rec === undefined) {
        this.#fail("the log has no fine point at its end", m.instructions);
        break;
      }
      let exit = runAsRecorded(m, this.#inputs, this.#poll, rec.icount - m.instructions);
      if (exit === null && j === this.#lastPeriodic && log.end.reason !== "instruction-limit") {
        // The run ended on an exit that retires nothing (a triple fault): take it, at the same count.
        exit = m.run(1);
        if (m.instructions !== rec.icount) {
          this.#fail(
            `the guest ran on past instruction ${rec.icount}, where the log ends with ${log.end.reason}`,
            rec.icount,
          );
          break;
        }
      }
      const mismatch = this.#inputs.mismatch;
      if (this.#pending) break;
      if (mismatch) {
        this.#fail(mismatch.message, mismatch.icount);
        break;
      }
      if (this.#pi < j) {
        const missed = log.points[this.#pi];
        this.#fail(
          `the log has an input consumed at instruction ${missed.icount}, which the replay never asked for`,
          missed.icount,
        );
        break;
      }
      if (exit !== null && m.instructions < rec.icount) {
        this.#fail(
          `the guest ended (${exit.reason}${exit.message ? `: ${exit.message}` : ""}) at instruction ` +
            `${m.instructions}, but the log continues to instruction ${rec.icount}`,
          m.instructions,
        );
        break;
      }
      const { point, before } = this.#tracer.point(POINT_PERIODIC, rec.memory);
      if (!this.#compare(rec, point, before, "state differs from the log")) break;
      this.#accept(rec);
      this.#pi = j + 1;
      const ck = log.checkpoints[this.#ci];
      if (ck !== undefined && ck.icount === m.instructions) this.#checkpoint(ck);
      if (this.#pending) break;
      if (m.instructions === log.end.icount && this.#ci === log.checkpoints.length) this.#finish();
    }
    if (this.#pending && this.#result === null) this.#result = this.#diverged(this.#pending);
    return this.#result ?? this.#progress();
  }

  #progress(): ReplayResult {
    return {
      ok: true,
      result: resultOf(this.machine, this.machine.exit ?? { reason: "instruction-limit", code: 0 }),
      checkpointsVerified: this.#ci,
      pointsVerified: this.#pointsVerified,
      inputsReplayed: this.#inputsReplayed,
      divergence: null,
    };
  }

  #checkpoint(ck: CheckpointRecord): void {
    const t = this.#tracer, m = this.machine;
    const d = t.digest();
    const pages = t.takeCheckpointPages();
    if (
      d.digest !== ck.digest || d.cpuHash !== ck.cpuHash || d.deviceHash !== ck.deviceHash ||
      d.ramHash !== ck.ramHash
    ) {
      const parts: string[] = [];
      if (d.cpuHash !== ck.cpuHash) {
        parts.push("CPU state outside the general registers (control, segment, MSR or timer state)");
      }
      if (d.deviceHash !== ck.deviceHash) parts.push("device state (serial, consoles, entropy, local APIC)");
      const diffPages: number[] = [];
      if (d.ramHash !== ck.ramHash) {
        for (let i = 0; i < ck.pages.length; i += 3) {
          const pfn = ck.pages[i];
          if (t.pageHash[2 * pfn] !== ck.pages[i + 1] || t.pageHash[2 * pfn + 1] !== ck.pages[i + 2]) {
            diffPages.push(pfn);
          }
        }
        parts.push(
          diffPages.length ? `RAM (${diffPages.length} pages)` : "RAM (pages the log does not list)",
        );
      }
      const consistent = combineDigest(ck.cpuHash, ck.deviceHash, ck.ramHash) === ck.digest;
      this.#fail(
        parts.length
          ? `checkpoint at instruction ${ck.icount} differs in: ${parts.join("; ")}` +
            (consistent ? "" : "; and the log's digest does not cover its own parts, so the log was altered")
          : `checkpoint digest at instruction ${ck.icount} differs, but its CPU, device and RAM hashes all match: ` +
            `the log's digest was altered`,
        ck.icount,
        [],
        diffPages,
      );
      return;
    }
    const copies = new Map<number, Uint8Array>();
    for (let i = 0; i < pages.length; i += 3) {
      const a = pages[i] * 4096;
      copies.set(pages[i], m.mem.slice(a, a + 4096));
    }
    this.snapshots.push({ icount: m.instructions, sections: m.saveState(), pages: copies });
    if (this.snapshots.length > MAX_KEPT_SNAPSHOTS) {
      // Fold the oldest diff (after boot) into the next one: memory stays bounded by the pages
      // written, and the remaining snapshots still restore exactly.
      const [older, newer] = [this.snapshots[1], this.snapshots[2]];
      for (const [pfn, bytes] of older.pages) if (!newer.pages.has(pfn)) newer.pages.set(pfn, bytes);
      this.snapshots.splice(1, 1);
    }
    this.#ci++;
  }

  #finish(): void {
    const m = this.machine, end = this.log.end;
    m.setDirtyTracking(false);
    const exit = m.exit ?? { reason: "instruction-limit" as const, code: 0 };
    const result = resultOf(m, exit);
    let reason = "";
    if (exit.reason !== end.reason || exit.code !== end.code) {
      reason =
        `the replay ended with ${exit.reason} code ${exit.code}, the log with ${end.reason} code ${end.code}`;
    } else if (end.machineDigest !== NO_DIGEST && result.digest !== end.machineDigest) {
      reason = `the final machine digest ${result.digest} differs from the log's ${end.machineDigest}`;
    }
    if (reason) {
      this.#fail(reason, m.instructions);
      return;
    }
    this.#done = true;
    this.#result = {
      ok: true,
      result,
      checkpointsVerified: this.#ci,
      pointsVerified: this.#pointsVerified,
      inputsReplayed: this.#inputsReplayed,
      divergence: null,
    };
  }

  /** A machine at snapshot `s`, loaded from the ELF with the diffs applied; its inputs positioned. */
  #restore(s: number): { machine: Machine; inputs: ReplayInputs } {
    const inputs = new ReplayInputs(this.log.inputs, this.log.header.entropyState);
    const m = this.#freshMachine(inputs);
    for (let k = 1; k <= s; k++) for (const [pfn, bytes] of this.snapshots[k].pages) m.writePage(pfn, bytes);
    m.restoreState(this.snapshots[s].sections);
    m.setDirtyTracking(false);
    inputs.seek(this.snapshots[s].icount);
    return { machine: m, inputs };
  }

  #nearestSnapshot(icount: number): number {
    let s = 0;
    while (s + 1 < this.snapshots.length && this.snapshots[s + 1].icount <= icount) s++;
    return s;
  }

  /**
   * A machine at the log's `k`-th stored snapshot: loaded from the ELF, the diffs of snapshots
   * 0..k applied, the state restored, and checked against the checkpoint digest recorded there.
   */
  #restoreStored(k: number): { machine: Machine; inputs: ReplayInputs } {
    const stored = this.log.snapshots;
    const inputs = new ReplayInputs(this.log.inputs, this.log.header.entropyState);
    const m = this.#freshMachine(inputs);
    const written = new Set<number>();
    for (let i = 0; i <= k; i++) {
      for (const [pfn, bytes] of stored[i].pages) {
        if (pfn * 4096 + 4096 > m.ramBytes) {
          throw new LogError(
            `Replay log snapshot at instruction ${stored[i].icount} holds page ${pfn}, outside RAM`,
          );
        }
        m.writePage(pfn, bytes);
        written.add(pfn);
      }
    }
    const sn = stored[k];
    try {
      m.restoreState(sn.sections);
    } catch (e) {
      throw new LogError(
        `Replay log snapshot at instruction ${sn.icount} cannot be restored: ${(e as Error).message}`,
      );
    }
    inputs.seek(sn.icount);
    const t = new StateTracer(m);
    t.hashPages(written);
    const d = t.digest();
    m.setDirtyTracking(false);
    const ck = this.log.checkpoints.find((c) => c.icount === sn.icount)!;
    if (d.digest !== ck.digest) {
      throw new LogError(
        `Replay log snapshot at instruction ${sn.icount} does not match its checkpoint digest: the log was altered`,
      );
    }
    return { machine: m, inputs };
  }

  /** Where the last {@linkcode seek} started: a snapshot stored in the log, or one the replay verified. */
  lastSeek: { from: number; source: "log" | "replay" } | null = null;

  /**
   * A new machine in the replayed state at instruction `n`. Starts from the nearest snapshot at
   * or before `n`: one stored in the log (checked against its checkpoint digest) or one this
   * replayer verified; without either, it replays (verifying) up to `n` first.
   */
  seek(n: number): Machine {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.log.end.icount) {
      throw new RangeError(
        `cannot seek to instruction ${n}: the log covers instructions 0..${this.log.end.icount}`,
      );
    }
    const verified = this.snapshots[this.#nearestSnapshot(n)];
    const k = this.log.snapshots.findLastIndex((x) => x.icount <= n);
    let at: { machine: Machine; inputs: ReplayInputs };
    if (k >= 0 && this.log.snapshots[k].icount > verified.icount) {
      at = this.#restoreStored(k);
      this.lastSeek = { from: at.machine.instructions, source: "log" };
    } else {
      if (this.machine.instructions < n) {
        const r = this.run(n);
        if (!r.ok) throw new LogError(`cannot seek to instruction ${n}: ${r.divergence!.reason}`);
      }
      const s = this.#nearestSnapshot(n);
      at = this.#restore(s);
      this.lastSeek = { from: this.snapshots[s].icount, source: "replay" };
    }
    const m = at.machine;
    runAsRecorded(m, at.inputs, this.#poll, n - m.instructions);
    if (m.instructions !== n) {
      throw new LogError(`cannot seek to instruction ${n}: the guest ended at ${m.instructions}`);
    }
    return m;
  }

  #diverged(p: PendingDivergence): ReplayResult {
    const named = this.#bisect(p);
    const lines = [`replay diverged from the log: ${p.reason}`];
    lines.push(
      `  detected at instruction ${p.at}; registers last matched at instruction ${p.lastGood.icount}, ` +
        `registers and memory at instruction ${p.lastGoodMemory.icount}`,
    );
    if (named) {
      lines.push(`  first differing instruction: icount ${named.icount} at ${named.rip}: ${named.text}`);
      lines.push(`    (${named.why})`);
    }
    if (p.registers.length) {
      lines.push(`  registers that differ at instruction ${p.at}:`);
      for (const r of p.registers) {
        lines.push(`    ${r.name.padEnd(6)} recorded ${r.recorded}, replayed ${r.replayed}`);
      }
    }
    if (p.pages.length) {
      const shown = p.pages.slice(0, 16).map((pfn) => "0x" + (pfn * 4096).toString(16)).join(", ");
      lines.push(
        `  memory that differs at instruction ${p.at}: ${p.pages.length} page(s) at guest-physical ${shown}` +
          (p.pages.length > 16 ? ", ..." : ""),
      );
    }
    const divergence: Divergence = {
      reason: p.reason,
      detectedAt: p.at,
      lastGood: p.lastGood.icount,
      lastFullMatch: p.lastGoodMemory.icount,
      instruction: named,
      registers: p.registers,
      pages: p.pages,
      report: lines.join("\n"),
    };
    const m = this.machine;
    return {
      ok: false,
      result: resultOf(m, m.exit ?? { reason: "instruction-limit", code: 0 }),
      checkpointsVerified: this.#ci,
      pointsVerified: this.#pointsVerified,
      inputsReplayed: this.#inputsReplayed,
      divergence,
    };
  }

  /** Re-executes the window (last good point, detection] one instruction at a time; names the instruction. */
  /** A probe machine at instruction `icount`, restored from the nearest snapshot and run forward. */
  #probeAt(icount: number): { machine: Machine; inputs: ReplayInputs } {
    const probe = this.#restore(this.#nearestSnapshot(icount));
    runAsRecorded(probe.machine, probe.inputs, this.#poll, icount - probe.machine.instructions);
    return probe;
  }

  #describeAt(icount: number, why: string): NamedInstruction {
    const m = this.#probeAt(icount).machine;
    return { icount: m.cpu.icount, rip: ripHex(m.cpu.rip), text: textAt(m), why };
  }

  /**
   * Names the first differing instruction (see the module documentation): re-executes the window
   * from the last state known to match, one instruction at a time.
   */
  #bisect(p: PendingDivergence): NamedInstruction | null {
    const qr = p.lastGood, qm = p.lastGoodMemory;
    if (p.at === qr.icount && qr.icount > 0) {
      // Nothing to step through: a checkpoint or the end disagrees with a matching fine point.
      return this.#describeAt(
        qr.icount - 1,
        `the last instruction before instruction ${qr.icount}, where registers and written pages still ` +
          `match the log but the state digest does not`,
      );
    }
    if (p.registers.length === 0 && p.pages.length === 0) {
      // The replay departed without a state to compare (an input out of place, an early end).
      const m = this.#probeAt(p.at).machine;
      const at = m.exit !== null || m.instructions < p.at ? Math.max(0, m.instructions - 1) : p.at;
      return this.#describeAt(at, `the replay departs from the log here: ${p.reason}`);
    }
    // The whole state is known to match at the last memory point qm (registers alone at qr).
    const start = qm;
    const inputsIn = this.log.inputs.filter((x) => x.icount >= start.icount && x.icount < p.at);
    const inputText = (r: InputRecord) => `${inputKindName(r.kind)} value 0x${r.value.toString(16)}`;
    if (inputsIn.length === 1) {
      return this.#describeAt(
        inputsIn[0].icount,
        `it consumes the logged ${
          inputText(inputsIn[0])
        }, the only nondeterministic event between the last ` +
          `fully matching state (instruction ${start.icount}) and instruction ${p.at}`,
      );
    }
    // Find the last instruction that changed each differing item: first in strides of STRIDE
    // instructions (one VM entry each), then one instruction at a time inside the stride where
    // the earliest of those changes happened.
    const regIndex = p.registers.map((r) =>
      r.name === "rip" ? 16 : r.name === "rflags" ? 17 : (GPR_NAMES as readonly string[]).indexOf(r.name)
    );
    const hashes = new Uint32Array(2 * (this.machine.ramBytes / 4096));
    const sample = (m: Machine): string[] => {
      const cpu = m.cpu;
      const words = new Int32Array(m.mem.buffer, m.mem.byteOffset, m.ramBytes / 4);
      const out = regIndex.map((k) =>
        k === 16
          ? String(cpu.rip)
          : k === 17
          ? String(cpu.getRflags())
          : `${cpu.gpr[2 * k]}:${cpu.gpr[2 * k + 1]}`
      );
      for (const pfn of p.pages) {
        hashPage(words, pfn, hashes);
        out.push(`${hashes[2 * pfn]}:${hashes[2 * pfn + 1]}`);
      }
      return out;
    };
    const lastChange = (from: number, to: number, stride: number): { at: number[]; starts: number[] } => {
      const { machine: probe, inputs } = this.#probeAt(from);
      let prev = sample(probe);
      const at = prev.map(() => -1), starts: number[] = [];
      while (probe.instructions < to && probe.exit === null && inputs.mismatch === null) {
        const begin = probe.instructions;
        starts.push(begin);
        runAsRecorded(probe, inputs, this.#poll, Math.min(stride, to - begin));
        const cur = sample(probe);
        for (let i = 0; i < cur.length; i++) if (cur[i] !== prev[i]) at[i] = starts.length - 1;
        prev = cur;
      }
      return { at, starts };
    };
    const coarse = lastChange(start.icount, p.at, STRIDE);
    const changed = coarse.at.filter((c) => c >= 0);
    const candidates = inputsIn.length > 0
      ? `; the window also consumed ${inputsIn.length} inputs (at instructions ` +
        `${inputsIn.slice(0, 8).map((r) => r.icount).join(", ")}${inputsIn.length > 8 ? ", ..." : ""}), ` +
        `the differing value may come from one of them`
      : "; no input in the window, so hvsim itself computed differently";
    if (changed.length === 0) {
      return this.#describeAt(
        start.icount,
        `the first instruction after the last matching state (no single writer of what differs)${candidates}`,
      );
    }
    const chunk = Math.min(...changed);
    const begin = coarse.starts[chunk];
    const fine = lastChange(begin, Math.min(begin + STRIDE, p.at), 1);
    const mine = coarse.at.map((c, i) => (c === chunk ? fine.at[i] : -1)).filter((s) => s >= 0);
    const step = mine.length ? Math.min(...mine) : 0;
    const names = [
      ...p.registers.map((r) => r.name),
      ...p.pages.map((pfn) => `page 0x${(pfn * 4096).toString(16)}`),
    ];
    const what = names.filter((_, i) => coarse.at[i] === chunk && fine.at[i] === step);
    return this.#describeAt(
      fine.starts[step] ?? begin,
      `the earliest instruction whose result still differs at instruction ${p.at}: it last wrote ` +
        `${what.join(", ")}${candidates}`,
    );
  }
}

/**
 * Replays `log` (bytes already checked by {@linkcode readLog}) against `elf` to the end or the
 * first divergence.
 */
export function replay(log: ReplayLog, elf: Uint8Array): ReplayResult {
  return new Replayer(log, elf).run();
}

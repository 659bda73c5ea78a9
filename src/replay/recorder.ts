/**
 * Recording: runs a guest with its nondeterministic inputs logged, and writes the replay log
 * (see `log.ts`) as it goes: each input with its instruction count, a fine point (registers and
 * the hashes of the pages written) every K instructions and before every input, a checkpoint
 * digest every N instructions and at the end, and the end record.
 *
 * Cost: the run is cut into K-instruction slices (default 131072; each slice is one VM entry), a
 * fine point copies the registers, and every M instructions (default 2^20) a memory point takes
 * the machine's dirty log and hashes only the pages the guest wrote. A checkpoint hashes the
 * page-hash vector (8 bytes per page), never all of RAM; pages not written since boot are not
 * hashed at all (the header pins the ELF, RAM size and command line, so they match by
 * construction). Only the end record's {@linkcode Machine.digest} reads all of RAM, once, as a
 * plain run's result does.
 *
 * @module
 */

import { bootMachine, type EntropySource, type Machine } from "../vm/mod.ts";
import { RTC_DEFAULT_START, type SerialInput, SerialLine } from "../devices/mod.ts";
import type { MigratableVm } from "../migration/vm_interface.ts";
import { HostEntropy, type InputObserver, RecordingEntropy, recordingSerial } from "./inputs.ts";
import {
  type FinePoint,
  type InputRecord,
  LogWriter,
  MemoryLog,
  NO_DIGEST,
  POINT_INPUT,
  POINT_PERIODIC,
} from "./log.ts";
import { resultOf, type RunResult } from "./run.ts";
import { sha256Hex, StateTracer } from "./_tracer.ts";
import { Entropy } from "../devices/mod.ts";

/** Default checkpoint interval N (instructions). */
export const DEFAULT_CHECKPOINT_INTERVAL = 10_000_000;
/** Default trace interval K (instructions). */
export const DEFAULT_TRACE_INTERVAL = 131072;
/** Default memory interval M (instructions between fine points that take the dirty log). */
export const DEFAULT_MEMORY_INTERVAL = 1048576;

/** Instructions a memory point should be apart per page it hashed (bounds the cost of write-heavy guests). */
export const PAGE_COST = 4096;

/** Bytes of pages a stored snapshot may always copy. */
export const SNAPSHOT_FREE_BYTES = 1 << 20;
/** Beyond that, bytes of pages a stored snapshot may copy per instruction since the previous one. */
export const SNAPSHOT_BYTES_PER_INSTRUCTION = 0.25;

/** Dirty-log takes granted to input points before the per-instruction budget applies. */
export const INPUT_MEMORY_ALLOWANCE = 64;

/** What a pause's action gets: the paused recording. */
export interface PauseContext {
  /** The recording machine, paused between two instructions. */
  machine: Machine;
  /**
   * Takes the machine's dirty log: use this instead of `machine.takeDirtyLog()` (the recorder
   * keeps seeing the bits), e.g. as a migration source's dirty log.
   */
  takeDirtyLog(): Uint32Array;
  /**
   * Options for a machine that is to continue the recording (a migration destination): its
   * RDRAND/RDSEED and COM1 must go through the recorder.
   */
  machineOptions: {
    memory: number;
    cmdline: string;
    entropy: EntropySource;
    serialInput?: SerialInput;
    rtcStart?: number;
  };
}

/**
 * The paused recording machine as a migration source ({@linkcode MigratableVm}): the same machine,
 * but its dirty log is shared with the recorder (taking it leaves the recorder's view intact) and
 * dirty tracking stays on while the recording lasts, whatever the migration asks.
 */
export function pausedVm(ctx: PauseContext): MigratableVm {
  const m = ctx.machine;
  return {
    get ramBytes() {
      return m.ramBytes;
    },
    get instructions() {
      return m.instructions;
    },
    get finished() {
      return m.finished;
    },
    run: (n) => void m.run(n),
    takeDirtyLog: () => ctx.takeDirtyLog(),
    setDirtyTracking: (on) => {
      if (on) ctx.takeDirtyLog(); // start with an empty log; tracking itself is the recorder's
    },
    readPage: (pfn, dst) => m.readPage(pfn, dst),
    writePage: (pfn, src) => m.writePage(pfn, src),
    saveState: () => m.saveState(),
    restoreState: (sections) => m.restoreState(sections),
    setThrottle: (f) => m.setThrottle(f),
  };
}

/**
 * A pause in a recording at a given instruction count: the hook for migration inside a recording.
 * The log gets a mark record at the pause (with `label`), so a replay can say where it happened.
 */
export interface RecordPause {
  /** Instruction count at which the guest is paused (it runs no further until `action` returns). */
  at: number;
  /** What happened there, for the log's mark record (default "pause"). */
  label?: string;
  /**
   * Runs while the recording is paused. It may run the guest on (a pre-copy migration's rounds):
   * inputs stay logged and the recorder's points resume afterwards. It may return another machine
   * in the same state (a migration destination built with `machineOptions` and restored from the
   * paused one): the recording then continues there, and the old machine is no longer used. An
   * asynchronous action needs {@linkcode recordGuestAsync}.
   */
  action: (ctx: PauseContext) => Machine | void | Promise<Machine | void>;
}

/** Options of {@linkcode recordGuest}. */
export interface RecordOptions {
  /** Guest RAM in bytes (default 64 MiB). */
  memory?: number;
  /** Command line (default empty). */
  cmdline?: string;
  /**
   * RDRAND/RDSEED source: "host" (the host's random generator), a seed for the deterministic
   * source, or a source (default: the machine's seeded source, as a plain run has).
   */
  entropy?: "host" | bigint | EntropySource;
  /** COM1 input: returns the next byte or -1 (default: none). */
  serialInput?: () => number;
  /**
   * Connect `serialInput` as a console does (`deno task run` for a Linux guest): through the serial
   * line that opens once the guest's driver listens (src/devices/serial_gate.ts), with the UART
   * polled at every multiple of this many instructions ({@linkcode runPollingSerial}'s slice,
   * `CONSOLE_POLL_INSTRUCTIONS`), so the bytes arrive where a plain run with the same input takes
   * them. Stored in the log (2.2). Default 0: the bytes reach the UART directly, when the guest reads it.
   */
  serialPoll?: number;
  /** The CMOS clock's time at TSC 0, in seconds since the Unix epoch (default: the RTC's); stored in the log (2.2). */
  rtcStart?: number;
  /** Checkpoint interval N (default 10 million). */
  checkpointInterval?: number;
  /** Trace interval K (default 131072). */
  traceInterval?: number;
  /** Memory interval M (default 1048576): every M instructions a fine point also lists the written pages. */
  memoryInterval?: number;
  /** Stop after this many instructions (default: run to the end). */
  maxInstructions?: number;
  /**
   * Store a diff snapshot in the log every this many checkpoints, for seeking (default 1; 0: none).
   * A snapshot that would copy more than 1 MiB and more than a quarter byte of written pages per
   * instruction since the previous one is put off to a later checkpoint.
   */
  snapshotEvery?: number;
  /** Where the log's bytes go (default: kept in memory and returned). */
  sink?: (chunk: Uint8Array) => void;
  /**
   * Compute the final {@linkcode Machine.digest} for the result and the end record (default true).
   * It reads all of RAM once; without it the end is still proven by the final checkpoint digest.
   */
  finalDigest?: boolean;
  /** Path of the guest ELF, stored in the log as a hint for replay (default empty). */
  guestPath?: string;
  /** The initrd, when the guest is a Linux kernel (its hash goes into the log). */
  initrd?: Uint8Array;
  /** Path of the initrd, stored in the log as a hint for replay (default empty). */
  initrdPath?: string;
  /** Pauses at instruction counts (see {@linkcode RecordPause}). */
  pauses?: RecordPause[];
}

/** What a recording produced. */
export interface Recording {
  /** The run's result. */
  result: RunResult;
  /** The log, when no sink was given. */
  log: Uint8Array | null;
  /** Bytes of log written. */
  logBytes: number;
  /** Inputs logged. */
  inputs: number;
  /** Checkpoints written. */
  checkpoints: number;
  /** Snapshots written. */
  snapshots: number;
  /** Fine points written. */
  points: number;
}

function entropyFrom(e: RecordOptions["entropy"]): EntropySource {
  if (e === undefined) return new Entropy();
  if (e === "host") return new HostEntropy();
  if (typeof e === "bigint") return new Entropy(e);
  return e;
}

/**
 * Runs `elf` and records it.
 *
 * @example
 * ```ts
 * import { recordGuest, replayGuest, assertSameRun } from "./mod.ts";
 * const elf = Deno.readFileSync("guests/build/hello.elf");
 * const rec = recordGuest(elf, { cmdline: "greeting=hi" });
 * const rep = replayGuest(rec.log!, elf);
 * assertSameRun(rec.result, rep.result);
 * ```
 */
export function recordGuest(elf: Uint8Array, opts: RecordOptions = {}): Recording {
  const steps = recordSteps(elf, opts);
  let r = steps.next();
  while (!r.done) {
    const next = r.value.pause.action(r.value.ctx);
    if (next instanceof Promise) {
      throw new TypeError(
        "a pause action returned a promise: use recordGuestAsync() for asynchronous actions",
      );
    }
    r = steps.next(next);
  }
  return r.value;
}

/**
 * {@linkcode recordGuest} for pause actions that are asynchronous (a migration through the
 * migration controller, which sends over a stream): each action is awaited while the guest is paused.
 */
export async function recordGuestAsync(elf: Uint8Array, opts: RecordOptions = {}): Promise<Recording> {
  const steps = recordSteps(elf, opts);
  let r = steps.next();
  while (!r.done) r = steps.next(await r.value.pause.action(r.value.ctx));
  return r.value;
}

/** The recording loop; yields at each pause and takes the machine to continue on. */
function* recordSteps(
  elf: Uint8Array,
  opts: RecordOptions,
): Generator<{ pause: RecordPause; ctx: PauseContext }, Recording, Machine | void> {
  const N = opts.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
  const K = opts.traceInterval ?? DEFAULT_TRACE_INTERVAL;
  if (!Number.isSafeInteger(N) || N < 1) {
    throw new RangeError(`checkpoint interval must be a whole number >= 1, got ${N}`);
  }
  if (!Number.isSafeInteger(K) || K < 1 || K > 0xffffffff) {
    throw new RangeError(`trace interval must be a whole number in 1..2^32-1, got ${K}`);
  }
  const M = opts.memoryInterval ?? DEFAULT_MEMORY_INTERVAL;
  if (!Number.isSafeInteger(M) || M < 1) {
    throw new RangeError(`memory interval must be a whole number >= 1, got ${M}`);
  }
  const max = opts.maxInstructions ?? Infinity;
  const memLog = opts.sink ? null : new MemoryLog();
  const inner = entropyFrom(opts.entropy);
  const cmdline = opts.cmdline ?? "";
  const memory = opts.memory ?? 64 * 2 ** 20;
  const P = opts.serialPoll ?? 0;
  if (!Number.isInteger(P) || P < 0 || P > 0xffffffff) {
    throw new RangeError(`COM1 poll interval must be a whole number in 0..2^32-1, got ${P}`);
  }
  const platform = opts.rtcStart !== undefined || P > 0;
  const writer = new LogWriter(opts.sink ?? memLog!.sink, {
    elfSha256: sha256Hex(elf),
    memory,
    checkpointInterval: N,
    traceInterval: K,
    cmdline,
    entropyState: inner.save(),
    guestPath: opts.guestPath ?? "",
    ...(opts.initrd === undefined
      ? {}
      : { initrd: { sha256: sha256Hex(opts.initrd), path: opts.initrdPath ?? "" } }),
    ...(platform ? { rtcStart: opts.rtcStart ?? RTC_DEFAULT_START, serialPoll: P } : {}),
  });

  let points: FinePoint[] = [];
  let tracer: StateTracer | null = null;
  let machine: Machine | null = null;
  let inputs = 0, checkpoints = 0, totalPoints = 0, snapshots = 0;
  const snapshotEvery = opts.snapshotEvery ?? 1;
  let lastSnapshot = 0;
  // An input point is also a memory point while the dirty-log takes stay within budget: a fixed
  // allowance plus one per M/32 instructions, so sparse inputs each get a window of their own and
  // dense ones cannot slow the recording down.
  let takes = 0;
  const observe: InputObserver = (r: InputRecord) => {
    const memoryPoint = takes < INPUT_MEMORY_ALLOWANCE + machine!.instructions / (M / 32);
    if (memoryPoint) takes++;
    points.push(tracer!.point(POINT_INPUT, memoryPoint).point);
    writer.input(r);
    inputs++;
  };
  const entropy = new RecordingEntropy(inner, observe);
  // A console's bytes pass the serial line first: what the recording logs is what the UART took.
  const line = opts.serialInput && P > 0 ? new SerialLine(opts.serialInput) : null;
  const source = line?.input ?? opts.serialInput;
  const serial = source ? recordingSerial(source, observe, () => machine) : undefined;
  const rtcStart = opts.rtcStart;
  machine = bootMachine(
    elf,
    opts.initrd,
    { memory, cmdline, entropy, serialInput: serial, rtcStart },
    opts.guestPath,
  );
  line?.attach(machine);
  entropy.machine = machine;
  tracer = new StateTracer(machine);
  let m = machine;

  const pauses = [...(opts.pauses ?? [])].sort((a, b) => a.at - b.at);
  let pi = 0;
  points.push(tracer.point(POINT_PERIODIC, true).point);
  let nextCheckpoint = N, nextMemory = M;
  for (;;) {
    const ic = m.instructions;
    // The console's poll, where runPollingSerial's slices end (after this count's points and snapshot).
    if (P > 0 && ic > 0 && ic % P === 0) m.serial.poll();
    let target = Math.min((Math.floor(ic / K) + 1) * K, nextMemory, nextCheckpoint, max);
    if (P > 0) target = Math.min(target, (Math.floor(ic / P) + 1) * P);
    while (pi < pauses.length && pauses[pi].at <= ic) pi++;
    if (pi < pauses.length) target = Math.min(target, pauses[pi].at);
    const exit = m.run(target - ic);
    const done = exit !== null || m.instructions >= max;
    const atCheckpoint = m.instructions >= nextCheckpoint || done;
    const memoryPoint = atCheckpoint || m.instructions >= nextMemory;
    const pt = tracer.point(POINT_PERIODIC, memoryPoint).point;
    points.push(pt);
    if (memoryPoint) {
      takes++;
      // A guest that writes many pages makes memory points dear (each page is re-dirtied through
      // the EPT and hashed): space them so that they cost about as much as PAGE_COST instructions
      // per page, between M and the checkpoint interval.
      nextMemory = m.instructions + Math.min(N, Math.max(M, (pt.pages.length / 2) * PAGE_COST));
    }
    while (pi < pauses.length && pauses[pi].at === m.instructions && !done) {
      const pause = pauses[pi++];
      const t = tracer;
      const next = yield {
        pause,
        ctx: {
          machine: m,
          takeDirtyLog: () => t.takeDirtyLogShared(),
          machineOptions: { memory, cmdline, entropy, serialInput: serial, rtcStart },
        },
      };
      if (next && next !== m) {
        if (next.instructions !== m.instructions) {
          throw new RangeError(
            `a pause action returned a machine at instruction ${next.instructions}; the paused one is at ${m.instructions}`,
          );
        }
        tracer.adopt(next);
        entropy.machine = next;
        line?.attach(next);
        machine = m = next;
      }
      // The action may have run the guest on (pre-copy rounds): the mark says where it ended.
      writer.mark({ icount: m.instructions, label: pause.label ?? "pause" });
    }
    if (atCheckpoint) {
      writer.trace(points);
      totalPoints += points.length;
      points = [];
      const d = tracer.digest();
      writer.checkpoint({ ...d, pages: tracer.takeCheckpointPages() });
      checkpoints++;
      // A snapshot copies the pages written since the previous one: skip it while that would
      // cost more than SNAPSHOT_BYTES_PER_INSTRUCTION (a guest rewriting much of its RAM).
      const due = snapshotEvery > 0 && checkpoints % snapshotEvery === 0 &&
        tracer.snapshotPageCount() * 4096 <=
          Math.max(SNAPSHOT_FREE_BYTES, (m.instructions - lastSnapshot) * SNAPSHOT_BYTES_PER_INSTRUCTION);
      if (due) {
        lastSnapshot = m.instructions;
        const pages = new Map<number, Uint8Array>();
        for (const pfn of tracer.takeSnapshotPages()) {
          pages.set(pfn, m.mem.subarray(pfn * 4096, pfn * 4096 + 4096));
        }
        writer.snapshot({ icount: m.instructions, sections: m.saveState(), pages });
        snapshots++;
      }
      while (nextCheckpoint <= m.instructions) nextCheckpoint += N;
    }
    if (done) break;
  }
  // The dirty log was just taken; with tracking off the VMCS is as a plain run leaves it.
  m.setDirtyTracking(false);
  const exit = m.runToEnd(0);
  const result = resultOf(m, exit, opts.finalDigest ?? true);
  writer.end({
    icount: m.instructions,
    reason: exit.reason,
    code: exit.code,
    message: exit.message ?? "",
    machineDigest: result.digest || NO_DIGEST,
  });
  return {
    result,
    log: memLog ? memLog.bytes() : null,
    logBytes: writer.bytes,
    inputs,
    checkpoints,
    snapshots,
    points: totalPoints,
  };
}

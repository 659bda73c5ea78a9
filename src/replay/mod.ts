/**
 * Deterministic record/replay for hvsim: the input log, recording, replay with divergence
 * bisection and seeking, and the API for writing deterministic tests in a few lines.
 *
 * @example
 * ```ts
 * import { assertSameRun, readLog, recordGuest, replayGuest, runGuest } from "./mod.ts";
 * const elf = Deno.readFileSync("guests/build/hello.elf");
 * const rec = recordGuest(elf, { cmdline: "greeting=hi" });
 * assertSameRun(rec.result, runGuest(elf, { cmdline: "greeting=hi" }), ["recorded", "plain"]);
 * const rep = replayGuest(rec.log!, elf);
 * assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
 * ```
 *
 * @module
 */

export {
  type CheckpointRecord,
  type EndRecord,
  type FinePoint,
  type InputRecord,
  LogError,
  type LogHeader,
  LogWriter,
  type MarkRecord,
  MemoryLog,
  readLog,
  type ReplayLog,
  type SnapshotRecord,
} from "./log.ts";
export { ByteInput, HostEntropy, type InputMismatch, seededEntropy } from "./inputs.ts";
export { assertSameRun, diffRuns, type GuestOptions, resultOf, runGuest, type RunResult } from "./run.ts";
export {
  DEFAULT_CHECKPOINT_INTERVAL,
  type PauseContext,
  recordGuest,
  recordGuestAsync,
  type Recording,
  type RecordOptions,
  type RecordPause,
} from "./recorder.ts";
export {
  type Divergence,
  type NamedInstruction,
  type RegisterDiff,
  replay,
  Replayer,
  type ReplayResult,
  type VerifiedSnapshot,
} from "./replayer.ts";
export { assertReplays, replayGuest } from "./api.ts";

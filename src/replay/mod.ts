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

// The types that the exports above name from the other parts (their own modules document them),
// so that this module's documentation is complete on its own.
export type { Cpu, GuestPhysicalMap } from "../cpu/cpu.ts";
export type { SharedMemory } from "../cpu/unified_memory.ts";
export type { BreakKind, CpuDebug, DebugHit, Watch, WatchKind } from "../cpu/debug.ts";
export type { Handler, Insn } from "../cpu/insn.ts";
export type { SerialInput } from "../devices/serial.ts";
export type { StateSection } from "../migration/vm_interface.ts";
export type { DirtyLogMethod, EptMap, PageLoader } from "../vm/ept_map.ts";
export type { EntropySource, EXIT_REASONS, ExitReason, Machine, RunExit } from "../vm/machine.ts";
export type { VmEntryOutcome, VmxVcpu } from "../vm/vcpu.ts";
export type { E820Entry, LinuxLayout } from "../vm/linux_loader.ts";
export type { VmxCapabilities } from "../vmx/capabilities.ts";
export type { PmlLog } from "../vmx/ept.ts";
export type {
  VmEntryFailure,
  VmEntryResult,
  VmFailInvalid,
  VmFailValid,
  VmPtrstResult,
  VmReadResult,
  VmSucceed,
  Vmx,
  VmxFault,
  VmxResult,
  VmxState,
} from "../vmx/instructions.ts";
export type { Vmcs, VmcsState } from "../vmx/vmcs.ts";

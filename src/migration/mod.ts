/**
 * Live migration, snapshots and restore of a VM: pre-copy over the EPT dirty log with QEMU-, Seed-
 * and Xen-style switchover policies and auto-converge, on a simulated link (deterministic, in
 * virtual time) or over TCP; the verified, versioned stream ("HVMS", CRC32C per record, optional
 * HMAC-SHA256); snapshot files, full and diff, restored eagerly or lazily; statistics with QEMU's
 * `query-migrate` names, and an HTML report. Any VM that implements {@link MigratableVm} takes part.
 *
 * @example Migrate a running guest and compare it with a run that never moved
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { migrateInProcess } from "./mod.ts";
 * import { Machine } from "../vm/mod.ts";
 *
 * const elf = Deno.readFileSync("guests/build/memwrite.elf");
 * const opts = { memory: 8 << 20, cmdline: "ws=256K rate=64 iters=20 quiet" };
 * const reference = Machine.fromElf(elf, opts);
 * reference.runToEnd();
 * // Pre-copy from 1M instructions on, over a simulated 1 Gbit/s link, to a blank machine.
 * const r = await migrateInProcess(Machine.fromElf(elf, opts), (h) => new Machine({ memory: h.ramBytes }), {
 *   at: 1_000_000,
 * });
 * equal(r.ok, true);
 * const moved = r.destination as Machine;
 * moved.runToEnd();
 * equal(moved.digest(), reference.digest());
 * equal(moved.consoleText(), reference.consoleText());
 * ```
 *
 * @module
 */

export { type LazyRam, type MigratableVm, PAGE_SIZE, type StateSection } from "./vm_interface.ts";
export {
  type MigrateOptions,
  MigrationCancelledError,
  MigrationController,
  type MigrationProgress,
  type MigrationResult,
  type SnapshotOptions,
} from "./controller.ts";
export {
  type Destination,
  migrateInProcess,
  migrateToTcp,
  receiveFromTcp,
  type TcpDestinationOptions,
  type TcpSourceOptions,
  type VmMigrationOptions,
  type VmMigrationResult,
} from "./vm_migration.ts";
export { inspectFile, restoreFromFiles, snapshotToFile } from "./vm_snapshot.ts";
export {
  AutoConverge,
  type AutoConvergeOptions,
  POLICY_NAMES,
  policyByName,
  qemuPolicy,
  type QemuPolicyOptions,
  seedPolicy,
  type SeedPolicyOptions,
  type SwitchoverPolicy,
  type SwitchoverTest,
  type SyncReport,
  testPasses,
  xenPolicy,
  type XenPolicyOptions,
} from "./policies.ts";
export {
  DEFAULT_BANDWIDTH,
  DEFAULT_CLOCK_HZ,
  type Link,
  parseBandwidth,
  parseDurationMs,
  RealTimeLink,
  SimulatedLink,
  type SimulatedLinkOptions,
} from "./link.ts";
export { type MigrationStats, queryMigrate, type RoundStats } from "./stats.ts";
export {
  type Confirmation,
  type InProcessPair,
  inProcessTransport,
  memoryTransport,
  type MigrationTransport,
} from "./transport.ts";
export {
  DEFAULT_MAX_RAM_BYTES,
  DestinationRefusedError,
  type ReceiveOptions,
  type ReceiveResult,
  receiveStream,
} from "./receiver.ts";
export {
  connectMigration,
  type ConnectOptions,
  incomingFailure,
  listenForMigration,
  type ListenOptions,
  type MigrationListener,
} from "./tcp.ts";
export { fileTransport, type RestoreFileOptions, restoreSnapshotFiles, writeSnapshotFile } from "./file.ts";
export { type InspectOptions, inspectStream, type InspectSummary } from "./inspect.ts";
export { formatBytes, importStreamKey, readKeyFile, StreamError, type StreamHeader } from "./stream.ts";
export {
  buildMigrationReport,
  buildSnapshotReport,
  type ChainSnapshot,
  dirtyByRegion,
  type MigrationReport,
  type PageRun,
  type RegionRounds,
  type ReportContext,
  type ReportRegion,
  type WallDowntime,
} from "./report.ts";
export { renderReportHtml } from "./report_html.ts";
export { type HopReport, type MemorySample, pingPong, type PingPongOptions } from "./ping_pong.ts";
export { type BufferSource, type ByteSink, type ByteSource, MemorySink } from "./byte_io.ts";
export { type RandomAccessSource } from "./lazy_ram.ts";
export { type MigrationState } from "./state.ts";
export { DirtyBitmap, pageSpans } from "./dirty_bitmap.ts";
export type { PageSpan } from "./dirty_bitmap.ts";

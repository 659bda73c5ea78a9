/**
 * Migrating a whole VM in one call: in process over a simulated link (deterministic), or between
 * processes over TCP (source and destination). Each runs the source to a start point, drives a
 * {@link MigrationController} and returns the statistics and, on success, the loaded destination;
 * on failure the source is intact and resumable.
 *
 * @module
 */

import type { MigratableVm } from "./vm_interface.ts";
import type { StreamHeader } from "./stream.ts";
import { MigrationController, type MigrationProgress, type MigrationResult } from "./controller.ts";
import { type MigrationStats, queryMigrate } from "./stats.ts";
import { DEFAULT_BANDWIDTH, DEFAULT_CLOCK_HZ, RealTimeLink, SimulatedLink } from "./link.ts";
import { inProcessTransport } from "./transport.ts";
import { connectMigration, incomingFailure, listenForMigration } from "./tcp.ts";
import type { ReceiveResult } from "./receiver.ts";

/** A destination: a blank VM, or a factory called once the stream has verified. */
export type Destination = MigratableVm | ((header: StreamHeader) => MigratableVm);

/** The factory a {@link Destination} stands for. */
export function factory(d: Destination): (h: StreamHeader) => MigratableVm {
  return typeof d === "function" ? d : () => d;
}

/** Options shared by the migration functions. */
export interface VmMigrationOptions {
  /** Run the source to this retired-instruction count before migrating (if it has not ended). */
  at?: number;
  /** Switchover policy: "qemu" (default), "seed" or "xen". */
  policy?: string;
  /** qemu's downtime limit, ms (default 300). */
  downtimeLimitMs?: number;
  /** Simulated link bandwidth, bytes/s (default 125,000,000 = 1 Gbit/s). */
  bandwidth?: number;
  /** Simulated one-way latency, ms (default 0). */
  latencyMs?: number;
  /** Guest instructions per second of link time (default 1e9: 1 instruction = 1 ns). */
  clockHz?: number;
  /** Auto-converge (default true). */
  autoConverge?: boolean;
  /** HMAC-SHA256 key (see `readKeyFile`). */
  key?: CryptoKey;
  /** Pages per ram-pages record (default 64). */
  pagesPerRecord?: number;
  /** Progress callback (`deno task migrate` draws a progress bar with it). */
  onProgress?: (p: MigrationProgress) => void;
  /** Re-send all memory at the end so the destination can check it (see MigrateOptions.verify). */
  verify?: boolean;
  /** Switch over at exactly this retired-instruction count (see MigrateOptions.stopAt). */
  stopAt?: number;
}

/** The outcome of a migration, with its statistics. */
export interface VmMigrationResult {
  /** Whether the destination confirmed and holds the VM. */
  ok: boolean;
  /** One line, when it failed. */
  error?: string;
  /** Statistics. */
  stats: MigrationStats;
  /** The statistics with QEMU query-migrate names (for `--json`). */
  json: Record<string, unknown>;
  /** The destination VM, loaded and ready to run (only when ok). */
  destination?: MigratableVm;
}

function runTo(vm: MigratableVm, at: number | undefined): void {
  if (at === undefined) return;
  if (!Number.isSafeInteger(at) || at < 0) {
    throw new RangeError(`--at ${at}: expected a whole number of instructions`);
  }
  while (!vm.finished && vm.instructions < at) vm.run(at - vm.instructions);
}

/** A controller's result as a {@link VmMigrationResult}. */
export function report(r: MigrationResult, destination?: MigratableVm): VmMigrationResult {
  return {
    ok: r.ok,
    error: r.error?.message,
    stats: r.stats,
    json: queryMigrate(r.stats),
    destination: r.ok ? destination : undefined,
  };
}

/**
 * Deterministic in-process migration: run `source` to `opts.at`, migrate it over a simulated link
 * to `destination`, and return the loaded destination (not yet resumed) with the statistics.
 * On failure the source is intact and resumable, and no destination is returned.
 */
export async function migrateInProcess(
  source: MigratableVm,
  destination: Destination,
  opts: VmMigrationOptions = {},
): Promise<VmMigrationResult> {
  runTo(source, opts.at);
  const link = new SimulatedLink({
    bandwidth: opts.bandwidth ?? DEFAULT_BANDWIDTH,
    latencyMs: opts.latencyMs ?? 0,
    clockHz: opts.clockHz ?? DEFAULT_CLOCK_HZ,
  });
  const pair = inProcessTransport({
    createVm: factory(destination),
    key: opts.key,
    expectRamBytes: source.ramBytes,
  });
  const r = await new MigrationController(source).migrate(pair.transport, {
    policy: opts.policy,
    downtimeLimitMs: opts.downtimeLimitMs,
    autoConverge: opts.autoConverge,
    key: opts.key,
    link,
    pagesPerRecord: opts.pagesPerRecord,
    onProgress: opts.onProgress,
    verify: opts.verify,
    stopAt: opts.stopAt,
  });
  let vm: MigratableVm | undefined;
  if (r.ok) vm = (await pair.destination).vm;
  return report(r, vm);
}

/** Options of {@link migrateToTcp}. */
export interface TcpSourceOptions extends VmMigrationOptions {
  /** Destination host (default 127.0.0.1). */
  hostname?: string;
  /** Destination port. */
  port: number;
  /** Give up on a destination that takes no data or does not confirm for this long, ms (default 30000). */
  timeoutMs?: number;
}

/**
 * Migrate `source` (run to `opts.at` first) to a destination listening on TCP; real time. Complete
 * only once the destination's confirmation arrived; otherwise (including a destination that cannot
 * be reached, refuses, stalls or disconnects) the result is not ok and the source is intact and
 * resumable.
 */
export async function migrateToTcp(source: MigratableVm, opts: TcpSourceOptions): Promise<VmMigrationResult> {
  runTo(source, opts.at);
  const transport = await connectMigration({
    hostname: opts.hostname,
    port: opts.port,
    key: opts.key,
    timeoutMs: opts.timeoutMs,
  });
  const r = await new MigrationController(source).migrate(transport, {
    policy: opts.policy,
    downtimeLimitMs: opts.downtimeLimitMs,
    autoConverge: opts.autoConverge,
    key: opts.key,
    link: new RealTimeLink(opts.clockHz ?? DEFAULT_CLOCK_HZ),
    pagesPerRecord: opts.pagesPerRecord,
    onProgress: opts.onProgress,
    verify: opts.verify,
    stopAt: opts.stopAt,
  });
  return report(r);
}

/** Options of {@link receiveFromTcp}. */
export interface TcpDestinationOptions {
  /** Address to bind (default 127.0.0.1). */
  hostname?: string;
  /** Port (0: any free port, reported through `onListening`). */
  port: number;
  /** The key the source must have signed with. */
  key?: CryptoKey;
  /** The destination's RAM size; a stream for another size is refused. */
  expectRamBytes?: number;
  /** The largest RAM size a stream may be for (default 16 GiB); checked before anything is allocated. */
  maxRamBytes?: number;
  /** Drop a source that sends nothing for this long, ms (default 30000). */
  timeoutMs?: number;
  /** After a failed attempt, wait for the next source instead of rejecting (see `onFailure`). */
  keepListening?: boolean;
  /** Called once bound, with the port (useful with port 0). */
  onListening?: (hostname: string, port: number) => void;
  /** Called when a source has connected, with its address. */
  onConnection?: (peer: string) => void;
  /** With `keepListening`: called with each failed attempt's error before waiting for the next source. */
  onFailure?: (error: unknown) => void;
}

/**
 * Wait for an incoming migration, verify it, load `destination`, confirm, and return it. A failed
 * attempt rejects, or with `keepListening` is reported to `onFailure` (when it is a failure of the
 * source, see `incomingFailure`) and the next source is awaited.
 */
export async function receiveFromTcp(
  destination: Destination,
  opts: TcpDestinationOptions,
): Promise<ReceiveResult> {
  const l = listenForMigration({
    hostname: opts.hostname,
    port: opts.port,
    createVm: factory(destination),
    key: opts.key,
    expectRamBytes: opts.expectRamBytes,
    maxRamBytes: opts.maxRamBytes,
    idleTimeoutMs: opts.timeoutMs,
    onConnection: opts.onConnection,
  });
  opts.onListening?.(l.hostname, l.port);
  try {
    for (;;) {
      try {
        return await l.accept();
      } catch (e) {
        if (!opts.keepListening || incomingFailure(e) === undefined) throw e;
        opts.onFailure?.(e);
      }
    }
  } finally {
    l.close();
  }
}

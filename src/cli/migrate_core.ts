/**
 * The library side of `deno task migrate`, `snapshot`, `restore` and `inspect`: functions over two
 * {@link MigratableVm} instances (or a VM and a file) that return statistics and results, plus the
 * progress line and summary table the commands print. No argument parsing, no process exit.
 *
 * @module
 */

import type {
  InspectSummary,
  MigratableVm,
  MigrationProgress,
  MigrationResult,
  MigrationStats,
  ReceiveResult,
  StreamHeader,
} from "../migration/mod.ts";
import {
  connectMigration,
  DEFAULT_BANDWIDTH,
  DEFAULT_CLOCK_HZ,
  formatBytes,
  incomingFailure,
  inProcessTransport,
  inspectStream,
  listenForMigration,
  MigrationController,
  queryMigrate,
  RealTimeLink,
  restoreSnapshotFiles,
  SimulatedLink,
  writeSnapshotFile,
} from "../migration/mod.ts";

/** A destination: a blank VM, or a factory called once the stream has verified. */
export type Destination = MigratableVm | ((header: StreamHeader) => MigratableVm);

function factory(d: Destination): (h: StreamHeader) => MigratableVm {
  return typeof d === "function" ? d : () => d;
}

/** Options shared by the migration functions. */
export interface MigrateCoreOptions {
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
  /** Progress callback (e.g. {@link formatProgress} to a terminal). */
  onProgress?: (p: MigrationProgress) => void;
  /** Re-send all memory at the end so the destination can check it (see MigrateOptions.verify). */
  verify?: boolean;
  /** Switch over at exactly this retired-instruction count (see MigrateOptions.stopAt). */
  stopAt?: number;
}

/** The outcome of a migration as the CLI reports it. */
export interface MigrateCoreResult {
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

function report(r: MigrationResult, destination?: MigratableVm): MigrateCoreResult {
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
  opts: MigrateCoreOptions = {},
): Promise<MigrateCoreResult> {
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
export interface TcpSourceOptions extends MigrateCoreOptions {
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
export async function migrateToTcp(source: MigratableVm, opts: TcpSourceOptions): Promise<MigrateCoreResult> {
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

/** Write a snapshot of `vm` (not running) to `path`; `diff` needs the same controller across calls. */
export async function snapshotToFile(
  vm: MigratableVm | MigrationController,
  path: string,
  opts: { key?: CryptoKey; diff?: boolean } = {},
): Promise<MigrateCoreResult> {
  const c = vm instanceof MigrationController ? vm : new MigrationController(vm);
  return report(await writeSnapshotFile(c, path, { key: opts.key, diff: opts.diff }));
}

/**
 * Restore `paths` (a full snapshot, then diffs) into `destination`; rejects with the file and reason.
 * With `lazy`, the full snapshot's pages load from its file on first touch (see `restoreSnapshotFiles`).
 */
export async function restoreFromFiles(
  destination: Destination,
  paths: string | string[],
  opts: { key?: CryptoKey; expectRamBytes?: number; lazy?: boolean } = {},
): Promise<ReceiveResult> {
  return await restoreSnapshotFiles(paths, {
    createVm: factory(destination),
    key: opts.key,
    expectRamBytes: opts.expectRamBytes,
    lazy: opts.lazy,
  });
}

/** Print a stream or snapshot file record by record (see `inspectStream`). */
export async function inspectFile(
  path: string,
  opts: { key?: CryptoKey; write?: (line: string) => void; summaryOnly?: boolean } = {},
): Promise<InspectSummary> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
  return await inspectStream(bytes, opts);
}

/**
 * One progress line for a terminal, e.g.
 * `[#########.........]  45.2%  PreCopy round 1  12.0 MiB left  940 Mbit/s  eta 101 ms  throttle 0%`.
 */
export function formatProgress(p: MigrationProgress, width = 30): string {
  const filled = Math.round((p.percent / 100) * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const mbit = (p.bandwidth * 8 / 1e6).toFixed(0);
  return `[${bar}] ${p.percent.toFixed(1).padStart(5)}%  ${p.state} round ${p.round}  ` +
    `${formatBytes(Math.round(p.remaining))} left  ${mbit} Mbit/s  eta ${p.etaMs.toFixed(0)} ms  ` +
    `throttle ${p.throttlePercent}%`;
}

/** The end-of-migration summary table (one row per round, then the totals). */
export function formatSummary(s: MigrationStats): string {
  const lines: string[] = [];
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  lines.push(`status              ${s.status}${s.error ? `: ${s.error}` : ""}`);
  lines.push(`policy              ${s.policy}: ${s.switchoverReason}`);
  lines.push(
    `link                ${
      s.deterministic
        ? `simulated ${(s.linkBandwidth * 8 / 1e6).toFixed(0)} Mbit/s, ` +
          `latency ${s.linkLatencyMs} ms, guest clock ${s.clockHz / 1e9} GHz`
        : "real time"
    }`,
  );
  lines.push(`total-time          ${ms(s.totalTime)}`);
  lines.push(`setup-time          ${ms(s.setupTime)}`);
  lines.push(`downtime            ${ms(s.downtime)} (lower bound ${ms(s.downtimeLowerBound)})`);
  lines.push(`expected-downtime   ${ms(s.expectedDowntime)}`);
  lines.push(`transferred         ${s.transferred} bytes of ${s.total} bytes RAM`);
  lines.push(
    `pages               ${s.normal} normal, ${s.duplicate} zero (duplicate), ${s.normalBytes} normal-bytes`,
  );
  lines.push(`dirty-sync-count    ${s.dirtySyncCount}, dirty-pages-rate ${s.dirtyPagesRate} pages/s`);
  lines.push(`mbps                ${s.mbps.toFixed(1)}, cpu-throttle ${s.cpuThrottlePercentage}%`);
  lines.push("");
  lines.push("round  pages    zero     bytes        ms         dirty after  throttle");
  for (const r of s.rounds) {
    lines.push(
      `${(r.final ? "final" : String(r.round)).padEnd(6)} ${String(r.pages).padEnd(8)} ${
        String(r.zeroPages).padEnd(8)
      } ${String(r.bytes).padEnd(12)} ${r.durationMs.toFixed(3).padEnd(10)} ${
        String(r.dirtyAfter).padEnd(12)
      } ${r.throttlePercent}%`,
    );
  }
  return lines.join("\n");
}

/**
 * Migration statistics, named and meant as QEMU's `query-migrate`, plus pages and bytes per round.
 *
 * Times are milliseconds of link time (virtual on a simulated link, wall on a real one); sizes are
 * bytes. {@link queryMigrate} renders them with QEMU's hyphenated names.
 *
 * @module
 */

import type { PageSpan } from "./dirty_bitmap.ts";
import type { SwitchoverTest } from "./policies.ts";
import type { MigrationState } from "./state.ts";

/** QEMU's bandwidth window: bandwidth is measured over at least 100 ms (BUFFER_DELAY). */
export const BANDWIDTH_WINDOW_SECONDS = 0.1;

/** One pre-copy round (or the final stop-and-copy pass). */
export interface RoundStats {
  /** Round number; round 0 sends every page. */
  round: number;
  /** Whether this is the stop-and-copy pass (guest paused). */
  final: boolean;
  /** Pages sent in the round (zero and normal). */
  pages: number;
  /** Zero pages (sent as a flag). */
  zeroPages: number;
  /** Non-zero pages (sent with data). */
  normalPages: number;
  /** Bytes put on the wire in the round (records, headers, tags). */
  bytes: number;
  /** Link time at the start of the round, ms since the migration started. */
  startMs: number;
  /** Duration of the round, ms. */
  durationMs: number;
  /** Pages found dirty at the sync that ended the round (what the next round must send). */
  dirtyAfter: number;
  /** Guest throttle during the round, percent. */
  throttlePercent: number;
  /**
   * Pages the guest wrote during the round: what the dirty-log harvest that ended it found (for the
   * final pass, what the guest wrote after the last pre-copy harvest; 0 for a snapshot).
   */
  dirtied: number;
  /** Guest instructions retired on the source during the round. */
  instructions: number;
  /** Bandwidth the policy was given after the round, bytes/s (0 for the final pass). */
  bandwidth: number;
  /** The policy's switchover test after the round, where the policy states it (null otherwise). */
  test: SwitchoverTest | null;
}

/** Statistics of one migration, snapshot or restore. */
export interface MigrationStats {
  /** Final (or current) state. */
  status: MigrationState;
  /** Policy that decided the switchover, and why. */
  policy: string;
  /** Why pre-copy ended (policy reason, "guest finished", "snapshot"). */
  switchoverReason: string;
  /** Whether time is virtual (simulated link). */
  deterministic: boolean;
  /** Guest instructions per second of link time. */
  clockHz: number;
  /** Link bandwidth in bytes/s for a simulated link; 0 on a real link. */
  linkBandwidth: number;
  /** One-way link latency, ms. */
  linkLatencyMs: number;
  /** total-time: from the start until the destination's confirmation reached the source, ms. */
  totalTime: number;
  /** setup-time: from the start until the first page record, ms. */
  setupTime: number;
  /** downtime: from stopping the guest until the destination has everything and can resume, ms. */
  downtime: number;
  /** expected-downtime: bytes dirty at the last sync over the measured bandwidth, ms. */
  expectedDowntime: number;
  /** Lower bound on downtime: (bytes sent while stopped) / bandwidth + latency, ms (0 if unknown). */
  downtimeLowerBound: number;
  /** transferred: bytes written to the stream. */
  transferred: number;
  /** remaining: bytes of dirty pages not yet sent. */
  remaining: number;
  /** total: guest RAM size in bytes. */
  total: number;
  /** duplicate: zero pages sent (as a flag only). */
  duplicate: number;
  /** normal: non-zero pages sent with data. */
  normal: number;
  /** normal-bytes: normal pages x page size. */
  normalBytes: number;
  /** dirty-sync-count: times the dirty log was taken (including the setup sync). */
  dirtySyncCount: number;
  /** dirty-pages-rate: pages the guest dirtied per second in the last sync period. */
  dirtyPagesRate: number;
  /** mbps: last measured bandwidth in megabits per second. */
  mbps: number;
  /** Last measured bandwidth, bytes per second (0 until the first 100 ms window closed). */
  bandwidth: number;
  /** Pre-copy rounds completed (round 0 included; the final pass not). */
  precopyRounds: number;
  /** Pages sent per round, final pass last. */
  pagesPerRound: number[];
  /** Bytes sent per round, final pass last. */
  bytesPerRound: number[];
  /** Each round in detail. */
  rounds: RoundStats[];
  /** Bytes of state sections sent. */
  stateBytes: number;
  /** Bytes of verify-pages records sent (0 unless verification was asked for). */
  verifyBytes: number;
  /** cpu-throttle-percentage at the end of pre-copy. */
  cpuThrottlePercentage: number;
  /** Guest instructions retired on the source during the migration. */
  guestInstructions: number;
  /** The switchover policy's settings (e.g. downtimeLimitMs for qemu); empty when it states none. */
  policyParams: Record<string, number>;
  /**
   * For each guest page, how many of this attempt's dirty-log harvests (one per round; a diff
   * snapshot counts as one) found it written, saturating at 65535. Empty for a full snapshot.
   */
  pageDirtyRounds: Uint16Array;
  /**
   * For each round of {@link MigrationStats.rounds} (the stop-and-copy pass last), the pages that round's
   * dirty-log harvest found written (its `dirtied`), as runs. Empty for a snapshot.
   */
  roundDirtySpans: PageSpan[][];
  /** Wall clock (ms since the epoch) when the source paused the guest for stop-and-copy; 0 before. */
  pausedAtWallMs: number;
  /** Wall clock (ms since the epoch) when the destination's confirmation reached the source; 0 before. */
  confirmedAtWallMs: number;
  /** The destination's own wall-clock view of the downtime it sent with its confirmation, ms (0: none). */
  destinationSeenMs: number;
  /** Why it failed or was cancelled. */
  error?: string;
}

/** The wall clock in ms since the epoch, sub-millisecond (comparable between processes on one host). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** An all-zero statistics record for a VM of `ramBytes`. */
export function emptyStats(ramBytes: number): MigrationStats {
  return {
    status: "Idle",
    policy: "",
    switchoverReason: "",
    deterministic: true,
    clockHz: 0,
    linkBandwidth: 0,
    linkLatencyMs: 0,
    totalTime: 0,
    setupTime: 0,
    downtime: 0,
    expectedDowntime: 0,
    downtimeLowerBound: 0,
    transferred: 0,
    remaining: ramBytes,
    total: ramBytes,
    duplicate: 0,
    normal: 0,
    normalBytes: 0,
    dirtySyncCount: 0,
    dirtyPagesRate: 0,
    mbps: 0,
    bandwidth: 0,
    precopyRounds: 0,
    pagesPerRound: [],
    bytesPerRound: [],
    rounds: [],
    stateBytes: 0,
    verifyBytes: 0,
    cpuThrottlePercentage: 0,
    guestInstructions: 0,
    policyParams: {},
    pageDirtyRounds: new Uint16Array(0),
    roundDirtySpans: [],
    pausedAtWallMs: 0,
    confirmedAtWallMs: 0,
    destinationSeenMs: 0,
  };
}

/**
 * Bandwidth measured as QEMU does: bytes transferred over a window of at least 100 ms of link time
 * (`migration_update_counters`); 0 until the first window closes.
 */
export class BandwidthMeter {
  /** Last measured bandwidth, bytes per second. */
  bandwidth = 0;
  #windowStart: number;
  #windowBytes: number;
  #window: number;

  /** Start measuring at time `now` (seconds) with `bytes` already sent. */
  constructor(now: number, bytes: number, windowSeconds = BANDWIDTH_WINDOW_SECONDS) {
    this.#windowStart = now;
    this.#windowBytes = bytes;
    this.#window = windowSeconds;
  }

  /**
   * The measured bandwidth, or before the first window has closed the average since the start
   * (QEMU would wait for the first 100 ms; on a simulated link a whole small migration can take
   * less, and the average of a busy link is exact).
   */
  estimate(now: number, totalBytes: number): number {
    if (this.bandwidth > 0) return this.bandwidth;
    const dt = now - this.#windowStart;
    return dt > 0 ? (totalBytes - this.#windowBytes) / dt : 0;
  }

  /** Note that `totalBytes` have been sent by time `now`; closes the window when it is long enough. */
  update(now: number, totalBytes: number): void {
    const dt = now - this.#windowStart;
    if (dt >= this.#window) {
      this.bandwidth = (totalBytes - this.#windowBytes) / dt;
      this.#windowStart = now;
      this.#windowBytes = totalBytes;
    }
  }
}

/** The statistics with QEMU `query-migrate` names (and hvsim's additions), ready for JSON. */
export function queryMigrate(s: MigrationStats): Record<string, unknown> {
  const status: Record<MigrationState, string> = {
    Idle: "none",
    Setup: "setup",
    PreCopy: "active",
    StopAndCopy: "device",
    Completing: "device",
    Complete: "completed",
    Failed: "failed",
    Cancelled: "cancelled",
  };
  const out: Record<string, unknown> = {
    "status": status[s.status],
    "total-time": s.totalTime,
    "setup-time": s.setupTime,
    "downtime": s.downtime,
    "expected-downtime": s.expectedDowntime,
    "ram": {
      "transferred": s.transferred,
      "remaining": s.remaining,
      "total": s.total,
      "duplicate": s.duplicate,
      "normal": s.normal,
      "normal-bytes": s.normalBytes,
      "dirty-sync-count": s.dirtySyncCount,
      "dirty-pages-rate": s.dirtyPagesRate,
      "mbps": s.mbps,
      "page-size": 4096,
    },
    "cpu-throttle-percentage": s.cpuThrottlePercentage,
    "policy": s.policy,
    "switchover-reason": s.switchoverReason,
    "deterministic": s.deterministic,
    "downtime-lower-bound": s.downtimeLowerBound,
    "precopy-rounds": s.precopyRounds,
    "pages-per-round": s.pagesPerRound,
    "bytes-per-round": s.bytesPerRound,
    "state-bytes": s.stateBytes,
    "verify-bytes": s.verifyBytes,
    "guest-instructions": s.guestInstructions,
  };
  if (s.error !== undefined) out["error-desc"] = s.error;
  return out;
}

/**
 * The data of a migration report: rounds, the switchover test, which pages each round dirtied,
 * downtime (modelled and measured), the run's facts. JSON-ready, so `--json` prints it as it is and
 * a notebook can plot it; `renderReportHtml` (report_html.ts) draws it. The fields are documented
 * in docs/migration_report.md.
 *
 * @module
 */

import type { MemoryMapRegion } from "../vm/memory_map.ts";
import type { PageSpan } from "./dirty_bitmap.ts";
import type { MigrationStats, RoundStats } from "./stats.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Version of the report's JSON layout. */
export const REPORT_VERSION = 1;

/** A labelled range of guest-physical memory (ELF segment, stack, page tables, boot structures). */
export type ReportRegion = MemoryMapRegion;

/** A wall-clock measurement of the downtime, labelled for who measured what. */
export interface WallDowntime {
  /** What was measured, from where to where, as whom, e.g. "source pause to destination resume". */
  label: string;
  /** Milliseconds of wall-clock time. */
  ms: number;
}

/**
 * The pages of one labelled region (or of all memory no region labels) that each round's dirty-log
 * harvest found written.
 */
export interface RegionRounds {
  /** The region's name, or "other RAM" for the pages no region covers. */
  name: string;
  /** The region's kind, or "other". */
  kind: ReportRegion["kind"] | "other";
  /** Its first byte (0 for "other RAM"). */
  start: number;
  /** One past its last byte (the end of RAM for "other RAM"). */
  end: number;
  /** Pages counted as its: those its range touches that no region before it (by start) took. */
  pages: number;
  /** Per round (the pre-copy rounds, then the stop-and-copy pass), how many of its pages were dirtied. */
  dirtied: number[];
}

/** Per-page dirty-round counts as runs: [first page, pages, rounds], for maximal runs of one non-zero count. */
export type PageRun = [first: number, length: number, rounds: number];

/** A migration (or snapshot chain) report. */
export interface MigrationReport {
  /** {@link REPORT_VERSION}. */
  version: number;
  /** A live migration, or a chain of snapshots (a full one, then diffs). */
  kind: "migration" | "snapshots";
  /** How it ended: the controller's state ("Complete", "Failed", "Cancelled"). */
  status: string;
  /** Why it failed, if it did. */
  error?: string;
  /** The guest. */
  guest: {
    /** File name (or a test's name). */
    name: string;
    /** Its command line. */
    cmdline: string;
    /** Guest RAM, bytes. */
    ramBytes: number;
  };
  /** The hvsim command that ran it ("" when built from the library). */
  command: string;
  /** The switchover policy. */
  policy: {
    /** "qemu", "seed", "xen" (or "snapshot"). */
    name: string;
    /** Its settings, e.g. { downtimeLimitMs: 300 }. */
    params: Record<string, number>;
    /** Why pre-copy ended. */
    switchoverReason: string;
  };
  /** The link. */
  link: {
    /** Simulated (virtual time, the same everywhere) or real (wall time, TCP). */
    deterministic: boolean;
    /** Simulated bandwidth, bytes/s (0 on a real link). */
    bandwidth: number;
    /** Last measured bandwidth, bytes/s. */
    measuredBandwidth: number;
    /** One-way latency, ms. */
    latencyMs: number;
    /** Guest instructions per second of link time. */
    clockHz: number;
  };
  /** Each round: the pre-copy rounds, then the stop-and-copy pass (final: true). */
  rounds: RoundStats[];
  /** Totals. */
  totals: {
    /** Bytes written to the stream. */
    transferred: number;
    /** Non-zero pages sent. */
    normalPages: number;
    /** Zero pages sent (as a flag). */
    zeroPages: number;
    /** Bytes of device and CPU state. */
    stateBytes: number;
    /** Total time, ms of link time. */
    totalTimeMs: number;
    /** Pre-copy rounds (the stop-and-copy pass not counted). */
    precopyRounds: number;
  };
  /** Which pages were dirtied, how often. */
  pages: {
    /** Bytes per page (4096). */
    pageSize: number;
    /** Guest pages. */
    count: number;
    /** Pages dirtied at least once. */
    dirtied: number;
    /** The largest count. */
    maxRounds: number;
    /** How many rounds dirtied each page (see {@link PageRun}); pages not listed: 0. */
    runs: PageRun[];
    /**
     * Per round (the stop-and-copy pass last), the pages its dirty-log harvest found written, as
     * [first page, pages] runs. Empty for a snapshot chain.
     */
    roundSpans: PageSpan[][];
  };
  /** Pages dirtied per round by region: each of {@link MigrationReport.regions}, then "other RAM". */
  dirtyByRegion: RegionRounds[];
  /** Labelled memory: ELF segments, stack, page tables, boot structures. */
  regions: ReportRegion[];
  /** Downtime. */
  downtime: {
    /** Modelled on the link: from the pause until the destination has everything, ms. */
    modelledMs: number;
    /** Its lower bound: bytes sent while paused / bandwidth + latency, ms. */
    lowerBoundMs: number;
    /** The policy's downtime limit, ms (qemu only; null otherwise). */
    limitMs: number | null;
    /** Measured with the wall clock (this host's cost of hvsim, not the link's). */
    wall: WallDowntime[];
  };
  /** Retired-instruction counts. */
  instructions: {
    /** The source's count when migration began. */
    atStart: number | null;
    /** The source's count at the switchover. */
    atSwitchover: number | null;
    /** Retired by the source during the migration. */
    duringMigration: number;
    /** The destination's count at its end. */
    destinationEnd: number | null;
    /** The unmigrated reference run's count at its end. */
    referenceEnd: number | null;
  };
  /** Whether the destination ended equal to the unmigrated run (digest, console, instructions); null: not compared. */
  equal: boolean | null;
  /** For a snapshot chain: each file and the instruction count it was taken at. */
  snapshots?: { file: string; at: number }[];
}

/** What {@link buildMigrationReport} needs besides the statistics. */
export interface ReportContext {
  /** The guest's name (file). */
  guestName?: string;
  /** The guest's command line. */
  cmdline?: string;
  /** The command that ran the migration. */
  command?: string;
  /** Labelled memory (see `guestMemoryMap` in src/vm). */
  regions?: ReportRegion[];
  /** Wall clock (ms since the epoch, {@link wallClockMs}) when the destination resumed the guest. */
  resumedAtWallMs?: number;
  /** Further wall-clock measurements (e.g. the destination's own view over TCP). */
  wall?: WallDowntime[];
  /** The source's instruction count after the migration (where it paused for the switchover). */
  sourceInstructions?: number;
  /** The destination's count at its end. */
  destinationEnd?: number;
  /** The reference run's count at its end. */
  referenceEnd?: number;
  /** Whether the destination ended equal to the unmigrated run. */
  equal?: boolean;
}

/** Runs of equal non-zero counts in `counts` (see {@link PageRun}). */
export function pageRuns(counts: ArrayLike<number>): PageRun[] {
  const runs: PageRun[] = [];
  let i = 0;
  while (i < counts.length) {
    const c = counts[i];
    if (c === 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < counts.length && counts[j] === c) j++;
    runs.push([i, j - i, c]);
    i = j;
  }
  return runs;
}

/**
 * How many pages of each region each round dirtied (see {@link RegionRounds}): `regions` in order of
 * their start, then "other RAM"; a page belongs to the first region whose range touches it.
 */
export function dirtyByRegion(regions: ReportRegion[], rounds: PageSpan[][], pages: number): RegionRounds[] {
  if (rounds.length === 0) return [];
  const sorted = [...regions].sort((a, b) => a.start - b.start);
  const owner = new Int32Array(pages).fill(sorted.length);
  const out: RegionRounds[] = sorted.map((r) => ({
    name: r.name,
    kind: r.kind,
    start: r.start,
    end: r.end,
    pages: 0,
    dirtied: new Array(rounds.length).fill(0),
  }));
  out.push({
    name: "other RAM",
    kind: "other",
    start: 0,
    end: pages * PAGE_SIZE,
    pages: 0,
    dirtied: new Array(rounds.length).fill(0),
  });
  for (let k = sorted.length - 1; k >= 0; k--) {
    const first = Math.floor(sorted[k].start / PAGE_SIZE);
    const end = Math.min(pages, Math.ceil(sorted[k].end / PAGE_SIZE));
    if (end > first) owner.fill(k, first, end);
  }
  for (let p = 0; p < pages; p++) out[owner[p]].pages++;
  rounds.forEach((spans, i) => {
    for (const [first, n] of spans) {
      for (let p = first; p < first + n && p < pages; p++) out[owner[p]].dirtied[i]++;
    }
  });
  return out;
}

/** The per-page counts that `runs` describe, for `pages` pages. */
export function expandPageRuns(runs: PageRun[], pages: number): Uint16Array {
  const out = new Uint16Array(pages);
  for (const [first, length, rounds] of runs) out.fill(rounds, first, Math.min(pages, first + length));
  return out;
}

/** The report data of a live migration from its statistics and what the caller knows around it. */
export function buildMigrationReport(stats: MigrationStats, ctx: ReportContext = {}): MigrationReport {
  const counts = stats.pageDirtyRounds;
  let dirtied = 0;
  let maxRounds = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c !== 0) {
      dirtied++;
      if (c > maxRounds) maxRounds = c;
    }
  }
  const wall: WallDowntime[] = [];
  if (ctx.resumedAtWallMs !== undefined && stats.pausedAtWallMs > 0) {
    wall.push({
      label: "source paused to destination resumed (wall clock, this host)",
      ms: ctx.resumedAtWallMs - stats.pausedAtWallMs,
    });
  } else if (stats.confirmedAtWallMs > 0 && stats.pausedAtWallMs > 0) {
    wall.push({
      label: "source paused to destination's confirmation (wall clock, as the source saw it)",
      ms: stats.confirmedAtWallMs - stats.pausedAtWallMs,
    });
  }
  if (stats.destinationSeenMs > 0) {
    wall.push({
      label:
        "stop-and-copy round record arrived to VM loaded and confirmed (wall clock, as the destination saw it)",
      ms: stats.destinationSeenMs,
    });
  }
  wall.push(...ctx.wall ?? []);
  const limit = stats.policyParams.downtimeLimitMs;
  return {
    version: REPORT_VERSION,
    kind: "migration",
    status: stats.status,
    ...(stats.error !== undefined ? { error: stats.error } : {}),
    guest: { name: ctx.guestName ?? "guest", cmdline: ctx.cmdline ?? "", ramBytes: stats.total },
    command: ctx.command ?? "",
    policy: {
      name: stats.policy,
      params: { ...stats.policyParams },
      switchoverReason: stats.switchoverReason,
    },
    link: {
      deterministic: stats.deterministic,
      bandwidth: stats.linkBandwidth,
      measuredBandwidth: stats.bandwidth,
      latencyMs: stats.linkLatencyMs,
      clockHz: stats.clockHz,
    },
    rounds: stats.rounds.map((r) => ({ ...r, test: r.test && { ...r.test } })),
    totals: {
      transferred: stats.transferred,
      normalPages: stats.normal,
      zeroPages: stats.duplicate,
      stateBytes: stats.stateBytes,
      totalTimeMs: stats.totalTime,
      precopyRounds: stats.precopyRounds,
    },
    pages: {
      pageSize: PAGE_SIZE,
      count: stats.total / PAGE_SIZE,
      dirtied,
      maxRounds,
      runs: pageRuns(counts),
      roundSpans: stats.roundDirtySpans.map((spans) => spans.map(([f, n]): PageSpan => [f, n])),
    },
    regions: (ctx.regions ?? []).map((r) => ({ ...r })),
    dirtyByRegion: dirtyByRegion(ctx.regions ?? [], stats.roundDirtySpans, stats.total / PAGE_SIZE),
    downtime: {
      modelledMs: stats.downtime,
      lowerBoundMs: stats.downtimeLowerBound,
      limitMs: limit === undefined ? null : limit,
      wall,
    },
    instructions: {
      atStart: ctx.sourceInstructions !== undefined ? ctx.sourceInstructions - stats.guestInstructions : null,
      atSwitchover: ctx.sourceInstructions ?? null,
      duringMigration: stats.guestInstructions,
      destinationEnd: ctx.destinationEnd ?? null,
      referenceEnd: ctx.referenceEnd ?? null,
    },
    equal: ctx.equal ?? null,
  };
}

/** One snapshot of a chain, as `snapshot --diff-at` writes them. */
export interface ChainSnapshot {
  /** Its statistics (a diff snapshot's `pageDirtyRounds` marks the pages it holds). */
  stats: MigrationStats;
  /** The file written. */
  file: string;
  /** The guest's retired-instruction count when it was taken. */
  at: number;
}

/**
 * The report data of a snapshot chain (a full snapshot, then diffs): one "round" per snapshot, whose
 * `dirtied` is the pages the guest wrote since the previous one (what the diff holds), and per page
 * the number of diff snapshots that held it.
 */
export function buildSnapshotReport(chain: ChainSnapshot[], ctx: ReportContext = {}): MigrationReport {
  if (chain.length === 0) throw new RangeError("A snapshot report needs at least one snapshot");
  const pages = chain[0].stats.total / PAGE_SIZE;
  const counts = new Uint16Array(pages);
  const rounds: RoundStats[] = [];
  let prevAt = chain[0].at;
  let transferred = 0, normal = 0, zero = 0, state = 0, time = 0;
  chain.forEach((s, k) => {
    let held = 0;
    if (k > 0 && s.stats.pageDirtyRounds.length === pages) {
      const c = s.stats.pageDirtyRounds;
      for (let p = 0; p < pages; p++) {
        if (c[p] !== 0) {
          held++;
          if (counts[p] !== 0xffff) counts[p]++;
        }
      }
    }
    const r = s.stats.rounds[0];
    rounds.push({
      round: k,
      final: false,
      pages: r?.pages ?? 0,
      zeroPages: r?.zeroPages ?? 0,
      normalPages: r?.normalPages ?? 0,
      bytes: s.stats.transferred,
      startMs: time,
      durationMs: s.stats.totalTime,
      dirtyAfter: 0,
      throttlePercent: 0,
      dirtied: held,
      instructions: s.at - prevAt,
      bandwidth: 0,
      test: null,
    });
    prevAt = s.at;
    transferred += s.stats.transferred;
    normal += s.stats.normal;
    zero += s.stats.duplicate;
    state += s.stats.stateBytes;
    time += s.stats.totalTime;
  });
  const last = chain[chain.length - 1];
  const base = buildMigrationReport({ ...last.stats, pageDirtyRounds: counts }, ctx);
  return {
    ...base,
    kind: "snapshots",
    policy: {
      name: "snapshot",
      params: {},
      switchoverReason: chain.length > 1 ? "diff snapshots" : "snapshot",
    },
    rounds,
    totals: {
      transferred,
      normalPages: normal,
      zeroPages: zero,
      stateBytes: state,
      totalTimeMs: time,
      precopyRounds: 0,
    },
    downtime: { modelledMs: 0, lowerBoundMs: 0, limitMs: null, wall: [] },
    instructions: {
      atStart: chain[0].at,
      atSwitchover: last.at,
      duringMigration: last.at - chain[0].at,
      destinationEnd: null,
      referenceEnd: null,
    },
    snapshots: chain.map((s) => ({ file: s.file, at: s.at })),
  };
}

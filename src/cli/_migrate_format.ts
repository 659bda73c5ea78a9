/** What the migrate command prints: the progress line and the summary table. */

import type { MigrationProgress, MigrationReport, MigrationStats } from "../migration/mod.ts";
import { formatBytes } from "../migration/stream.ts";

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

/**
 * The pages each round dirtied, by region of guest memory (the report's `dirtyByRegion`): one row
 * per region with its range and size in pages, one column per round (the stop-and-copy pass last).
 * Empty when the report has no per-round pages (a snapshot) or no regions.
 */
export function formatRegionRounds(r: MigrationReport): string {
  const rows = r.dirtyByRegion;
  if (rows.length === 0) return "";
  const hex = (n: number) => `0x${n.toString(16)}`;
  const names = r.rounds.map((x) => (x.final ? "final" : String(x.round)));
  const nameW = Math.max(6, ...rows.map((x) => x.name.length));
  const rangeW = Math.max(5, ...rows.map((x) => `${hex(x.start)}..${hex(x.end)}`.length));
  const colW = names.map((n, i) => Math.max(n.length, ...rows.map((x) => String(x.dirtied[i] ?? 0).length)));
  const pagesW = Math.max(5, ...rows.map((x) => String(x.pages).length));
  const line = (name: string, range: string, pages: string, cells: string[]) =>
    `${name.padEnd(nameW)}  ${range.padEnd(rangeW)}  ${pages.padStart(pagesW)}  ` +
    cells.map((c, i) => c.padStart(colW[i])).join("  ");
  const out = ["", "pages dirtied per round, by region of guest-physical memory"];
  out.push(line("region", "range", "pages", names));
  for (const x of rows) {
    out.push(line(x.name, `${hex(x.start)}..${hex(x.end)}`, String(x.pages), x.dirtied.map(String)));
  }
  out.push(line("all", "", String(r.pages.count), r.rounds.map((x) => String(x.dirtied))));
  return out.join("\n");
}

/**
 * A migration report as one self-contained HTML page: inline SVG charts and CSS, a few lines of
 * inline JavaScript for hover details, nothing fetched from anywhere. Light and dark (the reader's
 * `prefers-color-scheme`), legible in print, and every chart has a `<title>`, a `<desc>` and a
 * data table.
 *
 * @module
 */

import { testPasses } from "./policies.ts";
import type { MigrationReport, PageRun, ReportRegion } from "./report.ts";
import type { RoundStats } from "./stats.ts";

/** Width of the heat map's grid, px. */
const HEAT_WIDTH = 640;
/** At most this many heat-map cells; pages are grouped by powers of two to fit. */
export const HEAT_MAX_CELLS = 8192;
/** Colour steps of the heat map (counts above are binned). */
const HEAT_LEVELS = 6;

/** Escape text for HTML and SVG (element content and quoted attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
const esc = escapeHtml;

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** 1.5 MiB, 320 KiB, 812 bytes. */
function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (a >= 2 ** 20) return `${(n / 2 ** 20).toFixed(a >= 100 * 2 ** 20 ? 0 : 2)} MiB`;
  if (a >= 1024) return `${(n / 1024).toFixed(a >= 100 * 1024 ? 0 : 1)} KiB`;
  return `${int(n)} bytes`;
}

function ms(n: number): string {
  const a = Math.abs(n);
  return a >= 100 ? `${n.toFixed(0)} ms` : a >= 1 ? `${n.toFixed(2)} ms` : `${(n * 1000).toFixed(1)} µs`;
}

const rate = (bytesPerSecond: number) => `${(bytesPerSecond * 8 / 1e6).toFixed(0)} Mbit/s`;
const hex = (n: number) => `0x${n.toString(16)}`;
const n2 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Round numbers for an axis from 0 to at least `max`. */
function ticks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(v);
  return out;
}

type Kind = MigrationReport["kind"];
const roundName = (r: RoundStats, kind: Kind) =>
  kind === "snapshots" ? (r.round === 0 ? "full" : `diff ${r.round}`) : r.final ? "stop" : String(r.round);
const roundTitle = (r: RoundStats, kind: Kind) =>
  kind === "snapshots"
    ? (r.round === 0 ? "full snapshot" : `diff snapshot ${r.round}`)
    : r.final
    ? "stop-and-copy (guest paused)"
    : `round ${r.round}`;

interface Chart {
  id: string;
  title: string;
  desc: string;
  width: number;
  height: number;
  body: string;
}

function svg(c: Chart): string {
  return `<svg class="chart" id="${c.id}" viewBox="0 0 ${c.width} ${c.height}" role="img" ` +
    `aria-labelledby="${c.id}-t ${c.id}-d" preserveAspectRatio="xMinYMin meet">` +
    `<title id="${c.id}-t">${esc(c.title)}</title><desc id="${c.id}-d">${esc(c.desc)}</desc>${c.body}</svg>`;
}

function table(caption: string, head: string[], rows: (string | number)[][], numeric = true): string {
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join("");
  const tr = rows.map((r) =>
    `<tr>${
      r.map((c, i) =>
        i === 0
          ? `<th scope="row">${esc(String(c))}</th>`
          : `<td${numeric ? ' class="n"' : ""}>${esc(typeof c === "number" ? int(c) : c)}</td>`
      ).join("")
    }</tr>`
  ).join("");
  return `<details class="data"><summary>Data table: ${esc(caption)}</summary>` +
    `<table><caption>${
      esc(caption)
    }</caption><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></details>`;
}

/** A y axis with grid lines; returns the SVG and the scale. */
function yAxis(x0: number, x1: number, y0: number, y1: number, max: number, fmt: (v: number) => string) {
  const t = ticks(max);
  const top = t[t.length - 1];
  const y = (v: number) => y0 - (v / top) * (y0 - y1);
  let s = "";
  for (const v of t) {
    s += `<line class="grid" x1="${x0}" x2="${x1}" y1="${n2(y(v))}" y2="${n2(y(v))}"/>` +
      `<text class="tick" x="${x0 - 6}" y="${n2(y(v) + 4)}" text-anchor="end">${esc(fmt(v))}</text>`;
  }
  return { svg: s, y, top };
}

// ---- rounds: pages sent (normal + zero) and pages dirtied during the round ----

function roundsChart(r: MigrationReport): string {
  const rounds = r.rounds;
  const kind = r.kind;
  const W = 900, H = 300, L = 70, R = 16, T = 24, B = 44;
  const max = Math.max(1, ...rounds.map((x) => Math.max(x.pages, x.dirtied)));
  const ax = yAxis(L, W - R, H - B, T, max, (v) => int(v));
  const band = (W - L - R) / Math.max(1, rounds.length);
  const bw = Math.min(46, band * 0.36);
  let body = ax.svg;
  rounds.forEach((x, i) => {
    const cx = L + band * (i + 0.5);
    const yN = ax.y(x.normalPages), yZ = ax.y(x.normalPages + x.zeroPages), yD = ax.y(x.dirtied);
    const base = ax.y(0);
    const tip = `${roundTitle(x, kind)}: ${int(x.pages)} pages sent (${int(x.zeroPages)} zero), ` +
      `${int(x.dirtied)} dirtied during it, ${bytes(x.bytes)}, ${
        ms(x.durationMs)
      }, throttle ${x.throttlePercent} %`;
    body += `<g class="round${x.final ? " final" : ""}" data-round="${x.final ? "final" : x.round}" ` +
      `data-pages="${x.pages}" data-dirtied="${x.dirtied}"><title>${esc(tip)}</title>` +
      (x.final
        ? `<rect class="paused" x="${n2(cx - band / 2)}" y="${T}" width="${n2(band)}" height="${H - B - T}"/>`
        : "") +
      `<rect class="bar normal" x="${n2(cx - bw - 1)}" y="${n2(yN)}" width="${n2(bw)}" height="${
        n2(base - yN)
      }"/>` +
      `<rect class="bar zero" x="${n2(cx - bw - 1)}" y="${n2(yZ)}" width="${n2(bw)}" height="${
        n2(yN - yZ)
      }"/>` +
      `<rect class="bar dirtied" x="${n2(cx + 1)}" y="${n2(yD)}" width="${n2(bw)}" height="${
        n2(base - yD)
      }"/>` +
      `<text class="tick" x="${n2(cx)}" y="${H - B + 16}" text-anchor="middle">${
        roundName(x, kind)
      }</text></g>`;
  });
  body +=
    `<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${
      kind === "snapshots"
        ? "snapshot (full, then diffs)"
        : "pre-copy round (stop: stop-and-copy, guest paused)"
    }</text>` +
    `<text class="axis" x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" ` +
    `text-anchor="middle">pages</text>`;
  const first = rounds[0];
  const last = rounds[rounds.length - 1];
  const desc = rounds.length === 0 ? "No rounds." : `${rounds.length} passes. ` +
    `Round 0 sent ${int(first.pages)} pages (${int(first.zeroPages)} of them zero pages). ` +
    rounds.filter((x) => !x.final).map((x) =>
      `Round ${x.round}: ${int(x.pages)} sent, ${int(x.dirtied)} dirtied.`
    )
      .join(" ") +
    (last.final ? ` Stop-and-copy sent ${int(last.pages)} pages with the guest paused.` : "");
  const chart = svg({
    id: "rounds",
    title: "Pages sent and pages dirtied in each round",
    desc,
    width: W,
    height: H,
    body,
  });
  const legend = `<p class="legend"><span class="sw normal"></span>pages sent with data ` +
    `<span class="sw zero"></span>zero pages (sent as a flag) <span class="sw dirtied"></span>` +
    (kind === "snapshots"
      ? `pages the guest wrote since the previous snapshot</p>`
      : `pages the guest dirtied during the round <span class="sw paused"></span>guest paused</p>`);
  const data = table(
    "per round",
    [
      "round",
      "pages sent",
      "zero pages",
      "bytes",
      "duration (ms)",
      "dirtied during round",
      "dirty after sync",
      "guest instructions",
      "throttle (%)",
    ],
    rounds.map((x) => [
      roundTitle(x, kind),
      x.pages,
      x.zeroPages,
      x.bytes,
      x.durationMs.toFixed(3),
      x.dirtied,
      x.dirtyAfter,
      x.instructions,
      String(x.throttlePercent),
    ]),
  );
  return figure(
    "fig-rounds",
    kind === "snapshots" ? "Pages per snapshot" : "Pages per round",
    chart + legend,
    data,
  );
}

// ---- pages dirtied per round, by region ----

/** Colour classes of the regions in the by-region chart; "other RAM" has its own. */
const REGION_COLOURS = 8;

function regionRoundsChart(r: MigrationReport): string {
  const rows = r.dirtyByRegion;
  if (rows.length === 0 || r.rounds.length === 0) return "";
  const rounds = r.rounds;
  // Only regions some round dirtied get a colour and a legend entry; the table lists them all.
  const shown = rows.filter((x) => x.dirtied.some((n) => n > 0));
  let colour = 0;
  const cls = new Map(
    shown.map((x) => [x, x.kind === "other" ? "rg-other" : `rg${colour++ % REGION_COLOURS}`]),
  );
  const W = 900, H = 300, L = 70, R = 16, T = 24, B = 44;
  const max = Math.max(1, ...rounds.map((x) => x.dirtied));
  const ax = yAxis(L, W - R, H - B, T, max, (v) => int(v));
  const band = (W - L - R) / Math.max(1, rounds.length);
  const bw = Math.min(70, band * 0.6);
  let body = ax.svg;
  rounds.forEach((x, i) => {
    const cx = L + band * (i + 0.5);
    let acc = 0;
    let bars = "";
    for (const reg of shown) {
      const n = reg.dirtied[i] ?? 0;
      if (n === 0) continue;
      const y0 = ax.y(acc), y1 = ax.y(acc + n);
      bars += `<rect class="bar ${cls.get(reg)}" x="${n2(cx - bw / 2)}" y="${n2(y1)}" width="${n2(bw)}" ` +
        `height="${n2(Math.max(0.5, y0 - y1))}"><title>${
          esc(`${roundTitle(x, r.kind)}: ${int(n)} pages of ${reg.name}`)
        }</title></rect>`;
      acc += n;
    }
    body += `<g class="region-round" data-round="${x.final ? "final" : x.round}">${bars}` +
      `<text class="tick" x="${n2(cx)}" y="${H - B + 16}" text-anchor="middle">${
        roundName(x, r.kind)
      }</text></g>`;
  });
  body +=
    `<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${
      r.kind === "snapshots" ? "snapshot" : "pre-copy round (stop: stop-and-copy, guest paused)"
    }</text>` +
    `<text class="axis" x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" ` +
    `text-anchor="middle">pages dirtied</text>`;
  const desc = rounds.map((x, i) =>
    `${roundTitle(x, r.kind)}: ${int(x.dirtied)} pages dirtied` +
    (x.dirtied > 0
      ? ` (${
        shown.filter((reg) => reg.dirtied[i] > 0).map((reg) => `${reg.name} ${int(reg.dirtied[i])}`).join(
          ", ",
        )
      })`
      : "")
  ).join("; ") + ".";
  const chart = svg({
    id: "regions",
    title: "Pages dirtied in each round, by region of guest memory",
    desc,
    width: W,
    height: H,
    body,
  });
  const legend =
    `<p class="legend">${
      shown.map((x) => `<span class="sw ${cls.get(x)}"></span>${esc(x.name)}`).join(" ")
    }</p><p class="note">Each round's bar is the pages its dirty-log harvest found written, split by the ` +
    `region of guest-physical memory they lie in; "other RAM" is what no region labels.</p>`;
  const data = table(
    "pages dirtied per round, by region",
    ["region", "range", "pages", ...rounds.map((x) => roundTitle(x, r.kind))],
    rows.map((x) => [
      x.name,
      x.kind === "other" ? "unlabelled" : `${hex(x.start)}..${hex(x.end)}`,
      x.pages,
      ...x.dirtied,
    ]),
  );
  return figure("fig-regions", "Pages dirtied per round, by region", chart + legend, data);
}

// ---- the switchover test ----

function switchoverChart(r: MigrationReport): string {
  const tested = r.rounds.filter((x) => !x.final && x.test !== null);
  const p = r.policy;
  if (tested.length === 0) {
    return figure(
      "fig-switchover",
      "Switchover test",
      `<p>The policy "${esc(p.name)}" states no numeric test; it switched over because: ${
        esc(p.switchoverReason)
      }.</p>`,
      "",
    );
  }
  const t0 = tested[0].test!;
  const unitFmt = t0.unit === "bytes" ? bytes : (v: number) => int(v);
  const W = 900, H = 280, L = 80, R = 16, T = 24, B = 44;
  const max = Math.max(1, ...tested.map((x) => Math.max(x.test!.value, x.test!.threshold)));
  const ax = yAxis(L, W - R, H - B, T, max, unitFmt);
  const band = (W - L - R) / tested.length;
  const bw = Math.min(46, band * 0.5);
  const rule = t0.switchWhen === "<=" ? "at or below" : t0.switchWhen === "<" ? "below" : "above";
  let body = ax.svg;
  let path = "";
  tested.forEach((x, i) => {
    const t = x.test!;
    const cx = L + band * (i + 0.5);
    const pass = testPasses(t);
    const y = ax.y(t.value), base = ax.y(0), ty = ax.y(t.threshold);
    path += `${i === 0 ? "M" : "L"}${n2(cx - band / 2)},${n2(ty)} L${n2(cx + band / 2)},${n2(ty)} `;
    body += `<g class="test${pass ? " pass" : ""}" data-round="${x.round}"><title>${
      esc(
        `round ${x.round}: ${t.quantity} ${unitFmt(t.value)}; threshold ${unitFmt(t.threshold)} ` +
          `(${t.thresholdLabel}); ${pass ? "test met" : "test not met"}`,
      )
    }</title><rect class="bar ${pass ? "pass" : "tested"}" x="${n2(cx - bw / 2)}" y="${n2(y)}" width="${
      n2(bw)
    }" ` +
      `height="${n2(base - y)}"/><text class="tick" x="${n2(cx)}" y="${
        H - B + 16
      }" text-anchor="middle">${x.round}</text></g>`;
  });
  body += `<path class="threshold" d="${path.trim()}"/>` +
    `<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">after pre-copy round</text>`;
  const desc = `The ${p.name} policy switches over when ${t0.quantity} after a round are ${rule} ` +
    `${t0.thresholdLabel}. ` +
    tested.map((x) => `Round ${x.round}: ${unitFmt(x.test!.value)} against ${unitFmt(x.test!.threshold)}.`)
      .join(" ") +
    ` It switched over because: ${p.switchoverReason}.`;
  const chart = svg({
    id: "switchover",
    title: `Switchover test of the ${p.name} policy`,
    desc,
    width: W,
    height: H,
    body,
  });
  const params = Object.entries(p.params).map(([k, v]) => `${k} ${v}`).join(", ");
  const legend = `<p class="legend"><span class="sw tested"></span>${esc(t0.quantity)} after the round ` +
    `<span class="sw pass"></span>test met <span class="sw threshold"></span>threshold: ${
      esc(t0.thresholdLabel)
    }</p>` +
    `<p class="note">Rule: switch over when ${esc(t0.quantity)} are ${rule} the threshold` +
    `${params ? ` (${esc(params)})` : ""}. Switched over: <strong>${esc(p.switchoverReason)}</strong>.</p>`;
  const data = table(
    "switchover test",
    [
      "after round",
      `${t0.quantity} (${t0.unit})`,
      `threshold (${t0.unit})`,
      "bandwidth given (bytes/s)",
      "test met",
    ],
    tested.map((x) => {
      const t = x.test!;
      const pass = testPasses(t);
      return [String(x.round), t.value, t.threshold, x.bandwidth, pass ? "yes" : "no"];
    }),
  );
  return figure("fig-switchover", "Switchover test", chart + legend, data);
}

// ---- small multiples: bytes, duration, throttle ----

function miniChart(
  id: string,
  title: string,
  rounds: RoundStats[],
  value: (x: RoundStats) => number,
  fmt: (v: number) => string,
  kind: Kind,
): string {
  const W = 290, H = 170, L = 56, R = 8, T = 14, B = 26;
  const max = Math.max(...rounds.map(value), 0);
  const ax = yAxis(L, W - R, H - B, T, max || 1, fmt);
  const band = (W - L - R) / Math.max(1, rounds.length);
  const bw = Math.min(30, band * 0.6);
  let body = ax.svg;
  rounds.forEach((x, i) => {
    const cx = L + band * (i + 0.5);
    const y = ax.y(value(x));
    body +=
      `<g class="mini" data-round="${x.final ? "final" : x.round}"><title>${
        esc(`${roundTitle(x, kind)}: ${fmt(value(x))}`)
      }</title><rect class="bar ${x.final ? "stopbar" : "plain"}" x="${n2(cx - bw / 2)}" y="${
        n2(y)
      }" width="${n2(bw)}" ` +
      `height="${n2(ax.y(0) - y)}"/>${
        rounds.length <= 24
          ? `<text class="tick" x="${n2(cx)}" y="${H - B + 14}" text-anchor="middle">${
            roundName(x, kind)
          }</text>`
          : ""
      }</g>`;
  });
  if (max === 0) {
    body += `<text class="axis" x="${(L + W - R) / 2}" y="${
      (T + H - B) / 2
    }" text-anchor="middle">0 in every round</text>`;
  }
  const desc = rounds.map((x) => `${roundTitle(x, kind)}: ${fmt(value(x))}`).join("; ") + ".";
  return `<div class="mini-chart"><h3>${esc(title)}</h3>${
    svg({ id, title: `${title} per round`, desc, width: W, height: H, body })
  }</div>`;
}

function smallMultiples(r: MigrationReport): string {
  const rs = r.rounds;
  const kind = r.kind;
  const charts = miniChart(
    "bytes",
    kind === "snapshots" ? "Bytes written" : "Bytes on the wire",
    rs,
    (x) => x.bytes,
    bytes,
    kind,
  ) +
    miniChart(
      "duration",
      kind === "snapshots" ? "Duration (wall clock)" : "Duration",
      rs,
      (x) => x.durationMs,
      ms,
      kind,
    ) +
    (kind === "snapshots"
      ? miniChart("instructions", "Guest instructions run before it", rs, (x) => x.instructions, int, kind)
      : miniChart("throttle", "Guest throttle (%)", rs, (x) => x.throttlePercent, (v) => `${n2(v)} %`, kind));
  const data = table(
    "bytes, duration and throttle per round",
    ["round", "bytes", "duration (ms)", "throttle (%)"],
    rs.map((x) => [roundTitle(x, kind), x.bytes, x.durationMs.toFixed(3), String(x.throttlePercent)]),
  );
  return figure(
    "fig-multiples",
    kind === "snapshots"
      ? "Bytes, duration and guest instructions per snapshot"
      : "Bytes, duration and throttle per round",
    `<div class="multiples">${charts}</div>`,
    data,
  );
}

// ---- dirty rate over time against the link ----

function rateChart(r: MigrationReport): string {
  const rs = r.rounds.filter((x) => !x.final && x.durationMs > 0);
  const W = 900, H = 260, L = 80, R = 16, T = 24, B = 44;
  const dirtyRate = (x: RoundStats) => x.dirtied * r.pages.pageSize / (x.durationMs / 1000);
  const link = (x: RoundStats) => r.link.bandwidth > 0 ? r.link.bandwidth : x.bandwidth;
  const end = Math.max(1e-9, ...r.rounds.map((x) => x.startMs + x.durationMs));
  const max = Math.max(1, ...rs.map((x) => Math.max(dirtyRate(x), link(x))));
  const mbs = (v: number) => `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)} MB/s`;
  const ax = yAxis(L, W - R, H - B, T, max, mbs);
  const x = (t: number) => L + (t / end) * (W - L - R);
  let body = ax.svg;
  for (const t of ticks(end, 6)) {
    if (t > end) break;
    body += `<text class="tick" x="${n2(x(t))}" y="${H - B + 16}" text-anchor="middle">${esc(ms(t))}</text>`;
  }
  let dirtyPath = "", linkPath = "";
  rs.forEach((q, i) => {
    const x0 = x(q.startMs), x1 = x(q.startMs + q.durationMs);
    const yd = ax.y(dirtyRate(q)), yl = ax.y(link(q));
    dirtyPath += `${i === 0 ? "M" : "L"}${n2(x0)},${n2(yd)} L${n2(x1)},${n2(yd)} `;
    linkPath += `${i === 0 ? "M" : "L"}${n2(x0)},${n2(yl)} L${n2(x1)},${n2(yl)} `;
    body +=
      `<rect class="hit" x="${n2(x0)}" y="${T}" width="${n2(Math.max(1, x1 - x0))}" height="${H - B - T}">` +
      `<title>${
        esc(
          `round ${q.round}, ${ms(q.startMs)} to ${ms(q.startMs + q.durationMs)}: guest dirtied ${
            int(q.dirtied)
          } pages ` +
            `(${mbs(dirtyRate(q))}, ${int(q.instructions)} instructions); link ${mbs(link(q))}`,
        )
      }</title></rect>`;
  });
  const last = r.rounds[r.rounds.length - 1];
  if (last?.final) {
    body +=
      `<rect class="paused" x="${n2(x(last.startMs))}" y="${T}" width="${
        n2(Math.max(1, x(end) - x(last.startMs)))
      }" ` +
      `height="${H - B - T}"><title>stop-and-copy: guest paused</title></rect>`;
  }
  body +=
    `<path class="line link" d="${linkPath.trim()}"/><path class="line dirty" d="${dirtyPath.trim()}"/>` +
    `<text class="axis" x="${(L + W - R) / 2}" y="${
      H - 6
    }" text-anchor="middle">time since the migration began (${
      r.link.deterministic ? "simulated link time = guest virtual time" : "wall clock"
    })</text>`;
  const desc = rs.length === 0
    ? "No pre-copy round took measurable time."
    : `Dirty rate against the link bandwidth (${mbs(r.link.bandwidth || rs[0].bandwidth)}). ` +
      rs.map((q) => `Round ${q.round}: ${mbs(dirtyRate(q))}.`).join(" ");
  const chart = svg({
    id: "rate",
    title: "Rate at which the guest dirties memory, against the link",
    desc,
    width: W,
    height: H,
    body,
  });
  const legend =
    `<p class="legend"><span class="sw line-dirty"></span>guest dirty rate (pages dirtied in a round x 4 KiB / its duration) ` +
    `<span class="sw line-link"></span>link bandwidth (${r.link.bandwidth > 0 ? "simulated" : "measured"}) ` +
    `<span class="sw paused"></span>guest paused</p>`;
  const data = table(
    "dirty rate and link bandwidth",
    ["round", "from (ms)", "to (ms)", "pages dirtied", "dirty rate (bytes/s)", "link (bytes/s)"],
    rs.map((
      q,
    ) => [
      String(q.round),
      q.startMs.toFixed(3),
      (q.startMs + q.durationMs).toFixed(3),
      q.dirtied,
      dirtyRate(q),
      link(q),
    ]),
  );
  return figure("fig-rate", "Dirty rate over time and the link", chart + legend, data);
}

// ---- heat map of guest-physical memory ----

/** Pages per heat-map cell for `pages` pages: the smallest power of two that fits {@link HEAT_MAX_CELLS}. */
export function heatGroup(pages: number): number {
  let g = 1;
  while (Math.ceil(pages / g) > HEAT_MAX_CELLS) g *= 2;
  return g;
}

/** The heat map's layout for `pages` pages: pages per cell, cells per row, cell size in px. */
export function heatLayout(pages: number): { group: number; columns: number; cell: number } {
  const group = heatGroup(pages);
  const columns = Math.ceil(pages / group) <= 2048 ? 64 : 128;
  return { group, columns, cell: HEAT_WIDTH / columns };
}

/** Colour step 1..6 of a count (0: not dirtied); the largest count always takes the darkest step. */
function heatLevel(count: number, max: number): number {
  if (count === 0) return 0;
  return Math.max(1, Math.ceil((count / max) * HEAT_LEVELS));
}

function heatMap(r: MigrationReport): string {
  const pages = r.pages.count;
  const what = r.kind === "snapshots" ? "diff snapshot" : "round";
  const { group: g, columns: cols, cell: cs } = heatLayout(pages);
  const cells = Math.ceil(pages / g);
  const rows = Math.ceil(cells / cols);
  const L = 78, T = 10, gridW = cols * cs, labelW = 230;
  const W = L + gridW + labelW, H = T + rows * cs + 28;
  // per cell: the highest count and how many pages were dirtied
  const maxC = new Uint16Array(cells);
  const lit = new Uint32Array(cells);
  for (const [first, length, c] of r.pages.runs) {
    for (let p = first; p < first + length && p < pages; p++) {
      const k = Math.floor(p / g);
      if (c > maxC[k]) maxC[k] = c;
      lit[k]++;
    }
  }
  const bytesPerRow = cols * g * r.pages.pageSize;
  let body = `<rect class="heat-bg" x="${L}" y="${T}" width="${gridW}" height="${rows * cs}"/>`;
  // partial last row: mark the part beyond RAM
  const tail = rows * cols - cells;
  if (tail > 0) {
    body += `<rect class="heat-none" x="${L + (cols - tail) * cs}" y="${T + (rows - 1) * cs}" width="${
      tail * cs
    }" height="${cs}"/>`;
  }
  const rowEvery = Math.ceil(14 / cs);
  for (let row = 0; row < rows; row += rowEvery) {
    body += `<text class="tick" x="${L - 6}" y="${T + row * cs + cs - 1}" text-anchor="end">${
      hex(row * bytesPerRow)
    }</text>`;
  }
  let cellsSvg = "";
  for (let k = 0; k < cells; k++) {
    if (maxC[k] === 0) continue;
    const col = k % cols, row = Math.floor(k / cols);
    cellsSvg +=
      `<rect class="cell h${heatLevel(maxC[k], r.pages.maxRounds)}" x="${L + col * cs}" y="${
        T + row * cs
      }" ` +
      `width="${cs}" height="${cs}" data-p="${k * g}" data-n="${lit[k]}" data-c="${maxC[k]}"/>`;
  }
  body += `<g class="cells" data-group="${g}" data-page-size="${r.pages.pageSize}">${cellsSvg}</g>`;
  // regions: an outline over their cells and a label on the right
  const placed: number[] = [];
  const regions = [...r.regions].sort((a, b) => a.start - b.start);
  let outlines = "", labels = "";
  for (const reg of regions) {
    const c0 = Math.floor(reg.start / r.pages.pageSize / g);
    const c1 = Math.max(c0 + 1, Math.ceil(reg.end / r.pages.pageSize / g));
    const r0 = Math.floor(c0 / cols), x0 = c0 % cols;
    const re = Math.floor((c1 - 1) / cols), xe = ((c1 - 1) % cols) + 1;
    const X = (c: number) => L + c * cs, Y = (rr: number) => T + rr * cs;
    const pts = r0 === re ? [[X(x0), Y(r0)], [X(xe), Y(r0)], [X(xe), Y(r0 + 1)], [X(x0), Y(r0 + 1)]] : [
      [X(x0), Y(r0)],
      [X(cols), Y(r0)],
      [X(cols), Y(re)],
      [X(xe), Y(re)],
      [X(xe), Y(re + 1)],
      [X(0), Y(re + 1)],
      [X(0), Y(r0 + 1)],
      [X(x0), Y(r0 + 1)],
    ];
    outlines += `<polygon class="region ${reg.kind}" points="${pts.map((p) => p.join(",")).join(" ")}">` +
      `<title>${
        esc(`${reg.name}: ${hex(reg.start)}..${hex(reg.end)} (${bytes(reg.end - reg.start)})`)
      }</title></polygon>`;
    const want = Y(r0) + cs / 2 + 4;
    const y = Math.max(want, (placed[placed.length - 1] ?? -Infinity) + 13);
    placed.push(y);
    const ax = L + gridW + 10;
    labels +=
      `<path class="leader ${reg.kind}" d="M${L + gridW + 1},${n2(Y(r0) + cs / 2)} L${ax - 2},${
        n2(y - 4)
      }"/>` +
      `<text class="region-label ${reg.kind}" x="${ax}" y="${n2(y)}">${
        esc(`${reg.name} ${bytes(reg.end - reg.start)}`)
      }</text>`;
  }
  body += outlines + labels;
  const height = Math.max(H, (placed[placed.length - 1] ?? 0) + 10);
  const dirtiedRegions = regions.map((reg) => {
    const counts = regionCounts(r.pages.runs, reg, r.pages.pageSize);
    return `${reg.name} ${counts.dirtied} of ${counts.pages} pages dirtied`;
  });
  const desc = `Guest-physical memory, ${int(pages)} pages of ${bytes(r.pages.pageSize)}, ` +
    `${g === 1 ? "one cell per page" : `one cell per ${g} pages`}, ${cols} cells per row ` +
    `(${bytes(bytesPerRow)}), coloured by how many ${what}s ${
      r.kind === "snapshots" ? "held" : "dirtied"
    } it (at most ${r.pages.maxRounds}). ` +
    `${int(r.pages.dirtied)} pages were dirtied. ${dirtiedRegions.join("; ")}.`;
  const chart = svg({
    id: "heat",
    title: `Which memory the guest dirtied, and in how many ${what}s`,
    desc,
    width: W,
    height,
    body,
  });
  let legend = `<p class="legend"><span class="sw h0"></span>not dirtied `;
  const max = r.pages.maxRounds;
  for (let lv = 1; lv <= HEAT_LEVELS; lv++) {
    const counts = Array.from({ length: max }, (_, i) => i + 1).filter((c) => heatLevel(c, max) === lv);
    if (counts.length === 0) continue;
    const lo = counts[0], hi = counts[counts.length - 1];
    legend += `<span class="sw h${lv}"></span>${lo === hi ? lo : `${lo}-${hi}`} ${what}${
      hi === 1 ? "" : "s"
    } `;
  }
  legend +=
    `</p><p class="note">${
      g === 1 ? "One cell per page" : `One cell per ${g} pages (the most any of them was dirtied)`
    }; ` +
    `rows of ${bytes(bytesPerRow)}, addresses on the left. Outlined: ${
      r.regions.some((x) => x.kind === "kernel")
        ? "the Linux kernel's image (code, rodata, data, bss), what it frees at boot, and the structures " +
          "the loader wrote (zero page, command line, initrd)"
        : "the guest's ELF segments, its stack, the boot page tables and other structures the loader wrote"
    }.</p>`;
  const regionRows = regions.map((reg) => {
    const c = regionCounts(r.pages.runs, reg, r.pages.pageSize);
    return [reg.name, `${hex(reg.start)}..${hex(reg.end)}`, c.pages, c.dirtied, c.max];
  });
  const runs = r.pages.runs.slice(0, 500).map(([first, length, c]) => [
    `${hex(first * r.pages.pageSize)}..${hex((first + length) * r.pages.pageSize)}`,
    first,
    length,
    c,
  ]);
  const data =
    table("labelled regions", ["region", "addresses", "pages", "pages dirtied", "most rounds"], regionRows) +
    table(
      `dirtied pages, as runs of equal count${
        r.pages.runs.length > 500 ? ` (first 500 of ${r.pages.runs.length})` : ""
      }`,
      [
        "addresses",
        "first page",
        "pages",
        r.kind === "snapshots" ? "diff snapshots that held them" : "rounds that dirtied them",
      ],
      runs,
    );
  return figure("fig-heat", "Heat map of guest-physical memory", chart + legend, data);
}

function regionCounts(runs: PageRun[], reg: ReportRegion, pageSize: number) {
  const p0 = Math.floor(reg.start / pageSize), p1 = Math.ceil(reg.end / pageSize);
  let dirtied = 0, max = 0;
  for (const [first, length, c] of runs) {
    const a = Math.max(first, p0), b = Math.min(first + length, p1);
    if (b > a) {
      dirtied += b - a;
      max = Math.max(max, c);
    }
  }
  return { pages: p1 - p0, dirtied, max };
}

// ---- downtime ----

function downtimeChart(r: MigrationReport): string {
  const d = r.downtime;
  const W = 900, L = 0, R = 110, rowH = 42;
  const modelled: [string, number, string][] = [
    ["modelled downtime on the link", d.modelledMs, "modelled"],
    ["its lower bound: bytes sent while paused / bandwidth + latency", d.lowerBoundMs, "bound"],
  ];
  if (d.limitMs !== null) {
    modelled.push([`downtime limit of the ${r.policy.name} policy`, d.limitMs, "limit"]);
  }
  const group = (title: string, rows: [string, number, string][], y0: number) => {
    const max = Math.max(1e-6, ...rows.map((x) => x[1]));
    const t = ticks(max);
    const top = t[t.length - 1];
    const x = (v: number) => L + (v / top) * (W - L - R);
    let s = `<text class="group" x="0" y="${y0 + 14}">${esc(title)}</text>`;
    const y1 = y0 + 22, yEnd = y1 + rows.length * rowH;
    for (const v of t) {
      s += `<line class="grid" x1="${n2(x(v))}" x2="${n2(x(v))}" y1="${y1}" y2="${yEnd}"/>` +
        `<text class="tick" x="${n2(x(v))}" y="${yEnd + 14}" text-anchor="${v === 0 ? "start" : "middle"}">${
          esc(ms(v))
        }</text>`;
    }
    rows.forEach(([label, v, cls], i) => {
      const y = y1 + i * rowH;
      s += `<g class="dt ${cls}"><title>${esc(`${label}: ${ms(v)}`)}</title>` +
        `<text class="label" x="${L}" y="${y + 14}">${esc(label)}</text>` +
        `<rect class="bar ${cls}" x="${L}" y="${y + 20}" width="${n2(Math.max(1, x(v) - L))}" height="16"/>` +
        `<text class="value" x="${n2(x(v) + 6)}" y="${y + 33}">${esc(ms(v))}</text></g>`;
    });
    return { svg: s, height: yEnd + 22 - y0 };
  };
  const a = group(
    `Modelled (${
      r.link.deterministic
        ? "simulated link time: the same on every machine"
        : "link time measured by the source"
    })`,
    modelled,
    0,
  );
  let body = a.svg, H = a.height;
  if (d.wall.length > 0) {
    const b = group(
      "Measured (wall clock on this host: hvsim's own cost of verifying, loading and resuming)",
      d.wall.map((w) => [w.label, w.ms, "wall"]),
      H + 10,
    );
    body += b.svg;
    H += 10 + b.height;
  }
  const desc = `Modelled downtime ${ms(d.modelledMs)}, lower bound ${ms(d.lowerBoundMs)}` +
    (d.limitMs !== null ? `, limit ${ms(d.limitMs)}` : "") + ". " +
    d.wall.map((w) => `Measured ${w.label}: ${ms(w.ms)}.`).join(" ");
  const chart = svg({
    id: "downtime",
    title: "Downtime: modelled against its limit and bound, and measured",
    desc,
    width: W,
    height: H,
    body,
  });
  const data = table(
    "downtime",
    ["what", "ms"],
    [...modelled.map(([l, v]) => [l, v.toFixed(3)]), ...d.wall.map((w) => [w.label, w.ms.toFixed(3)])],
  );
  return figure("fig-downtime", "Downtime", chart, data);
}

// ---- facts ----

function facts(r: MigrationReport): string {
  const rows: [string, string][] = [];
  rows.push(["guest", `${r.guest.name}${r.guest.cmdline ? ` "${r.guest.cmdline}"` : ""}`]);
  if (r.command) rows.push(["command", r.command]);
  rows.push(["status", r.status + (r.error ? `: ${r.error}` : "")]);
  if (r.kind === "snapshots") {
    for (const [k, f] of (r.snapshots ?? []).entries()) {
      rows.push([k === 0 ? "snapshot" : `diff snapshot ${k}`, `${f.file} at ${int(f.at)} instructions`]);
    }
    rows.push(["guest RAM", `${bytes(r.guest.ramBytes)} (${int(r.pages.count)} pages)`]);
    rows.push([
      "written",
      `${bytes(r.totals.transferred)}: ${int(r.totals.normalPages)} pages with data, ` +
      `${int(r.totals.zeroPages)} zero pages, ${
        int(r.totals.stateBytes)
      } bytes of state, in ${r.rounds.length} files`,
    ]);
    return `<section class="facts" aria-label="The run"><dl>${
      rows.map(([k, v]) =>
        `<dt>${esc(k)}</dt><dd>${k === "command" ? `<code>${esc(v)}</code>` : esc(v)}</dd>`
      ).join("")
    }</dl></section>`;
  }
  const params = Object.entries(r.policy.params).map(([k, v]) => `${k} ${v}`).join(", ");
  rows.push(["policy", `${r.policy.name}${params ? ` (${params})` : ""}: ${r.policy.switchoverReason}`]);
  rows.push([
    "link",
    r.link.deterministic
      ? `simulated, ${rate(r.link.bandwidth)}, latency ${r.link.latencyMs} ms, guest clock ${
        r.link.clockHz / 1e9
      } GHz`
      : `real (TCP, wall clock), measured ${rate(r.link.measuredBandwidth)}`,
  ]);
  rows.push(["guest RAM", `${bytes(r.guest.ramBytes)} (${int(r.pages.count)} pages)`]);
  rows.push([
    "sent",
    `${bytes(r.totals.transferred)}: ${int(r.totals.normalPages)} pages with data, ${
      int(r.totals.zeroPages)
    } zero pages, ` +
    `${
      int(r.totals.stateBytes)
    } bytes of state, in ${r.totals.precopyRounds} pre-copy rounds and a stop-and-copy pass`,
  ]);
  rows.push(["total time", ms(r.totals.totalTimeMs)]);
  const i = r.instructions;
  const ins = [
    i.atStart !== null ? `migration began at ${int(i.atStart)}` : "",
    i.atSwitchover !== null ? `switchover at ${int(i.atSwitchover)}` : "",
    `${int(i.duringMigration)} retired during pre-copy`,
    i.destinationEnd !== null ? `destination ended at ${int(i.destinationEnd)}` : "",
    i.referenceEnd !== null ? `unmigrated run ended at ${int(i.referenceEnd)}` : "",
  ].filter((x) => x !== "");
  rows.push(["instructions", ins.join("; ")]);
  const eq = r.equal === null
    ? `<span class="badge">not compared</span>`
    : r.equal
    ? `<span class="badge ok">✓ equal</span> final digest, console output and instruction count`
    : `<span class="badge bad">✗ different</span> from the unmigrated run`;
  return `<section class="facts" aria-label="The run"><dl>${
    rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${k === "command" ? `<code>${esc(v)}</code>` : esc(v)}</dd>`)
      .join("")
  }<dt>destination vs unmigrated run</dt><dd>${eq}</dd></dl></section>`;
}

function figure(id: string, title: string, content: string, data: string): string {
  return `<section class="fig" id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${
    esc(title)
  }</h2>${content}${data}</section>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--grid:#d8dee4;--panel:#f6f8fa;
--normal:#2f6fba;--zero:#a8c4e6;--dirtied:#d9822b;--thr:#c62828;--pass:#1a7f37;--tested:#8c959f;--link:#6e40c9;
--paused:rgba(110,118,129,.13);--ok:#1a7f37;--bad:#cf222e;
--h0:#eef1f4;--h1:#fdd49e;--h2:#fdbb84;--h3:#fc8d59;--h4:#ef6548;--h5:#d7301f;--h6:#990000;
--elf:#1a7f37;--stack:#8250df;--pt:#0969da;--boot:#57606a;--kernel:#bc4c00;--freed:#8c959f;
--rg0:#0969da;--rg1:#bc4c00;--rg2:#1a7f37;--rg3:#8250df;--rg4:#bf3989;--rg5:#9a6700;--rg6:#1b7c83;--rg7:#cf222e;--rg-other:#d9822b}
@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--fg:#e6edf3;--muted:#9aa5b1;--grid:#30363d;--panel:#161b22;
--normal:#6ea8fe;--zero:#2e4d78;--dirtied:#f0a35e;--thr:#ff7b72;--pass:#3fb950;--tested:#6e7681;--link:#b392f0;
--paused:rgba(200,210,220,.08);--ok:#3fb950;--bad:#ff7b72;
--h0:#1c232c;--h1:#5c3d1a;--h2:#8a5318;--h3:#b86b16;--h4:#e08a25;--h5:#f5b04e;--h6:#ffe08a;
--elf:#3fb950;--stack:#d2a8ff;--pt:#58a6ff;--boot:#9aa5b1;--kernel:#f0883e;--freed:#6e7681;
--rg0:#58a6ff;--rg1:#f0883e;--rg2:#3fb950;--rg3:#d2a8ff;--rg4:#ff7eb6;--rg5:#d29922;--rg6:#39c5cf;--rg7:#ff7b72;--rg-other:#f0a35e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:960px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.15em;margin:0 0 8px}h3{font-size:.9em;margin:0 0 2px;color:var(--muted);font-weight:600}
.sub{color:var(--muted);margin:0 0 16px}
code{font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
.facts dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0;padding:12px 16px;background:var(--panel);border-radius:8px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.badge{display:inline-block;padding:0 8px;border-radius:10px;border:1px solid var(--muted);font-weight:600}
.badge.ok{color:var(--ok);border-color:var(--ok)}.badge.bad{color:var(--bad);border-color:var(--bad)}
.fig{margin:28px 0 0}
svg.chart{width:100%;height:auto;display:block;font-size:11px;overflow:visible}
.multiples{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:12px}
.grid{stroke:var(--grid);stroke-width:1}
.tick{fill:var(--muted)}.axis,.group{fill:var(--fg)}.group{font-weight:600;font-size:12px}
.label,.value{fill:var(--fg);font-size:12px}
.bar.normal{fill:var(--normal)}.bar.zero{fill:var(--zero)}.bar.dirtied{fill:var(--dirtied)}
.bar.tested{fill:var(--tested)}.bar.pass{fill:var(--pass)}.bar.plain{fill:var(--normal)}.bar.stopbar{fill:var(--tested)}
.bar.modelled{fill:var(--normal)}.bar.bound{fill:var(--zero)}.bar.limit{fill:var(--thr)}.bar.wall{fill:var(--dirtied)}
.paused{fill:var(--paused)}.hit{fill:transparent}
.threshold{fill:none;stroke:var(--thr);stroke-width:2.5;stroke-dasharray:6 3}
.line{fill:none;stroke-width:2.5}.line.dirty{stroke:var(--dirtied)}.line.link{stroke:var(--link);stroke-dasharray:7 4}
g.round:hover rect.bar,g.test:hover rect.bar,g.mini:hover rect.bar{opacity:.8}
.heat-bg{fill:var(--h0)}.heat-none{fill:var(--bg)}
.cell.h1{fill:var(--h1)}.cell.h2{fill:var(--h2)}.cell.h3{fill:var(--h3)}.cell.h4{fill:var(--h4)}.cell.h5{fill:var(--h5)}.cell.h6{fill:var(--h6)}
.region{fill:none;stroke-width:1.5;stroke-dasharray:4 2}.leader{fill:none;stroke-width:1}
.region.elf,.leader.elf{stroke:var(--elf)}.region.stack,.leader.stack{stroke:var(--stack)}
.region.page-tables,.leader.page-tables{stroke:var(--pt)}.region.boot,.leader.boot{stroke:var(--boot)}
.region-label{font-size:11px}.region-label.elf{fill:var(--elf)}.region-label.stack{fill:var(--stack)}
.region-label.page-tables{fill:var(--pt)}.region-label.boot{fill:var(--boot)}
.region.kernel,.leader.kernel{stroke:var(--kernel)}.region.freed,.leader.freed{stroke:var(--freed)}
.region-label.kernel{fill:var(--kernel)}.region-label.freed{fill:var(--freed)}
.bar.rg0,.sw.rg0{fill:var(--rg0);background:var(--rg0)}.bar.rg1,.sw.rg1{fill:var(--rg1);background:var(--rg1)}
.bar.rg2,.sw.rg2{fill:var(--rg2);background:var(--rg2)}.bar.rg3,.sw.rg3{fill:var(--rg3);background:var(--rg3)}
.bar.rg4,.sw.rg4{fill:var(--rg4);background:var(--rg4)}.bar.rg5,.sw.rg5{fill:var(--rg5);background:var(--rg5)}
.bar.rg6,.sw.rg6{fill:var(--rg6);background:var(--rg6)}.bar.rg7,.sw.rg7{fill:var(--rg7);background:var(--rg7)}
.bar.rg-other,.sw.rg-other{fill:var(--rg-other);background:var(--rg-other)}
.legend{margin:6px 0 0;font-size:13px;color:var(--muted)}
.sw{display:inline-block;width:12px;height:12px;margin:0 5px 0 12px;vertical-align:-1px;border-radius:2px}
.sw:first-child{margin-left:0}
.sw.normal{background:var(--normal)}.sw.zero{background:var(--zero)}.sw.dirtied{background:var(--dirtied)}
.sw.paused{background:var(--paused);outline:1px solid var(--grid)}.sw.tested{background:var(--tested)}.sw.pass{background:var(--pass)}
.sw.threshold{height:0;border-top:3px dashed var(--thr);border-radius:0}
.sw.line-dirty{height:0;border-top:3px solid var(--dirtied);border-radius:0}.sw.line-link{height:0;border-top:3px dashed var(--link);border-radius:0}
.sw.h0{background:var(--h0);outline:1px solid var(--grid)}.sw.h1{background:var(--h1)}.sw.h2{background:var(--h2)}
.sw.h3{background:var(--h3)}.sw.h4{background:var(--h4)}.sw.h5{background:var(--h5)}.sw.h6{background:var(--h6)}
.note{font-size:13px;color:var(--muted);margin:4px 0 0}
details.data{margin:8px 0 0;font-size:13px}details.data summary{cursor:pointer;color:var(--muted)}
table{border-collapse:collapse;margin:6px 0;font-size:12.5px}caption{text-align:left;color:var(--muted);padding:2px 0}
th,td{padding:2px 10px;border-bottom:1px solid var(--grid);text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
#tip{position:fixed;pointer-events:none;background:var(--fg);color:var(--bg);padding:4px 8px;border-radius:4px;font-size:12px;display:none;max-width:360px;z-index:2}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{:root{--bg:#fff;--fg:#000;--muted:#333;--grid:#bbb;--panel:#fff;--h0:#f2f2f2}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:none;padding:0}.fig{break-inside:avoid}#tip{display:none}details.data summary{display:none}}
`;

const SCRIPT =
  `(function(){var tip=document.getElementById("tip");var heat=document.querySelector("#heat .cells");
var g=heat?Number(heat.getAttribute("data-group")):1,ps=heat?Number(heat.getAttribute("data-page-size")):4096;
function hx(n){return "0x"+n.toString(16)}
document.addEventListener("mousemove",function(e){var t=e.target,text="";
if(t&&t.classList&&t.classList.contains("cell")){var p=Number(t.getAttribute("data-p"));
text=hx(p*ps)+".."+hx((p+g)*ps)+": "+t.getAttribute("data-n")+" of "+g+" page"+(g>1?"s":"")+" dirtied, most in "+t.getAttribute("data-c")+" round(s)";}
if(text){tip.textContent=text;tip.style.display="block";tip.style.left=(e.clientX+14)+"px";tip.style.top=(e.clientY+14)+"px";}
else tip.style.display="none";});
window.addEventListener("beforeprint",function(){document.querySelectorAll("details.data").forEach(function(d){d.open=true;});});
})();`;

/** The report as one self-contained HTML page. */
export function renderReportHtml(r: MigrationReport): string {
  const title = r.kind === "snapshots" ? `Snapshots of ${r.guest.name}` : `Live migration of ${r.guest.name}`;
  const sub = r.kind === "snapshots"
    ? `${r.rounds.length} snapshots, ${bytes(r.totals.transferred)} written`
    : `${r.totals.precopyRounds} pre-copy round${
      r.totals.precopyRounds === 1 ? "" : "s"
    }, then stop-and-copy; ` +
      `${bytes(r.totals.transferred)} sent; downtime ${ms(r.downtime.modelledMs)} modelled` +
      (r.downtime.limitMs !== null ? ` (limit ${ms(r.downtime.limitMs)})` : "");
  const parts = [
    facts(r),
    roundsChart(r),
    r.kind === "migration" ? switchoverChart(r) : "",
    smallMultiples(r),
    r.kind === "migration" ? rateChart(r) : "",
    regionRoundsChart(r),
    heatMap(r),
    r.kind === "migration" ? downtimeChart(r) : "",
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main><h1>${esc(title)}</h1><p class="sub">${esc(sub)}</p>
${parts.join("\n")}
<footer>Made by hvsim. ${
    r.kind === "snapshots"
      ? "Snapshot durations are this host's wall clock."
      : "Times on a simulated link are virtual (bytes / bandwidth), so the modelled figures are the same on every machine; wall-clock figures are this host's."
  }</footer>
</main><div id="tip" role="tooltip"></div><script>${SCRIPT}</script></body></html>
`;
}

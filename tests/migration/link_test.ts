import { equal, throws } from "node:assert/strict";
import { parseBandwidth, parseDurationMs, RealTimeLink, SimulatedLink } from "../../src/migration/link.ts";
import { BandwidthMeter, emptyStats, queryMigrate } from "../../src/migration/stats.ts";

Deno.test("SimulatedLink advances virtual time by bytes / bandwidth", () => {
  const l = new SimulatedLink({ bandwidth: 1000, latencyMs: 5, clockHz: 2e9 });
  equal(l.now(), 0);
  l.transmitted(500);
  equal(l.now(), 0.5);
  l.transmitted(1500);
  equal(l.now(), 2);
  l.idle(0.25);
  equal(l.now(), 2.25);
  equal(l.latency, 0.005);
  equal(l.clockHz, 2e9);
  equal(l.deterministic, true);
  throws(() => new SimulatedLink({ bandwidth: 0 }), /bandwidth is 0 bytes\/s: expected a positive number/);
  throws(() => new SimulatedLink({ latencyMs: -1 }), RangeError);
  throws(() => new SimulatedLink({ clockHz: 0 }), RangeError);
});

Deno.test("RealTimeLink measures monotonic wall time", () => {
  const l = new RealTimeLink();
  const a = l.now();
  const b = l.now();
  equal(b >= a, true);
  equal(l.deterministic, false);
});

Deno.test("parseBandwidth() reads bits and bytes per second", () => {
  const table: [string, number][] = [
    ["1gbit", 125_000_000],
    ["100mbit", 12_500_000],
    ["125MB", 125_000_000],
    ["64MiB/s", 64 * 1024 * 1024],
    ["1.5gbps", 187_500_000],
    ["4096", 4096],
  ];
  for (const [t, v] of table) equal(parseBandwidth(t), v, t);
  for (const bad of ["", "fast", "0", "-1mbit", "10 parsecs"]) {
    throws(() => parseBandwidth(bad), /Bad bandwidth/);
  }
});

Deno.test("parseDurationMs() reads ms, s and us", () => {
  const table: [string, number][] = [["300ms", 300], ["1.5s", 1500], ["300", 300], ["500us", 0.5]];
  for (const [t, v] of table) equal(parseDurationMs(t), v, t);
  throws(() => parseDurationMs("soon"), /Bad duration "soon"/);
});

Deno.test("BandwidthMeter measures over windows of at least 100 ms, as QEMU", () => {
  const m = new BandwidthMeter(0, 0);
  m.update(0.0625, 5_000);
  equal(m.bandwidth, 0, "window not closed");
  m.update(0.125, 12_500);
  equal(m.bandwidth, 100_000);
  m.update(0.1875, 30_000);
  equal(m.bandwidth, 100_000, "next window still open");
  m.update(0.375, 62_500);
  equal(m.bandwidth, 200_000);
});

Deno.test("queryMigrate() uses QEMU's names", () => {
  const s = emptyStats(4096 * 10);
  s.status = "Complete";
  s.duplicate = 3;
  const q = queryMigrate(s) as Record<string, Record<string, unknown>>;
  equal(q["status"] as unknown, "completed");
  for (const k of ["total-time", "setup-time", "downtime", "expected-downtime"]) equal(k in q, true, k);
  for (
    const k of [
      "transferred",
      "remaining",
      "total",
      "duplicate",
      "normal",
      "normal-bytes",
      "dirty-sync-count",
      "dirty-pages-rate",
      "mbps",
    ]
  ) {
    equal(k in q.ram, true, k);
  }
  equal(q.ram.duplicate, 3);
  equal(q.ram.total, 40960);
});

/**
 * Migration benchmarks: `deno run -A bench/migration_bench.ts [--quick] [--json] [--only PARTS]
 * [--huge-pages]`, where PARTS is a comma-separated list of downtime, realGuest, big, tcp, primitives,
 * and `--huge-pages` advises huge pages for the large guest's RAM (see allocateGuestMemory).
 *
 * Figures: downtime against its lower bound (the bytes sent while the guest is paused, over
 * bandwidth, plus latency; goal within 1.1x), pages sent against the guest's RAM, the wall time of an
 * in-process migration of a 1 GiB guest with 256 MiB touched, snapshot + restore of it (goal:
 * restore under 300 ms), TCP throughput on loopback, and the raw speed of CRC-32C and the dirty
 * bitmap. Guests are the migration test double (tests/migration/_test_vm.ts) until real guests are
 * wired in.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  connectMigration,
  inProcessTransport,
  listenForMigration,
  MigrationController,
  RealTimeLink,
  restoreSnapshotFiles,
  SimulatedLink,
  writeSnapshotFile,
} from "../src/migration/mod.ts";
import { crc32c } from "../src/migration/crc32c.ts";
import { DirtyBitmap } from "../src/migration/dirty_bitmap.ts";
import type { TestVmOptions } from "../tests/migration/_test_vm.ts";
import { TestVm } from "../tests/migration/_test_vm.ts";

const MiB = 1 << 20;
const GiB = 1 << 30;

interface Row {
  [k: string]: string | number;
}

function table(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  console.log(`\n## ${title}\n`);
  const keys = Object.keys(rows[0]);
  const w = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  console.log("| " + keys.map((k, i) => k.padEnd(w[i])).join(" | ") + " |");
  console.log("|" + w.map((x) => "-".repeat(x + 2)).join("|") + "|");
  for (const r of rows) console.log("| " + keys.map((k, i) => String(r[k]).padEnd(w[i])).join(" | ") + " |");
}

const f = (x: number, d = 1) => x.toFixed(d);

async function downtimeVsBound(quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const ram = quick ? 64 * MiB : 256 * MiB;
  const cases: [string, number, number, string][] = [
    ["idle", 1, 1e12, "qemu"],
    ["8 MiB ws, slow writer", 2048, 100_000, "qemu"],
    ["8 MiB ws, fast writer", 2048, 2_000, "qemu"],
    ["32 MiB ws, fast writer", 8192, 500, "qemu"],
    ["32 MiB ws, fast writer", 8192, 500, "seed"],
    ["32 MiB ws, fast writer", 8192, 500, "xen"],
  ];
  for (const [name, ws, every, policy] of cases) {
    const opts: TestVmOptions = { ramBytes: ram, workingSetPages: ws, writeEvery: every };
    const src = new TestVm(opts);
    src.run(1_000_000);
    const c = new MigrationController(src);
    const { transport, destination } = inProcessTransport({ createVm: () => TestVm.blank(opts) });
    const t = performance.now();
    const r = await c.migrate(transport, { policy, link: new SimulatedLink({ bandwidth: 125_000_000 }) });
    const wall = performance.now() - t;
    await destination;
    const s = r.stats;
    rows.push({
      guest: `${ram / MiB} MiB, ${name}`,
      policy,
      rounds: s.precopyRounds,
      "throttle %": s.cpuThrottlePercentage,
      "downtime ms": f(s.downtime, 3),
      "bound ms": f(s.downtimeLowerBound, 3),
      ratio: f(s.downtimeLowerBound > 0 ? s.downtime / s.downtimeLowerBound : 1, 3),
      "pages sent / RAM pages": f((s.duplicate + s.normal) / (ram / 4096), 3),
      "total ms (virtual)": f(s.totalTime, 1),
      "wall ms": f(wall, 0),
    });
  }
  return rows;
}

async function bigGuest(quick: boolean, hugePages: boolean): Promise<Row[]> {
  const ram = quick ? 256 * MiB : GiB;
  const restoreRuns = quick ? 2 : 5;
  const opts: TestVmOptions = {
    ramBytes: ram,
    workingSetPages: 4096,
    writeEvery: 5_000,
    bootStride: 4,
    hugePages,
  };
  const rows: Row[] = [];
  {
    const src = new TestVm(opts);
    src.run(1_000_000);
    const c = new MigrationController(src);
    const { transport, destination } = inProcessTransport({ createVm: () => TestVm.blank(opts) });
    const t = performance.now();
    const r = await c.migrate(transport, { link: new SimulatedLink({ bandwidth: 10 * 125_000_000 }) });
    await destination;
    const wall = performance.now() - t;
    rows.push({
      what: `in-process migration, ${ram / MiB} MiB RAM, ${ram / 4 / MiB} MiB touched`,
      "wall ms": f(wall, 0),
      "MB/s": f(r.stats.transferred / 1e6 / (wall / 1000), 0),
      rounds: r.stats.precopyRounds,
    });
  }
  const dir = await Deno.makeTempDir({ prefix: "hvsim-bench-" });
  try {
    const src = new TestVm(opts);
    src.run(1_000_000);
    const t = performance.now();
    const r = await writeSnapshotFile(new MigrationController(src), `${dir}/snap`);
    const wallSnap = performance.now() - t;
    if (!r.ok) throw r.error;
    rows.push({
      what: `snapshot to file (${f(r.stats.transferred / MiB, 0)} MiB)`,
      "wall ms": f(wallSnap, 0),
      "MB/s": f(r.stats.transferred / 1e6 / (wallSnap / 1000), 0),
      rounds: 0,
    });
    // Best of several: the machine is shared and first-touch page faults vary from run to run.
    const restore = async (mode: "verify-first" | "direct" | "lazy" | "lazy+all"): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < restoreRuns; i++) {
        const t = performance.now();
        const r = await restoreSnapshotFiles(`${dir}/snap`, {
          createVm: () => TestVm.blank(opts),
          direct: mode === "direct",
          lazy: mode.startsWith("lazy"),
        });
        if (mode === "lazy+all") r.lazy!.loadAll((r.vm as TestVm).ram);
        times.push(performance.now() - t);
        r.lazy?.close();
      }
      return times.sort((a, b) => a - b);
    };
    const rowFor = (what: string, times: number[]): Row => ({
      what: `${what}, best of ${times.length} (median ${f(times[times.length >> 1], 0)} ms)`,
      "wall ms": f(times[0], 0),
      "MB/s": f(r.stats.transferred / 1e6 / (times[0] / 1000), 0),
      rounds: 0,
    });
    rows.push(
      rowFor("restore from file (read, verify all, then build and load)", await restore("verify-first")),
    );
    rows.push(
      rowFor("restore from file, direct (pages straight into the unreleased VM)", await restore("direct")),
    );
    rows.push(
      rowFor("restore from file, lazy (verify all; pages load on first touch)", await restore("lazy")),
    );
    rows.push(rowFor("restore from file, lazy, then every page loaded", await restore("lazy+all")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

async function tcp(quick: boolean): Promise<Row[]> {
  const ram = quick ? 64 * MiB : 256 * MiB;
  const opts: TestVmOptions = { ramBytes: ram, workingSetPages: 1024, writeEvery: 10_000, bootStride: 1 };
  const l = listenForMigration({ port: 0, createVm: () => TestVm.blank(opts) });
  const src = new TestVm(opts);
  const accepted = l.accept();
  const t = performance.now();
  const r = await new MigrationController(src).migrate(await connectMigration({ port: l.port }), {
    link: new RealTimeLink(1e8),
  });
  await accepted;
  const wall = performance.now() - t;
  l.close();
  if (!r.ok) throw r.error;
  return [{
    what: `TCP loopback, ${ram / MiB} MiB all non-zero`,
    "wall ms": f(wall, 0),
    "MB/s": f(r.stats.transferred / 1e6 / (wall / 1000), 0),
    "downtime ms": f(r.stats.downtime, 1),
    rounds: r.stats.precopyRounds,
  }];
}

/** The fastest of `runs` timings of `fn`, in milliseconds. */
function best(runs: number, fn: () => void): number {
  let ms = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

function primitives(): Row[] {
  const rows: Row[] = [];
  const d = new Uint8Array(64 * MiB).map((_, i) => i * 7);
  crc32c(d.subarray(0, MiB));
  const crcMs = best(5, () => crc32c(d));
  rows.push({
    what: "crc32c, 64 MiB, best of 5",
    "ms": f(crcMs, 1),
    "MB/s": f(64 * MiB / 1e6 / (crcMs / 1000), 0),
  });
  const out = new Uint32Array(64);
  for (const stride of [97, 3]) {
    const b = new DirtyBitmap(GiB / 4096 * 16); // 16 GiB of guest RAM
    for (let p = 0; p < b.pages; p += stride) b.set(p);
    let n = 0;
    const ms = best(10, () => {
      n = 0;
      for (let from = 0, k; (k = b.collect(out, from)) > 0; from = out[k - 1] + 1) {
        n += k;
        if (k < out.length) break;
      }
    });
    rows.push({
      what: `dirty bitmap collect, 16 GiB RAM, ${n} dirty, best of 10`,
      "ms": f(ms, 2),
      "MB/s": "-",
    });
  }
  const b = new DirtyBitmap(GiB / 4096 * 16);
  let c = 0;
  const ms = best(10, () => {
    b.setAll();
    c = b.count();
  });
  rows.push({ what: `dirty bitmap setAll + count (${c} pages), best of 10`, "ms": f(ms, 2), "MB/s": "-" });
  return rows;
}

/** A real guest (memwrite, the lead's migration workload) on the real Machine. */
async function realGuest(): Promise<Row[]> {
  const { Machine } = await import("../src/vm/mod.ts");
  const { migrateInProcess } = await import("../src/migration/mod.ts");
  const file = await Deno.readFile(new URL("../guests/build/memwrite.elf", import.meta.url));
  const rows: Row[] = [];
  for (const cmdline of ["ws=8M rate=16 iters=0 quiet", "ws=4M rate=4 spin=20000 iters=0 quiet"]) {
    const src = Machine.fromElf(file, { memory: 32 * MiB, cmdline });
    const t = performance.now();
    // a 100 MHz virtual guest keeps the interpreted pre-copy short
    const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
      at: 5_000_000,
      clockHz: 1e8,
      bandwidth: 125_000_000,
    });
    const s = r.stats;
    rows.push({
      guest: `memwrite ${cmdline}, 32 MiB`,
      rounds: s.precopyRounds,
      "downtime ms": f(s.downtime, 3),
      "bound ms": f(s.downtimeLowerBound, 3),
      ratio: f(s.downtime / s.downtimeLowerBound, 3),
      "pages sent / RAM pages": f((s.duplicate + s.normal) / (32 * MiB / 4096), 3),
      "wall ms": f(performance.now() - t, 0),
    });
  }
  return rows;
}

/** Everything this file measures. */
export interface MigrationBenchResults {
  /** Downtime against its lower bound, test-double guests. */
  downtime: Row[];
  /** Real guest on the real Machine. */
  realGuest: Row[];
  /** Large guest: migration, snapshot, restore. */
  big: Row[];
  /** TCP on loopback. */
  tcp: Row[];
  /** CRC-32C and dirty bitmap. */
  primitives: Row[];
}

/** Run the migration benchmarks; with `print`, print them as Markdown tables. */
export async function runMigrationBenchmarks(
  opts: { quick?: boolean; print?: boolean; only?: string[]; hugePages?: boolean } = {},
): Promise<MigrationBenchResults> {
  const quick = opts.quick ?? false;
  const on = (part: keyof MigrationBenchResults) => opts.only === undefined || opts.only.includes(part);
  const out: MigrationBenchResults = {
    downtime: on("downtime") ? await downtimeVsBound(quick) : [],
    realGuest: on("realGuest") ? await realGuest() : [],
    big: on("big") ? await bigGuest(quick, opts.hugePages ?? false) : [],
    tcp: on("tcp") ? await tcp(quick) : [],
    primitives: on("primitives") ? primitives() : [],
  };
  if (opts.print ?? true) {
    console.log("# hvsim migration benchmarks" + (quick ? " (--quick)" : ""));
    table("Downtime against its lower bound (1 Gbit/s simulated link, 300 ms limit)", out.downtime);
    table(
      "Real guest (memwrite) on the real machine, 1 Gbit/s simulated, 100 MHz guest clock",
      out.realGuest,
    );
    table(
      "Large guest: migration, snapshot, restore" + (opts.hugePages ? " (huge pages advised)" : ""),
      out.big,
    );
    table("TCP", out.tcp);
    table("Primitives", out.primitives);
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      only: { type: "string" },
      "huge-pages": { type: "boolean", default: false },
    },
  });
  const parts = ["downtime", "realGuest", "big", "tcp", "primitives"];
  const only = values.only?.split(",");
  const unknown = only?.find((p) => !parts.includes(p));
  if (unknown !== undefined) {
    console.error(`Unknown --only part "${unknown}": expected a comma-separated list of ${parts.join(", ")}`);
    Deno.exit(2);
  }
  const out = await runMigrationBenchmarks({
    quick: values.quick,
    print: !values.json,
    only,
    hugePages: values["huge-pages"],
  });
  if (values.json) console.log(JSON.stringify(out, null, 2));
}

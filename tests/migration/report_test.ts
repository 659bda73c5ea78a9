import { deepEqual, equal, ok } from "node:assert/strict";
import { migrateInProcess, snapshotToFile } from "../../src/migration/mod.ts";
import { RSP } from "../../src/cpu/mod.ts";
import { MigrationController } from "../../src/migration/controller.ts";
import { SimulatedLink } from "../../src/migration/link.ts";
import { xenPolicy } from "../../src/migration/policies.ts";
import type { ChainSnapshot } from "../../src/migration/report.ts";
import {
  buildMigrationReport,
  buildSnapshotReport,
  expandPageRuns,
  pageRuns,
} from "../../src/migration/report.ts";
import { heatGroup, renderReportHtml } from "../../src/migration/report_html.ts";
import { inProcessTransport } from "../../src/migration/transport.ts";
import { guestMemoryMap, Machine, parseElf } from "../../src/vm/mod.ts";
import { BOOT_PML4, bootPageTablesEnd } from "../../src/vm/boot.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { TestVm } from "./_test_vm.ts";

const MiB = 1 << 20;

/** Migrate a fresh test VM after `at` instructions with `policy`; the statistics. */
async function migrate(
  vmOpts: TestVmOptions,
  at: number,
  policy = xenPolicy({ dirtyThreshold: 1, maxPasses: 4 }),
) {
  const src = new TestVm(vmOpts);
  src.run(at);
  const { transport, destination } = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
  const result = await new MigrationController(src).migrate(transport, { policy, link: new SimulatedLink() });
  ok(result.ok, result.error?.message);
  await destination;
  return { src, stats: result.stats, at };
}

/**
 * The pages the test VM's pattern writes while its instruction count goes from `from` to `to`:
 * write k happens at instruction (k + 1) x writeEvery and goes to page start + k mod workingSetPages.
 */
function patternPages(o: TestVmOptions, from: number, to: number): Set<number> {
  const out = new Set<number>();
  const start = o.workingSetStart ?? 16;
  for (let k = Math.floor(from / o.writeEvery); k < Math.floor(to / o.writeEvery); k++) {
    out.add(start + (k % o.workingSetPages));
  }
  return out;
}

Deno.test("report: a working set rewritten in every round shows as exactly that set, counted once per round", async () => {
  const vm: TestVmOptions = {
    ramBytes: 4 * MiB,
    workingSetStart: 100,
    workingSetPages: 40,
    writeEvery: 1000,
  };
  const { stats } = await migrate(vm, 50_000);
  const precopy = stats.rounds.filter((r) => !r.final);
  equal(precopy.length, 4, "xen's pass limit");
  // Each round is long enough for the pattern to write all 40 pages at least once.
  for (const r of precopy) {
    ok(r.instructions >= 40 * 1000, `round ${r.round}: ${r.instructions} instructions`);
  }
  const report = buildMigrationReport(stats, { guestName: "test VM" });
  deepEqual(report.pages.runs, [[100, 40, 4]]);
  equal(report.pages.dirtied, 40);
  equal(report.pages.maxRounds, 4);
  equal(report.pages.count, 1024);
  deepEqual(report.rounds.map((r) => r.dirtied), [40, 40, 40, 40, 0]);
  // Round 0 sends every page; each later round the 40 the previous one dirtied; the final pass too.
  deepEqual(report.rounds.map((r) => r.pages), [1024, 40, 40, 40, 40]);
  deepEqual(report.rounds.map((r) => r.final), [false, false, false, false, true]);
  // The test VM fills every fourth page at boot, and its first 50 writes (before the migration) reached
  // all 40 working-set pages, 30 of them not among those: the rest are zero pages in round 0.
  equal(report.rounds[0].zeroPages, 1024 - 256 - 30);
  // xen's test: fewer than 1 dirty page; never met here, so the pass limit switched over.
  for (const r of precopy) deepEqual([r.test?.value, r.test?.threshold, r.test?.switchWhen], [40, 1, "<"]);
  equal(report.policy.switchoverReason, "4 passes done");
  deepEqual(report.policy.params, { dirtyThreshold: 1, maxPasses: 4 });
  equal(report.downtime.limitMs, null);
});

Deno.test("report: per-page counts and per-round dirtied pages follow the guest's write pattern round by round", async () => {
  // 800 pages, one write every 50,000 instructions: each round writes a stretch of the ring.
  const vm: TestVmOptions = {
    ramBytes: 8 * MiB,
    workingSetStart: 300,
    workingSetPages: 800,
    writeEvery: 50_000,
  };
  const { src, stats, at } = await migrate(vm, 1_000_000, xenPolicy({ dirtyThreshold: 1, maxPasses: 6 }));
  // Two labelled regions sharing page 500 (the first by start takes it), the rest "other RAM".
  const regions = [
    { name: "low", kind: "boot" as const, start: 300 * 4096, end: 500 * 4096 + 100 },
    { name: "high", kind: "elf" as const, start: 500 * 4096 + 50, end: 700 * 4096 },
  ];
  const report = buildMigrationReport(stats, { sourceInstructions: src.instructions, regions });
  equal(report.instructions.atStart, at);
  deepEqual(report.dirtyByRegion.map((x) => [x.name, x.pages]), [["low", 201], ["high", 199], [
    "other RAM",
    2048 - 400,
  ]]);
  const expected = new Uint16Array(2048);
  let from = at;
  const rounds = report.rounds.filter((r) => !r.final);
  equal(rounds.length, 6);
  for (const [i, r] of rounds.entries()) {
    const pages = patternPages(vm, from, from + r.instructions);
    equal(r.dirtied, pages.size, `round ${r.round}`);
    // The round's own pages, and how they split between the regions.
    const spanned = report.pages.roundSpans[i].flatMap(([f, n]) =>
      Array.from({ length: n }, (_, k) => f + k)
    );
    deepEqual(spanned, [...pages].sort((a, b) => a - b), `round ${r.round}: its pages`);
    const of = (lo: number, hi: number) => [...pages].filter((p) => p >= lo && p < hi).length;
    deepEqual(
      report.dirtyByRegion.map((x) => x.dirtied[i]),
      [of(300, 501), of(501, 700), pages.size - of(300, 700)],
      `round ${r.round}: by region`,
    );
    for (const p of pages) expected[p]++;
    from += r.instructions;
  }
  equal(report.pages.roundSpans.length, report.rounds.length);
  equal(from, src.instructions);
  deepEqual(expandPageRuns(report.pages.runs, 2048), expected);
  deepEqual(pageRuns(expected), report.pages.runs);
  ok(report.pages.maxRounds >= 1);
});

Deno.test("report: qemu's test is dirty bytes against bandwidth x downtime-limit, and the switch round meets it", async () => {
  const vm: TestVmOptions = {
    ramBytes: 4 * MiB,
    workingSetStart: 64,
    workingSetPages: 200,
    writeEvery: 100_000,
  };
  const src = new TestVm(vm);
  src.run(100_000);
  const { transport } = inProcessTransport({ createVm: () => TestVm.blank(vm) });
  const r = await new MigrationController(src).migrate(transport, { policy: "qemu", downtimeLimitMs: 1 });
  ok(r.ok);
  const report = buildMigrationReport(r.stats);
  equal(report.downtime.limitMs, 1);
  const precopy = report.rounds.filter((x) => !x.final);
  for (const x of precopy) {
    equal(x.test!.value, x.dirtyAfter * 4096);
    equal(x.test!.threshold, x.bandwidth * 1 / 1000);
    equal(x.test!.switchWhen, "<=");
  }
  const last = precopy[precopy.length - 1];
  ok(last.test!.value <= last.test!.threshold, "the round that switched over met the test");
  for (const x of precopy.slice(0, -1)) ok(x.test!.value > x.test!.threshold, `round ${x.round} did not`);
});

Deno.test("report: the HTML has one bar group per round, the lit cells, the labels, and nothing external", async () => {
  const vm: TestVmOptions = {
    ramBytes: 4 * MiB,
    workingSetStart: 100,
    workingSetPages: 40,
    writeEvery: 1000,
  };
  const { stats } = await migrate(vm, 50_000);
  const report = buildMigrationReport(stats, {
    guestName: "test <VM>",
    regions: [{ name: "working set", kind: "elf", start: 100 * 4096, end: 140 * 4096 }],
    equal: true,
  });
  const html = renderReportHtml(report);
  equal(heatGroup(1024), 1);
  equal(html.match(/<g class="round/g)?.length, 5);
  const cells = [...html.matchAll(/class="cell h\d+"[^>]*data-p="(\d+)"/g)].map((m) => Number(m[1]));
  deepEqual(cells, Array.from({ length: 40 }, (_, i) => 100 + i));
  ok(html.includes("test &#60;VM&#62;"), "text is escaped");
  ok(!/(src|href)=["']?(https?:|\/\/)/i.test(html), "no external resource");
  ok(!/@import|url\(/i.test(html), "no stylesheet fetches");
  equal(html.match(/<svg /g)?.length, html.match(/<title id=/g)?.length, "every chart has a title");
});

/** `_end` of an ELF by GNU nm (binutils), or null when nm is missing. */
function elfEnd(path: string): number | null {
  try {
    const out = new TextDecoder().decode(new Deno.Command("nm", { args: [path] }).outputSync().stdout);
    const m = /^([0-9a-f]+) [A-Za-z] _end$/m.exec(out);
    return m ? parseInt(m[1], 16) : null;
  } catch {
    return null;
  }
}

const MEMWRITE = new URL("../../guests/build/memwrite.elf", import.meta.url).pathname;
const MEMWRITE_END = elfEnd(MEMWRITE);
const NO_NM = MEMWRITE_END === null
  ? "ignored: GNU nm (binutils), which gives memwrite's _end, is not installed"
  : "";

Deno.test({
  name:
    `report: memwrite's working set and the boot page tables are exactly what every round dirtied ${NO_NM}`
      .trim(),
  ignore: NO_NM !== "",
  fn: async () => {
    const ram = 8 * MiB;
    const elf = Deno.readFileSync(MEMWRITE);
    // 64 pages, every pass writes all of them (rate = pages), forever.
    const src = Machine.fromElf(elf, { memory: ram, cmdline: "ws=256K rate=64 iters=0 quiet" });
    const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
      at: 1_000_000,
      policy: "xen",
    });
    ok(r.ok, r.error);
    const regions = guestMemoryMap(parseElf(elf, ram), ram, Number(src.cpu.getReg64(RSP)));
    const report = buildMigrationReport(r.stats, {
      guestName: "memwrite",
      regions,
      sourceInstructions: src.instructions,
    });
    // xen: 67 pages stay dirty (>= 50), so its 5-pass limit ends pre-copy.
    equal(report.totals.precopyRounds, 5);
    // The working set: the runtime's heap starts at the page after _end (guests/runtime/platform_hv.c);
    // the boot page tables: PML4 and the tables after it (boot protocol 1). With EPT A/D flags on, the
    // CPU's accesses to guest paging structures count as writes (Intel SDM Vol. 3C, 29.3.5), so every
    // round that runs the guest after a harvest dirties them again.
    const heap = Math.ceil(MEMWRITE_END! / 4096);
    const tables = [BOOT_PML4 / 4096, bootPageTablesEnd(ram) / 4096];
    deepEqual(report.pages.runs, [[tables[0], tables[1] - tables[0], 5], [heap, 64, 5]]);
    ok(report.regions.some((x) => x.kind === "page-tables" && x.start === BOOT_PML4));
    ok(report.regions.some((x) => x.kind === "stack" && x.end === ram));
    equal(report.regions.filter((x) => x.kind === "elf").length, parseElf(elf, ram).segments.length);
  },
});

Deno.test({
  name: `report: each diff snapshot of memwrite holds its working set and the page tables ${NO_NM}`.trim(),
  ignore: NO_NM !== "",
  fn: async () => {
    const ram = 8 * MiB;
    const elf = Deno.readFileSync(MEMWRITE);
    const m = Machine.fromElf(elf, { memory: ram, cmdline: "ws=256K rate=64 iters=0 quiet" });
    const dir = await Deno.makeTempDir();
    try {
      const c = new MigrationController(m);
      const chain: ChainSnapshot[] = [];
      for (const [k, at] of [1_000_000, 2_000_000, 3_000_000, 4_000_000].entries()) {
        m.run(at - m.instructions);
        const file = `${dir}/s${k}`;
        const r = await snapshotToFile(c, file, { diff: true });
        ok(r.ok, r.error);
        chain.push({ stats: r.stats, file, at: m.instructions });
      }
      const report = buildSnapshotReport(chain, { guestName: "memwrite" });
      equal(report.kind, "snapshots");
      // Between two snapshots the guest makes many passes over its 64 pages (the runtime's heap, from
      // the page after _end) and walks its page tables (written under EPT A/D: SDM Vol. 3C, 29.3.5).
      const heap = Math.ceil(MEMWRITE_END! / 4096);
      const tables = [BOOT_PML4 / 4096, bootPageTablesEnd(ram) / 4096];
      deepEqual(report.pages.runs, [[tables[0], tables[1] - tables[0], 3], [heap, 64, 3]]);
      deepEqual(report.rounds.map((r) => r.dirtied), [0, 67, 67, 67]);
      deepEqual(report.rounds.map((r) => r.pages), [2048, 67, 67, 67]);
      deepEqual(report.rounds.map((r) => r.instructions), [0, 1_000_000, 1_000_000, 1_000_000]);
      const html = renderReportHtml(report);
      equal(html.match(/<g class="round/g)?.length, 4);
      ok(html.includes("diff snapshot 3"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

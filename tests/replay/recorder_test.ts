import assert from "node:assert/strict";
import { readManifest } from "../../guests/build.ts";
import { Machine, parseSize } from "../../src/vm/mod.ts";
import {
  assertSameRun,
  type PauseContext,
  readLog,
  recordGuest,
  recordGuestAsync,
  replayGuest,
  runGuest,
} from "../../src/replay/mod.ts";
import { pausedVm } from "../../src/replay/recorder.ts";
import { inProcessTransport, MigrationController, SimulatedLink } from "../../src/migration/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const read = (p: string) => Deno.readFileSync(ROOT + p);
const manifest = await readManifest(ROOT.replace(/\/$/, ""));
const SORT = read("guests/build/sort-O3.elf");

/** Every sample run, capped so the suite stays fast. */
const CAP = 1_000_000;

for (const run of manifest.runs.filter((r) => !r.benchmark)) {
  Deno.test(`recordGuest() and replayGuest() round-trip the ${run.name} guest run`, () => {
    const elf = read(run.elf);
    const opts = { memory: parseSize(run.memory), cmdline: run.cmdline, maxInstructions: CAP };
    const plain = runGuest(elf, opts);
    // Without a log two runs are identical.
    assertSameRun(plain, runGuest(elf, opts), ["run", "run again"]);
    // Small intervals, so that every kind of point and several checkpoints occur.
    const rec = recordGuest(elf, {
      ...opts,
      checkpointInterval: 300_000,
      traceInterval: 4096,
      memoryInterval: 32768,
    });
    assertSameRun(plain, rec.result, ["plain", "recorded"]);
    const rep = replayGuest(rec.log!, elf);
    assert.equal(rep.divergence?.report, undefined);
    assert.ok(rep.ok);
    assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
    assert.equal(rep.checkpointsVerified, Math.ceil(plain.instructions / 300_000) || 1);
  });
}

Deno.test("recordGuest() pauses continue on a migrated machine; the log marks them and replays", () => {
  const cmdline = "n=2000 seed=3";
  const plain = runGuest(SORT, { cmdline });
  const moved: number[] = [];
  const migrate = (ctx: PauseContext): Machine => {
    // What a migration does, in its simplest form: every page and the non-RAM state, into a new machine.
    const src = ctx.machine, dst = new Machine(ctx.machineOptions);
    const page = new Uint8Array(4096);
    ctx.takeDirtyLog();
    for (let pfn = 0; pfn < src.ramBytes / 4096; pfn++) {
      src.readPage(pfn, page);
      dst.writePage(pfn, page);
    }
    dst.restoreState(src.saveState());
    moved.push(src.instructions);
    return dst;
  };
  const rec = recordGuest(SORT, {
    cmdline,
    checkpointInterval: 1_000_000,
    pauses: [{ at: 1_234_567, label: "migration 1", action: migrate }, {
      at: 2_000_001,
      label: "migration 2",
      action: migrate,
    }],
  });
  assert.deepEqual(moved, [1_234_567, 2_000_001]);
  assertSameRun(plain, rec.result, ["plain", "recorded while migrating"]);
  const log = readLog(rec.log!);
  assert.deepEqual(log.marks, [{ icount: 1_234_567, label: "migration 1" }, {
    icount: 2_000_001,
    label: "migration 2",
  }]);
  const rep = replayGuest(rec.log!, SORT);
  assert.ok(rep.ok, rep.divergence?.report);
  assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
});

Deno.test("recordGuestAsync() records a run that live-migrates (pre-copy) to a second machine; the replay matches", async () => {
  const cmdline = "n=2000 seed=3";
  const plain = runGuest(SORT, { cmdline });
  let stats: { rounds: number; switchedAt: number } | null = null;
  const rec = await recordGuestAsync(SORT, {
    cmdline,
    checkpointInterval: 1_000_000,
    pauses: [{
      at: 1_500_000,
      label: "live migration",
      action: async (ctx) => {
        const pair = inProcessTransport({
          createVm: () => new Machine(ctx.machineOptions),
          expectRamBytes: ctx.machine.ramBytes,
        });
        // A slow link, so that the guest runs on between pre-copy rounds.
        const link = new SimulatedLink({ bandwidth: 20_000_000 });
        const r = await new MigrationController(pausedVm(ctx)).migrate(pair.transport, { link });
        assert.ok(r.ok, String(r.error ?? ""));
        const dst = (await pair.destination).vm as Machine;
        stats = { rounds: r.stats.dirtySyncCount, switchedAt: dst.instructions };
        return dst;
      },
    }],
  });
  assert.ok(stats !== null);
  const { rounds, switchedAt } = stats as { rounds: number; switchedAt: number };
  assert.ok(rounds >= 2, `pre-copy rounds: ${rounds}`);
  assert.ok(switchedAt > 1_500_000, "the guest ran on during pre-copy");
  assertSameRun(plain, rec.result, ["plain", "recorded while migrating"]);
  assert.deepEqual(readLog(rec.log!).marks, [{ icount: switchedAt, label: "live migration" }]);
  const rep = replayGuest(rec.log!, SORT);
  assert.ok(rep.ok, rep.divergence?.report);
  assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
});

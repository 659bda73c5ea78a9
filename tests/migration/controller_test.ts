import { deepEqual, equal, ok, throws } from "node:assert/strict";
import type { MigrateOptions } from "../../src/migration/controller.ts";
import { MigrationController } from "../../src/migration/controller.ts";
import { faultyTransport } from "../../src/migration/fault.ts";
import { SimulatedLink } from "../../src/migration/link.ts";
import { seedPolicy } from "../../src/migration/policies.ts";
import type { ReceiveResult } from "../../src/migration/receiver.ts";
import { importStreamKey } from "../../src/migration/stream.ts";
import { inProcessTransport, memoryTransport } from "../../src/migration/transport.ts";
import type { StateSection } from "../../src/migration/vm_interface.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { diffVms, runToEnd, TestVm } from "./_test_vm.ts";

const MiB = 1 << 20;

/** A TestVm that records what migration does to it: pages read per sync period, logs handed out. */
class RecordingVm extends TestVm {
  /** Pages read since each takeDirtyLog(), one list per period. */
  reads: number[][] = [[]];
  /** The page sets handed out by takeDirtyLog(). */
  logs: number[][] = [];
  /** Instructions retired when saveState() was called, and at the last takeDirtyLog(). */
  atSave = -1;
  atLastTake = -1;
  override readPage(pfn: number, dst: Uint8Array): void {
    this.reads[this.reads.length - 1].push(pfn);
    super.readPage(pfn, dst);
  }
  override takeDirtyLog(): Uint32Array {
    const log = super.takeDirtyLog();
    const pages: number[] = [];
    for (let p = 0; p < log.length * 32; p++) if ((log[p >>> 5] >>> (p & 31)) & 1) pages.push(p);
    this.logs.push(pages);
    this.reads.push([]);
    this.atLastTake = this.instructions;
    return log;
  }
  /** Whether dirty tracking was on when saveState() was called. */
  trackingAtSave: boolean | undefined;
  override saveState(): StateSection[] {
    this.atSave = this.instructions;
    this.trackingAtSave = this.tracking;
    return super.saveState();
  }
}

/** Migrate a fresh VM after `at` instructions; run both copies to the end; return everything. */
async function migrateAt(vmOpts: TestVmOptions, at: number, opts: MigrateOptions = {}, recording = false) {
  const src = recording ? new RecordingVm(vmOpts) : new TestVm(vmOpts);
  src.run(at);
  const c = new MigrationController(src);
  let created = 0;
  const { transport, destination } = inProcessTransport({
    createVm: () => {
      created++;
      return TestVm.blank(vmOpts);
    },
    key: opts.key,
  });
  const result = await c.migrate(transport, opts);
  let dest: ReceiveResult | undefined;
  try {
    dest = await destination;
  } catch { /* refused: checked by callers */ }
  const ref = new TestVm(vmOpts);
  return { src, c, result, dest, ref, created };
}

const SMALL: TestVmOptions = { ramBytes: 4 * MiB, workingSetPages: 300, writeEvery: 5000, endAt: 50_000_000 };

Deno.test("MigrationController.migrate() ends equal to a run that never moved", async () => {
  const key = await importStreamKey(new TextEncoder().encode("0123456789abcdef0123"));
  const table: [string, TestVmOptions, number, MigrateOptions][] = [
    ["qemu, at start", SMALL, 0, {}],
    ["qemu, mid-run", SMALL, 12_345_677, {}],
    ["seed policy", SMALL, 1_000_001, { policy: "seed" }],
    ["xen policy", SMALL, 3_000_000, { policy: "xen" }],
    ["slow link + latency", SMALL, 7, { link: new SimulatedLink({ bandwidth: 20 * MiB, latencyMs: 5 }) }],
    ["authenticated", SMALL, 99, { key }],
    ["one page per record", { ...SMALL, ramBytes: MiB, workingSetPages: 100 }, 5, { pagesPerRecord: 1 }],
    ["near the end", SMALL, 49_999_999, {}],
  ];
  for (const [name, vmOpts, at, opts] of table) {
    const { result, dest, ref, created } = await migrateAt(vmOpts, at, opts);
    ok(result.ok, `${name}: ${result.error?.message}`);
    equal(result.state, "Complete");
    equal(created, 1);
    const d = dest!.vm as TestVm;
    runToEnd(d);
    runToEnd(ref);
    equal(diffVms(d, ref), "", name);
    equal(d.instructions, vmOpts.endAt);
  }
});

Deno.test("migrate() round 0 sends every page, zero pages as a flag; an idle guest needs no more rounds", async () => {
  const vmOpts: TestVmOptions = { ramBytes: 2 * MiB, workingSetPages: 0, writeEvery: 1, bootStride: 3 };
  const { result, src } = await migrateAt(vmOpts, 0, { link: new SimulatedLink({ bandwidth: 10 * MiB }) });
  const s = result.stats;
  const pages = 512;
  const nonZero = Math.ceil(pages / 3); // bootStride 3: pages 0, 3, 6, ...
  deepEqual(s.pagesPerRound, [pages, 0]);
  equal(s.duplicate, pages - nonZero);
  equal(s.normal, nonZero);
  equal(s.normalBytes, nonZero * 4096);
  equal(s.precopyRounds, 1);
  equal(s.switchoverReason, "no dirty pages left");
  // Wire size from the format: header 32; records of 64 pages: 16 + 4 + 64*4 + data each;
  // two round records 16+8; state section 16 + 8 + "test-vm" + 40; end 16+16.
  const records = pages / 64;
  const expected = 32 + 2 * 24 + records * (16 + 4 + 64 * 4) + nonZero * 4096 + (16 + 8 + 7 + 40) + 32;
  equal(s.transferred, expected);
  equal(s.total, 2 * MiB);
  equal(s.remaining, 0);
  equal(s.dirtySyncCount, 3, "setup sync, end of round 0, final harvest");
  // Downtime: the final round record, the state section and the end record at 10 MiB/s.
  const downBytes = 24 + (16 + 8 + 7 + 40) + 32;
  ok(Math.abs(s.downtime - downBytes / (10 * MiB) * 1000) < 1e-9, `downtime ${s.downtime}`);
  ok(Math.abs(s.totalTime - expected / (10 * MiB) * 1000) < 1e-9, `total ${s.totalTime}`);
  // the guest ran for exactly as long as the pre-copy records took on the link (1 GHz virtual clock)
  const precopyBytes = 24 + records * (16 + 4 + 64 * 4) + nonZero * 4096;
  ok(Math.abs(src.instructions - precopyBytes / (10 * MiB) * 1e9) <= 1, `ran ${src.instructions}`);
});

Deno.test("migrate() later rounds send exactly the pages the guest wrote meanwhile; the guest runs between rounds only", async () => {
  // about half as many page writes per round as the round sends: rounds shrink geometrically
  const vmOpts: TestVmOptions = {
    ramBytes: 8 * MiB,
    workingSetPages: 1500,
    writeEvery: 156_250,
    bootStride: 1,
  };
  const { result, src } = await migrateAt(vmOpts, 0, {
    policy: seedPolicy({ thresholdPercent: 10 }),
    link: new SimulatedLink({ bandwidth: 50 * MiB }),
  }, true);
  ok(result.ok, result.error?.message);
  const vm = src as RecordingVm;
  // Tracking starts with a clean log; logs[k] is taken at the end of round k; the last one is the
  // final harvest. reads[k] are the pages read before logs[k]: round k; reads[L] is the final pass.
  const L = vm.logs.length;
  deepEqual(vm.reads[0], Array.from({ length: 2048 }, (_, i) => i), "round 0 reads every page in order");
  for (let k = 1; k < L - 1; k++) {
    deepEqual(
      vm.reads[k],
      vm.logs[k - 1],
      `round ${k} sends exactly what the guest wrote during round ${k - 1}`,
    );
  }
  deepEqual(vm.reads[L - 1], [], "switchover right after the last pre-copy sync");
  deepEqual(vm.logs[L - 1], [], "the guest did not run between the last pre-copy sync and the final harvest");
  deepEqual(vm.reads[L], vm.logs[L - 2], "the final pass sends what was dirty at switchover");
  equal(result.stats.dirtySyncCount, L + 1, "QEMU counts the setup sync too");
  const rounds = result.stats.pagesPerRound;
  equal(rounds.length, L);
  ok(rounds.length >= 3, `several rounds: ${rounds}`);
  equal(vm.atSave, vm.atLastTake, "the guest does not run after the final harvest");
  equal(vm.trackingAtSave, false, "the state is saved with dirty tracking off (host state, not guest state)");
  equal(vm.tracking, false);
  ok(vm.atLastTake > 0, "the guest ran during pre-copy");
  equal(result.stats.guestInstructions, vm.instructions);
});

Deno.test("migrate() with the seed policy keeps going past round 1 and sends more than 256 pages a round (seed defects)", async () => {
  // A page takes 4096 / 100 MiB/s = 39.06 us on the link; 12800 writes/s (every 78125 instructions at
  // 1 GHz) dirty half as many pages as a round sends, so each round halves the next.
  const vmOpts: TestVmOptions = {
    ramBytes: 16 * MiB,
    workingSetPages: 3000,
    writeEvery: 78_125,
    bootStride: 1,
  };
  const { result } = await migrateAt(vmOpts, 0, {
    policy: "seed",
    link: new SimulatedLink({ bandwidth: 100 * MiB }),
  });
  ok(result.ok);
  const p = result.stats.pagesPerRound;
  equal(p[0], 4096);
  ok(result.stats.precopyRounds > 2, `pre-copy ran ${result.stats.precopyRounds} rounds: ${p}`);
  ok(p[1] > 256, `round 1 sent ${p[1]} pages`);
  // each continued round shrank by at least 20 %; the last pre-copy round did not
  const n = result.stats.precopyRounds;
  for (let i = 2; i < n; i++) ok(p[i] * 100 <= p[i - 1] * 80, `round ${i}: ${p[i]} vs ${p[i - 1]}`);
  ok(/less than 20 %|no dirty pages/.test(result.stats.switchoverReason), result.stats.switchoverReason);
  // round 0 on the wire: 4096 pages of data + descriptors, 64 record headers, the round record
  const round0 = 4096 * 4096 + 4096 * 4 + 64 * (16 + 4) + 24;
  const writes = Math.floor(Math.floor(round0 / (100 * MiB) * 1e9) / 78_125);
  ok(Math.abs(p[1] - writes) <= 1, `round 1 sends the ${writes} pages written during round 0, not ${p[1]}`);
});

Deno.test("migrate() with the xen policy stops after 5 passes or under 50 dirty pages", async () => {
  const busy: TestVmOptions = { ramBytes: 4 * MiB, workingSetPages: 800, writeEvery: 100 };
  const r1 = (await migrateAt(busy, 0, { policy: "xen" })).result;
  equal(r1.stats.precopyRounds, 5);
  equal(r1.stats.switchoverReason, "5 passes done");
  const quiet: TestVmOptions = { ramBytes: 4 * MiB, workingSetPages: 40, writeEvery: 100 };
  const r2 = (await migrateAt(quiet, 0, { policy: "xen" })).result;
  equal(r2.stats.precopyRounds, 1);
  equal(r2.stats.switchoverReason, "fewer than 50 dirty pages (40)");
});

Deno.test("migrate() with qemu's policy switches over only once the dirty bytes fit bandwidth x downtime-limit", async () => {
  // 600 pages rewritten continuously = 2.4 MiB; at 10 MiB/s a 300 ms limit allows 3 MiB, 100 ms only 1 MiB.
  const vmOpts: TestVmOptions = { ramBytes: 8 * MiB, workingSetPages: 600, writeEvery: 1000 };
  const link = () => new SimulatedLink({ bandwidth: 10 * MiB });
  const fits = (await migrateAt(vmOpts, 0, { link: link() })).result;
  ok(fits.ok);
  equal(fits.stats.precopyRounds, 1);
  ok(fits.stats.downtime <= 300, `downtime ${fits.stats.downtime}`);
  const tight = (await migrateAt(vmOpts, 0, {
    link: link(),
    downtimeLimitMs: 100,
    autoConverge: false,
    maxPasses: 6,
  })).result;
  equal(tight.stats.switchoverReason, "safety limit of 6 passes");
  ok(tight.stats.expectedDowntime > 100, `expected downtime ${tight.stats.expectedDowntime}`);
});

Deno.test("migrate() auto-converge throttles a guest that dirties faster than the link, so it finishes", async () => {
  // 5000 page writes per virtual second vs a 10 MB/s link (2441 pages/s): pre-copy cannot converge
  // until the guest is held back by more than half.
  const vmOpts: TestVmOptions = { ramBytes: 16 * MiB, workingSetPages: 2048, writeEvery: 200_000 };
  const link = () => new SimulatedLink({ bandwidth: 10_000_000 });
  const stuck = (await migrateAt(vmOpts, 0, { link: link(), autoConverge: false, maxPasses: 30 })).result;
  equal(stuck.stats.switchoverReason, "safety limit of 30 passes");
  const seen: number[] = [];
  const { result, dest, ref, src } = await migrateAt(vmOpts, 0, {
    link: link(),
    maxPasses: 200,
    onProgress: (p) => {
      if (seen[seen.length - 1] !== p.throttlePercent) seen.push(p.throttlePercent);
    },
  });
  ok(result.ok, result.error?.message);
  ok(/fit in bandwidth x downtime-limit/.test(result.stats.switchoverReason), result.stats.switchoverReason);
  ok(result.stats.cpuThrottlePercentage >= 50, `throttle ${result.stats.cpuThrottlePercentage}`);
  deepEqual(seen.slice(0, 3), [0, 20, 30], "starts at 20 %, +10 % steps");
  equal(src.throttle, 0, "throttle lifted at the end");
  // the migrated guest still computes the same
  const d = dest!.vm as TestVm;
  ref.run(d.instructions);
  equal(diffVms(d, ref), "");
});

Deno.test("migrate() reports progress that reaches 100 % (seed defect: progress never updated)", async () => {
  const percents: number[] = [];
  const states = new Set<string>();
  const { result } = await migrateAt(SMALL, 0, {
    progressEveryRecords: 4,
    onProgress: (p) => {
      percents.push(p.percent);
      states.add(p.state);
    },
  });
  ok(result.ok);
  ok(percents.length > 5);
  ok(percents.some((p) => p > 0 && p < 100), "intermediate progress");
  equal(percents[percents.length - 1], 100);
  deepEqual([...states], ["PreCopy", "StopAndCopy", "Completing"]);
});

Deno.test("migrate() is deterministic: the same statistics on every run", async () => {
  const opts = () => ({ link: new SimulatedLink({ bandwidth: 30 * MiB, latencyMs: 2 }) });
  const a = (await migrateAt(SMALL, 1_000_000, opts())).result.stats;
  const b = (await migrateAt(SMALL, 1_000_000, opts())).result.stats;
  // All but the wall-clock moments of pause and confirmation, which no simulated link fixes.
  ok(a.pausedAtWallMs > 0 && a.confirmedAtWallMs >= a.pausedAtWallMs);
  deepEqual({ ...a, pausedAtWallMs: 0, confirmedAtWallMs: 0 }, {
    ...b,
    pausedAtWallMs: 0,
    confirmedAtWallMs: 0,
  });
});

Deno.test("a failed migration leaves the source running; it finishes equal and can migrate again", async () => {
  const table: [
    string,
    (t: ReturnType<typeof inProcessTransport>["transport"]) => ReturnType<typeof faultyTransport>,
  ][] = [
    ["connection drop in round 0", (t) => faultyTransport(t, { dropAtByte: 300_000 })],
    ["connection drop in the header", (t) => faultyTransport(t, { dropAtByte: 10 })],
    ["corrupt record 4", (t) => faultyTransport(t, { corruptChunk: 5 })],
    ["corrupt record 17", (t) => faultyTransport(t, { corruptChunk: 18 })],
    [
      "confirmation lost",
      (t) => faultyTransport(t, { refuseConfirmation: "destination refused (injected)" }),
    ],
  ];
  for (const [name, wrap] of table) {
    const src = new TestVm(SMALL);
    src.run(2_000_000);
    const c = new MigrationController(src);
    let created = 0;
    const pair = inProcessTransport({
      createVm: () => {
        created++;
        return TestVm.blank(SMALL);
      },
    });
    const r = await c.migrate(wrap(pair.transport));
    equal(r.ok, false, name);
    equal(r.state, "Failed");
    equal(c.state, "Failed");
    ok(r.error!.message.length > 0);
    if (name !== "confirmation lost") equal(created, 0, `${name}: the destination never built a VM`);
    equal(src.throttle, 0);
    // the source continues, then migrates again successfully
    src.run(5_000_000);
    const again = inProcessTransport({ createVm: () => TestVm.blank(SMALL) });
    const r2 = await c.migrate(again.transport);
    ok(r2.ok, `${name}: retry ${r2.error?.message}`);
    const d = (await again.destination).vm as TestVm;
    runToEnd(d);
    const ref = new TestVm(SMALL);
    runToEnd(ref);
    equal(diffVms(d, ref), "", name);
  }
});

Deno.test("a destination that refuses the state never runs and the source finishes", async () => {
  const src = new TestVm(SMALL);
  src.run(1000);
  const c = new MigrationController(src);
  const pair = inProcessTransport({ createVm: () => TestVm.blank({ ...SMALL, stateVersion: 2 }) });
  const r = await c.migrate(pair.transport);
  equal(r.ok, false);
  ok(
    /Destination refused the VM state: state section "test-vm" has version 1, expected 2/.test(
      r.error!.message,
    ),
  );
  runToEnd(src);
  const ref = new TestVm(SMALL);
  runToEnd(ref);
  equal(diffVms(src, ref), "");
});

Deno.test("a failed attempt merges its dirty bits back (nothing is lost for a later diff snapshot)", async () => {
  const vmOpts: TestVmOptions = { ramBytes: 4 * MiB, workingSetPages: 100, writeEvery: 1000 };
  for (const fault of [{ dropAtByte: 500_000 }, { refuseConfirmation: "no (injected)" }]) {
    const src = new TestVm(vmOpts);
    const c = new MigrationController(src);
    // a first snapshot makes a base, so retained is empty afterwards
    ok((await c.snapshot(memoryTransport().transport, { diff: true })).ok);
    equal(c.retained.count(), 0);
    src.run(10_000); // writes pages 16..25
    const pair = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
    const r = await c.migrate(faultyTransport(pair.transport, fault));
    equal(r.ok, false);
    ok(src.logTakes > 2 || "dropAtByte" in fault, "the confirmation case took logs during pre-copy");
    equal(src.tracking, true, "tracking is on again after the failure");
    // Every page written since the snapshot, before or during the failed attempt, is either back in
    // retained or still in the VM's log; a diff snapshot now holds exactly those pages.
    const written = new Set<number>();
    for (let k = 0; k < src.writes; k++) written.add(16 + (k % 100));
    const diff = memoryTransport();
    const d = await c.snapshot(diff.transport, { diff: true });
    ok(d.ok);
    equal(d.stats.pagesPerRound[0], written.size, JSON.stringify(fault));
  }
});

Deno.test("MigrationController refuses to run twice at once or to migrate a VM that moved", async () => {
  const src = new TestVm(SMALL);
  const c = new MigrationController(src);
  const p1 = inProcessTransport({ createVm: () => TestVm.blank(SMALL) });
  const p2 = inProcessTransport({ createVm: () => TestVm.blank(SMALL) });
  const first = c.migrate(p1.transport);
  let second: Error | undefined;
  await c.migrate(p2.transport).catch((e) => (second = e));
  ok(/Illegal migration transition Setup -> Setup/.test(second!.message), second?.message);
  // a snapshot while the migration runs is refused before it touches the dirty log
  const takes = src.logTakes;
  await c.snapshot(memoryTransport().transport).then(
    () => ok(false),
    (e) => ok(/Illegal migration transition/.test(e.message)),
  );
  equal(src.logTakes, takes);
  ok((await first).ok);
  await c.migrate(p2.transport).then(() => ok(false), (e) => ok(/already migrated away/.test(e.message)));
  throws(() => c.cancel(), /Cannot cancel a migration in state Complete/);
});

Deno.test("MigrationController.cancel() stops a migration; the source resumes and can migrate again", async () => {
  const src = new TestVm(SMALL);
  const c = new MigrationController(src);
  let created = 0;
  const pair = inProcessTransport({
    createVm: () => {
      created++;
      return TestVm.blank(SMALL);
    },
  });
  let calls = 0;
  const r = await c.migrate(pair.transport, {
    progressEveryRecords: 1,
    onProgress: () => {
      if (++calls === 10) c.cancel("operator cancelled");
    },
  });
  equal(r.ok, false);
  equal(r.state, "Cancelled");
  equal(r.stats.error, "operator cancelled");
  equal(created, 0);
  const again = inProcessTransport({ createVm: () => TestVm.blank(SMALL) });
  ok((await c.migrate(again.transport)).ok);
});

/** A VM with a dirty-tracking bug: writes to one page never reach the dirty log. */
class LeakyVm extends TestVm {
  override takeDirtyLog(): Uint32Array {
    const log = super.takeDirtyLog();
    log[20 >>> 5] &= ~(1 << (20 & 31));
    return log;
  }
}

Deno.test("migrate({ verify: true }) catches a write the dirty log missed; without it the copy is silently wrong", async () => {
  const vmOpts: TestVmOptions = { ...SMALL, workingSetPages: 10, writeEvery: 10_000 };
  const run = async (verify: boolean) => {
    const src = new LeakyVm(vmOpts);
    src.run(5_000);
    const pair = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
    const r = await new MigrationController(src).migrate(pair.transport, { verify });
    return { r, src, dest: r.ok ? (await pair.destination).vm as TestVm : undefined };
  };
  const silent = await run(false);
  ok(silent.r.ok);
  ok(/page 20/.test(diffVms(silent.dest!, silent.src)), "page 20 is stale on the destination");
  const caught = await run(true);
  equal(caught.r.ok, false);
  ok(
    /Verification failed: page 20 as received differs/.test(caught.r.error!.message),
    caught.r.error!.message,
  );
  // a correct VM passes verification, and the verify pass is counted
  const pair = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
  const good = new TestVm(vmOpts);
  good.run(5_000);
  const r = await new MigrationController(good).migrate(pair.transport, { verify: true });
  ok(r.ok, r.error?.message);
  equal((await pair.destination).verifyRecords, 1024 / 64);
  ok(r.stats.verifyBytes > 0);
});

Deno.test("migrate({ stopAt }) switches over at exactly that instruction, before or after the policy would", async () => {
  const vmOpts: TestVmOptions = { ...SMALL, workingSetPages: 500, writeEvery: 777 };
  // 4 MiB at 1 Gbit/s: round 0 takes ~2.4 ms = ~2.4 M instructions
  for (const stopAt of [1, 1_000_003, 2_345_679, 40_000_001]) {
    const src = new RecordingVm(vmOpts);
    const pair = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
    const r = await new MigrationController(src).migrate(pair.transport, { stopAt, policy: "xen" });
    ok(r.ok, r.error?.message);
    equal(src.atSave, Math.min(stopAt, vmOpts.endAt!), `stopAt ${stopAt}`);
    ok(
      r.stats.switchoverReason.startsWith(`reached stop-at ${stopAt}`) || stopAt > vmOpts.endAt!,
      r.stats.switchoverReason,
    );
    const d = (await pair.destination).vm as TestVm;
    equal(d.instructions, Math.min(stopAt, vmOpts.endAt!));
    runToEnd(d);
    const ref = new TestVm(vmOpts);
    runToEnd(ref);
    equal(diffVms(d, ref), "");
  }
  const c = new MigrationController(new TestVm(SMALL));
  await c.migrate(inProcessTransport({ createVm: () => TestVm.blank(SMALL) }).transport, { stopAt: -1 }).then(
    () => ok(false),
    (e) => ok(/stopAt is -1/.test(e.message)),
  );
});

Deno.test("failure at every step: each record corrupted, the connection dropped at every record boundary", async () => {
  const vmOpts: TestVmOptions = {
    ramBytes: 1 << 20,
    workingSetPages: 40,
    writeEvery: 2000,
    endAt: 5_000_000,
  };
  const ref = new TestVm(vmOpts);
  runToEnd(ref);
  // a clean run tells where the chunk boundaries are (the simulation is deterministic)
  const bounds: number[] = [];
  {
    const src = new TestVm(vmOpts);
    src.run(100_000);
    const pair = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
    const inner = pair.transport;
    let at = 0;
    const counting = {
      ...inner,
      sink: { ...inner.sink, write: (c: Uint8Array) => (bounds.push(at += c.length), inner.sink.write(c)) },
    };
    ok((await new MigrationController(src).migrate(counting, { pagesPerRecord: 16 })).ok);
  }
  ok(bounds.length > 10, `${bounds.length} chunks`);
  const faults = [
    ...bounds.map((_, k) => ({ corruptChunk: k })),
    ...bounds.flatMap((b, k) => [{ dropAtByte: b - 1 }, { dropAtByte: (b + (bounds[k - 1] ?? 0)) >> 1 }]),
    { refuseConfirmation: "destination said no (injected)" },
  ];
  for (const fault of faults) {
    const src = new TestVm(vmOpts);
    src.run(100_000);
    let created = 0;
    const pair = inProcessTransport({
      createVm: () => {
        created++;
        return TestVm.blank(vmOpts);
      },
    });
    const c = new MigrationController(src);
    const r = await c.migrate(faultyTransport(pair.transport, fault), { pagesPerRecord: 16 });
    const name = JSON.stringify(fault);
    equal(r.ok, false, name);
    equal(c.state, "Failed", name);
    if (!("refuseConfirmation" in fault)) equal(created, 0, `${name}: nothing partial was built`);
    runToEnd(src);
    equal(diffVms(src, ref), "", `${name}: the source finishes as if nothing happened`);
  }
});

/** A TestVm whose dirty pages are all zero when migration reads them (they go as small zero records). */
class ZeroingVm extends TestVm {
  override takeDirtyLog(): Uint32Array {
    const log = super.takeDirtyLog();
    for (let p = 0; p < log.length * 32; p++) {
      if ((log[p >>> 5] >>> (p & 31)) & 1) this.ram.fill(0, p * 4096, (p + 1) * 4096);
    }
    return log;
  }
}

Deno.test("migrate() downtime is never below its lower bound, also when the pages dirty at the stop are zero pages", async () => {
  const vmOpts: TestVmOptions = {
    ramBytes: 4 * MiB,
    workingSetPages: 400,
    writeEvery: 2000,
    endAt: 50_000_000,
  };
  for (const latencyMs of [0, 5]) {
    const bandwidth = 20 * MiB;
    const src = new ZeroingVm(vmOpts);
    src.run(1_000_000);
    const { transport, destination } = inProcessTransport({ createVm: () => TestVm.blank(vmOpts) });
    const link = new SimulatedLink({ bandwidth, latencyMs });
    const result = await new MigrationController(src).migrate(transport, { link, policy: "seed" });
    await destination;
    ok(result.ok, result.error?.message);
    const s = result.stats;
    const atStop = s.pagesPerRound[s.pagesPerRound.length - 1];
    ok(atStop > 0, "pages were dirty at the stop");
    // counted as whole pages, the bound would exceed the downtime: the case this guards
    ok(atStop * 4096 / bandwidth * 1000 > s.downtime, `${atStop} pages, downtime ${s.downtime}`);
    ok(s.downtimeLowerBound > latencyMs, `bound ${s.downtimeLowerBound}`);
    ok(s.downtimeLowerBound <= s.downtime + 1e-9, `downtime ${s.downtime} < bound ${s.downtimeLowerBound}`);
  }
});

import { equal, ok, rejects } from "node:assert/strict";
import {
  inspectFile,
  migrateInProcess,
  migrateToTcp,
  receiveFromTcp,
  restoreFromFiles,
  snapshotToFile,
} from "../../src/migration/mod.ts";
import { formatProgress, formatSummary } from "../../src/cli/_migrate_format.ts";
import { Machine } from "../../src/vm/mod.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { diffVms, runToEnd, TestVm } from "./_test_vm.ts";

const OPTS: TestVmOptions = { ramBytes: 4 << 20, workingSetPages: 300, writeEvery: 3000, endAt: 30_000_000 };

Deno.test("migrateInProcess() runs the source to --at, migrates, and returns the loaded destination", async () => {
  const src = new TestVm(OPTS);
  const r = await migrateInProcess(src, TestVm.blank(OPTS), { at: 1_000_000, bandwidth: 50e6, latencyMs: 1 });
  ok(r.ok, r.error);
  ok(src.instructions >= 1_000_000);
  const d = r.destination as TestVm;
  runToEnd(d);
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  equal(diffVms(d, ref), "");
  equal(r.json["status"], "completed");
  const ram = r.json["ram"] as Record<string, number>;
  equal(ram["total"], 4 << 20);
  ok(formatSummary(r.stats).includes("round  pages"));
  ok(/^\[#+\.*\] +100\.0% {2}Completing round 1/.test(formatProgress({
    state: "Completing",
    round: 1,
    transferred: 10,
    remaining: 0,
    percent: 100,
    bandwidth: 125e6,
    etaMs: 0,
    throttlePercent: 0,
    elapsedMs: 5,
  })));
});

Deno.test("migrateInProcess() to a destination of another size fails, names both sizes, and the source runs on", async () => {
  const src = new TestVm(OPTS);
  const r = await migrateInProcess(src, TestVm.blank({ ...OPTS, ramBytes: 8 << 20 }), { at: 10 });
  equal(r.ok, false);
  ok(/Destination VM has 8 MiB of RAM but the stream is for 4 MiB/.test(r.error!), r.error);
  equal(r.destination, undefined);
  runToEnd(src);
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  equal(diffVms(src, ref), "");
});

Deno.test("migrateToTcp()/receiveFromTcp() move a VM over loopback", async () => {
  const src = new TestVm(OPTS);
  let port = 0;
  const listening = Promise.withResolvers<void>();
  const dest = receiveFromTcp(TestVm.blank(OPTS), {
    port: 0,
    onListening: (_h, p) => {
      port = p;
      listening.resolve();
    },
  });
  await listening.promise;
  const r = await migrateToTcp(src, { port, at: 500_000, clockHz: 1e7 });
  ok(r.ok, r.error);
  const d = (await dest).vm as TestVm;
  runToEnd(d);
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  equal(diffVms(d, ref), "");
});

Deno.test("snapshotToFile(), inspectFile() and restoreFromFiles() work together", async () => {
  const dir = await Deno.makeTempDir();
  const src = new TestVm(OPTS);
  src.run(2_000_000);
  ok((await snapshotToFile(src, `${dir}/s`)).ok);
  const lines: string[] = [];
  const s = await inspectFile(`${dir}/s`, { write: (l) => lines.push(l), summaryOnly: true });
  ok(s.ok);
  equal(lines.length, 2);
  const r = await restoreFromFiles(TestVm.blank(OPTS), `${dir}/s`, { expectRamBytes: OPTS.ramBytes });
  equal(diffVms(r.vm as TestVm, src), "");
  await rejects(inspectFile(`${dir}/none`), /Cannot read .*none/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("migrateInProcess() moves a real Machine running memwrite; it ends equal to the unmigrated run", async () => {
  const elf = await Deno.readFile(new URL("../../guests/build/memwrite.elf", import.meta.url));
  const make = () => Machine.fromElf(elf, { memory: 8 << 20, cmdline: "ws=1M iters=300 rate=32 quiet" });
  const ref = make();
  ref.runToEnd();
  for (const at of [0, 7_777, Math.floor(ref.instructions / 2) + 1]) {
    const r = await migrateInProcess(make(), (h) => new Machine({ memory: h.ramBytes }), {
      at,
      bandwidth: 20e6,
    });
    ok(r.ok, r.error);
    const d = r.destination as Machine;
    d.runToEnd();
    equal(d.instructions, ref.instructions, `at ${at}`);
    equal(d.consoleText(), ref.consoleText());
    equal(d.digest(), ref.digest());
  }
});

Deno.test("migrateInProcess({ stopAt }) stops a real guest at exact instruction boundaries inside its string loops", async () => {
  const elf = await Deno.readFile(new URL("../../guests/build/repstr.elf", import.meta.url));
  const make = () => Machine.fromElf(elf, { memory: 8 << 20 });
  const END = 3_500_000; // compare at a fixed instruction count: running both to the end takes long
  const ref = make();
  ref.run(END);
  for (const stopAt of [1, 99_999, 1_234_567, 3_000_001]) {
    const r = await migrateInProcess(make(), (h) => new Machine({ memory: h.ramBytes }), {
      stopAt,
      bandwidth: 50e6,
    });
    ok(r.ok, r.error);
    const d = r.destination as Machine;
    equal(d.instructions, stopAt);
    d.run(END - d.instructions);
    equal(d.instructions, ref.instructions, `stopAt ${stopAt}`);
    equal(d.consoleText(), ref.consoleText());
    equal(d.digest(), ref.digest());
  }
});

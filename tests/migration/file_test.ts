import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MigrationController } from "../../src/migration/controller.ts";
import { fileTransport, restoreSnapshotFiles, writeSnapshotFile } from "../../src/migration/file.ts";
import { SimulatedLink } from "../../src/migration/link.ts";
import { importStreamKey, STREAM_FLAG_DIFF } from "../../src/migration/stream.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { diffVms, runToEnd, TestVm } from "./_test_vm.ts";

const OPTS: TestVmOptions = { ramBytes: 1 << 20, workingSetPages: 60, writeEvery: 1000, endAt: 5_000_000 };

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "hvsim-snap-" });
}

Deno.test("writeSnapshotFile()/restoreSnapshotFiles() round-trip a VM that then ends equal", async () => {
  const dir = await tmp();
  const key = await importStreamKey(new Uint8Array(32).fill(7));
  for (const k of [undefined, key]) {
    const src = new TestVm(OPTS);
    src.run(1_234_567);
    const c = new MigrationController(src);
    const r = await writeSnapshotFile(c, `${dir}/a.hvsnap`, { key: k });
    ok(r.ok, r.error?.message);
    equal(src.instructions, 1_234_567, "the guest does not run during a snapshot");
    const restored = await restoreSnapshotFiles(`${dir}/a.hvsnap`, {
      createVm: () => TestVm.blank(OPTS),
      key: k,
    });
    const d = restored.vm as TestVm;
    equal(diffVms(d, src), "");
    runToEnd(d);
    const ref = new TestVm(OPTS);
    runToEnd(ref);
    equal(diffVms(d, ref), "");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the first diff snapshot equals a full snapshot byte for byte (Firecracker's test)", async () => {
  const dir = await tmp();
  const a = new TestVm(OPTS);
  const b = new TestVm(OPTS);
  a.run(10_000);
  b.run(10_000);
  ok((await writeSnapshotFile(new MigrationController(a), `${dir}/full`)).ok);
  ok((await writeSnapshotFile(new MigrationController(b), `${dir}/diff`, { diff: true })).ok);
  deepEqual(await Deno.readFile(`${dir}/diff`), await Deno.readFile(`${dir}/full`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("diff snapshots hold only pages written since the previous one and restore in a chain", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  const c = new MigrationController(src);
  // the first diff snapshot is a full one and turns tracking on
  ok((await writeSnapshotFile(c, `${dir}/0`, { diff: true })).ok);
  equal(c.tracking, true);
  src.run(20_000); // 20 writes: pages 16..35
  const r1 = await writeSnapshotFile(c, `${dir}/1`, { diff: true });
  ok(r1.ok);
  deepEqual(r1.stats.pagesPerRound, [20]);
  const bytes = await Deno.readFile(`${dir}/1`);
  equal(new DataView(bytes.buffer).getUint32(24, true) & STREAM_FLAG_DIFF, STREAM_FLAG_DIFF);
  src.run(5_000); // pages 36..40
  const r2 = await writeSnapshotFile(c, `${dir}/2`, { diff: true });
  deepEqual(r2.stats.pagesPerRound, [5]);
  const restored = await restoreSnapshotFiles([`${dir}/0`, `${dir}/1`, `${dir}/2`], {
    createVm: () => TestVm.blank(OPTS),
  });
  equal(diffVms(restored.vm as TestVm, src), "");
  // a diff alone is refused: it needs its base
  await rejects(
    restoreSnapshotFiles(`${dir}/1`, { createVm: () => TestVm.blank(OPTS) }),
    /diff snapshot: restore its base snapshot first/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a failed snapshot write leaves no file, keeps the old one, and loses no dirty bits", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  const c = new MigrationController(src);
  ok((await writeSnapshotFile(c, `${dir}/s`, { diff: true })).ok);
  const before = await Deno.readFile(`${dir}/s`);
  src.run(7_000); // pages 16..22
  // a directory where the partial file should go makes the write fail
  await Deno.mkdir(`${dir}/t.partial`);
  await rejects(writeSnapshotFile(c, `${dir}/t`, { diff: true }), /Cannot write snapshot/);
  await Deno.remove(`${dir}/t.partial`);
  // a failure mid-write: a snapshot into a file that cannot be renamed over (a directory)
  await Deno.mkdir(`${dir}/u`);
  await Deno.writeFile(`${dir}/u/x`, new Uint8Array(1));
  const r = await writeSnapshotFile(c, `${dir}/u`, { diff: true });
  equal(r.ok, false);
  equal(r.state, "Failed");
  deepEqual([...c.retained], [16, 17, 18, 19, 20, 21, 22], "bits merged back");
  deepEqual(await Deno.readFile(`${dir}/s`), before);
  await rejects(Deno.stat(`${dir}/u.partial`));
  // the next diff snapshot still has every page
  const ok2 = await writeSnapshotFile(c, `${dir}/v`, { diff: true });
  deepEqual(ok2.stats.pagesPerRound, [7]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restoreSnapshotFiles() refuses a damaged file and names it", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/s`)).ok);
  const b = await Deno.readFile(`${dir}/s`);
  b[5000] ^= 1;
  await Deno.writeFile(`${dir}/bad`, b);
  let created = 0;
  await rejects(
    restoreSnapshotFiles(`${dir}/bad`, {
      createVm: () => {
        created++;
        return TestVm.blank(OPTS);
      },
    }),
    {
      name: "StreamError",
      message: new RegExp(`^${dir}/bad: CRC32C mismatch in record 1 \\(ram-pages\\) at offset 56`),
    },
  );
  equal(created, 0);
  // damaged near its end (after every page arrived): verify first still never builds the VM
  const late = await Deno.readFile(`${dir}/s`);
  late[late.length - 100] ^= 1;
  await Deno.writeFile(`${dir}/late`, late);
  for (const direct of [false, true]) {
    let made = 0;
    await rejects(
      restoreSnapshotFiles(`${dir}/late`, {
        createVm: () => {
          made++;
          return TestVm.blank(OPTS);
        },
        direct,
      }),
      { name: "StreamError", message: /CRC32C mismatch in record \d+/ },
    );
    equal(made, direct ? 1 : 0, `direct ${direct}`);
  }
  await rejects(
    restoreSnapshotFiles(`${dir}/missing`, { createVm: () => TestVm.blank(OPTS) }),
    /Cannot read snapshot/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a plain snapshot leaves dirty tracking off; a later diff then holds every page", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  const c = new MigrationController(src);
  ok((await writeSnapshotFile(c, `${dir}/a`)).ok);
  equal(src.tracking, false);
  src.run(3_000);
  const r = await writeSnapshotFile(c, `${dir}/b`, { diff: true });
  deepEqual(r.stats.pagesPerRound, [256], "unobserved writes: the diff must be full");
  equal(src.tracking, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restoreSnapshotFiles() restores a pre-copy stream with re-sent pages and verify-pages records, staged, direct or lazy", async () => {
  const dir = await tmp();
  const opts: TestVmOptions = { ramBytes: 4 << 20, workingSetPages: 300, writeEvery: 5000 };
  const src = new TestVm(opts);
  src.run(10_000);
  const r = await new MigrationController(src).migrate(await fileTransport(`${dir}/live`), {
    verify: true,
    link: new SimulatedLink({ bandwidth: 20 << 20 }),
  });
  ok(r.ok, r.error?.message);
  ok(r.stats.pagesPerRound.length > 1 && r.stats.pagesPerRound[1] > 0, "pages were sent again");
  for (const mode of ["staged", "direct", "lazy"]) {
    const got = await restoreSnapshotFiles(`${dir}/live`, {
      createVm: () => TestVm.blank(opts),
      direct: mode === "direct",
      lazy: mode === "lazy",
    });
    ok(got.verifyRecords > 0);
    ok(got.pages > 1024 * 2, "every page twice at least (pre-copy and verify), some more often");
    equal(diffVms(got.vm as TestVm, src), "", mode);
  }
  await Deno.remove(dir, { recursive: true });
});

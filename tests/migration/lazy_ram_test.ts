import { equal, ok, rejects, throws } from "node:assert/strict";
import { MemorySink } from "../../src/migration/byte_io.ts";
import { MigrationController } from "../../src/migration/controller.ts";
import { restoreSnapshotFiles, writeSnapshotFile } from "../../src/migration/file.ts";
import { FileLazyRam } from "../../src/migration/lazy_ram.ts";
import { PageSender } from "../../src/migration/ram_pages.ts";
import { importStreamKey, STREAM_HEADER_BYTES, StreamWriter } from "../../src/migration/stream.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { diffVms, runToEnd, TestVm } from "./_test_vm.ts";

const OPTS: TestVmOptions = { ramBytes: 1 << 20, workingSetPages: 60, writeEvery: 1000, endAt: 5_000_000 };
const PAGES = OPTS.ramBytes / 4096;

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "hvsim-lazy-" });
}

/** Pages of `vm` that hold data (not all zero). */
function dataPages(vm: TestVm): number {
  let n = 0;
  for (let p = 0; p < PAGES; p++) if (vm.ram.subarray(p * 4096, p * 4096 + 4096).some((b) => b !== 0)) n++;
  return n;
}

Deno.test("restoreSnapshotFiles({ lazy }) resumes with RAM unloaded and ends equal to the unmigrated run", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  src.run(1_234_567);
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/s`)).ok);
  const r = await restoreSnapshotFiles(`${dir}/s`, { createVm: () => TestVm.blank(OPTS), lazy: true });
  const d = r.vm as TestVm;
  ok(r.lazy instanceof FileLazyRam);
  equal(r.lazy.remaining, dataPages(src), "every data page is still to load");
  ok(d.ram.every((b) => b === 0), "nothing was written into RAM by the restore");
  // The guest writes its working set (pages 16..75): only the records holding those load.
  d.run(100_000);
  const loaded = dataPages(src) - r.lazy.remaining;
  ok(loaded > 0 && loaded < dataPages(src), `${loaded} pages loaded on first touch`);
  const page = new Uint8Array(4096);
  d.readPage(200, page); // a page read (as a migration does) loads too
  equal(d.lazy!.missing[200], 0);
  runToEnd(d);
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  equal(diffVms(d, ref), "");
  equal(r.lazy.remaining, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lazy restore loads each page's latest copy: re-sent pages, a page that became zero", async () => {
  const src = new TestVm({ ...OPTS, bootStride: 1 });
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: src.ramBytes });
  const sender = new PageSender(w, src, 5);
  const all = Uint32Array.from({ length: PAGES }, (_, i) => i);
  for (let i = 0; i < PAGES; i += 5) await sender.sendRecord(all, i, Math.min(5, PAGES - i));
  src.writePage(3, new Uint8Array(4096)); // data, then zero
  src.writePage(7, new Uint8Array(4096).fill(0xab)); // data, then other data
  await sender.sendRecord(Uint32Array.of(3, 7), 0, 2);
  for (const s of src.saveState()) await w.writeSection(s);
  await w.writeEnd();
  await sink.close();
  const dir = await tmp();
  await Deno.writeFile(`${dir}/s`, sink.bytes());
  const r = await restoreSnapshotFiles(`${dir}/s`, { createVm: () => TestVm.blank(OPTS), lazy: true });
  const d = r.vm as TestVm;
  const lazy = r.lazy!;
  equal(lazy.missing[3], 0, "a page whose latest copy is zero never loads");
  equal(lazy.missing[7], 1);
  lazy.load(6, d.ram); // the first record of pages 5..9
  equal(lazy.missing[5] + lazy.missing[8] + lazy.missing[9], 0, "the whole record loads at once");
  equal(lazy.missing[7], 1, "page 7's first copy is stale: it waits for its latest record");
  equal(d.ram[7 * 4096], 0);
  lazy.load(7, d.ram);
  equal(d.ram[7 * 4096], 0xab);
  equal(diffVms(d, src), "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lazy restore takes diff chains on top", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  const c = new MigrationController(src);
  for (let k = 0; k < 3; k++) {
    ok((await writeSnapshotFile(c, `${dir}/${k}`, { diff: true })).ok);
    src.run(20_000);
  }
  src.run(-1);
  const files = [0, 1, 2].map((k) => `${dir}/${k}`);
  const chain = await restoreSnapshotFiles(files, { createVm: () => TestVm.blank(OPTS), lazy: true });
  ok(chain.lazy !== undefined, "the full snapshot's lazy RAM is the result's");
  ok(chain.lazy.remaining > 0, "pages the diffs did not overwrite are still to load");
  const eager = await restoreSnapshotFiles(files, { createVm: () => TestVm.blank(OPTS) });
  equal(diffVms(chain.vm as TestVm, eager.vm as TestVm), "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lazy restore stops the guest when the file changed after it was verified", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  src.run(50_000);
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/s`)).ok);
  const r = await restoreSnapshotFiles(`${dir}/s`, { createVm: () => TestVm.blank(OPTS), lazy: true });
  const d = r.vm as TestVm;
  // Change one byte of page data in the first ram-pages record (record 1, after the round record;
  // past its 16-byte header and 64 page descriptors), as another process could.
  const f = await Deno.open(`${dir}/s`, { read: true, write: true });
  const first = STREAM_HEADER_BYTES + 16 + 8;
  const at = first + 16 + 4 + 4 * 64 + 100;
  await f.seek(at, Deno.SeekMode.Start);
  const b = new Uint8Array(1);
  await f.read(b);
  await f.seek(at, Deno.SeekMode.Start);
  await f.write(Uint8Array.of(b[0] ^ 1));
  f.close();
  const expected = {
    name: "StreamError",
    message: new RegExp(`s changed after it was verified: record 1 at offset ${first} \\(holding page 20\\)`),
  };
  throws(() => d.readPage(20, new Uint8Array(4096)), expected);
  throws(() => d.run(1_000_000), { name: "StreamError" }, "and stays refused");
  equal(d.instructions, 50_000, "the guest did not run on");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lazy restore refuses an authenticated snapshot and a destination that cannot load lazily", async () => {
  const dir = await tmp();
  const key = await importStreamKey(new Uint8Array(32).fill(3));
  const src = new TestVm(OPTS);
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/keyed`, { key })).ok);
  await rejects(
    restoreSnapshotFiles(`${dir}/keyed`, { createVm: () => TestVm.blank(OPTS), key, lazy: true }),
    { name: "StreamError", message: /keyed: Stream is authenticated .* cannot be restored lazily/ },
  );
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/plain`)).ok);
  const plain = new Proxy(TestVm.blank(OPTS), {
    get: (vm, k) => k === "attachLazyRam" ? undefined : Reflect.get(vm, k),
  });
  await rejects(
    restoreSnapshotFiles(`${dir}/plain`, { createVm: () => plain, lazy: true }),
    { name: "RangeError", message: /cannot be restored lazily: it does not implement attachLazyRam/ },
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("FileLazyRam.close() releases the file; later loads say why they cannot", async () => {
  const dir = await tmp();
  const src = new TestVm(OPTS);
  ok((await writeSnapshotFile(new MigrationController(src), `${dir}/s`)).ok);
  const r = await restoreSnapshotFiles(`${dir}/s`, { createVm: () => TestVm.blank(OPTS), lazy: true });
  r.lazy!.close();
  r.lazy!.close();
  throws(() => (r.vm as TestVm).run(10_000), /the lazy restore's snapshot file was closed first/);
  await Deno.remove(dir, { recursive: true });
});

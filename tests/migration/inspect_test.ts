import { deepEqual, equal, ok } from "node:assert/strict";
import { MigrationController } from "../../src/migration/controller.ts";
import { memoryTransport } from "../../src/migration/transport.ts";
import { inspectStream } from "../../src/migration/inspect.ts";
import { importStreamKey } from "../../src/migration/stream.ts";
import { TestVm } from "./_test_vm.ts";

const OPTS = { ramBytes: 1 << 20, workingSetPages: 10, writeEvery: 1000 };

async function snapshotBytes(key?: CryptoKey): Promise<Uint8Array> {
  const vm = new TestVm(OPTS);
  vm.run(5000);
  const t = memoryTransport();
  ok((await new MigrationController(vm).snapshot(t.transport, { key })).ok);
  return t.sink.bytes();
}

Deno.test("inspectStream() prints the header and every record with its CRC status and summary", async () => {
  const lines: string[] = [];
  const s = await inspectStream(await snapshotBytes(), { write: (l) => lines.push(l) });
  ok(s.ok);
  equal(lines[0], "HVSM stream version 1.0, page size 4096, RAM 1 MiB (1048576 bytes), flags: snapshot");
  // 256 pages in 4 records of 64, one round record, one section, the end record
  equal(s.records, 7);
  equal(s.pages, 256);
  equal(s.zeroPages, 256 - 64 - 5 + 2); // boot pages 0,4,...,252 (64); working set 16..20 adds 17,18,19
  deepEqual(s.sections, [{ name: "test-vm", version: 1, bytes: 40 }]);
  ok(/^#0 +@32 +round +len 8 +crc ok +round 0: 256 pages$/.test(lines[1]), lines[1]);
  ok(/^#1 +@56 +ram-pages .* crc ok +64 pages \(\d+ zero\) 0-63$/.test(lines[2]), lines[2]);
  ok(/state-section .* "test-vm" version 1, 40 bytes/.test(lines[6]), lines[6]);
  ok(/end .* announces 6 records, 256 pages, 1 sections/.test(lines[7]), lines[7]);
  ok(lines[8].startsWith("OK: 7 records"), lines[8]);
});

Deno.test("inspectStream() reports a bad CRC and goes on, and reports truncation", async () => {
  const b = await snapshotBytes();
  b[100] ^= 1;
  const lines: string[] = [];
  const s = await inspectStream(b, { write: (l) => lines.push(l) });
  equal(s.ok, false);
  equal(s.records, 7, "read on past the damaged record");
  ok(lines.some((l) => /^#1 .* crc BAD \(stored 0x[0-9a-f]+, computed 0x[0-9a-f]+\)/.test(l)));
  ok(lines[lines.length - 1].startsWith("DAMAGED"));
  const t = await inspectStream((await snapshotBytes()).subarray(0, 3000), { write: () => {} });
  equal(t.ok, false);
  ok(/truncated/.test(t.problems[0]));
  const bad = await inspectStream(new TextEncoder().encode("QEVM and so on and so forth, 32+ bytes"), {
    write: () => {},
  });
  ok(/magic is "QEVM"/.test(bad.problems[0]));
});

Deno.test("inspectStream() checks tags with a key and says when it cannot", async () => {
  const key = await importStreamKey(new Uint8Array(20).fill(1));
  const wrong = await importStreamKey(new Uint8Array(20).fill(2));
  const b = await snapshotBytes(key);
  const lines: string[] = [];
  ok((await inspectStream(b, { key, write: (l) => lines.push(l) })).ok);
  ok(lines.slice(1, -1).every((l) => l.includes("mac ok")));
  const nokey: string[] = [];
  ok((await inspectStream(b, { write: (l) => nokey.push(l) })).ok);
  ok(nokey[1].includes("tags not checked"));
  const w = await inspectStream(b, { key: wrong, write: () => {} });
  equal(w.ok, false);
  ok(w.problems[0].startsWith("header authentication failed"));
  ok(w.problems.some((p) => /record 0 .*authentication failed/.test(p)));
});

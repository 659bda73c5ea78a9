import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MemorySink, ReadableSource, sinkFromWritable } from "../../src/migration/byte_io.ts";
import { crc32c } from "../../src/migration/crc32c.ts";
import { PageSender } from "../../src/migration/ram_pages.ts";
import { receiveStream } from "../../src/migration/receiver.ts";
import type { StreamHeader } from "../../src/migration/stream.ts";
import {
  encodeHeader,
  importStreamKey,
  RECORD_FLAG_OPTIONAL,
  RECORD_HEADER_BYTES,
  STREAM_HEADER_BYTES,
  STREAM_MAGIC,
  StreamReader,
  StreamWriter,
} from "../../src/migration/stream.ts";
import type { ByteSink } from "../../src/migration/byte_io.ts";
import { diffVms, TestVm } from "./_test_vm.ts";

const OPTS = { ramBytes: 64 * 4096, workingSetPages: 8, writeEvery: 100 };

/** Write a full stream of `vm` (all pages, in records of 5, state, end) to `sink`. */
async function writeAll(
  vm: TestVm,
  sink: ByteSink,
  key?: CryptoKey,
  extra?: (w: StreamWriter) => Promise<void>,
): Promise<StreamWriter> {
  const w = await StreamWriter.open(sink, { ramBytes: vm.ramBytes, key });
  await w.writeRound(0, vm.ramBytes / 4096);
  const sender = new PageSender(w, vm, 5);
  const pages = vm.ramBytes / 4096;
  const pfns = Uint32Array.from({ length: pages }, (_, i) => i);
  for (let i = 0; i < pages; i += 5) await sender.sendRecord(pfns, i, Math.min(5, pages - i));
  if (extra) await extra(w);
  for (const s of vm.saveState()) await w.writeSection(s);
  await w.writeEnd();
  await sink.close();
  return w;
}

function sourceVm(): TestVm {
  const vm = new TestVm(OPTS);
  vm.run(12_345);
  return vm;
}

async function streamOf(vm: TestVm, key?: CryptoKey): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeAll(vm, sink, key);
  return sink.bytes();
}

/** Offsets of each record header in an unauthenticated stream. */
function recordOffsets(bytes: Uint8Array, mac = 0): number[] {
  const out: number[] = [];
  let o = STREAM_HEADER_BYTES + mac;
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  while (o < bytes.length) {
    out.push(o);
    o += RECORD_HEADER_BYTES + v.getUint32(o + 4, true) + mac;
  }
  return out;
}

/** Counts createVm calls; a refused stream must never get there. */
function counting(): { calls: number; createVm: (h: StreamHeader) => TestVm } {
  const c = {
    calls: 0,
    createVm: (_h: StreamHeader) => {
      c.calls++;
      return TestVm.blank(OPTS);
    },
  };
  return c;
}

async function refused(
  bytes: Uint8Array,
  message: RegExp,
  extra: { key?: CryptoKey; expectRamBytes?: number } = {},
) {
  const c = counting();
  await rejects(receiveStream(bytes, { createVm: c.createVm, ...extra }), { name: "StreamError", message });
  equal(c.calls, 0, "createVm must not be called for a refused stream");
}

Deno.test("encodeHeader() lays out magic, version, page size, RAM size, flags and CRC", () => {
  const h = encodeHeader(64 << 20, 2);
  const v = new DataView(h.buffer);
  deepEqual([...h.subarray(0, 4)].map((c) => String.fromCharCode(c)).join(""), "HVSM");
  equal(v.getUint32(0, true), STREAM_MAGIC);
  deepEqual([v.getUint16(4, true), v.getUint16(6, true), v.getUint16(8, true)], [1, 0, 32]);
  equal(v.getUint32(12, true), 4096);
  equal(Number(v.getBigUint64(16, true)), 64 << 20);
  equal(v.getUint32(24, true), 2);
  equal(v.getUint32(28, true), crc32c(h.subarray(0, 28)));
});

Deno.test("receiveStream() rebuilds the VM from a stream: RAM, zero pages and state", async () => {
  const src = sourceVm();
  const bytes = await streamOf(src);
  const r = await receiveStream(bytes, { createVm: () => TestVm.blank(OPTS), expectRamBytes: OPTS.ramBytes });
  equal(diffVms(src, r.vm as TestVm), "");
  equal(r.pages, 64);
  equal(r.rounds, 1);
  deepEqual(r.sections, ["test-vm"]);
  equal(r.bytes, bytes.length);
  // zero pages travel as flags: 64 pages, 16 boot pages + working-set pages carry data
  const nonZero = new Set<number>();
  for (let p = 0; p < 64; p++) {
    if (src.ram.subarray(p * 4096, p * 4096 + 4096).some((b) => b !== 0)) nonZero.add(p);
  }
  const recs = recordOffsets(bytes).length;
  equal(bytes.length, 32 + recs * 16 + 8 + 13 * 4 + 64 * 4 + nonZero.size * 4096 + (8 + 7 + 40) + 16);
});

Deno.test("StreamWriter/receiveStream work over Web Streams with any chunking", async () => {
  const src = sourceVm();
  const ts = new TransformStream<Uint8Array, Uint8Array>();
  // re-chunk to 1000-byte pieces so records straddle chunk boundaries
  const rechunk = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      for (let i = 0; i < chunk.length; i += 1000) ctl.enqueue(chunk.slice(i, i + 1000));
    },
  });
  const [, r] = await Promise.all([
    writeAll(src, sinkFromWritable(ts.writable)),
    receiveStream(new ReadableSource(ts.readable.pipeThrough(rechunk)), {
      createVm: () => TestVm.blank(OPTS),
    }),
  ]);
  equal(diffVms(src, r.vm as TestVm), "");
});

Deno.test("receiveStream() refuses a different major version, naming both versions", async () => {
  const bytes = await streamOf(sourceVm());
  const v = new DataView(bytes.buffer);
  v.setUint16(4, 2, true);
  v.setUint16(6, 3, true);
  v.setUint32(28, crc32c(bytes.subarray(0, 28)), true);
  await refused(bytes, /version 2\.3 is not supported.*version 1\.0.*major version 1/);
});

Deno.test("receiveStream() accepts a newer minor version with a longer header", async () => {
  const bytes = await streamOf(sourceVm());
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes.subarray(0, 32));
  longer.set([1, 2, 3, 4, 5, 6, 7, 8], 32);
  longer.set(bytes.subarray(32), 40);
  const v = new DataView(longer.buffer);
  v.setUint16(6, 7, true);
  v.setUint16(8, 40, true);
  v.setUint32(28, crc32c(longer.subarray(32, 40), crc32c(longer.subarray(0, 28))), true);
  const r = await receiveStream(longer, { createVm: () => TestVm.blank(OPTS) });
  equal(r.header.minor, 7);
});

Deno.test("receiveStream() refuses a foreign or damaged header", async () => {
  const good = await streamOf(sourceVm());
  const table: [string, (b: Uint8Array) => void, RegExp][] = [
    ["magic", (b) => b.set([0x51, 0x45, 0x56, 0x4d], 0), /magic is "QEVM", expected "HVSM"/],
    [
      "header CRC",
      (b) => (b[20] ^= 1),
      /header CRC32C mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/,
    ],
    ["page size", (b) => {
      new DataView(b.buffer).setUint32(12, 8192, true);
      new DataView(b.buffer).setUint32(28, crc32c(b.subarray(0, 28)), true);
    }, /page size is 8192 bytes: expected 4096/],
    ["huge RAM", (b) => {
      new DataView(b.buffer).setBigUint64(16, 1n << 50n, true);
      new DataView(b.buffer).setUint32(28, crc32c(b.subarray(0, 28)), true);
    }, /exceeds the format's limit of 8 TiB/],
    ["unknown flag", (b) => {
      new DataView(b.buffer).setUint32(24, 0x100, true);
      new DataView(b.buffer).setUint32(28, crc32c(b.subarray(0, 28)), true);
    }, /unknown flags 0x00000100/],
  ];
  for (const [name, damage, msg] of table) {
    const b = good.slice();
    damage(b);
    await refused(b, msg).catch((e) => {
      throw new Error(`${name}: ${e.message}`);
    });
  }
  await refused(new Uint8Array(0), /Empty stream/);
});

Deno.test("receiveStream() refuses a bad record CRC, naming record index, type and offset", async () => {
  const bytes = await streamOf(sourceVm());
  const offs = recordOffsets(bytes);
  const table: [number, string, number][] = [[1, "ram-pages", 40], [0, "round", 16], [
    offs.length - 2,
    "state-section",
    20,
  ], [
    offs.length - 1,
    "end",
    17,
  ]];
  for (const [index, type, delta] of table) {
    const b = bytes.slice();
    b[offs[index] + delta] ^= 0x10;
    await refused(b, new RegExp(`CRC32C mismatch in record ${index} \\(${type}\\) at offset ${offs[index]}`));
  }
  // a damaged length field is caught too (as a CRC mismatch or a truncation, never silently)
  const b = bytes.slice();
  b[offs[1] + 4] ^= 0x04;
  await refused(b, /record 1 \(ram-pages\)/);
});

Deno.test("receiveStream() refuses a stream truncated anywhere", async () => {
  const bytes = await streamOf(sourceVm());
  const offs = recordOffsets(bytes);
  const cuts = [10, 32, offs[1] + 5, offs[1] + 100, offs[offs.length - 1], bytes.length - 1];
  for (const cut of cuts) await refused(bytes.subarray(0, cut), /truncated/);
  await refused(bytes.subarray(0, offs[offs.length - 1]), /no end record after \d+ records/);
});

Deno.test("receiveStream() refuses a RAM-size mismatch", async () => {
  const bytes = await streamOf(sourceVm());
  await refused(bytes, /Stream is for 256 KiB of RAM but the destination has 128 KiB/, {
    expectRamBytes: 32 * 4096,
  });
});

Deno.test("receiveStream() refuses a dropped or duplicated record, an incomplete stream and trailing bytes", async () => {
  const bytes = await streamOf(sourceVm());
  const offs = recordOffsets(bytes);
  const without = new Uint8Array([...bytes.subarray(0, offs[2]), ...bytes.subarray(offs[3])]);
  await refused(without, /Out-of-order record 2 .* carries index 3, expected 2/);
  await refused(new Uint8Array([...bytes, 0]), /Unexpected bytes after the end record/);
  // a writer that skips a page: structurally valid, but page 63 never arrives
  const vm = sourceVm();
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: vm.ramBytes });
  const pfns = Uint32Array.from({ length: 63 }, (_, i) => i);
  await new PageSender(w, vm, 63).sendRecord(pfns, 0, 63);
  for (const s of vm.saveState()) await w.writeSection(s);
  await w.writeEnd();
  await refused(sink.bytes(), /incomplete: page 63 never arrived \(63 of 64 pages received\)/);
});

Deno.test("receiveStream() refuses unknown mandatory records and skips optional ones", async () => {
  const vm = sourceVm();
  for (const [flags, ok] of [[0, false], [RECORD_FLAG_OPTIONAL, true]] as const) {
    const sink = new MemorySink();
    await writeAll(vm, sink, undefined, (w) => w.writeRecord(99, new Uint8Array([1, 2, 3]), flags));
    if (ok) {
      equal(
        diffVms(vm, (await receiveStream(sink.bytes(), { createVm: () => TestVm.blank(OPTS) })).vm as TestVm),
        "",
      );
    } else await refused(sink.bytes(), /Unknown mandatory record type 99/);
  }
});

Deno.test("receiveStream() with a key accepts only a stream authenticated with that key", async () => {
  const key = await importStreamKey(new TextEncoder().encode("correct horse battery staple"));
  const wrong = await importStreamKey(new TextEncoder().encode("incorrect horse battery staple"));
  const vm = sourceVm();
  const signed = await streamOf(vm, key);
  const r = await receiveStream(signed, { createVm: () => TestVm.blank(OPTS), key });
  equal(diffVms(vm, r.vm as TestVm), "");
  await refused(signed, /authenticated \(HMAC-SHA256\): a key is required \(--key-file\)/);
  await refused(signed, /header authentication failed: wrong key/, { key: wrong });
  await refused(await streamOf(vm), /not authenticated but a key was given/, { key });
  // alter a page and fix its CRC: only the tag catches it
  const offs = recordOffsets(signed, 32);
  const b = signed.slice();
  const o = offs[2];
  const len = new DataView(b.buffer).getUint32(o + 4, true);
  b[o + 16 + len - 1] ^= 0xff;
  new DataView(b.buffer).setUint32(
    o + 12,
    crc32c(b.subarray(o + 16, o + 16 + len), crc32c(b.subarray(o, o + 12))),
    true,
  );
  await refused(b, /Authentication failed for record 2 \(ram-pages\)/, { key });
  // a record spliced in from another signed stream of the same key is refused: the tag chain breaks
  const later = sourceVm();
  later.run(50_000);
  const other = await streamOf(later, key);
  const otherOffs = recordOffsets(other, 32);
  equal(otherOffs[4], offs[4], "same layout");
  ok(
    other.subarray(otherOffs[4], otherOffs[5]).some((x, i) => x !== signed[offs[4] + i]),
    "record 4 differs",
  );
  const spliced = signed.slice();
  spliced.set(other.subarray(otherOffs[4], otherOffs[5]), offs[4]);
  await refused(spliced, /Authentication failed for record 5 \(ram-pages\)/, { key });
});

Deno.test("StreamReader in lenient mode reports a bad CRC instead of throwing", async () => {
  const bytes = await streamOf(sourceVm());
  const offs = recordOffsets(bytes);
  bytes[offs[3] + 30] ^= 1;
  const r = await StreamReader.open(bytes, { lenient: true });
  const seen: boolean[] = [];
  for (let rec = await r.next(); rec; rec = await r.next()) seen.push(rec.crcOk);
  equal(seen.length, offs.length);
  deepEqual(seen.map((x, i) => [i, x]).filter(([, x]) => !x), [[3, false]]);
});

Deno.test("receiveStream({ direct: true }) writes into the VM early but returns it only after full verification", async () => {
  const src = sourceVm();
  const bytes = await streamOf(src);
  const r = await receiveStream(bytes, { createVm: () => TestVm.blank(OPTS), direct: true });
  equal(diffVms(src, r.vm as TestVm), "");
  // a page sent with data and later as a zero page ends zero
  const vm = sourceVm();
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: vm.ramBytes });
  const all = Uint32Array.from({ length: 64 }, (_, i) => i);
  await new PageSender(w, vm, 64).sendRecord(all, 0, 64);
  vm.ram.fill(0, 0, 4096); // page 0 becomes zero and is sent again
  await new PageSender(w, vm, 64).sendRecord(all, 0, 1);
  for (const s of vm.saveState()) await w.writeSection(s);
  await w.writeEnd();
  for (const direct of [false, true]) {
    const got = await receiveStream(sink.bytes(), { createVm: () => TestVm.blank(OPTS), direct });
    equal(diffVms(vm, got.vm as TestVm), "", `direct ${direct}`);
  }
  // damaged: rejected, so the early VM never reaches anyone
  const bad = bytes.slice();
  bad[bad.length - 20] ^= 1;
  await rejects(receiveStream(bad, { createVm: () => TestVm.blank(OPTS), direct: true }), /CRC32C mismatch/);
});

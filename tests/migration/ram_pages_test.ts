import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { MemorySink } from "../../src/migration/byte_io.ts";
import { decodeRamPages, isZeroPage, PageSender } from "../../src/migration/ram_pages.ts";
import { StreamReader, StreamWriter } from "../../src/migration/stream.ts";
import { TestVm } from "./_test_vm.ts";

Deno.test("isZeroPage() finds a single non-zero bit anywhere in the page", () => {
  const w = new Uint32Array(1024);
  ok(isZeroPage(w));
  for (const i of [0, 1, 7, 8, 500, 1016, 1023]) {
    for (const bit of [0, 31]) {
      w[i] = (1 << bit) >>> 0;
      equal(isZeroPage(w), false, `word ${i} bit ${bit}`);
      w[i] = 0;
    }
  }
  ok(isZeroPage(new Uint32Array(13)));
  equal(isZeroPage(new Uint32Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])), false);
});

async function oneRecord(pfns: number[], vm: TestVm) {
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: vm.ramBytes });
  await new PageSender(w, vm, 64).sendRecord(Uint32Array.from(pfns), 0, pfns.length);
  const r = await StreamReader.open(sink.bytes());
  return (await r.next())!;
}

Deno.test("PageSender/decodeRamPages round-trip page numbers, zero flags and data", async () => {
  const vm = new TestVm({ ramBytes: 64 * 4096, workingSetPages: 1, writeEvery: 1, bootStride: 2 });
  const rec = await oneRecord([5, 0, 63, 2, 3], vm);
  // layout: count, descriptors (bit 31 = zero page), data of the non-zero pages in order
  const v = new DataView(rec.payload.buffer, rec.payload.byteOffset);
  equal(v.getUint32(0, true), 5);
  deepEqual([1, 2, 3, 4, 5].map((i) => v.getUint32(4 * i, true)), [0x80000005, 0, 0x8000003f, 2, 0x80000003]);
  equal(rec.payload.length, 4 + 20 + 2 * 4096);
  const seen: string[] = [];
  decodeRamPages(rec, 64, {
    zero: (p) => seen.push(`z${p}`),
    data: (p, payload, o) => {
      seen.push(`d${p}`);
      deepEqual(payload.subarray(o, o + 4096), vm.ram.subarray(p * 4096, p * 4096 + 4096));
    },
  });
  deepEqual(seen, ["z5", "d0", "z63", "d2", "z3"]);
  throws(
    () => decodeRamPages(rec, 32, { zero: () => {}, data: () => {} }),
    /page 63 lies outside the guest's 32 pages/,
  );
  rec.payload = rec.payload.subarray(0, rec.payload.length - 1);
  const calls: number[] = [];
  throws(
    () => decodeRamPages(rec, 64, { zero: (p) => calls.push(p), data: (p) => calls.push(p) }),
    /5 pages \(2 with data\) need 8216 payload bytes, found 8215/,
  );
  equal(calls.length, 0, "a bad record delivers nothing");
});

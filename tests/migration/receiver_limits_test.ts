import { equal, ok, rejects } from "node:assert/strict";
import type { ByteSource } from "../../src/migration/byte_io.ts";
import { BufferSource, MemorySink } from "../../src/migration/byte_io.ts";
import { crc32c } from "../../src/migration/crc32c.ts";
import {
  DEFAULT_MAX_RAM_BYTES,
  DestinationRefusedError,
  receiveStream,
} from "../../src/migration/receiver.ts";
import {
  encodeHeader,
  MAX_STATE_SECTION_BYTES,
  MAX_STATE_SECTIONS,
  RECORD_HEADER_BYTES,
  RECORD_RAM_PAGES,
  RECORD_STATE_SECTION,
  recordPayloadLimit,
  StreamError,
  StreamWriter,
} from "../../src/migration/stream.ts";
import { Machine } from "../../src/vm/machine.ts";
import { TestVm } from "./_test_vm.ts";
import { concat } from "../../src/fuzz/mutate.ts";

const OPTS = { ramBytes: 64 * 4096, workingSetPages: 8, writeEvery: 100 };

/** A source that records the largest read asked of it (what a reader would allocate for). */
class WatchedSource implements ByteSource {
  largest = 0;
  #inner: BufferSource;
  constructor(data: Uint8Array) {
    this.#inner = new BufferSource(data);
  }
  read(n: number): Promise<Uint8Array> {
    this.largest = Math.max(this.largest, n);
    return this.#inner.read(n);
  }
  atEnd(): Promise<boolean> {
    return this.#inner.atEnd();
  }
  cancel(): Promise<void> {
    return this.#inner.cancel();
  }
}

/** A record header (type, length, index) with its CRC over the header and `payload`. */
function record(type: number, index: number, length: number, payload = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, type, true);
  v.setUint32(4, length, true);
  v.setUint32(8, index, true);
  b.set(payload, RECORD_HEADER_BYTES);
  v.setUint32(12, crc32c(payload, crc32c(b.subarray(0, 12))), true);
  return b;
}

Deno.test("receiveStream() refuses a header for more RAM than the destination takes, before allocating", async () => {
  let created = 0;
  const createVm = () => {
    created++;
    return TestVm.blank(OPTS);
  };
  // 8 TiB, the format's maximum: a staging table for it alone would take 2 GiB.
  const huge = encodeHeader(2 ** 31 * 4096, 0);
  await rejects(
    receiveStream(huge, { createVm }),
    new RegExp(
      `Stream is for 8388608 MiB of RAM: this destination takes at most ${
        DEFAULT_MAX_RAM_BYTES / 2 ** 30 * 1024
      } MiB`,
    ),
  );
  await rejects(
    receiveStream(encodeHeader(64 << 20, 0), { createVm, maxRamBytes: 8 << 20 }),
    /Stream is for 64 MiB of RAM: this destination takes at most 8 MiB/,
  );
  await rejects(receiveStream(encodeHeader(0, 0), { createVm }), /Stream is for 0 bytes of RAM/);
  equal(created, 0);
});

Deno.test("StreamReader refuses a record longer than the RAM size allows before reading its payload", async () => {
  // 256 KiB of RAM: 64 pages, so a ram-pages record holds at most 4 + 64 * 4100 bytes; a state
  // section at most 1 MiB and its header.
  const limit = recordPayloadLimit(OPTS.ramBytes);
  equal(limit, 8 + 255 + MAX_STATE_SECTION_BYTES);
  equal(recordPayloadLimit(1 << 30), 4 + 8192 * 4100);
  for (const length of [limit + 1, 0xffffffff]) {
    const src = new WatchedSource(
      concat(encodeHeader(OPTS.ramBytes, 0), record(RECORD_RAM_PAGES, 0, length)),
    );
    await rejects(
      receiveStream(src, { createVm: () => TestVm.blank(OPTS) }),
      new RegExp(
        `Bad record 0 \\(ram-pages\\) at offset 32: length ${length} exceeds the ${limit}-byte maximum`,
      ),
    );
    ok(src.largest <= 32, `read ${src.largest} bytes at once`);
  }
});

Deno.test("receiveStream() refuses too many or too large state sections", async () => {
  const section = (name: string, bytes: number) => {
    const nameBytes = new TextEncoder().encode(name);
    const p = new Uint8Array(8 + nameBytes.length + bytes);
    new DataView(p.buffer).setUint16(4, nameBytes.length, true);
    p.set(nameBytes, 8);
    return p;
  };
  const head = encodeHeader(OPTS.ramBytes, 0);
  const big = section("big", MAX_STATE_SECTION_BYTES + 1);
  await rejects(
    receiveStream(concat(head, record(RECORD_STATE_SECTION, 0, big.length, big)), {
      createVm: () => TestVm.blank(OPTS),
    }),
    new RegExp(`section "big" is ${MAX_STATE_SECTION_BYTES + 1} bytes, at most ${MAX_STATE_SECTION_BYTES}`),
  );
  const many = [head];
  for (let i = 0; i <= MAX_STATE_SECTIONS; i++) {
    const s = section(`s${i}`, 1);
    many.push(record(RECORD_STATE_SECTION, i, s.length, s));
  }
  await rejects(
    receiveStream(concat(...many), { createVm: () => TestVm.blank(OPTS) }),
    new RegExp(
      `Bad record ${MAX_STATE_SECTIONS} \\(state-section\\): more than ${MAX_STATE_SECTIONS} state sections`,
    ),
  );
  // the writer keeps to the same limit
  const w = await StreamWriter.open(new MemorySink(), { ramBytes: OPTS.ramBytes });
  await rejects(
    w.writeSection({ name: "big", version: 1, data: new Uint8Array(MAX_STATE_SECTION_BYTES + 1) }),
    RangeError,
  );
});

Deno.test("receiveStream(): a RAM size the machine cannot have is a refusal, not a crash", async () => {
  // A complete, valid stream for 12 KiB of RAM: hvsim's machine takes multiples of 2 MiB only.
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: 3 * 4096 });
  const pages = new Uint8Array(4 + 3 * 4);
  const v = new DataView(pages.buffer);
  v.setUint32(0, 3, true);
  for (let i = 0; i < 3; i++) v.setUint32(4 + 4 * i, (0x80000000 | i) >>> 0, true);
  await w.writeRecord(RECORD_RAM_PAGES, pages);
  w.pageDescriptors += 3;
  await w.writeEnd();
  await sink.close();
  for (const direct of [false, true]) {
    const e = await receiveStream(sink.bytes(), {
      createVm: (h) => new Machine({ memory: h.ramBytes }),
      direct,
    }).catch((e) => e);
    ok(e instanceof DestinationRefusedError, String(e));
    ok(
      /^Destination cannot build the VM: guest RAM of 12288 bytes: expected a multiple of 2 MiB/.test(
        e.message,
      ),
      e.message,
    );
    ok(!(e instanceof StreamError));
  }
});

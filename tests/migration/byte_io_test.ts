import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { RawReader } from "../../src/migration/byte_io.ts";
import { BlockReaderSource } from "../../src/migration/byte_io.ts";

/** A reader over `data` whose reads return at most `chunk` bytes (short reads, like a pipe). */
function chunkedReader(data: Uint8Array, chunk: number): RawReader {
  let pos = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (pos >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, chunk, data.length - pos);
      p.set(data.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
}

const DATA = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >>> 8)) & 0xff);

Deno.test("BlockReaderSource returns exactly the input's bytes for any block size, read size and short reads", async () => {
  // reads: small, crossing blocks, larger than a block, larger than the room kept in front (64 KiB)
  const pattern = [16, 1, 4096, 0, 70_000, 3, 100_000, 16, 5000];
  for (const blockBytes of [7, 4096, 65_536, 1 << 20]) {
    for (const chunk of [1000, 1 << 20]) {
      const data = blockBytes < 100 ? DATA.subarray(0, 20_000) : DATA;
      const variants: [boolean, number | undefined][] = [
        [false, undefined],
        [true, undefined],
        [true, data.length],
        [true, data.length - 1000],
        [true, data.length + 5],
      ];
      for (const [retain, sizeHint] of variants) {
        const src = new BlockReaderSource(chunkedReader(data, chunk), { blockBytes, retain, sizeHint });
        let pos = 0;
        for (let k = 0; pos < data.length; k++) {
          const n = pattern[k % pattern.length];
          const got = await src.read(n);
          const want = data.subarray(pos, Math.min(data.length, pos + n));
          equal(got.length, want.length, `block ${blockBytes} chunk ${chunk} read ${k}`);
          ok(
            got.every((b, i) => b === want[i]),
            `block ${blockBytes} chunk ${chunk} read ${k}: bytes differ`,
          );
          pos += got.length;
          if (pos < data.length) equal(await src.atEnd(), false);
        }
        equal(await src.atEnd(), true);
        equal((await src.read(10)).length, 0);
      }
    }
  }
});

Deno.test("BlockReaderSource with retain keeps every view valid; without, it reuses two buffers", async () => {
  const kept = new BlockReaderSource(chunkedReader(DATA, 1 << 20), { blockBytes: 4096, retain: true });
  equal(kept.retainsViews, true);
  const views: [number, Uint8Array][] = [];
  for (let pos = 0; pos < DATA.length; pos += 3000) views.push([pos, await kept.read(3000)]);
  for (const [pos, v] of views) deepEqual(v, DATA.subarray(pos, pos + v.length));
  const reused = new BlockReaderSource(chunkedReader(DATA, 1 << 20), { blockBytes: 4096 });
  equal(reused.retainsViews, false);
  const buffers = new Set<ArrayBufferLike>();
  while (!(await reused.atEnd())) buffers.add((await reused.read(1000)).buffer);
  equal(buffers.size, 2);
});

Deno.test("BlockReaderSource with retain and the input's size reads it all into one buffer", async () => {
  for (const blockBytes of [4096, 1 << 20]) {
    const src = new BlockReaderSource(chunkedReader(DATA, 7000), {
      blockBytes,
      retain: true,
      sizeHint: DATA.length,
    });
    const buffers = new Set<ArrayBufferLike>();
    const views: [number, Uint8Array][] = [];
    for (let pos = 0; !(await src.atEnd()); pos += 5000) {
      const v = await src.read(5000);
      buffers.add(v.buffer);
      views.push([pos, v]);
    }
    equal(buffers.size, 1);
    for (const [pos, v] of views) deepEqual(v, DATA.subarray(pos, pos + v.length));
  }
});

Deno.test("BlockReaderSource ends cleanly on an input of exactly whole blocks, and cancel waits for the read ahead", async () => {
  const data = DATA.subarray(0, 8192);
  const src = new BlockReaderSource(chunkedReader(data, 1 << 20), { blockBytes: 4096 });
  deepEqual(await src.read(8192), data);
  equal(await src.atEnd(), true);
  let inFlight = 0;
  const slow: RawReader = {
    async read(p) {
      inFlight++;
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      p[0] = 1;
      return 1;
    },
  };
  const s2 = new BlockReaderSource(slow, { blockBytes: 4 });
  equal((await s2.read(2)).length, 2);
  ok(inFlight > 0, "the next block is being read ahead");
  await s2.cancel();
  equal(inFlight, 0);
});

Deno.test("BlockReaderSource passes a read error on to the caller", async () => {
  let calls = 0;
  const failing: RawReader = {
    read(p) {
      if (++calls > 1) return Promise.reject(new Error("disk on fire"));
      p.fill(9, 0, 10);
      return Promise.resolve(10);
    },
  };
  const src = new BlockReaderSource(failing, { blockBytes: 10 });
  deepEqual(await src.read(10), new Uint8Array(10).fill(9));
  await rejects(src.read(1), /disk on fire/);
});

Deno.test("BlockReaderSource refuses a bad block size", () => {
  for (const b of [0, -1, 1.5]) {
    let err: unknown;
    try {
      new BlockReaderSource(chunkedReader(DATA, 1), { blockBytes: b });
    } catch (e) {
      err = e;
    }
    ok(err instanceof RangeError && /blockBytes is/.test(err.message), `block ${b}`);
  }
});

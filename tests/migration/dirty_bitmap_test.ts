import { deepEqual, ok, throws } from "node:assert/strict";
import { ctz32, ctz64, DirtyBitmap, pageSpans, popcount32 } from "../../src/migration/dirty_bitmap.ts";

/** Reference: the page numbers whose bit is set, found bit by bit (the oracle for the fast paths). */
function slowList(words: Uint32Array, pages: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < pages; p++) if ((words[p >>> 5] >>> (p & 31)) & 1) out.push(p);
  return out;
}

/** A deterministic pseudo-random bit pattern (xorshift32). */
function pattern(pages: number, density: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let p = 0; p < pages; p++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    if (s / 0x100000000 < density) out.push(p);
  }
  return out;
}

Deno.test("popcount32() counts set bits of a word", () => {
  const table: [number, number][] = [[0, 0], [1, 1], [0x80000000, 1], [0xffffffff, 32], [0x55555555, 16], [
    0x0f0f0f0f,
    16,
  ], [0x12345678, 13]];
  for (const [x, n] of table) deepEqual(popcount32(x), n, `popcount32(0x${x.toString(16)})`);
});

Deno.test("ctz32() finds the lowest set bit", () => {
  for (let b = 0; b < 32; b++) {
    deepEqual(ctz32((1 << b) >>> 0), b);
    deepEqual(ctz32(((1 << b) | 0x80000000) >>> 0), b);
  }
});

Deno.test("ctz64() finds the lowest set bit of a 64-bit word given as two halves", () => {
  for (let b = 0; b < 64; b++) {
    const one = 1n << BigInt(b);
    for (const x of [one, one | (1n << 63n), one | 0x8000000000000000n]) {
      const lo = Number(x & 0xffffffffn);
      const hi = Number(x >> 32n);
      deepEqual(ctz64(lo, hi), b, `ctz64 of 0x${x.toString(16)}`);
    }
  }
});

Deno.test("DirtyBitmap keeps page i as bit i&63 of little-endian 64-bit word i>>6", () => {
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const b = new DirtyBitmap(200);
  const table = [0, 31, 32, 63, 64, 127, 128, 199];
  for (const p of table) b.set(p);
  // the oracle: the same bytes read as 64-bit little-endian words
  const dv = new DataView(b.words.buffer, b.words.byteOffset, b.words.byteLength);
  const got: number[] = [];
  for (let k = 0; k < b.words.length / 2; k++) {
    const word = dv.getBigUint64(k * 8, true);
    for (let bit = 0; bit < 64; bit++) if ((word >> BigInt(bit)) & 1n) got.push(k * 64 + bit);
  }
  if (littleEndian) deepEqual(got, table);
  deepEqual(b.words.length, 8, "four 64-bit words as 32-bit halves");
});

Deno.test("DirtyBitmap at edge sizes: setAll, count, iteration, next() and collect() stay inside the pages", () => {
  for (const pages of [0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 129]) {
    const b = new DirtyBitmap(pages);
    deepEqual(b.words.length, 2 * Math.ceil(pages / 64), `${pages} pages: words`);
    deepEqual(DirtyBitmap.wordsFor(pages), b.words.length);
    ok(b.isEmpty());
    deepEqual(b.next(0), -1);
    b.setAll();
    const all = Array.from({ length: pages }, (_, i) => i);
    deepEqual(b.count(), pages, `${pages} pages: count`);
    deepEqual([...b], all);
    deepEqual(slowList(b.words, b.words.length * 32), all, `${pages} pages: no bit beyond the last page`);
    const out = new Uint32Array(64);
    const viaCollect: number[] = [];
    for (let from = 0;;) {
      const n = b.collect(out, from);
      for (let i = 0; i < n; i++) viaCollect.push(out[i]);
      if (n < out.length) break;
      from = out[n - 1] + 1;
    }
    deepEqual(viaCollect, all, `${pages} pages: collect`);
    for (const from of [0, 1, 31, 32, 33, 63, 64, 65]) {
      deepEqual(b.next(from), from < pages ? from : -1, `${pages} pages: next(${from})`);
    }
    ok(pages === 0 || !b.isEmpty());
    // a VM's log (one 32-bit word per 32 pages) and a full 64-bit-word log both merge; extra bits drop
    for (const words of [Math.ceil(pages / 32), b.words.length]) {
      const c = new DirtyBitmap(pages);
      c.or(new Uint32Array(words).fill(0xffffffff));
      deepEqual(c.count(), pages, `${pages} pages: or() of ${words} words`);
    }
  }
});

Deno.test("DirtyBitmap set/test/clear address page i as bit i&31 of word i>>5", () => {
  const b = new DirtyBitmap(70);
  const table = [0, 1, 31, 32, 33, 63, 64, 69];
  for (const p of table) {
    ok(!b.test(p));
    b.set(p);
    ok(b.test(p));
    deepEqual((b.words[p >>> 5] >>> (p & 31)) & 1, 1, `bit of page ${p}`);
  }
  deepEqual(b.count(), table.length);
  b.set(31); // setting twice is idempotent
  deepEqual(b.count(), table.length);
  for (const p of table) {
    b.clear(p);
    ok(!b.test(p));
  }
  ok(b.isEmpty());
});

Deno.test("DirtyBitmap refuses page numbers outside the bitmap instead of ignoring them", () => {
  const b = new DirtyBitmap(64);
  for (const p of [-1, 64, 1e9, 1.5, NaN]) {
    throws(() => b.set(p), { name: "RangeError", message: /outside the dirty bitmap/ });
    throws(() => b.test(p), RangeError);
    throws(() => b.clear(p), RangeError);
  }
  throws(() => new DirtyBitmap(-1), RangeError);
});

Deno.test("DirtyBitmap.setAll() sets exactly the tracked pages, masking the last word", () => {
  for (const pages of [0, 1, 31, 32, 33, 64, 100, 4096, 4097]) {
    const b = new DirtyBitmap(pages);
    b.setAll();
    deepEqual(b.count(), pages, `count after setAll for ${pages} pages`);
    deepEqual([...b].length, pages);
    if (pages > 0) deepEqual(b.next(pages - 1), pages - 1);
    deepEqual(b.next(pages), -1);
    deepEqual(slowList(b.words, b.words.length * 32).length, pages, "no bit beyond the last page");
  }
});

Deno.test("DirtyBitmap iteration, next() and collect() agree with a bit-by-bit scan", () => {
  const cases: [number, number, number][] = [[1000, 0.01, 1], [1000, 0.5, 2], [1000, 1, 3], [33, 0.3, 4], [
    65536,
    0.001,
    5,
  ], [65536, 0.9, 6]];
  for (const [pages, density, seed] of cases) {
    const b = new DirtyBitmap(pages);
    const expected = pattern(pages, density, seed);
    for (const p of expected) b.set(p);
    deepEqual(slowList(b.words, pages), expected);
    deepEqual([...b], expected, `iterator ${pages}/${density}`);
    deepEqual(b.count(), expected.length);
    const viaNext: number[] = [];
    for (let p = b.next(0); p >= 0; p = b.next(p + 1)) viaNext.push(p);
    deepEqual(viaNext, expected, `next() ${pages}/${density}`);
    // collect() in small batches, continuing after the last page returned
    const viaCollect: number[] = [];
    const out = new Uint32Array(7);
    let from = 0;
    for (;;) {
      const n = b.collect(out, from);
      for (let i = 0; i < n; i++) viaCollect.push(out[i]);
      if (n < out.length) break;
      from = out[n - 1] + 1;
    }
    deepEqual(viaCollect, expected, `collect() ${pages}/${density}`);
  }
});

Deno.test("DirtyBitmap.next() starts mid-word and returns -1 past the end", () => {
  const b = new DirtyBitmap(100);
  b.set(5);
  b.set(37);
  b.set(99);
  const table: [number, number][] = [
    [0, 5],
    [5, 5],
    [6, 37],
    [37, 37],
    [38, 99],
    [99, 99],
    [100, -1],
    [
      -3,
      5,
    ],
    [64, 99],
    [63, 99],
    [32, 37],
  ];
  for (const [from, want] of table) deepEqual(b.next(from), want, `next(${from})`);
});

Deno.test("DirtyBitmap.take() returns the bits and clears them", () => {
  const b = new DirtyBitmap(200);
  for (const p of [0, 50, 199]) b.set(p);
  const taken = b.take();
  deepEqual(slowList(taken, 200), [0, 50, 199]);
  ok(b.isEmpty());
  deepEqual(b.count(), 0);
});

Deno.test("DirtyBitmap.or() merges bits back after a failed round", () => {
  const b = new DirtyBitmap(100);
  b.set(1);
  b.set(64);
  const taken = b.take();
  b.set(2);
  b.or(taken);
  deepEqual([...b], [1, 2, 64]);
  const other = new DirtyBitmap(100);
  other.set(99);
  b.or(other);
  deepEqual([...b], [1, 2, 64, 99]);
  // bits beyond the last page in a foreign log are dropped, not counted
  const log = new Uint32Array(4).fill(0xffffffff);
  const c = new DirtyBitmap(100);
  c.or(log);
  deepEqual(c.count(), 100);
  throws(() => c.or(new Uint32Array(3)), { name: "RangeError", message: /3 words into a bitmap of 4 words/ });
  throws(() => c.or(new Uint32Array(6)), { name: "RangeError", message: /expected 4 or 4 32-bit words/ });
  // 65 pages: the VM's log has 3 words, the bitmap 4 (two 64-bit words); both merge
  const d = new DirtyBitmap(65);
  d.or(Uint32Array.of(0, 0, 1));
  deepEqual([...d], [64]);
  throws(() => d.or(new Uint32Array(2)), RangeError);
});

/** Best of three timings of `fn`, in milliseconds. */
function best(fn: () => void): number {
  let t = Infinity;
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    fn();
    t = Math.min(t, performance.now() - s);
  }
  return t;
}

Deno.test("DirtyBitmap iteration skips empty words instead of scanning bit by bit (seed defect)", () => {
  const pages = 1 << 26;
  const b = new DirtyBitmap(pages);
  for (let p = 0; p < pages; p += 1 << 16) b.set(p + 7);
  let found = 0;
  const wordWise = best(() => {
    found = 0;
    for (let p = b.next(0); p >= 0; p = b.next(p + 1)) found++;
  });
  deepEqual(found, 1024);
  let slow = 0;
  const bitWise = best(() => {
    slow = 0;
    const w = b.words;
    for (let p = 0; p < pages; p++) if ((w[p >>> 5] >>> (p & 31)) & 1) slow++;
  });
  deepEqual(slow, 1024);
  // A 64-bit-word walk reads 64x fewer words than a bit-by-bit scan; demand at least 4x.
  ok(wordWise * 4 < bitWise, `word-wise walk took ${wordWise} ms, bit-by-bit ${bitWise} ms`);
});

Deno.test("DirtyBitmap.setAll() is word-wise, not one bit at a time (seed defect)", () => {
  const pages = 1 << 26;
  const b = new DirtyBitmap(pages);
  const wordWise = best(() => b.setAll());
  const bitWise = best(() => {
    const w = b.words;
    for (let p = 0; p < pages; p++) w[p >>> 5] |= 1 << (p & 31);
  });
  deepEqual(b.count(), pages);
  ok(wordWise * 4 < bitWise, `setAll took ${wordWise} ms, bit by bit ${bitWise} ms`);
});

Deno.test("pageSpans: the runs of set bits, as the bit-by-bit list has them", () => {
  for (
    const [pages, density, seed] of [[1, 0.5, 1], [64, 0.9, 2], [1000, 0.3, 3], [4099, 0.97, 4], [
      4099,
      0.02,
      5,
    ]]
  ) {
    const b = new DirtyBitmap(pages);
    for (const p of pattern(pages, density, seed)) b.set(p);
    const list = slowList(b.words, pages);
    const runs: [number, number][] = [];
    for (const p of list) {
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === p) last[1]++;
      else runs.push([p, 1]);
    }
    deepEqual(pageSpans(b.words, pages), runs, `${pages} pages, density ${density}`);
  }
  const all = new DirtyBitmap(100);
  all.setAll();
  deepEqual(pageSpans(all.words, 100), [[0, 100]]);
  deepEqual(pageSpans(new DirtyBitmap(100).words, 100), []);
});

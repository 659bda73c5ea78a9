import assert from "node:assert/strict";
import { Prng } from "../../src/conformance/prng.ts";

Deno.test("Prng repeats its sequence for the same seed and differs for another", () => {
  const a = new Prng(42), b = new Prng(42), c = new Prng(43);
  const sa = Array.from({ length: 16 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 16 }, () => b.u32()), sa);
  assert.notDeepEqual(Array.from({ length: 16 }, () => c.u32()), sa);
});

Deno.test("Prng.int() and range() stay in bounds and reach both ends", () => {
  const r = new Prng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.range(-3, 3);
    assert.ok(v >= -3 && v <= 3);
    seen.add(v);
  }
  assert.equal(seen.size, 7);
});

Deno.test("Prng.bits() returns values of the requested width", () => {
  const r = new Prng(5);
  for (const w of [1, 8, 31, 64]) {
    for (let i = 0; i < 50; i++) assert.ok(r.bits(w) < 1n << BigInt(w));
  }
});

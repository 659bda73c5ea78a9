/**
 * Instruction tests from the muldiv tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/muldiv.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts muldiv`).
 */
import assert from "node:assert/strict";
import { mul64 } from "../../src/cpu/ops/muldiv.ts";
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("muldiv", () => makeCpu());

Deno.test("mul64 gives the exact 128-bit product (BigInt arithmetic as the definition)", () => {
  const edges = [
    0n,
    1n,
    2n,
    0xffffn,
    0x10000n,
    0xffffffffn,
    0x100000000n,
    0x7fffffffffffffffn,
    0x8000000000000000n,
  ];
  edges.push(0xffffffffffffffffn, 0xfffffffffffffffen, 0x123456789abcdef0n, 0xdeadbeefcafebaben);
  let seed = 0x9e3779b97f4a7c15n;
  const next = () => (seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n));
  const values = [...edges];
  for (let k = 0; k < 300; k++) values.push(next());
  const w = new Uint32Array(4);
  for (const a of values) {
    for (const b of values.slice(0, 60)) {
      mul64(Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n), w);
      const got = (BigInt(w[3]) << 96n) | (BigInt(w[2]) << 64n) | (BigInt(w[1]) << 32n) | BigInt(w[0]);
      assert.equal(got, a * b, `${a} * ${b}`);
    }
  }
});

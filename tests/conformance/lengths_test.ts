import assert from "node:assert/strict";
import { hexToBytes } from "../../src/conformance/case.ts";
import { generateCases } from "../../src/conformance/generator.ts";
import {
  byteStreams,
  compareLengths,
  HvsimDecoder,
  interpreterRobustness,
  objdumpLengths,
  STREAM_BYTES,
} from "../../src/conformance/lengths.ts";
import { Prng } from "../../src/conformance/prng.ts";
import { HAVE_TOOLCHAIN } from "./_util.ts";

const pad = (h: string) => hexToBytes(h.padEnd(2 * STREAM_BYTES, "90"));

// Lengths from the encodings in SDM Vol. 2 (opcode + ModRM + SIB + displacement + immediate).
const KNOWN: [string, number][] = [
  ["4801d8", 3], // add %rbx,%rax: REX.W 01 /r
  ["0f0b", 2], // ud2
  ["6690", 2], // xchg %ax,%ax
  ["48b8" + "11".repeat(8), 10], // movabs $imm64,%rax
  ["c784c8" + "44".repeat(4) + "55".repeat(4), 11], // movl $imm32, disp32(%rax,%rcx,8)
  ["f3a4", 2], // rep movsb
  ["e8" + "00".repeat(4), 5], // call rel32
  ["8b0425" + "10083000", 7], // mov 0x300810,%eax (SIB, no base)
];

Deno.test({
  name: "objdumpLengths() gives the SDM lengths of known encodings and rejects a 15-prefix run",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const got = await objdumpLengths([...KNOWN.map(([h]) => pad(h)), hexToBytes("f0".repeat(STREAM_BYTES))]);
    KNOWN.forEach(([h, len], i) => {
      assert.equal(got[i].length, len, h);
      assert.ok(got[i].valid, h);
    });
    assert.equal(got[KNOWN.length].valid, false);
  },
});

Deno.test("HvsimDecoder gives the SDM lengths of known encodings", () => {
  const d = new HvsimDecoder();
  for (const [h, len] of KNOWN) {
    const r = d.decode(pad(h));
    assert.equal(r.length, len, h);
    assert.ok(r.implemented, h);
  }
});

Deno.test("byteStreams() is deterministic and makes streams of STREAM_BYTES", () => {
  const seeds = [hexToBytes("4801d8")];
  const a = byteStreams(new Prng(1), 30, seeds);
  assert.deepEqual(a, byteStreams(new Prng(1), 30, seeds));
  assert.ok(a.every((s) => s.length === STREAM_BYTES));
});

Deno.test({
  name: "hvsim's decoder agrees with objdump on instruction lengths and never throws (3000 streams)",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const seeds = (await generateCases({ seed: 11, cases: 1500 })).map((c) => hexToBytes(c.bytes));
    const r = await compareLengths(11, 3000, seeds);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.mismatches, []);
    assert.ok(r.compared > 1500, `only ${r.compared} streams compared`);
  },
});

Deno.test({
  name: "hvsim's interpreter runs random and mutated streams without a JavaScript error (3000 streams)",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const states = await generateCases({ seed: 12, cases: 1500 });
    const streams = byteStreams(new Prng(12), 3000, states.map((c) => hexToBytes(c.bytes)));
    const r = await interpreterRobustness(streams, states);
    assert.deepEqual(r.crashes, []);
    assert.equal(Object.values(r.outcomes).reduce((a, b) => a + b, 0), 3000);
  },
});

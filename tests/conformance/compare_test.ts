import assert from "node:assert/strict";
import { AF, type CaseResult, CF, DF, OF, PF, SF, type TestCase, ZF } from "../../src/conformance/case.ts";
import { approxEqual, compareResults, flagsText } from "../../src/conformance/compare.ts";
import { makeCase } from "./_util.ts";

function result(over: Partial<CaseResult> & { rax?: bigint } = {}): CaseResult {
  const c = makeCase("r", "90", { rax: over.rax ?? 0x1234n });
  return { id: "r", regs: c.regs, rip: "0x201001", rflags: "0x2", mem: c.mem, ...over };
}

function withUndef(undef: TestCase["undef"]): TestCase {
  return { ...makeCase("c", "90"), undef };
}

const memWith = (off: number, byte: number) => {
  const m = result().mem!;
  return m.slice(0, 2 * off) + byte.toString(16).padStart(2, "0") + m.slice(2 * off + 2);
};

const ROWS: { name: string; undef: TestCase["undef"]; a: CaseResult; b: CaseResult; fields: string[] }[] = [
  { name: "equal results", undef: { flags: 0 }, a: result(), b: result(), fields: [] },
  {
    name: "AF differs but is undefined (AND/OR/XOR)",
    undef: { flags: AF },
    a: result({ rflags: "0x12" }),
    b: result({ rflags: "0x2" }),
    fields: [],
  },
  {
    name: "CF differs while only AF is undefined",
    undef: { flags: AF },
    a: result({ rflags: "0x13" }),
    b: result({ rflags: "0x2" }),
    fields: ["rflags"],
  },
  {
    name: "all status flags undefined (DIV), DF still compared",
    undef: { flags: CF | PF | AF | ZF | SF | OF },
    a: result({ rflags: "0x8d7" }),
    b: result({ rflags: "0x402" }),
    fields: ["rflags"],
  },
  {
    name: "system flags (IF, bit 9) are never compared",
    undef: { flags: 0 },
    a: result({ rflags: "0x202" }),
    b: result({ rflags: "0x2" }),
    fields: [],
  },
  {
    name: "register difference",
    undef: { flags: 0 },
    a: result({ rax: 1n }),
    b: result({ rax: 2n }),
    fields: ["rax"],
  },
  {
    name: "register difference in undefined bits (BSF with zero source)",
    undef: { flags: 0, regs: { rax: "0xffffffffffffffff" } },
    a: result({ rax: 1n }),
    b: result({ rax: 2n }),
    fields: [],
  },
  {
    name: "register difference outside the undefined bits",
    undef: { flags: 0, regs: { rax: "0xff" } },
    a: result({ rax: 0x101n }),
    b: result({ rax: 0x202n }),
    fields: ["rax"],
  },
  {
    name: "RIP difference",
    undef: { flags: 0 },
    a: result({ rip: "0x201002" }),
    b: result(),
    fields: ["rip"],
  },
  {
    name: "scratch byte difference",
    undef: { flags: 0 },
    a: result({ mem: memWith(0x10, 0xab) }),
    b: result(),
    fields: ["mem[0x10]"],
  },
  {
    name: "scratch byte difference inside an undefined bit mask (PUSHF image)",
    undef: { flags: 0, mem: [[0x10, 0xff]] },
    a: result({ mem: memWith(0x10, 0xab) }),
    b: result(),
    fields: [],
  },
  {
    name: "same exception: nothing else compared",
    undef: { flags: 0 },
    a: result({ exception: "DE", vector: 0, rax: 1n }),
    b: result({ exception: "DE", vector: 0, rax: 2n }),
    fields: [],
  },
  {
    name: "exception against completion",
    undef: { flags: 0 },
    a: result({ exception: "GP", vector: 13 }),
    b: result(),
    fields: ["exception"],
  },
  {
    name: "a runner failure never agrees, not even with itself",
    undef: { flags: 0 },
    a: result({ exception: "timeout" }),
    b: result({ exception: "timeout" }),
    fields: ["exception"],
  },
];

for (const row of ROWS) {
  Deno.test(`compareResults() masks exactly the undefined parts: ${row.name}`, () => {
    const diffs = compareResults(withUndef(row.undef), row.a, row.b);
    assert.deepEqual(diffs.map((d) => d.field), row.fields);
  });
}

Deno.test("flagsText() names the set status flags and DF", () => {
  assert.equal(flagsText(0x2 | CF | ZF | DF | OF), "0xc43 [ODZC]");
});

Deno.test("approxEqual() accepts RCP/RSQRT lanes within the SDM's bound and nothing else", () => {
  const x = (lanes: number[]) => "0x" + lanes.map((v) => v.toString(16).padStart(8, "0")).reverse().join("");
  // 1/3 as binary32 (0x3eaaaaab) against a 12-bit approximation (0x3eaaa000): within 1.5 * 2^-12 each.
  assert.equal(approxEqual(x([0x3eaaaaab, 1, 2, 3]), x([0x3eaaa000, 1, 2, 3]), 1), true);
  // Off by 2^-9 relative: outside.
  assert.equal(approxEqual(x([0x3f800000, 1, 2, 3]), x([0x3f804000, 1, 2, 3]), 1), false);
  // Lanes beyond `lanes` must be exact.
  assert.equal(approxEqual(x([0x3eaaaaab, 1, 2, 3]), x([0x3eaaaaab, 1, 2, 4]), 1), false);
  // Signs and NaNs are exact.
  assert.equal(approxEqual(x([0x3f800000, 0, 0, 0]), x([0xbf800000, 0, 0, 0]), 4), false);
  assert.equal(approxEqual(x([0x7fc00000, 0, 0, 0]), x([0x7fc00001, 0, 0, 0]), 4), false);
});

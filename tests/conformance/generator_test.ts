import assert from "node:assert/strict";
import { AF, SCRATCH_SIZE } from "../../src/conformance/case.ts";
import { buildForms } from "../../src/conformance/forms.ts";
import { generateCases, selectForms } from "../../src/conformance/generator.ts";
import { HostRunner } from "../../src/conformance/host_runner.ts";
import { HAVE_TOOLCHAIN } from "./_util.ts";

const FORMS = buildForms();

Deno.test("buildForms() covers every instruction family the interpreter implements", () => {
  const mnemonics = new Set(FORMS.map((f) => f.mnemonic));
  for (
    const m of [
      "mov",
      "movabs",
      "movzx",
      "movsx",
      "movsxd",
      "lea",
      "add",
      "adc",
      "sub",
      "sbb",
      "cmp",
      "and",
      "or",
      "xor",
      "test",
      "inc",
      "dec",
      "neg",
      "not",
      "shl",
      "shr",
      "sar",
      "rol",
      "ror",
      "rcl",
      "rcr",
      "shld",
      "shrd",
      "mul",
      "imul",
      "div",
      "idiv",
      "jcc",
      "setcc",
      "cmovcc",
      "jmp",
      "call",
      "ret",
      "push",
      "pop",
      "leave",
      "cbtw",
      "cwtl",
      "cltq",
      "cwtd",
      "cltd",
      "cqto",
      "xchg",
      "xadd",
      "cmpxchg",
      "bswap",
      "bt",
      "bts",
      "btr",
      "btc",
      "bsf",
      "bsr",
      "movs",
      "stos",
      "lods",
      "cmps",
      "scas",
      "nop",
      "clc",
      "stc",
      "cmc",
      "cld",
      "std",
      "lahf",
      "sahf",
      "pushf",
      "popf",
      "ud2",
      "int3",
    ]
  ) assert.ok(mnemonics.has(m), `no form for ${m}`);
  for (const size of [8, 16, 32, 64]) assert.ok(FORMS.some((f) => f.mnemonic === "add" && f.size === size));
});

Deno.test({
  name: "generateCases() is deterministic for a seed and assembles every form to 1..15 bytes",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const a = await generateCases({ seed: 99, cases: FORMS.length });
    const b = await generateCases({ seed: 99, cases: FORMS.length });
    assert.deepEqual(a, b);
    assert.equal(new Set(a.map((c) => c.form)).size, FORMS.length);
    for (const c of a) {
      assert.ok(c.bytes.length >= 2 && c.bytes.length <= 30, `${c.asm}: ${c.bytes}`);
      assert.equal(c.mem.length, 2 * SCRATCH_SIZE);
    }
    const c = await generateCases({ seed: 100, cases: 50 });
    assert.notDeepEqual(c.map((x) => x.bytes), a.slice(0, 50).map((x) => x.bytes));
  },
});

Deno.test({
  name: "generateCases() attaches the SDM's undefined flags (AF after AND)",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const cases = await generateCases({ seed: 3, cases: 20, only: ["and"] });
    for (const c of cases) assert.equal(c.undef.flags, AF, c.asm);
  },
});

Deno.test("selectForms() filters by mnemonic or instruction word and rejects unknown names", () => {
  assert.ok(selectForms(FORMS, ["jcc"]).every((f) => f.mnemonic === "jcc"));
  assert.ok(
    selectForms(FORMS, ["addq"]).every((f) => f.template.startsWith("addq") || f.template.includes(" addq")),
  );
  assert.throws(() => selectForms(FORMS, ["frobnicate"]), RangeError);
});

Deno.test({
  name: "generateCases() points every memory operand into the scratch area (no #PF/#GP on the host)",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const cases = await generateCases({ seed: 4, cases: FORMS.length * 2 });
    const results = await (await HostRunner.create()).run(cases);
    const bad = results.flatMap((r, i) =>
      // SSE cases may also fault as they are meant to: #GP for a misaligned m128 or a reserved MXCSR
      // bit (LDMXCSR), #XM for an unmasked SIMD exception.
      r.exception &&
        ![
          "DE",
          "UD",
          "BP",
          ...(cases[i].xmm !== undefined ? ["GP", "XM"] : []),
          // CMPXCHG16B's m128 must be 16-byte aligned too (#GP, SDM Vol. 2 CMPXCHG8B/CMPXCHG16B).
          ...(/cmpxchg16b/.test(cases[i].asm) ? ["GP"] : []),
          // x87 cases whose status word has a pending unmasked exception: #MF at a waiting instruction.
          ...(cases[i].x87 !== undefined ? ["MF"] : []),
        ].includes(r.exception)
        ? [`${cases[i].asm}: ${r.exception}`]
        : []
    );
    assert.deepEqual(bad, []);
  },
});

import assert from "node:assert/strict";
import {
  classify,
  encodingClass,
  operandKind,
  Survey,
  surveyMarkdown,
} from "../../src/conformance/survey.ts";
import { hexToBytes } from "../../src/conformance/case.ts";
import { cacheDir } from "../../src/conformance/_paths.ts";
import { HAVE_TOOLCHAIN } from "./_util.ts";

// objdump's Intel-syntax text (GNU binutils 2.40, `-M intel`) of a few instructions.
Deno.test("classify() splits objdump's text into mnemonic and operand kinds", () => {
  assert.deepEqual(classify("mov    rax,QWORD PTR [rbx+0x8]"), { mnemonic: "mov", form: "r64, m64" });
  assert.deepEqual(classify("lock cmpxchg QWORD PTR [rdi],rsi"), {
    mnemonic: "lock cmpxchg",
    form: "m64, r64",
  });
  assert.deepEqual(classify("rep stos BYTE PTR es:[rdi],al"), { mnemonic: "rep stos", form: "m8, r8" });
  assert.deepEqual(classify("cs nop WORD PTR [rax+rax*1+0x0]"), { mnemonic: "nop", form: "m16" });
  assert.deepEqual(classify("jmp    401020 <main+0x10>"), { mnemonic: "jmp", form: "rel" });
  assert.deepEqual(classify("mov    eax,DWORD PTR fs:0x28   # comment"), {
    mnemonic: "mov",
    form: "r32, m32",
  });
  assert.deepEqual(classify("xgetbv"), { mnemonic: "xgetbv", form: "" });
  assert.equal(operandKind("st(3)"), "st");
  assert.equal(operandKind("k1{k2}"), "k");
  assert.equal(operandKind("0x10"), "imm");
  assert.equal(operandKind("cr4"), "cr");
});

Deno.test("encodingClass() names the encoding spaces beyond the one- and two-byte maps", () => {
  assert.equal(encodingClass(hexToBytes("c5f877"), "vzeroupper"), "VEX (AVX, AVX2, BMI)");
  assert.equal(encodingClass(hexToBytes("62f17c481107"), "vmovups"), "EVEX (AVX-512)");
  assert.equal(encodingClass(hexToBytes("d9e8"), "fld1"), "x87");
  assert.equal(encodingClass(hexToBytes("660f3800c2"), "pshufb"), "0f 38 map");
  assert.equal(encodingClass(hexToBytes("0f01d6"), "xtest"), "RTM/HLE (CPUID.7:EBX.4/11)");
  assert.equal(encodingClass(hexToBytes("0f01ca"), "clac"), "SMAP (CPUID.7:EBX.20)");
  assert.equal(encodingClass(hexToBytes("0fefc0"), "pxor"), "MMX");
  assert.equal(encodingClass(hexToBytes("660fefc0"), "pxor"), "");
  assert.equal(encodingClass(hexToBytes("4801d8"), "add"), "");
});

Deno.test({
  name: "Survey counts an assembled object's instructions and agrees with objdump on their lengths",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: await cacheDir(), prefix: "survey-" });
    try {
      // Two `add` forms, an implemented system instruction, and vzeroupper (AVX: not in hvsim's table).
      await Deno.writeTextFile(
        `${dir}/s.s`,
        ".intel_syntax noprefix\n.text\nadd rax, rbx\nadd rcx, rdx\nadd eax, [rdi]\nswapgs\nvzeroupper\n",
      );
      const as = await new Deno.Command("as", { args: ["--64", "-o", `${dir}/s.o`, `${dir}/s.s`] }).output();
      assert.ok(as.success);
      const survey = new Survey();
      const input = { label: "t", path: `${dir}/s.o`, description: "test object" };
      await survey.addBinary(input);
      assert.equal(survey.totals.get("t"), 5);
      const add = survey.rows.get("add|r64, r64")!;
      assert.equal(add.uses.get("t"), 2);
      assert.equal(add.implemented, 2);
      assert.equal(add.lengthMismatch, 0);
      assert.equal(survey.rows.get("add|r32, m32")!.implemented, 1);
      assert.equal(survey.rows.get("swapgs|")!.implemented, 1);
      const vz = survey.rows.get("vzeroupper|")!;
      assert.equal(vz.undefined, 1);
      assert.equal(vz.needs, "VEX (AVX, AVX2, BMI)");
      const md = surveyMarkdown(survey, [input], "test");
      assert.match(md, /\| vzeroupper \| — \| 1 \| VEX/);
      assert.match(md, /\| t \| test object \| 5 \| 4 \| 1 \|/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

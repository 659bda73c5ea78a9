import assert from "node:assert/strict";
import type { CaseResult, TestCase } from "../../src/conformance/case.ts";
import type { Difference } from "../../src/conformance/compare.ts";
import { explainUnicornMismatch, UNICORN_DEVIATIONS } from "../../src/conformance/unicorn_deviations.ts";
import { makeCase } from "./_util.ts";

function res(regs: Record<string, string>, rflags = "0x2"): CaseResult {
  const base = makeCase("x", "90");
  return { id: "x", regs: { ...base.regs, ...regs }, rip: "0x201001", rflags, mem: base.mem };
}
const asmCase = (asm: string): TestCase => ({ ...makeCase("x", "90"), asm });

// [deviation id or undefined, asm, diffs, host result, unicorn result]: the observed shapes of each
// deviation (see its evidence), and near misses that must stay unexplained.
const ROWS: [string | undefined, string, Difference[], CaseResult, CaseResult][] = [
  [
    "lock-neg-flags",
    "lock negq 0x30083f",
    [{ field: "rflags", a: "", b: "" }],
    res({}, "0x217"),
    res({}, "0x93"),
  ],
  [undefined, "negq 0x30083f", [{ field: "rflags", a: "", b: "" }], res({}, "0x217"), res({}, "0x93")],
  [
    "cmpxchg32-writes-both",
    "cmpxchgl %ebp, %r13d",
    [{ field: "r13", a: "", b: "" }],
    res({ r13: "0x80000000f19b016e" }),
    res({ r13: "0xf19b016e" }),
  ],
  [
    undefined,
    "cmpxchgl %ebp, %r13d",
    [{ field: "r13", a: "", b: "" }],
    res({ r13: "0x80000000f19b016e" }),
    res({ r13: "0xf19b016f" }),
  ],
  [
    "ret-imm16-sign-extended",
    "ret $32769",
    [{ field: "rsp", a: "", b: "" }],
    res({ rsp: "0x308881" }),
    res({ rsp: "0x2f8881" }),
  ],
  [
    undefined,
    "ret $32769",
    [{ field: "rsp", a: "", b: "" }],
    res({ rsp: "0x308881" }),
    res({ rsp: "0x308871" }),
  ],
  [
    "shxd-imm8-rip-relative",
    "shrdq $157, %r13, 0xff7f9(%rip)",
    [{ field: "mem[0x1]", a: "", b: "" }, { field: "rflags", a: "", b: "" }],
    res({}),
    res({}),
  ],
  [undefined, "shrdq $157, %r13, 0x10(%rax)", [{ field: "mem[0x1]", a: "", b: "" }], res({}), res({})],
  [
    "popcnt-ud",
    "popcntl %r8d, %ecx",
    [{ field: "exception", a: "", b: "" }],
    res({}),
    { ...res({}), exception: "UD", vector: 6 },
  ],
  [undefined, "popcntl %r8d, %ecx", [{ field: "rcx", a: "", b: "" }], res({}), res({})],
  ["mmx-phaddsub-same-register", "phaddd %mm2, %mm2", [{ field: "st2", a: "", b: "" }], res({}), res({})],
  [undefined, "phaddd %mm1, %mm2", [{ field: "st2", a: "", b: "" }], res({}), res({})],
  [undefined, "phaddd %xmm2, %xmm2", [{ field: "rax", a: "", b: "" }], res({}), res({})],
  [
    undefined,
    "crc32l %r8d, %ecx",
    [{ field: "exception", a: "", b: "" }],
    res({}),
    { ...res({}), exception: "UD", vector: 6 },
  ],
];

for (const [id, asm, diffs, host, uc] of ROWS) {
  Deno.test(`explainUnicornMismatch() ${id ? `attributes "${asm}" to ${id}` : `leaves "${asm}" unexplained`}`, () => {
    assert.equal(explainUnicornMismatch(asmCase(asm), diffs, host, uc)?.id, id);
  });
}

Deno.test("UNICORN_DEVIATIONS have unique ids, a summary and evidence", () => {
  assert.equal(new Set(UNICORN_DEVIATIONS.map((d) => d.id)).size, UNICORN_DEVIATIONS.length);
  for (const d of UNICORN_DEVIATIONS) assert.ok(d.summary.length > 20 && d.evidence.length > 20, d.id);
});

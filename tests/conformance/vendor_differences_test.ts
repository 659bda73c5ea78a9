import assert from "node:assert/strict";
import type { CaseResult, TestCase } from "../../src/conformance/case.ts";
import { compareResults } from "../../src/conformance/compare.ts";
import { hostCpuName } from "../../src/conformance/host_runner.ts";
import {
  explainVendorDifference,
  hostIsAmd,
  VENDOR_DIFFERENCES,
} from "../../src/conformance/vendor_differences.ts";
import { makeCase } from "./_util.ts";

function res(regs: Record<string, string>, rflags = "0x2"): CaseResult {
  const base = makeCase("x", "90");
  return { id: "x", regs: { ...base.regs, ...regs }, rip: "0x201001", rflags, mem: base.mem };
}
const asmCase = (asm: string): TestCase => ({ ...makeCase("x", "90"), asm });

// [difference id or undefined, asm, AMD (host) result, hvsim result]: the SDM's result is accepted
// exactly where the difference applies, and nowhere else.
const ROWS: [string | undefined, string, CaseResult, CaseResult][] = [
  // Failed compare (ZF = 0): Intel writes DEST := TEMP, zero-extended (SDM Vol. 2A CMPXCHG).
  [
    "cmpxchg32-register-destination",
    "cmpxchgl %esp, %r13d",
    res({ r13: "0xffffffffffffffff" }),
    res({ r13: "0xffffffff" }),
  ],
  [
    "cmpxchg32-register-destination",
    "lock cmpxchgl %ebp, %edx",
    res({ rdx: "0x2152411000000006" }, "0x83"),
    res({ rdx: "0x6" }, "0x83"),
  ],
  // A successful compare (ZF = 1): both vendors agree; a destination zero-extended differently is wrong.
  [
    undefined,
    "cmpxchgl %esp, %r13d",
    res({ r13: "0x80000000f19b016e" }, "0x46"),
    res({ r13: "0xf19b016e" }, "0x46"),
  ],
  // Another value in the destination than TEMP zero-extended.
  [undefined, "cmpxchgl %esp, %r13d", res({ r13: "0xffffffffffffffff" }), res({ r13: "0x1" })],
  // Another register differing as well.
  [
    undefined,
    "cmpxchgl %esp, %r13d",
    res({ r13: "0xffffffffffffffff" }),
    res({ r13: "0xffffffff", rbx: "0x1" }),
  ],
  // Memory destination, other sizes, other instructions: not this difference.
  [undefined, "cmpxchgl %ebx, 0x30083f", res({ rbx: "0xffffffffffffffff" }), res({ rbx: "0xffffffff" })],
  [undefined, "cmpxchgq %rsp, %r13", res({ r13: "0xffffffffffffffff" }), res({ r13: "0xffffffff" })],
  [undefined, "xaddl %esp, %r13d", res({ r13: "0xffffffffffffffff" }), res({ r13: "0xffffffff" })],
];

for (const [n, [id, asm, amd, hvsim]] of ROWS.entries()) {
  Deno.test(`explainVendorDifference() row ${n}, ${asm}: ${id ?? "unexplained"}`, () => {
    const c = asmCase(asm);
    const diffs = compareResults(c, amd, hvsim);
    assert.notEqual(diffs.length, 0);
    assert.equal(explainVendorDifference(c, diffs, amd, hvsim)?.id, id);
  });
}

Deno.test("VENDOR_DIFFERENCES quote the SDM and say what AMD does", () => {
  for (const d of VENDOR_DIFFERENCES) {
    assert.match(d.intel, /SDM Vol\. \d/, d.id);
    assert.match(d.amd, /AMD/, d.id);
  }
});

Deno.test("hostIsAmd() follows /proc/cpuinfo's vendor", () => {
  assert.equal(hostIsAmd(), hostCpuName().startsWith("AuthenticAMD"));
});

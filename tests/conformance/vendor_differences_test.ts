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

/** `x87` (case.ts's layout) with FSW replaced. */
const withFsw = (x87: string, fsw: number) =>
  x87.slice(0, 4) + (fsw & 0xff).toString(16).padStart(2, "0") + (fsw >> 8).toString(16).padStart(2, "0") +
  x87.slice(8);

// [difference id or undefined, asm, initial x87 state, AMD (host) FSW, hvsim FSW]: cases of the 10^6-case
// x87/MMX/SSE run (seed 15) with the host's and hvsim's results, and near misses.
const FCOMP = "500e40320c2c03910e00000000c0ff7fe35561b925599c8dfe7f85cb9649c7e1d9e4104090b44ae1d191b4d828c0" +
  "6d9a334f1e120ec4fe7f000000000000e881f2bf8bc284a2775074e930c0000000000000c9840dc0";
const FYL2X = "7f0304080bc2020000000000000000000000000000000080ff3f00000000000028af04c080febdce6a000080ff7f" +
  "c5670739a6faeba0214059b80e5fb1a195f3104034ef34d5ed14e79409400000000000000080ffbf";
const X87_ROWS: [string | undefined, string, string, number, number][] = [
  // A QNaN in ST(0), #IA unmasked, SF already set: C3, C2, C0 and C1 keep their values on Intel.
  ["x87-compare-unmasked-invalid", "fcomp %st(5)", FCOMP, 0xf5c1, 0xb2c1],
  [undefined, "fcomp %st(5)", FCOMP, 0xf5c1, 0xb0c1],
  // ST(0) the denormal 2^-16444, ST(1) = 1: the exact result -16444; only AMD sets PE.
  ["x87-fyl2x-exact-inexact", "fyl2x", FYL2X, 0x1026, 0x1006],
  [undefined, "fyl2x", FYL2X.slice(0, 12) + "03" + FYL2X.slice(14), 0x1026, 0x1006],
];

for (const [n, [id, asm, x87, amdFsw, hvsimFsw]] of X87_ROWS.entries()) {
  Deno.test(`explainVendorDifference() x87 row ${n}, ${asm}: ${id ?? "unexplained"}`, () => {
    const c: TestCase = { ...asmCase(asm), x87 };
    const amd = { ...res({}), x87: withFsw(x87, amdFsw) },
      hvsim = { ...res({}), x87: withFsw(x87, hvsimFsw) };
    const diffs = compareResults(c, amd, hvsim);
    assert.notEqual(diffs.length, 0);
    assert.equal(explainVendorDifference(c, diffs, amd, hvsim)?.id, id);
  });
}

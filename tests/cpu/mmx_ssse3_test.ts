/**
 * The SSSE3 instructions on MMX registers (0f 38 and 0f 3a 0f without a prefix; SDM Vol. 2 App. A.3,
 * Tables ). Expected values were produced by this host's CPU running the same
 * instructions on the same operands (a gcc-built program with inline assembly); they agree with the
 * operation text of each instruction in SDM Vol. 2. The conformance generator compares these forms
 * with the host CPU on random operands (src/conformance/mmx_forms.ts).
 */
import assert from "node:assert/strict";
import { CR0_EM, CR0_TS } from "../../src/cpu/mod.ts";
import { go, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";

type TestCpu = ReturnType<typeof makeCpu>;

function mm(cpu: TestCpu, n: number): bigint {
  let v = 0n;
  for (let k = 9; k >= 0; k--) v = (v << 8n) | BigInt(cpu.fpu.st[10 * n + k]);
  return v;
}

function setMm(cpu: TestCpu, n: number, v: bigint): void {
  for (let k = 0; k < 8; k++) cpu.fpu.st[10 * n + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}

/** Runs `code` (then INT3) with MM0 = dst and MM1 = src; returns MM0 (80 bits) and the stop vector. */
function op(code: number[], dst: bigint, src: bigint, prepare?: (cpu: TestCpu) => void) {
  const cpu = makeCpu();
  setMm(cpu, 0, dst);
  setMm(cpu, 1, src);
  prepare?.(cpu);
  load(cpu, { code: new Uint8Array([...code, 0xcc]), regs: { rax: BigInt(SCRATCH_ADDR) } });
  const vector = go(cpu).vector;
  return { cpu, vector, mm0: mm(cpu, 0) };
}

// [name, bytes, MM0, MM1, MM0 after (host CPU)]
const CASES: [string, number[], bigint, bigint, bigint][] = [
  // A selector's bit 3 is ignored on 64-bit operands; bit 7 zeroes the byte.
  [
    "pshufb %mm1, %mm0",
    [0x0f, 0x38, 0x00, 0xc1],
    0x0706050403020100n,
    0x80090f0801020a0bn,
    0x0001070001020203n,
  ],
  ["palignr $3", [0x0f, 0x3a, 0x0f, 0xc1, 3], 0x1716151413121110n, 0x0706050403020100n, 0x1211100706050403n],
  ["palignr $9", [0x0f, 0x3a, 0x0f, 0xc1, 9], 0x1716151413121110n, 0x0706050403020100n, 0x0017161514131211n],
  ["palignr $16", [0x0f, 0x3a, 0x0f, 0xc1, 16], 0x1716151413121110n, 0x0706050403020100n, 0n],
  ["phaddw", [0x0f, 0x38, 0x01, 0xc1], 0x0004000300020001n, 0x7fff00018000ffffn, 0x80007fff00070003n],
  ["phaddsw", [0x0f, 0x38, 0x03, 0xc1], 0x0004000300020001n, 0x7fff00018000ffffn, 0x7fff800000070003n],
  ["phsubd", [0x0f, 0x38, 0x06, 0xc1], 0x0000000500000007n, 0x8000000000000001n, 0x8000000100000002n],
  // The same register as destination and source: both halves from the original value.
  ["phaddw %mm0, %mm0", [0x0f, 0x38, 0x01, 0xc0], 0x0004000300020001n, 0n, 0x0007000300070003n],
  ["pmaddubsw", [0x0f, 0x38, 0x04, 0xc1], 0xffff0102ff80ff01n, 0x7f7f0304807f80ffn, 0x7fff000bc000807fn],
  ["pmulhrsw", [0x0f, 0x38, 0x0b, 0xc1], 0x80004000ffff7fffn, 0x80004000ffff7fffn, 0x8000200000007ffen],
  ["psignb", [0x0f, 0x38, 0x08, 0xc1], 0x80807f7f05050505n, 0xff01ff0100ff017fn, 0x8080817f00fb0505n],
  ["pabsd", [0x0f, 0x38, 0x1e, 0xc1], 0n, 0x80000000fffffff9n, 0x8000000000000007n],
  ["pabsb", [0x0f, 0x38, 0x1c, 0xc1], 0n, 0x8081ff007f01fe02n, 0x807f01007f010202n],
];

Deno.test("SSSE3 on MMX registers computes what the host CPU computes", () => {
  for (const [name, code, dst, src, want] of CASES) {
    const r = op(code, dst, src);
    assert.equal(r.vector, 3, `${name}: ran to INT3`);
    assert.equal(r.mm0, (0xffffn << 64n) | want, `${name}: MM0, bits 79:64 set`);
  }
});

Deno.test("PSHUFB mm, m64 reads its selectors from memory", () => {
  const cpu = makeCpu();
  setMm(cpu, 0, 0x0706050403020100n);
  const sel = [0x0b, 0x0a, 0x02, 0x01, 0x08, 0x0f, 0x09, 0x80];
  // 0f 38 00 00  pshufb (%rax), %mm0
  load(cpu, {
    code: new Uint8Array([0x0f, 0x38, 0x00, 0x00, 0xcc]),
    regs: { rax: BigInt(SCRATCH_ADDR) },
    scratch: new Uint8Array(sel),
  });
  assert.equal(go(cpu).vector, 3);
  assert.equal(mm(cpu, 0), (0xffffn << 64n) | 0x0001070001020203n);
});

Deno.test("SSSE3 MMX forms: TOP = 0 and all tags valid; #UD with CR0.EM, #NM with CR0.TS", () => {
  const pabsb = [0x0f, 0x38, 0x1c, 0xc1];
  const r = op(pabsb, 0n, 1n, (cpu) => {
    cpu.fpu.fsw = 3 << 11;
    cpu.fpu.ftw = 0xffff;
  });
  assert.equal(r.cpu.fpu.fsw & 0x3800, 0, "TOP = 0 (SDM Vol. 1 Table 9-3)");
  assert.equal(r.cpu.fpu.ftw, 0, "all tags valid");
  assert.equal(op(pabsb, 0n, 1n, (cpu) => cpu.cr0 |= CR0_EM).vector, 6);
  assert.equal(op([0x0f, 0x3a, 0x0f, 0xc1, 1], 0n, 1n, (cpu) => cpu.cr0 |= CR0_TS).vector, 7);
});

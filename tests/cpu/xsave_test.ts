/**
 * The XSAVE feature set with XCR0 = x87 | SSE: XGETBV, XSETBV, XSAVE, XSAVEOPT, XSAVEC, XRSTOR.
 * Expected values from the SDM: Vol. 1 §13.3 (XCR0), §13.4 (the area's layout), §13.6 (XINUSE and
 * initial configurations), §13.7-13.10 (the instructions), Vol. 2 XGETBV/XSETBV (faults).
 */
import assert from "node:assert/strict";
import { go, hexBytes, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";
import type { Cpu } from "../../src/cpu/cpu.ts";
import { CR0_TS, CR4_OSFXSR, CR4_OSXSAVE } from "../../src/cpu/registers.ts";
import { EXIT_REASON_XSETBV } from "../../src/vmx/exit_reasons.ts";
import { emulateXsetbv, xcr0Valid, xinuse } from "../../src/cpu/ops/xsave.ts";

const AREA = SCRATCH_ADDR; // 64-byte aligned
const XSTATE_BV = AREA + 512, XCOMP_BV = AREA + 520;
const UD = 6, NM = 7, GP = 13;

function cpuWith(code: string, regs: Record<string, bigint> = {}, xcr0 = 3): Cpu {
  const cpu = makeCpu();
  cpu.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
  cpu.xcr0 = xcr0;
  load(cpu, { code: hexBytes(code), regs: { rbx: BigInt(AREA), ...regs } });
  return cpu;
}

function u64(cpu: Cpu, at: number): bigint {
  return new DataView(cpu.mem.buffer).getBigUint64(at, true);
}

function u32(cpu: Cpu, at: number): number {
  return new DataView(cpu.mem.buffer).getUint32(at, true);
}

Deno.test("XGETBV: #UD with CR4.OSXSAVE clear, XCR0 for ECX 0, XCR0 AND XINUSE for ECX 1, #GP(0) otherwise", () => {
  const off = makeCpu();
  load(off, { code: hexBytes("0f01d0") });
  assert.equal(go(off, 1).vector, UD);
  let cpu = cpuWith("0f01d0", { rdx: 0xffffffff_ffffffffn, rax: 0xffffffff_ffffffffn }, 1);
  let o = go(cpu, 1);
  assert.equal(o.regs.rax, 1n, "XCR0 after reset is 1");
  assert.equal(o.regs.rdx, 0n);
  // XMM1 nonzero: SSE state in use; the x87 state is in its initial configuration (FNINIT values).
  cpu = cpuWith("0f01d0", { rcx: 1n });
  cpu.fpu.xmm[4] = 1;
  o = go(cpu, 1);
  assert.equal(o.regs.rax, 2n);
  cpu = cpuWith("0f01d0", { rcx: 2n });
  assert.equal(go(cpu, 1).vector, GP);
});

Deno.test("XSETBV: #UD without OSXSAVE, #GP(0) at CPL 3, otherwise the unconditional VM exit 55", () => {
  const off = makeCpu();
  load(off, { code: hexBytes("0f01d1") });
  assert.equal(go(off, 1).vector, UD);
  const cpu = cpuWith("0f01d1", { rax: 3n });
  assert.equal(go(cpu, 1).stop, EXIT_REASON_XSETBV);
  cpu.setRflags(2);
  load(cpu, { code: hexBytes("0f01d1"), regs: { rax: 3n } });
  cpu.setCpl(3);
  assert.equal(go(cpu, 1).vector, GP);
});

Deno.test("XCR0 values: bit 0 must be set, only bits 0 and 1 exist; the hypervisor's XSETBV loads a legal one", () => {
  assert.ok(xcr0Valid(1, 0));
  assert.ok(xcr0Valid(3, 0));
  assert.ok(!xcr0Valid(0, 0), "x87 cannot be disabled");
  assert.ok(!xcr0Valid(2, 0), "x87 cannot be disabled");
  assert.ok(!xcr0Valid(7, 0), "AVX is not supported");
  assert.ok(!xcr0Valid(1, 1), "no bit above 31");
  const cpu = cpuWith("90", { rax: 3n }, 1);
  assert.ok(emulateXsetbv(cpu));
  assert.equal(cpu.xcr0, 3);
  cpu.setReg64(1, 1n); // ECX = 1 names no XCR
  assert.ok(!emulateXsetbv(cpu));
  cpu.setReg64(1, 0n);
  cpu.setReg64(0, 5n);
  assert.ok(!emulateXsetbv(cpu));
  assert.equal(cpu.xcr0, 3, "a refused value changes nothing");
});

Deno.test("XSAVE writes the legacy region of RFBM's components and XSTATE_BV = XINUSE for them, nothing else", () => {
  const cpu = cpuWith("0fae23", { rax: 0xffffffffn, rdx: 0xffffffffn });
  cpu.mem.fill(0xaa, AREA, AREA + 576);
  cpu.fpu.xmm[4] = 0x11223344; // XMM1 bits 31:0
  cpu.fpu.xmm[63] = 0x55667788; // XMM15 bits 127:96
  cpu.fpu.mxcsr = 0x1f80 | 0x6000; // RC = toward zero
  const o = go(cpu, 1);
  assert.equal(o.vector, -1);
  assert.equal(u32(cpu, AREA), 0x037f, "FCW, then FSW 0"); // x87 component written (RFBM[0])
  assert.equal(u32(cpu, AREA + 4), 0, "abridged FTW 0 (all empty), FOP 0");
  assert.equal(u32(cpu, AREA + 24), 0x7f80, "MXCSR");
  assert.equal(u32(cpu, AREA + 28), 0xffff, "MXCSR_MASK");
  assert.equal(u32(cpu, AREA + 160 + 16), 0x11223344, "XMM1");
  assert.equal(u32(cpu, AREA + 160 + 15 * 16 + 12), 0x55667788, "XMM15");
  assert.equal(u32(cpu, AREA + 464), 0xaaaaaaaa, "bytes 464-511 are not written");
  // XSTATE_BV: bits 0 and 1 from XINUSE (x87 initial: 0; SSE in use: 1); bits 63:2 unchanged.
  assert.equal(u64(cpu, XSTATE_BV), 0xaaaaaaaaaaaaaaa8n | 2n);
  assert.equal(u64(cpu, XCOMP_BV), 0xaaaaaaaaaaaaaaaan, "XSAVE does not write XCOMP_BV");
});

Deno.test("XSAVE with RFBM = x87 only (EAX = 1) writes neither XMM nor MXCSR", () => {
  const cpu = cpuWith("0fae23", { rax: 1n });
  cpu.mem.fill(0xaa, AREA, AREA + 576);
  cpu.fpu.xmm[0] = 7;
  go(cpu, 1);
  assert.equal(u32(cpu, AREA + 24), 0xaaaaaaaa);
  assert.equal(u32(cpu, AREA + 160), 0xaaaaaaaa);
  assert.equal(u64(cpu, XSTATE_BV), 0xaaaaaaaaaaaaaaaan & ~1n);
});

Deno.test("XSAVE faults: #GP(0) for an area not 64-byte aligned, #NM with CR0.TS, #UD without OSXSAVE", () => {
  let cpu = cpuWith("0fae23", { rax: 3n, rbx: BigInt(AREA + 16) });
  assert.equal(go(cpu, 1).vector, GP);
  cpu = cpuWith("0fae23", { rax: 3n });
  cpu.cr0 |= CR0_TS;
  assert.equal(go(cpu, 1).vector, NM);
  cpu = cpuWith("0fae23", { rax: 3n });
  cpu.cr4 &= ~CR4_OSXSAVE;
  cpu.cr0 |= CR0_TS;
  assert.equal(go(cpu, 1).vector, UD, "#UD before #NM");
});

Deno.test("XSAVEOPT skips components not in use (init optimization) but always writes MXCSR", () => {
  const cpu = cpuWith("0fae33", { rax: 3n });
  cpu.mem.fill(0xaa, AREA, AREA + 576);
  assert.equal(xinuse(cpu.fpu), 0);
  go(cpu, 1);
  assert.equal(u32(cpu, AREA), 0xaaaaaaaa, "x87 in its initial configuration: not written");
  assert.equal(u32(cpu, AREA + 160), 0xaaaaaaaa, "XMM all 0: not written");
  assert.equal(u32(cpu, AREA + 24), 0x1f80, "MXCSR");
  assert.equal(u64(cpu, XSTATE_BV), 0xaaaaaaaaaaaaaaa8n);
});

Deno.test("XSAVEC writes XSTATE_BV = RFBM AND XINUSE and XCOMP_BV = bit 63 | RFBM, in-use components only", () => {
  const cpu = cpuWith("0fc723", { rax: 3n });
  cpu.mem.fill(0xaa, AREA, AREA + 576);
  cpu.fpu.xmm[8] = 0x42;
  go(cpu, 1);
  assert.equal(u64(cpu, XSTATE_BV), 2n);
  assert.equal(u64(cpu, XCOMP_BV), 0x8000000000000003n);
  assert.equal(u32(cpu, AREA + 160 + 32), 0x42, "XMM2");
  assert.equal(u32(cpu, AREA), 0xaaaaaaaa, "x87 not in use: not written");
  assert.equal(u32(cpu, AREA + 528), 0xaaaaaaaa, "header bytes 16-63 are not written");
});

/** Writes a standard-form header: XSTATE_BV and the rest of the 64 bytes zero. */
function header(cpu: Cpu, xstateBv: bigint, xcompBv = 0n): void {
  cpu.mem.fill(0, XSTATE_BV, XSTATE_BV + 64);
  const dv = new DataView(cpu.mem.buffer);
  dv.setBigUint64(XSTATE_BV, xstateBv, true);
  dv.setBigUint64(XCOMP_BV, xcompBv, true);
}

Deno.test("XRSTOR (standard form) loads components with XSTATE_BV set and initialises the others", () => {
  const cpu = cpuWith("0fae2b", { rax: 3n });
  const dv = new DataView(cpu.mem.buffer);
  dv.setUint32(AREA + 24, 0x1f80 | 0x2000, true); // MXCSR, RC = down
  dv.setUint32(AREA + 160 + 48, 0xcafe, true); // XMM3
  dv.setUint16(AREA, 0x027f, true); // an FCW that must not be loaded (XSTATE_BV[0] = 0)
  header(cpu, 2n);
  cpu.fpu.fcw = 0x0123;
  cpu.fpu.st[3] = 9;
  cpu.fpu.xmm[0] = 5;
  assert.equal(go(cpu, 1).vector, -1);
  assert.equal(cpu.fpu.fcw, 0x037f, "x87 initialised: FCW 0x37F");
  assert.equal(cpu.fpu.ftw, 0xffff);
  assert.equal(cpu.fpu.st[3], 0);
  assert.equal(cpu.fpu.mxcsr, 0x3f80);
  assert.equal(cpu.fpu.xmm[12], 0xcafe);
  assert.equal(cpu.fpu.xmm[0], 0, "XMM0 loaded from the area (0)");
});

Deno.test("XRSTOR (standard form) loads MXCSR whenever RFBM[1] is set, even with XSTATE_BV[1] = 0", () => {
  const cpu = cpuWith("0fae2b", { rax: 2n });
  new DataView(cpu.mem.buffer).setUint32(AREA + 24, 0x9f80, true); // FTZ
  header(cpu, 0n);
  cpu.fpu.xmm[1] = 77;
  go(cpu, 1);
  assert.equal(cpu.fpu.mxcsr, 0x9f80);
  assert.equal(cpu.fpu.xmm[1], 0, "SSE initialised: XMM 0");
});

Deno.test("XRSTOR (compacted form) initialises MXCSR to 0x1F80 with XSTATE_BV[1] = 0", () => {
  const cpu = cpuWith("0fae2b", { rax: 3n });
  new DataView(cpu.mem.buffer).setUint32(AREA + 24, 0x9f80, true);
  header(cpu, 0n, 0x8000000000000003n);
  cpu.fpu.mxcsr = 0x3f80;
  cpu.fpu.xmm[1] = 77;
  assert.equal(go(cpu, 1).vector, -1);
  assert.equal(cpu.fpu.mxcsr, 0x1f80);
  assert.equal(cpu.fpu.xmm[1], 0);
});

Deno.test("XRSTOR raises #GP(0), changing nothing, for a malformed header or a reserved MXCSR bit", () => {
  const cases: [string, bigint, bigint, (cpu: Cpu) => void][] = [
    ["XSTATE_BV bit 2 (AVX, not in XCR0)", 4n, 0n, () => {}],
    ["standard form, header bytes 16-23 not 0", 2n, 0n, (c) => c.mem[XSTATE_BV + 16] = 1],
    ["standard form, XCOMP_BV[62:0] not 0", 2n, 1n, () => {}],
    ["compacted, XCOMP_BV bit outside XCR0", 0n, 0x8000000000000004n, () => {}],
    ["compacted, XSTATE_BV bit outside XCOMP_BV", 2n, 0x8000000000000001n, () => {}],
    ["compacted, header bytes 16-63 not 0", 0n, 0x8000000000000003n, (c) => c.mem[XSTATE_BV + 63] = 1],
    ["reserved MXCSR bit", 2n, 0n, (c) => new DataView(c.mem.buffer).setUint32(AREA + 24, 0x10000, true)],
  ];
  for (const [what, xs, xc, poke] of cases) {
    const cpu = cpuWith("0fae2b", { rax: 3n });
    header(cpu, xs, xc);
    poke(cpu);
    cpu.fpu.xmm[2] = 3;
    cpu.fpu.fcw = 0x0272;
    assert.equal(go(cpu, 1).vector, GP, what);
    assert.equal(cpu.fpu.xmm[2], 3, what);
    assert.equal(cpu.fpu.fcw, 0x0272, what);
  }
});

Deno.test("XSAVE then XRSTOR brings back x87 and SSE state exactly", () => {
  // xsave [rbx]; xrstor [rbx]
  const cpu = cpuWith("0fae230fae2b", { rax: 3n });
  const f = cpu.fpu;
  f.fcw = 0x027f;
  f.fsw = 0x3800; // TOP = 7
  f.ftw = 0x3fff; // physical register 7 valid
  f.st.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f], 70); // 1.0 in R7
  f.xmm[9] = 0xdeadbeef;
  f.mxcsr = 0x1fbf;
  const before = f.save();
  cpu.run(1);
  f.fninit();
  f.st.fill(0);
  f.xmm.fill(0, 0, 64);
  f.mxcsr = 0x1f80;
  go(cpu, 1);
  assert.deepEqual(f.save(), before);
});

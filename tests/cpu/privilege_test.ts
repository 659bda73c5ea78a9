/**
 * Far returns and IRET in 64-bit mode (SDM Vol. 2 RET "IA-32e mode" and IRET "IA-32e-MODE"
 * pseudocode; Vol. 3 §5.8.6): same-level and outer-level returns, the stack frames they pop, the
 * checks on CS and SS (each failure raising #GP/#NP with the selector as error code and leaving
 * the state untouched), and the nulling of data segment registers more privileged than the new
 * CPL. Expected values are worked out from that pseudocode.
 */

import assert from "node:assert/strict";
import { SEG_CS, SEG_DS, SEG_SS } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, hexBytes, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";

const GDT = 0x300000;
/** GDT: null, code64 DPL0, data DPL0, code64 DPL3, data DPL3, code32 DPL0, code64 not present. */
const DESCRIPTORS = [
  0n,
  0x00af9b000000ffffn, // 0x08
  0x00cf93000000ffffn, // 0x10
  0x00affb000000ffffn, // 0x18
  0x00cff3000000ffffn, // 0x20
  0x00cf9b000000ffffn, // 0x28
  0x00af1b000000ffffn, // 0x30 (P = 0)
];

const STACK = BigInt(SCRATCH_ADDR + 0x80);
const TARGET = BigInt(CODE_ADDR + 0x40);
const USER_RSP = BigInt(SCRATCH_ADDR + 0xf0);

function setup(code: string, frame: bigint[], frameSize = 8) {
  const cpu = makeCpu();
  const scratch = new Uint8Array(256);
  const dv = new DataView(scratch.buffer);
  frame.forEach((v, k) => {
    if (frameSize === 8) dv.setBigUint64(0x80 + 8 * k, v, true);
    else dv.setUint32(0x80 + 4 * k, Number(v), true);
  });
  load(cpu, { code: hexBytes(code), regs: { rsp: STACK }, scratch });
  const mem = new DataView(cpu.mem.buffer);
  DESCRIPTORS.forEach((d, k) => mem.setBigUint64(GDT + 8 * k, d, true));
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 8 * DESCRIPTORS.length - 1;
  cpu.segSel[SEG_DS] = 0x10;
  cpu.segAr[SEG_DS] = 0xc093;
  return cpu;
}

Deno.test("retFar lretq to the same level pops RIP and CS", () => {
  const cpu = setup("48cb", [TARGET, 0x08n]);
  const o = go(cpu, 1);
  assert.equal(o.stop, -1);
  assert.equal(BigInt(cpu.rip), TARGET);
  assert.equal(cpu.segSel[SEG_CS], 0x08);
  assert.equal(cpu.getReg64(4), STACK + 16n);
  assert.equal(cpu.cpl, 0);
});

Deno.test("retFar lretq $imm adds the immediate to RSP", () => {
  const cpu = setup("48ca1000", [TARGET, 0x08n]);
  go(cpu, 1);
  assert.equal(BigInt(cpu.rip), TARGET);
  assert.equal(cpu.getReg64(4), STACK + 16n + 16n);
});

Deno.test("retFar lret (32-bit operand size) pops a 4-byte offset and a 4-byte CS slot", () => {
  const cpu = setup("cb", [TARGET, 0x08n], 4);
  go(cpu, 1);
  assert.equal(BigInt(cpu.rip), TARGET);
  assert.equal(cpu.getReg64(4), STACK + 8n);
});

Deno.test("retFar lretq to ring 3 pops RSP and SS, adds the immediate to both stacks, nulls DS", () => {
  const cpu = setup("48ca0800", [TARGET, 0x1bn, 0n, USER_RSP, 0x23n]);
  // Frame: RIP, CS, 8 bytes of parameters (the immediate), then RSP, SS.
  const o = go(cpu, 1);
  assert.equal(o.stop, -1);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[SEG_CS], 0x1b);
  assert.equal(cpu.segSel[SEG_SS], 0x23);
  assert.equal((cpu.segAr[SEG_SS] >>> 5) & 3, 3);
  assert.equal(cpu.getReg64(4), USER_RSP + 8n);
  assert.equal(cpu.segSel[SEG_DS], 0, "DS (DPL 0) is nulled on the return to CPL 3");
  // Ring 3 runs on: the INT3 at the target stops the run there.
  const next = go(cpu, 10);
  assert.equal(next.vector, 3);
  assert.equal(BigInt(next.rip), TARGET);
});

const FAULTS: [string, string, bigint[], number, number][] = [
  ["a null CS", "48cb", [TARGET, 0n], 13, 0],
  ["a CS selector beyond the GDT limit", "48cb", [TARGET, 0x48n], 13, 0x48],
  ["a data segment as CS", "48cb", [TARGET, 0x10n], 13, 0x10],
  ["a DPL-3 CS with RPL 0", "48cb", [TARGET, 0x18n], 13, 0x18],
  ["a not-present CS", "48cb", [TARGET, 0x30n], 11, 0x30],
  ["a non-canonical RIP", "48cb", [0x0000800000000000n, 0x08n], 13, 0],
  ["ring 3 with SS RPL 0", "48cb", [TARGET, 0x1bn, USER_RSP, 0x20n], 13, 0x20],
  ["ring 3 with a DPL-0 SS", "48cb", [TARGET, 0x1bn, USER_RSP, 0x13n], 13, 0x10],
  ["ring 3 with a null SS", "48cb", [TARGET, 0x1bn, USER_RSP, 0x3n], 13, 0],
  ["ring 3 with a non-canonical RSP", "48cb", [TARGET, 0x1bn, 0x0000800000000000n, 0x23n], 13, 0],
];

for (const [what, code, frame, vector, error] of FAULTS) {
  Deno.test(`retFar lretq to ${what} faults (vector ${vector}) and changes nothing`, () => {
    const cpu = setup(code, frame);
    const o = go(cpu, 1);
    assert.equal(o.vector, vector);
    assert.equal(cpu.exitIntrError, error);
    assert.equal(o.rip, CODE_ADDR);
    assert.equal(cpu.getReg64(4), STACK);
    assert.equal(cpu.cpl, 0);
    assert.deepEqual([cpu.segSel[SEG_CS], cpu.segSel[SEG_SS], cpu.segSel[SEG_DS]], [8, 16, 0x10]);
  });
}

Deno.test("retFar from ring 3 to ring 0 (a more privileged CS) faults with #GP(selector)", () => {
  const cpu = setup("48cb", [TARGET, 0x08n]);
  cpu.cpl = 3;
  cpu.segSel[SEG_CS] = 0x1b;
  const o = go(cpu, 1);
  assert.equal(o.vector, 13);
  assert.equal(cpu.exitIntrError, 0x08);
});

Deno.test("iret iretq to ring 3 loads a DPL-3 SS, RFLAGS, RSP, and nulls DS", () => {
  const cpu = setup("48cf", [TARGET, 0x1bn, 0x2c7n, USER_RSP, 0x23n]);
  const o = go(cpu, 1);
  assert.equal(o.stop, -1);
  assert.equal(cpu.cpl, 3);
  assert.equal(BigInt(cpu.rip), TARGET);
  assert.deepEqual([cpu.segSel[SEG_CS], cpu.segSel[SEG_SS], cpu.segSel[SEG_DS]], [0x1b, 0x23, 0]);
  assert.equal(cpu.getReg64(4), USER_RSP);
  assert.equal(cpu.getRflags(), 0x2c7);
});

Deno.test("iret iretq to the same level accepts a null SS", () => {
  const cpu = setup("48cf", [TARGET, 0x08n, 0x202n, USER_RSP, 0n]);
  go(cpu, 1);
  assert.equal(BigInt(cpu.rip), TARGET);
  assert.equal(cpu.segSel[SEG_SS], 0);
  assert.equal(cpu.getReg64(4), USER_RSP);
});

for (
  const [what, frame, error] of [
    ["a DPL-0 SS", [TARGET, 0x1bn, 0x202n, USER_RSP, 0x13n], 0x10],
    ["a null SS", [TARGET, 0x1bn, 0x202n, USER_RSP, 0x3n], 0],
    ["a non-canonical RSP", [TARGET, 0x1bn, 0x202n, 0x0000800000000000n, 0x23n], 0],
  ] as [string, bigint[], number][]
) {
  Deno.test(`iret iretq to ring 3 with ${what} raises #GP and leaves RFLAGS, CS and RSP alone`, () => {
    const cpu = setup("48cf", frame);
    cpu.setRflags(0x46);
    const o = go(cpu, 1);
    assert.equal(o.vector, 13);
    assert.equal(cpu.exitIntrError, error);
    assert.equal(cpu.getRflags() & 0xfff, 0x46);
    assert.equal(cpu.segSel[SEG_CS], 8);
    assert.equal(cpu.getReg64(4), STACK);
    assert.equal(cpu.cpl, 0);
  });
}

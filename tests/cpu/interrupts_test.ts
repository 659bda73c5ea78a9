/**
 * Exception and interrupt delivery through the 64-bit IDT (SDM Vol. 3 §6.14): the stack frame
 * (SS, RSP, RFLAGS, CS, RIP, error code) on a 16-byte aligned stack, interrupt vs trap gates
 * (IF), the return address of faults vs INT n / INT3, the stack switch to TSS.RSP0 from ring 3,
 * IST stacks, the gate DPL check for INT n (#GP(vector * 8 + 2)), and double/triple faults
 * (Table 6-5). Expected values come from the SDM's description.
 */

import assert from "node:assert/strict";
import { IF, SEG_CS, SEG_SS, SEG_TR } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, hexBytes, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";
import { EXIT_REASON_HLT, EXIT_REASON_TRIPLE_FAULT } from "../../src/vmx/exit_reasons.ts";

const GDT = 0x300000, TSS = 0x300100, IDT = 0x300400;
const HANDLER = CODE_ADDR + 0x100; // a HLT: stops the run inside the handler
const KSTACK = 0x300800 + 0xf8; // RSP0 (deliberately not 16-byte aligned)
const IST1 = 0x300800 + 0x60;

function gate(dv: DataView, v: number, type: number, dpl: number, ist = 0, target = HANDLER): void {
  const a = IDT + 16 * v;
  dv.setUint16(a, target & 0xffff, true);
  dv.setUint16(a + 2, 0x08, true);
  dv.setUint8(a + 4, ist);
  dv.setUint8(a + 5, 0x80 | (dpl << 5) | type);
  dv.setUint16(a + 6, (target >>> 16) & 0xffff, true);
  dv.setUint32(a + 8, 0, true);
}

function setup(code: string, rsp = BigInt(SCRATCH_ADDR + 0x48)) {
  const cpu = makeCpu();
  cpu.ctl.exceptionBitmap = 0; // deliver through the IDT
  load(cpu, { code: hexBytes(code), regs: { rsp, rcx: 0x0000800000000000n } });
  cpu.mem[HANDLER] = 0xf4;
  const dv = new DataView(cpu.mem.buffer);
  dv.setBigUint64(GDT + 8, 0x00af9b000000ffffn, true);
  dv.setBigUint64(GDT + 16, 0x00cf93000000ffffn, true);
  dv.setBigUint64(GDT + 24, 0x00affb000000ffffn, true);
  dv.setBigUint64(GDT + 32, 0x00cff3000000ffffn, true);
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 39;
  cpu.idtrBase = IDT;
  cpu.idtrLimit = 16 * 32 - 1;
  dv.setBigUint64(TSS + 4, BigInt(KSTACK), true);
  dv.setBigUint64(TSS + 36, BigInt(IST1), true);
  cpu.segBase[SEG_TR] = TSS;
  cpu.segLimit[SEG_TR] = 0x67;
  cpu.segAr[SEG_TR] = 0x8b;
  for (let v = 0; v < 32; v++) gate(dv, v, 0xe, 0);
  return { cpu, dv };
}

/** The qwords the CPU pushed, from the new RSP upwards. */
function frame(cpu: ReturnType<typeof makeCpu>, n: number): bigint[] {
  const dv = new DataView(cpu.mem.buffer);
  const sp = Number(cpu.getReg64(4));
  return Array.from({ length: n }, (_, k) => dv.getBigUint64(sp + 8 * k, true));
}

Deno.test("Cpu.raise delivers #DE through an interrupt gate: aligned frame without error code, IF cleared", () => {
  const { cpu } = setup("f7f3"); // div %ebx with EBX = 0
  cpu.setRflags(0x202 | 0x1);
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.equal(cpu.rip, HANDLER);
  assert.equal(cpu.getRflags() & IF, 0, "interrupt gate clears IF");
  const rsp0 = SCRATCH_ADDR + 0x48;
  // RSP is aligned down to 16 before the push: 0x...848 -> 0x...840, five qwords below.
  assert.equal(cpu.getReg64(4), BigInt((rsp0 & ~15) - 40));
  // A fault-class exception pushes RF = 1 (SDM Vol. 3 §18.3.1.1).
  assert.deepEqual(frame(cpu, 5), [BigInt(CODE_ADDR), 8n, 0x10203n, BigInt(rsp0), 16n]);
});

Deno.test("Cpu.raise delivers #GP with its error code; RIP is the faulting instruction", () => {
  const { cpu } = setup("488b01"); // mov (%rcx), %rax with a non-canonical RCX
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.deepEqual(frame(cpu, 6), [0n, BigInt(CODE_ADDR), 8n, 0x10002n, BigInt(SCRATCH_ADDR + 0x48), 16n]);
});

Deno.test("Cpu.raise delivers INT3 and INT n through trap gates with the next RIP; IF kept", () => {
  for (const [code, v] of [["cc", 3], ["cd40", 0x40]] as const) {
    const { cpu, dv } = setup(code);
    for (let k = 0; k < 0x41; k++) gate(dv, k, 0xf, 0);
    cpu.idtrLimit = 16 * 0x41 - 1;
    cpu.setRflags(0x202);
    const o = go(cpu, 10);
    assert.equal(o.stop, EXIT_REASON_HLT, `vector ${v}`);
    assert.equal(cpu.getRflags() & IF, IF, "trap gate keeps IF");
    assert.equal(frame(cpu, 1)[0], BigInt(CODE_ADDR + code.length / 2), "returns after the instruction");
    assert.equal(cpu.icount, 1, "INT n retires");
  }
});

/** Put `cpu` in ring 3: user code (0x1b) and stack (0x23) selectors, DPL-3 access rights. */
function toRing3(cpu: ReturnType<typeof makeCpu>): void {
  cpu.cpl = 3;
  cpu.segSel[SEG_CS] = 0x1b;
  cpu.segAr[SEG_CS] = 0xa0fb;
  cpu.segSel[SEG_SS] = 0x23;
  cpu.segAr[SEG_SS] = 0xc0f3;
}

Deno.test("Cpu.raise from ring 3 switches to TSS.RSP0 and pushes the user SS:RSP", () => {
  const { cpu } = setup("f7f3");
  toRing3(cpu);
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[SEG_CS], 0x08);
  assert.equal(cpu.segSel[SEG_SS], 0, "SS is the null selector with RPL 0");
  assert.equal(cpu.getReg64(4), BigInt((KSTACK & ~15) - 40));
  assert.deepEqual(frame(cpu, 5), [BigInt(CODE_ADDR), 0x1bn, 0x10002n, BigInt(SCRATCH_ADDR + 0x48), 0x23n]);
});

Deno.test("Cpu.raise uses the IST stack the gate names, at any CPL", () => {
  const { cpu, dv } = setup("f7f3");
  gate(dv, 0, 0xe, 0, 1);
  go(cpu, 10);
  assert.equal(cpu.getReg64(4), BigInt((IST1 & ~15) - 40));
});

Deno.test("INT n from ring 3 through a DPL-0 gate raises #GP(vector * 8 + 2)", () => {
  const { cpu, dv } = setup("cd21");
  cpu.idtrLimit = 16 * 0x22 - 1;
  gate(dv, 0x21, 0xe, 0);
  toRing3(cpu);
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.equal(frame(cpu, 1)[0], BigInt(0x21 * 8 + 2), "error code");
  assert.equal(frame(cpu, 2)[1], BigInt(CODE_ADDR), "#GP is a fault: RIP of the INT");
});

Deno.test("Cpu.raise: a #PF while pushing the frame of a #GP is delivered serially (Table 6-5)", () => {
  const { cpu, dv } = setup("488b01");
  // #GP's gate uses IST1, which points at an unmapped page; #PF (vector 14) uses the normal stack.
  dv.setBigUint64(TSS + 36, 0x500000n, true);
  gate(dv, 13, 0xe, 0, 1);
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.deepEqual(frame(cpu, 2), [2n, BigInt(CODE_ADDR)], "#PF(write, not present) at the #GP's RIP");
  assert.equal(cpu.cr2, 0x500000 - 8);
});

Deno.test("Cpu.raise: a #PF while delivering a #PF becomes #DF with error code 0", () => {
  const { cpu, dv } = setup("488b01");
  cpu.setReg64(1, 0x500000n); // the load itself page-faults
  dv.setBigUint64(TSS + 36, 0x500000n, true);
  gate(dv, 14, 0xe, 0, 1);
  const o = go(cpu, 10);
  assert.equal(o.stop, EXIT_REASON_HLT);
  assert.deepEqual(frame(cpu, 2), [0n, BigInt(CODE_ADDR)]);
});

Deno.test("Cpu.raise: a fault while delivering #DF is a triple fault", () => {
  const { cpu, dv } = setup("488b01");
  cpu.setReg64(1, 0x500000n);
  dv.setBigUint64(TSS + 36, 0x500000n, true);
  gate(dv, 14, 0xe, 0, 1);
  gate(dv, 8, 0xe, 0, 1);
  assert.equal(go(cpu, 10).stop, EXIT_REASON_TRIPLE_FAULT);
});

Deno.test("Cpu.raise: a vector beyond the IDT limit is #GP(vector * 8 + 2 + EXT)", () => {
  const { cpu } = setup("f7f3");
  cpu.idtrLimit = 14; // not even vector 0's 16 bytes fit
  // #DE does not fit -> #GP(0*8+2+1) does not fit either -> #DF -> triple fault.
  assert.equal(go(cpu, 10).stop, EXIT_REASON_TRIPLE_FAULT);
});

Deno.test("Cpu.run returns at the budget when every handler faults again (each delivery is one tick)", () => {
  // Every vector's handler is a UD2: #UD, delivered, #UD again, ... forever on hardware. Virtual
  // time must still advance so that run(n) ends.
  const { cpu, dv } = setup("0f0b");
  for (let v = 0; v < 32; v++) gate(dv, v, 0xe, 0, 1, CODE_ADDR); // IST1: the stack does not run out
  const r = cpu.run(100);
  assert.equal(r, -1);
  assert.equal(cpu.icount, 100);
  assert.equal(cpu.rip, CODE_ADDR);
});

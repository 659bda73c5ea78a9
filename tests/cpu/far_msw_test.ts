/**
 * JMP and CALL far through memory in 64-bit mode (SDM Vol. 2 JMP and CALL, IA-32e mode pseudocode),
 * SMSW and LMSW (SDM Vol. 2 SMSW, LMSW; the LMSW VM exit: Vol. 3 §26.1.3 and Table 28-3). Expected
 * values are worked out from that pseudocode.
 */

import assert from "node:assert/strict";
import { SEG_CS } from "../../src/cpu/mod.ts";
import { EXIT_REASON_CR_ACCESS } from "../../src/vmx/exit_reasons.ts";
import { CODE_ADDR, go, hexBytes, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";

const GDT = 0x300000;
/** GDT: null, code64 DPL0, data DPL0, code64 DPL3, data DPL3, code32 DPL0, code64 not present, conforming code64 DPL0. */
const DESCRIPTORS = [
  0n,
  0x00af9b000000ffffn, // 0x08
  0x00cf93000000ffffn, // 0x10
  0x00affb000000ffffn, // 0x18
  0x00cff3000000ffffn, // 0x20
  0x00cf9b000000ffffn, // 0x28
  0x00af1b000000ffffn, // 0x30 (P = 0)
  0x00af9f000000ffffn, // 0x38 (conforming)
];
const PTR = SCRATCH_ADDR + 0x40;
const STACK = BigInt(SCRATCH_ADDR + 0x80);
const TARGET = CODE_ADDR + 0x40;

/** A CPU whose scratch holds the far pointer `offset`:`sel` with an offset of `size` bytes at RBX. */
function setup(code: string, offset: bigint, sel: number, size: number) {
  const cpu = makeCpu();
  const scratch = new Uint8Array(256);
  const dv = new DataView(scratch.buffer);
  if (size === 8) dv.setBigUint64(0x40, offset, true);
  else dv.setUint32(0x40, Number(offset), true);
  dv.setUint16(0x40 + size, sel, true);
  load(cpu, { code: hexBytes(code), regs: { rsp: STACK, rbx: BigInt(PTR) }, scratch });
  const mem = new DataView(cpu.mem.buffer);
  DESCRIPTORS.forEach((d, k) => mem.setBigUint64(GDT + 8 * k, d, true));
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 8 * DESCRIPTORS.length - 1;
  return cpu;
}

Deno.test("ljmp *(%rbx) with REX.W reads m16:64 and loads CS with RPL = CPL", () => {
  const cpu = setup("48ff2b", BigInt(TARGET), 0x0b, 8); // selector 0x08 with RPL 3 > CPL? no: RPL 3 > 0 is #GP
  assert.equal(go(cpu, 1).vector, 13, "non-conforming: RPL must be <= CPL");
  const ok = setup("48ff2b", BigInt(TARGET), 0x08, 8);
  const o = go(ok, 1);
  assert.equal(o.stop, -1);
  assert.equal(ok.rip, TARGET);
  assert.equal(ok.segSel[SEG_CS], 0x08);
  assert.equal(ok.getReg64(4), STACK, "JMP pushes nothing");
});

Deno.test("ljmp *(%rbx) without REX.W reads m16:32 (offset zero-extended)", () => {
  const cpu = setup("ff2b", BigInt(TARGET), 0x08, 4);
  go(cpu, 1);
  assert.equal(cpu.rip, TARGET);
  assert.equal(cpu.segSel[SEG_CS], 0x08);
});

Deno.test("lcall *(%rbx) pushes CS, then the return RIP, each of the operand size", () => {
  const cpu = setup("48ff1b", BigInt(TARGET), 0x08, 8);
  go(cpu, 1);
  assert.equal(cpu.rip, TARGET);
  const dv = new DataView(cpu.mem.buffer);
  assert.equal(cpu.getReg64(4), STACK - 16n);
  assert.equal(dv.getBigUint64(Number(STACK) - 16, true), BigInt(CODE_ADDR + 3), "return RIP");
  assert.equal(dv.getBigUint64(Number(STACK) - 8, true), 0x08n, "old CS");
  // m16:32: two 4-byte slots.
  const c32 = setup("ff1b", BigInt(TARGET), 0x08, 4);
  go(c32, 1);
  assert.equal(c32.getReg64(4), STACK - 8n);
  assert.equal(new DataView(c32.mem.buffer).getUint32(Number(STACK) - 8, true), CODE_ADDR + 2);
  assert.equal(new DataView(c32.mem.buffer).getUint32(Number(STACK) - 4, true), 0x08);
});

Deno.test("far JMP/CALL checks the target: null #GP(0), 32-bit or DPL 3 code #GP(sel), not present #NP(sel)", () => {
  const cases: [number, number, number][] = [
    [0x00, 13, 0],
    [0x28, 13, 0x28],
    [0x18, 13, 0x18],
    [0x30, 11, 0x30],
    [0x10, 13, 0x10], // a data segment
  ];
  for (const [sel, vector, error] of cases) {
    for (const code of ["48ff2b", "48ff1b"]) {
      const cpu = setup(code, BigInt(TARGET), sel, 8);
      const o = go(cpu, 1);
      assert.equal(o.vector, vector, `${code} to ${sel}`);
      assert.equal(cpu.exitIntrError, error, `${code} to ${sel}`);
      assert.equal(cpu.rip, CODE_ADDR, "nothing changed");
      assert.equal(cpu.getReg64(4), STACK, "nothing pushed");
    }
  }
  // A conforming segment of DPL 0 is reachable from any CPL; CS.RPL becomes the CPL.
  const cpu = setup("48ff2b", BigInt(TARGET), 0x38, 8);
  go(cpu, 1);
  assert.equal(cpu.segSel[SEG_CS], 0x38);
});

Deno.test("smsw stores CR0 bits 15:0 to memory and CR0 to a 32-bit register", () => {
  const cpu = makeCpu();
  load(cpu, {
    code: hexBytes("0f01e0" + "0f0123"),
    regs: { rbx: BigInt(SCRATCH_ADDR), rax: 0xffffffff_ffffffffn },
  });
  cpu.cr0 |= 8; // TS
  go(cpu, 2);
  assert.equal(cpu.getReg64(0), BigInt(cpu.cr0 >>> 0));
  assert.equal(new DataView(cpu.mem.buffer).getUint32(SCRATCH_ADDR, true), cpu.cr0 & 0xffff);
});

Deno.test("lmsw loads PE, MP, EM, TS; cannot clear PE; #GP(0) at CPL 3", () => {
  const cpu = makeCpu();
  const cr0 = cpu.cr0;
  load(cpu, { code: hexBytes("0f01f0"), regs: { rax: 0xfffen } }); // PE clear, MP EM TS set
  go(cpu, 1);
  assert.equal(cpu.cr0, (cr0 | 0xe) >>> 0, "PE stays set; bits above 3 unchanged");
  load(cpu, { code: hexBytes("0f01f0"), regs: { rax: 0n } });
  go(cpu, 1);
  assert.equal(cpu.cr0, (cr0 & ~0xe) >>> 0);
  load(cpu, { code: hexBytes("0f01f0"), regs: { rax: 0n } });
  cpu.setCpl(3);
  assert.equal(go(cpu, 1).vector, 13);
});

Deno.test("lmsw exits when it would change a host-owned bit (qualification: type 3, source data)", () => {
  const cpu = makeCpu();
  cpu.ctl.cr0Mask = 8; // TS owned by the host
  cpu.ctl.cr0Shadow = 0;
  load(cpu, { code: hexBytes("0f01f0"), regs: { rax: 9n } });
  const o = go(cpu, 1);
  assert.equal(o.stop, EXIT_REASON_CR_ACCESS);
  // Table 28-3: CR 0, access type 3 (bits 5:4), register operand (bit 6 = 0), source data in 31:16.
  assert.equal(cpu.exitQual, 0x00090030);
  // Writing the shadow's value does not exit; the host-owned bit keeps its value.
  const before = cpu.cr0;
  load(cpu, { code: hexBytes("0f01f0"), regs: { rax: 3n } });
  assert.equal(go(cpu, 1).stop, -1);
  assert.equal(cpu.cr0, (before | 2) >>> 0);
});

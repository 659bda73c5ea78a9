/**
 * LAR, LSL, VERR and VERW in 64-bit mode (SDM Vol. 2 LAR, LSL, VERR/VERW; descriptor formats from
 * Vol. 3 §3.4.5 and §3.5). Each expected value is worked out from the descriptor's bits by those
 * pages: ZF = 1 with the access rights (bits 63:32 AND 00F0FF00H) or the byte-granular limit, or
 * ZF = 0 with the destination unchanged.
 */

import assert from "node:assert/strict";
import { go, hexBytes, load, makeCpu } from "./_harness.ts";

const GDT = 0x300000;
const DESCRIPTORS = [
  0n,
  0x00af9b000000ffffn, // 0x08 code64 DPL0, readable
  0x00cf93000000ffffn, // 0x10 data DPL0, writable, G = 1
  0x00affb000000ffffn, // 0x18 code64 DPL3
  0x00cff3000000ffffn, // 0x20 data DPL3
  0x00cf91000000ffffn, // 0x28 data DPL0, read-only
  0x00af99000000ffffn, // 0x30 code64 DPL0, execute-only
  0x00af9c000000ffffn, // 0x38 conforming code DPL0, execute-only
  0x0002930000005678n, // 0x40 data DPL0, limit 0x25678, G = 0
  0x0000890000000067n, // 0x48 available 64-bit TSS (low half), limit 0x67
  0n, //                  0x50 (its high half)
  0x00008e0000080000n, // 0x58 64-bit interrupt gate (low half)
  0n, //                  0x60
  0x00008c0000080000n, // 0x68 64-bit call gate (low half)
  0n, //                  0x70
];
const ZF = 0x40;

function run(code: string, sel: number, cpl = 0) {
  const cpu = makeCpu();
  load(cpu, { code: hexBytes(code), regs: { rax: 0x1234n, rcx: BigInt(sel) } });
  const mem = new DataView(cpu.mem.buffer);
  DESCRIPTORS.forEach((d, k) => mem.setBigUint64(GDT + 8 * k, d, true));
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 8 * DESCRIPTORS.length - 1;
  cpu.segAr[6] = 0x10000; // LDTR unusable
  if (cpl !== 0) cpu.setCpl(cpl);
  const o = go(cpu, 1);
  assert.equal(o.vector, -1);
  return { zf: (o.rflags & ZF) !== 0, rax: o.regs.rax };
}

const LAR = "0f02c1", LSL = "0f03c1", VERR = "0f00e1", VERW = "0f00e9", LAR64 = "480f02c1";

Deno.test("LAR: access rights of code, data and accepted system descriptors", () => {
  assert.deepEqual(run(LAR, 0x10), { zf: true, rax: 0x00c09300n });
  assert.deepEqual(run(LAR, 0x08), { zf: true, rax: 0x00a09b00n });
  assert.deepEqual(run(LAR64, 0x48), { zf: true, rax: 0x00008900n }, "TSS");
  assert.deepEqual(run(LAR, 0x68), { zf: true, rax: 0x00008c00n }, "64-bit call gate");
  assert.deepEqual(run(LAR, 0x58), { zf: false, rax: 0x1234n }, "interrupt gate: not accepted");
  assert.deepEqual(run(LAR, 0x00), { zf: false, rax: 0x1234n }, "null selector");
  assert.deepEqual(run(LAR, 0x78), { zf: false, rax: 0x1234n }, "beyond the GDT limit");
  assert.deepEqual(run(LAR, 0x0c), { zf: false, rax: 0x1234n }, "LDT selector with no LDT");
});

Deno.test("LAR: DPL must be >= CPL and >= RPL, except for conforming code", () => {
  assert.equal(run(LAR, 0x10, 3).zf, false, "DPL 0 from CPL 3");
  assert.equal(run(LAR, 0x20, 3).zf, true, "DPL 3 from CPL 3");
  assert.equal(run(LAR, 0x13).zf, false, "RPL 3 > DPL 0");
  assert.equal(run(LAR, 0x38, 3).zf, true, "conforming code: no privilege check");
});

Deno.test("LSL: the limit in bytes (G scales by 4 KiB), zero-extended; gates have none", () => {
  assert.deepEqual(run(LSL, 0x10), { zf: true, rax: 0xffffffffn });
  assert.deepEqual(run(LSL, 0x40), { zf: true, rax: 0x25678n });
  assert.deepEqual(run(LSL, 0x48), { zf: true, rax: 0x67n }, "TSS");
  assert.deepEqual(run(LSL, 0x68), { zf: false, rax: 0x1234n }, "call gate");
});

Deno.test("VERR: data and readable code; VERW: writable data only; privilege as LAR", () => {
  assert.equal(run(VERR, 0x10).zf, true);
  assert.equal(run(VERR, 0x08).zf, true, "readable code");
  assert.equal(run(VERR, 0x30).zf, false, "execute-only code");
  assert.equal(run(VERR, 0x48).zf, false, "system descriptor");
  assert.equal(run(VERW, 0x10).zf, true);
  assert.equal(run(VERW, 0x28).zf, false, "read-only data");
  assert.equal(run(VERW, 0x08).zf, false, "code");
  assert.equal(run(VERW, 0x13).zf, false, "RPL 3 > DPL 0");
  assert.equal(run(VERW, 0x10, 3).zf, false, "DPL 0 from CPL 3");
  assert.equal(run(VERW, 0x23, 3).zf, true, "DPL 3 data from CPL 3");
});

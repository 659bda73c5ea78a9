/**
 * MMX against the SDM: the register aliasing of Vol. 1 §9.5 (MMn is the significand of Rn; an MMX
 * instruction sets TOP to 0 and tags all registers valid; a write sets bits 79:64 to ones; EMMS
 * empties the tags), the enabling checks (#UD with CR0.EM, #NM with CR0.TS, #MF for a pending x87
 * exception), MOVQ2DQ/MOVDQ2Q and a few results from the SDM's operation text. The instructions'
 * results are compared with the host CPU by the conformance tests (MMX forms).
 */
import assert from "node:assert/strict";
import { CR0_EM, CR0_TS, CR4_OSFXSR } from "../../src/cpu/mod.ts";
import { go, load, makeCpu } from "./_harness.ts";

function run(cpu: ReturnType<typeof makeCpu>, code: number[]) {
  load(cpu, { code: new Uint8Array([...code, 0xcc]) });
  return go(cpu);
}

function mm(cpu: ReturnType<typeof makeCpu>, n: number): bigint {
  let v = 0n;
  for (let k = 9; k >= 0; k--) v = (v << 8n) | BigInt(cpu.fpu.st[10 * n + k]);
  return v;
}

function setMm(cpu: ReturnType<typeof makeCpu>, n: number, v: bigint): void {
  for (let k = 0; k < 8; k++) cpu.fpu.st[10 * n + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}

// 0f fc c1  paddb %mm1, %mm0; 0f 77  emms; 0f 6f c1  movq %mm1, %mm0.
const PADDB = [0x0f, 0xfc, 0xc1], EMMS = [0x0f, 0x77];

Deno.test("an MMX instruction sets TOP to 0, tags every register valid, and writes ones to bits 79:64", () => {
  const cpu = makeCpu();
  cpu.fpu.fsw = 5 << 11;
  setMm(cpu, 0, 0x01_02_03_04_05_06_07_ffn);
  setMm(cpu, 1, 0x01_01_01_01_01_01_01_01n);
  assert.equal(run(cpu, PADDB).vector, 3);
  assert.equal(cpu.fpu.fsw & 0x3800, 0, "TOP = 0");
  assert.equal(cpu.fpu.ftw, 0, "all valid");
  // Bytewise, wrapping: 0xff + 1 = 0x00 (SDM Vol. 2 PADDB).
  assert.equal(mm(cpu, 0), 0xffff_02_03_04_05_06_07_08_00n);
  assert.equal(mm(cpu, 1) >> 64n, 0n, "the source register's exponent is not written");
  assert.equal(run(cpu, EMMS).vector, 3);
  assert.equal(cpu.fpu.ftw, 0xffff, "EMMS: all empty");
});

Deno.test("MMX enabling: #UD with CR0.EM, #NM with CR0.TS, #MF with a pending x87 exception", () => {
  const em = makeCpu();
  em.cr0 |= CR0_EM;
  assert.equal(run(em, PADDB).vector, 6);
  const ts = makeCpu();
  ts.cr0 |= CR0_TS;
  assert.equal(run(ts, PADDB).vector, 7);
  const mf = makeCpu();
  mf.fpu.fcw = 0x37e; // IE unmasked
  mf.fpu.fsw = 0x8081; // IE pending, ES, B
  assert.equal(run(mf, EMMS).vector, 16);
});

Deno.test("MOVQ2DQ and MOVDQ2Q move the low quadword between XMM and MMX registers", () => {
  const cpu = makeCpu();
  cpu.cr4 |= CR4_OSFXSR;
  setMm(cpu, 3, 0x1122334455667788n);
  cpu.fpu.setXmmBig(2, (1n << 128n) - 1n);
  // f3 0f d6 d3  movq2dq %mm3, %xmm2; f2 0f d6 e2  movdq2q %xmm2, %mm4.
  assert.equal(run(cpu, [0xf3, 0x0f, 0xd6, 0xd3, 0xf2, 0x0f, 0xd6, 0xe2]).vector, 3);
  assert.equal(cpu.fpu.xmmBig(2), 0x1122334455667788n, "zero-extended");
  assert.equal(mm(cpu, 4), 0xffff_1122334455667788n);
});

Deno.test("PUNPCKHBW, PACKSSWB, PSHUFW and PSADBW on 64-bit operands (SDM Vol. 2 operation text)", () => {
  const cpu = makeCpu();
  setMm(cpu, 0, 0x07_06_05_04_03_02_01_00n);
  setMm(cpu, 1, 0x17_16_15_14_13_12_11_10n);
  // 0f 68 c1  punpckhbw %mm1, %mm0: interleave the high bytes.
  run(cpu, [0x0f, 0x68, 0xc1]);
  assert.equal(mm(cpu, 0) & ((1n << 64n) - 1n), 0x17_07_16_06_15_05_14_04n);
  setMm(cpu, 0, 0x0080_ff7f_0001_8000n);
  setMm(cpu, 1, 0x7fff_0100_fffe_0002n);
  // 0f 63 c1  packsswb %mm1, %mm0: dst words then src words, saturated to signed bytes.
  run(cpu, [0x0f, 0x63, 0xc1]);
  assert.equal(mm(cpu, 0) & ((1n << 64n) - 1n), 0x7f_7f_fe_02_7f_80_01_80n);
  setMm(cpu, 1, 0x4444_3333_2222_1111n);
  // 0f 70 c1 1b  pshufw $0x1b, %mm1, %mm0: reverse the words.
  run(cpu, [0x0f, 0x70, 0xc1, 0x1b]);
  assert.equal(mm(cpu, 0) & ((1n << 64n) - 1n), 0x1111_2222_3333_4444n);
  setMm(cpu, 0, 0x00_00_00_00_00_00_00_0an);
  setMm(cpu, 1, 0xff_00_00_00_00_00_00_00n);
  // 0f f6 c1  psadbw %mm1, %mm0: sum of |differences| = 10 + 255.
  run(cpu, [0x0f, 0xf6, 0xc1]);
  assert.equal(mm(cpu, 0) & ((1n << 64n) - 1n), 265n);
});

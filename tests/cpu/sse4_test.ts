/**
 * SSE3, SSSE3, SSE4.1, SSE4.2 and POPCNT with expected values worked out from the SDM's
 * descriptions and operation sections (Vol. 2), for the forms whose imm8 or lane rules are easy to
 * get wrong. Everything is also compared with the host CPU by the conformance tests; these pin the
 * SDM's own examples and rules.
 */
import assert from "node:assert/strict";
import { CR4_OSFXSR, CR4_OSXMMEXCPT } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, load, makeCpu, type Outcome, type Reg } from "./_harness.ts";

type Cpu = ReturnType<typeof makeCpu>;

function sseCpu(): Cpu {
  const cpu = makeCpu();
  cpu.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  return cpu;
}

/** Sets XMM register `r` from 16 bytes given low byte first. */
function setX(cpu: Cpu, r: number, bytes: number[]): void {
  cpu.fpu.xmmU8.set(bytes, 16 * r);
}

/** XMM register `r` as 16 bytes, low byte first. */
function getX(cpu: Cpu, r: number): number[] {
  return [...cpu.fpu.xmmU8.subarray(16 * r, 16 * r + 16)];
}

function words(cpu: Cpu, r: number): number[] {
  return [...cpu.fpu.xmmU16.subarray(8 * r, 8 * r + 8)];
}

function dwords(cpu: Cpu, r: number): number[] {
  return [...cpu.fpu.xmm.subarray(4 * r, 4 * r + 4)];
}

/** Runs `code` then INT3 with the given registers; XMM state is kept as the caller set it. */
function exec(
  cpu: Cpu,
  code: number[],
  regs: Partial<Record<Reg, bigint>> = {},
  scratch?: Uint8Array,
  rflags = 2,
): Outcome {
  const fpu = cpu.fpu.xmm.slice();
  const mxcsr = cpu.fpu.mxcsr;
  load(cpu, { code: new Uint8Array([...code, 0xcc]), regs, scratch, rflags });
  cpu.fpu.xmm.set(fpu);
  cpu.fpu.mxcsr = mxcsr;
  return go(cpu);
}

const iota = (n: number, f: (k: number) => number) => Array.from({ length: n }, (_, k) => f(k));

Deno.test("HADDPS, HSUBPD, ADDSUBPS combine lanes as SDM Vol. 2 HADDPS/HSUBPD/ADDSUBPS define", () => {
  const cpu = sseCpu();
  cpu.fpu.xmmF32.set([1, 2, 3, 4], 0);
  cpu.fpu.xmmF32.set([10, 20, 30, 40], 4);
  assert.equal(exec(cpu, [0xf2, 0x0f, 0x7c, 0xc1]).vector, 3); // haddps %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmF32.subarray(0, 4)], [3, 7, 30, 70]);
  cpu.fpu.xmmF64.set([5, 1], 0);
  cpu.fpu.xmmF64.set([100, 1000], 2);
  assert.equal(exec(cpu, [0x66, 0x0f, 0x7d, 0xc1]).vector, 3); // hsubpd %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmF64.subarray(0, 2)], [4, -900]);
  cpu.fpu.xmmF32.set([1, 2, 3, 4], 0);
  cpu.fpu.xmmF32.set([10, 20, 30, 40], 4);
  assert.equal(exec(cpu, [0xf2, 0x0f, 0xd0, 0xc1]).vector, 3); // addsubps %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmF32.subarray(0, 4)], [-9, 22, -27, 44]);
});

Deno.test("MOVSLDUP/MOVSHDUP/MOVDDUP duplicate lanes; MONITOR and MWAIT raise #UD (CPUID.1:ECX.MONITOR = 0)", () => {
  const cpu = sseCpu();
  cpu.fpu.xmm.set([0x11, 0x22, 0x33, 0x44], 4);
  exec(cpu, [0xf3, 0x0f, 0x12, 0xc1]); // movsldup %xmm1, %xmm0
  assert.deepEqual(dwords(cpu, 0), [0x11, 0x11, 0x33, 0x33]);
  exec(cpu, [0xf3, 0x0f, 0x16, 0xc1]); // movshdup
  assert.deepEqual(dwords(cpu, 0), [0x22, 0x22, 0x44, 0x44]);
  exec(cpu, [0xf2, 0x0f, 0x12, 0xc1]); // movddup
  assert.deepEqual(dwords(cpu, 0), [0x11, 0x22, 0x11, 0x22]);
  assert.equal(exec(cpu, [0x0f, 0x01, 0xc8]).vector, 6, "monitor");
  assert.equal(exec(cpu, [0x0f, 0x01, 0xc9]).vector, 6, "mwait");
});

Deno.test("PSHUFB selects by the low 4 bits and zeroes bytes whose selector has bit 7 set", () => {
  const cpu = sseCpu();
  setX(cpu, 0, iota(16, (k) => 0xa0 + k));
  setX(cpu, 1, [15, 0, 0x80, 0x8f, 0x13, 1, 2, 3, 0xff, 4, 5, 6, 7, 8, 0x7e, 9]);
  exec(cpu, [0x66, 0x0f, 0x38, 0x00, 0xc1]); // pshufb %xmm1, %xmm0
  assert.deepEqual(getX(cpu, 0), [
    0xaf,
    0xa0,
    0,
    0,
    0xa3,
    0xa1,
    0xa2,
    0xa3,
    0,
    0xa4,
    0xa5,
    0xa6,
    0xa7,
    0xa8,
    0xae,
    0xa9,
  ]);
});

Deno.test("PALIGNR shifts the destination:source pair right by imm8 bytes; 32 and more give zero", () => {
  const cpu = sseCpu();
  const at = (imm: number) => {
    setX(cpu, 0, iota(16, (k) => 0x10 + k)); // destination: high half of the pair
    setX(cpu, 1, iota(16, (k) => k)); // source: low half
    exec(cpu, [0x66, 0x0f, 0x3a, 0x0f, 0xc1, imm]); // palignr $imm, %xmm1, %xmm0
    return getX(cpu, 0);
  };
  assert.deepEqual(at(0), iota(16, (k) => k));
  assert.deepEqual(at(5), iota(16, (k) => k + 5));
  assert.deepEqual(at(20), iota(16, (k) => (k < 12 ? 0x14 + k : 0)));
  assert.deepEqual(at(32), iota(16, () => 0));
});

Deno.test("PHADDSW saturates, PHSUBW wraps, PMADDUBSW is unsigned x signed with saturation", () => {
  const cpu = sseCpu();
  cpu.fpu.xmmI16.set([0x7fff, 1, -5, 3, 0, 0, -0x8000, -1], 0);
  cpu.fpu.xmmI16.set([1, 2, 3, 4, 5, 6, 7, 8], 8);
  exec(cpu, [0x66, 0x0f, 0x38, 0x03, 0xc1]); // phaddsw %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmI16.subarray(0, 8)], [0x7fff, -2, 0, -0x8000, 3, 7, 11, 15]);
  cpu.fpu.xmmI16.set([-0x8000, 1, 0, 0, 0, 0, 0, 0], 0);
  exec(cpu, [0x66, 0x0f, 0x38, 0x05, 0xc1]); // phsubw %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmI16.subarray(0, 8)], [0x7fff, 0, 0, 0, -1, -1, -1, -1]);
  setX(cpu, 0, [255, 255, 1, 2, ...iota(12, () => 0)]);
  setX(cpu, 1, [127, 127, -3 & 0xff, 4, ...iota(12, () => 0)]);
  exec(cpu, [0x66, 0x0f, 0x38, 0x04, 0xc1]); // pmaddubsw %xmm1, %xmm0
  assert.deepEqual(words(cpu, 0).slice(0, 2), [0x7fff, 5]);
});

Deno.test("PMULHRSW rounds (p >> 14) + 1 >> 1; PSIGN and PABS follow the source's sign", () => {
  const cpu = sseCpu();
  cpu.fpu.xmmI16.set([0x4000, -0x8000, 3, -3, 0x7fff, 100, 1, 0], 0);
  cpu.fpu.xmmI16.set([0x4000, -0x8000, 0x4000, 0x4000, 0x7fff, -100, 1, 5], 8);
  exec(cpu, [0x66, 0x0f, 0x38, 0x0b, 0xc1]); // pmulhrsw %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmI16.subarray(0, 8)], [0x2000, -0x8000, 2, -1, 0x7ffe, 0, 0, 0]);
  cpu.fpu.xmmI8.set(iota(16, (k) => (k === 0 ? -128 : k)), 0);
  cpu.fpu.xmmI8.set(iota(16, (k) => [-1, 0, 1, -7][k & 3]), 16);
  exec(cpu, [0x66, 0x0f, 0x38, 0x08, 0xc1]); // psignb %xmm1, %xmm0
  assert.deepEqual([...cpu.fpu.xmmI8.subarray(0, 4)], [-128, 0, 2, -3]);
  cpu.fpu.xmmI32.set([-5, 0x80000000 | 0, 7, 0], 4);
  exec(cpu, [0x66, 0x0f, 0x38, 0x1e, 0xc1]); // pabsd %xmm1, %xmm0
  assert.deepEqual(dwords(cpu, 0), [5, 0x80000000, 7, 0]);
});

Deno.test("TZCNT and LZCNT (F3 0F BC/BD) execute as BSF and BSR: CPUID reports neither BMI1 nor LZCNT", () => {
  const cpu = sseCpu();
  // tzcnt %rbx, %rax; lzcnt %rbx, %rcx. As BSF/BSR of 0x10: 4 and 4 (TZCNT/LZCNT would give 4, 59).
  let o = exec(cpu, [0xf3, 0x48, 0x0f, 0xbc, 0xc3, 0xf3, 0x48, 0x0f, 0xbd, 0xcb], { rbx: 0x10n });
  assert.equal(o.regs.rax, 4n);
  assert.equal(o.regs.rcx, 4n);
  // A zero source: BSF sets ZF (TZCNT would write 64 and clear ZF).
  o = exec(cpu, [0xf3, 0x48, 0x0f, 0xbc, 0xc3], { rbx: 0n, rax: 0x1234n });
  assert.equal(o.rflags & 0x40, 0x40, "ZF");
  assert.equal(o.rip, CODE_ADDR + 5);
});

// ------------------------------------------------------------------ SSE4.1

Deno.test("ROUNDPS: imm8[1:0] selects the mode, imm8[2] MXCSR.RC, imm8[3] suppresses PE (SDM Vol. 2 ROUNDPS, Table 4-18)", () => {
  const cpu = sseCpu();
  const at = (imm: number, mxcsr = 0x1f80) => {
    cpu.fpu.xmmF32.set([2.5, -2.5, 1.5, -0.3], 4);
    cpu.fpu.mxcsr = mxcsr;
    const o = exec(cpu, [0x66, 0x0f, 0x3a, 0x08, 0xc1, imm]); // roundps $imm, %xmm1, %xmm0
    return { v: [...cpu.fpu.xmmF32.subarray(0, 4)], vector: o.vector, mxcsr: cpu.fpu.mxcsr };
  };
  assert.deepEqual(at(0).v, [2, -2, 2, -0], "nearest, ties to even");
  assert.deepEqual(at(1).v, [2, -3, 1, -1], "down");
  assert.deepEqual(at(2).v, [3, -2, 2, -0], "up");
  assert.deepEqual(at(3).v, [2, -2, 1, -0], "truncate");
  assert.deepEqual(at(4, 0x1f80 | (1 << 13)).v, [2, -3, 1, -1], "imm8[2]: MXCSR.RC = down");
  assert.equal(at(0).mxcsr, 0x1f80 | 0x20, "inexact: PE");
  assert.equal(at(8).mxcsr, 0x1f80, "imm8[3]: no PE");
  const unmasked = 0x1f80 & ~(1 << 12);
  assert.equal(at(0, unmasked).vector, 19, "PE unmasked: #XM");
  assert.equal(at(8, unmasked).vector, 3, "imm8[3] set: no #XM");
  cpu.fpu.xmm.set([0x7f800001, 0, 0, 0], 4); // an SNaN
  cpu.fpu.mxcsr = 0x1f80;
  exec(cpu, [0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0]); // roundss
  assert.equal(cpu.fpu.xmm[0], 0x7fc00001, "SNaN quieted");
  assert.equal(cpu.fpu.mxcsr & 1, 1, "IE");
});

Deno.test("DPPS/DPPD: imm8[7:4] selects the products, imm8[3:0] the lanes written", () => {
  const cpu = sseCpu();
  const dpps = (imm: number) => {
    cpu.fpu.xmmF32.set([1, 2, 3, 4], 0);
    cpu.fpu.xmmF32.set([10, 20, 30, 40], 4);
    exec(cpu, [0x66, 0x0f, 0x3a, 0x40, 0xc1, imm]); // dpps $imm, %xmm1, %xmm0
    return [...cpu.fpu.xmmF32.subarray(0, 4)];
  };
  assert.deepEqual(dpps(0xf1), [300, 0, 0, 0]);
  assert.deepEqual(dpps(0x35), [50, 0, 50, 0]);
  assert.deepEqual(dpps(0x8f), [160, 160, 160, 160]);
  assert.deepEqual(dpps(0x0f), [0, 0, 0, 0]);
  cpu.fpu.xmmF64.set([1, 2], 0);
  cpu.fpu.xmmF64.set([3, 4], 2);
  exec(cpu, [0x66, 0x0f, 0x3a, 0x41, 0xc1, 0x32]); // dppd $0x32
  assert.deepEqual([...cpu.fpu.xmmF64.subarray(0, 2)], [0, 11]);
});

Deno.test("PHMINPOSUW gives the lowest-indexed minimum; MPSADBW the SDM's eight sums", () => {
  const cpu = sseCpu();
  cpu.fpu.xmmU16.set([5, 3, 9, 3, 0xffff, 7, 8, 6], 8);
  exec(cpu, [0x66, 0x0f, 0x38, 0x41, 0xc1]); // phminposuw %xmm1, %xmm0
  assert.deepEqual(dwords(cpu, 0), [0x10003, 0, 0, 0]);
  setX(cpu, 0, iota(16, (k) => k));
  setX(cpu, 1, iota(16, (k) => (k >= 4 && k < 8 ? k : 0xff)));
  exec(cpu, [0x66, 0x0f, 0x3a, 0x42, 0xc1, 5]); // mpsadbw $5: source block 1, destination from byte 4
  assert.deepEqual(words(cpu, 0), iota(8, (k) => 4 * k));
  setX(cpu, 0, iota(16, () => 0x10));
  exec(cpu, [0x66, 0x0f, 0x3a, 0x42, 0xc1, 0]); // block 0 (all 0xff), from byte 0
  assert.deepEqual(words(cpu, 0), iota(8, () => 4 * 0xef));
});

Deno.test("BLENDVPS takes the mask from XMM0's sign bits; INSERTPS moves, places and zeroes lanes", () => {
  const cpu = sseCpu();
  cpu.fpu.xmm.set([0x80000000, 0, 0xffffffff, 0x7fffffff], 0);
  cpu.fpu.xmm.set([1, 2, 3, 4], 8);
  cpu.fpu.xmm.set([5, 6, 7, 8], 12);
  exec(cpu, [0x66, 0x0f, 0x38, 0x14, 0xd3]); // blendvps %xmm0, %xmm3, %xmm2
  assert.deepEqual(dwords(cpu, 2), [5, 2, 7, 4]);
  cpu.fpu.xmm.set([1, 2, 3, 4], 8);
  exec(cpu, [0x66, 0x0f, 0x3a, 0x21, 0xd3, 0x61]); // insertps $0x61: lane 1 of xmm3 into lane 2, lane 0 zeroed
  assert.deepEqual(dwords(cpu, 2), [0, 2, 6, 4]);
});

Deno.test("PTEST sets ZF from AND, CF from AND NOT, and clears AF OF PF SF", () => {
  const cpu = sseCpu();
  cpu.fpu.xmm.set([0xf0, 0, 0, 0], 0);
  cpu.fpu.xmm.set([0x0f, 0, 0, 0], 4);
  let o = exec(cpu, [0x66, 0x0f, 0x38, 0x17, 0xc1], {}, undefined, 0x8d5); // ptest %xmm1, %xmm0
  assert.equal(o.rflags & 0x8d5, 0x40, "ZF only (no common bits; xmm1 has bits outside xmm0)");
  cpu.fpu.xmm.set([0x30, 0, 0, 0], 4);
  o = exec(cpu, [0x66, 0x0f, 0x38, 0x17, 0xc1]);
  assert.equal(o.rflags & 0x8d5, 0x01, "CF only");
});

// ------------------------------------------------------------------ SSE4.2

const bytesOf = (s: string) => [...new TextEncoder().encode(s), ...new Array(16).fill(0)].slice(0, 16);

/** Runs PCMPxSTRx (opcode 0x60..0x63) with xmm0 = `a` (first operand), xmm1 = `b`; returns ECX, flags, XMM0. */
function strcmp(op: number, imm: number, a: number[], b: number[], regs: Partial<Record<Reg, bigint>> = {}) {
  const cpu = sseCpu();
  setX(cpu, 0, a);
  setX(cpu, 1, b);
  const o = exec(cpu, [0x66, 0x0f, 0x3a, op, 0xc1, imm], { rcx: 0xffffffffffffffffn, ...regs });
  return { ecx: Number(o.regs.rcx), flags: o.rflags & 0x8d5, x0: getX(cpu, 0), w0: words(cpu, 0) };
}
const PCMPISTRI = 0x63, PCMPISTRM = 0x62, PCMPESTRI = 0x61, PCMPESTRM = 0x60;
const FCF = 0x1, FZF = 0x40, FSF = 0x80, FOF = 0x800;

Deno.test("PCMPISTRI equal any: the least or most significant match; ZF/SF for a terminated operand", () => {
  const r = strcmp(PCMPISTRI, 0x00, bytesOf("aeiou"), bytesOf("hello world"));
  assert.equal(r.ecx, 1, "e at 1 (the index is written zero-extended into RCX)");
  assert.equal(r.flags, FCF | FZF | FSF);
  assert.equal(strcmp(PCMPISTRI, 0x40, bytesOf("aeiou"), bytesOf("hello world")).ecx, 7, "o at 7");
  const none = strcmp(PCMPISTRI, 0x00, bytesOf("xyz"), bytesOf("hello"));
  assert.equal(none.ecx, 16, "no match: 16");
  assert.equal(none.flags, FZF | FSF);
});

Deno.test("PCMPISTRI/M ranges with each polarity: positive, negative, masked negative", () => {
  const az = bytesOf("az"), text = bytesOf("Hello");
  assert.equal(strcmp(PCMPISTRI, 0x04, az, text).ecx, 1, "first lower-case letter");
  const neg = strcmp(PCMPISTRI, 0x14, az, text);
  assert.equal(neg.ecx, 0, "negative: H, and every element past the end");
  assert.equal(neg.flags, FCF | FZF | FSF | FOF, "OF = IntRes2[0]");
  assert.equal(strcmp(PCMPISTRI, 0x54, az, text).ecx, 15, "negative, most significant: past the end");
  assert.equal(strcmp(PCMPISTRI, 0x74, az, text).ecx, 0, "masked negative: only valid elements inverted");
  assert.deepEqual(strcmp(PCMPISTRM, 0x34, az, text).w0, [1, 0, 0, 0, 0, 0, 0, 0], "bit mask in XMM0");
  assert.deepEqual(
    strcmp(PCMPISTRM, 0x44, az, text).x0,
    [0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "byte mask",
  );
});

Deno.test("PCMPISTRI equal each (strcmp) and equal ordered (strstr, a partial match at the end)", () => {
  assert.equal(strcmp(PCMPISTRI, 0x18, bytesOf("abcd"), bytesOf("abXd")).ecx, 2, "first difference");
  const same = strcmp(PCMPISTRI, 0x18, bytesOf("abcd"), bytesOf("abcd"));
  assert.equal(same.ecx, 16, "equal strings: no difference (invalid pairs compare true)");
  assert.equal(same.flags, FZF | FSF);
  assert.equal(strcmp(PCMPISTRI, 0x0c, bytesOf("lo"), bytesOf("hello world")).ecx, 3);
  const tail = strcmp(PCMPISTRI, 0x0c, bytesOf("lo"), bytesOf("xxxxxxxxxxxxxxxl"));
  assert.equal(tail.ecx, 15, "a needle cut off by the register's end still matches");
  assert.equal(tail.flags, FCF | FSF, "second operand not terminated: ZF clear");
  assert.equal(strcmp(PCMPISTRI, 0x0c, bytesOf(""), bytesOf("abc")).ecx, 0, "an empty needle matches at 0");
});

Deno.test("PCMPESTRI/M take |EAX| and |EDX| as lengths, saturated; words and signed ranges", () => {
  const a = [1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0]; // words 1..8
  const b = [9, 0, 8, 0, 7, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0]; // words 9 8 7 3 2 1 0 0
  // Equal any over words: first operand length 3 (EAX = -3): {1, 2, 3}; second operand length 8 (EDX = 100).
  const r = strcmp(PCMPESTRI, 0x01, a, b, { rax: 0xfffffffdn, rdx: 100n });
  assert.equal(r.ecx, 3);
  assert.equal(r.flags, FCF | FSF, "SF: |EAX| < 8; ZF clear: |EDX| >= 8");
  // Without REX.W only EAX/EDX count: RAX = 2^32 + 2 is length 2.
  assert.equal(strcmp(PCMPESTRI, 0x01, a, b, { rax: 0x100000002n, rdx: 5n }).ecx, 4);
  // Signed word ranges [-2, 2] (imm8 = 0x07): element 3 of the second operand is -1.
  const sa = [0xfe, 0xff, 2, 0, ...new Array(12).fill(0)];
  const sb = [5, 0, 9, 0, 3, 0, 0xff, 0xff, ...new Array(8).fill(0)];
  assert.equal(strcmp(PCMPESTRI, 0x07, sa, sb, { rax: 2n, rdx: 4n }).ecx, 3);
  assert.equal(
    strcmp(PCMPESTRI, 0x05, sa, sb, { rax: 2n, rdx: 4n }).ecx,
    8,
    "unsigned: 0xfffe..2 holds none",
  );
  const m = strcmp(PCMPESTRM, 0x41, a, b, { rax: 3n, rdx: 8n });
  assert.deepEqual(m.w0, [0, 0, 0, 0xffff, 0xffff, 0xffff, 0, 0], "word mask");
});

Deno.test("CRC32 is CRC-32C without the inversions: 123456789 gives the check value 0xE3069283", () => {
  const cpu = sseCpu();
  // crc32q %rbx, %rax; crc32b %cl, %eax
  const o = exec(cpu, [0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3, 0xf2, 0x0f, 0x38, 0xf0, 0xc1], {
    rax: 0xffffffffffffffffn,
    rbx: 0x3837363534333231n,
    rcx: 0x39n,
  });
  assert.equal((~Number(o.regs.rax)) >>> 0, 0xe3069283);
  assert.equal(o.regs.rax >> 32n, 0n, "zero-extended");
});

Deno.test("POPCNT counts bits, sets ZF only for zero, clears the other flags", () => {
  const cpu = sseCpu();
  let o = exec(cpu, [0xf3, 0x48, 0x0f, 0xb8, 0xc3], { rbx: 0xf0f0000000000001n }, undefined, 0x8d5);
  assert.equal(o.regs.rax, 9n);
  assert.equal(o.rflags & 0x8d5, 0);
  o = exec(cpu, [0x66, 0xf3, 0x0f, 0xb8, 0xc3], { rbx: 0xffff0000n, rax: 0x1234_5678n }, undefined, 0x8d5);
  assert.equal(o.regs.rax, 0x1234_0000n, "16-bit: the upper bits kept");
  assert.equal(o.rflags & 0x8d5, 0x40);
});

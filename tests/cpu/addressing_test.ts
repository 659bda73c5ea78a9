/**
 * Segment overrides in 64-bit mode (SDM Vol. 1 §3.3.4.1, Vol. 3 §3.4.4): FS and GS add their base
 * to the effective address; ES, CS, SS and DS overrides are ignored (base 0); LEA ignores any
 * override; MOVS/LODS take the override on the source, STOS's ES destination cannot be overridden.
 * With the 67 prefix the effective address is truncated to 32 bits before the base is added. A
 * linear address that is not canonical raises #GP(0) (#SS(0) for RSP/RBP-based ones).
 *
 * The host CPU cannot serve as the oracle here (its FS base is the C library's TLS), so the
 * expected values are worked out from the rules above: the scratch page holds a known pattern, and
 * each case states which linear address the instruction must read or write. Bytes from GNU as.
 */

import assert from "node:assert/strict";
import { CODE_ADDR, go, hexBytes, load, makeCpu } from "./_harness.ts";

const PAGE = 0x300000;
/** The byte the pattern puts at linear address `a` of the scratch page. */
const pat = (a: number) => ((a & 0xff) ^ ((a >> 8) & 0xf) * 0x11) & 0xff;
/** The little-endian value of `n` pattern bytes at `a`. */
function val(a: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(pat(a + i));
  return v;
}

const FS = 0x300100, GS = 0x300200;

interface Case {
  asm: string;
  bytes: string;
  regs?: Record<string, bigint>;
  /** Expected register values after the instruction. */
  want?: Record<string, bigint>;
  /** Expected store: [linear address, value, size]. */
  store?: [number, bigint, number];
  /** Expected exception vector. */
  vector?: number;
  fsBase?: number;
  gsBase?: number;
}

const RBX = 0x700n;
const CASES: Case[] = [
  {
    asm: "mov %fs:8(%rbx), %rcx",
    bytes: "64488b4b08",
    regs: { rbx: RBX },
    want: { rcx: val(FS + 0x708, 8) },
  },
  {
    asm: "mov %gs:8(%rbx), %rcx",
    bytes: "65488b4b08",
    regs: { rbx: RBX },
    want: { rcx: val(GS + 0x708, 8) },
  },
  {
    asm: "mov %fs:-8(%rbx), %rcx",
    bytes: "64488b4bf8",
    regs: { rbx: RBX },
    want: { rcx: val(FS + 0x6f8, 8) },
  },
  {
    asm: "mov %rcx, %fs:16(%rbx)",
    bytes: "6448894b10",
    regs: { rbx: RBX, rcx: 0x1122334455667788n },
    store: [FS + 0x710, 0x1122334455667788n, 8],
  },
  {
    asm: "mov %gs:0x10(,%rdi,8), %ecx",
    bytes: "658b0cfd10000000",
    regs: { rdi: 0x20n, rcx: 0xffffffffffffffffn },
    want: { rcx: val(GS + 0x110, 4) },
  },
  {
    // RIP-relative: the displacement is relative to the next instruction, then FS is added.
    asm: "mov %fs:0x100(%rip), %rcx",
    bytes: "64488b0d00010000",
    fsBase: PAGE - CODE_ADDR,
    want: { rcx: val(PAGE + 8 + 0x100, 8) },
  },
  { asm: "movabs %fs:0x10, %rax", bytes: "6448a11000000000000000", want: { rax: val(FS + 0x10, 8) } },
  {
    asm: "movabs %rax, %gs:0x18",
    bytes: "6548a31800000000000000",
    regs: { rax: 0x0102030405060708n },
    store: [GS + 0x18, 0x0102030405060708n, 8],
  },
  {
    asm: "fs movsb (source through FS, destination ES)",
    bytes: "64a4",
    regs: { rsi: 0x10n, rdi: BigInt(PAGE + 0x20) },
    want: { rsi: 0x11n, rdi: BigInt(PAGE + 0x21) },
    store: [PAGE + 0x20, val(FS + 0x10, 1), 1],
  },
  {
    asm: "gs lodsq",
    bytes: "6548ad",
    regs: { rsi: 0x40n },
    want: { rsi: 0x48n, rax: val(GS + 0x40, 8) },
  },
  {
    asm: "fs stosb (the override does not apply to ES:RDI)",
    bytes: "64aa",
    regs: { rdi: BigInt(PAGE + 0x30), rax: 0x5an },
    want: { rdi: BigInt(PAGE + 0x31) },
    store: [PAGE + 0x30, 0x5an, 1],
  },
  {
    asm: "es mov 8(%rbx), %rcx (ignored)",
    bytes: "26488b4b08",
    regs: { rbx: BigInt(PAGE + 0x700) },
    want: { rcx: val(PAGE + 0x708, 8) },
  },
  {
    asm: "cs mov 8(%rbx), %rcx (ignored)",
    bytes: "2e488b4b08",
    regs: { rbx: BigInt(PAGE + 0x700) },
    want: { rcx: val(PAGE + 0x708, 8) },
  },
  {
    asm: "ss mov 8(%rbx), %rcx (ignored)",
    bytes: "36488b4b08",
    regs: { rbx: BigInt(PAGE + 0x700) },
    want: { rcx: val(PAGE + 0x708, 8) },
  },
  {
    asm: "addl $1, %gs:8(%rbx)",
    bytes: "6583430801",
    regs: { rbx: RBX },
    store: [GS + 0x708, val(GS + 0x708, 4) + 1n, 4],
  },
  {
    asm: "addr32 mov %fs:8(%ebx), %rcx (EA truncated to 32 bits, then FS added)",
    bytes: "6467488b4b08",
    regs: { rbx: 0xffffffff00000000n | RBX },
    want: { rcx: val(FS + 0x708, 8) },
  },
  {
    asm: "addr32 mov %fs:-0x10(%ebx), %rcx (32-bit wrap-around)",
    bytes: "6467488b4bf0",
    regs: { rbx: 0x8n },
    fsBase: PAGE - 0x100000000 + 0x100,
    // EA = (8 - 0x10) mod 2^32 = 0xfffffff8; linear = FS.base + EA = PAGE + 0xf8.
    want: { rcx: val(PAGE + 0xf8, 8) },
  },
  {
    asm: "lea %fs:8(%rbx), %rcx (no segment base)",
    bytes: "64488d4b08",
    regs: { rbx: RBX },
    want: { rcx: RBX + 8n },
  },
  {
    asm: "mov %fs:8(%rbx), %rcx with a non-canonical sum: #GP(0)",
    bytes: "64488b4b08",
    regs: { rbx: 0x10n },
    fsBase: 0x7ffffffffff0,
    vector: 13,
  },
  {
    asm: "movabs %fs:0x10, %rax with a non-canonical sum: #GP(0)",
    bytes: "6448a11000000000000000",
    fsBase: 0x7ffffffffff8,
    vector: 13,
  },
  {
    asm: "gs lodsq with RSI + GS base non-canonical: #GP(0)",
    bytes: "6548ad",
    regs: { rsi: 0x10n },
    gsBase: 0x7ffffffffff8,
    vector: 13,
  },
  {
    asm: "fs movsb with RSI + FS base non-canonical: #GP(0)",
    bytes: "64a4",
    regs: { rsi: 0x7ffffffffff0n, rdi: BigInt(PAGE + 0x20) },
    fsBase: 0x100,
    vector: 13,
  },
  {
    asm: "mov 8(%rbx), %rcx with a non-canonical address: #GP(0)",
    bytes: "488b4b08",
    regs: { rbx: 0x0000800000000000n },
    vector: 13,
  },
  {
    asm: "mov 8(%rsp), %rcx with a non-canonical address: #SS(0)",
    bytes: "488b4c2408",
    regs: { rsp: 0x0000800000000000n },
    vector: 12,
  },
  {
    asm: "mov %gs:(%rbx), %rcx with a negative base reaching back into canonical space",
    bytes: "65488b0b",
    regs: { rbx: BigInt(PAGE + 0x1000 + 0x40) },
    gsBase: -0x1000,
    want: { rcx: val(PAGE + 0x40, 8) },
  },
];

for (const c of CASES) {
  Deno.test(`Cpu.linear ${c.asm}`, () => {
    const cpu = makeCpu();
    const regs: Record<string, bigint> = { rsp: BigInt(PAGE + 0x8c0), ...c.regs };
    load(cpu, { code: hexBytes(c.bytes), regs, fsBase: c.fsBase ?? FS, gsBase: c.gsBase ?? GS });
    for (let a = PAGE; a < PAGE + 0x1000; a++) cpu.mem[a] = pat(a);
    const o = go(cpu, 100);
    if (c.vector !== undefined) {
      assert.equal(o.vector, c.vector);
      assert.equal(o.rip, CODE_ADDR, "RIP stays on the faulting instruction");
      assert.equal(cpu.exitIntrError, 0, "error code 0");
      return;
    }
    assert.equal(o.vector, 3, "ends at the INT3 after the instruction");
    assert.equal(o.rip, CODE_ADDR + c.bytes.length / 2);
    for (const [r, v] of Object.entries(c.want ?? {})) {
      assert.equal("0x" + o.regs[r as "rax"].toString(16), "0x" + v.toString(16), r);
    }
    if (c.store) {
      const [a, v, n] = c.store;
      let got = 0n;
      for (let i = n - 1; i >= 0; i--) got = (got << 8n) | BigInt(cpu.mem[a + i]);
      assert.equal("0x" + got.toString(16), "0x" + BigInt.asUintN(8 * n, v).toString(16), "stored value");
      // Nothing else in the page changed.
      for (let x = PAGE; x < PAGE + 0x1000; x++) {
        if (x >= a && x < a + n) continue;
        assert.equal(cpu.mem[x], pat(x), `byte at 0x${x.toString(16)} unchanged`);
      }
    }
  });
}

/**
 * String I/O, XSETBV/XGETBV and CPUID's OSXSAVE under the full machine (VMX, EPT, the hypervisor's
 * exit handling). Expected values follow the SDM (Vol. 2 INS, OUTS, XSETBV, XGETBV, CPUID; Vol. 3
 * §26.1.2: XSETBV always exits) and the debug console's contract (port 0xE9 prints a byte, reads 0xE9).
 */

import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";

const reg = (m: Machine, r: number) => m.cpu.getReg64(r);
const RCX = 1, RSI = 6, RDI = 7, RBX = 3;

Deno.test(
  "REP OUTSB writes each byte to the port, one exit per iteration; RSI and RCX as the SDM says",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    lea rsi, [rip + msg]
    mov r8, rsi
    mov edx, 0xe9
    mov ecx, 5
    cld
    rep outsb
    hlt
  msg: .ascii "hello"`);
    const exit = m.runToEnd(1000);
    assert.equal(exit.reason, "hlt");
    assert.equal(m.console.text(), "hello");
    assert.equal(m.exitCounts.get(30), 5, "one I/O exit per iteration");
    assert.equal(reg(m, RCX), 0n);
    assert.equal(reg(m, RSI), reg(m, 8) + 5n);
    // lea, mov, mov, mov, cld, five iterations, hlt.
    assert.equal(m.instructions, 11);
  },
);

Deno.test("OUTSW without REP writes one word; STD makes RSI step backwards", NEEDS_AS, () => {
  const m = bootAsm(`
    lea rsi, [rip + msg]
    mov r8, rsi
    mov edx, 0xe9
    std
    outsw
    cld
    hlt
  msg: .ascii "ok"`);
  m.runToEnd(100);
  assert.equal(m.console.text(), "o", "the console prints the low byte of a wider write");
  assert.equal(reg(m, RSI), reg(m, 8) - 2n);
});

Deno.test("REP INSB stores what the port returns at ES:RDI", NEEDS_AS, () => {
  const m = bootAsm(`
    lea rdi, [rip + buf]
    mov r8, rdi
    mov edx, 0xe9
    mov ecx, 3
    rep insb
    mov ebx, [r8]
    hlt
  .balign 8
  buf: .quad 0`);
  m.runToEnd(100);
  assert.equal(reg(m, RBX), 0xe9e9e9n, "three bytes of 0xE9, the fourth untouched");
  assert.equal(reg(m, RDI), reg(m, 8) + 3n);
  assert.equal(reg(m, RCX), 0n);
});

Deno.test(
  "XSETBV exits and the hypervisor loads XCR0; XGETBV reads it; CPUID shows OSXSAVE",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    mov eax, 1
    cpuid
    mov r8d, ecx                  # before CR4.OSXSAVE
    mov rax, cr4
    or eax, 1 << 18
    mov cr4, rax
    mov eax, 1
    cpuid
    mov r9d, ecx                  # after
    xor ecx, ecx
    mov eax, 3
    xor edx, edx
    xsetbv
    xor ecx, ecx
    xgetbv
    mov ebx, eax
    hlt`);
    const exit = m.runToEnd(1000);
    assert.equal(exit.reason, "hlt");
    assert.equal((reg(m, 8) >> 27n) & 1n, 0n);
    assert.equal((reg(m, 9) >> 27n) & 1n, 1n);
    assert.equal(reg(m, RBX), 3n);
    assert.equal(m.cpu.xcr0, 3);
    assert.equal(m.exitCounts.get(55), 1, "one XSETBV exit");
  },
);

Deno.test("XSETBV of an illegal XCR0 (AVX without support) gets #GP(0) from the hypervisor", NEEDS_AS, () => {
  const m = bootAsm(`
    mov rax, cr4
    or eax, 1 << 18
    mov cr4, rax
    xor ecx, ecx
    mov eax, 7
    xor edx, edx
    xsetbv
    hlt`);
  const exit = m.runToEnd(1000);
  assert.notEqual(exit.reason, "hlt");
  assert.match(exit.message ?? "", /#GP|triple/);
  assert.equal(m.cpu.xcr0, 1);
});

Deno.test(
  "XCR0 is part of the saved CPU state (version 3); a version-2 section restores XCR0 = 1",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    mov rax, cr4
    or eax, 1 << 18
    mov cr4, rax
    xor ecx, ecx
    mov eax, 3
    xor edx, edx
    xsetbv
    hlt`);
    m.runToEnd(100);
    assert.equal(m.cpu.xcr0, 3);
    const d = new Machine({ memory: m.ramBytes });
    d.restoreState(m.saveState());
    assert.equal(d.cpu.xcr0, 3);
    const v2 = m.saveState().map((s) => {
      if (s.name !== "cpu") return s;
      const json = JSON.parse(new TextDecoder().decode(s.data));
      delete json.xcr0;
      return { name: "cpu", version: 2, data: new TextEncoder().encode(JSON.stringify(json)) };
    });
    const e = new Machine({ memory: m.ramBytes });
    e.restoreState(v2);
    assert.equal(e.cpu.xcr0, 1, "XCR0's reset value (SDM Vol. 1 §13.3)");
  },
);

/**
 * System instructions from guest code under the full machine (VMX, EPT): SYSCALL/SYSRET, SWAPGS,
 * RDTSCP, RDMSR/WRMSR and #GP for unknown MSRs, MOV to/from CR8, LGDT/SGDT/LIDT/SIDT, LTR, STR,
 * WBINVD/INVD, the MOV SS interrupt shadow, and RDRAND through the entropy source. Expected values
 * follow the SDM's instruction pages (Vol. 2) and interrupt-shadow rules (Vol. 3 §6.8.3).
 */

import assert from "node:assert/strict";
import { Entropy } from "../../src/devices/mod.ts";
import type { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";
import { PROC_INTERRUPT_WINDOW_EXITING } from "../../src/vmx/controls.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";

const reg = (m: Machine, r: number) => m.cpu.getReg64(r);

Deno.test(
  "SYSCALL enters CPL 0 at LSTAR with RCX/R11 saved; SYSRET returns to CPL 3 with STAR's selectors",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1                     # EFER.SCE
    wrmsr
    mov ecx, 0xc0000081           # STAR: SYSCALL CS = 0x08, SYSRET base = 0x10
    xor eax, eax
    mov edx, 0x00100008
    wrmsr
    mov ecx, 0xc0000082           # LSTAR
    lea rax, [rip + entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xc0000084           # FMASK: clear DF and TF
    mov eax, 0x500
    xor edx, edx
    wrmsr
    xor r12d, r12d
    lea rcx, [rip + user]
    mov r11d, 0x2
    sysretq                       # to ring 3 at user
  entry:
    inc r12
    mov r13, rcx
    mov r14, r11
    mov ax, cs
    movzx r9d, ax
    hlt
  user:
    mov ax, cs
    movzx r10d, ax
    std                           # DF set in user mode: FMASK clears it on SYSCALL
    syscall
  `);
    const exit = m.runToEnd(1000);
    assert.equal(exit.reason, "hlt", exit.message);
    assert.equal(reg(m, 12), 1n);
    assert.equal(reg(m, 10), 0x23n, "SYSRET: CS = STAR[63:48] + 16, RPL 3");
    assert.equal(reg(m, 9), 0x08n, "SYSCALL: CS = STAR[47:32]");
    assert.equal(reg(m, 14) & 0x400n, 0x400n, "R11 holds RFLAGS from user mode (DF set)");
    assert.equal(m.cpu.getRflags() & 0x400, 0, "FMASK cleared DF");
    assert.equal(m.cpu.cpl, 0);
    // RCX = the address after the SYSCALL: the last two bytes before 'after' are 0f 05.
    const rcx = Number(reg(m, 13));
    assert.equal(m.mem[rcx - 2], 0x0f);
    assert.equal(m.mem[rcx - 1], 0x05);
  },
);

Deno.test("SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE", NEEDS_AS, () => {
  const m = bootAsm(`
    mov ecx, 0xc0000101
    mov eax, 0x1111
    xor edx, edx
    wrmsr
    mov ecx, 0xc0000102
    mov eax, 0x2222
    wrmsr
    swapgs
    mov ecx, 0xc0000101
    rdmsr
    mov r8d, eax
    mov ecx, 0xc0000102
    rdmsr
    mov r9d, eax
    hlt`);
  m.runToEnd(100);
  assert.equal(reg(m, 8), 0x2222n);
  assert.equal(reg(m, 9), 0x1111n);
});

Deno.test("RDTSCP returns the TSC and IA32_TSC_AUX; RDMSR of an unknown MSR raises #GP(0)", NEEDS_AS, () => {
  const m = bootAsm(`
    mov ecx, 0xc0000103
    mov eax, 0x1234
    xor edx, edx
    wrmsr
    rdtscp
    mov r8, rcx
    mov r9, rax
    mov ecx, 0x1234               # an MSR no x86 CPU has, clear in the MSR bitmaps
    rdmsr`);
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 13);
  const exit = m.runToEnd(100);
  assert.equal(reg(m, 8), 0x1234n);
  assert.equal(reg(m, 9), 4n, "TSC = the 4 instructions retired before RDTSCP (virtual time)");
  assert.match(exit.message ?? "", /#GP/);
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) >>> 0, 0x80000b0d);
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_ERROR_CODE), 0);
});

Deno.test("MOV to CR8 sets the task priority; a value above 15 raises #GP(0)", NEEDS_AS, () => {
  const m = bootAsm("mov eax, 5\nmov cr8, rax\nmov rbx, cr8\nmov eax, 16\nmov cr8, rax");
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 13);
  m.runToEnd(100);
  assert.equal(reg(m, 3), 5n);
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) >>> 0, 0x80000b0d);
});

Deno.test(
  "LGDT/LIDT load and SGDT/SIDT store the 10-byte pseudo-descriptors; LTR marks the TSS busy",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    sgdt [0x200000]
    sidt [0x200010]
    lidt [rip + idtr]
    sidt [0x200020]
    mov ax, 0x18
    ltr ax
    str bx
    hlt
  idtr:
    .word 0x0fff
    .quad 0x123456789000`);
    // The boot TR is already loaded and busy; make its descriptor available again so LTR can load it.
    m.mem[0x1000 + 0x18 + 5] = 0x89;
    m.vcpu.vmcs.writeNumber(F.GUEST_TR_SELECTOR, 0);
    m.runToEnd(100);
    const dv = new DataView(m.mem.buffer);
    assert.equal(dv.getUint16(0x200000, true), 0x27, "boot GDT limit");
    assert.equal(dv.getBigUint64(0x200002, true), 0x1000n, "boot GDT base");
    assert.equal(dv.getUint16(0x200020, true), 0x0fff);
    assert.equal(dv.getBigUint64(0x200022, true), 0x123456789000n);
    assert.equal(reg(m, 3) & 0xffffn, 0x18n);
    assert.equal(m.mem[0x1000 + 0x18 + 5] & 0x0f, 0xb, "TSS descriptor type 11 (busy)");
  },
);

Deno.test("WBINVD and INVD run at CPL 0 without effect", NEEDS_AS, () => {
  const m = bootAsm("wbinvd\ninvd\nmov eax, 7\nhlt");
  const exit = m.runToEnd(100);
  assert.equal(exit.reason, "hlt");
  assert.equal(reg(m, 0), 7n);
});

Deno.test(
  "MOV SS blocks interrupts for one more instruction (STI shadow, then MOV SS shadow)",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov eax, 0x10\nsti\nmov ss, eax\nnop\nnop\nhlt");
    m.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
    m.vcpu.vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, 1000);
    m.vcpu.enter();
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_REASON), 7);
    // mov, sti, mov ss (in STI's shadow), nop (in MOV SS's shadow): the window opens after the first nop.
    assert.equal(m.instructions, 4);
  },
);

Deno.test("RDRAND takes its value from the machine's entropy source and sets CF", NEEDS_AS, () => {
  const m = bootAsm("rdrand rax\nsetc bl\nrdrand rcx\nhlt");
  m.runToEnd(100);
  const e = new Entropy(0x68767369_6d5f7631n); // the machine's default seed
  assert.equal(reg(m, 0), e.next64());
  assert.equal(reg(m, 1), e.next64());
  assert.equal(reg(m, 3) & 0xffn, 1n);
});

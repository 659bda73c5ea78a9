/**
 * VMX behaviour a hypervisor author checks first, each expected value from the SDM (Vol. 3 ch.
 * 24-27) or, for hypercalls, from KVM's documented convention: CR2 on a #PF that exits, the
 * CR3-target values, natural-width CR0/CR4 masks and shadows with the exit before the #GP for
 * reserved bits, and the hypercall ABI.
 */

import assert from "node:assert/strict";
import type { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";
import { PROC_CR3_LOAD_EXITING } from "../../src/vmx/controls.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";
import { enter } from "./_vmx_entry.ts";

const q = (m: Machine) => m.vcpu.vmcs.read(F.EXIT_QUALIFICATION);
const vector = (m: Machine) => m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) & 0xff;

Deno.test(
  "a #PF that causes a VM exit leaves CR2 alone; its address goes only into the qualification",
  NEEDS_AS,
  () => {
    // SDM Vol. 3 §27.1: "If a page fault causes a VM exit, CR2 is not modified."
    const m = bootAsm("mov rax, 0x7fff00000000\nmov qword ptr [rax], 1");
    m.cpu.cr2 = 0x1234000;
    m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 14);
    assert.equal(enter(m), 0);
    assert.equal(vector(m), 14);
    assert.equal(q(m), 0x7fff00000000n);
    assert.equal(m.cpu.cr2, 0x1234000, "CR2 keeps the value it had before the exit");
  },
);

Deno.test(
  "a #PF delivered to the guest (PFEC_MATCH not met) loads CR2 with the faulting address",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov rax, 0x7fff00000000\nmov qword ptr [rax], 1");
    m.cpu.cr2 = 0x1234000;
    const vmcs = m.vcpu.vmcs;
    vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 14);
    vmcs.writeNumber(F.PAGE_FAULT_ERROR_CODE_MASK, 2);
    vmcs.writeNumber(F.PAGE_FAULT_ERROR_CODE_MATCH, 0); // a write (error code 2) does not match: delivered
    assert.equal(enter(m), 2, "no IDT: #PF -> #DF -> triple fault");
    assert.equal(m.cpu.cr2, 0x7fff00000000);
  },
);

Deno.test(
  "MOV to CR2 loads CR2 and MOV from CR2 reads it back (SDM Vol. 2 MOV-Move to/from Control Registers)",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov rax, 0xffff800000001234\nmov cr2, rax\nmov rbx, cr2\nhlt");
    assert.equal(enter(m), 12);
    assert.equal(m.cpu.getReg64(3), 0xffff800000001234n);
  },
);

Deno.test(
  "MOV to CR3 with CR3-load exiting does not exit for one of the first CR3_TARGET_COUNT target values",
  NEEDS_AS,
  () => {
    // SDM Vol. 3 §25.1.3: MOV to CR3 exits "unless the value of its source operand is equal to one
    // of the CR3-target values specified in the VMCS. Only the first n CR3-target values are
    // considered, where n is the CR3-target count."
    const m = bootAsm(`
    mov rbx, cr3
    mov cr3, rbx        # target value 1: no exit
    mov rcx, 0x5000
    mov cr3, rcx        # target value 2 lies beyond the count: exits
    hlt`);
    const vmcs = m.vcpu.vmcs;
    const cr3 = vmcs.read(F.GUEST_CR3);
    m.vcpu.setProcControl(PROC_CR3_LOAD_EXITING, true);
    vmcs.writeNumber(F.CR3_TARGET_COUNT, 2);
    vmcs.write(F.CR3_TARGET_VALUE0, 0x9000n);
    vmcs.write(F.CR3_TARGET_VALUE1, cr3);
    vmcs.write(F.CR3_TARGET_VALUE2, 0x5000n);
    assert.equal(enter(m), 28);
    // MOV to CR3 (type 0) from RCX (1): the second MOV (SDM Table 27-3).
    assert.equal(q(m), 3n | (1n << 8n));
    assert.equal(m.instructions, 3, "mov rbx, cr3; mov cr3, rbx; mov rcx, 0x5000 retired");
    // With the count at 0 every MOV to CR3 exits, the current value too.
    const m0 = bootAsm("mov rbx, cr3\nmov cr3, rbx\nhlt");
    if (!m0) return;
    m0.vcpu.setProcControl(PROC_CR3_LOAD_EXITING, true);
    m0.vcpu.vmcs.write(F.CR3_TARGET_VALUE0, m0.vcpu.vmcs.read(F.GUEST_CR3));
    assert.equal(enter(m0), 28);
  },
);

Deno.test("CR0/CR4 guest/host masks and read shadows are natural-width: bits 63:32 count", NEEDS_AS, () => {
  // SDM Vol. 3 §25.3: MOV from CR0/CR4 returns, for each bit set in the mask, the read shadow's bit;
  // CR0 and CR4 bits 63:32 are reserved (0), the shadow supplies them where the mask is set.
  const m = bootAsm("mov rax, cr0\nmov rbx, cr4\nhlt");
  const vmcs = m.vcpu.vmcs;
  const cr0 = vmcs.read(F.GUEST_CR0), cr4Mask = vmcs.read(F.CR4_GUEST_HOST_MASK);
  vmcs.write(F.CR0_GUEST_HOST_MASK, 0x10000000000n);
  vmcs.write(F.CR0_READ_SHADOW, 0x30000000000n);
  vmcs.write(F.CR4_GUEST_HOST_MASK, cr4Mask | 0x8000000000000000n);
  vmcs.write(F.CR4_READ_SHADOW, vmcs.read(F.CR4_READ_SHADOW) | 0x8000000000000000n);
  assert.equal(enter(m), 12);
  assert.equal(m.cpu.getReg64(0), cr0 | 0x10000000000n, "bit 40 from the shadow, bit 41 not owned");
  assert.equal(m.cpu.getReg64(3) >> 63n, 1n, "CR4 bit 63 from the shadow");
});

Deno.test(
  "MOV to CR0/CR4 exits on a mask bit in 63:32 before the #GP for reserved bits (SDM Vol. 3 §25.1.1)",
  NEEDS_AS,
  () => {
    for (const cr of [0, 4]) {
      const src = `mov rax, cr${cr}\nbts rax, 32\nmov cr${cr}, rax\nhlt`;
      const m = bootAsm(src);
      const vmcs = m.vcpu.vmcs;
      const mask = cr === 0 ? F.CR0_GUEST_HOST_MASK : F.CR4_GUEST_HOST_MASK;
      vmcs.write(mask, vmcs.read(mask) | 0x100000000n); // the host owns bit 32; the shadow has it 0
      vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 13);
      assert.equal(enter(m), 28, `CR${cr}: the write changes an owned bit: VM exit, not #GP`);
      assert.equal(q(m), BigInt(cr), `CR${cr}: MOV to CR${cr} from RAX`);
      // Without the mask bit the reserved bit 32 raises #GP(0) (SDM Vol. 2 MOV CR).
      const g = bootAsm(src);
      if (!g) return;
      g.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 13);
      assert.equal(enter(g), 0, `CR${cr}`);
      assert.equal(vector(g), 13, `CR${cr}`);
    }
  },
);

Deno.test(
  "VMCALL follows KVM's hypercall convention: whole RAX, -KVM_ENOSYS, -KVM_EPERM at CPL > 0",
  NEEDS_AS,
  () => {
    // Linux Documentation/virt/kvm/x86/hypercalls.rst and include/uapi/linux/kvm_para.h:
    // KVM_ENOSYS = 1000, KVM_EPERM = 1; the number is RAX (64 bits in 64-bit mode).
    const m = bootAsm(`
    xor eax, eax
    vmcall              # 0: the ABI version
    mov r8, rax
    mov rax, 0x100000000
    vmcall              # low 32 bits are 0, but the number is all of RAX: unknown
    mov r9, rax
    mov eax, 5
    vmcall
    mov r10, rax
    hlt`);
    const exit = m.runToEnd(100);
    assert.equal(exit.reason, "hlt", exit.message);
    assert.equal(m.cpu.getReg64(8), 1n);
    assert.equal(m.cpu.getReg64(9), BigInt.asUintN(64, -1000n));
    assert.equal(m.cpu.getReg64(10), BigInt.asUintN(64, -1000n));
    const user = bootAsm(`
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1                     # EFER.SCE
    wrmsr
    mov ecx, 0xc0000081           # STAR: SYSRET base 0x10
    xor eax, eax
    mov edx, 0x00100008
    wrmsr
    lea rcx, [rip + ring3]
    mov r11d, 0x2
    sysretq
  ring3:
    xor eax, eax
    vmcall                        # hypercall 0 from CPL 3
    mov r8, rax
  spin:
    jmp spin                      # (HLT and OUT would #GP at CPL 3)`);
    if (!user) return;
    const e = user.runToEnd(100);
    assert.equal(e.reason, "instruction-limit", e.message);
    assert.equal(user.cpu.getReg64(8), BigInt.asUintN(64, -1n));
  },
);

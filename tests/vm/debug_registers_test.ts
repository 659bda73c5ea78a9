/**
 * The debug registers under the full machine: MOV to and from DR0-DR7 (SDM Vol. 2 "MOV-Move
 * to/from Debug Registers"), DR6/DR7 fixed bits and reset values (SDM Vol. 3 §17.2, Table 10-1),
 * DR7.GD and DR6.BD (§17.2.4), DR4/DR5 aliasing with CR4.DE (§17.2.2), VM exit 29 and its
 * qualification (§25.1.3, Table 27-4), DR7 in the VMCS under "save/load debug controls"
 * (§26.3.2.1, §27.3.1, §27.5.1), and the registers as machine state (snapshots, digest, regs).
 */

import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import type { StateSection } from "../../src/migration/vm_interface.ts";
import * as F from "../../src/vmx/fields.ts";
import {
  ENTRY_LOAD_DEBUG_CONTROLS,
  EXIT_SAVE_DEBUG_CONTROLS,
  PROC_MOV_DR_EXITING,
} from "../../src/vmx/controls.ts";
import { decodeDrAccessQualification } from "../../src/vmx/qualifications.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";
import { enter } from "./_vmx_entry.ts";

const reg = (m: Machine, r: number) => m.cpu.getReg64(r);
const q = (m: Machine) => Number(m.vcpu.vmcs.read(F.EXIT_QUALIFICATION));
const vector = (m: Machine) => m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) & 0xff;
/** Exception bitmap with #DB (1), #UD (6) and #GP (13): each becomes VM exit 0 to be observed. */
const OBSERVE = (1 << 1) | (1 << 6) | (1 << 13);

/** Enters ring 3 at label `ring3` with SYSRET (flat selectors from STAR; the boot map is user-accessible). */
const TO_RING3 = `
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1
    wrmsr
    mov ecx, 0xc0000081
    xor eax, eax
    mov edx, 0x00100008
    wrmsr
    lea rcx, [rip + ring3]
    mov r11d, 0x2
    sysretq
  ring3:`;

Deno.test("MOV to/from DR0-DR3 keeps all 64 bits; DR6 and DR7 read their reset values", NEEDS_AS, () => {
  const m = bootAsm(`
    mov rax, 0xffff800012345678
    mov dr0, rax
    mov rcx, 0x00007ffffffff000
    mov dr3, rcx
    mov rbx, dr0
    mov rdx, dr3
    mov rsi, dr6
    mov rdi, dr7
    hlt`);
  assert.equal(m.runToEnd(100).reason, "hlt");
  assert.equal(reg(m, 3), 0xffff800012345678n);
  assert.equal(reg(m, 2), 0x00007ffffffff000n);
  // Reset values: DR6 = FFFF0FF0H, DR7 = 00000400H (SDM Vol. 3 Table 10-1).
  assert.equal(reg(m, 6), 0xffff0ff0n);
  assert.equal(reg(m, 7), 0x400n);
  const r = m.regs();
  assert.deepEqual([r.dr0, r.dr3, r.dr6, r.dr7], [
    "0xffff800012345678",
    "0x7ffffffff000",
    "0xffff0ff0",
    "0x400",
  ]);
});

Deno.test("MOV to DR6/DR7 keeps the fixed bits; a 1 in bits 63:32 raises #GP(0)", NEEDS_AS, () => {
  const m = bootAsm(`
    mov eax, 0xe00f
    mov dr6, rax
    mov r8, dr6
    xor eax, eax
    mov dr6, rax
    mov r9, dr6
    xor eax, eax
    mov dr7, rax
    mov r10, dr7
    mov eax, 0x00ff00ff
    mov dr7, rax
    mov r11, dr7
    mov rax, 0x100000000
    mov dr7, rax
    hlt`);
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
  assert.equal(enter(m), 0);
  assert.equal(vector(m), 13, "#GP for bit 32 of DR7");
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_ERROR_CODE), 0);
  // DR6: B0-B3, BD, BS, BT can be set and cleared; bits 4-11 read 1, bit 12 reads 0 (SDM Figure 17-1).
  assert.equal(Number(reg(m, 8)) & 0xffff, 0xefff);
  assert.equal(Number(reg(m, 9)) & 0xffff, 0x0ff0);
  // DR7: bit 10 reads 1 (SDM Figure 17-2).
  assert.equal(reg(m, 10), 0x400n);
  assert.equal(reg(m, 11), 0x00ff04ffn);
  const d6 = bootAsm("mov rax, 0x100000000\nmov dr6, rax\nhlt");
  d6.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
  assert.equal(enter(d6), 0);
  assert.equal(vector(d6), 13, "#GP for bit 32 of DR6");
});

Deno.test("DR4/DR5 alias DR6/DR7 with CR4.DE clear and raise #UD with CR4.DE set", NEEDS_AS, () => {
  const m = bootAsm(`
    mov eax, 0x401
    mov dr5, rax
    mov rbx, dr7
    mov rcx, dr4
    mov rax, cr4
    or rax, 8            # CR4.DE
    mov cr4, rax
    mov rdx, dr4
    hlt`);
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
  assert.equal(enter(m), 0);
  assert.equal(vector(m), 6);
  assert.equal(reg(m, 3), 0x401n, "MOV DR5 wrote DR7");
  assert.equal(reg(m, 1), 0xffff0ff0n, "MOV from DR4 read DR6");
});

Deno.test("MOV DR at CPL 3 raises #GP(0)", NEEDS_AS, () => {
  const m = bootAsm(`${TO_RING3}\n    mov rax, dr7\n  spin:\n    jmp spin`);
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
  assert.equal(enter(m), 0);
  assert.equal(vector(m), 13);
  assert.equal(m.cpu.cpl, 3);
});

Deno.test(
  "DR7.GD: the next MOV DR raises #DB; delivery sets DR6.BD and clears GD, a VM exit changes neither",
  NEEDS_AS,
  () => {
    // An IDT with a #DB handler that reports DR6, DR7 and the return RIP (#DB for GD is a fault).
    const src = `
    lea rax, [rip + handler]
    lea rdi, [rip + idt]
    mov word ptr [rdi + 16], ax
    mov word ptr [rdi + 18], 0x08
    mov word ptr [rdi + 20], 0x8e00
    shr rax, 16
    mov word ptr [rdi + 22], ax
    shr rax, 16
    mov dword ptr [rdi + 24], eax
    sub rsp, 16
    mov word ptr [rsp], 0x1ff
    mov [rsp + 2], rdi
    lidt [rsp]
    mov eax, 0x2400      # GD
    mov dr7, rax
  access:
    mov rax, dr0
    hlt
  handler:
    mov r12, dr6
    mov r13, dr7
    mov r14, [rsp]
    lea r15, [rip + access]
    hlt
    .balign 16
  idt:
    .skip 512`;
    const m = bootAsm(src);
    assert.equal(m.runToEnd(1000).reason, "hlt");
    assert.equal(reg(m, 12) & 0x2000n, 0x2000n, "DR6.BD");
    assert.equal(reg(m, 13), 0x400n, "the processor cleared DR7.GD entering the handler");
    assert.equal(reg(m, 14), reg(m, 15), "a fault: RIP of the MOV DR");
    // Through the exception bitmap: exit 0, #DB, qualification BD (Table 27-1), DR6 and DR7 as they were.
    const x = bootAsm(src);
    x.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 1);
    assert.equal(enter(x), 0);
    assert.equal(vector(x), 1);
    assert.equal(q(x), 0x2000);
    assert.equal(x.cpu.dr6, 0xffff0ff0);
    assert.equal(x.cpu.dr7, 0x2400);
  },
);

Deno.test(
  "VM exit 29 (MOV DR) with MOV-DR exiting: DR number, direction, register (SDM Table 27-4)",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov rax, dr7\nmov dr3, r9\nmov rax, cr4\nor rax, 8\nmov cr4, rax\nmov dr5, rbx\nhlt");
    m.vcpu.setProcControl(PROC_MOV_DR_EXITING, true);
    m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
    // Bits 2:0 the debug register, bit 4 direction (1 = MOV from DR), bits 11:8 the GPR.
    assert.equal(enter(m), 29);
    assert.equal(q(m), 7 | 0x10);
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INSTRUCTION_LEN), 3);
    m.vcpu.skipInstruction();
    assert.equal(enter(m), 29);
    assert.equal(q(m), 3 | (9 << 8));
    m.vcpu.skipInstruction();
    // With CR4.DE set, DR5 would #UD; the exit takes priority over that #UD (SDM Vol. 3 §25.1.3).
    assert.equal(enter(m), 29);
    assert.deepEqual(decodeDrAccessQualification(q(m)), { dr: 5, fromDr: false, gpr: 3 });
    // At CPL 3 the exit also comes before the #GP for privilege.
    const u = bootAsm(`${TO_RING3}\n    mov rax, dr0\n  spin:\n    jmp spin`);
    u.vcpu.setProcControl(PROC_MOV_DR_EXITING, true);
    u.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, OBSERVE);
    assert.equal(enter(u), 29);
    assert.equal(q(u), 0x10);
  },
);

Deno.test(
  "GUEST_DR7 follows 'save debug controls' on exit and 'load debug controls' on entry",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    mov eax, 0x401
    mov dr7, rax
    cpuid
    mov rbx, dr7
    mov eax, 0x405
    mov dr7, rax
    cpuid
    mov rcx, dr7
    hlt`);
    const vmcs = m.vcpu.vmcs;
    const exitCtls = vmcs.readNumber(F.VM_EXIT_CONTROLS), entryCtls = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
    assert.notEqual(exitCtls & EXIT_SAVE_DEBUG_CONTROLS, 0, "the machine saves DR7, as KVM does");
    assert.notEqual(entryCtls & ENTRY_LOAD_DEBUG_CONTROLS, 0, "and loads it");
    assert.equal(enter(m), 10);
    assert.equal(vmcs.read(F.GUEST_DR7), 0x401n, "saved on exit");
    // The hypervisor changes the guest's DR7 in the VMCS: loaded on entry.
    vmcs.write(F.GUEST_DR7, 0x403n);
    m.vcpu.skipInstruction();
    // Without "save debug controls" the exit leaves the field alone (the guest wrote 0x405 meanwhile).
    vmcs.writeNumber(F.VM_EXIT_CONTROLS, exitCtls & ~EXIT_SAVE_DEBUG_CONTROLS);
    assert.equal(enter(m), 10);
    assert.equal(reg(m, 3), 0x403n);
    assert.equal(vmcs.read(F.GUEST_DR7), 0x403n);
    // Without "load debug controls" the guest runs with the DR7 a VM exit leaves, 400H (§27.5.1).
    m.vcpu.skipInstruction();
    vmcs.writeNumber(F.VM_EXIT_CONTROLS, exitCtls);
    vmcs.writeNumber(F.VM_ENTRY_CONTROLS, entryCtls & ~ENTRY_LOAD_DEBUG_CONTROLS);
    assert.equal(enter(m), 12);
    assert.equal(reg(m, 1), 0x400n);
  },
);

function debugRegisterMachine(): Machine {
  const m = bootAsm(`
    mov rax, 0x1122334455667788
    mov dr1, rax
    mov eax, 0x4003
    mov dr6, rax
    mov eax, 0x10401
    mov dr7, rax
    hlt`);
  assert.equal(m.runToEnd(100).reason, "hlt");
  return m;
}

Deno.test("the debug registers are machine state: saved, restored, in the digest", NEEDS_AS, () => {
  const m = debugRegisterMachine();
  const sections = m.saveState();
  const d = new Machine({ memory: m.ramBytes });
  d.restoreState(sections);
  assert.deepEqual(
    [d.cpu.getRip(), [...d.cpu.dr], d.cpu.dr6, d.cpu.dr7],
    [m.cpu.getRip(), [...m.cpu.dr], m.cpu.dr6, m.cpu.dr7],
  );
  assert.equal(d.regs().dr1, "0x1122334455667788");
  const before = m.digest();
  m.cpu.dr[2] ^= 1;
  assert.notEqual(m.digest(), before, "DR1 is covered by the digest");
  m.cpu.dr[2] ^= 1;
  m.cpu.dr6 ^= 1;
  assert.notEqual(m.digest(), before, "DR6 is covered by the digest");
});

Deno.test(
  "a version-1 CPU section (before the debug registers) still restores; a newer one is refused",
  NEEDS_AS,
  () => {
    const m = debugRegisterMachine();
    const old: StateSection[] = m.saveState().map((s) => {
      if (s.name !== "cpu") return s;
      const json = JSON.parse(new TextDecoder().decode(s.data));
      delete json.dr;
      delete json.dr6;
      return { name: "cpu", version: 1, data: new TextEncoder().encode(JSON.stringify(json)) };
    });
    const d = new Machine({ memory: m.ramBytes });
    d.restoreState(old);
    assert.deepEqual([...d.cpu.dr], [0, 0, 0, 0, 0, 0, 0, 0], "DR0-DR3 at their reset value 0");
    assert.equal(d.cpu.dr6, 0xffff0ff0, "DR6 at its reset value");
    assert.equal(d.cpu.dr7, m.cpu.dr7, "DR7 was in version 1 already");
    const future = m.saveState().map((s) => s.name === "cpu" ? { ...s, version: 4 } : s);
    assert.throws(() => new Machine({ memory: m.ramBytes }).restoreState(future), {
      message: 'state section "cpu" is version 4; this hvsim reads version 1 to 3',
    });
  },
);

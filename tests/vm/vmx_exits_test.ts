/**
 * Each VM exit produced by real guest code, with the exit reason, qualification, instruction
 * length and information checked against the SDM (Vol. 3, §24.9 and §27.2).
 */

import assert from "node:assert/strict";
import type { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";
import {
  PIN_ACTIVATE_PREEMPTION_TIMER,
  PROC_CR3_LOAD_EXITING,
  PROC_CR8_LOAD_EXITING,
  PROC_CR8_STORE_EXITING,
  PROC_INTERRUPT_WINDOW_EXITING,
  PROC_RDTSC_EXITING,
  PROC_USE_IO_BITMAPS,
} from "../../src/vmx/controls.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";
import { enter } from "./_vmx_entry.ts";

const q = (m: Machine) => Number(m.vcpu.vmcs.read(F.EXIT_QUALIFICATION));
const len = (m: Machine) => m.vcpu.vmcs.readNumber(F.VM_EXIT_INSTRUCTION_LEN);
const rip = (m: Machine) => Number(m.vcpu.vmcs.read(F.GUEST_RIP));

Deno.test(
  "VM exit 30 (I/O) reports size, direction, operand encoding and port (SDM Table 27-5)",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov dx, 0x3f8\nout dx, al\nout 0xe9, al\nin eax, dx\nin ax, 0x60\nhlt");
    const cases: [number, number, string][] = [
      [0x03f80000, 1, "out dx, al: size 1, out, DX"],
      [0x00e90040, 2, "out 0xe9, al: immediate operand"],
      [0x03f80003 | 8, 1, "in eax, dx: size 4, in"],
      [0x00600001 | 8 | 0x40, 3, "in ax, 0x60 (66 e5 60): size 2, in, immediate"],
    ];
    let at = 0x100004; // after mov dx, 0x3f8 (66 ba f8 03)
    for (const [qual, length, what] of cases) {
      assert.equal(enter(m), 30, what);
      assert.equal(q(m), qual, what);
      assert.equal(len(m), length, what);
      assert.equal(rip(m), at, `${what}: RIP stays on the instruction`);
      m.vcpu.skipInstruction();
      at += length;
      assert.equal(rip(m), at, `${what}: resumes after it`);
    }
    assert.equal(enter(m), 12);
  },
);

Deno.test("VM exits 10 (CPUID), 12 (HLT), 18 (VMCALL) carry their instruction lengths", NEEDS_AS, () => {
  const m = bootAsm("cpuid\nvmcall\nhlt");
  for (const [reason, length] of [[10, 2], [18, 3], [12, 1]]) {
    assert.equal(enter(m), reason);
    assert.equal(len(m), length);
    m.vcpu.skipInstruction();
  }
});

Deno.test(
  "VM exit 57 (RDRAND) and 61 (RDSEED) describe the destination in the instruction information",
  NEEDS_AS,
  () => {
    const m = bootAsm("rdrand r9\nrdseed ecx\nrdrand dx\nhlt");
    // Instruction information: bits 6:3 destination register, bits 12:11 operand size (SDM Table 27-15).
    for (const [reason, reg, size] of [[57, 9, 2], [61, 1, 1], [57, 2, 0]]) {
      assert.equal(enter(m), reason);
      const info = m.vcpu.vmcs.readNumber(F.VMX_INSTRUCTION_INFO);
      assert.equal((info >>> 3) & 15, reg);
      assert.equal((info >>> 11) & 3, size);
      m.vcpu.skipInstruction();
    }
  },
);

Deno.test("VM exit 0 follows the exception bitmap and reports the interruption information", NEEDS_AS, () => {
  const m = bootAsm("ud2");
  m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 6);
  assert.equal(enter(m), 0);
  // Valid (31), hardware exception (type 3), vector 6, no error code (SDM Table 24-19).
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) >>> 0, 0x80000306);
  assert.equal(rip(m), 0x100000);
});

Deno.test(
  "VM exit 0 for #PF carries the error code and the faulting address as qualification",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov rax, 0x7fff00000000\nmov qword ptr [rax], 1");
    m.vcpu.vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 14);
    assert.equal(enter(m), 0);
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) >>> 0, 0x80000b0e); // error code valid
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_ERROR_CODE), 2); // not present, write, supervisor
    assert.equal(q(m), 0x7fff00000000);
  },
);

Deno.test("VM exit 2 (triple fault) when an exception cannot be delivered", NEEDS_AS, () => {
  const m = bootAsm("ud2"); // the boot protocol leaves the IDT empty: #UD -> #GP -> #DF -> shutdown
  assert.equal(enter(m), 2);
});

Deno.test(
  "VM exit 52 (preemption timer) comes after exactly the programmed number of instructions",
  NEEDS_AS,
  () => {
    const m = bootAsm("1: inc rax\njmp 1b");
    assert.notEqual(m.vcpu.vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL) & PIN_ACTIVATE_PREEMPTION_TIMER, 0);
    assert.equal(enter(m, 7), 52);
    assert.equal(m.instructions, 7);
    assert.equal(m.cpu.getReg64(0), 4n); // inc, jmp, inc, jmp, inc, jmp, inc
    assert.equal(enter(m, 0), 52); // a zero timer exits before any instruction
    assert.equal(m.instructions, 7);
  },
);

Deno.test(
  "VM exit 7 (interrupt window) once RFLAGS.IF is set and the STI shadow has passed",
  NEEDS_AS,
  () => {
    const m = bootAsm("nop\nsti\nnop\nnop\nhlt");
    m.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
    assert.equal(enter(m), 7);
    assert.equal(m.instructions, 3); // nop, sti, and the nop in STI's shadow
    assert.equal(rip(m), 0x100003);
  },
);

Deno.test(
  "VM exit 7 (interrupt window) right after the STI shadow also when the code there is compiled",
  NEEDS_AS,
  () => {
    // The instruction in STI's shadow is a jump into compiled blocks (a loop run with interrupts
    // off). The exit must come right after that one jump, whether the blocks are compiled at once
    // (threshold 1), after warming up, or never.
    for (const threshold of [1, 2, 16, Infinity]) {
      const m = bootAsm("cli\nmov ecx, 40\n4:\njmp 5f\n5:\nsub ecx, 1\njnz 4b\nsti\njmp 4b");
      m.cpu.compileThreshold = threshold;
      m.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
      assert.equal(enter(m), 7, `threshold ${threshold}`);
      // cli, mov, 40 x (jmp, sub, jnz), sti, and the jmp in STI's shadow.
      assert.equal(m.instructions, 2 + 120 + 2, `threshold ${threshold}`);
      assert.equal(rip(m), 0x100000 + 1 + 5, `threshold ${threshold}`); // back at label 4
      // The shadow's one instruction is a jump to itself: a compiled block that loops in its function.
      const self = bootAsm("sti\n3:\njmp 3b");
      self.cpu.compileThreshold = threshold;
      self.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
      assert.equal(enter(self), 7, `threshold ${threshold}`);
      assert.equal(self.instructions, 2, `threshold ${threshold}`);
    }
  },
);

Deno.test("VM exit 28 (CR access) for MOV to CR3 with CR3-load exiting names the register", NEEDS_AS, () => {
  const m = bootAsm("mov rbx, cr3\nmov cr3, rbx\nhlt");
  m.vcpu.setProcControl(PROC_CR3_LOAD_EXITING, true);
  assert.equal(enter(m), 28);
  // Bits 3:0 CR number, 5:4 access type 0 (MOV to CR), 11:8 the GPR (RBX = 3) (SDM Table 27-3).
  assert.equal(q(m), 3 | (3 << 8));
  assert.equal(len(m), 3);
});

Deno.test(
  "VM exits 28 (CR access) follow the CR8 controls, the CR4 mask and CLTS with their qualifications",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov rbx, cr8\nmov cr8, rax\nmov rcx, cr4\nor ecx, 0x2000\nmov cr4, rcx\nclts\nhlt");
    const vmcs = m.vcpu.vmcs;
    m.vcpu.setProcControl(PROC_CR8_STORE_EXITING, true);
    m.vcpu.setProcControl(PROC_CR8_LOAD_EXITING, true);
    // CR4.VMXE (bit 13) owned by the host with shadow 0; CR0.TS (bit 3) owned with shadow 1.
    vmcs.write(F.CR4_GUEST_HOST_MASK, vmcs.read(F.CR4_GUEST_HOST_MASK) | 0x2000n);
    vmcs.write(F.CR4_READ_SHADOW, vmcs.read(F.CR4_READ_SHADOW) & ~0x2000n);
    vmcs.write(F.CR0_GUEST_HOST_MASK, vmcs.read(F.CR0_GUEST_HOST_MASK) | 8n);
    vmcs.write(F.CR0_READ_SHADOW, vmcs.read(F.CR0_READ_SHADOW) | 8n);
    // SDM Table 27-3: bits 3:0 the CR, 5:4 the access type (0 MOV to, 1 MOV from, 2 CLTS), 11:8 the GPR.
    const cases: [number, number, string][] = [
      [8 | (1 << 4) | (3 << 8), 4, "mov rbx, cr8 (44 0f 20 c3)"],
      [8, 4, "mov cr8, rax (44 0f 22 c0)"],
      [4 | (1 << 8), 3, "mov cr4, rcx setting a host-owned bit (0f 22 e1)"],
      [2 << 4, 2, "clts with TS host-owned and set in the shadow (0f 06)"],
    ];
    for (const [qual, length, what] of cases) {
      assert.equal(enter(m), 28, what);
      assert.equal(q(m), qual, what);
      assert.equal(len(m), length, what);
      m.vcpu.skipInstruction();
    }
    assert.equal(enter(m), 12);
  },
);

Deno.test("VM exits 31/32 (RDMSR/WRMSR) follow the MSR bitmaps", NEEDS_AS, () => {
  const m = bootAsm("mov ecx, 0x6e0\nrdmsr\nwrmsr\nmov ecx, 0xc0000080\nrdmsr\nhlt");
  assert.equal(enter(m), 31);
  assert.equal(len(m), 2);
  m.vcpu.skipInstruction();
  assert.equal(enter(m), 32);
  m.vcpu.skipInstruction();
  assert.equal(enter(m), 12); // EFER's bits are clear in the bitmaps: no exit
  assert.equal(m.cpu.gpr[0] & 0x500, 0x500); // LME | LMA
});

Deno.test("VM exit 48 (EPT violation) reports the exact guest-physical address", NEEDS_AS, () => {
  const m = bootAsm("mov rax, 0x7000010\nmov eax, dword ptr [rax]\nhlt");
  // 0x7000010 lies above 64 MiB of RAM; the boot map covers only RAM, so map it with a 2 MiB page.
  new DataView(m.mem.buffer).setBigUint64(0x12000 + 8 * 56, 0x7000000n | 0x83n, true);
  assert.equal(enter(m), 48);
  assert.equal(Number(m.vcpu.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)), 0x7000010);
  assert.equal(Number(m.vcpu.vmcs.read(F.GUEST_LINEAR_ADDRESS)), 0x7000010);
  assert.equal(q(m) & 7, 1); // a data read
});

Deno.test(
  "Machine advances RIP by the exit's instruction length and retires the instruction",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov al, 0x41\nout 0xe9, al\nout 0xe9, al\nmov al, 7\nout 0xf4, al");
    const exit = m.runToEnd(100);
    assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason: "debug-exit", code: 7 });
    assert.equal(m.consoleText(), "AA");
    assert.equal(m.instructions, 5);
    assert.equal(m.exitCounts.get(30), 3);
  },
);

Deno.test(
  "VM exit 1 (external interrupt) when a host interrupt arrives, acknowledged with its vector",
  NEEDS_AS,
  () => {
    const m = bootAsm("1: inc rax\njmp 1b");
    m.cpu.extIntAt = 9;
    m.cpu.extIntVector = 0xec;
    assert.equal(enter(m), 1);
    assert.equal(m.instructions, 9);
    // "Acknowledge interrupt on exit": valid, type 0 (external interrupt), the vector (SDM Table 24-19).
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_INTR_INFO) >>> 0, 0x800000ec);
    assert.equal(m.cpu.extIntAt, Infinity, "an interrupt arms one entry only");
    assert.equal(enter(m, 5), 52);
  },
);

Deno.test("VM exit 16 (RDTSC) follows RDTSC exiting", NEEDS_AS, () => {
  const m = bootAsm("rdtsc\nhlt");
  m.vcpu.setProcControl(PROC_RDTSC_EXITING, true);
  assert.equal(enter(m), 16);
  assert.equal(len(m), 2);
});

Deno.test(
  "I/O bitmaps: a port whose bit is clear runs without an exit, a set bit exits (SDM §25.1.3)",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov al, 0x41\nout 0xe9, al\nmov dx, 0x3f8\nout dx, al\nhlt");
    const vmcs = m.vcpu.vmcs;
    const a = m.hvBase + 0x5000, b = m.hvBase + 0x6000; // two free pages of the hypervisor's area
    m.mem.fill(0, a, a + 0x2000);
    m.mem[a + (0x3f8 >>> 3)] |= 1 << (0x3f8 & 7);
    vmcs.write(F.IO_BITMAP_A, BigInt(a));
    vmcs.write(F.IO_BITMAP_B, BigInt(b));
    m.vcpu.setProcControl(PROC_USE_IO_BITMAPS, true);
    assert.equal(enter(m), 30); // port 0x3f8: bit set
    assert.equal(q(m) >>> 16, 0x3f8);
    assert.equal(m.consoleText(), "A", "port 0xE9 went straight to the debug console");
  },
);

Deno.test(
  "#PF exits per the exception bitmap only when the error code matches PFEC_MASK/PFEC_MATCH",
  NEEDS_AS,
  () => {
    for (const [match, exits] of [[2, true], [0, false]] as const) {
      const m = bootAsm("mov rax, 0x7fff00000000\nmov qword ptr [rax], 1");
      const vmcs = m.vcpu.vmcs;
      vmcs.writeNumber(F.EXCEPTION_BITMAP, 1 << 14);
      vmcs.writeNumber(F.PAGE_FAULT_ERROR_CODE_MASK, 2); // the W/R bit
      vmcs.writeNumber(F.PAGE_FAULT_ERROR_CODE_MATCH, match);
      // A write fault has error code 2: it matches MATCH = 2 (exit), not MATCH = 0 (delivered: no IDT -> triple fault).
      assert.equal(enter(m), exits ? 0 : 2, `PFEC_MATCH ${match}`);
    }
  },
);

import { equal } from "node:assert/strict";
import * as C from "../../src/vmx/controls.ts";
import {
  crControlExits,
  exceptionExits,
  ioAccessExits,
  movToCr0Cr4Exits,
  movToCr3Exits,
  msrAccessExits,
  preemptionTimerTicks,
  recordVmExit,
  storeIa32eModeGuest,
} from "../../src/vmx/exits.ts";
import * as F from "../../src/vmx/fields.ts";
import { Vmcs } from "../../src/vmx/vmcs.ts";

const IO_A = 0x2000;
const IO_B = 0x3000;
const MSRS = 0x4000;

function vmcs(): Vmcs {
  return new Vmcs(new Uint8Array(0x10000), 0x1000);
}

function setBitmapBit(mem: Uint8Array, base: number, index: number): void {
  mem[base + (index >> 3)] |= 1 << (index & 7);
}

Deno.test("ioAccessExits() follows unconditional I/O exiting without bitmaps (SDM Vol. 3, §25.1.3)", () => {
  const v = vmcs();
  equal(ioAccessExits(v, v.mem, 0xe9, 1), false);
  v.writeNumber(F.CPU_BASED_VM_EXEC_CONTROL, C.PROC_UNCONDITIONAL_IO_EXITING);
  equal(ioAccessExits(v, v.mem, 0xe9, 1), true);
});

Deno.test("ioAccessExits() checks bitmap A/B for every byte and exits on wrap-around (SDM Vol. 3, §24.6.4, §25.1.3)", () => {
  const v = vmcs();
  v.writeNumber(F.CPU_BASED_VM_EXEC_CONTROL, C.PROC_USE_IO_BITMAPS | C.PROC_UNCONDITIONAL_IO_EXITING);
  v.writeNumber(F.IO_BITMAP_A, IO_A);
  v.writeNumber(F.IO_BITMAP_B, IO_B);
  setBitmapBit(v.mem, IO_A, 0x3f9);
  setBitmapBit(v.mem, IO_B, 0x8001 - 0x8000);
  const cases: [number, number, boolean][] = [
    [0x3f8, 1, false], // bitmaps override unconditional exiting
    [0x3f9, 1, true],
    [0x3f8, 2, true], // second byte hits
    [0x3f6, 2, false],
    [0x7fff, 2, false], // crosses into B, 0x8000 clear
    [0x7fff, 4, true], // reaches 0x8001 in B
    [0x8001, 1, true],
    [0xffff, 2, true], // wraps past 0xFFFF
    [0xfffe, 2, false],
  ];
  for (const [port, size, exits] of cases) {
    equal(ioAccessExits(v, v.mem, port, size), exits, `${port}/${size}`);
  }
});

Deno.test("msrAccessExits() uses the four 1 KiB bitmaps and exits outside their ranges", () => {
  const v = vmcs();
  equal(msrAccessExits(v, v.mem, 0x10, false), true, "no MSR bitmaps: every access exits");
  v.writeNumber(F.CPU_BASED_VM_EXEC_CONTROL, C.PROC_USE_MSR_BITMAPS);
  v.writeNumber(F.MSR_BITMAP, MSRS);
  setBitmapBit(v.mem, MSRS, 0x10); // read TSC
  setBitmapBit(v.mem, MSRS + 1024, 0x80); // read 0xC0000080 (EFER)
  setBitmapBit(v.mem, MSRS + 2048, 0x1b); // write APIC base
  setBitmapBit(v.mem, MSRS + 3072, 0x100); // write FS base 0xC0000100
  const cases: [number, boolean, boolean][] = [
    [0x10, false, true],
    [0x10, true, false],
    [0x1b, true, true],
    [0x1b, false, false],
    [0xc0000080, false, true],
    [0xc0000080, true, false],
    [0xc0000100, true, true],
    [0x2000, false, true], // outside both ranges
    [0xc0002000, true, true],
    [0x40000000, false, true],
  ];
  for (const [msr, write, exits] of cases) {
    equal(msrAccessExits(v, v.mem, msr, write), exits, `${msr.toString(16)} ${write}`);
  }
});

Deno.test("exceptionExits() uses the exception bitmap and the #PF mask/match rule (SDM Vol. 3, §24.6.3, §25.2)", () => {
  const v = vmcs();
  v.writeNumber(F.EXCEPTION_BITMAP, (1 << 6) | (1 << 14));
  equal(exceptionExits(v, 6), true);
  equal(exceptionExits(v, 13, 0), false);
  // bit 14 = 1: exits iff (ec & mask) == match; mask 0x1 match 0x1: only protection violations
  v.writeNumber(F.PAGE_FAULT_ERROR_CODE_MASK, 1);
  v.writeNumber(F.PAGE_FAULT_ERROR_CODE_MATCH, 1);
  equal(exceptionExits(v, 14, 0x3), true);
  equal(exceptionExits(v, 14, 0x2), false);
  // bit 14 = 0: exits iff no match
  v.writeNumber(F.EXCEPTION_BITMAP, 0);
  equal(exceptionExits(v, 14, 0x3), false);
  equal(exceptionExits(v, 14, 0x2), true);
  // mask 0, match 0: every #PF matches, so bit 14 alone decides
  v.writeNumber(F.PAGE_FAULT_ERROR_CODE_MASK, 0);
  v.writeNumber(F.PAGE_FAULT_ERROR_CODE_MATCH, 0);
  equal(exceptionExits(v, 14, 0x7), false);
});

Deno.test("movToCr0Cr4Exits(), movToCr3Exits() and crControlExits() follow the CR-exiting controls", () => {
  const v = vmcs();
  v.write(F.CR4_GUEST_HOST_MASK, 0x2000n);
  v.write(F.CR4_READ_SHADOW, 0x20n);
  equal(movToCr0Cr4Exits(v, 4, 0x6a0n), false, "VMXE stays 0 as in the shadow");
  equal(movToCr0Cr4Exits(v, 4, 0x2020n), true, "guest sets host-owned VMXE");
  v.write(F.CR0_GUEST_HOST_MASK, 0x80000001n);
  v.write(F.CR0_READ_SHADOW, 0x80000011n);
  equal(movToCr0Cr4Exits(v, 0, 0x80000033n), false);
  equal(movToCr0Cr4Exits(v, 0, 0x00000011n), true, "clearing PG");
  equal(movToCr3Exits(v, 0x1000n), false);
  v.writeNumber(F.CPU_BASED_VM_EXEC_CONTROL, C.PROC_CR3_LOAD_EXITING | C.PROC_CR8_STORE_EXITING);
  equal(movToCr3Exits(v, 0x1000n), true);
  v.write(F.CR3_TARGET_VALUE1, 0x1000n);
  v.writeNumber(F.CR3_TARGET_COUNT, 1);
  equal(movToCr3Exits(v, 0x1000n), true, "target 1 is beyond the count");
  v.writeNumber(F.CR3_TARGET_COUNT, 2);
  equal(movToCr3Exits(v, 0x1000n), false);
  equal(crControlExits(v, "store-cr3"), false);
  equal(crControlExits(v, "load-cr8"), false);
  equal(crControlExits(v, "store-cr8"), true);
});

Deno.test("recordVmExit() writes the exit-information fields and clears the entry injection", () => {
  const v = vmcs();
  v.writeNumber(F.VM_ENTRY_INTR_INFO_FIELD, 0x80000b0e);
  v.writeNumber(F.IDT_VECTORING_INFO_FIELD, 0x80000020);
  recordVmExit(v, {
    reason: 48,
    qualification: 0x181,
    guestPhysicalAddress: 0x12345000n,
    guestLinearAddress: 0xffff800000001000n,
  });
  equal(v.readNumber(F.VM_EXIT_REASON), 48);
  equal(v.read(F.EXIT_QUALIFICATION), 0x181n);
  equal(v.read(F.GUEST_PHYSICAL_ADDRESS), 0x12345000n);
  equal(v.read(F.GUEST_LINEAR_ADDRESS), 0xffff800000001000n);
  equal(v.readNumber(F.VM_ENTRY_INTR_INFO_FIELD), 0xb0e);
  equal(v.readNumber(F.IDT_VECTORING_INFO_FIELD), 0, "not valid unless given");
  recordVmExit(v, { reason: 30, qualification: 0xe90000, instructionLength: 1, interruption: { info: 0 } });
  equal(v.readNumber(F.VM_EXIT_INSTRUCTION_LEN), 1);
  equal(v.read(F.EXIT_QUALIFICATION), 0xe90000n);
  recordVmExit(v, { reason: 0, interruption: { info: 0x80000b0d, errorCode: 0x18 } });
  equal(v.readNumber(F.VM_EXIT_INTR_INFO), 0x80000b0d);
  equal(v.readNumber(F.VM_EXIT_INTR_ERROR_CODE), 0x18);
  equal(v.read(F.EXIT_QUALIFICATION), 0n);
});

Deno.test("storeIa32eModeGuest() copies EFER.LMA into entry control bit 9", () => {
  const v = vmcs();
  v.writeNumber(F.VM_ENTRY_CONTROLS, 0x11fb);
  storeIa32eModeGuest(v, 0x500n);
  equal(v.readNumber(F.VM_ENTRY_CONTROLS), 0x13fb);
  storeIa32eModeGuest(v, 0x100n);
  equal(v.readNumber(F.VM_ENTRY_CONTROLS), 0x11fb);
});

Deno.test("preemptionTimerTicks() counts changes of TSC bit X", () => {
  equal(preemptionTimerTicks(0, 100, 0), 100);
  equal(preemptionTimerTicks(0, 100, 5), 3);
  equal(preemptionTimerTicks(31, 32, 5), 1);
  equal(preemptionTimerTicks(32, 63, 5), 0);
});

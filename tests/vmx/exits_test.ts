import { equal } from "node:assert/strict";
import * as C from "../../src/vmx/controls.ts";
import {
  exceptionExits,
  ioAccessExits,
  msrAccessExits,
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
  const bitmap = (1 << 6) | (1 << 14);
  equal(exceptionExits(bitmap, 0, 0, 6), true);
  equal(exceptionExits(bitmap, 0, 0, 13, 0), false);
  equal(exceptionExits(0xffffffff, 0, 0, 32), false, "only vectors 0-31 have a bit");
  // bit 14 = 1: exits iff (ec & mask) == match; mask 0x1 match 0x1: only protection violations
  equal(exceptionExits(bitmap, 1, 1, 14, 0x3), true);
  equal(exceptionExits(bitmap, 1, 1, 14, 0x2), false);
  // bit 14 = 0: exits iff no match
  equal(exceptionExits(0, 1, 1, 14, 0x3), false);
  equal(exceptionExits(0, 1, 1, 14, 0x2), true);
  // mask 0, match 0: every #PF matches, so bit 14 alone decides
  equal(exceptionExits(0, 0, 0, 14, 0x7), false);
  // bit 31 of the mask and match (the SGX bit of the error code) compares unsigned
  equal(exceptionExits(bitmap, 0x80000000, 0x80000000, 14, 0x80000001), true);
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

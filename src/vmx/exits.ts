/**
 * VM-exit rules the simulator runs: whether an access or exception exits (I/O bitmaps, MSR bitmaps,
 * the exception bitmap with the #PF error-code filter), and recording a VM exit's information
 * fields and the "IA-32e mode guest" control on exit.
 *
 * @module
 */

import * as C from "./controls.ts";
import * as F from "./fields.ts";
import { INTR_INFO_VALID } from "./qualifications.ts";
import type { VmcsAccess } from "./guest_state.ts";

/** What a VM exit records in the VM-exit information fields (SDM Vol. 3, §27.2). */
export interface VmExitInfo {
  /** Exit reason (basic reason in bits 15:0). */
  reason: number;
  /** Exit qualification (0 if the exit has none). */
  qualification?: number | bigint;
  /** Guest-linear address, for exits that report one (INS/OUTS, EPT violations with bit 7). */
  guestLinearAddress?: bigint;
  /** Guest-physical address, for EPT violations and misconfigurations. */
  guestPhysicalAddress?: bigint;
  /** Length of the exiting instruction, for instruction exits. */
  instructionLength?: number;
  /** VM-exit instruction information, where defined. */
  instructionInfo?: number;
  /** VM-exit interruption information and error code (exceptions, NMIs, acknowledged interrupts). */
  interruption?: { info: number; errorCode?: number };
  /** IDT-vectoring information and error code, if the exit happened during event delivery. */
  idtVectoring?: { info: number; errorCode?: number };
}

/**
 * Records a VM exit: exit reason, qualification, guest-linear and guest-physical address,
 * instruction length and information, interruption and IDT-vectoring information (the valid bit
 * clear unless given), and clears the valid bit of the VM-entry interruption-information field,
 * as every VM exit does (SDM Vol. 3, §27.2). Fields not given are left as they were, except the two
 * information fields whose valid bit says whether they hold anything.
 */
export function recordVmExit(vmcs: VmcsAccess, e: VmExitInfo): void {
  vmcs.write(F.VM_EXIT_REASON, e.reason >>> 0);
  vmcs.write(
    F.EXIT_QUALIFICATION,
    typeof e.qualification === "bigint" ? e.qualification : (e.qualification ?? 0),
  );
  if (e.guestLinearAddress !== undefined) vmcs.write(F.GUEST_LINEAR_ADDRESS, e.guestLinearAddress);
  if (e.guestPhysicalAddress !== undefined) vmcs.write(F.GUEST_PHYSICAL_ADDRESS, e.guestPhysicalAddress);
  if (e.instructionLength !== undefined) vmcs.write(F.VM_EXIT_INSTRUCTION_LEN, e.instructionLength);
  if (e.instructionInfo !== undefined) vmcs.write(F.VMX_INSTRUCTION_INFO, e.instructionInfo);
  vmcs.write(F.VM_EXIT_INTR_INFO, e.interruption?.info ?? 0);
  if (e.interruption?.errorCode !== undefined) {
    vmcs.write(F.VM_EXIT_INTR_ERROR_CODE, e.interruption.errorCode);
  }
  vmcs.write(F.IDT_VECTORING_INFO_FIELD, e.idtVectoring?.info ?? 0);
  if (e.idtVectoring?.errorCode !== undefined) {
    vmcs.write(F.IDT_VECTORING_ERROR_CODE, e.idtVectoring.errorCode);
  }
  const entry = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((entry & INTR_INFO_VALID) !== 0) {
    vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (entry & ~INTR_INFO_VALID) >>> 0);
  }
}

/**
 * Stores EFER.LMA into the "IA-32e mode guest" entry control, as a VM exit does when
 * IA32_VMX_MISC[5] = 1 (SDM Vol. 3, App. A.6).
 */
export function storeIa32eModeGuest(vmcs: VmcsAccess, efer: bigint): void {
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  const lma = (efer & 0x400n) !== 0n;
  vmcs.write(F.VM_ENTRY_CONTROLS, lma ? entry | C.ENTRY_IA32E_MODE_GUEST : entry & ~C.ENTRY_IA32E_MODE_GUEST);
}

function bit(mem: Uint8Array, base: number, index: number): boolean {
  return (mem[base + (index >>> 3)] & (1 << (index & 7))) !== 0;
}

/**
 * Whether an I/O access of `size` bytes at `port` exits (SDM Vol. 3, §25.1.3, §24.6.4): with
 * "use I/O bitmaps", if the bitmap bit of any byte accessed is 1 (bitmap A for 0x0000-0x7FFF, B for
 * 0x8000-0xFFFF) or the access wraps past 0xFFFF; otherwise iff "unconditional I/O exiting".
 * `mem` is host-physical memory holding the bitmaps.
 */
export function ioAccessExits(vmcs: VmcsAccess, mem: Uint8Array, port: number, size: number): boolean {
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  if ((proc & C.PROC_USE_IO_BITMAPS) === 0) return (proc & C.PROC_UNCONDITIONAL_IO_EXITING) !== 0;
  if (port + size - 1 > 0xffff) return true;
  const a = vmcs.readNumber(F.IO_BITMAP_A);
  const b = vmcs.readNumber(F.IO_BITMAP_B);
  for (let p = port; p < port + size; p++) {
    if (p < 0x8000 ? bit(mem, a, p) : bit(mem, b, p - 0x8000)) return true;
  }
  return false;
}

/**
 * Whether RDMSR (`write` false) or WRMSR (`write` true) of `msr` exits. Without "use MSR bitmaps"
 * every access exits (SDM Vol. 3, §25.1.3; exit reasons 31/32, App. C). With them, MSRs outside 0-0x1FFF and
 * 0xC0000000-0xC0001FFF always exit, and the others exit iff their bit is set in the 4 KiB bitmap:
 * read-low at byte 0, read-high at 1024, write-low at 2048, write-high at 3072 (SDM Vol. 3, §24.6.9).
 */
export function msrAccessExits(vmcs: VmcsAccess, mem: Uint8Array, msr: number, write: boolean): boolean {
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  if ((proc & C.PROC_USE_MSR_BITMAPS) === 0) return true;
  const base = vmcs.readNumber(F.MSR_BITMAP) + (write ? 2048 : 0);
  const m = msr >>> 0;
  if (m <= 0x1fff) return bit(mem, base, m);
  if (m >= 0xc0000000 && m <= 0xc0001fff) return bit(mem, base + 1024, m - 0xc0000000);
  return true;
}

/**
 * Whether an exception of `vector` exits (reason 0) under the exception bitmap: its bit, except #PF
 * (14), which exits iff (bit 14 = 1) equals (errorCode & PFEC_MASK == PFEC_MATCH) (SDM Vol. 3,
 * §24.6.3, §25.2). The CPU decides with this from the values it loaded at VM entry.
 */
export function exceptionExits(
  bitmap: number,
  pfecMask: number,
  pfecMatch: number,
  vector: number,
  errorCode = 0,
): boolean {
  const set = vector < 32 && ((bitmap >>> vector) & 1) === 1;
  if (vector !== 14) return set;
  return set === (((errorCode & pfecMask) >>> 0) === pfecMatch >>> 0);
}

/**
 * VMX as the SDM defines it: the VMCS (field encodings, widths, a 4 KiB region with KVM's vmcs12
 * layout), VMX instructions (VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, VMLAUNCH, VMRESUME) with the
 * VM-entry checks, execution controls and capabilities, exit reasons and the formats of exit
 * information, EPT translation with accessed/dirty flags and PML, and VMCS dumps. The simulator's
 * vCPU and CPU run these; a user reads a VM exit with them.
 *
 * @example Read a VM exit's reason and qualification
 * ```ts
 * import { equal } from "node:assert/strict";
 * import {
 *   decodeIoQualification,
 *   encodeIoQualification,
 *   EXIT_QUALIFICATION,
 *   EXIT_REASON_IO_INSTRUCTION,
 *   exitReasonName,
 *   VM_EXIT_REASON,
 *   Vmcs,
 * } from "./mod.ts";
 *
 * const vmcs = new Vmcs(new Uint8Array(0x2000), 0x1000); // a VMCS region at 0x1000 in host memory
 * // OUT 0xE9, AL: size 1, out, immediate port (SDM Vol. 3, Table 27-5).
 * const q = encodeIoQualification({ size: 1, in: false, string: false, rep: false, immediate: true, port: 0xe9 });
 * equal(q, 0xe90040);
 * vmcs.writeNumber(VM_EXIT_REASON, EXIT_REASON_IO_INSTRUCTION);
 * vmcs.write(EXIT_QUALIFICATION, BigInt(q));
 * equal(exitReasonName(vmcs.readNumber(VM_EXIT_REASON)), "IO_INSTRUCTION");
 * equal(decodeIoQualification(Number(vmcs.read(EXIT_QUALIFICATION))).port, 0xe9);
 * ```
 *
 * @module
 */
export * from "./fields.ts";
export * from "./vmcs.ts";
export * from "./controls.ts";
export * from "./capabilities.ts";
export * from "./access_rights.ts";
export * from "./exit_reasons.ts";
export * from "./qualifications.ts";
export * from "./guest_state.ts";
export * from "./setup.ts";
export * from "./entry_checks.ts";
export * from "./errors.ts";
export * from "./instructions.ts";
export * from "./vmcs_dump.ts";
export * from "./ept.ts";
export * from "./exits.ts";

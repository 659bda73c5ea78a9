/**
 * The VMCS field table as data: 194 encodings (those of Linux `enum vmcs_field`, cross-checked
 * against Bochs), grouped as the SDM groups them (Vol. 3, App. B), each with its name,
 * width, type and the byte offset of its data inside hvsim's 4 KiB VMCS region.
 *
 * Layout of the region (hvsim's VMCS revision, see `HVSIM_VMCS_REVISION` in capabilities.ts):
 * - 0..3: revision identifier (bits 30:0) and shadow-VMCS indicator (bit 31) (SDM Table 24-1);
 * - 4..7: VMX-abort indicator (SDM Table 24-1);
 * - 8..11: launch state, u32, 0 = clear, 1 = launched (KVM `vmcs12.launch_state`, Bochs 0x0008);
 * - 40..997: every field that KVM's `struct vmcs12` has, at its vmcs12 offset (Linux
 *   arch/x86/kvm/vmx/vmcs12.h);
 * - 0x400..0x44f: hvsim's own area for the fields vmcs12 lacks (CR3-target values, PLE gap/window,
 *   notify window, tertiary controls, #VE information address, PID-pointer table and index,
 *   guest IA32_RTIT_CTL);
 * - everything else is unused and reads as whatever was written there (hvsim never touches it).
 *
 * All multi-byte values are little-endian. A 64-bit field's "high" alias (encoding + 1) is the upper
 * four bytes of the same slot (KVM `FIELD64`). Natural-width fields are stored as 64 bits.
 *
 * @module
 */

/** Width of a field as data/vmcs_fields.tsv spells it; "64-high" is the high alias of a 64-bit field. */
export type FieldWidth = "16" | "32" | "64" | "64-high" | "natural";

/** Type of a field as data/vmcs_fields.tsv spells it ("exit-info" = VM-exit information, read-only). */
export type FieldType = "control" | "exit-info" | "guest" | "host";

/** One SDM group of fields: a width, a type, and rows of [encoding, name, data offset]. */
export interface FieldGroup {
  /** Width of every field in the group. */
  readonly width: "16" | "32" | "64" | "natural";
  /** Type of every field in the group. */
  readonly type: FieldType;
  /** Full-access encodings of the group, in SDM order: [encoding, name, offset in the region]. */
  readonly fields: readonly (readonly [number, string, number])[];
}

/** One VMCS component as VMREAD/VMWRITE see it (a 64-bit field and its high alias are two of these). */
export interface VmcsField {
  /** The 32-bit field encoding (SDM Vol. 3, §24.11.2). */
  readonly encoding: number;
  /** Linux `enum vmcs_field` name. */
  readonly name: string;
  /** Width, as in data/vmcs_fields.tsv. */
  readonly width: FieldWidth;
  /** Type, as in data/vmcs_fields.tsv. */
  readonly type: FieldType;
  /** Byte offset of the accessed bytes inside the 4 KiB region (for a high alias: the upper half). */
  readonly offset: number;
  /** Number of bytes VMREAD/VMWRITE move for this encoding: 2, 4 or 8. */
  readonly size: 2 | 4 | 8;
  /** True for VM-exit information fields (type 1), which VMWRITE rejects with error 13. */
  readonly readOnly: boolean;
  /** Where the offset comes from: KVM's vmcs12 layout or hvsim's own area. */
  readonly origin: "vmcs12" | "hvsim";
}

/** Size of a VMCS region and of the VMXON region in bytes (IA32_VMX_BASIC[44:32]; KVM VMCS12_SIZE). */
export const VMCS_REGION_SIZE = 4096;

/** Byte offset of the revision identifier and shadow-VMCS indicator (SDM Vol. 3, Table 24-1). */
export const VMCS_REVISION_OFFSET = 0;

/** Byte offset of the VMX-abort indicator (SDM Vol. 3, Table 24-1). */
export const VMCS_ABORT_OFFSET = 4;

/** Byte offset of hvsim's launch state, u32 0 = clear / 1 = launched (as KVM vmcs12 and Bochs). */
export const VMCS_LAUNCH_STATE_OFFSET = 8;

/** First byte of hvsim's own field area, after the end of KVM's `struct vmcs12` (998 bytes). */
export const HVSIM_FIELD_AREA_OFFSET = 0x400;

/** Bit 0 of an encoding: access type, 1 = "high" half of a 64-bit field (SDM Vol. 3, §24.11.2). */
export const ENCODING_ACCESS_HIGH = 0x1;

/** Encoding bits that must be 0: bit 12 and bits 31:15 (SDM Vol. 3, §24.11.2; Bochs 0xffff9000). */
export const ENCODING_RESERVED_MASK = 0xffff9000;

/** Width code 0 in encoding bits 14:13: 16-bit (SDM Vol. 3, §24.11.2). */
export const WIDTH_16 = 0;
/** Width code 1 in encoding bits 14:13: 64-bit (SDM Vol. 3, §24.11.2). */
export const WIDTH_64 = 1;
/** Width code 2 in encoding bits 14:13: 32-bit (SDM Vol. 3, §24.11.2). */
export const WIDTH_32 = 2;
/** Width code 3 in encoding bits 14:13: natural width (SDM Vol. 3, §24.11.2). */
export const WIDTH_NATURAL = 3;

/** Type code 0 in encoding bits 11:10: control (SDM Vol. 3, §24.11.2). */
export const TYPE_CONTROL = 0;
/** Type code 1 in encoding bits 11:10: VM-exit information, read-only (SDM Vol. 3, §24.11.2). */
export const TYPE_READ_ONLY = 1;
/** Type code 2 in encoding bits 11:10: guest state (SDM Vol. 3, §24.11.2). */
export const TYPE_GUEST = 2;
/** Type code 3 in encoding bits 11:10: host state (SDM Vol. 3, §24.11.2). */
export const TYPE_HOST = 3;

/** Access type of an encoding (bit 0): 1 = high. */
export function encodingAccessType(encoding: number): number {
  return encoding & 1;
}

/** Index of an encoding (bits 9:1). */
export function encodingIndex(encoding: number): number {
  return (encoding >>> 1) & 0x1ff;
}

/** Type code of an encoding (bits 11:10): TYPE_CONTROL, TYPE_READ_ONLY, TYPE_GUEST or TYPE_HOST. */
export function encodingType(encoding: number): number {
  return (encoding >>> 10) & 3;
}

/** Width code of an encoding (bits 14:13): WIDTH_16, WIDTH_64, WIDTH_32 or WIDTH_NATURAL. */
export function encodingWidth(encoding: number): number {
  return (encoding >>> 13) & 3;
}

/**
 * Builds an encoding from its parts (SDM Vol. 3, §24.11.2).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { GUEST_RIP, makeEncoding, TYPE_GUEST, WIDTH_NATURAL } from "./fields.ts";
 * equal(makeEncoding(WIDTH_NATURAL, TYPE_GUEST, 0x0f), GUEST_RIP);
 * ```
 */
export function makeEncoding(width: number, type: number, index: number, high = 0): number {
  return ((width & 3) << 13) | ((type & 3) << 10) | ((index & 0x1ff) << 1) | (high & 1);
}

// 16-bit control fields (SDM Vol. 3, App. B.1.1).

/** Virtual-processor identifier (VPID) (SDM Vol. 3, App. B.1.1). */
export const VIRTUAL_PROCESSOR_ID = 0x0000;
/** Posted-interrupt notification vector (SDM Vol. 3, App. B.1.1). */
export const POSTED_INTR_NV = 0x0002;
/** Last PID-pointer index (SDM Vol. 3, App. B.1.1). */
export const LAST_PID_POINTER_INDEX = 0x0008;

// 16-bit guest-state fields (SDM Vol. 3, App. B.1.2).

/** Guest ES selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_ES_SELECTOR = 0x0800;
/** Guest CS selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_CS_SELECTOR = 0x0802;
/** Guest SS selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_SS_SELECTOR = 0x0804;
/** Guest DS selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_DS_SELECTOR = 0x0806;
/** Guest FS selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_FS_SELECTOR = 0x0808;
/** Guest GS selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_GS_SELECTOR = 0x080a;
/** Guest LDTR selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_LDTR_SELECTOR = 0x080c;
/** Guest TR selector (SDM Vol. 3, App. B.1.2). */
export const GUEST_TR_SELECTOR = 0x080e;
/** Guest interrupt status (SDM Vol. 3, App. B.1.2). */
export const GUEST_INTR_STATUS = 0x0810;
/** PML index (SDM Vol. 3, App. B.1.2). */
export const GUEST_PML_INDEX = 0x0812;

// 16-bit host-state fields (SDM Vol. 3, App. B.1.3).

/** Host ES selector (SDM Vol. 3, App. B.1.3). */
export const HOST_ES_SELECTOR = 0x0c00;
/** Host CS selector (SDM Vol. 3, App. B.1.3). */
export const HOST_CS_SELECTOR = 0x0c02;
/** Host SS selector (SDM Vol. 3, App. B.1.3). */
export const HOST_SS_SELECTOR = 0x0c04;
/** Host DS selector (SDM Vol. 3, App. B.1.3). */
export const HOST_DS_SELECTOR = 0x0c06;
/** Host FS selector (SDM Vol. 3, App. B.1.3). */
export const HOST_FS_SELECTOR = 0x0c08;
/** Host GS selector (SDM Vol. 3, App. B.1.3). */
export const HOST_GS_SELECTOR = 0x0c0a;
/** Host TR selector (SDM Vol. 3, App. B.1.3). */
export const HOST_TR_SELECTOR = 0x0c0c;

// 64-bit control fields (SDM Vol. 3, App. B.2.1).

/** Address of I/O bitmap A (SDM Vol. 3, App. B.2.1). */
export const IO_BITMAP_A = 0x2000;
/** Address of I/O bitmap A, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const IO_BITMAP_A_HIGH = 0x2001;
/** Address of I/O bitmap B (SDM Vol. 3, App. B.2.1). */
export const IO_BITMAP_B = 0x2002;
/** Address of I/O bitmap B, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const IO_BITMAP_B_HIGH = 0x2003;
/** Address of MSR bitmaps (SDM Vol. 3, App. B.2.1). */
export const MSR_BITMAP = 0x2004;
/** Address of MSR bitmaps, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const MSR_BITMAP_HIGH = 0x2005;
/** VM-exit MSR-store address (SDM Vol. 3, App. B.2.1). */
export const VM_EXIT_MSR_STORE_ADDR = 0x2006;
/** VM-exit MSR-store address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VM_EXIT_MSR_STORE_ADDR_HIGH = 0x2007;
/** VM-exit MSR-load address (SDM Vol. 3, App. B.2.1). */
export const VM_EXIT_MSR_LOAD_ADDR = 0x2008;
/** VM-exit MSR-load address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VM_EXIT_MSR_LOAD_ADDR_HIGH = 0x2009;
/** VM-entry MSR-load address (SDM Vol. 3, App. B.2.1). */
export const VM_ENTRY_MSR_LOAD_ADDR = 0x200a;
/** VM-entry MSR-load address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VM_ENTRY_MSR_LOAD_ADDR_HIGH = 0x200b;
/** PML address (SDM Vol. 3, App. B.2.1). */
export const PML_ADDRESS = 0x200e;
/** PML address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const PML_ADDRESS_HIGH = 0x200f;
/** TSC offset (SDM Vol. 3, App. B.2.1). */
export const TSC_OFFSET = 0x2010;
/** TSC offset, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const TSC_OFFSET_HIGH = 0x2011;
/** Virtual-APIC address (SDM Vol. 3, App. B.2.1). */
export const VIRTUAL_APIC_PAGE_ADDR = 0x2012;
/** Virtual-APIC address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VIRTUAL_APIC_PAGE_ADDR_HIGH = 0x2013;
/** APIC-access address (SDM Vol. 3, App. B.2.1). */
export const APIC_ACCESS_ADDR = 0x2014;
/** APIC-access address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const APIC_ACCESS_ADDR_HIGH = 0x2015;
/** Posted-interrupt descriptor address (SDM Vol. 3, App. B.2.1). */
export const POSTED_INTR_DESC_ADDR = 0x2016;
/** Posted-interrupt descriptor address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const POSTED_INTR_DESC_ADDR_HIGH = 0x2017;
/** VM-function controls (SDM Vol. 3, App. B.2.1). */
export const VM_FUNCTION_CONTROL = 0x2018;
/** VM-function controls, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VM_FUNCTION_CONTROL_HIGH = 0x2019;
/** EPT pointer (EPTP) (SDM Vol. 3, App. B.2.1). */
export const EPT_POINTER = 0x201a;
/** EPT pointer (EPTP), bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EPT_POINTER_HIGH = 0x201b;
/** EOI-exit bitmap 0 (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP0 = 0x201c;
/** EOI-exit bitmap 0, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP0_HIGH = 0x201d;
/** EOI-exit bitmap 1 (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP1 = 0x201e;
/** EOI-exit bitmap 1, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP1_HIGH = 0x201f;
/** EOI-exit bitmap 2 (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP2 = 0x2020;
/** EOI-exit bitmap 2, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP2_HIGH = 0x2021;
/** EOI-exit bitmap 3 (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP3 = 0x2022;
/** EOI-exit bitmap 3, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EOI_EXIT_BITMAP3_HIGH = 0x2023;
/** EPTP-list address (SDM Vol. 3, App. B.2.1). */
export const EPTP_LIST_ADDRESS = 0x2024;
/** EPTP-list address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const EPTP_LIST_ADDRESS_HIGH = 0x2025;
/** VMREAD-bitmap address (SDM Vol. 3, App. B.2.1). */
export const VMREAD_BITMAP = 0x2026;
/** VMREAD-bitmap address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VMREAD_BITMAP_HIGH = 0x2027;
/** VMWRITE-bitmap address (SDM Vol. 3, App. B.2.1). */
export const VMWRITE_BITMAP = 0x2028;
/** VMWRITE-bitmap address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VMWRITE_BITMAP_HIGH = 0x2029;
/** Virtualization-exception information address (SDM Vol. 3, App. B.2.1). */
export const VE_INFORMATION_ADDRESS = 0x202a;
/** Virtualization-exception information address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const VE_INFORMATION_ADDRESS_HIGH = 0x202b;
/** XSS-exiting bitmap (SDM Vol. 3, App. B.2.1). */
export const XSS_EXIT_BITMAP = 0x202c;
/** XSS-exiting bitmap, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const XSS_EXIT_BITMAP_HIGH = 0x202d;
/** ENCLS-exiting bitmap (SDM Vol. 3, App. B.2.1). */
export const ENCLS_EXITING_BITMAP = 0x202e;
/** ENCLS-exiting bitmap, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const ENCLS_EXITING_BITMAP_HIGH = 0x202f;
/** TSC multiplier (SDM Vol. 3, App. B.2.1). */
export const TSC_MULTIPLIER = 0x2032;
/** TSC multiplier, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const TSC_MULTIPLIER_HIGH = 0x2033;
/** Tertiary processor-based VM-execution controls (SDM Vol. 3, App. B.2.1). */
export const TERTIARY_VM_EXEC_CONTROL = 0x2034;
/** Tertiary processor-based VM-execution controls, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const TERTIARY_VM_EXEC_CONTROL_HIGH = 0x2035;
/** PID-pointer table address (SDM Vol. 3, App. B.2.1). */
export const PID_POINTER_TABLE = 0x2042;
/** PID-pointer table address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.1). */
export const PID_POINTER_TABLE_HIGH = 0x2043;

// 64-bit read-only data fields (SDM Vol. 3, App. B.2.2).

/** Guest-physical address (SDM Vol. 3, App. B.2.2). */
export const GUEST_PHYSICAL_ADDRESS = 0x2400;
/** Guest-physical address, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.2). */
export const GUEST_PHYSICAL_ADDRESS_HIGH = 0x2401;

// 64-bit guest-state fields (SDM Vol. 3, App. B.2.3).

/** VMCS link pointer (SDM Vol. 3, App. B.2.3). */
export const VMCS_LINK_POINTER = 0x2800;
/** VMCS link pointer, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const VMCS_LINK_POINTER_HIGH = 0x2801;
/** Guest IA32_DEBUGCTL (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_DEBUGCTL = 0x2802;
/** Guest IA32_DEBUGCTL, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_DEBUGCTL_HIGH = 0x2803;
/** Guest IA32_PAT (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_PAT = 0x2804;
/** Guest IA32_PAT, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_PAT_HIGH = 0x2805;
/** Guest IA32_EFER (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_EFER = 0x2806;
/** Guest IA32_EFER, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_EFER_HIGH = 0x2807;
/** Guest IA32_PERF_GLOBAL_CTRL (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_PERF_GLOBAL_CTRL = 0x2808;
/** Guest IA32_PERF_GLOBAL_CTRL, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_PERF_GLOBAL_CTRL_HIGH = 0x2809;
/** Guest PDPTE0 (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR0 = 0x280a;
/** Guest PDPTE0, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR0_HIGH = 0x280b;
/** Guest PDPTE1 (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR1 = 0x280c;
/** Guest PDPTE1, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR1_HIGH = 0x280d;
/** Guest PDPTE2 (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR2 = 0x280e;
/** Guest PDPTE2, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR2_HIGH = 0x280f;
/** Guest PDPTE3 (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR3 = 0x2810;
/** Guest PDPTE3, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_PDPTR3_HIGH = 0x2811;
/** Guest IA32_BNDCFGS (SDM Vol. 3, App. B.2.3). */
export const GUEST_BNDCFGS = 0x2812;
/** Guest IA32_BNDCFGS, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_BNDCFGS_HIGH = 0x2813;
/** Guest IA32_RTIT_CTL (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_RTIT_CTL = 0x2814;
/** Guest IA32_RTIT_CTL, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.3). */
export const GUEST_IA32_RTIT_CTL_HIGH = 0x2815;

// 64-bit host-state fields (SDM Vol. 3, App. B.2.4).

/** Host IA32_PAT (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_PAT = 0x2c00;
/** Host IA32_PAT, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_PAT_HIGH = 0x2c01;
/** Host IA32_EFER (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_EFER = 0x2c02;
/** Host IA32_EFER, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_EFER_HIGH = 0x2c03;
/** Host IA32_PERF_GLOBAL_CTRL (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_PERF_GLOBAL_CTRL = 0x2c04;
/** Host IA32_PERF_GLOBAL_CTRL, bits 63:32 ("high" access) (SDM Vol. 3, App. B.2.4). */
export const HOST_IA32_PERF_GLOBAL_CTRL_HIGH = 0x2c05;

// 32-bit control fields (SDM Vol. 3, App. B.3.1).

/** Pin-based VM-execution controls (SDM Vol. 3, App. B.3.1). */
export const PIN_BASED_VM_EXEC_CONTROL = 0x4000;
/** Primary processor-based VM-execution controls (SDM Vol. 3, App. B.3.1). */
export const CPU_BASED_VM_EXEC_CONTROL = 0x4002;
/** Exception bitmap (SDM Vol. 3, App. B.3.1). */
export const EXCEPTION_BITMAP = 0x4004;
/** Page-fault error-code mask (SDM Vol. 3, App. B.3.1). */
export const PAGE_FAULT_ERROR_CODE_MASK = 0x4006;
/** Page-fault error-code match (SDM Vol. 3, App. B.3.1). */
export const PAGE_FAULT_ERROR_CODE_MATCH = 0x4008;
/** CR3-target count (SDM Vol. 3, App. B.3.1). */
export const CR3_TARGET_COUNT = 0x400a;
/** Primary VM-exit controls (SDM Vol. 3, App. B.3.1). */
export const VM_EXIT_CONTROLS = 0x400c;
/** VM-exit MSR-store count (SDM Vol. 3, App. B.3.1). */
export const VM_EXIT_MSR_STORE_COUNT = 0x400e;
/** VM-exit MSR-load count (SDM Vol. 3, App. B.3.1). */
export const VM_EXIT_MSR_LOAD_COUNT = 0x4010;
/** VM-entry controls (SDM Vol. 3, App. B.3.1). */
export const VM_ENTRY_CONTROLS = 0x4012;
/** VM-entry MSR-load count (SDM Vol. 3, App. B.3.1). */
export const VM_ENTRY_MSR_LOAD_COUNT = 0x4014;
/** VM-entry interruption-information field (SDM Vol. 3, App. B.3.1). */
export const VM_ENTRY_INTR_INFO_FIELD = 0x4016;
/** VM-entry exception error code (SDM Vol. 3, App. B.3.1). */
export const VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018;
/** VM-entry instruction length (SDM Vol. 3, App. B.3.1). */
export const VM_ENTRY_INSTRUCTION_LEN = 0x401a;
/** TPR threshold (SDM Vol. 3, App. B.3.1). */
export const TPR_THRESHOLD = 0x401c;
/** Secondary processor-based VM-execution controls (SDM Vol. 3, App. B.3.1). */
export const SECONDARY_VM_EXEC_CONTROL = 0x401e;
/** PLE_Gap (SDM Vol. 3, App. B.3.1). */
export const PLE_GAP = 0x4020;
/** PLE_Window (SDM Vol. 3, App. B.3.1). */
export const PLE_WINDOW = 0x4022;
/** Instruction-timeout control (notify window) (SDM Vol. 3, App. B.3.1). */
export const NOTIFY_WINDOW = 0x4024;

// 32-bit read-only data fields (SDM Vol. 3, App. B.3.2).

/** VM-instruction error (SDM Vol. 3, App. B.3.2). */
export const VM_INSTRUCTION_ERROR = 0x4400;
/** Exit reason (SDM Vol. 3, App. B.3.2). */
export const VM_EXIT_REASON = 0x4402;
/** VM-exit interruption information (SDM Vol. 3, App. B.3.2). */
export const VM_EXIT_INTR_INFO = 0x4404;
/** VM-exit interruption error code (SDM Vol. 3, App. B.3.2). */
export const VM_EXIT_INTR_ERROR_CODE = 0x4406;
/** IDT-vectoring information field (SDM Vol. 3, App. B.3.2). */
export const IDT_VECTORING_INFO_FIELD = 0x4408;
/** IDT-vectoring error code (SDM Vol. 3, App. B.3.2). */
export const IDT_VECTORING_ERROR_CODE = 0x440a;
/** VM-exit instruction length (SDM Vol. 3, App. B.3.2). */
export const VM_EXIT_INSTRUCTION_LEN = 0x440c;
/** VM-exit instruction information (SDM Vol. 3, App. B.3.2). */
export const VMX_INSTRUCTION_INFO = 0x440e;

// 32-bit guest-state fields (SDM Vol. 3, App. B.3.3).

/** Guest ES limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_ES_LIMIT = 0x4800;
/** Guest CS limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_CS_LIMIT = 0x4802;
/** Guest SS limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_SS_LIMIT = 0x4804;
/** Guest DS limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_DS_LIMIT = 0x4806;
/** Guest FS limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_FS_LIMIT = 0x4808;
/** Guest GS limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_GS_LIMIT = 0x480a;
/** Guest LDTR limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_LDTR_LIMIT = 0x480c;
/** Guest TR limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_TR_LIMIT = 0x480e;
/** Guest GDTR limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_GDTR_LIMIT = 0x4810;
/** Guest IDTR limit (SDM Vol. 3, App. B.3.3). */
export const GUEST_IDTR_LIMIT = 0x4812;
/** Guest ES access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_ES_AR_BYTES = 0x4814;
/** Guest CS access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_CS_AR_BYTES = 0x4816;
/** Guest SS access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_SS_AR_BYTES = 0x4818;
/** Guest DS access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_DS_AR_BYTES = 0x481a;
/** Guest FS access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_FS_AR_BYTES = 0x481c;
/** Guest GS access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_GS_AR_BYTES = 0x481e;
/** Guest LDTR access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_LDTR_AR_BYTES = 0x4820;
/** Guest TR access rights (SDM Vol. 3, App. B.3.3). */
export const GUEST_TR_AR_BYTES = 0x4822;
/** Guest interruptibility state (SDM Vol. 3, App. B.3.3). */
export const GUEST_INTERRUPTIBILITY_INFO = 0x4824;
/** Guest activity state (SDM Vol. 3, App. B.3.3). */
export const GUEST_ACTIVITY_STATE = 0x4826;
/** Guest IA32_SYSENTER_CS (SDM Vol. 3, App. B.3.3). */
export const GUEST_SYSENTER_CS = 0x482a;
/** VMX-preemption timer value (SDM Vol. 3, App. B.3.3). */
export const VMX_PREEMPTION_TIMER_VALUE = 0x482e;

// 32-bit host-state fields (SDM Vol. 3, App. B.3.4).

/** Host IA32_SYSENTER_CS (SDM Vol. 3, App. B.3.4). */
export const HOST_IA32_SYSENTER_CS = 0x4c00;

// Natural-width control fields (SDM Vol. 3, App. B.4.1).

/** CR0 guest/host mask (SDM Vol. 3, App. B.4.1). */
export const CR0_GUEST_HOST_MASK = 0x6000;
/** CR4 guest/host mask (SDM Vol. 3, App. B.4.1). */
export const CR4_GUEST_HOST_MASK = 0x6002;
/** CR0 read shadow (SDM Vol. 3, App. B.4.1). */
export const CR0_READ_SHADOW = 0x6004;
/** CR4 read shadow (SDM Vol. 3, App. B.4.1). */
export const CR4_READ_SHADOW = 0x6006;
/** CR3-target value 0 (SDM Vol. 3, App. B.4.1). */
export const CR3_TARGET_VALUE0 = 0x6008;
/** CR3-target value 1 (SDM Vol. 3, App. B.4.1). */
export const CR3_TARGET_VALUE1 = 0x600a;
/** CR3-target value 2 (SDM Vol. 3, App. B.4.1). */
export const CR3_TARGET_VALUE2 = 0x600c;
/** CR3-target value 3 (SDM Vol. 3, App. B.4.1). */
export const CR3_TARGET_VALUE3 = 0x600e;

// Natural-width read-only data fields (SDM Vol. 3, App. B.4.2).

/** Exit qualification (SDM Vol. 3, App. B.4.2). */
export const EXIT_QUALIFICATION = 0x6400;
/** Guest-linear address (SDM Vol. 3, App. B.4.2). */
export const GUEST_LINEAR_ADDRESS = 0x640a;

// Natural-width guest-state fields (SDM Vol. 3, App. B.4.3).

/** Guest CR0 (SDM Vol. 3, App. B.4.3). */
export const GUEST_CR0 = 0x6800;
/** Guest CR3 (SDM Vol. 3, App. B.4.3). */
export const GUEST_CR3 = 0x6802;
/** Guest CR4 (SDM Vol. 3, App. B.4.3). */
export const GUEST_CR4 = 0x6804;
/** Guest ES base (SDM Vol. 3, App. B.4.3). */
export const GUEST_ES_BASE = 0x6806;
/** Guest CS base (SDM Vol. 3, App. B.4.3). */
export const GUEST_CS_BASE = 0x6808;
/** Guest SS base (SDM Vol. 3, App. B.4.3). */
export const GUEST_SS_BASE = 0x680a;
/** Guest DS base (SDM Vol. 3, App. B.4.3). */
export const GUEST_DS_BASE = 0x680c;
/** Guest FS base (SDM Vol. 3, App. B.4.3). */
export const GUEST_FS_BASE = 0x680e;
/** Guest GS base (SDM Vol. 3, App. B.4.3). */
export const GUEST_GS_BASE = 0x6810;
/** Guest LDTR base (SDM Vol. 3, App. B.4.3). */
export const GUEST_LDTR_BASE = 0x6812;
/** Guest TR base (SDM Vol. 3, App. B.4.3). */
export const GUEST_TR_BASE = 0x6814;
/** Guest GDTR base (SDM Vol. 3, App. B.4.3). */
export const GUEST_GDTR_BASE = 0x6816;
/** Guest IDTR base (SDM Vol. 3, App. B.4.3). */
export const GUEST_IDTR_BASE = 0x6818;
/** Guest DR7 (SDM Vol. 3, App. B.4.3). */
export const GUEST_DR7 = 0x681a;
/** Guest RSP (SDM Vol. 3, App. B.4.3). */
export const GUEST_RSP = 0x681c;
/** Guest RIP (SDM Vol. 3, App. B.4.3). */
export const GUEST_RIP = 0x681e;
/** Guest RFLAGS (SDM Vol. 3, App. B.4.3). */
export const GUEST_RFLAGS = 0x6820;
/** Guest pending debug exceptions (SDM Vol. 3, App. B.4.3). */
export const GUEST_PENDING_DBG_EXCEPTIONS = 0x6822;
/** Guest IA32_SYSENTER_ESP (SDM Vol. 3, App. B.4.3). */
export const GUEST_SYSENTER_ESP = 0x6824;
/** Guest IA32_SYSENTER_EIP (SDM Vol. 3, App. B.4.3). */
export const GUEST_SYSENTER_EIP = 0x6826;

// Natural-width host-state fields (SDM Vol. 3, App. B.4.4).

/** Host CR0 (SDM Vol. 3, App. B.4.4). */
export const HOST_CR0 = 0x6c00;
/** Host CR3 (SDM Vol. 3, App. B.4.4). */
export const HOST_CR3 = 0x6c02;
/** Host CR4 (SDM Vol. 3, App. B.4.4). */
export const HOST_CR4 = 0x6c04;
/** Host FS base (SDM Vol. 3, App. B.4.4). */
export const HOST_FS_BASE = 0x6c06;
/** Host GS base (SDM Vol. 3, App. B.4.4). */
export const HOST_GS_BASE = 0x6c08;
/** Host TR base (SDM Vol. 3, App. B.4.4). */
export const HOST_TR_BASE = 0x6c0a;
/** Host GDTR base (SDM Vol. 3, App. B.4.4). */
export const HOST_GDTR_BASE = 0x6c0c;
/** Host IDTR base (SDM Vol. 3, App. B.4.4). */
export const HOST_IDTR_BASE = 0x6c0e;
/** Host IA32_SYSENTER_ESP (SDM Vol. 3, App. B.4.4). */
export const HOST_IA32_SYSENTER_ESP = 0x6c10;
/** Host IA32_SYSENTER_EIP (SDM Vol. 3, App. B.4.4). */
export const HOST_IA32_SYSENTER_EIP = 0x6c12;
/** Host RSP (SDM Vol. 3, App. B.4.4). */
export const HOST_RSP = 0x6c14;
/** Host RIP (SDM Vol. 3, App. B.4.4). */
export const HOST_RIP = 0x6c16;

/** 16-bit control fields (SDM Vol. 3, App. B.1.1). */
export const GROUP_16BIT_CONTROL: FieldGroup = {
  width: "16",
  type: "control",
  fields: [
    [VIRTUAL_PROCESSOR_ID, "VIRTUAL_PROCESSOR_ID", 960],
    [POSTED_INTR_NV, "POSTED_INTR_NV", 962],
    [LAST_PID_POINTER_INDEX, "LAST_PID_POINTER_INDEX", 1100], // hvsim
  ],
};

/** 16-bit guest-state fields (SDM Vol. 3, App. B.1.2). */
export const GROUP_16BIT_GUEST: FieldGroup = {
  width: "16",
  type: "guest",
  fields: [
    [GUEST_ES_SELECTOR, "GUEST_ES_SELECTOR", 964],
    [GUEST_CS_SELECTOR, "GUEST_CS_SELECTOR", 966],
    [GUEST_SS_SELECTOR, "GUEST_SS_SELECTOR", 968],
    [GUEST_DS_SELECTOR, "GUEST_DS_SELECTOR", 970],
    [GUEST_FS_SELECTOR, "GUEST_FS_SELECTOR", 972],
    [GUEST_GS_SELECTOR, "GUEST_GS_SELECTOR", 974],
    [GUEST_LDTR_SELECTOR, "GUEST_LDTR_SELECTOR", 976],
    [GUEST_TR_SELECTOR, "GUEST_TR_SELECTOR", 978],
    [GUEST_INTR_STATUS, "GUEST_INTR_STATUS", 980],
    [GUEST_PML_INDEX, "GUEST_PML_INDEX", 996],
  ],
};

/** 16-bit host-state fields (SDM Vol. 3, App. B.1.3). */
export const GROUP_16BIT_HOST: FieldGroup = {
  width: "16",
  type: "host",
  fields: [
    [HOST_ES_SELECTOR, "HOST_ES_SELECTOR", 982],
    [HOST_CS_SELECTOR, "HOST_CS_SELECTOR", 984],
    [HOST_SS_SELECTOR, "HOST_SS_SELECTOR", 986],
    [HOST_DS_SELECTOR, "HOST_DS_SELECTOR", 988],
    [HOST_FS_SELECTOR, "HOST_FS_SELECTOR", 990],
    [HOST_GS_SELECTOR, "HOST_GS_SELECTOR", 992],
    [HOST_TR_SELECTOR, "HOST_TR_SELECTOR", 994],
  ],
};

/** 64-bit control fields (SDM Vol. 3, App. B.2.1). */
export const GROUP_64BIT_CONTROL: FieldGroup = {
  width: "64",
  type: "control",
  fields: [
    [IO_BITMAP_A, "IO_BITMAP_A", 40],
    [IO_BITMAP_B, "IO_BITMAP_B", 48],
    [MSR_BITMAP, "MSR_BITMAP", 56],
    [VM_EXIT_MSR_STORE_ADDR, "VM_EXIT_MSR_STORE_ADDR", 64],
    [VM_EXIT_MSR_LOAD_ADDR, "VM_EXIT_MSR_LOAD_ADDR", 72],
    [VM_ENTRY_MSR_LOAD_ADDR, "VM_ENTRY_MSR_LOAD_ADDR", 80],
    [PML_ADDRESS, "PML_ADDRESS", 312],
    [TSC_OFFSET, "TSC_OFFSET", 88],
    [VIRTUAL_APIC_PAGE_ADDR, "VIRTUAL_APIC_PAGE_ADDR", 96],
    [APIC_ACCESS_ADDR, "APIC_ACCESS_ADDR", 104],
    [POSTED_INTR_DESC_ADDR, "POSTED_INTR_DESC_ADDR", 112],
    [VM_FUNCTION_CONTROL, "VM_FUNCTION_CONTROL", 296],
    [EPT_POINTER, "EPT_POINTER", 120],
    [EOI_EXIT_BITMAP0, "EOI_EXIT_BITMAP0", 128],
    [EOI_EXIT_BITMAP1, "EOI_EXIT_BITMAP1", 136],
    [EOI_EXIT_BITMAP2, "EOI_EXIT_BITMAP2", 144],
    [EOI_EXIT_BITMAP3, "EOI_EXIT_BITMAP3", 152],
    [EPTP_LIST_ADDRESS, "EPTP_LIST_ADDRESS", 304],
    [VMREAD_BITMAP, "VMREAD_BITMAP", 280],
    [VMWRITE_BITMAP, "VMWRITE_BITMAP", 288],
    [VE_INFORMATION_ADDRESS, "VE_INFORMATION_ADDRESS", 1024], // hvsim
    [XSS_EXIT_BITMAP, "XSS_EXIT_BITMAP", 160],
    [ENCLS_EXITING_BITMAP, "ENCLS_EXITING_BITMAP", 320],
    [TSC_MULTIPLIER, "TSC_MULTIPLIER", 328],
    [TERTIARY_VM_EXEC_CONTROL, "TERTIARY_VM_EXEC_CONTROL", 1032], // hvsim
    [PID_POINTER_TABLE, "PID_POINTER_TABLE", 1040], // hvsim
  ],
};

/** 64-bit read-only data fields (SDM Vol. 3, App. B.2.2). */
export const GROUP_64BIT_READ_ONLY: FieldGroup = {
  width: "64",
  type: "exit-info",
  fields: [
    [GUEST_PHYSICAL_ADDRESS, "GUEST_PHYSICAL_ADDRESS", 168],
  ],
};

/** 64-bit guest-state fields (SDM Vol. 3, App. B.2.3). */
export const GROUP_64BIT_GUEST: FieldGroup = {
  width: "64",
  type: "guest",
  fields: [
    [VMCS_LINK_POINTER, "VMCS_LINK_POINTER", 176],
    [GUEST_IA32_DEBUGCTL, "GUEST_IA32_DEBUGCTL", 184],
    [GUEST_IA32_PAT, "GUEST_IA32_PAT", 192],
    [GUEST_IA32_EFER, "GUEST_IA32_EFER", 200],
    [GUEST_IA32_PERF_GLOBAL_CTRL, "GUEST_IA32_PERF_GLOBAL_CTRL", 208],
    [GUEST_PDPTR0, "GUEST_PDPTR0", 216],
    [GUEST_PDPTR1, "GUEST_PDPTR1", 224],
    [GUEST_PDPTR2, "GUEST_PDPTR2", 232],
    [GUEST_PDPTR3, "GUEST_PDPTR3", 240],
    [GUEST_BNDCFGS, "GUEST_BNDCFGS", 248],
    [GUEST_IA32_RTIT_CTL, "GUEST_IA32_RTIT_CTL", 1048], // hvsim
  ],
};

/** 64-bit host-state fields (SDM Vol. 3, App. B.2.4). */
export const GROUP_64BIT_HOST: FieldGroup = {
  width: "64",
  type: "host",
  fields: [
    [HOST_IA32_PAT, "HOST_IA32_PAT", 256],
    [HOST_IA32_EFER, "HOST_IA32_EFER", 264],
    [HOST_IA32_PERF_GLOBAL_CTRL, "HOST_IA32_PERF_GLOBAL_CTRL", 272],
  ],
};

/** 32-bit control fields (SDM Vol. 3, App. B.3.1). */
export const GROUP_32BIT_CONTROL: FieldGroup = {
  width: "32",
  type: "control",
  fields: [
    [PIN_BASED_VM_EXEC_CONTROL, "PIN_BASED_VM_EXEC_CONTROL", 744],
    [CPU_BASED_VM_EXEC_CONTROL, "CPU_BASED_VM_EXEC_CONTROL", 748],
    [EXCEPTION_BITMAP, "EXCEPTION_BITMAP", 752],
    [PAGE_FAULT_ERROR_CODE_MASK, "PAGE_FAULT_ERROR_CODE_MASK", 756],
    [PAGE_FAULT_ERROR_CODE_MATCH, "PAGE_FAULT_ERROR_CODE_MATCH", 760],
    [CR3_TARGET_COUNT, "CR3_TARGET_COUNT", 764],
    [VM_EXIT_CONTROLS, "VM_EXIT_CONTROLS", 768],
    [VM_EXIT_MSR_STORE_COUNT, "VM_EXIT_MSR_STORE_COUNT", 772],
    [VM_EXIT_MSR_LOAD_COUNT, "VM_EXIT_MSR_LOAD_COUNT", 776],
    [VM_ENTRY_CONTROLS, "VM_ENTRY_CONTROLS", 780],
    [VM_ENTRY_MSR_LOAD_COUNT, "VM_ENTRY_MSR_LOAD_COUNT", 784],
    [VM_ENTRY_INTR_INFO_FIELD, "VM_ENTRY_INTR_INFO_FIELD", 788],
    [VM_ENTRY_EXCEPTION_ERROR_CODE, "VM_ENTRY_EXCEPTION_ERROR_CODE", 792],
    [VM_ENTRY_INSTRUCTION_LEN, "VM_ENTRY_INSTRUCTION_LEN", 796],
    [TPR_THRESHOLD, "TPR_THRESHOLD", 800],
    [SECONDARY_VM_EXEC_CONTROL, "SECONDARY_VM_EXEC_CONTROL", 804],
    [PLE_GAP, "PLE_GAP", 1088], // hvsim
    [PLE_WINDOW, "PLE_WINDOW", 1092], // hvsim
    [NOTIFY_WINDOW, "NOTIFY_WINDOW", 1096], // hvsim
  ],
};

/** 32-bit read-only data fields (SDM Vol. 3, App. B.3.2). */
export const GROUP_32BIT_READ_ONLY: FieldGroup = {
  width: "32",
  type: "exit-info",
  fields: [
    [VM_INSTRUCTION_ERROR, "VM_INSTRUCTION_ERROR", 808],
    [VM_EXIT_REASON, "VM_EXIT_REASON", 812],
    [VM_EXIT_INTR_INFO, "VM_EXIT_INTR_INFO", 816],
    [VM_EXIT_INTR_ERROR_CODE, "VM_EXIT_INTR_ERROR_CODE", 820],
    [IDT_VECTORING_INFO_FIELD, "IDT_VECTORING_INFO_FIELD", 824],
    [IDT_VECTORING_ERROR_CODE, "IDT_VECTORING_ERROR_CODE", 828],
    [VM_EXIT_INSTRUCTION_LEN, "VM_EXIT_INSTRUCTION_LEN", 832],
    [VMX_INSTRUCTION_INFO, "VMX_INSTRUCTION_INFO", 836],
  ],
};

/** 32-bit guest-state fields (SDM Vol. 3, App. B.3.3). */
export const GROUP_32BIT_GUEST: FieldGroup = {
  width: "32",
  type: "guest",
  fields: [
    [GUEST_ES_LIMIT, "GUEST_ES_LIMIT", 840],
    [GUEST_CS_LIMIT, "GUEST_CS_LIMIT", 844],
    [GUEST_SS_LIMIT, "GUEST_SS_LIMIT", 848],
    [GUEST_DS_LIMIT, "GUEST_DS_LIMIT", 852],
    [GUEST_FS_LIMIT, "GUEST_FS_LIMIT", 856],
    [GUEST_GS_LIMIT, "GUEST_GS_LIMIT", 860],
    [GUEST_LDTR_LIMIT, "GUEST_LDTR_LIMIT", 864],
    [GUEST_TR_LIMIT, "GUEST_TR_LIMIT", 868],
    [GUEST_GDTR_LIMIT, "GUEST_GDTR_LIMIT", 872],
    [GUEST_IDTR_LIMIT, "GUEST_IDTR_LIMIT", 876],
    [GUEST_ES_AR_BYTES, "GUEST_ES_AR_BYTES", 880],
    [GUEST_CS_AR_BYTES, "GUEST_CS_AR_BYTES", 884],
    [GUEST_SS_AR_BYTES, "GUEST_SS_AR_BYTES", 888],
    [GUEST_DS_AR_BYTES, "GUEST_DS_AR_BYTES", 892],
    [GUEST_FS_AR_BYTES, "GUEST_FS_AR_BYTES", 896],
    [GUEST_GS_AR_BYTES, "GUEST_GS_AR_BYTES", 900],
    [GUEST_LDTR_AR_BYTES, "GUEST_LDTR_AR_BYTES", 904],
    [GUEST_TR_AR_BYTES, "GUEST_TR_AR_BYTES", 908],
    [GUEST_INTERRUPTIBILITY_INFO, "GUEST_INTERRUPTIBILITY_INFO", 912],
    [GUEST_ACTIVITY_STATE, "GUEST_ACTIVITY_STATE", 916],
    [GUEST_SYSENTER_CS, "GUEST_SYSENTER_CS", 920],
    [VMX_PREEMPTION_TIMER_VALUE, "VMX_PREEMPTION_TIMER_VALUE", 928],
  ],
};

/** 32-bit host-state fields (SDM Vol. 3, App. B.3.4). */
export const GROUP_32BIT_HOST: FieldGroup = {
  width: "32",
  type: "host",
  fields: [
    [HOST_IA32_SYSENTER_CS, "HOST_IA32_SYSENTER_CS", 924],
  ],
};

/** Natural-width control fields (SDM Vol. 3, App. B.4.1). */
export const GROUP_NATURAL_CONTROL: FieldGroup = {
  width: "natural",
  type: "control",
  fields: [
    [CR0_GUEST_HOST_MASK, "CR0_GUEST_HOST_MASK", 344],
    [CR4_GUEST_HOST_MASK, "CR4_GUEST_HOST_MASK", 352],
    [CR0_READ_SHADOW, "CR0_READ_SHADOW", 360],
    [CR4_READ_SHADOW, "CR4_READ_SHADOW", 368],
    [CR3_TARGET_VALUE0, "CR3_TARGET_VALUE0", 1056], // hvsim
    [CR3_TARGET_VALUE1, "CR3_TARGET_VALUE1", 1064], // hvsim
    [CR3_TARGET_VALUE2, "CR3_TARGET_VALUE2", 1072], // hvsim
    [CR3_TARGET_VALUE3, "CR3_TARGET_VALUE3", 1080], // hvsim
  ],
};

/** Natural-width read-only data fields (SDM Vol. 3, App. B.4.2). */
export const GROUP_NATURAL_READ_ONLY: FieldGroup = {
  width: "natural",
  type: "exit-info",
  fields: [
    [EXIT_QUALIFICATION, "EXIT_QUALIFICATION", 408],
    [GUEST_LINEAR_ADDRESS, "GUEST_LINEAR_ADDRESS", 416],
  ],
};

/** Natural-width guest-state fields (SDM Vol. 3, App. B.4.3). */
export const GROUP_NATURAL_GUEST: FieldGroup = {
  width: "natural",
  type: "guest",
  fields: [
    [GUEST_CR0, "GUEST_CR0", 424],
    [GUEST_CR3, "GUEST_CR3", 432],
    [GUEST_CR4, "GUEST_CR4", 440],
    [GUEST_ES_BASE, "GUEST_ES_BASE", 448],
    [GUEST_CS_BASE, "GUEST_CS_BASE", 456],
    [GUEST_SS_BASE, "GUEST_SS_BASE", 464],
    [GUEST_DS_BASE, "GUEST_DS_BASE", 472],
    [GUEST_FS_BASE, "GUEST_FS_BASE", 480],
    [GUEST_GS_BASE, "GUEST_GS_BASE", 488],
    [GUEST_LDTR_BASE, "GUEST_LDTR_BASE", 496],
    [GUEST_TR_BASE, "GUEST_TR_BASE", 504],
    [GUEST_GDTR_BASE, "GUEST_GDTR_BASE", 512],
    [GUEST_IDTR_BASE, "GUEST_IDTR_BASE", 520],
    [GUEST_DR7, "GUEST_DR7", 528],
    [GUEST_RSP, "GUEST_RSP", 536],
    [GUEST_RIP, "GUEST_RIP", 544],
    [GUEST_RFLAGS, "GUEST_RFLAGS", 552],
    [GUEST_PENDING_DBG_EXCEPTIONS, "GUEST_PENDING_DBG_EXCEPTIONS", 560],
    [GUEST_SYSENTER_ESP, "GUEST_SYSENTER_ESP", 568],
    [GUEST_SYSENTER_EIP, "GUEST_SYSENTER_EIP", 576],
  ],
};

/** Natural-width host-state fields (SDM Vol. 3, App. B.4.4). */
export const GROUP_NATURAL_HOST: FieldGroup = {
  width: "natural",
  type: "host",
  fields: [
    [HOST_CR0, "HOST_CR0", 584],
    [HOST_CR3, "HOST_CR3", 592],
    [HOST_CR4, "HOST_CR4", 600],
    [HOST_FS_BASE, "HOST_FS_BASE", 608],
    [HOST_GS_BASE, "HOST_GS_BASE", 616],
    [HOST_TR_BASE, "HOST_TR_BASE", 624],
    [HOST_GDTR_BASE, "HOST_GDTR_BASE", 632],
    [HOST_IDTR_BASE, "HOST_IDTR_BASE", 640],
    [HOST_IA32_SYSENTER_ESP, "HOST_IA32_SYSENTER_ESP", 648],
    [HOST_IA32_SYSENTER_EIP, "HOST_IA32_SYSENTER_EIP", 656],
    [HOST_RSP, "HOST_RSP", 664],
    [HOST_RIP, "HOST_RIP", 672],
  ],
};

/** All field groups in SDM order (App. B.1-B.4): 16-bit, 64-bit, 32-bit, natural width. */
export const FIELD_GROUPS: readonly FieldGroup[] = [
  GROUP_16BIT_CONTROL,
  GROUP_16BIT_GUEST,
  GROUP_16BIT_HOST,
  GROUP_64BIT_CONTROL,
  GROUP_64BIT_READ_ONLY,
  GROUP_64BIT_GUEST,
  GROUP_64BIT_HOST,
  GROUP_32BIT_CONTROL,
  GROUP_32BIT_READ_ONLY,
  GROUP_32BIT_GUEST,
  GROUP_32BIT_HOST,
  GROUP_NATURAL_CONTROL,
  GROUP_NATURAL_READ_ONLY,
  GROUP_NATURAL_GUEST,
  GROUP_NATURAL_HOST,
];

function buildFieldTable(groups: readonly FieldGroup[]): readonly VmcsField[] {
  const out: VmcsField[] = [];
  for (const group of groups) {
    for (const [encoding, name, offset] of group.fields) {
      const readOnly = group.type === "exit-info";
      const origin = offset >= HVSIM_FIELD_AREA_OFFSET ? "hvsim" : "vmcs12";
      const size = group.width === "16" ? 2 : group.width === "32" ? 4 : 8;
      out.push(
        Object.freeze({
          encoding,
          name,
          width: group.width,
          type: group.type,
          offset,
          size,
          readOnly,
          origin,
        }),
      );
      if (group.width === "64") {
        out.push(Object.freeze({
          encoding: encoding | ENCODING_ACCESS_HIGH,
          name: `${name}_HIGH`,
          width: "64-high",
          type: group.type,
          offset: offset + 4,
          size: 4,
          readOnly,
          origin,
        }));
      }
    }
  }
  return Object.freeze(out);
}

/** Every supported encoding (194), in the SDM's order (App. B.1-B.4); high aliases follow their field. */
export const VMCS_FIELDS: readonly VmcsField[] = buildFieldTable(FIELD_GROUPS);

/** Number of encoding slots in the dense lookup (encodings with bit 15 or above set are never valid). */
const ENCODING_SLOTS = 0x8000;

/**
 * Builds the dense encoding -> table-index lookup (-1 = unsupported) used by `findField`.
 * Throws a RangeError on a duplicate encoding or an encoding with reserved bits set.
 */
export function buildFieldLookup(fields: readonly VmcsField[]): Int16Array {
  const slots = new Int16Array(ENCODING_SLOTS).fill(-1);
  fields.forEach((f, i) => {
    if (f.encoding < 0 || f.encoding >= ENCODING_SLOTS || (f.encoding & ENCODING_RESERVED_MASK) !== 0) {
      throw new RangeError(
        `VMCS field ${f.name}: encoding 0x${f.encoding.toString(16)} has reserved bits set`,
      );
    }
    if (slots[f.encoding] !== -1) {
      const other = fields[slots[f.encoding]].name;
      throw new RangeError(
        `VMCS field table: encoding 0x${f.encoding.toString(16)} is both ${other} and ${f.name}`,
      );
    }
    slots[f.encoding] = i;
  });
  return slots;
}

// Built once at load and never written afterwards: immutable lookup data, not state.
const FIELD_SLOT: Int16Array = buildFieldLookup(VMCS_FIELDS);
const FIELD_OFFSET: Int16Array = (() => {
  const a = new Int16Array(ENCODING_SLOTS).fill(-1);
  for (const f of VMCS_FIELDS) a[f.encoding] = f.offset;
  return a;
})();
const FIELD_SIZE: Uint8Array = (() => {
  const a = new Uint8Array(ENCODING_SLOTS);
  for (const f of VMCS_FIELDS) a[f.encoding] = f.size;
  return a;
})();
const FIELDS_BY_NAME: ReadonlyMap<string, VmcsField> = new Map(VMCS_FIELDS.map((f) => [f.name, f]));

/**
 * Looks up a field by encoding; undefined for an unsupported encoding (VMREAD/VMWRITE error 12).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { findField, GUEST_RIP } from "./fields.ts";
 * equal(findField(GUEST_RIP)?.offset, 544);
 * equal(findField(0x6c18), undefined);
 * ```
 */
export function findField(encoding: number): VmcsField | undefined {
  if (encoding !== (encoding & (ENCODING_SLOTS - 1))) return undefined;
  const slot = FIELD_SLOT[encoding];
  return slot < 0 ? undefined : VMCS_FIELDS[slot];
}

/** Looks up a field by its Linux name (e.g. "GUEST_RIP"); undefined if there is none. */
export function findFieldByName(name: string): VmcsField | undefined {
  return FIELDS_BY_NAME.get(name);
}

/** Byte offset of an encoding's data in the region, or -1 if unsupported. Allocation-free fast path. */
export function fieldOffset(encoding: number): number {
  return encoding === (encoding & (ENCODING_SLOTS - 1)) ? FIELD_OFFSET[encoding] : -1;
}

/** Bytes moved by VMREAD/VMWRITE of an encoding (2, 4 or 8), or 0 if unsupported. Allocation-free. */
export function fieldSize(encoding: number): number {
  return encoding === (encoding & (ENCODING_SLOTS - 1)) ? FIELD_SIZE[encoding] : 0;
}

/**
 * VM-entry checks (reference §9.2-9.3; SDM Vol. 3, §26.2-26.3) as a pure function over the VMCS
 * contents and the capability MSRs. Control-field failures are VMfailValid(7), host-state failures
 * VMfailValid(8), guest-state failures a VM exit with reason 33 | 0x80000000 and the SDM's exit
 * qualification. Checks run in the order controls, host state, guest state; the first failure wins
 * (the SDM allows any order, reference §4 footnote).
 *
 * @module
 */

import {
  allowed1,
  controlsAllowed,
  effectiveControlMsrs,
  EPT_CAP_AD_FLAGS,
  EPT_CAP_MEMTYPE_UC,
  EPT_CAP_MEMTYPE_WB,
  EPT_CAP_WALK_4,
  EPT_CAP_WALK_5,
  vmcsRevision,
  VMX_BASIC_NO_HW_ERRCODE_CHECK,
  VMX_MISC_ZERO_LENGTH_INJECTION,
  type VmxCapabilities,
} from "./capabilities.ts";
import * as C from "./controls.ts";
import * as F from "./fields.ts";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_G,
  AR_L,
  AR_P,
  AR_RESERVED_MASK,
  AR_S,
  AR_UNUSABLE,
} from "./access_rights.ts";
import {
  ACTIVITY_HLT,
  ACTIVITY_SHUTDOWN,
  ACTIVITY_WAIT_FOR_SIPI,
  guestSegmentFields,
  INTERRUPTIBILITY_MOV_SS,
  INTERRUPTIBILITY_NMI,
  INTERRUPTIBILITY_SMI,
  INTERRUPTIBILITY_STI,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_TR,
  SEGMENT_NAMES,
} from "./guest_state.ts";
import {
  ENTRY_FAILURE_DEFAULT,
  ENTRY_FAILURE_NMI_INJECTION,
  ENTRY_FAILURE_PDPTE,
  ENTRY_FAILURE_VMCS_LINK_POINTER,
  INTR_INFO_ENTRY_RESERVED_MASK,
  INTR_INFO_ERROR_CODE,
  INTR_INFO_VALID,
  INTR_TYPE_EXTERNAL_INTERRUPT,
  INTR_TYPE_HARDWARE_EXCEPTION,
  INTR_TYPE_NMI,
  INTR_TYPE_OTHER_EVENT,
  INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION,
  INTR_TYPE_RESERVED,
  INTR_TYPE_SOFTWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_INTERRUPT,
} from "./qualifications.ts";
import { VMXERR_ENTRY_INVALID_CONTROL_FIELD, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD } from "./errors.ts";
import { EXIT_REASON_FAILED_VMENTRY, EXIT_REASON_INVALID_GUEST_STATE } from "./exit_reasons.ts";

/** Exit reason of a guest-state entry failure: 33 with bit 31 set (reference §5.1). */
export const EXIT_REASON_ENTRY_FAILURE_GUEST_STATE =
  (EXIT_REASON_INVALID_GUEST_STATE | EXIT_REASON_FAILED_VMENTRY) >>>
  0;

/** RFLAGS bits that must be 0 on VM entry: 63:22, 15, 5, 3 (reference §9.3.3; Bochs 0xFFFFFFFFFFC08028). */
export const GUEST_RFLAGS_RESERVED_MASK = 0xffffffffffc08028n;
/** Pending-debug-exceptions bits that must be 0 (reference §9.3.3; Bochs 0xFFFFFFFFFFFFAFF0). */
export const PENDING_DBG_RESERVED_MASK = 0xffffffffffffaff0n;
/** IA32_EFER bits hvsim allows: SCE (0), LME (8), LMA (10), NXE (11) (SDM Vol. 3, §2.2.1). */
export const EFER_VALID_MASK = 0xd01n;
/** IA32_DEBUGCTL bits that are reserved: 5:2 and 63:16 (SDM Vol. 3, §17.4.1; not in the reference). */
export const DEBUGCTL_RESERVED_MASK = 0xffffffffffff003cn;

/** What the checks read: a VMCS (implemented by `Vmcs`). */
export interface VmcsReader {
  /** Reads a field as bigint. */
  read(encoding: number): bigint;
  /** Reads a 16/32-bit field as a number. */
  readNumber(encoding: number): number;
}

/** What VM entry needs to know besides the VMCS. */
export interface VmEntryCheckContext {
  /** Capability MSRs to check controls and fixed bits against. */
  caps: VmxCapabilities;
  /** Whether the logical processor is in IA-32e mode (hvsim's host always is). Default true. */
  hostLma?: boolean;
  /** Host-physical address of the current VMCS, which the VMCS link pointer must not equal. */
  currentVmcs?: number;
  /** Host-physical memory, to read the revision of the VMCS the link pointer references. */
  mem?: Uint8Array;
}

/** Outcome of the VM-entry checks. */
export type VmEntryCheckResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: "control"; readonly error: 7; readonly check: string }
  | { readonly ok: false; readonly kind: "host"; readonly error: 8; readonly check: string }
  | {
    readonly ok: false;
    readonly kind: "guest";
    readonly exitReason: number;
    readonly qualification: number;
    readonly check: string;
  };

/** A failed guest-state check: its name and the exit qualification (reference §6.7). */
export interface GuestCheckFailure {
  /** Which check failed. */
  check: string;
  /** Exit qualification: 0 default, 2 PDPTE, 3 NMI injection under STI blocking, 4 VMCS link pointer. */
  qualification: number;
}

const ENTRY_OK: VmEntryCheckResult = Object.freeze({ ok: true });
const CR0_PE = 0x1n;
const CR0_PG = 0x80000000n;
const CR4_PAE = 0x20n;
const CR4_PCIDE = 0x20000n;
const EFER_LME = 0x100n;
const EFER_LMA = 0x400n;
const RFLAGS_IF = 0x200n;
const RFLAGS_VM = 0x20000n;
const ALL_ONES = 0xffffffffffffffffn;

/** True if a linear address is canonical for 48-bit linear addresses (bits 63:47 all equal). */
export function isCanonical(address: bigint): boolean {
  const top = address >> 47n;
  return top === 0n || top === 0x1ffffn;
}

/** True if a physical address sets no bit at or above `width`. */
export function fitsPhysicalWidth(address: bigint, width: number): boolean {
  return address >= 0n && address >> BigInt(width) === 0n;
}

/** True if a PAT value holds only memory types 0, 1, 4, 5, 6, 7 in each of its 8 bytes (reference §9.3.3). */
export function isValidPat(pat: bigint): boolean {
  for (let i = 0n; i < 64n; i += 8n) {
    const t = Number((pat >> i) & 0xffn);
    if (t === 2 || t === 3 || t > 7) return false;
  }
  return true;
}

/** True if a CR0/CR4 value has every FIXED0 bit set and no bit outside FIXED1 (SDM Vol. 3, App. A.7-A.8). */
export function satisfiesFixedBits(value: bigint, fixed0: bigint, fixed1: bigint): boolean {
  return (value & fixed0) === fixed0 && (value & ~fixed1) === 0n;
}

/** True if G matches the limit: G=0 if any of limit[11:0] is 0, G=1 if any of limit[31:20] is 1 (reference §9.3.3). */
function limitMatchesGranularity(limit: number, ar: number): boolean {
  const g = (ar & AR_G) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if ((limit >>> 20) !== 0 && !g) return false;
  return true;
}

/**
 * True if an EPTP is valid for the capabilities (reference §7.1): memory type UC or WB as allowed,
 * walk length 4 (or 5 if supported), A/D enable only if supported, bits 11:7 zero, address within
 * the physical-address width.
 */
export function isValidEptp(eptp: bigint, caps: VmxCapabilities): boolean {
  const memType = Number(eptp & 7n);
  if (
    memType === 0
      ? (caps.eptVpidCap & EPT_CAP_MEMTYPE_UC) === 0n
      : memType === 6
      ? (caps.eptVpidCap & EPT_CAP_MEMTYPE_WB) === 0n
      : true
  ) {
    return false;
  }
  const walk = Number((eptp >> 3n) & 7n);
  if (
    walk === 3
      ? (caps.eptVpidCap & EPT_CAP_WALK_4) === 0n
      : walk === 4
      ? (caps.eptVpidCap & EPT_CAP_WALK_5) === 0n
      : true
  ) {
    return false;
  }
  if ((eptp & 0x40n) !== 0n && (caps.eptVpidCap & EPT_CAP_AD_FLAGS) === 0n) return false;
  if ((eptp & 0xf80n) !== 0n) return false;
  return fitsPhysicalWidth(eptp, caps.maxPhysAddr);
}

function validPage(address: bigint, caps: VmxCapabilities): boolean {
  return (address & 0xfffn) === 0n && fitsPhysicalWidth(address, caps.maxPhysAddr);
}

function validMsrArea(address: bigint, count: number, caps: VmxCapabilities): boolean {
  if (count === 0) return true;
  if ((address & 0xfn) !== 0n) return false;
  return fitsPhysicalWidth(address + BigInt(count) * 16n - 1n, caps.maxPhysAddr);
}

/** Vectors of hardware exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC (reference §6.6). */
function exceptionHasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/**
 * Checks the VM-execution, VM-exit and VM-entry control fields (reference §9.3.1). Returns the name
 * of the first failing check, or undefined if all pass.
 */
export function checkControls(vmcs: VmcsReader, ctx: VmEntryCheckContext): string | undefined {
  const caps = ctx.caps;
  const msrs = effectiveControlMsrs(caps);
  const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  const exit = vmcs.readNumber(F.VM_EXIT_CONTROLS);
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  if (!controlsAllowed(pin, msrs.pin)) return "pin-based controls";
  if (!controlsAllowed(proc, msrs.proc)) return "primary processor-based controls";
  const secondary = (proc & C.PROC_ACTIVATE_SECONDARY_CONTROLS) !== 0;
  const proc2 = secondary ? vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  if (secondary && !controlsAllowed(proc2, msrs.proc2)) return "secondary processor-based controls";
  if (!controlsAllowed(exit, msrs.exit)) return "VM-exit controls";
  if (!controlsAllowed(entry, msrs.entry)) return "VM-entry controls";

  if (vmcs.readNumber(F.CR3_TARGET_COUNT) > Number((caps.misc >> 16n) & 0x1ffn)) return "CR3-target count";
  if ((proc & C.PROC_USE_IO_BITMAPS) !== 0) {
    if (!validPage(vmcs.read(F.IO_BITMAP_A), caps)) return "I/O bitmap A address";
    if (!validPage(vmcs.read(F.IO_BITMAP_B), caps)) return "I/O bitmap B address";
  }
  if ((proc & C.PROC_USE_MSR_BITMAPS) !== 0 && !validPage(vmcs.read(F.MSR_BITMAP), caps)) {
    return "MSR bitmap address";
  }
  if ((pin & C.PIN_VIRTUAL_NMIS) !== 0 && (pin & C.PIN_NMI_EXITING) === 0) {
    return "virtual NMIs without NMI exiting";
  }
  if ((proc & C.PROC_NMI_WINDOW_EXITING) !== 0 && (pin & C.PIN_VIRTUAL_NMIS) === 0) {
    return "NMI-window exiting without virtual NMIs";
  }
  const ept = (proc2 & C.PROC2_ENABLE_EPT) !== 0;
  if (ept && !isValidEptp(vmcs.read(F.EPT_POINTER), caps)) return "EPT pointer";
  if ((proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0 && !ept) return "unrestricted guest without EPT";
  if ((proc2 & C.PROC2_ENABLE_PML) !== 0) {
    if (!ept) return "PML without EPT";
    if (!validPage(vmcs.read(F.PML_ADDRESS), caps)) return "PML address";
  }
  if ((exit & C.EXIT_SAVE_PREEMPTION_TIMER) !== 0 && (pin & C.PIN_ACTIVATE_PREEMPTION_TIMER) === 0) {
    return "save preemption timer without activating it";
  }
  if (!validMsrArea(vmcs.read(F.VM_EXIT_MSR_STORE_ADDR), vmcs.readNumber(F.VM_EXIT_MSR_STORE_COUNT), caps)) {
    return "VM-exit MSR-store address";
  }
  if (!validMsrArea(vmcs.read(F.VM_EXIT_MSR_LOAD_ADDR), vmcs.readNumber(F.VM_EXIT_MSR_LOAD_COUNT), caps)) {
    return "VM-exit MSR-load address";
  }
  if (!validMsrArea(vmcs.read(F.VM_ENTRY_MSR_LOAD_ADDR), vmcs.readNumber(F.VM_ENTRY_MSR_LOAD_COUNT), caps)) {
    return "VM-entry MSR-load address";
  }
  if ((entry & (C.ENTRY_TO_SMM | C.ENTRY_DEACTIVATE_DUAL_MONITOR)) !== 0) return "entry to SMM outside SMM";

  // Event injection (reference §6.6).
  const info = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & INTR_INFO_VALID) !== 0) {
    const type = (info >>> 8) & 7;
    const vector = info & 0xff;
    if (type === INTR_TYPE_RESERVED) return "entry interruption type";
    if (
      type === INTR_TYPE_OTHER_EVENT &&
      ((allowed1(msrs.proc) & C.PROC_MONITOR_TRAP_FLAG) === 0 || vector !== 0)
    ) {
      return "entry interruption type";
    }
    if ((info & INTR_INFO_ENTRY_RESERVED_MASK) !== 0) return "entry interruption reserved bits";
    if (type === INTR_TYPE_NMI && vector !== 2) return "entry NMI vector";
    if (type === INTR_TYPE_HARDWARE_EXCEPTION && vector > 31) return "entry exception vector";
    const deliver = (info & INTR_INFO_ERROR_CODE) !== 0;
    if ((caps.basic & VMX_BASIC_NO_HW_ERRCODE_CHECK) === 0n) {
      const unrestricted = (proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0;
      const protectedMode = (vmcs.read(F.GUEST_CR0) & CR0_PE) !== 0n || !unrestricted;
      const needed = type === INTR_TYPE_HARDWARE_EXCEPTION && protectedMode && exceptionHasErrorCode(vector);
      if (deliver !== needed) return "entry deliver-error-code";
    } else if (deliver && type !== INTR_TYPE_HARDWARE_EXCEPTION) {
      return "entry deliver-error-code";
    }
    if (deliver && (vmcs.readNumber(F.VM_ENTRY_EXCEPTION_ERROR_CODE) >>> 16) !== 0) {
      return "entry exception error code";
    }
    if (
      type === INTR_TYPE_SOFTWARE_INTERRUPT || type === INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION ||
      type === INTR_TYPE_SOFTWARE_EXCEPTION
    ) {
      const len = vmcs.readNumber(F.VM_ENTRY_INSTRUCTION_LEN);
      const zeroOk = (caps.misc & VMX_MISC_ZERO_LENGTH_INJECTION) !== 0n;
      if (len > 15 || (len === 0 && !zeroOk)) return "entry instruction length";
    }
  }
  return undefined;
}

/** Checks the host-state area (reference §9.3.2). Returns the name of the first failing check. */
export function checkHostState(vmcs: VmcsReader, ctx: VmEntryCheckContext): string | undefined {
  const caps = ctx.caps;
  const exit = vmcs.readNumber(F.VM_EXIT_CONTROLS);
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  const hass = (exit & C.EXIT_HOST_ADDRESS_SPACE_SIZE) !== 0;
  const cr4 = vmcs.read(F.HOST_CR4);
  const rip = vmcs.read(F.HOST_RIP);
  if (!satisfiesFixedBits(vmcs.read(F.HOST_CR0), caps.cr0Fixed0, caps.cr0Fixed1)) {
    return "host CR0 fixed bits";
  }
  if (!satisfiesFixedBits(cr4, caps.cr4Fixed0, caps.cr4Fixed1)) return "host CR4 fixed bits";
  if (!fitsPhysicalWidth(vmcs.read(F.HOST_CR3), caps.maxPhysAddr)) return "host CR3";
  if (!isCanonical(vmcs.read(F.HOST_IA32_SYSENTER_ESP))) return "host IA32_SYSENTER_ESP";
  if (!isCanonical(vmcs.read(F.HOST_IA32_SYSENTER_EIP))) return "host IA32_SYSENTER_EIP";
  if ((exit & C.EXIT_LOAD_PAT) !== 0 && !isValidPat(vmcs.read(F.HOST_IA32_PAT))) return "host IA32_PAT";
  if ((exit & C.EXIT_LOAD_EFER) !== 0) {
    const efer = vmcs.read(F.HOST_IA32_EFER);
    if ((efer & ~EFER_VALID_MASK) !== 0n) return "host IA32_EFER reserved bits";
    if (((efer & EFER_LMA) !== 0n) !== hass || ((efer & EFER_LME) !== 0n) !== hass) {
      return "host IA32_EFER.LMA/LME vs host address-space size";
    }
  }
  if (ctx.hostLma ?? true) {
    if (!hass) return "host address-space size";
    if ((cr4 & CR4_PAE) === 0n) return "host CR4.PAE";
  } else {
    if (hass) return "host address-space size";
    if ((entry & C.ENTRY_IA32E_MODE_GUEST) !== 0) return "IA-32e mode guest on a non-IA-32e host";
    if ((cr4 & CR4_PCIDE) !== 0n) return "host CR4.PCIDE";
    if (rip >> 32n !== 0n) return "host RIP";
  }
  if (hass && !isCanonical(rip)) return "host RIP";
  const selectors: [string, number][] = [
    ["ES", F.HOST_ES_SELECTOR],
    ["CS", F.HOST_CS_SELECTOR],
    ["SS", F.HOST_SS_SELECTOR],
    ["DS", F.HOST_DS_SELECTOR],
    ["FS", F.HOST_FS_SELECTOR],
    ["GS", F.HOST_GS_SELECTOR],
    ["TR", F.HOST_TR_SELECTOR],
  ];
  for (const [name, enc] of selectors) {
    if ((vmcs.readNumber(enc) & 7) !== 0) return `host ${name} selector RPL/TI`;
  }
  if (vmcs.readNumber(F.HOST_CS_SELECTOR) === 0) return "host CS selector";
  if (vmcs.readNumber(F.HOST_TR_SELECTOR) === 0) return "host TR selector";
  if (!hass && vmcs.readNumber(F.HOST_SS_SELECTOR) === 0) return "host SS selector";
  const bases: [string, number][] = [
    ["FS", F.HOST_FS_BASE],
    ["GS", F.HOST_GS_BASE],
    ["GDTR", F.HOST_GDTR_BASE],
    ["IDTR", F.HOST_IDTR_BASE],
    ["TR", F.HOST_TR_BASE],
  ];
  for (const [name, enc] of bases) {
    if (!isCanonical(vmcs.read(enc))) return `host ${name} base`;
  }
  return undefined;
}

interface Seg {
  selector: number;
  base: bigint;
  limit: number;
  ar: number;
  usable: boolean;
  type: number;
  dpl: number;
}

function readSeg(vmcs: VmcsReader, i: number): Seg {
  const f = guestSegmentFields(i);
  const ar = vmcs.readNumber(f.ar);
  return {
    selector: vmcs.readNumber(f.selector),
    base: vmcs.read(f.base),
    limit: vmcs.readNumber(f.limit),
    ar,
    usable: (ar & AR_UNUSABLE) === 0,
    type: ar & 0xf,
    dpl: (ar >>> AR_DPL_SHIFT) & 3,
  };
}

/** Checks S=1, P=1, reserved bits and G/limit of a code/data segment; returns the failing part. */
function codeDataCommon(s: Seg, name: string): string | undefined {
  if ((s.ar & AR_S) === 0) return `guest ${name} S bit`;
  if ((s.ar & AR_P) === 0) return `guest ${name} present bit`;
  if ((s.ar & AR_RESERVED_MASK) !== 0) return `guest ${name} access-rights reserved bits`;
  if (!limitMatchesGranularity(s.limit, s.ar)) return `guest ${name} limit vs G`;
  return undefined;
}

/**
 * Checks the guest-state area (reference §9.3.3). Returns the first failing check with its exit
 * qualification, or undefined if all pass.
 */
export function checkGuestState(vmcs: VmcsReader, ctx: VmEntryCheckContext): GuestCheckFailure | undefined {
  const caps = ctx.caps;
  const fail = (check: string, qualification = ENTRY_FAILURE_DEFAULT): GuestCheckFailure => ({
    check,
    qualification,
  });
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc2 = (proc & C.PROC_ACTIVATE_SECONDARY_CONTROLS) !== 0
    ? vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL)
    : 0;
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  const ia32e = (entry & C.ENTRY_IA32E_MODE_GUEST) !== 0;
  const ug = (proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0;

  // Control registers, debug registers and MSRs (SDM §26.3.1.1).
  const cr0 = vmcs.read(F.GUEST_CR0);
  const cr4 = vmcs.read(F.GUEST_CR4);
  const fixed0 = ug ? caps.cr0Fixed0 & ~(CR0_PE | CR0_PG) : caps.cr0Fixed0;
  if (!satisfiesFixedBits(cr0, fixed0, caps.cr0Fixed1)) return fail("guest CR0 fixed bits");
  const pg = (cr0 & CR0_PG) !== 0n;
  const pe = (cr0 & CR0_PE) !== 0n;
  if (pg && !pe) return fail("guest CR0.PG without CR0.PE");
  if (!satisfiesFixedBits(cr4, caps.cr4Fixed0, caps.cr4Fixed1)) return fail("guest CR4 fixed bits");
  if (ia32e) {
    if ((cr4 & CR4_PAE) === 0n) return fail("IA-32e mode guest without CR4.PAE");
    if (!pg) return fail("IA-32e mode guest without CR0.PG");
  } else if ((cr4 & CR4_PCIDE) !== 0n) {
    return fail("guest CR4.PCIDE outside IA-32e mode");
  }
  if (!fitsPhysicalWidth(vmcs.read(F.GUEST_CR3), caps.maxPhysAddr)) return fail("guest CR3");
  if ((entry & C.ENTRY_LOAD_DEBUG_CONTROLS) !== 0) {
    if ((vmcs.read(F.GUEST_IA32_DEBUGCTL) & DEBUGCTL_RESERVED_MASK) !== 0n) {
      return fail("guest IA32_DEBUGCTL");
    }
    if (vmcs.read(F.GUEST_DR7) >> 32n !== 0n) return fail("guest DR7");
  }
  if (!isCanonical(vmcs.read(F.GUEST_SYSENTER_ESP))) return fail("guest IA32_SYSENTER_ESP");
  if (!isCanonical(vmcs.read(F.GUEST_SYSENTER_EIP))) return fail("guest IA32_SYSENTER_EIP");
  if ((entry & C.ENTRY_LOAD_PAT) !== 0 && !isValidPat(vmcs.read(F.GUEST_IA32_PAT))) {
    return fail("guest IA32_PAT");
  }
  if ((entry & C.ENTRY_LOAD_EFER) !== 0) {
    const efer = vmcs.read(F.GUEST_IA32_EFER);
    if ((efer & ~EFER_VALID_MASK) !== 0n) return fail("guest IA32_EFER reserved bits");
    if (((efer & EFER_LMA) !== 0n) !== ia32e) return fail("guest IA32_EFER.LMA vs IA-32e mode guest");
    if (pg && ((efer & EFER_LME) !== 0n) !== ia32e) return fail("guest IA32_EFER.LME vs IA-32e mode guest");
  }

  // Segment registers (SDM §26.3.1.2).
  const rflags = vmcs.read(F.GUEST_RFLAGS);
  const v86 = (rflags & RFLAGS_VM) !== 0n;
  const seg: Seg[] = [];
  for (let i = 0; i < 8; i++) seg.push(readSeg(vmcs, i));
  const cs = seg[SEG_CS];
  const ss = seg[SEG_SS];
  const tr = seg[SEG_TR];
  const ldtr = seg[SEG_LDTR];
  if ((tr.selector & 4) !== 0) return fail("guest TR selector TI");
  if (ldtr.usable && (ldtr.selector & 4) !== 0) return fail("guest LDTR selector TI");
  if (!v86 && !ug && (ss.selector & 3) !== (cs.selector & 3)) return fail("guest SS.RPL vs CS.RPL");
  if (v86) {
    for (const i of [SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS]) {
      const s = seg[i];
      const name = SEGMENT_NAMES[i];
      if (s.base !== BigInt(s.selector) << 4n) return fail(`guest ${name} base (virtual-8086)`);
      if (s.limit !== 0xffff) return fail(`guest ${name} limit (virtual-8086)`);
      if (s.ar !== 0xf3) return fail(`guest ${name} access rights (virtual-8086)`);
    }
  }
  if (!isCanonical(tr.base)) return fail("guest TR base");
  if (!isCanonical(seg[SEG_FS].base)) return fail("guest FS base");
  if (!isCanonical(seg[SEG_GS].base)) return fail("guest GS base");
  if (ldtr.usable && !isCanonical(ldtr.base)) return fail("guest LDTR base");
  if (cs.base >> 32n !== 0n) return fail("guest CS base");
  for (const i of [SEG_SS, SEG_DS, SEG_ES]) {
    if (seg[i].usable && seg[i].base >> 32n !== 0n) return fail(`guest ${SEGMENT_NAMES[i]} base`);
  }
  if (!v86) {
    // CS
    const csTypeOk = cs.type === 9 || cs.type === 11 || cs.type === 13 || cs.type === 15 ||
      (ug && cs.type === 3);
    if (!csTypeOk) return fail("guest CS type");
    const common = codeDataCommon(cs, "CS");
    if (common) return fail(common);
    if ((cs.type === 9 || cs.type === 11) && cs.dpl !== ss.dpl) {
      return fail("guest CS.DPL vs SS.DPL (non-conforming)");
    }
    if ((cs.type === 13 || cs.type === 15) && cs.dpl > ss.dpl) {
      return fail("guest CS.DPL vs SS.DPL (conforming)");
    }
    if (cs.type === 3 && cs.dpl !== 0) return fail("guest CS.DPL (type 3)");
    if (ia32e && (cs.ar & AR_L) !== 0 && (cs.ar & AR_DB) !== 0) return fail("guest CS.L with CS.D/B");
    // SS
    if (ss.usable) {
      if (ss.type !== 3 && ss.type !== 7) return fail("guest SS type");
      if (!ug && ss.dpl !== (ss.selector & 3)) return fail("guest SS.DPL vs SS.RPL");
      if (ug && (!pe || cs.type === 3) && ss.dpl !== 0) return fail("guest SS.DPL (unrestricted)");
      const c = codeDataCommon(ss, "SS");
      if (c) return fail(c);
    }
    // DS, ES, FS, GS
    for (const i of [SEG_DS, SEG_ES, SEG_FS, SEG_GS]) {
      const s = seg[i];
      if (!s.usable) continue;
      const name = SEGMENT_NAMES[i];
      if ((s.type & 1) === 0) return fail(`guest ${name} type (not accessed)`);
      if ((s.type & 8) !== 0 && (s.type & 2) === 0) return fail(`guest ${name} type (execute-only code)`);
      if (!ug && s.type <= 11 && (s.selector & 3) > s.dpl) return fail(`guest ${name} RPL vs DPL`);
      const c = codeDataCommon(s, name);
      if (c) return fail(c);
    }
  }
  // TR
  if (!tr.usable) return fail("guest TR unusable");
  if (!(tr.type === 11 || (tr.type === 3 && !ia32e))) return fail("guest TR type");
  if ((tr.ar & AR_S) !== 0) return fail("guest TR S bit");
  if ((tr.ar & AR_P) === 0) return fail("guest TR present bit");
  if ((tr.ar & AR_RESERVED_MASK) !== 0) return fail("guest TR access-rights reserved bits");
  if (!limitMatchesGranularity(tr.limit, tr.ar)) return fail("guest TR limit vs G");
  // LDTR
  if (ldtr.usable) {
    if (ldtr.type !== 2) return fail("guest LDTR type");
    if ((ldtr.ar & AR_S) !== 0) return fail("guest LDTR S bit");
    if ((ldtr.ar & AR_P) === 0) return fail("guest LDTR present bit");
    if ((ldtr.ar & AR_RESERVED_MASK) !== 0) return fail("guest LDTR access-rights reserved bits");
    if (!limitMatchesGranularity(ldtr.limit, ldtr.ar)) return fail("guest LDTR limit vs G");
  }

  // Descriptor-table registers (SDM §26.3.1.3).
  if (!isCanonical(vmcs.read(F.GUEST_GDTR_BASE))) return fail("guest GDTR base");
  if (!isCanonical(vmcs.read(F.GUEST_IDTR_BASE))) return fail("guest IDTR base");
  if ((vmcs.readNumber(F.GUEST_GDTR_LIMIT) >>> 16) !== 0) return fail("guest GDTR limit");
  if ((vmcs.readNumber(F.GUEST_IDTR_LIMIT) >>> 16) !== 0) return fail("guest IDTR limit");

  // RIP and RFLAGS (SDM §26.3.1.4).
  const rip = vmcs.read(F.GUEST_RIP);
  if (!ia32e || (cs.ar & AR_L) === 0) {
    if (rip >> 32n !== 0n) return fail("guest RIP");
  } else if (!isCanonical(rip)) {
    return fail("guest RIP");
  }
  if ((rflags & GUEST_RFLAGS_RESERVED_MASK) !== 0n || (rflags & 2n) === 0n) {
    return fail("guest RFLAGS reserved bits");
  }
  if (v86 && (ia32e || !pe)) return fail("guest RFLAGS.VM");
  const info = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD);
  const injecting = (info & INTR_INFO_VALID) !== 0;
  const injType = (info >>> 8) & 7;
  const injVector = info & 0xff;
  if (injecting && injType === INTR_TYPE_EXTERNAL_INTERRUPT && (rflags & RFLAGS_IF) === 0n) {
    return fail("guest RFLAGS.IF for external-interrupt injection");
  }

  // Non-register state (SDM §26.3.1.5).
  const activity = vmcs.readNumber(F.GUEST_ACTIVITY_STATE);
  const intr = vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO);
  if (activity > ACTIVITY_WAIT_FOR_SIPI) return fail("guest activity state");
  if (activity !== 0 && (caps.misc & (1n << BigInt(5 + activity))) === 0n) {
    return fail("guest activity state unsupported");
  }
  if (activity === ACTIVITY_HLT && ss.dpl !== 0) return fail("guest activity HLT with SS.DPL != 0");
  if ((intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) !== 0 && activity !== 0) {
    return fail("guest activity state with STI/MOV-SS blocking");
  }
  if (injecting && activity === ACTIVITY_WAIT_FOR_SIPI) return fail("guest activity state vs injected event");
  if (
    injecting && activity === ACTIVITY_SHUTDOWN &&
    !(injType === INTR_TYPE_NMI || (injType === INTR_TYPE_HARDWARE_EXCEPTION && injVector === 18))
  ) {
    return fail("guest activity state vs injected event");
  }
  if ((intr & ~0xf) !== 0) return fail("guest interruptibility reserved bits");
  if ((intr & INTERRUPTIBILITY_STI) !== 0 && (intr & INTERRUPTIBILITY_MOV_SS) !== 0) {
    return fail("guest interruptibility STI and MOV-SS");
  }
  if ((intr & INTERRUPTIBILITY_STI) !== 0 && (rflags & RFLAGS_IF) === 0n) {
    return fail("guest interruptibility STI with RFLAGS.IF=0");
  }
  if ((intr & INTERRUPTIBILITY_SMI) !== 0) return fail("guest interruptibility SMI blocking outside SMM");
  if (injecting && injType === INTR_TYPE_EXTERNAL_INTERRUPT && (intr & 3) !== 0) {
    return fail("guest interruptibility vs external-interrupt injection");
  }
  if (injecting && injType === INTR_TYPE_NMI) {
    if ((intr & INTERRUPTIBILITY_MOV_SS) !== 0) return fail("guest interruptibility MOV-SS vs NMI injection");
    if ((intr & INTERRUPTIBILITY_STI) !== 0) {
      return fail("guest interruptibility STI vs NMI injection", ENTRY_FAILURE_NMI_INJECTION);
    }
    if ((pin & C.PIN_VIRTUAL_NMIS) !== 0 && (intr & INTERRUPTIBILITY_NMI) !== 0) {
      return fail("guest interruptibility NMI blocking vs NMI injection");
    }
  }
  if ((vmcs.read(F.GUEST_PENDING_DBG_EXCEPTIONS) & PENDING_DBG_RESERVED_MASK) !== 0n) {
    return fail("guest pending debug exceptions reserved bits");
  }
  const link = vmcs.read(F.VMCS_LINK_POINTER);
  if (link !== ALL_ONES) {
    const q = ENTRY_FAILURE_VMCS_LINK_POINTER;
    if (!validPage(link, caps)) return fail("VMCS link pointer address", q);
    if (ctx.currentVmcs !== undefined && link === BigInt(ctx.currentVmcs)) {
      return fail("VMCS link pointer is current VMCS", q);
    }
    const mem = ctx.mem;
    const at = Number(link);
    if (mem === undefined || at + F.VMCS_REGION_SIZE > mem.length) {
      return fail("VMCS link pointer address", q);
    }
    const word = new DataView(mem.buffer, mem.byteOffset + at, 4).getUint32(0, true);
    if ((word & 0x7fffffff) !== vmcsRevision(caps)) return fail("VMCS link pointer revision", q);
    if ((word >>> 31 === 1) !== ((proc2 & C.PROC2_VMCS_SHADOWING) !== 0)) {
      return fail("VMCS link pointer shadow bit", q);
    }
  }

  // PAE PDPTEs (SDM §26.3.1.6): with EPT, outside IA-32e mode, PG and PAE on.
  if ((proc2 & C.PROC2_ENABLE_EPT) !== 0 && !ia32e && pg && (cr4 & CR4_PAE) !== 0n) {
    const reserved = 0x1e6n | ((ALL_ONES << BigInt(caps.maxPhysAddr)) & ALL_ONES); // bits 2:1, 8:5, 63:MAXPHYADDR
    const pdptes = [F.GUEST_PDPTR0, F.GUEST_PDPTR1, F.GUEST_PDPTR2, F.GUEST_PDPTR3];
    for (let i = 0; i < 4; i++) {
      const e = vmcs.read(pdptes[i]);
      if ((e & 1n) !== 0n && (e & reserved) !== 0n) return fail(`guest PDPTE${i}`, ENTRY_FAILURE_PDPTE);
    }
  }
  return undefined;
}

/**
 * Runs all VM-entry checks in order: controls (error 7), host state (error 8), guest state (exit
 * reason 0x80000021 with qualification). The VMCS is only read.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Vmcs } from "./vmcs.ts";
 * import { setupVmcs64 } from "./setup.ts";
 * import { checkVmEntry } from "./entry_checks.ts";
 * import { HVSIM_VMX_CAPABILITIES } from "./capabilities.ts";
 * import { GUEST_RFLAGS } from "./fields.ts";
 * const vmcs = new Vmcs(new Uint8Array(4096), 0);
 * setupVmcs64(vmcs);
 * equal(checkVmEntry(vmcs, { caps: HVSIM_VMX_CAPABILITIES }).ok, true);
 * vmcs.write(GUEST_RFLAGS, 0n); // bit 1 must be 1
 * const r = checkVmEntry(vmcs, { caps: HVSIM_VMX_CAPABILITIES });
 * equal(r.ok === false && r.kind === "guest" && r.exitReason, 0x80000021);
 * ```
 */
export function checkVmEntry(vmcs: VmcsReader, ctx: VmEntryCheckContext): VmEntryCheckResult {
  const control = checkControls(vmcs, ctx);
  if (control !== undefined) {
    return { ok: false, kind: "control", error: VMXERR_ENTRY_INVALID_CONTROL_FIELD, check: control };
  }
  const host = checkHostState(vmcs, ctx);
  if (host !== undefined) {
    return { ok: false, kind: "host", error: VMXERR_ENTRY_INVALID_HOST_STATE_FIELD, check: host };
  }
  const guest = checkGuestState(vmcs, ctx);
  if (guest !== undefined) {
    return {
      ok: false,
      kind: "guest",
      exitReason: EXIT_REASON_ENTRY_FAILURE_GUEST_STATE,
      qualification: guest.qualification,
      check: guest.check,
    };
  }
  return ENTRY_OK;
}

/**
 * VM-entry checks (SDM Vol. 3, §26.2-26.3) as a pure function over the VMCS
 * contents and the capability MSRs. Control-field failures are VMfailValid(7), host-state failures
 * VMfailValid(8), guest-state failures a VM exit with reason 33 | 0x80000000 and the SDM's exit
 * qualification. Checks run in the order controls, host state, guest state; the first failure wins
 * (the SDM leaves the order open: SDM Vol. 3, §26.2 and the notes to Table 30-1).
 *
 * @module
 */

import {
  allowed0,
  allowed1,
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
import {
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  CR4_PCIDE,
  EFER_LMA,
  EFER_LME,
  IF as RFLAGS_IF,
  VM as RFLAGS_VM,
} from "../cpu/registers.ts";
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
  SEG_SS,
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

/** Exit reason of a guest-state entry failure: 33 with bit 31 set (SDM Vol. 3, §24.9.1). */
export const EXIT_REASON_ENTRY_FAILURE_GUEST_STATE =
  (EXIT_REASON_INVALID_GUEST_STATE | EXIT_REASON_FAILED_VMENTRY) >>>
  0;

/** RFLAGS bits that must be 0 on VM entry: 63:22, 15, 5, 3 (SDM Vol. 3, §26.3.1; Bochs 0xFFFFFFFFFFC08028). */
export const GUEST_RFLAGS_RESERVED_MASK = 0xffffffffffc08028n;
/** Pending-debug-exceptions bits that must be 0 (SDM Vol. 3, §26.3.1; Bochs 0xFFFFFFFFFFFFAFF0). */
export const PENDING_DBG_RESERVED_MASK = 0xffffffffffffaff0n;
/** IA32_EFER bits hvsim allows: SCE (0), LME (8), LMA (10), NXE (11) (SDM Vol. 3, §2.2.1). */
export const EFER_VALID_MASK = 0xd01n;
/** IA32_DEBUGCTL bits that are reserved: 5:2 and 63:16 (SDM Vol. 3, §17.4.1). */
export const DEBUGCTL_RESERVED_MASK = 0xffffffffffff003cn;

/** What the checks read: a VMCS (implemented by `Vmcs`), through allocation-free number reads. */
export interface VmcsReader {
  /** Reads a 16/32-bit field as a number. */
  readNumber(encoding: number): number;
  /** Bits 31:0 of a field. */
  readLow32(encoding: number): number;
  /** Bits 63:32 of a 64-bit or natural-width field. */
  readHigh32(encoding: number): number;
}

/** Capability values as numbers, computed once per capability set (see `prepareCapabilities`). */
export interface PreparedCapabilities {
  /** Pin-based controls that must be 1. */
  readonly pin0: number;
  /** Pin-based controls that may be 1. */
  readonly pin1: number;
  /** Primary processor-based controls that must be 1. */
  readonly proc0: number;
  /** Primary processor-based controls that may be 1. */
  readonly proc1: number;
  /** Secondary controls that must be 1. */
  readonly proc20: number;
  /** Secondary controls that may be 1. */
  readonly proc21: number;
  /** VM-exit controls that must be 1. */
  readonly exit0: number;
  /** VM-exit controls that may be 1. */
  readonly exit1: number;
  /** VM-entry controls that must be 1. */
  readonly entry0: number;
  /** VM-entry controls that may be 1. */
  readonly entry1: number;
  /** IA32_VMX_CR0_FIXED0 bits 31:0. */
  readonly cr0f0lo: number;
  /** IA32_VMX_CR0_FIXED0 bits 63:32. */
  readonly cr0f0hi: number;
  /** IA32_VMX_CR0_FIXED1 bits 31:0. */
  readonly cr0f1lo: number;
  /** IA32_VMX_CR0_FIXED1 bits 63:32. */
  readonly cr0f1hi: number;
  /** IA32_VMX_CR4_FIXED0 bits 31:0. */
  readonly cr4f0lo: number;
  /** IA32_VMX_CR4_FIXED0 bits 63:32. */
  readonly cr4f0hi: number;
  /** IA32_VMX_CR4_FIXED1 bits 31:0. */
  readonly cr4f1lo: number;
  /** IA32_VMX_CR4_FIXED1 bits 63:32. */
  readonly cr4f1hi: number;
  /** IA32_VMX_MISC[24:16]. */
  readonly cr3Targets: number;
  /** IA32_VMX_MISC bits 8:6 shifted down: bit n-1 set if activity state n is supported. */
  readonly activityStates: number;
  /** IA32_VMX_MISC[30]. */
  readonly zeroLengthInjection: boolean;
  /** IA32_VMX_BASIC[56]. */
  readonly noHwErrorCodeCheck: boolean;
  /** EPT_VPID_CAP low 32 bits. */
  readonly eptCap: number;
  /** MAXPHYADDR. */
  readonly maxPhysAddr: number;
  /** VMCS revision identifier. */
  readonly revision: number;
}

/** Computes the number form of a capability set for the entry checks. */
export function prepareCapabilities(caps: VmxCapabilities): PreparedCapabilities {
  const m = effectiveControlMsrs(caps);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  return Object.freeze({
    pin0: allowed0(m.pin),
    pin1: allowed1(m.pin),
    proc0: allowed0(m.proc),
    proc1: allowed1(m.proc),
    proc20: allowed0(m.proc2),
    proc21: allowed1(m.proc2),
    exit0: allowed0(m.exit),
    exit1: allowed1(m.exit),
    entry0: allowed0(m.entry),
    entry1: allowed1(m.entry),
    cr0f0lo: lo(caps.cr0Fixed0),
    cr0f0hi: hi(caps.cr0Fixed0),
    cr0f1lo: lo(caps.cr0Fixed1),
    cr0f1hi: hi(caps.cr0Fixed1),
    cr4f0lo: lo(caps.cr4Fixed0),
    cr4f0hi: hi(caps.cr4Fixed0),
    cr4f1lo: lo(caps.cr4Fixed1),
    cr4f1hi: hi(caps.cr4Fixed1),
    cr3Targets: Number((caps.misc >> 16n) & 0x1ffn),
    activityStates: Number((caps.misc >> 6n) & 7n),
    zeroLengthInjection: (caps.misc & VMX_MISC_ZERO_LENGTH_INJECTION) !== 0n,
    noHwErrorCodeCheck: (caps.basic & VMX_BASIC_NO_HW_ERRCODE_CHECK) !== 0n,
    eptCap: lo(caps.eptVpidCap),
    maxPhysAddr: caps.maxPhysAddr,
    revision: vmcsRevision(caps),
  });
}

/** What VM entry needs to know besides the VMCS. */
export interface VmEntryCheckContext {
  /** Capability MSRs to check controls and fixed bits against. */
  caps: VmxCapabilities;
  /** `prepareCapabilities(caps)`, if the caller keeps it (saves recomputing it on every entry). */
  prepared?: PreparedCapabilities;
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

/** A failed guest-state check: its name and the exit qualification (SDM Vol. 3, §26.7). */
export interface GuestCheckFailure {
  /** Which check failed. */
  check: string;
  /** Exit qualification: 0 default, 2 PDPTE, 3 NMI injection under STI blocking, 4 VMCS link pointer. */
  qualification: number;
}

const ENTRY_OK: VmEntryCheckResult = Object.freeze({ ok: true });
const TWO32 = 2 ** 32;

/** True if a linear address is canonical for 48-bit linear addresses (bits 63:47 all equal). */
export function isCanonical(address: bigint): boolean {
  return canonical(Number((address >> 32n) & 0xffffffffn));
}

/** Canonical check on the high half: bits 63:47 are bits 31:15 of `hi`. */
function canonical(hi: number): boolean {
  const top = hi >>> 15;
  return top === 0 || top === 0x1ffff;
}

/** True if a physical address sets no bit at or above `width`. */
export function fitsPhysicalWidth(address: bigint, width: number): boolean {
  return address >= 0n && address >> BigInt(width) === 0n;
}

/** Width check on the high half (width > 32). */
function fitsWidth(hi: number, width: number): boolean {
  return hi >>> (width - 32) === 0;
}

/** True if a PAT value holds only memory types 0, 1, 4, 5, 6, 7 in each of its 8 bytes (SDM Vol. 3, §26.3.1). */
export function isValidPat(pat: bigint): boolean {
  return patOk(Number((pat >> 32n) & 0xffffffffn), Number(pat & 0xffffffffn));
}

function patOk(hi: number, lo: number): boolean {
  for (let i = 0; i < 32; i += 8) {
    const a = (lo >>> i) & 0xff;
    const b = (hi >>> i) & 0xff;
    if (a === 2 || a === 3 || a > 7 || b === 2 || b === 3 || b > 7) return false;
  }
  return true;
}

/** True if a CR0/CR4 value has every FIXED0 bit set and no bit outside FIXED1 (SDM Vol. 3, App. A.7-A.8). */
export function satisfiesFixedBits(value: bigint, fixed0: bigint, fixed1: bigint): boolean {
  return (value & fixed0) === fixed0 && (value & ~fixed1) === 0n;
}

function fixedOk(hi: number, lo: number, f0hi: number, f0lo: number, f1hi: number, f1lo: number): boolean {
  return ((lo & f0lo) >>> 0) === f0lo && ((hi & f0hi) >>> 0) === f0hi && (lo & ~f1lo) === 0 &&
    (hi & ~f1hi) === 0;
}

/** True if G matches the limit: G=0 if any of limit[11:0] is 0, G=1 if any of limit[31:20] is 1 (SDM Vol. 3, §26.3.1). */
function limitMatchesGranularity(limit: number, ar: number): boolean {
  const g = (ar & AR_G) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if ((limit >>> 20) !== 0 && !g) return false;
  return true;
}

/**
 * True if an EPTP is valid for the capabilities (SDM Vol. 3, §24.6.11): memory type UC or WB as allowed,
 * walk length 4 (or 5 if supported), A/D enable only if supported, bits 11:7 zero, address within
 * the physical-address width.
 */
export function isValidEptp(eptp: bigint, caps: VmxCapabilities): boolean {
  return eptpOk(Number((eptp >> 32n) & 0xffffffffn), Number(eptp & 0xffffffffn), prepareCapabilities(caps));
}

function eptpOk(hi: number, lo: number, p: PreparedCapabilities): boolean {
  const cap = p.eptCap;
  const memType = lo & 7;
  if (
    memType === 0
      ? (cap & Number(EPT_CAP_MEMTYPE_UC)) === 0
      : memType === 6
      ? (cap & Number(EPT_CAP_MEMTYPE_WB)) === 0
      : true
  ) {
    return false;
  }
  const walk = (lo >>> 3) & 7;
  if (
    walk === 3
      ? (cap & Number(EPT_CAP_WALK_4)) === 0
      : walk === 4
      ? (cap & Number(EPT_CAP_WALK_5)) === 0
      : true
  ) {
    return false;
  }
  if ((lo & 0x40) !== 0 && (cap & Number(EPT_CAP_AD_FLAGS)) === 0) return false;
  if ((lo & 0xf80) !== 0) return false;
  return fitsWidth(hi, p.maxPhysAddr);
}

function pageOk(v: VmcsReader, enc: number, p: PreparedCapabilities): boolean {
  return (v.readLow32(enc) & 0xfff) === 0 && fitsWidth(v.readHigh32(enc), p.maxPhysAddr);
}

function msrAreaOk(v: VmcsReader, addrEnc: number, countEnc: number, p: PreparedCapabilities): boolean {
  const count = v.readNumber(countEnc);
  if (count === 0) return true;
  const lo = v.readLow32(addrEnc);
  const hi = v.readHigh32(addrEnc);
  if ((lo & 0xf) !== 0 || !fitsWidth(hi, p.maxPhysAddr)) return false;
  return hi * TWO32 + lo + count * 16 - 1 < 2 ** p.maxPhysAddr;
}

function canonicalField(v: VmcsReader, enc: number): boolean {
  return canonical(v.readHigh32(enc));
}

/** Vectors of hardware exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC (SDM Vol. 3, §26.2.1.3). */
function exceptionHasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

function allowedBits(value: number, must: number, may: number): boolean {
  return ((value & must) >>> 0) === must && (value & ~may) === 0;
}

/**
 * Checks the VM-execution, VM-exit and VM-entry control fields (SDM Vol. 3, §26.2.1). Returns the name
 * of the first failing check, or undefined if all pass.
 */
export function checkControls(vmcs: VmcsReader, ctx: VmEntryCheckContext): string | undefined {
  const p = ctx.prepared ?? prepareCapabilities(ctx.caps);
  const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  const exit = vmcs.readNumber(F.VM_EXIT_CONTROLS);
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  if (!allowedBits(pin, p.pin0, p.pin1)) return "pin-based controls";
  if (!allowedBits(proc, p.proc0, p.proc1)) return "primary processor-based controls";
  const secondary = (proc & C.PROC_ACTIVATE_SECONDARY_CONTROLS) !== 0;
  const proc2 = secondary ? vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL) : 0;
  if (secondary && !allowedBits(proc2, p.proc20, p.proc21)) return "secondary processor-based controls";
  if (!allowedBits(exit, p.exit0, p.exit1)) return "VM-exit controls";
  if (!allowedBits(entry, p.entry0, p.entry1)) return "VM-entry controls";

  if (vmcs.readNumber(F.CR3_TARGET_COUNT) > p.cr3Targets) return "CR3-target count";
  if ((proc & C.PROC_USE_IO_BITMAPS) !== 0) {
    if (!pageOk(vmcs, F.IO_BITMAP_A, p)) return "I/O bitmap A address";
    if (!pageOk(vmcs, F.IO_BITMAP_B, p)) return "I/O bitmap B address";
  }
  if ((proc & C.PROC_USE_MSR_BITMAPS) !== 0 && !pageOk(vmcs, F.MSR_BITMAP, p)) return "MSR bitmap address";
  if ((pin & C.PIN_VIRTUAL_NMIS) !== 0 && (pin & C.PIN_NMI_EXITING) === 0) {
    return "virtual NMIs without NMI exiting";
  }
  if ((proc & C.PROC_NMI_WINDOW_EXITING) !== 0 && (pin & C.PIN_VIRTUAL_NMIS) === 0) {
    return "NMI-window exiting without virtual NMIs";
  }
  const ept = (proc2 & C.PROC2_ENABLE_EPT) !== 0;
  if (ept && !eptpOk(vmcs.readHigh32(F.EPT_POINTER), vmcs.readLow32(F.EPT_POINTER), p)) return "EPT pointer";
  if ((proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0 && !ept) return "unrestricted guest without EPT";
  if ((proc2 & C.PROC2_ENABLE_PML) !== 0) {
    if (!ept) return "PML without EPT";
    if (!pageOk(vmcs, F.PML_ADDRESS, p)) return "PML address";
  }
  if ((exit & C.EXIT_SAVE_PREEMPTION_TIMER) !== 0 && (pin & C.PIN_ACTIVATE_PREEMPTION_TIMER) === 0) {
    return "save preemption timer without activating it";
  }
  if (!msrAreaOk(vmcs, F.VM_EXIT_MSR_STORE_ADDR, F.VM_EXIT_MSR_STORE_COUNT, p)) {
    return "VM-exit MSR-store address";
  }
  if (!msrAreaOk(vmcs, F.VM_EXIT_MSR_LOAD_ADDR, F.VM_EXIT_MSR_LOAD_COUNT, p)) {
    return "VM-exit MSR-load address";
  }
  if (!msrAreaOk(vmcs, F.VM_ENTRY_MSR_LOAD_ADDR, F.VM_ENTRY_MSR_LOAD_COUNT, p)) {
    return "VM-entry MSR-load address";
  }
  if ((entry & (C.ENTRY_TO_SMM | C.ENTRY_DEACTIVATE_DUAL_MONITOR)) !== 0) return "entry to SMM outside SMM";

  // Event injection (SDM Vol. 3, §24.8.3, §26.2.1.3).
  const info = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & INTR_INFO_VALID) !== 0) {
    const type = (info >>> 8) & 7;
    const vector = info & 0xff;
    if (type === INTR_TYPE_RESERVED) return "entry interruption type";
    if (type === INTR_TYPE_OTHER_EVENT && ((p.proc1 & C.PROC_MONITOR_TRAP_FLAG) === 0 || vector !== 0)) {
      return "entry interruption type";
    }
    if ((info & INTR_INFO_ENTRY_RESERVED_MASK) !== 0) return "entry interruption reserved bits";
    if (type === INTR_TYPE_NMI && vector !== 2) return "entry NMI vector";
    if (type === INTR_TYPE_HARDWARE_EXCEPTION && vector > 31) return "entry exception vector";
    const deliver = (info & INTR_INFO_ERROR_CODE) !== 0;
    if (!p.noHwErrorCodeCheck) {
      const unrestricted = (proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0;
      const protectedMode = (vmcs.readLow32(F.GUEST_CR0) & CR0_PE) !== 0 || !unrestricted;
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
      if (len > 15 || (len === 0 && !p.zeroLengthInjection)) return "entry instruction length";
    }
  }
  return undefined;
}

/** Checks the host-state area (SDM Vol. 3, §26.2.2). Returns the name of the first failing check. */
export function checkHostState(vmcs: VmcsReader, ctx: VmEntryCheckContext): string | undefined {
  const p = ctx.prepared ?? prepareCapabilities(ctx.caps);
  const exit = vmcs.readNumber(F.VM_EXIT_CONTROLS);
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  const hass = (exit & C.EXIT_HOST_ADDRESS_SPACE_SIZE) !== 0;
  const cr4 = vmcs.readLow32(F.HOST_CR4);
  const ripHi = vmcs.readHigh32(F.HOST_RIP);
  if (
    !fixedOk(
      vmcs.readHigh32(F.HOST_CR0),
      vmcs.readLow32(F.HOST_CR0),
      p.cr0f0hi,
      p.cr0f0lo,
      p.cr0f1hi,
      p.cr0f1lo,
    )
  ) {
    return "host CR0 fixed bits";
  }
  if (!fixedOk(vmcs.readHigh32(F.HOST_CR4), cr4, p.cr4f0hi, p.cr4f0lo, p.cr4f1hi, p.cr4f1lo)) {
    return "host CR4 fixed bits";
  }
  if (!fitsWidth(vmcs.readHigh32(F.HOST_CR3), p.maxPhysAddr)) return "host CR3";
  if (!canonicalField(vmcs, F.HOST_IA32_SYSENTER_ESP)) return "host IA32_SYSENTER_ESP";
  if (!canonicalField(vmcs, F.HOST_IA32_SYSENTER_EIP)) return "host IA32_SYSENTER_EIP";
  if (
    (exit & C.EXIT_LOAD_PAT) !== 0 &&
    !patOk(vmcs.readHigh32(F.HOST_IA32_PAT), vmcs.readLow32(F.HOST_IA32_PAT))
  ) {
    return "host IA32_PAT";
  }
  if ((exit & C.EXIT_LOAD_EFER) !== 0) {
    const efer = vmcs.readLow32(F.HOST_IA32_EFER);
    if (vmcs.readHigh32(F.HOST_IA32_EFER) !== 0 || (efer & ~EFER_VALID_BITS) !== 0) {
      return "host IA32_EFER reserved bits";
    }
    if (((efer & EFER_LMA) !== 0) !== hass || ((efer & EFER_LME) !== 0) !== hass) {
      return "host IA32_EFER.LMA/LME vs host address-space size";
    }
  }
  if (ctx.hostLma ?? true) {
    if (!hass) return "host address-space size";
    if ((cr4 & CR4_PAE) === 0) return "host CR4.PAE";
  } else {
    if (hass) return "host address-space size";
    if ((entry & C.ENTRY_IA32E_MODE_GUEST) !== 0) return "IA-32e mode guest on a non-IA-32e host";
    if ((cr4 & CR4_PCIDE) !== 0) return "host CR4.PCIDE";
    if (ripHi !== 0) return "host RIP";
  }
  if (hass && !canonical(ripHi)) return "host RIP";
  for (let i = 0; i < HOST_SELECTORS.length; i++) {
    if ((vmcs.readNumber(HOST_SELECTORS[i]) & 7) !== 0) {
      return `host ${HOST_SELECTOR_NAMES[i]} selector RPL/TI`;
    }
  }
  if (vmcs.readNumber(F.HOST_CS_SELECTOR) === 0) return "host CS selector";
  if (vmcs.readNumber(F.HOST_TR_SELECTOR) === 0) return "host TR selector";
  if (!hass && vmcs.readNumber(F.HOST_SS_SELECTOR) === 0) return "host SS selector";
  for (let i = 0; i < HOST_BASES.length; i++) {
    if (!canonicalField(vmcs, HOST_BASES[i])) return `host ${HOST_BASE_NAMES[i]} base`;
  }
  return undefined;
}

const EFER_VALID_BITS = Number(EFER_VALID_MASK);
const HOST_SELECTORS = [
  F.HOST_ES_SELECTOR,
  F.HOST_CS_SELECTOR,
  F.HOST_SS_SELECTOR,
  F.HOST_DS_SELECTOR,
  F.HOST_FS_SELECTOR,
  F.HOST_GS_SELECTOR,
  F.HOST_TR_SELECTOR,
];
const HOST_SELECTOR_NAMES = ["ES", "CS", "SS", "DS", "FS", "GS", "TR"];
const HOST_BASES = [F.HOST_FS_BASE, F.HOST_GS_BASE, F.HOST_GDTR_BASE, F.HOST_IDTR_BASE, F.HOST_TR_BASE];
const HOST_BASE_NAMES = ["FS", "GS", "GDTR", "IDTR", "TR"];

/** Checks S=1, P=1, reserved bits and G/limit of a code/data segment; returns the failing part. */
function codeDataCommon(ar: number, limit: number, name: string): string | undefined {
  if ((ar & AR_S) === 0) return `guest ${name} S bit`;
  if ((ar & AR_P) === 0) return `guest ${name} present bit`;
  if ((ar & AR_RESERVED_MASK) !== 0) return `guest ${name} access-rights reserved bits`;
  if (!limitMatchesGranularity(limit, ar)) return `guest ${name} limit vs G`;
  return undefined;
}

const fail = (check: string, qualification = ENTRY_FAILURE_DEFAULT): GuestCheckFailure => ({
  check,
  qualification,
});

/**
 * Checks the guest-state area (SDM Vol. 3, §26.3.1). Returns the first failing check with its exit
 * qualification, or undefined if all pass.
 */
export function checkGuestState(vmcs: VmcsReader, ctx: VmEntryCheckContext): GuestCheckFailure | undefined {
  const p = ctx.prepared ?? prepareCapabilities(ctx.caps);
  const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
  const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc2 = (proc & C.PROC_ACTIVATE_SECONDARY_CONTROLS) !== 0
    ? vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL)
    : 0;
  const entry = vmcs.readNumber(F.VM_ENTRY_CONTROLS);
  const ia32e = (entry & C.ENTRY_IA32E_MODE_GUEST) !== 0;
  const ug = (proc2 & C.PROC2_UNRESTRICTED_GUEST) !== 0;

  // Control registers, debug registers and MSRs (SDM §26.3.1.1).
  const cr0 = vmcs.readLow32(F.GUEST_CR0);
  const cr4 = vmcs.readLow32(F.GUEST_CR4);
  const f0lo = ug ? (p.cr0f0lo & ~(CR0_PE | CR0_PG)) >>> 0 : p.cr0f0lo;
  if (!fixedOk(vmcs.readHigh32(F.GUEST_CR0), cr0, p.cr0f0hi, f0lo, p.cr0f1hi, p.cr0f1lo)) {
    return fail("guest CR0 fixed bits");
  }
  const pg = (cr0 & CR0_PG) !== 0;
  const pe = (cr0 & CR0_PE) !== 0;
  if (pg && !pe) return fail("guest CR0.PG without CR0.PE");
  if (!fixedOk(vmcs.readHigh32(F.GUEST_CR4), cr4, p.cr4f0hi, p.cr4f0lo, p.cr4f1hi, p.cr4f1lo)) {
    return fail("guest CR4 fixed bits");
  }
  if (ia32e) {
    if ((cr4 & CR4_PAE) === 0) return fail("IA-32e mode guest without CR4.PAE");
    if (!pg) return fail("IA-32e mode guest without CR0.PG");
  } else if ((cr4 & CR4_PCIDE) !== 0) {
    return fail("guest CR4.PCIDE outside IA-32e mode");
  }
  if (!fitsWidth(vmcs.readHigh32(F.GUEST_CR3), p.maxPhysAddr)) return fail("guest CR3");
  if ((entry & C.ENTRY_LOAD_DEBUG_CONTROLS) !== 0) {
    if (
      vmcs.readHigh32(F.GUEST_IA32_DEBUGCTL) !== 0 ||
      (vmcs.readLow32(F.GUEST_IA32_DEBUGCTL) & DEBUGCTL_RESERVED_LOW) !== 0
    ) {
      return fail("guest IA32_DEBUGCTL");
    }
    if (vmcs.readHigh32(F.GUEST_DR7) !== 0) return fail("guest DR7");
  }
  if (!canonicalField(vmcs, F.GUEST_SYSENTER_ESP)) return fail("guest IA32_SYSENTER_ESP");
  if (!canonicalField(vmcs, F.GUEST_SYSENTER_EIP)) return fail("guest IA32_SYSENTER_EIP");
  if (
    (entry & C.ENTRY_LOAD_PAT) !== 0 &&
    !patOk(vmcs.readHigh32(F.GUEST_IA32_PAT), vmcs.readLow32(F.GUEST_IA32_PAT))
  ) {
    return fail("guest IA32_PAT");
  }
  if ((entry & C.ENTRY_LOAD_EFER) !== 0) {
    const efer = vmcs.readLow32(F.GUEST_IA32_EFER);
    if (vmcs.readHigh32(F.GUEST_IA32_EFER) !== 0 || (efer & ~EFER_VALID_BITS) !== 0) {
      return fail("guest IA32_EFER reserved bits");
    }
    if (((efer & EFER_LMA) !== 0) !== ia32e) return fail("guest IA32_EFER.LMA vs IA-32e mode guest");
    if (pg && ((efer & EFER_LME) !== 0) !== ia32e) return fail("guest IA32_EFER.LME vs IA-32e mode guest");
  }

  // Segment registers (SDM §26.3.1.2).
  const rflagsLo = vmcs.readLow32(F.GUEST_RFLAGS);
  const rflagsHi = vmcs.readHigh32(F.GUEST_RFLAGS);
  const v86 = (rflagsLo & RFLAGS_VM) !== 0;
  const csSel = vmcs.readNumber(F.GUEST_CS_SELECTOR);
  const ssSel = vmcs.readNumber(F.GUEST_SS_SELECTOR);
  const csAr = vmcs.readNumber(F.GUEST_CS_AR_BYTES);
  const ssAr = vmcs.readNumber(F.GUEST_SS_AR_BYTES);
  const trAr = vmcs.readNumber(F.GUEST_TR_AR_BYTES);
  const ldtrAr = vmcs.readNumber(F.GUEST_LDTR_AR_BYTES);
  const ldtrUsable = (ldtrAr & AR_UNUSABLE) === 0;
  const ssUsable = (ssAr & AR_UNUSABLE) === 0;
  const csType = csAr & 0xf;
  const csDpl = (csAr >>> AR_DPL_SHIFT) & 3;
  const ssDpl = (ssAr >>> AR_DPL_SHIFT) & 3;
  if ((vmcs.readNumber(F.GUEST_TR_SELECTOR) & 4) !== 0) return fail("guest TR selector TI");
  if (ldtrUsable && (vmcs.readNumber(F.GUEST_LDTR_SELECTOR) & 4) !== 0) return fail("guest LDTR selector TI");
  if (!v86 && !ug && (ssSel & 3) !== (csSel & 3)) return fail("guest SS.RPL vs CS.RPL");
  if (v86) {
    for (const i of V86_SEGMENTS) {
      const f = guestSegmentFields(i);
      const name = SEGMENT_NAMES[i];
      const sel = vmcs.readNumber(f.selector);
      if (vmcs.readHigh32(f.base) !== 0 || vmcs.readLow32(f.base) !== sel << 4) {
        return fail(`guest ${name} base (virtual-8086)`);
      }
      if (vmcs.readNumber(f.limit) !== 0xffff) return fail(`guest ${name} limit (virtual-8086)`);
      if (vmcs.readNumber(f.ar) !== 0xf3) return fail(`guest ${name} access rights (virtual-8086)`);
    }
  }
  if (!canonicalField(vmcs, F.GUEST_TR_BASE)) return fail("guest TR base");
  if (!canonicalField(vmcs, F.GUEST_FS_BASE)) return fail("guest FS base");
  if (!canonicalField(vmcs, F.GUEST_GS_BASE)) return fail("guest GS base");
  if (ldtrUsable && !canonicalField(vmcs, F.GUEST_LDTR_BASE)) return fail("guest LDTR base");
  if (vmcs.readHigh32(F.GUEST_CS_BASE) !== 0) return fail("guest CS base");
  for (const i of [SEG_SS, SEG_DS, SEG_ES]) {
    const f = guestSegmentFields(i);
    if ((vmcs.readNumber(f.ar) & AR_UNUSABLE) === 0 && vmcs.readHigh32(f.base) !== 0) {
      return fail(`guest ${SEGMENT_NAMES[i]} base`);
    }
  }
  if (!v86) {
    // CS
    const csTypeOk = csType === 9 || csType === 11 || csType === 13 || csType === 15 || (ug && csType === 3);
    if (!csTypeOk) return fail("guest CS type");
    const common = codeDataCommon(csAr, vmcs.readNumber(F.GUEST_CS_LIMIT), "CS");
    if (common) return fail(common);
    if ((csType === 9 || csType === 11) && csDpl !== ssDpl) {
      return fail("guest CS.DPL vs SS.DPL (non-conforming)");
    }
    if ((csType === 13 || csType === 15) && csDpl > ssDpl) return fail("guest CS.DPL vs SS.DPL (conforming)");
    if (csType === 3 && csDpl !== 0) return fail("guest CS.DPL (type 3)");
    if (ia32e && (csAr & AR_L) !== 0 && (csAr & AR_DB) !== 0) return fail("guest CS.L with CS.D/B");
    // SS
    if (ssUsable) {
      const ssType = ssAr & 0xf;
      if (ssType !== 3 && ssType !== 7) return fail("guest SS type");
      if (!ug && ssDpl !== (ssSel & 3)) return fail("guest SS.DPL vs SS.RPL");
      if (ug && (!pe || csType === 3) && ssDpl !== 0) return fail("guest SS.DPL (unrestricted)");
      const c = codeDataCommon(ssAr, vmcs.readNumber(F.GUEST_SS_LIMIT), "SS");
      if (c) return fail(c);
    }
    // DS, ES, FS, GS
    for (const i of DATA_SEGMENTS) {
      const f = guestSegmentFields(i);
      const ar = vmcs.readNumber(f.ar);
      if ((ar & AR_UNUSABLE) !== 0) continue;
      const name = SEGMENT_NAMES[i];
      const type = ar & 0xf;
      const dpl = (ar >>> AR_DPL_SHIFT) & 3;
      if ((type & 1) === 0) return fail(`guest ${name} type (not accessed)`);
      if ((type & 8) !== 0 && (type & 2) === 0) return fail(`guest ${name} type (execute-only code)`);
      if (!ug && type <= 11 && (vmcs.readNumber(f.selector) & 3) > dpl) {
        return fail(`guest ${name} RPL vs DPL`);
      }
      const c = codeDataCommon(ar, vmcs.readNumber(f.limit), name);
      if (c) return fail(c);
    }
  }
  // TR
  const trType = trAr & 0xf;
  if ((trAr & AR_UNUSABLE) !== 0) return fail("guest TR unusable");
  if (!(trType === 11 || (trType === 3 && !ia32e))) return fail("guest TR type");
  if ((trAr & AR_S) !== 0) return fail("guest TR S bit");
  if ((trAr & AR_P) === 0) return fail("guest TR present bit");
  if ((trAr & AR_RESERVED_MASK) !== 0) return fail("guest TR access-rights reserved bits");
  if (!limitMatchesGranularity(vmcs.readNumber(F.GUEST_TR_LIMIT), trAr)) return fail("guest TR limit vs G");
  // LDTR
  if (ldtrUsable) {
    if ((ldtrAr & 0xf) !== 2) return fail("guest LDTR type");
    if ((ldtrAr & AR_S) !== 0) return fail("guest LDTR S bit");
    if ((ldtrAr & AR_P) === 0) return fail("guest LDTR present bit");
    if ((ldtrAr & AR_RESERVED_MASK) !== 0) return fail("guest LDTR access-rights reserved bits");
    if (!limitMatchesGranularity(vmcs.readNumber(F.GUEST_LDTR_LIMIT), ldtrAr)) {
      return fail("guest LDTR limit vs G");
    }
  }

  // Descriptor-table registers (SDM §26.3.1.3).
  if (!canonicalField(vmcs, F.GUEST_GDTR_BASE)) return fail("guest GDTR base");
  if (!canonicalField(vmcs, F.GUEST_IDTR_BASE)) return fail("guest IDTR base");
  if ((vmcs.readNumber(F.GUEST_GDTR_LIMIT) >>> 16) !== 0) return fail("guest GDTR limit");
  if ((vmcs.readNumber(F.GUEST_IDTR_LIMIT) >>> 16) !== 0) return fail("guest IDTR limit");

  // RIP and RFLAGS (SDM §26.3.1.4).
  const ripHi = vmcs.readHigh32(F.GUEST_RIP);
  if (!ia32e || (csAr & AR_L) === 0) {
    if (ripHi !== 0) return fail("guest RIP");
  } else if (!canonical(ripHi)) {
    return fail("guest RIP");
  }
  if (rflagsHi !== 0 || (rflagsLo & RFLAGS_RESERVED_LOW) !== 0 || (rflagsLo & 2) === 0) {
    return fail("guest RFLAGS reserved bits");
  }
  if (v86 && (ia32e || !pe)) return fail("guest RFLAGS.VM");
  const info = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD);
  const injecting = (info & INTR_INFO_VALID) !== 0;
  const injType = (info >>> 8) & 7;
  const injVector = info & 0xff;
  if (injecting && injType === INTR_TYPE_EXTERNAL_INTERRUPT && (rflagsLo & RFLAGS_IF) === 0) {
    return fail("guest RFLAGS.IF for external-interrupt injection");
  }

  // Non-register state (SDM §26.3.1.5).
  const activity = vmcs.readNumber(F.GUEST_ACTIVITY_STATE);
  const intr = vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO);
  if (activity > ACTIVITY_WAIT_FOR_SIPI) return fail("guest activity state");
  if (activity !== 0 && (p.activityStates & (1 << (activity - 1))) === 0) {
    return fail("guest activity state unsupported");
  }
  if (activity === ACTIVITY_HLT && ssDpl !== 0) return fail("guest activity HLT with SS.DPL != 0");
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
  if ((intr & INTERRUPTIBILITY_STI) !== 0 && (rflagsLo & RFLAGS_IF) === 0) {
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
  if (
    vmcs.readHigh32(F.GUEST_PENDING_DBG_EXCEPTIONS) !== 0 ||
    (vmcs.readLow32(F.GUEST_PENDING_DBG_EXCEPTIONS) & PENDING_DBG_RESERVED_LOW) !== 0
  ) {
    return fail("guest pending debug exceptions reserved bits");
  }
  const linkHi = vmcs.readHigh32(F.VMCS_LINK_POINTER);
  const linkLo = vmcs.readLow32(F.VMCS_LINK_POINTER);
  if (linkHi !== 0xffffffff || linkLo !== 0xffffffff) {
    const q = ENTRY_FAILURE_VMCS_LINK_POINTER;
    if ((linkLo & 0xfff) !== 0 || !fitsWidth(linkHi, p.maxPhysAddr)) {
      return fail("VMCS link pointer address", q);
    }
    const at = linkHi * TWO32 + linkLo;
    if (ctx.currentVmcs !== undefined && at === ctx.currentVmcs) {
      return fail("VMCS link pointer is current VMCS", q);
    }
    const mem = ctx.mem;
    if (mem === undefined || at + F.VMCS_REGION_SIZE > mem.length) {
      return fail("VMCS link pointer address", q);
    }
    const word = (mem[at] | (mem[at + 1] << 8) | (mem[at + 2] << 16) | (mem[at + 3] << 24)) >>> 0;
    if ((word & 0x7fffffff) !== p.revision) return fail("VMCS link pointer revision", q);
    if ((word >>> 31 === 1) !== ((proc2 & C.PROC2_VMCS_SHADOWING) !== 0)) {
      return fail("VMCS link pointer shadow bit", q);
    }
  }

  // PAE PDPTEs (SDM §26.3.1.6): with EPT, outside IA-32e mode, PG and PAE on. Reserved: bits 2:1,
  // 8:5 and 63:MAXPHYADDR of a present entry.
  if ((proc2 & C.PROC2_ENABLE_EPT) !== 0 && !ia32e && pg && (cr4 & CR4_PAE) !== 0) {
    for (let i = 0; i < 4; i++) {
      const enc = F.GUEST_PDPTR0 + 2 * i;
      const lo = vmcs.readLow32(enc);
      if ((lo & 1) !== 0 && ((lo & 0x1e6) !== 0 || !fitsWidth(vmcs.readHigh32(enc), p.maxPhysAddr))) {
        return fail(`guest PDPTE${i}`, ENTRY_FAILURE_PDPTE);
      }
    }
  }
  return undefined;
}

const V86_SEGMENTS = [SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS];
const DATA_SEGMENTS = [SEG_DS, SEG_ES, SEG_FS, SEG_GS];
const RFLAGS_RESERVED_LOW = Number(GUEST_RFLAGS_RESERVED_MASK & 0xffffffffn);
const PENDING_DBG_RESERVED_LOW = Number(PENDING_DBG_RESERVED_MASK & 0xffffffffn);
const DEBUGCTL_RESERVED_LOW = Number(DEBUGCTL_RESERVED_MASK & 0xffffffffn);

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

/**
 * VMX capability MSRs (SDM Vol. 3, App. A: A.1 basic, A.3-A.6 controls and
 * miscellaneous data, A.10 EPT/VPID capabilities) and the values that describe
 * what hvsim supports.
 *
 * @module
 */

import {
  ENTRY_DEFAULT1,
  ENTRY_IA32E_MODE_GUEST,
  ENTRY_LOAD_DEBUG_CONTROLS,
  ENTRY_LOAD_EFER,
  ENTRY_LOAD_PAT,
  EXIT_ACK_INTERRUPT_ON_EXIT,
  EXIT_DEFAULT1,
  EXIT_HOST_ADDRESS_SPACE_SIZE,
  EXIT_LOAD_EFER,
  EXIT_LOAD_PAT,
  EXIT_SAVE_DEBUG_CONTROLS,
  EXIT_SAVE_EFER,
  EXIT_SAVE_PAT,
  EXIT_SAVE_PREEMPTION_TIMER,
  PIN_ACTIVATE_PREEMPTION_TIMER,
  PIN_DEFAULT1,
  PIN_EXTERNAL_INTERRUPT_EXITING,
  PIN_NMI_EXITING,
  PROC2_ENABLE_EPT,
  PROC2_ENABLE_PML,
  PROC2_RDRAND_EXITING,
  PROC2_RDSEED_EXITING,
  PROC_ACTIVATE_SECONDARY_CONTROLS,
  PROC_CR3_LOAD_EXITING,
  PROC_CR3_STORE_EXITING,
  PROC_CR8_LOAD_EXITING,
  PROC_CR8_STORE_EXITING,
  PROC_DEFAULT1,
  PROC_HLT_EXITING,
  PROC_INTERRUPT_WINDOW_EXITING,
  PROC_MOV_DR_EXITING,
  PROC_RDTSC_EXITING,
  PROC_UNCONDITIONAL_IO_EXITING,
  PROC_USE_IO_BITMAPS,
  PROC_USE_MSR_BITMAPS,
} from "./controls.ts";
import { encodingIndex, VMCS_FIELDS, VMCS_REGION_SIZE } from "./fields.ts";

/** IA32_VMX_BASIC (SDM Vol. 3, App. A.1). */
export const IA32_VMX_BASIC = 0x480;
/** IA32_VMX_PINBASED_CTLS (SDM Vol. 3, App. A.3.1). */
export const IA32_VMX_PINBASED_CTLS = 0x481;
/** IA32_VMX_PROCBASED_CTLS (SDM Vol. 3, App. A.3.2). */
export const IA32_VMX_PROCBASED_CTLS = 0x482;
/** IA32_VMX_EXIT_CTLS (SDM Vol. 3, App. A.4). */
export const IA32_VMX_EXIT_CTLS = 0x483;
/** IA32_VMX_ENTRY_CTLS (SDM Vol. 3, App. A.5). */
export const IA32_VMX_ENTRY_CTLS = 0x484;
/** IA32_VMX_MISC (SDM Vol. 3, App. A.6). */
export const IA32_VMX_MISC = 0x485;
/** IA32_VMX_CR0_FIXED0 (SDM Vol. 3, App. A.7). */
export const IA32_VMX_CR0_FIXED0 = 0x486;
/** IA32_VMX_CR0_FIXED1 (SDM Vol. 3, App. A.7). */
export const IA32_VMX_CR0_FIXED1 = 0x487;
/** IA32_VMX_CR4_FIXED0 (SDM Vol. 3, App. A.8). */
export const IA32_VMX_CR4_FIXED0 = 0x488;
/** IA32_VMX_CR4_FIXED1 (SDM Vol. 3, App. A.8). */
export const IA32_VMX_CR4_FIXED1 = 0x489;
/** IA32_VMX_VMCS_ENUM (SDM Vol. 3, App. A.9). */
export const IA32_VMX_VMCS_ENUM = 0x48a;
/** IA32_VMX_PROCBASED_CTLS2 (SDM Vol. 3, App. A.3.3). */
export const IA32_VMX_PROCBASED_CTLS2 = 0x48b;
/** IA32_VMX_EPT_VPID_CAP (SDM Vol. 3, App. A.10). */
export const IA32_VMX_EPT_VPID_CAP = 0x48c;
/** IA32_VMX_TRUE_PINBASED_CTLS (SDM Vol. 3, App. A.3.1). */
export const IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
/** IA32_VMX_TRUE_PROCBASED_CTLS (SDM Vol. 3, App. A.3.2). */
export const IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
/** IA32_VMX_TRUE_EXIT_CTLS (SDM Vol. 3, App. A.4). */
export const IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
/** IA32_VMX_TRUE_ENTRY_CTLS (SDM Vol. 3, App. A.5). */
export const IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
/** IA32_VMX_VMFUNC (SDM Vol. 3, App. A.11). */
export const IA32_VMX_VMFUNC = 0x491;

/** IA32_VMX_BASIC bits 30:0: VMCS revision identifier (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_REVISION_MASK = 0x7fffffffn;
/** IA32_VMX_BASIC bits 44:32: region size in bytes (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_REGION_SIZE_SHIFT = 32n;
/** IA32_VMX_BASIC bits 53:50: memory type for VMCS accesses, 6 = WB (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_MEMORY_TYPE_SHIFT = 50n;
/** IA32_VMX_BASIC bit 54: INS/OUTS exits report instruction information (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_INOUT = 1n << 54n;
/** IA32_VMX_BASIC bit 55: TRUE capability MSRs 0x48D-0x490 exist (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_TRUE_CTLS = 1n << 55n;
/** IA32_VMX_BASIC bit 56: entry may inject a hardware exception with or without error code (SDM Vol. 3, App. A.1). */
export const VMX_BASIC_NO_HW_ERRCODE_CHECK = 1n << 56n;

/** IA32_VMX_MISC bits 4:0: preemption timer counts down when TSC bit X changes (SDM Vol. 3, App. A.6). */
export const VMX_MISC_PREEMPTION_TIMER_RATE_MASK = 0x1fn;
/** IA32_VMX_MISC bit 5: VM exit stores EFER.LMA into "IA-32e mode guest" (SDM Vol. 3, App. A.6). */
export const VMX_MISC_SAVE_EFER_LMA = 1n << 5n;
/** IA32_VMX_MISC bit 6: activity state HLT supported (SDM Vol. 3, App. A.6). */
export const VMX_MISC_ACTIVITY_HLT = 1n << 6n;
/** IA32_VMX_MISC bit 7: activity state shutdown supported (SDM Vol. 3, App. A.6). */
export const VMX_MISC_ACTIVITY_SHUTDOWN = 1n << 7n;
/** IA32_VMX_MISC bit 8: activity state wait-for-SIPI supported (SDM Vol. 3, App. A.6). */
export const VMX_MISC_ACTIVITY_WAIT_SIPI = 1n << 8n;
/** IA32_VMX_MISC bits 24:16: number of CR3-target values (SDM Vol. 3, App. A.6). */
export const VMX_MISC_CR3_TARGETS_SHIFT = 16n;
/** IA32_VMX_MISC bit 29: VMWRITE may write read-only (exit-information) fields (SDM Vol. 3, App. A.6). */
export const VMX_MISC_VMWRITE_ANY_FIELD = 1n << 29n;
/** IA32_VMX_MISC bit 30: event injection with instruction length 0 allowed (SDM Vol. 3, App. A.6). */
export const VMX_MISC_ZERO_LENGTH_INJECTION = 1n << 30n;

/** EPT_VPID_CAP bit 0: execute-only EPT entries (SDM Vol. 3, App. A.10). */
export const EPT_CAP_EXECUTE_ONLY = 1n << 0n;
/** EPT_VPID_CAP bit 6: 4-level EPT walk (SDM Vol. 3, App. A.10). */
export const EPT_CAP_WALK_4 = 1n << 6n;
/** EPT_VPID_CAP bit 7: 5-level EPT walk (SDM Vol. 3, App. A.10). */
export const EPT_CAP_WALK_5 = 1n << 7n;
/** EPT_VPID_CAP bit 8: UC allowed as EPTP memory type (SDM Vol. 3, App. A.10). */
export const EPT_CAP_MEMTYPE_UC = 1n << 8n;
/** EPT_VPID_CAP bit 14: WB allowed as EPTP memory type (SDM Vol. 3, App. A.10). */
export const EPT_CAP_MEMTYPE_WB = 1n << 14n;
/** EPT_VPID_CAP bit 16: 2 MiB EPT pages (SDM Vol. 3, App. A.10). */
export const EPT_CAP_2MB_PAGES = 1n << 16n;
/** EPT_VPID_CAP bit 17: 1 GiB EPT pages (SDM Vol. 3, App. A.10). */
export const EPT_CAP_1GB_PAGES = 1n << 17n;
/** EPT_VPID_CAP bit 20: INVEPT supported (SDM Vol. 3, App. A.10). */
export const EPT_CAP_INVEPT = 1n << 20n;
/** EPT_VPID_CAP bit 21: EPT accessed and dirty flags (SDM Vol. 3, App. A.10). */
export const EPT_CAP_AD_FLAGS = 1n << 21n;
/** EPT_VPID_CAP bit 22: advanced VM-exit information for EPT violations (SDM Vol. 3, App. A.10). */
export const EPT_CAP_ADVANCED_EXIT_INFO = 1n << 22n;

/**
 * hvsim's VMCS revision identifier: ASCII "HVS1" read as a big-endian u32 (bit 31 is 0). It names
 * the region layout of fields.ts; a layout change gets a new identifier.
 */
export const HVSIM_VMCS_REVISION = 0x48565331;

/**
 * hvsim's physical-address width (MAXPHYADDR) for host-physical and guest-physical addresses:
 * the bound for the "bits beyond the physical-address width" checks. CPUID.80000008H:EAX[7:0]
 * should report the same value.
 */
export const HVSIM_MAX_PHYS_ADDR = 46;

/** hvsim's VMX-preemption timer rate (IA32_VMX_MISC[4:0]): 0 = one tick per TSC increment. */
export const HVSIM_PREEMPTION_TIMER_RATE = 0;

/** The capability MSR values of one (virtual) processor, plus its physical-address width. */
export interface VmxCapabilities {
  /** IA32_VMX_BASIC (0x480). */
  readonly basic: bigint;
  /** IA32_VMX_PINBASED_CTLS (0x481): bits 31:0 allowed 0-settings, 63:32 allowed 1-settings. */
  readonly pinbasedCtls: bigint;
  /** IA32_VMX_PROCBASED_CTLS (0x482). */
  readonly procbasedCtls: bigint;
  /** IA32_VMX_EXIT_CTLS (0x483). */
  readonly exitCtls: bigint;
  /** IA32_VMX_ENTRY_CTLS (0x484). */
  readonly entryCtls: bigint;
  /** IA32_VMX_MISC (0x485). */
  readonly misc: bigint;
  /** IA32_VMX_CR0_FIXED0 (0x486): bits that must be 1 in CR0. */
  readonly cr0Fixed0: bigint;
  /** IA32_VMX_CR0_FIXED1 (0x487): bits that may be 1 in CR0. */
  readonly cr0Fixed1: bigint;
  /** IA32_VMX_CR4_FIXED0 (0x488): bits that must be 1 in CR4. */
  readonly cr4Fixed0: bigint;
  /** IA32_VMX_CR4_FIXED1 (0x489): bits that may be 1 in CR4. */
  readonly cr4Fixed1: bigint;
  /** IA32_VMX_VMCS_ENUM (0x48A): highest field index in bits 9:1. */
  readonly vmcsEnum: bigint;
  /** IA32_VMX_PROCBASED_CTLS2 (0x48B). */
  readonly procbasedCtls2: bigint;
  /** IA32_VMX_EPT_VPID_CAP (0x48C). */
  readonly eptVpidCap: bigint;
  /** IA32_VMX_TRUE_PINBASED_CTLS (0x48D). */
  readonly truePinbasedCtls: bigint;
  /** IA32_VMX_TRUE_PROCBASED_CTLS (0x48E). */
  readonly trueProcbasedCtls: bigint;
  /** IA32_VMX_TRUE_EXIT_CTLS (0x48F). */
  readonly trueExitCtls: bigint;
  /** IA32_VMX_TRUE_ENTRY_CTLS (0x490). */
  readonly trueEntryCtls: bigint;
  /** IA32_VMX_VMFUNC (0x491). */
  readonly vmfunc: bigint;
  /** Physical-address width (MAXPHYADDR, CPUID.80000008H:EAX[7:0]). */
  readonly maxPhysAddr: number;
}

/** Builds an allowed-settings MSR value: allowed 0-settings in 31:0, allowed 1-settings in 63:32. */
export function controlMsr(mustBeOne: number, mayBeOne: number): bigint {
  return (BigInt((mayBeOne | mustBeOne) >>> 0) << 32n) | BigInt(mustBeOne >>> 0);
}

/** Bits a control word must have set (bits 31:0 of its capability MSR). */
export function allowed0(msr: bigint): number {
  return Number(msr & 0xffffffffn);
}

/** Bits a control word may have set (bits 63:32 of its capability MSR). */
export function allowed1(msr: bigint): number {
  return Number((msr >> 32n) & 0xffffffffn);
}

/**
 * True if a 32-bit control word respects its capability MSR: every allowed-0 bit set and no bit
 * outside the allowed-1 settings (SDM Vol. 3, App. A.3).
 */
export function controlsAllowed(value: number, msr: bigint): boolean {
  const must = allowed0(msr);
  const may = allowed1(msr);
  return ((value & must) >>> 0) === must && (value & ~may) === 0;
}

const PIN_SUPPORTED = PIN_DEFAULT1 | PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING |
  PIN_ACTIVATE_PREEMPTION_TIMER;
const PROC_SUPPORTED = PROC_DEFAULT1 | PROC_INTERRUPT_WINDOW_EXITING | PROC_HLT_EXITING | PROC_RDTSC_EXITING |
  PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
  PROC_UNCONDITIONAL_IO_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_MOV_DR_EXITING |
  PROC_ACTIVATE_SECONDARY_CONTROLS;
const PROC2_SUPPORTED = PROC2_ENABLE_EPT | PROC2_ENABLE_PML | PROC2_RDRAND_EXITING | PROC2_RDSEED_EXITING;
const EXIT_SUPPORTED = EXIT_DEFAULT1 | EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
  EXIT_SAVE_PAT |
  EXIT_LOAD_PAT | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER;
const ENTRY_SUPPORTED = ENTRY_DEFAULT1 | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT;

/** Highest index (encoding bits 9:1) among hvsim's supported fields, for IA32_VMX_VMCS_ENUM. */
function highestFieldIndex(): number {
  return VMCS_FIELDS.reduce((max, f) => Math.max(max, encodingIndex(f.encoding)), 0);
}

/**
 * The capabilities hvsim reports and enforces.
 *
 * - BASIC: revision `HVSIM_VMCS_REVISION`, 4096-byte regions, WB, INS/OUTS instruction
 *   information, TRUE control MSRs.
 * - Pin-based: external-interrupt exiting, NMI exiting, VMX-preemption timer.
 * - Primary: interrupt-window, HLT, RDTSC, CR3-load/store, CR8-load/store, unconditional I/O and
 *   MOV-DR exiting; I/O and MSR bitmaps; secondary controls. The TRUE MSR lets CR3-load/store exiting
 *   be 0 (as on Intel hardware).
 * - Secondary: enable EPT, enable PML, RDRAND exiting, RDSEED exiting (unrestricted guest is not
 *   supported).
 * - Exit: host address-space size, save/load EFER and PAT, acknowledge interrupt on exit, save
 *   preemption timer (the TRUE MSR lets "save debug controls" be 0).
 * - Entry: IA-32e mode guest, load EFER and PAT (the TRUE MSR lets "load debug controls" be 0).
 * - MISC: timer rate 0, EFER.LMA saved on exit, HLT activity state, 4 CR3-target values.
 * - CR0 must have PE, NE, PG; CR4 must have VMXE and may have bits 0-10, 13, 16-18.
 * - EPT: 4-level walk, UC and WB EPTP memory types, 2 MiB and 1 GiB pages, accessed/dirty flags;
 *   no execute-only entries, no INVEPT/INVVPID instructions, no VM functions.
 */
export const HVSIM_VMX_CAPABILITIES: VmxCapabilities = Object.freeze({
  basic: BigInt(HVSIM_VMCS_REVISION) | (BigInt(VMCS_REGION_SIZE) << VMX_BASIC_REGION_SIZE_SHIFT) |
    (6n << VMX_BASIC_MEMORY_TYPE_SHIFT) | VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS,
  pinbasedCtls: controlMsr(PIN_DEFAULT1, PIN_SUPPORTED),
  procbasedCtls: controlMsr(PROC_DEFAULT1, PROC_SUPPORTED),
  exitCtls: controlMsr(EXIT_DEFAULT1, EXIT_SUPPORTED),
  entryCtls: controlMsr(ENTRY_DEFAULT1, ENTRY_SUPPORTED),
  misc: BigInt(HVSIM_PREEMPTION_TIMER_RATE) | VMX_MISC_SAVE_EFER_LMA | VMX_MISC_ACTIVITY_HLT |
    (4n << VMX_MISC_CR3_TARGETS_SHIFT),
  cr0Fixed0: 0x80000021n,
  cr0Fixed1: 0xffffffffn,
  cr4Fixed0: 0x2000n,
  cr4Fixed1: 0x727ffn,
  vmcsEnum: BigInt(highestFieldIndex() << 1),
  procbasedCtls2: controlMsr(0, PROC2_SUPPORTED),
  eptVpidCap: EPT_CAP_WALK_4 | EPT_CAP_MEMTYPE_UC | EPT_CAP_MEMTYPE_WB | EPT_CAP_2MB_PAGES |
    EPT_CAP_1GB_PAGES |
    EPT_CAP_AD_FLAGS,
  truePinbasedCtls: controlMsr(PIN_DEFAULT1, PIN_SUPPORTED),
  trueProcbasedCtls: controlMsr(
    PROC_DEFAULT1 & ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING),
    PROC_SUPPORTED,
  ),
  trueExitCtls: controlMsr(EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CONTROLS, EXIT_SUPPORTED),
  trueEntryCtls: controlMsr(ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CONTROLS, ENTRY_SUPPORTED),
  vmfunc: 0n,
  maxPhysAddr: HVSIM_MAX_PHYS_ADDR,
});

/**
 * The value RDMSR returns for a VMX capability MSR, or undefined if the index is not one of them
 * (or is a TRUE MSR while IA32_VMX_BASIC[55] = 0, or IA32_VMX_VMFUNC without VM functions), in
 * which case RDMSR raises #GP(0).
 */
export function readVmxCapabilityMsr(caps: VmxCapabilities, index: number): bigint | undefined {
  const hasTrue = (caps.basic & VMX_BASIC_TRUE_CTLS) !== 0n;
  switch (index) {
    case IA32_VMX_BASIC:
      return caps.basic;
    case IA32_VMX_PINBASED_CTLS:
      return caps.pinbasedCtls;
    case IA32_VMX_PROCBASED_CTLS:
      return caps.procbasedCtls;
    case IA32_VMX_EXIT_CTLS:
      return caps.exitCtls;
    case IA32_VMX_ENTRY_CTLS:
      return caps.entryCtls;
    case IA32_VMX_MISC:
      return caps.misc;
    case IA32_VMX_CR0_FIXED0:
      return caps.cr0Fixed0;
    case IA32_VMX_CR0_FIXED1:
      return caps.cr0Fixed1;
    case IA32_VMX_CR4_FIXED0:
      return caps.cr4Fixed0;
    case IA32_VMX_CR4_FIXED1:
      return caps.cr4Fixed1;
    case IA32_VMX_VMCS_ENUM:
      return caps.vmcsEnum;
    case IA32_VMX_PROCBASED_CTLS2:
      return caps.procbasedCtls2;
    case IA32_VMX_EPT_VPID_CAP:
      return caps.eptVpidCap;
    case IA32_VMX_TRUE_PINBASED_CTLS:
      return hasTrue ? caps.truePinbasedCtls : undefined;
    case IA32_VMX_TRUE_PROCBASED_CTLS:
      return hasTrue ? caps.trueProcbasedCtls : undefined;
    case IA32_VMX_TRUE_EXIT_CTLS:
      return hasTrue ? caps.trueExitCtls : undefined;
    case IA32_VMX_TRUE_ENTRY_CTLS:
      return hasTrue ? caps.trueEntryCtls : undefined;
    case IA32_VMX_VMFUNC:
      return (allowed1(caps.procbasedCtls2) & 0x2000) !== 0 ? caps.vmfunc : undefined;
    default:
      return undefined;
  }
}

/** The control MSRs that VM entry checks against: TRUE ones if IA32_VMX_BASIC[55] = 1 (SDM App. A.2). */
export interface EffectiveControlMsrs {
  /** Pin-based controls MSR. */
  readonly pin: bigint;
  /** Primary processor-based controls MSR. */
  readonly proc: bigint;
  /** Secondary processor-based controls MSR. */
  readonly proc2: bigint;
  /** VM-exit controls MSR. */
  readonly exit: bigint;
  /** VM-entry controls MSR. */
  readonly entry: bigint;
}

/** Picks the control MSRs that apply: the TRUE variants when IA32_VMX_BASIC[55] = 1 (SDM Vol. 3, App. A.2). */
export function effectiveControlMsrs(caps: VmxCapabilities): EffectiveControlMsrs {
  const t = (caps.basic & VMX_BASIC_TRUE_CTLS) !== 0n;
  return {
    pin: t ? caps.truePinbasedCtls : caps.pinbasedCtls,
    proc: t ? caps.trueProcbasedCtls : caps.procbasedCtls,
    proc2: caps.procbasedCtls2,
    exit: t ? caps.trueExitCtls : caps.exitCtls,
    entry: t ? caps.trueEntryCtls : caps.entryCtls,
  };
}

/** The VMCS revision identifier of a capability set (IA32_VMX_BASIC[30:0]). */
export function vmcsRevision(caps: VmxCapabilities): number {
  return Number(caps.basic & VMX_BASIC_REVISION_MASK);
}

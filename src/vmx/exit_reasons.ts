/**
 * Basic exit reasons 0-85 (SDM Vol. 3, App. C) and the exit-reason field layout
 * (SDM Vol. 3, §24.9.1). Names follow Linux `EXIT_REASON_*` where Linux has one; 35, 38, 42, 71, 82 and
 * 83 are reserved.
 *
 * @module
 */

/** Exit reason 0: Exception or NMI (SDM Vol. 3, App. C). */
export const EXIT_REASON_EXCEPTION_NMI = 0;
/** Exit reason 1: External interrupt (SDM Vol. 3, App. C). */
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
/** Exit reason 2: Triple fault (SDM Vol. 3, App. C). */
export const EXIT_REASON_TRIPLE_FAULT = 2;
/** Exit reason 3: INIT signal (SDM Vol. 3, App. C). */
export const EXIT_REASON_INIT_SIGNAL = 3;
/** Exit reason 4: Start-up IPI (SIPI) (SDM Vol. 3, App. C). */
export const EXIT_REASON_SIPI_SIGNAL = 4;
/** Exit reason 5: I/O system-management interrupt (SMM VM exit) (SDM Vol. 3, App. C). */
export const EXIT_REASON_IO_SMI = 5;
/** Exit reason 6: Other SMI (SMM VM exit) (SDM Vol. 3, App. C). */
export const EXIT_REASON_OTHER_SMI = 6;
/** Exit reason 7: Interrupt window (SDM Vol. 3, App. C). */
export const EXIT_REASON_INTERRUPT_WINDOW = 7;
/** Exit reason 8: NMI window (SDM Vol. 3, App. C). */
export const EXIT_REASON_NMI_WINDOW = 8;
/** Exit reason 9: Task switch (SDM Vol. 3, App. C). */
export const EXIT_REASON_TASK_SWITCH = 9;
/** Exit reason 10: CPUID (SDM Vol. 3, App. C). */
export const EXIT_REASON_CPUID = 10;
/** Exit reason 11: GETSEC (SDM Vol. 3, App. C). */
export const EXIT_REASON_GETSEC = 11;
/** Exit reason 12: HLT (SDM Vol. 3, App. C). */
export const EXIT_REASON_HLT = 12;
/** Exit reason 13: INVD (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVD = 13;
/** Exit reason 14: INVLPG (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVLPG = 14;
/** Exit reason 15: RDPMC (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDPMC = 15;
/** Exit reason 16: RDTSC (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDTSC = 16;
/** Exit reason 17: RSM in SMM (SDM Vol. 3, App. C). */
export const EXIT_REASON_RSM = 17;
/** Exit reason 18: VMCALL (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMCALL = 18;
/** Exit reason 19: VMCLEAR (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMCLEAR = 19;
/** Exit reason 20: VMLAUNCH (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMLAUNCH = 20;
/** Exit reason 21: VMPTRLD (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMPTRLD = 21;
/** Exit reason 22: VMPTRST (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMPTRST = 22;
/** Exit reason 23: VMREAD (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMREAD = 23;
/** Exit reason 24: VMRESUME (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMRESUME = 24;
/** Exit reason 25: VMWRITE (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMWRITE = 25;
/** Exit reason 26: VMXOFF (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMXOFF = 26;
/** Exit reason 27: VMXON (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMXON = 27;
/** Exit reason 28: Control-register access (SDM Vol. 3, App. C). */
export const EXIT_REASON_CR_ACCESS = 28;
/** Exit reason 29: MOV DR (SDM Vol. 3, App. C). */
export const EXIT_REASON_DR_ACCESS = 29;
/** Exit reason 30: I/O instruction (SDM Vol. 3, App. C). */
export const EXIT_REASON_IO_INSTRUCTION = 30;
/** Exit reason 31: RDMSR (SDM Vol. 3, App. C). */
export const EXIT_REASON_MSR_READ = 31;
/** Exit reason 32: WRMSR (SDM Vol. 3, App. C). */
export const EXIT_REASON_MSR_WRITE = 32;
/** Exit reason 33: VM-entry failure due to invalid guest state (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVALID_GUEST_STATE = 33;
/** Exit reason 34: VM-entry failure due to MSR loading (SDM Vol. 3, App. C). */
export const EXIT_REASON_MSR_LOAD_FAIL = 34;
/** Exit reason 36: MWAIT (SDM Vol. 3, App. C). */
export const EXIT_REASON_MWAIT = 36;
/** Exit reason 37: Monitor trap flag (SDM Vol. 3, App. C). */
export const EXIT_REASON_MONITOR_TRAP_FLAG = 37;
/** Exit reason 39: MONITOR (SDM Vol. 3, App. C). */
export const EXIT_REASON_MONITOR = 39;
/** Exit reason 40: PAUSE (SDM Vol. 3, App. C). */
export const EXIT_REASON_PAUSE = 40;
/** Exit reason 41: VM-entry failure due to machine-check event (SDM Vol. 3, App. C). */
export const EXIT_REASON_MCE_DURING_VMENTRY = 41;
/** Exit reason 43: TPR below threshold (SDM Vol. 3, App. C). */
export const EXIT_REASON_TPR_BELOW_THRESHOLD = 43;
/** Exit reason 44: APIC access (SDM Vol. 3, App. C). */
export const EXIT_REASON_APIC_ACCESS = 44;
/** Exit reason 45: Virtualized EOI (SDM Vol. 3, App. C). */
export const EXIT_REASON_EOI_INDUCED = 45;
/** Exit reason 46: Access to GDTR or IDTR (SDM Vol. 3, App. C). */
export const EXIT_REASON_GDTR_IDTR = 46;
/** Exit reason 47: Access to LDTR or TR (SDM Vol. 3, App. C). */
export const EXIT_REASON_LDTR_TR = 47;
/** Exit reason 48: EPT violation (SDM Vol. 3, App. C). */
export const EXIT_REASON_EPT_VIOLATION = 48;
/** Exit reason 49: EPT misconfiguration (SDM Vol. 3, App. C). */
export const EXIT_REASON_EPT_MISCONFIG = 49;
/** Exit reason 50: INVEPT (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVEPT = 50;
/** Exit reason 51: RDTSCP (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDTSCP = 51;
/** Exit reason 52: VMX-preemption timer expired (SDM Vol. 3, App. C). */
export const EXIT_REASON_PREEMPTION_TIMER = 52;
/** Exit reason 53: INVVPID (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVVPID = 53;
/** Exit reason 54: WBINVD or WBNOINVD (SDM Vol. 3, App. C). */
export const EXIT_REASON_WBINVD = 54;
/** Exit reason 55: XSETBV (SDM Vol. 3, App. C). */
export const EXIT_REASON_XSETBV = 55;
/** Exit reason 56: APIC write (SDM Vol. 3, App. C). */
export const EXIT_REASON_APIC_WRITE = 56;
/** Exit reason 57: RDRAND (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDRAND = 57;
/** Exit reason 58: INVPCID (SDM Vol. 3, App. C). */
export const EXIT_REASON_INVPCID = 58;
/** Exit reason 59: VMFUNC (SDM Vol. 3, App. C). */
export const EXIT_REASON_VMFUNC = 59;
/** Exit reason 60: ENCLS (SDM Vol. 3, App. C). */
export const EXIT_REASON_ENCLS = 60;
/** Exit reason 61: RDSEED (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDSEED = 61;
/** Exit reason 62: Page-modification log full (SDM Vol. 3, App. C). */
export const EXIT_REASON_PML_FULL = 62;
/** Exit reason 63: XSAVES (SDM Vol. 3, App. C). */
export const EXIT_REASON_XSAVES = 63;
/** Exit reason 64: XRSTORS (SDM Vol. 3, App. C). */
export const EXIT_REASON_XRSTORS = 64;
/** Exit reason 65: PCONFIG (SDM Vol. 3, App. C). */
export const EXIT_REASON_PCONFIG = 65;
/** Exit reason 66: SPP-related event (SDM Vol. 3, App. C). */
export const EXIT_REASON_SPP_EVENT = 66;
/** Exit reason 67: UMWAIT (SDM Vol. 3, App. C). */
export const EXIT_REASON_UMWAIT = 67;
/** Exit reason 68: TPAUSE (SDM Vol. 3, App. C). */
export const EXIT_REASON_TPAUSE = 68;
/** Exit reason 69: LOADIWKEY (SDM Vol. 3, App. C). */
export const EXIT_REASON_LOADIWKEY = 69;
/** Exit reason 70: ENCLV (SDM Vol. 3, App. C). */
export const EXIT_REASON_ENCLV = 70;
/** Exit reason 72: ENQCMD PASID translation failure (SDM Vol. 3, App. C). */
export const EXIT_REASON_ENQCMD_PASID_FAIL = 72;
/** Exit reason 73: ENQCMDS PASID translation failure (SDM Vol. 3, App. C). */
export const EXIT_REASON_ENQCMDS_PASID_FAIL = 73;
/** Exit reason 74: Bus lock (SDM Vol. 3, App. C). */
export const EXIT_REASON_BUS_LOCK = 74;
/** Exit reason 75: Instruction timeout (notify window) (SDM Vol. 3, App. C). */
export const EXIT_REASON_NOTIFY = 75;
/** Exit reason 76: SEAMCALL (SDM Vol. 3, App. C). */
export const EXIT_REASON_SEAMCALL = 76;
/** Exit reason 77: TDCALL (SDM Vol. 3, App. C). */
export const EXIT_REASON_TDCALL = 77;
/** Exit reason 78: RDMSRLIST (SDM Vol. 3, App. C). */
export const EXIT_REASON_RDMSRLIST = 78;
/** Exit reason 79: WRMSRLIST (SDM Vol. 3, App. C). */
export const EXIT_REASON_WRMSRLIST = 79;
/** Exit reason 80: URDMSR (SDM Vol. 3, App. C). */
export const EXIT_REASON_URDMSR = 80;
/** Exit reason 81: UWRMSR (SDM Vol. 3, App. C). */
export const EXIT_REASON_UWRMSR = 81;
/** Exit reason 84: RDMSR with immediate operand (SDM Vol. 3, App. C). */
export const EXIT_REASON_MSR_READ_IMM = 84;
/** Exit reason 85: WRMSRNS with immediate operand (SDM Vol. 3, App. C). */
export const EXIT_REASON_MSR_WRITE_IMM = 85;

/** Exit-reason bit 31: VM-entry failure (SDM Vol. 3, §24.9.1). */
export const EXIT_REASON_FAILED_VMENTRY = 0x80000000;
/** Exit-reason bit 27: VM exit from enclave mode (SDM Vol. 3, §24.9.1). */
export const EXIT_REASON_ENCLAVE_MODE = 0x08000000;
/** Exit-reason bits 15:0: basic exit reason (SDM Vol. 3, §24.9.1). */
export const EXIT_REASON_BASIC_MASK = 0xffff;
/** Highest basic exit reason defined here (SDM Vol. 3, App. C). */
export const EXIT_REASON_MAX = 85;

/**
 * The short names of the exit reasons hvsim produces, as `run --json` counts exits by (its JSON
 * contract: `"exits": { "io": 12, ... }`); other reasons count under their number.
 */
export const EXIT_REASON_SHORT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [EXIT_REASON_EXCEPTION_NMI]: "exception",
  [EXIT_REASON_EXTERNAL_INTERRUPT]: "external-interrupt",
  [EXIT_REASON_TRIPLE_FAULT]: "triple-fault",
  [EXIT_REASON_INTERRUPT_WINDOW]: "interrupt-window",
  [EXIT_REASON_CPUID]: "cpuid",
  [EXIT_REASON_HLT]: "hlt",
  [EXIT_REASON_INVLPG]: "invlpg",
  [EXIT_REASON_RDTSC]: "rdtsc",
  [EXIT_REASON_VMCALL]: "vmcall",
  [EXIT_REASON_CR_ACCESS]: "cr-access",
  [EXIT_REASON_IO_INSTRUCTION]: "io",
  [EXIT_REASON_MSR_READ]: "rdmsr",
  [EXIT_REASON_MSR_WRITE]: "wrmsr",
  [EXIT_REASON_EPT_VIOLATION]: "ept-violation",
  [EXIT_REASON_EPT_MISCONFIG]: "ept-misconfig",
  [EXIT_REASON_RDTSCP]: "rdtscp",
  [EXIT_REASON_PREEMPTION_TIMER]: "preemption-timer",
  [EXIT_REASON_RDRAND]: "rdrand",
  [EXIT_REASON_RDSEED]: "rdseed",
  [EXIT_REASON_PML_FULL]: "pml-full",
});

/** Name of each basic exit reason 0-85 (without the `EXIT_REASON_` prefix); reserved ones are `RESERVED_n`. */
export const EXIT_REASON_NAMES: readonly string[] = Object.freeze([
  "EXCEPTION_NMI",
  "EXTERNAL_INTERRUPT",
  "TRIPLE_FAULT",
  "INIT_SIGNAL",
  "SIPI_SIGNAL",
  "IO_SMI",
  "OTHER_SMI",
  "INTERRUPT_WINDOW",
  "NMI_WINDOW",
  "TASK_SWITCH",
  "CPUID",
  "GETSEC",
  "HLT",
  "INVD",
  "INVLPG",
  "RDPMC",
  "RDTSC",
  "RSM",
  "VMCALL",
  "VMCLEAR",
  "VMLAUNCH",
  "VMPTRLD",
  "VMPTRST",
  "VMREAD",
  "VMRESUME",
  "VMWRITE",
  "VMXOFF",
  "VMXON",
  "CR_ACCESS",
  "DR_ACCESS",
  "IO_INSTRUCTION",
  "MSR_READ",
  "MSR_WRITE",
  "INVALID_GUEST_STATE",
  "MSR_LOAD_FAIL",
  "RESERVED_35",
  "MWAIT",
  "MONITOR_TRAP_FLAG",
  "RESERVED_38",
  "MONITOR",
  "PAUSE",
  "MCE_DURING_VMENTRY",
  "RESERVED_42",
  "TPR_BELOW_THRESHOLD",
  "APIC_ACCESS",
  "EOI_INDUCED",
  "GDTR_IDTR",
  "LDTR_TR",
  "EPT_VIOLATION",
  "EPT_MISCONFIG",
  "INVEPT",
  "RDTSCP",
  "PREEMPTION_TIMER",
  "INVVPID",
  "WBINVD",
  "XSETBV",
  "APIC_WRITE",
  "RDRAND",
  "INVPCID",
  "VMFUNC",
  "ENCLS",
  "RDSEED",
  "PML_FULL",
  "XSAVES",
  "XRSTORS",
  "PCONFIG",
  "SPP_EVENT",
  "UMWAIT",
  "TPAUSE",
  "LOADIWKEY",
  "ENCLV",
  "RESERVED_71",
  "ENQCMD_PASID_FAIL",
  "ENQCMDS_PASID_FAIL",
  "BUS_LOCK",
  "NOTIFY",
  "SEAMCALL",
  "TDCALL",
  "RDMSRLIST",
  "WRMSRLIST",
  "URDMSR",
  "UWRMSR",
  "RESERVED_82",
  "RESERVED_83",
  "MSR_READ_IMM",
  "MSR_WRITE_IMM",
]);

/**
 * Name of an exit reason: its basic reason's name, with " (VM-entry failure)" when bit 31 is set.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { exitReasonName } from "./exit_reasons.ts";
 * equal(exitReasonName(30), "IO_INSTRUCTION");
 * equal(exitReasonName(0x80000021), "INVALID_GUEST_STATE (VM-entry failure)");
 * ```
 */
export function exitReasonName(exitReason: number): string {
  const basic = exitReason & EXIT_REASON_BASIC_MASK;
  const name = EXIT_REASON_NAMES[basic] ?? `UNKNOWN_${basic}`;
  return (exitReason & EXIT_REASON_FAILED_VMENTRY) !== 0 ? `${name} (VM-entry failure)` : name;
}

/** Basic exit reason (bits 15:0) of an exit-reason field value. */
export function basicExitReason(exitReason: number): number {
  return exitReason & EXIT_REASON_BASIC_MASK;
}

/** True if bit 31 (VM-entry failure) is set in an exit-reason field value. */
export function isVmEntryFailure(exitReason: number): boolean {
  return (exitReason & EXIT_REASON_FAILED_VMENTRY) !== 0;
}

/** Builds an exit-reason field value from a basic reason and the VM-entry-failure bit. */
export function makeExitReason(basic: number, entryFailure = false): number {
  return ((basic & EXIT_REASON_BASIC_MASK) | (entryFailure ? EXIT_REASON_FAILED_VMENTRY : 0)) >>> 0;
}

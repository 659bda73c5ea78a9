/**
 * Bits of the VM-execution, VM-exit and VM-entry control fields (SDM Vol. 3, §24.6-24.8; names as
 * Linux `asm/vmx.h` spells them, cross-checked with Bochs `vmx_ctrls.h`).
 *
 * @module
 */

// Pin-based VM-execution controls, field 0x4000 (SDM Vol. 3, §24.6.1).

/** Pin-based bit 0: external-interrupt exiting (SDM Vol. 3, §24.6.1). */
export const PIN_EXTERNAL_INTERRUPT_EXITING = 0x1;
/** Pin-based bit 3: NMI exiting (SDM Vol. 3, §24.6.1). */
export const PIN_NMI_EXITING = 0x8;
/** Pin-based bit 5: virtual NMIs (SDM Vol. 3, §24.6.1). */
export const PIN_VIRTUAL_NMIS = 0x20;
/** Pin-based bit 6: activate VMX-preemption timer (SDM Vol. 3, §24.6.1). */
export const PIN_ACTIVATE_PREEMPTION_TIMER = 0x40;
/** Pin-based bit 7: process posted interrupts (SDM Vol. 3, §24.6.1). */
export const PIN_PROCESS_POSTED_INTERRUPTS = 0x80;
/** Pin-based default-1 class: bits 1, 2, 4 (SDM Vol. 3, App. A.3.1). */
export const PIN_DEFAULT1 = 0x16;

// Primary processor-based VM-execution controls, field 0x4002 (SDM Vol. 3, §24.6.2).

/** Primary bit 2: interrupt-window exiting (SDM Vol. 3, §24.6.2). */
export const PROC_INTERRUPT_WINDOW_EXITING = 0x4;
/** Primary bit 3: use TSC offsetting (SDM Vol. 3, §24.6.2). */
export const PROC_USE_TSC_OFFSETTING = 0x8;
/** Primary bit 7: HLT exiting (SDM Vol. 3, §24.6.2). */
export const PROC_HLT_EXITING = 0x80;
/** Primary bit 9: INVLPG exiting (SDM Vol. 3, §24.6.2). */
export const PROC_INVLPG_EXITING = 0x200;
/** Primary bit 10: MWAIT exiting (SDM Vol. 3, §24.6.2). */
export const PROC_MWAIT_EXITING = 0x400;
/** Primary bit 11: RDPMC exiting (SDM Vol. 3, §24.6.2). */
export const PROC_RDPMC_EXITING = 0x800;
/** Primary bit 12: RDTSC exiting (SDM Vol. 3, §24.6.2). */
export const PROC_RDTSC_EXITING = 0x1000;
/** Primary bit 15: CR3-load exiting (SDM Vol. 3, §24.6.2). */
export const PROC_CR3_LOAD_EXITING = 0x8000;
/** Primary bit 16: CR3-store exiting (SDM Vol. 3, §24.6.2). */
export const PROC_CR3_STORE_EXITING = 0x10000;
/** Primary bit 17: activate tertiary controls (SDM Vol. 3, §24.6.2). */
export const PROC_ACTIVATE_TERTIARY_CONTROLS = 0x20000;
/** Primary bit 19: CR8-load exiting (SDM Vol. 3, §24.6.2). */
export const PROC_CR8_LOAD_EXITING = 0x80000;
/** Primary bit 20: CR8-store exiting (SDM Vol. 3, §24.6.2). */
export const PROC_CR8_STORE_EXITING = 0x100000;
/** Primary bit 21: use TPR shadow (SDM Vol. 3, §24.6.2). */
export const PROC_USE_TPR_SHADOW = 0x200000;
/** Primary bit 22: NMI-window exiting (SDM Vol. 3, §24.6.2). */
export const PROC_NMI_WINDOW_EXITING = 0x400000;
/** Primary bit 23: MOV-DR exiting (SDM Vol. 3, §24.6.2). */
export const PROC_MOV_DR_EXITING = 0x800000;
/** Primary bit 24: unconditional I/O exiting (SDM Vol. 3, §24.6.2). */
export const PROC_UNCONDITIONAL_IO_EXITING = 0x1000000;
/** Primary bit 25: use I/O bitmaps, overrides bit 24 (SDM Vol. 3, §24.6.2). */
export const PROC_USE_IO_BITMAPS = 0x2000000;
/** Primary bit 27: monitor trap flag (SDM Vol. 3, §24.6.2). */
export const PROC_MONITOR_TRAP_FLAG = 0x8000000;
/** Primary bit 28: use MSR bitmaps (SDM Vol. 3, §24.6.2). */
export const PROC_USE_MSR_BITMAPS = 0x10000000;
/** Primary bit 29: MONITOR exiting (SDM Vol. 3, §24.6.2). */
export const PROC_MONITOR_EXITING = 0x20000000;
/** Primary bit 30: PAUSE exiting (SDM Vol. 3, §24.6.2). */
export const PROC_PAUSE_EXITING = 0x40000000;
/** Primary bit 31: activate secondary controls (SDM Vol. 3, §24.6.2). */
export const PROC_ACTIVATE_SECONDARY_CONTROLS = 0x80000000;
/** Primary default-1 class: bits 1, 4-6, 8, 13-16, 26 (SDM Vol. 3, App. A.3.2). */
export const PROC_DEFAULT1 = 0x0401e172;

// Secondary processor-based VM-execution controls, field 0x401E (SDM Vol. 3, §24.6.2).

/** Secondary bit 0: virtualize APIC accesses (SDM Vol. 3, §24.6.2). */
export const PROC2_VIRTUALIZE_APIC_ACCESSES = 0x1;
/** Secondary bit 1: enable EPT (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_EPT = 0x2;
/** Secondary bit 2: descriptor-table exiting (SDM Vol. 3, §24.6.2). */
export const PROC2_DESCRIPTOR_TABLE_EXITING = 0x4;
/** Secondary bit 3: enable RDTSCP (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_RDTSCP = 0x8;
/** Secondary bit 4: virtualize x2APIC mode (SDM Vol. 3, §24.6.2). */
export const PROC2_VIRTUALIZE_X2APIC = 0x10;
/** Secondary bit 5: enable VPID (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_VPID = 0x20;
/** Secondary bit 6: WBINVD exiting (SDM Vol. 3, §24.6.2). */
export const PROC2_WBINVD_EXITING = 0x40;
/** Secondary bit 7: unrestricted guest (SDM Vol. 3, §24.6.2). */
export const PROC2_UNRESTRICTED_GUEST = 0x80;
/** Secondary bit 10: PAUSE-loop exiting (SDM Vol. 3, §24.6.2). */
export const PROC2_PAUSE_LOOP_EXITING = 0x400;
/** Secondary bit 11: RDRAND exiting (SDM Vol. 3, §24.6.2). */
export const PROC2_RDRAND_EXITING = 0x800;
/** Secondary bit 12: enable INVPCID (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_INVPCID = 0x1000;
/** Secondary bit 13: enable VM functions (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_VMFUNC = 0x2000;
/** Secondary bit 14: VMCS shadowing (SDM Vol. 3, §24.6.2). */
export const PROC2_VMCS_SHADOWING = 0x4000;
/** Secondary bit 16: RDSEED exiting (SDM Vol. 3, §24.6.2). */
export const PROC2_RDSEED_EXITING = 0x10000;
/** Secondary bit 17: enable PML (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_PML = 0x20000;
/** Secondary bit 18: EPT-violation #VE (SDM Vol. 3, §24.6.2). */
export const PROC2_EPT_VIOLATION_VE = 0x40000;
/** Secondary bit 20: enable XSAVES/XRSTORS (SDM Vol. 3, §24.6.2). */
export const PROC2_ENABLE_XSAVES = 0x100000;
/** Secondary bit 22: mode-based execute control for EPT (SDM Vol. 3, §24.6.2). */
export const PROC2_MODE_BASED_EPT_EXEC = 0x400000;
/** Secondary bit 25: use TSC scaling (SDM Vol. 3, §24.6.2). */
export const PROC2_USE_TSC_SCALING = 0x2000000;

// Primary VM-exit controls, field 0x400C (SDM Vol. 3, §24.7.1).

/** Exit bit 2: save debug controls (SDM Vol. 3, §24.7.1). */
export const EXIT_SAVE_DEBUG_CONTROLS = 0x4;
/** Exit bit 9: host address-space size (SDM Vol. 3, §24.7.1). */
export const EXIT_HOST_ADDRESS_SPACE_SIZE = 0x200;
/** Exit bit 12: load IA32_PERF_GLOBAL_CTRL (SDM Vol. 3, §24.7.1). */
export const EXIT_LOAD_PERF_GLOBAL_CTRL = 0x1000;
/** Exit bit 15: acknowledge interrupt on exit (SDM Vol. 3, §24.7.1). */
export const EXIT_ACK_INTERRUPT_ON_EXIT = 0x8000;
/** Exit bit 18: save IA32_PAT (SDM Vol. 3, §24.7.1). */
export const EXIT_SAVE_PAT = 0x40000;
/** Exit bit 19: load IA32_PAT (SDM Vol. 3, §24.7.1). */
export const EXIT_LOAD_PAT = 0x80000;
/** Exit bit 20: save IA32_EFER (SDM Vol. 3, §24.7.1). */
export const EXIT_SAVE_EFER = 0x100000;
/** Exit bit 21: load IA32_EFER (SDM Vol. 3, §24.7.1). */
export const EXIT_LOAD_EFER = 0x200000;
/** Exit bit 22: save VMX-preemption timer value (SDM Vol. 3, §24.7.1). */
export const EXIT_SAVE_PREEMPTION_TIMER = 0x400000;
/** Exit bit 23: clear IA32_BNDCFGS (SDM Vol. 3, §24.7.1). */
export const EXIT_CLEAR_BNDCFGS = 0x800000;
/** VM-exit default-1 class: bits 0-8, 10, 11, 13, 14, 16, 17 (SDM Vol. 3, App. A.4). */
export const EXIT_DEFAULT1 = 0x36dff;

// VM-entry controls, field 0x4012 (SDM Vol. 3, §24.8.1).

/** Entry bit 2: load debug controls (SDM Vol. 3, §24.8.1). */
export const ENTRY_LOAD_DEBUG_CONTROLS = 0x4;
/** Entry bit 9: IA-32e mode guest (SDM Vol. 3, §24.8.1). */
export const ENTRY_IA32E_MODE_GUEST = 0x200;
/** Entry bit 10: entry to SMM (SDM Vol. 3, §24.8.1). */
export const ENTRY_TO_SMM = 0x400;
/** Entry bit 11: deactivate dual-monitor treatment (SDM Vol. 3, §24.8.1). */
export const ENTRY_DEACTIVATE_DUAL_MONITOR = 0x800;
/** Entry bit 13: load IA32_PERF_GLOBAL_CTRL (SDM Vol. 3, §24.8.1). */
export const ENTRY_LOAD_PERF_GLOBAL_CTRL = 0x2000;
/** Entry bit 14: load IA32_PAT (SDM Vol. 3, §24.8.1). */
export const ENTRY_LOAD_PAT = 0x4000;
/** Entry bit 15: load IA32_EFER (SDM Vol. 3, §24.8.1). */
export const ENTRY_LOAD_EFER = 0x8000;
/** Entry bit 16: load IA32_BNDCFGS (SDM Vol. 3, §24.8.1). */
export const ENTRY_LOAD_BNDCFGS = 0x10000;
/** VM-entry default-1 class: bits 0-8, 12 (SDM Vol. 3, App. A.5). */
export const ENTRY_DEFAULT1 = 0x11ff;

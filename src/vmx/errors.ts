/**
 * VM-instruction error numbers, written to the VM-instruction error field (0x4400) by VMfailValid
 * (SDM Vol. 3, Table 30-1). Numbers 14, 21 and 27 are not defined.
 *
 * @module
 */

/** VM-instruction error 1: VMCALL executed in VMX root operation (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCALL_IN_VMX_ROOT_OPERATION = 1;
/** VM-instruction error 2: VMCLEAR with invalid physical address (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCLEAR_INVALID_ADDRESS = 2;
/** VM-instruction error 3: VMCLEAR with VMXON pointer (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCLEAR_VMXON_POINTER = 3;
/** VM-instruction error 4: VMLAUNCH with non-clear VMCS (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4;
/** VM-instruction error 5: VMRESUME with non-launched VMCS (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5;
/** VM-instruction error 6: VMRESUME after VMXOFF (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMRESUME_AFTER_VMXOFF = 6;
/** VM-instruction error 7: VM entry with invalid control field(s) (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7;
/** VM-instruction error 8: VM entry with invalid host-state field(s) (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8;
/** VM-instruction error 9: VMPTRLD with invalid physical address (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMPTRLD_INVALID_ADDRESS = 9;
/** VM-instruction error 10: VMPTRLD with VMXON pointer (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMPTRLD_VMXON_POINTER = 10;
/** VM-instruction error 11: VMPTRLD with incorrect VMCS revision identifier (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID = 11;
/** VM-instruction error 12: VMREAD/VMWRITE from/to unsupported VMCS component (SDM Vol. 3, Table 30-1). */
export const VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12;
/** VM-instruction error 13: VMWRITE to read-only VMCS component (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT = 13;
/** VM-instruction error 15: VMXON executed in VMX root operation (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMXON_IN_VMX_ROOT_OPERATION = 15;
/** VM-instruction error 16: VM entry with invalid executive-VMCS pointer (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_INVALID_EXECUTIVE_VMCS_POINTER = 16;
/** VM-instruction error 17: VM entry with non-launched executive VMCS (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_NONLAUNCHED_EXECUTIVE_VMCS = 17;
/** VM-instruction error 18: VM entry with executive-VMCS pointer not VMXON pointer (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_EXECUTIVE_VMCS_POINTER_NOT_VMXON_POINTER = 18;
/** VM-instruction error 19: VMCALL with non-clear VMCS (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCALL_NONCLEAR_VMCS = 19;
/** VM-instruction error 20: VMCALL with invalid VM-exit control fields (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCALL_INVALID_VM_EXIT_CONTROL_FIELDS = 20;
/** VM-instruction error 22: VMCALL with incorrect MSEG revision identifier (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCALL_INCORRECT_MSEG_REVISION_ID = 22;
/** VM-instruction error 23: VMXOFF under dual-monitor treatment of SMIs and SMM (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMXOFF_UNDER_DUAL_MONITOR_TREATMENT_OF_SMIS_AND_SMM = 23;
/** VM-instruction error 24: VMCALL with invalid SMM-monitor features (SDM Vol. 3, Table 30-1). */
export const VMXERR_VMCALL_INVALID_SMM_MONITOR_FEATURES = 24;
/** VM-instruction error 25: VM entry with invalid VM-execution control fields in executive VMCS (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_INVALID_VM_EXECUTION_CONTROL_FIELDS_IN_EXECUTIVE_VMCS = 25;
/** VM-instruction error 26: VM entry with events blocked by MOV SS (SDM Vol. 3, Table 30-1). */
export const VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26;
/** VM-instruction error 28: Invalid operand to INVEPT/INVVPID (SDM Vol. 3, Table 30-1). */
export const VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID = 28;

/** Meaning of each defined VM-instruction error number (SDM Vol. 3, §30.4). */
export const VM_INSTRUCTION_ERROR_MESSAGES: ReadonlyMap<number, string> = new Map([
  [1, "VMCALL executed in VMX root operation"],
  [2, "VMCLEAR with invalid physical address"],
  [3, "VMCLEAR with VMXON pointer"],
  [4, "VMLAUNCH with non-clear VMCS"],
  [5, "VMRESUME with non-launched VMCS"],
  [6, "VMRESUME after VMXOFF"],
  [7, "VM entry with invalid control field(s)"],
  [8, "VM entry with invalid host-state field(s)"],
  [9, "VMPTRLD with invalid physical address"],
  [10, "VMPTRLD with VMXON pointer"],
  [11, "VMPTRLD with incorrect VMCS revision identifier"],
  [12, "VMREAD/VMWRITE from/to unsupported VMCS component"],
  [13, "VMWRITE to read-only VMCS component"],
  [15, "VMXON executed in VMX root operation"],
  [16, "VM entry with invalid executive-VMCS pointer"],
  [17, "VM entry with non-launched executive VMCS"],
  [18, "VM entry with executive-VMCS pointer not VMXON pointer"],
  [19, "VMCALL with non-clear VMCS"],
  [20, "VMCALL with invalid VM-exit control fields"],
  [22, "VMCALL with incorrect MSEG revision identifier"],
  [23, "VMXOFF under dual-monitor treatment of SMIs and SMM"],
  [24, "VMCALL with invalid SMM-monitor features"],
  [25, "VM entry with invalid VM-execution control fields in executive VMCS"],
  [26, "VM entry with events blocked by MOV SS"],
  [28, "Invalid operand to INVEPT/INVVPID"],
]);

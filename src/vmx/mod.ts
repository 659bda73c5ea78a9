/**
 * The VMX layer: VMCS field table and region, VMX instructions, capability MSRs, VM-entry checks,
 * exit reasons and qualifications, EPT.
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

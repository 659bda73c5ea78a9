/**
 * The VMX instructions as the hypervisor calls them (VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST,
 * VMREAD, VMWRITE, VMLAUNCH, VMRESUME), with the SDM's success/failure conventions (SDM
 * Vol. 3, §30.2; error numbers §30.4; VM-entry order §26.1-26.3). Results are values; `applyVmxResultToRflags` reflects them in RFLAGS.
 *
 * Faults that depend on CPU state this layer does not see (CR4.VMXE = 0, CPL > 0, compatibility
 * mode, CR0/CR4 fixed bits at VMXON) are the CPU's to raise before calling; the only fault reported
 * here is #UD for an instruction other than VMXON outside VMX operation.
 *
 * @module
 */

import {
  allowed1,
  HVSIM_VMX_CAPABILITIES,
  vmcsRevision,
  VMX_MISC_VMWRITE_ANY_FIELD,
  type VmxCapabilities,
} from "./capabilities.ts";
import { PROC2_VMCS_SHADOWING } from "./controls.ts";
import { checkVmEntry, prepareCapabilities, type PreparedCapabilities } from "./entry_checks.ts";
import {
  VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS,
  VMXERR_ENTRY_INVALID_CONTROL_FIELD,
  VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
  VMXERR_UNSUPPORTED_VMCS_COMPONENT,
  VMXERR_VMCLEAR_INVALID_ADDRESS,
  VMXERR_VMCLEAR_VMXON_POINTER,
  VMXERR_VMLAUNCH_NONCLEAR_VMCS,
  VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID,
  VMXERR_VMPTRLD_INVALID_ADDRESS,
  VMXERR_VMPTRLD_VMXON_POINTER,
  VMXERR_VMRESUME_NONLAUNCHED_VMCS,
  VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT,
  VMXERR_VMXON_IN_VMX_ROOT_OPERATION,
} from "./errors.ts";
import {
  EXIT_QUALIFICATION,
  findField,
  GUEST_INTERRUPTIBILITY_INFO,
  VM_EXIT_REASON,
  VM_INSTRUCTION_ERROR,
  VMCS_LAUNCH_STATE_OFFSET,
  VMCS_REGION_SIZE,
} from "./fields.ts";
import { INTERRUPTIBILITY_MOV_SS } from "./guest_state.ts";
import { LAUNCH_STATE_CLEAR, LAUNCH_STATE_LAUNCHED, Vmcs } from "./vmcs.ts";

/** RFLAGS.CF, bit 0 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_CF = 0x1;
/** RFLAGS.PF, bit 2 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_PF = 0x4;
/** RFLAGS.AF, bit 4 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_AF = 0x10;
/** RFLAGS.ZF, bit 6 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_ZF = 0x40;
/** RFLAGS.SF, bit 7 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_SF = 0x80;
/** RFLAGS.OF, bit 11 (SDM Vol. 1, §3.4.3). */
export const RFLAGS_OF = 0x800;
/** The six arithmetic flags every VMX instruction outcome writes (SDM Vol. 3, §30.2). */
export const VMX_RESULT_RFLAGS_MASK = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF;

/** #UD, vector 6: VMX instruction outside VMX operation (SDM Vol. 2B, VMX instruction pseudocode). */
export const VECTOR_UD = 6;

/** VMsucceed: CF, PF, AF, ZF, SF, OF cleared (SDM Vol. 3, §30.2). */
export interface VmSucceed {
  /** Success. */
  readonly ok: true;
}
/** VMfailInvalid: no current VMCS; CF set (SDM Vol. 3, §30.2). */
export interface VmFailInvalid {
  /** Failure. */
  readonly ok: false;
  /** VMfailInvalid. */
  readonly kind: "invalid";
}
/** VMfailValid(error): ZF set, error written to field 0x4400 (SDM Vol. 3, §30.2). */
export interface VmFailValid {
  /** Failure. */
  readonly ok: false;
  /** VMfailValid. */
  readonly kind: "valid";
  /** VM-instruction error number (errors.ts). */
  readonly error: number;
}
/** A fault instead of completion (RFLAGS untouched, RIP not advanced). */
export interface VmxFault {
  /** Failure. */
  readonly ok: false;
  /** Fault. */
  readonly kind: "fault";
  /** Exception vector (VECTOR_UD). */
  readonly vector: number;
}
/** A VM entry that failed on guest state: a VM exit with reason 0x80000021 (SDM Vol. 3, §26.7). */
export interface VmEntryFailure {
  /** Failure. */
  readonly ok: false;
  /** Entry failure: the caller loads host state as for a VM exit (RFLAGS = 0x2). */
  readonly kind: "entry-failure";
  /** Exit reason written to 0x4402: 33 | 0x80000000. */
  readonly exitReason: number;
  /** Exit qualification written to 0x6400 (0, 2, 3 or 4). */
  readonly qualification: number;
  /** Which guest-state check failed. */
  readonly check: string;
}

/** Outcome of a VMX instruction. */
export type VmxResult = VmSucceed | VmFailInvalid | VmFailValid | VmxFault;
/** Outcome of VMLAUNCH/VMRESUME: `{ok: true}` means the guest is entered. */
export type VmEntryResult = VmxResult | VmEntryFailure;
/** Outcome of VMREAD. */
export type VmReadResult =
  | { readonly ok: true; readonly value: bigint }
  | VmFailInvalid
  | VmFailValid
  | VmxFault;
/** Outcome of VMPTRST. */
export type VmPtrstResult = { readonly ok: true; readonly value: bigint } | VmxFault;

/** The VMsucceed result (shared, frozen: results never allocate). */
export const VM_SUCCEED: VmSucceed = Object.freeze({ ok: true });
/** The VMfailInvalid result. */
export const VM_FAIL_INVALID: VmFailInvalid = Object.freeze({ ok: false, kind: "invalid" });
/** The #UD fault result. */
export const VM_FAULT_UD: VmxFault = Object.freeze({ ok: false, kind: "fault", vector: VECTOR_UD });
const VM_FAIL_VALID: readonly VmFailValid[] = Object.freeze(
  Array.from({ length: 64 }, (_, error) => Object.freeze({ ok: false, kind: "valid", error } as const)),
);

/** The VMfailValid(error) result (shared, frozen). */
export function vmFailValid(error: number): VmFailValid {
  return VM_FAIL_VALID[error] ?? Object.freeze({ ok: false, kind: "valid", error });
}

/**
 * RFLAGS after a VMX instruction (SDM Vol. 3, §30.2): VMsucceed clears CF, PF, AF, ZF, SF, OF;
 * VMfailInvalid sets CF and clears the others; VMfailValid sets ZF and clears the others; a fault
 * or a VM-entry failure leaves RFLAGS to the caller. RFLAGS bits 63:32 are reserved (0), so a
 * number holds it.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { applyVmxResultToRflags, VM_FAIL_INVALID, vmFailValid, VM_SUCCEED } from "./instructions.ts";
 * equal(applyVmxResultToRflags(0x8d7, VM_SUCCEED), 0x2);
 * equal(applyVmxResultToRflags(0x2, VM_FAIL_INVALID), 0x3);
 * equal(applyVmxResultToRflags(0x202, vmFailValid(12)), 0x242);
 * ```
 */
export function applyVmxResultToRflags(
  rflags: number,
  result: VmEntryResult | VmReadResult | VmPtrstResult,
): number {
  if (result.ok) return (rflags & ~VMX_RESULT_RFLAGS_MASK) >>> 0;
  if (result.kind === "invalid") return ((rflags & ~VMX_RESULT_RFLAGS_MASK) | RFLAGS_CF) >>> 0;
  if (result.kind === "valid") return ((rflags & ~VMX_RESULT_RFLAGS_MASK) | RFLAGS_ZF) >>> 0;
  return rflags;
}

/** Options of a `Vmx`. */
export interface VmxOptions {
  /** Capability MSRs to enforce. Default: HVSIM_VMX_CAPABILITIES. */
  caps?: VmxCapabilities;
  /** Whether the logical processor is in IA-32e mode (the host is 64-bit). Default true. */
  hostLma?: boolean;
}

/** Saved VMX-operation state of a logical processor (plain data). */
export interface VmxState {
  /** In VMX operation (after VMXON, before VMXOFF). */
  inVmxOperation: boolean;
  /** VMXON pointer, -1 when not in VMX operation. */
  vmxonPointer: number;
  /** Current-VMCS pointer, -1 when there is none. */
  currentVmcsPointer: number;
}

/**
 * The VMX-operation state of one logical processor in VMX root operation, over host-physical
 * memory `mem` (VMXON region and VMCS regions live there). Addresses are byte indices into `mem`;
 * an address is valid when it is 4 KiB-aligned, below 2^MAXPHYADDR, and a whole 4 KiB region fits
 * in `mem` (hvsim treats a region outside host memory as an invalid address).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Vmx } from "./instructions.ts";
 * import { HVSIM_VMCS_REVISION } from "./capabilities.ts";
 * import { GUEST_RIP } from "./fields.ts";
 * const mem = new Uint8Array(0x3000);
 * const dv = new DataView(mem.buffer);
 * dv.setUint32(0x1000, HVSIM_VMCS_REVISION, true); // VMXON region
 * dv.setUint32(0x2000, HVSIM_VMCS_REVISION, true); // VMCS region
 * const vmx = new Vmx(mem);
 * equal(vmx.vmxon(0x1000).ok, true);
 * equal(vmx.vmclear(0x2000).ok, true);
 * equal(vmx.vmptrld(0x2000).ok, true);
 * equal(vmx.vmwrite(GUEST_RIP, 0x401000n).ok, true);
 * const r = vmx.vmread(GUEST_RIP);
 * equal(r.ok && r.value, 0x401000n);
 * ```
 */
export class Vmx {
  /** Host-physical memory. */
  readonly mem: Uint8Array;
  /** Capabilities enforced. */
  readonly caps: VmxCapabilities;
  /** Whether the host is in IA-32e mode. */
  readonly hostLma: boolean;
  readonly #view: DataView;
  readonly #revision: number;
  readonly #shadowingSupported: boolean;
  readonly #vmwriteAny: boolean;
  readonly #prepared: PreparedCapabilities;
  #inVmx = false;
  #vmxonPointer = -1;
  #current = -1;
  #vmcs: Vmcs | undefined = undefined;

  /** Creates a logical processor outside VMX operation. */
  constructor(mem: Uint8Array, options: VmxOptions = {}) {
    this.mem = mem;
    this.caps = options.caps ?? HVSIM_VMX_CAPABILITIES;
    this.hostLma = options.hostLma ?? true;
    this.#view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    this.#revision = vmcsRevision(this.caps);
    this.#shadowingSupported = (allowed1(this.caps.procbasedCtls2) & PROC2_VMCS_SHADOWING) !== 0;
    this.#vmwriteAny = (this.caps.misc & VMX_MISC_VMWRITE_ANY_FIELD) !== 0n;
    this.#prepared = prepareCapabilities(this.caps);
  }

  /** True between a successful VMXON and VMXOFF. */
  get inVmxOperation(): boolean {
    return this.#inVmx;
  }

  /** The VMXON pointer, or -1 outside VMX operation. */
  get vmxonPointer(): number {
    return this.#vmxonPointer;
  }

  /** The current-VMCS pointer, or -1 if there is no current VMCS. */
  get currentVmcsPointer(): number {
    return this.#current;
  }

  /** The current VMCS, or undefined. */
  get currentVmcs(): Vmcs | undefined {
    return this.#vmcs;
  }

  #validRegion(address: number): boolean {
    return Number.isSafeInteger(address) && address >= 0 && address % VMCS_REGION_SIZE === 0 &&
      address < 2 ** this.caps.maxPhysAddr && address + VMCS_REGION_SIZE <= this.mem.length;
  }

  /** VMfail(error): VMfailValid with the error recorded if there is a current VMCS, else VMfailInvalid. */
  #fail(error: number): VmFailValid | VmFailInvalid {
    if (this.#vmcs === undefined) return VM_FAIL_INVALID;
    this.#vmcs.writeNumber(VM_INSTRUCTION_ERROR, error);
    return vmFailValid(error);
  }

  /**
   * VMXON: enter VMX operation with the VMXON region at `address`. VMfailInvalid for an invalid
   * address or a region whose first word is not the revision identifier (bit 31 clear);
   * VMfail(15) if already in VMX operation.
   */
  vmxon(address: number): VmxResult {
    if (this.#inVmx) return this.#fail(VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
    if (!this.#validRegion(address)) return VM_FAIL_INVALID;
    if (this.#view.getUint32(address, true) !== this.#revision) return VM_FAIL_INVALID;
    this.#inVmx = true;
    this.#vmxonPointer = address;
    this.#current = -1;
    this.#vmcs = undefined;
    return VM_SUCCEED;
  }

  /** VMXOFF: leave VMX operation (#UD outside it). The current VMCS is forgotten. */
  vmxoff(): VmxResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    this.#inVmx = false;
    this.#vmxonPointer = -1;
    this.#current = -1;
    this.#vmcs = undefined;
    return VM_SUCCEED;
  }

  /**
   * VMCLEAR: set the launch state of the VMCS at `address` to clear, and forget it if it is current.
   * VMfail(2) for an invalid address, VMfail(3) for the VMXON pointer.
   */
  vmclear(address: number): VmxResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    if (!this.#validRegion(address)) return this.#fail(VMXERR_VMCLEAR_INVALID_ADDRESS);
    if (address === this.#vmxonPointer) return this.#fail(VMXERR_VMCLEAR_VMXON_POINTER);
    this.#view.setUint32(address + VMCS_LAUNCH_STATE_OFFSET, LAUNCH_STATE_CLEAR, true);
    if (address === this.#current) {
      this.#current = -1;
      this.#vmcs = undefined;
    }
    return VM_SUCCEED;
  }

  /**
   * VMPTRLD: make the VMCS at `address` current. VMfail(9) for an invalid address, VMfail(10) for
   * the VMXON pointer, VMfail(11) for a wrong revision identifier or a shadow VMCS without VMCS
   * shadowing support.
   */
  vmptrld(address: number): VmxResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    if (!this.#validRegion(address)) return this.#fail(VMXERR_VMPTRLD_INVALID_ADDRESS);
    if (address === this.#vmxonPointer) return this.#fail(VMXERR_VMPTRLD_VMXON_POINTER);
    const word = this.#view.getUint32(address, true);
    const shadow = word >>> 31 === 1;
    if ((word & 0x7fffffff) !== this.#revision || (shadow && !this.#shadowingSupported)) {
      return this.#fail(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
    }
    if (address !== this.#current) {
      this.#current = address;
      this.#vmcs = new Vmcs(this.mem, address);
    }
    return VM_SUCCEED;
  }

  /** VMPTRST: the current-VMCS pointer, all ones (FFFFFFFF_FFFFFFFFH) if there is none. */
  vmptrst(): VmPtrstResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    return { ok: true, value: this.#current < 0 ? 0xffffffffffffffffn : BigInt(this.#current) };
  }

  /**
   * VMREAD of a field at its width (a high alias reads bits 63:32). VMfailInvalid without a current
   * VMCS, VMfailValid(12) for an unsupported encoding (including reserved bits or bits 63:32 set).
   */
  vmread(encoding: number): VmReadResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    const vmcs = this.#vmcs;
    if (vmcs === undefined) return VM_FAIL_INVALID;
    if (findField(encoding) === undefined) return this.#fail(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
    return { ok: true, value: vmcs.read(encoding) };
  }

  /**
   * VMREAD without allocation: the value as a number on success, or the failure result. Meant for
   * 16-bit, 32-bit and high-alias fields; for 64-bit and natural-width fields it throws a RangeError
   * if the value is 2^53 or more (use `vmread`).
   */
  vmreadNumber(encoding: number): number | VmFailInvalid | VmFailValid | VmxFault {
    if (!this.#inVmx) return VM_FAULT_UD;
    const vmcs = this.#vmcs;
    if (vmcs === undefined) return VM_FAIL_INVALID;
    if (findField(encoding) === undefined) return this.#fail(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
    return vmcs.readNumber(encoding);
  }

  /**
   * VMWRITE of a field, keeping the bits that fit its width. VMfailInvalid without a current VMCS,
   * VMfailValid(12) for an unsupported encoding, VMfailValid(13) for a read-only (VM-exit
   * information) field unless IA32_VMX_MISC[29] = 1. A number value takes the allocation-free path.
   */
  vmwrite(encoding: number, value: bigint | number): VmxResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    const vmcs = this.#vmcs;
    if (vmcs === undefined) return VM_FAIL_INVALID;
    const field = findField(encoding);
    if (field === undefined) return this.#fail(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
    if (field.readOnly && !this.#vmwriteAny) return this.#fail(VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
    if (typeof value === "number") vmcs.writeNumber(encoding, value);
    else vmcs.write(encoding, value);
    return VM_SUCCEED;
  }

  /** VMLAUNCH: VM entry with a clear current VMCS; on success its launch state becomes launched. */
  vmlaunch(): VmEntryResult {
    return this.#enter(true);
  }

  /** VMRESUME: VM entry with a launched current VMCS. */
  vmresume(): VmEntryResult {
    return this.#enter(false);
  }

  /**
   * The VM-entry steps of SDM Vol. 3, §26.1-26.3 (and VMLAUNCH/VMRESUME in §30.3): VMfailInvalid without a current VMCS or with a shadow
   * VMCS; VMfail(26) when events are blocked by MOV SS; VMfail(4)/VMfail(5) for the launch state;
   * VMfail(7)/VMfail(8) for control/host-state checks; a guest-state failure records exit reason
   * 0x80000021 and its qualification in the VMCS and returns an "entry-failure". On `{ok: true}`
   * the caller loads guest state from the VMCS (guest_state.ts), injects any event and runs the guest.
   * The VM-entry MSR-load area (step 8) is the caller's, as are the MSRs it names.
   */
  #enter(launch: boolean): VmEntryResult {
    if (!this.#inVmx) return VM_FAULT_UD;
    const vmcs = this.#vmcs;
    if (vmcs === undefined || vmcs.shadow) return VM_FAIL_INVALID;
    if ((vmcs.readNumber(GUEST_INTERRUPTIBILITY_INFO) & INTERRUPTIBILITY_MOV_SS) !== 0) {
      return this.#fail(VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
    }
    if (launch && vmcs.launchState !== LAUNCH_STATE_CLEAR) return this.#fail(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
    if (!launch && vmcs.launchState !== LAUNCH_STATE_LAUNCHED) {
      return this.#fail(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
    }
    const r = checkVmEntry(vmcs, {
      caps: this.caps,
      prepared: this.#prepared,
      hostLma: this.hostLma,
      currentVmcs: this.#current,
      mem: this.mem,
    });
    if (!r.ok) {
      if (r.kind === "control") return this.#fail(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
      if (r.kind === "host") return this.#fail(VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
      vmcs.writeNumber(VM_EXIT_REASON, r.exitReason);
      vmcs.writeNumber(EXIT_QUALIFICATION, r.qualification);
      return {
        ok: false,
        kind: "entry-failure",
        exitReason: r.exitReason,
        qualification: r.qualification,
        check: r.check,
      };
    }
    if (launch) vmcs.launchState = LAUNCH_STATE_LAUNCHED;
    return VM_SUCCEED;
  }

  /** Saves the VMX-operation state (the regions themselves live in host memory). */
  save(): VmxState {
    return {
      inVmxOperation: this.#inVmx,
      vmxonPointer: this.#vmxonPointer,
      currentVmcsPointer: this.#current,
    };
  }

  /** Restores a saved VMX-operation state; throws a RangeError if a pointer is not a valid region. */
  restore(state: VmxState): void {
    const check = (what: string, p: number) => {
      if (p !== -1 && !this.#validRegion(p)) {
        throw new RangeError(`Cannot restore VMX state: ${what} ${p} is not a 4 KiB region in host memory`);
      }
    };
    check("VMXON pointer", state.vmxonPointer);
    check("current-VMCS pointer", state.currentVmcsPointer);
    this.#inVmx = state.inVmxOperation;
    this.#vmxonPointer = state.inVmxOperation ? state.vmxonPointer : -1;
    this.#current = state.inVmxOperation ? state.currentVmcsPointer : -1;
    this.#vmcs = this.#current < 0 ? undefined : new Vmcs(this.mem, this.#current);
  }
}

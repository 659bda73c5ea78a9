/**
 * hvsim's hypercalls (VMCALL), in KVM's convention (Linux `Documentation/virt/kvm/x86/hypercalls.rst`
 * and `kvm_emulate_hypercall()`): the number is the whole of RAX (its low 32 bits outside 64-bit
 * mode), the result comes back in RAX, a call from CPL > 0 returns -KVM_EPERM before the number
 * is looked at, and an unknown number returns -KVM_ENOSYS.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { HC_ABI_VERSION, hypercallResult, KVM_ENOSYS } from "./hypercall.ts";
 * equal(hypercallResult(BigInt(HC_ABI_VERSION), 0, true), 1n);
 * equal(hypercallResult(0x100000000n, 0, true), BigInt.asUintN(64, -BigInt(KVM_ENOSYS)));
 * ```
 *
 * @module
 */

/** Hypercall 0: returns hvsim's hypercall ABI version in RAX. */
export const HC_ABI_VERSION = 0;
/** The ABI version hypercall 0 returns. */
export const HVSIM_HYPERCALL_ABI = 1;
/** KVM's ENOSYS (include/uapi/linux/kvm_para.h): returned negated for an unknown number. */
export const KVM_ENOSYS = 1000;
/** KVM's EPERM (include/uapi/linux/kvm_para.h): returned negated for a call from CPL > 0. */
export const KVM_EPERM = 1;

/**
 * The value RAX takes after a hypercall.
 * @param rax RAX at the VMCALL (64 bits, unsigned)
 * @param cpl the guest's CPL (SS.DPL, as KVM's `vmx_get_cpl`)
 * @param longMode the guest runs 64-bit code (CS.L with EFER.LMA); otherwise only EAX is the number
 * @returns the new RAX, unsigned 64-bit
 */
export function hypercallResult(rax: bigint, cpl: number, longMode: boolean): bigint {
  if (cpl !== 0) return BigInt.asUintN(64, -BigInt(KVM_EPERM));
  const nr = longMode ? rax : rax & 0xffffffffn;
  if (nr === BigInt(HC_ABI_VERSION)) return BigInt(HVSIM_HYPERCALL_ABI);
  return BigInt.asUintN(64, -BigInt(KVM_ENOSYS));
}

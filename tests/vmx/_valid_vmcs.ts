// Test helpers: a valid 64-bit guest VMCS and variants (a 32-bit PAE guest, a virtual-8086 guest).
import {
  HVSIM_VMCS_REVISION,
  HVSIM_VMX_CAPABILITIES,
  type VmxCapabilities,
} from "../../src/vmx/capabilities.ts";
import * as F from "../../src/vmx/fields.ts";
import { setupVmcs64 } from "../../src/vmx/setup.ts";
import { Vmcs } from "../../src/vmx/vmcs.ts";

/** Host memory size used by the tests. */
export const TEST_MEM_SIZE = 0x10000;
/** Address of the VMCS under test. */
export const VMCS_ADDR = 0x1000;
/** A valid EPTP: PML4 at 0x5000, WB, 4-level, A/D enabled. */
export const TEST_EPTP = 0x5000n | 6n | (3n << 3n) | 0x40n;

/** A fresh VMCS holding a valid 64-bit guest with EPT, in its own host memory. */
export function validVmcs64(caps: VmxCapabilities = HVSIM_VMX_CAPABILITIES): Vmcs {
  const vmcs = new Vmcs(new Uint8Array(TEST_MEM_SIZE), VMCS_ADDR);
  vmcs.format(HVSIM_VMCS_REVISION);
  setupVmcs64(vmcs, { caps, eptp: TEST_EPTP, rip: 0x401000n, rsp: 0x3fff000n, cr3: 0x9000n });
  return vmcs;
}

/** Turns a valid 64-bit guest into a valid 32-bit protected-mode guest with PAE paging. */
export function make32BitPae(v: Vmcs): void {
  v.writeNumber(F.VM_ENTRY_CONTROLS, v.readNumber(F.VM_ENTRY_CONTROLS) & ~0x200);
  v.write(F.GUEST_IA32_EFER, 0n);
  v.writeNumber(F.GUEST_CS_AR_BYTES, 0xc09b);
  v.write(F.GUEST_RIP, 0x401000n);
}

/** Turns a valid 64-bit guest into a valid virtual-8086 guest (32-bit PAE host OS, RFLAGS.VM = 1). */
export function makeV86(v: Vmcs): void {
  make32BitPae(v);
  v.write(F.GUEST_RFLAGS, 0x20002n);
  for (const i of [0, 1, 2, 3, 4, 5]) {
    v.writeNumber(F.GUEST_ES_SELECTOR + 2 * i, 0x1000);
    v.write(F.GUEST_ES_BASE + 2 * i, 0x10000n);
    v.writeNumber(F.GUEST_ES_LIMIT + 2 * i, 0xffff);
    v.writeNumber(F.GUEST_ES_AR_BYTES + 2 * i, 0xf3);
  }
  v.write(F.GUEST_RIP, 0x100n);
}

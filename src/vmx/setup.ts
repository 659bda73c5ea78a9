/**
 * Writing a complete, valid VMCS for a 64-bit guest under a 64-bit host: the starting point of
 * hvsim's hypervisor (boot protocol: 64-bit mode, CPL 0, flat segments, paging on, RFLAGS = 0x2)
 * and of the VM-entry-check tests, which break one field at a time.
 *
 * @module
 */

import {
  allowed0,
  effectiveControlMsrs,
  HVSIM_VMX_CAPABILITIES,
  type VmxCapabilities,
} from "./capabilities.ts";
import {
  ENTRY_IA32E_MODE_GUEST,
  ENTRY_LOAD_EFER,
  ENTRY_LOAD_PAT,
  EXIT_HOST_ADDRESS_SPACE_SIZE,
  EXIT_LOAD_EFER,
  EXIT_LOAD_PAT,
  EXIT_SAVE_EFER,
  EXIT_SAVE_PAT,
  PROC2_ENABLE_EPT,
  PROC_ACTIVATE_SECONDARY_CONTROLS,
} from "./controls.ts";
import * as F from "./fields.ts";
import { guestSegmentFields, SEG_CS, SEG_LDTR, SEG_TR } from "./guest_state.ts";
import type { Vmcs } from "./vmcs.ts";

/** CR0.PE | CR0.ET | CR0.NE | CR0.PG: the guest CR0 of the boot protocol (SDM Vol. 3, §2.5). */
export const SETUP_GUEST_CR0 = 0x80000031n;
/** CR4.PAE | CR4.VMXE: the guest CR4 (VMXE is required by IA32_VMX_CR4_FIXED0). */
export const SETUP_GUEST_CR4 = 0x2020n;
/** EFER.LME | EFER.LMA (SDM Vol. 3, §2.2.1). */
export const SETUP_EFER = 0x500n;
/** IA32_PAT power-on value (SDM Vol. 3, §11.12.4). */
export const SETUP_PAT = 0x0007040600070406n;
/** Access rights of a 64-bit ring-0 code segment: type 11, S, P, L, G (SDM Vol. 3, §24.4.1). */
export const SETUP_AR_CODE64 = 0xa09b;
/** Access rights of a ring-0 data segment: type 3, S, P, D/B, G (SDM Vol. 3, §24.4.1). */
export const SETUP_AR_DATA = 0xc093;
/** Access rights of a busy 64-bit TSS: type 11, P (SDM Vol. 3, §24.4.1). */
export const SETUP_AR_TSS64 = 0x008b;
/** Access rights of an unusable segment: bit 16 (SDM Vol. 3, §24.4.1). */
export const SETUP_AR_UNUSABLE = 0x10000;

/** Parameters of `setupVmcs64`; everything has a default. */
export interface Vmcs64Setup {
  /** Capabilities whose allowed-0 (must-be-1) control bits are set. Default: hvsim's. */
  caps?: VmxCapabilities;
  /** Guest RIP. Default 0x400000. */
  rip?: bigint;
  /** Guest RSP. Default 0. */
  rsp?: bigint;
  /** Guest CR3. Default 0x1000. */
  cr3?: bigint;
  /** Guest RFLAGS. Default 0x2. */
  rflags?: bigint;
  /** Guest code selector (flat 64-bit). Default 0x08. */
  codeSelector?: number;
  /** Guest data selector for SS/DS/ES/FS/GS. Default 0x10. */
  dataSelector?: number;
  /** Guest TR selector. Default 0x18. */
  trSelector?: number;
  /** Guest GDTR base and limit. Default 0x500, 0x1f. */
  gdtr?: { base: bigint; limit: number };
  /** EPTP; when given, "activate secondary controls" and "enable EPT" are set. */
  eptp?: bigint;
  /** Host CR3. Default 0x2000. */
  hostCr3?: bigint;
  /** Host RIP (any canonical value; hvsim's host is TypeScript). Default 0. */
  hostRip?: bigint;
  /** Host RSP. Default 0. */
  hostRsp?: bigint;
}

/**
 * Writes every control, host-state and guest-state field for a 64-bit guest (flat CS/SS/DS/ES/FS/
 * GS, busy 64-bit TSS, LDTR unusable, paging on with CR3, EFER.LME/LMA, no events pending) and a
 * 64-bit host. Controls are the capability MSRs' must-be-1 bits plus host address-space size,
 * IA-32e mode guest, save/load EFER and PAT (and EPT if `eptp` is given). The CR4 guest/host mask
 * owns CR4.VMXE, with a read shadow that hides it. The result passes `checkVmEntry`.
 */
export function setupVmcs64(vmcs: Vmcs, p: Vmcs64Setup = {}): void {
  const caps = p.caps ?? HVSIM_VMX_CAPABILITIES;
  const msrs = effectiveControlMsrs(caps);
  const ept = p.eptp !== undefined;

  // Controls.
  vmcs.writeNumber(F.PIN_BASED_VM_EXEC_CONTROL, allowed0(msrs.pin));
  vmcs.writeNumber(
    F.CPU_BASED_VM_EXEC_CONTROL,
    allowed0(msrs.proc) | (ept ? PROC_ACTIVATE_SECONDARY_CONTROLS : 0),
  );
  vmcs.writeNumber(F.SECONDARY_VM_EXEC_CONTROL, allowed0(msrs.proc2) | (ept ? PROC2_ENABLE_EPT : 0));
  vmcs.writeNumber(
    F.VM_EXIT_CONTROLS,
    allowed0(msrs.exit) | EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT |
      EXIT_LOAD_PAT,
  );
  vmcs.writeNumber(
    F.VM_ENTRY_CONTROLS,
    allowed0(msrs.entry) | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
  );
  if (ept) vmcs.write(F.EPT_POINTER, p.eptp!);
  vmcs.writeNumber(F.EXCEPTION_BITMAP, 0);
  vmcs.writeNumber(F.CR3_TARGET_COUNT, 0);
  vmcs.writeNumber(F.VM_EXIT_MSR_STORE_COUNT, 0);
  vmcs.writeNumber(F.VM_EXIT_MSR_LOAD_COUNT, 0);
  vmcs.writeNumber(F.VM_ENTRY_MSR_LOAD_COUNT, 0);
  vmcs.writeNumber(F.VM_ENTRY_INTR_INFO_FIELD, 0);
  vmcs.write(F.CR4_GUEST_HOST_MASK, 0x2000n);
  vmcs.write(F.CR4_READ_SHADOW, SETUP_GUEST_CR4 & ~0x2000n);

  // Host state: 64-bit, flat.
  vmcs.write(F.HOST_CR0, 0x80010033n); // PE MP ET NE WP PG
  vmcs.write(F.HOST_CR3, p.hostCr3 ?? 0x2000n);
  vmcs.write(F.HOST_CR4, 0x2620n); // PAE OSFXSR OSXMMEXCPT VMXE
  vmcs.write(F.HOST_RIP, p.hostRip ?? 0n);
  vmcs.write(F.HOST_RSP, p.hostRsp ?? 0n);
  vmcs.writeNumber(F.HOST_CS_SELECTOR, 0x08);
  for (
    const s of [
      F.HOST_SS_SELECTOR,
      F.HOST_DS_SELECTOR,
      F.HOST_ES_SELECTOR,
      F.HOST_FS_SELECTOR,
      F.HOST_GS_SELECTOR,
    ]
  ) {
    vmcs.writeNumber(s, 0x10);
  }
  vmcs.writeNumber(F.HOST_TR_SELECTOR, 0x18);
  for (const b of [F.HOST_FS_BASE, F.HOST_GS_BASE, F.HOST_TR_BASE, F.HOST_GDTR_BASE, F.HOST_IDTR_BASE]) {
    vmcs.write(b, 0n);
  }
  vmcs.writeNumber(F.HOST_IA32_SYSENTER_CS, 0);
  vmcs.write(F.HOST_IA32_SYSENTER_ESP, 0n);
  vmcs.write(F.HOST_IA32_SYSENTER_EIP, 0n);
  vmcs.write(F.HOST_IA32_EFER, SETUP_EFER);
  vmcs.write(F.HOST_IA32_PAT, SETUP_PAT);

  // Guest state: 64-bit mode, CPL 0.
  vmcs.write(F.GUEST_CR0, SETUP_GUEST_CR0);
  vmcs.write(F.GUEST_CR3, p.cr3 ?? 0x1000n);
  vmcs.write(F.GUEST_CR4, SETUP_GUEST_CR4);
  vmcs.write(F.GUEST_DR7, 0x400n);
  vmcs.write(F.GUEST_RIP, p.rip ?? 0x400000n);
  vmcs.write(F.GUEST_RSP, p.rsp ?? 0n);
  vmcs.write(F.GUEST_RFLAGS, p.rflags ?? 0x2n);
  const code = p.codeSelector ?? 0x08;
  const data = p.dataSelector ?? 0x10;
  for (let i = 0; i < 8; i++) {
    const f = guestSegmentFields(i);
    vmcs.write(f.base, 0n);
    if (i === SEG_CS) {
      vmcs.writeNumber(f.selector, code);
      vmcs.writeNumber(f.limit, 0xffffffff);
      vmcs.writeNumber(f.ar, SETUP_AR_CODE64);
    } else if (i === SEG_LDTR) {
      vmcs.writeNumber(f.selector, 0);
      vmcs.writeNumber(f.limit, 0);
      vmcs.writeNumber(f.ar, SETUP_AR_UNUSABLE);
    } else if (i === SEG_TR) {
      vmcs.writeNumber(f.selector, p.trSelector ?? 0x18);
      vmcs.writeNumber(f.limit, 0x67);
      vmcs.writeNumber(f.ar, SETUP_AR_TSS64);
    } else {
      vmcs.writeNumber(f.selector, data);
      vmcs.writeNumber(f.limit, 0xffffffff);
      vmcs.writeNumber(f.ar, SETUP_AR_DATA);
    }
  }
  vmcs.write(F.GUEST_GDTR_BASE, p.gdtr?.base ?? 0x500n);
  vmcs.writeNumber(F.GUEST_GDTR_LIMIT, p.gdtr?.limit ?? 0x1f);
  vmcs.write(F.GUEST_IDTR_BASE, 0n);
  vmcs.writeNumber(F.GUEST_IDTR_LIMIT, 0);
  vmcs.write(F.GUEST_IA32_DEBUGCTL, 0n);
  vmcs.write(F.GUEST_IA32_PAT, SETUP_PAT);
  vmcs.write(F.GUEST_IA32_EFER, SETUP_EFER);
  vmcs.writeNumber(F.GUEST_SYSENTER_CS, 0);
  vmcs.write(F.GUEST_SYSENTER_ESP, 0n);
  vmcs.write(F.GUEST_SYSENTER_EIP, 0n);
  vmcs.writeNumber(F.GUEST_ACTIVITY_STATE, 0);
  vmcs.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 0);
  vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0n);
  vmcs.write(F.VMCS_LINK_POINTER, 0xffffffffffffffffn);
  vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, 0);
  vmcs.writeNumber(F.GUEST_PML_INDEX, 511);
}

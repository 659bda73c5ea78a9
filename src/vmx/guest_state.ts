/**
 * Copying between the VMCS guest-state area (and host-state area) and plain register-file
 * objects, so that VM entry/exit code only adapts the CPU to these interfaces.
 *
 * @module
 */

import * as F from "./fields.ts";

/** Activity state 0: active (SDM Vol. 3, §24.4.2). */
export const ACTIVITY_ACTIVE = 0;
/** Activity state 1: HLT (SDM Vol. 3, §24.4.2). */
export const ACTIVITY_HLT = 1;
/** Activity state 2: shutdown (SDM Vol. 3, §24.4.2). */
export const ACTIVITY_SHUTDOWN = 2;
/** Activity state 3: wait-for-SIPI (SDM Vol. 3, §24.4.2). */
export const ACTIVITY_WAIT_FOR_SIPI = 3;

/** Interruptibility bit 0: blocking by STI (SDM Vol. 3, §24.4.2). */
export const INTERRUPTIBILITY_STI = 0x1;
/** Interruptibility bit 1: blocking by MOV SS (SDM Vol. 3, §24.4.2). */
export const INTERRUPTIBILITY_MOV_SS = 0x2;
/** Interruptibility bit 2: blocking by SMI (SDM Vol. 3, §24.4.2). */
export const INTERRUPTIBILITY_SMI = 0x4;
/** Interruptibility bit 3: blocking by NMI (SDM Vol. 3, §24.4.2). */
export const INTERRUPTIBILITY_NMI = 0x8;
/** Interruptibility bit 4: enclave interruption (SDM Vol. 3, §24.4.2). */
export const INTERRUPTIBILITY_ENCLAVE = 0x10;

// Segment indices in `GuestRegisterFile.seg` follow the SDM's field order, as the CPU's do.
export { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_LDTR, SEG_SS, SEG_TR } from "../cpu/registers.ts";

/** Names of the eight segment registers in `GuestRegisterFile.seg` order. */
export const SEGMENT_NAMES: readonly string[] = ["ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"];

/** Encoding of segment `i`'s selector (0x0800 + 2i), limit (0x4800 + 2i), AR (0x4814 + 2i), base (0x6806 + 2i). */
export function guestSegmentFields(i: number): { selector: number; limit: number; ar: number; base: number } {
  return {
    selector: F.GUEST_ES_SELECTOR + 2 * i,
    limit: F.GUEST_ES_LIMIT + 2 * i,
    ar: F.GUEST_ES_AR_BYTES + 2 * i,
    base: F.GUEST_ES_BASE + 2 * i,
  };
}

/** A segment register as the VMCS holds it. */
export interface SegmentState {
  /** 16-bit selector. */
  selector: number;
  /** Base address (natural width). */
  base: bigint;
  /** 32-bit limit in bytes (already scaled by G). */
  limit: number;
  /** Access rights in the VMCS format (access_rights.ts), including the unusable bit 16. */
  ar: number;
}

/** GDTR or IDTR. */
export interface TableRegister {
  /** Base address. */
  base: bigint;
  /** 16-bit limit (held in a 32-bit field). */
  limit: number;
}

/** The guest-state area of the VMCS as plain data (SDM Vol. 3, §24.4). */
export interface GuestRegisterFile {
  /** CR0. */
  cr0: bigint;
  /** CR3. */
  cr3: bigint;
  /** CR4. */
  cr4: bigint;
  /** DR7. */
  dr7: bigint;
  /** RSP. */
  rsp: bigint;
  /** RIP. */
  rip: bigint;
  /** RFLAGS. */
  rflags: bigint;
  /** ES, CS, SS, DS, FS, GS, LDTR, TR (indices SEG_ES ... SEG_TR). */
  seg: SegmentState[];
  /** GDTR. */
  gdtr: TableRegister;
  /** IDTR. */
  idtr: TableRegister;
  /** IA32_DEBUGCTL. */
  debugctl: bigint;
  /** IA32_PAT. */
  pat: bigint;
  /** IA32_EFER. */
  efer: bigint;
  /** IA32_SYSENTER_CS. */
  sysenterCs: number;
  /** IA32_SYSENTER_ESP. */
  sysenterEsp: bigint;
  /** IA32_SYSENTER_EIP. */
  sysenterEip: bigint;
  /** PDPTE0-3 (used for PAE paging with EPT). */
  pdpte: bigint[];
  /** Activity state (ACTIVITY_*). */
  activityState: number;
  /** Interruptibility state (INTERRUPTIBILITY_* bits). */
  interruptibility: number;
  /** Pending debug exceptions. */
  pendingDebugExceptions: bigint;
  /** VMCS link pointer (all ones when unused). */
  vmcsLinkPointer: bigint;
  /** VMX-preemption timer value. */
  preemptionTimer: number;
}

/** The host-state area of the VMCS as plain data (SDM Vol. 3, §24.5), loaded on every VM exit. */
export interface HostRegisterFile {
  /** CR0. */
  cr0: bigint;
  /** CR3. */
  cr3: bigint;
  /** CR4. */
  cr4: bigint;
  /** RSP. */
  rsp: bigint;
  /** RIP. */
  rip: bigint;
  /** Selectors of ES, CS, SS, DS, FS, GS, TR. */
  selectors: { es: number; cs: number; ss: number; ds: number; fs: number; gs: number; tr: number };
  /** FS base. */
  fsBase: bigint;
  /** GS base. */
  gsBase: bigint;
  /** TR base. */
  trBase: bigint;
  /** GDTR base. */
  gdtrBase: bigint;
  /** IDTR base. */
  idtrBase: bigint;
  /** IA32_SYSENTER_CS. */
  sysenterCs: number;
  /** IA32_SYSENTER_ESP. */
  sysenterEsp: bigint;
  /** IA32_SYSENTER_EIP. */
  sysenterEip: bigint;
  /** IA32_PAT. */
  pat: bigint;
  /** IA32_EFER. */
  efer: bigint;
}

/** The field access a VMCS offers (implemented by `Vmcs`). */
export interface VmcsAccess {
  /** Reads a field as bigint. */
  read(encoding: number): bigint;
  /** Reads a 16/32-bit field as number. */
  readNumber(encoding: number): number;
  /** Writes a field. */
  write(encoding: number, value: bigint | number): void;
}

/**
 * Reads the whole guest-state area.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Vmcs } from "./vmcs.ts";
 * import { readGuestState, SEG_CS, writeGuestState } from "./guest_state.ts";
 * const vmcs = new Vmcs(new Uint8Array(4096), 0);
 * const g = readGuestState(vmcs);
 * g.rip = 0x401000n;
 * g.seg[SEG_CS].selector = 8;
 * writeGuestState(vmcs, g);
 * equal(readGuestState(vmcs).rip, 0x401000n);
 * equal(readGuestState(vmcs).seg[SEG_CS].selector, 8);
 * ```
 */
export function readGuestState(vmcs: VmcsAccess): GuestRegisterFile {
  const seg: SegmentState[] = [];
  for (let i = 0; i < 8; i++) {
    const f = guestSegmentFields(i);
    seg.push({
      selector: vmcs.readNumber(f.selector),
      base: vmcs.read(f.base),
      limit: vmcs.readNumber(f.limit),
      ar: vmcs.readNumber(f.ar),
    });
  }
  return {
    cr0: vmcs.read(F.GUEST_CR0),
    cr3: vmcs.read(F.GUEST_CR3),
    cr4: vmcs.read(F.GUEST_CR4),
    dr7: vmcs.read(F.GUEST_DR7),
    rsp: vmcs.read(F.GUEST_RSP),
    rip: vmcs.read(F.GUEST_RIP),
    rflags: vmcs.read(F.GUEST_RFLAGS),
    seg,
    gdtr: { base: vmcs.read(F.GUEST_GDTR_BASE), limit: vmcs.readNumber(F.GUEST_GDTR_LIMIT) },
    idtr: { base: vmcs.read(F.GUEST_IDTR_BASE), limit: vmcs.readNumber(F.GUEST_IDTR_LIMIT) },
    debugctl: vmcs.read(F.GUEST_IA32_DEBUGCTL),
    pat: vmcs.read(F.GUEST_IA32_PAT),
    efer: vmcs.read(F.GUEST_IA32_EFER),
    sysenterCs: vmcs.readNumber(F.GUEST_SYSENTER_CS),
    sysenterEsp: vmcs.read(F.GUEST_SYSENTER_ESP),
    sysenterEip: vmcs.read(F.GUEST_SYSENTER_EIP),
    pdpte: [
      vmcs.read(F.GUEST_PDPTR0),
      vmcs.read(F.GUEST_PDPTR1),
      vmcs.read(F.GUEST_PDPTR2),
      vmcs.read(F.GUEST_PDPTR3),
    ],
    activityState: vmcs.readNumber(F.GUEST_ACTIVITY_STATE),
    interruptibility: vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO),
    pendingDebugExceptions: vmcs.read(F.GUEST_PENDING_DBG_EXCEPTIONS),
    vmcsLinkPointer: vmcs.read(F.VMCS_LINK_POINTER),
    preemptionTimer: vmcs.readNumber(F.VMX_PREEMPTION_TIMER_VALUE),
  };
}

/** Writes the whole guest-state area; throws a RangeError unless `seg` has 8 and `pdpte` 4 entries. */
export function writeGuestState(vmcs: VmcsAccess, g: GuestRegisterFile): void {
  if (g.seg.length !== 8 || g.pdpte.length !== 4) {
    throw new RangeError(
      `Guest register file has ${g.seg.length} segments and ${g.pdpte.length} PDPTEs: expected 8 and 4`,
    );
  }
  vmcs.write(F.GUEST_CR0, g.cr0);
  vmcs.write(F.GUEST_CR3, g.cr3);
  vmcs.write(F.GUEST_CR4, g.cr4);
  vmcs.write(F.GUEST_DR7, g.dr7);
  vmcs.write(F.GUEST_RSP, g.rsp);
  vmcs.write(F.GUEST_RIP, g.rip);
  vmcs.write(F.GUEST_RFLAGS, g.rflags);
  for (let i = 0; i < 8; i++) {
    const f = guestSegmentFields(i);
    const s = g.seg[i];
    vmcs.write(f.selector, s.selector);
    vmcs.write(f.base, s.base);
    vmcs.write(f.limit, s.limit);
    vmcs.write(f.ar, s.ar);
  }
  vmcs.write(F.GUEST_GDTR_BASE, g.gdtr.base);
  vmcs.write(F.GUEST_GDTR_LIMIT, g.gdtr.limit);
  vmcs.write(F.GUEST_IDTR_BASE, g.idtr.base);
  vmcs.write(F.GUEST_IDTR_LIMIT, g.idtr.limit);
  vmcs.write(F.GUEST_IA32_DEBUGCTL, g.debugctl);
  vmcs.write(F.GUEST_IA32_PAT, g.pat);
  vmcs.write(F.GUEST_IA32_EFER, g.efer);
  vmcs.write(F.GUEST_SYSENTER_CS, g.sysenterCs);
  vmcs.write(F.GUEST_SYSENTER_ESP, g.sysenterEsp);
  vmcs.write(F.GUEST_SYSENTER_EIP, g.sysenterEip);
  vmcs.write(F.GUEST_PDPTR0, g.pdpte[0]);
  vmcs.write(F.GUEST_PDPTR1, g.pdpte[1]);
  vmcs.write(F.GUEST_PDPTR2, g.pdpte[2]);
  vmcs.write(F.GUEST_PDPTR3, g.pdpte[3]);
  vmcs.write(F.GUEST_ACTIVITY_STATE, g.activityState);
  vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, g.interruptibility);
  vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, g.pendingDebugExceptions);
  vmcs.write(F.VMCS_LINK_POINTER, g.vmcsLinkPointer);
  vmcs.write(F.VMX_PREEMPTION_TIMER_VALUE, g.preemptionTimer);
}

/** Reads the whole host-state area. */
export function readHostState(vmcs: VmcsAccess): HostRegisterFile {
  return {
    cr0: vmcs.read(F.HOST_CR0),
    cr3: vmcs.read(F.HOST_CR3),
    cr4: vmcs.read(F.HOST_CR4),
    rsp: vmcs.read(F.HOST_RSP),
    rip: vmcs.read(F.HOST_RIP),
    selectors: {
      es: vmcs.readNumber(F.HOST_ES_SELECTOR),
      cs: vmcs.readNumber(F.HOST_CS_SELECTOR),
      ss: vmcs.readNumber(F.HOST_SS_SELECTOR),
      ds: vmcs.readNumber(F.HOST_DS_SELECTOR),
      fs: vmcs.readNumber(F.HOST_FS_SELECTOR),
      gs: vmcs.readNumber(F.HOST_GS_SELECTOR),
      tr: vmcs.readNumber(F.HOST_TR_SELECTOR),
    },
    fsBase: vmcs.read(F.HOST_FS_BASE),
    gsBase: vmcs.read(F.HOST_GS_BASE),
    trBase: vmcs.read(F.HOST_TR_BASE),
    gdtrBase: vmcs.read(F.HOST_GDTR_BASE),
    idtrBase: vmcs.read(F.HOST_IDTR_BASE),
    sysenterCs: vmcs.readNumber(F.HOST_IA32_SYSENTER_CS),
    sysenterEsp: vmcs.read(F.HOST_IA32_SYSENTER_ESP),
    sysenterEip: vmcs.read(F.HOST_IA32_SYSENTER_EIP),
    pat: vmcs.read(F.HOST_IA32_PAT),
    efer: vmcs.read(F.HOST_IA32_EFER),
  };
}

/** Writes the whole host-state area. */
export function writeHostState(vmcs: VmcsAccess, h: HostRegisterFile): void {
  vmcs.write(F.HOST_CR0, h.cr0);
  vmcs.write(F.HOST_CR3, h.cr3);
  vmcs.write(F.HOST_CR4, h.cr4);
  vmcs.write(F.HOST_RSP, h.rsp);
  vmcs.write(F.HOST_RIP, h.rip);
  vmcs.write(F.HOST_ES_SELECTOR, h.selectors.es);
  vmcs.write(F.HOST_CS_SELECTOR, h.selectors.cs);
  vmcs.write(F.HOST_SS_SELECTOR, h.selectors.ss);
  vmcs.write(F.HOST_DS_SELECTOR, h.selectors.ds);
  vmcs.write(F.HOST_FS_SELECTOR, h.selectors.fs);
  vmcs.write(F.HOST_GS_SELECTOR, h.selectors.gs);
  vmcs.write(F.HOST_TR_SELECTOR, h.selectors.tr);
  vmcs.write(F.HOST_FS_BASE, h.fsBase);
  vmcs.write(F.HOST_GS_BASE, h.gsBase);
  vmcs.write(F.HOST_TR_BASE, h.trBase);
  vmcs.write(F.HOST_GDTR_BASE, h.gdtrBase);
  vmcs.write(F.HOST_IDTR_BASE, h.idtrBase);
  vmcs.write(F.HOST_IA32_SYSENTER_CS, h.sysenterCs);
  vmcs.write(F.HOST_IA32_SYSENTER_ESP, h.sysenterEsp);
  vmcs.write(F.HOST_IA32_SYSENTER_EIP, h.sysenterEip);
  vmcs.write(F.HOST_IA32_PAT, h.pat);
  vmcs.write(F.HOST_IA32_EFER, h.efer);
}

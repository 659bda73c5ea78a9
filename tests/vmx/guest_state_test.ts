import { deepEqual, equal, throws } from "node:assert/strict";
import * as F from "../../src/vmx/fields.ts";
import {
  type GuestRegisterFile,
  guestSegmentFields,
  type HostRegisterFile,
  readGuestState,
  readHostState,
  SEG_CS,
  SEG_TR,
  writeGuestState,
  writeHostState,
} from "../../src/vmx/guest_state.ts";
import { Vmcs } from "../../src/vmx/vmcs.ts";

function sampleGuest(): GuestRegisterFile {
  return {
    cr0: 0x80000031n,
    cr3: 0x9000n,
    cr4: 0x2020n,
    dr7: 0x400n,
    rsp: 0x3fff000n,
    rip: 0xffffffff80001234n,
    rflags: 0x202n,
    seg: Array.from({ length: 8 }, (_, i) => ({
      selector: 0x8 * (i + 1),
      base: BigInt(i) << 40n,
      limit: 0xfff + i,
      ar: 0xc093 + i,
    })),
    gdtr: { base: 0x500n, limit: 0x1f },
    idtr: { base: 0x1000n, limit: 0xfff },
    debugctl: 1n,
    pat: 0x0007040600070406n,
    efer: 0xd01n,
    sysenterCs: 0x10,
    sysenterEsp: 0x1234n,
    sysenterEip: 0x5678n,
    pdpte: [1n, 2n, 3n, 4n],
    activityState: 1,
    interruptibility: 8,
    pendingDebugExceptions: 0x4000n,
    vmcsLinkPointer: 0xffffffffffffffffn,
    preemptionTimer: 12345,
  };
}

Deno.test("writeGuestState()/readGuestState() round-trip every guest-state value", () => {
  const v = new Vmcs(new Uint8Array(8192), 4096);
  const g = sampleGuest();
  writeGuestState(v, g);
  deepEqual(readGuestState(v), g);
});

Deno.test("writeGuestState() puts values in the VMCS fields of their encodings", () => {
  const v = new Vmcs(new Uint8Array(8192), 4096);
  writeGuestState(v, sampleGuest());
  equal(v.read(F.GUEST_RIP), 0xffffffff80001234n);
  equal(v.readNumber(F.GUEST_CS_SELECTOR), 0x10);
  equal(v.readNumber(F.GUEST_TR_AR_BYTES), 0xc093 + SEG_TR);
  equal(v.read(F.GUEST_CS_BASE), 1n << 40n);
  equal(v.readNumber(F.GUEST_ACTIVITY_STATE), 1);
  equal(v.readNumber(F.VMX_PREEMPTION_TIMER_VALUE), 12345);
  deepEqual(guestSegmentFields(SEG_CS), { selector: 0x0802, limit: 0x4802, ar: 0x4816, base: 0x6808 });
  deepEqual(guestSegmentFields(SEG_TR), { selector: 0x080e, limit: 0x480e, ar: 0x4822, base: 0x6814 });
});

Deno.test("writeGuestState() refuses a register file without 8 segments", () => {
  const v = new Vmcs(new Uint8Array(4096), 0);
  throws(() => writeGuestState(v, { ...sampleGuest(), seg: [] }), /expected 8 and 4/);
});

Deno.test("writeHostState()/readHostState() round-trip every host-state value", () => {
  const v = new Vmcs(new Uint8Array(4096), 0);
  const h: HostRegisterFile = {
    cr0: 0x80010033n,
    cr3: 0x2000n,
    cr4: 0x2620n,
    rsp: 0x7000n,
    rip: 0xffffffff81000000n,
    selectors: { es: 0x10, cs: 0x08, ss: 0x18, ds: 0x20, fs: 0x28, gs: 0x30, tr: 0x40 },
    fsBase: 1n,
    gsBase: 2n,
    trBase: 3n,
    gdtrBase: 4n,
    idtrBase: 5n,
    sysenterCs: 6,
    sysenterEsp: 7n,
    sysenterEip: 8n,
    pat: 9n,
    efer: 0x500n,
  };
  writeHostState(v, h);
  deepEqual(readHostState(v), h);
  equal(v.readNumber(F.HOST_TR_SELECTOR), 0x40);
});

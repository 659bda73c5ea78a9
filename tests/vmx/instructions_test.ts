import { deepEqual, equal, throws } from "node:assert/strict";
import { HVSIM_VMCS_REVISION } from "../../src/vmx/capabilities.ts";
import * as F from "../../src/vmx/fields.ts";
import {
  applyVmxResultToRflags,
  VM_FAIL_INVALID,
  VM_FAULT_UD,
  VM_SUCCEED,
  vmFailValid,
  Vmx,
} from "../../src/vmx/instructions.ts";
import { setupVmcs64 } from "../../src/vmx/setup.ts";
import { LAUNCH_STATE_CLEAR, LAUNCH_STATE_LAUNCHED, Vmcs } from "../../src/vmx/vmcs.ts";

const VMXON = 0x1000;
const VMCS_A = 0x2000;
const VMCS_B = 0x3000;
const MEM = 0x10000;

function setup(): { vmx: Vmx; mem: Uint8Array; dv: DataView } {
  const mem = new Uint8Array(MEM);
  const dv = new DataView(mem.buffer);
  for (const a of [VMXON, VMCS_A, VMCS_B]) dv.setUint32(a, HVSIM_VMCS_REVISION, true);
  return { vmx: new Vmx(mem), mem, dv };
}

function loaded(): { vmx: Vmx; mem: Uint8Array; dv: DataView } {
  const s = setup();
  deepEqual(s.vmx.vmxon(VMXON), VM_SUCCEED);
  deepEqual(s.vmx.vmclear(VMCS_A), VM_SUCCEED);
  deepEqual(s.vmx.vmptrld(VMCS_A), VM_SUCCEED);
  return s;
}

const errorField = (s: { dv: DataView }, at = VMCS_A) => s.dv.getUint32(at + 808, true);

Deno.test("applyVmxResultToRflags() follows the conventions of SDM Vol. 3, §30.2", () => {
  const all = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800;
  equal(applyVmxResultToRflags(0x2 | all | 0x200, VM_SUCCEED), 0x202);
  equal(applyVmxResultToRflags(0x2 | all, VM_FAIL_INVALID), 0x3);
  equal(applyVmxResultToRflags(0x2 | all | 0x100, vmFailValid(5)), 0x142);
  equal(applyVmxResultToRflags(0x2 | all, VM_FAULT_UD), 0x2 | all);
  equal(applyVmxResultToRflags(0x2, { ok: true, value: 1n }), 0x2);
});

Deno.test("Vmx: every instruction but VMXON raises #UD outside VMX operation", () => {
  const { vmx } = setup();
  for (
    const r of [
      vmx.vmxoff(),
      vmx.vmclear(VMCS_A),
      vmx.vmptrld(VMCS_A),
      vmx.vmptrst(),
      vmx.vmread(F.GUEST_RIP),
    ]
  ) {
    deepEqual(r, VM_FAULT_UD);
  }
  deepEqual(vmx.vmwrite(F.GUEST_RIP, 1n), VM_FAULT_UD);
  deepEqual(vmx.vmlaunch(), VM_FAULT_UD);
  deepEqual(vmx.vmresume(), VM_FAULT_UD);
  equal(vmx.vmreadNumber(F.GUEST_CS_SELECTOR), VM_FAULT_UD);
});

Deno.test("Vmx.vmxon() checks alignment, memory, revision and bit 31 with VMfailInvalid", () => {
  const { vmx, dv } = setup();
  deepEqual(vmx.vmxon(VMXON + 8), VM_FAIL_INVALID);
  deepEqual(vmx.vmxon(MEM), VM_FAIL_INVALID);
  deepEqual(vmx.vmxon(-4096), VM_FAIL_INVALID);
  dv.setUint32(VMCS_B, HVSIM_VMCS_REVISION + 1, true);
  deepEqual(vmx.vmxon(VMCS_B), VM_FAIL_INVALID);
  dv.setUint32(VMCS_B, (HVSIM_VMCS_REVISION | 0x80000000) >>> 0, true);
  deepEqual(vmx.vmxon(VMCS_B), VM_FAIL_INVALID);
  equal(vmx.inVmxOperation, false);
  deepEqual(vmx.vmxon(VMXON), VM_SUCCEED);
  equal(vmx.inVmxOperation, true);
  equal(vmx.vmxonPointer, VMXON);
});

Deno.test("Vmx.vmxon() in VMX operation is VMfail(15): invalid without, valid with a current VMCS", () => {
  const s = setup();
  s.vmx.vmxon(VMXON);
  deepEqual(s.vmx.vmxon(VMXON), VM_FAIL_INVALID);
  s.vmx.vmptrld(VMCS_A);
  deepEqual(s.vmx.vmxon(VMXON), vmFailValid(15));
  equal(errorField(s), 15);
  deepEqual(s.vmx.vmxoff(), VM_SUCCEED);
  equal(s.vmx.inVmxOperation, false);
  equal(s.vmx.currentVmcsPointer, -1);
});

Deno.test("Vmx.vmclear() fails with 2 and 3, clears the launch state and the current VMCS", () => {
  const s = loaded();
  deepEqual(s.vmx.vmclear(VMCS_B + 0x10), vmFailValid(2));
  equal(errorField(s), 2);
  deepEqual(s.vmx.vmclear(VMXON), vmFailValid(3));
  equal(errorField(s), 3);
  s.dv.setUint32(VMCS_B + 8, LAUNCH_STATE_LAUNCHED, true);
  deepEqual(s.vmx.vmclear(VMCS_B), VM_SUCCEED);
  equal(s.dv.getUint32(VMCS_B + 8, true), LAUNCH_STATE_CLEAR);
  equal(s.vmx.currentVmcsPointer, VMCS_A, "clearing another VMCS keeps the current one");
  deepEqual(s.vmx.vmclear(VMCS_A), VM_SUCCEED);
  equal(s.vmx.currentVmcsPointer, -1);
  deepEqual(s.vmx.vmptrst(), { ok: true, value: 0xffffffffffffffffn });
  deepEqual(s.vmx.vmclear(7), VM_FAIL_INVALID, "VMfail without a current VMCS is VMfailInvalid");
});

Deno.test("Vmx.vmptrld() fails with 9, 10 and 11 and VMPTRST reports the pointer", () => {
  const s = loaded();
  deepEqual(s.vmx.vmptrld(VMCS_B + 0x800), vmFailValid(9));
  equal(errorField(s), 9);
  deepEqual(s.vmx.vmptrld(MEM), vmFailValid(9));
  deepEqual(s.vmx.vmptrld(2 ** 46), vmFailValid(9));
  deepEqual(s.vmx.vmptrld(VMXON), vmFailValid(10));
  equal(errorField(s), 10);
  s.dv.setUint32(VMCS_B, 0x11e57ed0, true); // KVM's vmcs12 revision, not hvsim's
  deepEqual(s.vmx.vmptrld(VMCS_B), vmFailValid(11));
  equal(errorField(s), 11);
  s.dv.setUint32(VMCS_B, (HVSIM_VMCS_REVISION | 0x80000000) >>> 0, true); // shadow, unsupported
  deepEqual(s.vmx.vmptrld(VMCS_B), vmFailValid(11));
  deepEqual(s.vmx.vmptrst(), { ok: true, value: BigInt(VMCS_A) });
  s.dv.setUint32(VMCS_B, HVSIM_VMCS_REVISION, true);
  deepEqual(s.vmx.vmptrld(VMCS_B), VM_SUCCEED);
  deepEqual(s.vmx.vmptrst(), { ok: true, value: BigInt(VMCS_B) });
});

Deno.test("Vmx.vmread()/vmwrite() round-trip every writable encoding at its width", () => {
  const s = loaded();
  for (const f of F.VMCS_FIELDS.filter((f) => !f.readOnly)) {
    deepEqual(s.vmx.vmwrite(f.encoding, 0x8899aabbccddeeffn), VM_SUCCEED, f.name);
    const want = f.size === 2 ? 0xeeffn : f.size === 4 ? 0xccddeeffn : 0x8899aabbccddeeffn;
    deepEqual(s.vmx.vmread(f.encoding), { ok: true, value: want }, f.name);
    if (f.size < 8) {
      deepEqual(s.vmx.vmwrite(f.encoding, 0x1234), VM_SUCCEED);
      equal(s.vmx.vmreadNumber(f.encoding), 0x1234, f.name);
    }
  }
});

Deno.test("Vmx.vmread()/vmwrite() of a 64-bit field's high access type move bits 63:32", () => {
  const s = loaded();
  s.vmx.vmwrite(F.TSC_OFFSET, 0x1111222233334444n);
  deepEqual(s.vmx.vmread(F.TSC_OFFSET_HIGH), { ok: true, value: 0x11112222n });
  s.vmx.vmwrite(F.TSC_OFFSET_HIGH, 0xffffffff5555n); // only bits 31:0 of the operand are used
  deepEqual(s.vmx.vmread(F.TSC_OFFSET), { ok: true, value: 0xffff555533334444n });
  deepEqual(s.vmx.vmread(F.GUEST_PHYSICAL_ADDRESS_HIGH), { ok: true, value: 0n });
});

Deno.test("Vmx.vmread()/vmwrite() of unsupported components fail with 12", () => {
  const s = loaded();
  for (const enc of [0x0001, 0x0004, 0x4001, 0x6c18, 0x781e, 0x1681e, 2 ** 32 + 0x681e, -1]) {
    deepEqual(s.vmx.vmread(enc), vmFailValid(12), enc.toString(16));
    deepEqual(s.vmx.vmwrite(enc, 0n), vmFailValid(12), enc.toString(16));
    equal(s.vmx.vmreadNumber(enc), vmFailValid(12));
    equal(errorField(s), 12);
  }
});

Deno.test("Vmx.vmwrite() to every read-only field fails with 13 and leaves it unchanged", () => {
  const s = loaded();
  for (const f of F.VMCS_FIELDS.filter((f) => f.readOnly)) {
    deepEqual(s.vmx.vmwrite(f.encoding, 5n), vmFailValid(13), f.name);
    equal(errorField(s), 13);
    if (f.encoding !== F.VM_INSTRUCTION_ERROR) deepEqual(s.vmx.vmread(f.encoding), { ok: true, value: 0n });
  }
  deepEqual(s.vmx.vmread(F.VM_INSTRUCTION_ERROR), { ok: true, value: 13n });
});

Deno.test("Vmx.vmread()/vmwrite() without a current VMCS are VMfailInvalid", () => {
  const { vmx } = setup();
  vmx.vmxon(VMXON);
  deepEqual(vmx.vmread(F.GUEST_RIP), VM_FAIL_INVALID);
  deepEqual(vmx.vmwrite(F.GUEST_RIP, 0n), VM_FAIL_INVALID);
  equal(vmx.vmreadNumber(F.GUEST_CS_SELECTOR), VM_FAIL_INVALID);
  deepEqual(vmx.vmlaunch(), VM_FAIL_INVALID);
  deepEqual(vmx.vmresume(), VM_FAIL_INVALID);
});

function launchable() {
  const s = loaded();
  setupVmcs64(s.vmx.currentVmcs!);
  return s;
}

Deno.test("Vmx.vmlaunch() enters a valid VMCS and marks it launched; VMLAUNCH again fails with 4", () => {
  const s = launchable();
  deepEqual(s.vmx.vmresume(), vmFailValid(5));
  equal(errorField(s), 5);
  deepEqual(s.vmx.vmlaunch(), VM_SUCCEED);
  equal(s.vmx.currentVmcs!.launchState, LAUNCH_STATE_LAUNCHED);
  deepEqual(s.vmx.vmlaunch(), vmFailValid(4));
  equal(errorField(s), 4);
  deepEqual(s.vmx.vmresume(), VM_SUCCEED);
  s.vmx.vmclear(VMCS_A);
  s.vmx.vmptrld(VMCS_A);
  deepEqual(s.vmx.vmresume(), vmFailValid(5), "VMCLEAR makes it clear again");
  deepEqual(s.vmx.vmlaunch(), VM_SUCCEED);
});

Deno.test("Vmx.vmlaunch() reports invalid controls as 7 and invalid host state as 8", () => {
  const s = launchable();
  s.vmx.vmwrite(F.CR3_TARGET_COUNT, 9);
  deepEqual(s.vmx.vmlaunch(), vmFailValid(7));
  equal(errorField(s), 7);
  s.vmx.vmwrite(F.CR3_TARGET_COUNT, 0);
  s.vmx.vmwrite(F.HOST_CS_SELECTOR, 0);
  deepEqual(s.vmx.vmlaunch(), vmFailValid(8));
  equal(errorField(s), 8);
  equal(s.vmx.currentVmcs!.launchState, LAUNCH_STATE_CLEAR);
});

Deno.test("Vmx.vmlaunch() with invalid guest state records exit reason 0x80000021 and the qualification", () => {
  const s = launchable();
  s.vmx.vmwrite(F.VMCS_LINK_POINTER, 0x5008n);
  const r = s.vmx.vmlaunch();
  deepEqual(r, {
    ok: false,
    kind: "entry-failure",
    exitReason: 0x80000021,
    qualification: 4,
    check: "VMCS link pointer address",
  });
  equal(s.dv.getUint32(VMCS_A + 812, true), 0x80000021);
  equal(s.dv.getBigUint64(VMCS_A + 408, true), 4n);
  equal(s.vmx.currentVmcs!.launchState, LAUNCH_STATE_CLEAR);
  equal(applyVmxResultToRflags(0x2c3, r), 0x2c3, "RFLAGS come from the host state instead");
});

Deno.test("Vmx.vmlaunch() with blocking by MOV SS fails with 26; a shadow VMCS is VMfailInvalid", () => {
  const s = launchable();
  s.vmx.vmwrite(F.GUEST_INTERRUPTIBILITY_INFO, 2);
  deepEqual(s.vmx.vmlaunch(), vmFailValid(26));
  equal(errorField(s), 26);
  s.vmx.vmwrite(F.GUEST_INTERRUPTIBILITY_INFO, 0);
  s.vmx.currentVmcs!.shadow = true;
  deepEqual(s.vmx.vmlaunch(), VM_FAIL_INVALID);
});

Deno.test("Vmx.save()/restore() round-trip the VMX-operation state", () => {
  const s = loaded();
  const state = s.vmx.save();
  deepEqual(state, { inVmxOperation: true, vmxonPointer: VMXON, currentVmcsPointer: VMCS_A });
  const other = new Vmx(s.mem);
  other.restore(structuredClone(state));
  deepEqual(other.save(), state);
  deepEqual(other.vmread(F.VM_INSTRUCTION_ERROR), { ok: true, value: 0n });
  equal(other.currentVmcs instanceof Vmcs, true);
  throws(() => other.restore({ ...state, currentVmcsPointer: 5 }), /current-VMCS pointer 5/);
});

import { deepEqual, equal, notDeepEqual, throws } from "node:assert/strict";
import {
  EPT_POINTER,
  EPT_POINTER_HIGH,
  GUEST_CS_SELECTOR,
  GUEST_PML_INDEX,
  GUEST_RIP,
  VM_EXIT_REASON,
  VMCS_FIELDS,
} from "../../src/vmx/fields.ts";
import { LAUNCH_STATE_CLEAR, LAUNCH_STATE_LAUNCHED, Vmcs } from "../../src/vmx/vmcs.ts";

const BASE = 0x3000;

function newVmcs(): Vmcs {
  return new Vmcs(new Uint8Array(0x6000), BASE);
}

Deno.test("Vmcs keeps revision bits 30:0 and the shadow bit 31 in the u32 at offset 0", () => {
  const v = newVmcs();
  const dv = new DataView(v.mem.buffer);
  v.format(0x12345678);
  equal(dv.getUint32(BASE, true), 0x12345678);
  v.shadow = true;
  equal(dv.getUint32(BASE, true), 0x92345678);
  equal(v.revisionId, 0x12345678);
  v.revisionId = 0x7fffffff;
  equal(dv.getUint32(BASE, true), 0xffffffff);
  equal(v.shadow, true);
  v.shadow = false;
  equal(dv.getUint32(BASE, true), 0x7fffffff);
  v.revisionId = 0xffffffff; // bit 31 of the value is not the shadow bit
  equal(v.shadow, false);
});

Deno.test("Vmcs keeps the VMX-abort indicator at offset 4 and the launch state at offset 8", () => {
  const v = newVmcs();
  const dv = new DataView(v.mem.buffer);
  v.abortIndicator = 6;
  equal(dv.getUint32(BASE + 4, true), 6);
  v.launchState = LAUNCH_STATE_LAUNCHED;
  equal(dv.getUint32(BASE + 8, true), 1);
  v.launchState = LAUNCH_STATE_CLEAR;
  equal(dv.getUint32(BASE + 8, true), 0);
});

Deno.test("Vmcs.write() stores GUEST_RIP little-endian at vmcs12 offset 544 (Linux struct vmcs12)", () => {
  const v = newVmcs();
  v.write(GUEST_RIP, 0x1122334455667788n);
  deepEqual([...v.mem.subarray(BASE + 544, BASE + 552)], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  v.writeNumber(VM_EXIT_REASON, 0x80000021);
  deepEqual([...v.mem.subarray(BASE + 812, BASE + 816)], [0x21, 0, 0, 0x80]);
  v.writeNumber(GUEST_PML_INDEX, 511);
  deepEqual([...v.mem.subarray(BASE + 996, BASE + 998)], [0xff, 0x01]);
});

Deno.test("Vmcs.write()/read() round-trip every encoding at its width and touch only its bytes", () => {
  for (const f of VMCS_FIELDS) {
    const v = newVmcs();
    v.mem.fill(0xa5);
    const before = v.mem.slice();
    v.write(f.encoding, 0xfedcba9876543210n);
    const expected = f.size === 2 ? 0x3210n : f.size === 4 ? 0x76543210n : 0xfedcba9876543210n;
    equal(v.read(f.encoding), expected, f.name);
    if (f.size < 8) equal(v.readNumber(f.encoding), Number(expected), f.name);
    const after = v.mem;
    for (let i = 0; i < after.length; i++) {
      const inside = i >= BASE + f.offset && i < BASE + f.offset + f.size;
      if (!inside) equal(after[i], before[i], `${f.name} touched byte ${i - BASE}`);
    }
  }
});

Deno.test("Vmcs: a high alias reads and writes bits 63:32 of its 64-bit field", () => {
  const v = newVmcs();
  v.write(EPT_POINTER, 0x1122334455667788n);
  equal(v.read(EPT_POINTER_HIGH), 0x11223344n);
  equal(v.readNumber(EPT_POINTER_HIGH), 0x11223344);
  v.writeNumber(EPT_POINTER_HIGH, 0xaabbccdd);
  equal(v.read(EPT_POINTER), 0xaabbccdd55667788n);
});

Deno.test("Vmcs.writeNumber()/readNumber() handle 64-bit fields without BigInt", () => {
  const v = newVmcs();
  v.writeNumber(GUEST_RIP, 2 ** 53 - 1);
  equal(v.read(GUEST_RIP), 2n ** 53n - 1n);
  equal(v.readNumber(GUEST_RIP), 2 ** 53 - 1);
  v.writeNumber(GUEST_RIP, -1);
  equal(v.read(GUEST_RIP), 0xffffffffffffffffn);
  throws(() => v.readNumber(GUEST_RIP), RangeError);
  throws(() => v.writeNumber(GUEST_RIP, 2 ** 64), RangeError);
  v.writeNumber(GUEST_CS_SELECTOR, 0x12345);
  equal(v.readNumber(GUEST_CS_SELECTOR), 0x2345);
  v.write(GUEST_CS_SELECTOR, -1n);
  equal(v.read(GUEST_CS_SELECTOR), 0xffffn);
});

Deno.test("Vmcs rejects unsupported encodings and regions outside memory", () => {
  const v = newVmcs();
  throws(() => v.read(0x6c18), /Unsupported VMCS field encoding 0x6c18/);
  throws(() => v.write(0x0001, 1n), RangeError);
  throws(() => v.readNumber(0x4001), RangeError);
  throws(() => v.writeNumber(0x8000, 1), RangeError);
  throws(() => new Vmcs(new Uint8Array(8192), 4097), /inside 8192 bytes/);
  throws(() => new Vmcs(new Uint8Array(8192), -1), RangeError);
});

Deno.test("Vmcs.save()/restore() round-trip the region as plain data", () => {
  const v = newVmcs();
  v.format(0x11e57ed0);
  v.launchState = LAUNCH_STATE_LAUNCHED;
  v.write(GUEST_RIP, 0xffffffff80001000n);
  const saved = v.save();
  equal(saved.address, BASE);
  equal(saved.region.length, 4096);
  const copy = structuredClone(saved);
  v.write(GUEST_RIP, 0n);
  v.launchState = LAUNCH_STATE_CLEAR;
  notDeepEqual(v.save().region, copy.region);
  const w = new Vmcs(new Uint8Array(0x6000), BASE);
  w.restore(copy);
  equal(w.read(GUEST_RIP), 0xffffffff80001000n);
  equal(w.launchState, LAUNCH_STATE_LAUNCHED);
  equal(w.revisionId, 0x11e57ed0);
  deepEqual(w.save(), saved);
  throws(() => w.restore({ address: BASE, region: new Uint8Array(100) }), /expected a 4096-byte region/);
});

Deno.test("Vmcs.readLow32()/readHigh32() split fields into 32-bit halves without BigInt", () => {
  const v = newVmcs();
  v.write(GUEST_RIP, 0xffff800012345678n);
  equal(v.readLow32(GUEST_RIP), 0x12345678);
  equal(v.readHigh32(GUEST_RIP), 0xffff8000);
  v.write(EPT_POINTER, 0x123456789an);
  equal(v.readLow32(EPT_POINTER_HIGH), 0x12);
  equal(v.readHigh32(EPT_POINTER_HIGH), 0);
  v.write(GUEST_CS_SELECTOR, 0xbeefn);
  equal(v.readLow32(GUEST_CS_SELECTOR), 0xbeef);
  equal(v.readHigh32(GUEST_CS_SELECTOR), 0);
  equal(v.readHigh32(VM_EXIT_REASON), 0);
  throws(() => v.readLow32(0x6c18), RangeError);
  throws(() => v.readHigh32(0x0001), RangeError);
});

import { equal, ok } from "node:assert/strict";
import {
  allowed0,
  allowed1,
  controlMsr,
  controlsAllowed,
  effectiveControlMsrs,
  HVSIM_VMX_CAPABILITIES as CAPS,
  readVmxCapabilityMsr,
  vmcsRevision,
} from "../../src/vmx/capabilities.ts";

const bit = (n: number) => 2 ** n;
const bits = (...ns: number[]) => ns.reduce((a, n) => a + bit(n), 0);

Deno.test("HVSIM_VMX_CAPABILITIES.basic has the IA32_VMX_BASIC layout of SDM Vol. 3, App. A.1", () => {
  const b = CAPS.basic;
  equal(Number(b & 0x7fffffffn), vmcsRevision(CAPS));
  equal((b >> 31n) & 1n, 0n, "bit 31 is 0");
  equal((b >> 32n) & 0x1fffn, 4096n, "bits 44:32 = region size");
  equal((b >> 48n) & 1n, 0n, "no 32-bit address limit");
  equal((b >> 50n) & 0xfn, 6n, "memory type WB");
  equal((b >> 55n) & 1n, 1n, "TRUE control MSRs");
});

// Supported control bits, as bit positions from SDM Vol. 3, §24.6-24.8.
const SUPPORTED: [string, bigint, number[]][] = [
  ["pin-based: ext-int, NMI, preemption timer", CAPS.truePinbasedCtls, [0, 3, 6]],
  [
    "primary: int-window, HLT, RDTSC, CR3 load/store, CR8 load/store, MOV-DR, I/O, bitmaps, secondary",
    CAPS.trueProcbasedCtls,
    [
      2,
      7,
      12,
      15,
      16,
      19,
      20,
      23,
      24,
      25,
      28,
      31,
    ],
  ],
  ["secondary: EPT, PML", CAPS.procbasedCtls2, [1, 17]],
  ["exit: host size, ack int, save/load PAT, save/load EFER, save timer", CAPS.trueExitCtls, [
    9,
    15,
    18,
    19,
    20,
    21,
    22,
  ]],
  ["entry: IA-32e guest, load PAT, load EFER", CAPS.trueEntryCtls, [9, 14, 15]],
];

Deno.test("HVSIM_VMX_CAPABILITIES allows 1 for every control hvsim supports (SDM Vol. 3, §24.6-24.8)", () => {
  for (const [what, msr, positions] of SUPPORTED) {
    for (const p of positions) ok((allowed1(msr) & bit(p)) !== 0, `${what}: bit ${p}`);
  }
});

Deno.test("HVSIM_VMX_CAPABILITIES forbids controls hvsim does not support", () => {
  const cases: [string, bigint, number][] = [
    ["virtual NMIs", CAPS.truePinbasedCtls, 5],
    ["posted interrupts", CAPS.truePinbasedCtls, 7],
    ["use TSC offsetting", CAPS.trueProcbasedCtls, 3],
    ["use TPR shadow", CAPS.trueProcbasedCtls, 21],
    ["NMI-window exiting", CAPS.trueProcbasedCtls, 22],
    ["monitor trap flag", CAPS.trueProcbasedCtls, 27],
    ["activate tertiary controls", CAPS.trueProcbasedCtls, 17],
    ["unrestricted guest", CAPS.procbasedCtls2, 7],
    ["enable VPID", CAPS.procbasedCtls2, 5],
    ["VMCS shadowing", CAPS.procbasedCtls2, 14],
    ["entry to SMM", CAPS.trueEntryCtls, 10],
    ["deactivate dual-monitor", CAPS.trueEntryCtls, 11],
  ];
  for (const [what, msr, p] of cases) equal(allowed1(msr) & bit(p), 0, what);
});

Deno.test("HVSIM_VMX_CAPABILITIES: non-TRUE MSRs require the default-1 classes of SDM Vol. 3, App. A.2-A.5", () => {
  equal(allowed0(CAPS.pinbasedCtls), 0x16);
  equal(allowed0(CAPS.procbasedCtls), 0x0401e172);
  equal(allowed0(CAPS.exitCtls), 0x36dff);
  equal(allowed0(CAPS.entryCtls), 0x11ff);
  // TRUE variants may clear CR3-load/store exiting, save/load debug controls.
  equal(allowed0(CAPS.trueProcbasedCtls), 0x0401e172 - bits(15, 16));
  equal(allowed0(CAPS.trueExitCtls), 0x36dff - bit(2));
  equal(allowed0(CAPS.trueEntryCtls), 0x11ff - bit(2));
  for (const msr of Object.values(effectiveControlMsrs(CAPS))) {
    equal((allowed0(msr) & ~allowed1(msr)) >>> 0, 0, "allowed-0 bits are also allowed-1");
  }
});

Deno.test("HVSIM_VMX_CAPABILITIES: MISC, fixed bits and EPT_VPID_CAP", () => {
  equal(CAPS.misc & 0x1fn, 0n, "preemption timer rate 0");
  equal((CAPS.misc >> 6n) & 1n, 1n, "HLT activity state");
  equal((CAPS.misc >> 7n) & 3n, 0n, "no shutdown / wait-for-SIPI");
  equal((CAPS.misc >> 16n) & 0x1ffn, 4n, "4 CR3-target values");
  equal((CAPS.misc >> 29n) & 1n, 0n, "VMWRITE to read-only fields fails");
  equal(CAPS.cr0Fixed0, BigInt(bits(0, 5, 31)), "CR0 PE, NE, PG");
  equal(CAPS.cr4Fixed0, BigInt(bit(13)), "CR4 VMXE");
  equal(CAPS.cr4Fixed1 & CAPS.cr4Fixed0, CAPS.cr4Fixed0);
  for (const p of [6, 8, 14, 16, 17, 21]) equal((CAPS.eptVpidCap >> BigInt(p)) & 1n, 1n, `EPT cap bit ${p}`);
  for (const p of [0, 7, 20, 22, 32]) equal((CAPS.eptVpidCap >> BigInt(p)) & 1n, 0n, `EPT cap bit ${p}`);
  equal(CAPS.vmcsEnum, 0x21n << 1n, "highest index 0x21 (PID_POINTER_TABLE 0x2042)");
});

Deno.test("readVmxCapabilityMsr() answers 0x480-0x490 and refuses VMFUNC and unknown MSRs", () => {
  equal(readVmxCapabilityMsr(CAPS, 0x480), CAPS.basic);
  equal(readVmxCapabilityMsr(CAPS, 0x482), CAPS.procbasedCtls);
  equal(readVmxCapabilityMsr(CAPS, 0x48b), CAPS.procbasedCtls2);
  equal(readVmxCapabilityMsr(CAPS, 0x48c), CAPS.eptVpidCap);
  equal(readVmxCapabilityMsr(CAPS, 0x48e), CAPS.trueProcbasedCtls);
  equal(readVmxCapabilityMsr(CAPS, 0x490), CAPS.trueEntryCtls);
  for (let i = 0x480; i <= 0x490; i++) ok(readVmxCapabilityMsr(CAPS, i) !== undefined, i.toString(16));
  equal(readVmxCapabilityMsr(CAPS, 0x491), undefined);
  equal(readVmxCapabilityMsr(CAPS, 0x492), undefined);
  const noTrue = { ...CAPS, basic: CAPS.basic & ~(1n << 55n) };
  equal(readVmxCapabilityMsr(noTrue, 0x48d), undefined);
  equal(effectiveControlMsrs(noTrue).proc, CAPS.procbasedCtls);
});

Deno.test("controlsAllowed() requires allowed-0 bits and refuses bits outside allowed-1", () => {
  const msr = controlMsr(0x16, 0x49);
  equal(msr, (0x5fn << 32n) | 0x16n);
  ok(controlsAllowed(0x16, msr));
  ok(controlsAllowed(0x5f, msr));
  ok(!controlsAllowed(0x14, msr));
  ok(!controlsAllowed(0x36, msr));
  ok(controlsAllowed(0x80000000 | 0x16, controlMsr(0x16, 0x80000000)));
});

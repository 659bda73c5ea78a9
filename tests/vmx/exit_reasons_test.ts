import { equal } from "node:assert/strict";
import * as R from "../../src/vmx/exit_reasons.ts";

// Reference §5.2: number -> Linux name (or hvsim name where Linux has none).
const TABLE: [number, string][] = [
  [0, "EXCEPTION_NMI"],
  [1, "EXTERNAL_INTERRUPT"],
  [2, "TRIPLE_FAULT"],
  [7, "INTERRUPT_WINDOW"],
  [10, "CPUID"],
  [12, "HLT"],
  [16, "RDTSC"],
  [18, "VMCALL"],
  [28, "CR_ACCESS"],
  [29, "DR_ACCESS"],
  [30, "IO_INSTRUCTION"],
  [31, "MSR_READ"],
  [32, "MSR_WRITE"],
  [33, "INVALID_GUEST_STATE"],
  [34, "MSR_LOAD_FAIL"],
  [48, "EPT_VIOLATION"],
  [49, "EPT_MISCONFIG"],
  [52, "PREEMPTION_TIMER"],
  [56, "APIC_WRITE"],
  [62, "PML_FULL"],
  [74, "BUS_LOCK"],
  [75, "NOTIFY"],
  [84, "MSR_READ_IMM"],
  [85, "MSR_WRITE_IMM"],
];

Deno.test("EXIT_REASON_* constants carry the numbers of SDM Vol. 3, App. C", () => {
  const mod = R as unknown as Record<string, number>;
  for (const [n, name] of TABLE) {
    equal(mod[`EXIT_REASON_${name}`], n, name);
    equal(R.EXIT_REASON_NAMES[n], name);
  }
});

Deno.test("EXIT_REASON_NAMES covers 0-85, reserved numbers marked, every other name a constant", () => {
  equal(R.EXIT_REASON_NAMES.length, 86);
  const mod = R as unknown as Record<string, number>;
  const reserved = [35, 38, 42, 71, 82, 83];
  R.EXIT_REASON_NAMES.forEach((name, n) => {
    if (reserved.includes(n)) equal(name, `RESERVED_${n}`);
    else equal(mod[`EXIT_REASON_${name}`], n, name);
  });
  equal(new Set(R.EXIT_REASON_NAMES).size, 86);
});

Deno.test("exit-reason field helpers follow the layout of SDM Vol. 3, §24.9.1", () => {
  equal(R.makeExitReason(33, true), 0x80000021);
  equal(R.makeExitReason(34, true), 0x80000022);
  equal(R.makeExitReason(48), 48);
  equal(R.basicExitReason(0x80000021), 33);
  equal(R.isVmEntryFailure(0x80000021), true);
  equal(R.isVmEntryFailure(0x08000030), false);
  equal(R.exitReasonName(0x80000022), "MSR_LOAD_FAIL (VM-entry failure)");
  equal(R.exitReasonName(62), "PML_FULL");
  equal(R.exitReasonName(200), "UNKNOWN_200");
});

/** Test helper: one VM entry of a booted machine, for the VMX exit tests. */

import assert from "node:assert/strict";
import type { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";

/** One VM entry with a generous preemption timer; returns the basic exit reason. */
export function enter(m: Machine, timer = 1_000_000): number {
  m.vcpu.vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, timer);
  const out = m.vcpu.enter();
  assert.equal(out.kind, "exit", JSON.stringify(out));
  return m.vcpu.vmcs.readNumber(F.VM_EXIT_REASON);
}

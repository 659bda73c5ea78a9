/**
 * RDRAND and RDSEED under "RDRAND exiting" (secondary processor-based control bit 11) and "RDSEED
 * exiting" (bit 16): advertised in IA32_VMX_PROCBASED_CTLS2, exits when set (SDM Vol. 3 §25.1.3),
 * executed in the guest from the machine's entropy source when clear (SDM Vol. 2 RDRAND: CF = 1,
 * OF SF ZF AF PF = 0), through the same recorded-input path either way.
 */

import assert from "node:assert/strict";
import { Entropy } from "../../src/devices/mod.ts";
import { RecordingEntropy } from "../../src/replay/inputs.ts";
import type { InputRecord } from "../../src/replay/log.ts";
import { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";
import { PROC2_RDRAND_EXITING, PROC2_RDSEED_EXITING } from "../../src/vmx/controls.ts";
import {
  allowed1,
  HVSIM_VMX_CAPABILITIES,
  IA32_VMX_PROCBASED_CTLS2,
  readVmxCapabilityMsr,
} from "../../src/vmx/capabilities.ts";
import { assembleText, NEEDS_AS } from "./_asm.ts";
import { REPO_ROOT } from "../../guests/build.ts";
import { parseSize } from "../../src/vm/mod.ts";
import { SAMPLE_RUNS } from "./_guests.ts";

const SRC =
  "mov eax, 0xffffffff\nadd eax, 1\nrdrand rax\nmov r8, rax\npushfq\npop r9\nrdseed ecx\nrdrand dx\nhlt";

function boot(exiting: boolean): Machine {
  const m = Machine.fromFlat(assembleText(SRC));
  if (!exiting) clearExiting(m);
  return m;
}

function clearExiting(m: Machine): void {
  const vmcs = m.vcpu.vmcs;
  const p2 = vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL);
  vmcs.writeNumber(F.SECONDARY_VM_EXEC_CONTROL, p2 & ~(PROC2_RDRAND_EXITING | PROC2_RDSEED_EXITING));
}

Deno.test("IA32_VMX_PROCBASED_CTLS2 allows RDRAND exiting (bit 11) and RDSEED exiting (bit 16) to be 1", () => {
  const msr = readVmxCapabilityMsr(HVSIM_VMX_CAPABILITIES, IA32_VMX_PROCBASED_CTLS2)!;
  assert.equal(allowed1(msr) & (1 << 11), 1 << 11);
  assert.equal(allowed1(msr) & (1 << 16), 1 << 16);
});

Deno.test("the machine sets RDRAND/RDSEED exiting and handles exits 57 and 61", NEEDS_AS, () => {
  const m = boot(true);
  const p2 = m.vcpu.vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL);
  assert.equal(
    p2 & (PROC2_RDRAND_EXITING | PROC2_RDSEED_EXITING),
    PROC2_RDRAND_EXITING | PROC2_RDSEED_EXITING,
  );
  assert.equal(m.runToEnd(100).reason, "hlt");
  assert.equal(m.exitCounts.get(57), 2);
  assert.equal(m.exitCounts.get(61), 1);
});

Deno.test(
  "with the controls clear RDRAND/RDSEED run in the guest: no exit, entropy-source values, CF = 1",
  NEEDS_AS,
  () => {
    const m = boot(false);
    assert.equal(m.runToEnd(100).reason, "hlt");
    assert.equal(m.exitCounts.get(57), undefined);
    assert.equal(m.exitCounts.get(61), undefined);
    const e = new Entropy(0x68767369_6d5f7631n); // the machine's default seed
    const r = (n: number) => m.cpu.getReg64(n);
    assert.equal(r(8), e.next64(), "RDRAND r64: all 64 bits");
    // RFLAGS after RDRAND: CF = 1; OF, SF, ZF, AF, PF = 0 (the ADD before set ZF, AF, PF and CF).
    assert.equal(Number(r(9)) & 0x8d5, 1);
    assert.equal(r(1), e.next64() & 0xffffffffn, "RDSEED r32 zero-extends");
    assert.equal(r(2) & 0xffffn, e.next64() & 0xffffn, "RDRAND r16");
    assert.equal(m.instructions, 9);
  },
);

Deno.test("RDRAND/RDSEED in the guest and through exits are recorded alike (kind, instruction count, value)", () => {
  const run = SAMPLE_RUNS.find((r) => r.name === "entropy");
  assert.ok(run, "the entropy sample guest's run");
  const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
  const runs: InputRecord[][] = [];
  for (const exiting of [true, false]) {
    const log: InputRecord[] = [];
    const entropy = new RecordingEntropy(new Entropy(7n), (rec) => log.push(rec));
    const m = Machine.fromElf(elf, { entropy, memory: parseSize(run.memory), cmdline: run.cmdline });
    entropy.machine = m;
    if (!exiting) clearExiting(m);
    const exit = m.runToEnd(50_000_000);
    assert.notEqual(exit.reason, "unhandled-exit", exit.message);
    assert.equal((m.exitCounts.get(57) ?? 0) > 0, exiting);
    runs.push(log);
  }
  assert.ok(runs[0].length > 0);
  assert.ok(runs[0].some((r) => r.kind !== runs[0][0].kind), "both RDRAND and RDSEED were recorded");
  assert.deepEqual(runs[1], runs[0]);
});

/**
 * Instruction tests from the atomic tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/atomic.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts atomic`).
 */
import assert from "node:assert/strict";
import { fixtureTests } from "./_fixture.ts";
import { go, hexBytes, load, makeCpu } from "./_harness.ts";

fixtureTests("atomic", () => makeCpu());

Deno.test("cmpxchg() with a failed compare writes a 32-bit register destination back zero-extended (Intel SDM)", () => {
  // SDM Vol. 2A CMPXCHG, Operation: ELSE accumulator := TEMP; DEST := TEMP. A 32-bit register
  // write zero-extends (SDM Vol. 1 §3.4.1.1). (AMD leaves the register alone: docs/intel_vs_amd.md.)
  const cpu = makeCpu();
  // cmpxchgl %ecx, %edx (0f b1 ca): EAX 5 != EDX 6.
  load(cpu, {
    code: hexBytes("0fb1ca"),
    regs: { rax: 0xdeadbeef00000005n, rcx: 9n, rdx: 0x2152411000000006n },
  });
  const o = go(cpu, 1);
  assert.equal(o.regs.rdx, 6n, "DEST := TEMP, zero-extended");
  assert.equal(o.regs.rax, 6n, "accumulator := TEMP, zero-extended");
  assert.equal(o.rflags & 0x40, 0, "ZF = 0");
  // A successful compare writes only the destination: RAX keeps bits 63:32.
  load(cpu, {
    code: hexBytes("0fb1ca"),
    regs: { rax: 0xdeadbeef00000006n, rcx: 9n, rdx: 0x2152411000000006n },
  });
  const s = go(cpu, 1);
  assert.deepEqual([s.regs.rdx, s.regs.rax], [9n, 0xdeadbeef00000006n]);
});

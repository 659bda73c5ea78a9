/**
 * Events landing inside code compiled to WebAssembly happen exactly where the interpreter has
 * them: a store into the code of the running region (self-modifying code takes effect at the next
 * instruction), the interrupt shadows of STI and MOV SS ending inside compiled blocks, the PML-full
 * exit of a store in a compiled loop (SDM Vol. 3 §28.2.6), and the VMX-preemption timer counting
 * down to zero inside a region (SDM Vol. 3 §26.5.1; hvsim counts retired instructions). Each
 * program runs once with the wasm backend (every block compiled at once, or after warming up) and
 * once interpreted: the exit, instruction count, RIP and registers must be equal, and the wasm run
 * must have run the event's code in a compiled region.
 */

import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";
import { PROC_INTERRUPT_WINDOW_EXITING } from "../../src/vmx/controls.ts";
import { assembleText, NEEDS_AS } from "./_asm.ts";

/** A machine running `asm` (flat, at 1 MiB) on the wasm backend with compile threshold `threshold`, or interpreted. */
function boot(asm: string, wasm: boolean, threshold = 1): Machine {
  const m = Machine.fromFlat(assembleText(asm), 0x100000, 0x100000, { backend: wasm ? "wasm" : "js" });
  m.cpu.compileThreshold = wasm ? threshold : Infinity;
  return m;
}

/** One VM entry with the preemption timer at `timer`; returns what the exit left. */
function enter(m: Machine, timer = 1_000_000): string {
  m.vcpu.vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, timer);
  const out = m.vcpu.enter();
  assert.equal(out.kind, "exit", JSON.stringify(out));
  return JSON.stringify({
    reason: m.vcpu.vmcs.readNumber(F.VM_EXIT_REASON),
    qualification: m.vcpu.vmcs.read(F.EXIT_QUALIFICATION).toString(16),
    instructions: m.instructions,
    rip: m.vcpu.vmcs.read(F.GUEST_RIP).toString(16),
    interruptibility: m.vcpu.vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO),
    regs: m.regs(),
  }, (_k, v) => typeof v === "bigint" ? v.toString(16) : v);
}

/**
 * Asserts that the wasm run compiled regions and, at compile threshold 1 (where every block is
 * compiled as a region's entry the first time it runs), that a block holding or ending at `rip`
 * (where the event left the code; guest-physical = linear here) was compiled to wasm.
 */
function assertCompiled(m: Machine, what: string, rip?: number): void {
  const w = m.cpu.wasm;
  assert.ok(w !== null && w.compiled > 0, `${what}: no wasm region`);
  if (rip === undefined || m.cpu.compileThreshold !== 1) return;
  const around = [...m.cpu.blocks.all()].filter((b) =>
    b.hpa <= rip && rip <= b.hpa + b.insns.reduce((s, i) => s + i.len, 0)
  );
  assert.ok(
    around.some((b) => b.compiledBy === "wasm"),
    `${what}: no compiled block at 0x${rip.toString(16)}`,
  );
}

Deno.test(
  "wasm: a store into the running region's code takes effect at the next instruction, as interpreted",
  NEEDS_AS,
  () => {
    // Each pass rewrites the immediate of the ADD after the store (same block) and of the MOV at the
    // loop's head (an earlier block of the region), so both the block running and the region change.
    const asm = `
    mov ecx, 60
    xor ebx, ebx
  1:
    mov eax, 0x1000
    add ebx, eax
    lea rdx, [rip + 2f]
    mov dword ptr [rdx + 2], ecx
  2:
    add ebx, 0x11111111
    lea rdx, [rip + 1b]
    mov dword ptr [rdx + 1], ebx
    dec ecx
    jnz 1b
    hlt`;
    // Compiled at once (the rewritten blocks are decoded and compiled again on every pass).
    const w = boot(asm, true), i = boot(asm, false);
    assert.equal(enter(w), enter(i));
    assertCompiled(w, "smc");
    assert.ok(w.cpu.wasm!.compiled >= 60, "the region is compiled again after each rewrite");
    assert.ok(w.cpu.wasm!.slowPaths > 0, "the stores into code leave compiled code through the slow path");
  },
);

Deno.test(
  "wasm: the STI and MOV SS shadows end inside compiled blocks at the interpreter's instruction",
  NEEDS_AS,
  () => {
    // The loop runs with interrupts off and is compiled; the instructions in the shadows are jumps
    // back into it, so the interrupt window opens inside compiled code.
    const programs = [
      "cli\nmov ecx, 40\n4:\njmp 5f\n5:\nsub ecx, 1\njnz 4b\nsti\njmp 4b",
      "cli\nmov ecx, 40\n4:\njmp 5f\n5:\nsub ecx, 1\njnz 4b\nmov ax, ss\nsti\nmov ss, ax\njmp 4b",
      "cli\nmov ecx, 40\n4:\nadd rbx, rcx\nsub ecx, 1\njnz 4b\nmov ax, ss\nmov ss, ax\nsti\nadd rbx, 1\njmp 4b",
      "sti\n3:\njmp 3b", // one instruction in the shadow: compiled only at threshold 1
    ];
    for (const asm of programs) {
      for (const threshold of asm.startsWith("sti") ? [1] : [1, 2, 16]) {
        const w = boot(asm, true, threshold), i = boot(asm, false);
        for (const m of [w, i]) m.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
        const a = enter(w), b = enter(i);
        assert.equal(a, b, `${asm} (threshold ${threshold})`);
        assert.equal(JSON.parse(a).reason, 7);
        assertCompiled(w, asm, Number(w.vcpu.vmcs.read(F.GUEST_RIP)));
      }
    }
  },
);

Deno.test(
  "wasm: a store in a compiled loop fills the PML log: the PML-full exit at the interpreter's instruction",
  NEEDS_AS,
  () => {
    const asm = `
    mov rdi, 0x800000
    mov ecx, 600
  1:
    mov byte ptr [rdi], 1
    add rdi, 4096
    dec ecx
    jnz 1b
    hlt`;
    for (const threshold of [1, 4]) {
      const w = boot(asm, true, threshold), i = boot(asm, false);
      for (const m of [w, i]) m.setDirtyTracking(true);
      const a = enter(w), b = enter(i);
      assert.equal(a, b, `threshold ${threshold}`);
      assert.equal(JSON.parse(a).reason, 62);
      assertCompiled(w, `threshold ${threshold}`, Number(w.vcpu.vmcs.read(F.GUEST_RIP)));
      // After the exit the rest of the run still ends equal.
      assert.equal(enter(w), enter(i));
    }
  },
);

Deno.test(
  "wasm: the preemption timer expires inside compiled regions at the programmed instruction",
  NEEDS_AS,
  () => {
    // A region of several blocks (a loop with a call and a branch inside), timers ending anywhere in it.
    const asm = `
    xor eax, eax
    mov rsp, 0x200000
  1:
    inc rax
    call 2f
    test al, 3
    jz 3f
    add rbx, rax
  3:
    jmp 1b
  2:
    lea rcx, [rcx + rax*2]
    ret`;
    for (const threshold of [1, 5]) {
      const w = boot(asm, true, threshold), i = boot(asm, false);
      let k = 0;
      for (const timer of [7, 1, 100, 12345, 0, 3, 99_999, 2]) {
        const a = enter(w, timer), b = enter(i, timer);
        assert.equal(a, b, `timer ${timer} (threshold ${threshold})`);
        assert.equal(JSON.parse(a).reason, 52);
        if (++k > 3) assertCompiled(w, `timer ${timer}`, Number(w.vcpu.vmcs.read(F.GUEST_RIP)));
      }
    }
  },
);

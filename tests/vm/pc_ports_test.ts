/** The PC's simple ports in a machine: nothing-there ports, port 0x80 and the i8042's reset. */

import assert from "node:assert/strict";
import { bootAsm, NEEDS_AS } from "./_asm.ts";

Deno.test("Machine: ports with nothing there read all ones at every size and ignore writes", NEEDS_AS, () => {
  const m = bootAsm(`
    mov dx, 0x2f8
    mov al, 0x12
    out dx, al
    in al, dx
    movzx r8, al
    in ax, dx
    movzx r9, ax
    in eax, dx
    mov r10, rax
    in al, 0x80
    movzx r11, al
    mov al, 0x55
    out 0x80, al
    hlt`);
  const exit = m.runToEnd(1000);
  assert.equal(exit.reason, "hlt", exit.message);
  assert.equal(m.cpu.getReg64(8), 0xffn);
  assert.equal(m.cpu.getReg64(9), 0xffffn);
  assert.equal(m.cpu.getReg64(10), 0xffffffffn);
  assert.equal(m.cpu.getReg64(11), 0xffn, "port 0x80 reads all ones too");
});

Deno.test(
  "Machine: the i8042's reset command ends the run with exit reason reset (Linux's reboot=k)",
  NEEDS_AS,
  () => {
    // Linux's kb_wait() then outb(0xfe, 0x64).
    const m = bootAsm(`
1:  in al, 0x64
    test al, 2
    jnz 1b
    mov al, 0xfe
    out 0x64, al
    ud2`);
    const exit = m.runToEnd(1000);
    assert.equal(exit.reason, "reset", exit.message);
    assert.equal(exit.code, 0);
    assert.equal(m.instructions, 5);
  },
);

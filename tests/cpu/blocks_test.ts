/**
 * The decoded-block cache: blocks are reused, a store into a page with decoded code drops that
 * page's blocks (self-modifying code takes effect at the next instruction), and the cache is
 * bounded.
 */

import assert from "node:assert/strict";
import { CODE_ADDR, go, hexBytes, load, makeCpu } from "./_harness.ts";

Deno.test("BlockCache reuses a decoded block", () => {
  const cpu = makeCpu();
  load(cpu, { code: hexBytes("90909090") });
  go(cpu);
  const decoded = cpu.blocks.decoded;
  cpu.rip = CODE_ADDR;
  go(cpu);
  assert.equal(cpu.blocks.decoded, decoded);
});

Deno.test("BlockCache: a store into the running block changes the next instruction (self-modifying code)", () => {
  const cpu = makeCpu();
  // movb $0x90, 9(%rip) -> overwrites the byte after "inc %eax" ... : c6 05 disp32 imm8 (7 bytes),
  // then inc %eax (ff c0), then a byte 0xcc that the store turns into NOP, then inc %eax, int3.
  load(cpu, { code: hexBytes("c60502000000 90" + "ffc0" + "cc" + "ffc0") });
  const o = go(cpu);
  assert.equal(o.vector, 3);
  assert.equal(o.regs.rax, 2n, "the INT3 became a NOP, so both increments ran");
  assert.equal(o.rip, CODE_ADDR + 12);
});

Deno.test("BlockCache starts over past maxBlocks instead of growing without bound", () => {
  const cpu = makeCpu();
  cpu.blocks.maxBlocks = 8;
  // 40 blocks: 40 "jmp .+2" (each a block of its own), then INT3.
  load(cpu, { code: hexBytes("eb00".repeat(40)) });
  const o = go(cpu);
  assert.equal(o.vector, 3);
  assert.equal(o.rip, CODE_ADDR + 80);
  assert.ok(cpu.blocks.decoded >= 40);
  assert.ok(cpu.blocks.size <= 8, `${cpu.blocks.size} blocks kept`);
  // Still correct after starting over: run it again.
  cpu.rip = CODE_ADDR;
  assert.equal(go(cpu).rip, CODE_ADDR + 80);
});

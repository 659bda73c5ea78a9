// MSRs an Intel CPU has that Linux reads unconditionally on one (SDM Vol. 4 Table 2-2).
import assert from "node:assert/strict";
import { Cpu } from "../../src/cpu/mod.ts";

Deno.test("IA32_MISC_ENABLE (1A0H): fast strings on, XD not disabled, BTS/PEBS unavailable; writable", () => {
  const cpu = new Cpu(new Uint8Array(4096));
  const v = cpu.readMsr(0x1a0)!;
  assert.equal(v & 1n, 1n, "bit 0: fast-string enable");
  assert.equal((v >> 34n) & 1n, 0n, "bit 34: XD bit disable clear (NX is reported)");
  assert.equal((v >> 11n) & 3n, 3n, "bits 11, 12: BTS and PEBS unavailable");
  assert.ok(cpu.writeMsr(0x1a0, v & ~(1n << 22n)));
  assert.equal(cpu.readMsr(0x1a0), v & ~(1n << 22n));
});

Deno.test("IA32_BIOS_SIGN_ID (8BH): reads back the update signature software wrote (0: none loaded)", () => {
  const cpu = new Cpu(new Uint8Array(4096));
  assert.ok(cpu.writeMsr(0x8b, 0n));
  assert.equal(cpu.readMsr(0x8b), 0n);
});

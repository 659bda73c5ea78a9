import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { assemble, NEEDS_AS } from "./_asm.ts";

/** Maps 0xFEE00000 (the local APIC) with a 2 MiB page in the boot page tables: PDPT[3] -> a new PD. */
function mapApic(m: Machine): void {
  const dv = new DataView(m.mem.buffer);
  const pdpt = 0x11000, pd = 0x30000;
  dv.setBigUint64(pdpt + 3 * 8, BigInt(pd) | 3n, true);
  dv.setBigUint64(pd + ((0xfee00000 >>> 21) & 511) * 8, 0xfee00000n | 0x83n | 0x18n, true);
}

Deno.test("Machine delivers periodic local APIC timer interrupts to a halted guest", NEEDS_AS, () => {
  const code = assemble("apic_timer");
  const m = Machine.fromFlat(code);
  mapApic(m);
  const exit = m.runToEnd(1e6);
  assert.equal(exit.reason, "hlt", exit.message);
  assert.equal(m.cpu.getReg64(12), 5n); // five ticks counted
  assert.equal(m.cpu.getReg64(13), 0n); // current count reads 0 once stopped
  const tsc = m.cpu.getReg64(14);
  // The fifth tick comes 5 x 1000 TSC ticks after the timer was armed (SDM Vol. 3 §11.5.4).
  assert.ok(tsc >= 5000n && tsc < 5200n, `TSC ${tsc}`);
  assert.ok(m.instructions < 200, `${m.instructions} instructions: time skipped while halted`);
  assert.equal(m.lapic.fired, 5);
});

Deno.test("Machine state round-trips with a timer armed and gives the same run", NEEDS_AS, () => {
  const code = assemble("apic_timer");
  const ref = Machine.fromFlat(code);
  mapApic(ref);
  ref.runToEnd(1e6);
  for (const at of [25, 30, 40]) {
    const a = Machine.fromFlat(code);
    mapApic(a);
    a.run(at);
    const b = new Machine();
    b.restoreState(a.saveState());
    b.mem.set(a.mem);
    b.runToEnd(1e6);
    assert.equal(b.digest(), ref.digest(), `resumed at ${at}`);
    assert.equal(b.instructions, ref.instructions);
  }
});

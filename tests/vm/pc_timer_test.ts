/**
 * The 8259A and 8254 in a machine: IRQ0 from the PIT's counter 0 reaches the CPU through the PIC and
 * the local APIC's LINT0 in ExtINT mode, at instruction counts that do not depend on how the run is
 * sliced, compiled or migrated.
 */

import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { pitTicks, pitTickTsc } from "../../src/devices/mod.ts";
import { assemble, NEEDS_AS } from "./_asm.ts";

function boot(threshold?: number): Machine {
  const m = Machine.fromFlat(assemble("pit_pic"));
  m.lapic.setVirtualWire();
  if (threshold !== undefined) m.cpu.compileThreshold = threshold;
  return m;
}

Deno.test(
  "Machine delivers PIT interrupts through the 8259 and LINT0 (ExtINT) every 1000 PIT clocks",
  NEEDS_AS,
  () => {
    const m = boot();
    const exit = m.runToEnd(5e6);
    assert.equal(exit.reason, "hlt", exit.message);
    assert.equal(m.cpu.getReg64(12), 8n);
    const armed = Number(m.cpu.getReg64(14));
    const first = Number(m.cpu.getReg64(13));
    // Counter loaded on the clock after the write; mode 2's first rising edge N = 1000 clocks later
    // (8254 datasheet, Mode 2). The handler reads the TSC a few instructions after delivery.
    const edge = pitTickTsc(pitTicks(armed) + 1 + 1000);
    assert.ok(first >= edge && first < edge + 100, `first tick at TSC ${first}, edge at ${edge}`);
    assert.ok(m.cpu.getReg64(15) > 1000n, "three ticks interrupted the spinning loop");
  },
);

Deno.test(
  "Machine: PIC/PIT interrupts land at the same instruction interpreted and compiled",
  NEEDS_AS,
  () => {
    const ref = boot(Infinity);
    ref.runToEnd(5e6);
    for (const threshold of [1, 2, 16]) {
      const m = boot(threshold);
      m.runToEnd(5e6);
      assert.equal(m.instructions, ref.instructions, `threshold ${threshold}`);
      assert.equal(m.cpu.getReg64(15), ref.cpu.getReg64(15), `threshold ${threshold}`);
      assert.equal(m.digest(), ref.digest(), `threshold ${threshold}`);
    }
  },
);

Deno.test(
  "Machine state with the PIT counting and IRQ0 in service round-trips at any point",
  NEEDS_AS,
  () => {
    const ref = boot();
    ref.runToEnd(5e6);
    const total = ref.instructions;
    for (const at of [40, 45, 60, 61, Math.floor(total / 2), total - 30, total - 3]) {
      const a = boot();
      a.run(at);
      const b = new Machine();
      b.restoreState(a.saveState());
      b.mem.set(a.mem);
      const exit = b.runToEnd(5e6);
      assert.equal(exit.reason, "hlt", `resumed at ${at}`);
      assert.equal(b.instructions, ref.instructions, `resumed at ${at}`);
      assert.equal(b.digest(), ref.digest(), `resumed at ${at}`);
    }
  },
);

function bootRtc(): Machine {
  // 23:59:58 on 2026-12-31: the two updates cross into a new year.
  const m = Machine.fromFlat(assemble("rtc_irq"), 0x100000, 0x100000, {
    rtcStart: Date.UTC(2026, 11, 31, 23, 59, 58) / 1000,
  });
  m.lapic.setVirtualWire();
  return m;
}

Deno.test(
  "Machine delivers RTC update interrupts on IRQ8 through the slave 8259, one per TSC second",
  NEEDS_AS,
  () => {
    const m = bootRtc();
    const exit = m.runToEnd(1e6);
    assert.equal(exit.reason, "hlt", exit.message);
    assert.equal(m.cpu.getReg64(12), 2n);
    // Register C: IRQF and UF, with PF (register A's reset rate runs the periodic flag) and AF (the
    // alarm registers hold 00:00:00, which the update into midnight matches).
    assert.equal(m.cpu.getReg64(14), 0xf0n);
    assert.equal(m.cpu.getReg64(13), 0x00n, "seconds (BCD) after 23:59:58 + 2 s");
    assert.ok(m.now() >= 2e9 && m.now() < 2e9 + 1000, `TSC ${m.now()}: the second update at 2 s`);
    assert.ok(m.instructions < 200, "the halted seconds cost no instructions");
  },
);

Deno.test("Machine state with an RTC interrupt pending round-trips at any point", NEEDS_AS, () => {
  const ref = bootRtc();
  ref.runToEnd(1e6);
  for (let at = 30; at < ref.instructions; at += 7) {
    const a = bootRtc();
    a.run(at);
    const b = new Machine();
    b.restoreState(a.saveState());
    b.mem.set(a.mem);
    b.runToEnd(1e6);
    assert.equal(b.instructions, ref.instructions, `resumed at ${at}`);
    assert.equal(b.digest(), ref.digest(), `resumed at ${at}`);
  }
});

Deno.test("guest pcdev ends the same interpreted and compiled: PIT, RTC and UART interrupts at the same instructions", async () => {
  const elf = await Deno.readFile(new URL("../../guests/build/pcdev.elf", import.meta.url));
  const runs = [Infinity, 1].map((threshold) => {
    const m = Machine.fromElf(elf, {}, "pcdev");
    m.cpu.compileThreshold = threshold;
    m.runToEnd(1e7);
    return m;
  });
  assert.equal(runs[0].exit?.reason, "debug-exit", runs[0].exit?.message);
  assert.equal(runs[1].instructions, runs[0].instructions);
  assert.equal(runs[1].consoleText(), runs[0].consoleText());
  assert.equal(runs[1].digest(), runs[0].digest());
});

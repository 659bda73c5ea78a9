import assert from "node:assert/strict";
import {
  APIC_EOI,
  APIC_ISR,
  APIC_LVT_TIMER,
  APIC_PPR,
  APIC_SVR,
  APIC_TIMER_CURRENT,
  APIC_TIMER_DIVIDE,
  APIC_TIMER_INITIAL,
  APIC_TPR,
  LocalApic,
  timerDivisor,
} from "../../src/devices/mod.ts";

function enabled(): LocalApic {
  const a = new LocalApic();
  a.write(APIC_SVR, 0x1ff, 0);
  return a;
}

Deno.test("timerDivisor() follows the divide configuration encoding (SDM Vol. 3 Figure 11-10)", () => {
  const table: [number, number][] = [[0, 2], [1, 4], [2, 8], [3, 16], [8, 32], [9, 64], [10, 128], [11, 1]];
  for (const [dcr, div] of table) assert.equal(timerDivisor(dcr), div, `DCR ${dcr}`);
});

Deno.test("LocalApic one-shot timer counts down by the divided clock and fires once", () => {
  const a = enabled();
  a.write(APIC_TIMER_DIVIDE, 0x0, 0); // divide by 2
  a.write(APIC_LVT_TIMER, 0x30, 0); // one-shot, vector 0x30
  a.write(APIC_TIMER_INITIAL, 100, 1000);
  assert.equal(a.read(APIC_TIMER_CURRENT, 1000), 100);
  assert.equal(a.read(APIC_TIMER_CURRENT, 1050), 75);
  assert.equal(a.nextEvent(), 1200);
  a.update(1199);
  assert.equal(a.pending(), -1);
  a.update(1200);
  assert.equal(a.pending(), 0x30);
  assert.equal(a.read(APIC_TIMER_CURRENT, 1300), 0);
  assert.equal(a.nextEvent(), Infinity);
});

Deno.test("LocalApic periodic timer reloads from the initial count", () => {
  const a = enabled();
  a.write(APIC_TIMER_DIVIDE, 0xb, 0);
  a.write(APIC_LVT_TIMER, 1 << 17 | 0x40, 0);
  a.write(APIC_TIMER_INITIAL, 10, 0);
  a.update(35);
  assert.equal(a.fired, 3);
  assert.equal(a.nextEvent(), 40);
  assert.equal(a.read(APIC_TIMER_CURRENT, 35), 5);
});

Deno.test("LocalApic TSC-deadline mode fires at the deadline and clears the MSR", () => {
  const a = enabled();
  a.write(APIC_LVT_TIMER, 2 << 17 | 0x50, 0);
  a.write(APIC_TIMER_INITIAL, 1234, 0); // ignored in TSC-deadline mode
  assert.equal(a.read(APIC_TIMER_CURRENT, 0), 0);
  a.writeTscDeadline(500, 100);
  assert.equal(a.readTscDeadline(), 500);
  a.update(499);
  assert.equal(a.pending(), -1);
  a.update(500);
  assert.equal(a.pending(), 0x50);
  assert.equal(a.readTscDeadline(), 0);
});

Deno.test("LocalApic masked or software-disabled timer raises nothing", () => {
  const a = new LocalApic(); // SVR bit 8 clear: every LVT stays masked
  a.write(APIC_LVT_TIMER, 0x30, 0);
  a.write(APIC_TIMER_INITIAL, 10, 0);
  a.update(100);
  assert.equal(a.pending(), -1);
});

Deno.test("LocalApic priority: TPR and in-service vectors hold back lower classes until EOI", () => {
  const a = enabled();
  a.raise(0x31);
  a.raise(0x45);
  assert.equal(a.pending(), 0x45);
  a.acknowledge(0x45);
  assert.equal(a.read(APIC_ISR + 0x20, 0), 1 << 5); // vector 0x45 is bit 5 of ISR word 2
  assert.equal(a.read(APIC_PPR, 0), 0x40);
  assert.equal(a.pending(), -1); // 0x31 is below the in-service class 0x40
  a.write(APIC_EOI, 0, 0);
  assert.equal(a.pending(), 0x31);
  a.write(APIC_TPR, 0x30, 0);
  assert.equal(a.pending(), -1); // class 3 is not above TPR class 3
});

Deno.test("LocalApic save() and restore() round-trip, timer included", () => {
  const a = enabled();
  a.write(APIC_LVT_TIMER, 1 << 17 | 0x40, 0);
  a.write(APIC_TIMER_INITIAL, 10, 0);
  a.raise(0x66);
  const b = new LocalApic();
  b.restore(a.save());
  assert.deepEqual(b.save(), a.save());
  assert.equal(b.nextEvent(), 20); // DCR resets to 0: divide by 2
  assert.equal(b.pending(), 0x66);
  assert.throws(() => b.restore(new Uint8Array(3)), /lapic state must be/);
});

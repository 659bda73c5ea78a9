/**
 * The 8254 against the Intel 8254 datasheet (order no. 231164): "Control Word Format" (SC, RW, M,
 * BCD), "Write Operations" (a count is loaded on the next CLK pulse after it is written), "Read
 * Operations" (counter latch command, read-back command and status byte), and "Modes" 0, 2, 3 and 4
 * (OUT's waveforms). PIT clocks happen at `pitTickTsc(k)` (src/devices/platform_clock.ts).
 */

import assert from "node:assert/strict";
import { Pit, pitTicks, pitTickTsc, SystemControl } from "../../src/devices/mod.ts";

/** A PIT on a settable clock, recording IRQ0's changes as [tick, level]. */
function pit() {
  const clock = { now: 0 };
  const edges: [number, boolean][] = [];
  const p = new Pit(() => clock.now, (l) => edges.push([pitTicks(clock.now), l]));
  const at = (tick: number) => (clock.now = pitTickTsc(tick));
  /** Runs the device's event loop to `tick` the way the machine does (one event at a time). */
  const runTo = (tick: number) => {
    for (let e = p.nextEvent(); e <= pitTickTsc(tick); e = p.nextEvent()) {
      clock.now = e;
      p.update(e);
    }
    clock.now = pitTickTsc(tick);
    p.update(clock.now);
  };
  return { p, at, runTo, edges, clock };
}

const latched = (p: Pit, port = 0x40) => {
  p.write(0x43, 1, (port - 0x40) << 6); // counter latch command
  return p.read(port) | (p.read(port) << 8);
};

Deno.test("Pit mode 0: OUT goes high N+1 clocks after the count is written and stays high", () => {
  const { p, runTo, edges } = pit();
  p.write(0x43, 1, 0x30); // counter 0, LSB then MSB, mode 0, binary: OUT low at once
  p.write(0x40, 1, 0xe8);
  p.write(0x40, 1, 0x03); // 1000
  assert.equal(p.nextEvent(), pitTickTsc(1001));
  runTo(5000);
  assert.deepEqual(edges, [[0, false], [1001, true]]);
  assert.equal(p.nextEvent(), Infinity);
});

Deno.test("Pit mode 0 counts down from N after the load clock and wraps past zero", () => {
  const { p, at } = pit();
  p.write(0x43, 1, 0x30);
  p.write(0x40, 1, 100);
  p.write(0x40, 1, 0);
  at(11);
  assert.equal(latched(p), 90);
  at(101);
  assert.equal(latched(p), 0);
  at(103);
  assert.equal(latched(p), 0xfffe);
});

Deno.test("Pit mode 2: OUT low for one clock when the count reaches 1, a rising edge every N clocks", () => {
  const { p, runTo, edges, at } = pit();
  p.write(0x43, 1, 0x34); // counter 0, LSB/MSB, mode 2
  p.write(0x40, 1, 100);
  p.write(0x40, 1, 0);
  runTo(350);
  // Loaded at tick 1 with 100; the count is 1 at tick 100 (OUT low), reloads at 101 (OUT high).
  assert.deepEqual(edges, [[100, false], [101, true], [200, false], [201, true], [300, false], [301, true]]);
  at(351);
  assert.equal(latched(p), 100 - (350 % 100));
});

Deno.test("Pit mode 3: a square wave, high N/2 and low N/2 clocks (odd N: (N+1)/2 and (N-1)/2)", () => {
  const even = pit();
  even.p.write(0x43, 1, 0x36); // counter 0, LSB/MSB, mode 3
  even.p.write(0x40, 1, 10);
  even.p.write(0x40, 1, 0);
  even.runTo(25);
  assert.deepEqual(even.edges, [[6, false], [11, true], [16, false], [21, true]]);
  even.at(3); // two clocks after the load: the count went down by 2 per clock
  assert.equal(latched(even.p), 6);
  const odd = pit();
  odd.p.write(0x43, 1, 0x36);
  odd.p.write(0x40, 1, 9);
  odd.p.write(0x40, 1, 0);
  odd.runTo(20);
  assert.deepEqual(odd.edges, [[6, false], [10, true], [15, false], [19, true]]);
});

Deno.test("Pit mode 4: OUT low for exactly one clock at the terminal count", () => {
  const { p, runTo, edges } = pit();
  p.write(0x43, 1, 0x38); // counter 0, LSB/MSB, mode 4 (Linux's one-shot clockevent)
  p.write(0x40, 1, 50);
  p.write(0x40, 1, 0);
  runTo(500);
  assert.deepEqual(edges, [[51, false], [52, true]]);
});

Deno.test("Pit read-back latches status and count; the status byte is OUT, null count, RW, M, BCD", () => {
  const { p, at } = pit();
  p.write(0x43, 1, 0x34);
  // Written but not yet loaded: null count set, OUT high (mode 2's initial level).
  p.write(0x40, 1, 100);
  p.write(0x40, 1, 0);
  p.write(0x43, 1, 0xe2); // read-back: count and status of counter 0
  assert.equal(p.read(0x40), 0xf4);
  assert.equal(p.read(0x40) | (p.read(0x40) << 8), 100);
  at(5);
  p.write(0x43, 1, 0xe2);
  assert.equal(p.read(0x40), 0xb4, "loaded: null count clear");
  p.write(0x43, 1, 0xd2); // read-back of the count only
  at(50);
  assert.equal(p.read(0x40) | (p.read(0x40) << 8), 96, "latched at tick 5, not at the read");
});

Deno.test("Pit counter latch holds the value until both bytes are read; unlatched reads alternate LSB/MSB", () => {
  const { p, at } = pit();
  p.write(0x43, 1, 0x30);
  p.write(0x40, 1, 0x34);
  p.write(0x40, 1, 0x12);
  at(2);
  p.write(0x43, 1, 0x00);
  at(1000);
  assert.equal(p.read(0x40), 0x33);
  assert.equal(p.read(0x40), 0x12);
  at(0x10);
  assert.equal(p.read(0x40), 0x25); // 0x1234 - 15 = 0x1225
  assert.equal(p.read(0x40), 0x12);
});

Deno.test("Pit LSB-only and MSB-only access modes, and BCD counting", () => {
  const lsb = pit();
  lsb.p.write(0x43, 1, 0x50); // counter 1, LSB only, mode 0
  lsb.p.write(0x41, 1, 0x80);
  lsb.at(17);
  assert.equal(lsb.p.read(0x41), 0x70);
  assert.equal(lsb.p.read(0x41), 0x70, "LSB-only reads never toggle to the MSB");
  const msb = pit();
  msb.p.write(0x43, 1, 0x60); // counter 1, MSB only
  msb.p.write(0x41, 1, 0x02); // count 0x200
  msb.at(0x101);
  assert.equal(msb.p.read(0x41), 0x01);
  const bcd = pit();
  bcd.p.write(0x43, 1, 0x31); // counter 0, LSB/MSB, mode 0, BCD
  bcd.p.write(0x40, 1, 0x00);
  bcd.p.write(0x40, 1, 0x10); // 1000 decimal
  bcd.at(6);
  assert.equal(latched(bcd.p), 0x0995);
});

Deno.test("Port 0x61 gates counter 2 and shows its OUT in bit 5 (Linux's PIT calibration loop)", () => {
  const { p, at } = pit();
  const clock = { now: 0 };
  const port = new SystemControl(p, () => clock.now);
  // Linux pit_calibrate_tsc(): gate high, speaker off; counter 2 mode 0; wait for OUT2.
  port.write(0x61, 1, (port.read(0x61) & ~0x02) | 0x01);
  p.write(0x43, 1, 0xb0);
  p.write(0x42, 1, 0x00);
  p.write(0x42, 1, 0x01); // 256
  at(256);
  clock.now = pitTickTsc(256);
  assert.equal(port.read(0x61) & 0x21, 0x01);
  at(257);
  clock.now = pitTickTsc(257);
  assert.equal(port.read(0x61) & 0x21, 0x21);
  // Gate low stops a mode 0 count (8254 "Gate", Table 2).
  p.write(0x43, 1, 0xb0);
  p.write(0x42, 1, 0x00);
  p.write(0x42, 1, 0x01);
  port.write(0x61, 1, 0x00);
  at(1000);
  p.write(0x43, 1, 0x80);
  assert.equal(p.read(0x42) | (p.read(0x42) << 8), 256);
});

Deno.test("Pit state round-trips mid-count and continues identically", () => {
  const a = pit();
  a.p.write(0x43, 1, 0x34);
  a.p.write(0x40, 1, 0x10);
  a.p.write(0x40, 1, 0x27);
  a.p.write(0x43, 1, 0xb0);
  a.p.write(0x42, 1, 0x55); // half of an LSB/MSB write
  a.runTo(30000);
  const b = pit();
  b.p.restore(a.p.save());
  b.clock.now = a.clock.now;
  assert.deepEqual(b.p.save(), a.p.save());
  a.runTo(90000);
  b.runTo(90000);
  assert.deepEqual(b.edges, a.edges.filter(([t]) => t > 30000));
  assert.deepEqual(b.p.save(), a.p.save());
  assert.throws(() => b.p.restore(new Uint8Array(4)), /pit state must be/);
});

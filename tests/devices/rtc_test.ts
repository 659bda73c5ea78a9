/**
 * The MC146818A against the Motorola MC146818A datasheet: Table 3 (time, calendar and alarm data
 * modes: BCD and binary, 12- and 24-hour with the PM bit 7), Register A (UIP set tBUC = 244 µs before
 * each update, RS and Table 5's periodic rates for a 32.768 kHz time base), Register B (SET inhibits
 * updates and clears UIE; PIE, AIE, UIE), Register C (IRQF, PF, AF, UF, all cleared by reading it;
 * the flags are set whether or not their interrupt is enabled), Register D (VRT), and the alarm's
 * don't-care codes (0xC0-0xFF).
 */

import assert from "node:assert/strict";
import { Rtc, RTC_DEFAULT_START, rtcPeriodTicks, rtcTickTsc } from "../../src/devices/mod.ts";

const SECOND = 1_000_000_000; // TSC ticks: CPUID's 1 GHz

function rtc(start = RTC_DEFAULT_START) {
  const clock = { now: 0 };
  const irq: [number, boolean][] = [];
  const r = new Rtc(() => clock.now, (l) => irq.push([clock.now, l]), start);
  const reg = (i: number) => {
    r.write(0x70, 1, i);
    return r.read(0x71);
  };
  const set = (i: number, v: number) => {
    r.write(0x70, 1, i);
    r.write(0x71, 1, v);
  };
  /** Runs the device's event loop to TSC `t` the way the machine does. */
  const runTo = (t: number) => {
    for (let e = r.nextEvent(); e <= t; e = r.nextEvent()) {
      clock.now = e;
      r.update(e);
    }
    clock.now = t;
  };
  return { r, clock, reg, set, irq, runTo };
}

Deno.test("Rtc reads the start time in BCD, 24-hour, by default: 2026-01-01 00:00:00, a Thursday", () => {
  const { reg } = rtc();
  assert.deepEqual([0, 2, 4, 6, 7, 8, 9].map(reg), [0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x26]);
  assert.equal(reg(0x0a), 0x26, "Register A: 32.768 kHz divider, 1024 Hz rate");
  assert.equal(reg(0x0b), 0x02, "Register B: 24-hour, BCD");
  assert.equal(reg(0x0d), 0x80, "Register D: VRT");
  assert.equal(reg(0x32), 0x20, "century byte (BCD) as PC firmware keeps it");
});

Deno.test("Rtc time advances with TSC seconds; binary and 12-hour formats per Register B (Table 3)", () => {
  const { reg, set, clock } = rtc(Date.UTC(2026, 6, 4, 12, 59, 58) / 1000);
  clock.now = 3 * SECOND + 5; // 13:00:01
  assert.deepEqual([0, 2, 4].map(reg), [0x01, 0x00, 0x13]);
  set(0x0b, 0x06); // binary, 24-hour
  assert.deepEqual([0, 2, 4, 7, 8, 9].map(reg), [1, 0, 13, 4, 7, 26]);
  set(0x0b, 0x04); // binary, 12-hour: 1 PM
  assert.equal(reg(4), 0x81);
  set(0x0b, 0x00); // BCD, 12-hour
  assert.equal(reg(4), 0x81);
  clock.now = 11 * 3600 * SECOND; // 23:59:58
  assert.equal(reg(4), 0x91, "11 PM");
});

Deno.test("Rtc UIP is set during the 244 µs (8 time-base cycles) before each update", () => {
  const { reg, clock } = rtc();
  clock.now = rtcTickTsc(32768 - 9);
  assert.equal(reg(0x0a) & 0x80, 0);
  clock.now = rtcTickTsc(32768 - 8);
  assert.equal(reg(0x0a) & 0x80, 0x80);
  clock.now = rtcTickTsc(32768) - 1;
  assert.equal(reg(0x0a) & 0x80, 0x80);
  assert.equal(reg(0), 0x00, "the update has not happened yet");
  clock.now = rtcTickTsc(32768);
  assert.equal(reg(0x0a) & 0x80, 0);
  assert.equal(reg(0), 0x01);
});

Deno.test("rtcPeriodTicks follows Table 5 for a 32.768 kHz time base", () => {
  // RS = 1: 3.90625 ms, 2: 7.8125 ms, 3: 122.070 µs, 6: 976.562 µs, 15: 500 ms.
  const want: [number, number][] = [[0, 0], [1, 128], [2, 256], [3, 4], [6, 32], [15, 16384]];
  for (const [rs, ticks] of want) assert.equal(rtcPeriodTicks(rs), ticks, `RS ${rs}`);
});

Deno.test("Rtc periodic interrupt: IRQ8 rises every period with PIE; reading C gives IRQF|PF and lowers it", () => {
  const { reg, set, irq, runTo, clock } = rtc();
  set(0x0b, 0x42); // PIE, 24-hour
  assert.equal(clock.now, 0);
  runTo(rtcTickTsc(32) - 1);
  assert.deepEqual(irq, []);
  runTo(rtcTickTsc(32) + 10);
  assert.deepEqual(irq, [[rtcTickTsc(32), true]]);
  assert.equal(reg(0x0c), 0xc0);
  assert.deepEqual(irq.at(-1), [clock.now, false]);
  assert.equal(reg(0x0c), 0x00, "read clears");
  runTo(rtcTickTsc(64));
  assert.deepEqual(irq.at(-1), [rtcTickTsc(64), true]);
});

Deno.test("Rtc update-ended and alarm interrupts; flags are set even when their interrupt is off", () => {
  const { reg, set, irq, runTo } = rtc();
  set(0x01, 0x05); // alarm at hh:mm:05 ...
  set(0x03, 0xc0); // ... any minute
  set(0x05, 0xff); // ... any hour
  set(0x0b, 0x22); // AIE
  runTo(5 * SECOND - 1);
  assert.deepEqual(irq, []);
  runTo(5 * SECOND + 100);
  assert.deepEqual(irq, [[5 * SECOND, true]]);
  // PF (RS = 6 runs the periodic flag), AF and UF are all set; IRQF because AIE.
  assert.equal(reg(0x0c), 0xf0);
  set(0x0b, 0x12); // UIE only
  runTo(6 * SECOND);
  assert.deepEqual(irq.at(-1), [6 * SECOND, true]);
  assert.equal(reg(0x0c), 0xd0);
});

Deno.test("Rtc SET holds the time for the guest to write it; clearing SET runs it from there", () => {
  const { reg, set, clock } = rtc();
  set(0x0b, 0x92); // SET (and UIE, which SET clears)
  assert.equal(reg(0x0b), 0x82);
  set(0x09, 0x26);
  set(0x08, 0x12);
  set(0x07, 0x31);
  set(0x04, 0x23);
  set(0x02, 0x59);
  set(0x00, 0x59);
  clock.now = 10 * SECOND;
  assert.equal(reg(0), 0x59, "held while SET");
  assert.equal(reg(0x0a) & 0x80, 0, "no update in progress while SET");
  set(0x0b, 0x02);
  clock.now = 11 * SECOND;
  assert.deepEqual([0, 2, 4, 6, 7, 8, 9].map(reg), [0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x27]);
});

Deno.test("Rtc: port 0x70 bit 7 masks NMI, not the index; the 114 RAM bytes keep what is written", () => {
  const { r, reg, set } = rtc();
  r.write(0x70, 1, 0x8a);
  assert.equal(r.read(0x71), 0x26, "register A selected with NMI masked");
  for (let i = 0x0e; i < 0x80; i++) set(i, i ^ 0x5a);
  for (let i = 0x0e; i < 0x80; i++) assert.equal(reg(i), i ^ 0x5a);
});

Deno.test("Rtc state round-trips with an interrupt pending and continues identically", () => {
  const a = rtc();
  a.set(0x0b, 0x52); // PIE, UIE
  a.runTo(SECOND + 7);
  const b = rtc(0);
  b.r.restore(a.r.save());
  b.clock.now = a.clock.now;
  assert.deepEqual(b.r.save(), a.r.save());
  assert.equal(b.reg(0x0c), a.reg(0x0c));
  a.runTo(3 * SECOND);
  b.runTo(3 * SECOND);
  assert.deepEqual(b.irq, a.irq.slice(-b.irq.length));
  assert.deepEqual(b.r.save(), a.r.save());
  assert.throws(() => b.r.restore(new Uint8Array(3)), /rtc state must be 184 bytes/);
});

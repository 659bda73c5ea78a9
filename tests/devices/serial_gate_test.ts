// COM1's host input as a serial line that opens once the guest's driver listens: the PC16550D's
// IER bit 0 (received-data interrupt) on for one character time at 115200 baud (10 bits).
import assert from "node:assert/strict";
import { CHAR_TICKS, COM1_PORT, runPollingSerial, Serial, SerialLine } from "../../src/devices/mod.ts";

function setup(bytes: number[]) {
  let taken = 0;
  const line = new SerialLine(() => (taken < bytes.length ? bytes[taken++] : -1));
  const clock = { t: 0 };
  const serial = new Serial(() => {}, line.input, () => {}, () => clock.t);
  const host = {
    serial,
    get t() {
      return clock.t;
    },
    set t(v: number) {
      clock.t = v;
    },
    now: () => clock.t,
  };
  line.attach(host);
  return { serial, host, taken: () => taken };
}

Deno.test("one character time at 115200 baud is 86,806 ticks of a 1 GHz TSC", () => {
  assert.equal(CHAR_TICKS, Math.round(1e9 * 10 / 115200));
});

Deno.test("bytes wait while IER bit 0 is clear and for a character time after it is set", () => {
  const { serial, host, taken } = setup([0x61, 0x62]);
  const lsr = () => serial.read(COM1_PORT + 5);
  assert.equal(lsr() & 1, 0, "no data: the driver does not listen");
  serial.write(COM1_PORT + 1, 1, 0x01); // IER: received data available
  assert.equal(lsr() & 1, 0, "the line has just opened");
  host.t = CHAR_TICKS - 1;
  assert.equal(lsr() & 1, 0);
  host.t = CHAR_TICKS;
  assert.equal(lsr() & 1, 1, "a character time later the byte is there");
  assert.equal(serial.read(COM1_PORT), 0x61);
  serial.write(COM1_PORT + 1, 1, 0x00);
  const before = taken();
  host.t += 10 * CHAR_TICKS;
  lsr();
  assert.equal(taken(), before, "nothing is taken while the interrupt is off");
  serial.write(COM1_PORT + 1, 1, 0x01);
  assert.equal(lsr() & 1, 0, "switched back on: the line waits a character time again");
});

Deno.test("the time IER bit 0 was set is UART state: a restored UART's line opens when the original's would", () => {
  const a = setup([0x61]);
  a.host.t = 1000;
  a.serial.write(COM1_PORT + 1, 1, 0x01);
  assert.equal(a.serial.receiveInterruptEnabledAt(), 1000);
  a.host.t = 1000 + CHAR_TICKS - 1;
  const b = setup([0x61]);
  b.serial.restore(a.serial.save());
  b.host.t = a.host.t;
  assert.equal(b.serial.read(COM1_PORT + 5) & 1, 0, "a tick before the character time");
  b.host.t++;
  assert.equal(b.serial.read(COM1_PORT + 5) & 1, 1, "the restored line opened on time");
  a.serial.write(COM1_PORT + 1, 1, 0x00);
  assert.equal(a.serial.receiveInterruptEnabledAt(), -1, "cleared with the interrupt");
  const bad = a.serial.save();
  new DataView(bad.buffer).setFloat64(bad.length - 8, 5, true); // a time with the interrupt off
  assert.throws(() => b.serial.restore(bad), /out-of-range/);
});

Deno.test("runPollingSerial() polls the UART between slices, so an idle guest gets its bytes", () => {
  const { serial, host } = setup([0x41]);
  serial.write(COM1_PORT + 1, 1, 0x01);
  let icount = 0;
  const runner = {
    serial,
    get instructions() {
      return icount;
    },
    run(max: number) {
      icount += max;
      host.t = icount;
      return null;
    },
  };
  serial.read(COM1_PORT + 5); // the line sees the interrupt on at t = 0
  assert.equal(runPollingSerial(runner, 3 * CHAR_TICKS, CHAR_TICKS), null);
  assert.equal(icount, 3 * CHAR_TICKS);
  assert.equal(serial.read(COM1_PORT + 5) & 1, 1, "the poll took the byte into the receive buffer");
});

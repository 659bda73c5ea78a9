/**
 * The i8042 against the IBM PC/AT Technical Reference, "Keyboard Controller": the status register
 * (output buffer full, system flag, command/data, inhibit switch, aux data), the commands 20h/60h
 * (command byte), AAh (self-test: 55h), ABh/A9h (port tests: 00h), ADh/AEh and A7h/A8h (disable and
 * enable), D0h/D1h (output port, bit 0 the reset line), D2h/D3h (write an output buffer) and F0h-FFh
 * (pulse output port bits; FEh pulses reset); and the keyboard's FFh (FAh, AAh) and F2h (FAh, ABh 83h).
 */

import assert from "node:assert/strict";
import { I8042 } from "../../src/devices/mod.ts";

Deno.test("I8042 status: empty buffer, system flag and unlocked; the last write's port in bit 3", () => {
  const k = new I8042();
  assert.equal(k.read(0x64), 0x14);
  k.write(0x64, 1, 0x20);
  assert.equal(k.read(0x64), 0x1d);
  assert.equal(k.read(0x60), 0x45, "the command byte: keyboard interrupt, system flag, translation");
  assert.equal(k.read(0x64) & 0x01, 0);
});

Deno.test("I8042 controller commands: command byte, self-tests, port enables, output port", () => {
  const k = new I8042();
  k.write(0x64, 1, 0x60);
  k.write(0x60, 1, 0x65);
  k.write(0x64, 1, 0x20);
  assert.equal(k.read(0x60), 0x65);
  k.write(0x64, 1, 0xaa);
  assert.equal(k.read(0x60), 0x55);
  k.write(0x64, 1, 0xab);
  assert.equal(k.read(0x60), 0x00);
  k.write(0x64, 1, 0xa9);
  assert.equal(k.read(0x60), 0x00);
  k.write(0x64, 1, 0xae); // enable keyboard: clears command byte bit 4
  k.write(0x64, 1, 0x20);
  assert.equal(k.read(0x60) & 0x10, 0);
  k.write(0x64, 1, 0xd0);
  assert.equal(k.read(0x60) & 0x03, 0x03, "reset line high, A20 on");
  k.write(0x64, 1, 0xd3);
  k.write(0x60, 1, 0x42);
  assert.equal(k.read(0x64) & 0x21, 0x21, "aux data");
  assert.equal(k.read(0x60), 0x42);
  assert.equal(k.resetRequested, false);
});

Deno.test("I8042 keyboard replies: reset and identify", () => {
  const k = new I8042();
  k.write(0x60, 1, 0xff);
  assert.deepEqual([k.read(0x60), k.read(0x60)], [0xfa, 0xaa]);
  k.write(0x60, 1, 0xf2);
  assert.deepEqual([k.read(0x60), k.read(0x60), k.read(0x60)], [0xfa, 0xab, 0x83]);
});

Deno.test("I8042 reset line: FEh, other F0h-FFh pulses with bit 0 clear, and an output-port write", () => {
  for (const [cmd, reset] of [[0xfe, true], [0xf0, true], [0xff, false], [0xfd, false]] as const) {
    const k = new I8042();
    k.write(0x64, 1, cmd);
    assert.equal(k.resetRequested, reset, `command 0x${cmd.toString(16)}`);
  }
  const k = new I8042();
  k.write(0x64, 1, 0xd1);
  k.write(0x60, 1, 0x02);
  assert.equal(k.resetRequested, true);
});

Deno.test("I8042 state round-trips with bytes queued", () => {
  const a = new I8042();
  a.write(0x64, 1, 0xd3);
  a.write(0x60, 1, 0x99);
  a.write(0x60, 1, 0xf2);
  const b = new I8042();
  b.restore(a.save());
  assert.deepEqual(b.save(), a.save());
  assert.equal(b.read(0x64) & 0x20, 0x20);
  assert.deepEqual([b.read(0x60), b.read(0x60), b.read(0x60), b.read(0x60)], [0x99, 0xfa, 0xab, 0x83]);
  assert.throws(() => b.restore(new Uint8Array(1)), /i8042 state must be/);
});

/**
 * The 16550A against the National Semiconductor PC16550D datasheet: Table II (the registers and
 * their bits), Table IV (interrupt identification: priorities, sources and resets), "FIFO Control
 * Register" (FIFO enable, the receive trigger levels, IIR bits 7:6 set in FIFO mode), "Modem Control
 * Register" (loopback: MSR's CTS, DSR, RI, DCD follow RTS, DTR, OUT1, OUT2; transmitted data comes
 * back as received data), and a PC's wiring of OUT2 as the gate of the interrupt line.
 */

import assert from "node:assert/strict";
import { COM1_PORT as B, Serial } from "../../src/devices/mod.ts";

function uart(input: number[] = []) {
  const out: number[] = [];
  const irq: boolean[] = [];
  const s = new Serial((b) => out.push(b), () => input.shift() ?? -1, (l) => irq.push(l));
  return { s, out, irq, input };
}

Deno.test("Serial: scratch register, divisor latch under DLAB, IER keeps bits 0-3", () => {
  const { s } = uart();
  s.write(B + 7, 1, 0xa5);
  assert.equal(s.read(B + 7), 0xa5);
  s.write(B + 3, 1, 0x83); // DLAB, 8N1
  s.write(B + 0, 1, 0x01);
  s.write(B + 1, 1, 0x00); // divisor 1: 115200 baud
  assert.equal(s.read(B + 0), 0x01);
  s.write(B + 3, 1, 0x03);
  s.write(B + 1, 1, 0xff);
  assert.equal(s.read(B + 1), 0x0f);
  assert.equal(s.read(B + 3), 0x03);
});

Deno.test("Serial: IIR reads 0x01 without an interrupt, 0xC1 with FIFOs enabled (FCR bit 0)", () => {
  const { s } = uart();
  assert.equal(s.read(B + 2), 0x01);
  s.write(B + 2, 1, 0x01);
  assert.equal(s.read(B + 2), 0xc1);
  s.write(B + 2, 1, 0x00);
  assert.equal(s.read(B + 2), 0x01);
});

Deno.test("Serial: THR-empty interrupt on enabling it, reset by reading IIR, back after each THR write", () => {
  const { s, out } = uart();
  // Linux's serial8250_do_startup THRE test: IER = THRI twice, IIR must show THRE both times.
  s.write(B + 1, 1, 0x02);
  assert.equal(s.read(B + 2), 0x02);
  assert.equal(s.read(B + 2), 0x01, "reading IIR reset it");
  s.write(B + 1, 1, 0x00);
  s.write(B + 1, 1, 0x02);
  assert.equal(s.read(B + 2), 0x02, "re-enabling re-asserts it");
  s.write(B + 0, 1, 0x41);
  assert.deepEqual(out, [0x41]);
  assert.equal(s.read(B + 5) & 0x60, 0x60, "THRE and TEMT");
  assert.equal(s.read(B + 2), 0x02);
});

Deno.test("Serial: received data interrupt outranks THR empty; reading RBR resets it", () => {
  const { s } = uart([0x31]);
  s.write(B + 1, 1, 0x03); // RX and THRE interrupts
  assert.equal(s.read(B + 2), 0x04);
  assert.equal(s.read(B + 5) & 0x01, 0x01);
  assert.equal(s.read(B + 0), 0x31);
  assert.equal(s.read(B + 2), 0x02, "then THR empty");
  assert.equal(s.read(B + 2), 0x01);
});

Deno.test("Serial: in FIFO mode, data below the trigger level reports a character timeout (IIR 0xCC)", () => {
  const { s } = uart([1, 2, 3, 4, 5]);
  s.write(B + 2, 1, 0x41); // FIFO on, trigger level 4
  s.write(B + 1, 1, 0x01);
  assert.equal(s.read(B + 2), 0xc4, "5 bytes at a trigger of 4");
  assert.equal(s.read(B + 0), 1);
  assert.equal(s.read(B + 0), 2);
  assert.equal(s.read(B + 2), 0xcc, "3 left: below the trigger");
  s.write(B + 2, 1, 0x03); // clear the receive FIFO
  assert.equal(s.read(B + 5) & 0x01, 0);
  assert.equal(s.read(B + 2), 0xc1);
});

Deno.test("Serial: the IRQ line follows the interrupt only while MCR OUT2 is set", () => {
  const { s, irq } = uart();
  s.write(B + 1, 1, 0x02);
  assert.deepEqual(irq, [], "OUT2 clear: the PC's gate holds the line low");
  s.write(B + 4, 1, 0x0b); // DTR, RTS, OUT2
  assert.deepEqual(irq, [true]);
  s.read(B + 2);
  assert.deepEqual(irq, [true, false]);
});

Deno.test("Serial: loopback returns MCR's lines in MSR (Linux's 0x90 check) and transmitted bytes as received", () => {
  const { s, out } = uart([0x99]);
  s.write(B + 4, 1, 0x1a); // loopback, OUT2, RTS
  assert.equal(s.read(B + 6) & 0xf0, 0x90);
  s.write(B + 0, 1, 0x55);
  assert.deepEqual(out, [], "nothing leaves in loopback");
  assert.equal(s.read(B + 5) & 0x01, 0x01);
  assert.equal(s.read(B + 0), 0x55);
  s.write(B + 4, 1, 0x00);
  assert.equal(s.read(B + 6), 0xb0 | 0x02, "modem lines back: DSR rose (delta DSR); CTS and DCD stayed high");
  assert.equal(s.read(B + 6), 0xb0, "reading MSR cleared the deltas");
});

Deno.test("Serial: modem status interrupt on a delta with IER bit 3, lowest priority", () => {
  const { s } = uart();
  s.write(B + 1, 1, 0x08);
  s.write(B + 4, 1, 0x10); // loopback, all lines low: CTS, DSR, DCD fall
  assert.equal(s.read(B + 2), 0x00);
  s.read(B + 6);
  assert.equal(s.read(B + 2), 0x01);
});

Deno.test("Serial state round-trips with bytes in the FIFO and an interrupt pending", () => {
  const a = uart([7, 8, 9]);
  a.s.write(B + 2, 1, 0x01);
  a.s.write(B + 4, 1, 0x08);
  a.s.write(B + 1, 1, 0x03);
  const b = uart();
  b.s.restore(a.s.save());
  assert.deepEqual(b.s.save(), a.s.save());
  assert.deepEqual([b.s.read(B), b.s.read(B), b.s.read(B)], [7, 8, 9]);
  assert.throws(() => b.s.restore(new Uint8Array(8)), /serial state must be 37 bytes, got 8/);
});

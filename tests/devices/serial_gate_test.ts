// COM1's host input held back until the guest's driver enables the received-data interrupt
// (PC16550D datasheet, "Interrupt Enable Register": bit 0 enables the received-data interrupt).
import assert from "node:assert/strict";
import { COM1_PORT, listeningInput, Serial } from "../../src/devices/mod.ts";

Deno.test("bytes wait while IER bit 0 is clear, arrive once it is set, and wait again when it is cleared", () => {
  const src = [0x61, 0x62, 0x63];
  let taken = 0;
  let serial: Serial | null = null;
  serial = new Serial(() => {}, listeningInput(() => serial, () => (taken < src.length ? src[taken++] : -1)));
  const lsr = () => serial!.read(COM1_PORT + 5);
  assert.equal(lsr() & 1, 0, "no data ready: the driver does not listen yet");
  assert.equal(serial.read(COM1_PORT), 0, "RBR read while not listening takes nothing");
  assert.equal(taken, 0);
  serial.write(COM1_PORT + 1, 1, 0x01); // IER: received data available
  assert.equal(lsr() & 1, 1);
  assert.equal(serial.read(COM1_PORT), 0x61);
  serial.write(COM1_PORT + 1, 1, 0x00);
  const before = taken;
  lsr();
  serial.read(COM1_PORT);
  assert.equal(taken, before, "nothing more is taken while the interrupt is off");
});

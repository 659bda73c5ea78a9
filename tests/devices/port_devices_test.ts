import assert from "node:assert/strict";
import {
  COM1_PORT,
  DebugConsole,
  DebugExit,
  Entropy,
  LSR_DATA_READY,
  LSR_THR_EMPTY,
  PortBus,
  Serial,
} from "../../src/devices/mod.ts";

Deno.test("PortBus routes ports to devices; unclaimed ports read all ones; overlapping claims throw", () => {
  const bus = new PortBus();
  const con = new DebugConsole();
  bus.add(con);
  bus.write(0xe9, 1, 0x41);
  assert.equal(con.text(), "A");
  assert.equal(bus.read(0xe9, 1), 0xe9); // Bochs' detection value
  // COM2's ports: nothing there on hvsim's PC.
  assert.equal(bus.read(0x2f8, 1), 0xff);
  assert.equal(bus.read(0x2f8, 2), 0xffff);
  assert.equal(bus.read(0x2f8, 4), 0xffffffff);
  assert.throws(() => bus.add(new DebugConsole()), /port 0xe9 is claimed by both/);
});

Deno.test("DebugExit records the value written at the access size and round-trips its state", () => {
  const d = new DebugExit();
  assert.equal(d.code, null);
  d.write(0xf4, 1, 0x1ff);
  assert.equal(d.code, 0xff);
  d.write(0xf4, 4, 0x12345678);
  const e = new DebugExit();
  e.restore(d.save());
  assert.equal(e.code, 0x12345678);
  assert.throws(() => e.restore(new Uint8Array(2)), /5 bytes/);
});

Deno.test("Serial transmits through THR, reports line status, and receives from its input", () => {
  const out: number[] = [];
  const input = [0x68, 0x69];
  const s = new Serial((b) => out.push(b), () => input.shift() ?? -1);
  assert.equal(s.read(COM1_PORT + 5), LSR_THR_EMPTY | LSR_DATA_READY);
  assert.equal(s.read(COM1_PORT), 0x68);
  assert.equal(s.read(COM1_PORT), 0x69);
  assert.equal(s.read(COM1_PORT + 5), LSR_THR_EMPTY); // nothing waiting
  s.write(COM1_PORT, 1, 0x4f);
  assert.deepEqual(out, [0x4f]);
  // DLAB: offsets 0 and 1 address the divisor latch, not THR/IER.
  s.write(COM1_PORT + 3, 1, 0x80);
  s.write(COM1_PORT, 1, 0x0c);
  assert.deepEqual(out, [0x4f]);
  assert.equal(s.read(COM1_PORT), 0x0c);
  const t = new Serial(() => {});
  t.restore(s.save());
  assert.deepEqual(t.save(), s.save());
});

Deno.test("Entropy is SplitMix64: the published first outputs for seed 0, and a state round trip", () => {
  // SplitMix64 with seed 0 (Steele, Lea, Flood 2014; the reference C code's first outputs).
  const e = new Entropy(0n);
  assert.equal(e.next64(), 0xe220a8397b1dcdafn);
  assert.equal(e.next64(), 0x6e789e6aa1b965f4n);
  const f = new Entropy(1n);
  f.restore(e.save());
  assert.equal(f.next64(), e.next64());
});

/**
 * The 8259A pair against the Intel 8259A datasheet (order no. 231468): initialization command words
 * (§"Initialization Command Words", Figure 6), operation command words (§"Operation Command Words",
 * Figure 8: OCW1 mask, OCW2 R/SL/EOI, OCW3 ESMM/SMM, P, RR/RIS), the interrupt sequence and
 * priorities (§"Interrupt Sequence", §"Fully Nested Mode", §"Automatic Rotation", §"Specific
 * Rotation"), automatic EOI, the poll command, cascading and the spurious IR7 (§"Edge and Level
 * Triggered Modes").
 */

import assert from "node:assert/strict";
import { DualPic } from "../../src/devices/mod.ts";

/** The initialization a PC's firmware (and Linux's init_8259A) gives the pair: vectors 0x20 and 0x28. */
function pcPic(icw4 = 0x01): DualPic {
  const p = new DualPic();
  const seq: [number, number][] = [
    [0x20, 0x11], // ICW1: edge, cascade, ICW4 needed
    [0x21, 0x20], // ICW2: vectors 0x20-0x27
    [0x21, 0x04], // ICW3: a slave on IR2
    [0x21, icw4], // ICW4: 8086 mode
    [0xa0, 0x11],
    [0xa1, 0x28],
    [0xa1, 0x02], // ICW3: slave ID 2
    [0xa1, icw4],
  ];
  for (const [port, v] of seq) p.write(port, 1, v);
  return p;
}

const isr = (p: DualPic, port = 0x20) => {
  p.write(port, 1, 0x0b); // OCW3: read ISR
  return p.read(port);
};
const irr = (p: DualPic, port = 0x20) => {
  p.write(port, 1, 0x0a); // OCW3: read IRR
  return p.read(port);
};

Deno.test("DualPic: an edge request is delivered with ICW2's vector, held in service until a non-specific EOI", () => {
  const p = pcPic();
  assert.equal(p.intr(), false);
  p.setIrq(0, true);
  assert.equal(irr(p), 0x01);
  assert.equal(p.intr(), true);
  assert.equal(p.acknowledge(), 0x20);
  assert.equal(isr(p), 0x01);
  assert.equal(irr(p), 0x00, "the edge request is consumed by INTA");
  assert.equal(p.intr(), false, "the line is still high: no new edge, no new request");
  p.write(0x20, 1, 0x20); // OCW2: non-specific EOI
  assert.equal(isr(p), 0x00);
  p.setIrq(0, false);
  p.setIrq(0, true);
  assert.equal(p.acknowledge(), 0x20, "a new rising edge requests again");
});

Deno.test("DualPic: fully nested priorities: IR0 highest, a lower request waits for EOI, a higher one nests", () => {
  const p = pcPic();
  p.setIrq(3, true);
  p.setIrq(1, true);
  assert.equal(p.acknowledge(), 0x21);
  assert.equal(p.intr(), false, "IR3 has lower priority than IR1 in service");
  p.setIrq(0, true);
  assert.equal(p.intr(), true);
  assert.equal(p.acknowledge(), 0x20, "IR0 nests over IR1");
  assert.equal(isr(p), 0x03);
  p.write(0x20, 1, 0x20); // EOI resets the highest in service: IR0
  assert.equal(isr(p), 0x02);
  assert.equal(p.intr(), false);
  p.write(0x20, 1, 0x61); // OCW2: specific EOI, level 1
  assert.equal(isr(p), 0x00);
  assert.equal(p.acknowledge(), 0x23);
});

Deno.test("DualPic: OCW1 masks a request without clearing IRR; reading A0=1 returns the mask", () => {
  const p = pcPic();
  p.write(0x21, 1, 0x01);
  assert.equal(p.read(0x21), 0x01);
  p.setIrq(0, true);
  assert.equal(p.intr(), false);
  assert.equal(irr(p), 0x01);
  p.write(0x21, 1, 0x00);
  assert.equal(p.acknowledge(), 0x20);
  // ICW1 clears the mask (§"Initialization Command Words" step b).
  p.write(0x21, 1, 0xff);
  p.write(0x20, 1, 0x11);
  assert.equal(p.read(0x21), 0x00);
});

Deno.test("DualPic: a slave request cascades through IR2 and gives the slave's vector", () => {
  const p = pcPic();
  p.setIrq(8, true);
  assert.equal(p.intr(), true);
  assert.equal(irr(p), 0x04);
  assert.equal(p.acknowledge(), 0x28);
  assert.equal(isr(p), 0x04, "master IR2 in service");
  assert.equal(isr(p, 0xa0), 0x01, "slave IR0 in service");
  p.setIrq(14, true);
  assert.equal(p.intr(), false, "IR2 in service blocks the slave without special fully nested mode");
  p.write(0xa0, 1, 0x20);
  p.write(0x20, 1, 0x20);
  assert.equal(p.acknowledge(), 0x2e);
});

Deno.test("DualPic: special fully nested mode lets a higher slave request through while IR2 is in service", () => {
  const p = pcPic(0x11); // ICW4: SFNM, 8086
  p.setIrq(14, true);
  assert.equal(p.acknowledge(), 0x2e);
  p.setIrq(9, true);
  assert.equal(p.intr(), true);
  assert.equal(p.acknowledge(), 0x29);
});

Deno.test("DualPic: a request withdrawn before INTA gives the spurious IR7 vector, with no bit in service", () => {
  const p = pcPic();
  p.setIrq(4, true);
  p.setIrq(4, false);
  assert.equal(irr(p), 0x00);
  assert.equal(p.acknowledge(), 0x27);
  assert.equal(isr(p), 0x00);
});

Deno.test("DualPic: automatic EOI leaves nothing in service; rotation in AEOI mode makes the served level lowest", () => {
  const p = pcPic(0x03); // ICW4: AEOI, 8086
  p.setIrq(1, true);
  assert.equal(p.acknowledge(), 0x21);
  assert.equal(isr(p), 0x00);
  p.write(0x20, 1, 0x80); // OCW2: rotate in automatic EOI mode (set)
  p.setIrq(5, true);
  assert.equal(p.acknowledge(), 0x25);
  p.setIrq(0, true);
  p.setIrq(6, true);
  assert.equal(p.acknowledge(), 0x26, "after serving IR5, IR6 has the highest priority");
  assert.equal(p.acknowledge(), 0x20);
});

Deno.test("DualPic: set priority and rotate on EOI change which request wins", () => {
  const p = pcPic();
  p.write(0x20, 1, 0xc3); // OCW2: set priority, IR3 lowest (IR4 highest)
  p.setIrq(1, true);
  p.setIrq(5, true);
  assert.equal(p.acknowledge(), 0x25);
  p.write(0x20, 1, 0xa0); // rotate on non-specific EOI: IR5 becomes lowest, IR6 highest
  p.setIrq(4, true);
  assert.equal(p.acknowledge(), 0x21, "IR1 outranks IR4 once IR6 is highest (6,7,0,1,...)");
  p.write(0x20, 1, 0xe2); // rotate on specific EOI level 2: IR3 highest, so IR4 outranks IR1 in service
  assert.equal(p.acknowledge(), 0x24);
});

Deno.test("DualPic: the poll command acknowledges the highest request and reads 0x80 | level", () => {
  const p = pcPic();
  p.setIrq(6, true);
  p.write(0x20, 1, 0x0c); // OCW3: poll
  assert.equal(p.read(0x20), 0x86);
  assert.equal(isr(p), 0x40);
  p.write(0x20, 1, 0x0c);
  assert.equal(p.read(0x20), 0x00, "no request: the poll word's I bit is clear");
});

Deno.test("DualPic: special mask mode lets lower levels in while a masked level is in service", () => {
  const p = pcPic();
  p.setIrq(0, true);
  assert.equal(p.acknowledge(), 0x20);
  p.setIrq(3, true);
  assert.equal(p.intr(), false);
  p.write(0x21, 1, 0x01); // mask IR0
  p.write(0x20, 1, 0x68); // OCW3: set special mask mode
  assert.equal(p.intr(), true);
  assert.equal(p.acknowledge(), 0x23);
  p.write(0x20, 1, 0x63); // specific EOI for IR3, as the datasheet asks in special mask mode
  p.write(0x20, 1, 0x48); // reset special mask mode
  assert.equal(isr(p), 0x01, "IR0 stays in service");
});

Deno.test("DualPic: ELCR makes an input level-triggered: its request follows the line and repeats after EOI", () => {
  const p = pcPic();
  p.write(0x4d1, 1, 0xff);
  assert.equal(p.read(0x4d1), 0xde, "IRQ8 and IRQ13 are edge only (PIIX ELCR2)");
  p.write(0x4d0, 1, 0xff);
  assert.equal(p.read(0x4d0), 0xf8, "IRQ0-2 are edge only (ELCR1)");
  p.setIrq(10, true);
  assert.equal(p.acknowledge(), 0x2a);
  p.write(0xa0, 1, 0x20);
  p.write(0x20, 1, 0x20);
  assert.equal(p.acknowledge(), 0x2a, "still high: requested again");
  p.write(0xa0, 1, 0x20);
  p.write(0x20, 1, 0x20);
  p.setIrq(10, false);
  assert.equal(p.intr(), false);
});

Deno.test("DualPic state round-trips mid-interrupt and refuses a wrong length", () => {
  const p = pcPic();
  p.setIrq(8, true);
  p.setIrq(3, true);
  p.acknowledge();
  const q = new DualPic();
  q.restore(p.save());
  assert.deepEqual(q.save(), p.save());
  assert.equal(q.acknowledge(), p.acknowledge());
  assert.throws(() => q.restore(new Uint8Array(3)), /pic state must be 32 bytes, got 3/);
});

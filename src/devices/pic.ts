/**
 * The PC's pair of 8259A programmable interrupt controllers: the master at ports 0x20/0x21, the slave
 * at 0xA0/0xA1 cascaded on the master's IR2, and the edge/level control registers (ELCR) at
 * 0x4D0/0x4D1. Section numbers cite the Intel 8259A datasheet (order no. 231468), "Functional
 * Description" and "Programming the 8259A".
 *
 * The request model is the datasheet's: an edge-triggered input sets its request on a rising edge and
 * the request stays only while the input stays high ("the IR inputs must remain high until after the
 * falling edge of the first INTA"); a level-triggered input requests while it is high. An INTA cycle
 * with no request left gives the IR7 vector without setting an in-service bit (the spurious
 * interrupt). hvsim's CPU takes the INTA cycle at the same instant it samples INTR, so a guest sees
 * the spurious vector only when it polls a chip with no request (§"The Poll Command").
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** Master 8259A command port (A0 = 0). */
export const PIC_MASTER_CMD = 0x20;
/** Master 8259A data port (A0 = 1). */
export const PIC_MASTER_DATA = 0x21;
/** Slave 8259A command port. */
export const PIC_SLAVE_CMD = 0xa0;
/** Slave 8259A data port. */
export const PIC_SLAVE_DATA = 0xa1;
/** Edge/level control register of the master's inputs (PIIX/ICH ELCR1; IRQ0-2 are edge only). */
export const PIC_ELCR_MASTER = 0x4d0;
/** Edge/level control register of the slave's inputs (ELCR2; IRQ8 and IRQ13 are edge only). */
export const PIC_ELCR_SLAVE = 0x4d1;
/** The master input the slave's INT output drives (PC/AT wiring). */
export const PIC_CASCADE_IRQ = 2;

/** Version of the "pic" state section. */
export const PIC_STATE_VERSION = 1;

/** Bytes of one chip's state. */
const CHIP_BYTES = 16;

/** One 8259A. */
class Chip {
  /** Interrupt request register (pending requests). */
  irr = 0;
  /** In-service register. */
  isr = 0;
  /** Interrupt mask register (OCW1). */
  imr = 0;
  /** Levels of the IR inputs. */
  lines = 0;
  /** Edge/level control: 1 = level triggered. */
  elcr = 0;
  /** ICW2: vector base (T7-T3). */
  vectorBase = 0;
  /** ICW3. */
  icw3 = 0;
  /** Next initialization word expected: 0 none, 2, 3, 4. */
  initStep = 0;
  /** ICW1 flags: bit 0 IC4, bit 1 SNGL, bit 3 LTIM. */
  icw1 = 0;
  /** ICW4 flags: bit 1 AEOI, bit 4 SFNM. */
  icw4 = 0;
  /** Input that has the highest priority (after "set priority" / rotation; 0 at reset). */
  highest = 0;
  /** OCW3 state: bit 0 read ISR (else IRR), bit 1 special mask mode, bit 2 poll pending. */
  ocw3 = 0;
  /** Rotate in automatic EOI mode (OCW2 R=1 SL=0 EOI=0). */
  rotateAeoi = 0;

  /** Level-triggered inputs (ELCR or ICW1 LTIM). */
  levelMask(): number {
    return (this.icw1 & 0x08) !== 0 ? 0xff : this.elcr;
  }

  /** Drives input `irq` to `level` (§"Edge and Level Triggered Modes"). */
  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      if ((this.lines & bit) === 0 || (this.levelMask() & bit) !== 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      this.irr &= ~bit;
    }
  }

  /** The input among `bits` with the highest priority under the current rotation, or -1. */
  private first(bits: number): number {
    if (bits === 0) return -1;
    for (let k = 0; k < 8; k++) {
      const irq = (this.highest + k) & 7;
      if (bits & (1 << irq)) return irq;
    }
    return -1;
  }

  /** Priority rank of `irq` (0 highest). */
  private rank(irq: number): number {
    return (irq - this.highest) & 7;
  }

  /** The request the chip would raise INT for, or -1 (§"Interrupt Sequence", special mask and fully nested modes). */
  pendingIrq(isMaster: boolean): number {
    const req = this.first(this.irr & ~this.imr);
    if (req < 0) return -1;
    let inService = this.isr;
    if ((this.ocw3 & 2) !== 0) inService &= ~this.imr; // special mask mode
    if (isMaster && (this.icw4 & 0x10) !== 0) inService &= ~(1 << PIC_CASCADE_IRQ); // special fully nested
    const cur = this.first(inService);
    if (cur >= 0 && this.rank(cur) <= this.rank(req)) return -1;
    return req;
  }

  /** Acknowledges `irq` (INTA or poll): in service unless automatic EOI; an edge request is consumed. */
  acknowledge(irq: number): void {
    const bit = 1 << irq;
    if ((this.levelMask() & bit) === 0) this.irr &= ~bit;
    if ((this.icw4 & 0x02) !== 0) {
      if (this.rotateAeoi) this.highest = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
  }

  /** A write to the A0 = 0 port: ICW1, OCW2 or OCW3. */
  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1 (§"Initialization Command Words"): edge sense reset, IMR cleared, IR7 lowest priority,
      // slave address 7, special mask mode cleared, status read set to IRR, ICW4 functions cleared if IC4 = 0.
      this.icw1 = v & 0x0b;
      this.initStep = 2;
      this.imr = 0;
      this.irr = this.irr & this.levelMask() & this.lines;
      this.highest = 0;
      this.ocw3 = 0;
      this.rotateAeoi = 0;
      if ((v & 1) === 0) this.icw4 = 0;
      return;
    }
    if (v & 0x08) {
      // OCW3: ESMM/SMM, poll, RR/RIS.
      if (v & 0x40) this.ocw3 = (this.ocw3 & ~2) | ((v >> 4) & 2);
      if (v & 0x04) this.ocw3 |= 4;
      if (v & 0x02) this.ocw3 = (this.ocw3 & ~1) | (v & 1);
      return;
    }
    // OCW2 (§"Operation Command Words", Table of R, SL, EOI).
    const op = v >> 5;
    const level = v & 7;
    switch (op) {
      case 0b001: // non-specific EOI
      case 0b101: { // rotate on non-specific EOI
        let inService = this.isr;
        if ((this.ocw3 & 2) !== 0) inService &= ~this.imr;
        const irq = this.first(inService);
        if (irq >= 0) {
          this.isr &= ~(1 << irq);
          if (op === 0b101) this.highest = (irq + 1) & 7;
        }
        return;
      }
      case 0b011: // specific EOI
        this.isr &= ~(1 << level);
        return;
      case 0b111: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.highest = (level + 1) & 7;
        return;
      case 0b110: // set priority: L becomes the lowest
        this.highest = (level + 1) & 7;
        return;
      case 0b100:
        this.rotateAeoi = 1;
        return;
      case 0b000:
        this.rotateAeoi = 0;
        return;
      default: // 0b010: no operation
        return;
    }
  }

  /** A write to the A0 = 1 port: the ICW being expected, else OCW1. */
  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = (this.icw1 & 2) !== 0 ? ((this.icw1 & 1) !== 0 ? 4 : 0) : 3;
        return;
      case 3:
        this.icw3 = v;
        this.initStep = (this.icw1 & 1) !== 0 ? 4 : 0;
        return;
      case 4:
        this.icw4 = v & 0x1f;
        this.initStep = 0;
        return;
      default:
        this.imr = v;
    }
  }

  /** State as 16 bytes. */
  save(b: Uint8Array, o: number): void {
    b.set([
      this.irr,
      this.isr,
      this.imr,
      this.lines,
      this.elcr,
      this.vectorBase,
      this.icw3,
      this.initStep,
      this.icw1,
      this.icw4,
      this.highest,
      this.ocw3,
      this.rotateAeoi,
    ], o);
  }

  /** Loads state from {@linkcode save}. */
  restore(b: Uint8Array, o: number): void {
    [
      this.irr,
      this.isr,
      this.imr,
      this.lines,
      this.elcr,
      this.vectorBase,
      this.icw3,
      this.initStep,
      this.icw1,
      this.icw4,
      this.highest,
      this.ocw3,
      this.rotateAeoi,
    ] = b.subarray(o, o + 13);
    this.initStep = [0, 2, 3, 4].includes(this.initStep) ? this.initStep : 0;
    this.highest &= 7;
  }
}

/**
 * The master/slave 8259A pair of a PC, with its ELCR. Interrupt sources drive its inputs with
 * {@linkcode DualPic.setIrq}; the CPU samples {@linkcode DualPic.intr} and takes the vector with
 * {@linkcode DualPic.acknowledge} (the INTA cycle).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DualPic } from "./pic.ts";
 * const pic = new DualPic();
 * for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01]]) pic.write(port, 1, v);
 * pic.setIrq(0, true);
 * assert.equal(pic.intr(), true);
 * assert.equal(pic.acknowledge(), 0x20);
 * ```
 */
export class DualPic implements PortDevice {
  readonly name = "pic";
  readonly version = PIC_STATE_VERSION;
  readonly ports: [number, number][] = [
    [PIC_MASTER_CMD, PIC_MASTER_DATA],
    [PIC_SLAVE_CMD, PIC_SLAVE_DATA],
    [PIC_ELCR_MASTER, PIC_ELCR_SLAVE],
  ];
  private readonly master = new Chip();
  private readonly slave = new Chip();

  /** Drives ISA interrupt line `irq` (0-15) to `level`. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setLine(irq, level);
    else {
      this.slave.setLine(irq - 8, level);
      this.cascade();
    }
  }

  /** Propagates the slave's INT output to the master's IR2. */
  private cascade(): void {
    this.master.setLine(PIC_CASCADE_IRQ, this.slave.pendingIrq(false) >= 0);
  }

  /** The master's INT output: an interrupt request for the CPU. */
  intr(): boolean {
    return this.master.pendingIrq(true) >= 0;
  }

  /**
   * The INTA cycle: the vector of the highest-priority request, now in service (or, with none left,
   * the spurious IR7 vector of the chip that has none, with no in-service bit set).
   */
  acknowledge(): number {
    const m = this.master;
    const irq = m.pendingIrq(true);
    if (irq < 0) return m.vectorBase | 7;
    m.acknowledge(irq);
    if (irq === PIC_CASCADE_IRQ && (m.icw1 & 2) === 0) {
      const s = this.slave;
      const sirq = s.pendingIrq(false);
      let vector: number;
      if (sirq < 0) vector = s.vectorBase | 7;
      else {
        s.acknowledge(sirq);
        vector = s.vectorBase | sirq;
      }
      this.cascade();
      return vector;
    }
    return m.vectorBase | irq;
  }

  /** Poll command read (§"The Poll Command"): 0x80 | level with a request (acknowledged), else 0. */
  private poll(chip: Chip, isMaster: boolean): number {
    chip.ocw3 &= ~4;
    const irq = chip.pendingIrq(isMaster);
    if (irq < 0) return 0;
    chip.acknowledge(irq);
    if (!isMaster) this.cascade();
    return 0x80 | irq;
  }

  read(port: number): number {
    switch (port) {
      case PIC_ELCR_MASTER:
        return this.master.elcr;
      case PIC_ELCR_SLAVE:
        return this.slave.elcr;
    }
    const isMaster = port < PIC_SLAVE_CMD;
    const chip = isMaster ? this.master : this.slave;
    if ((chip.ocw3 & 4) !== 0) return this.poll(chip, isMaster);
    if ((port & 1) !== 0) return chip.imr;
    return (chip.ocw3 & 1) !== 0 ? chip.isr : chip.irr;
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    switch (port) {
      case PIC_ELCR_MASTER:
        this.master.elcr = v & 0xf8;
        return;
      case PIC_ELCR_SLAVE:
        this.slave.elcr = v & 0xde;
        this.cascade();
        return;
    }
    const isMaster = port < PIC_SLAVE_CMD;
    const chip = isMaster ? this.master : this.slave;
    if ((port & 1) === 0) chip.writeCommand(v);
    else chip.writeData(v);
    if (!isMaster) this.cascade();
  }

  save(): Uint8Array {
    const b = new Uint8Array(2 * CHIP_BYTES);
    this.master.save(b, 0);
    this.slave.save(b, CHIP_BYTES);
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 2 * CHIP_BYTES) {
      throw new RangeError(`pic state must be ${2 * CHIP_BYTES} bytes, got ${data.length}`);
    }
    this.master.restore(data, 0);
    this.slave.restore(data, CHIP_BYTES);
  }
}

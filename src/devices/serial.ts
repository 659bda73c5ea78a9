/**
 * COM1 as a minimal 16550 UART at 0x3F8: transmit (to the console), receive (from an input
 * source that record/replay can log), line status, and the scratch, interrupt-enable, line- and
 * modem-control registers kept as plain values. No interrupts, no FIFO timing.
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** COM1 base port. */
export const COM1_PORT = 0x3f8;

/** Line status: data ready (16550 LSR bit 0). */
export const LSR_DATA_READY = 0x01;
/** Line status: transmit holding register empty (bit 5) and transmitter empty (bit 6). */
export const LSR_THR_EMPTY = 0x60;

/** Where received bytes come from: returns the next byte, or -1 when none is waiting. */
export type SerialInput = () => number;

/** The UART. */
export class Serial implements PortDevice {
  readonly name = "serial";
  readonly version = 1;
  readonly ports: [number, number][] = [[COM1_PORT, COM1_PORT + 7]];
  /** Interrupt enable, line control, modem control, scratch, divisor latch. */
  private readonly regs = new Uint8Array(6);
  private pending = -1;

  /**
   * @param transmit receives each transmitted byte
   * @param input supplies received bytes
   */
  constructor(private readonly transmit: (b: number) => void, public input: SerialInput = () => -1) {}

  read(port: number): number {
    const off = port - COM1_PORT;
    const dlab = (this.regs[1] & 0x80) !== 0;
    switch (off) {
      case 0: {
        if (dlab) return this.regs[4];
        const b = this.fill();
        this.pending = -1;
        return b < 0 ? 0 : b;
      }
      case 1:
        return dlab ? this.regs[5] : this.regs[0];
      case 2:
        return 0x01; // no interrupt pending
      case 3:
        return this.regs[1];
      case 4:
        return this.regs[2];
      case 5:
        return LSR_THR_EMPTY | (this.fill() >= 0 ? LSR_DATA_READY : 0);
      case 6:
        return 0xb0; // DCD, DSR, CTS
      default:
        return this.regs[3];
    }
  }

  write(port: number, _size: number, value: number): void {
    const off = port - COM1_PORT;
    const v = value & 0xff;
    const dlab = (this.regs[1] & 0x80) !== 0;
    switch (off) {
      case 0:
        if (dlab) this.regs[4] = v;
        else this.transmit(v);
        break;
      case 1:
        if (dlab) this.regs[5] = v;
        else this.regs[0] = v & 0x0f;
        break;
      case 3:
        this.regs[1] = v;
        break;
      case 4:
        this.regs[2] = v & 0x1f;
        break;
      case 7:
        this.regs[3] = v;
        break;
    }
  }

  private fill(): number {
    if (this.pending < 0) this.pending = this.input();
    return this.pending;
  }

  save(): Uint8Array {
    const b = new Uint8Array(8);
    b.set(this.regs);
    b[6] = this.pending >= 0 ? 1 : 0;
    b[7] = this.pending >= 0 ? this.pending : 0;
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 8) throw new RangeError(`serial state must be 8 bytes, got ${data.length}`);
    this.regs.set(data.subarray(0, 6));
    this.pending = data[6] === 1 ? data[7] : -1;
  }
}

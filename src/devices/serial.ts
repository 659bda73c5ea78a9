/**
 * COM1 as a 16550A UART at 0x3F8 with its interrupt on IRQ4. Section names cite the National
 * Semiconductor PC16550D datasheet: "Registers" (Table II: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR,
 * MSR, SCR, the divisor latch under LCR bit 7), "Interrupt Identification Register" (Table IV: the
 * priorities line status > received data / character timeout > THR empty > modem status, and how
 * each is reset), "FIFO Control Register" and "Modem Control Register" (loopback; OUT2, which a PC
 * uses to gate the interrupt line).
 *
 * The transmitter is infinitely fast: a byte written to THR goes to the console at once and THR
 * and the shift register are empty again (THRE and TEMT always read 1), so the THR-empty interrupt
 * comes back after every write while it is enabled. Received bytes come from the machine's serial
 * input (a recorded input for replay): the UART asks it for bytes when the guest reads RBR, LSR or
 * IIR, enables interrupts or the FIFO, and when {@linkcode Serial.poll} is called (a live console
 * does, when a key arrives), so plain runs take each byte at an instruction count the guest's own
 * accesses decide. The receive FIFO holds up to 16 bytes; below the trigger level it reports the
 * character-timeout interrupt at once (the chip waits four character times). No line errors occur.
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** COM1 base port. */
export const COM1_PORT = 0x3f8;
/** COM1's ISA interrupt line. */
export const COM1_IRQ = 4;
/**
 * Version of the "serial" state section (2: the 16550A with FIFO and interrupts; 3: and the time
 * the received-data interrupt was enabled).
 */
export const SERIAL_STATE_VERSION = 3;

/** Line status: data ready (LSR bit 0). */
export const LSR_DATA_READY = 0x01;
/** Line status: transmit holding register empty (bit 5) and transmitter empty (bit 6). */
export const LSR_THR_EMPTY = 0x60;

/** IIR: no interrupt pending. */
export const IIR_NONE = 0x01;
/** IIR: receiver line status. */
export const IIR_LINE_STATUS = 0x06;
/** IIR: received data available. */
export const IIR_RX_DATA = 0x04;
/** IIR: character timeout (FIFO mode). */
export const IIR_RX_TIMEOUT = 0x0c;
/** IIR: transmitter holding register empty. */
export const IIR_THR_EMPTY = 0x02;
/** IIR: modem status. */
export const IIR_MODEM_STATUS = 0x00;

const IER_RX = 0x01, IER_THRE = 0x02, IER_LSR = 0x04, IER_MSR = 0x08;
const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10, MCR_OUT2 = 0x08;
const FIFO_SIZE = 16;
/** Bytes of the state: 13 of registers and flags, the FIFO, the time IER bit 0 was set (f64). */
const STATE_BYTES = 13 + FIFO_SIZE + 8;
/** Receive trigger levels by FCR bits 7:6. */
const TRIGGER = [1, 4, 8, 14];

/** Where received bytes come from: returns the next byte, or -1 when none is waiting. */
export type SerialInput = () => number;

/**
 * The UART.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Serial } from "./serial.ts";
 * const out: number[] = [];
 * const s = new Serial((b) => out.push(b));
 * s.write(0x3f8, 1, 0x41);
 * assert.deepEqual(out, [0x41]);
 * assert.equal(s.read(0x3fd) & 0x60, 0x60); // THR and transmitter empty
 * ```
 */
export class Serial implements PortDevice {
  readonly name = "serial";
  readonly version = SERIAL_STATE_VERSION;
  readonly ports: [number, number][] = [[COM1_PORT, COM1_PORT + 7]];
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  /** FCR bit 0 (FIFOs enabled) and bits 7:6 (receive trigger level). */
  private fcr = 0;
  /** LSR error bits 1-4 (overrun, parity, framing, break) waiting to be read. */
  private lsrErrors = 0;
  /** MSR delta bits 0-3. */
  private msrDelta = 0;
  /** The THR-empty interrupt is pending (reset by reading IIR while it is the source, or writing THR). */
  private thrPending = 0;
  /** The receive buffer (FIFO, or the one-byte holding register with FIFOs off). */
  private rx: number[] = [];
  /** The level last driven onto the interrupt line. */
  private irqLevel = 0;
  /** Virtual time (TSC) at which IER bit 0 was last set, or -1 while it is clear. */
  private rxEnabledAt = -1;

  /**
   * @param transmit receives each transmitted byte
   * @param input supplies received bytes
   * @param irq receives the interrupt line's level (IRQ4) when it changes
   * @param now virtual time (TSC), read when the guest enables the received-data interrupt
   */
  constructor(
    private readonly transmit: (b: number) => void,
    public input: SerialInput = () => -1,
    private readonly irq: (level: boolean) => void = () => {},
    private readonly now: () => number = () => 0,
  ) {}

  /** The guest has the received-data interrupt enabled (IER bit 0): its driver is listening. */
  receiveInterruptEnabled(): boolean {
    return (this.ier & IER_RX) !== 0;
  }

  /**
   * Virtual time (TSC, from the constructor's `now`) at which the guest last enabled the
   * received-data interrupt, or -1 while it is disabled. Part of the state, so a restored or
   * migrated UART's host line opens when the original's would (serial_gate.ts).
   */
  receiveInterruptEnabledAt(): number {
    return this.rxEnabledAt;
  }

  private capacity(): number {
    return (this.fcr & 1) !== 0 ? FIFO_SIZE : 1;
  }

  /** Takes bytes from the input while the receive buffer has room (none in loopback: the line is cut). */
  poll(): void {
    if ((this.mcr & MCR_LOOP) !== 0) return;
    const before = this.rx.length;
    while (this.rx.length < this.capacity()) {
      const b = this.input();
      if (b < 0) break;
      this.rx.push(b & 0xff);
    }
    if (this.rx.length !== before) this.updateIrq();
  }

  /** Modem status bits 4-7: the modem lines, or in loopback MCR's RTS, DTR, OUT1, OUT2. */
  private msrLines(): number {
    if ((this.mcr & MCR_LOOP) === 0) return 0xb0; // DCD, DSR, CTS
    const m = this.mcr;
    return ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4);
  }

  /** The pending interrupt of highest priority (Table IV), as IIR bits 3:0. */
  private interruptId(): number {
    const ier = this.ier;
    if ((ier & IER_LSR) !== 0 && this.lsrErrors !== 0) return IIR_LINE_STATUS;
    if ((ier & IER_RX) !== 0 && this.rx.length > 0) {
      const fifo = (this.fcr & 1) !== 0;
      return fifo && this.rx.length < TRIGGER[this.fcr >> 6] ? IIR_RX_TIMEOUT : IIR_RX_DATA;
    }
    if ((ier & IER_THRE) !== 0 && this.thrPending) return IIR_THR_EMPTY;
    if ((ier & IER_MSR) !== 0 && this.msrDelta !== 0) return IIR_MODEM_STATUS;
    return IIR_NONE;
  }

  /** Drives IRQ4: an interrupt pending and OUT2 set (a PC's gate on the UART's INTR). */
  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0 ? 1 : 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level === 1);
    }
  }

  read(port: number): number {
    const off = port - COM1_PORT;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    let v: number;
    switch (off) {
      case 0:
        if (dlab) return this.dll;
        this.poll();
        v = this.rx.shift() ?? 0;
        break;
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2: {
        this.poll();
        const id = this.interruptId();
        v = id | ((this.fcr & 1) !== 0 ? 0xc0 : 0);
        if (id === IIR_THR_EMPTY) this.thrPending = 0;
        break;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        this.poll();
        v = LSR_THR_EMPTY | this.lsrErrors | (this.rx.length > 0 ? LSR_DATA_READY : 0);
        this.lsrErrors = 0;
        break;
      case 6:
        v = this.msrLines() | this.msrDelta;
        this.msrDelta = 0;
        break;
      default:
        return this.scr;
    }
    this.updateIrq();
    return v;
  }

  write(port: number, _size: number, value: number): void {
    const off = port - COM1_PORT;
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (off) {
      case 0:
        if (dlab) {
          this.dll = v;
          return;
        }
        if ((this.mcr & MCR_LOOP) !== 0) {
          if (this.rx.length < this.capacity()) this.rx.push(v);
          else this.lsrErrors |= 0x02; // overrun
        } else this.transmit(v);
        this.thrPending = 1; // sent at once: THR is empty again
        break;
      case 1: {
        if (dlab) {
          this.dlm = v;
          return;
        }
        const old = this.ier;
        this.ier = v & 0x0f;
        if ((this.ier & IER_RX) === 0) this.rxEnabledAt = -1;
        else if ((old & IER_RX) === 0) this.rxEnabledAt = this.now();
        // Enabling the THR-empty interrupt while THR is empty raises it (Linux's THRE test relies on it).
        if ((this.ier & IER_THRE) !== 0 && (old & IER_THRE) === 0) this.thrPending = 1;
        this.poll();
        break;
      }
      case 2: {
        const was = this.fcr & 1;
        this.fcr = v & 0xc1;
        if ((v & 1) !== was || (v & 0x02) !== 0) this.rx = [];
        this.poll();
        break;
      }
      case 3:
        this.lcr = v;
        return;
      case 4: {
        const before = this.msrLines();
        this.mcr = v & 0x1f;
        const after = this.msrLines();
        // Delta CTS, DSR, DCD on change; trailing edge of RI (Table II, MSR bits 0-3).
        const changed = before ^ after;
        this.msrDelta |= ((changed >> 4) & 0x0b) | ((before & ~after & 0x40) >> 4);
        this.poll();
        break;
      }
      case 7:
        this.scr = v;
        return;
      default:
        return; // LSR and MSR are read-only
    }
    this.updateIrq();
  }

  save(): Uint8Array {
    const b = new Uint8Array(STATE_BYTES);
    b.set([
      this.ier,
      this.lcr,
      this.mcr,
      this.scr,
      this.dll,
      this.dlm,
      this.fcr,
      this.lsrErrors,
      this.msrDelta,
      this.thrPending,
      this.irqLevel,
      0,
      this.rx.length,
    ]);
    b.set(this.rx, 13);
    new DataView(b.buffer).setFloat64(13 + FIFO_SIZE, this.rxEnabledAt, true);
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== STATE_BYTES) {
      throw new RangeError(`serial state must be ${STATE_BYTES} bytes, got ${data.length}`);
    }
    const enabledAt = new DataView(data.buffer, data.byteOffset).getFloat64(13 + FIFO_SIZE, true);
    const rxOn = (data[0] & IER_RX) !== 0;
    if (
      data[12] > FIFO_SIZE || data[9] > 1 || data[10] > 1 ||
      (rxOn ? !(Number.isSafeInteger(enabledAt) && enabledAt >= 0) : enabledAt !== -1)
    ) {
      throw new RangeError("serial state holds out-of-range values");
    }
    [
      this.ier,
      this.lcr,
      this.mcr,
      this.scr,
      this.dll,
      this.dlm,
      this.fcr,
      this.lsrErrors,
      this.msrDelta,
      this.thrPending,
      this.irqLevel,
    ] = data;
    this.ier &= 0x0f;
    this.mcr &= 0x1f;
    this.fcr &= 0xc1;
    this.rx = [...data.subarray(13, 13 + data[12])];
    this.rxEnabledAt = enabledAt;
  }
}

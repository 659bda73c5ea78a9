/**
 * A minimal i8042 keyboard controller at 0x60 (data) and 0x64 (status, command), with no keyboard
 * keys and no mouse: the status register, the controller commands firmware and Linux use at boot
 * (read/write the command byte, self-tests, enable/disable the ports, the output port), a keyboard
 * that acknowledges its commands, and the reset line: command 0xFE (or any 0xF0-0xFF pulse with bit
 * 0 clear, or an output-port write with bit 0 clear) asks the machine to reset, which ends the run
 * with exit reason "reset" (Linux's `reboot=k`, as Firecracker handles it). Commands and status bits
 * follow the IBM PC/AT Technical Reference, "Keyboard Controller" (and the 8042 commands of the
 * OSDev summary of that document); the keyboard's replies, "Keyboard Commands".
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** Data port. */
export const I8042_DATA_PORT = 0x60;
/** Status (read) and command (write) port. */
export const I8042_COMMAND_PORT = 0x64;
/** Version of the "i8042" state section. */
export const I8042_STATE_VERSION = 1;

/** Status: output buffer full. */
export const I8042_STATUS_OBF = 0x01;
/** Status: system flag (set once the controller's self-test passed; firmware leaves it set). */
export const I8042_STATUS_SYS = 0x04;
/** Status: the last write was to the command port. */
export const I8042_STATUS_CMD = 0x08;
/** Status: keyboard not inhibited (the keylock is open). */
export const I8042_STATUS_UNLOCKED = 0x10;
/** Status: the output buffer holds data from the auxiliary (mouse) port. */
export const I8042_STATUS_AUX = 0x20;

/** The most bytes the output queue keeps (a guest cannot grow it without bound). */
const QUEUE_MAX = 16;

/**
 * The controller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { I8042 } from "./i8042.ts";
 * const kbc = new I8042();
 * kbc.write(0x64, 1, 0xaa); // controller self-test
 * assert.equal(kbc.read(0x64) & 0x01, 0x01);
 * assert.equal(kbc.read(0x60), 0x55); // passed
 * kbc.write(0x64, 1, 0xfe);
 * assert.equal(kbc.resetRequested, true);
 * ```
 */
export class I8042 implements PortDevice {
  readonly name = "i8042";
  readonly version = I8042_STATE_VERSION;
  readonly ports: [number, number][] = [[I8042_DATA_PORT, I8042_DATA_PORT], [
    I8042_COMMAND_PORT,
    I8042_COMMAND_PORT,
  ]];
  /** The guest pulsed the reset line. */
  resetRequested = false;
  /** Command byte: bit 0 keyboard interrupt, bit 1 aux interrupt, bit 2 system flag, bit 4/5 ports disabled, bit 6 translation. */
  private commandByte = 0x45;
  /** Output port: bit 0 reset (high = running), bit 1 A20. */
  private outputPort = 0x03;
  /** The command waiting for its data byte, or 0. */
  private pending = 0;
  /** The last write went to the command port. */
  private lastWasCommand = 0;
  /** Bytes waiting in the output buffer, each with bit 8 set when it comes from the aux port. */
  private queue: number[] = [];

  private push(v: number, aux = false): void {
    if (this.queue.length < QUEUE_MAX) this.queue.push((v & 0xff) | (aux ? 0x100 : 0));
  }

  read(port: number): number {
    if (port === I8042_COMMAND_PORT) {
      const head = this.queue[0];
      return (head === undefined ? 0 : I8042_STATUS_OBF | (head & 0x100 ? I8042_STATUS_AUX : 0)) |
        (this.commandByte & I8042_STATUS_SYS) | (this.lastWasCommand ? I8042_STATUS_CMD : 0) |
        I8042_STATUS_UNLOCKED;
    }
    const head = this.queue.shift();
    return head === undefined ? 0 : head & 0xff;
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (port === I8042_COMMAND_PORT) {
      this.lastWasCommand = 1;
      this.command(v);
      return;
    }
    this.lastWasCommand = 0;
    const cmd = this.pending;
    this.pending = 0;
    switch (cmd) {
      case 0x60: // write command byte
        this.commandByte = v;
        return;
      case 0xd1: // write output port: bit 0 low holds the processor in reset
        this.outputPort = v;
        if ((v & 1) === 0) this.resetRequested = true;
        return;
      case 0xd2: // write keyboard output buffer
        this.push(v);
        return;
      case 0xd3: // write aux output buffer
        this.push(v, true);
        return;
      case 0xd4: // write to the aux device: none is attached
        return;
      default:
        this.keyboard(v);
    }
  }

  /** A controller command (a write to 0x64). */
  private command(v: number): void {
    if (v >= 0xf0) {
      // Pulse output port bits 0-3 low for those bits clear in the command: bit 0 is the reset line.
      if ((v & 1) === 0) this.resetRequested = true;
      return;
    }
    switch (v) {
      case 0x20: // read command byte
        this.push(this.commandByte);
        return;
      case 0x60:
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.pending = v;
        return;
      case 0xa7: // disable aux
        this.commandByte |= 0x20;
        return;
      case 0xa8: // enable aux
        this.commandByte &= ~0x20;
        return;
      case 0xa9: // test aux port: passed
      case 0xab: // test keyboard port: passed
        this.push(0x00);
        return;
      case 0xaa: // controller self-test: passed; the system flag is set
        this.commandByte |= 0x04;
        this.push(0x55);
        return;
      case 0xad: // disable keyboard
        this.commandByte |= 0x10;
        return;
      case 0xae: // enable keyboard
        this.commandByte &= ~0x10;
        return;
      case 0xc0: // read input port: keylock open, no manufacturing jumper
        this.push(0x80);
        return;
      case 0xd0: // read output port
        this.push(this.outputPort);
        return;
      default:
        return; // other commands do nothing here
    }
  }

  /** A byte for the keyboard (a write to 0x60 with no command pending): its replies. */
  private keyboard(v: number): void {
    switch (v) {
      case 0xff: // reset: ACK, then basic assurance test passed
        this.push(0xfa);
        this.push(0xaa);
        return;
      case 0xf2: // identify: ACK and an MF2 keyboard's ID
        this.push(0xfa);
        this.push(0xab);
        this.push(0x83);
        return;
      case 0xee: // echo
        this.push(0xee);
        return;
      default:
        this.push(0xfa);
    }
  }

  save(): Uint8Array {
    const b = new Uint8Array(7 + 2 * QUEUE_MAX);
    b.set([
      this.commandByte,
      this.outputPort,
      this.pending,
      this.lastWasCommand,
      this.resetRequested ? 1 : 0,
      this.queue.length,
      0,
    ]);
    this.queue.forEach((q, k) => {
      b[7 + 2 * k] = q & 0xff;
      b[8 + 2 * k] = q >> 8;
    });
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 7 + 2 * QUEUE_MAX) {
      throw new RangeError(`i8042 state must be ${7 + 2 * QUEUE_MAX} bytes, got ${data.length}`);
    }
    if (data[5] > QUEUE_MAX) {
      throw new RangeError(`i8042 state has ${data[5]} queued bytes, at most ${QUEUE_MAX}`);
    }
    [this.commandByte, this.outputPort, this.pending, this.lastWasCommand] = data;
    this.lastWasCommand &= 1;
    this.resetRequested = data[4] === 1;
    this.queue = [];
    for (let k = 0; k < data[5]; k++) this.queue.push(data[7 + 2 * k] | ((data[8 + 2 * k] & 1) << 8));
  }
}

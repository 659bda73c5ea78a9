/**
 * The debug console: a byte written to port 0xE9 is console output (QEMU's and Bochs' debug
 * console). Reading the port returns 0xE9, as Bochs does, so guests can detect it.
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** The debug console port. */
export const DEBUG_CONSOLE_PORT = 0xe9;

/** Collects console bytes. */
export class DebugConsole implements PortDevice {
  readonly name = "debug-console";
  readonly version = 1;
  readonly ports: [number, number][] = [[DEBUG_CONSOLE_PORT, DEBUG_CONSOLE_PORT]];
  private bytes = new Uint8Array(4096);
  private length = 0;
  /** Called with each byte as it is written (for live output). */
  onByte: ((b: number) => void) | null = null;

  /** Everything written so far. */
  output(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Everything written so far, as text. */
  text(): string {
    return new TextDecoder().decode(this.output());
  }

  /** Appends console bytes (the serial port shares the console). */
  append(b: number): void {
    if (this.length === this.bytes.length) {
      const n = new Uint8Array(this.bytes.length * 2);
      n.set(this.bytes);
      this.bytes = n;
    }
    this.bytes[this.length++] = b;
    this.onByte?.(b);
  }

  read(): number {
    return DEBUG_CONSOLE_PORT;
  }

  write(_port: number, _size: number, value: number): void {
    this.append(value & 0xff);
  }

  save(): Uint8Array {
    return this.output();
  }

  restore(data: Uint8Array): void {
    this.bytes = new Uint8Array(Math.max(4096, data.length * 2));
    this.bytes.set(data);
    this.length = data.length;
  }
}

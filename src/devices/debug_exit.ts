/**
 * The debug-exit device: a write to port 0xF4 ends the run with that value as the exit code
 * (QEMU's isa-debug-exit, without QEMU's (value << 1) | 1 transformation).
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** The debug-exit port. */
export const DEBUG_EXIT_PORT = 0xf4;

/** Records the guest's request to end the run. */
export class DebugExit implements PortDevice {
  readonly name = "debug-exit";
  readonly version = 1;
  readonly ports: [number, number][] = [[DEBUG_EXIT_PORT, DEBUG_EXIT_PORT]];
  /** The exit code written, or null while the guest runs. */
  code: number | null = null;

  read(): number {
    return 0xff;
  }

  write(_port: number, size: number, value: number): void {
    this.code = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
  }

  save(): Uint8Array {
    const b = new Uint8Array(5);
    if (this.code !== null) {
      b[0] = 1;
      new DataView(b.buffer).setUint32(1, this.code, true);
    }
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 5) throw new RangeError(`debug-exit state must be 5 bytes, got ${data.length}`);
    this.code = data[0] === 1 ? new DataView(data.buffer, data.byteOffset).getUint32(1, true) : null;
  }
}

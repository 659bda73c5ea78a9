/**
 * The PC/AT's system control port B at 0x61: counter 2's gate (bit 0) and speaker data (bit 1), the
 * parity and channel check enables (bits 2, 3), the refresh detect toggle (bit 4) and counter 2's
 * OUT (bit 5) (IBM PC/AT Technical Reference, "System Board I/O Address Map", port 061h).
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";
import type { Pit } from "./pit.ts";
import { pitTicks } from "./platform_clock.ts";

/** System control port B. */
export const SYSTEM_CONTROL_PORT = 0x61;
/** PIT clocks between refresh-detect toggles: a PC's firmware runs counter 1 in mode 2 with count 18 (15.09 µs). */
export const REFRESH_PIT_TICKS = 18;
/** Version of the "port61" state section. */
export const SYSTEM_CONTROL_STATE_VERSION = 1;

/**
 * Port 0x61. Bits 6 and 7 (parity and I/O channel check status) read 0: hvsim has neither error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pit, SystemControl } from "./mod.ts";
 * const now = 0;
 * const pit = new Pit(() => now, () => {});
 * const port = new SystemControl(pit, () => now);
 * port.write(0x61, 1, 0x01); // gate counter 2 on, speaker off
 * assert.equal(port.read(0x61) & 0x0f, 0x01);
 * ```
 */
export class SystemControl implements PortDevice {
  readonly name = "port61";
  readonly version = SYSTEM_CONTROL_STATE_VERSION;
  readonly ports: [number, number][] = [[SYSTEM_CONTROL_PORT, SYSTEM_CONTROL_PORT]];
  /** Bits 0-3 as written. */
  private bits = 0;

  /**
   * @param pit the timer whose counter 2 this port gates and reads
   * @param now the current TSC (virtual time)
   */
  constructor(private readonly pit: Pit, private readonly now: () => number) {}

  read(_port: number): number {
    const refresh = Math.floor(pitTicks(this.now()) / REFRESH_PIT_TICKS) & 1;
    return (this.bits & 0x0f) | (refresh << 4) | (this.pit.out2() ? 0x20 : 0);
  }

  write(_port: number, _size: number, value: number): void {
    this.bits = value & 0x0f;
    this.pit.setGate2((value & 1) !== 0);
  }

  save(): Uint8Array {
    return Uint8Array.of(this.bits);
  }

  restore(data: Uint8Array): void {
    if (data.length !== 1 || data[0] > 0x0f) {
      throw new RangeError(`port61 state must be 1 byte of bits 0-3, got ${data.length} bytes`);
    }
    this.bits = data[0];
  }
}

/**
 * Port 0x80, where firmware and kernels write power-on self-test (POST) codes, and which Linux
 * writes to wait about a microsecond (`outb_p`, `io_delay`). Writes are kept (the last code, for a
 * debugger or a test to look at); reads return all ones, as QEMU's port 0x80 does.
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";

/** The POST code port. */
export const POST_CODE_PORT = 0x80;
/** Version of the "post-code" state section. */
export const POST_CODE_STATE_VERSION = 1;

/**
 * The POST code port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PostCode } from "./post_code.ts";
 * const p = new PostCode();
 * p.write(0x80, 1, 0x42);
 * assert.equal(p.last, 0x42);
 * assert.equal(p.read(), 0xff);
 * ```
 */
export class PostCode implements PortDevice {
  readonly name = "post-code";
  readonly version = POST_CODE_STATE_VERSION;
  readonly ports: [number, number][] = [[POST_CODE_PORT, POST_CODE_PORT]];
  /** The last code written (its low byte). */
  last = 0;
  /** Codes written so far. */
  count = 0;

  read(): number {
    return 0xff;
  }

  write(_port: number, _size: number, value: number): void {
    this.last = value & 0xff;
    this.count++;
  }

  save(): Uint8Array {
    const b = new Uint8Array(9);
    b[0] = this.last;
    new DataView(b.buffer).setFloat64(1, this.count, true);
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 9) throw new RangeError(`post-code state must be 9 bytes, got ${data.length}`);
    const count = new DataView(data.buffer, data.byteOffset, 9).getFloat64(1, true);
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`post-code state has count ${count}`);
    this.last = data[0];
    this.count = count;
  }
}

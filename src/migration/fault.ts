/**
 * Failure injection for migration tests: wrap a transport so that the connection drops at a byte,
 * a chunk (the header is chunk 0, record `i` is chunk `i + 1`) is corrupted on the wire, or the
 * destination's confirmation is replaced by a refusal.
 *
 * @module
 */

import type { ByteSink } from "./byte_io.ts";
import type { MigrationTransport } from "./transport.ts";

/** Which failure to inject. */
export interface FaultOptions {
  /** Deliver only the first `dropAtByte` bytes, then fail the connection. */
  dropAtByte?: number;
  /** Flip one bit in the middle of this chunk (0 = stream header, i + 1 = record i). */
  corruptChunk?: number;
  /** Turn the destination's confirmation into a refusal with this message. */
  refuseConfirmation?: string;
}

/** Thrown by a faulty transport where a real one would fail. */
export class InjectedFault extends Error {
  /** Create. */
  constructor(message: string) {
    super(message);
    this.name = "InjectedFault";
  }
}

/** Wrap `inner` so that it fails as `faults` says. */
export function faultyTransport(inner: MigrationTransport, faults: FaultOptions): MigrationTransport {
  let bytes = 0;
  let chunks = 0;
  let dropped = false;
  const sink: ByteSink = {
    async write(chunk) {
      if (dropped) throw new InjectedFault(`connection dropped at byte ${faults.dropAtByte} (injected)`);
      let c = chunk;
      if (faults.corruptChunk === chunks) {
        c = chunk.slice();
        c[c.length >>> 1] ^= 0x04;
      }
      chunks++;
      if (faults.dropAtByte !== undefined && bytes + c.length > faults.dropAtByte) {
        const keep = faults.dropAtByte - bytes;
        if (keep > 0) await inner.sink.write(c.slice(0, keep));
        bytes += Math.max(0, keep);
        dropped = true;
        const err = new InjectedFault(`connection dropped at byte ${faults.dropAtByte} (injected)`);
        await inner.sink.abort(err);
        throw err;
      }
      bytes += c.length;
      await inner.sink.write(c);
    },
    close: () => inner.sink.close(),
    abort: (reason) => inner.sink.abort(reason),
  };
  return {
    sink,
    async confirm() {
      const confirmation = await inner.confirm();
      if (faults.refuseConfirmation !== undefined) throw new InjectedFault(faults.refuseConfirmation);
      return confirmation;
    },
    abort: (reason) => inner.abort(reason),
  };
}

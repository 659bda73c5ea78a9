/**
 * Transports carry a stream from the source to a destination and bring back its verdict.
 *
 * This file has the interface and the in-process transport (source and destination VM in one
 * process, joined by a Web `TransformStream`); `tcp.ts` and `file.ts` have the others.
 *
 * @module
 */

import type { ByteSink } from "./byte_io.ts";
import { MemorySink, ReadableSource, sinkFromWritable } from "./byte_io.ts";
import type { ReceiveOptions, ReceiveResult } from "./receiver.ts";
import { receiveStream } from "./receiver.ts";

/** What a destination said besides yes, when it confirmed. */
export interface Confirmation {
  /**
   * The destination's own wall-clock view of the downtime, ms: from the arrival of the stop-and-copy
   * pass's round record to confirming with the VM loaded (over TCP; absent elsewhere).
   */
  seenMs?: number;
}

/** A path to a destination. */
export interface MigrationTransport {
  /** Where the stream goes. */
  readonly sink: ByteSink;
  /**
   * Call after the end record was written and the sink closed: resolves once the destination has
   * verified everything and taken the VM; rejects with the destination's reason otherwise.
   */
  confirm(): Promise<Confirmation | void>;
  /** Abandon the stream after a failure on the source side. */
  abort(reason: unknown): Promise<void>;
}

/** An in-process transport and the destination's outcome. */
export interface InProcessPair {
  /** Give this to the controller. */
  transport: MigrationTransport;
  /** Settles with the destination VM (or the refusal) once the stream is over. */
  destination: Promise<ReceiveResult>;
}

/**
 * A transport to a receiver in the same process. The receiver consumes the stream as it is written
 * (backpressure keeps at most a few records in flight) and builds the destination VM with
 * `opts.createVm` only after full verification.
 */
export function inProcessTransport(opts: ReceiveOptions, highWaterMark = 4): InProcessPair {
  const pipe = new TransformStream<Uint8Array, Uint8Array>(
    undefined,
    new CountQueuingStrategy({ highWaterMark }),
    new CountQueuingStrategy({ highWaterMark: 0 }),
  );
  const destination = receiveStream(new ReadableSource(pipe.readable), opts);
  // The controller learns of a refusal through confirm() or a failed write; never leave it unhandled.
  destination.catch(() => {});
  const sink = sinkFromWritable(pipe.writable);
  return {
    destination,
    transport: {
      sink,
      async confirm() {
        await destination;
      },
      async abort(reason) {
        await sink.abort(reason);
        await destination.catch(() => {});
      },
    },
  };
}

/**
 * A transport into memory: the bytes of a snapshot or stream (e.g. a replay checkpoint). The
 * confirmation is the stream having been closed after its end record.
 *
 * @example
 * ```ts
 * import { memoryTransport, MigrationController, receiveStream } from "./mod.ts";
 * import { ok } from "node:assert/strict";
 * // with any MigratableVm `vm`:
 * //   const m = memoryTransport();
 * //   await new MigrationController(vm).snapshot(m.transport);
 * //   const copy = await receiveStream(m.sink.bytes(), { createVm: () => blankVm });
 * ok(memoryTransport().sink.length === 0);
 * ```
 */
export function memoryTransport(): { transport: MigrationTransport; sink: MemorySink } {
  const sink = new MemorySink();
  return {
    sink,
    transport: {
      sink,
      confirm: () => sink.closed ? Promise.resolve() : Promise.reject(new Error("the stream was not closed")),
      abort: () => sink.abort(),
    },
  };
}

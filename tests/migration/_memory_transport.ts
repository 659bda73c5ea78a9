/** A transport into memory (what a snapshot file would hold), for tests. */

import { MemorySink } from "../../src/migration/byte_io.ts";
import type { MigrationTransport } from "../../src/migration/transport.ts";

/** A transport whose bytes land in a {@link MemorySink}; the confirmation is the sink being closed. */
export function fileTransportForTest(): { transport: MigrationTransport; sink: MemorySink } {
  const sink = new MemorySink();
  return {
    sink,
    transport: {
      sink,
      confirm: () => (sink.closed ? Promise.resolve() : Promise.reject(new Error("sink not closed"))),
      abort: () => sink.abort(),
    },
  };
}

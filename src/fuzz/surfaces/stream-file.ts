/**
 * Migration streams and snapshots read from a file, as `deno task inspect F` and then
 * `deno task restore F [--lazy]` read them: every record printed, then verified, a machine built,
 * and the guest run on for the case's budget.
 *
 * @module
 */

import { inspectStream } from "../../migration/inspect.ts";
import { DestinationRefusedError } from "../../migration/receiver.ts";
import { restoreSnapshotFiles } from "../../migration/file.ts";
import { STREAM_FLAG_AUTHENTICATED, StreamError } from "../../migration/stream.ts";
import { crc32c } from "../../migration/crc32c.ts";
import { Machine } from "../../vm/machine.ts";
import { fuzzKey, streamCorpus } from "../corpus.ts";
import { runGuest } from "../run_guest.ts";
import { resealStream, streamStructure } from "../stream_format.ts";
import type { CaseOutcome, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";

let key: CryptoKey | undefined;

/** Whether a stream error is one the commands print as one line. */
export function isStreamRefusal(e: unknown): boolean {
  return e instanceof StreamError || e instanceof DestinationRefusedError;
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "stream-file",
  description: "migration streams and snapshots from a file: inspect, then restore (eager or lazy) and run",
  async corpus() {
    key = await fuzzKey();
    return await streamCorpus();
  },
  structure: streamStructure,
  reseal: resealStream,
  async run(input, ctx): Promise<CaseOutcome> {
    await inspectStream(input, { write: () => {} }).catch((e) => {
      if (!isStreamRefusal(e)) throw e;
    });
    const path = `${ctx.scratch}/case.snap`;
    await Deno.writeFile(path, input);
    const auth = input.length >= 28 && (new DataView(input.buffer, input.byteOffset).getUint32(24, true) &
          STREAM_FLAG_AUTHENTICATED) !== 0;
    // half the unauthenticated cases restore lazily (chosen by the bytes, so a reproducer repeats it)
    const lazy = !auth && (crc32c(input) & 1) === 1;
    let restored;
    try {
      restored = await restoreSnapshotFiles(path, {
        createVm: (h) => new Machine({ memory: h.ramBytes }),
        key: auth ? key : undefined,
        lazy,
      });
    } catch (e) {
      if (isStreamRefusal(e)) return refused(e);
      throw e;
    }
    try {
      return runGuest(restored.vm as Machine, ctx.maxInstructions);
    } finally {
      restored.lazy?.close();
    }
  },
};

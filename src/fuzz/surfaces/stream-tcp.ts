/**
 * Migration streams sent over loopback TCP to a listening destination, as `deno task migrate
 * <guest> --listen` receives them (its RAM size, a key when the stream is authenticated, the idle
 * timeout); one case in 256 stops sending half-way and must be dropped by the timeout. An accepted
 * stream's machine runs on for the case's budget.
 *
 * @module
 */

import { crc32c } from "../../migration/crc32c.ts";
import { STREAM_FLAG_AUTHENTICATED } from "../../migration/stream.ts";
import type { MigrationListener } from "../../migration/tcp.ts";
import { incomingFailure, listenForMigration } from "../../migration/tcp.ts";
import { Machine } from "../../vm/machine.ts";
import { FUZZ_RAM_BYTES, fuzzKey, streamCorpus } from "../corpus.ts";
import { runGuest } from "../run_guest.ts";
import { resealStream, streamStructure } from "../stream_format.ts";
import type { CaseOutcome, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";

/** How long the destination waits for a silent source, ms. */
const IDLE_MS = 200;

let plain: MigrationListener | undefined;
let keyed: MigrationListener | undefined;

async function send(port: number, input: Uint8Array, stall: boolean): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const end = stall ? input.length >>> 1 : input.length;
    for (let o = 0; o < end;) o += await conn.write(input.subarray(o, Math.min(end, o + 65536)));
    if (!stall) await conn.closeWrite();
    const buf = new Uint8Array(8192);
    while ((await conn.read(buf)) !== null);
  } catch {
    // the destination refused and closed while we were still sending: its verdict is the case's end
  } finally {
    conn.close();
  }
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "stream-tcp",
  description: "migration streams over loopback TCP to a --listen destination (8 MiB, key, idle timeout)",
  async corpus() {
    const key = await fuzzKey();
    const createVm = () => new Machine({ memory: FUZZ_RAM_BYTES });
    const opts = { port: 0, createVm, expectRamBytes: FUZZ_RAM_BYTES, idleTimeoutMs: IDLE_MS, drainMs: 500 };
    plain = listenForMigration(opts);
    keyed = listenForMigration({ ...opts, key });
    return await streamCorpus();
  },
  structure: streamStructure,
  reseal: resealStream,
  async run(input, ctx): Promise<CaseOutcome> {
    const h = crc32c(input);
    const auth = input.length >= 28 &&
      (new DataView(input.buffer, input.byteOffset).getUint32(24, true) & STREAM_FLAG_AUTHENTICATED) !== 0;
    const l = auth || (h & 7) === 0 ? keyed! : plain!;
    const accepted = l.accept();
    accepted.catch(() => {});
    await send(l.port, input, (h >>> 8) % 256 === 0);
    let got;
    try {
      got = await accepted;
    } catch (e) {
      const f = incomingFailure(e);
      if (f === undefined) throw e;
      return refused(f);
    }
    return runGuest(got.vm as Machine, ctx.maxInstructions);
  },
  close() {
    plain?.close();
    keyed?.close();
  },
};

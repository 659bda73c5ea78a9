/**
 * Diff snapshot chains, as `deno task restore F F.1 F.2 ...` reads them: a full snapshot, then
 * diffs applied in order, each verified before it touches the machine; then the guest runs on.
 *
 * A case holds the chain's files one after another, each as `length u32` and its bytes; the files
 * are records to the mutations, so chains lose, repeat and reorder files as well as bytes.
 *
 * @module
 */

import { restoreSnapshotFiles } from "../../migration/file.ts";
import { Machine } from "../../vm/machine.ts";
import { chainCorpus } from "../corpus.ts";
import { runGuest } from "../run_guest.ts";
import { resealStream, streamStructure } from "../stream_format.ts";
import type { CaseOutcome, Field, FuzzSurface, Span } from "../surface.ts";
import { refused } from "../surface.ts";
import { isStreamRefusal } from "./stream-file.ts";

/** At most this many files are restored from one case. */
const MAX_FILES = 8;

/** The chain's files (lenient: a damaged length ends the list). */
function files(b: Uint8Array): Span[] {
  const out: Span[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let o = 0; o + 4 <= b.length && out.length < 64;) {
    const len = v.getUint32(o, true);
    if (o + 4 + len > b.length) break;
    out.push({ offset: o, length: 4 + len });
    o += 4 + len;
  }
  return out;
}

function pack(chain: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chain.reduce((n, f) => n + 4 + f.length, 0));
  let o = 0;
  for (const f of chain) {
    new DataView(out.buffer).setUint32(o, f.length, true);
    out.set(f, o + 4);
    o += 4 + f.length;
  }
  return out;
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "snapshot-chain",
  description: "diff snapshot chains from files: restore the full snapshot, apply each diff, run",
  async corpus() {
    return (await chainCorpus()).map(pack);
  },
  structure(b) {
    const spans = files(b);
    const fields: Field[] = [];
    for (const s of spans) {
      fields.push({ offset: s.offset, size: 4, kind: "length" });
      const inner = streamStructure(b.subarray(s.offset + 4, s.offset + s.length));
      for (const f of inner.fields) fields.push({ ...f, offset: f.offset + s.offset + 4 });
    }
    return { fields, records: spans };
  },
  reseal(input) {
    const b = input.slice();
    for (const s of files(b)) {
      b.set(resealStream(b.subarray(s.offset + 4, s.offset + s.length)), s.offset + 4);
    }
    return b;
  },
  async run(input, ctx): Promise<CaseOutcome> {
    const spans = files(input).slice(0, MAX_FILES);
    if (spans.length === 0) return { result: "refused", detail: "no file in the chain" };
    const paths: string[] = [];
    for (const [i, s] of spans.entries()) {
      const p = `${ctx.scratch}/chain.${i}`;
      await Deno.writeFile(p, input.subarray(s.offset + 4, s.offset + s.length));
      paths.push(p);
    }
    let restored;
    try {
      restored = await restoreSnapshotFiles(paths, { createVm: (h) => new Machine({ memory: h.ramBytes }) });
    } catch (e) {
      if (isStreamRefusal(e)) return refused(e);
      throw e;
    }
    return runGuest(restored.vm as Machine, ctx.maxInstructions);
  },
};

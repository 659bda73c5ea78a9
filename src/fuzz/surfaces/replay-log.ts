/**
 * Replay logs, as `deno task replay F --max-memory 64M` reads them: the whole log checked
 * (`readLog`), then replayed against its guest to the end or the first divergence (a divergence is
 * a clean end: the command reports it).
 *
 * @module
 */

import { crc32c } from "../../migration/crc32c.ts";
import { LOG_RECORD_END, LogError, readLog } from "../../replay/log.ts";
import { Replayer } from "../../replay/replayer.ts";
import { logCorpus } from "../corpus.ts";
import { recordFields, resealRecords, walkRecords } from "../framing.ts";
import type { CaseOutcome, Field, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";

let elf: Uint8Array = new Uint8Array(0);

/** The replay's `--max-memory`: the corpus logs are for 8 MiB; a replay of more RAM takes time in proportion. */
const MAX_MEMORY = 64 << 20;

function headerBytes(b: Uint8Array): number {
  if (b.length < 12) return b.length;
  return Math.min(b.length, Math.max(80, new DataView(b.buffer, b.byteOffset).getUint32(8, true)));
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "replay-log",
  description: "replay logs: read and check the whole log, then replay it against its guest",
  corpus() {
    const c = logCorpus();
    elf = c.elf;
    return Promise.resolve(c.logs);
  },
  structure(b) {
    const fields: Field[] = [];
    if (b.length >= 80) {
      fields.push(
        { offset: 0, size: 4, kind: "magic" },
        { offset: 4, size: 2, kind: "version" },
        { offset: 6, size: 2, kind: "version" },
        { offset: 8, size: 4, kind: "length" },
        { offset: 12, size: 4, kind: "flags" },
        { offset: 48, size: 8, kind: "size" },
        { offset: 56, size: 8, kind: "count" },
        { offset: 64, size: 4, kind: "count" },
        { offset: 68, size: 4, kind: "length" },
        { offset: 72, size: 2, kind: "length" },
        { offset: 74, size: 2, kind: "length" },
        { offset: headerBytes(b) - 4, size: 4, kind: "crc" },
      );
    }
    const records = walkRecords(b, headerBytes(b));
    fields.push(...recordFields(records));
    for (const r of records) {
      // the first words of each payload: counts, instruction counts, kinds and lengths
      for (let o = 16; o + 4 <= r.length && o < 16 + 56; o += 4) {
        fields.push({ offset: r.offset + o, size: 4, kind: o === 16 ? "count" : "value" });
      }
    }
    return { fields, records };
  },
  reseal(input) {
    const b = input.slice();
    const hdr = headerBytes(b);
    if (hdr >= 80 && hdr <= b.length) {
      new DataView(b.buffer).setUint32(hdr - 4, crc32c(b.subarray(0, hdr - 4)), true);
    }
    const records = walkRecords(b, hdr);
    const v = new DataView(b.buffer);
    records.forEach((r, i) => {
      // the end record counts the records before it
      if (v.getUint16(r.offset, true) === LOG_RECORD_END && r.length >= 32) {
        v.setUint32(r.offset + 28, i, true);
      }
    });
    resealRecords(b, records, 0, true);
    return b;
  },
  run(input): Promise<CaseOutcome> {
    try {
      const r = new Replayer(readLog(input), elf, { maxMemory: MAX_MEMORY }).run();
      return Promise.resolve(
        r.ok
          ? { result: "accepted", detail: "replayed to the end" }
          : { result: "refused", detail: `diverged: ${r.divergence!.report.split("\n")[0]}` },
      );
    } catch (e) {
      if (e instanceof LogError) return Promise.resolve(refused(e));
      throw e;
    }
  },
};

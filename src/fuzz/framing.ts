/**
 * The record framing shared by the migration stream and the replay log, as the fuzzer sees it:
 * a 16-byte header `type u16, flags u16, length u32, index u32, crc u32` then `length` payload
 * bytes (then a `tag`-byte tag in an authenticated stream); the CRC-32C covers the first 12
 * header bytes and the payload. Lenient: walks as far as the bytes allow.
 *
 * @module
 */

import { crc32c } from "../migration/crc32c.ts";
import type { Field, Span } from "./surface.ts";

/** Size of a record header. */
const RECORD_HEADER = 16;

/** Records from `start` on, each `tag` bytes longer than header and payload; stops at damage. */
export function walkRecords(b: Uint8Array, start: number, tag = 0): Span[] {
  const out: Span[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let o = start;
  while (o + RECORD_HEADER <= b.length && out.length < 100_000) {
    const len = v.getUint32(o + 4, true);
    const total = RECORD_HEADER + len + tag;
    if (o + total > b.length) break;
    out.push({ offset: o, length: total });
    o += total;
  }
  return out;
}

/** The header fields of each record. */
export function recordFields(records: Span[]): Field[] {
  const out: Field[] = [];
  for (const r of records) {
    out.push(
      { offset: r.offset, size: 2, kind: "type" },
      { offset: r.offset + 2, size: 2, kind: "flags" },
      { offset: r.offset + 4, size: 4, kind: "length" },
      { offset: r.offset + 8, size: 4, kind: "index" },
      { offset: r.offset + 12, size: 4, kind: "crc" },
    );
  }
  return out;
}

/** Recompute every whole record's CRC in place, and with `renumber` its index (its position). */
export function resealRecords(b: Uint8Array, records: Span[], tag: number, renumber: boolean): void {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  records.forEach((r, i) => {
    if (renumber) v.setUint32(r.offset + 8, i, true);
    const len = r.length - RECORD_HEADER - tag;
    const payload = b.subarray(r.offset + RECORD_HEADER, r.offset + RECORD_HEADER + len);
    v.setUint32(r.offset + 12, crc32c(payload, crc32c(b.subarray(r.offset, r.offset + 12))), true);
  });
}

/**
 * Where the fields and records of a migration stream or snapshot lie (see
 * `src/migration/stream.ts` for the format), and how to make a mutated one consistent again as a
 * writer without the key could: header CRC, record CRCs and indexes, the end record's counts.
 *
 * @module
 */

import { crc32c } from "../migration/crc32c.ts";
import {
  RECORD_END,
  RECORD_RAM_PAGES,
  RECORD_ROUND,
  RECORD_STATE_SECTION,
  RECORD_VERIFY_PAGES,
  STREAM_FLAG_AUTHENTICATED,
} from "../migration/stream.ts";
import { recordFields, resealRecords, walkRecords } from "./framing.ts";
import type { Field, Span, Structure } from "./surface.ts";

const TAG = 32;

function layout(b: Uint8Array): { start: number; tag: number } {
  if (b.length < 32) return { start: b.length, tag: 0 };
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const hdr = Math.max(32, v.getUint16(8, true));
  const tag = (v.getUint32(24, true) & STREAM_FLAG_AUTHENTICATED) !== 0 ? TAG : 0;
  return { start: Math.min(b.length, hdr + tag), tag };
}

/** The stream's header fields, its records, their header fields and the payload fields that count. */
export function streamStructure(b: Uint8Array): Structure {
  const fields: Field[] = [];
  if (b.length >= 32) {
    fields.push(
      { offset: 0, size: 4, kind: "magic" },
      { offset: 4, size: 2, kind: "version" },
      { offset: 6, size: 2, kind: "version" },
      { offset: 8, size: 2, kind: "length" },
      { offset: 10, size: 2, kind: "value" },
      { offset: 12, size: 4, kind: "size" },
      { offset: 16, size: 8, kind: "size" },
      { offset: 24, size: 4, kind: "flags" },
      { offset: 28, size: 4, kind: "crc" },
    );
  }
  const { start, tag } = layout(b);
  const records = walkRecords(b, start, tag);
  fields.push(...recordFields(records));
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (const r of records) {
    const p = r.offset + 16;
    const len = r.length - 16 - tag;
    const type = v.getUint16(r.offset, true);
    if ((type === RECORD_RAM_PAGES || type === RECORD_VERIFY_PAGES) && len >= 4) {
      fields.push({ offset: p, size: 4, kind: "count" });
      const count = Math.min(v.getUint32(p, true), (len - 4) >>> 2, 4);
      for (let i = 0; i < count; i++) fields.push({ offset: p + 4 + 4 * i, size: 4, kind: "address" });
    } else if (type === RECORD_STATE_SECTION && len >= 8) {
      fields.push({ offset: p, size: 4, kind: "version" }, { offset: p + 4, size: 2, kind: "length" });
      const data = p + 8 + Math.min(v.getUint16(p + 4, true), len - 8);
      if (b[data] === 0x7b) {
        // JSON ({...}): the characters of its numbers and literals, whose meaning a character changes
        for (let o = data; o < r.offset + 16 + len; o++) {
          const c = b[o];
          if (
            (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e || c === 0x22
          ) {
            fields.push({ offset: o, size: 1, kind: "text" });
          }
        }
      } else {
        // a few words of the section's data: registers, VMCS fields, device registers
        for (let i = 0; i < 4 && len > 16; i++) {
          fields.push({ offset: p + 8 + ((i * 2654435761) >>> 0) % (len - 16), size: 8, kind: "value" });
        }
      }
    } else if (type === RECORD_ROUND && len >= 8) {
      fields.push({ offset: p, size: 4, kind: "count" }, { offset: p + 4, size: 4, kind: "count" });
    } else if (type === RECORD_END && len >= 16) {
      fields.push(
        { offset: p, size: 4, kind: "count" },
        { offset: p + 4, size: 8, kind: "count" },
        { offset: p + 12, size: 4, kind: "count" },
      );
    }
  }
  return { fields, records };
}

/** Header CRC, record indexes and CRCs, and the end record's counts made right (HMAC tags are not). */
export function resealStream(input: Uint8Array): Uint8Array {
  const b = input.slice();
  if (b.length < 32) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const hdr = v.getUint16(8, true);
  if (hdr >= 32 && hdr <= b.length) {
    v.setUint32(28, crc32c(b.subarray(32, hdr), crc32c(b.subarray(0, 28))), true);
  }
  const { start, tag } = layout(b);
  const records: Span[] = walkRecords(b, start, tag);
  let pages = 0, sections = 0;
  records.forEach((r, i) => {
    const type = v.getUint16(r.offset, true);
    const len = r.length - 16 - tag;
    if ((type === RECORD_RAM_PAGES || type === RECORD_VERIFY_PAGES) && len >= 4) {
      pages += v.getUint32(r.offset + 16, true);
    }
    if (type === RECORD_STATE_SECTION) sections++;
    if (type === RECORD_END && len === 16) {
      v.setUint32(r.offset + 16, i, true);
      v.setBigUint64(r.offset + 20, BigInt(pages), true);
      v.setUint32(r.offset + 28, sections, true);
    }
  });
  resealRecords(b, records, tag, true);
  return b;
}

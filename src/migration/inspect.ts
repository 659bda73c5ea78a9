/**
 * Print a migration stream or snapshot record by record: the header, then each record's index,
 * offset, type, length, CRC status (and tag status with a key) and a summary of its contents.
 * Damaged records are reported and reading goes on while the record structure allows.
 *
 * @module
 */

import type { ByteSource } from "./byte_io.ts";
import { toSource } from "./byte_io.ts";
import type { StreamHeader } from "./stream.ts";
import {
  decodeEnd,
  decodeRound,
  decodeSection,
  formatBytes,
  PAGE_DESC_PFN_MASK,
  PAGE_DESC_ZERO,
  RECORD_END,
  RECORD_RAM_PAGES,
  RECORD_ROUND,
  RECORD_STATE_SECTION,
  RECORD_VERIFY_PAGES,
  recordTypeName,
  STREAM_FLAG_AUTHENTICATED,
  STREAM_FLAG_DIFF,
  STREAM_FLAG_SNAPSHOT,
  StreamReader,
} from "./stream.ts";

/** Options of {@link inspectStream}. */
export interface InspectOptions {
  /** Verify tags with this key (without it, an authenticated stream's tags are not checked). */
  key?: CryptoKey;
  /** Where lines go (default console.log). */
  write?: (line: string) => void;
  /** Print only the header and the summary. */
  summaryOnly?: boolean;
}

/** What {@link inspectStream} found. */
export interface InspectSummary {
  /** No problem found (all CRCs and tags good, end record present and consistent). */
  ok: boolean;
  /** The header, if it could be read. */
  header?: StreamHeader;
  /** Records read. */
  records: number;
  /** Bytes read. */
  bytes: number;
  /** Page descriptors, and how many were zero pages. */
  pages: number;
  /** Zero pages among them. */
  zeroPages: number;
  /** Round records. */
  rounds: number;
  /** State sections: name, version, bytes. */
  sections: { name: string; version: number; bytes: number }[];
  /** Problems, one line each. */
  problems: string[];
}

function flagNames(flags: number): string {
  const n: string[] = [];
  if (flags & STREAM_FLAG_AUTHENTICATED) n.push("authenticated");
  if (flags & STREAM_FLAG_SNAPSHOT) n.push("snapshot");
  if (flags & STREAM_FLAG_DIFF) n.push("diff");
  return n.length ? n.join(", ") : "none";
}

function pageRanges(pfns: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pfns.length;) {
    let j = i;
    while (j + 1 < pfns.length && pfns[j + 1] === pfns[j] + 1) j++;
    parts.push(i === j ? `${pfns[i]}` : `${pfns[i]}-${pfns[j]}`);
    i = j + 1;
  }
  return parts.length > 4 ? `${parts.slice(0, 4).join(",")},... (${parts.length} runs)` : parts.join(",");
}

/** Read a whole stream or snapshot and print it; never throws for a bad stream (see `problems`). */
export async function inspectStream(
  input: ByteSource | ReadableStream<Uint8Array> | Uint8Array,
  opts: InspectOptions = {},
): Promise<InspectSummary> {
  const out = opts.write ?? ((l: string) => console.log(l));
  const s: InspectSummary = {
    ok: false,
    records: 0,
    bytes: 0,
    pages: 0,
    zeroPages: 0,
    rounds: 0,
    sections: [],
    problems: [],
  };
  let reader: StreamReader;
  const src = toSource(input);
  try {
    reader = await StreamReader.open(src, { key: opts.key, lenient: true });
  } catch (e) {
    s.problems.push((e as Error).message);
    out(`error: ${(e as Error).message}`);
    return s;
  }
  const h = reader.header;
  s.header = h;
  out(
    `HVSM stream version ${h.major}.${h.minor}, page size ${h.pageSize}, RAM ${formatBytes(h.ramBytes)} ` +
      `(${h.ramBytes} bytes), flags: ${flagNames(h.flags)}`,
  );
  if (reader.authenticated && !opts.key) out("note: authenticated stream; tags not checked (no key given)");
  if (reader.headerMacOk === false) {
    s.problems.push("header authentication failed: wrong key or altered header");
    out("error: header authentication failed: wrong key or altered header");
  }
  let endSeen = false;
  for (;;) {
    let rec;
    try {
      rec = await reader.next();
    } catch (e) {
      s.problems.push((e as Error).message);
      out(`error: ${(e as Error).message}`);
      break;
    }
    if (rec === null) break;
    s.records++;
    let summary = "";
    try {
      switch (rec.type) {
        case RECORD_RAM_PAGES:
        case RECORD_VERIFY_PAGES: {
          const p = rec.payload;
          const v = new DataView(p.buffer, p.byteOffset, p.length);
          const count = p.length >= 4 ? v.getUint32(0, true) : 0;
          const pfns: number[] = [];
          let zero = 0;
          for (let i = 0; i < count && 8 + 4 * i <= p.length; i++) {
            const d = v.getUint32(4 + 4 * i, true);
            pfns.push(d & PAGE_DESC_PFN_MASK);
            if (d & PAGE_DESC_ZERO) zero++;
          }
          s.pages += count;
          s.zeroPages += zero;
          summary = `${count} pages (${zero} zero) ${pageRanges(pfns)}`;
          break;
        }
        case RECORD_STATE_SECTION: {
          const sec = decodeSection(rec);
          s.sections.push({ name: sec.name, version: sec.version, bytes: sec.data.length });
          summary = `"${sec.name}" version ${sec.version}, ${sec.data.length} bytes`;
          break;
        }
        case RECORD_ROUND: {
          const r = decodeRound(rec);
          s.rounds++;
          summary = `round ${r.round}: ${r.pages} pages`;
          break;
        }
        case RECORD_END: {
          const e = decodeEnd(rec);
          endSeen = true;
          summary = `announces ${e.records} records, ${e.pages} pages, ${e.sections} sections`;
          if (e.records !== rec.index || e.pages !== s.pages || e.sections !== s.sections.length) {
            const msg =
              `end record does not match: read ${rec.index} records, ${s.pages} pages, ${s.sections.length} sections`;
            s.problems.push(msg);
            summary += ` -- MISMATCH: ${msg}`;
          }
          break;
        }
        default:
          summary = "(unknown type, skipped)";
      }
    } catch (e) {
      summary = `undecodable: ${(e as Error).message}`;
      s.problems.push(summary);
    }
    const crc = rec.crcOk
      ? "crc ok "
      : `crc BAD (stored 0x${rec.crcStored.toString(16)}, computed 0x${rec.crcComputed.toString(16)})`;
    const mac = rec.macOk === undefined ? "" : rec.macOk ? " mac ok" : " mac BAD";
    if (!rec.crcOk) {
      s.problems.push(
        `record ${rec.index} (${recordTypeName(rec.type)}) at offset ${rec.offset}: CRC32C mismatch`,
      );
    }
    if (rec.seq !== rec.index) {
      s.problems.push(
        `record ${rec.index} at offset ${rec.offset} carries index ${rec.seq}: records dropped or reordered`,
      );
    }
    if (rec.macOk === false) {
      s.problems.push(`record ${rec.index} at offset ${rec.offset}: authentication failed`);
    }
    if (!opts.summaryOnly || !rec.crcOk || rec.macOk === false) {
      out(
        `#${String(rec.index).padEnd(6)} @${String(rec.offset).padEnd(10)} ${
          recordTypeName(rec.type).padEnd(13)
        } ` +
          `len ${String(rec.payload.length).padEnd(8)} ${crc}${mac}  ${summary}`,
      );
    }
  }
  s.bytes = reader.offset;
  if (endSeen && !(await src.atEnd())) {
    s.problems.push(`unexpected bytes after the end record at offset ${reader.offset}`);
  }
  s.ok = endSeen && s.problems.length === 0;
  out(
    `${
      s.ok ? "OK" : "DAMAGED"
    }: ${s.records} records, ${s.bytes} bytes, ${s.rounds} rounds, ${s.pages} pages ` +
      `(${s.zeroPages} zero), ${s.sections.length} sections${
        s.problems.length ? `, ${s.problems.length} problems` : ""
      }`,
  );
  return s;
}

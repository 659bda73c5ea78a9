/**
 * Encoding and decoding of ram-pages records: batches of guest pages, zero pages as a flag only.
 *
 * The sender reads each page into one reused scratch page, checks it for zero a word at a time,
 * and copies non-zero pages straight into the record buffer: no allocation per page.
 *
 * @module
 */

import type { StreamRecord, StreamWriter } from "./stream.ts";
import {
  MAX_PAGES_PER_RECORD,
  PAGE_DESC_PFN_MASK,
  PAGE_DESC_ZERO,
  RECORD_RAM_PAGES,
  recordTypeName,
  StreamError,
} from "./stream.ts";
import type { MigratableVm } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Default pages per ram-pages record (256 KiB of data). */
export const DEFAULT_PAGES_PER_RECORD = 64;

/** Whether a page (4096 bytes, viewed as 1024 words) is all zero. */
export function isZeroPage(words: Uint32Array): boolean {
  const n = words.length & ~7;
  let i = 0;
  for (; i < n; i += 8) {
    if (
      (words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] |
        words[i + 7]) !== 0
    ) return false;
  }
  for (; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Counts of what one {@link PageSender.sendRecord} call put on the wire. */
export interface RecordCounts {
  /** Non-zero pages sent with data. */
  normal: number;
  /** Zero pages sent as a flag. */
  zero: number;
  /** Bytes of the record on the wire. */
  bytes: number;
}

/** Reads pages from a VM and writes them as ram-pages records. */
export class PageSender {
  /** Maximum pages in one record. */
  readonly pagesPerRecord: number;
  #writer: StreamWriter;
  #vm: MigratableVm;
  #scratch = new Uint8Array(PAGE_SIZE);
  #scratchWords = new Uint32Array(this.#scratch.buffer);
  #counts: RecordCounts = { normal: 0, zero: 0, bytes: 0 };

  /** Send pages of `vm` through `writer`, `pagesPerRecord` at most per record. */
  constructor(writer: StreamWriter, vm: MigratableVm, pagesPerRecord = DEFAULT_PAGES_PER_RECORD) {
    if (!Number.isInteger(pagesPerRecord) || pagesPerRecord < 1 || pagesPerRecord > MAX_PAGES_PER_RECORD) {
      throw new RangeError(
        `pagesPerRecord is ${pagesPerRecord}: expected an integer 1..${MAX_PAGES_PER_RECORD}`,
      );
    }
    this.pagesPerRecord = pagesPerRecord;
    this.#writer = writer;
    this.#vm = vm;
  }

  /**
   * Send pages `pfns[start..start+count)` (count <= pagesPerRecord) as one record of `type`
   * (ram-pages, or verify-pages). The returned object is reused by the next call.
   */
  async sendRecord(
    pfns: Uint32Array,
    start: number,
    count: number,
    type = RECORD_RAM_PAGES,
  ): Promise<RecordCounts> {
    const max = 4 + 4 * count + PAGE_SIZE * count;
    const rec = this.#writer.allocRecord(max);
    const view = rec.view;
    const payload = rec.payload;
    view.setUint32(0, count, true);
    let data = 4 + 4 * count;
    let zero = 0;
    const scratch = this.#scratch;
    const words = this.#scratchWords;
    const vm = this.#vm;
    for (let i = 0; i < count; i++) {
      const pfn = pfns[start + i];
      vm.readPage(pfn, scratch);
      if (isZeroPage(words)) {
        view.setUint32(4 + 4 * i, (pfn | PAGE_DESC_ZERO) >>> 0, true);
        zero++;
      } else {
        view.setUint32(4 + 4 * i, pfn, true);
        payload.set(scratch, data);
        data += PAGE_SIZE;
      }
    }
    await this.#writer.commit(rec, type, data);
    this.#writer.pageDescriptors += count;
    const c = this.#counts;
    c.normal = count - zero;
    c.zero = zero;
    c.bytes = this.#writer.recordBytes(data);
    return c;
  }
}

/** Receives the pages of a ram-pages record. */
export interface PageVisitor {
  /** Page `pfn` is all zero. */
  zero(pfn: number): void;
  /** Page `pfn` holds the 4096 bytes at `payload[offset..offset+4096)`. */
  data(pfn: number, payload: Uint8Array, offset: number): void;
}

/**
 * Decode a ram-pages (or verify-pages) record for a guest of `pages` pages, calling `visit` for each page.
 * Checks the layout first, so a bad record calls nothing. Returns the number of descriptors.
 */
export function decodeRamPages(rec: StreamRecord, pages: number, visit: PageVisitor): number {
  const p = rec.payload;
  const where = `record ${rec.index} (${recordTypeName(rec.type)}) at offset ${rec.offset}`;
  if (p.length < 4) throw new StreamError(`Bad ${where}: payload of ${p.length} bytes, expected at least 4`);
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const count = v.getUint32(0, true);
  if (count > MAX_PAGES_PER_RECORD) {
    throw new StreamError(
      `Bad ${where}: ${count} page descriptors, at most ${MAX_PAGES_PER_RECORD} per record`,
    );
  }
  if (4 + 4 * count > p.length) {
    throw new StreamError(`Bad ${where}: ${count} page descriptors do not fit its ${p.length}-byte payload`);
  }
  let normal = 0;
  for (let i = 0; i < count; i++) {
    const d = v.getUint32(4 + 4 * i, true);
    const pfn = d & PAGE_DESC_PFN_MASK;
    if (pfn >= pages) {
      throw new StreamError(`Bad ${where}: page ${pfn} lies outside the guest's ${pages} pages`);
    }
    if ((d & PAGE_DESC_ZERO) === 0) normal++;
  }
  const expected = 4 + 4 * count + PAGE_SIZE * normal;
  if (expected !== p.length) {
    throw new StreamError(
      `Bad ${where}: ${count} pages (${normal} with data) need ${expected} payload bytes, found ${p.length}`,
    );
  }
  let data = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const d = v.getUint32(4 + 4 * i, true);
    const pfn = d & PAGE_DESC_PFN_MASK;
    if ((d & PAGE_DESC_ZERO) !== 0) visit.zero(pfn);
    else {
      visit.data(pfn, p, data);
      data += PAGE_SIZE;
    }
  }
  return count;
}

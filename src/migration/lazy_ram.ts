/**
 * Lazy restore: guest RAM that loads itself from a verified snapshot file on first touch.
 *
 * Firecracker and Cloud Hypervisor resume a snapshot before its memory has been read: the memory file
 * is mapped, and pages fault in as the guest touches them. hvsim does the same one level up, without
 * giving up its check-everything-first rule. The restore still reads and verifies the whole file
 * (header, every record's CRC32C and layout, the end record, every page present) and notes where the
 * latest copy of each page lies; the VM then resumes with its RAM not yet loaded. The first access to
 * a page (a translation through EPT, a page read for a migration, a digest) loads the whole record
 * that holds it, after checking the record again against the CRC32C verified at restore, so a file
 * changed since is refused instead of run.
 *
 * @module
 */

import { crc32c } from "./crc32c.ts";
import type { PageVisitor } from "./ram_pages.ts";
import { decodeRamPages } from "./ram_pages.ts";
import type { StreamRecord } from "./stream.ts";
import { RECORD_HEADER_BYTES, RECORD_RAM_PAGES, StreamError } from "./stream.ts";
import type { LazyRam } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Page states, as in the receiver's staging: 0 not received, 1 zero, 2 data. */
const ZERO = 1;
const DATA = 2;

/** Synchronous positioned reads of the bytes a stream was read from (a snapshot file). */
export interface RandomAccessSource {
  /** What to call it in messages (the file's path). */
  readonly name: string;
  /** Fill all of `dst` with the bytes at `position`; throws when the source ends first. */
  readAt(position: number, dst: Uint8Array): void;
  /** Release the source (close the file). Idempotent. */
  close(): void;
}

/**
 * Positioned reads from an open file; {@link RandomAccessSource.close} closes it.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { fileRandomAccess } from "./lazy_ram.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3, 4, 5]));
 * const src = fileRandomAccess(await Deno.open(path), path);
 * const two = new Uint8Array(2);
 * src.readAt(3, two);
 * equal(two[0] * 10 + two[1], 45);
 * src.close();
 * await Deno.remove(path);
 * ```
 */
export function fileRandomAccess(file: Deno.FsFile, name: string): RandomAccessSource {
  let open = true;
  return {
    name,
    readAt(position: number, dst: Uint8Array): void {
      if (!open) throw new Error(`Cannot read ${name}: it was closed`);
      file.seekSync(position, Deno.SeekMode.Start);
      let n = 0;
      while (n < dst.length) {
        const k = file.readSync(dst.subarray(n));
        if (k === null) {
          throw new StreamError(`${name} ends at offset ${position + n}, inside bytes it had when verified`);
        }
        n += k;
      }
    },
    close(): void {
      if (open) {
        open = false;
        file.close();
      }
    },
  };
}

/**
 * Receiver-side index of a stream read for a lazy restore: for each page, whether it arrived and
 * where its latest copy is (record and offset in the payload); for each ram-pages record, where it
 * lies and the CRC32C it verified with. No page data is kept.
 */
export class LazyPageIndex implements PageVisitor {
  /** Pages in the guest. */
  readonly pages: number;
  /** Per page: 0 not received, 1 zero, 2 data. */
  readonly state: Uint8Array;
  #src: RandomAccessSource;
  /** Per page: index into the record tables of its latest copy, -1 for none (zero or not received). */
  #rec: Int32Array;
  /** Per page: byte offset of its data in that record's payload. */
  #off: Int32Array;
  /** Per ram-pages record: stream offset of its header, payload length, verified CRC, stream index. */
  #recOffset: number[] = [];
  #recLength: number[] = [];
  #recCrc: number[] = [];
  #recIndex: number[] = [];
  #scratch = new Uint8Array(0);

  /** Index a stream for a guest of `pages` pages whose bytes `src` can read again. */
  constructor(pages: number, src: RandomAccessSource) {
    this.pages = pages;
    this.state = new Uint8Array(pages);
    this.#src = src;
    this.#rec = new Int32Array(pages).fill(-1);
    this.#off = new Int32Array(pages);
  }

  /** The source the index reads pages back from. */
  get source(): RandomAccessSource {
    return this.#src;
  }

  /** Index the pages of a verified ram-pages record; returns its descriptor count. */
  addRecord(rec: StreamRecord): number {
    this.#recOffset.push(rec.offset);
    this.#recLength.push(rec.payload.length);
    this.#recCrc.push(rec.crcStored);
    this.#recIndex.push(rec.index);
    return decodeRamPages(rec, this.pages, this);
  }

  /** Page `pfn` arrived as a zero page. */
  zero(pfn: number): void {
    this.state[pfn] = ZERO;
    this.#rec[pfn] = -1;
  }

  /** Page `pfn` arrived in the record being added, at `offset` in its payload. */
  data(pfn: number, _payload: Uint8Array, offset: number): void {
    this.state[pfn] = DATA;
    this.#rec[pfn] = this.#recOffset.length - 1;
    this.#off[pfn] = offset;
  }

  /** Whether page `pfn` as received equals `payload[offset..+4096)` (null: a zero page). */
  matches(pfn: number, payload: Uint8Array | null, offset: number): boolean {
    if (this.state[pfn] !== DATA) return payload === null;
    const rec = this.readRecord(this.#rec[pfn], pfn);
    const o = this.#off[pfn];
    for (let i = 0; i < PAGE_SIZE; i++) {
      if (rec.payload[o + i] !== (payload === null ? 0 : payload[offset + i])) return false;
    }
    return true;
  }

  /**
   * Record `r` read back and checked against the CRC it verified with. The payload view is valid
   * until the next call. `pfn` names the page that needed it, for the message.
   */
  readRecord(r: number, pfn: number): StreamRecord {
    const length = this.#recLength[r];
    const offset = this.#recOffset[r];
    const total = RECORD_HEADER_BYTES + length;
    if (this.#scratch.length < total) this.#scratch = new Uint8Array(total);
    const buf = this.#scratch.subarray(0, total);
    this.#src.readAt(offset, buf);
    const payload = buf.subarray(RECORD_HEADER_BYTES);
    const crc = crc32c(payload, crc32c(buf.subarray(0, 12)));
    const index = this.#recIndex[r];
    if (crc !== this.#recCrc[r] || new DataView(buf.buffer, buf.byteOffset).getUint32(4, true) !== length) {
      throw new StreamError(
        `${this.#src.name} changed after it was verified: record ${index} at offset ${offset} ` +
          `(holding page ${pfn}) no longer matches its CRC32C; the guest is stopped instead of run on it`,
      );
    }
    return {
      index,
      seq: index,
      type: RECORD_RAM_PAGES,
      flags: 0,
      offset,
      payload,
      crcOk: true,
      crcStored: crc,
      crcComputed: crc,
    };
  }

  /** Record number and payload offset of page `pfn`'s latest data (record -1: none). */
  location(pfn: number): [number, number] {
    return [this.#rec[pfn], this.#off[pfn]];
  }
}

/**
 * RAM of a lazily restored VM: the pages still to load from the snapshot file, and how to load them.
 * The file stays open until every page is loaded (or discarded), or {@link FileLazyRam.close}.
 */
export class FileLazyRam implements LazyRam {
  /** Per page: 1 until the page has been loaded or overwritten. */
  readonly missing: Uint8Array;
  /** Records read back so far (statistics). */
  recordsLoaded = 0;
  #index: LazyPageIndex;
  #remaining = 0;
  #failure: Error | null = null;
  #closed = false;

  /** The lazy RAM of a verified stream indexed by `index`. */
  constructor(index: LazyPageIndex) {
    this.#index = index;
    this.missing = new Uint8Array(index.pages);
    for (let p = 0; p < index.pages; p++) {
      if (index.state[p] === DATA) {
        this.missing[p] = 1;
        this.#remaining++;
      }
    }
    if (this.#remaining === 0) this.close();
  }

  /** Pages not loaded yet. */
  get remaining(): number {
    return this.#remaining;
  }

  /** Load page `pfn`, and every other missing page of the record that holds it, into `ram`. */
  load(pfn: number, ram: Uint8Array): void {
    if (this.missing[pfn] === 0) return;
    if (this.#failure !== null) throw this.#failure;
    if (this.#closed) {
      throw new Error(`Cannot load guest page ${pfn}: the lazy restore's snapshot file was closed first`);
    }
    const index = this.#index;
    const [r] = index.location(pfn);
    let rec: StreamRecord;
    try {
      rec = index.readRecord(r, pfn);
    } catch (e) {
      this.#failure = e as Error;
      this.close();
      throw e;
    }
    this.recordsLoaded++;
    const missing = this.missing;
    const payload = rec.payload;
    decodeRamPages(rec, index.pages, {
      zero() {},
      data: (q, _p, offset) => {
        if (missing[q] === 0) return;
        const [qr, qo] = index.location(q);
        if (qr !== r || qo !== offset) return; // a later record holds this page's latest copy
        ram.set(payload.subarray(offset, offset + PAGE_SIZE), q * PAGE_SIZE);
        missing[q] = 0;
        this.#remaining--;
      },
    });
    if (this.#remaining === 0) this.close();
  }

  /** Page `pfn` is being overwritten whole: never load it. */
  discard(pfn: number): void {
    if (this.missing[pfn] === 0) return;
    this.missing[pfn] = 0;
    if (--this.#remaining === 0) this.close();
  }

  /** Load every page still missing into `ram`; the file is closed afterwards. */
  loadAll(ram: Uint8Array): void {
    const missing = this.missing;
    for (let p = 0; p < missing.length && this.#remaining > 0; p++) if (missing[p] !== 0) this.load(p, ram);
  }

  /** Close the snapshot file; pages not loaded by then can no longer be loaded. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#index.source.close();
  }
}

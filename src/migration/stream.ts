/**
 * The hvsim migration stream and snapshot format (version 1.0).
 *
 * Little-endian throughout. A 32-byte header, readable on its own:
 *
 * | offset | size | field                                                        |
 * |-------:|-----:|--------------------------------------------------------------|
 * | 0      | 4    | magic "HVSM"                                                 |
 * | 4      | 2    | major version (a reader accepts only its own major)          |
 * | 6      | 2    | minor version (compatible additions)                         |
 * | 8      | 2    | header length in bytes (32 in 1.0; a reader skips any extra) |
 * | 10     | 2    | reserved, 0                                                  |
 * | 12     | 4    | page size (4096)                                             |
 * | 16     | 8    | guest RAM size in bytes                                      |
 * | 24     | 4    | flags: 1 authenticated, 2 snapshot, 4 diff snapshot          |
 * | 28     | 4    | CRC-32C of bytes 0..27 (and of any extra header bytes)       |
 *
 * With the authenticated flag, a 32-byte HMAC-SHA256 tag of the header follows it. Then records,
 * each a 16-byte record header `type u16, flags u16, length u32, index u32, crc u32` and `length`
 * payload bytes; the CRC-32C covers the first 12 header bytes and the payload; `index` counts
 * records from 0. In an authenticated stream every record is followed by
 * `HMAC-SHA256(key, previous tag || record header || payload)`, so records cannot be altered,
 * dropped, reordered or spliced in from another stream. The last record is `end`.
 *
 * Record payloads:
 * - ram-pages: `count u32`, `count` descriptors `u32` (bits 0-30 page number, bit 31 zero page),
 *   then 4096 bytes for each descriptor without the zero bit, in order.
 * - state-section: `version u32, name length u16, 0 u16`, UTF-8 name, then the section data.
 * - round: `round u32, pages u32` (pre-copy round number and the pages it is about to send).
 * - end: `records u32` (records before this one), `pages u64` (page descriptors sent, in
 *   ram-pages and verify-pages records), `sections u32`.
 * - verify-pages (optional use, mandatory type): as ram-pages; the final content of pages, which
 *   the destination compares with what it received.
 *
 * Unknown record types are refused unless their flags carry {@link RECORD_FLAG_OPTIONAL}.
 *
 * @module
 */

import type { ByteSink, ByteSource } from "./byte_io.ts";
import { toSource } from "./byte_io.ts";
import { crc32c } from "./crc32c.ts";
import { PAGE_SIZE } from "./vm_interface.ts";
import type { StateSection } from "./vm_interface.ts";

/** Stream magic, "HVSM" read as a little-endian u32. */
export const STREAM_MAGIC = 0x4d535648;
/** Major version written; a reader refuses any other major. */
export const STREAM_VERSION_MAJOR = 1;
/** Minor version written. */
export const STREAM_VERSION_MINOR = 0;
/** Size of the 1.0 stream header. */
export const STREAM_HEADER_BYTES = 32;
/** Size of a record header. */
export const RECORD_HEADER_BYTES = 16;
/** Size of an HMAC-SHA256 tag. */
export const MAC_BYTES = 32;
/** Largest guest RAM the format describes: page numbers are 31 bits (8 TiB). */
export const MAX_RAM_BYTES = 2 ** 31 * 4096;
/** Largest record payload a reader accepts (64 MiB). */
export const MAX_RECORD_PAYLOAD = 64 << 20;
/** Most page descriptors in one ram-pages or verify-pages record (32 MiB of data). */
export const MAX_PAGES_PER_RECORD = 8192;
/** Largest state section data a reader accepts (1 MiB; hvsim's largest, the VMCS region, is 4 KiB). */
export const MAX_STATE_SECTION_BYTES = 1 << 20;
/** Most state sections in one stream. */
export const MAX_STATE_SECTIONS = 64;

/**
 * The largest record payload a stream for `ramBytes` of RAM can need: a ram-pages record of
 * {@link MAX_PAGES_PER_RECORD} pages (fewer for a smaller guest, each at most once) or a state
 * section of {@link MAX_STATE_SECTION_BYTES} with a 255-byte name, whichever is larger. A reader
 * refuses a longer record before it reads (or allocates) its payload.
 */
export function recordPayloadLimit(ramBytes: number): number {
  const pages = Math.min(MAX_PAGES_PER_RECORD, Math.ceil(ramBytes / PAGE_SIZE));
  return Math.min(
    MAX_RECORD_PAYLOAD,
    Math.max(4 + pages * (4 + PAGE_SIZE), 8 + 255 + MAX_STATE_SECTION_BYTES),
  );
}

/** Header flag: every record carries an HMAC-SHA256 tag. */
export const STREAM_FLAG_AUTHENTICATED = 1;
/** Header flag: a snapshot of a stopped VM (no pre-copy rounds). */
export const STREAM_FLAG_SNAPSHOT = 2;
/** Header flag: a diff snapshot (only pages written since the previous snapshot). */
export const STREAM_FLAG_DIFF = 4;
/** Every header flag this version knows. */
export const STREAM_FLAGS_KNOWN = 7;

/** Record type: a batch of guest pages. */
export const RECORD_RAM_PAGES = 1;
/** Record type: one versioned state section. */
export const RECORD_STATE_SECTION = 2;
/** Record type: start of a pre-copy round. */
export const RECORD_ROUND = 3;
/** Record type: end of stream. */
export const RECORD_END = 4;
/**
 * Record type: the final content of guest pages, same layout as ram-pages, sent after the state
 * sections when the source asks for verification (Xen's VERIFY); the destination compares what it
 * received with it and refuses the stream on any difference.
 */
export const RECORD_VERIFY_PAGES = 5;
/** Record flag: a reader that does not know the type may skip the record. */
export const RECORD_FLAG_OPTIONAL = 1;
/** Page descriptor bit: the page is all zero and no data follows for it. */
export const PAGE_DESC_ZERO = 0x80000000;
/** Page descriptor mask of the page number. */
export const PAGE_DESC_PFN_MASK = 0x7fffffff;
/** Size of the end record's payload. */
export const END_PAYLOAD_BYTES = 16;

/** Human name of a record type, for messages and `inspect`. */
export function recordTypeName(type: number): string {
  switch (type) {
    case RECORD_RAM_PAGES:
      return "ram-pages";
    case RECORD_STATE_SECTION:
      return "state-section";
    case RECORD_ROUND:
      return "round";
    case RECORD_END:
      return "end";
    case RECORD_VERIFY_PAGES:
      return "verify-pages";
    default:
      return `unknown-type-${type}`;
  }
}

/** A malformed, foreign, damaged or unauthenticated stream. */
export class StreamError extends Error {
  /** Create with one line saying what is wrong and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "StreamError";
  }
}

/** The decoded stream header. */
export interface StreamHeader {
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** Header length in bytes (without the tag). */
  headerBytes: number;
  /** Page size (4096). */
  pageSize: number;
  /** Guest RAM size in bytes. */
  ramBytes: number;
  /** Header flags (STREAM_FLAG_*). */
  flags: number;
}

/** Encode a version-1.0 header for `ramBytes` of RAM with `flags`. */
export function encodeHeader(ramBytes: number, flags: number): Uint8Array {
  if (
    !Number.isSafeInteger(ramBytes) || ramBytes < 0 || ramBytes % PAGE_SIZE !== 0 || ramBytes > MAX_RAM_BYTES
  ) {
    throw new RangeError(
      `Cannot write a stream for ${ramBytes} bytes of RAM: expected a multiple of 4096 up to 8 TiB`,
    );
  }
  const b = new Uint8Array(STREAM_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, STREAM_MAGIC, true);
  v.setUint16(4, STREAM_VERSION_MAJOR, true);
  v.setUint16(6, STREAM_VERSION_MINOR, true);
  v.setUint16(8, STREAM_HEADER_BYTES, true);
  v.setUint32(12, PAGE_SIZE, true);
  v.setBigUint64(16, BigInt(ramBytes), true);
  v.setUint32(24, flags >>> 0, true);
  v.setUint32(28, crc32c(b.subarray(0, 28)), true);
  return b;
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/** Format a byte count as MiB/KiB/bytes for messages. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * Read and check the stream header (magic, major version, header CRC, page size). Does not read the
 * authentication tag.
 */
export async function readHeader(src: ByteSource): Promise<{ header: StreamHeader; bytes: Uint8Array }> {
  const first = (await src.read(STREAM_HEADER_BYTES)).slice();
  if (first.length === 0) throw new StreamError("Empty stream: expected a 32-byte HVSM header");
  if (first.length < 8) {
    throw new StreamError(`Stream truncated in its header: ${first.length} of 32 bytes`);
  }
  const v = new DataView(first.buffer, first.byteOffset, first.length);
  const magic = v.getUint32(0, true);
  if (magic !== STREAM_MAGIC) {
    const seen = [...first.subarray(0, 4)].map((c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : "?"))
      .join(
        "",
      );
    throw new StreamError(`Not an hvsim migration stream: magic is "${seen}", expected "HVSM"`);
  }
  const major = v.getUint16(4, true);
  const minor = v.getUint16(6, true);
  if (major !== STREAM_VERSION_MAJOR) {
    throw new StreamError(
      `Stream version ${major}.${minor} is not supported: this reader (version ${STREAM_VERSION_MAJOR}.${STREAM_VERSION_MINOR}) accepts major version ${STREAM_VERSION_MAJOR} only`,
    );
  }
  if (first.length < STREAM_HEADER_BYTES) {
    throw new StreamError(`Stream truncated in its header: ${first.length} of 32 bytes`);
  }
  const headerBytes = v.getUint16(8, true);
  if (headerBytes < STREAM_HEADER_BYTES || headerBytes > 4096) {
    throw new StreamError(`Stream header length ${headerBytes} is invalid: expected 32..4096`);
  }
  let bytes = first;
  if (headerBytes > STREAM_HEADER_BYTES) {
    const extra = await src.read(headerBytes - STREAM_HEADER_BYTES);
    if (extra.length < headerBytes - STREAM_HEADER_BYTES) {
      throw new StreamError(`Stream truncated in its header: ${32 + extra.length} of ${headerBytes} bytes`);
    }
    bytes = new Uint8Array(headerBytes);
    bytes.set(first);
    bytes.set(extra, 32);
  }
  const stored = v.getUint32(28, true);
  const computed = crc32c(bytes.subarray(32), crc32c(bytes.subarray(0, 28)));
  if (stored !== computed) {
    throw new StreamError(`Stream header CRC32C mismatch: stored ${hex(stored)}, computed ${hex(computed)}`);
  }
  const pageSize = v.getUint32(12, true);
  if (pageSize !== PAGE_SIZE) {
    throw new StreamError(`Stream page size is ${pageSize} bytes: expected ${PAGE_SIZE}`);
  }
  const ram = v.getBigUint64(16, true);
  if (ram % BigInt(PAGE_SIZE) !== 0n) {
    throw new StreamError(`Stream RAM size ${ram} bytes is invalid: expected a multiple of 4096`);
  }
  if (ram > BigInt(MAX_RAM_BYTES)) {
    throw new StreamError(`Stream RAM size ${ram} bytes exceeds the format's limit of 8 TiB (2^31 pages)`);
  }
  const flags = v.getUint32(24, true);
  if ((flags & ~STREAM_FLAGS_KNOWN) !== 0) {
    throw new StreamError(
      `Stream header has unknown flags ${hex(flags & ~STREAM_FLAGS_KNOWN)} for version ${major}.${minor}`,
    );
  }
  return { header: { major, minor, headerBytes, pageSize, ramBytes: Number(ram), flags }, bytes };
}

/** Import raw key bytes as an HMAC-SHA256 key for signing and verifying streams. */
export async function importStreamKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length < 16) {
    throw new RangeError(`Migration key is ${raw.length} bytes: expected at least 16`);
  }
  return await crypto.subtle.importKey(
    "raw",
    new Uint8Array(raw),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Read a key file (`--key-file`): its raw bytes, at least 16 of them, are the HMAC key. */
export async function readKeyFile(path: string): Promise<CryptoKey> {
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (raw.length < 16) {
    throw new RangeError(`Key file ${path} holds ${raw.length} bytes: expected at least 16`);
  }
  return await importStreamKey(raw);
}

async function hmac(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data as Uint8Array<ArrayBuffer>));
}

/** A record being built in place: write the payload into `payload`, then {@link StreamWriter.commit}. */
export interface RecordBuffer {
  /** Backing buffer: 32 bytes for the previous tag, the 16-byte header, the payload, a 32-byte tag. */
  readonly buf: Uint8Array;
  /** The payload area (capacity given to {@link StreamWriter.allocRecord}). */
  readonly payload: Uint8Array;
  /** A DataView over `payload`. */
  readonly view: DataView;
}

/** Options for {@link StreamWriter.open}. */
export interface StreamWriterOptions {
  /** Guest RAM size in bytes. */
  ramBytes: number;
  /** Header flags besides {@link STREAM_FLAG_AUTHENTICATED} (set from `key`). */
  flags?: number;
  /** HMAC-SHA256 key: when given, the stream is authenticated. */
  key?: CryptoKey;
}

/** Writes a stream: the header, then records, each a single chunk handed to the sink. */
export class StreamWriter {
  /** The sink. */
  readonly sink: ByteSink;
  /** Header flags written. */
  readonly flags: number;
  /** Bytes handed to the sink so far. */
  bytesWritten = 0;
  /** Records written so far. */
  records = 0;
  /** Page descriptors written so far (zero and normal). */
  pageDescriptors = 0;
  /** State sections written so far. */
  sections = 0;
  /** Whether the end record was written. */
  ended = false;
  #key: CryptoKey | undefined;
  #tag: Uint8Array = new Uint8Array(MAC_BYTES);

  private constructor(sink: ByteSink, flags: number, key: CryptoKey | undefined) {
    this.sink = sink;
    this.flags = flags;
    this.#key = key;
  }

  /** Write the header (and its tag) to `sink` and return a writer for the records. */
  static async open(sink: ByteSink, opts: StreamWriterOptions): Promise<StreamWriter> {
    const flags = ((opts.flags ?? 0) & ~STREAM_FLAG_AUTHENTICATED) |
      (opts.key ? STREAM_FLAG_AUTHENTICATED : 0);
    const w = new StreamWriter(sink, flags, opts.key);
    const header = encodeHeader(opts.ramBytes, flags);
    if (opts.key) {
      const tag = await hmac(opts.key, header);
      w.#tag = tag;
      const out = new Uint8Array(STREAM_HEADER_BYTES + MAC_BYTES);
      out.set(header);
      out.set(tag, STREAM_HEADER_BYTES);
      await w.#emit(out);
    } else {
      await w.#emit(header);
    }
    return w;
  }

  async #emit(chunk: Uint8Array): Promise<void> {
    await this.sink.write(chunk);
    this.bytesWritten += chunk.length;
  }

  /** Bytes a record with `payloadLength` bytes of payload takes on the wire. */
  recordBytes(payloadLength: number): number {
    return RECORD_HEADER_BYTES + payloadLength + (this.#key ? MAC_BYTES : 0);
  }

  /** A fresh record buffer with room for `capacity` payload bytes (one allocation per record). */
  allocRecord(capacity: number): RecordBuffer {
    const buf = new Uint8Array(MAC_BYTES + RECORD_HEADER_BYTES + capacity + MAC_BYTES);
    const payload = buf.subarray(MAC_BYTES + RECORD_HEADER_BYTES, MAC_BYTES + RECORD_HEADER_BYTES + capacity);
    return { buf, payload, view: new DataView(buf.buffer, payload.byteOffset, capacity) };
  }

  /** Seal `rec` (header, CRC, tag) with `length` payload bytes and hand it to the sink. */
  async commit(rec: RecordBuffer, type: number, length: number, flags = 0): Promise<void> {
    if (this.ended) throw new Error("Cannot write a record after the end record");
    if (length > rec.payload.length || length > MAX_RECORD_PAYLOAD) {
      throw new RangeError(`Record payload of ${length} bytes exceeds its buffer or the 64 MiB maximum`);
    }
    const buf = rec.buf;
    const h = new DataView(buf.buffer, buf.byteOffset + MAC_BYTES, RECORD_HEADER_BYTES);
    h.setUint16(0, type, true);
    h.setUint16(2, flags, true);
    h.setUint32(4, length, true);
    h.setUint32(8, this.records, true);
    const hdr = buf.subarray(MAC_BYTES, MAC_BYTES + 12);
    const crc = crc32c(rec.payload.subarray(0, length), crc32c(hdr));
    h.setUint32(12, crc, true);
    let end = MAC_BYTES + RECORD_HEADER_BYTES + length;
    if (this.#key) {
      buf.set(this.#tag, 0);
      const tag = await hmac(this.#key, buf.subarray(0, end));
      buf.set(tag, end);
      this.#tag = tag;
      end += MAC_BYTES;
    }
    this.records++;
    if (type === RECORD_END) this.ended = true;
    await this.#emit(buf.subarray(MAC_BYTES, end));
  }

  /** Write a record whose payload is `payload` (copied). */
  async writeRecord(type: number, payload: Uint8Array, flags = 0): Promise<void> {
    const rec = this.allocRecord(payload.length);
    rec.payload.set(payload);
    await this.commit(rec, type, payload.length, flags);
  }

  /** Write a round marker. */
  async writeRound(round: number, pages: number): Promise<void> {
    const rec = this.allocRecord(8);
    rec.view.setUint32(0, round, true);
    rec.view.setUint32(4, pages, true);
    await this.commit(rec, RECORD_ROUND, 8);
  }

  /** Write one state section. */
  async writeSection(s: StateSection): Promise<void> {
    const name = new TextEncoder().encode(s.name);
    if (name.length === 0 || name.length > 255) {
      throw new RangeError(`State section name "${s.name}" must be 1..255 bytes of UTF-8`);
    }
    if (!Number.isInteger(s.version) || s.version < 0 || s.version > 0xffffffff) {
      throw new RangeError(`State section "${s.name}" has version ${s.version}: expected a u32`);
    }
    if (s.data.length > MAX_STATE_SECTION_BYTES) {
      throw new RangeError(
        `State section "${s.name}" is ${s.data.length} bytes: at most ${MAX_STATE_SECTION_BYTES} fit a stream`,
      );
    }
    const len = 8 + name.length + s.data.length;
    const rec = this.allocRecord(len);
    rec.view.setUint32(0, s.version, true);
    rec.view.setUint16(4, name.length, true);
    rec.payload.set(name, 8);
    rec.payload.set(s.data, 8 + name.length);
    this.sections++;
    await this.commit(rec, RECORD_STATE_SECTION, len);
  }

  /** Write the end record, which states how many records, page descriptors and sections came before. */
  async writeEnd(): Promise<void> {
    const rec = this.allocRecord(END_PAYLOAD_BYTES);
    rec.view.setUint32(0, this.records, true);
    rec.view.setBigUint64(4, BigInt(this.pageDescriptors), true);
    rec.view.setUint32(12, this.sections, true);
    await this.commit(rec, RECORD_END, END_PAYLOAD_BYTES);
  }
}

/** One record as read. */
export interface StreamRecord {
  /** Record index (0-based). */
  index: number;
  /** The index the record carries (equals `index` unless records were dropped or reordered). */
  seq: number;
  /** Record type (RECORD_*). */
  type: number;
  /** Record flags. */
  flags: number;
  /** Byte offset of the record header in the stream. */
  offset: number;
  /** The payload (valid until the next read). */
  payload: Uint8Array;
  /** Whether the stored CRC matches (always true in strict mode, which throws instead). */
  crcOk: boolean;
  /** Stored and computed CRC. */
  crcStored: number;
  /** Computed CRC. */
  crcComputed: number;
  /** Whether the HMAC tag verified (undefined without a key or an unauthenticated stream). */
  macOk?: boolean;
}

/** Options for {@link StreamReader.open}. */
export interface StreamReaderOptions {
  /** HMAC key; required for an authenticated stream, and then only authenticated streams are accepted. */
  key?: CryptoKey;
  /**
   * Report CRC and MAC failures in the record (`crcOk`, `macOk`) instead of throwing, and read an
   * authenticated stream without a key (for `inspect`). Structural errors still throw.
   */
  lenient?: boolean;
}

/** Reads a stream record by record, checking header, order, CRCs and tags. */
export class StreamReader {
  /** The header. */
  readonly header: StreamHeader;
  /** Bytes consumed so far. */
  offset: number;
  /** Records read so far. */
  records = 0;
  /** Whether the end record was read. */
  ended = false;
  /** Whether the header's tag verified (undefined without a key or for an unauthenticated stream). */
  headerMacOk: boolean | undefined;
  /**
   * Longest record payload accepted: a longer record is refused before its payload is read.
   * {@link recordPayloadLimit} of the header's RAM size unless changed.
   */
  maxPayload: number;
  #src: ByteSource;
  #key: CryptoKey | undefined;
  #auth: boolean;
  #lenient: boolean;
  #tag: Uint8Array;

  private constructor(
    src: ByteSource,
    header: StreamHeader,
    offset: number,
    opts: StreamReaderOptions,
    tag: Uint8Array,
  ) {
    this.#src = src;
    this.header = header;
    this.offset = offset;
    this.#key = opts.key;
    this.#auth = (header.flags & STREAM_FLAG_AUTHENTICATED) !== 0;
    this.#lenient = opts.lenient ?? false;
    this.#tag = tag;
    this.maxPayload = recordPayloadLimit(header.ramBytes);
  }

  /** Whether records carry tags. */
  get authenticated(): boolean {
    return this.#auth;
  }

  /** The underlying source. */
  get source(): ByteSource {
    return this.#src;
  }

  /** Read and check the header (and its tag), refusing a foreign or unauthenticated stream. */
  static async open(
    input: ByteSource | ReadableStream<Uint8Array> | Uint8Array,
    opts: StreamReaderOptions = {},
  ): Promise<StreamReader> {
    const src = toSource(input);
    const { header, bytes } = await readHeader(src);
    const auth = (header.flags & STREAM_FLAG_AUTHENTICATED) !== 0;
    let offset = bytes.length;
    let tag = new Uint8Array(0);
    let headerMacOk: boolean | undefined;
    if (!auth && opts.key && !opts.lenient) {
      throw new StreamError("Stream is not authenticated but a key was given: refusing an unsigned stream");
    }
    if (auth) {
      if (!opts.key && !opts.lenient) {
        throw new StreamError("Stream is authenticated (HMAC-SHA256): a key is required (--key-file)");
      }
      tag = (await src.read(MAC_BYTES)).slice();
      if (tag.length < MAC_BYTES) {
        throw new StreamError("Stream truncated in the header's authentication tag");
      }
      if (opts.key) {
        headerMacOk = await crypto.subtle.verify("HMAC", opts.key, tag, bytes as Uint8Array<ArrayBuffer>);
        if (!headerMacOk && !opts.lenient) {
          throw new StreamError("Stream header authentication failed: wrong key or altered header");
        }
      }
      offset += MAC_BYTES;
    }
    const r = new StreamReader(src, header, offset, opts, tag);
    r.headerMacOk = headerMacOk;
    return r;
  }

  /**
   * The next record, or null after the end record. Throws a {@link StreamError} on a truncated
   * stream, a bad CRC, a wrong record index, a failed tag, or an oversized record.
   */
  async next(): Promise<StreamRecord | null> {
    if (this.ended) return null;
    const offset = this.offset;
    const index = this.records;
    const hdr = (await this.#src.read(RECORD_HEADER_BYTES)).slice();
    if (hdr.length === 0) {
      throw new StreamError(`Stream truncated: no end record after ${index} records (offset ${offset})`);
    }
    if (hdr.length < RECORD_HEADER_BYTES) {
      throw new StreamError(
        `Stream truncated: record ${index} header at offset ${offset} has ${hdr.length} of 16 bytes`,
      );
    }
    const h = new DataView(hdr.buffer);
    const type = h.getUint16(0, true);
    const flags = h.getUint16(2, true);
    const length = h.getUint32(4, true);
    const seq = h.getUint32(8, true);
    const crcStored = h.getUint32(12, true);
    const where = `record ${index} (${recordTypeName(type)}) at offset ${offset}`;
    if (length > this.maxPayload) {
      throw new StreamError(
        `Bad ${where}: length ${length} exceeds the ${this.maxPayload}-byte maximum for ` +
          `${formatBytes(this.header.ramBytes)} of RAM`,
      );
    }
    const payload = await this.#src.read(length);
    if (payload.length < length) {
      throw new StreamError(`Stream truncated in ${where}: payload has ${payload.length} of ${length} bytes`);
    }
    const crcComputed = crc32c(payload, crc32c(hdr.subarray(0, 12)));
    const crcOk = crcComputed === crcStored;
    if (!crcOk && !this.#lenient) {
      throw new StreamError(
        `CRC32C mismatch in ${where}: stored ${hex(crcStored)}, computed ${hex(crcComputed)}`,
      );
    }
    if (seq !== index && !this.#lenient) {
      throw new StreamError(`Out-of-order ${where}: it carries index ${seq}, expected ${index}`);
    }
    let macOk: boolean | undefined;
    let consumed = RECORD_HEADER_BYTES + length;
    if (this.#auth) {
      const tag = (await this.#src.read(MAC_BYTES)).slice();
      if (tag.length < MAC_BYTES) {
        throw new StreamError(`Stream truncated in the authentication tag of ${where}`);
      }
      consumed += MAC_BYTES;
      if (this.#key) {
        const m = new Uint8Array(MAC_BYTES + RECORD_HEADER_BYTES + length);
        m.set(this.#tag, 0);
        m.set(hdr, MAC_BYTES);
        m.set(payload, MAC_BYTES + RECORD_HEADER_BYTES);
        macOk = await crypto.subtle.verify("HMAC", this.#key, tag, m);
        if (!macOk && !this.#lenient) {
          throw new StreamError(`Authentication failed for ${where}: wrong key, or the stream was altered`);
        }
      }
      this.#tag = tag;
    }
    if (type === RECORD_END) this.ended = true;
    this.offset += consumed;
    this.records++;
    return { index, seq, type, flags, offset, payload, crcOk, crcStored, crcComputed, macOk };
  }
}

/** A decoded state-section record. */
export function decodeSection(rec: StreamRecord): StateSection {
  const p = rec.payload;
  const where = `record ${rec.index} (state-section) at offset ${rec.offset}`;
  if (p.length < 8) throw new StreamError(`Bad ${where}: payload of ${p.length} bytes, expected at least 8`);
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const version = v.getUint32(0, true);
  const nameLen = v.getUint16(4, true);
  if (nameLen === 0 || 8 + nameLen > p.length) {
    throw new StreamError(`Bad ${where}: name length ${nameLen} does not fit its ${p.length}-byte payload`);
  }
  let name: string;
  try {
    name = new TextDecoder("utf-8", { fatal: true }).decode(p.subarray(8, 8 + nameLen));
  } catch {
    throw new StreamError(`Bad ${where}: section name is not UTF-8`);
  }
  return { name, version, data: p.slice(8 + nameLen) };
}

/** The decoded end record. */
export interface EndInfo {
  /** Records before the end record. */
  records: number;
  /** Page descriptors sent. */
  pages: number;
  /** State sections sent. */
  sections: number;
}

/** Decode an end record's payload. */
export function decodeEnd(rec: StreamRecord): EndInfo {
  const p = rec.payload;
  if (p.length !== END_PAYLOAD_BYTES) {
    throw new StreamError(
      `Bad record ${rec.index} (end) at offset ${rec.offset}: payload of ${p.length} bytes, expected 16`,
    );
  }
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  return {
    records: v.getUint32(0, true),
    pages: Number(v.getBigUint64(4, true)),
    sections: v.getUint32(12, true),
  };
}

/** The decoded round record. */
export function decodeRound(rec: StreamRecord): { round: number; pages: number } {
  const p = rec.payload;
  if (p.length !== 8) {
    throw new StreamError(
      `Bad record ${rec.index} (round) at offset ${rec.offset}: payload of ${p.length} bytes, expected 8`,
    );
  }
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  return { round: v.getUint32(0, true), pages: v.getUint32(4, true) };
}

/**
 * The hvsim input log ("replay log", `.hvlog`), version 2.2: everything a guest observed that
 * was not determined by its ELF, RAM size and command line, plus fine-grained state records
 * that let a replay prove it reached the same state and find where it did not.
 *
 * Little-endian throughout. A header, readable on its own:
 *
 * | offset | size | field                                                              |
 * |-------:|-----:|--------------------------------------------------------------------|
 * | 0      | 4    | magic "HVRL"                                                       |
 * | 4      | 2    | major version (a reader accepts only its own major)                |
 * | 6      | 2    | minor version (compatible additions)                               |
 * | 8      | 4    | header length in bytes, CRC included                               |
 * | 12     | 4    | flags: bit 0 (2.1) the guest is a Linux kernel booted with an      |
 * |        |      | initrd, whose SHA-256 and path follow the guest path; bit 1 (2.2)  |
 * |        |      | the platform fields follow (after the initrd's); no others         |
 * | 16     | 32   | SHA-256 of the guest ELF file                                      |
 * | 48     | 8    | guest RAM size in bytes                                            |
 * | 56     | 8    | checkpoint interval N (instructions)                               |
 * | 64     | 4    | trace interval K (instructions)                                    |
 * | 68     | 4    | command-line length in bytes                                       |
 * | 72     | 2    | length of the entropy source's initial state                       |
 * | 74     | 2    | guest path length in bytes                                         |
 * | 76     | ...  | command line (UTF-8), the entropy source's initial state, the path |
 * |        |      | of the guest ELF as given to `record` (UTF-8; a hint for `replay`) |
 * |        |      | with flag bit 0: the initrd's SHA-256 (32), its path length (u16)  |
 * |        |      | and path (UTF-8; a hint for `replay`)                              |
 * |        |      | with flag bit 1: the CMOS clock's start time (i64, seconds since   |
 * |        |      | the Unix epoch) and the COM1 poll interval (u32, instructions; 0:  |
 * |        |      | none): the console's bytes reached the UART through the serial     |
 * |        |      | line (`src/devices/serial_gate.ts`), the UART polled at each       |
 * |        |      | multiple of the interval                                           |
 * | end-4  | 4    | CRC-32C of every header byte before it                             |
 *
 * Then records framed exactly as in the migration stream (`src/migration/stream.ts`): a 16-byte
 * record header `type u16, flags u16, length u32, index u32, crc u32`, then `length` payload bytes;
 * the CRC-32C covers the first 12 header bytes and the payload; `index` counts records from 0.
 *
 * Record payloads (counts are u64 written as two u32 halves, low first):
 * - input (1): `kind u8, 0 u8, state length u16, 0 u32, icount u64, value u64`, then the entropy
 *   source's state after the value was drawn (empty for serial input). `icount` is the number of
 *   instructions retired before the instruction that consumed the input.
 * - trace (2): `count u32`, then `count` fine points, each `icount u64, kind u8, flags u8, 0 u8 u8,
 *   pages u32, gpr 32 x u32 (low, high of RAX..R15), rip i64 (as f64), rflags u32, 0 u32`, then
 *   `pages` pairs `pfn u32, hash u32` (the low half of the 64-bit hash of every page written since
 *   the previous memory point). Kind 0 is periodic (every K instructions, at checkpoints and at
 *   the end), kind 1 is the state just before an input-consuming instruction. Flag 1 marks a
 *   memory point, one that carries the written pages (every M instructions, at checkpoints and at
 *   the end); the others carry registers only.
 * - checkpoint (3): `icount u64`, digest (32), CPU-state hash (32), device-state hash (32),
 *   RAM hash (32), `pages u32, 0 u32`, then `pages` triples `pfn u32, hash u64` for every page
 *   written since the previous checkpoint. The digest is SHA-256 of the three hashes.
 * - end (4): `icount u64, exit code i32, records u32` (records before this one), the final
 *   {@linkcode Machine.digest} (32), `reason length u16, message length u16`, reason, message.
 *
 * - mark (5, optional): `icount u64`, then a UTF-8 label: an event in the run that changed nothing
 *   the guest can observe, such as a migration to another machine.
 *
 * - snapshot (6, optional): `icount u64, sections u32, pages u32`, then each state section as
 *   `name length u16, 0 u16, version u32, data length u32`, name, data (the sections of
 *   {@linkcode Machine.saveState}), then each page as `pfn u32` and its 4096 bytes: the pages
 *   written since the previous snapshot (the first: since boot). It sits at a checkpoint, whose
 *   digest a reader checks after restoring it.
 *
 * Unknown record types are refused unless their flags carry {@link LOG_RECORD_FLAG_OPTIONAL}.
 *
 * @module
 */

import { crc32c } from "../migration/crc32c.ts";
import { RECORD_HEADER_BYTES } from "../migration/stream.ts";
import { GUEST_RAM_GRANULE, MAX_GUEST_RAM_BYTES } from "../vm/machine.ts";

/** Log magic, "HVRL" read as a little-endian u32. */
export const LOG_MAGIC = 0x4c525648;
/**
 * Major version written; a reader refuses any other major. 2.0: guests boot with x87 and SSE enabled
 * and the CPU-state hash covers the x87/SSE registers (the "fpu" state), so a 1.x log, recorded under
 * the earlier boot protocol, cannot replay and is refused with one line.
 */
export const LOG_VERSION_MAJOR = 2;
/**
 * Newest minor version written: 2 when the header carries the platform fields (2.2), else 1 when it
 * carries an initrd (2.1), else 0 (an older reader reads such a log byte for byte as before).
 */
export const LOG_VERSION_MINOR = 2;
/** Header flag (2.1): the initrd's hash and path follow the guest path. */
export const LOG_HEADER_FLAG_INITRD = 1;
/** Header flag (2.2): the RTC start time and the COM1 poll interval follow. */
export const LOG_HEADER_FLAG_PLATFORM = 2;
/** Bytes of the platform fields: `rtcStart i64, serialPoll u32`. */
const PLATFORM_BYTES = 12;
/** The RTC start times a header may hold: 1970 up to 2100 (what `--rtc-start` takes). */
const RTC_START_LIMIT = Date.UTC(2100, 0, 1) / 1000;
/** Size of the fixed part of the header. */
export const LOG_HEADER_FIXED_BYTES = 76;
/** Largest record payload a reader accepts (256 MiB). */
export const LOG_MAX_RECORD_PAYLOAD = 256 << 20;

/** Record type: one input the guest consumed. */
export const LOG_RECORD_INPUT = 1;
/** Record type: fine points (register state and written pages) of one checkpoint interval. */
export const LOG_RECORD_TRACE = 2;
/** Record type: a checkpoint (state digest). */
export const LOG_RECORD_CHECKPOINT = 3;
/** Record type: end of the log. */
export const LOG_RECORD_END = 4;
/** Record type: a mark (a named event, e.g. where a migration happened); written optional. */
export const LOG_RECORD_MARK = 5;
/** Record type: a diff snapshot at a checkpoint (for seeking); written optional. */
export const LOG_RECORD_SNAPSHOT = 6;
/** Record flag: a reader that does not know the type may skip the record. */
export const LOG_RECORD_FLAG_OPTIONAL = 1;

/** Input kind: a value RDRAND returned. */
export const INPUT_RDRAND = 1;
/** Input kind: a value RDSEED returned. */
export const INPUT_RDSEED = 2;
/** Input kind: a byte COM1 received. */
export const INPUT_SERIAL = 3;

/** Fine-point kind: periodic (every K instructions, at checkpoints, at the end). */
export const POINT_PERIODIC = 0;
/** Fine-point kind: the state just before an instruction that consumes an input. */
export const POINT_INPUT = 1;

/** An end record's machine digest when the recording did not compute it (all zero). */
export const NO_DIGEST: string = "0".repeat(64);

/** Fine-point flag: the point lists the pages written since the previous memory point. */
export const POINT_FLAG_MEMORY = 1;

/** Size of a fine point without its page pairs. */
export const POINT_FIXED_BYTES = 160;
/** Size of a checkpoint record without its page triples. */
export const CHECKPOINT_FIXED_BYTES = 144;

/** Name of an input kind. */
export function inputKindName(kind: number): string {
  return kind === INPUT_RDRAND
    ? "rdrand"
    : kind === INPUT_RDSEED
    ? "rdseed"
    : kind === INPUT_SERIAL
    ? "serial"
    : `kind-${kind}`;
}

/** Name of a record type, for messages. */
export function logRecordTypeName(type: number): string {
  switch (type) {
    case LOG_RECORD_INPUT:
      return "input";
    case LOG_RECORD_TRACE:
      return "trace";
    case LOG_RECORD_CHECKPOINT:
      return "checkpoint";
    case LOG_RECORD_END:
      return "end";
    case LOG_RECORD_MARK:
      return "mark";
    case LOG_RECORD_SNAPSHOT:
      return "snapshot";
    default:
      return `unknown-type-${type}`;
  }
}

/** A damaged, foreign or mismatched log. The message is one line saying what and what was expected. */
export class LogError extends Error {
  /** Create with one line saying what is wrong and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "LogError";
  }
}

/** What the log says about the guest and the recording. */
export interface LogHeader {
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** SHA-256 of the guest ELF, hex. */
  elfSha256: string;
  /** Guest RAM in bytes. */
  memory: number;
  /** Checkpoint interval N. */
  checkpointInterval: number;
  /** Trace interval K. */
  traceInterval: number;
  /** Command line. */
  cmdline: string;
  /** The entropy source's state before the first value. */
  entropyState: Uint8Array;
  /** Path of the guest ELF as given when recording (a default for replay; may be empty). */
  guestPath: string;
  /** The initrd a Linux guest booted with (2.1): its SHA-256 (hex) and path as given (may be empty). */
  initrd?: { sha256: string; path: string };
  /**
   * The platform (2.2; with {@linkcode LogHeader.serialPoll}): the CMOS clock's time at TSC 0 the
   * guest booted with, in seconds since the Unix epoch (`MachineOptions.rtcStart`).
   */
  rtcStart?: number;
  /**
   * The platform (2.2; with {@linkcode LogHeader.rtcStart}): the console's bytes reached COM1
   * through the serial line, and the UART was polled at every multiple of this many instructions
   * (`runPollingSerial`); 0: never polled.
   */
  serialPoll?: number;
}

/** One consumed input. */
export interface InputRecord {
  /** INPUT_RDRAND, INPUT_RDSEED or INPUT_SERIAL. */
  kind: number;
  /** Instructions retired before the consuming instruction. */
  icount: number;
  /** The value (64 bits for entropy, a byte for serial). */
  value: bigint;
  /** The entropy source's state after the value (empty for serial). */
  state: Uint8Array;
}

/** The register state and the pages written at one instant of the run. */
export interface FinePoint {
  /** Instructions retired. */
  icount: number;
  /** POINT_PERIODIC or POINT_INPUT. */
  kind: number;
  /** Whether `pages` was sampled (a memory point). */
  memory: boolean;
  /** General registers as 32-bit halves (low of r at [2r]). */
  gpr: Uint32Array;
  /** RIP (canonical, signed). */
  rip: number;
  /** RFLAGS. */
  rflags: number;
  /** At a memory point, pages written since the previous one: pfn, low 32 bits of the page hash, ... */
  pages: Uint32Array;
}

/** A checkpoint: the full state digest and its parts. */
export interface CheckpointRecord {
  /** Instructions retired. */
  icount: number;
  /** SHA-256 over the three hashes below, hex. */
  digest: string;
  /** SHA-256 of the encoded CPU state, hex. */
  cpuHash: string;
  /** SHA-256 of the device state sections, hex. */
  deviceHash: string;
  /** SHA-256 of the vector of 64-bit page hashes, hex. */
  ramHash: string;
  /** Pages written since the previous checkpoint: pfn, hash low, hash high, ... */
  pages: Uint32Array;
}

/** A named event in the run (where a migration happened). */
export interface MarkRecord {
  /** Instructions retired when it happened. */
  icount: number;
  /** What happened. */
  label: string;
}

/** A diff snapshot stored in the log. */
export interface SnapshotRecord {
  /** Instructions retired (a checkpoint's count). */
  icount: number;
  /** Non-RAM state, as {@linkcode Machine.saveState} gives it. */
  sections: { name: string; version: number; data: Uint8Array }[];
  /** Pages written since the previous snapshot: page number to its 4096 bytes. */
  pages: Map<number, Uint8Array>;
}

/** The end of the recorded run. */
export interface EndRecord {
  /** Instructions retired at the end. */
  icount: number;
  /** Exit reason. */
  reason: string;
  /** Exit code. */
  code: number;
  /** Exit message (empty if none). */
  message: string;
  /** The final {@linkcode Machine.digest} (docs/determinism.md), hex; {@linkcode NO_DIGEST} if not computed. */
  machineDigest: string;
}

/** A whole log, read and checked. */
export interface ReplayLog {
  /** The header. */
  header: LogHeader;
  /** Inputs in order of consumption. */
  inputs: InputRecord[];
  /** Fine points in order. */
  points: FinePoint[];
  /** Checkpoints in order. */
  checkpoints: CheckpointRecord[];
  /** Marks in order. */
  marks: MarkRecord[];
  /** Snapshots in order. */
  snapshots: SnapshotRecord[];
  /** The end record. */
  end: EndRecord;
  /** Records before the end record. */
  records: number;
}

function putU64(v: DataView, off: number, n: number): void {
  v.setUint32(off, n % 4294967296, true);
  v.setUint32(off + 4, Math.floor(n / 4294967296), true);
}

function getU64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * 4294967296;
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function bytesOfHex(h: string, n: number): Uint8Array {
  if (h.length !== 2 * n || !/^[0-9a-f]*$/.test(h)) {
    throw new RangeError(`expected ${n} bytes of hex, got "${h}"`);
  }
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return b;
}

function hex32(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/** Encodes a header. */
export function encodeLogHeader(h: Omit<LogHeader, "major" | "minor">): Uint8Array {
  const cmd = new TextEncoder().encode(h.cmdline);
  const path = new TextEncoder().encode(h.guestPath);
  if (h.entropyState.length > 0xffff) throw new RangeError("entropy state longer than 65535 bytes");
  if (path.length > 0xffff) throw new RangeError("guest path longer than 65535 bytes");
  const initrdPath = new TextEncoder().encode(h.initrd?.path ?? "");
  if (initrdPath.length > 0xffff) throw new RangeError("initrd path longer than 65535 bytes");
  const platform = h.rtcStart !== undefined || h.serialPoll !== undefined;
  if (platform && (h.rtcStart === undefined || h.serialPoll === undefined)) {
    throw new RangeError("a header's platform fields come together: rtcStart and serialPoll");
  }
  if (platform && !(Number.isSafeInteger(h.rtcStart) && h.rtcStart! >= 0 && h.rtcStart! < RTC_START_LIMIT)) {
    throw new RangeError(`RTC start ${h.rtcStart}: expected whole seconds from 1970 to 2099`);
  }
  if (platform && !(Number.isInteger(h.serialPoll) && h.serialPoll! >= 0 && h.serialPoll! <= 0xffffffff)) {
    throw new RangeError(`COM1 poll interval ${h.serialPoll}: expected 0..4294967295`);
  }
  const initrdBytes = h.initrd === undefined ? 0 : 34 + initrdPath.length;
  const extra = initrdBytes + (platform ? PLATFORM_BYTES : 0);
  const len = LOG_HEADER_FIXED_BYTES + cmd.length + h.entropyState.length + path.length + extra + 4;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, LOG_MAGIC, true);
  v.setUint16(4, LOG_VERSION_MAJOR, true);
  v.setUint16(6, platform ? 2 : h.initrd === undefined ? 0 : 1, true);
  v.setUint32(8, len, true);
  v.setUint32(
    12,
    (h.initrd === undefined ? 0 : LOG_HEADER_FLAG_INITRD) | (platform ? LOG_HEADER_FLAG_PLATFORM : 0),
    true,
  );
  b.set(bytesOfHex(h.elfSha256, 32), 16);
  putU64(v, 48, h.memory);
  putU64(v, 56, h.checkpointInterval);
  v.setUint32(64, h.traceInterval, true);
  v.setUint32(68, cmd.length, true);
  v.setUint16(72, h.entropyState.length, true);
  v.setUint16(74, path.length, true);
  b.set(cmd, LOG_HEADER_FIXED_BYTES);
  b.set(h.entropyState, LOG_HEADER_FIXED_BYTES + cmd.length);
  b.set(path, LOG_HEADER_FIXED_BYTES + cmd.length + h.entropyState.length);
  if (h.initrd !== undefined) {
    const at = LOG_HEADER_FIXED_BYTES + cmd.length + h.entropyState.length + path.length;
    b.set(bytesOfHex(h.initrd.sha256, 32), at);
    v.setUint16(at + 32, initrdPath.length, true);
    b.set(initrdPath, at + 34);
  }
  if (platform) {
    const at = len - 4 - PLATFORM_BYTES;
    v.setBigInt64(at, BigInt(h.rtcStart!), true);
    v.setUint32(at + 8, h.serialPoll!, true);
  }
  v.setUint32(len - 4, crc32c(b.subarray(0, len - 4)), true);
  return b;
}

/** Reads and checks a header: magic, major version, length, CRC. Returns it and its length. */
export function decodeLogHeader(b: Uint8Array): { header: LogHeader; bytes: number } {
  if (b.length === 0) {
    throw new LogError("Not an hvsim replay log: the file is empty (expected an HVRL header)");
  }
  if (b.length < 8) throw new LogError(`Replay log truncated in its header: ${b.length} bytes`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (v.getUint32(0, true) !== LOG_MAGIC) {
    const seen = [...b.subarray(0, 4)].map((c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : "?")).join(
      "",
    );
    throw new LogError(`Not an hvsim replay log: magic is "${seen}", expected "HVRL"`);
  }
  const major = v.getUint16(4, true), minor = v.getUint16(6, true);
  if (major !== LOG_VERSION_MAJOR) {
    throw new LogError(
      `Replay log version ${major}.${minor} is not supported: this hvsim reads version ${LOG_VERSION_MAJOR}.x ` +
        `(it writes ${LOG_VERSION_MAJOR}.${LOG_VERSION_MINOR})`,
    );
  }
  if (b.length < LOG_HEADER_FIXED_BYTES + 4) {
    throw new LogError(
      `Replay log truncated in its header: ${b.length} of at least ${LOG_HEADER_FIXED_BYTES + 4} bytes`,
    );
  }
  const len = v.getUint32(8, true);
  if (len < LOG_HEADER_FIXED_BYTES + 4 || len > 1 << 20) {
    throw new LogError(
      `Replay log header length ${len} is invalid: expected ${LOG_HEADER_FIXED_BYTES + 4}..1 MiB`,
    );
  }
  if (b.length < len) throw new LogError(`Replay log truncated in its header: ${b.length} of ${len} bytes`);
  const stored = v.getUint32(len - 4, true), computed = crc32c(b.subarray(0, len - 4));
  if (stored !== computed) {
    throw new LogError(
      `Replay log header CRC32C mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`,
    );
  }
  const flags = v.getUint32(12, true);
  const known = (minor >= 1 ? LOG_HEADER_FLAG_INITRD : 0) | (minor >= 2 ? LOG_HEADER_FLAG_PLATFORM : 0);
  if ((flags & ~known) !== 0) {
    throw new LogError(`Replay log header has unknown flags ${hex32(flags)} for version ${major}.${minor}`);
  }
  const cmdLen = v.getUint32(68, true), entLen = v.getUint16(72, true), pathLen = v.getUint16(74, true);
  const initrdAt = LOG_HEADER_FIXED_BYTES + cmdLen + entLen + pathLen;
  const hasInitrd = (flags & LOG_HEADER_FLAG_INITRD) !== 0;
  if (hasInitrd && initrdAt + 34 + 4 > len) {
    throw new LogError(`Replay log header is inconsistent: its initrd fields lie beyond its ${len} bytes`);
  }
  const initrdPathLen = hasInitrd ? v.getUint16(initrdAt + 32, true) : 0;
  const hasPlatform = (flags & LOG_HEADER_FLAG_PLATFORM) !== 0;
  const platformAt = initrdAt + (hasInitrd ? 34 + initrdPathLen : 0);
  const need = platformAt + (hasPlatform ? PLATFORM_BYTES : 0) + 4;
  if (need !== len) {
    throw new LogError(
      `Replay log header is inconsistent: command line, entropy state, guest path${
        hasInitrd ? ", initrd" : ""
      }${hasPlatform ? ", platform fields" : ""} need ` +
        `${need} bytes, the header has ${len}`,
    );
  }
  const utf8 = (at: number, n: number, what: string): string => {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(at, at + n));
    } catch {
      throw new LogError(`Replay log header: the ${what} is not UTF-8`);
    }
  };
  const entAt = LOG_HEADER_FIXED_BYTES + cmdLen;
  const header: LogHeader = {
    major,
    minor,
    elfSha256: hexOf(b.subarray(16, 48)),
    memory: getU64(v, 48),
    checkpointInterval: getU64(v, 56),
    traceInterval: v.getUint32(64, true),
    cmdline: utf8(LOG_HEADER_FIXED_BYTES, cmdLen, "command line"),
    entropyState: b.slice(entAt, entAt + entLen),
    guestPath: utf8(entAt + entLen, pathLen, "guest path"),
  };
  if (hasInitrd) {
    header.initrd = {
      sha256: hexOf(b.subarray(initrdAt, initrdAt + 32)),
      path: utf8(initrdAt + 34, initrdPathLen, "initrd path"),
    };
  }
  if (hasPlatform) {
    const rtc = Number(v.getBigInt64(platformAt, true));
    if (!(rtc >= 0 && rtc < RTC_START_LIMIT)) {
      throw new LogError(`Replay log header: RTC start ${rtc} is not a time from 1970 to 2099`);
    }
    header.rtcStart = rtc;
    header.serialPoll = v.getUint32(platformAt + 8, true);
  }
  if (header.checkpointInterval < 1 || header.traceInterval < 1) {
    throw new LogError("Replay log header: checkpoint and trace intervals must be at least 1");
  }
  const ram = header.memory;
  if (!(ram >= GUEST_RAM_GRANULE && ram <= MAX_GUEST_RAM_BYTES && ram % GUEST_RAM_GRANULE === 0)) {
    throw new LogError(
      `Replay log header: guest RAM of ${ram} bytes is not a machine's (a multiple of 2 MiB up to 16 GiB)`,
    );
  }
  return { header, bytes: len };
}

/** Encodes an input record's payload. */
export function encodeInput(r: InputRecord): Uint8Array {
  const b = new Uint8Array(24 + r.state.length);
  const v = new DataView(b.buffer);
  v.setUint8(0, r.kind);
  v.setUint16(2, r.state.length, true);
  putU64(v, 8, r.icount);
  v.setBigUint64(16, BigInt.asUintN(64, r.value), true);
  b.set(r.state, 24);
  return b;
}

/** Encodes a trace record's payload from fine points. */
export function encodeTrace(points: FinePoint[]): Uint8Array {
  let n = 4;
  for (const p of points) n += POINT_FIXED_BYTES + 4 * p.pages.length;
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  v.setUint32(0, points.length, true);
  let o = 4;
  for (const p of points) {
    putU64(v, o, p.icount);
    v.setUint8(o + 8, p.kind);
    v.setUint8(o + 9, p.memory ? POINT_FLAG_MEMORY : 0);
    v.setUint32(o + 12, p.pages.length / 2, true);
    for (let i = 0; i < 32; i++) v.setUint32(o + 16 + 4 * i, p.gpr[i], true);
    v.setFloat64(o + 144, p.rip, true);
    v.setUint32(o + 152, p.rflags, true);
    o += POINT_FIXED_BYTES;
    for (let i = 0; i < p.pages.length; i++, o += 4) v.setUint32(o, p.pages[i], true);
  }
  return b;
}

/** Encodes a checkpoint record's payload. */
export function encodeCheckpoint(c: CheckpointRecord): Uint8Array {
  const b = new Uint8Array(CHECKPOINT_FIXED_BYTES + 4 * c.pages.length);
  const v = new DataView(b.buffer);
  putU64(v, 0, c.icount);
  b.set(bytesOfHex(c.digest, 32), 8);
  b.set(bytesOfHex(c.cpuHash, 32), 40);
  b.set(bytesOfHex(c.deviceHash, 32), 72);
  b.set(bytesOfHex(c.ramHash, 32), 104);
  v.setUint32(136, c.pages.length / 3, true);
  for (let i = 0; i < c.pages.length; i++) v.setUint32(CHECKPOINT_FIXED_BYTES + 4 * i, c.pages[i], true);
  return b;
}

/** Encodes an end record's payload (`records`: records written before it). */
export function encodeEnd(e: EndRecord, records: number): Uint8Array {
  const reason = new TextEncoder().encode(e.reason), message = new TextEncoder().encode(e.message);
  const b = new Uint8Array(52 + reason.length + message.length);
  const v = new DataView(b.buffer);
  putU64(v, 0, e.icount);
  v.setInt32(8, e.code, true);
  v.setUint32(12, records, true);
  b.set(bytesOfHex(e.machineDigest, 32), 16);
  v.setUint16(48, reason.length, true);
  v.setUint16(50, message.length, true);
  b.set(reason, 52);
  b.set(message, 52 + reason.length);
  return b;
}

/** Frames one record: 16-byte header (type, flags, length, index, CRC-32C) and the payload. */
export function frameRecord(type: number, index: number, payload: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, type, true);
  v.setUint16(2, flags, true);
  v.setUint32(4, payload.length, true);
  v.setUint32(8, index, true);
  out.set(payload, RECORD_HEADER_BYTES);
  v.setUint32(12, crc32c(payload, crc32c(out.subarray(0, 12))), true);
  return out;
}

/** Writes a log through a synchronous sink: the header at once, then records as they come. */
export class LogWriter {
  /** Records written so far. */
  records = 0;
  /** Bytes written so far. */
  bytes = 0;
  /** Whether the end record was written. */
  ended = false;
  readonly #sink: (chunk: Uint8Array) => void;

  /** Writes `header` to `sink` and returns a writer for the records. */
  constructor(sink: (chunk: Uint8Array) => void, header: Omit<LogHeader, "major" | "minor">) {
    this.#sink = sink;
    this.#emit(encodeLogHeader(header));
  }

  #emit(chunk: Uint8Array): void {
    this.#sink(chunk);
    this.bytes += chunk.length;
  }

  /** Writes one record. */
  write(type: number, payload: Uint8Array, flags = 0): void {
    if (this.ended) throw new Error("Cannot write a replay-log record after the end record");
    if (payload.length > LOG_MAX_RECORD_PAYLOAD) {
      throw new RangeError(`Replay-log record of ${payload.length} bytes exceeds the 256 MiB maximum`);
    }
    this.#emit(frameRecord(type, this.records++, payload, flags));
    if (type === LOG_RECORD_END) this.ended = true;
  }

  /** Writes an input record. */
  input(r: InputRecord): void {
    this.write(LOG_RECORD_INPUT, encodeInput(r));
  }

  /** Writes a trace record. */
  trace(points: FinePoint[]): void {
    if (points.length > 0) this.write(LOG_RECORD_TRACE, encodeTrace(points));
  }

  /** Writes a checkpoint record. */
  checkpoint(c: CheckpointRecord): void {
    this.write(LOG_RECORD_CHECKPOINT, encodeCheckpoint(c));
  }

  /** Writes a mark record. */
  mark(m: MarkRecord): void {
    const label = new TextEncoder().encode(m.label);
    const b = new Uint8Array(8 + label.length);
    putU64(new DataView(b.buffer), 0, m.icount);
    b.set(label, 8);
    this.write(LOG_RECORD_MARK, b, LOG_RECORD_FLAG_OPTIONAL);
  }

  /** Writes a snapshot record. */
  snapshot(sn: SnapshotRecord): void {
    const te = new TextEncoder();
    const names = sn.sections.map((x) => te.encode(x.name));
    let n = 16 + sn.pages.size * 4100;
    sn.sections.forEach((x, i) => (n += 12 + names[i].length + x.data.length));
    const b = new Uint8Array(n);
    const v = new DataView(b.buffer);
    putU64(v, 0, sn.icount);
    v.setUint32(8, sn.sections.length, true);
    v.setUint32(12, sn.pages.size, true);
    let o = 16;
    sn.sections.forEach((x, i) => {
      v.setUint16(o, names[i].length, true);
      v.setUint32(o + 4, x.version, true);
      v.setUint32(o + 8, x.data.length, true);
      b.set(names[i], o + 12);
      b.set(x.data, o + 12 + names[i].length);
      o += 12 + names[i].length + x.data.length;
    });
    for (const [pfn, page] of sn.pages) {
      v.setUint32(o, pfn, true);
      b.set(page, o + 4);
      o += 4100;
    }
    this.write(LOG_RECORD_SNAPSHOT, b, LOG_RECORD_FLAG_OPTIONAL);
  }

  /** Writes the end record. */
  end(e: EndRecord): void {
    this.write(LOG_RECORD_END, encodeEnd(e, this.records));
  }
}

/** A writer into memory; {@linkcode MemoryLog.bytes} joins what was written. */
export class MemoryLog {
  /** Chunks written. */
  readonly chunks: Uint8Array[] = [];
  /** The sink to hand to {@linkcode LogWriter}. */
  readonly sink = (c: Uint8Array): void => {
    this.chunks.push(c);
  };

  /** Everything written, as one array. */
  bytes(): Uint8Array {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

function decodeInput(p: Uint8Array, where: string): InputRecord {
  if (p.length < 24) throw new LogError(`Bad ${where}: payload of ${p.length} bytes, expected at least 24`);
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const stateLen = v.getUint16(2, true);
  if (24 + stateLen !== p.length) {
    throw new LogError(
      `Bad ${where}: ${p.length} bytes, expected ${24 + stateLen} for its ${stateLen}-byte state`,
    );
  }
  const kind = v.getUint8(0);
  if (kind < INPUT_RDRAND || kind > INPUT_SERIAL) {
    throw new LogError(`Bad ${where}: unknown input kind ${kind}`);
  }
  return { kind, icount: getU64(v, 8), value: v.getBigUint64(16, true), state: p.slice(24) };
}

function decodeTrace(p: Uint8Array, where: string, out: FinePoint[]): void {
  if (p.length < 4) throw new LogError(`Bad ${where}: payload of ${p.length} bytes, expected at least 4`);
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const n = v.getUint32(0, true);
  let o = 4;
  for (let k = 0; k < n; k++) {
    if (o + POINT_FIXED_BYTES > p.length) {
      throw new LogError(`Bad ${where}: fine point ${k} of ${n} overruns it`);
    }
    const pages = v.getUint32(o + 12, true);
    if (o + POINT_FIXED_BYTES + 8 * pages > p.length) {
      throw new LogError(`Bad ${where}: fine point ${k} of ${n} lists ${pages} pages past its end`);
    }
    const gpr = new Uint32Array(32);
    for (let i = 0; i < 32; i++) gpr[i] = v.getUint32(o + 16 + 4 * i, true);
    const pg = new Uint32Array(2 * pages);
    for (let i = 0; i < pg.length; i++) pg[i] = v.getUint32(o + POINT_FIXED_BYTES + 4 * i, true);
    const rip = v.getFloat64(o + 144, true);
    if (!Number.isInteger(rip) || Math.abs(rip) >= 2 ** 64) {
      throw new LogError(`Bad ${where}: fine point ${k} of ${n} has RIP ${rip}, not a 64-bit address`);
    }
    out.push({
      icount: getU64(v, o),
      kind: v.getUint8(o + 8),
      memory: (v.getUint8(o + 9) & POINT_FLAG_MEMORY) !== 0,
      gpr,
      rip,
      rflags: v.getUint32(o + 152, true),
      pages: pg,
    });
    o += POINT_FIXED_BYTES + 8 * pages;
  }
  if (o !== p.length) throw new LogError(`Bad ${where}: ${p.length - o} bytes after its ${n} fine points`);
}

function decodeCheckpoint(p: Uint8Array, where: string): CheckpointRecord {
  if (p.length < CHECKPOINT_FIXED_BYTES) {
    throw new LogError(
      `Bad ${where}: payload of ${p.length} bytes, expected at least ${CHECKPOINT_FIXED_BYTES}`,
    );
  }
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const n = v.getUint32(136, true);
  if (CHECKPOINT_FIXED_BYTES + 12 * n !== p.length) {
    throw new LogError(
      `Bad ${where}: ${p.length} bytes, expected ${CHECKPOINT_FIXED_BYTES + 12 * n} for ${n} pages`,
    );
  }
  const pages = new Uint32Array(3 * n);
  for (let i = 0; i < pages.length; i++) pages[i] = v.getUint32(CHECKPOINT_FIXED_BYTES + 4 * i, true);
  return {
    icount: getU64(v, 0),
    digest: hexOf(p.subarray(8, 40)),
    cpuHash: hexOf(p.subarray(40, 72)),
    deviceHash: hexOf(p.subarray(72, 104)),
    ramHash: hexOf(p.subarray(104, 136)),
    pages,
  };
}

function decodeSnapshot(p: Uint8Array, where: string): SnapshotRecord {
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const bad = (what: string) => new LogError(`Bad ${where}: ${what}`);
  if (p.length < 16) throw bad(`payload of ${p.length} bytes, expected at least 16`);
  const nSections = v.getUint32(8, true), nPages = v.getUint32(12, true);
  const sections: SnapshotRecord["sections"] = [];
  let o = 16;
  for (let i = 0; i < nSections; i++) {
    if (o + 12 > p.length) throw bad(`section ${i} of ${nSections} overruns it`);
    const nl = v.getUint16(o, true), version = v.getUint32(o + 4, true), dl = v.getUint32(o + 8, true);
    if (o + 12 + nl + dl > p.length) throw bad(`section ${i} of ${nSections} overruns it`);
    const name = new TextDecoder().decode(p.subarray(o + 12, o + 12 + nl));
    sections.push({ name, version, data: p.slice(o + 12 + nl, o + 12 + nl + dl) });
    o += 12 + nl + dl;
  }
  if (o + nPages * 4100 !== p.length) throw bad(`${p.length - o} bytes of pages, expected ${nPages * 4100}`);
  const pages = new Map<number, Uint8Array>();
  for (let i = 0; i < nPages; i++, o += 4100) pages.set(v.getUint32(o, true), p.subarray(o + 4, o + 4100));
  return { icount: getU64(v, 0), sections, pages };
}

function decodeEndRecord(p: Uint8Array, where: string): { end: EndRecord; records: number } {
  if (p.length < 52) throw new LogError(`Bad ${where}: payload of ${p.length} bytes, expected at least 52`);
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const rl = v.getUint16(48, true), ml = v.getUint16(50, true);
  if (52 + rl + ml !== p.length) {
    throw new LogError(`Bad ${where}: ${p.length} bytes, expected ${52 + rl + ml}`);
  }
  const td = new TextDecoder();
  return {
    end: {
      icount: getU64(v, 0),
      code: v.getInt32(8, true),
      machineDigest: hexOf(p.subarray(16, 48)),
      reason: td.decode(p.subarray(52, 52 + rl)),
      message: td.decode(p.subarray(52 + rl)),
    },
    records: v.getUint32(12, true),
  };
}

/**
 * Reads and checks a whole log: header, every record's length, CRC-32C and index, the layout of
 * every payload, the order of instruction counts, the end record's count, and that nothing follows
 * it. Throws a {@link LogError} with one line on the first problem.
 */
export function readLog(b: Uint8Array): ReplayLog {
  const { header, bytes } = decodeLogHeader(b);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const inputs: InputRecord[] = [], points: FinePoint[] = [], checkpoints: CheckpointRecord[] = [];
  const marks: MarkRecord[] = [];
  const snapshots: SnapshotRecord[] = [];
  let end: EndRecord | null = null;
  let off = bytes, index = 0, endCount = 0;
  while (end === null) {
    if (off === b.length) {
      throw new LogError(`Replay log truncated: no end record after ${index} records (offset ${off})`);
    }
    if (off + RECORD_HEADER_BYTES > b.length) {
      throw new LogError(
        `Replay log truncated: record ${index} header at offset ${off} has ${b.length - off} of 16 bytes`,
      );
    }
    const type = v.getUint16(off, true), flags = v.getUint16(off + 2, true);
    const len = v.getUint32(off + 4, true),
      seq = v.getUint32(off + 8, true),
      crc = v.getUint32(off + 12, true);
    const where = `record ${index} (${logRecordTypeName(type)}) at offset ${off}`;
    if (len > LOG_MAX_RECORD_PAYLOAD) {
      throw new LogError(`Bad ${where}: length ${len} exceeds the 256 MiB maximum`);
    }
    if (off + RECORD_HEADER_BYTES + len > b.length) {
      throw new LogError(
        `Replay log truncated in ${where}: payload has ${
          b.length - off - RECORD_HEADER_BYTES
        } of ${len} bytes`,
      );
    }
    const payload = b.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
    const computed = crc32c(payload, crc32c(b.subarray(off, off + 12)));
    if (computed !== crc) {
      throw new LogError(`CRC32C mismatch in ${where}: stored ${hex32(crc)}, computed ${hex32(computed)}`);
    }
    if (seq !== index) {
      throw new LogError(`Out-of-order ${where}: it carries index ${seq}, expected ${index}`);
    }
    switch (type) {
      case LOG_RECORD_INPUT:
        inputs.push(decodeInput(payload, where));
        break;
      case LOG_RECORD_TRACE:
        decodeTrace(payload, where, points);
        break;
      case LOG_RECORD_CHECKPOINT:
        checkpoints.push(decodeCheckpoint(payload, where));
        break;
      case LOG_RECORD_MARK: {
        if (payload.length < 8) {
          throw new LogError(`Bad ${where}: payload of ${payload.length} bytes, expected at least 8`);
        }
        const mv = new DataView(payload.buffer, payload.byteOffset, payload.length);
        marks.push({ icount: getU64(mv, 0), label: new TextDecoder().decode(payload.subarray(8)) });
        break;
      }
      case LOG_RECORD_SNAPSHOT:
        snapshots.push(decodeSnapshot(payload, where));
        break;
      case LOG_RECORD_END: {
        const e = decodeEndRecord(payload, where);
        end = e.end;
        endCount = e.records;
        break;
      }
      default:
        if ((flags & LOG_RECORD_FLAG_OPTIONAL) === 0) {
          throw new LogError(
            `Bad ${where}: unknown record type ${type} for version ${header.major}.${header.minor}`,
          );
        }
    }
    off += RECORD_HEADER_BYTES + len;
    index++;
  }
  if (off !== b.length) throw new LogError(`Replay log has ${b.length - off} bytes after its end record`);
  if (endCount !== index - 1) {
    throw new LogError(`Replay log end record counts ${endCount} records, but ${index - 1} came before it`);
  }
  const ordered = (xs: { icount: number }[], what: string) => {
    for (let i = 1; i < xs.length; i++) {
      if (xs[i].icount < xs[i - 1].icount) {
        throw new LogError(
          `Replay log ${what} ${i} at instruction ${xs[i].icount} comes before its predecessor`,
        );
      }
    }
    if (xs.length > 0 && xs[xs.length - 1].icount > end!.icount) {
      throw new LogError(`Replay log ${what} at instruction ${xs[xs.length - 1].icount} lies after the end`);
    }
  };
  ordered(inputs, "input");
  ordered(points, "fine point");
  ordered(checkpoints, "checkpoint");
  if (checkpoints.length === 0 || checkpoints[checkpoints.length - 1].icount !== end.icount) {
    throw new LogError("Replay log has no checkpoint at its end: it was not written to completion");
  }
  ordered(marks, "mark");
  ordered(snapshots, "snapshot");
  for (const sn of snapshots) {
    if (!checkpoints.some((c) => c.icount === sn.icount)) {
      throw new LogError(
        `Replay log snapshot at instruction ${sn.icount} has no checkpoint to check it against`,
      );
    }
  }
  return { header, inputs, points, checkpoints, marks, snapshots, end, records: index - 1 };
}

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return hexOf(b);
}

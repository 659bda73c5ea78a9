/**
 * The destination side: consume a migration stream or snapshot, verify all of it, and only then
 * build the destination VM, load its RAM and state.
 *
 * Verified before any VM exists: the header (magic, version, CRC, page size, RAM size, key), every
 * record's CRC, index and tag, every record's layout, that every guest page arrived (unless the
 * stream is a diff snapshot), that state section names are unique, that the end record's counts
 * match what arrived, and that nothing follows the end record. A stream that fails any check is
 * refused with a {@link StreamError} and `createVm` is never called, so nothing partial can run.
 *
 * @module
 */

import type { ByteSource } from "./byte_io.ts";
import { toSource } from "./byte_io.ts";
import type { RandomAccessSource } from "./lazy_ram.ts";
import { FileLazyRam, LazyPageIndex } from "./lazy_ram.ts";
import { decodeRamPages } from "./ram_pages.ts";
import { wallClockMs } from "./stats.ts";
import type { StreamHeader } from "./stream.ts";
import {
  decodeEnd,
  decodeRound,
  decodeSection,
  formatBytes,
  MAX_STATE_SECTION_BYTES,
  MAX_STATE_SECTIONS,
  RECORD_END,
  RECORD_FLAG_OPTIONAL,
  RECORD_RAM_PAGES,
  RECORD_ROUND,
  RECORD_STATE_SECTION,
  RECORD_VERIFY_PAGES,
  recordTypeName,
  STREAM_FLAG_AUTHENTICATED,
  STREAM_FLAG_DIFF,
  StreamError,
  StreamReader,
} from "./stream.ts";
import { DirectPages, PageStaging } from "./_staging.ts";
import type { LazyRam, MigratableVm, StateSection } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Options for {@link receiveStream}. */
export interface ReceiveOptions {
  /** Build the destination VM (fresh, all RAM zero) once the whole stream has verified. */
  createVm: (header: StreamHeader) => MigratableVm;
  /** HMAC key: when given, only a stream authenticated with it is accepted. */
  key?: CryptoKey;
  /** RAM size the destination is configured for; a stream for another size is refused. */
  expectRamBytes?: number;
  /**
   * Largest guest RAM the destination takes (default {@link DEFAULT_MAX_RAM_BYTES}); a stream for
   * more is refused after its header, before anything is allocated for its pages.
   */
  maxRamBytes?: number;
  /** For a diff snapshot: the VM to apply it onto (restored from the previous snapshots). */
  base?: MigratableVm;
  /**
   * Build the VM when the header has verified and write pages straight into it, instead of holding
   * them until the end (saves a copy and RAM-sized memory). The VM is still returned only after
   * full verification; a refused stream's VM is dropped and never runs. Default false.
   */
  direct?: boolean;
  /**
   * Restore lazily: verify the whole stream as always, but keep no page data; the VM resumes with its
   * RAM unloaded and loads each page from `lazy` (the same bytes, read again) on first touch (see
   * `lazy_ram.ts`). For a fresh VM from an unauthenticated full stream only. The result's
   * {@link ReceiveResult.lazy} then owns `lazy`; otherwise the caller keeps it.
   */
  lazy?: RandomAccessSource;
}

/** Default {@link ReceiveOptions.maxRamBytes}: 16 GiB, the largest `--memory` hvsim's machine takes. */
export const DEFAULT_MAX_RAM_BYTES = 16 * 2 ** 30;

/** What a successful receive produced. */
export interface ReceiveResult {
  /** The destination VM, loaded and ready to resume. */
  vm: MigratableVm;
  /** The stream header. */
  header: StreamHeader;
  /** Records read, including the end record. */
  records: number;
  /** Bytes read. */
  bytes: number;
  /** Page descriptors received (a page sent in several rounds counts each time). */
  pages: number;
  /** Pre-copy rounds announced by round records. */
  rounds: number;
  /** Names of the state sections restored, in stream order. */
  sections: string[];
  /**
   * Wall clock (ms since the epoch) when the last round record arrived: for a migration, the
   * stop-and-copy pass's, i.e. when this side learned that the source had paused. 0 without one.
   */
  lastRoundAtWallMs: number;
  /** Verify-pages records checked (0 unless the source asked for verification). */
  verifyRecords: number;
  /** For a lazy restore: the VM's RAM still to load (it owns the file until every page is in). */
  lazy?: LazyRam;
}

/** A destination that verified the stream but refused to take the VM (its restore threw). */
export class DestinationRefusedError extends Error {
  /** Create with the destination's reason. */
  constructor(message: string) {
    super(message);
    this.name = "DestinationRefusedError";
  }
}

/**
 * Receive a whole stream, verify it, then build and load the destination VM.
 * Throws {@link StreamError} for a bad stream and {@link DestinationRefusedError} when the VM
 * refuses the state; in both cases no VM is returned.
 */
export async function receiveStream(
  input: ByteSource | ReadableStream<Uint8Array> | Uint8Array,
  opts: ReceiveOptions,
): Promise<ReceiveResult> {
  const src = toSource(input);
  try {
    return await receiveInner(src, opts);
  } catch (e) {
    await src.cancel(e);
    throw e;
  }
}

async function receiveInner(src: ByteSource, opts: ReceiveOptions): Promise<ReceiveResult> {
  const reader = await StreamReader.open(src, { key: opts.key });
  const header = reader.header;
  const diff = (header.flags & STREAM_FLAG_DIFF) !== 0;
  const expect = opts.base?.ramBytes ?? opts.expectRamBytes;
  if (expect !== undefined && expect !== header.ramBytes) {
    throw new StreamError(
      `Stream is for ${formatBytes(header.ramBytes)} of RAM but the destination has ${formatBytes(expect)}`,
    );
  }
  const max = opts.maxRamBytes ?? DEFAULT_MAX_RAM_BYTES;
  if (header.ramBytes > max) {
    throw new StreamError(
      `Stream is for ${formatBytes(header.ramBytes)} of RAM: this destination takes at most ${
        formatBytes(max)
      }`,
    );
  }
  if (header.ramBytes === 0) {
    throw new StreamError("Stream is for 0 bytes of RAM: expected a guest's RAM size");
  }
  if (diff && !opts.base) {
    throw new StreamError(
      "Stream is a diff snapshot: restore its base snapshot first and apply it onto that VM",
    );
  }
  const pages = header.ramBytes / PAGE_SIZE;
  if (opts.lazy && opts.base) {
    throw new RangeError("A lazy restore builds a fresh VM: it cannot apply a stream onto a base VM");
  }
  if (opts.lazy && (header.flags & STREAM_FLAG_AUTHENTICATED) !== 0) {
    throw new StreamError(
      "Stream is authenticated (HMAC-SHA256): it cannot be restored lazily, as pages loaded later could " +
        "not be authenticated again; restore it without --lazy",
    );
  }
  let early: MigratableVm | undefined;
  if (opts.direct && !opts.base && !opts.lazy) {
    early = createVm(opts, header);
    checkRam(early, header);
  }
  const index = opts.lazy ? new LazyPageIndex(pages, opts.lazy) : undefined;
  const staging = index ??
    (early ? new DirectPages(early, pages) : new PageStaging(pages, src.retainsViews === true));
  const sections: StateSection[] = [];
  const names = new Set<string>();
  let descriptors = 0;
  let rounds = 0;
  let lastRoundAtWallMs = 0;
  let verified = 0;
  for (;;) {
    const rec = await reader.next();
    if (rec === null) break;
    switch (rec.type) {
      case RECORD_RAM_PAGES:
        descriptors += index ? index.addRecord(rec) : decodeRamPages(rec, pages, staging);
        break;
      case RECORD_STATE_SECTION: {
        const s = decodeSection(rec);
        if (sections.length === MAX_STATE_SECTIONS) {
          throw new StreamError(
            `Bad record ${rec.index} (state-section): more than ${MAX_STATE_SECTIONS} state sections`,
          );
        }
        if (s.data.length > MAX_STATE_SECTION_BYTES) {
          throw new StreamError(
            `Bad record ${rec.index} (state-section): section "${s.name}" is ${s.data.length} bytes, ` +
              `at most ${MAX_STATE_SECTION_BYTES}`,
          );
        }
        if (names.has(s.name)) {
          throw new StreamError(`Bad record ${rec.index} (state-section): section "${s.name}" appears twice`);
        }
        names.add(s.name);
        sections.push(s);
        break;
      }
      case RECORD_ROUND:
        decodeRound(rec);
        rounds++;
        lastRoundAtWallMs = wallClockMs();
        break;
      case RECORD_VERIFY_PAGES:
        descriptors += decodeRamPages(rec, pages, {
          zero(pfn) {
            if (!staging.matches(pfn, null, 0)) throw verifyError(pfn);
          },
          data(pfn, payload, offset) {
            if (!staging.matches(pfn, payload, offset)) throw verifyError(pfn);
          },
        });
        verified++;
        break;
      case RECORD_END: {
        const end = decodeEnd(rec);
        if (end.records !== rec.index || end.pages !== descriptors || end.sections !== sections.length) {
          throw new StreamError(
            `End record does not match the stream: it announces ${end.records} records, ${end.pages} pages, ` +
              `${end.sections} sections; received ${rec.index}, ${descriptors}, ${sections.length}`,
          );
        }
        break;
      }
      default:
        if ((rec.flags & RECORD_FLAG_OPTIONAL) === 0) {
          throw new StreamError(
            `Unknown mandatory record type ${rec.type} (record ${rec.index} at offset ${rec.offset}): ` +
              `this reader knows ${[1, 2, 3, 4, 5].map(recordTypeName).join(", ")}`,
          );
        }
    }
  }
  if (!(await src.atEnd())) {
    throw new StreamError(`Unexpected bytes after the end record at offset ${reader.offset}`);
  }
  if (!diff) {
    const missing = staging.state.indexOf(0);
    if (missing >= 0) {
      let received = 0;
      for (let i = 0; i < pages; i++) if (staging.state[i] !== 0) received++;
      throw new StreamError(
        `Stream is incomplete: page ${missing} never arrived (${received} of ${pages} pages received)`,
      );
    }
  }
  // Everything verified: only now build (or touch) the destination VM.
  let vm: MigratableVm;
  let lazy: FileLazyRam | undefined;
  if (early) vm = early;
  else if (index) {
    vm = createVm(opts, header);
    checkRam(vm, header);
    if (!vm.attachLazyRam) {
      throw new RangeError(
        "The destination VM cannot be restored lazily: it does not implement attachLazyRam",
      );
    }
    lazy = new FileLazyRam(index);
    vm.attachLazyRam(lazy);
  } else {
    vm = opts.base ?? createVm(opts, header);
    checkRam(vm, header);
    (staging as PageStaging).applyTo(vm, opts.base !== undefined);
  }
  try {
    vm.restoreState(sections);
  } catch (e) {
    lazy?.close();
    throw new DestinationRefusedError(`Destination refused the VM state: ${(e as Error).message}`);
  }
  return {
    vm,
    header,
    records: reader.records,
    bytes: reader.offset,
    pages: descriptors,
    rounds,
    lastRoundAtWallMs,
    sections: sections.map((s) => s.name),
    verifyRecords: verified,
    lazy,
  };
}

/** `opts.createVm`, its failure (e.g. a RAM size the VM cannot have) a refusal. */
function createVm(opts: ReceiveOptions, header: StreamHeader): MigratableVm {
  try {
    return opts.createVm(header);
  } catch (e) {
    throw new DestinationRefusedError(`Destination cannot build the VM: ${(e as Error).message}`);
  }
}

function checkRam(vm: MigratableVm, header: StreamHeader): void {
  if (vm.ramBytes !== header.ramBytes) {
    throw new DestinationRefusedError(
      `Destination VM has ${formatBytes(vm.ramBytes)} of RAM but the stream is for ${
        formatBytes(header.ramBytes)
      }`,
    );
  }
}

function verifyError(pfn: number): StreamError {
  return new StreamError(
    `Verification failed: page ${pfn} as received differs from the source's final page ` +
      `(a guest write the dirty log missed?)`,
  );
}

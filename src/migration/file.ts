/**
 * Snapshot files: write a stopped VM to a file and restore it, full or diff.
 *
 * A snapshot is written to `<path>.partial` and renamed over `<path>` only once complete, so a
 * failed write never leaves a truncated snapshot behind or destroys the previous one. Restore reads
 * and verifies the whole file before any VM is built.
 *
 * @module
 */

import type { ByteSink } from "./byte_io.ts";
import { BlockReaderSource, writeAll } from "./byte_io.ts";
import type { MigrationController, MigrationResult, SnapshotOptions } from "./controller.ts";
import type { RandomAccessSource } from "./lazy_ram.ts";
import { fileRandomAccess } from "./lazy_ram.ts";
import type { ReceiveOptions, ReceiveResult } from "./receiver.ts";
import { receiveStream } from "./receiver.ts";
import type { MigrationTransport } from "./transport.ts";
import type { LazyRam } from "./vm_interface.ts";

/** Bytes gathered before one write to a snapshot file. */
const WRITE_BUFFER_BYTES = 4 << 20;

/** A transport into the file at `path` (via `<path>.partial`, renamed on success). */
export async function fileTransport(path: string): Promise<MigrationTransport> {
  const partial = `${path}.partial`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(partial, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new Error(`Cannot write snapshot ${path}: ${(e as Error).message}`);
  }
  let open = true;
  const closeFile = () => {
    if (open) {
      open = false;
      file.close();
    }
  };
  // Records are gathered into 4 MiB writes: a snapshot of mostly small records (zero pages, one
  // page per record) would otherwise cost one system call per record.
  const buf = new Uint8Array(WRITE_BUFFER_BYTES);
  let used = 0;
  const flush = async () => {
    if (used > 0) await writeAll(file, buf.subarray(0, used));
    used = 0;
  };
  const sink: ByteSink = {
    async write(chunk) {
      if (used + chunk.length > buf.length) await flush();
      if (chunk.length >= buf.length) await writeAll(file, chunk);
      else {
        buf.set(chunk, used);
        used += chunk.length;
      }
    },
    async close() {
      await flush();
      await file.syncData();
      closeFile();
    },
    async abort() {
      closeFile();
      await Deno.remove(partial).catch(() => {});
    },
  };
  return {
    sink,
    async confirm() {
      closeFile();
      await Deno.rename(partial, path);
    },
    abort: () => sink.abort(undefined),
  };
}

/** Write a snapshot of the controller's VM to `path` (see {@link MigrationController.snapshot}). */
export async function writeSnapshotFile(
  controller: MigrationController,
  path: string,
  opts: SnapshotOptions = {},
): Promise<MigrationResult> {
  return await controller.snapshot(await fileTransport(path), opts);
}

/** Options of {@link restoreSnapshotFiles}. */
export interface RestoreFileOptions extends Omit<ReceiveOptions, "lazy"> {
  /**
   * Resume before the full snapshot's pages are loaded: each loads from the file on first touch,
   * after the whole file has verified (see `lazy_ram.ts`). Diff snapshots are applied eagerly on
   * top. The file stays open until every page is loaded, or the result's `lazy.close()`.
   */
  lazy?: boolean;
}

/**
 * Restore a VM from a snapshot file, then apply any diff snapshot files in order. Each file is
 * verified in full before it touches a VM; a refused file rejects with its reason.
 */
export async function restoreSnapshotFiles(
  paths: string | string[],
  opts: RestoreFileOptions,
): Promise<ReceiveResult> {
  const list = typeof paths === "string" ? [paths] : paths;
  if (list.length === 0) throw new RangeError("No snapshot file given: expected a full snapshot, then diffs");
  let result: ReceiveResult | undefined;
  let lazyRam: LazyRam | undefined;
  for (const p of list) {
    const base = result?.vm ?? opts.base;
    const lazyHere = opts.lazy === true && base === undefined;
    let file: Deno.FsFile;
    let lazy: RandomAccessSource | undefined;
    try {
      file = await Deno.open(p, { read: true });
      // A second handle for the pages read back later, so its seeks never meet the stream's read-ahead.
      if (lazyHere) lazy = fileRandomAccess(await Deno.open(p, { read: true }), p);
    } catch (e) {
      throw new Error(`Cannot read snapshot ${p}: ${(e as Error).message}`);
    }
    try {
      // Read in 8 MiB blocks, one ahead. Written straight into a fresh VM (direct) or only indexed
      // (lazy), two blocks take turns; otherwise the whole file is read into one buffer and the
      // staged pages point into it (no copy).
      const retain = !((opts.direct || lazyHere) && base === undefined);
      const size = (await file.stat()).size;
      // A file smaller than a block is read in one block of its size (not 8 MiB for a small snapshot).
      const blockBytes = Math.min(8 << 20, Math.max(64 << 10, size + 1));
      const src = new BlockReaderSource(file, { retain, sizeHint: retain ? size : 0, blockBytes });
      const { lazy: _, ...rest } = opts;
      result = await receiveStream(src, { ...rest, base, lazy });
      if (result.lazy) {
        lazyRam = result.lazy; // it owns the second handle now
        lazy = undefined;
      }
    } catch (e) {
      lazyRam?.close(); // the base VM is dropped with its file
      (e as Error).message = `${p}: ${(e as Error).message}`;
      throw e;
    } finally {
      file.close();
      lazy?.close();
    }
  }
  return { ...result!, lazy: lazyRam };
}

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
import type { ReceiveOptions, ReceiveResult } from "./receiver.ts";
import { receiveStream } from "./receiver.ts";
import type { MigrationTransport } from "./transport.ts";

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
  const sink: ByteSink = {
    write: (chunk) => writeAll(file, chunk),
    async close() {
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

/**
 * Restore a VM from a snapshot file, then apply any diff snapshot files in order. Each file is
 * verified in full before it touches a VM; a refused file rejects with its reason.
 */
export async function restoreSnapshotFiles(
  paths: string | string[],
  opts: ReceiveOptions,
): Promise<ReceiveResult> {
  const list = typeof paths === "string" ? [paths] : paths;
  if (list.length === 0) throw new RangeError("No snapshot file given: expected a full snapshot, then diffs");
  let result: ReceiveResult | undefined;
  for (const p of list) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(p, { read: true });
    } catch (e) {
      throw new Error(`Cannot read snapshot ${p}: ${(e as Error).message}`);
    }
    try {
      const base = result?.vm ?? opts.base;
      // Read in 8 MiB blocks, one ahead. Written straight into a fresh VM (direct), two blocks
      // take turns; otherwise the whole file is read into one buffer and the staged pages point
      // into it (no copy).
      const retain = !(opts.direct && base === undefined);
      const src = new BlockReaderSource(file, { retain, sizeHint: retain ? (await file.stat()).size : 0 });
      result = await receiveStream(src, { ...opts, base });
    } catch (e) {
      (e as Error).message = `${p}: ${(e as Error).message}`;
      throw e;
    } finally {
      file.close();
    }
  }
  return result!;
}

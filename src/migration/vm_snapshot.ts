/**
 * Snapshots of a whole VM in one call: write one to a file (full or diff), restore a chain of
 * them into a VM, print one record by record.
 *
 * @module
 */

import type { MigratableVm } from "./vm_interface.ts";
import { MigrationController } from "./controller.ts";
import { restoreSnapshotFiles, writeSnapshotFile } from "./file.ts";
import { inspectStream, type InspectSummary } from "./inspect.ts";
import type { ReceiveResult } from "./receiver.ts";
import { type Destination, factory, report, type VmMigrationResult } from "./vm_migration.ts";

/** Write a snapshot of `vm` (not running) to `path`; `diff` needs the same controller across calls. */
export async function snapshotToFile(
  vm: MigratableVm | MigrationController,
  path: string,
  opts: { key?: CryptoKey; diff?: boolean } = {},
): Promise<VmMigrationResult> {
  const c = vm instanceof MigrationController ? vm : new MigrationController(vm);
  return report(await writeSnapshotFile(c, path, { key: opts.key, diff: opts.diff }));
}

/**
 * Restore `paths` (a full snapshot, then diffs) into `destination`; rejects with the file and reason.
 * With `lazy`, the full snapshot's pages load from its file on first touch (see `restoreSnapshotFiles`).
 */
export async function restoreFromFiles(
  destination: Destination,
  paths: string | string[],
  opts: { key?: CryptoKey; expectRamBytes?: number; lazy?: boolean } = {},
): Promise<ReceiveResult> {
  return await restoreSnapshotFiles(paths, {
    createVm: factory(destination),
    key: opts.key,
    expectRamBytes: opts.expectRamBytes,
    lazy: opts.lazy,
  });
}

/** Print a stream or snapshot file record by record (see `inspectStream`). */
export async function inspectFile(
  path: string,
  opts: { key?: CryptoKey; write?: (line: string) => void; summaryOnly?: boolean } = {},
): Promise<InspectSummary> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
  return await inspectStream(bytes, opts);
}

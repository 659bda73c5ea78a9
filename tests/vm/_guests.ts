/**
 * The sample guest runs of guests/manifest.json for the VM tests, and the check that two machines
 * ended the same run.
 */

import assert from "node:assert/strict";
import { type GuestRun, readManifest, REPO_ROOT } from "../../guests/build.ts";
import { migrateInProcess } from "../../src/migration/mod.ts";
import { Machine, parseSize } from "../../src/vm/mod.ts";

/** Every run of guests/manifest.json (read and validated once). */
export const SAMPLE_RUNS: GuestRun[] = (await readManifest()).runs;

/** A fresh machine for `run` each call: its ELF (read once), RAM size and command line. */
export function guestMaker(run: GuestRun): () => Machine {
  const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
  return () => Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline: run.cmdline }, run.name);
}

/** `d` ended where `ref` did: exit, retired instructions, console output and digest. */
export function assertSameEnd(d: Machine, ref: Machine, what: string): void {
  assert.deepEqual(d.exit, ref.exit, what);
  assert.equal(d.instructions, ref.instructions, what);
  assert.equal(d.consoleText(), ref.consoleText(), what);
  assert.equal(d.digest(), ref.digest(), what);
}

/** `src` migrated in process with the switchover at exactly `stopAt` instructions: the destination. */
export async function migrateAt(src: Machine, stopAt: number): Promise<Machine> {
  const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
    stopAt,
    bandwidth: 1e9,
  });
  assert.ok(r.ok, r.error);
  const d = r.destination as Machine;
  assert.equal(d.instructions, stopAt);
  return d;
}

/**
 * `deno task vmcs`: prints the VMCS field table as TSV (encoding, name, width, type, offset);
 * `deno task vmcs --dump <file>` decodes a saved 4 KiB VMCS region field by field.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { HVSIM_VMCS_REVISION } from "../vmx/capabilities.ts";
import { VMCS_REGION_SIZE } from "../vmx/fields.ts";
import { decodeVmcsRegion, formatFieldTable, formatVmcsDump } from "../vmx/vmcs_dump.ts";
import { receiveStream } from "../migration/receiver.ts";
import { STREAM_MAGIC } from "../migration/stream.ts";
import type { MigratableVm, StateSection } from "../migration/vm_interface.ts";
import { readInput, runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task vmcs [--dump FILE [--nonzero] [--any-revision]]

Without options, prints hvsim's VMCS field table as TSV: encoding, name, width (16, 32, 64,
64-high, natural), type (control, exit-info, guest, host) and the byte offset of the field's data
in the 4 KiB VMCS region (KVM vmcs12 offsets; hvsim's own from 1024).

Options:
  --dump FILE        decode a saved VMCS field by field: a raw 4096-byte region, or the VMCS
                     section of a snapshot file (deno task snapshot)
  --nonzero          with --dump, print only fields whose value is not 0
  --any-revision     with --dump, decode even if the revision identifier is not hvsim's
  -h, --help         this text

Exit status: 0 on success, 2 for bad input.`;

/** Writes to stdout; a closed pipe (e.g. `| head`) ends output quietly. */
function writeOut(text: string): void {
  try {
    const bytes = new TextEncoder().encode(text);
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

/** The `vmcs` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dump: { type: "string" },
      nonzero: { type: "boolean", default: false },
      "any-revision": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see --help)`);
  if (values.dump === undefined) {
    if (values.nonzero || values["any-revision"]) {
      throw new UsageError("--nonzero and --any-revision need --dump FILE");
    }
    writeOut(formatFieldTable());
    return 0;
  }
  const path = values.dump;
  writeOut(await dumpVmcs(readInput(path, "VMCS file"), path, values));
  return 0;
}

/**
 * What `vmcs --dump` prints for the bytes of `path`: a 4 KiB VMCS region, or the VMCS section of a
 * snapshot or stream. Throws a {@link UsageError} with one line for anything else.
 */
export async function dumpVmcs(
  bytes: Uint8Array,
  path: string,
  opts: { nonzero?: boolean; "any-revision"?: boolean } = {},
): Promise<string> {
  let region = bytes;
  if (
    region.length >= 4 && new DataView(region.buffer, region.byteOffset).getUint32(0, true) === STREAM_MAGIC
  ) {
    region = await vmcsFromSnapshot(region, path);
  }
  if (region.length !== VMCS_REGION_SIZE) {
    throw new UsageError(
      `${path} is ${region.length} bytes: expected a ${VMCS_REGION_SIZE}-byte VMCS region`,
    );
  }
  const dump = decodeVmcsRegion(region);
  if (dump.revisionId !== HVSIM_VMCS_REVISION && !opts["any-revision"]) {
    throw new UsageError(
      `${path} has VMCS revision 0x${dump.revisionId.toString(16)}: expected hvsim's 0x${
        HVSIM_VMCS_REVISION.toString(16)
      } (use --any-revision to decode it anyway)`,
    );
  }
  return formatVmcsDump(dump, opts.nonzero === true);
}

/**
 * The VMCS region saved in a snapshot or migration stream file (its "vmcs" state section), read
 * and verified by the migration receiver.
 */
export async function vmcsFromSnapshot(bytes: Uint8Array, path: string): Promise<Uint8Array> {
  let sections: StateSection[] = [];
  const capture: MigratableVm = {
    ramBytes: 0,
    instructions: 0,
    finished: false,
    run() {},
    takeDirtyLog: () => new Uint32Array(0),
    setDirtyTracking() {},
    readPage() {},
    writePage() {},
    saveState: () => sections,
    restoreState(s) {
      sections = s;
    },
    setThrottle() {},
  };
  try {
    await receiveStream(bytes, {
      createVm: (h) => Object.assign(capture, { ramBytes: h.ramBytes }),
      direct: true,
    });
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message}`);
  }
  const vmcs = sections.find((s) => s.name === "vmcs");
  if (vmcs === undefined) throw new UsageError(`${path} is a snapshot without a "vmcs" state section`);
  return vmcs.data;
}

if (import.meta.main) runCli("vmcs", () => main(Deno.args));

/**
 * `deno task restore FILE [DIFF...]`: verify a snapshot (then any diff snapshots), build a machine
 * from it, and run the guest on to its end, reporting as `run` does.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DestinationRefusedError, type ReceiveResult, StreamError } from "../migration/mod.ts";
import { Machine } from "../vm/mod.ts";
import { parseCount, runCli, UsageError } from "./_common.ts";
import { finish, guestStatus, loadKey, machineReport } from "./_migrate_common.ts";
import { restoreFromFiles } from "../migration/mod.ts";
import { GDB_HELP, GDB_OPTIONS, runUnderGdb } from "./_gdb.ts";

const HELP = `Usage: deno task restore <snapshot> [diff-snapshot...] [options]

Reads and verifies the whole snapshot (magic, version, every record's CRC32C, the end record, every
page present) before it builds a machine, then runs the guest on from where it was saved and prints
its console output, or with --json one object as "run --json" does. A damaged or foreign file is
refused with one line saying what is wrong.

Options:
  --lazy                   resume before RAM is loaded: after the whole file has verified, each page
                           loads from it when the guest first touches it (as Firecracker maps its
                           memory file); the file must stay unchanged until the guest ends
  --key-file FILE          the key an authenticated snapshot was written with (not with --lazy)
  --max-instructions N     stop after N retired instructions in total
  --json                   one JSON object (exit, instructions, console, digest, regs, exits)
${GDB_HELP}
  -h, --help               this text

Exit status: as "run" (the guest's debug-exit code, ...); 2 for bad input or a refused snapshot.`;

/** The `restore` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "key-file": { type: "string" },
      lazy: { type: "boolean", default: false },
      "max-instructions": { type: "string" },
      json: { type: "boolean", default: false },
      ...GDB_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values["gdb-wait"] && values.gdb === undefined) {
    throw new UsageError("--gdb-wait needs --gdb HOST:PORT");
  }
  if (values.gdb !== undefined && values["max-instructions"] !== undefined) {
    throw new UsageError(
      "--max-instructions cannot be combined with --gdb (the debugger decides where to stop)",
    );
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("expected a snapshot file (see --help)");
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const key = await loadKey(values["key-file"]);
  let m: Machine;
  let restored: ReceiveResult;
  try {
    restored = await restoreFromFiles((h) => new Machine({ memory: h.ramBytes }), positionals, {
      key,
      lazy: values.lazy,
    });
    m = restored.vm as Machine;
  } catch (e) {
    if (
      e instanceof StreamError || e instanceof DestinationRefusedError ||
      /^Cannot read snapshot/.test((e as Error).message)
    ) {
      throw new UsageError((e as Error).message);
    }
    throw e;
  }
  const from = m.instructions;
  let exit;
  let report;
  try {
    exit = values.gdb !== undefined
      ? (await runUnderGdb(m, values.gdb, values["gdb-wait"]!, !values.json)).exit
      : finish(m, max);
    report = values.json ? { ...machineReport(m, exit), restoredAt: from } : undefined;
  } catch (e) {
    // A lazy restore's file changed under the running guest: it stopped rather than run on.
    if (e instanceof StreamError) throw new UsageError(e.message);
    throw e;
  } finally {
    restored.lazy?.close();
  }
  if (report) console.log(JSON.stringify(report, null, 2));
  else {
    if (values.gdb === undefined) Deno.stdout.writeSync(m.console.output());
    console.error(`[hvsim] restored at ${from} instructions; ${exit.reason}, ${m.instructions} instructions`);
  }
  return guestStatus(exit);
}

if (import.meta.main) runCli("restore", () => main(Deno.args));

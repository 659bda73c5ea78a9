/**
 * `deno task snapshot <guest.elf> --at N --out FILE`: run a guest to N retired instructions and
 * write a snapshot (the migration stream format) of the stopped machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatBytes } from "../migration/mod.ts";
import { Machine } from "../vm/mod.ts";
import { parseCount, parseMemory, readInput, runCli, UsageError } from "./_common.ts";
import { loadKey } from "./_migrate_common.ts";
import { snapshotToFile } from "./migrate_core.ts";

const HELP = `Usage: deno task snapshot <guest.elf> --out FILE [options]

Runs the guest to --at retired instructions (or its end), then writes a snapshot of the machine:
all of RAM (zero pages as a flag) and every state section, in the stream format that migrate uses.
Restore it with "deno task restore FILE"; look into it with "deno task inspect FILE".

Options:
  --out FILE               snapshot file to write (written as FILE.partial, renamed when complete)
  --at N                   retired instructions to run first (default 0; k, M, G suffixes)
  --memory SIZE            guest RAM (default 64M)
  --cmdline TEXT           guest command line (default empty)
  --key-file FILE          authenticate the snapshot with HMAC-SHA256
  --json                   print the snapshot statistics as JSON
  -h, --help               this text

Exit status: 0 when the snapshot was written; 2 for bad input; 3 when writing failed.`;

/** The `snapshot` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      at: { type: "string", default: "0" },
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      "key-file": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one guest ELF file (see --help)");
  if (!values.out) throw new UsageError("expected --out FILE for the snapshot");
  const memory = parseMemory(values.memory!);
  const at = parseCount(values.at!, "--at");
  const key = await loadKey(values["key-file"]);
  const path = positionals[0];
  const m = Machine.fromElf(readInput(path, "guest"), { memory, cmdline: values.cmdline }, path);
  if (at > 0) m.run(at);
  const r = await snapshotToFile(m, values.out, { key });
  if (values.json) {
    console.log(JSON.stringify({ ok: r.ok, error: r.error, at: m.instructions, ...r.json }, null, 2));
  }
  if (!r.ok) {
    console.error(`snapshot: cannot write ${values.out}: ${r.error}`);
    return 3;
  }
  if (!values.json) {
    console.error(
      `[hvsim] snapshot of ${path} at ${m.instructions} instructions written to ${values.out}: ` +
        `${
          formatBytes(r.stats.transferred)
        } (${r.stats.normal} pages with data, ${r.stats.duplicate} zero pages, ` +
        `${r.stats.stateBytes} bytes of state)`,
    );
  }
  return 0;
}

if (import.meta.main) runCli("snapshot", () => main(Deno.args));

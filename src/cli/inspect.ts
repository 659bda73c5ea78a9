/**
 * `deno task inspect FILE`: print a migration stream or snapshot record by record.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runCli, UsageError } from "./_common.ts";
import { loadKey } from "./_migrate_common.ts";
import { inspectFile } from "../migration/mod.ts";

const HELP = `Usage: deno task inspect <file> [options]

Prints the header of a migration stream or snapshot (version, page size, RAM size, flags), then each
record: index, offset, type, length, CRC32C status (and tag status with --key-file) and a summary
(pages and zero pages, section name and version, round, end counts). Damaged records are reported and
reading goes on as far as the structure allows.

Options:
  --key-file FILE          check the HMAC-SHA256 tags of an authenticated stream
  --summary                only the header, damaged records and the summary line
  -h, --help               this text

Exit status: 0 when every check passed, 1 when something is damaged, 2 for bad input.`;

/** The `inspect` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "key-file": { type: "string" },
      summary: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one stream or snapshot file (see --help)");
  const key = await loadKey(values["key-file"]);
  let ok: boolean;
  try {
    ok = (await inspectFile(positionals[0], { key, summaryOnly: values.summary })).ok;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return ok ? 0 : 1;
}

if (import.meta.main) runCli("inspect", () => main(Deno.args));

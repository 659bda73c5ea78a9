/**
 * `deno task snapshot <guest.elf> --at N --out FILE`: run a guest to N retired instructions and
 * write a snapshot (the migration stream format) of the stopped machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ChainSnapshot } from "../migration/mod.ts";
import { buildSnapshotReport, formatBytes, MigrationController } from "../migration/mod.ts";
import { pageRuns } from "../migration/report.ts";
import {
  buildMachine,
  LINUX_HELP,
  LINUX_OPTIONS,
  parseCount,
  parseMemory,
  readGuest,
  runCli,
  UsageError,
} from "./_common.ts";
import { commandText, guestRegions, loadKey, writeReport } from "./_migrate_common.ts";
import { snapshotToFile } from "../migration/mod.ts";

const HELP = `Usage: deno task snapshot <guest.elf> --out FILE [options]

Runs the guest to --at retired instructions (or its end), then writes a snapshot of the machine:
all of RAM (zero pages as a flag) and every state section, in the stream format that migrate uses.
Restore it with "deno task restore FILE"; look into it with "deno task inspect FILE".

With --diff-at, the guest then runs on to each count in turn and a diff snapshot is written there,
FILE.1, FILE.2, ...: only the pages written since the previous snapshot (the EPT dirty log), and all
state. "deno task restore FILE FILE.1 FILE.2" restores the chain.

Options:
  --out FILE               snapshot file to write (written as FILE.partial, renamed when complete)
  --at N                   retired instructions to run first (default 0; k, M, G suffixes)
  --diff-at N[,N...]       then diff snapshots at these counts (increasing, above --at)
  --memory SIZE            guest RAM (default 64M)
  --cmdline TEXT           guest command line (default empty)
${LINUX_HELP}
  --key-file FILE          authenticate the snapshot with HMAC-SHA256
  --json                   print the snapshot statistics as JSON (a diff snapshot's "page-runs":
                           [first page, pages, 1] for the pages it holds)
  --report FILE            write an HTML report of the chain: pages per snapshot, and a heat map of
                           memory coloured by how many diff snapshots held each page
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
      "diff-at": { type: "string" },
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      ...LINUX_OPTIONS,
      "key-file": { type: "string" },
      json: { type: "boolean", default: false },
      report: { type: "string" },
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
  const diffAt = parseDiffPoints(values["diff-at"], at);
  const key = await loadKey(values["key-file"]);
  const path = positionals[0];
  const guest = readGuest(path, values);
  const m = buildMachine(guest, { memory });
  // One controller for the chain: a diff snapshot sends what the guest wrote since the previous one.
  const c = new MigrationController(m);
  const diff = diffAt.length > 0;
  const written: Record<string, unknown>[] = [];
  const chain: ChainSnapshot[] = [];
  for (let k = 0; k <= diffAt.length; k++) {
    const target = k === 0 ? at : diffAt[k - 1];
    if (target > m.instructions) m.run(target - m.instructions);
    const file = k === 0 ? values.out : `${values.out}.${k}`;
    const r = await snapshotToFile(c, file, { key, diff });
    const pagesHeld = k > 0 && r.stats.pageDirtyRounds.length > 0
      ? { "page-runs": pageRuns(r.stats.pageDirtyRounds) }
      : {};
    written.push({ ok: r.ok, error: r.error, file, at: m.instructions, ...r.json, ...pagesHeld });
    chain.push({ stats: r.stats, file, at: m.instructions });
    if (!r.ok) {
      if (values.json) console.log(JSON.stringify(diff ? written : written[0], null, 2));
      console.error(`snapshot: cannot write ${file}: ${r.error}`);
      return 3;
    }
    if (!values.json) {
      console.error(
        `[hvsim] ${k === 0 ? "snapshot" : "diff snapshot"} of ${path} at ${m.instructions} instructions ` +
          `written to ${file}: ${formatBytes(r.stats.transferred)} (${r.stats.normal} pages with data, ` +
          `${r.stats.duplicate} zero pages, ${r.stats.stateBytes} bytes of state)`,
      );
    }
  }
  if (values.report !== undefined) {
    writeReport(
      values.report,
      buildSnapshotReport(chain, {
        guestName: path,
        cmdline: guest.cmdline,
        command: commandText("snapshot", args),
        regions: guestRegions(guest, m),
      }),
    );
  }
  if (values.json) console.log(JSON.stringify(diff ? written : written[0], null, 2));
  return 0;
}

/** The counts of `--diff-at`: increasing, each above `at`. */
function parseDiffPoints(text: string | undefined, at: number): number[] {
  if (text === undefined) return [];
  const points = text.split(",").map((t) => parseCount(t.trim(), "--diff-at"));
  let prev = at;
  for (const p of points) {
    if (p <= prev) {
      throw new UsageError(
        `bad --diff-at "${text}": each count must be above the one before it (and above --at ${at})`,
      );
    }
    prev = p;
  }
  return points;
}

if (import.meta.main) runCli("snapshot", () => main(Deno.args));

/**
 * `deno task migrate-sweep <guest.elf> [--from N] [--to N] [--step N] [--backend js|wasm]`: migrates the guest at every
 * `step`-th instruction boundary in [from, to] (default: every boundary of the whole run) and checks
 * each destination ends equal to the run that never moved; `--backend wasm` runs both sides on the
 * WebAssembly backend. A long sweep, kept out of the test suite.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Machine } from "../vm/mod.ts";
import { migrateInProcess } from "../migration/mod.ts";
import { parseCount, parseMemory, readInput, runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task migrate-sweep <guest.elf> [options]

Migrates the guest (in one process, deterministic link) at every --step-th retired-instruction
count from --from to --to, runs each destination to the end, and checks digest, console output,
exit and instruction count against the unmigrated run. Prints one line per failing point and a
summary; exits 1 if any point differs.

Options:
  --memory SIZE        guest RAM (default 64M)
  --cmdline TEXT       guest command line
  --from N             first switchover point (default 1)
  --to N               last switchover point (default: the run's length)
  --step N             distance between points (default 1)
  --max-instructions N stop every run there (default: run to the end)
  --backend js|wasm    the compiler hot code goes to, in the source and the destination (default js;
                       wasm: the WebAssembly backend, so that points fall inside compiled regions)
  -h, --help           this text`;

/** The `migrate-sweep` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      from: { type: "string", default: "1" },
      to: { type: "string" },
      step: { type: "string", default: "1" },
      "max-instructions": { type: "string" },
      backend: { type: "string", default: "js" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one guest ELF file (see --help)");
  const elf = readInput(positionals[0], "guest");
  const memory = parseMemory(values.memory!);
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const backend = values.backend;
  if (backend !== "js" && backend !== "wasm") throw new UsageError("--backend must be js or wasm");
  const make = () => Machine.fromElf(elf, { memory, cmdline: values.cmdline, backend }, positionals[0]);
  const ref = make();
  ref.runToEnd(max);
  const from = parseCount(values.from!, "--from");
  const to = values.to === undefined ? ref.instructions : parseCount(values.to, "--to");
  const step = parseCount(values.step!, "--step");
  if (step < 1) throw new UsageError("--step must be at least 1");
  if (from < 1 || to > ref.instructions || from > to) {
    throw new UsageError(`--from/--to must lie in 1..${ref.instructions} (the run's length) with from <= to`);
  }
  let points = 0, bad = 0;
  const t0 = performance.now();
  for (let at = from; at <= to; at += step) {
    const r = await migrateInProcess(make(), (h) => new Machine({ memory: h.ramBytes, backend }), {
      stopAt: at,
    });
    points++;
    if (!r.ok) {
      bad++;
      console.log(`at ${at}: migration failed: ${r.error}`);
      continue;
    }
    const d = r.destination as Machine;
    d.runToEnd(max - d.instructions);
    const same = d.digest() === ref.digest() && d.consoleText() === ref.consoleText() &&
      d.instructions === ref.instructions && JSON.stringify(d.exit) === JSON.stringify(ref.exit);
    if (!same) {
      bad++;
      console.log(`at ${at}: destination differs (${d.instructions} instructions, digest ${d.digest()})`);
    }
  }
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`migrate-sweep: ${points} points from ${from} to ${to} step ${step}: ${bad} differ (${s} s)`);
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) runCli("migrate-sweep", () => main(Deno.args));

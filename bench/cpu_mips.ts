/**
 * Guest MIPS (retired instructions per second of wall time) on each benchmark guest of
 * guests/manifest.json (`--long`: on its long command line). Each guest runs once to warm the JIT
 * (not the long runs), then `repeat` timed times; the best run counts (the least disturbed by other
 * work on the machine).
 */

import { Machine, parseSize } from "../src/vm/mod.ts";

interface Run {
  name: string;
  elf: string;
  cmdline: string;
  memory: string;
  benchmark: boolean;
  longCmdline?: string;
}

/** One guest's result. */
export interface MipsResult {
  name: string;
  instructions: number;
  seconds: number;
  mips: number;
}

/**
 * Measures every benchmark guest (or those named in `only`); with `long`, on its long command line
 * (about ten times the work, so the warm-up of the compiled code in V8 is a small part).
 */
export function measureMips(repeat = 3, only?: string[], long = false): MipsResult[] {
  const root = new URL("../", import.meta.url);
  const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));
  const out: MipsResult[] = [];
  for (const run of manifest.runs as Run[]) {
    if (!run.benchmark || (only && !only.includes(run.name))) continue;
    const cmdline = long ? run.longCmdline ?? run.cmdline : run.cmdline;
    const elf = Deno.readFileSync(new URL(run.elf, root));
    let best = Infinity, instructions = 0;
    const first = long ? 0 : 1; // a long run is its own warm-up
    for (let k = 0; k < first + repeat; k++) {
      const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline }, run.name);
      const t0 = performance.now();
      m.runToEnd(5e9);
      const s = (performance.now() - t0) / 1000;
      instructions = m.instructions;
      if (k >= first && s < best) best = s;
    }
    out.push({ name: run.name, instructions, seconds: best, mips: instructions / best / 1e6 });
  }
  return out;
}

/** Prints `rows` as a table. */
export function printMips(rows: MipsResult[]): void {
  console.log("guest            instructions   seconds    MIPS");
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(16)} ${String(r.instructions).padStart(12)} ${r.seconds.toFixed(3).padStart(9)} ${
        r.mips.toFixed(1).padStart(7)
      }`,
    );
  }
}

if (import.meta.main) {
  const only = Deno.args.filter((a) => !a.startsWith("-"));
  const long = Deno.args.includes("--long");
  printMips(measureMips(long ? 1 : 2, only.length ? only : undefined, long));
}

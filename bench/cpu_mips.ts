/**
 * Guest MIPS (retired instructions per second of wall time) on each benchmark guest of
 * guests/manifest.json. Each guest runs once to warm the JIT, then `repeat` timed times; the
 * best run counts (the least disturbed by other work on the machine).
 */

import { Machine, parseSize } from "../src/vm/mod.ts";

interface Run {
  name: string;
  elf: string;
  cmdline: string;
  memory: string;
  benchmark: boolean;
}

/** One guest's result. */
export interface MipsResult {
  name: string;
  instructions: number;
  seconds: number;
  mips: number;
}

/** Measures every benchmark guest (or those named in `only`). */
export function measureMips(repeat = 3, only?: string[]): MipsResult[] {
  const root = new URL("../", import.meta.url);
  const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));
  const out: MipsResult[] = [];
  for (const run of manifest.runs as Run[]) {
    if (!run.benchmark || (only && !only.includes(run.name))) continue;
    const elf = Deno.readFileSync(new URL(run.elf, root));
    let best = Infinity, instructions = 0;
    for (let k = 0; k <= repeat; k++) {
      const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline: run.cmdline }, run.name);
      const t0 = performance.now();
      m.runToEnd(5e9);
      const s = (performance.now() - t0) / 1000;
      instructions = m.instructions;
      if (k > 0 && s < best) best = s;
    }
    out.push({ name: run.name, instructions, seconds: best, mips: instructions / best / 1e6 });
  }
  return out;
}

if (import.meta.main) {
  const only = Deno.args.filter((a) => !a.startsWith("-"));
  console.log("guest            instructions   seconds    MIPS");
  for (const r of measureMips(2, only.length ? only : undefined)) {
    console.log(
      `${r.name.padEnd(16)} ${String(r.instructions).padStart(12)} ${r.seconds.toFixed(3).padStart(9)} ${
        r.mips.toFixed(1).padStart(7)
      }`,
    );
  }
}

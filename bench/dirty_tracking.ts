/**
 * Cost of EPT dirty tracking on a store-heavy guest (memwrite: one byte per page of a 16 MiB
 * working set, 500 passes): wall time with tracking off, with tracking on (PML), and with
 * tracking on plus a harvest (take-and-clear) every `harvestEvery` instructions, as a migration
 * round would. Best of `repeat` runs each.
 */

import { Machine, parseSize } from "../src/vm/mod.ts";

/** One configuration's result. */
export interface TrackingResult {
  mode: string;
  seconds: number;
  instructions: number;
  harvests: number;
}

/** Runs memwrite under each tracking mode. */
export function measureTracking(repeat = 3, harvestEvery = 10_000_000): TrackingResult[] {
  const root = new URL("../", import.meta.url);
  const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));
  const run = manifest.runs.find((r: { name: string }) => r.name === "memwrite");
  const elf = Deno.readFileSync(new URL(run.elf, root));
  const out: TrackingResult[] = [];
  for (const mode of ["off", "on", "on+harvest"]) {
    let best = Infinity, instructions = 0, harvests = 0;
    for (let k = 0; k <= repeat; k++) {
      const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline: run.cmdline });
      if (mode !== "off") m.setDirtyTracking(true);
      const t0 = performance.now();
      harvests = 0;
      if (mode === "on+harvest") {
        while (m.run(harvestEvery) === null) {
          m.takeDirtyLog();
          harvests++;
        }
      } else m.runToEnd();
      const s = (performance.now() - t0) / 1000;
      instructions = m.instructions;
      if (k > 0 && s < best) best = s;
    }
    out.push({ mode, seconds: best, instructions, harvests });
  }
  return out;
}

if (import.meta.main) {
  const rows = measureTracking(2);
  const base = rows[0].seconds;
  console.log("memwrite, dirty tracking   seconds   overhead");
  for (const r of rows) {
    console.log(
      `${(r.mode + (r.harvests ? ` (${r.harvests} harvests)` : "")).padEnd(26)} ${
        r.seconds.toFixed(3).padStart(7)
      } ${((r.seconds / base - 1) * 100).toFixed(1).padStart(8)} %`,
    );
  }
}

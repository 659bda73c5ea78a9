/**
 * The CI sample of `deno task fuzz`: a few thousand seeded cases over every surface, in this
 * process. Every case must end in a correct run or a clean refusal; the long runs are
 * `deno task fuzz <surface> --cases 100000`.
 */
import { equal, ok } from "node:assert/strict";
import { caseInput, runCase } from "../../src/fuzz/cases.ts";
import { loadSurface, surfaceNames } from "../../src/fuzz/registry.ts";

/**
 * Cases per surface (the VMCS decoder is fast; the others build and run machines; a case of
 * `confirmation` is a whole TCP migration).
 */
const CASES: Record<string, number> = {
  "vmcs-dump": 1000,
  confirmation: 64,
  "linux-kernel": 150,
  "linux-initrd": 150,
};
const DEFAULT_CASES = 250;
const SEED = 20;

for (const name of surfaceNames()) {
  Deno.test(`fuzz sample: ${name} survives ${CASES[name] ?? DEFAULT_CASES} seeded cases`, async () => {
    const surface = await loadSurface(name);
    const corpus = await surface.corpus();
    const scratch = await Deno.makeTempDir();
    const counts = { accepted: 0, refused: 0, crash: 0 };
    const crashes: string[] = [];
    try {
      for (let i = 0; i < (CASES[name] ?? DEFAULT_CASES); i++) {
        const r = await runCase(surface, caseInput(surface, corpus, SEED, i), {
          scratch,
          maxInstructions: 5000,
        });
        counts[r.result]++;
        if (r.result === "crash" && crashes.length < 3) crashes.push(`case ${i}: ${r.detail}`);
      }
    } finally {
      surface.close?.();
      await Deno.remove(scratch, { recursive: true });
    }
    equal(counts.crash, 0, crashes.join("\n\n"));
    // the sample reaches both ends: mutated inputs refused, and inputs that got through and ran
    ok(counts.accepted > 0 && counts.refused > 0, JSON.stringify(counts));
  });
}

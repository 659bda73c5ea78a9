/** Record/replay round-trips every sample guest run of guests/manifest.json in full. */

import { replay } from "../../mod.ts";
import { REPO_ROOT } from "../../guests/build.ts";
import { parseSize } from "../../src/vm/mod.ts";
import { SAMPLE_RUNS } from "../vm/_guests.ts";

for (const run of SAMPLE_RUNS) {
  Deno.test(`guest ${run.name} recorded to its end replays to the same run`, () => {
    const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
    const rec = replay.recordGuest(elf, { memory: parseSize(run.memory), cmdline: run.cmdline });
    const rep = replay.replayGuest(rec.log!, elf);
    replay.assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
  });
}

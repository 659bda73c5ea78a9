/** Record/replay round-trips every sample guest run of guests/manifest.json in full (issue 7). */

import { replay } from "../../mod.ts";
import { parseSize } from "../../src/vm/mod.ts";

const root = new URL("../../", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));

for (const run of manifest.runs as { name: string; elf: string; memory: string; cmdline: string }[]) {
  Deno.test(`guest ${run.name} recorded to its end replays to the same run`, () => {
    const elf = Deno.readFileSync(new URL(run.elf, root));
    const rec = replay.recordGuest(elf, { memory: parseSize(run.memory), cmdline: run.cmdline });
    const rep = replay.replayGuest(rec.log!, elf);
    replay.assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
  });
}

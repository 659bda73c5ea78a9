/**
 * Every sample guest run of guests/manifest.json, migrated at several instruction counts (an exact
 * switchover with `stopAt`), ends equal to the same run that never moved: digest, console output,
 * exit and retired-instruction count. Long runs are compared a few million instructions after the
 * switchover, which keeps the suite fast; `deno task migrate-sweep` covers every point of a run.
 */

import { assertSameEnd, guestMaker, migrateAt, SAMPLE_RUNS } from "./_guests.ts";

/** Compare at most this many instructions past the switchover. */
const WINDOW = 2_000_000;

for (const run of SAMPLE_RUNS) {
  Deno.test(`guest ${run.name} migrated at three points ends equal to the unmigrated run`, async () => {
    const make = guestMaker(run);
    // Where the run ends, found cheaply: the reference below replays each window exactly.
    const probe = make();
    probe.runToEnd(3 * WINDOW);
    const length = probe.instructions;
    for (const stopAt of [1, Math.floor(length / 3) + 7, Math.floor((2 * length) / 3) + 13]) {
      const end = Math.min(length, stopAt + WINDOW);
      const ref = make();
      ref.run(end);
      const d = await migrateAt(make(), stopAt);
      d.run(end - d.instructions);
      assertSameEnd(d, ref, `${run.name} migrated at ${stopAt}, compared at ${end}`);
    }
  });
}

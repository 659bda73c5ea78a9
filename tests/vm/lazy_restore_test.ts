/**
 * Every sample guest run of guests/manifest.json, snapshotted part-way and restored lazily (pages
 * loaded from the file on first touch), ends equal to the same run that never stopped: digest,
 * console output, exit and retired-instruction count. A second hop migrates the lazily restored
 * machine on before all of its pages have loaded.
 */

import assert from "node:assert/strict";
import { MigrationController, restoreSnapshotFiles, writeSnapshotFile } from "../../src/migration/mod.ts";
import { Machine } from "../../src/vm/mod.ts";
import { assertSameEnd, guestMaker, migrateAt, SAMPLE_RUNS } from "./_guests.ts";

/** Compare at most this many instructions past the snapshot. */
const WINDOW = 2_000_000;

for (const run of SAMPLE_RUNS) {
  Deno.test(`guest ${run.name} restored lazily ends equal to the unmigrated run, also after a further hop`, async () => {
    const make = guestMaker(run);
    const probe = make();
    probe.runToEnd(3 * WINDOW);
    const at = Math.floor(probe.instructions / 2) + 3;
    const end = Math.min(probe.instructions, at + WINDOW);
    const ref = make();
    ref.run(end);
    const dir = await Deno.makeTempDir({ prefix: "hvsim-lazy-" });
    try {
      const src = make();
      src.run(at);
      // One page per record, so that every page loads alone, exactly when something first touches it.
      assert.ok(
        (await writeSnapshotFile(new MigrationController(src), `${dir}/s`, { pagesPerRecord: 1 })).ok,
      );
      for (const hop of [false, true]) {
        const r = await restoreSnapshotFiles(`${dir}/s`, {
          createVm: (h) => new Machine({ memory: h.ramBytes }),
          lazy: true,
        });
        let d = r.vm as Machine;
        const stored = r.lazy!.remaining;
        assert.ok(stored > 0, "pages wait in the file");
        d.run(Math.min(1000, end - at));
        const touched = stored - r.lazy!.remaining;
        assert.ok(
          touched > 0 && touched < stored,
          `${touched} of ${stored} pages loaded after 1000 instructions`,
        );
        if (hop) {
          d = await migrateAt(d, d.instructions + Math.floor((end - d.instructions) / 2));
        }
        d.run(end - d.instructions);
        assertSameEnd(
          d,
          ref,
          `${run.name} restored at ${at}${hop ? ", then migrated" : ""}, compared at ${end}`,
        );
        r.lazy!.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * End-to-end: every sample guest in guests/manifest.json runs under hvsim and prints exactly its
 * expected console output (from the native build of the same source, or reasoned by hand for
 * guests that cannot run natively) with its expected exit code.
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { guestMaker, SAMPLE_RUNS } from "./_guests.ts";

for (const run of SAMPLE_RUNS) {
  Deno.test(`guest ${run.name} prints its expected output under hvsim`, () => {
    const m = guestMaker(run)();
    const exit = m.runToEnd(2e9);
    const expected = Deno.readTextFileSync(`${REPO_ROOT}/${run.expected}`);
    assert.equal(m.consoleText(), expected);
    const reason = run.exitReason ?? "debug-exit";
    if (reason === "debug-exit") {
      assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason, code: run.exitCode });
    } else {
      assert.equal(exit.reason, reason, exit.message);
    }
  });
}

import { equal, ok, throws } from "node:assert/strict";
import type { MigrationState } from "../../src/migration/state.ts";
import { MIGRATION_STATES, MigrationStateMachine } from "../../src/migration/state.ts";

/** Drive a fresh machine along `path` (each step must be legal). */
function at(path: MigrationState[]): MigrationStateMachine {
  const m = new MigrationStateMachine();
  for (const s of path) m.transition(s);
  return m;
}

const PATHS: Record<MigrationState, MigrationState[]> = {
  Idle: [],
  Setup: ["Setup"],
  PreCopy: ["Setup", "PreCopy"],
  StopAndCopy: ["Setup", "PreCopy", "StopAndCopy"],
  Completing: ["Setup", "PreCopy", "StopAndCopy", "Completing"],
  Complete: ["Setup", "PreCopy", "StopAndCopy", "Completing", "Complete"],
  Failed: ["Setup", "Failed"],
  Cancelled: ["Setup", "PreCopy", "Cancelled"],
};

/** The legal transitions, written out from the design (not read from the table under test). */
const LEGAL = new Set([
  "Idle>Setup",
  "Setup>PreCopy",
  "Setup>StopAndCopy",
  "Setup>Failed",
  "Setup>Cancelled",
  "PreCopy>StopAndCopy",
  "PreCopy>Failed",
  "PreCopy>Cancelled",
  "StopAndCopy>Completing",
  "StopAndCopy>Failed",
  "StopAndCopy>Cancelled",
  "Completing>Complete",
  "Completing>Failed",
  "Complete>Setup",
  "Failed>Setup",
  "Failed>Idle",
  "Cancelled>Setup",
  "Cancelled>Idle",
]);

Deno.test("MigrationStateMachine allows exactly the legal transitions and names both states otherwise", () => {
  for (const from of MIGRATION_STATES) {
    for (const to of MIGRATION_STATES) {
      const m = at(PATHS[from]);
      equal(m.state, from);
      if (LEGAL.has(`${from}>${to}`)) {
        m.transition(to);
        equal(m.state, to);
      } else {
        throws(() => m.transition(to), {
          message: new RegExp(`^Illegal migration transition ${from} -> ${to}: `),
        });
        equal(m.state, from, "a refused transition changes nothing");
      }
    }
  }
});

Deno.test("MigrationStateMachine.fail() is refused from Complete (seed defect) and from Idle", () => {
  throws(() => at(PATHS.Complete).fail("late"), /Illegal migration transition Complete -> Failed/);
  throws(() => at([]).fail("nothing running"), /Idle -> Failed/);
  const m = at(PATHS.Completing);
  m.fail("destination vanished");
  equal(m.state, "Failed");
  equal(m.reason, "destination vanished");
});

Deno.test("MigrationStateMachine.cancel() is refused while Completing", () => {
  throws(() => at(PATHS.Completing).cancel(), /Completing -> Cancelled/);
  const m = at(PATHS.StopAndCopy);
  m.cancel("operator");
  equal(m.reason, "operator");
});

Deno.test("MigrationStateMachine runs a second migration after a failed one", () => {
  const m = at(["Setup", "PreCopy", "Failed"]);
  ok(m.reason === undefined);
  m.transition("Setup");
  for (const s of ["PreCopy", "StopAndCopy", "Completing", "Complete"] as const) m.transition(s);
  equal(m.state, "Complete");
});

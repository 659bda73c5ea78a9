/**
 * Instruction tests from the control tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/control.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts control`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("control", () => makeCpu());

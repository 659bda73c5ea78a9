/**
 * Instruction tests from the shift tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/shift.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts shift`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("shift", () => makeCpu());

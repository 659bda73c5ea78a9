/**
 * Instruction tests from the ud tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/ud.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts ud`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("ud", () => makeCpu());

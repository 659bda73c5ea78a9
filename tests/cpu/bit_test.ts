/**
 * Instruction tests from the bit tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/bit.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts bit`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("bit", () => makeCpu());

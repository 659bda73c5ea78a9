/**
 * Instruction tests from the mov tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/mov.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts mov`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("mov", () => makeCpu());

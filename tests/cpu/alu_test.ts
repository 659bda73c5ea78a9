/**
 * Instruction tests from the alu tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/alu.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts alu`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("alu", () => makeCpu());

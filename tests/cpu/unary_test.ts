/**
 * Instruction tests from the unary tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/unary.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts unary`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("unary", () => makeCpu());

/**
 * Instruction tests from the string tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/string.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts string`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("string", () => makeCpu());

/**
 * Instruction tests from the muldiv tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/muldiv.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts muldiv`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("muldiv", () => makeCpu());

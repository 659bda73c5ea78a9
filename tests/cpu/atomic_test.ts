/**
 * Instruction tests from the atomic tables of _tools/specs.ts, with outcomes recorded on the host CPU
 * (fixtures/atomic.jsonl; regenerate with `deno run -A tests/cpu/_tools/make_fixtures.ts atomic`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("atomic", () => makeCpu());

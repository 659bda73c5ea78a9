/**
 * Lazy flags across instructions: short sequences from the chain table of _tools/specs.ts, with
 * outcomes recorded on the host CPU (fixtures/chain.jsonl; regenerate with
 * `deno run -A tests/cpu/_tools/make_fixtures.ts chain`).
 */
import { fixtureTests } from "./_fixture.ts";
import { makeCpu } from "./_harness.ts";

fixtureTests("chain", () => makeCpu());

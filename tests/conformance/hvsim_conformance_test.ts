import assert from "node:assert/strict";
import { HvsimRunner } from "../../src/conformance/hvsim_runner.ts";
import { runConformance } from "../../src/conformance/session.ts";
import { HAVE_TOOLCHAIN, HAVE_UNICORN } from "./_util.ts";

// The seeded CI sample of at least 20,000 cases, hvsim against the host CPU (and Unicorn,
// with its known deviations), zero unexplained mismatches.
Deno.test({
  name: "runConformance() finds hvsim in agreement with the host CPU on 20,000 seeded cases",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const report = await runConformance({
      seed: 1,
      cases: 20000,
      runners: HAVE_UNICORN ? ["host", "unicorn", "hvsim"] : ["host", "hvsim"],
      extra: [new HvsimRunner()],
    });
    const bad = report.groups.filter((g) => !g.deviation).map((g) =>
      `${g.runner} ${g.form} (${g.count}): ${g.example.case.asm} [${g.example.case.bytes}] ` +
      g.example.diffs.map((d) => `${d.field} host=${d.a} ${g.runner}=${d.b}`).join(", ")
    );
    assert.deepEqual(
      bad,
      [],
      "unexplained mismatches (reproduce: deno task conformance --seed 1 --cases 20000)",
    );
  },
});

// The same sample through the block compiler: every case's block is compiled before it runs.
Deno.test({
  name:
    "runConformance() finds hvsim's compiled blocks in agreement with the host CPU on 20,000 seeded cases",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const report = await runConformance({
      seed: 2,
      cases: 20000,
      runners: ["host", "hvsim"],
      extra: [new HvsimRunner({ compileThreshold: 1 })],
    });
    const bad = report.groups.filter((g) => !g.deviation).map((g) =>
      `${g.runner} ${g.form} (${g.count}): ${g.example.case.asm} [${g.example.case.bytes}] ` +
      g.example.diffs.map((d) => `${d.field} host=${d.a} ${g.runner}=${d.b}`).join(", ")
    );
    assert.deepEqual(bad, [], "unexplained mismatches in compiled blocks");
  },
});

import assert from "node:assert/strict";
import { buildForms } from "../../src/conformance/forms.ts";
import { runConformance } from "../../src/conformance/session.ts";
import { HAVE_TOOLCHAIN, HAVE_UNICORN } from "./_util.ts";

Deno.test({
  name: "runConformance() finds the host CPU and Unicorn in agreement on every form, up to known deviations",
  ignore: !HAVE_TOOLCHAIN || !HAVE_UNICORN,
  async fn() {
    // One case per form (the generator goes round-robin over the shuffled forms), plus some.
    const cases = buildForms().length + 200;
    const report = await runConformance({ seed: 20261125, cases, runners: ["host", "unicorn"] });
    assert.equal(report.reference, "host");
    assert.equal(report.cases, cases);
    const unexplained = report.groups.filter((g) => !g.deviation);
    assert.deepEqual(
      unexplained.map((g) => `${g.form}: ${JSON.stringify(g.example.diffs)}`),
      [],
      "unexplained host/Unicorn mismatches",
    );
    assert.equal(report.unexplained, 0);
  },
});

Deno.test({
  name: "runConformance() rejects an unknown runner name",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    await assert.rejects(() => runConformance({ seed: 1, cases: 1, runners: ["host", "qemu"] }), RangeError);
  },
});

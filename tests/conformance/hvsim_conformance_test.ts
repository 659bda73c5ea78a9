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

// The same sample through the WebAssembly backend: every case's block compiled to wasm where it can
// be, else by the JavaScript compiler. A mismatch the JavaScript compiler shows on the same form is
// not the wasm backend's (its blocks went to that compiler), and the test above reports it.
Deno.test({
  name:
    "runConformance() finds hvsim's wasm-compiled blocks in agreement with the host CPU on 5,000 seeded cases",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const js = new HvsimRunner({ compileThreshold: 1, name: "hvsim-js" });
    const wasm = new HvsimRunner({ compileThreshold: 1, backend: "wasm", name: "hvsim-wasm" });
    const report = await runConformance({
      seed: 2,
      cases: 5000,
      runners: ["host", "hvsim-js", "hvsim-wasm"],
      extra: [js, wasm],
    });
    const jsForms = new Set(report.groups.filter((g) => g.runner === "hvsim-js").map((g) => g.form));
    const bad = report.groups.filter((g) => !g.deviation && g.runner === "hvsim-wasm" && !jsForms.has(g.form))
      .map((g) =>
        `${g.runner} ${g.form} (${g.count}): ${g.example.case.asm} [${g.example.case.bytes}] ` +
        g.example.diffs.map((d) => `${d.field} host=${d.a} ${g.runner}=${d.b}`).join(", ")
      );
    assert.deepEqual(bad, [], "unexplained mismatches in wasm-compiled blocks");
  },
});

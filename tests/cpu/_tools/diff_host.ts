/**
 * Developer tool: generates conformance cases (src/conformance generator), runs them on the host CPU
 * and on the interpreter, and prints every difference. Usage:
 *   deno run -A tests/cpu/_tools/diff_host.ts [--seed N] [--cases N] [--only add,shl,...]
 */
import { parseArgs } from "node:util";
import { generateCases } from "../../../src/conformance/generator.ts";
import { HostRunner } from "../../../src/conformance/host_runner.ts";
import { differences, makeCpu, runHostCase } from "../_case_runner.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string", default: "1" },
    cases: { type: "string", default: "2000" },
    only: { type: "string" },
  },
});
const cases = await generateCases({
  seed: Number(values.seed),
  cases: Number(values.cases),
  only: values.only?.split(","),
});
const host = await HostRunner.create();
const want = await host.run(cases);
const cpu = makeCpu();
let bad = 0;
const byForm = new Map<string, number>();
for (let k = 0; k < cases.length; k++) {
  const c = cases[k];
  let got;
  try {
    got = runHostCase(cpu, c);
  } catch (e) {
    console.log(`${c.id} ${c.asm} [${c.bytes}]: THROWS ${(e as Error).message.split("\n")[0]}`);
    bad++;
    continue;
  }
  const d = differences(c, want[k], got);
  if (d.length > 0) {
    bad++;
    byForm.set(c.form, (byForm.get(c.form) ?? 0) + 1);
    if ((byForm.get(c.form) ?? 0) <= 2) {
      console.log(`${c.id} ${c.asm} [${c.bytes}] flags=${c.rflags}: ${d.join("; ")}`);
    }
  }
}
console.log(
  `${cases.length} cases, ${bad} differ; forms: ${[...byForm].map(([f, n]) => `${f}=${n}`).join(" ")}`,
);

/**
 * `deno task conformance`: differential testing of hvsim's interpreter against the host CPU and
 * Unicorn. Prints mismatches per instruction form with a reproducer, or with `--json` one
 * JSON object. Exit status 1 when any mismatch is unexplained.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fromJsonLines, type TestCase, toJsonLines } from "../conformance/case.ts";
import { HvsimRunner } from "../conformance/hvsim_runner.ts";
import { formatReport } from "../conformance/report.ts";
import { runConformance } from "../conformance/session.ts";
import { byteStreams, compareLengths, interpreterRobustness } from "../conformance/lengths.ts";
import { generateCases } from "../conformance/generator.ts";
import { entryName, EXCLUDED_ENTRIES, tableCoverage } from "../conformance/table_coverage.ts";
import { Prng } from "../conformance/prng.ts";
import { hexToBytes } from "../conformance/case.ts";
import { parseCount, readInput, runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task conformance [options]

Generates single-instruction test cases, runs each on the host CPU (a gcc-built helper), under
Unicorn (python3-unicorn) and in hvsim's interpreter, and reports where they disagree. The host CPU
is the reference; where Unicorn alone differs in a documented way it is listed as a known deviation.

Options:
  --cases N          number of cases (default 2000; k, M suffixes allowed)
  --seed S           PRNG seed (default 1); the same seed and options give the same cases
  --only LIST        only these mnemonics, comma-separated (add, shl, jcc, setcc, movzx, ...)
  --runners LIST     runners to use, comma-separated, first is the reference (default host,unicorn,hvsim;
                     also hvsim-compiled: hvsim with every case run through the block compiler,
                     hvsim-wasm: the same through the WebAssembly backend)
  --cases-file FILE  run the cases in FILE (JSON lines) instead of generating
  --dump FILE        write the generated cases to FILE (JSON lines)
  --dump-mismatches FILE  write the cases with unexplained mismatches to FILE (JSON lines)
  --lengths N        instead: decode N random and mutated byte streams with objdump and hvsim's
                     decoder, compare instruction lengths, and run them in hvsim's interpreter
                     (no JavaScript error may escape); exit status 1 on a mismatch or an error
  --coverage         also list hvsim instruction-table entries the cases do not reach
  --json             print one JSON object instead of text
  -h, --help         this text

Needs gcc and GNU binutils (as, objcopy, nm, objdump); Unicorn: apt-get install -y python3-unicorn.
Exit status: 0 all agree (up to known Unicorn deviations and, against an AMD host, the Intel/AMD
differences of docs/intel_vs_amd.md), 1 unexplained mismatches, 2 bad input.`;

/** The `conformance` command. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cases: { type: "string", default: "2000" },
      seed: { type: "string", default: "1" },
      only: { type: "string" },
      runners: { type: "string" },
      "cases-file": { type: "string" },
      dump: { type: "string" },
      "dump-mismatches": { type: "string" },
      lengths: { type: "string" },
      coverage: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const cases = parseCount(values.cases, "--cases");
  if (cases < 1) throw new UsageError(`bad --cases "${values.cases}": expected at least 1`);
  const seed = parseCount(values.seed, "--seed");
  if (seed > 0xffffffff) throw new UsageError(`bad --seed "${values.seed}": expected 0 .. 4294967295`);
  if (values.lengths !== undefined) {
    return await lengths(parseCount(values.lengths, "--lengths"), seed, values.json);
  }
  let caseList: TestCase[] | undefined;
  if (values["cases-file"]) {
    const text = new TextDecoder().decode(readInput(values["cases-file"], "cases file"));
    try {
      caseList = fromJsonLines<TestCase>(text);
    } catch (e) {
      throw new UsageError(`cases file ${values["cases-file"]}: ${(e as Error).message}`);
    }
  }
  if (values.dump) Deno.writeTextFileSync(values.dump, "");
  const coverage = values.coverage ? new CoverageAccumulator() : undefined;
  const runners = values.runners?.split(",").map((s) => s.trim());
  const report = await runConformance({
    onBatch: (batch) => {
      if (values.dump) Deno.writeTextFileSync(values.dump, toJsonLines(batch), { append: true });
      coverage?.add(batch);
    },
    seed,
    cases,
    caseList,
    only: values.only?.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    runners,
    // hvsim-compiled, hvsim-wasm: every case through the block compiler's code, JavaScript or
    // WebAssembly (only when asked for).
    extra: [
      new HvsimRunner(),
      ...(runners?.includes("hvsim-compiled")
        ? [new HvsimRunner({ compileThreshold: 1, name: "hvsim-compiled" })]
        : []),
      ...(runners?.includes("hvsim-wasm")
        ? [new HvsimRunner({ compileThreshold: 1, backend: "wasm", name: "hvsim-wasm" })]
        : []),
    ],
  });
  if (values["dump-mismatches"]) {
    const bad = new Set(report.groups.filter((g) => !g.deviation).map((g) => g.form));
    await Deno.writeTextFile(
      values["dump-mismatches"],
      toJsonLines(report.groups.filter((g) => !g.deviation && bad.has(g.form)).map((g) => g.example.case)),
    );
  }
  const summary = coverage?.summary();
  if (values.json) {
    const { caseList: _omit, ...rest } = report;
    console.log(JSON.stringify(summary ? { ...rest, coverage: summary } : rest, null, 1));
  } else {
    console.log(await formatReport(report));
    if (summary) {
      console.log(
        `coverage: ${summary.reached} of ${summary.entries} table entries reached, ${summary.excluded} excluded on purpose`,
      );
      if (summary.unreached.length > 0) console.log(`  not reached: ${summary.unreached.join(", ")}`);
      if (summary.outsideTable.length > 0) {
        console.log(`  forms outside the table: ${summary.outsideTable.join(", ")}`);
      }
    }
  }
  return report.unexplained > 0 ? 1 : 0;
}

/** Table coverage summed over the batches of a run. */
class CoverageAccumulator {
  readonly #variants = new Map<string, Set<string>>();
  readonly #outside = new Set<string>();
  #entries: ReturnType<typeof tableCoverage>["entries"] = [];

  add(cases: TestCase[]): void {
    const cov = tableCoverage(cases);
    this.#entries = cov.entries;
    for (const e of cov.entries) {
      const set = this.#variants.get(entryName(e.spec)) ?? new Set<string>();
      for (const v of e.variants) set.add(v);
      this.#variants.set(entryName(e.spec), set);
    }
    for (const f of cov.outsideTable) this.#outside.add(f);
  }

  summary() {
    const names = this.#entries.map((e) => entryName(e.spec));
    const reached = names.filter((n) => (this.#variants.get(n)?.size ?? 0) > 0);
    return {
      entries: names.length,
      reached: reached.length,
      excluded: names.filter((n) => EXCLUDED_ENTRIES[n] !== undefined).length,
      unreached: names.filter((n) => !reached.includes(n) && EXCLUDED_ENTRIES[n] === undefined),
      outsideTable: [...this.#outside].sort(),
      variants: Object.fromEntries(reached.map((n) => [n, [...this.#variants.get(n)!].sort()])),
    };
  }
}

async function lengths(n: number, seed: number, json: boolean): Promise<number> {
  if (n < 1) throw new UsageError(`bad --lengths "${n}": expected at least 1`);
  const states = await generateCases({ seed, cases: 3000 });
  const seeds = states.map((c) => hexToBytes(c.bytes));
  const t0 = performance.now();
  const len = await compareLengths(seed, n, seeds);
  const t1 = performance.now();
  const rob = await interpreterRobustness(byteStreams(new Prng(seed), n, seeds), states);
  const t2 = performance.now();
  if (json) {
    console.log(JSON.stringify({ lengths: len, robustness: rob }, null, 1));
  } else {
    console.log(`lengths: ${n} streams (seed ${seed}) in ${((t1 - t0) / 1000).toFixed(2)} s`);
    console.log(`  compared with objdump: ${len.compared}, length mismatches: ${len.mismatchCount}`);
    console.log(
      `  objdump-only (not implemented in hvsim): ${len.unimplemented}; decoder errors: ${len.errors.length}`,
    );
    for (const m of len.mismatches.slice(0, 20)) {
      console.log(
        `  MISMATCH ${m.bytes}: objdump ${m.objdump.length} (${m.objdump.text}), hvsim ${m.hvsim.length}`,
      );
    }
    for (const e of len.errors.slice(0, 20)) console.log(`  DECODER ERROR ${e.bytes}: ${e.error}`);
    console.log(
      `interpreter: ${n} streams in ${((t2 - t1) / 1000).toFixed(2)} s: ${JSON.stringify(rob.outcomes)}`,
    );
    for (const c of rob.crashes.slice(0, 20)) console.log(`  CRASH ${c.bytes}: ${c.detail}`);
  }
  return len.mismatchCount > 0 || len.errors.length > 0 || rob.crashes.length > 0 ? 1 : 0;
}

if (import.meta.main) runCli("conformance", () => main(Deno.args));

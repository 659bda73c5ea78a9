/**
 * One conformance run: generate cases, run them through every available runner, compare each with
 * the reference (the host CPU, or Unicorn when the host oracle cannot be built), group mismatches
 * per instruction form, and separate Unicorn's known deviations and the Intel/AMD differences (hvsim
 * against an AMD host) from unexplained mismatches.
 * @module
 */

import type { CaseResult, TestCase } from "./case.ts";
import { compareResults, type Difference } from "./compare.ts";
import { generateCases } from "./generator.ts";
import { HostRunner } from "./host_runner.ts";
import type { Runner } from "./runner.ts";
import { UnicornRunner } from "./unicorn_runner.ts";
import { explainUnicornMismatch } from "./unicorn_deviations.ts";
import { explainVendorDifference, hostIsAmd } from "./vendor_differences.ts";

/** Timing of one runner. */
export interface RunnerStats {
  /** Runner name. */
  name: string;
  /** Cases run. */
  cases: number;
  /** Wall-clock seconds for all cases (process start included). */
  seconds: number;
  /** Cases per second. */
  casesPerSecond: number;
}

/** All mismatches of one runner against the reference on one instruction form. */
export interface MismatchGroup {
  /** The runner that disagrees with the reference. */
  runner: string;
  /** The instruction form (template). */
  form: string;
  /**
   * Id of what explains these mismatches, when something does: a known Unicorn deviation, or an
   * Intel/AMD difference where hvsim follows the Intel SDM and the host is an AMD CPU.
   */
  deviation?: string;
  /** Number of cases. */
  count: number;
  /** The first case, with every runner's result and the differences from the reference. */
  example: { case: TestCase; results: Record<string, CaseResult>; diffs: Difference[] };
}

/** The outcome of a run. */
export interface ConformanceReport {
  /** PRNG seed. */
  seed: number;
  /** Number of cases. */
  cases: number;
  /** Runner every other runner is compared with. */
  reference: string;
  /** Runners that ran, with their speed. */
  runners: RunnerStats[];
  /** Runners that could not run, with the reason. */
  unavailable: { name: string; reason: string }[];
  /** Mismatch groups, unexplained first. */
  groups: MismatchGroup[];
  /** Cases with an unexplained mismatch (any runner). */
  unexplained: number;
  /** Cases whose only mismatches are known Unicorn deviations or Intel/AMD differences. */
  known: number;
  /** The cases, when `keepCases` was set. */
  caseList: TestCase[];
}

/** Options for `runConformance`. */
export interface ConformanceOptions {
  /** PRNG seed. */
  seed: number;
  /** Number of cases to generate (ignored when `caseList` is given). */
  cases: number;
  /** Mnemonic filter (see `selectForms`). */
  only?: string[];
  /** Runners to use, by name (default: every available one). */
  runners?: string[];
  /** Run these cases instead of generating. */
  caseList?: TestCase[];
  /** Extra runners (e.g. hvsim), used in addition to the oracles. */
  extra?: Runner[];
  /** Keep every case in the report's `caseList` (memory grows with the run). */
  keepCases?: boolean;
  /** Called with each batch of cases before it runs. */
  onBatch?: (cases: TestCase[]) => void;
}

/** Creates the oracles that can run here; reports the others as unavailable. */
export async function availableOracles(): Promise<
  { runners: Runner[]; unavailable: { name: string; reason: string }[] }
> {
  const runners: Runner[] = [];
  const unavailable: { name: string; reason: string }[] = [];
  try {
    runners.push(await HostRunner.create());
  } catch (e) {
    unavailable.push({ name: "host", reason: (e as Error).message.split("\n")[0] });
  }
  const uc = await UnicornRunner.create();
  if (uc) runners.push(uc);
  else {unavailable.push({
      name: "unicorn",
      reason: "python3-unicorn is not installed (apt-get install -y python3-unicorn)",
    });}
  return { runners, unavailable };
}

/** Cases per batch: generated, run and compared together, so memory stays flat for 10^6 cases. */
export const BATCH_CASES = 10000;

/** The seed of batch `k` of a run with `seed` (batch 0 uses the seed itself). */
export function batchSeed(seed: number, k: number): number {
  return k === 0 ? seed : (Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(k, 0x9e3779b9)) >>> 0;
}

/**
 * Runs the cases through the runners and compares, in batches of `BATCH_CASES`; throws a
 * `RangeError` when fewer than two runners can run.
 */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const { runners: oracles, unavailable } = await availableOracles();
  let runners = [...oracles, ...(opts.extra ?? [])];
  if (opts.runners) {
    for (const n of opts.runners) {
      if (!runners.some((r) => r.name === n) && !unavailable.some((u) => u.name === n)) {
        throw new RangeError(`Unknown runner "${n}"; expected host, unicorn, hvsim or hvsim-compiled`);
      }
    }
    runners = opts.runners.flatMap((n) => runners.filter((r) => r.name === n));
  }
  if (runners.length < 2) {
    throw new RangeError(
      `Need at least two runners to compare, have ${runners.map((r) => r.name).join(", ") || "none"}` +
        (unavailable.length ? ` (${unavailable.map((u) => `${u.name}: ${u.reason}`).join("; ")})` : ""),
    );
  }
  const total = opts.caseList?.length ?? opts.cases;
  const seconds = new Map<string, number>(runners.map((r) => [r.name, 0]));
  const groups = new Map<string, MismatchGroup>();
  const kept: TestCase[] = [];
  let unexplained = 0;
  let known = 0;
  for (let k = 0, done = 0; done < total; k++) {
    const n = Math.min(BATCH_CASES, total - done);
    const caseList = opts.caseList?.slice(done, done + n) ??
      await generateCases({ seed: batchSeed(opts.seed, k), cases: n, only: opts.only });
    done += n;
    if (opts.keepCases) kept.push(...caseList);
    opts.onBatch?.(caseList);
    const results = new Map<string, CaseResult[]>();
    for (const r of runners) {
      const t0 = performance.now();
      results.set(r.name, await r.run(caseList));
      seconds.set(r.name, seconds.get(r.name)! + (performance.now() - t0) / 1000);
    }
    const counts = compareBatch(caseList, runners.map((r) => r.name), results, groups);
    unexplained += counts.unexplained;
    known += counts.known;
  }
  const stats: RunnerStats[] = runners.map((r) => ({
    name: r.name,
    cases: total,
    seconds: seconds.get(r.name)!,
    casesPerSecond: total / seconds.get(r.name)!,
  }));
  const sorted = [...groups.values()].sort((a, b) =>
    Number(a.deviation !== undefined) - Number(b.deviation !== undefined) ||
    a.runner.localeCompare(b.runner) ||
    a.form.localeCompare(b.form)
  );
  return {
    seed: opts.seed,
    cases: total,
    reference: runners[0].name,
    runners: stats,
    unavailable,
    groups: sorted,
    unexplained,
    known,
    caseList: kept,
  };
}

function compareBatch(
  caseList: TestCase[],
  names: string[],
  results: Map<string, CaseResult[]>,
  groups: Map<string, MismatchGroup>,
): { unexplained: number; known: number } {
  const reference = names[0];
  const ref = results.get(reference)!;
  // hvsim follows the Intel SDM: against an AMD host, the known vendor differences are accepted.
  const amdHost = reference === "host" && hostIsAmd();
  let unexplained = 0;
  let known = 0;
  for (let i = 0; i < caseList.length; i++) {
    const c = caseList[i];
    let caseUnexplained = false;
    let caseKnown = false;
    for (const name of names.slice(1)) {
      const res = results.get(name)![i];
      const diffs = compareResults(c, ref[i], res);
      if (diffs.length === 0) continue;
      let deviation: string | undefined;
      if (name === "unicorn") deviation = explainUnicornMismatch(c, diffs, ref[i], res)?.id;
      else if (reference === "unicorn") deviation = explainUnicornMismatch(c, diffs, res, ref[i])?.id;
      else if (amdHost && name.startsWith("hvsim")) {
        deviation = explainVendorDifference(c, diffs, ref[i], res)?.id;
      }
      if (deviation) caseKnown = true;
      else caseUnexplained = true;
      const key = `${name}\u0000${c.form}\u0000${deviation ?? ""}`;
      const g = groups.get(key);
      if (g) g.count++;
      else {
        const all: Record<string, CaseResult> = {};
        for (const [n, rs] of results) all[n] = rs[i];
        groups.set(key, {
          runner: name,
          form: c.form,
          deviation,
          count: 1,
          example: { case: c, results: all, diffs },
        });
      }
    }
    if (caseUnexplained) unexplained++;
    else if (caseKnown) known++;
  }
  return { unexplained, known };
}

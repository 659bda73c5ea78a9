/**
 * Fuzz cases: case `i` of seed `s` is a corpus input mutated by a generator seeded from `s` and `i`
 * alone, so any single case can be made again (`deno task fuzz <surface> --seed s --case i`).
 * Running a case sorts its end into a correct run, a clean refusal or a crash.
 *
 * @module
 */

import { Prng } from "../conformance/prng.ts";
import { mutate } from "./mutate.ts";
import type { CaseContext, FuzzSurface } from "./surface.ts";

/** The seed of case `index` of a run seeded with `seed`. */
export function caseSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f) >>> 0;
}

/**
 * The input of case `index`: one in 32 cases is a corpus input as it is (it must run correctly);
 * the rest are mutated, and eight in ten of those resealed (CRCs and record indexes made right
 * again, where the surface can) so they reach the checks behind the checksums.
 */
export function caseInput(
  surface: FuzzSurface,
  corpus: Uint8Array[],
  seed: number,
  index: number,
): Uint8Array {
  const rng = new Prng(caseSeed(seed, index));
  const base = corpus[rng.int(corpus.length)];
  if (rng.int(32) === 0) return base.slice();
  const b = mutate(base, (x) => safeStructure(surface, x), rng, corpus);
  return surface.reseal && rng.chance(0.8) ? safeReseal(surface, b) : b;
}

function safeStructure(surface: FuzzSurface, b: Uint8Array) {
  try {
    return surface.structure(b);
  } catch {
    return { fields: [], records: [] };
  }
}

function safeReseal(surface: FuzzSurface, b: Uint8Array): Uint8Array {
  try {
    return surface.reseal!(b);
  } catch {
    return b;
  }
}

/** How a case ended. */
export interface CaseResult {
  /** accepted / refused: clean ends; crash: anything thrown that is not a refusal. */
  result: "accepted" | "refused" | "crash";
  /** The refusal line, what ran, or the crash's error and stack. */
  detail: string;
  /** Wall time of the case, ms. */
  ms: number;
}

/** Run one input through `surface`; never throws. */
export async function runCase(
  surface: FuzzSurface,
  input: Uint8Array,
  ctx: CaseContext,
): Promise<CaseResult> {
  const t0 = performance.now();
  try {
    const o = await surface.run(input, ctx);
    return { ...o, ms: performance.now() - t0 };
  } catch (e) {
    const err = e as Error;
    return {
      result: "crash",
      detail: `${err?.name ?? "throw"}: ${err?.message ?? String(e)}\n${err?.stack ?? ""}`,
      ms: performance.now() - t0,
    };
  }
}

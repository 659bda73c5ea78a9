/**
 * The interface every conformance runner implements (host CPU, Unicorn, hvsim).
 * @module
 */

import type { CaseResult, TestCase } from "./case.ts";

/** Something that runs test cases and reports the final state of each. */
export interface Runner {
  /** Short name used in reports: `host`, `unicorn`, `hvsim`. */
  readonly name: string;
  /** Runs every case; returns one result per case, in the same order, with the same ids. */
  run(cases: readonly TestCase[]): Promise<CaseResult[]>;
}

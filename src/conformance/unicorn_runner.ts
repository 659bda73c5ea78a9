/**
 * Oracle 2: the Unicorn engine through `unicorn_oracle.py` (Debian: `apt-get install -y python3-unicorn`).
 * @module
 */

import {
  type CaseResult,
  CODE_ADDR,
  CODE_REGION_BASE,
  CODE_REGION_SIZE,
  SCRATCH_ADDR,
  SCRATCH_PAGE,
  SCRATCH_SIZE,
  type TestCase,
} from "./case.ts";
import type { Runner } from "./runner.ts";
import { runJsonLinesProcess } from "./_process.ts";

/** Python interpreters tried in order; Debian's python3-unicorn lives in the system Python. */
export const PYTHON_CANDIDATES = ["/usr/bin/python3", "python3"];

/**
 * Returns a Python interpreter that can import `unicorn`, or `undefined` when none can
 * (install it with `apt-get install -y python3-unicorn`).
 */
export async function findUnicornPython(): Promise<string | undefined> {
  for (const py of PYTHON_CANDIDATES) {
    try {
      const out = await new Deno.Command(py, {
        args: ["-c", "import unicorn"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (out.success) return py;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** Runs cases under Unicorn. */
export class UnicornRunner implements Runner {
  /** Runner name in reports. */
  readonly name = "unicorn";
  #python: string;

  /** Wraps a Python interpreter that can import unicorn (see `findUnicornPython`). */
  constructor(python: string) {
    this.#python = python;
  }

  /** Returns a runner, or `undefined` when python3-unicorn is not installed. */
  static async create(): Promise<UnicornRunner | undefined> {
    const py = await findUnicornPython();
    return py === undefined ? undefined : new UnicornRunner(py);
  }

  /** Runs every case in one Python process (restarted after a crash). */
  run(cases: readonly TestCase[]): Promise<CaseResult[]> {
    const script = new URL("./unicorn_oracle.py", import.meta.url).pathname;
    const layout = [CODE_REGION_BASE, CODE_REGION_SIZE, CODE_ADDR, SCRATCH_PAGE, SCRATCH_ADDR, SCRATCH_SIZE];
    return runJsonLinesProcess(this.#python, [script, ...layout.map((v) => "0x" + v.toString(16))], cases);
  }
}

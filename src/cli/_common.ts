/**
 * Shared command-line plumbing: one clear line and a non-zero exit for user errors.
 *
 * @module
 */

import { parseSize } from "../vm/elf.ts";
import { GUEST_RAM_GRANULE, MAX_GUEST_RAM_BYTES } from "../vm/machine.ts";

/** A mistake the user made on the command line or in an input file (exit status 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Runs `main`; a UsageError, RangeError or missing file becomes one line on stderr and exit status 2. */
export async function runCli(name: string, main: () => Promise<number> | number): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError || e instanceof TypeError) {
      console.error(`${name}: ${e.message.replace(/\s*\n\s*/g, " ")}`);
      Deno.exit(2);
    }
    if (e instanceof Deno.errors.NotFound) {
      console.error(
        `${name}: ${e.message.replace(/^No such file or directory \(os error 2\): /, "no such file: ")}`,
      );
      Deno.exit(2);
    }
    throw e;
  }
  Deno.exit(status);
}

/** Reads a file, with a one-line error naming it. */
export function readInput(path: string, what = "file"): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`${what} ${path} does not exist`);
    if (e instanceof Deno.errors.IsADirectory) throw new UsageError(`${what} ${path} is a directory`);
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Parses a non-negative integer option, with SI-free suffixes k/M/G as powers of 1000 allowed. */
export function parseCount(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`bad ${what} "${text}": expected a whole number, optionally with k, M or G`);
  const mult = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 }[m[2]]!;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new UsageError(`bad ${what} "${text}": not a whole number`);
  return v;
}

/** Parses a --memory value: a size that is a multiple of 2 MiB, from 2 MiB to 16 GiB. */
export function parseMemory(text: string): number {
  const memory = parseSize(text, "--memory");
  if (memory < GUEST_RAM_GRANULE || memory % GUEST_RAM_GRANULE !== 0) {
    throw new UsageError(`bad --memory ${text}: must be a multiple of 2 MiB, at least 2 MiB`);
  }
  if (memory > MAX_GUEST_RAM_BYTES) throw new UsageError(`bad --memory ${text}: at most 16 GiB`);
  return memory;
}

/**
 * Plain guest runs and the comparison that deterministic tests assert: exit, retired-instruction
 * count, console output and the final state digest, with a readable diff when they differ.
 *
 * @module
 */

import { AssertionError } from "node:assert";
import { type EntropySource, Machine, type RunExit } from "../vm/mod.ts";
import type { SerialInput } from "../devices/mod.ts";

/** What a run ended with: the fields `run --json` prints (docs/cli-json.md). */
export interface RunResult {
  /** How the guest ended. */
  exit: RunExit;
  /** Retired guest instructions. */
  instructions: number;
  /** Console output. */
  console: string;
  /** {@linkcode Machine.digest} at the end ("" when it was not computed). */
  digest: string;
  /** General registers, RIP and RFLAGS as hex strings. */
  regs: Record<string, string>;
}

/** Options of a plain run. */
export interface GuestOptions {
  /** Guest RAM in bytes (default 64 MiB). */
  memory?: number;
  /** Command line (default empty). */
  cmdline?: string;
  /** Stop after this many instructions (default: run to the end). */
  maxInstructions?: number;
  /** RDRAND/RDSEED source (default: the machine's seeded source). */
  entropy?: EntropySource;
  /** COM1 input (default: none). */
  serialInput?: SerialInput;
}

/**
 * The result of `machine` as it stands (after a run). Without `digest` the digest is left empty
 * (it reads all of RAM).
 */
export function resultOf(machine: Machine, exit: RunExit, digest = true): RunResult {
  return {
    exit: exit.message ? { ...exit } : { reason: exit.reason, code: exit.code },
    instructions: machine.instructions,
    console: machine.consoleText(),
    digest: digest ? machine.digest() : "",
    regs: machine.regs(),
  };
}

/**
 * Runs a guest ELF without any log and returns its result.
 *
 * @example
 * ```ts
 * import { runGuest, assertSameRun } from "./run.ts";
 * const elf = Deno.readFileSync("guests/build/hello.elf");
 * assertSameRun(runGuest(elf), runGuest(elf));
 * ```
 */
export function runGuest(elf: Uint8Array, opts: GuestOptions = {}): RunResult {
  const m = Machine.fromElf(elf, {
    memory: opts.memory,
    cmdline: opts.cmdline,
    entropy: opts.entropy,
    serialInput: opts.serialInput,
  });
  const exit = m.runToEnd(opts.maxInstructions ?? Infinity);
  return resultOf(m, exit);
}

/** The differences between two results, one line each (empty when they are the same run). */
export function diffRuns(a: RunResult, b: RunResult, labels: [string, string] = ["a", "b"]): string[] {
  const [la, lb] = labels;
  const out: string[] = [];
  if (a.exit.reason !== b.exit.reason || a.exit.code !== b.exit.code) {
    out.push(`exit: ${la} ${a.exit.reason} code ${a.exit.code}, ${lb} ${b.exit.reason} code ${b.exit.code}`);
  }
  if (a.instructions !== b.instructions) {
    out.push(
      `instructions: ${la} ${a.instructions}, ${lb} ${b.instructions} (${b.instructions - a.instructions})`,
    );
  }
  if (a.console !== b.console) {
    const al = a.console.split("\n"), bl = b.console.split("\n");
    let i = 0;
    while (i < al.length && i < bl.length && al[i] === bl[i]) i++;
    out.push(
      `console: first difference on line ${i + 1}: ${la} ${JSON.stringify(al[i] ?? "<end>")}, ` +
        `${lb} ${JSON.stringify(bl[i] ?? "<end>")} (${al.length} and ${bl.length} lines)`,
    );
  }
  const regs = Object.keys(a.regs).filter((k) => a.regs[k] !== b.regs[k]);
  if (regs.length > 0) {
    out.push(`registers: ${regs.map((k) => `${k} ${la} ${a.regs[k]} ${lb} ${b.regs[k]}`).join(", ")}`);
  }
  if (a.digest !== b.digest) out.push(`digest: ${la} ${a.digest}, ${lb} ${b.digest}`);
  return out;
}

/**
 * Asserts that two runs are the same: exit, instruction count, console output, registers and
 * digest. Throws an AssertionError listing every difference, one per line.
 */
export function assertSameRun(a: RunResult, b: RunResult, labels: [string, string] = ["a", "b"]): void {
  const d = diffRuns(a, b, labels);
  if (d.length > 0) {
    throw new AssertionError({ message: `runs differ (${labels[0]} vs ${labels[1]}):\n  ${d.join("\n  ")}` });
  }
}

/**
 * The end of a case that built a machine: run it on for the case's instruction budget and read
 * what the commands report of it (exit, console, registers, exit counts; not the digest, a hash
 * of all RAM that parses nothing), so the state it was given is exercised, not just parsed.
 *
 * @module
 */

import { EXIT_REASON_SHORT_NAMES } from "../vmx/exit_reasons.ts";
import type { Machine } from "../vm/machine.ts";
import type { CaseOutcome } from "./surface.ts";

/** Run `m` for at most `maxInstructions` more instructions, then read its report. */
export function runGuest(m: Machine, maxInstructions: number): CaseOutcome {
  const exit = m.exit ?? m.runToEnd(maxInstructions);
  const exits = [...m.exitCounts].map(([k, v]) => `${EXIT_REASON_SHORT_NAMES[k] ?? k}=${v}`);
  JSON.stringify({ exit, console: m.consoleText(), regs: m.regs(), exits, instructions: m.instructions });
  return { result: "accepted", detail: `${exit.reason} after ${m.instructions} instructions` };
}

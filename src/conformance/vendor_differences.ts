/**
 * Where Intel and AMD processors give different architecturally defined results for an instruction
 * the conformance generator draws. hvsim presents an Intel CPU and follows the Intel SDM; the
 * oracle is this machine's CPU, which may be an AMD one. For each difference below, the comparer
 * turns the AMD host's result into the result the SDM defines and accepts hvsim's result only if
 * it equals that; everything else is compared as it is. docs/intel_vs_amd.md lists these and the
 * differences the generator does not reach.
 * @module
 */

import { type CaseResult, REG_NAMES, type TestCase, ZF } from "./case.ts";
import { compareResults, type Difference } from "./compare.ts";
import { hostCpuName } from "./host_runner.ts";

/** One architecturally defined result in which Intel and AMD processors differ. */
export interface VendorDifference {
  /** Short stable id. */
  id: string;
  /** What differs. */
  summary: string;
  /** The Intel SDM's text, with where it stands. */
  intel: string;
  /** What AMD processors do (seen on this host). */
  amd: string;
  /**
   * The registers Intel's result has, given the case's AT&T text and the AMD result's registers
   * and RFLAGS; null when the difference does not apply to this case.
   */
  intelRegs(
    asm: string,
    amdRegs: Readonly<Record<string, bigint>>,
    amdFlags: number,
  ): Record<string, bigint> | null;
}

/** 64-bit name of a 32-bit register (`%ebp` -> `rbp`, `%r13d` -> `r13`), or undefined. */
function reg64Of(name32: string): string | undefined {
  const m = /^%(e(ax|bx|cx|dx|si|di|sp|bp)|r(\d+)d)$/.exec(name32);
  if (!m) return undefined;
  return m[2] !== undefined ? `r${m[2]}` : `r${m[3]}`;
}

/** The differences the comparer knows, checked in order. */
export const VENDOR_DIFFERENCES: readonly VendorDifference[] = [
  {
    id: "cmpxchg32-register-destination",
    summary: "CMPXCHG r32, r32 whose comparison fails: Intel writes the destination back (zero-extending " +
      "it to 64 bits), AMD leaves the destination register untouched.",
    intel: 'SDM Vol. 2A CMPXCHG, Operation: "ELSE ZF := 0; accumulator := TEMP; DEST := TEMP;" and ' +
      '"The destination operand is written back if the comparison fails"; a 32-bit register write in ' +
      '64-bit mode is "zero-extended to a 64-bit result in the destination general-purpose register" ' +
      "(SDM Vol. 1 §3.4.1.1).",
    amd: "AMD EPYC (this host): bits 63:32 of the destination keep their value, e.g. cmpxchgl %esp, %r13d " +
      "with R13 = 0xffffffffffffffff and EAX != R13D leaves R13 = 0xffffffffffffffff (Intel: 0xffffffff).",
    intelRegs(asm, amdRegs, amdFlags) {
      const m = /^(lock )?cmpxchgl (%\w+), (%\w+)$/.exec(asm);
      if (!m || (amdFlags & ZF) !== 0) return null;
      const dst = reg64Of(m[3]);
      if (dst === undefined || amdRegs[dst] === undefined) return null;
      return { ...amdRegs, [dst]: amdRegs[dst] & 0xffffffffn };
    },
  },
];

/** True when the host CPU is an AMD one (/proc/cpuinfo's vendor_id), so its results are AMD's. */
export function hostIsAmd(): boolean {
  return hostCpuName().startsWith("AuthenticAMD");
}

/**
 * The vendor difference that explains every one of `diffs` between the AMD host's result and
 * hvsim's for case `c`: hvsim's result equals the host's once the difference turns it into Intel's.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainVendorDifference } from "./vendor_differences.ts";
 * import { compareResults } from "./compare.ts";
 * const regs = (r13: string) => ({ rax: "0x1", r13 }) as never;
 * const c = { asm: "cmpxchgl %esp, %r13d", undef: { flags: 0 } } as never;
 * const amd = { id: "1", regs: regs("0xffffffffffffffff"), rip: "0x1", rflags: "0x2", mem: "" };
 * const intel = { ...amd, regs: regs("0xffffffff") };
 * assert.equal(explainVendorDifference(c, compareResults(c, amd, intel), amd, intel)?.id,
 *   "cmpxchg32-register-destination");
 * ```
 */
export function explainVendorDifference(
  c: TestCase,
  diffs: readonly Difference[],
  amd: CaseResult,
  hvsim: CaseResult,
): VendorDifference | undefined {
  if (diffs.length === 0 || amd.exception !== undefined || hvsim.exception !== undefined) return undefined;
  const regs: Record<string, bigint> = {};
  for (const r of REG_NAMES) if (amd.regs?.[r] !== undefined) regs[r] = BigInt(amd.regs[r]);
  for (const d of VENDOR_DIFFERENCES) {
    const intel = d.intelRegs(c.asm, regs, Number(amd.rflags ?? 0));
    if (intel === null) continue;
    const asIntel: CaseResult = { ...amd, regs: { ...amd.regs } as CaseResult["regs"] };
    for (const r of REG_NAMES) if (intel[r] !== undefined) asIntel.regs![r] = "0x" + intel[r].toString(16);
    if (compareResults(c, asIntel, hvsim).length === 0) return d;
  }
  return undefined;
}

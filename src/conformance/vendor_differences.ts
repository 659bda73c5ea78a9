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
  /**
   * For differences outside the general registers: Intel's whole result, given the case and the AMD
   * result; null when the difference does not apply to this case.
   */
  intelResult?(c: TestCase, amd: CaseResult): CaseResult | null;
}

/** 64-bit name of a 32-bit register (`%ebp` -> `rbp`, `%r13d` -> `r13`), or undefined. */
function reg64Of(name32: string): string | undefined {
  const m = /^%(e(ax|bx|cx|dx|si|di|sp|bp)|r(\d+)d)$/.exec(name32);
  if (!m) return undefined;
  return m[2] !== undefined ? `r${m[2]}` : `r${m[3]}`;
}

/**
 * Whether the x87 compare `asm` reads an empty register (a stack underflow), from the initial x87
 * state `x87` (case.ts): ST(0), and ST(i) or, for FCOMPP/FUCOMPP, ST(1).
 */
function compareUnderflows(asm: string, x87: string): boolean {
  const word = (k: number) => parseInt(x87.slice(2 * k + 2, 2 * k + 4) + x87.slice(2 * k, 2 * k + 2), 16);
  const top = (word(2) >> 11) & 7, ftw = word(4);
  const empty = (i: number) => ((ftw >> (2 * ((top + i) & 7))) & 3) === 3;
  const m = /%st\((\d)\)/.exec(asm) ?? /^\.byte 0xd[ce], 0xd([0-9a-f])$/.exec(asm);
  const second = m !== null ? parseInt(m[1], 16) & 7 : /^fu?compp$/.test(asm) ? 1 : 0;
  return empty(0) || empty(second);
}

/** The encodings of the compare aliases FCOM2 (dc d0+i), FCOMP3 (dc d8+i) and FCOMP5 (de d0+i), as hex bytes. */
const X87_COMPARE_ALIAS = /^(dcd[0-9a-f]|ded[0-7])$/;

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
  {
    id: "x87-compare-unmasked-invalid",
    summary: "FCOM, FUCOM, FICOM, FTST, FCOMI, FUCOMI (and their popping forms) raising an unmasked " +
      "invalid-operation exception: Intel leaves the condition codes (or ZF, PF, CF) unchanged, AMD sets " +
      "them to unordered.",
    intel: 'SDM Vol. 2A FCOM/FCOMP/FCOMPP: "If the invalid-arithmetic-operand exception is unmasked, the ' +
      'condition code flags are not set"; FCOMI/FCOMIP/FUCOMI/FUCOMIP: "If invalid-operation exception is ' +
      'unmasked, the status flags are not set"; likewise FICOM and FUCOM.',
    amd: "AMD EPYC (this host): C3, C2 and C0 become 1 (FCOMI: ZF, PF and CF become 1) whether or not #IA " +
      "is masked, e.g. fcom %st(0) with an unnormal ST(0) and FCW = 0x0058 gives FSW C3 = C2 = C0 = 1.",
    intelRegs() {
      return null;
    },
    intelResult(c, amd) {
      if (c.x87 === undefined || amd.x87 === undefined || amd.exception !== undefined) return null;
      if (
        !/^f(u?comi?p?p?|icomp?[sl]?|tst|com[ps]?[sl]?|icom[sl]|ucompp)\b/.test(c.asm) &&
        !X87_COMPARE_ALIAS.test(c.bytes)
      ) return null;
      const word = (s: string, k: number) =>
        parseInt(s.slice(2 * k + 2, 2 * k + 4) + s.slice(2 * k, 2 * k + 2), 16);
      const fcw = word(c.x87, 0), fsw0 = word(c.x87, 2), fsw = word(amd.x87, 2);
      if ((fsw & 1) === 0 || (fcw & 1) !== 0) return null; // IE raised and unmasked
      const out: CaseResult = { ...amd };
      if (/^f(u)?comi/.test(c.asm)) {
        out.rflags = c.rflags;
      } else {
        // C3, C2, C0 unchanged; C1 too, except after a stack underflow, which clears it (SDM Vol. 2 FCOM).
        // SF is sticky, so whether this compare underflowed comes from the initial tags.
        const cc = compareUnderflows(c.asm, c.x87) ? 0x4500 : 0x4700;
        const v = (fsw & ~cc) | (fsw0 & cc);
        out.x87 = amd.x87.slice(0, 4) + (v & 0xff).toString(16).padStart(2, "0") +
          (v >> 8).toString(16).padStart(2, "0") + amd.x87.slice(8);
      }
      return out;
    },
  },
  {
    id: "x87-fxtract-overflow-c1",
    summary: "FXTRACT with a full stack (#IS, stack overflow): Intel sets C1 to 1; AMD sets it to 1 or 0 " +
      "depending on ST(0) (0 for +0 and for the real indefinite).",
    intel: 'SDM Vol. 2A FXTRACT, FPU flags affected: "C1 Set to 0 if stack underflow occurred; set to 1 if ' +
      'stack overflow occurred."',
    amd:
      "AMD EPYC (this host): fxtract with ST(0) = +0, FSW 0x1800 and the register below TOP in use gives " +
      "FSW 0x1041 (C1 = 0); with ST(0) = -0, C1 = 1.",
    intelRegs() {
      return null;
    },
    intelResult(c, amd) {
      if (c.asm !== "fxtract" || amd.x87 === undefined || amd.exception !== undefined) return null;
      const fsw = parseInt(amd.x87.slice(6, 8) + amd.x87.slice(4, 6), 16);
      if ((fsw & 0x41) !== 0x41 || (fsw & 0x200) !== 0) return null; // a stack fault with C1 = 0
      const v = fsw | 0x200;
      return {
        ...amd,
        x87: amd.x87.slice(0, 4) + (v & 0xff).toString(16).padStart(2, "0") +
          (v >> 8).toString(16).padStart(2, "0") +
          amd.x87.slice(8),
      };
    },
  },
  {
    id: "x87-fyl2x-exact-inexact",
    summary:
      "FYL2X with an exact result (x a power of two, y * log2(x) representable in 64 bits): AMD sets " +
      "the precision flag PE, Intel's definition of #P sets it only for an inexact result.",
    intel: 'SDM Vol. 2A FYL2X, Floating-Point Exceptions: "#P Value cannot be represented exactly in ' +
      'destination format"; SDM Vol. 1 §4.9.1.6: the inexact-result exception "occurs if the result of ' +
      'an operation is not exactly representable in the destination format".',
    amd: "AMD EPYC (this host): fyl2x with ST(0) = 8, ST(1) = 1 gives 3 (0x4000c000000000000000) and FSW " +
      "0x0020 (PE); with ST(0) = 2^-16444 (the denormal 0x00000000000000000002) -16444 and PE (FSW 0x0022).",
    intelRegs() {
      return null;
    },
    intelResult(c, amd) {
      if (c.asm !== "fyl2x" || c.x87 === undefined || amd.x87 === undefined || amd.exception !== undefined) {
        return null;
      }
      const word = (s: string, k: number) =>
        parseInt(s.slice(2 * k + 2, 2 * k + 4) + s.slice(2 * k, 2 * k + 2), 16);
      const fcw = word(c.x87, 0), fsw0 = word(c.x87, 2), fsw = word(amd.x87, 2);
      if ((fcw & 0x20) === 0 || (fsw & 0x20) === 0 || (fsw0 & 0x20) !== 0) return null; // PE masked, newly set
      const reg = (i: number) => {
        const at = 2 * (6 + 10 * i);
        const hex = c.x87!.slice(at, at + 20);
        let sig = 0n;
        for (let k = 7; k >= 0; k--) sig = (sig << 8n) | BigInt(parseInt(hex.slice(2 * k, 2 * k + 2), 16));
        return { sig, se: word(c.x87!, 6 + 10 * i + 8) };
      };
      const x = reg(0), y = reg(1);
      // x = 2^k: a normal with significand 2^63, or a denormal with one bit set (exponent -16382).
      let k: bigint;
      if ((x.se & 0x8000) !== 0 || x.sig === 0n || (x.sig & (x.sig - 1n)) !== 0n) return null;
      const exp = x.se & 0x7fff, bit = BigInt(x.sig.toString(2).length - 1);
      if (exp === 0) k = bit - 16445n;
      else if (exp !== 0x7fff && bit === 63n) k = BigInt(exp) - 16383n;
      else return null;
      // y finite, normal and nonzero; y * k exact: its significand times |k| fits in 64 bits.
      if ((y.se & 0x7fff) === 0 || (y.se & 0x7fff) === 0x7fff || y.sig < 1n << 63n || k === 0n) return null;
      let p = y.sig * (k < 0n ? -k : k);
      while ((p & 1n) === 0n) p >>= 1n;
      if (p.toString(2).length > 64) return null;
      const v = fsw & ~0x20;
      return {
        ...amd,
        x87: amd.x87.slice(0, 4) + (v & 0xff).toString(16).padStart(2, "0") +
          (v >> 8).toString(16).padStart(2, "0") + amd.x87.slice(8),
      };
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
    if (d.intelResult !== undefined) {
      const r = d.intelResult(c, amd);
      if (r !== null && compareResults(c, r, hvsim).length === 0) return d;
      continue;
    }
    const intel = d.intelRegs(c.asm, regs, Number(amd.rflags ?? 0));
    if (intel === null) continue;
    const asIntel: CaseResult = { ...amd, regs: { ...amd.regs } as CaseResult["regs"] };
    for (const r of REG_NAMES) if (intel[r] !== undefined) asIntel.regs![r] = "0x" + intel[r].toString(16);
    if (compareResults(c, asIntel, hvsim).length === 0) return d;
  }
  return undefined;
}

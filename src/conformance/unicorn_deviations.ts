/**
 * Known places where Unicorn 2.0.1 (Debian bookworm's python3-unicorn, QEMU's CPU emulation) does
 * not do what the host CPU does. Where the two disagree the host is right; a mismatch between
 * Unicorn and another runner that one of these explains is reported as a known deviation, not as
 * a failure. Each entry names the evidence from our own runs (`deno task conformance`).
 * @module
 */

import { type CaseResult, CF, REG_NAMES, type RegName, type TestCase } from "./case.ts";
import type { Difference } from "./compare.ts";

/** One known Unicorn deviation. */
export interface UnicornDeviation {
  /** Short stable id. */
  id: string;
  /** What Unicorn does differently, and what the host does. */
  summary: string;
  /** A reproducer observed in our runs: bytes, disassembly, host vs Unicorn. */
  evidence: string;
  /**
   * Whether this deviation explains all of `diffs` between Unicorn's result and the other runner's
   * result `other` (the host, or hvsim when it agrees with the host).
   */
  explains(c: TestCase, diffs: readonly Difference[], other: CaseResult, unicorn: CaseResult): boolean;
}

const MASK32 = 0xffffffffn;

/** The known deviations, checked in order. */
export const UNICORN_DEVIATIONS: readonly UnicornDeviation[] = [
  {
    id: "sse-state",
    summary: "SSE state does not survive Unicorn 2.0.1's interface: reg_write/reg_read of XMM8-XMM15 carry " +
      "only bits 63:0, and SSE arithmetic never sets MXCSR's exception flags (QEMU 5's TCG). SSE cases " +
      "are therefore compared with the host CPU only; every difference of Unicorn in a case with SSE " +
      "state is put down to this.",
    evidence: "66 41 0f 58 d8  addpd %xmm8, %xmm3: Unicorn XMM8 0x0000000000000000000fffffffffffff after " +
      "writing 0xf5d47859722d2581000fffffffffffff, MXCSR 0x1f80 where the host has 0x1fa2 (seed 4, 40,000 SSE cases).",
    explains(c) {
      return c.xmm !== undefined;
    },
  },
  {
    id: "lock-neg-flags",
    summary:
      "LOCK NEG m8/m16/m32/m64 sets SF, ZF, PF and AF from the wrong value (the stored result and CF " +
      "are right); plain NEG is correct.",
    evidence: "f0 f6 1c 25 8e 08 30 00  lock negb 0x30088e: host RFLAGS 0x297 [SAPC], Unicorn 0x13 [AC]; " +
      "66 f0 41 f7 1a  lock negw (%r10): host 0x287 [SPC], Unicorn 0x3 [C] (seed 7, 20,000 cases: all 64 LOCK NEG cases).",
    explains(c, diffs, other, unicorn) {
      return /^lock neg/.test(c.asm) && diffs.every((d) => d.field === "rflags") &&
        (Number(other.rflags) & CF) === (Number(unicorn.rflags) & CF);
    },
  },
  {
    id: "cmpxchg32-writes-both",
    summary: "CMPXCHG r/m32, r32 always writes EAX and, for a register destination, the destination, so " +
      "both are zero-extended to 64 bits. The host (AMD EPYC) writes only the one the comparison selects: " +
      "EAX when they differ (the destination keeps bits 63:32), the destination when they are equal (RAX " +
      "keeps bits 63:32). For the destination this is an Intel/AMD difference (the SDM's pseudocode writes " +
      "DEST back when the comparison fails, as Unicorn and hvsim do; docs/intel_vs_amd.md); RAX " +
      "zero-extended after a successful compare matches neither the SDM's pseudocode nor the host.",
    evidence: "41 0f b1 ed  cmpxchgl %ebp, %r13d (EAX != R13D): host R13 0x80000000f19b016e, Unicorn " +
      "0xf19b016e; f0 46 0f b1 2c 29  lock cmpxchgl %r13d, (%rcx,%r13,1) (equal): host RAX 0x6c120be000000000, " +
      "Unicorn 0x0 (seed 7, 20,000 cases: 33 cases).",
    explains(c, diffs, other, unicorn) {
      if (!/^(lock )?cmpxchgl /.test(c.asm)) return false;
      return diffs.every((d) => {
        if (!(REG_NAMES as readonly string[]).includes(d.field)) return false;
        const o = BigInt(other.regs?.[d.field as RegName] ?? -1);
        const u = BigInt(unicorn.regs?.[d.field as RegName] ?? -1);
        return (o & MASK32) === u;
      });
    },
  },
  {
    id: "ret-imm16-sign-extended",
    summary: "RET imm16 (C2 iw) sign-extends the immediate: for imm16 >= 0x8000 RSP ends 0x10000 lower " +
      "than on the host, which adds the immediate zero-extended (SDM: RSP := RSP + SRC, SRC an unsigned imm16).",
    evidence: "c2 01 80  ret $32769: host RSP 0x308881, Unicorn 0x2f8881 (seed 7, 20,000 cases: 11 cases).",
    explains(c, diffs, other, unicorn) {
      if (!/^ret \$/.test(c.asm) || diffs.length !== 1 || diffs[0].field !== "rsp") return false;
      return BigInt(other.regs?.rsp ?? 0) - BigInt(unicorn.regs?.rsp ?? 0) === 0x10000n;
    },
  },
  {
    id: "shxd-imm8-rip-relative",
    summary: "SHLD/SHRD r/m, r, imm8 with a RIP-relative memory operand address memory one byte too low: " +
      "the displacement is taken relative to the address before the imm8 instead of the end of the " +
      "instruction (SDM Vol. 2 §2.2.1.6), so the stored value and the flags come from the wrong bytes. " +
      "Other RIP-relative forms with immediates are right.",
    evidence:
      "4c 0f ac 2d f9 f7 0f 00 9d  shrdq $157, %r13, 0xff7f9(%rip) (target 0x300802): Unicorn writes " +
      "0x300801..0x300808 (seed 21, 8,000 cases; seed 22 --only shld,shrd,...: 20 cases, all RIP-relative with imm8).",
    explains(c, diffs) {
      return /^sh[lr]d[wlq] \$/.test(c.asm) && c.asm.includes("(%rip)") &&
        diffs.every((d) => d.field.startsWith("mem[") || d.field === "rflags");
    },
  },
];

/** The first known deviation that explains a Unicorn mismatch, if any. */
export function explainUnicornMismatch(
  c: TestCase,
  diffs: readonly Difference[],
  other: CaseResult,
  unicorn: CaseResult,
): UnicornDeviation | undefined {
  return UNICORN_DEVIATIONS.find((d) => d.explains(c, diffs, other, unicorn));
}

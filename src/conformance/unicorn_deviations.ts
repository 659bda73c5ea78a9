/**
 * Known places where Unicorn 2.0.1 (Debian bookworm's python3-unicorn, QEMU's CPU emulation) does
 * not do what the host CPU does. Where the two disagree the host is right; a mismatch between
 * Unicorn and another runner that one of these explains is reported as a known deviation, not as
 * a failure. Each entry names the evidence from our own runs (`deno task conformance`).
 * @module
 */

import { type CaseResult, CF, REG_NAMES, type RegName, type TestCase } from "./case.ts";
import { type Difference, stOf } from "./compare.ts";

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
    id: "x87-status-word",
    summary: "x87 status word: Unicorn 2.0.1 (QEMU 5.0's x87 helpers) sets no exception flags (IE, DE, ZE, " +
      "OE, UE, PE, SF, ES) and no C1 from arithmetic, and so never raises #MF for a pending unmasked " +
      "exception; values are QEMU's floatx80 and are compared. Every difference confined to FSW, or an " +
      "exception the host raised where Unicorn completed in a case whose FSW or operation has an " +
      "unmasked exception, is put down to this.",
    evidence: "dc c3  fadd %st, %st(3) with FSW 0x1200: host FSW 0x1000 (C1 cleared), Unicorn 0x1200; " +
      "d9 f6  fdecstp with FSW 0xb883 (ES set): host #MF, Unicorn completes (seed 4, 3,000 x87 cases).",
    explains(c, diffs) {
      if (c.x87 === undefined) return false;
      return diffs.every((d) => d.field === "fsw" || d.field === "exception");
    },
  },
  {
    id: "x87-transcendental-double",
    summary: "x87 transcendentals: Unicorn 2.0.1 (QEMU 5.0) computes FSIN, FCOS, FSINCOS, FPTAN, FPATAN, " +
      "F2XM1, FYL2X and FYL2XP1 in the host's double precision, so their results have 53 good bits and " +
      "no precision flag, where the host CPU's are within 1 ulp of extended precision.",
    evidence: "d9 fe  fsin: host ST(0) 0x3fefeed33131eada7052 FSW 0x2820, Unicorn 0x3fefeed33131eada7000 " +
      "FSW 0x2800; d9 f1  fyl2x: host 0xc0d3d071f92e01d9b4c7, Unicorn 0xc0d3d071f92e01d9b000 (seed 1).",
    explains(c) {
      return c.x87 !== undefined && /^(fsin|fcos|fsincos|fptan|fpatan|f2xm1|fyl2x|fyl2xp1)$/.test(c.asm);
    },
  },
  {
    id: "mmx-aliasing",
    summary: "MMX and the x87 state: Unicorn 2.0.1 leaves bits 79:64 of an MMX destination register as " +
      "they were (the SDM sets them to ones) and EMMS leaves TOP alone (the SDM sets it to 0); the 64-bit " +
      "MMX values themselves are compared. Differences in an MMX case confined to FSW, the tag word and " +
      "bits 79:64 of the registers are put down to this.",
    evidence:
      "0f fc c3  paddb %mm3, %mm0: host R = 0xffff31bcea705ed34dde, Unicorn 0x56d431bcea705ed34dde; " +
      "0f 77  emms with TOP = 6: host FSW 0x0400, Unicorn 0x3400 (seed 21).",
    explains(c, diffs, other, unicorn) {
      if (c.x87 === undefined || !/%mm\d|^emms$/.test(c.asm)) return false;
      return diffs.every((d) => {
        if (d.field === "fsw" || d.field === "ftw") return true;
        const m = /^st([0-7])$/.exec(d.field);
        if (m === null || other.x87 === undefined || unicorn.x87 === undefined) return false;
        // ST(i) names a different register in each when TOP differs: compare the values present.
        const mask = (1n << 64n) - 1n;
        const mine = new Set(Array.from({ length: 8 }, (_, i) => stOf(other.x87!, i) & mask));
        return mine.has(stOf(unicorn.x87, Number(m[1])) & mask);
      });
    },
  },
  {
    id: "mmx-phaddsub-same-register",
    summary: "PHADDW/D/SW and PHSUBW/D/SW on MMX registers with the same register as destination and " +
      "source: Unicorn 2.0.1 (QEMU 5.0's helper writes the destination's low half before it reads the " +
      "source) computes the result's high half from the already written low half; the host computes " +
      "both halves from the original operand. The XMM forms and distinct registers are right.",
    evidence: "0f 38 02 d2  phaddd %mm2, %mm2 with MM2 = 0xa57f0100fff30000: host MM2 0xa5720100a5720100, " +
      "Unicorn 0x4af10200a5720100 (the high half: the new low dword plus the old high one; seed 5, 3,000 SSSE3 cases: all 34 PHADD/PHSUB %mmN, %mmN cases).",
    explains(c) {
      return /^ph(add|sub)s?[wd] %mm(\d), %mm\2$/.test(c.asm);
    },
  },
  {
    id: "x87-stack-fault",
    summary:
      "x87 stack faults: Unicorn 2.0.1 reads an empty register as its stale contents and pushes onto " +
      "a full stack without the masked response (the real indefinite) or the tag changes; the host CPU " +
      "raises #IS and delivers the indefinite. Differences in a case where a register the instruction " +
      "reads (ST(0), ST(1), the ST(i) operand) is empty, or a push meets a full stack, are put down to this.",
    evidence: "d9 e1  fabs with ST(0) empty: host ST(0) = 0xffffc000000000000000 (indefinite), FSW 0x0841; " +
      "Unicorn leaves ST(0) 0x7fff800000cecf143c5a and FSW 0x0800 (seed 4).",
    explains(c) {
      if (c.x87 === undefined) return false;
      const h = (k: number) => parseInt(c.x87!.slice(2 * k, 2 * k + 2), 16);
      const fsw = h(2) | (h(3) << 8), ftw = h(4) | (h(5) << 8);
      const top = (fsw >> 11) & 7;
      const empty = (i: number) => ((ftw >> (2 * ((top + i) & 7))) & 3) === 3;
      const m = /%st\((\d)\)/.exec(c.asm);
      const pushes = /^(fld|fild|fbld|fxtract|fsincos|fptan)/.test(c.asm);
      return empty(0) || empty(1) || (pushes && !empty(7)) || (m !== null && empty(Number(m[1])));
    },
  },
  {
    id: "x87-alias-encodings",
    summary:
      "The x87 aliases in encodings the opcode map leaves blank (FSTP1 d9 d8+i, FCOM2 dc d0+i, FCOMP3 " +
      "dc d8+i, FXCH4 dd c8+i, FCOMP5 de d0+i, FFREEP df c0+i, FXCH7 df c8+i, FSTP8 df d0+i, FSTP9 df " +
      "d8+i): Unicorn 2.0.1 runs them, but FSTP1/FSTP8/FSTP9 leave the destination's tag as it was (the " +
      "host tags it by the value stored), and FXCH4/FXCH7 with an empty register take no masked " +
      "stack-fault response (the host stores the real indefinite and sets IE and SF). Differences in " +
      "these encodings' cases confined to FSW, the tag word and the ST registers are put down to this.",
    evidence:
      "df d5  fstp8 %st(5) with FSW 0x2818, FTW 0x033f: host FTW 0x0f0f, Unicorn 0x0f3f; dd ca  fxch4 " +
      "%st(2) with ST(2) empty: host FSW 0x3041 (IE, SF), Unicorn 0x3000 (seed 5, " +
      "3,000 alias cases).",
    explains(c, diffs) {
      if (c.x87 === undefined || !/^(d9d|dcd|ddc[89a-f]|ded[0-7]|dfc|dfd)/.test(c.bytes)) return false;
      return diffs.every((d) => d.field === "fsw" || d.field === "ftw" || /^st[0-7]$/.test(d.field));
    },
  },
  {
    id: "x87-qemu5",
    summary:
      "x87 beyond plain values: Unicorn 2.0.1 (QEMU 5.0's x87 helpers) ignores FCW's exception masks " +
      "(an unmasked #IA still writes, stores and pops), stores an SNaN to memory without quieting it, loads " +
      "the constants (FLDPI, FLDL2E, FLDL2T, FLDLG2, FLDLN2) rounded to nearest whatever the rounding " +
      "control, keeps FCW's reserved bits on FLDCW, stores 0 in the environment's reserved halves " +
      "(FNSTENV, FNSAVE), sets AF in FCOMI/FUCOMI, and differs from the host CPU on FPREM/FPREM1 condition " +
      "codes, FSCALE, FXTRACT of infinities, FISTTP and FBSTP out of range, and computes with a pseudo-denormal " +
      "as if its exponent were 0 rather than 1. Cases with an unmasked x87 exception, an SNaN in ST(0) or " +
      "ST(1), a pseudo-denormal register, or one of these instructions are compared with the host only.",
    evidence:
      "d9 eb  fldpi with FCW 0x047f (round down): host ST(0) 0x4000c90fdaa22168c234, Unicorn ...c235; " +
      "dc 04 f5 b5 fb 2f 00  faddl with FCW 0x0b4e and an SNaN: host leaves ST(0), Unicorn writes a QNaN; " +
      "dd 14 25 4f 08 30 00  fstl of an SNaN: host stores 0xfff8..., Unicorn 0xfff0...; d9 74 be 5a  fnstenv: " +
      "host reserved halves 0xffff, Unicorn 0; db f2  fcomi: Unicorn sets AF (seed 4, 3,000 x87 cases); d8 c0  " +
      "fadd %st(0), %st of the pseudo-denormal 0x0000800000a155fa87b0: host 0x0002800000a155fa87b0, Unicorn " +
      "0x000000000142abf50f60 (seed 12).",
    explains(c) {
      if (c.x87 === undefined) return false;
      const h = (k: number) => parseInt(c.x87!.slice(2 * k, 2 * k + 2), 16);
      if (((h(0) | (h(1) << 8)) & 0x3f) !== 0x3f) return true;
      // A pseudo-denormal (exponent 0, J = 1) anywhere: QEMU 5 adds it as a denormal of exponent 0.
      for (let i = 0; i < 8; i++) {
        if ((h(14 + 10 * i) | (h(15 + 10 * i) & 0x7f)) === 0 && h(13 + 10 * i) >= 0x80) return true;
      }
      for (const i of [0, 1]) {
        const se = h(14 + 10 * i) | (h(15 + 10 * i) << 8), b7 = h(13 + 10 * i);
        if (
          (se & 0x7fff) === 0x7fff && (b7 & 0xc0) === 0x80 &&
          c.x87!.slice(12 + 20 * i, 26 + 20 * i) !== "00000000000000"
        ) {
          return true;
        }
      }
      return /^(fnstenv|fnsave|fu?comip?|fld(pi|l2e|l2t|lg2|ln2|cw)|fprem1?|fscale|fxtract|fisttp|fbstp|fsts|fstps|fstl|fstpl|flds|fldl)/
        .test(c.asm);
    },
  },
  {
    id: "popcnt-ud",
    summary: "POPCNT raises #UD: the CPU Unicorn 2.0.1 emulates does not have it (its CPUID.1:ECX is " +
      "0x02182200, POPCNT bit 23 clear, whichever CPU model is chosen), though SSE4.2, which the SDM " +
      "enumerates separately, runs. The host executes it.",
    evidence: "f3 41 0f b8 c8  popcntl %r8d, %ecx: host completes, Unicorn #UD (seed 1, 3,000 POPCNT and " +
      "CRC32 cases: every POPCNT case, no CRC32 case).",
    explains(c, _diffs, other, unicorn) {
      return /^popcnt[wlq] /.test(c.asm) && unicorn.exception === "UD" && other.exception === undefined;
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

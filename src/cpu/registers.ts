/**
 * Architectural register numbers, RFLAGS bits and control-register bits of x86-64
 * (Intel SDM Vol. 1 §3.4, Vol. 3 §2.5).
 *
 * General registers are stored as 32-bit halves: register `r` has its low half at
 * `gpr[2 * r]` and its high half at `gpr[2 * r + 1]`.
 *
 * @module
 */

/** RAX (SDM Vol. 1 §3.4.1). */
export const RAX = 0;
/** RCX. */
export const RCX = 1;
/** RDX. */
export const RDX = 2;
/** RBX. */
export const RBX = 3;
/** RSP. */
export const RSP = 4;
/** RBP. */
export const RBP = 5;
/** RSI. */
export const RSI = 6;
/** RDI. */
export const RDI = 7;
/** R8 (R9..R15 follow as 9..15). */
export const R8 = 8;

/** Names of the 16 general registers, in encoding order. */
export const GPR_NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
] as const;

/** A general register's name, `rax` .. `r15`. */
export type GprName = typeof GPR_NAMES[number];

const LOW8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"];
const HIGH8 = ["ah", "ch", "dh", "bh"];

/**
 * The name of general register `r` (0-15) at an operand size of 1, 2, 4 or 8 bytes, as AT&T and
 * Intel syntax spell it without a prefix: `eax`, `r9d`, `sil`, `r12w`. A byte register numbered
 * 16-19 is AH, CH, DH, BH (the legacy high bytes, reachable without REX).
 *
 * @example
 * ```ts
 * import { gprName } from "./registers.ts";
 * console.log(gprName(4, 9), gprName(1, 6), gprName(1, 17)); // r9d sil ch
 * ```
 */
export function gprName(size: number, r: number): string {
  if (size === 1) return r >= 16 ? HIGH8[r - 16] : r < 8 ? LOW8[r] : `r${r}b`;
  const n = GPR_NAMES[r];
  if (size === 8) return n;
  if (r >= 8) return size === 4 ? `${n}d` : `${n}w`;
  return size === 4 ? "e" + n.slice(1) : n.slice(1);
}

/** Segment register index: ES (SDM Vol. 3 §3.4.2, same order as the VMCS guest fields). */
export const SEG_ES = 0;
/** Segment register index: CS. */
export const SEG_CS = 1;
/** Segment register index: SS. */
export const SEG_SS = 2;
/** Segment register index: DS. */
export const SEG_DS = 3;
/** Segment register index: FS. */
export const SEG_FS = 4;
/** Segment register index: GS. */
export const SEG_GS = 5;
/** System segment index: LDTR. */
export const SEG_LDTR = 6;
/** System segment index: TR. */
export const SEG_TR = 7;

/** RFLAGS.CF, carry (SDM Vol. 1 §3.4.3.1). */
export const CF = 1 << 0;
/** RFLAGS bit 1, always 1. */
export const FLAG_FIXED1 = 1 << 1;
/** RFLAGS.PF, parity. */
export const PF = 1 << 2;
/** RFLAGS.AF, auxiliary carry. */
export const AF = 1 << 4;
/** RFLAGS.ZF, zero. */
export const ZF = 1 << 6;
/** RFLAGS.SF, sign. */
export const SF = 1 << 7;
/** RFLAGS.TF, trap. */
export const TF = 1 << 8;
/** RFLAGS.IF, interrupt enable. */
export const IF = 1 << 9;
/** RFLAGS.DF, direction. */
export const DF = 1 << 10;
/** RFLAGS.OF, overflow. */
export const OF = 1 << 11;
/** RFLAGS.IOPL (bits 13:12). */
export const IOPL = 3 << 12;
/** RFLAGS.NT, nested task. */
export const NT = 1 << 14;
/** RFLAGS.RF, resume. */
export const RF = 1 << 16;
/** RFLAGS.VM, virtual-8086 mode. */
export const VM = 1 << 17;
/** RFLAGS.AC, alignment check. */
export const AC = 1 << 18;
/** RFLAGS.VIF. */
export const VIF = 1 << 19;
/** RFLAGS.VIP. */
export const VIP = 1 << 20;
/** RFLAGS.ID, CPUID available. */
export const ID = 1 << 21;
/** The six arithmetic status flags. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** RFLAGS bits software can change in 64-bit mode (everything defined but bit 1 and VM). */
export const RFLAGS_WRITABLE = ARITH_FLAGS | TF | IF | DF | IOPL | NT | RF | AC | VIF | VIP | ID;

/** CR0.PE, protection enable (SDM Vol. 3 §2.5). */
export const CR0_PE = 1 << 0;
/** CR0.MP. */
export const CR0_MP = 1 << 1;
/** CR0.EM. */
export const CR0_EM = 1 << 2;
/** CR0.TS. */
export const CR0_TS = 1 << 3;
/** CR0.ET. */
export const CR0_ET = 1 << 4;
/** CR0.NE. */
export const CR0_NE = 1 << 5;
/** CR0.WP, supervisor write protect. */
export const CR0_WP = 1 << 16;
/** CR0.AM. */
export const CR0_AM = 1 << 18;
/** CR0.NW. */
export const CR0_NW = 1 << 29;
/** CR0.CD. */
export const CR0_CD = 1 << 30;
/** CR0.PG, paging (bit 31). */
export const CR0_PG = 0x80000000;

/** CR4.DE, debugging extensions: DR4/DR5 no longer alias DR6/DR7 (SDM Vol. 3 §2.5, §17.2.2). */
export const CR4_DE = 1 << 3;
/** CR4.PSE. */
export const CR4_PSE = 1 << 4;
/** CR4.PAE. */
export const CR4_PAE = 1 << 5;
/** CR4.MCE. */
export const CR4_MCE = 1 << 6;
/** CR4.PGE, global pages. */
export const CR4_PGE = 1 << 7;
/** CR4.OSFXSR. */
export const CR4_OSFXSR = 1 << 9;
/** CR4.OSXMMEXCPT: unmasked SIMD floating-point exceptions raise #XM instead of #UD. */
export const CR4_OSXMMEXCPT = 1 << 10;
/** CR4.VMXE. */
export const CR4_VMXE = 1 << 13;
/** CR4.FSGSBASE. */
export const CR4_FSGSBASE = 1 << 16;
/** CR4.PCIDE: process-context identifiers (SDM Vol. 3 §2.5). */
export const CR4_PCIDE = 1 << 17;
/** CR4.OSXSAVE: XSAVE and processor extended states enabled (SDM Vol. 3 §2.5). */
export const CR4_OSXSAVE = 1 << 18;

/** DR6 B0-B3: breakpoint condition 0-3 detected (SDM Vol. 3 §17.2.3). */
export const DR6_B0_B3 = 0xf;
/** DR6.BD: the next instruction accesses a debug register while DR7.GD is set (SDM Vol. 3 §17.2.3). */
export const DR6_BD = 1 << 13;
/** DR6.BS: single step (SDM Vol. 3 §17.2.3). */
export const DR6_BS = 1 << 14;
/** DR6.BT: task switch (SDM Vol. 3 §17.2.3). */
export const DR6_BT = 1 << 15;
/**
 * DR6 bits that always read 1, its value at reset (SDM Vol. 3 §17.2.3, Figure 17-1, Table 10-1):
 * bits 4-11 and 16-31 on a processor without RTM (bit 16) and bus-lock detection (bit 11), as hvsim.
 */
export const DR6_FIXED1 = 0xffff0ff0;
/** DR6 bits software can change: B0-B3, BD, BS, BT (bit 12 reads 0; SDM Vol. 3 Figure 17-1). */
export const DR6_WRITABLE = DR6_B0_B3 | DR6_BD | DR6_BS | DR6_BT;
/** DR7.GD, general detect: MOV to or from any debug register raises #DB (SDM Vol. 3 §17.2.4). */
export const DR7_GD = 1 << 13;
/** DR7 bit 10, which always reads 1; DR7 is 0x400 at reset and after a VM exit (SDM Vol. 3 §17.2.4, §27.5.1). */
export const DR7_FIXED1 = 0x400;
/**
 * DR7 bits software can change: L0-G3 and LE/GE (9:0), GD (13), R/W and LEN (31:16); bits 11,
 * 12, 14 and 15 read 0 on a processor without RTM (SDM Vol. 3 Figure 17-2).
 */
export const DR7_WRITABLE = 0xffff23ff;

/** IA32_EFER.SCE, SYSCALL enable (SDM Vol. 3 §2.2.1). */
export const EFER_SCE = 1 << 0;
/** IA32_EFER.LME, long mode enable. */
export const EFER_LME = 1 << 8;
/** IA32_EFER.LMA, long mode active. */
export const EFER_LMA = 1 << 10;
/** IA32_EFER.NXE, execute-disable enable. */
export const EFER_NXE = 1 << 11;

/** Exception vector #DE, divide error (SDM Vol. 3 Table 6-1). */
export const EXC_DE = 0;
/** #DB, debug. */
export const EXC_DB = 1;
/** NMI. */
export const EXC_NMI = 2;
/** #BP, breakpoint (INT3). */
export const EXC_BP = 3;
/** #OF, overflow. */
export const EXC_OF = 4;
/** #BR, bound range. */
export const EXC_BR = 5;
/** #UD, invalid opcode. */
export const EXC_UD = 6;
/** #NM, device not available. */
export const EXC_NM = 7;
/** #DF, double fault. */
export const EXC_DF = 8;
/** #TS, invalid TSS. */
export const EXC_TS = 10;
/** #NP, segment not present. */
export const EXC_NP = 11;
/** #SS, stack fault. */
export const EXC_SS = 12;
/** #GP, general protection. */
export const EXC_GP = 13;
/** #PF, page fault. */
export const EXC_PF = 14;
/** #MF. */
export const EXC_MF = 16;
/** #XM, SIMD floating-point exception. */
export const EXC_XM = 19;
/** #AC, alignment check. */
export const EXC_AC = 17;
/** #MC, machine check. */
export const EXC_MC = 18;
/** Short names of exception vectors 0..31, for messages. */
export const EXCEPTION_NAMES: readonly string[] = [
  "#DE",
  "#DB",
  "NMI",
  "#BP",
  "#OF",
  "#BR",
  "#UD",
  "#NM",
  "#DF",
  "#MF9",
  "#TS",
  "#NP",
  "#SS",
  "#GP",
  "#PF",
  "#15",
  "#MF",
  "#AC",
  "#MC",
  "#XM",
  "#VE",
  "#CP",
  "#22",
  "#23",
  "#24",
  "#25",
  "#26",
  "#27",
  "#28",
  "#29",
  "#30",
  "#31",
];

/** Exceptions that push an error code (SDM Vol. 3 §6.13). */
export function pushesErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
}

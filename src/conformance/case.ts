/**
 * The conformance test-case format shared by every runner (host CPU, Unicorn, hvsim).
 *
 * One case = one instruction run from a fully specified state. Cases and results travel as JSON
 * lines (one object per line), so the oracles (`host_oracle.c`, `unicorn_oracle.py`) can also be
 * driven by hand: `.cache/conformance/host_oracle < cases.jsonl`.
 *
 * Memory layout every runner reproduces (all addresses are the same in every runner, so pointer
 * values in registers compare equal):
 * - the code region `CODE_REGION_BASE .. + CODE_REGION_SIZE` is filled with INT3 (0xCC); the
 *   instruction is written at `CODE_ADDR` (the region's middle). Execution runs until an INT3 other
 *   than the instruction itself is reached; the final RIP is that INT3's address, so a branch taken
 *   or not taken ends at a trap either way.
 * - the scratch page `SCRATCH_PAGE` (4 KiB, zero-filled) holds the `SCRATCH_SIZE`-byte scratch area
 *   at `SCRATCH_ADDR`; every memory operand (and the stack) points into it.
 * @module
 */

import { GPR_NAMES, type GprName } from "../cpu/registers.ts";

/** Register names in the encoding order of ModRM.reg / REX (SDM Vol. 2, Table 2-2): the CPU's own list. */
export const REG_NAMES = GPR_NAMES;

/** A general register's name, `rax` .. `r15`. */
export type RegName = GprName;

/** Start of the code region (filled with INT3). */
export const CODE_REGION_BASE = 0x200000;
/** Size of the code region in bytes (two 4 KiB pages). */
export const CODE_REGION_SIZE = 0x2000;
/** Where the instruction under test is placed: the middle of the code region. */
export const CODE_ADDR = 0x201000;
/** The 4 KiB page that holds the scratch area; mapped read/write, zero outside the scratch area. */
export const SCRATCH_PAGE = 0x300000;
/** Start of the scratch area inside `SCRATCH_PAGE`. */
export const SCRATCH_ADDR = 0x300800;
/** Size of the scratch area in bytes; its contents are part of every case and result. */
export const SCRATCH_SIZE = 256;

/** Carry flag (SDM Vol. 1, 3.4.3.1). */
export const CF = 0x1;
/** Parity flag (SDM Vol. 1, 3.4.3.1). */
export const PF = 0x4;
/** Auxiliary-carry flag (SDM Vol. 1, 3.4.3.1). */
export const AF = 0x10;
/** Zero flag (SDM Vol. 1, 3.4.3.1). */
export const ZF = 0x40;
/** Sign flag (SDM Vol. 1, 3.4.3.1). */
export const SF = 0x80;
/** Direction flag (SDM Vol. 1, 3.4.3.2). */
export const DF = 0x400;
/** Overflow flag (SDM Vol. 1, 3.4.3.1). */
export const OF = 0x800;
/** The six status flags. */
export const STATUS_FLAGS = CF | PF | AF | ZF | SF | OF;
/** The RFLAGS bits a case sets and a comparison looks at: the status flags and DF. */
export const CASE_FLAGS = STATUS_FLAGS | DF;
/** RFLAGS bit 1, reserved, always 1 (SDM Vol. 1, 3.4.3). */
export const RFLAGS_FIXED = 0x2;

/** Bits of a case's outcome that the SDM leaves undefined; comparisons ignore exactly these. */
export interface Undefined {
  /** RFLAGS bits whose final value is undefined. */
  flags: number;
  /** Per register, a mask (hex) of bits whose final value is undefined. */
  regs?: Partial<Record<RegName, string>>;
  /** Scratch bytes with undefined bits: `[offset into the scratch area, bit mask]`. */
  mem?: [number, number][];
  /**
   * Lanes of an XMM register the SDM defines only within a bound (RCPPS, RSQRTPS: relative error at
   * most 1.5 * 2^-12): binary32 lanes 0..lanes-1 of register `xmm`.
   */
  approx?: { xmm: number; lanes: number };
  /**
   * x87 results the SDM bounds within 1 ulp of extended precision (Vol. 1 §8.3.10: the
   * transcendental instructions): ST0-ST7 may differ by `ulp` units in the last place, and the FSW
   * bits in `sw` (C1, which reports the rounding's direction) may differ.
   */
  x87?: { ulp: number; sw: number };
}

/** FSW.C1 (SDM Vol. 1 Figure 8-4). */
export const X87_C1 = 0x200;

/** One test case: an instruction and the complete state it starts from. */
export interface TestCase {
  /** Unique within a run. */
  id: string;
  /** The instruction form this case instantiates, e.g. `addq r64, m64`. */
  form: string;
  /** The AT&T text the bytes were assembled from. */
  asm: string;
  /** Instruction bytes, lower-case hex. */
  bytes: string;
  /** Initial value of every general register, as `0x` hex. */
  regs: Record<RegName, string>;
  /** Initial RFLAGS (only `CASE_FLAGS` bits and bit 1), as `0x` hex. */
  rflags: string;
  /** Initial contents of the scratch area, `SCRATCH_SIZE` bytes as hex. */
  mem: string;
  /** What the SDM leaves undefined for this instruction with these operands. */
  undef: Undefined;
  /** SSE forms: initial XMM0-15, 256 bytes as hex (XMM0 first, each little-endian). */
  xmm?: string;
  /** SSE forms: initial MXCSR, as `0x` hex. */
  mxcsr?: string;
  /**
   * x87 forms: the initial x87 state, 86 bytes as hex: FCW, FSW (TOP in bits 13:11), the full tag
   * word (2 bytes each, little-endian), then ST0-ST7 in stack order, 10 bytes each (significand,
   * then sign and exponent). Without it the x87 state is FNINIT's.
   */
  x87?: string;
}

/** Exception mnemonics by vector (SDM Vol. 3, Table 6-1). */
export const EXCEPTION_NAMES: Record<number, string> = {
  0: "DE",
  1: "DB",
  3: "BP",
  4: "OF",
  5: "BR",
  6: "UD",
  7: "NM",
  8: "DF",
  10: "TS",
  11: "NP",
  12: "SS",
  13: "GP",
  14: "PF",
  16: "MF",
  17: "AC",
  18: "MC",
  19: "XM",
};

/** What one runner observed after running one case. */
export interface CaseResult {
  /** The case's id. */
  id: string;
  /**
   * The exception the instruction raised (`"DE"`, `"UD"`, `"GP"`, `"PF"`, `"BP"`, ...), or a runner
   * failure (`"timeout"`, `"crash"`, `"error"`); absent when the instruction completed.
   */
  exception?: string;
  /** The exception's vector, when `exception` is an architectural exception. */
  vector?: number;
  /** Free text from the runner about a failure. */
  detail?: string;
  /** Final registers (at the fault, for an exception). */
  regs?: Record<RegName, string>;
  /** Final RIP: the address of the INT3 where execution stopped, or of the faulting instruction. */
  rip?: string;
  /** Final RFLAGS, as the runner reports it (comparisons mask it to `CASE_FLAGS`). */
  rflags?: string;
  /** Final contents of the scratch area, hex. */
  mem?: string;
  /** Final XMM0-15 (cases with SSE state), as the case's `xmm`. */
  xmm?: string;
  /** Final MXCSR (cases with SSE state). */
  mxcsr?: string;
  /**
   * Final x87 state (cases with x87 state), as the case's `x87`. The tag word is the full one
   * rebuilt from FXSAVE's abridged tags and the registers' contents (SDM Vol. 1 §10.5.1.1).
   */
  x87?: string;
}

/** Formats a bigint or number as `0x` lower-case hex. */
export function hex(v: bigint | number): string {
  return "0x" + v.toString(16);
}

/** Lower-case hex of a byte array. */
export function bytesToHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of a hex string; throws a `SyntaxError` on odd length or non-hex digits. */
export function hexToBytes(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) {
    throw new SyntaxError(
      `Invalid hex byte string "${h.slice(0, 40)}": expected an even number of hex digits`,
    );
  }
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Encodes objects as JSON lines (one object per line, each line ending in `\n`). */
export function toJsonLines(items: readonly unknown[]): string {
  let s = "";
  for (const it of items) s += JSON.stringify(it) + "\n";
  return s;
}

/** Decodes JSON lines; blank lines are skipped, a malformed line throws naming its line number. */
export function fromJsonLines<T>(text: string): T[] {
  const out: T[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      throw new SyntaxError(`Invalid JSON on line ${i + 1}: ${(e as Error).message}`);
    }
  }
  return out;
}

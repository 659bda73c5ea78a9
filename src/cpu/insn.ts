/**
 * The decoded-instruction record. The decoder fills one per instruction, once; the block cache
 * keeps it, so executing an instruction allocates nothing.
 *
 * @module
 */

import type { Cpu } from "./cpu.ts";

/** An instruction handler: executes `insn` on `cpu`. It may throw the CPU's fault or exit signal. */
export type Handler = (cpu: Cpu, insn: Insn) => void;

/** No register / no segment override. */
export const NONE = -1;
/** `Insn.base` value for RIP-relative addressing. */
export const BASE_RIP = 16;

/** A decoded instruction. */
export class Insn {
  /** Executes the instruction. */
  h: Handler;
  /** Length in bytes. */
  len = 0;
  /** Operand size in bytes: 1, 2, 4 or 8. */
  size = 4;
  /** Address size in bytes: 4 or 8. */
  asize = 8;
  /** ModRM.reg (with REX.R), or the register in the opcode's low bits (with REX.B). For byte operands, 16..19 name AH, CH, DH, BH. */
  reg = 0;
  /** ModRM.rm (with REX.B) when the operand is a register; byte registers as for {@linkcode reg}. */
  rm = 0;
  /** The r/m operand is memory. */
  mem = false;
  /** Base register of the memory operand, BASE_RIP, or NONE. */
  base: number = NONE;
  /** Index register of the memory operand, or NONE. */
  index: number = NONE;
  /** Index scale as a shift count, 0..3. */
  scale = 0;
  /** Displacement, sign-extended (int32). */
  disp = 0;
  /** Segment override (SEG_*), or NONE. */
  seg: number = NONE;
  /** Immediate, low 32 bits (uint32), already sign- or zero-extended to the operand size. */
  imm = 0;
  /** Immediate, high 32 bits for 8-byte operands. */
  immHi = 0;
  /** Second immediate (ENTER's nesting level). */
  imm2 = 0;
  /** Repeat prefix: 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
  rep = 0;
  /** LOCK prefix present. */
  lock = false;
  /** Per-entry argument from the instruction table (ALU operation, condition code, ...). */
  op = 0;
  /** Index of the instruction-table entry (for the disassembler and statistics). */
  entry = 0;
  /** The ModRM byte (0 without one): the x87 FPU records it in FOP. */
  modrm = 0;
  /** Ends the decoded block (branches, mode changes). */
  ends = false;

  /**
   * A blank decoded instruction.
   *
   * @param h the handler that executes the instruction
   */
  constructor(h: Handler) {
    this.h = h;
  }
}

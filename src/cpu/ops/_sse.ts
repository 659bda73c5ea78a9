/**
 * What every SSE handler shares: the enabling checks of SDM Vol. 3 §2.5 / Vol. 1 §13.1 (#UD with
 * CR0.EM=1 or CR4.OSFXSR=0, #NM with CR0.TS=1), XMM operand access, and 128-bit memory operands
 * (16-byte alignment for the aligned forms: #GP(0), SDM Vol. 1 §10.4.1.1 / 11.6.7).
 *
 * Scratch registers 16-19 of {@linkcode FpuState.xmm} hold memory operands and results, so a
 * handler computes into a scratch register and commits only when nothing can fault any more.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CR0_EM, CR0_TS, CR4_OSFXSR, EXC_NM } from "../registers.ts";

/** Scratch XMM register: a memory source operand. */
export const T_SRC = 16;
/** Scratch XMM register: a result being built. */
export const T_DST = 17;

/** The SSE enabling checks: #UD when CR0.EM=1 or CR4.OSFXSR=0, then #NM when CR0.TS=1. */
export function sseCheck(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) sseFault(cpu);
}

function sseFault(cpu: Cpu): never {
  if ((cpu.cr0 & CR0_EM) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) cpu.ud();
  return cpu.fault(EXC_NM, false, 0);
}

/** Linear address of a 16-byte memory operand; #GP(0) if `aligned` and it is not 16-byte aligned. */
export function addr128(cpu: Cpu, i: Insn, aligned: boolean): number {
  const lin = cpu.linear(i);
  if (aligned && (lin & 15) !== 0) cpu.gp0();
  return lin;
}

/** Reads 16 bytes at `lin` into XMM register `r` (scratch or architectural). */
export function load128(cpu: Cpu, lin: number, r: number): void {
  const x = cpu.fpu.xmm;
  const a = cpu.read(lin, 8), b = cpu.hi;
  const c = cpu.read(lin + 8, 8), d = cpu.hi;
  x[4 * r] = a;
  x[4 * r + 1] = b;
  x[4 * r + 2] = c;
  x[4 * r + 3] = d;
}

/** Writes XMM register `r` to the 16 bytes at `lin` (both pages checked first). */
export function store128(cpu: Cpu, lin: number, r: number): void {
  const x = cpu.fpu.xmm;
  if ((lin & 0xfff) > 0xff0) cpu.probeWrite(lin, 16);
  cpu.write(lin, 8, x[4 * r], x[4 * r + 1]);
  cpu.write(lin + 8, 8, x[4 * r + 2], x[4 * r + 3]);
}

/** The XMM register holding the r/m source: the register itself, or T_SRC loaded from memory. */
export function src128(cpu: Cpu, i: Insn, aligned: boolean): number {
  if (!i.mem) return i.rm;
  load128(cpu, addr128(cpu, i, aligned), T_SRC);
  return T_SRC;
}

/** The r/m source's low 64 bits in T_SRC lanes 0-1 (memory) or the register (lanes 0-1 used). */
export function src64(cpu: Cpu, i: Insn): number {
  if (!i.mem) return i.rm;
  const x = cpu.fpu.xmm;
  x[4 * T_SRC] = cpu.read(cpu.linear(i), 8);
  x[4 * T_SRC + 1] = cpu.hi;
  return T_SRC;
}

/** The r/m source's low 32 bits in T_SRC lane 0 (memory) or the register (lane 0 used). */
export function src32(cpu: Cpu, i: Insn): number {
  if (!i.mem) return i.rm;
  cpu.fpu.xmm[4 * T_SRC] = cpu.read(cpu.linear(i), 4);
  return T_SRC;
}

/** Copies XMM register `s` to `d` (all four lanes). */
export function copy128(x: Uint32Array, d: number, s: number): void {
  x[4 * d] = x[4 * s];
  x[4 * d + 1] = x[4 * s + 1];
  x[4 * d + 2] = x[4 * s + 2];
  x[4 * d + 3] = x[4 * s + 3];
}

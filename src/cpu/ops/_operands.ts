/**
 * Operand access shared by the instruction handlers: the ModRM r/m operand (register or memory)
 * and the stack.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { RSP } from "../registers.ts";

const TWO32 = 4294967296;

/** Reads the r/m operand at the instruction's size; 8-byte values leave the high half in `cpu.hi`. */
export function readE(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.read(cpu.linear(i), i.size) : cpu.readReg(i.size, i.rm);
}

/** Reads the r/m operand for a read-modify-write: a memory operand is checked for writing first. */
export function readEForWrite(cpu: Cpu, i: Insn): number {
  if (!i.mem) return cpu.readReg(i.size, i.rm);
  const lin = cpu.linear(i);
  cpu.probeWrite(lin, i.size);
  return cpu.read(lin, i.size);
}

/** Writes the r/m operand; a memory operand goes to the address the last readE/linear computed. */
export function writeBackE(cpu: Cpu, i: Insn, lo: number, hi: number): void {
  if (i.mem) cpu.write(cpu.ea, i.size, lo, hi);
  else cpu.writeReg(i.size, i.rm, lo, hi);
}

/** Writes the r/m operand, computing a memory operand's address. */
export function writeE(cpu: Cpu, i: Insn, lo: number, hi: number): void {
  if (i.mem) cpu.write(cpu.linear(i), i.size, lo, hi);
  else cpu.writeReg(i.size, i.rm, lo, hi);
}

/** Truncates a number to an operand size of 1, 2 or 4 bytes (as uint32). */
export function trunc(size: number, v: number): number {
  return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
}

/** RSP as a canonical linear address (#SS(0) if it is not canonical). */
export function rspLinear(cpu: Cpu, delta: number): number {
  const hi = cpu.gpr[2 * RSP + 1] | 0;
  const v = hi * TWO32 + cpu.gpr[2 * RSP] + delta;
  const vh = Math.floor(v / TWO32) | 0;
  if (((vh << 16) >> 16) !== vh) cpu.fault(12, true, 0);
  return v;
}

/** Sets RSP from a linear address (signed number). */
export function setRsp(cpu: Cpu, lin: number): void {
  cpu.gpr[2 * RSP] = lin >>> 0;
  cpu.gpr[2 * RSP + 1] = Math.floor(lin / TWO32) >>> 0;
}

/** Pushes `size` (2 or 8) bytes. The store happens before RSP changes, so a fault changes nothing. */
export function push(cpu: Cpu, size: number, lo: number, hi: number): void {
  const sp = rspLinear(cpu, -size);
  cpu.write(sp, size, lo, hi);
  setRsp(cpu, sp);
}

/** Pops `size` bytes; returns the low half (high half in `cpu.hi`). RSP is updated. */
export function pop(cpu: Cpu, size: number): number {
  const sp = rspLinear(cpu, 0);
  const v = cpu.read(sp, size);
  const h = cpu.hi;
  setRsp(cpu, sp + size);
  cpu.hi = h;
  return v;
}

/** Converts a linear address (signed number) to its 64-bit halves: returns low, high in `cpu.hi`. */
export function splitLinear(cpu: Cpu, lin: number): number {
  cpu.hi = Math.floor(lin / TWO32) >>> 0;
  return lin >>> 0;
}

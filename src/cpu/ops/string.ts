/**
 * String instructions MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE (SDM Vol. 2 REP).
 * Each iteration counts as one retired instruction, as QEMU's icount does, so the instruction
 * budget (virtual time) can end between iterations: RIP then stays on the instruction, with RCX,
 * RSI and RDI describing the work left, exactly as after an interrupt between iterations.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { FLAGS_SUB } from "../flags.ts";
import { RAX, RCX, RDI, RSI } from "../registers.ts";
import { trunc } from "./_operands.ts";

/** String operation numbers (the table's `op`). */
export const STR_MOVS = 0;
/** STOS. */
export const STR_STOS = 1;
/** LODS. */
export const STR_LODS = 2;
/** CMPS. */
export const STR_CMPS = 3;
/** SCAS. */
export const STR_SCAS = 4;

const TWO32 = 4294967296;

/** Reads an address register (RSI/RDI) as a linear address at the address size. */
function addrReg(cpu: Cpu, r: number, a32: boolean): number {
  const g = cpu.gpr;
  if (a32) return g[2 * r];
  const hi = g[2 * r + 1] | 0;
  if (((hi << 16) >> 16) !== hi) cpu.gp0();
  return hi * TWO32 + g[2 * r];
}

/** Advances an address register by `delta` bytes at the address size. */
function stepReg(cpu: Cpu, r: number, delta: number, a32: boolean): void {
  const g = cpu.gpr;
  const t = g[2 * r] + delta;
  g[2 * r] = t >>> 0;
  if (a32) g[2 * r + 1] = 0;
  else if (t < 0 || t >= TWO32) g[2 * r + 1] = (g[2 * r + 1] + Math.floor(t / TWO32)) >>> 0;
}

/** One iteration; returns false when a REPE/REPNE condition ends the repetition. */
function once(cpu: Cpu, i: Insn, a32: boolean, step: number): boolean {
  const size = i.size;
  const seg = i.seg;
  switch (i.op) {
    case STR_MOVS: {
      const src = cpu.withSegmentBase(seg, addrReg(cpu, RSI, a32));
      const v = cpu.read(src, size);
      const h = cpu.hi;
      cpu.write(addrReg(cpu, RDI, a32), size, v, h);
      stepReg(cpu, RSI, step, a32);
      stepReg(cpu, RDI, step, a32);
      return true;
    }
    case STR_STOS: {
      const v = cpu.readReg(size, RAX);
      cpu.write(addrReg(cpu, RDI, a32), size, v, cpu.hi);
      stepReg(cpu, RDI, step, a32);
      return true;
    }
    case STR_LODS: {
      const src = cpu.withSegmentBase(seg, addrReg(cpu, RSI, a32));
      const v = cpu.read(src, size);
      cpu.writeReg(size, RAX, v, cpu.hi);
      stepReg(cpu, RSI, step, a32);
      return true;
    }
    case STR_CMPS: {
      const src = cpu.withSegmentBase(seg, addrReg(cpu, RSI, a32));
      const a = cpu.read(src, size), ah = cpu.hi;
      const b = cpu.read(addrReg(cpu, RDI, a32), size), bh = cpu.hi;
      stepReg(cpu, RSI, step, a32);
      stepReg(cpu, RDI, step, a32);
      return sub(cpu, size, a, ah, b, bh, i.rep);
    }
    default: {
      const b = cpu.read(addrReg(cpu, RDI, a32), size), bh = cpu.hi;
      const a = cpu.readReg(size, RAX), ah = cpu.hi;
      stepReg(cpu, RDI, step, a32);
      return sub(cpu, size, a, ah, b, bh, i.rep);
    }
  }
}

function sub(cpu: Cpu, size: number, a: number, ah: number, b: number, bh: number, rep: number): boolean {
  let r: number, rh = 0;
  if (size === 8) {
    const l = a - b;
    r = l >>> 0;
    rh = (ah - bh - (l < 0 ? 1 : 0)) >>> 0;
  } else r = trunc(size, a - b);
  cpu.fl.set(FLAGS_SUB, size, a, ah, b, bh, r, rh);
  const equal = r === 0 && rh === 0;
  return rep === 0xf3 ? equal : rep === 0xf2 ? !equal : true;
}

/** All string instructions, with or without a repeat prefix. */
export function stringOp(cpu: Cpu, i: Insn): void {
  const a32 = i.asize === 4;
  const step = cpu.dir() * i.size;
  if (i.rep === 0) {
    once(cpu, i, a32, step);
    return;
  }
  const g = cpu.gpr;
  let first = true;
  for (;;) {
    const cl = g[2 * RCX], ch = a32 ? 0 : g[2 * RCX + 1];
    if (cl === 0 && ch === 0) return;
    if (!first) {
      // Iterations after the first retire as instructions of their own: the block loop must
      // re-check the budget after this instruction, so end the block.
      cpu.brk = true;
      if (cpu.icount + 1 >= cpu.endAt) {
        // Budget used up between iterations: resume here later.
        cpu.nrip = cpu.rip;
        return;
      }
      cpu.icount++;
    }
    first = false;
    const go = once(cpu, i, a32, step);
    // RCX is decremented after the iteration's memory accesses succeeded.
    if (cl === 0) {
      g[2 * RCX] = 0xffffffff;
      if (!a32) g[2 * RCX + 1] = (ch - 1) >>> 0;
    } else {
      g[2 * RCX] = cl - 1;
      if (a32) g[2 * RCX + 1] = 0;
    }
    if (!go) return;
  }
}

/**
 * String instructions MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE (SDM Vol. 2 REP).
 * Each iteration counts as one retired instruction, as QEMU's icount does, so the instruction
 * budget (virtual time) can end between iterations: RIP then stays on the instruction, with RCX,
 * RSI and RDI describing the work left, exactly as after an interrupt between iterations.
 *
 * @module
 */

import { type Cpu, TLB_MASK } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { FLAGS_SUB } from "../flags.ts";
import { RAX, RCX, RDI, RSI, SEG_FS, SEG_GS } from "../registers.ts";
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
export function addrReg(cpu: Cpu, r: number, a32: boolean): number {
  const g = cpu.gpr;
  if (a32) return g[2 * r];
  const hi = g[2 * r + 1] | 0;
  if (((hi << 16) >> 16) !== hi) cpu.gp0();
  return hi * TWO32 + g[2 * r];
}

/** The address register holds a canonical address (always, with 32-bit addressing). */
function canonicalReg(cpu: Cpu, r: number, a32: boolean): boolean {
  const hi = cpu.gpr[2 * r + 1] | 0;
  return a32 || ((hi << 16) >> 16) === hi;
}

/** Advances an address register by `delta` bytes at the address size. */
export function stepReg(cpu: Cpu, r: number, delta: number, a32: boolean): void {
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

/** Most iterations one bulk step does (keeps every count a small integer). */
const MAX_BULK = 1 << 20;

/**
 * Runs as many further iterations of a forward REP MOVS or REP STOS at once as stay inside the
 * source and destination pages already in the software TLB (the destination writable and dirty,
 * so no fault, exit, dirty-log entry or code invalidation can happen), inside RCX and inside the
 * budget, each counted as one retired instruction. A MOVS whose destination overlaps the source
 * ahead of it copies at most the distance between them per step, so the result is that of one
 * element after another. Returns the iterations done (0: take the one-at-a-time path).
 */
function bulk(cpu: Cpu, i: Insn, a32: boolean): number {
  const size = i.size, g = cpu.gpr;
  let n = Math.min(MAX_BULK, cpu.endAt - cpu.icount - 1);
  if (a32 || g[2 * RCX + 1] === 0) n = Math.min(n, g[2 * RCX]);
  // Non-canonical addresses and FS/GS bases are left to the one-at-a-time path (it faults there).
  if (!canonicalReg(cpu, RDI, a32) || (i.op === STR_MOVS && !canonicalReg(cpu, RSI, a32))) return 0;
  if (i.seg === SEG_FS || i.seg === SEG_GS) return 0;
  const dst = addrReg(cpu, RDI, a32);
  const offD = dst & 0xfff, vpnD = (dst - offD) / 4096, slotD = vpnD & TLB_MASK;
  if (cpu.wTag[slotD] !== vpnD) return 0;
  const pd = cpu.wHpa[slotD] + offD;
  n = Math.min(n, Math.floor((4096 - offD) / size));
  const mem = cpu.mem;
  if (i.op === STR_MOVS) {
    const src = addrReg(cpu, RSI, a32);
    const offS = src & 0xfff, vpnS = (src - offS) / 4096, slotS = vpnS & TLB_MASK;
    if (cpu.rTag[slotS] !== vpnS) return 0;
    const ps = cpu.rHpa[slotS] + offS;
    n = Math.min(n, Math.floor((4096 - offS) / size));
    if (pd > ps) n = Math.min(n, Math.floor((pd - ps) / size));
    if (n <= 0) return 0;
    mem.copyWithin(pd, ps, ps + n * size);
    stepReg(cpu, RSI, n * size, a32);
  } else {
    if (n <= 0) return 0;
    const lo = g[2 * RAX], hi = g[2 * RAX + 1];
    if (size === 1) mem.fill(lo & 0xff, pd, pd + n);
    else {
      const dv = cpu.dv;
      for (let k = 0, p = pd; k < n; k++, p += size) {
        if (size === 2) dv.setUint16(p, lo, true);
        else {
          dv.setUint32(p, lo, true);
          if (size === 8) dv.setUint32(p + 4, hi, true);
        }
      }
    }
  }
  stepReg(cpu, RDI, n * size, a32);
  const c = g[2 * RCX] - n;
  g[2 * RCX] = c >>> 0;
  if (a32) g[2 * RCX + 1] = 0;
  else if (c < 0) g[2 * RCX + 1] = (g[2 * RCX + 1] - 1) >>> 0;
  cpu.icount += n;
  return n;
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
  const bulkable = step > 0 && (i.op === STR_MOVS || i.op === STR_STOS);
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
      if (bulkable && bulk(cpu, i, a32) > 0) continue;
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

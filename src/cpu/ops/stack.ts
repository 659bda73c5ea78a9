/**
 * Stack instructions: PUSH/POP (registers, memory, immediates, FS/GS), PUSHF/POPF, LEAVE, ENTER.
 * In 64-bit mode the operand size is 64 bits unless a 66 prefix makes it 16.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { AC, ID, IF, IOPL, NT, RBP, RF, RFLAGS_WRITABLE, VIF, VIP } from "../registers.ts";
import { pop, push, readE, rspLinear, setRsp, writeE } from "./_operands.ts";

/** PUSH r (50+r). */
export function pushR(cpu: Cpu, i: Insn): void {
  const v = cpu.readReg(i.size, i.reg);
  push(cpu, i.size, v, cpu.hi);
}

/** POP r (58+r). */
export function popR(cpu: Cpu, i: Insn): void {
  const v = pop(cpu, i.size);
  cpu.writeReg(i.size, i.reg, v, cpu.hi);
}

/** PUSH Ib/Iz (6a, 68): the immediate is sign-extended to the operand size. */
export function pushI(cpu: Cpu, i: Insn): void {
  push(cpu, i.size, i.imm, i.immHi);
}

/** PUSH Ev (ff /6). */
export function pushE(cpu: Cpu, i: Insn): void {
  const v = readE(cpu, i);
  push(cpu, i.size, v, cpu.hi);
}

/** POP Ev (8f /0): RSP is incremented before the destination address is computed. */
export function popE(cpu: Cpu, i: Insn): void {
  const sp = rspLinear(cpu, 0);
  const v = cpu.read(sp, i.size);
  const h = cpu.hi;
  const g = cpu.gpr;
  const oldLo = g[8], oldHi = g[9];
  setRsp(cpu, sp + i.size);
  try {
    writeE(cpu, i, v, h);
  } catch (e) {
    g[8] = oldLo;
    g[9] = oldHi;
    throw e;
  }
}

/** PUSH FS/GS (0f a0, 0f a8): `op` is the segment. */
export function pushSeg(cpu: Cpu, i: Insn): void {
  push(cpu, i.size, cpu.segSel[i.op], 0);
}

/** POP FS/GS (0f a1, 0f a9): loads a null or flat data selector; the base is kept (64-bit mode). */
export function popSeg(cpu: Cpu, i: Insn): void {
  const sp = rspLinear(cpu, 0);
  const v = cpu.read(sp, i.size) & 0xffff;
  cpu.loadDataSegment(i.op, v);
  setRsp(cpu, sp + i.size);
}

/** PUSHF/PUSHFQ (9c): RF and VM are pushed as 0. */
export function pushf(cpu: Cpu, i: Insn): void {
  const f = cpu.fl.get() & ~(RF | (1 << 17));
  push(cpu, i.size, i.size === 2 ? f & 0xffff : f, 0);
}

/** POPF/POPFQ (9d): what may change depends on CPL and IOPL (SDM Vol. 2 POPF). */
export function popf(cpu: Cpu, i: Insn): void {
  const v = pop(cpu, i.size);
  const cur = cpu.fl.get();
  let mask = RFLAGS_WRITABLE & ~(VIF | VIP | RF);
  if (cpu.cpl > 0) mask &= ~IOPL;
  if (cpu.cpl > ((cur & IOPL) >>> 12)) mask &= ~IF;
  if (i.size === 2) mask &= 0xffff;
  void AC;
  void ID;
  void NT;
  cpu.fl.put(((cur & ~mask) | (v & mask)) >>> 0);
  cpu.brk = true; // IF may have changed: check for interrupts
}

/** LEAVE (c9): RSP = RBP, then pop RBP. */
export function leave(cpu: Cpu, i: Insn): void {
  const g = cpu.gpr;
  const bp = (g[2 * RBP + 1] | 0) * 4294967296 + g[2 * RBP];
  const bph = Math.floor(bp / 4294967296) | 0;
  if (((bph << 16) >> 16) !== bph) cpu.fault(12, true, 0);
  const v = cpu.read(bp, i.size);
  const h = cpu.hi;
  setRsp(cpu, bp + i.size);
  cpu.writeReg(i.size, RBP, v, h);
}

/** ENTER Iw, Ib (c8). */
export function enter(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const level = i.imm2 & 31;
  const g = cpu.gpr;
  let sp = rspLinear(cpu, 0);
  const bpLo = g[2 * RBP], bpHi = g[2 * RBP + 1];
  sp -= size;
  cpu.write(sp, size, bpLo, bpHi);
  const frame = sp;
  let bp = (bpHi | 0) * 4294967296 + bpLo;
  for (let k = 1; k < level; k++) {
    bp -= size;
    const v = cpu.read(bp, size);
    const h = cpu.hi;
    sp -= size;
    cpu.write(sp, size, v, h);
  }
  if (level > 0) {
    sp -= size;
    cpu.write(sp, size, frame >>> 0, Math.floor(frame / 4294967296) >>> 0);
  }
  sp -= i.imm;
  // #PF "if a write using the final value of the stack pointer would cause a page fault" (SDM ENTER).
  cpu.probeWrite(sp, size);
  cpu.writeReg(size, RBP, frame >>> 0, Math.floor(frame / 4294967296) >>> 0);
  setRsp(cpu, sp);
}

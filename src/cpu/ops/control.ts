/**
 * Control transfer and flag instructions: JMP, Jcc, CALL, RET, LOOP/JRCXZ, INT3/INT n, UD2,
 * NOPs, CLC/STC/CMC/CLD/STD, LAHF/SAHF.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { AF, CF, DF, EXC_BP, EXC_DB, PF, RCX, SF, ZF } from "../registers.ts";
import {
  INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_INTERRUPT,
} from "../../vmx/qualifications.ts";
import { pop, push, readE, rspLinear, setRsp, splitLinear } from "./_operands.ts";

const TWO47 = 140737488355328;

function target(cpu: Cpu, t: number): number {
  if (t >= TWO47 || t < -TWO47) cpu.gp0();
  return t;
}

/** JMP rel8/rel32 (eb, e9). */
export function jmpRel(cpu: Cpu, i: Insn): void {
  cpu.nrip = target(cpu, cpu.nrip + i.disp);
}

/** Jcc rel8/rel32 (70+cc, 0f 80+cc). */
export function jccRel(cpu: Cpu, i: Insn): void {
  if (cpu.fl.cond(i.op)) cpu.nrip = target(cpu, cpu.nrip + i.disp);
}

/** JMP Ev (ff /4): near, absolute indirect. */
export function jmpE(cpu: Cpu, i: Insn): void {
  const lo = readE(cpu, i);
  cpu.nrip = cpu.canonical(lo, i.size === 8 ? cpu.hi : 0);
}

/** CALL rel32 (e8). */
export function callRel(cpu: Cpu, i: Insn): void {
  const t = target(cpu, cpu.nrip + i.disp);
  const lo = splitLinear(cpu, cpu.nrip);
  push(cpu, 8, lo, cpu.hi);
  cpu.nrip = t;
}

/** CALL Ev (ff /2): near, absolute indirect. */
export function callE(cpu: Cpu, i: Insn): void {
  const lo = readE(cpu, i);
  const t = cpu.canonical(lo, i.size === 8 ? cpu.hi : 0);
  const rl = splitLinear(cpu, cpu.nrip);
  push(cpu, 8, rl, cpu.hi);
  cpu.nrip = t;
}

/** RET (c3) and RET Iw (c2). */
export function ret(cpu: Cpu, i: Insn): void {
  const sp = rspLinear(cpu, 0);
  const lo = cpu.read(sp, 8);
  const t = cpu.canonical(lo, cpu.hi);
  setRsp(cpu, sp + 8 + i.imm);
  cpu.nrip = t;
}

/** LOOP/LOOPE/LOOPNE/JRCXZ rel8 (e2, e1, e0, e3): `op` 0 LOOPNE, 1 LOOPE, 2 LOOP, 3 JRCXZ. */
export function loop(cpu: Cpu, i: Insn): void {
  const g = cpu.gpr;
  const a32 = i.asize === 4;
  if (i.op === 3) {
    if (g[2 * RCX] === 0 && (a32 || g[2 * RCX + 1] === 0)) cpu.nrip = target(cpu, cpu.nrip + i.disp);
    return;
  }
  let lo = g[2 * RCX], hi = g[2 * RCX + 1];
  if (a32) {
    lo = (lo - 1) >>> 0;
    hi = 0;
  } else {
    hi = lo === 0 ? (hi - 1) >>> 0 : hi;
    lo = (lo - 1) >>> 0;
  }
  g[2 * RCX] = lo;
  g[2 * RCX + 1] = hi;
  let take = lo !== 0 || hi !== 0;
  if (i.op === 0) take &&= cpu.fl.zf() === 0;
  else if (i.op === 1) take &&= cpu.fl.zf() !== 0;
  if (take) cpu.nrip = target(cpu, cpu.nrip + i.disp);
}

/** NOP, multi-byte NOP (0f 1f /0), hint NOPs, PAUSE, fences, prefetches. */
export function nop(_cpu: Cpu, _i: Insn): void {}

/** UD2 (0f 0b) and every undefined opcode: #UD. */
export function ud(cpu: Cpu, _i: Insn): void {
  cpu.ud();
}

/** INT3 (cc): #BP as a software exception, a trap (returns after the instruction). */
export function int3(cpu: Cpu, _i: Insn): void {
  cpu.softwareInterrupt(EXC_BP, INTR_TYPE_SOFTWARE_EXCEPTION);
}

/** INT n (cd ib): a software interrupt, subject to the gate's DPL. */
export function intN(cpu: Cpu, i: Insn): void {
  cpu.softwareInterrupt(i.imm, INTR_TYPE_SOFTWARE_INTERRUPT);
}

/**
 * INT1 (ICEBP, f1): #DB as a privileged software exception, a trap without the gate DPL check
 * and with EXT = 1 in the error codes of nested faults, as a hardware event (SDM Vol. 2 INT n).
 */
export function int1(cpu: Cpu, _i: Insn): void {
  cpu.softwareInterrupt(EXC_DB, INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION);
}

/** CLC, STC, CMC, CLD, STD (f8, f9, f5, fc, fd): `op` selects. */
export function flagOp(cpu: Cpu, i: Insn): void {
  const f = cpu.fl;
  switch (i.op) {
    case 0:
      f.putArith(CF, 0);
      break;
    case 1:
      f.putArith(CF, CF);
      break;
    case 2:
      f.putArith(CF, f.cf() ^ 1);
      break;
    case 3:
      f.rf &= ~DF;
      break;
    default:
      f.rf |= DF;
  }
}

/** LAHF (9f): AH = SF:ZF:0:AF:0:PF:1:CF. */
export function lahf(cpu: Cpu, _i: Insn): void {
  const v = cpu.fl.get() & 0xd7 | 2;
  cpu.writeReg(1, 16, v, 0);
}

/** SAHF (9e): loads SF ZF AF PF CF from AH. */
export function sahf(cpu: Cpu, _i: Insn): void {
  const ah = (cpu.gpr[0] >>> 8) & 0xff;
  cpu.fl.putArith(SF | ZF | AF | PF | CF, ah);
}

export { pop };

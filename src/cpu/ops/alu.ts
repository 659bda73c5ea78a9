/**
 * Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP (operation number = ModRM.reg of
 * group 1, SDM Vol. 2 Table A-6), TEST, INC, DEC, NEG, NOT.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { FLAGS_ADC, FLAGS_ADD, FLAGS_DEC, FLAGS_INC, FLAGS_SBB, FLAGS_SUB } from "../flags.ts";
import { readE, readEForWrite, trunc, writeBackE } from "./_operands.ts";

/** ALU operation numbers (group 1 /digit). */
export const ALU_ADD = 0;
/** OR. */
export const ALU_OR = 1;
/** ADC. */
export const ALU_ADC = 2;
/** SBB. */
export const ALU_SBB = 3;
/** AND. */
export const ALU_AND = 4;
/** SUB. */
export const ALU_SUB = 5;
/** XOR. */
export const ALU_XOR = 6;
/** CMP. */
export const ALU_CMP = 7;

/**
 * Computes `a op b` at `size` bytes, records the flags, and returns the low half of the result
 * (the high half of an 8-byte result is left in `cpu.hi`).
 */
export function alu(
  cpu: Cpu,
  op: number,
  size: number,
  a: number,
  ah: number,
  b: number,
  bh: number,
): number {
  const f = cpu.fl;
  let r: number, rh = 0;
  switch (op) {
    case ALU_ADD: {
      if (size === 8) {
        const l = a + b;
        r = l >>> 0;
        rh = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
      } else r = trunc(size, a + b);
      f.set(FLAGS_ADD, size, a, ah, b, bh, r, rh);
      break;
    }
    case ALU_ADC: {
      const c = f.cf();
      if (size === 8) {
        const l = a + b + c;
        r = l >>> 0;
        rh = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
      } else r = trunc(size, a + b + c);
      f.setWithCarry(FLAGS_ADC, size, a, ah, b, bh, r, rh, c);
      break;
    }
    case ALU_SUB:
    case ALU_CMP: {
      if (size === 8) {
        const l = a - b;
        r = l >>> 0;
        rh = (ah - bh - (l < 0 ? 1 : 0)) >>> 0;
      } else r = trunc(size, a - b);
      f.set(FLAGS_SUB, size, a, ah, b, bh, r, rh);
      break;
    }
    case ALU_SBB: {
      const c = f.cf();
      if (size === 8) {
        const l = a - b - c;
        r = l >>> 0;
        rh = (ah - bh - (l < 0 ? 1 : 0)) >>> 0;
      } else r = trunc(size, a - b - c);
      f.setWithCarry(FLAGS_SBB, size, a, ah, b, bh, r, rh, c);
      break;
    }
    case ALU_AND:
      r = (a & b) >>> 0;
      rh = (ah & bh) >>> 0;
      f.logic(size, r, rh);
      break;
    case ALU_OR:
      r = (a | b) >>> 0;
      rh = (ah | bh) >>> 0;
      f.logic(size, r, rh);
      break;
    default: // XOR
      r = (a ^ b) >>> 0;
      rh = (ah ^ bh) >>> 0;
      f.logic(size, r, rh);
      break;
  }
  cpu.hi = rh;
  return r;
}

/** op Eb/Ev, Gb/Gv (00, 01, 08, 09, ... 38, 39). */
export function aluEG(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = i.op === ALU_CMP ? readE(cpu, i) : readEForWrite(cpu, i);
  const ah = cpu.hi;
  const b = cpu.readReg(size, i.reg);
  const r = alu(cpu, i.op, size, a, ah, b, cpu.hi);
  if (i.op !== ALU_CMP) writeBackE(cpu, i, r, cpu.hi);
}

/** op Gb/Gv, Eb/Ev (02, 03, ... 3a, 3b). */
export function aluGE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = readE(cpu, i);
  const bh = cpu.hi;
  const a = cpu.readReg(size, i.reg);
  const r = alu(cpu, i.op, size, a, cpu.hi, b, bh);
  if (i.op !== ALU_CMP) cpu.writeReg(size, i.reg, r, cpu.hi);
}

/** op AL/eAX, Ib/Iz (04, 05, ... 3c, 3d). */
export function aluAI(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = cpu.readReg(size, 0);
  const r = alu(cpu, i.op, size, a, cpu.hi, i.imm, i.immHi);
  if (i.op !== ALU_CMP) cpu.writeReg(size, 0, r, cpu.hi);
}

/** Group 1: op Eb/Ev, Ib/Iz (80, 81, 83). */
export function aluEI(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = i.op === ALU_CMP ? readE(cpu, i) : readEForWrite(cpu, i);
  const r = alu(cpu, i.op, size, a, cpu.hi, i.imm, i.immHi);
  if (i.op !== ALU_CMP) writeBackE(cpu, i, r, cpu.hi);
}

/** TEST Eb/Ev, Gb/Gv (84, 85). */
export function testEG(cpu: Cpu, i: Insn): void {
  const a = readE(cpu, i);
  const ah = cpu.hi;
  const b = cpu.readReg(i.size, i.reg);
  cpu.fl.logic(i.size, (a & b) >>> 0, (ah & cpu.hi) >>> 0);
}

/** TEST AL/eAX, Ib/Iz (a8, a9). */
export function testAI(cpu: Cpu, i: Insn): void {
  const a = cpu.readReg(i.size, 0);
  cpu.fl.logic(i.size, (a & i.imm) >>> 0, (cpu.hi & i.immHi) >>> 0);
}

/** TEST Eb/Ev, Ib/Iz (f6 /0, f7 /0, and the /1 alias). */
export function testEI(cpu: Cpu, i: Insn): void {
  const a = readE(cpu, i);
  cpu.fl.logic(i.size, (a & i.imm) >>> 0, (cpu.hi & i.immHi) >>> 0);
}

/** INC Eb/Ev (fe /0, ff /0): CF is kept. */
export function incE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  let r: number, rh = 0;
  if (size === 8) {
    r = (a + 1) >>> 0;
    rh = r === 0 ? (ah + 1) >>> 0 : ah;
  } else r = trunc(size, a + 1);
  writeBackE(cpu, i, r, rh);
  cpu.fl.setWithCarry(FLAGS_INC, size, a, ah, 1, 0, r, rh, cpu.fl.cf());
}

/** DEC Eb/Ev (fe /1, ff /1): CF is kept. */
export function decE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  let r: number, rh = 0;
  if (size === 8) {
    r = (a - 1) >>> 0;
    rh = a === 0 ? (ah - 1) >>> 0 : ah;
  } else r = trunc(size, a - 1);
  writeBackE(cpu, i, r, rh);
  cpu.fl.setWithCarry(FLAGS_DEC, size, a, ah, 1, 0, r, rh, cpu.fl.cf());
}

/** NOT Eb/Ev (f6 /2, f7 /2): no flags. */
export function notE(cpu: Cpu, i: Insn): void {
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  writeBackE(cpu, i, i.size === 8 ? ~a >>> 0 : trunc(i.size, ~a), ~ah >>> 0);
}

/** NEG Eb/Ev (f6 /3, f7 /3): flags of 0 - operand. */
export function negE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  const r = alu(cpu, ALU_SUB, size, 0, 0, a, ah);
  writeBackE(cpu, i, r, cpu.hi);
}

export { FLAGS_ADC, FLAGS_ADD, FLAGS_DEC, FLAGS_INC, FLAGS_SBB, FLAGS_SUB };

/**
 * Exchange-and-operate instructions: CMPXCHG and XADD (atomic with LOCK; one CPU makes every
 * instruction atomic here).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { RAX } from "../registers.ts";
import { alu, ALU_ADD, ALU_CMP } from "./alu.ts";
import { readEForWrite, writeBackE } from "./_operands.ts";

/** CMPXCHG Eb/Ev, Gb/Gv (0f b0, 0f b1): compare the accumulator with the destination. */
export function cmpxchg(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readEForWrite(cpu, i), dh = cpu.hi;
  const a = cpu.readReg(size, RAX), ah = cpu.hi;
  alu(cpu, ALU_CMP, size, a, ah, d, dh);
  const equal = cpu.fl.zf() !== 0;
  if (equal) {
    const s = cpu.readReg(size, i.reg);
    writeBackE(cpu, i, s, cpu.hi);
  } else {
    // "DEST := TEMP" (SDM Vol. 2 CMPXCHG, Operation): the destination is written back unchanged,
    // so a 32-bit register destination is zero-extended (SDM Vol. 1 §3.4.1.1). AMD processors
    // leave a register destination alone (docs/intel_vs_amd.md); hvsim follows the Intel SDM.
    writeBackE(cpu, i, d, dh);
    cpu.writeReg(size, RAX, d, dh);
  }
}

/** XADD Eb/Ev, Gb/Gv (0f c0, 0f c1): exchange, then store the sum. */
export function xadd(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readEForWrite(cpu, i), dh = cpu.hi;
  const s = cpu.readReg(size, i.reg), sh = cpu.hi;
  const r = alu(cpu, ALU_ADD, size, d, dh, s, sh);
  const rh = cpu.hi;
  cpu.writeReg(size, i.reg, d, dh);
  writeBackE(cpu, i, r, rh);
}

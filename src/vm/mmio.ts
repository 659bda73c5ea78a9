/**
 * Emulation of guest accesses to memory-mapped devices, as KVM does it: the access leaves guest
 * RAM, so it stops the vCPU with an EPT-violation exit; the hypervisor decodes the instruction at
 * RIP, performs the access on the device and completes the instruction. Plain MOV loads and
 * stores (what `*(volatile u32 *)reg = v` compiles to) are emulated; anything else is refused
 * with a message naming the instruction.
 *
 * @module
 */

import { type Cpu, decode, disassemble } from "../cpu/mod.ts";
import { specOf } from "../cpu/table.ts";

/** A device region in guest-physical space. */
export interface MmioDevice {
  /** Reads `size` bytes at `offset` into the region. */
  read(offset: number, size: number): number;
  /** Writes `size` bytes at `offset`. */
  write(offset: number, size: number, value: number): void;
}

/**
 * Emulates the instruction at RIP, which touched the device at `offset`: performs its access
 * and register write, and returns its length (the caller advances RIP), or why it could not.
 */
export function emulateMmio(cpu: Cpu, dev: MmioDevice, offset: number): number | string {
  const insn = decode(cpu, cpu.rip, Infinity);
  if (insn === null) return "cannot decode the instruction";
  const spec = specOf(insn);
  const size = insn.size;
  if (spec.map !== 0 || !insn.mem || size === 8 || insn.rep !== 0) {
    return `MMIO access by "${disassemble(insn)}" is not emulated (only MOV loads and stores)`;
  }
  switch (spec.opcode) {
    case 0x8a:
    case 0x8b:
      cpu.writeReg(size, insn.reg, dev.read(offset, size) >>> 0, 0);
      break;
    case 0x88:
    case 0x89:
      dev.write(offset, size, cpu.readReg(size, insn.reg));
      break;
    case 0xc6:
    case 0xc7:
      dev.write(offset, size, insn.imm);
      break;
    default:
      return `MMIO access by "${disassemble(insn)}" is not emulated (only MOV loads and stores)`;
  }
  return insn.len;
}

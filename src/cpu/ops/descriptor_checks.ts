/**
 * The descriptor checks that set ZF instead of faulting, in 64-bit mode: LAR, LSL, VERR, VERW
 * (SDM Vol. 2 LAR, LSL, VERR/VERW). Each reads the descriptor a selector names in the GDT (TI = 0)
 * or the LDT (TI = 1) and sets ZF = 1 when the selector is in the table, the descriptor's type is
 * one the instruction accepts, and (except for conforming code segments) DPL >= CPL and DPL >= RPL;
 * otherwise ZF = 0 and the destination is unchanged. No other flag changes. Descriptor reads are
 * supervisor accesses.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { SEG_LDTR, ZF } from "../registers.ts";

/** `insn.op` values: the four instructions. */
export const CHECK_LAR = 0;
/** LSL. */
export const CHECK_LSL = 1;
/** VERR. */
export const CHECK_VERR = 2;
/** VERW. */
export const CHECK_VERW = 3;

/** System descriptor types LAR accepts in IA-32e mode: LDT, available and busy 64-bit TSS, 64-bit call gate. */
const LAR_SYSTEM = (1 << 2) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
/** System types LSL accepts: LDT, available and busy 64-bit TSS. */
const LSL_SYSTEM = (1 << 2) | (1 << 9) | (1 << 0xb);

/**
 * The descriptor's two low doublewords, or null when the selector is null or outside its table
 * (GDT, or the LDT, which must be loaded).
 */
function descriptor(cpu: Cpu, sel: number): [number, number] | null {
  const idx = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.segAr[SEG_LDTR] & 0x10000) !== 0) return null;
    base = cpu.segBase[SEG_LDTR];
    limit = cpu.segLimit[SEG_LDTR];
  } else {
    if (idx === 0) return null;
    base = cpu.gdtrBase;
    limit = cpu.gdtrLimit;
  }
  if (idx + 7 > limit) return null;
  return [cpu.readSys(base + idx, 4), cpu.readSys(base + idx + 4, 4)];
}

/** LAR Gv, Ew (0f 02), LSL Gv, Ew (0f 03), VERR Ew (0f 00 /4), VERW Ew (0f 00 /5): `op` says which. */
export function descriptorCheck(cpu: Cpu, i: Insn): void {
  const sel = i.mem ? cpu.read(cpu.linear(i), 2) : cpu.readReg(2, i.rm);
  const d = descriptor(cpu, sel);
  let ok = d !== null;
  let lo = 0, hi = 0;
  if (d !== null) {
    [lo, hi] = d;
    const s = (hi & 0x1000) !== 0; // code or data
    const type = (hi >>> 8) & 0xf;
    const code = s && (type & 8) !== 0;
    const conforming = code && (type & 4) !== 0;
    const dpl = (hi >>> 13) & 3;
    switch (i.op) {
      case CHECK_LAR:
        ok = s || ((LAR_SYSTEM >>> type) & 1) !== 0;
        break;
      case CHECK_LSL:
        ok = s || ((LSL_SYSTEM >>> type) & 1) !== 0;
        break;
      case CHECK_VERR:
        ok = s && (!code || (type & 2) !== 0); // data, or readable code
        break;
      default:
        ok = s && !code && (type & 2) !== 0; // writable data
    }
    if (ok && !conforming && (dpl < cpu.cpl || dpl < (sel & 3))) ok = false;
  }
  cpu.fl.putArith(ZF, ok ? ZF : 0);
  if (!ok || i.op >= CHECK_VERR) return;
  let v: number;
  if (i.op === CHECK_LAR) {
    // The access rights: descriptor bits 63:32 masked with 00F0FF00H (limit bits 19:16 read as 0).
    v = hi & 0x00f0ff00;
  } else {
    const raw = (hi & 0xf0000) | (lo & 0xffff);
    v = (hi & 0x800000) !== 0 ? raw * 4096 + 4095 : raw;
  }
  cpu.writeReg(i.size === 2 ? 2 : i.size, i.reg, i.size === 2 ? v & 0xffff : v >>> 0, 0);
}

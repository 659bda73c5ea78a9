/**
 * The x87 FPU's execution model that every x87 instruction shares (SDM Vol. 1 ch. 8): the
 * enabling checks (#NM with CR0.EM or CR0.TS, SDM Vol. 3 §2.5 Table 2-2), the pending-exception
 * check of waiting instructions (#MF with CR0.NE=1, Vol. 1 §8.7), the register stack (TOP in
 * FSW 13:11, ST(i) = physical register (TOP + i) mod 8, the tag word), stack overflow and
 * underflow (#IS: IE and SF, C1 = 1 for overflow and 0 for underflow, §8.5.1.1), how an
 * operation's exception flags are recorded and masked (§8.5, §8.6: pre-computation exceptions
 * IE/DE/ZE, when unmasked, leave the destination alone), the last instruction and data pointers
 * (§8.1.8-9), and memory operands of the x87 data types.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CR0_EM, CR0_NE, CR0_TS, EXC_MF, EXC_NM } from "../registers.ts";
import { opSpecs } from "../table.ts";
import { type Ext, EXT_INDEFINITE, extRead, extWrite, MX_DE, MX_IE, MX_ZE } from "../x87.ts";
import type { FpuState } from "../fpu_state.ts";

/** FSW.SF, stack fault. */
export const SW_SF = 1 << 6;
/** FSW.ES, error summary. */
export const SW_ES = 1 << 7;
/** FSW.C0. */
export const SW_C0 = 1 << 8;
/** FSW.C1. */
export const SW_C1 = 1 << 9;
/** FSW.C2. */
export const SW_C2 = 1 << 10;
/** FSW.C3. */
export const SW_C3 = 1 << 14;
/** FSW.B, busy (mirrors ES). */
export const SW_B = 1 << 15;
/** All four condition code bits. */
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

/** Tag: valid. */
export const TAG_VALID = 0;
/** Tag: zero. */
export const TAG_ZERO = 1;
/** Tag: special (NaN, infinity, denormal, unsupported). */
export const TAG_SPECIAL = 2;
/** Tag: empty. */
export const TAG_EMPTY = 3;

/**
 * The checks before any x87 instruction: #NM when CR0.EM or CR0.TS is set; then, for a waiting
 * instruction (all but FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE), #MF when an unmasked
 * exception is pending (FSW.ES) and CR0.NE=1. With CR0.NE=0 the processor would signal FERR# to
 * an external interrupt controller; hvsim has none there, so the error is not reported.
 */
export function x87Check(cpu: Cpu, wait: boolean): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.fault(EXC_NM, false, 0);
  if (wait && (cpu.fpu.fsw & SW_ES) !== 0 && (cpu.cr0 & CR0_NE) !== 0) cpu.fault(EXC_MF, false, 0);
}

/**
 * Records the last-instruction pointers of a non-control instruction (SDM Vol. 1 §8.1.8-9): FIP
 * (the instruction's address), FOP (opcode bits 10:8 and the ModRM byte) and, with a memory
 * operand, FDP (its effective address).
 */
export function x87Pointers(cpu: Cpu, i: Insn): void {
  const f = cpu.fpu;
  f.fip = cpu.rip;
  f.fop = ((opSpecs[i.entry].opcode & 7) << 8) | i.modrm;
  if (i.mem) {
    cpu.effectiveAddress(i);
    f.fdp = (cpu.eaHi | 0) * 4294967296 + cpu.eaLo;
  }
}

/** TOP. */
export function top(f: FpuState): number {
  return (f.fsw >>> 11) & 7;
}

/** Sets TOP. */
export function setTop(f: FpuState, t: number): void {
  f.fsw = (f.fsw & ~(7 << 11)) | ((t & 7) << 11);
}

/** Physical register of ST(i). */
export function phys(f: FpuState, i: number): number {
  return (top(f) + i) & 7;
}

/** The tag of physical register p. */
export function tag(f: FpuState, p: number): number {
  return (f.ftw >>> (2 * p)) & 3;
}

/** Sets the tag of physical register p. */
export function setTag(f: FpuState, p: number, t: number): void {
  f.ftw = (f.ftw & ~(3 << (2 * p))) | (t << (2 * p));
}

/** ST(i) is empty. */
export function isEmpty(f: FpuState, i: number): boolean {
  return tag(f, phys(f, i)) === TAG_EMPTY;
}

/** The value of ST(i) (whatever its tag). */
export function getST(f: FpuState, i: number): Ext {
  return extRead(f.st, 10 * phys(f, i));
}

/** Writes ST(i) and its tag from the value. */
export function setST(f: FpuState, i: number, x: Ext): void {
  const p = phys(f, i);
  extWrite(f.st, 10 * p, x);
  setTag(f, p, f.tagOf(p));
}

/** Marks ST(0) empty and increments TOP. */
export function pop(f: FpuState): void {
  setTag(f, phys(f, 0), TAG_EMPTY);
  setTop(f, top(f) + 1);
}

/** Sets C1 (and clears it when `v` is false). */
export function setC1(f: FpuState, v: boolean): void {
  f.fsw = v ? f.fsw | SW_C1 : f.fsw & ~SW_C1;
}

/** Recomputes ES and B from the flags and masks (after FLDCW, FLDENV, FRSTOR, FXRSTOR). */
export function updateSummary(f: FpuState): void {
  if ((f.fsw & ~f.fcw & 0x3f) !== 0) f.fsw |= SW_ES | SW_B;
  else f.fsw &= ~(SW_ES | SW_B);
}

/**
 * Records an operation's exception flags. Returns false when an unmasked pre-computation
 * exception (IE, DE, ZE) happened: the destination must then stay unchanged (SDM Vol. 1 §8.6).
 * Post-computation exceptions (OE, UE, PE) never prevent the write.
 */
export function raise(f: FpuState, flags: number): boolean {
  if (flags === 0) return true;
  const masks = f.fcw & 0x3f;
  const pre = flags & (MX_IE | MX_DE | MX_ZE | SW_SF);
  if ((pre & ~masks & 0x3f) !== 0) {
    f.fsw |= pre | SW_ES | SW_B;
    return false;
  }
  f.fsw |= flags;
  if ((flags & ~masks & 0x3f) !== 0) f.fsw |= SW_ES | SW_B;
  return true;
}

/** Stack underflow (#IS with C1 = 0): returns whether the masked response (real indefinite) goes ahead. */
export function underflow(f: FpuState): boolean {
  f.fsw &= ~SW_C1;
  return raise(f, MX_IE | SW_SF);
}

/**
 * Pushes a value (FLD and its kin). Stack overflow when the new ST(0) is not empty: #IS with
 * C1 = 1, and with IE masked the real indefinite is pushed instead. Returns whether it pushed.
 */
export function push(f: FpuState, x: Ext): boolean {
  const p = (top(f) - 1) & 7;
  if (tag(f, p) !== TAG_EMPTY) {
    f.fsw |= SW_C1;
    if (!raise(f, MX_IE | SW_SF)) return false;
    x = EXT_INDEFINITE;
  }
  setTop(f, top(f) - 1);
  setST(f, 0, x);
  return true;
}

/** Precision control in bits: 24, 53 or 64 (the reserved 1 acts as 64). */
export function precision(f: FpuState): number {
  const pc = (f.fcw >>> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64;
}

/** Rounding control (0 nearest, 1 down, 2 up, 3 toward zero: softfloat.ts's RC_*). */
export function rounding(f: FpuState): number {
  return (f.fcw >>> 10) & 3;
}

/** Reads an 80-bit memory operand as 10 bytes. */
export function read80(cpu: Cpu, lin: number): Uint8Array {
  const b = new Uint8Array(10);
  const lo = cpu.read(lin, 8), hi = cpu.hi;
  const top16 = cpu.read(lin + 8, 2);
  for (let k = 0; k < 4; k++) {
    b[k] = (lo >>> (8 * k)) & 0xff;
    b[4 + k] = (hi >>> (8 * k)) & 0xff;
  }
  b[8] = top16 & 0xff;
  b[9] = top16 >>> 8;
  return b;
}

/** Writes 10 bytes to memory (both pages checked first). */
export function write80(cpu: Cpu, lin: number, b: Uint8Array): void {
  cpu.probeWrite(lin, 10);
  const w = (o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  cpu.write(lin, 8, w(0), w(4));
  cpu.write(lin + 8, 2, b[8] | (b[9] << 8), 0);
}

/** Reads 2, 4 or 8 bytes as an unsigned bigint. */
export function readBig(cpu: Cpu, lin: number, size: number): bigint {
  const lo = cpu.read(lin, size);
  if (size < 8) return BigInt(lo);
  return (BigInt(cpu.hi) << 32n) | BigInt(lo);
}

/** Writes the low `size` bytes of a bigint. */
export function writeBig(cpu: Cpu, lin: number, size: number, v: bigint): void {
  v = BigInt.asUintN(size * 8, v);
  cpu.write(lin, size, Number(v & 0xffffffffn), Number(v >> 32n));
}

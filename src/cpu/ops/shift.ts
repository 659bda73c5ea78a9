/**
 * Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR, SDM Vol. 2 Table A-6) by 1, CL
 * or an immediate, and SHLD/SHRD. Counts are masked to 5 bits (6 with 64-bit operands); a masked
 * count of 0 changes nothing, flags included.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CF, OF } from "../registers.ts";
import { readEForWrite, trunc, writeBackE } from "./_operands.ts";

/** Group 2 operation numbers. */
export const SH_ROL = 0;
/** ROR. */
export const SH_ROR = 1;
/** RCL. */
export const SH_RCL = 2;
/** RCR. */
export const SH_RCR = 3;
/** SHL. */
export const SH_SHL = 4;
/** SHR. */
export const SH_SHR = 5;
/** SAL (same as SHL). */
export const SH_SAL = 6;
/** SAR. */
export const SH_SAR = 7;

/** Bit `n` of the 64-bit value (hi:lo). */
function bit64(lo: number, hi: number, n: number): number {
  return n >= 32 ? (hi >>> (n - 32)) & 1 : (lo >>> n) & 1;
}

/** Shift count source: `op` 0 = 1, 1 = CL, 2 = imm8 (set in the table's arg high bits). */
function count(cpu: Cpu, i: Insn): number {
  const src = i.op >> 3;
  const c = src === 0 ? 1 : src === 1 ? cpu.gpr[2] & 0xff : i.imm;
  return c & (i.size === 8 ? 63 : 31);
}

/** Group 2 shifts and rotates (c0, c1, d0..d3); the operation is `op & 7`. */
export function shiftGroup(cpu: Cpu, i: Insn): void {
  const c = count(cpu, i);
  const size = i.size;
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  if (c === 0) {
    // Nothing changes, flags included, but a 32-bit register is still written (zero-extended).
    if (size === 4 && !i.mem) cpu.writeReg(4, i.rm, a, 0);
    return;
  }
  const bits = size * 8;
  const f = cpu.fl;
  let r = 0, rh = 0, cf = 0, of = 0;
  switch (i.op & 7) {
    case SH_SHL:
    case SH_SAL:
      if (size === 8) {
        if (c < 32) {
          rh = ((ah << c) | (a >>> (32 - c))) >>> 0;
          r = (a << c) >>> 0;
        } else {
          rh = (a << (c - 32)) >>> 0;
          r = 0;
        }
        cf = bit64(a, ah, 64 - c);
        of = (rh >>> 31) ^ cf;
      } else {
        r = c >= bits ? 0 : trunc(size, a * 2 ** c);
        cf = c > bits ? 0 : (a >>> (bits - c)) & 1;
        of = ((r >>> (bits - 1)) & 1) ^ cf;
      }
      writeBackE(cpu, i, r, rh);
      f.setEager(size, r, rh, cf, c === 1 ? of : 0);
      return;
    case SH_SHR:
      if (size === 8) {
        if (c < 32) {
          r = ((a >>> c) | (ah << (32 - c))) >>> 0;
          rh = ah >>> c;
        } else {
          r = ah >>> (c - 32);
          rh = 0;
        }
        cf = bit64(a, ah, c - 1);
        of = ah >>> 31;
      } else {
        r = c >= 32 ? 0 : a >>> c;
        cf = c > bits ? 0 : c === 32 ? a >>> 31 : (a >>> (c - 1)) & 1;
        of = (a >>> (bits - 1)) & 1;
      }
      writeBackE(cpu, i, r, rh);
      f.setEager(size, r, rh, cf, c === 1 ? of : 0);
      return;
    case SH_SAR:
      if (size === 8) {
        if (c < 32) {
          r = ((a >>> c) | (ah << (32 - c))) >>> 0;
          rh = (ah | 0) >> c >>> 0;
        } else {
          r = ((ah | 0) >> (c - 32)) >>> 0;
          rh = ((ah | 0) >> 31) >>> 0;
        }
        cf = bit64(a, ah, c - 1);
      } else {
        const sa = (a << (32 - bits)) >> (32 - bits); // sign-extended to 32
        const cc = c > bits - 1 ? bits - 1 : c;
        r = trunc(size, sa >> cc);
        cf = c >= bits ? (sa >>> 31) & 1 : (sa >> (c - 1)) & 1;
      }
      writeBackE(cpu, i, r, rh);
      f.setEager(size, r, rh, cf, 0);
      return;
    case SH_ROL: {
      const n = c % bits;
      if (size === 8) {
        r = rolLo(a, ah, n);
        rh = rolLo(ah, a, n);
      } else {
        r = n === 0 ? a : trunc(size, (a << n) | (a >>> (bits - n)));
      }
      cf = r & 1;
      of = (size === 8 ? rh >>> 31 : (r >>> (bits - 1)) & 1) ^ cf;
      writeBackE(cpu, i, r, rh);
      f.putArith(CF | OF, cf | (c === 1 ? of << 11 : 0));
      return;
    }
    case SH_ROR: {
      const n = c % bits;
      if (size === 8) {
        r = rolLo(a, ah, (64 - n) % 64);
        rh = rolLo(ah, a, (64 - n) % 64);
      } else {
        r = n === 0 ? a : trunc(size, (a >>> n) | (a << (bits - n)));
      }
      const msb = size === 8 ? rh >>> 31 : (r >>> (bits - 1)) & 1;
      const msb2 = size === 8 ? (rh >>> 30) & 1 : (r >>> (bits - 2)) & 1;
      cf = msb;
      of = msb ^ msb2;
      writeBackE(cpu, i, r, rh);
      f.putArith(CF | OF, cf | (c === 1 ? of << 11 : 0));
      return;
    }
    default: {
      // RCL / RCR through CF, as a (bits+1)-bit rotation.
      const n = size === 8 || size === 4 ? c : c % (bits + 1);
      const cin = f.cf();
      if (n === 0) {
        writeBackE(cpu, i, a, ah);
        return;
      }
      const W = BigInt(bits);
      const mask = (1n << W) - 1n;
      const x = (BigInt(cin) << W) | ((BigInt(ah) << 32n) | BigInt(a)) & mask;
      const N = BigInt(n);
      const total = W + 1n;
      const rot = (i.op & 7) === SH_RCL
        ? ((x << N) | (x >> (total - N))) & ((1n << total) - 1n)
        : ((x >> N) | (x << (total - N))) & ((1n << total) - 1n);
      const res = rot & mask;
      cf = Number(rot >> W) & 1;
      r = Number(res & 0xffffffffn);
      rh = Number(res >> 32n);
      const msb = size === 8 ? rh >>> 31 : (r >>> (bits - 1)) & 1;
      if ((i.op & 7) === SH_RCL) of = msb ^ cf;
      else of = (size === 8 ? ah >>> 31 : (a >>> (bits - 1)) & 1) ^ cin;
      writeBackE(cpu, i, r, rh);
      f.putArith(CF | OF, cf | (c === 1 ? of << 11 : 0));
      return;
    }
  }
}

/**
 * The low half of the 64-bit value (hi:lo) rotated left by n (0..63); with the halves swapped,
 * the high half (no array, so a rotate allocates nothing).
 */
export function rolLo(lo: number, hi: number, n: number): number {
  if (n === 0) return lo;
  if (n === 32) return hi;
  if (n > 32) {
    const t = lo;
    lo = hi;
    hi = t;
    n -= 32;
  }
  return ((lo << n) | (hi >>> (32 - n))) >>> 0;
}

/** SHLD Ev, Gv, Ib/CL (0f a4, 0f a5) and SHRD (0f ac, 0f ad): `op` bit 0 = right, bit 1 = CL. */
export function shxd(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const c = ((i.op & 2) !== 0 ? cpu.gpr[2] : i.imm) & (size === 8 ? 63 : 31);
  const a = readEForWrite(cpu, i);
  const ah = cpu.hi;
  const b = cpu.readReg(size, i.reg);
  const bh = cpu.hi;
  if (c === 0) {
    if (size === 4 && !i.mem) cpu.writeReg(4, i.rm, a, 0);
    return;
  }
  if (size === 4 || size === 8) {
    shxdNumbers(cpu, i, size, c, a, ah, b, bh);
    return;
  }
  const bits = size * 8;
  const W = BigInt(bits);
  const mask = (1n << W) - 1n;
  const dst = ((BigInt(ah) << 32n) | BigInt(a)) & mask;
  const src = ((BigInt(bh) << 32n) | BigInt(b)) & mask;
  const N = BigInt(c);
  let res: bigint, cf: number;
  if ((i.op & 1) === 0) {
    // SHLD: dst:src shifted left; for 16-bit counts above 16 the result is undefined.
    const cat = (dst << W) | src;
    res = ((cat << N) >> W) & mask;
    cf = Number((dst >> (W - N)) & 1n);
  } else {
    const cat = (src << W) | dst;
    res = (cat >> N) & mask;
    cf = Number((dst >> (N - 1n)) & 1n);
  }
  const r = Number(res & 0xffffffffn), rh = Number(res >> 32n);
  const msbOld = Number((dst >> (W - 1n)) & 1n);
  const msbNew = Number((res >> (W - 1n)) & 1n);
  writeBackE(cpu, i, r, rh);
  cpu.fl.setEager(size, r, rh, cf, c === 1 ? msbOld ^ msbNew : 0);
}

/** 64-bit (hi:lo) shifted left by n (0..63): the low half. */
function shlLo(lo: number, n: number): number {
  return n >= 32 ? 0 : (lo << n) >>> 0;
}

/** 64-bit (hi:lo) shifted left by n (0..63): the high half. */
function shlHi(lo: number, hi: number, n: number): number {
  if (n === 0) return hi;
  return n >= 32 ? (lo << (n - 32)) >>> 0 : ((hi << n) | (lo >>> (32 - n))) >>> 0;
}

/** 64-bit (hi:lo) shifted right by n (0..63): the low half. */
function shrLo(lo: number, hi: number, n: number): number {
  if (n === 0) return lo;
  return n >= 32 ? hi >>> (n - 32) : ((lo >>> n) | (hi << (32 - n))) >>> 0;
}

/** 64-bit (hi:lo) shifted right by n (0..63): the high half. */
function shrHi(hi: number, n: number): number {
  return n >= 32 ? 0 : hi >>> n;
}

/**
 * SHLD/SHRD at 32 and 64 bits with a count of 1..size*8-1, in 32-bit halves: the destination
 * shifted, filled from the source; CF the last bit shifted out of the destination; OF (count 1)
 * whether the sign changed (SDM Vol. 2 SHLD, SHRD).
 */
function shxdNumbers(
  cpu: Cpu,
  i: Insn,
  size: number,
  c: number,
  a: number,
  ah: number,
  b: number,
  bh: number,
): void {
  const left = (i.op & 1) === 0;
  let r: number, rh: number, cf: number;
  if (size === 4) {
    r = left ? ((a << c) | (b >>> (32 - c))) >>> 0 : ((a >>> c) | (b << (32 - c))) >>> 0;
    rh = 0;
    cf = (left ? a >>> (32 - c) : a >>> (c - 1)) & 1;
  } else {
    const m = 64 - c;
    if (left) {
      r = (shlLo(a, c) | shrLo(b, bh, m)) >>> 0;
      rh = (shlHi(a, ah, c) | shrHi(bh, m)) >>> 0;
      cf = (m >= 32 ? ah >>> (m - 32) : a >>> m) & 1;
    } else {
      r = (shrLo(a, ah, c) | shlLo(b, m)) >>> 0;
      rh = (shrHi(ah, c) | shlHi(b, bh, m)) >>> 0;
      cf = (c - 1 >= 32 ? ah >>> (c - 33) : a >>> (c - 1)) & 1;
    }
  }
  const msbOld = (size === 8 ? ah : a) >>> 31, msbNew = (size === 8 ? rh : r) >>> 31;
  writeBackE(cpu, i, r, rh);
  cpu.fl.setEager(size, r, rh, cf, c === 1 ? msbOld ^ msbNew : 0);
}

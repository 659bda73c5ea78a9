/**
 * Multiplication and division: MUL/IMUL/DIV/IDIV (group 3 /4../7), IMUL Gv,Ev and IMUL Gv,Ev,imm.
 * 64x64->128 products are computed exactly in 32-bit halves; 128/64 division uses BigInt.
 * #DE on a zero divisor and on a quotient that does not fit (SDM Vol. 2 DIV, IDIV).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { EXC_DE, RAX, RDX } from "../registers.ts";
import { readE } from "./_operands.ts";

// Scratch words for one handler call (never live across calls, so VMs in one process never share state).
const W4 = new Uint32Array(4);
const T1 = new Float64Array(1);
const T2 = new Float64Array(1);

/** High halves below this (2^21) keep a 64-bit value below 2^53, where double arithmetic is exact. */
const SAFE_HI = 0x200000;

/** Exact unsigned 32x32 product: returns the low half, leaves the high half in `out[0]`. */
function mul32(a: number, b: number, out: Float64Array): number {
  // 16-bit pieces: every partial product and sum stays below 2^53, so each step is exact.
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  out[0] = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  return Math.imul(a, b) >>> 0;
}

/**
 * Exact unsigned 64x64->128 product of (ah:al) and (bh:bl) into `w` (four 32-bit words, least
 * significant first).
 */
export function mul64(al: number, ah: number, bl: number, bh: number, w: Uint32Array): void {
  const t = T2;
  const p0 = mul32(al, bl, t), p0h = t[0];
  const p1 = mul32(al, bh, t), p1h = t[0];
  const p2 = mul32(ah, bl, t), p2h = t[0];
  const p3 = mul32(ah, bh, t), p3h = t[0];
  w[0] = p0;
  const s1 = p0h + p1 + p2;
  w[1] = s1 >>> 0;
  const s2 = Math.floor(s1 / 4294967296) + p1h + p2h + p3;
  w[2] = s2 >>> 0;
  w[3] = (Math.floor(s2 / 4294967296) + p3h) >>> 0;
}

function signExtend(size: number, v: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

/** MUL Eb/Ev (f6 /4, f7 /4): unsigned AX/DX:AX/EDX:EAX/RDX:RAX = A * operand. */
export function mulE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = readE(cpu, i), bh = cpu.hi;
  const a = cpu.readReg(size, RAX), ah = cpu.hi;
  let hiNonZero: boolean;
  let rl: number;
  if (size === 1) {
    const p = a * b;
    cpu.writeReg(2, RAX, p, 0);
    hiNonZero = p > 0xff;
    rl = p & 0xff;
  } else if (size === 2) {
    const p = a * b;
    cpu.writeReg(2, RAX, p & 0xffff, 0);
    cpu.writeReg(2, RDX, p >>> 16, 0);
    hiNonZero = p > 0xffff;
    rl = p & 0xffff;
  } else if (size === 4) {
    rl = mul32(a, b, T1);
    cpu.writeReg(4, RAX, rl, 0);
    cpu.writeReg(4, RDX, T1[0], 0);
    hiNonZero = T1[0] !== 0;
  } else {
    mul64(a, ah, b, bh, W4);
    cpu.writeReg(8, RAX, W4[0], W4[1]);
    cpu.writeReg(8, RDX, W4[2], W4[3]);
    hiNonZero = (W4[2] | W4[3]) !== 0;
    rl = W4[0];
  }
  const c = hiNonZero ? 1 : 0;
  cpu.fl.setEager(size === 8 ? 4 : size, rl, 0, c, c);
}

/** Signed product of two operands of `size` bytes: returns the low half; sets `over` when it overflows `size`. */
function imulCore(cpu: Cpu, size: number, a: number, ah: number, b: number, bh: number): number {
  if (size === 8) {
    mul64(a, ah, b, bh, W4);
    // Signed correction of the high 64 bits.
    let h0 = W4[2], h1 = W4[3];
    if ((ah | 0) < 0) {
      const l = h0 - b;
      h0 = l >>> 0;
      h1 = (h1 - bh - (l < 0 ? 1 : 0)) >>> 0;
    }
    if ((bh | 0) < 0) {
      const l = h0 - a;
      h0 = l >>> 0;
      h1 = (h1 - ah - (l < 0 ? 1 : 0)) >>> 0;
    }
    W4[2] = h0;
    W4[3] = h1;
    const sign = (W4[1] | 0) < 0 ? 0xffffffff : 0;
    cpu.hi = W4[1];
    over = h0 !== sign || h1 !== sign;
    return W4[0];
  }
  if (size === 4) {
    const lo = mul32(a, b, T1);
    let h = T1[0];
    if ((a | 0) < 0) h -= b;
    if ((b | 0) < 0) h -= a;
    h = h >>> 0;
    T1[0] = h;
    over = h !== ((lo | 0) < 0 ? 0xffffffff : 0);
    return lo;
  }
  const p = signExtend(size, a) * signExtend(size, b);
  const bits = size * 8;
  const lo = size === 1 ? p & 0xff : p & 0xffff;
  over = signExtend(size, lo) !== p;
  T1[0] = size === 1 ? (p >> 8) & 0xff : (p >> 16) & 0xffff;
  void bits;
  return lo;
}
let over = false;

/**
 * The low 64 bits of the signed product (ah:al) x (bh:bl), the high half left in `cpu.hi`, with
 * the flags IMUL Gv, Ev sets (CF = OF = the product does not fit in 64 bits): the core of a
 * 64-bit two- or three-operand IMUL, for compiled code.
 */
export function imul64(cpu: Cpu, a: number, ah: number, b: number, bh: number): number {
  const lo = imulCore(cpu, 8, a, ah, b, bh);
  const o = over ? 1 : 0;
  cpu.fl.setEager(4, lo, 0, o, o);
  return lo;
}

/**
 * MUL r/m64's arithmetic for compiled code: the unsigned 128-bit product of (ah:al) and (bh:bl)
 * into `w` (four 32-bit words, least significant first), with the flags MUL sets (CF = OF = the
 * high half is not zero).
 */
export function mulWide(cpu: Cpu, a: number, ah: number, b: number, bh: number, w: Uint32Array): void {
  mul64(a, ah, b, bh, w);
  const c = (w[2] | w[3]) !== 0 ? 1 : 0;
  cpu.fl.setEager(4, w[0], 0, c, c);
}

/** IMUL Eb/Ev (f6 /5, f7 /5): signed one-operand form. */
export function imulE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = readE(cpu, i), bh = cpu.hi;
  const a = cpu.readReg(size, RAX), ah = cpu.hi;
  const lo = imulCore(cpu, size, a, ah, b, bh);
  const o = over ? 1 : 0;
  if (size === 1) {
    const p = signExtend(1, a) * signExtend(1, b);
    cpu.writeReg(2, RAX, p & 0xffff, 0);
  } else if (size === 2) {
    cpu.writeReg(2, RAX, lo, 0);
    cpu.writeReg(2, RDX, T1[0], 0);
  } else if (size === 4) {
    cpu.writeReg(4, RAX, lo, 0);
    cpu.writeReg(4, RDX, T1[0], 0);
  } else {
    cpu.writeReg(8, RAX, W4[0], W4[1]);
    cpu.writeReg(8, RDX, W4[2], W4[3]);
  }
  cpu.fl.setEager(size === 8 ? 4 : size, lo, 0, o, o);
}

/** IMUL Gv, Ev (0f af) and IMUL Gv, Ev, Ib/Iz (6b, 69): `op` 1 = immediate form. */
export function imulGE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const b = readE(cpu, i), bh = cpu.hi;
  let a: number, ah: number;
  if (i.op === 1) {
    a = i.imm;
    ah = i.immHi;
  } else {
    a = cpu.readReg(size, i.reg);
    ah = cpu.hi;
  }
  const lo = imulCore(cpu, size, a, ah, b, bh);
  const o = over ? 1 : 0;
  const h = cpu.hi;
  cpu.writeReg(size, i.reg, lo, h);
  cpu.fl.setEager(size === 8 ? 4 : size, lo, 0, o, o);
}

/** DIV Eb/Ev (f6 /6, f7 /6): unsigned. */
export function divE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readE(cpu, i), dh = cpu.hi;
  if (d === 0 && (size !== 8 || dh === 0)) cpu.fault(EXC_DE, false, 0);
  if (size === 1) {
    const n = cpu.gpr[0] & 0xffff;
    const q = Math.floor(n / d);
    if (q > 0xff) cpu.fault(EXC_DE, false, 0);
    cpu.writeReg(2, RAX, ((n % d) << 8) | q, 0);
  } else if (size === 2) {
    const n = ((cpu.gpr[2 * RDX] & 0xffff) * 65536) + (cpu.gpr[0] & 0xffff);
    const q = Math.floor(n / d);
    if (q > 0xffff) cpu.fault(EXC_DE, false, 0);
    cpu.writeReg(2, RAX, q, 0);
    cpu.writeReg(2, RDX, n % d, 0);
  } else if (size === 4) {
    const hi = cpu.gpr[2 * RDX], lo = cpu.gpr[0];
    if (hi >= d) cpu.fault(EXC_DE, false, 0);
    let q: number, r: number;
    if (hi < 0x200000) {
      const n = hi * 4294967296 + lo;
      q = Math.floor(n / d);
      r = n - q * d;
    } else {
      const n = (BigInt(hi) << 32n) | BigInt(lo), bd = BigInt(d);
      q = Number(n / bd);
      r = Number(n % bd);
    }
    cpu.writeReg(4, RAX, q >>> 0, 0);
    cpu.writeReg(4, RDX, r >>> 0, 0);
  } else {
    const g = cpu.gpr;
    if ((g[2 * RDX] | g[2 * RDX + 1]) === 0 && g[1] < SAFE_HI && dh < SAFE_HI) {
      // Both below 2^53: a double division is exact (SAFE_HI).
      const n = g[1] * 4294967296 + g[0], dd = dh * 4294967296 + d;
      const q = Math.floor(n / dd), r = n - q * dd;
      cpu.writeReg(8, RAX, q >>> 0, Math.floor(q / 4294967296) >>> 0);
      cpu.writeReg(8, RDX, r >>> 0, Math.floor(r / 4294967296) >>> 0);
      return;
    }
    const n = (BigInt(g[2 * RDX + 1]) << 96n) | (BigInt(g[2 * RDX]) << 64n) | (BigInt(g[1]) << 32n) |
      BigInt(g[0]);
    const bd = (BigInt(dh) << 32n) | BigInt(d);
    const q = n / bd;
    if (q > 0xffffffffffffffffn) cpu.fault(EXC_DE, false, 0);
    const r = n % bd;
    cpu.setReg64(RAX, q);
    cpu.setReg64(RDX, r);
  }
}

/** IDIV Eb/Ev (f6 /7, f7 /7): signed, quotient truncated toward zero. */
export function idivE(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const d = readE(cpu, i), dh = cpu.hi;
  if (d === 0 && (size !== 8 || dh === 0)) cpu.fault(EXC_DE, false, 0);
  const g = cpu.gpr;
  // Dividend and divisor as doubles when both are below 2^53 in magnitude (then the truncated
  // double quotient is exact); else BigInt.
  let n = NaN, dd = 0;
  if (size === 1) {
    n = (g[0] << 16) >> 16;
    dd = signExtend(1, d);
  } else if (size === 2) {
    n = ((g[2 * RDX] & 0xffff) << 16 | (g[0] & 0xffff)) | 0;
    dd = signExtend(2, d);
  } else if (size === 4) {
    const hi = g[2 * RDX] | 0;
    if (hi >= -SAFE_HI && hi < SAFE_HI) n = hi * 4294967296 + g[0];
    dd = d | 0;
  } else {
    const hi = g[1] | 0, ext = hi < 0 ? 0xffffffff : 0;
    if (
      g[2 * RDX] === ext && g[2 * RDX + 1] === ext && hi >= -SAFE_HI && hi < SAFE_HI &&
      (dh | 0) >= -SAFE_HI && (dh | 0) < SAFE_HI
    ) {
      n = hi * 4294967296 + g[0];
      dd = (dh | 0) * 4294967296 + d;
    }
  }
  if (!Number.isNaN(n)) {
    const q = Math.trunc(n / dd), r = n - q * dd;
    const lim = 2 ** (size * 8 - 1);
    if (q >= lim || q < -lim) cpu.fault(EXC_DE, false, 0);
    if (size === 1) cpu.writeReg(2, RAX, ((r & 0xff) << 8) | (q & 0xff), 0);
    else if (size === 2 || size === 4) {
      cpu.writeReg(size, RAX, q >>> 0, 0);
      cpu.writeReg(size, RDX, r >>> 0, 0);
    } else {
      cpu.writeReg(8, RAX, q >>> 0, Math.floor(q / 4294967296) >>> 0);
      cpu.writeReg(8, RDX, r >>> 0, Math.floor(r / 4294967296) >>> 0);
    }
    return;
  }
  // Only 32- and 64-bit dividends get here.
  const big = size === 4 ? BigInt.asIntN(64, (BigInt(g[2 * RDX]) << 32n) | BigInt(g[0])) : BigInt.asIntN(
    128,
    (BigInt(g[2 * RDX + 1]) << 96n) | (BigInt(g[2 * RDX]) << 64n) | (BigInt(g[1]) << 32n) | BigInt(g[0]),
  );
  const bd = size === 4 ? BigInt(d | 0) : BigInt.asIntN(64, (BigInt(dh) << 32n) | BigInt(d));
  const q = big / bd; // BigInt division truncates toward zero, as IDIV does
  const r = big % bd;
  const lim = size === 4 ? 1n << 31n : 1n << 63n;
  if (q >= lim || q < -lim) cpu.fault(EXC_DE, false, 0);
  if (size === 4) {
    cpu.writeReg(4, RAX, Number(BigInt.asUintN(32, q)), 0);
    cpu.writeReg(4, RDX, Number(BigInt.asUintN(32, r)), 0);
  } else {
    cpu.setReg64(RAX, q);
    cpu.setReg64(RDX, r);
  }
}

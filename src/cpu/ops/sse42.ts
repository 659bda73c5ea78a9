/**
 * SSE4.2 string compares and CRC32 (SDM Vol. 2: PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM and
 * §4.1 "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"; CRC32).
 * PCMPGTQ is with the other packed compares in sse41.ts.
 *
 * The string compares work in the SDM's three steps: the comparisons of every element pair with
 * the "invalid element" overrides of §4.1.6 (Table 4-7), the aggregation imm8[3:2] selects into
 * IntRes1, the polarity imm8[5:4] into IntRes2; then an index in ECX (imm8[6]: least or most
 * significant set bit, 16 or 8 when none) or a mask in XMM0 (imm8[6]: bits, or expanded to
 * elements), and the flags: CF = IntRes2 != 0, ZF/SF = the second/first operand is shorter than
 * the register, OF = IntRes2[0], AF = PF = 0.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { crc32c } from "../../migration/crc32c.ts";
import { CF, OF, SF, ZF } from "../registers.ts";
import { src128, sseCheck } from "./_sse.ts";

/** `op` of {@linkcode pcmpstr}: explicit lengths (EAX/RAX, EDX/RDX: the E forms), else implicit (null-terminated). */
export const STR_EXPLICIT = 1;
/** Mask output (PCMPxSTRM, into XMM0), else index output (PCMPxSTRI, into ECX). */
export const STR_MASK = 2;

/** Length of an explicit operand: |register| (RAX/RDX with REX.W, else EAX/EDX), at most `ub`. */
function explicitLength(cpu: Cpu, r: number, wide: boolean, ub: number): number {
  const lo = cpu.readReg(wide ? 8 : 4, r);
  if (!wide) {
    const v = Math.abs(lo | 0);
    return v < ub ? v : ub;
  }
  const hi = cpu.hi;
  if (hi === 0) return lo < ub ? lo : ub;
  if (hi === 0xffffffff && lo !== 0) {
    const v = 4294967296 - lo;
    return v < ub ? v : ub;
  }
  return ub;
}

/** Length of an implicit operand: the index of its first zero element, or `ub`. */
function implicitLength(v: ArrayLike<number>, at: number, ub: number): number {
  for (let k = 0; k < ub; k++) if (v[at + k] === 0) return k;
  return ub;
}

/** PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM xmm1, xmm2/m128, imm8 (op: STR_EXPLICIT | STR_MASK). */
export function pcmpstr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, imm = i.imm;
  const s = src128(cpu, i, false), d = i.reg;
  const words = (imm & 1) !== 0, signed = (imm & 2) !== 0;
  const ub = words ? 8 : 16;
  const v = words ? (signed ? f.xmmI16 : f.xmmU16) : (signed ? f.xmmI8 : f.xmmU8);
  const a = ub * d, b = ub * s; // first operand (xmm1), second operand (xmm2/m128)
  let la: number, lb: number;
  if ((i.op & STR_EXPLICIT) !== 0) {
    const wide = i.size === 8;
    la = explicitLength(cpu, 0, wide, ub); // RAX
    lb = explicitLength(cpu, 2, wide, ub); // RDX
  } else {
    la = implicitLength(v, a, ub);
    lb = implicitLength(v, b, ub);
  }
  let res1 = 0;
  switch ((imm >> 2) & 3) {
    case 0: // equal any: second-operand element j equals some valid first-operand element
      for (let j = 0; j < lb; j++) {
        for (let k = 0; k < la; k++) {
          if (v[a + k] === v[b + j]) {
            res1 |= 1 << j;
            break;
          }
        }
      }
      break;
    case 1: // ranges: first-operand pairs [lo, hi] bound second-operand element j
      for (let j = 0; j < lb; j++) {
        for (let k = 0; k + 1 < ub; k += 2) {
          if (k < la && k + 1 < la && v[a + k] <= v[b + j] && v[b + j] <= v[a + k + 1]) {
            res1 |= 1 << j;
            break;
          }
        }
      }
      break;
    case 2: // equal each: element by element; two invalid elements compare true
      for (let j = 0; j < ub; j++) {
        const va = j < la, vb = j < lb;
        if (va && vb ? v[a + j] === v[b + j] : !va && !vb) res1 |= 1 << j;
      }
      break;
    default: // equal ordered: the first operand found as a substring of the second at j
      for (let j = 0; j < ub; j++) {
        let match = true;
        for (let k = 0; k + j < ub && match; k++) {
          if (k >= la) break; // the rest of the needle is invalid: true
          match = j + k < lb && v[a + k] === v[b + j + k];
        }
        if (match) res1 |= 1 << j;
      }
  }
  const all = (1 << ub) - 1;
  let res2: number;
  switch ((imm >> 4) & 3) {
    case 1:
      res2 = ~res1 & all;
      break;
    case 3:
      res2 = res1 ^ ((1 << lb) - 1);
      break;
    default:
      res2 = res1;
  }
  if ((i.op & STR_MASK) !== 0) {
    const x = f.xmm;
    if ((imm & 0x40) === 0) {
      x[0] = res2;
      x[1] = x[2] = x[3] = 0;
    } else {
      const m = words ? f.xmmU16 : f.xmmU8;
      const ones = words ? 0xffff : 0xff;
      for (let k = 0; k < ub; k++) m[k] = ((res2 >> k) & 1) !== 0 ? ones : 0;
    }
  } else {
    let index = ub;
    if (res2 !== 0) index = (imm & 0x40) !== 0 ? 31 - Math.clz32(res2) : 31 - Math.clz32(res2 & -res2);
    cpu.writeReg(4, 1, index, 0); // ECX
  }
  const fl = (res2 !== 0 ? CF : 0) | (lb < ub ? ZF : 0) | (la < ub ? SF : 0) | ((res2 & 1) !== 0 ? OF : 0);
  cpu.fl.put((cpu.fl.get() & ~0x8d5) | fl);
}

/**
 * CRC32 r32/r64, r/m8 (op 1) or r/m16/32/64 (op 0, the operand size): the CRC-32C (Castagnoli)
 * of the source's bytes continued from the destination's low 32 bits, without the initial and
 * final inversions the checksum of migration/crc32c.ts has; the result is zero-extended. Flags
 * are unchanged. No SSE enabling checks (SDM Vol. 2 CRC32: #UD only for LOCK or without SSE4.2).
 */
export function crc32(cpu: Cpu, i: Insn): void {
  const bytes = i.op === 1 ? 1 : i.size;
  const lo = i.mem ? cpu.read(cpu.linear(i), bytes) : cpu.readReg(bytes, i.rm);
  const hi = bytes === 8 ? cpu.hi : 0;
  const data = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++) data[k] = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 0xff;
  const acc = cpu.readReg(4, i.reg);
  cpu.writeReg(4, i.reg, ~crc32c(data, ~acc) >>> 0, 0);
}

/**
 * SSE/SSE2 data movement, logic, shuffles and unpacks, MXCSR and FXSAVE/FXRSTOR (SDM Vol. 2:
 * MOVAPS .. MOVQ, ANDPS .. PXOR, SHUFPS, PSHUFD, UNPCKLPS, PUNPCKLBW, LDMXCSR, FXSAVE, ...).
 * Handler arguments (`insn.op`) are noted per handler.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { FXSAVE_BYTES, MXCSR_MASK } from "../fpu_state.ts";
import { CR0_EM, CR0_TS, EXC_NM, RDI } from "../registers.ts";
import { readE, writeE } from "./_operands.ts";
import { addr128, copy128, load128, src128, sseCheck, store128, T_DST } from "./_sse.ts";

/** MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU xmm, xmm/m128 (0f 10, 0f 28, 0f 6f): op 1 = aligned. */
export function movXE(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  if (i.mem) load128(cpu, addr128(cpu, i, i.op === 1), i.reg);
  else copy128(x, i.reg, i.rm);
}

/** The stores: MOVAPS .. MOVDQU, MOVNTPS/PD/DQ xmm/m128, xmm (0f 11, 0f 29, 0f 2b, 0f 7f, 0f e7): op 1 = aligned. */
export function movEX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  if (i.mem) store128(cpu, addr128(cpu, i, i.op === 1), i.reg);
  else copy128(cpu.fpu.xmm, i.rm, i.reg);
}

/** MOVSS xmm, xmm/m32 (f3 0f 10): a load zeroes bits 127:32, a register move keeps them. */
export function movssXE(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, d = 4 * i.reg;
  if (i.mem) {
    x[d] = cpu.read(cpu.linear(i), 4);
    x[d + 1] = x[d + 2] = x[d + 3] = 0;
  } else x[d] = x[4 * i.rm];
}

/** MOVSS xmm/m32, xmm (f3 0f 11). */
export function movssEX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  if (i.mem) cpu.write(cpu.linear(i), 4, x[4 * i.reg], 0);
  else x[4 * i.rm] = x[4 * i.reg];
}

/** MOVSD xmm, xmm/m64 (f2 0f 10) and MOVQ xmm, xmm/m64 (f3 0f 7e, op 1: always zeroes bits 127:64). */
export function movsdXE(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, d = 4 * i.reg;
  if (i.mem) {
    x[d] = cpu.read(cpu.linear(i), 8);
    x[d + 1] = cpu.hi;
    x[d + 2] = x[d + 3] = 0;
  } else {
    x[d] = x[4 * i.rm];
    x[d + 1] = x[4 * i.rm + 1];
    if (i.op === 1) x[d + 2] = x[d + 3] = 0;
  }
}

/** MOVSD xmm/m64, xmm (f2 0f 11) and MOVQ xmm/m64, xmm (66 0f d6, op 1: a register destination's bits 127:64 are zeroed). */
export function movsdEX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, s = 4 * i.reg;
  if (i.mem) cpu.write(cpu.linear(i), 8, x[s], x[s + 1]);
  else {
    const d = 4 * i.rm;
    const lo = x[s], hi = x[s + 1];
    x[d] = lo;
    x[d + 1] = hi;
    if (i.op === 1) x[d + 2] = x[d + 3] = 0;
  }
}

/**
 * 64-bit half moves (0f 12, 0f 16 and their 66 forms): op 0 loads the low half (MOVLPS/MOVLPD m64,
 * MOVHLPS from a register's high half), op 1 the high half (MOVHPS/MOVHPD m64, MOVLHPS from a
 * register's low half).
 */
export function movHalfXE(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, d = 4 * i.reg + (i.op === 1 ? 2 : 0);
  if (i.mem) {
    x[d] = cpu.read(cpu.linear(i), 8);
    x[d + 1] = cpu.hi;
  } else {
    const s = 4 * i.rm + (i.op === 1 ? 0 : 2);
    x[d] = x[s];
    x[d + 1] = x[s + 1];
  }
}

/** MOVLPS/MOVLPD m64, xmm (0f 13; op 0) and MOVHPS/MOVHPD m64, xmm (0f 17; op 1). */
export function movHalfEX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, s = 4 * i.reg + (i.op === 1 ? 2 : 0);
  cpu.write(cpu.linear(i), 8, x[s], x[s + 1]);
}

/** MOVD/MOVQ xmm, r/m32/64 (66 0f 6e): zero-extended into the register. */
export function movdXE(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = readE(cpu, i);
  const x = cpu.fpu.xmm, d = 4 * i.reg;
  x[d] = v;
  x[d + 1] = i.size === 8 ? cpu.hi : 0;
  x[d + 2] = x[d + 3] = 0;
}

/** MOVD/MOVQ r/m32/64, xmm (66 0f 7e). */
export function movdEX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, s = 4 * i.reg;
  writeE(cpu, i, x[s], x[s + 1]);
}

/** MOVNTI m32/m64, r32/r64 (0f c3): a general-register store, no SSE enabling checks. */
export function movnti(cpu: Cpu, i: Insn): void {
  const v = cpu.readReg(i.size, i.reg);
  cpu.write(cpu.linear(i), i.size, v, cpu.hi);
}

/** MOVMSKPS (op 4) / MOVMSKPD (op 8) r32, xmm (0f 50): the lanes' sign bits. */
export function movmsk(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, s = 4 * i.rm;
  let m = 0;
  if (i.op === 4) {
    for (let k = 0; k < 4; k++) m |= (x[s + k] >>> 31) << k;
  } else m = (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1);
  cpu.writeReg(4, i.reg, m, 0);
}

/** PMOVMSKB r32, xmm (66 0f d7). */
export function pmovmskb(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, s = 4 * i.rm;
  let m = 0;
  for (let k = 0; k < 4; k++) {
    const v = x[s + k];
    m |= (((v >>> 7) & 1) | ((v >>> 14) & 2) | ((v >>> 21) & 4) | ((v >>> 28) & 8)) << (4 * k);
  }
  cpu.writeReg(4, i.reg, m, 0);
}

/** MASKMOVDQU xmm, xmm (66 0f f7): stores the bytes of reg whose mask byte (r/m) has bit 7 set, at DS:rDI. */
export function maskmovdqu(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const hi = i.asize === 4 ? 0 : cpu.gpr[2 * RDI + 1];
  const base = cpu.withSegmentBase(i.seg, cpu.canonical(cpu.gpr[2 * RDI], hi));
  const b = cpu.fpu.xmmU8, data = 16 * i.reg, mask = 16 * i.rm;
  if ((x[4 * i.rm] | x[4 * i.rm + 1] | x[4 * i.rm + 2] | x[4 * i.rm + 3]) & 0x80808080) {
    cpu.probeWrite(base, 16);
  }
  for (let k = 0; k < 16; k++) if ((b[mask + k] & 0x80) !== 0) cpu.write(base + k, 1, b[data + k], 0);
}

/** ANDPS/ANDPD/PAND (op 0), ANDNPS/ANDNPD/PANDN (1), ORPS/ORPD/POR (2), XORPS/XORPD/PXOR (3). */
export function logic(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = 4 * src128(cpu, i, true), d = 4 * i.reg;
  switch (i.op) {
    case 0:
      for (let k = 0; k < 4; k++) x[d + k] &= x[s + k];
      break;
    case 1:
      for (let k = 0; k < 4; k++) x[d + k] = ~x[d + k] & x[s + k];
      break;
    case 2:
      for (let k = 0; k < 4; k++) x[d + k] |= x[s + k];
      break;
    default:
      for (let k = 0; k < 4; k++) x[d + k] ^= x[s + k];
  }
}

/** SHUFPS xmm, xmm/m128, imm8 (0f c6). */
export function shufps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = 4 * src128(cpu, i, true), d = 4 * i.reg, t = 4 * T_DST, m = i.imm;
  x[t] = x[d + (m & 3)];
  x[t + 1] = x[d + ((m >> 2) & 3)];
  x[t + 2] = x[s + ((m >> 4) & 3)];
  x[t + 3] = x[s + ((m >> 6) & 3)];
  copy128(x, i.reg, T_DST);
}

/** SHUFPD xmm, xmm/m128, imm8 (66 0f c6). */
export function shufpd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = 4 * src128(cpu, i, true), d = 4 * i.reg, t = 4 * T_DST, m = i.imm;
  const a = d + 2 * (m & 1), b = s + 2 * ((m >> 1) & 1);
  x[t] = x[a];
  x[t + 1] = x[a + 1];
  x[t + 2] = x[b];
  x[t + 3] = x[b + 1];
  copy128(x, i.reg, T_DST);
}

/** PSHUFD (op 0, 66 0f 70), PSHUFHW (op 1, f3 0f 70), PSHUFLW (op 2, f2 0f 70) xmm, xmm/m128, imm8. */
export function pshuf(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = src128(cpu, i, true), m = i.imm;
  const t = 4 * T_DST;
  if (i.op === 0) {
    for (let k = 0; k < 4; k++) x[t + k] = x[4 * s + ((m >> (2 * k)) & 3)];
  } else {
    const w = cpu.fpu.xmmU16, ws = 8 * s, wt = 8 * T_DST;
    const base = i.op === 1 ? 4 : 0, keep = 4 - base;
    for (let k = 0; k < 4; k++) {
      w[wt + base + k] = w[ws + base + ((m >> (2 * k)) & 3)];
      w[wt + keep + k] = w[ws + keep + k];
    }
  }
  copy128(x, i.reg, T_DST);
}

/**
 * Interleaves (UNPCKLPS/PD, UNPCKHPS/PD, PUNPCKL/H BW/WD/DQ/QDQ): `op` = element bytes (1, 2, 4,
 * 8) | 16 for the high halves.
 */
export function unpack(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = src128(cpu, i, true);
  const size = i.op & 15, from = (i.op & 16) !== 0 ? 8 : 0;
  const b = cpu.fpu.xmmU8;
  const d0 = 16 * i.reg, s0 = 16 * s, t0 = 16 * T_DST;
  for (let e = 0; e < 8 / size; e++) {
    for (let k = 0; k < size; k++) {
      b[t0 + 2 * e * size + k] = b[d0 + from + e * size + k];
      b[t0 + (2 * e + 1) * size + k] = b[s0 + from + e * size + k];
    }
  }
  copy128(x, i.reg, T_DST);
}

/** PINSRW xmm, r32/m16, imm8 (66 0f c4). */
export function pinsrw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = i.mem ? cpu.read(cpu.linear(i), 2) : cpu.readReg(4, i.rm);
  cpu.fpu.xmmU16[8 * i.reg + (i.imm & 7)] = v;
}

/** PEXTRW r32, xmm, imm8 (66 0f c5). */
export function pextrw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  cpu.writeReg(4, i.reg, cpu.fpu.xmmU16[8 * i.rm + (i.imm & 7)], 0);
}

/** LDMXCSR m32 (0f ae /2): #GP(0) when a reserved bit is set (SDM Vol. 2 LDMXCSR). */
export function ldmxcsr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = cpu.read(cpu.linear(i), 4);
  if ((v & ~MXCSR_MASK) !== 0) cpu.gp0();
  cpu.fpu.mxcsr = v;
}

/** STMXCSR m32 (0f ae /3). */
export function stmxcsr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  cpu.write(cpu.linear(i), 4, cpu.fpu.mxcsr, 0);
}

function fxCheck(cpu: Cpu, i: Insn): number {
  // FXSAVE/FXRSTOR: #NM when CR0.TS or CR0.EM is set; the image must be 16-byte aligned (SDM Vol. 2 FXSAVE).
  if ((cpu.cr0 & (CR0_TS | CR0_EM)) !== 0) cpu.fault(EXC_NM, false, 0);
  const lin = cpu.linear(i);
  if ((lin & 15) !== 0) cpu.gp0();
  return lin;
}

/** FXSAVE m512 (0f ae /0; the 64-bit layout, also without REX.W: FIP/FDP as 64-bit offsets). Bytes 464-511 are not written. */
export function fxsave(cpu: Cpu, i: Insn): void {
  const lin = fxCheck(cpu, i);
  const img = new Uint8Array(FXSAVE_BYTES);
  cpu.fpu.writeFxsave(img);
  cpu.probeWrite(lin, 464);
  for (let k = 0; k < 464; k += 8) {
    cpu.write(
      lin + k,
      8,
      (img[k] | (img[k + 1] << 8) | (img[k + 2] << 16) | (img[k + 3] << 24)) >>> 0,
      (img[k + 4] | (img[k + 5] << 8) | (img[k + 6] << 16) | (img[k + 7] << 24)) >>> 0,
    );
  }
}

/** FXRSTOR m512 (0f ae /1): #GP(0) when the image's MXCSR sets a reserved bit. */
export function fxrstor(cpu: Cpu, i: Insn): void {
  const lin = fxCheck(cpu, i);
  const img = new Uint8Array(FXSAVE_BYTES);
  for (let k = 0; k < 464; k += 4) {
    const v = cpu.read(lin + k, 4);
    img[k] = v & 0xff;
    img[k + 1] = (v >>> 8) & 0xff;
    img[k + 2] = (v >>> 16) & 0xff;
    img[k + 3] = v >>> 24;
  }
  if (!cpu.fpu.readFxrstor(img)) cpu.gp0();
}

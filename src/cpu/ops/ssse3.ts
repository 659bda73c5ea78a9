/**
 * SSSE3 on XMM registers (SDM Vol. 2: PSHUFB, PALIGNR, PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW,
 * PMADDUBSW, PMULHRSW, PSIGNB/W/D, PABSB/W/D). Results are built in a scratch register and
 * committed at the end, so a source that is also the destination reads its old value. The MMX
 * forms (no 66 prefix) run these handlers on staged operands (ops/mmx.ts, mmx_table.ts).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { copy128, src128, sseCheck, T_DST } from "./_sse.ts";

/** PSHUFB: each destination byte is the destination byte the source byte's low 4 bits select, or 0 if its bit 7 is set. */
export function pshufb(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, b = f.xmmU8;
  const s = 16 * src128(cpu, i, true), d = 16 * i.reg, t = 16 * T_DST;
  for (let k = 0; k < 16; k++) {
    const sel = b[s + k];
    b[t + k] = (sel & 0x80) !== 0 ? 0 : b[d + (sel & 15)];
  }
  copy128(f.xmm, i.reg, T_DST);
}

/** PALIGNR xmm, xmm/m128, imm8: the 32-byte destination:source pair shifted right by imm8 bytes, low 16 kept. */
export function palignr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, b = f.xmmU8;
  const s = 16 * src128(cpu, i, true), d = 16 * i.reg, t = 16 * T_DST;
  const n = i.imm & 0xff;
  for (let k = 0; k < 16; k++) {
    const at = k + n;
    b[t + k] = at < 16 ? b[s + at] : at < 32 ? b[d + at - 16] : 0;
  }
  copy128(f.xmm, i.reg, T_DST);
}

/** `op` of {@linkcode phaddsub}: element bytes (2, 4) | PH_SUB | PH_SAT. */
export const PH_SUB = 16;
/** Signed saturation of the word results (PHADDSW, PHSUBSW). */
export const PH_SAT = 32;

/**
 * PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW: adjacent pairs of the destination (low half of the result)
 * and of the source (high half) added, or the odd element subtracted from the even one.
 */
export function phaddsub(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const s = src128(cpu, i, true), d = i.reg;
  const sub = (i.op & PH_SUB) !== 0, sat = (i.op & PH_SAT) !== 0;
  const v = (i.op & 15) === 2 ? f.xmmI16 : f.xmmI32;
  const n = (i.op & 15) === 2 ? 8 : 4, half = n >> 1;
  for (let k = 0; k < n; k++) {
    const from = n * (k < half ? d : s) + 2 * (k % half);
    let r = sub ? v[from] - v[from + 1] : v[from] + v[from + 1];
    if (sat) r = r < -32768 ? -32768 : r > 32767 ? 32767 : r;
    v[n * T_DST + k] = r;
  }
  copy128(f.xmm, d, T_DST);
}

/** PMADDUBSW: unsigned destination bytes times signed source bytes, adjacent products added with signed word saturation. */
export function pmaddubsw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, u = f.xmmU8, sb = f.xmmI8;
  const s = 16 * src128(cpu, i, true), d = 16 * i.reg;
  for (let k = 0; k < 8; k++) {
    const r = u[d + 2 * k] * sb[s + 2 * k] + u[d + 2 * k + 1] * sb[s + 2 * k + 1];
    f.xmmI16[8 * T_DST + k] = r < -32768 ? -32768 : r > 32767 ? 32767 : r;
  }
  copy128(f.xmm, i.reg, T_DST);
}

/** PMULHRSW: signed word products, scaled to bits 30:15 and rounded ((p >> 14) + 1) >> 1. */
export function pmulhrsw(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu, w = f.xmmI16;
  const s = 8 * src128(cpu, i, true), d = 8 * i.reg;
  for (let k = 0; k < 8; k++) w[8 * T_DST + k] = (((w[d + k] * w[s + k]) >> 14) + 1) >> 1;
  copy128(f.xmm, i.reg, T_DST);
}

function lanes(cpu: Cpu, size: number): Int8Array | Int16Array | Int32Array {
  const f = cpu.fpu;
  return size === 1 ? f.xmmI8 : size === 2 ? f.xmmI16 : f.xmmI32;
}

/** PSIGNB/W/D (op = element bytes): each destination element negated, zeroed or kept as the source element is <0, 0, >0. */
export function psign(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = lanes(cpu, i.op), n = 16 / i.op;
  const s = n * src128(cpu, i, true), d = n * i.reg;
  for (let k = 0; k < n; k++) {
    const c = v[s + k];
    v[n * T_DST + k] = c < 0 ? -v[d + k] : c === 0 ? 0 : v[d + k];
  }
  copy128(cpu.fpu.xmm, i.reg, T_DST);
}

/** PABSB/W/D (op = element bytes): the unsigned absolute value of each source element. */
export function pabs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const v = lanes(cpu, i.op), n = 16 / i.op;
  const s = n * src128(cpu, i, true);
  for (let k = 0; k < n; k++) v[n * T_DST + k] = Math.abs(v[s + k]);
  copy128(cpu.fpu.xmm, i.reg, T_DST);
}

/**
 * SSE2 packed integer arithmetic on XMM registers (SDM Vol. 2: PADDB .. PADDQ, PSUBB .. PSUBQ,
 * PADDS/PADDUS/PSUBS/PSUBUS, PCMPEQ/PCMPGT, PMULLW/PMULHW/PMULHUW/PMULUDQ, PMADDWD, PSADBW,
 * PAVGB/W, PMINUB/PMAXUB/PMINSW/PMAXSW, PACKSSWB/PACKUSWB/PACKSSDW, PSLL/PSRL/PSRA, PSLLDQ/PSRLDQ).
 * Results are built in a scratch register and committed at the end.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { copy128, src128, sseCheck, T_DST } from "./_sse.ts";

const TWO32 = 4294967296;

/** PADDB/W/D/Q (op = element bytes) and PSUBB/W/D/Q (op = bytes | 16), wrapping. */
export function paddsub(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const s = src128(cpu, i, true), d = i.reg;
  const sub = (i.op & 16) !== 0;
  switch (i.op & 15) {
    case 1: {
      const b = f.xmmU8;
      for (let k = 0; k < 16; k++) {
        b[16 * d + k] = sub ? b[16 * d + k] - b[16 * s + k] : b[16 * d + k] + b[16 * s + k];
      }
      break;
    }
    case 2: {
      const w = f.xmmU16;
      for (let k = 0; k < 8; k++) {
        w[8 * d + k] = sub ? w[8 * d + k] - w[8 * s + k] : w[8 * d + k] + w[8 * s + k];
      }
      break;
    }
    case 4: {
      const x = f.xmm;
      for (let k = 0; k < 4; k++) {
        x[4 * d + k] = sub ? x[4 * d + k] - x[4 * s + k] : x[4 * d + k] + x[4 * s + k];
      }
      break;
    }
    default: {
      const x = f.xmm;
      for (let k = 0; k < 4; k += 2) {
        const a = 4 * d + k, b = 4 * s + k;
        if (sub) {
          const lo = x[a] - x[b];
          x[a + 1] = x[a + 1] - x[b + 1] - (lo < 0 ? 1 : 0);
          x[a] = lo;
        } else {
          const lo = x[a] + x[b];
          x[a + 1] = x[a + 1] + x[b + 1] + (lo >= TWO32 ? 1 : 0);
          x[a] = lo;
        }
      }
    }
  }
}

/**
 * Saturating PADDSB/W, PADDUSB/W, PSUBSB/W, PSUBUSB/W: op = element bytes (1, 2) | 16 subtract |
 * 32 unsigned.
 */
export function paddsat(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const s = src128(cpu, i, true), d = i.reg;
  const sub = (i.op & 16) !== 0, unsigned = (i.op & 32) !== 0;
  if ((i.op & 15) === 1) {
    const v = unsigned ? f.xmmU8 : f.xmmI8;
    const lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
    for (let k = 0; k < 16; k++) {
      const r = sub ? v[16 * d + k] - v[16 * s + k] : v[16 * d + k] + v[16 * s + k];
      v[16 * d + k] = r < lo ? lo : r > hi ? hi : r;
    }
  } else {
    const v = unsigned ? f.xmmU16 : f.xmmI16;
    const lo = unsigned ? 0 : -32768, hi = unsigned ? 65535 : 32767;
    for (let k = 0; k < 8; k++) {
      const r = sub ? v[8 * d + k] - v[8 * s + k] : v[8 * d + k] + v[8 * s + k];
      v[8 * d + k] = r < lo ? lo : r > hi ? hi : r;
    }
  }
}

/** PCMPEQB/W/D (op = element bytes) and PCMPGTB/W/D (op = bytes | 16, signed). */
export function pcmp(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const s = src128(cpu, i, true), d = i.reg;
  const gt = (i.op & 16) !== 0;
  const size = i.op & 15;
  const v = size === 1 ? f.xmmI8 : size === 2 ? f.xmmI16 : f.xmmI32;
  const n = 16 / size;
  for (let k = 0; k < n; k++) {
    const a = v[n * d + k], b = v[n * s + k];
    v[n * d + k] = (gt ? a > b : a === b) ? -1 : 0;
  }
}

/** Packed-integer operations by `op`: see {@linkcode PMISC_NAMES}. */
export function pmisc(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  const s = src128(cpu, i, true), d = i.reg;
  switch (i.op) {
    case PM_MULLW:
    case PM_MULHW: {
      const v = f.xmmI16;
      for (let k = 0; k < 8; k++) {
        const p = v[8 * d + k] * v[8 * s + k];
        v[8 * d + k] = i.op === PM_MULLW ? p : p >> 16;
      }
      break;
    }
    case PM_MULHUW: {
      const v = f.xmmU16;
      for (let k = 0; k < 8; k++) v[8 * d + k] = (v[8 * d + k] * v[8 * s + k]) >>> 16;
      break;
    }
    case PM_MULUDQ: {
      const x = f.xmm;
      for (let k = 0; k < 4; k += 2) {
        const a = x[4 * d + k], b = x[4 * s + k];
        const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
        const ll = al * bl, mid = al * bh + ah * bl, hh = ah * bh;
        const lo = ll + (mid % 65536) * 65536;
        x[4 * d + k] = lo;
        x[4 * d + k + 1] = hh + Math.floor(mid / 65536) + Math.floor(lo / TWO32);
      }
      break;
    }
    case PM_MADDWD: {
      const v = f.xmmI16, x = f.xmm;
      for (let k = 0; k < 4; k++) {
        const r = v[8 * d + 2 * k] * v[8 * s + 2 * k] + v[8 * d + 2 * k + 1] * v[8 * s + 2 * k + 1];
        x[4 * T_DST + k] = r;
      }
      copy128(x, d, T_DST);
      break;
    }
    case PM_SADBW: {
      const b = f.xmmU8, x = f.xmm;
      for (let h = 0; h < 2; h++) {
        let sum = 0;
        for (let k = 0; k < 8; k++) sum += Math.abs(b[16 * d + 8 * h + k] - b[16 * s + 8 * h + k]);
        x[4 * d + 2 * h] = sum;
        x[4 * d + 2 * h + 1] = 0;
      }
      break;
    }
    case PM_AVGB: {
      const b = f.xmmU8;
      for (let k = 0; k < 16; k++) b[16 * d + k] = (b[16 * d + k] + b[16 * s + k] + 1) >> 1;
      break;
    }
    case PM_AVGW: {
      const w = f.xmmU16;
      for (let k = 0; k < 8; k++) w[8 * d + k] = (w[8 * d + k] + w[8 * s + k] + 1) >> 1;
      break;
    }
    case PM_MINUB:
    case PM_MAXUB: {
      const b = f.xmmU8, max = i.op === PM_MAXUB;
      for (let k = 0; k < 16; k++) {
        const a = b[16 * d + k], c = b[16 * s + k];
        b[16 * d + k] = max ? (a > c ? a : c) : (a < c ? a : c);
      }
      break;
    }
    case PM_MINSW:
    case PM_MAXSW: {
      const w = f.xmmI16, max = i.op === PM_MAXSW;
      for (let k = 0; k < 8; k++) {
        const a = w[8 * d + k], c = w[8 * s + k];
        w[8 * d + k] = max ? (a > c ? a : c) : (a < c ? a : c);
      }
      break;
    }
    case PM_PACKSSWB:
    case PM_PACKUSWB: {
      const w = f.xmmI16, o = i.op === PM_PACKSSWB ? f.xmmI8 : f.xmmU8;
      const lo = i.op === PM_PACKSSWB ? -128 : 0, hi = i.op === PM_PACKSSWB ? 127 : 255;
      for (let k = 0; k < 16; k++) {
        const v = k < 8 ? w[8 * d + k] : w[8 * s + k - 8];
        o[16 * T_DST + k] = v < lo ? lo : v > hi ? hi : v;
      }
      copy128(f.xmm, d, T_DST);
      break;
    }
    default: { // PACKSSDW
      const v = f.xmmI32, o = f.xmmI16;
      for (let k = 0; k < 8; k++) {
        const e = k < 4 ? v[4 * d + k] : v[4 * s + k - 4];
        o[8 * T_DST + k] = e < -32768 ? -32768 : e > 32767 ? 32767 : e;
      }
      copy128(f.xmm, d, T_DST);
    }
  }
}

/** `op` of {@linkcode pmisc}: PMULLW. */
export const PM_MULLW = 0;
/** PMULHW. */
export const PM_MULHW = 1;
/** PMULHUW. */
export const PM_MULHUW = 2;
/** PMULUDQ. */
export const PM_MULUDQ = 3;
/** PMADDWD. */
export const PM_MADDWD = 4;
/** PSADBW. */
export const PM_SADBW = 5;
/** PAVGB. */
export const PM_AVGB = 6;
/** PAVGW. */
export const PM_AVGW = 7;
/** PMINUB. */
export const PM_MINUB = 8;
/** PMAXUB. */
export const PM_MAXUB = 9;
/** PMINSW. */
export const PM_MINSW = 10;
/** PMAXSW. */
export const PM_MAXSW = 11;
/** PACKSSWB. */
export const PM_PACKSSWB = 12;
/** PACKUSWB. */
export const PM_PACKUSWB = 13;
/** PACKSSDW. */
export const PM_PACKSSDW = 14;

/** Shift kinds of {@linkcode pshift}: logical left. */
export const SH_LL = 0;
/** Logical right. */
export const SH_RL = 1;
/** Arithmetic right. */
export const SH_RA = 2;

/**
 * The packed shifts by an immediate (0F 71/72/73 /ext ib), the same for MMX and XMM forms: name,
 * opcode, ModRM.reg extension and the {@linkcode pshiftImm} argument (kind << 4 | element size).
 */
export const PSHIFT_IMM_FORMS: readonly (readonly [string, number, number, number])[] = [
  ["psrlw", 0x71, 2, (SH_RL << 4) | 2],
  ["psraw", 0x71, 4, (SH_RA << 4) | 2],
  ["psllw", 0x71, 6, (SH_LL << 4) | 2],
  ["psrld", 0x72, 2, (SH_RL << 4) | 4],
  ["psrad", 0x72, 4, (SH_RA << 4) | 4],
  ["pslld", 0x72, 6, (SH_LL << 4) | 4],
  ["psrlq", 0x73, 2, (SH_RL << 4) | 8],
  ["psllq", 0x73, 6, (SH_LL << 4) | 8],
];

/**
 * The packed shifts by a register or memory count (0F D1-F3), the same for MMX and XMM forms: name,
 * opcode and the {@linkcode pshift} argument (kind << 4 | element size).
 */
export const PSHIFT_REG_FORMS: readonly (readonly [string, number, number])[] = [
  ["psrlw", 0xd1, (SH_RL << 4) | 2],
  ["psrld", 0xd2, (SH_RL << 4) | 4],
  ["psrlq", 0xd3, (SH_RL << 4) | 8],
  ["psraw", 0xe1, (SH_RA << 4) | 2],
  ["psrad", 0xe2, (SH_RA << 4) | 4],
  ["psllw", 0xf1, (SH_LL << 4) | 2],
  ["pslld", 0xf2, (SH_LL << 4) | 4],
  ["psllq", 0xf3, (SH_LL << 4) | 8],
];

function shiftBy(cpu: Cpu, d: number, kind: number, size: number, count: number): void {
  const f = cpu.fpu;
  const bits = 8 * size;
  if (size === 8) {
    const x = f.xmm;
    for (let k = 0; k < 4; k += 2) {
      const a = 4 * d + k;
      let lo = x[a], hi = x[a + 1];
      if (count >= 64) lo = hi = 0;
      else if (count >= 32) {
        if (kind === SH_LL) {
          hi = lo << (count - 32);
          lo = 0;
        } else {
          lo = hi >>> (count - 32);
          hi = 0;
        }
      } else if (count > 0) {
        if (kind === SH_LL) {
          hi = (hi << count) | (lo >>> (32 - count));
          lo <<= count;
        } else {
          lo = (lo >>> count) | (hi << (32 - count));
          hi >>>= count;
        }
      }
      x[a] = lo;
      x[a + 1] = hi;
    }
    return;
  }
  const n = 16 / size;
  if (kind === SH_RA) {
    const v = size === 2 ? f.xmmI16 : f.xmmI32;
    const c = count > bits - 1 ? bits - 1 : count;
    for (let k = 0; k < n; k++) v[n * d + k] >>= c;
    return;
  }
  const v = size === 2 ? f.xmmU16 : f.xmm;
  if (count >= bits) {
    for (let k = 0; k < n; k++) v[n * d + k] = 0;
    return;
  }
  for (let k = 0; k < n; k++) {
    v[n * d + k] = kind === SH_LL ? v[n * d + k] << count : v[n * d + k] >>> count;
  }
}

/** PSLLW/D/Q, PSRLW/D/Q, PSRAW/D xmm, xmm/m128 (count = the source's low 64 bits): op = kind << 4 | element bytes. */
export function pshift(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm;
  const s = src128(cpu, i, true);
  const count = x[4 * s + 1] !== 0 || x[4 * s] > 255 ? 255 : x[4 * s];
  shiftBy(cpu, i.reg, i.op >> 4, i.op & 15, count);
}

/** The same by imm8 (66 0f 71..73 /2 /4 /6, register operand in r/m). */
export function pshiftImm(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  shiftBy(cpu, i.rm, i.op >> 4, i.op & 15, i.imm & 0xff);
}

/** PSRLDQ (op 1) / PSLLDQ (op 0) xmm, imm8 (66 0f 73 /3, /7): byte shifts, counts above 15 clear. */
export function pshiftBytes(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const b = cpu.fpu.xmmU8;
  const n = i.imm > 16 ? 16 : i.imm, r = 16 * i.rm, t = 16 * T_DST;
  for (let k = 0; k < 16; k++) {
    const from = i.op === 1 ? k + n : k - n;
    b[t + k] = from >= 0 && from < 16 ? b[r + from] : 0;
  }
  copy128(cpu.fpu.xmm, i.rm, T_DST);
}

/** Names of the {@linkcode pmisc} operations, by `op`. */
export const PMISC_NAMES = [
  "pmullw",
  "pmulhw",
  "pmulhuw",
  "pmuludq",
  "pmaddwd",
  "psadbw",
  "pavgb",
  "pavgw",
  "pminub",
  "pmaxub",
  "pminsw",
  "pmaxsw",
  "packsswb",
  "packuswb",
  "packssdw",
];

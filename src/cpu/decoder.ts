/**
 * The x86-64 decoder: prefixes -> opcode -> ModRM -> SIB -> displacement -> immediate, each
 * stage driven by the instruction table (SDM Vol. 2 ch. 2). It fills one {@linkcode Insn} per
 * instruction, which the block cache keeps.
 *
 * @module
 */

import type { Cpu } from "./cpu.ts";
import { BASE_RIP, Insn, NONE } from "./insn.ts";
import { SEG_FS, SEG_GS } from "./registers.ts";
import {
  IMM_B,
  IMM_MOFFS,
  IMM_NONE,
  IMM_REL8,
  IMM_RELZ,
  IMM_UB,
  IMM_V,
  IMM_W,
  IMM_WB,
  IMM_Z,
  type OpSpec,
  opTable,
  SZ_BYTE,
  SZ_D64,
  SZ_F64,
  SZ_V,
  SZ_W,
  SZ_Y,
  udHandler,
} from "./table.ts";

/** Longest legal instruction (SDM Vol. 2 §2.3.11). */
export const MAX_INSN_LENGTH = 15;

class EndOfWindow {}
const END = new EndOfWindow();

/**
 * Decodes the instruction at linear address `lin`. Bytes past `limit` are not read: the decoder
 * returns null instead (a block stops before an instruction that leaves its page).
 */
export function decode(cpu: Cpu, lin: number, limit: number): Insn | null {
  try {
    return decodeInsn(cpu, lin, limit);
  } catch (e) {
    if (e === END) return null;
    throw e;
  }
}

function decodeInsn(cpu: Cpu, lin: number, limit: number): Insn {
  let at = lin;
  const next = (): number => {
    if (at > limit) throw END;
    if (at - lin >= MAX_INSN_LENGTH) {
      // Too long: #GP(0) when executed (SDM Vol. 2 §2.3.11).
      throw TOO_LONG;
    }
    return cpu.fetchByte(at++);
  };
  try {
    return decodeBody(cpu, lin, next, () => at - lin);
  } catch (e) {
    if (e === TOO_LONG) {
      const insn = new Insn(gpHandler);
      insn.len = 1;
      insn.ends = true;
      return insn;
    }
    throw e;
  }
}

const TOO_LONG = new EndOfWindow();

function gpHandler(cpu: Cpu): void {
  cpu.gp0();
}

function decodeBody(_cpu: Cpu, _lin: number, next: () => number, length: () => number): Insn {
  let opsize16 = false, asize32 = false, rep = 0, lock = false, seg = NONE;
  let rex = 0;
  let b = next();
  // Legacy prefixes, then REX (a REX not directly before the opcode is ignored).
  for (;;) {
    if (b === 0x66) opsize16 = true;
    else if (b === 0x67) asize32 = true;
    else if (b === 0xf2 || b === 0xf3) rep = b;
    else if (b === 0xf0) lock = true;
    else if (b === 0x64) seg = SEG_FS;
    else if (b === 0x65) seg = SEG_GS;
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) { /* ignored in 64-bit mode */ }
    else if ((b & 0xf0) === 0x40) {
      rex = b;
      b = next();
      if ((b & 0xf0) === 0x40) continue; // another REX: the last one counts
      if (isLegacyPrefix(b)) {
        rex = 0;
        continue;
      }
      break;
    } else break;
    b = next();
  }
  const rexW = (rex & 8) !== 0, rexR = (rex & 4) << 1, rexX = (rex & 2) << 2, rexB = (rex & 1) << 3;
  let map = 0;
  if (b === 0x0f) {
    map = 1;
    b = next();
    if (b === 0x38 || b === 0x3a) {
      // Three-byte opcodes (SDM Vol. 2 §2.1.2, App. A.3 Tables ): maps 2 and 3.
      map = b === 0x38 ? 2 : 3;
      b = next();
    }
  }
  let spec: OpSpec | undefined = opTable[map * 256 + b];
  if (spec === undefined) return finish(new Insn(udHandler), length(), true);
  // A mandatory prefix selects the instruction: F3 or F2 (the last one given) before 66 (SDM Vol. 2 §2.1.2).
  const byPrefix = spec.byPrefix;
  if (byPrefix !== undefined) {
    spec = byPrefix[rep === 0xf3 ? 2 : rep === 0xf2 ? 3 : opsize16 ? 1 : 0];
    if (spec === undefined) {
      return finish(new Insn(udHandler), skipModrm(next(), asize32, next, length), true);
    }
  }
  let modrm = -1;
  if (spec.modrm) {
    modrm = next();
    if (spec.modIgnored) modrm |= 0xc0;
    if (spec.group) {
      const reg = (modrm >> 3) & 7;
      const g3 = spec.group3;
      spec = (modrm >= 0xc0 && g3 !== undefined && g3[reg * 8 + (modrm & 7)] !== undefined)
        ? g3[reg * 8 + (modrm & 7)]
        : spec.group[reg];
      if (spec === undefined) {
        return finish(new Insn(udHandler), skipModrm(modrm, asize32, next, length), true);
      }
    }
  }
  if ((spec.memOnly && modrm >= 0xc0) || (spec.regOnly && modrm >= 0 && modrm < 0xc0)) {
    return finish(new Insn(udHandler), skipModrm(modrm, asize32, next, length), true);
  }
  // LOCK is legal only on a read-modify-write instruction with a memory destination (SDM Vol. 2 LOCK).
  if (lock && (!spec.lockable || modrm >= 0xc0)) {
    return finish(new Insn(udHandler), skipModrm(modrm, asize32, next, length), true);
  }
  const insn = new Insn(spec.h);
  insn.entry = spec.index;
  insn.op = spec.arg;
  insn.rep = rep;
  insn.lock = lock;
  insn.seg = seg;
  insn.ends = spec.ends;
  insn.asize = asize32 ? 4 : 8;
  if (modrm >= 0) insn.modrm = modrm;
  switch (spec.size) {
    case SZ_BYTE:
      insn.size = 1;
      break;
    case SZ_V:
      insn.size = rexW ? 8 : opsize16 ? 2 : 4;
      break;
    case SZ_D64:
      insn.size = rexW ? 8 : opsize16 ? 2 : 8;
      break;
    case SZ_F64:
      insn.size = 8;
      break;
    case SZ_W:
      insn.size = 2;
      break;
    case SZ_Y:
      insn.size = rexW ? 8 : 4;
      break;
    default:
      insn.size = 4;
  }
  const byteRegs = spec.size === SZ_BYTE || spec.byteRm;
  if (modrm >= 0) {
    const mod = modrm >> 6;
    let reg = ((modrm >> 3) & 7) | rexR;
    if ((spec.size === SZ_BYTE || spec.byteReg) && rex === 0 && reg >= 4 && reg < 8) reg += 12;
    insn.reg = reg;
    const rm = modrm & 7;
    if (mod === 3) {
      let r = rm | rexB;
      if (byteRegs && rex === 0 && r >= 4 && r < 8) r += 12;
      insn.rm = r;
      insn.mem = false;
    } else {
      insn.mem = true;
      if (rm === 4) {
        const sib = next();
        const base = sib & 7;
        const index = ((sib >> 3) & 7) | rexX;
        insn.scale = sib >> 6;
        insn.index = index === 4 ? NONE : index;
        if (base === 5 && mod === 0) {
          insn.base = NONE;
          insn.disp = disp32(next);
        } else {
          insn.base = base | rexB;
        }
      } else if (rm === 5 && mod === 0) {
        insn.base = BASE_RIP;
        insn.disp = disp32(next);
      } else {
        insn.base = rm | rexB;
      }
      if (mod === 1) insn.disp = (next() << 24) >> 24;
      else if (mod === 2) insn.disp = disp32(next);
    }
  } else if (spec.regInOpcode) {
    let r = (b & 7) | rexB;
    if (spec.size === SZ_BYTE && rex === 0 && r >= 4 && r < 8) r += 12;
    insn.reg = r;
  }
  // Immediates.
  const size = insn.size;
  switch (spec.imm) {
    case IMM_NONE:
      break;
    case IMM_B: {
      const v = (next() << 24) >> 24;
      setImm(insn, size, v, v < 0 ? -1 : 0);
      break;
    }
    case IMM_UB:
      insn.imm = next();
      break;
    case IMM_W:
      insn.imm = next() | (next() << 8);
      break;
    case IMM_WB:
      insn.imm = next() | (next() << 8);
      insn.imm2 = next();
      break;
    case IMM_Z: {
      if (size === 2) {
        const v = next() | (next() << 8);
        insn.imm = v;
      } else {
        const v = disp32(next);
        setImm(insn, size === 1 ? 4 : size, v, v < 0 ? -1 : 0);
      }
      if (size === 1) insn.imm &= 0xff;
      break;
    }
    case IMM_V: {
      if (size === 2) insn.imm = next() | (next() << 8);
      else if (size === 4) insn.imm = disp32(next) >>> 0;
      else if (size === 1) insn.imm = next();
      else {
        insn.imm = disp32(next) >>> 0;
        insn.immHi = disp32(next) >>> 0;
      }
      break;
    }
    case IMM_REL8:
      insn.disp = (next() << 24) >> 24;
      break;
    case IMM_RELZ:
      insn.disp = size === 2 ? ((next() | (next() << 8)) << 16) >> 16 : disp32(next);
      break;
    case IMM_MOFFS: {
      insn.mem = true;
      insn.base = NONE;
      insn.index = NONE;
      if (asize32) {
        insn.disp = disp32(next);
        insn.immHi = 0;
      } else {
        const lo = disp32(next) >>> 0;
        const hi = disp32(next);
        // moffs64 held as disp (low, as int32) + immHi (high): see movMoffs handlers.
        insn.disp = lo | 0;
        insn.immHi = hi >>> 0;
      }
      break;
    }
  }
  insn.len = length();
  return insn;
}

function isLegacyPrefix(b: number): boolean {
  return b === 0x66 || b === 0x67 || b === 0xf2 || b === 0xf3 || b === 0xf0 || b === 0x64 || b === 0x65 ||
    b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e;
}

function setImm(insn: Insn, size: number, v: number, sign: number): void {
  if (size === 1) insn.imm = v & 0xff;
  else if (size === 2) insn.imm = v & 0xffff;
  else insn.imm = v >>> 0;
  insn.immHi = size === 8 ? sign >>> 0 : 0;
}

function disp32(next: () => number): number {
  return next() | (next() << 8) | (next() << 16) | (next() << 24);
}

function skipModrm(modrm: number, asize32: boolean, next: () => number, length: () => number): number {
  void asize32;
  if (modrm >= 0 && modrm < 0xc0) {
    const mod = modrm >> 6, rm = modrm & 7;
    let base = -1;
    if (rm === 4) base = next() & 7;
    if (mod === 1) next();
    else if (mod === 2 || (mod === 0 && (rm === 5 || base === 5))) { for (let k = 0; k < 4; k++) next(); }
  }
  return length();
}

function finish(insn: Insn, len: number, ends: boolean): Insn {
  insn.len = len;
  insn.ends = ends;
  return insn;
}

/**
 * x87 FPU instructions (SDM Vol. 2, the F* entries; opcode map Vol. 2 App. A.4): loads and stores
 * of every x87 data type, arithmetic, compares, FCMOVcc, FXCH, sign operations, constants, FPREM/
 * FPREM1, FRNDINT, FSCALE, FXTRACT, FSQRT, the stack and the control instructions (FLDCW, FNSTCW,
 * FNSTSW, FNCLEX, FNINIT, FLDENV, FNSTENV, FNSAVE, FRSTOR, FFREE, FINCSTP, FDECSTP, FNOP, FWAIT).
 * Values are exact 80-bit extended values (../x87.ts); the transcendental instructions are in
 * x87_trans.ts.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CR0_MP, CR0_NE, CR0_TS, EXC_MF, EXC_NM } from "../registers.ts";
import { RC_NEAREST, RC_ZERO } from "../softfloat.ts";
import {
  type Ext,
  EXT_INDEFINITE,
  EXT_ONE,
  EXT_ZERO,
  extAdd,
  extClass,
  extCompare,
  extDiv,
  extExact,
  extFromBcd,
  extFromBits,
  extFromInt,
  extMul,
  extNaNResult,
  extPack,
  extRead,
  type ExtResult,
  extRound,
  extRoundInt,
  extSqrt,
  extToBcd,
  extToBits,
  extToInt,
  extWrite,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_QNAN,
  K_SNAN,
  K_UNSUPPORTED,
  K_ZERO,
  M32,
  M64,
  MX_DE,
  MX_IE,
  MX_ZE,
} from "../x87.ts";
import {
  getST,
  isEmpty,
  phys,
  pop,
  precision,
  push,
  raise,
  read80,
  readBig,
  rounding,
  setC1,
  setST,
  setTag,
  setTop,
  SW_B,
  SW_C0,
  SW_C1,
  SW_C2,
  SW_C3,
  SW_CC,
  SW_ES,
  SW_SF,
  tag,
  TAG_EMPTY,
  top,
  underflow,
  updateSummary,
  write80,
  writeBig,
  x87Check,
  x87Pointers,
} from "./_x87.ts";

/** Memory operand kinds of the arithmetic and compare forms (`arg >> 4`). */
export const SRC_M32FP = 0;
/** m64fp. */
export const SRC_M64FP = 1;
/** m32int. */
export const SRC_M32INT = 2;
/** m16int. */
export const SRC_M16INT = 3;

/** Loads a memory operand of kind SRC_* as an extended value, with the flags the conversion raised. */
function loadSrc(cpu: Cpu, i: Insn, kind: number): ExtResult {
  const lin = cpu.linear(i);
  switch (kind) {
    case SRC_M32FP:
      return keepSignaling(extFromBits(readBig(cpu, lin, 4), M32));
    case SRC_M64FP:
      return keepSignaling(extFromBits(readBig(cpu, lin, 8), M64));
    case SRC_M32INT:
      return { x: extFromInt(BigInt(cpu.read(lin, 4) | 0)), flags: 0, up: false };
    default:
      return { x: extFromInt(BigInt((cpu.read(lin, 2) << 16) >> 16)), flags: 0, up: false };
  }
}

/**
 * An SNaN operand of an arithmetic instruction stays signaling (its extended form, the quiet bit
 * clear), so the operation propagates it by the rules of SDM Vol. 1 Table 4-7.
 */
function keepSignaling(r: ExtResult): ExtResult {
  if ((r.flags & MX_IE) !== 0) r.x = { neg: r.x.neg, exp: r.x.exp, sig: r.x.sig & ~(1n << 62n) };
  return r;
}

/** A memory operand's #D does not count when either operand is a NaN or unsupported (the host CPU's priority). */
function withoutDenormal(flags: number, a: Ext, b: Ext): number {
  const ka = extClass(a), kb = extClass(b);
  if (ka >= K_QNAN || kb >= K_QNAN) return flags & ~MX_DE;
  return flags;
}

/** The arithmetic of operation `op` (ModRM.reg: 0 add, 1 mul, 4 a-b, 5 b-a, 6 a/b, 7 b/a) on a = ST(0), b. */
function arith(cpu: Cpu, op: number, a: Ext, b: Ext): ExtResult {
  const f = cpu.fpu;
  const p = precision(f), rc = rounding(f), masks = f.fcw & 0x3f;
  switch (op) {
    case 0:
      return extAdd(a, b, false, p, rc, masks);
    case 1:
      return extMul(a, b, p, rc, masks);
    case 4:
      return extAdd(a, b, true, p, rc, masks);
    case 5:
      return extAdd(b, a, true, p, rc, masks);
    case 6:
      return extDiv(a, b, p, rc, masks);
    default:
      return extDiv(b, a, p, rc, masks);
  }
}

/** Writes an operation's result to ST(d) unless an unmasked pre-computation exception forbids it; C1 from the rounding. */
function deliver(cpu: Cpu, d: number, r: ExtResult): boolean {
  const f = cpu.fpu;
  setC1(f, false);
  if (!raise(f, r.flags)) return false;
  setST(f, d, r.x);
  setC1(f, r.up && (r.flags & 0x20) !== 0);
  return true;
}

/**
 * FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR and FIADD..FIDIVR with a memory operand (d8, dc, da, de /0,1,4-7):
 * ST(0) = ST(0) op m. `arg` = operation (ModRM.reg) | SRC_* << 4.
 */
export function arithMem(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const s = loadSrc(cpu, i, i.op >> 4);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  if (isEmpty(f, 0)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const a = getST(f, 0);
  const r = arith(cpu, i.op & 7, a, s.x);
  r.flags |= withoutDenormal(s.flags, a, s.x);
  if ((r.flags & (MX_IE | MX_ZE)) !== 0) r.flags &= ~MX_DE;
  deliver(cpu, 0, r);
}

/**
 * The register forms: d8 (ST(0) = ST(0) op ST(i)), dc (ST(i) = ST(0) op ST(i) in the SDM's operand
 * order, the same ModRM.reg meaning), de (the same, then pop). `arg` = operation | 8 destination
 * ST(i) | 16 pop.
 */
export function arithReg(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const k = i.rm & 7;
  const d = (i.op & 8) !== 0 ? k : 0;
  if (isEmpty(f, 0) || isEmpty(f, k)) {
    if (!underflow(f)) return;
    setST(f, d, EXT_INDEFINITE);
  } else {
    // ModRM.reg /4 is ST(0) - ST(i) whichever the destination (FSUB ST(0), ST(i) in d8; FSUBR
    // ST(i), ST(0) in dc), /5 the reverse; likewise /6 and /7 for division.
    if (!deliver(cpu, d, arith(cpu, i.op & 7, getST(f, 0), getST(f, k)))) return;
  }
  if ((i.op & 16) !== 0) pop(f);
}

/** Sets C3, C2, C0 from a comparison (SDM Vol. 2 FCOM: 000 greater, 001 less, 100 equal, 111 unordered); C1 = 0. */
function setCompareCodes(cpu: Cpu, rel: number): void {
  const f = cpu.fpu;
  f.fsw &= ~SW_CC;
  if (rel === 1) f.fsw |= SW_C0;
  else if (rel === 2) f.fsw |= SW_C3;
  else if (rel === 3) f.fsw |= SW_C0 | SW_C2 | SW_C3;
}

/** Sets ZF, PF, CF from a comparison (FCOMI: 000, 001, 100, 111) and clears OF, SF, AF. */
function setCompareFlags(cpu: Cpu, rel: number): void {
  const fl = rel === 1 ? 0x1 : rel === 2 ? 0x40 : rel === 3 ? 0x45 : 0;
  cpu.fl.put((cpu.fl.get() & ~0x8d5) | fl);
}

/**
 * FCOM, FCOMP, FCOMPP, FUCOM*, FCOMI*, FUCOMI*, FICOM*, FTST: `arg` = pops (0-2) | 4 unordered
 * (FUCOM) | 8 EFLAGS (FCOMI) | 16 memory | SRC_* << 5 | 128 compare with +0.0 (FTST).
 */
export function fcom(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const arg = i.op;
  let b: ExtResult | null = null;
  if ((arg & 16) !== 0) b = loadSrc(cpu, i, arg >> 5);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  // FTST (arg bit 128) compares with +0.0.
  const k = (arg & 128) !== 0 || b !== null ? -1 : i.rm & 7;
  const eflags = (arg & 8) !== 0;
  if (isEmpty(f, 0) || (k >= 0 && isEmpty(f, k))) {
    if (eflags) {
      if (underflow(f)) setCompareFlags(cpu, 3);
      else return;
    } else {
      if (!underflow(f)) return;
      setCompareCodes(cpu, 3);
    }
  } else {
    const a = getST(f, 0);
    const other = b !== null ? b.x : k >= 0 ? getST(f, k) : EXT_ZERO;
    const c = extCompare(a, other, (arg & 4) !== 0);
    let flags = c.flags | (b === null ? 0 : withoutDenormal(b.flags, a, b.x));
    if ((flags & MX_IE) !== 0) flags &= ~MX_DE;
    const written = raise(f, flags);
    // An unmasked #IA leaves the condition codes alone (SDM Vol. 2 FCOM, FCOMI); an unmasked #D
    // does not stop the compare, only the pop.
    if (!written && (flags & MX_IE) !== 0) return;
    if (eflags) setCompareFlags(cpu, c.rel);
    else setCompareCodes(cpu, c.rel);
    if (!written) return;
  }
  for (let n = arg & 3; n > 0; n--) pop(f);
}

/** FXAM (d9 e5): the class of ST(0) in C3, C2, C0 and its sign in C1 (SDM Vol. 2 FXAM). */
export function fxam(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const x = getST(f, 0);
  f.fsw &= ~SW_CC;
  if (x.neg) f.fsw |= SW_C1;
  if (isEmpty(f, 0)) {
    f.fsw |= SW_C3 | SW_C0;
    return;
  }
  switch (extClass(x)) {
    case K_UNSUPPORTED:
      break;
    case K_QNAN:
    case K_SNAN:
      f.fsw |= SW_C0;
      break;
    case K_NORMAL:
      f.fsw |= SW_C2;
      break;
    case K_INF:
      f.fsw |= SW_C2 | SW_C0;
      break;
    case K_ZERO:
      f.fsw |= SW_C3;
      break;
    default:
      f.fsw |= SW_C3 | SW_C2;
  }
}

// ------------------------------------------------------------------ loads and stores

/** FLD m32fp / m64fp / m80fp (d9 /0, dd /0, db /5): `arg` 4, 8 or 10 bytes. */
export function fldMem(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  let r: ExtResult;
  if (i.op === 10) r = { x: extRead(read80(cpu, lin), 0), flags: 0, up: false };
  else r = extFromBits(readBig(cpu, lin, i.op), i.op === 4 ? M32 : M64);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (!isEmpty(f, -1)) {
    push(f, r.x);
    return;
  }
  // An unmasked #D still loads (as the host CPU does); an unmasked #IA (an SNaN) does not.
  if (!raise(f, r.flags) && (r.flags & MX_IE) !== 0) return;
  push(f, r.x);
}

/** FILD m16int / m32int / m64int (df /0, db /0, df /5): `arg` bytes. */
export function fild(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  const raw = readBig(cpu, lin, i.op);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  push(f, extFromInt(BigInt.asIntN(8 * i.op, raw)));
}

/** FBLD m80bcd (df /4). */
export function fbld(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const b = read80(cpu, cpu.linear(i));
  x87Pointers(cpu, i);
  let v = 0n;
  for (let k = 9; k >= 0; k--) v = (v << 8n) | BigInt(b[k]);
  const f = cpu.fpu;
  setC1(f, false);
  push(f, extFromBcd(v));
}

/** FLD ST(i) (d9 c0+i): pushes a copy of ST(i). */
export function fldReg(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const k = i.rm & 7;
  setC1(f, false);
  if (isEmpty(f, k)) {
    // Stack underflow (C1 = 0) before any overflow: the masked response pushes the indefinite.
    if (!underflow(f)) return;
    setTop(f, top(f) - 1);
    setST(f, 0, EXT_INDEFINITE);
    return;
  }
  push(f, getST(f, k));
}

/**
 * FST/FSTP m32fp, m64fp (d9 /2-3, dd /2-3) and FSTP m80fp (db /7): `arg` = bytes | 16 pop. An
 * unmasked exception stores nothing and does not pop.
 */
export function fstMem(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  const size = i.op & 15;
  const f = cpu.fpu;
  cpu.probeWrite(lin, size);
  x87Pointers(cpu, i);
  setC1(f, false);
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    storeValue(cpu, lin, size, EXT_INDEFINITE);
  } else if (size === 10) {
    const b = new Uint8Array(10);
    extWrite(b, 0, getST(f, 0));
    write80(cpu, lin, b);
  } else if (!storeValue(cpu, lin, size, getST(f, 0))) return;
  if ((i.op & 16) !== 0) pop(f);
}

function storeValue(cpu: Cpu, lin: number, size: number, x: Ext): boolean {
  const f = cpu.fpu;
  if (size === 10) {
    const b = new Uint8Array(10);
    extWrite(b, 0, x);
    write80(cpu, lin, b);
    return true;
  }
  const r = extToBits(x, size === 4 ? M32 : M64, rounding(f), f.fcw & 0x3f);
  if (!raise(f, r.flags)) return false;
  // An unmasked overflow or underflow stores nothing (SDM Vol. 1 §8.5.4-5).
  if ((r.flags & ~f.fcw & 0x18) !== 0) return false;
  writeBig(cpu, lin, size, r.bits);
  setC1(f, r.up && (r.flags & 0x20) !== 0);
  return true;
}

/** FST/FSTP ST(i) (dd d0+i, dd d8+i, and the aliases of x87_table.ts): `arg` 16 pops, 32 FSTP1. */
export function fstReg(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const k = i.rm & 7;
  setC1(f, false);
  if (isEmpty(f, 0)) {
    // FSTP1 (d9 d8+i, `arg` 32): an empty ST(0) is popped without a stack fault and ST(i) kept.
    if ((i.op & 32) !== 0) return pop(f);
    if (!underflow(f)) return;
    setST(f, k, EXT_INDEFINITE);
  } else setST(f, k, getST(f, 0));
  if (i.op & 16) pop(f);
}

/**
 * FIST/FISTP m16/m32/m64int and FISTTP (df /1-3, db /1-3, dd /1, df /7): `arg` = bytes | 16 pop |
 * 32 truncate. Out of range or NaN: #IA, the integer indefinite when masked.
 */
export function fist(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  const size = i.op & 15;
  cpu.probeWrite(lin, size);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    writeBig(cpu, lin, size, -(1n << BigInt(8 * size - 1)));
  } else {
    const r = extToInt(getST(f, 0), 8 * size, (i.op & 32) !== 0 ? RC_ZERO : rounding(f));
    if (!raise(f, r.flags)) return;
    writeBig(cpu, lin, size, r.v);
    setC1(f, r.up && (r.flags & 0x20) !== 0);
  }
  if (i.op & 16) pop(f);
}

/** FBSTP m80bcd (df /6). */
export function fbstp(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  cpu.probeWrite(lin, 10);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  let v: bigint;
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    v = 0xffffc000000000000000n;
  } else {
    const r = extToBcd(getST(f, 0), rounding(f));
    if (!raise(f, r.flags)) return;
    v = r.v;
    setC1(f, r.up && (r.flags & 0x20) !== 0);
  }
  const b = new Uint8Array(10);
  for (let k = 0; k < 10; k++) b[k] = Number((v >> BigInt(8 * k)) & 0xffn);
  write80(cpu, lin, b);
  pop(f);
}

/**
 * The constants (d9 e8-ee): +1.0, log2(10), log2(e), pi, log10(2), ln(2), +0.0. The processor holds
 * them to 66 bits and rounds them to 64 under the rounding control (SDM Vol. 1 §8.3.8); here
 * they are 128-bit values (significand, exponent of the last bit), rounded the same way.
 */
const CONSTANTS: [bigint, number][] = [
  [1n, 0],
  [0xd49a784bcd1b8afe492bf6ff4dafdb4dn, -126], // log2(10)
  [0xb8aa3b295c17f0bbbe87fed0691d3e89n, -127], // log2(e)
  [0xc90fdaa22168c234c4c6628b80dc1cd1n, -126], // pi
  [0x9a209a84fbcff7988f8959ac0b7c9178n, -129], // log10(2)
  [0xb17217f7d1cf79abc9e3b39803f2f6afn, -128], // ln(2)
];

/** The constant `n` (0 +1.0 .. 5 ln 2) as an extended value under rounding control `rc`. */
export function x87Constant(n: number, rc: number): Ext {
  const [m, e] = CONSTANTS[n];
  return extRound(false, m, e, false, 64, rc, 0x3f).x;
}

/** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2 (`arg` 0-5) and FLDZ (`arg` 6). */
export function fldConst(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  push(f, i.op === 6 ? EXT_ZERO : i.op === 0 ? EXT_ONE : x87Constant(i.op, rounding(f)));
}

// ------------------------------------------------------------------ register operations

/** FXCH ST(i) (d9 c8+i). An empty register takes the real indefinite (masked #IS). */
export function fxch(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const k = i.rm & 7;
  setC1(f, false);
  let a = getST(f, 0), b = getST(f, k);
  if (isEmpty(f, 0) || isEmpty(f, k)) {
    if (!underflow(f)) return;
    if (isEmpty(f, 0)) a = EXT_INDEFINITE;
    if (isEmpty(f, k)) b = EXT_INDEFINITE;
  }
  setST(f, 0, b);
  setST(f, k, a);
}

/** FCHS (d9 e0, `arg` 0) and FABS (d9 e1, `arg` 1): the sign alone, no exception but #IS. */
export function fsign(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (isEmpty(f, 0)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const x = getST(f, 0);
  setST(f, 0, { neg: i.op === 0 ? !x.neg : false, exp: x.exp, sig: x.sig });
}

/** FCMOVcc ST(0), ST(i) (da/db c0-df): `arg` = condition (0 B, 1 E, 2 BE, 3 U) | 4 negated. */
export function fcmov(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  const k = i.rm & 7;
  if (isEmpty(f, 0) || isEmpty(f, k)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const cc = [2, 4, 6, 10][i.op & 3]; // B, E, BE, P in Jcc numbering
  if (cpu.fl.cond(cc) !== ((i.op & 4) !== 0)) setST(f, 0, getST(f, k));
}

/** FSQRT (d9 fa). */
export function fsqrt(cpu: Cpu, i: Insn): void {
  unary(cpu, i, (f, x) => extSqrt(x, precision(f), rounding(f), f.fcw & 0x3f));
}

/** FRNDINT (d9 fc). */
export function frndint(cpu: Cpu, i: Insn): void {
  unary(cpu, i, (f, x) => extRoundInt(x, rounding(f)));
}

/** Runs a one-operand operation ST(0) = op(ST(0)). */
export function unary(cpu: Cpu, i: Insn, op: (f: Cpu["fpu"], x: Ext) => ExtResult): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  if (isEmpty(f, 0)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  deliver(cpu, 0, op(f, getST(f, 0)));
}

/** FSCALE (d9 fd): ST(0) * 2^trunc(ST(1)) (SDM Vol. 2 FSCALE). */
export function fscale(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  deliver(cpu, 0, scale(getST(f, 0), getST(f, 1), rounding(f), f.fcw & 0x3f));
}

/** The value of FSCALE. */
export function scale(a: Ext, b: Ext, rc: number, masks: number): ExtResult {
  const nan = extNaNResult(a, b);
  if (nan !== null) return nan;
  const ka = extClass(a), kb = extClass(b);
  const de = (ka === K_DENORMAL || kb === K_DENORMAL) ? MX_DE : 0;
  if (kb === K_INF) {
    // x * 2^+inf = inf (but 0 * 2^inf is invalid); x * 2^-inf = 0 (but inf * 2^-inf is invalid).
    if (!b.neg) {
      if (ka === K_ZERO) return { x: EXT_INDEFINITE, flags: MX_IE, up: false };
      return { x: { neg: a.neg, exp: ka === K_ZERO ? 0 : 0x7fff, sig: 1n << 63n }, flags: de, up: false };
    }
    if (ka === K_INF) return { x: EXT_INDEFINITE, flags: MX_IE, up: false };
    return { x: { neg: a.neg, exp: 0, sig: 0n }, flags: de, up: false };
  }
  if (ka === K_ZERO || ka === K_INF) return { x: a, flags: de, up: false };
  // trunc(ST(1)), clamped: anything beyond +-2^17 over- or underflows every value alike.
  const t = extToIntClamped(b);
  const { m, e } = extExact(a);
  const r = extRound(a.neg, m, e + t, false, 64, rc, masks);
  r.flags |= de;
  return r;
}

function extToIntClamped(b: Ext): number {
  if (extClass(b) === K_ZERO) return 0;
  const { m, e } = extExact(b);
  let v: number;
  if (e >= 20) v = 1 << 20;
  else {
    const q = e >= 0 ? m << BigInt(e) : m >> BigInt(-e);
    v = q > 1n << 20n ? 1 << 20 : Number(q);
  }
  return b.neg ? -v : v;
}

/** FXTRACT (d9 f4): ST(0) = exponent, then push the significand (SDM Vol. 2 FXTRACT). */
export function fxtract(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setC1(f, false);
  if (isEmpty(f, 0)) {
    if (!underflow(f)) return;
    setST(f, 0, EXT_INDEFINITE);
    push(f, EXT_INDEFINITE);
    return;
  }
  if (!isEmpty(f, -1)) {
    // Stack overflow: both ST(0) and the new register get the indefinite when masked; C1 = 1 (SDM
    // Vol. 2 FXTRACT).
    setC1(f, true);
    if (!raise(f, MX_IE | SW_SF)) return;
    setST(f, 0, EXT_INDEFINITE);
    setTop(f, top(f) - 1);
    setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const x = getST(f, 0);
  const nan = extNaNResult(x, null);
  let expPart: Ext, sigPart: Ext, flags = 0;
  const k = extClass(x);
  if (nan !== null) {
    expPart = nan.x;
    sigPart = nan.x;
    flags = nan.flags;
  } else if (k === K_ZERO) {
    expPart = { neg: true, exp: 0x7fff, sig: 1n << 63n };
    sigPart = x;
    flags = MX_ZE;
  } else if (k === K_INF) {
    expPart = { neg: false, exp: 0x7fff, sig: 1n << 63n };
    sigPart = x;
  } else {
    const { m, e } = extExact(x);
    const L = m.toString(2).length;
    const E = e + L - 1;
    expPart = extFromInt(BigInt(E));
    sigPart = extPack(x.neg, m, 1 - L);
    if (k === K_DENORMAL) flags = MX_DE;
  }
  if (!raise(f, flags)) return;
  setST(f, 0, expPart);
  push(f, sigPart);
}

/**
 * FPREM (d9 f8, `arg` 0: the quotient truncated) and FPREM1 (d9 f5, `arg` 1: IEEE remainder, the
 * quotient rounded to nearest). When the exponents differ by 64 or more the reduction is partial
 * (C2 = 1): the processor reduces by a quotient of N bits with N between 32 and 63 (SDM Vol. 2
 * FPREM), here N = 63 - ((D - 63) mod 32) ... as QEMU and the host do; else C0, C3, C1 take the
 * quotient's low three bits.
 */
export function fprem(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  if (isEmpty(f, 0) || isEmpty(f, 1)) {
    f.fsw &= ~SW_C2;
    if (underflow(f)) setST(f, 0, EXT_INDEFINITE);
    return;
  }
  const a = getST(f, 0), b = getST(f, 1);
  const nan = extNaNResult(a, b);
  const ka = extClass(a), kb = extClass(b);
  const de = (ka === K_DENORMAL || kb === K_DENORMAL) ? MX_DE : 0;
  if (nan !== null || ka === K_INF || kb === K_ZERO) {
    const r = nan ?? { x: EXT_INDEFINITE, flags: MX_IE, up: false };
    f.fsw &= ~SW_C2;
    deliver(cpu, 0, r);
    return;
  }
  if (ka === K_ZERO || kb === K_INF) {
    // ST(0) unchanged (a pseudo-denormal comes out normalized, exponent 1). A denormal is a tiny
    // exact result: with #U unmasked it underflows, delivered with its exponent adjusted (SDM Vol. 1
    // §8.5.5; the host CPU does so). An unmasked #D (a denormal ST(1) too): C1 and C2 cleared,
    // nothing else changes, as below.
    f.fsw &= ~(SW_C1 | SW_C2);
    if (!raise(f, de)) return;
    f.fsw &= ~SW_CC;
    if (ka === K_DENORMAL && a.sig >> 63n === 0n) {
      const { m, e } = extExact(a);
      deliver(cpu, 0, extRound(a.neg, m, e, false, 64, RC_NEAREST, f.fcw & 0x3f));
      return;
    }
    const x = ka === K_DENORMAL ? { neg: a.neg, exp: 1, sig: a.sig } : a;
    deliver(cpu, 0, { x, flags: 0, up: false });
    return;
  }
  const xa = extExact(a), xb = extExact(b);
  const ea = xa.e + xa.m.toString(2).length - 1, eb = xb.e + xb.m.toString(2).length - 1;
  const d = ea - eb;
  // An unmasked #D: C1 and C2 cleared, nothing else changes (as the host CPU does).
  f.fsw &= ~(SW_C1 | SW_C2);
  if (!raise(f, de)) return;
  f.fsw &= ~SW_CC;
  if (d >= 64) {
    // Partial remainder: reduce by 2^(d - n) * b times the truncated quotient's top bits.
    const n = 32 + ((d - 64) % 32);
    const shift = d - n;
    const e = Math.min(xa.e, xb.e + shift);
    const va = xa.m << BigInt(xa.e - e), vb = xb.m << BigInt(xb.e + shift - e);
    const q = va / vb;
    const rem = va - q * vb;
    f.fsw |= SW_C2;
    deliver(
      cpu,
      0,
      rem === 0n ? { x: { neg: a.neg, exp: 0, sig: 0n }, flags: de, up: false } : {
        ...extRound(a.neg, rem, e, false, 64, RC_NEAREST, f.fcw & 0x3f),
        flags: de,
      },
    );
    return;
  }
  const e = Math.min(xa.e, xb.e);
  const va = xa.m << BigInt(xa.e - e), vb = xb.m << BigInt(xb.e - e);
  let q = va / vb;
  let rem = va - q * vb;
  let neg = a.neg;
  if (i.op === 1 && rem !== 0n) {
    const twice = 2n * rem;
    if (twice > vb || (twice === vb && (q & 1n) === 1n)) {
      q += 1n;
      rem = vb - rem;
      neg = !neg;
    }
  }
  if (q & 4n) f.fsw |= SW_C0;
  if (q & 2n) f.fsw |= SW_C3;
  if (q & 1n) f.fsw |= SW_C1;
  // The remainder is exact; a tiny one underflows (with #U unmasked: delivered with its exponent adjusted).
  const r = rem === 0n
    ? { x: { neg: a.neg, exp: 0, sig: 0n }, flags: 0, up: false }
    : extRound(neg, rem, e, false, 64, RC_NEAREST, f.fcw & 0x3f);
  if (!raise(f, de | r.flags)) return;
  setST(f, 0, r.x);
}

/** FINCSTP (d9 f7, `arg` 1) and FDECSTP (d9 f6, `arg` -1): TOP changes, tags do not; C1 = 0. */
export function fstp(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setTop(f, top(f) + (i.op === 1 ? 1 : -1));
  setC1(f, false);
}

/** FFREE ST(i) (dd c0+i): tags ST(i) empty; `arg` 16: then pops (FFREEP, df c0+i). */
export function ffree(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
  const f = cpu.fpu;
  setTag(f, phys(f, i.rm & 7), TAG_EMPTY);
  setC1(f, false);
  if ((i.op & 16) !== 0) pop(f);
}

/** FNOP (d9 d0). */
export function fnop(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  x87Pointers(cpu, i);
}

/** FWAIT/WAIT (9b): #NM when CR0.MP and CR0.TS are both set; #MF for a pending unmasked exception. */
export function fwait(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.fault(EXC_NM, false, 0);
  if ((cpu.fpu.fsw & SW_ES) !== 0 && (cpu.cr0 & CR0_NE) !== 0) cpu.fault(EXC_MF, false, 0);
}

// ------------------------------------------------------------------ control

/** FNSTSW AX (df e0) and FNSTSW m16 (dd /7). */
export function fnstsw(cpu: Cpu, i: Insn): void {
  x87Check(cpu, false);
  const f = cpu.fpu;
  if (i.mem) cpu.write(cpu.linear(i), 2, f.fsw, 0);
  else cpu.writeReg(2, 0, f.fsw, 0);
}

/** FNSTCW m16 (d9 /7). */
export function fnstcw(cpu: Cpu, i: Insn): void {
  x87Check(cpu, false);
  cpu.write(cpu.linear(i), 2, cpu.fpu.fcw, 0);
}

/** FLDCW m16 (d9 /5): a pending exception the new masks unmask sets ES (reported at the next waiting instruction). */
export function fldcw(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const v = cpu.read(cpu.linear(i), 2);
  const f = cpu.fpu;
  f.fcw = fcwValue(v);
  updateSummary(f);
}

/** A control word as FLDCW loads it: reserved bits 7 and 13-15 read 0, bit 6 reads 1. */
export function fcwValue(v: number): number {
  return (v & 0x1f3f) | 0x40;
}

/** FNCLEX (db e2): clears the exception flags, SF, ES and B. */
export function fnclex(cpu: Cpu, _i: Insn): void {
  x87Check(cpu, false);
  cpu.fpu.fsw &= ~(0x3f | SW_SF | SW_ES | SW_B);
}

/** FNINIT (db e3). */
export function fninit(cpu: Cpu, _i: Insn): void {
  x87Check(cpu, false);
  cpu.fpu.fninit();
}

/** The full tag word as FNSTENV and FNSAVE store it: each non-empty register's tag from its contents. */
function fullTags(f: Cpu["fpu"]): number {
  let t = 0;
  for (let p = 0; p < 8; p++) t |= (tag(f, p) === TAG_EMPTY ? 3 : f.tagOf(p)) << (2 * p);
  return t;
}

/**
 * Writes the x87 environment (SDM Vol. 1 §8.1.10, Figures 8-9 and 8-10): 28 bytes in the 32-bit
 * layout (64-bit mode's default operand size), 14 in the 16-bit one with a 66 prefix. Reserved
 * halves are stored as ones, as Intel processors do.
 */
function storeEnv(cpu: Cpu, i: Insn, lin: number): number {
  const f = cpu.fpu;
  if (i.size === 2) {
    const w = [f.fcw, f.fsw, fullTags(f), f.fip & 0xffff, 0, f.fdp & 0xffff, 0];
    cpu.probeWrite(lin, 14);
    for (let k = 0; k < 7; k++) cpu.write(lin + 2 * k, 2, w[k], 0);
    return 14;
  }
  const d = [
    0xffff0000 | f.fcw,
    0xffff0000 | f.fsw,
    0xffff0000 | fullTags(f),
    f.fip >>> 0,
    ((f.fop & 0x7ff) << 16) >>> 0,
    f.fdp >>> 0,
    0xffff0000,
  ];
  cpu.probeWrite(lin, 28);
  for (let k = 0; k < 7; k++) cpu.write(lin + 4 * k, 4, d[k] >>> 0, 0);
  return 28;
}

/** Loads an environment written by {@linkcode storeEnv}; returns its size. */
function loadEnv(cpu: Cpu, i: Insn, lin: number): number {
  const f = cpu.fpu;
  let fcw: number, fsw: number, ftw: number, fip: number, fop: number, fdp: number;
  if (i.size === 2) {
    fcw = cpu.read(lin, 2);
    fsw = cpu.read(lin + 2, 2);
    ftw = cpu.read(lin + 4, 2);
    fip = cpu.read(lin + 6, 2);
    fop = cpu.read(lin + 8, 2) & 0x7ff;
    fdp = cpu.read(lin + 10, 2);
  } else {
    fcw = cpu.read(lin, 2);
    fsw = cpu.read(lin + 4, 2);
    ftw = cpu.read(lin + 8, 2);
    fip = cpu.read(lin + 12, 4);
    fop = (cpu.read(lin + 16, 4) >>> 16) & 0x7ff;
    fdp = cpu.read(lin + 20, 4);
  }
  f.fcw = fcwValue(fcw);
  f.fsw = fsw;
  f.fip = fip;
  f.fop = fop;
  f.fdp = fdp;
  // Empty stays empty; any other tag is recomputed from the register's contents.
  let t = 0;
  for (let p = 0; p < 8; p++) t |= (((ftw >>> (2 * p)) & 3) === 3 ? 3 : f.tagOf(p)) << (2 * p);
  f.ftw = t;
  updateSummary(f);
  return i.size === 2 ? 14 : 28;
}

/** FNSTENV m (d9 /6): stores the environment, then masks every exception. */
export function fnstenv(cpu: Cpu, i: Insn): void {
  x87Check(cpu, false);
  storeEnv(cpu, i, cpu.linear(i));
  cpu.fpu.fcw |= 0x3f;
  updateSummary(cpu.fpu);
}

/** FLDENV m (d9 /4). */
export function fldenv(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  cpu.read(lin + (i.size === 2 ? 13 : 27), 1);
  loadEnv(cpu, i, lin);
}

/** FNSAVE m (dd /6): the environment and ST(0)-ST(7) (80 bytes), then FNINIT. */
export function fnsave(cpu: Cpu, i: Insn): void {
  x87Check(cpu, false);
  const lin = cpu.linear(i);
  cpu.probeWrite(lin, i.size === 2 ? 94 : 108);
  const n = storeEnv(cpu, i, lin);
  const f = cpu.fpu;
  for (let k = 0; k < 8; k++) {
    const p = phys(f, k);
    write80(cpu, lin + n + 10 * k, f.st.subarray(10 * p, 10 * p + 10));
  }
  f.fninit();
}

/** FRSTOR m (dd /4). */
export function frstor(cpu: Cpu, i: Insn): void {
  x87Check(cpu, true);
  const lin = cpu.linear(i);
  const n = i.size === 2 ? 14 : 28;
  const regs: Uint8Array[] = [];
  for (let k = 0; k < 8; k++) regs.push(read80(cpu, lin + n + 10 * k));
  const f = cpu.fpu;
  // The registers first (in stack order of the new TOP), then the environment, whose tags depend on them.
  const fsw = cpu.read(lin + (i.size === 2 ? 2 : 4), 2);
  const t = (fsw >>> 11) & 7;
  for (let k = 0; k < 8; k++) f.st.set(regs[k], 10 * ((t + k) & 7));
  loadEnv(cpu, i, lin);
}

/**
 * The WebAssembly code generator's SSE/SSE2 forms (see codegen.ts for the region they live in):
 * the forms the JavaScript block compiler compiles (compiler_sse.ts) and a few more that wasm's
 * fixed-width SIMD computes exactly: the 128-, 64- and 32-bit moves, the logic operations, PADD/PSUB
 * B/W/D/Q and their saturating forms, PCMPEQ/PCMPGT B/W/D, PMOVMSKB, MOVMSKPS/PD, PEXTRW/PINSRW,
 * PSHUFD/PSHUFHW/PSHUFLW, SHUFPS/SHUFPD, the unpacks, the shifts by an immediate (PSLLDQ/PSRLDQ
 * included), PMULLW/PMULHW/PMULHUW/PMULUDQ/PMADDWD, PMIN/PMAX UB/SW, PAVGB/PAVGW, the packs, and
 * floating point: ADD/SUB/MUL/DIV/SQRT, MIN/MAX and CMP in all four shapes, CVTSI2SD/SS, CVT(T)SD2SI
 * and CVT(T)SS2SI, CVTSD2SS, CVTSS2SD, COMISD/UCOMISD/COMISS/UCOMISS.
 *
 * Every form gives exactly its handler's result (ops/sse_move.ts, sse_int.ts, sse_fp.ts; so the
 * Intel SDM Vol. 2 for each instruction), and leaves through the region's slow path, with the state
 * exact at the instruction's start, wherever it would not:
 *
 * - The enabling checks (CR0.EM, CR0.TS, CR4.OSFXSR): the wrapper (runtime.ts) hands the code an
 *   SSE control word, -1 when an SSE instruction would fault, else MXCSR (neither can change while
 *   wasm code runs: only handlers change CR0, CR4 and MXCSR); every form checks it first, and the
 *   handler raises the fault.
 * - A memory operand is read or written inline only on a software-TLB hit that does not cross a
 *   page; an aligned form's misaligned operand goes to the handler (its #GP).
 * - Floating point takes the interpreter's own fast case (sse_fp.ts), as the JavaScript templates
 *   do: MXCSR with round to nearest and the precision flag already set and masked, operands normal
 *   or zero, and a result that raises no other flag (normal, or a zero that no underflow made). Then
 *   wasm's IEEE 754 binary64 and binary32 arithmetic (round to nearest, ties to even) is the SSE
 *   result and MXCSR does not change. The conversions to an integer are inline when exact, or
 *   inexact with PE already set and masked; those from an integer when exact. Anything else (NaNs,
 *   denormals, infinities, overflow, underflow, other rounding modes, the first inexact result,
 *   unmasked exceptions) goes to the handler, which takes the exact path.
 *
 * The registers the region's SSE forms name live in v128 locals from entry to exit, like the
 * general registers; the state area holds them between calls (unified_memory.ts, `FpuState`).
 *
 * @module
 */

import type { Block } from "../blocks.ts";
import type { Insn } from "../insn.ts";
import { MX_PE, MX_RC_SHIFT } from "../fpu_state.ts";
import { OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB } from "../softfloat.ts";
import { CR0_EM, CR0_TS, CR4_OSFXSR, SEG_FS, SEG_GS } from "../registers.ts";
import type { Cpu } from "../cpu.ts";
import * as sm from "../ops/sse_move.ts";
import * as si from "../ops/sse_int.ts";
import * as sf from "../ops/sse_fp.ts";
import { STATE_SSE, STATE_XMM } from "../unified_memory.ts";
import { type Code, F32, F64, I32, I64, Op, uleb, V128, type ValType } from "./encoder.ts";

/** What the SSE forms need from the region's emitter (codegen.ts). */
export interface SseHost {
  /** The function body being written. */
  readonly c: Code;
  /** Byte offset of the CPU state area in the memory. */
  readonly state: number;
  /** The i32 local holding a host address after {@link SseHost.tlb}. */
  readonly p: number;
  /** The i64 local of general register `r`. */
  gpr(r: number): number;
  /** The canonical linear address of `i`'s memory operand into a local (returned), else the slow path. */
  linear(i: Insn): number;
  /** The software TLB's hit path for `size` bytes at the address in local `lin`: host address in p, else the slow path. */
  tlb(lin: number, size: number, write: boolean): void;
  /** Leaves through the slow path unless the i32 on the stack is non-zero. */
  bailUnless(): void;
  /** Writes the i64 in local `v` to general register `r` at `size` bytes (as a 64-bit-mode write). */
  writeReg(size: number, r: number, v: number): void;
  /** Sets ZF, PF, CF to the i32 on the stack's bits and clears OF, SF, AF (COMISD and its kin). */
  putCompareFlags(): void;
}

// SIMD opcodes (WebAssembly 2.0, section 5.4.8: prefix 0xFD, then the opcode as a u32).
const V = {
  load: 0x00,
  load32Zero: 0x5c,
  load64Zero: 0x5d,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  i64x2Splat: 0x12,
  i8x16ExtractU: 0x16,
  i16x8ExtractU: 0x19,
  i16x8Replace: 0x1a,
  i32x4Extract: 0x1b,
  i32x4Replace: 0x1c,
  i64x2Extract: 0x1d,
  i64x2Replace: 0x1e,
  f32x4Extract: 0x1f,
  f32x4Replace: 0x20,
  f64x2Extract: 0x21,
  f64x2Replace: 0x22,
  i8x16Eq: 0x23,
  i8x16GtS: 0x27,
  i16x8Eq: 0x2d,
  i16x8GtS: 0x31,
  i32x4Eq: 0x37,
  i32x4GtS: 0x3b,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  f64x2Eq: 0x47,
  f64x2Ne: 0x48,
  f64x2Lt: 0x49,
  f64x2Gt: 0x4a,
  f64x2Le: 0x4b,
  f64x2Ge: 0x4c,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  anyTrue: 0x53,
  i8x16Bitmask: 0x64,
  i8x16NarrowS: 0x65,
  i8x16NarrowU: 0x66,
  i8x16Add: 0x6e,
  i8x16AddSatS: 0x6f,
  i8x16AddSatU: 0x70,
  i8x16Sub: 0x71,
  i8x16SubSatS: 0x72,
  i8x16SubSatU: 0x73,
  i8x16MinU: 0x77,
  i8x16MaxU: 0x79,
  i8x16AvgrU: 0x7b,
  i16x8NarrowS: 0x85,
  i16x8NarrowU: 0x86,
  i16x8Shl: 0x8b,
  i16x8ShrS: 0x8c,
  i16x8ShrU: 0x8d,
  i16x8Add: 0x8e,
  i16x8AddSatS: 0x8f,
  i16x8AddSatU: 0x90,
  i16x8Sub: 0x91,
  i16x8SubSatS: 0x92,
  i16x8SubSatU: 0x93,
  i16x8Mul: 0x95,
  i16x8MinS: 0x96,
  i16x8MaxS: 0x98,
  i16x8AvgrU: 0x9b,
  i32x4AllTrue: 0xa3,
  i32x4Bitmask: 0xa4,
  i32x4Shl: 0xab,
  i32x4ShrS: 0xac,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4DotI16x8S: 0xba,
  i32x4ExtmulLowI16x8S: 0xbc,
  i32x4ExtmulHighI16x8S: 0xbd,
  i32x4ExtmulLowI16x8U: 0xbe,
  i32x4ExtmulHighI16x8U: 0xbf,
  i64x2AllTrue: 0xc3,
  i64x2Bitmask: 0xc4,
  i64x2Shl: 0xcb,
  i64x2ShrU: 0xcd,
  i64x2Add: 0xce,
  i64x2Sub: 0xd1,
  i64x2Mul: 0xd5,
  f32x4Abs: 0xe0,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f64x2Abs: 0xec,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
} as const;

// Scalar floating-point opcodes (section 5.4.7).
const F = {
  f32Load: 0x2a,
  f64Load: 0x2b,
  f32Const: 0x43,
  f64Const: 0x44,
  f32Eq: 0x5b,
  f32Ne: 0x5c,
  f32Lt: 0x5d,
  f32Gt: 0x5e,
  f32Le: 0x5f,
  f32Ge: 0x60,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  f32Abs: 0x8b,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f64Abs: 0x99,
  f64Trunc: 0x9d,
  f64Nearest: 0x9e,
  f64Sqrt: 0x9f,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  i32Store: 0x36,
  i64Store: 0x37,
  i64Store32: 0x3e,
  i32Load16U: 0x2f,
  i64Load32S: 0x34,
  i64TruncF64S: 0xb0,
  i32ReinterpretF32: 0xbc,
  i64ReinterpretF64: 0xbd,
  f32ConvertI64S: 0xb4,
  f32DemoteF64: 0xb6,
  f64ConvertI32S: 0xb7,
  f64ConvertI64S: 0xb9,
  f64PromoteF32: 0xbb,
} as const;

/** MXCSR bits the floating-point fast case looks at (RC, PE, PM) and the values it needs (sse_fp.ts). */
const FAST_BITS = (3 << MX_RC_SHIFT) | MX_PE | (MX_PE << 7);
const FAST_OK = MX_PE | (MX_PE << 7);
const MIN_NORMAL_D = 2.2250738585072014e-308;
const MIN_NORMAL_S = 1.1754943508222875e-38;

/** The packed-integer operations of `pmisc` compiled here (the others, PSADBW, go to the handler). */
const PMISC = new Set([
  si.PM_MULLW,
  si.PM_MULHW,
  si.PM_MULHUW,
  si.PM_MULUDQ,
  si.PM_MADDWD,
  si.PM_AVGB,
  si.PM_AVGW,
  si.PM_MINUB,
  si.PM_MAXUB,
  si.PM_MINSW,
  si.PM_MAXSW,
  si.PM_PACKSSWB,
  si.PM_PACKUSWB,
  si.PM_PACKSSDW,
]);

const HANDLERS = new Set<unknown>([
  sm.movXE,
  sm.movEX,
  sm.movssXE,
  sm.movsdXE,
  sm.movssEX,
  sm.movsdEX,
  sm.movdXE,
  sm.movdEX,
  sm.logic,
  si.paddsub,
  si.paddsat,
  si.pcmp,
  sm.pmovmskb,
  sm.movmsk,
  sm.pextrw,
  sm.pinsrw,
  sm.shufps,
  sm.shufpd,
  sm.pshuf,
  sm.unpack,
  si.pshiftImm,
  si.pshiftBytes,
  si.pmisc,
  sf.fpArith,
  sf.fpMinMax,
  sf.cvtFromSi,
  sf.cvtToSi,
  sf.cvtPacked,
  sf.fpComi,
  sf.fpCmp,
]);

/**
 * The SSE control word compiled code reads (`STATE_SSE`): -1 when an SSE instruction would raise
 * #UD or #NM (CR0.EM, CR0.TS set or CR4.OSFXSR clear; SDM Vol. 3 §13.1, Table 13-1), else MXCSR.
 */
export function sseControl(c: Cpu): number {
  return (c.cr0 & (CR0_EM | CR0_TS)) !== 0 || (c.cr4 & CR4_OSFXSR) === 0 ? -1 : c.fpu.mxcsr;
}

/** Whether the generator compiles SSE instruction `i` (see the module documentation). */
export function sseSupports(i: Insn): boolean {
  const h = i.h;
  if (!HANDLERS.has(h)) return false;
  if (i.mem && (i.asize !== 8 || i.seg === SEG_FS || i.seg === SEG_GS)) return false;
  if (h === si.pmisc) return PMISC.has(i.op);
  if (h === si.pshiftImm) return (i.op & 15) !== 8 || (i.op >> 4) !== si.SH_RA;
  if (h === sf.cvtPacked) return i.op === sf.CVT_SS2SD || i.op === sf.CVT_SD2SS;
  if (h === sm.pmovmskb || h === sm.movmsk || h === sm.pextrw) return !i.mem;
  return true;
}

/** The XMM registers SSE instruction `i` names (a general register of MOVD or a conversion at most adds an unused one). */
function xmmOf(i: Insn, out: Set<number>): void {
  if (i.reg >= 0 && i.reg < 16) out.add(i.reg);
  if (!i.mem && i.rm >= 0 && i.rm < 16) out.add(i.rm);
}

/** Emits the SSE forms of one region's function. */
export class SseEmitter {
  private readonly c: Code;
  private readonly xmm = new Map<number, number>(); // XMM register -> its v128 local
  private readonly ctl: number; // i32: the SSE control word
  private readonly va: number; // v128 scratch
  private readonly vb: number;
  private readonly vr: number;
  private readonly vm: number;
  private readonly fa: number; // f64 scratch
  private readonly fb: number;
  private readonly fr: number;
  private readonly fm: number;
  private readonly sa: number; // f32 scratch
  private readonly sb: number;
  private readonly sr: number;
  private readonly sm: number;
  private readonly t: number; // i64 scratch
  private readonly p32: number; // i32 scratch

  /** Locals for the SSE forms of `blocks` (none when they have no SSE form). */
  constructor(private readonly host: SseHost, blocks: readonly Block[]) {
    const c = this.c = host.c;
    const names = new Set<number>();
    for (const b of blocks) for (const i of b.insns) if (sseSupports(i)) xmmOf(i, names);
    for (const r of [...names].sort((a, b) => a - b)) this.xmm.set(r, c.local(V128));
    // No SSE form: no locals (each is zeroed at every call).
    const local = (t: ValType) => names.size > 0 ? c.local(t) : -1;
    this.ctl = local(I32);
    this.va = local(V128);
    this.vb = local(V128);
    this.vr = local(V128);
    this.vm = local(V128);
    this.fa = local(F64);
    this.fb = local(F64);
    this.fr = local(F64);
    this.fm = local(F64);
    this.sa = local(F32);
    this.sb = local(F32);
    this.sr = local(F32);
    this.sm = local(F32);
    this.t = local(I64);
    this.p32 = local(I32);
  }

  /** Whether the region has SSE forms. */
  get used(): boolean {
    return this.xmm.size > 0;
  }

  /** The function's entry: the control word and the named XMM registers from the state area. */
  enter(): void {
    if (!this.used) return;
    const c = this.c, S = this.host.state;
    c.i32(0).mem(Op.i32Load, 2, S + STATE_SSE).set(this.ctl);
    for (const [r, l] of this.xmm) {
      c.i32(0);
      this.simdMem(V.load, 4, S + STATE_XMM + 16 * r);
      c.set(l);
    }
  }

  /** The function's exit: the named XMM registers back to the state area. */
  leave(): void {
    const c = this.c, S = this.host.state;
    for (const [r, l] of this.xmm) {
      c.i32(0).get(l);
      this.simdMem(V.store, 4, S + STATE_XMM + 16 * r);
    }
  }

  private simd(op: number, ...imm: number[]): this {
    this.c.op(0xfd);
    uleb(this.c.bytes, op);
    this.c.op(...imm);
    return this;
  }

  /** SIMD instructions without immediates, in order. */
  private vop(...ops: number[]): void {
    for (const op of ops) this.simd(op);
  }

  private simdMem(op: number, align: number, offset: number): void {
    this.simd(op, align);
    uleb(this.c.bytes, offset);
  }

  /** `v128.const` of 16 bytes. */
  private v128(bytes: number[]): void {
    this.simd(V.const, ...bytes);
  }

  /** `f64.const v` (`double`) or `f32.const v`. */
  private fconst(v: number, double: boolean): void {
    const b = new Uint8Array(double ? new Float64Array([v]).buffer : new Float32Array([v]).buffer);
    this.c.op(double ? F.f64Const : F.f32Const, ...b);
  }

  /** The v128 local of XMM register `r`. */
  private x(r: number): number {
    return this.xmm.get(r)!;
  }

  /** Pushes a v128 whose low qword is the i64 `push` leaves on the stack, its high qword zero. */
  private lowOnly(push: () => void): void {
    this.v128(new Array(16).fill(0));
    push();
    this.simd(V.i64x2Replace, 0);
  }

  /** The host address of `size` bytes of `i`'s memory operand in p (`aligned`: 16-byte aligned or the handler). */
  private address(i: Insn, size: number, write: boolean, aligned = false): void {
    const c = this.c, lin = this.host.linear(i);
    if (aligned) {
      c.get(lin).op(Op.i32WrapI64).i32(15).op(Op.i32And, Op.i32Eqz);
      this.host.bailUnless();
    }
    this.host.tlb(lin, size, write);
  }

  /** Pushes the 128-bit source of `i` (a register, or memory that must be 16-byte aligned). */
  private src128(i: Insn, aligned = true): void {
    if (!i.mem) {
      this.c.get(this.x(i.rm));
      return;
    }
    this.address(i, 16, false, aligned);
    this.c.get(this.host.p);
    this.simdMem(V.load, 0, 0);
  }

  /** Computes XMM `i.reg` = f(destination, source) for a 128-bit source (`body` pushes the result from va, vb). */
  private binary(i: Insn, body: () => void): void {
    const c = this.c;
    this.src128(i);
    c.set(this.vb);
    c.get(this.x(i.reg)).set(this.va);
    body();
    c.set(this.x(i.reg));
  }

  /** Pushes va and vb, then `op`. */
  private ab(op: number): void {
    this.c.get(this.va).get(this.vb);
    this.simd(op);
  }

  /** Pushes the shuffle of va (lanes 0-15) and vb (16-31) by byte `lanes`. */
  private shuffle(lanes: number[]): void {
    this.c.get(this.va).get(this.vb);
    this.simd(V.shuffle, ...lanes);
  }

  /** Emits SSE instruction `i` (one {@link sseSupports} accepts). */
  emit(i: Insn): void {
    const c = this.c, h = i.h;
    // The enabling checks: the control word is -1 when the instruction would fault.
    c.get(this.ctl).i32(-1).op(Op.i32Ne);
    this.host.bailUnless();
    if (h === sm.movXE || h === sm.movEX) this.move128(i);
    else if (h === sm.movssXE || h === sm.movsdXE || h === sm.movssEX || h === sm.movsdEX) this.moveScalar(i);
    else if (h === sm.movdXE || h === sm.movdEX) this.moveGpr(i);
    else if (h === sm.logic) {
      const op = [V.and, V.andnot, V.or, V.xor][i.op];
      // PANDN: ~destination & source, wasm's andnot(source, destination).
      this.binary(i, () => {
        if (i.op === 1) c.get(this.vb).get(this.va);
        else c.get(this.va).get(this.vb);
        this.simd(op);
      });
    } else if (h === si.paddsub) {
      const size = i.op & 15, sub = (i.op & 16) !== 0;
      const add = { 1: V.i8x16Add, 2: V.i16x8Add, 4: V.i32x4Add, 8: V.i64x2Add }[size]!;
      const minus = { 1: V.i8x16Sub, 2: V.i16x8Sub, 4: V.i32x4Sub, 8: V.i64x2Sub }[size]!;
      this.binary(i, () => this.ab(sub ? minus : add));
    } else if (h === si.pcmp) {
      const size = i.op & 15, gt = (i.op & 16) !== 0;
      const eq = { 1: V.i8x16Eq, 2: V.i16x8Eq, 4: V.i32x4Eq }[size]!;
      const greater = { 1: V.i8x16GtS, 2: V.i16x8GtS, 4: V.i32x4GtS }[size]!;
      this.binary(i, () => this.ab(gt ? greater : eq));
    } else if (h === si.paddsat) {
      const size = i.op & 15, sub = (i.op & 16) !== 0, unsigned = (i.op & 32) !== 0;
      const ops = size === 1
        ? [V.i8x16AddSatS, V.i8x16AddSatU, V.i8x16SubSatS, V.i8x16SubSatU]
        : [V.i16x8AddSatS, V.i16x8AddSatU, V.i16x8SubSatS, V.i16x8SubSatU];
      this.binary(i, () => this.ab(ops[(sub ? 2 : 0) + (unsigned ? 1 : 0)]));
    } else if (h === sm.movmsk || h === sm.pextrw) {
      // MOVMSKPS (op 4) / MOVMSKPD: the lanes' sign bits; PEXTRW: word imm & 7, zero-extended.
      c.get(this.x(i.rm));
      if (h === sm.pextrw) this.simd(V.i16x8ExtractU, i.imm & 7);
      else this.simd(i.op === 4 ? V.i32x4Bitmask : V.i64x2Bitmask);
      c.op(Op.i64ExtendI32U).set(this.t);
      this.host.writeReg(8, i.reg, this.t);
    } else if (h === sm.pinsrw) {
      c.get(this.x(i.reg));
      if (i.mem) {
        this.address(i, 2, false);
        c.get(this.host.p).mem(F.i32Load16U, 0, 0);
      } else c.get(this.host.gpr(i.rm)).op(Op.i32WrapI64);
      this.simd(V.i16x8Replace, i.imm & 7);
      c.set(this.x(i.reg));
    } else if (h === sm.shufps || h === sm.shufpd) {
      // Result lanes from the destination (va, bytes 0-15), then from the source (vb, 16-31).
      const m = i.imm, lanes: number[] = [];
      const dword = (from: number, k: number) => [0, 1, 2, 3].forEach((b) => lanes.push(from + 4 * k + b));
      if (h === sm.shufps) {
        dword(0, m & 3);
        dword(0, (m >> 2) & 3);
        dword(16, (m >> 4) & 3);
        dword(16, (m >> 6) & 3);
      } else {
        dword(0, 2 * (m & 1));
        dword(0, 2 * (m & 1) + 1);
        dword(16, 2 * ((m >> 1) & 1));
        dword(16, 2 * ((m >> 1) & 1) + 1);
      }
      this.binary(i, () => this.shuffle(lanes));
    } else if (h === sm.pmovmskb) {
      c.get(this.x(i.rm));
      this.simd(V.i8x16Bitmask);
      c.op(Op.i64ExtendI32U).set(this.t);
      this.host.writeReg(8, i.reg, this.t);
    } else if (h === sm.pshuf) this.pshuf(i);
    else if (h === sm.unpack) {
      const size = i.op & 15, from = (i.op & 16) !== 0 ? 8 : 0;
      const lanes: number[] = [];
      for (let e = 0; e < 8 / size; e++) {
        for (let k = 0; k < size; k++) lanes.push(from + e * size + k);
        for (let k = 0; k < size; k++) lanes.push(16 + from + e * size + k);
      }
      this.binary(i, () => this.shuffle(lanes));
    } else if (h === si.pshiftImm) this.shiftImm(i);
    else if (h === si.pshiftBytes) {
      // PSRLDQ (op 1) / PSLLDQ (op 0): bytes from the register or zeros (lane 16 of a zero vector).
      const n = i.imm > 16 ? 16 : i.imm;
      const lanes = [...Array(16).keys()].map((k) => {
        const from = i.op === 1 ? k + n : k - n;
        return from >= 0 && from < 16 ? from : 16;
      });
      c.get(this.x(i.rm)).set(this.va);
      this.v128(new Array(16).fill(0));
      c.set(this.vb);
      this.shuffle(lanes);
      c.set(this.x(i.rm));
    } else if (h === si.pmisc) this.pmisc(i);
    else if (h === sf.fpArith) this.arith(i);
    else if (h === sf.fpMinMax) this.minMax(i);
    else if (h === sf.cvtFromSi) this.fromInt(i);
    else if (h === sf.cvtToSi) this.toInt(i);
    else if (h === sf.cvtPacked) this.convert(i);
    else if (h === sf.fpComi) this.comi(i);
    else if (h === sf.fpCmp) this.compare(i);
    else throw new Error(`wasm codegen: no SSE template for ${h.name}`);
  }

  /** MOVAPS .. MOVDQU: loads, stores and register copies. */
  private move128(i: Insn): void {
    const c = this.c, aligned = i.op === 1;
    if (!i.mem) {
      if (i.h === sm.movXE) c.get(this.x(i.rm)).set(this.x(i.reg));
      else c.get(this.x(i.reg)).set(this.x(i.rm));
      return;
    }
    if (i.h === sm.movXE) {
      this.src128(i, aligned);
      c.set(this.x(i.reg));
      return;
    }
    this.address(i, 16, true, aligned);
    c.get(this.host.p).get(this.x(i.reg));
    this.simdMem(V.store, 0, 0);
  }

  /** MOVSS, MOVSD and the MOVQ forms between XMM registers and memory. */
  private moveScalar(i: Insn): void {
    const c = this.c, h = i.h, d = i.reg;
    const single = h === sm.movssXE || h === sm.movssEX;
    if (h === sm.movssXE || h === sm.movsdXE) {
      if (i.mem) {
        // A load zeroes the rest of the register.
        this.address(i, single ? 4 : 8, false);
        c.get(this.host.p);
        this.simdMem(single ? V.load32Zero : V.load64Zero, 0, 0);
        c.set(this.x(d));
      } else if (!single && i.op === 1) {
        this.lowOnly(() => (c.get(this.x(i.rm)), this.simd(V.i64x2Extract, 0)));
        c.set(this.x(d));
      } else this.replaceLow(d, i.rm, single);
      return;
    }
    if (i.mem) {
      this.address(i, single ? 4 : 8, true);
      c.get(this.host.p).get(this.x(d));
      if (single) this.simd(V.i32x4Extract, 0).c.mem(F.i32Store, 0, 0);
      else this.simd(V.i64x2Extract, 0).c.mem(F.i64Store, 0, 0);
    } else if (!single && i.op === 1) {
      this.lowOnly(() => (c.get(this.x(d)), this.simd(V.i64x2Extract, 0)));
      c.set(this.x(i.rm));
    } else this.replaceLow(i.rm, d, single);
  }

  /** XMM `to`'s low dword (`single`) or qword = XMM `from`'s, the rest kept. */
  private replaceLow(to: number, from: number, single: boolean): void {
    const c = this.c;
    c.get(this.x(to)).get(this.x(from));
    this.simd(single ? V.i32x4Extract : V.i64x2Extract, 0);
    this.simd(single ? V.i32x4Replace : V.i64x2Replace, 0);
    c.set(this.x(to));
  }

  /** MOVD/MOVQ between an XMM register and a general register or memory. */
  private moveGpr(i: Insn): void {
    const c = this.c, d = i.reg, size = i.size;
    if (i.h === sm.movdXE) {
      if (i.mem) {
        this.address(i, size, false);
        c.get(this.host.p);
        this.simdMem(size === 8 ? V.load64Zero : V.load32Zero, 0, 0);
      } else {
        this.lowOnly(() => {
          c.get(this.host.gpr(i.rm));
          if (size === 4) c.i64(0xffffffff).op(Op.i64And);
        });
      }
      c.set(this.x(d));
      return;
    }
    c.get(this.x(d));
    this.simd(V.i64x2Extract, 0);
    c.set(this.t);
    if (i.mem) {
      this.address(i, size, true);
      c.get(this.host.p).get(this.t).mem(size === 8 ? F.i64Store : F.i64Store32, 0, 0);
    } else this.host.writeReg(size, i.rm, this.t);
  }

  /** PSHUFD (op 0), PSHUFHW (op 1), PSHUFLW (op 2). */
  private pshuf(i: Insn): void {
    const c = this.c, m = i.imm;
    const lanes: number[] = [];
    if (i.op === 0) {
      for (let k = 0; k < 4; k++) for (let b = 0; b < 4; b++) lanes.push(4 * ((m >> (2 * k)) & 3) + b);
    } else {
      const base = i.op === 1 ? 4 : 0;
      const words: number[] = [];
      for (let k = 0; k < 8; k++) {
        const inPart = k >= base && k < base + 4;
        words.push(inPart ? base + ((m >> (2 * (k - base))) & 3) : k);
      }
      for (const w of words) lanes.push(2 * w, 2 * w + 1);
    }
    this.src128(i);
    c.set(this.va);
    c.get(this.va).get(this.va);
    this.simd(V.shuffle, ...lanes);
    c.set(this.x(i.reg));
  }

  /** PSLL/PSRL/PSRA W/D/Q by an immediate: counts past the element clear it (PSRA: fill with the sign). */
  private shiftImm(i: Insn): void {
    const c = this.c, kind = i.op >> 4, size = i.op & 15, n = i.imm & 0xff, r = i.rm;
    const bits = 8 * size;
    if (kind !== si.SH_RA && n >= bits) {
      this.v128(new Array(16).fill(0));
      c.set(this.x(r));
      return;
    }
    const ops: Record<number, number[]> = {
      2: [V.i16x8Shl, V.i16x8ShrU, V.i16x8ShrS],
      4: [V.i32x4Shl, V.i32x4ShrU, V.i32x4ShrS],
      8: [V.i64x2Shl, V.i64x2ShrU],
    };
    const op = ops[size][kind === si.SH_LL ? 0 : kind === si.SH_RL ? 1 : 2];
    c.get(this.x(r)).i32(Math.min(n, bits - 1));
    this.simd(op);
    c.set(this.x(r));
  }

  /** The `pmisc` forms of {@link PMISC}. */
  private pmisc(i: Insn): void {
    const c = this.c;
    const simple: Record<number, number> = {
      [si.PM_MULLW]: V.i16x8Mul,
      [si.PM_MADDWD]: V.i32x4DotI16x8S,
      [si.PM_AVGB]: V.i8x16AvgrU,
      [si.PM_AVGW]: V.i16x8AvgrU,
      [si.PM_MINUB]: V.i8x16MinU,
      [si.PM_MAXUB]: V.i8x16MaxU,
      [si.PM_MINSW]: V.i16x8MinS,
      [si.PM_MAXSW]: V.i16x8MaxS,
      [si.PM_PACKSSWB]: V.i8x16NarrowS,
      [si.PM_PACKUSWB]: V.i8x16NarrowU,
      [si.PM_PACKSSDW]: V.i16x8NarrowS,
    };
    const op = i.op;
    if (op in simple) {
      this.binary(i, () => this.ab(simple[op]));
      return;
    }
    if (op === si.PM_MULUDQ) {
      // The low dword of each qword, zero-extended, multiplied: the full 64-bit products.
      const low = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
      this.binary(i, () => {
        c.get(this.va);
        this.v128(low);
        this.simd(V.and);
        c.get(this.vb);
        this.v128(low);
        this.vop(V.and, V.i64x2Mul);
      });
      return;
    }
    // PMULHW / PMULHUW: the 32-bit products' high words, which narrow back without saturating.
    const signed = op === si.PM_MULHW;
    this.binary(i, () => {
      for (
        const half of [
          signed ? V.i32x4ExtmulLowI16x8S : V.i32x4ExtmulLowI16x8U,
          signed ? V.i32x4ExtmulHighI16x8S : V.i32x4ExtmulHighI16x8U,
        ]
      ) {
        this.ab(half);
        c.i32(16);
        this.simd(signed ? V.i32x4ShrS : V.i32x4ShrU);
      }
      this.simd(signed ? V.i16x8NarrowS : V.i16x8NarrowU);
    });
  }

  /** Pushes whether the float in local `v` (f64 when `double`, else f32) is zero, or normal and finite. */
  private usual(v: number, double: boolean): void {
    const c = this.c, m = double ? this.fm : this.sm;
    c.get(v).op(double ? F.f64Abs : F.f32Abs).set(m);
    c.get(m);
    this.fconst(0, double);
    c.op(double ? F.f64Eq : F.f32Eq);
    c.get(m);
    this.fconst(double ? MIN_NORMAL_D : MIN_NORMAL_S, double);
    c.op(double ? F.f64Ge : F.f32Ge);
    c.get(m);
    this.fconst(Infinity, double);
    c.op(double ? F.f64Lt : F.f32Lt, Op.i32And, Op.i32Or);
  }

  /** Pushes whether the float in local `v` is zero. */
  private isZero(v: number, double: boolean): void {
    this.c.get(v);
    this.fconst(0, double);
    this.c.op(double ? F.f64Eq : F.f32Eq);
  }

  /** Pushes whether the result in local `r` is normal and finite, or a zero (`zeroOk`, if given, must hold then). */
  private resultOk(r: number, double: boolean, zeroOk: (() => void) | null): void {
    const c = this.c, m = double ? this.fm : this.sm;
    c.get(r).op(double ? F.f64Abs : F.f32Abs).set(m);
    c.get(m);
    this.fconst(double ? MIN_NORMAL_D : MIN_NORMAL_S, double);
    c.op(double ? F.f64Gt : F.f32Gt);
    c.get(m);
    this.fconst(Infinity, double);
    c.op(double ? F.f64Lt : F.f32Lt, Op.i32And);
    this.isZero(m, double);
    if (zeroOk !== null) {
      zeroOk();
      c.op(Op.i32And);
    }
    c.op(Op.i32Or);
  }

  /** Pushes whether MXCSR allows the fast case (round to nearest, PE set and masked). */
  private fast(): void {
    this.c.get(this.ctl).i32(FAST_BITS).op(Op.i32And).i32(FAST_OK).op(Op.i32Eq);
  }

  /** A scalar floating-point source (lane 0 of a register, or memory) into local `to`. */
  private scalarSource(i: Insn, double: boolean, to: number): void {
    const c = this.c;
    if (!i.mem) {
      c.get(this.x(i.rm));
      this.simd(double ? V.f64x2Extract : V.f32x4Extract, 0);
    } else {
      this.address(i, double ? 8 : 4, false);
      c.get(this.host.p).mem(double ? F.f64Load : F.f32Load, 0, 0);
    }
    c.set(to);
  }

  /** Lane 0 of XMM `r` as a float into local `to`. */
  private lane0(r: number, double: boolean, to: number): void {
    this.c.get(this.x(r));
    this.simd(double ? V.f64x2Extract : V.f32x4Extract, 0);
    this.c.set(to);
  }

  /** XMM `r`'s lane 0 = the float in local `v`, the rest kept. */
  private putLane0(r: number, double: boolean, v: number): void {
    this.c.get(this.x(r)).get(v);
    this.simd(double ? V.f64x2Replace : V.f32x4Replace, 0);
    this.c.set(this.x(r));
  }

  /** ADD/SUB/MUL/DIV/SQRT SD, SS (and the packed forms) on the fast case, else the handler. */
  private arith(i: Insn): void {
    const c = this.c, op = i.op & 7, double = (i.op & sf.OPF_DOUBLE) !== 0;
    if ((i.op & sf.OPF_SCALAR) === 0) {
      this.packedArith(i, op, double);
      return;
    }
    const [a, b, r] = double ? [this.fa, this.fb, this.fr] : [this.sa, this.sb, this.sr];
    this.scalarSource(i, double, b);
    this.fast();
    this.usual(b, double);
    c.op(Op.i32And);
    if (op === OP_SQRT) {
      // A normal or zero operand with its sign clear (SQRT of -0 goes to the handler too).
      this.signClear(b, double);
      c.op(Op.i32And);
      this.host.bailUnless();
      c.get(b).op(double ? F.f64Sqrt : F.f32Sqrt).set(r);
      this.resultOk(r, double, null);
    } else {
      this.lane0(i.reg, double, a);
      this.usual(a, double);
      c.op(Op.i32And);
      if (op === OP_DIV) {
        this.isZero(b, double);
        c.op(Op.i32Eqz, Op.i32And);
      }
      this.host.bailUnless();
      c.get(a).get(b).op(
        double ? [F.f64Add, F.f64Sub, F.f64Mul, F.f64Div][op] : [F.f32Add, F.f32Sub, F.f32Mul, F.f32Div][op],
      ).set(r);
      // A zero sum is exact; a zero product or quotient only from a zero operand (else it underflowed).
      this.resultOk(
        r,
        double,
        op === OP_ADD || op === OP_SUB ? null : () => {
          this.isZero(a, double);
          this.isZero(b, double);
          c.op(Op.i32Or);
        },
      );
    }
    this.host.bailUnless();
    this.putLane0(i.reg, double, r);
  }

  /** Pushes whether the sign of the float in local `v` is clear. */
  private signClear(v: number, double: boolean): void {
    const c = this.c;
    if (double) c.get(v).op(F.i64ReinterpretF64).i64(0).op(Op.i64GeS);
    else c.get(v).op(F.i32ReinterpretF32).i32(0).op(Op.i32LtS, Op.i32Eqz);
  }

  /** Pushes a v128 of the floats in every lane of v128 local `v` compared with `x` by SIMD `cmp`. */
  private lanesCmp(v: number, cmp: number, x: number, double: boolean): void {
    this.c.get(v);
    this.v128(splatBytes(x, double));
    this.simd(cmp);
  }

  /** Pushes whether every lane of v128 local `v` is zero, or normal and finite. */
  private usualLanes(v: number, double: boolean): void {
    const c = this.c, m = this.vm;
    const [abs, eq, ge, lt] = double
      ? [V.f64x2Abs, V.f64x2Eq, V.f64x2Ge, V.f64x2Lt]
      : [V.f32x4Abs, V.f32x4Eq, V.f32x4Ge, V.f32x4Lt];
    c.get(v);
    this.simd(abs);
    c.set(m);
    this.lanesCmp(m, eq, 0, double);
    this.lanesCmp(m, ge, double ? MIN_NORMAL_D : MIN_NORMAL_S, double);
    this.lanesCmp(m, lt, Infinity, double);
    this.vop(V.and, V.or);
    this.allTrue(double);
  }

  /** Pushes whether every lane of the v128 mask on the stack is set. */
  private allTrue(double: boolean): void {
    this.simd(double ? V.i64x2AllTrue : V.i32x4AllTrue);
  }

  /** Packed ADD/SUB/MUL/DIV/SQRT PD and PS: every lane on the fast case (as the scalar forms), else the handler. */
  private packedArith(i: Insn, op: number, double: boolean): void {
    const c = this.c, a = this.va, b = this.vb, r = this.vr;
    const [eq, gt, lt] = double ? [V.f64x2Eq, V.f64x2Gt, V.f64x2Lt] : [V.f32x4Eq, V.f32x4Gt, V.f32x4Lt];
    this.src128(i);
    c.set(b);
    c.get(this.x(i.reg)).set(a);
    this.fast();
    this.usualLanes(b, double);
    c.op(Op.i32And);
    if (op === OP_SQRT) {
      // No lane's sign set.
      c.get(b);
      this.v128(splatBytes(-0, double));
      this.vop(V.and, V.anyTrue);
      c.op(Op.i32Eqz, Op.i32And);
      this.host.bailUnless();
      c.get(b);
      this.simd(double ? V.f64x2Sqrt : V.f32x4Sqrt);
      c.set(r);
    } else {
      this.usualLanes(a, double);
      c.op(Op.i32And);
      if (op === OP_DIV) {
        // No zero divisor (eq gives all ones for a zero lane).
        this.lanesCmp(b, eq, 0, double);
        this.simd(V.anyTrue);
        c.op(Op.i32Eqz, Op.i32And);
      }
      this.host.bailUnless();
      c.get(a).get(b);
      this.simd(
        double
          ? [V.f64x2Add, V.f64x2Sub, V.f64x2Mul, V.f64x2Div][op]
          : [V.f32x4Add, V.f32x4Sub, V.f32x4Mul, V.f32x4Div][op],
      );
      c.set(r);
    }
    // Each lane normal and finite, or a zero (of a product or quotient: from a zero operand).
    const m = this.vm;
    c.get(r);
    this.simd(double ? V.f64x2Abs : V.f32x4Abs);
    c.set(m);
    this.lanesCmp(m, gt, double ? MIN_NORMAL_D : MIN_NORMAL_S, double);
    this.lanesCmp(m, lt, Infinity, double);
    this.simd(V.and);
    this.lanesCmp(m, eq, 0, double);
    if (op === OP_MUL || op === OP_DIV) {
      this.lanesCmp(a, eq, 0, double);
      this.lanesCmp(b, eq, 0, double);
      this.vop(V.or, V.and);
    }
    this.simd(V.or);
    this.allTrue(double);
    this.host.bailUnless();
    c.get(r).set(this.x(i.reg));
  }

  /** MIN/MAX PD, PS, SD, SS: operands neither NaN nor denormal (else the handler); the second one when equal. */
  private minMax(i: Insn): void {
    const c = this.c, max = (i.op & 1) !== 0, double = (i.op & sf.OPF_DOUBLE) !== 0;
    if ((i.op & sf.OPF_SCALAR) !== 0) {
      const [a, b, r] = double ? [this.fa, this.fb, this.fr] : [this.sa, this.sb, this.sr];
      this.scalarSource(i, double, b);
      this.lane0(i.reg, double, a);
      this.usual(a, double);
      this.usual(b, double);
      c.op(Op.i32And);
      this.host.bailUnless();
      c.get(a).get(b).get(a).get(b);
      c.op(max ? (double ? F.f64Gt : F.f32Gt) : (double ? F.f64Lt : F.f32Lt), Op.select).set(r);
      this.putLane0(i.reg, double, r);
      return;
    }
    const a = this.va, b = this.vb;
    this.src128(i);
    c.set(b);
    c.get(this.x(i.reg)).set(a);
    this.usualLanes(a, double);
    this.usualLanes(b, double);
    c.op(Op.i32And);
    this.host.bailUnless();
    c.get(a).get(b).get(a).get(b);
    this.vop(max ? (double ? V.f64x2Gt : V.f32x4Gt) : (double ? V.f64x2Lt : V.f32x4Lt), V.bitselect);
    c.set(this.x(i.reg));
  }

  /** CVTSI2SD, CVTSI2SS from a 32- or 64-bit integer: inline when exact (no rounding, no flag), else the handler. */
  private fromInt(i: Insn): void {
    const c = this.c, double = (i.op & sf.OPF_DOUBLE) !== 0, t = this.t;
    if (i.mem) {
      this.address(i, i.size, false);
      c.get(this.host.p).mem(i.size === 8 ? Op.i64Load : F.i64Load32S, 0, 0);
    } else {
      c.get(this.host.gpr(i.rm));
      if (i.size === 4) c.op(Op.i64Extend32S);
    }
    c.set(t);
    if (!(double && i.size === 4)) {
      // |n| <= 2^53 (binary64) or 2^24 (binary32): representable exactly.
      const limit = double ? 2 ** 53 : 2 ** 24;
      c.get(t).i64(limit).op(Op.i64Add).i64(2 * limit).op(Op.i64LeU);
      this.host.bailUnless();
    }
    c.get(t).op(double ? F.f64ConvertI64S : F.f32ConvertI64S).set(double ? this.fr : this.sr);
    this.putLane0(i.reg, double, double ? this.fr : this.sr);
  }

  /**
   * CVT(T)SD2SI, CVT(T)SS2SI: a normal or zero source whose rounded value fits, rounded to nearest
   * (ties to even) or truncated; exact, or inexact with PE already set and masked (so MXCSR stays).
   */
  private toInt(i: Insn): void {
    const c = this.c, double = (i.op & sf.OPF_DOUBLE) !== 0, trunc = (i.op & 1) !== 0;
    const v = this.fa, r = this.fr;
    if (double) this.scalarSource(i, true, v);
    else {
      this.scalarSource(i, false, this.sb);
      c.get(this.sb).op(F.f64PromoteF32).set(v);
    }
    const m = this.fm;
    c.get(v).op(F.f64Abs).set(m);
    this.isZero(m, true);
    c.get(m);
    this.fconst(double ? MIN_NORMAL_D : MIN_NORMAL_S, true);
    c.op(F.f64Ge);
    c.get(m);
    this.fconst(Infinity, true);
    c.op(F.f64Lt, Op.i32And, Op.i32Or);
    if (!trunc) c.get(this.ctl).i32(3 << MX_RC_SHIFT).op(Op.i32And, Op.i32Eqz, Op.i32And);
    this.host.bailUnless();
    c.get(v).op(trunc ? F.f64Trunc : F.f64Nearest).set(r);
    const lim = i.size === 8 ? 2 ** 63 : 2 ** 31;
    c.get(r);
    this.fconst(-lim, true);
    c.op(F.f64Ge);
    c.get(r);
    this.fconst(lim, true);
    c.op(F.f64Lt, Op.i32And);
    c.get(r).get(v).op(F.f64Eq);
    c.get(this.ctl).i32(FAST_OK).op(Op.i32And).i32(FAST_OK).op(Op.i32Eq, Op.i32Or, Op.i32And);
    this.host.bailUnless();
    c.get(r).op(F.i64TruncF64S).set(this.t);
    this.host.writeReg(i.size, i.reg, this.t);
  }

  /** CVTSS2SD (exact: NaNs and denormals go to the handler) and CVTSD2SS on the fast case. */
  private convert(i: Insn): void {
    const c = this.c;
    if (i.op === sf.CVT_SS2SD) {
      this.scalarSource(i, false, this.sb);
      this.usual(this.sb, false);
      this.host.bailUnless();
      c.get(this.sb).op(F.f64PromoteF32).set(this.fr);
      this.putLane0(i.reg, true, this.fr);
      return;
    }
    this.scalarSource(i, true, this.fb);
    this.fast();
    this.usual(this.fb, true);
    c.op(Op.i32And);
    this.host.bailUnless();
    c.get(this.fb).op(F.f32DemoteF64).set(this.sr);
    // A normal result, or a zero from a zero (a nonzero one that rounds to zero underflowed).
    this.resultOk(this.sr, false, () => this.isZero(this.fb, true));
    this.host.bailUnless();
    this.putLane0(i.reg, false, this.sr);
  }

  /**
   * CMPPS/CMPPD/CMPSS/CMPSD with operands neither NaN nor denormal (no flag can arise; else the
   * handler): all ones or zero per lane by the predicate imm & 7 (EQ, LT, LE, UNORD, NEQ, NLT, NLE,
   * ORD), ordered operands making UNORD false, NLT greater-or-equal and NLE greater.
   */
  private compare(i: Insn): void {
    const c = this.c, double = (i.op & sf.OPF_DOUBLE) !== 0, p = i.imm & 7;
    if ((i.op & sf.OPF_SCALAR) !== 0) {
      const [a, b] = double ? [this.fa, this.fb] : [this.sa, this.sb];
      this.scalarSource(i, double, b);
      this.lane0(i.reg, double, a);
      this.usual(a, double);
      this.usual(b, double);
      c.op(Op.i32And);
      this.host.bailUnless();
      if (p === 3 || p === 7) c.i32(p === 7 ? 1 : 0);
      else {
        c.get(a).get(b);
        const ops = double
          ? [F.f64Eq, F.f64Lt, F.f64Le, 0, F.f64Ne, F.f64Ge, F.f64Gt]
          : [F.f32Eq, F.f32Lt, F.f32Le, 0, F.f32Ne, F.f32Ge, F.f32Gt];
        c.op(ops[p]);
      }
      // 0 or 1 -> all zeros or all ones in lane 0.
      c.set(this.p32).get(this.x(i.reg)).i32(0).get(this.p32).op(Op.i32Sub);
      if (double) c.op(Op.i64ExtendI32S);
      this.simd(double ? V.i64x2Replace : V.i32x4Replace, 0);
      c.set(this.x(i.reg));
      return;
    }
    const a = this.va, b = this.vb;
    this.src128(i);
    c.set(b);
    c.get(this.x(i.reg)).set(a);
    this.usualLanes(a, double);
    this.usualLanes(b, double);
    c.op(Op.i32And);
    this.host.bailUnless();
    if (p === 3 || p === 7) this.v128(new Array(16).fill(p === 7 ? 0xff : 0));
    else {
      c.get(a).get(b);
      const ops = double
        ? [V.f64x2Eq, V.f64x2Lt, V.f64x2Le, 0, V.f64x2Ne, V.f64x2Ge, V.f64x2Gt]
        : [V.f32x4Eq, V.f32x4Lt, V.f32x4Le, 0, V.f32x4Ne, V.f32x4Ge, V.f32x4Gt];
      this.simd(ops[p]);
    }
    c.set(this.x(i.reg));
  }

  /** COMISD/UCOMISD/COMISS/UCOMISS of operands neither NaN nor denormal: ZF, PF, CF from the order. */
  private comi(i: Insn): void {
    const c = this.c, double = (i.op & sf.OPF_DOUBLE) !== 0;
    const [a, b] = double ? [this.fa, this.fb] : [this.sa, this.sb];
    this.scalarSource(i, double, b);
    this.lane0(i.reg, double, a);
    this.usual(a, double);
    this.usual(b, double);
    c.op(Op.i32And);
    this.host.bailUnless();
    // Greater: none; less: CF; equal: ZF.
    c.get(a).get(b).op(double ? F.f64Lt : F.f32Lt);
    c.get(a).get(b).op(double ? F.f64Eq : F.f32Eq).i32(6).op(Op.i32Shl, Op.i32Or);
    this.host.putCompareFlags();
  }
}

/** 16 bytes of `x` in every f64 (`double`) or f32 lane. */
function splatBytes(x: number, double: boolean): number[] {
  const b = double
    ? new Uint8Array(new Float64Array([x, x]).buffer)
    : new Uint8Array(new Float32Array([x, x, x, x]).buffer);
  return [...b];
}

/**
 * The x87 FPU, MMX and SSE register state of one processor (SDM Vol. 1 ch. 8, 10, 11): XMM0-15,
 * MXCSR, the eight 80-bit x87 data registers (R0-R7; MMX aliases their low 64 bits), FCW, FSW,
 * FTW, FOP, FIP and FDP. It lives on the CPU instance, and it has one byte encoding: the 512-byte
 * FXSAVE image of 64-bit mode (SDM Vol. 1 §10.5.1, Table 10-2, REX.W form), which FXSAVE/FXRSTOR,
 * the migration stream and the digest all use.
 *
 * @example
 * ```ts
 * import { FpuState } from "./fpu_state.ts";
 * const f = new FpuState();
 * f.xmm[4] = 0xdeadbeef; // XMM1 bits 31:0
 * const copy = new FpuState();
 * copy.restore(f.save());
 * if (copy.xmm[4] !== 0xdeadbeef || copy.mxcsr !== 0x1f80) throw new Error("round trip");
 * ```
 *
 * @module
 */

/** MXCSR after reset and after boot protocol 1: all exceptions masked, round to nearest (SDM Vol. 1 §10.2.3.1). */
export const MXCSR_DEFAULT = 0x1f80;
/** MXCSR bits this processor implements, as FXSAVE reports in MXCSR_MASK (DAZ included: SDM Vol. 1 §11.6.6). */
export const MXCSR_MASK = 0xffff;
/** FPU control word after FNINIT (SDM Vol. 1 §8.1.5). */
export const FCW_DEFAULT = 0x37f;
/** Size of an FXSAVE image. */
export const FXSAVE_BYTES = 512;
/** Size of the state's byte encoding: the FXSAVE image, then the full 16-bit tag word. */
export const FPU_STATE_BYTES: number = FXSAVE_BYTES + 2;

/** Bytes of the XMM register file: XMM0-15 and four staging registers, 16 bytes each. */
export const XMM_BYTES = 320;

/** MXCSR.IE, invalid operation flag (SDM Vol. 1 Figure 10-3). */
export const MX_IE = 1 << 0;
/** MXCSR.DE, denormal flag. */
export const MX_DE = 1 << 1;
/** MXCSR.ZE, divide-by-zero flag. */
export const MX_ZE = 1 << 2;
/** MXCSR.OE, overflow flag. */
export const MX_OE = 1 << 3;
/** MXCSR.UE, underflow flag. */
export const MX_UE = 1 << 4;
/** MXCSR.PE, precision (inexact) flag. */
export const MX_PE = 1 << 5;
/** MXCSR.DAZ, denormals are zeros. */
export const MX_DAZ = 1 << 6;
/** MXCSR exception masks (bits 12:7), the flags shifted left by 7. */
export const MX_MASK_SHIFT = 7;
/** MXCSR.RC field shift (bits 14:13): 0 nearest, 1 down, 2 up, 3 toward zero. */
export const MX_RC_SHIFT = 13;
/** MXCSR.FTZ, flush to zero. */
export const MX_FTZ = 1 << 15;

/** The SSE and x87 register file of one CPU. */
export class FpuState {
  /**
   * XMM0-15 as 32-bit lanes: XMMn bits 32k+31:32k at index 4n+k. Registers 16-19 (indices 64-79)
   * are not architectural: instruction handlers stage memory operands and results there.
   */
  readonly xmm: Uint32Array;
  /** The same bytes as unsigned bytes. */
  readonly xmmU8: Uint8Array;
  /** The same bytes as signed bytes. */
  readonly xmmI8: Int8Array;
  /** The same bytes as unsigned words. */
  readonly xmmU16: Uint16Array;
  /** The same bytes as signed words. */
  readonly xmmI16: Int16Array;
  /** The same bytes as signed doublewords. */
  readonly xmmI32: Int32Array;
  /** The same bytes as single-precision lanes. */
  readonly xmmF32: Float32Array;
  /** The same bytes as double-precision lanes: XMMn low at 2n, high at 2n+1. */
  readonly xmmF64: Float64Array;
  /** MXCSR. */
  mxcsr: number = MXCSR_DEFAULT;
  /** The x87 data registers R0-R7, 10 bytes each (64-bit significand, then sign and exponent), little-endian. */
  readonly st = new Uint8Array(80);
  /** FPU control word. */
  fcw: number = FCW_DEFAULT;
  /** FPU status word (TOP in bits 13:11). */
  fsw = 0;
  /** Full FPU tag word, two bits per physical register (3 = empty). */
  ftw = 0xffff;
  /** Last x87 opcode (11 bits). */
  fop = 0;
  /** Last x87 instruction pointer. */
  fip = 0;
  /** Last x87 data pointer. */
  fdp = 0;

  /** Exception flags an SSE instruction detected before computing (IE, DE, ZE); scratch of one instruction. */
  pre = 0;
  /** Exception flags it detected while rounding (OE, UE, PE); scratch of one instruction. */
  post = 0;

  /**
   * A register file in its initial state (XMM zero, MXCSR 0x1F80). The XMM registers live in 320
   * bytes of `buffer` at `offset` (16-byte aligned), by default a buffer of their own; a CPU over a
   * WebAssembly memory puts them in its state area, where compiled code reads them.
   */
  constructor(buffer: ArrayBuffer = new ArrayBuffer(XMM_BYTES), offset = 0) {
    this.xmm = new Uint32Array(buffer, offset, XMM_BYTES / 4);
    this.xmmU8 = new Uint8Array(buffer, offset, XMM_BYTES);
    this.xmmI8 = new Int8Array(buffer, offset, XMM_BYTES);
    this.xmmU16 = new Uint16Array(buffer, offset, XMM_BYTES / 2);
    this.xmmI16 = new Int16Array(buffer, offset, XMM_BYTES / 2);
    this.xmmI32 = new Int32Array(buffer, offset, XMM_BYTES / 4);
    this.xmmF32 = new Float32Array(buffer, offset, XMM_BYTES / 4);
    this.xmmF64 = new Float64Array(buffer, offset, XMM_BYTES / 8);
  }

  /** Power-on / INIT values (SDM Vol. 3 Table 10-1): XMM zero, MXCSR 0x1F80, x87 as after FNINIT but FCW 0x40. */
  reset(): void {
    this.xmm.fill(0);
    this.st.fill(0);
    this.mxcsr = MXCSR_DEFAULT;
    this.fcw = 0x40;
    this.fsw = 0;
    this.ftw = 0xffff;
    this.fop = 0;
    this.fip = 0;
    this.fdp = 0;
  }

  /** FNINIT (SDM Vol. 2 FINIT/FNINIT): FCW 0x37F, FSW 0, all registers empty, pointers cleared. */
  fninit(): void {
    this.fcw = FCW_DEFAULT;
    this.fsw = 0;
    this.ftw = 0xffff;
    this.fop = 0;
    this.fip = 0;
    this.fdp = 0;
  }

  /** The abridged tag word of FXSAVE: bit i set when physical register i is not empty (SDM Vol. 1 §10.5.1.1). */
  abridgedTags(): number {
    let t = 0;
    for (let i = 0; i < 8; i++) if (((this.ftw >>> (2 * i)) & 3) !== 3) t |= 1 << i;
    return t;
  }

  /** Writes the 64-bit-mode FXSAVE image (SDM Vol. 1 Table 10-2) into `out` at `off`; bytes 464-511 are left alone. */
  writeFxsave(out: Uint8Array, off = 0): void {
    const dv = new DataView(out.buffer, out.byteOffset + off, FXSAVE_BYTES);
    dv.setUint16(0, this.fcw, true);
    dv.setUint16(2, this.fsw, true);
    dv.setUint8(4, this.abridgedTags());
    dv.setUint8(5, 0);
    dv.setUint16(6, this.fop & 0x7ff, true);
    dv.setBigUint64(8, BigInt.asUintN(64, BigInt(this.fip)), true);
    dv.setBigUint64(16, BigInt.asUintN(64, BigInt(this.fdp)), true);
    dv.setUint32(24, this.mxcsr, true);
    dv.setUint32(28, MXCSR_MASK, true);
    // ST0-ST7 in stack order (ST(i) = physical register (TOP + i) mod 8), 16 bytes apart.
    const top = (this.fsw >>> 11) & 7;
    for (let i = 0; i < 8; i++) {
      const p = (top + i) & 7;
      out.set(this.st.subarray(10 * p, 10 * p + 10), off + 32 + 16 * i);
      out.fill(0, off + 42 + 16 * i, off + 48 + 16 * i);
    }
    out.set(this.xmmU8.subarray(0, 256), off + 160);
    out.fill(0, off + 416, off + 464);
  }

  /**
   * Loads an FXSAVE image (FXRSTOR). Returns false, changing nothing, when its MXCSR sets a
   * reserved bit (FXRSTOR's #GP, SDM Vol. 2 FXRSTOR).
   */
  readFxrstor(src: Uint8Array, off = 0): boolean {
    const dv = new DataView(src.buffer, src.byteOffset + off, FXSAVE_BYTES);
    const mxcsr = dv.getUint32(24, true);
    if ((mxcsr & ~MXCSR_MASK) !== 0) return false;
    this.fcw = dv.getUint16(0, true);
    this.fsw = dv.getUint16(2, true);
    this.fop = dv.getUint16(6, true) & 0x7ff;
    this.fip = Number(BigInt.asIntN(64, dv.getBigUint64(8, true)));
    this.fdp = Number(BigInt.asIntN(64, dv.getBigUint64(16, true)));
    this.mxcsr = mxcsr;
    const top = (this.fsw >>> 11) & 7;
    for (let i = 0; i < 8; i++) {
      const p = (top + i) & 7;
      this.st.set(src.subarray(off + 32 + 16 * i, off + 42 + 16 * i), 10 * p);
    }
    // The full tag word is rebuilt from the abridged one and the registers' contents (SDM Vol. 1 §10.5.1.1).
    const abridged = dv.getUint8(4);
    let ftw = 0;
    for (let p = 0; p < 8; p++) ftw |= ((abridged >>> p) & 1 ? this.tagOf(p) : 3) << (2 * p);
    this.ftw = ftw;
    this.xmmU8.set(src.subarray(off + 160, off + 416));
    return true;
  }

  /** The tag a non-empty physical register's contents imply: 0 valid, 1 zero, 2 special (SDM Vol. 1 §8.1.7). */
  tagOf(p: number): number {
    const s = this.st;
    const exp = (s[10 * p + 8] | (s[10 * p + 9] << 8)) & 0x7fff;
    let mantZero = true;
    for (let k = 0; k < 8; k++) if (s[10 * p + k] !== 0) mantZero = false;
    const j = (s[10 * p + 7] & 0x80) !== 0;
    if (exp === 0x7fff) return 2;
    if (exp === 0) return mantZero ? 1 : 2;
    return j ? 0 : 2;
  }

  /** The state as bytes: the FXSAVE image followed by the full tag word (the "fpu" state section). */
  save(): Uint8Array {
    const out = new Uint8Array(FPU_STATE_BYTES);
    this.writeFxsave(out);
    new DataView(out.buffer).setUint16(FXSAVE_BYTES, this.ftw, true);
    return out;
  }

  /** Loads bytes made by {@linkcode save}; throws a RangeError naming what is wrong. */
  restore(b: Uint8Array): void {
    if (b.length !== FPU_STATE_BYTES) {
      throw new RangeError(`FPU state is ${b.length} bytes; expected ${FPU_STATE_BYTES}`);
    }
    if (!this.readFxrstor(b)) throw new RangeError("FPU state has reserved MXCSR bits set");
    this.ftw = new DataView(b.buffer, b.byteOffset, b.length).getUint16(FXSAVE_BYTES, true);
  }

  /** XMM register `n` as a 128-bit bigint. */
  xmmBig(n: number): bigint {
    let v = 0n;
    for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(this.xmm[4 * n + k]);
    return v;
  }

  /** Sets XMM register `n` from a bigint (taken modulo 2^128). */
  setXmmBig(n: number, v: bigint): void {
    v = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++) this.xmm[4 * n + k] = Number((v >> BigInt(32 * k)) & 0xffffffffn);
  }
}

/**
 * Lazy arithmetic flags (the technique of Bochs and v86): an instruction records its operation,
 * operand size, operands and result; CF, PF, AF, ZF, SF and OF are computed only when read.
 * Definitions follow the Intel SDM Vol. 1 Appendix A and the per-instruction "Flags Affected".
 *
 * Values of 8, 16 and 32 bits are uint32 numbers masked to their size; 64-bit values are pairs of
 * uint32 halves (low, high).
 *
 * @module
 */

import { AF, ARITH_FLAGS, CF, FLAG_FIXED1, OF, PF, SF, ZF } from "./registers.ts";

/** The arithmetic flags are held in {@linkcode Flags.rf} as they are. */
export const FLAGS_EAGER = 0;
/** ADD: flags of a + b. */
export const FLAGS_ADD = 1;
/** ADC: flags of a + b + carry-in. */
export const FLAGS_ADC = 2;
/** SUB/CMP/NEG: flags of a - b. */
export const FLAGS_SUB = 3;
/** SBB: flags of a - b - borrow-in. */
export const FLAGS_SBB = 4;
/** AND/OR/XOR/TEST: CF = OF = 0, AF = 0 (undefined in the SDM). */
export const FLAGS_LOGIC = 5;
/** INC: flags of a + 1, CF kept from before. */
export const FLAGS_INC = 6;
/** DEC: flags of a - 1, CF kept from before. */
export const FLAGS_DEC = 7;

const PARITY = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let n = 0;
    for (let b = i; b !== 0; b >>= 1) n += b & 1;
    t[i] = (n & 1) === 0 ? 1 : 0;
  }
  return t;
})();

/** Mask of an operand size in bytes (1, 2, 4); 8-byte values use both halves. */
export function sizeMask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

/** The flag state of one CPU: the RFLAGS word plus the record of the last flag-setting operation. */
export class Flags {
  /** RFLAGS; its arithmetic bits are valid only while {@linkcode op} is FLAGS_EAGER. */
  rf = FLAG_FIXED1;
  /** The last flag-setting operation (FLAGS_*). */
  op = FLAGS_EAGER;
  /** Operand size in bytes of the last operation. */
  size = 4;
  /** First operand, low half. */
  a = 0;
  /** First operand, high half (8-byte operations). */
  ah = 0;
  /** Second operand, low half. */
  b = 0;
  /** Second operand, high half. */
  bh = 0;
  /** Result, low half. */
  r = 0;
  /** Result, high half. */
  rh = 0;
  /** Carry-in of ADC/SBB, or the kept CF of INC/DEC (0 or 1). */
  cin = 0;

  /** Records a flag-setting operation. */
  set(op: number, size: number, a: number, ah: number, b: number, bh: number, r: number, rh: number): void {
    this.op = op;
    this.size = size;
    this.a = a;
    this.ah = ah;
    this.b = b;
    this.bh = bh;
    this.r = r;
    this.rh = rh;
  }

  /** Records an operation with a carry-in (ADC/SBB) or a kept carry (INC/DEC). */
  setWithCarry(
    op: number,
    size: number,
    a: number,
    ah: number,
    b: number,
    bh: number,
    r: number,
    rh: number,
    cin: number,
  ): void {
    this.cin = cin;
    this.set(op, size, a, ah, b, bh, r, rh);
  }

  /** Records the flags of a logical operation on `r`. */
  logic(size: number, r: number, rh: number): void {
    this.op = FLAGS_LOGIC;
    this.size = size;
    this.r = r;
    this.rh = rh;
  }

  /** Sets all six arithmetic flags at once: SF, ZF, PF from the result, CF and OF as given, AF = 0. */
  setEager(size: number, r: number, rh: number, cf: number, of: number): void {
    const zf = r === 0 && (size !== 8 || rh === 0) ? 1 : 0;
    const sf = size === 8 ? rh >>> 31 : (r >>> (size * 8 - 1)) & 1;
    this.rf =
      ((this.rf & ~ARITH_FLAGS) | cf | (PARITY[r & 0xff] << 2) | (zf << 6) | (sf << 7) | (of << 11)) >>> 0;
    this.op = FLAGS_EAGER;
  }

  /** CF as 0 or 1. */
  cf(): number {
    switch (this.op) {
      case FLAGS_EAGER:
        return this.rf & CF;
      case FLAGS_ADD:
        return this.size === 8 ? ltu64(this.rh, this.r, this.ah, this.a) : (this.r < this.a ? 1 : 0);
      case FLAGS_ADC:
        if (this.size === 8) {
          return this.cin !== 0
            ? (ltu64(this.rh, this.r, this.ah, this.a) | (this.rh === this.ah && this.r === this.a ? 1 : 0))
            : ltu64(this.rh, this.r, this.ah, this.a);
        }
        return this.r < this.a || (this.cin !== 0 && this.r === this.a) ? 1 : 0;
      case FLAGS_SUB:
        return this.size === 8 ? ltu64(this.ah, this.a, this.bh, this.b) : (this.a < this.b ? 1 : 0);
      case FLAGS_SBB:
        if (this.size === 8) {
          return this.cin !== 0
            ? (ltu64(this.ah, this.a, this.bh, this.b) | (this.ah === this.bh && this.a === this.b ? 1 : 0))
            : ltu64(this.ah, this.a, this.bh, this.b);
        }
        return this.a < this.b || (this.cin !== 0 && this.a === this.b) ? 1 : 0;
      case FLAGS_LOGIC:
        return 0;
      default: // INC, DEC keep CF
        return this.cin;
    }
  }

  /** ZF as 0 or 1. */
  zf(): number {
    if (this.op === FLAGS_EAGER) return (this.rf >>> 6) & 1;
    return this.r === 0 && (this.size !== 8 || this.rh === 0) ? 1 : 0;
  }

  /** SF as 0 or 1. */
  sf(): number {
    if (this.op === FLAGS_EAGER) return (this.rf >>> 7) & 1;
    return this.size === 8 ? this.rh >>> 31 : (this.r >>> (this.size * 8 - 1)) & 1;
  }

  /** OF as 0 or 1. */
  of(): number {
    let x: number;
    switch (this.op) {
      case FLAGS_EAGER:
        return (this.rf >>> 11) & 1;
      case FLAGS_ADD:
      case FLAGS_ADC:
      case FLAGS_INC:
        x = this.size === 8
          ? (this.ah ^ this.rh) & (this.bh ^ this.rh)
          : (this.a ^ this.r) & (this.b ^ this.r);
        break;
      case FLAGS_SUB:
      case FLAGS_SBB:
      case FLAGS_DEC:
        x = this.size === 8
          ? (this.ah ^ this.bh) & (this.ah ^ this.rh)
          : (this.a ^ this.b) & (this.a ^ this.r);
        break;
      default:
        return 0;
    }
    return this.size === 8 ? x >>> 31 : (x >>> (this.size * 8 - 1)) & 1;
  }

  /** PF as 0 or 1 (parity of the low byte of the result). */
  pf(): number {
    if (this.op === FLAGS_EAGER) return (this.rf >>> 2) & 1;
    return PARITY[this.r & 0xff];
  }

  /** AF as 0 or 1 (carry or borrow out of bit 3). */
  af(): number {
    if (this.op === FLAGS_EAGER) return (this.rf >>> 4) & 1;
    if (this.op === FLAGS_LOGIC) return 0;
    return ((this.a ^ this.b ^ this.r) >>> 4) & 1;
  }

  /** The whole RFLAGS value. */
  get(): number {
    if (this.op === FLAGS_EAGER) return this.rf;
    return (this.rf & ~ARITH_FLAGS) | this.cf() | (this.pf() << 2) | (this.af() << 4) | (this.zf() << 6) |
      (this.sf() << 7) | (this.of() << 11);
  }

  /** Replaces the whole RFLAGS value (bit 1 forced to 1). */
  put(value: number): void {
    this.rf = (value | FLAG_FIXED1) >>> 0;
    this.op = FLAGS_EAGER;
  }

  /** Sets the arithmetic flags given in `mask` to the bits of `value`, leaving the others. */
  putArith(mask: number, value: number): void {
    const v = this.get();
    this.rf = ((v & ~mask) | (value & mask)) >>> 0;
    this.op = FLAGS_EAGER;
  }

  /** Evaluates condition code `cc` (0..15, the low nibble of Jcc/SETcc/CMOVcc; SDM Vol. 1 App. B). */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = this.of() !== 0;
        break;
      case 1:
        r = this.cf() !== 0;
        break;
      case 2:
        r = this.zf() !== 0;
        break;
      case 3:
        r = this.cf() !== 0 || this.zf() !== 0;
        break;
      case 4:
        r = this.sf() !== 0;
        break;
      case 5:
        r = this.pf() !== 0;
        break;
      case 6:
        r = this.sf() !== this.of();
        break;
      default:
        r = this.zf() !== 0 || this.sf() !== this.of();
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }
}

/** 1 if the 64-bit value (xh:xl) is below (yh:yl), unsigned. */
export function ltu64(xh: number, xl: number, yh: number, yl: number): number {
  return xh < yh || (xh === yh && xl < yl) ? 1 : 0;
}

export { AF, CF, OF, PF, SF, ZF };

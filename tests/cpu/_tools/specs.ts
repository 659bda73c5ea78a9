/**
 * The instruction-test tables, as (AT&T text, initial state) pairs, grouped by family. The fixture
 * maker (make_fixtures.ts) assembles them with GNU as, runs them on the host CPU and stores the
 * outcome next to each case in tests/cpu/fixtures/<family>.json; the tests replay the fixtures on
 * the interpreter. Expected values therefore come from the host CPU, never from hvsim.
 *
 * State conventions (the harness layout of ../_harness.ts): registers not named are 0; RSP points
 * into the scratch area (SCRATCH + 0xc0); RBX = SCRATCH (memory operands are `off(%rbx)`); the
 * scratch area is zero except for `mem` writes.
 */

import { REGISTER_NAMES } from "../../../src/conformance/generator.ts";

/** Flag bits (SDM Vol. 1 §3.4.3). */
export const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
/** All six status flags. */
export const STATUS = CF | PF | AF | ZF | SF | OF;
/** Scratch area (same as the harness). */
export const SCRATCH = 0x300800;

/** One case before it has run anywhere. */
export interface Spec {
  /** AT&T text of one instruction (or `.byte ...`). */
  asm: string;
  /** Initial registers (others 0, RSP = SCRATCH + 0xc0, RBX = SCRATCH unless given). */
  regs?: Record<string, bigint>;
  /** Initial status flags and DF. */
  flags?: number;
  /** Initial scratch bytes: [offset, little-endian value, byte count]. */
  mem?: [number, bigint, number][];
  /** RFLAGS bits the SDM leaves undefined for this case. */
  undef?: number;
  /** Register bits the SDM leaves undefined (mask per register). */
  undefRegs?: Record<string, bigint>;
}

const SIZES = [8, 16, 32, 64] as const;
const SUFFIX: Record<number, string> = { 8: "b", 16: "w", 32: "l", 64: "q" };
const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
const min = (bits: number) => 1n << BigInt(bits - 1);

/** Edge values of a size: 0, 1, -1, sign boundaries, alternating bits. */
export function edges(bits: number): bigint[] {
  const m = mask(bits), s = min(bits);
  return [0n, 1n, 2n, m, m - 1n, s - 1n, s, s + 1n, 0x5555555555555555n & m, 0xaaaaaaaaaaaaaaaan & m];
}

/** A pseudo-random but fixed value of a size (xorshift over `k`). */
export function fixed(bits: number, k: number): bigint {
  let x = BigInt(k) * 0x9e3779b97f4a7c15n + 0x632be59bd9b4e019n;
  x &= 0xffffffffffffffffn;
  x ^= x >> 31n;
  x = (x * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  x ^= x >> 29n;
  return x & mask(bits);
}

/** Register names of each size, by number. */
const R = REGISTER_NAMES;
const R64 = R[64];

/** Register operand `n` of `bits` as (asm name, 64-bit register, shift of the value in it). */
interface RegOp {
  name: string;
  r64: string;
  shift: bigint;
}
function reg(bits: number, n: number, high = false): RegOp {
  if (high) return { name: ["ah", "ch", "dh", "bh"][n], r64: R64[n], shift: 8n };
  return { name: R[bits][n], r64: R64[n], shift: 0n };
}

/** Puts `v` (of `bits`) into register operand `op` of a register file, keeping background bits. */
function put(regs: Record<string, bigint>, op: RegOp, bits: number, v: bigint): void {
  const bg = regs[op.r64] ?? 0n;
  const m = mask(bits) << op.shift;
  regs[op.r64] = (bg & ~m) | ((v & mask(bits)) << op.shift);
}

/** Background value of a register (upper bits that must survive or be zero-extended). */
const BG = 0xdeadbeefcafef00dn;

// ---------------------------------------------------------------- ALU

const ALU = ["add", "adc", "sub", "sbb", "cmp", "and", "or", "xor", "test"];
const ALU_PAIRS = (bits: number): [bigint, bigint][] => {
  const e = edges(bits), m = mask(bits), s = min(bits);
  return [
    [0n, 0n],
    [1n, 1n],
    [m, 1n],
    [1n, m],
    [s - 1n, 1n],
    [s, 1n],
    [s, m],
    [s, s],
    [m, m],
    [e[8], e[9]],
    [0x0fn, 0x01n],
    [fixed(bits, 1), fixed(bits, 2)],
  ];
};

function aluUndef(op: string): number {
  return op === "and" || op === "or" || op === "xor" || op === "test" ? AF : 0;
}

/** ADD ADC SUB SBB CMP AND OR XOR TEST in every size and operand form. */
export function aluSpecs(): Spec[] {
  const out: Spec[] = [];
  for (const op of ALU) {
    for (const bits of SIZES) {
      const sfx = SUFFIX[bits];
      const pairs = ALU_PAIRS(bits);
      const cins = op === "adc" || op === "sbb" ? [0, CF] : [0];
      for (const cin of cins) {
        pairs.forEach(([a, b], k) => {
          const flags = cin | (k % 3 === 0 ? ZF | SF | OF | PF | AF : 0);
          const u = aluUndef(op);
          // reg, reg (several register choices: low, REX, high byte)
          const choice = k % 4;
          let dst: RegOp, src: RegOp;
          if (bits === 8 && choice === 1) [dst, src] = [reg(8, 0, true), reg(8, 3, true)]; // ah, bh
          else if (bits === 8 && choice === 2) [dst, src] = [reg(8, 6), reg(8, 9)]; // sil, r9b
          else if (bits === 8 && choice === 3) [dst, src] = [reg(8, 2), reg(8, 1, true)]; // dl, ch
          else if (choice === 2) [dst, src] = [reg(bits, 10), reg(bits, 13)];
          else [dst, src] = [reg(bits, 2), reg(bits, 1)];
          const regs: Record<string, bigint> = {
            rax: BG,
            rcx: BG ^ 0xffn,
            rdx: ~BG & mask(64),
            r10: BG,
            r13: BG,
          };
          put(regs, dst, bits, a);
          put(regs, src, bits, b);
          out.push({ asm: `${op}${sfx} %${src.name}, %${dst.name}`, regs, flags, undef: u });
          // reg, mem and mem, reg
          if (k % 2 === 0 && op !== "test") {
            const r2: Record<string, bigint> = { rcx: BG };
            put(r2, reg(bits, 1), bits, b);
            out.push({
              asm: `${op}${sfx} %${R[bits][1]}, 8(%rbx)`,
              regs: r2,
              flags,
              mem: [[8, a, bits / 8]],
              undef: u,
            });
            out.push({
              asm: `${op}${sfx} 8(%rbx), %${R[bits][1]}`,
              regs: r2,
              flags,
              mem: [[8, a, bits / 8]],
              undef: u,
            });
          }
          if (op === "test" && k % 2 === 0) {
            const r2: Record<string, bigint> = { rcx: BG };
            put(r2, reg(bits, 1), bits, b);
            out.push({
              asm: `test${sfx} %${R[bits][1]}, 8(%rbx)`,
              regs: r2,
              flags,
              mem: [[8, a, bits / 8]],
              undef: u,
            });
          }
          // immediates: imm8 (sign-extended) and full-size, into a register, memory and the accumulator
          const imm8 = BigInt.asIntN(8, b);
          const immZ = BigInt.asIntN(bits === 64 ? 32 : bits, b);
          const ra: Record<string, bigint> = { rax: BG, rsi: BG };
          put(ra, reg(bits, 0), bits, a);
          put(ra, reg(bits, 6), bits, a);
          out.push({ asm: `${op}${sfx} $${immZ}, %${R[bits][0]}`, regs: ra, flags, undef: u });
          out.push({ asm: `${op}${sfx} $${immZ}, %${R[bits][6]}`, regs: ra, flags, undef: u });
          if (bits > 8 && op !== "test") {
            out.push({ asm: `${op}${sfx} $${imm8}, %${R[bits][6]}`, regs: ra, flags, undef: u });
          }
          if (k % 3 === 0) {
            out.push({ asm: `${op}${sfx} $${immZ}, 16(%rbx)`, flags, mem: [[16, a, bits / 8]], undef: u });
          }
        });
      }
    }
  }
  return out;
}

/** INC DEC NEG NOT in every size, register (incl. high byte) and memory. */
export function unarySpecs(): Spec[] {
  const out: Spec[] = [];
  for (const op of ["inc", "dec", "neg", "not"]) {
    for (const bits of SIZES) {
      const sfx = SUFFIX[bits];
      edges(bits).concat([fixed(bits, 7)]).forEach((v, k) => {
        for (const cf of [0, CF]) {
          const regs: Record<string, bigint> = { rdx: BG, r11: BG, rax: BG };
          const op1 = bits === 8 && k % 2 === 1
            ? reg(8, 0, true)
            : k % 3 === 2
            ? reg(bits, 11)
            : reg(bits, 2);
          put(regs, op1, bits, v);
          out.push({ asm: `${op}${sfx} %${op1.name}`, regs, flags: cf | (k % 2 ? OF | ZF : 0) });
          if (cf === 0 && k % 2 === 0) {
            out.push({ asm: `${op}${sfx} 24(%rbx)`, flags: CF, mem: [[24, v, bits / 8]] });
          }
        }
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- shifts

/** Counts that exercise masking: 0, 1, sizes-1, sizes, above. */
export const COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255];

/** SDM undefined flags of a shift/rotate (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD/SHRD). */
export function shiftUndef(op: string, bits: number, count: number): number {
  const c = count & (bits === 64 ? 63 : 31);
  if (c === 0) return 0;
  if (op === "rol" || op === "ror" || op === "rcl" || op === "rcr") return c === 1 ? 0 : OF;
  if (op === "shld" || op === "shrd") {
    if (c > bits) return STATUS;
    return c === 1 ? AF : AF | OF;
  }
  let u = AF;
  if (c !== 1) u |= OF;
  if ((op === "shl" || op === "shr" || op === "sal") && c >= bits) u |= CF;
  return u;
}

/** Group 2 shifts and rotates by 1, CL and imm8; SHLD/SHRD by imm8 and CL. */
export function shiftSpecs(): Spec[] {
  const out: Spec[] = [];
  const values = (bits: number) => [min(bits) | 1n, 1n, mask(bits), fixed(bits, 11)];
  // SAL is SHL (same encoding, /4); one case checks the alias.
  for (const op of ["rol", "ror", "rcl", "rcr", "shl", "shr", "sar"]) {
    for (const bits of SIZES) {
      const sfx = SUFFIX[bits];
      values(bits).forEach((v, k) => {
        for (const count of COUNTS) {
          if ((op === "rcl" || op === "rcr") && bits < 32 && count > 33 && count !== 64) continue;
          const dst = bits === 8 && k % 2 === 1 ? reg(8, 2, true) : k % 3 === 1 ? reg(bits, 9) : reg(bits, 7);
          const regs: Record<string, bigint> = { rdi: BG, r9: BG, rdx: BG, rbx: BigInt(SCRATCH) };
          put(regs, dst, bits, v);
          const flags = (k + count) % 2 ? CF | OF | ZF : SF | PF;
          const u = shiftUndef(op, bits, count);
          out.push({ asm: `${op}${sfx} $${count}, %${dst.name}`, regs, flags, undef: u });
          out.push({
            asm: `${op}${sfx} %cl, %${dst.name}`,
            regs: { ...regs, rcx: BigInt(count) | 0x1200n },
            flags,
            undef: u,
          });
          if (count === 1) {
            out.push({ asm: `${op}${sfx} %${dst.name}`, regs, flags, undef: u });
            out.push({ asm: `${op}${sfx} 32(%rbx)`, flags, mem: [[32, v, bits / 8]], undef: u });
          }
          if (k === 0 && count % 3 === 1) {
            out.push({ asm: `${op}${sfx} $${count}, 32(%rbx)`, flags, mem: [[32, v, bits / 8]], undef: u });
          }
        }
      });
    }
  }
  out.push({ asm: "salq $3, %rdx", regs: { rdx: 0x9000000000000001n }, undef: AF | OF });
  out.push({ asm: ".byte 0x48, 0xc1, 0xf2, 0x03", regs: { rdx: 0x9000000000000001n }, undef: AF | OF }); // sal /6
  for (const op of ["shld", "shrd"]) {
    for (const bits of [16, 32, 64]) {
      const sfx = SUFFIX[bits];
      const pairs: [bigint, bigint][] = [
        [min(bits) | 1n, mask(bits)],
        [fixed(bits, 21), fixed(bits, 22)],
        [1n, min(bits)],
        [mask(bits), 0n],
      ];
      pairs.forEach(([a, b], k) => {
        for (const count of COUNTS) {
          if (bits === 16 && (count & 31) > 16) continue; // result undefined
          const regs: Record<string, bigint> = { rdx: BG, rsi: BG, r12: BG };
          const dst = k % 2 ? reg(bits, 12) : reg(bits, 2);
          put(regs, dst, bits, a);
          put(regs, reg(bits, 6), bits, b);
          const u = shiftUndef(op, bits, count);
          const flags = k % 2 ? CF | ZF : OF | SF;
          out.push({ asm: `${op}${sfx} $${count}, %${R[bits][6]}, %${dst.name}`, regs, flags, undef: u });
          out.push({
            asm: `${op}${sfx} %cl, %${R[bits][6]}, %${dst.name}`,
            regs: { ...regs, rcx: BigInt(count) },
            flags,
            undef: u,
          });
          if (count === 1 || count === 13) {
            out.push({
              asm: `${op}${sfx} $${count}, %${R[bits][6]}, 40(%rbx)`,
              regs,
              flags,
              mem: [[40, a, bits / 8]],
              undef: u,
            });
          }
        }
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- multiply and divide

/** MUL IMUL (one, two, three operands) and DIV IDIV incl. #DE on zero divisors and overflow. */
export function muldivSpecs(): Spec[] {
  const out: Spec[] = [];
  const mulU = SF | ZF | AF | PF;
  for (const bits of SIZES) {
    const sfx = SUFFIX[bits];
    const e = edges(bits);
    const pairs: [bigint, bigint][] = [];
    for (const a of e) {
      for (const b of [0n, 1n, 2n, mask(bits), min(bits), min(bits) - 1n, fixed(bits, 5)]) {
        pairs.push([a, b]);
      }
    }
    pairs.push([fixed(bits, 8), fixed(bits, 9)], [fixed(bits, 10), fixed(bits, 12)]);
    pairs.forEach(([a, b], k) => {
      for (const op of ["mul", "imul"]) {
        const regs: Record<string, bigint> = { rax: BG, rdx: BG, rcx: BG, r14: BG };
        put(regs, reg(bits, 0), bits, a);
        const src = bits === 8 && k % 3 === 1 ? reg(8, 1, true) : k % 2 ? reg(bits, 14) : reg(bits, 1);
        put(regs, src, bits, b);
        out.push({ asm: `${op}${sfx} %${src.name}`, regs, flags: k % 2 ? STATUS : 0, undef: mulU });
        if (k % 5 === 0) {
          out.push({ asm: `${op}${sfx} 48(%rbx)`, regs, mem: [[48, b, bits / 8]], undef: mulU });
        }
      }
      if (bits > 8) {
        const regs: Record<string, bigint> = { rdx: BG, rcx: BG, r14: BG };
        put(regs, reg(bits, 2), bits, a);
        put(regs, reg(bits, 1), bits, b);
        out.push({ asm: `imul${sfx} %${R[bits][1]}, %${R[bits][2]}`, regs, undef: mulU });
        if (k % 4 === 0) {
          out.push({
            asm: `imul${sfx} 48(%rbx), %${R[bits][2]}`,
            regs,
            mem: [[48, b, bits / 8]],
            undef: mulU,
          });
        }
        const imm = BigInt.asIntN(bits === 64 ? 32 : bits, b);
        out.push({ asm: `imul${sfx} $${imm}, %${R[bits][1]}, %${R[bits][14]}`, regs, undef: mulU });
        out.push({
          asm: `imul${sfx} $${BigInt.asIntN(8, b)}, %${R[bits][1]}, %${R[bits][14]}`,
          regs,
          undef: mulU,
        });
      }
    });
    // Division: dividend (hi:lo), divisor.
    const dw = bits === 8 ? 16 : bits * 2;
    const divs: [bigint, bigint][] = [];
    const D = [1n, 2n, 3n, 7n, mask(bits), min(bits), min(bits) - 1n, fixed(bits, 13) | 1n, 0n];
    const N = [
      0n,
      1n,
      100n,
      mask(bits),
      min(bits),
      mask(dw),
      1n << BigInt(dw - 1),
      (1n << BigInt(dw - 1)) - 1n,
    ];
    N.push(BigInt.asUintN(dw, -100n)); // a small negative dividend, sign-extended (CQO)
    if (bits >= 32) {
      // Around 2^53, where a double stops holding every integer (hvsim divides in doubles below it).
      const t = 1n << 53n;
      N.push(
        t - 1n,
        t,
        t + 1n,
        BigInt.asUintN(dw, -t),
        BigInt.asUintN(dw, 1n - t),
        BigInt.asUintN(dw, -t - 1n),
      );
      D.push(BigInt.asUintN(bits, -7n));
      if (bits === 64) D.push(t - 1n, t, BigInt.asUintN(64, -t));
    }
    for (const n of N) for (const d of D) divs.push([n, d]);
    divs.push([fixed(dw, 14), fixed(bits, 15)], [fixed(dw, 16) >> 8n, fixed(bits, 17)]);
    // Overflow edges: quotient exactly at and just past the limit.
    divs.push([mask(bits) * 2n + 1n, 2n], [mask(bits) * 2n + 2n, 2n], [
      BigInt.asUintN(dw, -(min(bits) * 2n)),
      2n,
    ]);
    divs.push([BigInt.asUintN(dw, -(min(bits) * 2n) - 1n), 2n], [BigInt.asUintN(dw, -min(bits)), mask(bits)]);
    divs.forEach(([n, d], k) => {
      for (const op of ["div", "idiv"]) {
        const regs: Record<string, bigint> = { rax: BG, rdx: BG, rcx: BG, r11: BG };
        if (bits === 8) put(regs, reg(16, 0), 16, n);
        else {
          put(regs, reg(bits, 0), bits, n & mask(bits));
          put(regs, reg(bits, 2), bits, n >> BigInt(bits));
        }
        const src = bits === 8 && k % 3 === 1 ? reg(8, 1, true) : k % 2 ? reg(bits, 11) : reg(bits, 1);
        put(regs, src, bits, d);
        out.push({ asm: `${op}${sfx} %${src.name}`, regs, undef: STATUS });
        if (k % 4 === 0) {
          out.push({ asm: `${op}${sfx} 56(%rbx)`, regs, mem: [[56, d, bits / 8]], undef: STATUS });
        }
      }
    });
  }
  return out;
}

// ---------------------------------------------------------------- bits

/** BT BTS BTR BTC (register offsets incl. bit strings in memory, immediates), BSF BSR, BSWAP. */
export function bitSpecs(): Spec[] {
  const out: Spec[] = [];
  const bu = OF | SF | AF | PF;
  for (const op of ["bt", "bts", "btr", "btc"]) {
    for (const bits of [16, 32, 64]) {
      const sfx = SUFFIX[bits];
      const v = fixed(bits, 30) | 1n | min(bits);
      for (const off of [0n, 1n, 5n, BigInt(bits - 1), BigInt(bits), BigInt(bits + 3), 100n, 200n, 1000n]) {
        const regs: Record<string, bigint> = { rdx: BG, rcx: BG };
        put(regs, reg(bits, 2), bits, v);
        put(regs, reg(bits, 1), bits, off);
        out.push({ asm: `${op}${sfx} %${R[bits][1]}, %${R[bits][2]}`, regs, undef: bu, flags: CF });
        out.push({ asm: `${op}${sfx} $${off & 255n}, %${R[bits][2]}`, regs, undef: bu });
        // Bit strings: a register offset reaches beyond (and before) the addressed operand.
        if (off < 1000n) {
          const r2: Record<string, bigint> = { rcx: off, rbx: BigInt(SCRATCH + 64) };
          out.push({
            asm: `${op}${sfx} %${R[bits][1]}, (%rbx)`,
            regs: r2,
            mem: [[64, v, bits / 8], [72, fixed(64, 31), 8], [80, fixed(64, 32), 8], [56, fixed(64, 33), 8]],
            undef: bu,
          });
          const neg = BigInt.asUintN(bits, -off - 1n);
          out.push({
            asm: `${op}${sfx} %${R[bits][1]}, (%rbx)`,
            regs: { ...r2, rcx: neg },
            mem: [[64, v, bits / 8], [56, fixed(64, 34), 8], [48, fixed(64, 35), 8], [32, fixed(64, 36), 8]],
            undef: bu,
          });
          out.push({
            asm: `${op}${sfx} $${off & 255n}, (%rbx)`,
            regs: r2,
            mem: [[64, v, bits / 8]],
            undef: bu,
          });
        }
      }
    }
  }
  // Bit offsets that take the bit string's address out of canonical space: #GP(0).
  for (const off of [0x4000000000000000n, 0x3ffffffffffffff8n, -0x4000000000000000n]) {
    out.push({ asm: "btsq %rcx, (%rbx)", regs: { rcx: off }, undef: bu });
    out.push({ asm: "btq %rcx, (%rbx)", regs: { rcx: off }, undef: bu });
  }
  for (const op of ["bsf", "bsr"]) {
    for (const bits of [16, 32, 64]) {
      const sfx = SUFFIX[bits];
      const vals = [
        0n,
        1n,
        2n,
        min(bits),
        mask(bits),
        0x100n,
        fixed(bits, 40),
        fixed(bits, 41) >> 7n,
        0x80000000n & mask(bits),
      ];
      vals.forEach((v) => {
        const regs: Record<string, bigint> = { rdx: BG, rcx: BG };
        put(regs, reg(bits, 1), bits, v);
        // A zero source leaves the destination undefined (SDM BSF/BSR).
        const undefRegs = v === 0n ? { rdx: mask(64) } : undefined;
        out.push({
          asm: `${op}${sfx} %${R[bits][1]}, %${R[bits][2]}`,
          regs,
          undef: CF | OF | SF | AF | PF,
          undefRegs,
        });
        out.push({
          asm: `${op}${sfx} 8(%rbx), %${R[bits][2]}`,
          regs: { rdx: BG },
          mem: [[8, v, bits / 8]],
          undef: CF | OF | SF | AF | PF,
          undefRegs,
        });
      });
    }
  }
  for (const r of ["eax", "r9d", "rax", "r9", "rsp"]) {
    out.push({ asm: `bswap %${r}`, regs: { rax: 0x0123456789abcdefn, r9: BG, rsp: 0x1122334455667788n } });
  }
  return out;
}

// ---------------------------------------------------------------- data movement

/** MOV forms, MOVZX/MOVSX/MOVSXD, LEA with every addressing mode, XCHG, CBW.., CMOVcc, SETcc. */
export function movSpecs(): Spec[] {
  const out: Spec[] = [];
  const regs: Record<string, bigint> = {
    rax: 0x8081828384858687n,
    rcx: 0xf0e0d0c0b0a09080n,
    rdx: 0x0000000080000001n,
    rsi: 0x7f7f7f7f7f7f7f7fn,
    rdi: 5n,
    r8: 0xfffffffffffffff8n,
    r9: 3n,
    r12: BG,
    r13: 0x10n,
    r15: 0x8000n,
  };
  const m: [number, bigint, number][] = [[0, 0xfedcba9876543210n, 8], [8, 0x8899aabbccddeeffn, 8], [
    16,
    0x80n,
    1,
  ]];
  const lines = [
    "movb %ah, %cl",
    "movb %al, %r9b",
    "movb %dh, %al",
    "movw %ax, %cx",
    "movl %eax, %ecx",
    "movq %rax, %rcx",
    "movb 8(%rbx), %ah",
    "movw 8(%rbx), %r12w",
    "movl 8(%rbx), %r12d",
    "movq 8(%rbx), %r12",
    "movb %ch, 24(%rbx)",
    "movw %cx, 24(%rbx)",
    "movl %ecx, 24(%rbx)",
    "movq %rcx, 24(%rbx)",
    "movb $0x85, %dh",
    "movw $0x8586, %dx",
    "movl $0x85868788, %edx",
    "movq $-2, %rdx",
    "movabsq $0x123456789abcdef0, %r12",
    "movl $-1, %r12d",
    "movb $-3, 24(%rbx)",
    "movw $-3, 24(%rbx)",
    "movl $-3, 24(%rbx)",
    "movq $-3, 24(%rbx)",
    "movzbl %ah, %ecx",
    "movzbw %al, %cx",
    "movzbq %sil, %r12",
    "movzwl %ax, %r12d",
    "movzwq 8(%rbx), %rcx",
    "movzbl 8(%rbx), %ecx",
    "movsbl %ah, %ecx",
    "movsbw %al, %cx",
    "movsbq %al, %r12",
    "movswl %ax, %r12d",
    "movswq 8(%rbx), %rcx",
    "movsbq 16(%rbx), %rcx",
    "movslq %edx, %r12",
    "movslq %eax, %r12",
    "movslq 12(%rbx), %rcx",
    "lea 8(%rbx), %rcx",
    "lea -8(%rbx,%rdi,1), %rcx",
    "lea 0x7fffffff(%rbx,%rdi,2), %rcx",
    "lea -0x80000000(%r8,%r9,4), %rcx",
    "lea (%r8,%r8,8), %rcx",
    "lea 1(,%r8,8), %r12",
    "lea (%rax,%rcx), %r12",
    "lea (%rbx,%r13,8), %r12d",
    "lea (%rbx,%r13,8), %r12w",
    "lea -1(%rip), %rcx",
    "lea 0x1000(%rip), %rcx",
    "lea 0x10(%r12), %rcx",
    "lea (%rbp,%r15), %rcx",
    "lea (%r13), %rcx",
    "addr32 lea 8(%ebx), %rcx",
    "addr32 lea -1(%eax,%ecx,2), %rcx",
    "addr32 lea (%r8d), %rcx",
    "lea 0x11(%rsp), %rcx",
    "xchgb %ah, %cl",
    "xchgw %ax, %cx",
    "xchgl %eax, %ecx",
    "xchgq %rax, %rcx",
    "xchgl %eax, %r12d",
    "xchgq %r12, %rax",
    "xchgl %ecx, 8(%rbx)",
    "xchgq %rcx, 8(%rbx)",
    "xchgb %ch, 8(%rbx)",
    "nop",
    "cbtw",
    "cwtl",
    "cltq",
    "cwtd",
    "cltd",
    "cqto",
    "movq 8(%rbx,%rdi,8), %rcx",
    "movq -40(%rbx,%rdi,8), %rcx",
    "movl 8(%rbx,%r9,2), %ecx",
    "movl 8(%rbx,%r9,4), %ecx",
    "movq (%rbx,%r13), %rcx",
    "movw 0x300808, %cx",
    "addr32 movl 8(%ebx), %ecx",
    "addr32 movq -8(%ebx,%edi,4), %rcx",
    "movq 0x300800, %rcx",
    "movabsq 0x300808, %rax",
    "movabsq %rax, 0x300810",
    "movabsb 0x300808, %al",
    "movabsl %eax, 0x300810",
    "movl 4(%rbx), %ecx",
    "movq 1(%rbx), %rcx",
  ];
  for (const l of lines) out.push({ asm: l, regs, mem: m });
  for (const v of [0x7fn, 0x80n, 0xff7fn, 0x8000n, 0x7fffffffn, 0x80000000n, 0xffffffff80000000n]) {
    for (const l of ["cbtw", "cwtl", "cltq", "cwtd", "cltd", "cqto"]) {
      out.push({ asm: l, regs: { rax: v | 0x1234560000000000n, rdx: BG } });
    }
  }
  const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
  const flagSets = [0, CF, ZF, SF, OF, PF, SF | OF, ZF | CF, SF | ZF, OF | ZF, STATUS];
  for (const cc of CC) {
    for (const f of flagSets) {
      out.push({ asm: `set${cc} %ah`, regs: { rax: BG }, flags: f });
      out.push({ asm: `cmov${cc}l %ecx, %edx`, regs: { rcx: BG, rdx: ~BG & mask(64) }, flags: f });
      if (f === ZF || f === 0) {
        out.push({ asm: `set${cc} 8(%rbx)`, flags: f, mem: [[8, 0xffn, 1]] });
        out.push({ asm: `cmov${cc}q %rcx, %rdx`, regs: { rcx: BG, rdx: 7n }, flags: f });
        out.push({ asm: `cmov${cc}w %cx, %dx`, regs: { rcx: BG, rdx: ~BG & mask(64) }, flags: f });
        out.push({ asm: `cmov${cc}l 8(%rbx), %edx`, regs: { rdx: BG }, flags: f, mem: [[8, 0x11n, 4]] });
        out.push({ asm: `set${cc} %r10b`, regs: { r10: BG }, flags: f });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- exchange and compare

/** XADD, CMPXCHG in every size, register and memory, equal and not equal. */
export function atomicSpecs(): Spec[] {
  const out: Spec[] = [];
  for (const bits of SIZES) {
    const sfx = SUFFIX[bits];
    for (
      const [a, d, s] of [[5n, 5n, 9n], [5n, 6n, 9n], [mask(bits), mask(bits), 0n], [min(bits), 1n, 2n], [
        0n,
        min(bits),
        3n,
      ]]
    ) {
      const regs: Record<string, bigint> = { rax: BG, rcx: BG, rdx: ~BG & mask(64) };
      put(regs, reg(bits, 0), bits, a);
      put(regs, reg(bits, 2), bits, d);
      put(regs, reg(bits, 1), bits, s);
      out.push({ asm: `cmpxchg${sfx} %${R[bits][1]}, %${R[bits][2]}`, regs });
      out.push({ asm: `cmpxchg${sfx} %${R[bits][1]}, 8(%rbx)`, regs, mem: [[8, d, bits / 8]] });
      out.push({ asm: `lock cmpxchg${sfx} %${R[bits][1]}, 8(%rbx)`, regs, mem: [[8, d, bits / 8]] });
      out.push({ asm: `xadd${sfx} %${R[bits][1]}, %${R[bits][2]}`, regs });
      out.push({ asm: `lock xadd${sfx} %${R[bits][1]}, 8(%rbx)`, regs, mem: [[8, d, bits / 8]] });
      out.push({ asm: `cmpxchg${sfx} %${R[bits][1]}, %${R[bits][0]}`, regs });
    }
  }
  // CMPXCHG8B/16B: equal and unequal halves, with and without LOCK; upper register halves kept or
  // zero-extended (SDM Vol. 2A CMPXCHG8B/CMPXCHG16B).
  const m64 = 0x1122334455667788n;
  for (const lock of ["", "lock "]) {
    for (
      const [eax, edx] of [[0x55667788n, 0x11223344n], [0x55667788n, 0x11223345n], [0x55667789n, 0x11223344n]]
    ) {
      out.push({
        asm: `${lock}cmpxchg8b 8(%rbx)`,
        regs: {
          rax: BG | eax,
          rdx: (~BG & mask(64) & ~mask(32)) | edx,
          rcx: 0xabcdef0123456789n,
          rbx: 0x300800n,
        },
        mem: [[8, m64, 8]],
      });
    }
    const lo = 0x0123456789abcdefn, hi = 0xfedcba9876543210n;
    for (const [rax, rdx] of [[lo, hi], [lo, hi ^ (1n << 63n)], [lo ^ 1n, hi]]) {
      out.push({
        asm: `${lock}cmpxchg16b 16(%rbx)`,
        regs: { rax, rdx, rcx: 0x1111222233334444n, rbx: 0x300800n },
        mem: [[16, lo, 8], [24, hi, 8]],
      });
    }
  }
  out.push({ asm: "xlat", regs: { rax: 0xdeadbeefcafef005n }, mem: [[5, 0x7en, 1]] });
  out.push({ asm: "xlat", regs: { rax: 0x80n, rbx: 0x300800n - 0x70n }, mem: [[0x10, 0x42n, 1]] });
  out.push({ asm: "cmpxchgb %ah, %bh", regs: { rax: 0x1234n, rbx: 0x3412n } });
  out.push({ asm: "cmpxchgb %ah, %bh", regs: { rax: 0x1234n, rbx: 0x3434n } });
  out.push({ asm: "lock addq %rcx, 8(%rbx)", regs: { rcx: 5n }, mem: [[8, 7n, 8]] });
  out.push({ asm: "lock orl $1, 8(%rbx)", mem: [[8, 6n, 8]] });
  out.push({ asm: "lock btsq $3, 8(%rbx)", mem: [[8, 6n, 8]], undef: OF | SF | AF | PF });
  out.push({ asm: "lock incl 8(%rbx)", mem: [[8, 6n, 8]] });
  out.push({ asm: "lock notq 8(%rbx)", mem: [[8, 6n, 8]] });
  out.push({ asm: "lock negw 8(%rbx)", mem: [[8, 6n, 8]] });
  out.push({ asm: "lock xchgq %rcx, 8(%rbx)", regs: { rcx: 5n }, mem: [[8, 6n, 8]] });
  return out;
}

// ---------------------------------------------------------------- strings

/** MOVS STOS LODS CMPS SCAS, single and repeated, both directions, RCX = 0, REPE/REPNE ends. */
export function stringSpecs(): Spec[] {
  const out: Spec[] = [];
  const src: [number, bigint, number][] = [
    [0, 0x0706050403020100n, 8],
    [8, 0x0f0e0d0c0b0a0908n, 8],
    [16, 0x1716151413121110n, 8],
    [24, 0x1f1e1d1c1b1a1918n, 8],
    [64, 0x0706050403020100n, 8],
    [72, 0x0f0e0d0c0bff0908n, 8],
    [80, 0x1716151413121110n, 8],
    [88, 0x1f1e1d1c1b1a1918n, 8],
  ];
  for (const bits of SIZES) {
    const sfx = SUFFIX[bits];
    for (const df of [0, DF]) {
      const base = (off: number) => BigInt(SCRATCH + off + (df ? 24 : 0));
      for (const rcx of [0n, 1n, 3n, 0xffffffff00000002n]) {
        const rep32 = rcx > 0xffffffffn;
        const regs: Record<string, bigint> = {
          rsi: base(0),
          rdi: base(128),
          rcx: rep32 ? 2n : rcx,
          rax: 0x0b0a0908n | BG << 32n,
        };
        const regsCmp: Record<string, bigint> = { ...regs, rdi: base(64) };
        for (const op of ["movs", "stos", "lods", "cmps", "scas"]) {
          const r = op === "cmps" || op === "scas" ? regsCmp : regs;
          if (rcx === 1n) out.push({ asm: `${op}${sfx}`, regs: r, mem: src, flags: df });
          const prefixes = op === "cmps" || op === "scas" ? ["repe", "repne"] : ["rep"];
          for (const p of prefixes) out.push({ asm: `${p} ${op}${sfx}`, regs: r, mem: src, flags: df | ZF });
          if (rcx === 3n) {
            out.push({
              asm: `addr32 rep ${op}${sfx}`,
              regs: { ...r, rcx: 0x100000003n },
              mem: src,
              flags: df,
            });
          }
        }
      }
    }
  }
  // REP MOVS forward over overlapping buffers: a destination just ahead of the source replicates
  // the first elements (each element is read after the one before it was written); one behind
  // the source copies as memmove would.
  for (const bits of SIZES) {
    const sfx = SUFFIX[bits], size = bits / 8;
    for (const d of [1, size, 2 * size + 1, 3 * size, -size, -3]) {
      out.push({
        asm: `rep movs${sfx}`,
        regs: {
          rsi: BigInt(SCRATCH + 40),
          rdi: BigInt(SCRATCH + 40 + d),
          rcx: BigInt(Math.floor(160 / size)),
        },
        mem: src,
      });
    }
    out.push({
      asm: `rep stos${sfx}`,
      regs: { rdi: BigInt(SCRATCH + 3), rcx: BigInt(Math.floor(200 / size)), rax: 0x8877665544332211n },
    });
  }
  // REPE CMPS stops at the first difference, REPNE SCAS at the first match; with the count left over.
  for (const bits of SIZES) {
    const sfx = SUFFIX[bits];
    out.push({
      asm: `repe cmps${sfx}`,
      regs: { rsi: BigInt(SCRATCH), rdi: BigInt(SCRATCH + 64), rcx: 32n },
      mem: src,
    });
    out.push({
      asm: `repne scas${sfx}`,
      regs: { rdi: BigInt(SCRATCH), rcx: 40n, rax: 0x0b0a0908n },
      mem: src,
    });
    out.push({
      asm: `repne scas${sfx}`,
      regs: { rdi: BigInt(SCRATCH), rcx: 5n, rax: 0xeeeeeeeen },
      mem: src,
    });
    out.push({
      asm: `rep stos${sfx}`,
      regs: { rdi: BigInt(SCRATCH + 8), rcx: 9n, rax: 0x8877665544332211n },
    });
    out.push({
      asm: `rep movs${sfx}`,
      regs: { rsi: BigInt(SCRATCH), rdi: BigInt(SCRATCH + 4), rcx: 7n },
      mem: src,
    });
  }
  return out;
}

// ---------------------------------------------------------------- control, stack, flags

/** Jcc JMP CALL RET LOOP JRCXZ PUSH POP PUSHF POPF LEAVE ENTER, flag instructions, LAHF SAHF. */
export function controlSpecs(): Spec[] {
  const out: Spec[] = [];
  const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
  const flagSets = [0, CF, ZF, SF, OF, PF, SF | OF, ZF | CF, SF | ZF, OF | ZF, STATUS];
  for (const cc of CC) {
    for (const f of flagSets) {
      out.push({ asm: `j${cc} .+0x20`, flags: f });
      if (f === 0 || f === STATUS) out.push({ asm: `j${cc} .+0x200`, flags: f });
      if (f === 0 || f === STATUS) out.push({ asm: `j${cc} .-0x80`, flags: f });
    }
  }
  const t = BigInt(0x201040);
  out.push({ asm: "jmp .+0x30" }, { asm: "jmp .-0x300" }, { asm: "jmp .+0x3" });
  out.push({ asm: "jmp *%rcx", regs: { rcx: t } }, { asm: "jmp *%r11", regs: { r11: t } });
  out.push({ asm: "jmp *8(%rbx)", mem: [[8, t, 8]] });
  out.push({ asm: "jmp *8(%rbx,%rcx,8)", regs: { rcx: 2n }, mem: [[24, t, 8]] });
  out.push({ asm: "call .+0x30" }, { asm: "call *%rcx", regs: { rcx: t } }, {
    asm: "call *8(%rbx)",
    mem: [[8, t, 8]],
  });
  out.push({ asm: "call *%rsp", regs: { rsp: t } });
  out.push({ asm: "ret", mem: [[0xc0, t, 8]] }, { asm: "ret $0x10", mem: [[0xc0, t, 8]] });
  out.push({ asm: "ret", regs: { rsp: BigInt(SCRATCH + 0xc0) }, mem: [[0xc0, 0x0000800000000000n, 8]] });
  for (const rcx of [0n, 1n, 2n, 0x100000000n, 0xffffffff00000001n]) {
    for (const f of [0, ZF]) {
      for (const l of ["loop .+0x20", "loope .+0x20", "loopne .+0x20", "jrcxz .+0x20", "jecxz .+0x20"]) {
        out.push({ asm: l, regs: { rcx: rcx }, flags: f });
      }
      out.push({ asm: "addr32 loop .+0x20", regs: { rcx: rcx }, flags: f });
    }
  }
  for (
    const l of [
      "pushq %rcx",
      "pushq %r12",
      "pushw %cx",
      "pushq $-5",
      "pushq $0x12345678",
      "pushw $-5",
      "pushq 8(%rbx)",
      "pushw 8(%rbx)",
      "pushq %rsp",
      "popq %rcx",
      "popq %r12",
      "popw %cx",
      "popq 8(%rbx)",
      "popq (%rsp)",
      "popq %rsp",
      "popw 8(%rbx)",
      "leave",
      "leaveq",
      "enterq $0x20, $0",
      "enterq $0x8, $1",
      "enterq $0x0, $2",
      "pushfq",
      "pushfw",
      "popfq",
      "popfw",
    ]
  ) {
    out.push({
      asm: l,
      regs: { rcx: BG, r12: 0x1122334455667788n, rbp: BigInt(SCRATCH + 0xd0) },
      flags: CF | ZF | OF,
      mem: [[8, 0x8877665544332211n, 8], [0xc0, 0xcd5n, 8], [0xd0, BigInt(SCRATCH + 0xe0), 8]],
    });
  }
  for (const f of [0, STATUS, CF, DF | CF]) {
    for (const l of ["clc", "stc", "cmc", "cld", "std", "lahf", "sahf"]) {
      out.push({ asm: l, flags: f, regs: { rax: 0xffd5n | BG << 16n } });
    }
    out.push({ asm: "sahf", flags: f, regs: { rax: 0x2a00n } });
  }
  return out;
}

// ---------------------------------------------------------------- undefined opcodes, LOCK misuse, prefixes

/** Encodings that must raise #UD, and prefix combinations that must not. */
export function udSpecs(): Spec[] {
  const out: Spec[] = [];
  const ud = [
    "ud2",
    ".byte 0x0f, 0xff",
    ".byte 0x0f, 0x0b",
    ".byte 0xf0, 0x01, 0xc3", // lock add reg, reg
    ".byte 0xf0, 0x90", // lock nop
    ".byte 0xf0, 0x8b, 0x03", // lock mov
    ".byte 0xf0, 0x39, 0x03", // lock cmp
    ".byte 0xf0, 0x85, 0x03", // lock test
    ".byte 0xf0, 0x0f, 0xa3, 0x03", // lock bt
    ".byte 0xf0, 0xff, 0xc0", // lock inc reg
    ".byte 0xf0, 0x0f, 0xc1, 0xc3", // lock xadd reg, reg
    ".byte 0x8d, 0xc0", // lea with a register operand
    ".byte 0x06", // push es: invalid in 64-bit mode
    ".byte 0x27", // daa
    ".byte 0x37", // aaa
    ".byte 0x60", // pusha
    ".byte 0x62, 0x00", // bound (EVEX prefix only with the right bits)
    ".byte 0xd6", // salc
    ".byte 0xc4, 0x00", // les
    ".byte 0xc5, 0x00", // lds
    ".byte 0xce", // into
    ".byte 0x9a, 0, 0, 0, 0, 0, 0", // call far ptr16:32
    ".byte 0xea, 0, 0, 0, 0, 0, 0", // jmp far ptr16:32
    ".byte 0x8c, 0xf8", // mov %?s (sreg 7)
    ".byte 0x8e, 0xc8", // mov to cs
    ".byte 0xfe, 0xd0", // fe /2
    ".byte 0xff, 0xf8", // ff /7
    ".byte 0x0f, 0xb9, 0xc0", // ud1
    ".byte 0xc6, 0xc8, 0x00", // c6 /1
  ];
  for (const l of ud) out.push({ asm: l });
  // Prefixes that are legal and ignored or change size.
  for (
    const l of [
      ".byte 0x2e, 0x01, 0xc8", // cs add
      ".byte 0x3e, 0x48, 0x01, 0xc8", // ds rex.w add
      ".byte 0x66, 0x66, 0x01, 0xc8", // two 66
      ".byte 0x48, 0x66, 0x01, 0xc8", // rex before 66: ignored rex
      ".byte 0x66, 0x48, 0x01, 0xc8", // 66 then rex.w: 64-bit
      ".byte 0x40, 0x48, 0x01, 0xc8", // two rex: last counts
      ".byte 0xf3, 0x01, 0xc8", // rep add: ignored
      ".byte 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00", // nopw
      ".byte 0x0f, 0x1f, 0x80, 0, 0, 0, 0",
      ".byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0",
      ".byte 0x66, 0x90", // xchg ax, ax
      ".byte 0xf3, 0x90", // pause
      ".byte 0x41, 0x90", // xchg rax, r8... (41 90 is xchg %eax, %r8d)
      ".byte 0x48, 0x90", // rex.w nop
      ".byte 0x66, 0x98", // cbw
      ".byte 0x66, 0x99", // cwd
      ".byte 0x67, 0x8d, 0x04, 0x48", // lea (%eax,%ecx,2), %eax
      ".byte 0x66, 0xb8, 0x34, 0x12", // mov $0x1234, %ax
      ".byte 0x66, 0x05, 0x34, 0x12", // add $0x1234, %ax
      ".byte 0x66, 0x6a, 0xff", // pushw $-1
      ".byte 0x66, 0x68, 0x34, 0x12", // pushw $0x1234
      ".byte 0x66, 0x50", // pushw %ax
      ".byte 0x66, 0x0f, 0xb6, 0xc1", // movzbw %cl, %ax
      ".byte 0x0f, 0x18, 0x00", // prefetchnta
      ".byte 0x0f, 0x1f, 0xc0", // nop with a register operand
      ".byte 0xf3, 0x0f, 0x1e, 0xfa", // endbr64
      ".byte 0x0f, 0xae, 0xe8", // lfence
      ".byte 0x0f, 0xae, 0xf0", // mfence
      ".byte 0x0f, 0xae, 0xf8", // sfence
      ".byte 0x0f, 0x0d, 0x08", // prefetchw
    ]
  ) {
    out.push({ asm: l, regs: { rax: 0x8000000080008000n, rcx: 0x80018001n, rdx: BG } });
  }
  out.push({
    asm: ".byte 0x66, 0x0f, 0xaf, 0xc1",
    regs: { rax: 0x8000n, rcx: 0x8001n },
    undef: SF | ZF | AF | PF,
  });
  return out;
}

// ---------------------------------------------------------------- lazy flags across instructions

/**
 * Short sequences (at most 15 bytes) where one instruction consumes flags another produced, so
 * the lazily evaluated flags are read after other instructions ran: INC/DEC keep CF, ADC/SBB
 * chains (as gcc emits for __int128), SETcc/CMOVcc/Jcc/LAHF/PUSHF/RCL after ALU, shift, MUL, BT.
 */
export function chainSpecs(): Spec[] {
  const out: Spec[] = [];
  const seqs: [string, number][] = [
    ["addq %rcx, %rdx; incq %rdi; adcq %rax, %rbx; setc %sil", 0],
    ["subq %rcx, %rdx; decl %edi; sbbq %rax, %rbx; setb %sil", 0],
    ["addq %rcx, %rax; adcq %rdx, %rbx; sbbq %rsi, %rsi", 0],
    ["subq %rcx, %rax; sbbq %rdx, %rbx; adcq $0, %rsi", 0],
    ["negq %rax; adcq $0, %rdx; negq %rdx; setc %cl", 0],
    ["cmpl %ecx, %eax; seta %sil; setl %dil; setbe %bl", 0],
    ["cmpb %cl, %al; lahf; adcb $1, %dl", 0],
    ["testq %rcx, %rax; cmovnsq %rdx, %rbx; cmovpq %rcx, %rdi", AF],
    ["shlq $1, %rax; rclq $1, %rdx; setc %cl; seto %bl", AF], // AF: undefined by SHL, kept by RCL
    ["shrq %cl, %rax; adcq $0, %rdx; setz %bl", AF | OF],
    ["imulq %rcx, %rax; setc %dl; seto %bl; adcq $0, %rsi", SF | ZF | AF | PF],
    ["btq $7, %rax; adcq $0, %rdx; cmc; sbbq %rsi, %rsi", OF | SF | AF | PF],
    ["incb %al; jz .+4; movb $1, %bl; nop; setnz %cl", 0],
    ["addl %ecx, %eax; pushfq; popq %rdx; andl $0x8d5, %edx", 0],
    ["xorl %eax, %eax; stc; adcl %ecx, %eax; decl %ecx; setc %dl", 0],
    ["sarq $63, %rax; adcq %rax, %rdx; setg %bl", AF],
    ["mulq %rcx; adcq %rdx, %rsi; setc %bl", SF | ZF | AF | PF],
    ["bsfq %rcx, %rax; setz %bl; cmovzq %rsi, %rdi", CF | OF | SF | AF | PF],
    ["cmpq %rcx, %rax; leaq 1(%rax), %rdx; jae .+3; notq %rdx", 0],
    ["subb %ah, %al; sahf; setc %cl; setp %dl", 0],
  ];
  const vals: [bigint, bigint, bigint][] = [
    [0n, 0n, 0n],
    [0xffffffffffffffffn, 1n, 0xffffffffffffffffn],
    [0x8000000000000000n, 0x8000000000000000n, 1n],
    [0x7fffffffffffffffn, 0xffffffffffffffffn, 0x8000000000000000n],
    [0x00000000ffffffffn, 0xffffffff00000001n, 2n],
    [0x80n, 0x7fn, 0x1n],
    [fixed(64, 50), fixed(64, 51), fixed(64, 52)],
    [fixed(64, 53), fixed(64, 54) | 1n, fixed(64, 55)],
    [0x1234n, 0x40n, 0xffffffffffffff00n],
  ];
  for (const [seq, undef] of seqs) {
    vals.forEach(([a, c, d], k) => {
      for (const cf of [0, CF]) {
        out.push({
          asm: seq,
          regs: { rax: a, rcx: c, rdx: d, rbx: fixed(64, 60 + k), rsi: fixed(64, 70 + k), rdi: d ^ a },
          flags: cf | (k % 2 ? ZF | SF : OF),
          undef,
          undefRegs: seq.startsWith("bsfq") && c === 0n ? { rax: mask(64) } : undefined,
        });
      }
    });
  }
  return out;
}

/** Every family, by fixture name. */
export const FAMILIES: Record<string, () => Spec[]> = {
  alu: aluSpecs,
  unary: unarySpecs,
  shift: shiftSpecs,
  muldiv: muldivSpecs,
  bit: bitSpecs,
  mov: movSpecs,
  atomic: atomicSpecs,
  string: stringSpecs,
  control: controlSpecs,
  ud: udSpecs,
  chain: chainSpecs,
};

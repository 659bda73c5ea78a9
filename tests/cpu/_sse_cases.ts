/**
 * The SSE test cases the compiled forms are checked on, against the interpreter: edge values of
 * binary64 and binary32 (zeros of both signs, denormals, infinities, quiet and signalling NaNs,
 * rounding ties, values out of an integer's range), 128-bit patterns with the top bits of bytes,
 * words and dwords set, MXCSR settings, and a CPU to run them on.
 */

import { type Cpu, CR4_OSFXSR, CR4_OSXMMEXCPT } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";

/** One run's initial state: XMM registers (128-bit), MXCSR, RAX, RCX and the scratch bytes. */
export interface Case {
  xmm: bigint[];
  mxcsr: number;
  rax?: bigint;
  rcx?: bigint;
  scratch: Uint8Array;
}

/**
 * A CPU with SSE enabled (CR4.OSFXSR, OSXMMEXCPT) and `code` then INT3 loaded; `compiled`: every
 * block compiled at once, by the JavaScript compiler or (`backend` "wasm") the WebAssembly backend.
 */
export function sseCpu(
  code: Uint8Array,
  compiled: boolean,
  extraPages: number[] = [],
  backend: "js" | "wasm" = "js",
): Cpu {
  const cpu = makeCpu(extraPages, backend === "wasm");
  cpu.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  cpu.compileThreshold = compiled ? 1 : Infinity;
  load(cpu, { code });
  return cpu;
}

/** Runs `c` from the start of the code (the compiled blocks kept); returns everything it can change. */
export function runCase(cpu: Cpu, c: Case, scratchAt = SCRATCH_ADDR): string {
  for (let r = 0; r < 16; r++) cpu.setReg64(r, 0n);
  cpu.setReg64(0, c.rax ?? 0n);
  cpu.setReg64(1, c.rcx ?? 0n);
  cpu.setReg64(3, BigInt(scratchAt));
  cpu.setRflags(2);
  cpu.rip = CODE_ADDR;
  cpu.halted = false;
  cpu.icount = 0;
  cpu.shadowEnd = 0;
  for (let r = 0; r < 16; r++) cpu.fpu.setXmmBig(r, c.xmm[r] ?? 0n);
  cpu.fpu.mxcsr = c.mxcsr;
  cpu.mem.set(c.scratch, scratchAt);
  const out = go(cpu);
  const xmm = [...Array(16).keys()].map((r) => cpu.fpu.xmmBig(r).toString(16));
  const mem = [...cpu.mem.subarray(scratchAt, scratchAt + c.scratch.length)];
  return JSON.stringify(
    { ...out, xmm, mxcsr: cpu.fpu.mxcsr, mem },
    (_k, v) => typeof v === "bigint" ? v.toString(16) : v,
  );
}

/** A JSON replacer printing bigints in hex and byte arrays as arrays. */
export const hexer = (_k: string, v: unknown) =>
  typeof v === "bigint" ? "0x" + v.toString(16) : v instanceof Uint8Array ? [...v] : v;

/** Little-endian bytes of `v` (`n` bytes). */
export function bytesOf(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = Number((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** The binary64 bit pattern of `x`. */
export const bits64 = (x: number) => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  return dv.getBigUint64(0, true);
};
/** The binary32 bit pattern of `x` (rounded to binary32). */
export const bits32 = (x: number) => {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return BigInt(dv.getUint32(0, true));
};

/** binary64 edge values as bit patterns. */
export const DOUBLES: bigint[] = [
  ...[0, 1, -1, 1.5, 2.5, -2.5, 0.5, -0.5, 3, 0.1, 1 / 3, 1e300, -1e300, 1e-300, 1.0000000000000002].map(
    bits64,
  ),
  ...[2147483647.5, 2147483648, -2147483648.5, -2147483649, 9223372036854775807, -9223372036854775808].map(
    bits64,
  ),
  ...[1e19, 4503599627370497, 3.4028235677973366e38, 1.1754942807573643e-38, 1e-40, 1e-46].map(bits64),
  0x8000000000000000n, // -0
  0x3fefffffffffffffn, // 1 - 2^-53: times the smallest normal, tiny but rounded up to it
  0x7fefffffffffffffn, // largest finite
  0x0010000000000000n, // smallest normal
  0x000fffffffffffffn, // largest denormal
  0x0000000000000001n, // smallest denormal
  0x7ff0000000000000n, // +inf
  0xfff0000000000000n, // -inf
  0x7ff8000000000000n, // default-like QNaN
  0xfff8000000000001n, // negative QNaN with payload
  0x7ff0000000000001n, // SNaN
];

/** binary32 edge values as bit patterns. */
export const FLOATS: bigint[] = [
  ...[0, 1, -1, 1.5, 2.5, -2.5, 0.5, 3, 0.1, 16777217, 2147483648, -2147483648, 1e30, -1e-30].map(bits32),
  0x80000000n, // -0
  0x7f7fffffn, // largest finite
  0x00800000n, // smallest normal
  0x007fffffn, // largest denormal
  0x00000001n, // smallest denormal
  0x7f800000n, // +inf
  0xff800000n, // -inf
  0x7fc00000n, // QNaN
  0x7f800001n, // SNaN
];

/** MXCSR values: default (PE clear), PE set, PE set with rounding up, DAZ|FTZ with PE set. */
export const MXCSRS = [0x1f80, 0x1fa0, 0x5fa0, 0x9fe0];
/** The upper bits of an operand register, which scalar forms must keep. */
export const UPPER = 0xdeadbeef_01234567_00000000_00000000n;

/** Cases for a scalar binary form on xmm1 (`a`) and xmm2 or [rbx] (`b`), every pair of `values`. */
export function scalarCases(values: bigint[], bytes: number, mxcsrs = MXCSRS): Case[] {
  const out: Case[] = [];
  for (const mxcsr of mxcsrs) {
    for (const a of values) {
      for (const b of values) {
        out.push({ xmm: [0n, UPPER | a, UPPER | b, 0x55n], mxcsr, scratch: bytesOf(b, bytes) });
      }
    }
  }
  return out;
}

/** Cases for a packed form on xmm1 and xmm2 or [rbx]: lanes of every pair of `values`, mixed across lanes. */
export function packedCases(values: bigint[], bytes: number, mxcsrs = MXCSRS): Case[] {
  const out: Case[] = [];
  const join = (lanes: bigint[]) => lanes.reduce((v, x, k) => v | (x << BigInt(8 * bytes * k)), 0n);
  const n = 16 / bytes;
  for (const mxcsr of mxcsrs) {
    for (const a of values) {
      for (const b of values) {
        const x = join([a, b, b, a].slice(0, n)), y = join([b, a, values[3], b].slice(0, n));
        out.push({ xmm: [0n, x, y, 0x55n], mxcsr, scratch: bytesOf(y, 16) });
      }
    }
  }
  return out;
}

/** 128-bit patterns for the integer forms: edges of bytes, words and dwords, and pseudo-random ones. */
export function vectors(): bigint[] {
  const out = [
    0n,
    (1n << 128n) - 1n,
    0x80808080_80808080_80808080_80808080n,
    0x7f7f7f7f_7f7f7f7f_7f7f7f7f_7f7f7f7fn,
    0x80008000_7fff7fff_ffff0000_00010001n,
    0x80000000_7fffffff_ffffffff_00000001n,
    0x00ff00ff_ff00ff00_01fe01fe_fe01fe01n,
    0x8000000000000000_7fffffffffffffffn,
  ];
  let s = 0x9e3779b97f4a7c15n;
  for (let k = 0; k < 8; k++) {
    let v = 0n;
    for (let w = 0; w < 2; w++) {
      s ^= (s << 13n) & 0xffffffffffffffffn;
      s ^= s >> 7n;
      s ^= (s << 17n) & 0xffffffffffffffffn;
      v = (v << 64n) | s;
    }
    out.push(v);
  }
  // Equal bytes in some lanes, for the compares.
  out.push(out[9] ^ 0xff0000ff_00000000_0000ff00_00ff0000n, out[9]);
  return out;
}

/** Cases for a 128-bit form on xmm1 and xmm2 or [rbx] (16-byte aligned), every pair of vectors. */
export function vectorCases(): Case[] {
  const vs = vectors(), out: Case[] = [];
  for (const a of vs) {
    for (const b of vs) out.push({ xmm: [0n, a, b, a ^ b], mxcsr: 0x1f80, scratch: bytesOf(b, 32) });
  }
  return out;
}

/** The SSE move forms (register, load and store; aligned and not) both compilers' tests run. */
export const SSE_MOVE_FORMS: readonly string[] = [
  "movdqa xmm3, xmm2",
  "movdqa xmm3, [rbx+16]",
  "movdqa [rbx+16], xmm2",
  "movdqu xmm4, [rbx+1]",
  "movdqu [rbx+3], xmm1",
  "movaps xmm6, xmm2",
  "movaps xmm6, [rbx]",
  "movaps [rbx], xmm1",
  "movups xmm8, [rbx+5]",
  "movups [rbx+7], xmm2",
  "movapd xmm10, [rbx]",
  "movapd xmm10, xmm1",
  "movupd [rbx+9], xmm2",
  "movupd xmm15, [rbx+2]",
  "movsd xmm1, xmm2",
  "movsd xmm3, [rbx+8]",
  "movsd [rbx+8], xmm2",
  "movsd xmm2, xmm2",
  "movss xmm1, xmm2",
  "movss xmm5, [rbx+4]",
  "movss [rbx+12], xmm2",
  "movq xmm1, xmm2",
  "movq xmm2, xmm2",
  "movq xmm3, [rbx]",
  "movq [rbx+8], xmm2",
  "movq xmm5, rax",
  "movq rcx, xmm2",
  "movq r12, xmm1",
  "movd xmm7, eax",
  "movd ecx, xmm2",
  "movd r13d, xmm1",
  "movd xmm9, [rbx+4]",
  "movd [rbx+4], xmm2",
  "movq xmm11, qword ptr [rbx]",
  "movdqa xmm0, xmm1\nmovdqa xmm1, xmm2\nmovdqa xmm2, xmm0\npxor xmm0, xmm0",
];

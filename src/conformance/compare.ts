/**
 * Compares two runners' results for one case, ignoring exactly what the SDM leaves undefined.
 * @module
 */

import { CASE_FLAGS, type CaseResult, REG_NAMES, SCRATCH_ADDR, type TestCase } from "./case.ts";

/** Results that are a runner's own failure rather than an architectural outcome. */
export const RUNNER_FAILURES = ["timeout", "crash", "error"];

/** One field in which two results differ. */
export interface Difference {
  /** `exception`, a register name, `rip`, `rflags`, or `mem[0xOFF]` (scratch offset). */
  field: string;
  /** The first result's value (hex, or the exception name; `-` for none). */
  a: string;
  /** The second result's value. */
  b: string;
}

/**
 * Lists the differences between two results of `c`: the exception (if either raised one, nothing
 * else is compared), then the 16 registers, RIP, RFLAGS (status flags and DF) and the scratch bytes,
 * each masked by what `c.undef` marks undefined. An empty list means the results agree.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareResults } from "./compare.ts";
 * const c = { undef: { flags: 0x10 } } as never;
 * const r = (f: string) => ({ id: "1", regs: {}, rip: "0x1", rflags: f, mem: "" }) as never;
 * assert.deepEqual(compareResults(c, r("0x12"), r("0x2")), []); // AF undefined: ignored
 * assert.equal(compareResults(c, r("0x3"), r("0x2")).length, 1); // CF differs
 * ```
 */
export function compareResults(c: TestCase, a: CaseResult, b: CaseResult): Difference[] {
  if (a.exception !== undefined || b.exception !== undefined) {
    if (a.exception === b.exception && !RUNNER_FAILURES.includes(a.exception!)) {
      // A SIMD floating-point exception leaves its flags in MXCSR (SDM Vol. 1 §11.5.1).
      if (a.exception === "XM" && c.mxcsr !== undefined && Number(a.mxcsr) !== Number(b.mxcsr)) {
        return [{ field: "mxcsr", a: hexOf(a.mxcsr), b: hexOf(b.mxcsr) }];
      }
      return [];
    }
    return [{ field: "exception", a: describe(a), b: describe(b) }];
  }
  const out: Difference[] = [];
  if (c.xmm !== undefined) {
    for (let r = 0; r < 16; r++) {
      const x = xmmOf(a.xmm, r), y = xmmOf(b.xmm, r);
      const ap = c.undef.approx;
      if (x !== y && !(ap?.xmm === r && approxEqual(x, y, ap.lanes))) {
        out.push({ field: `xmm${r}`, a: x, b: y });
      }
    }
    if (Number(a.mxcsr ?? -1) !== Number(b.mxcsr ?? -1)) {
      out.push({ field: "mxcsr", a: hexOf(a.mxcsr), b: hexOf(b.mxcsr) });
    }
  }
  if (c.x87 !== undefined) out.push(...compareX87(c, a.x87, b.x87));
  for (const r of REG_NAMES) {
    const mask = ~BigInt(c.undef.regs?.[r] ?? 0) & 0xffffffffffffffffn;
    const x = BigInt(a.regs?.[r] ?? -1) & mask;
    const y = BigInt(b.regs?.[r] ?? -1) & mask;
    if (x !== y) out.push({ field: r, a: hexOf(a.regs?.[r]), b: hexOf(b.regs?.[r]) });
  }
  if (BigInt(a.rip ?? -1) !== BigInt(b.rip ?? -1)) {
    out.push({ field: "rip", a: hexOf(a.rip), b: hexOf(b.rip) });
  }
  const fm = CASE_FLAGS & ~c.undef.flags;
  if ((Number(a.rflags) & fm) !== (Number(b.rflags) & fm)) {
    out.push({ field: "rflags", a: flagsText(Number(a.rflags)), b: flagsText(Number(b.rflags)) });
  }
  const ma = a.mem ?? "";
  const mb = b.mem ?? "";
  const memMask = new Map<number, number>();
  for (const [off, m] of c.undef.mem ?? []) memMask.set(off, (memMask.get(off) ?? 0) | m);
  for (let i = 0; i < Math.max(ma.length, mb.length) / 2; i++) {
    const x = parseInt(ma.slice(2 * i, 2 * i + 2) || "-1", 16);
    const y = parseInt(mb.slice(2 * i, 2 * i + 2) || "-1", 16);
    const m = ~(memMask.get(i) ?? 0) & 0xff;
    if ((x & m) !== (y & m) || Number.isNaN(x) !== Number.isNaN(y)) {
      out.push({
        field: `mem[0x${i.toString(16)}]`,
        a: Number.isNaN(x) ? "-" : "0x" + x.toString(16),
        b: Number.isNaN(y) ? "-" : "0x" + y.toString(16),
      });
    }
  }
  return out;
}

/**
 * Whether two XMM values (0x hex) agree when binary32 lanes below `lanes` are the SDM's bounded
 * approximations (RCP, RSQRT: each within 1.5 * 2^-12 of the true value, so within 3 * 2^-12 of each
 * other; a result near the smallest normal may be flushed to zero or not) and the other lanes exact.
 */
export function approxEqual(x: string, y: string, lanes: number): boolean {
  if (x === "-" || y === "-") return false;
  const dv = new DataView(new ArrayBuffer(4));
  const f = (bits: number) => {
    dv.setUint32(0, bits);
    return dv.getFloat32(0);
  };
  for (let k = 0; k < 4; k++) {
    const at = 2 + 8 * (3 - k);
    const a = parseInt(x.slice(at, at + 8), 16), b = parseInt(y.slice(at, at + 8), 16);
    if (a === b) continue;
    if (k >= lanes) return false;
    const u = f(a), v = f(b);
    if (Number.isNaN(u) || Number.isNaN(v) || (u < 0) !== (v < 0) && u !== 0 && v !== 0) return false;
    if (!Number.isFinite(u) || !Number.isFinite(v)) return false;
    const tiny = 2 ** -125;
    if ((u === 0 && Math.abs(v) < tiny) || (v === 0 && Math.abs(u) < tiny)) continue;
    if (Math.abs(u - v) > 3 * 2 ** -12 * Math.max(Math.abs(u), Math.abs(v))) return false;
  }
  return true;
}

/**
 * The differences of two final x87 states (case.ts `x87`): FCW, FSW (less the bits the case marks
 * undefined), the tag word, and ST0-ST7, each within the case's ulp tolerance.
 */
export function compareX87(c: TestCase, a: string | undefined, b: string | undefined): Difference[] {
  if (a === undefined || b === undefined || a.length !== 172 || b.length !== 172) {
    return a === b ? [] : [{ field: "x87", a: a ?? "-", b: b ?? "-" }];
  }
  const out: Difference[] = [];
  const word = (s: string, k: number) =>
    parseInt(s.slice(2 * k + 2, 2 * k + 4) + s.slice(2 * k, 2 * k + 2), 16);
  const swMask = ~(c.undef.x87?.sw ?? 0) & 0xffff;
  const names = ["fcw", "fsw", "ftw"];
  for (let k = 0; k < 3; k++) {
    const m = k === 1 ? swMask : 0xffff;
    if ((word(a, 2 * k) & m) !== (word(b, 2 * k) & m)) {
      out.push({
        field: names[k],
        a: "0x" + word(a, 2 * k).toString(16),
        b: "0x" + word(b, 2 * k).toString(16),
      });
    }
  }
  const ulp = BigInt(c.undef.x87?.ulp ?? 0);
  for (let i = 0; i < 8; i++) {
    const x = stOf(a, i), y = stOf(b, i);
    if (x === y) continue;
    if (ulp > 0n && x >> 79n === y >> 79n) {
      const d = extOrdinal(x) - extOrdinal(y);
      if (d >= -ulp && d <= ulp) continue;
    }
    out.push({ field: `st${i}`, a: "0x" + x.toString(16), b: "0x" + y.toString(16) });
  }
  return out;
}

/** ST(i) of an x87 state string as an 80-bit integer (sign and exponent above the significand). */
export function stOf(x87: string, i: number): bigint {
  let v = 0n;
  for (let k = 9; k >= 0; k--) {
    v = (v << 8n) | BigInt(parseInt(x87.slice(12 + 20 * i + 2 * k, 14 + 20 * i + 2 * k), 16));
  }
  return v;
}

/**
 * The position of an 80-bit value's magnitude among the extended values (consecutive values differ
 * by 1, denormals and the smallest normals included), for ulp distances; unsupported encodings have
 * no position of their own and compare as their bits.
 */
function extOrdinal(v: bigint): bigint {
  const exp = (v >> 64n) & 0x7fffn, sig = v & 0xffffffffffffffffn;
  if (exp === 0n || sig >> 63n === 0n) return sig | (exp << 64n);
  return exp * (1n << 63n) + (sig - (1n << 63n));
}

/** XMM register `r` of a case's or result's `xmm` bytes as 0x hex (most significant first), or `-`. */
export function xmmOf(xmm: string | undefined, r: number): string {
  if (xmm === undefined || xmm.length < 32 * (r + 1)) return "-";
  let s = "";
  for (let k = 15; k >= 0; k--) s += xmm.slice(32 * r + 2 * k, 32 * r + 2 * k + 2);
  return "0x" + s;
}

function describe(r: CaseResult): string {
  if (r.exception === undefined) return "completed";
  return r.detail ? `${r.exception} (${r.detail})` : `#${r.exception}`;
}

function hexOf(v: string | undefined): string {
  return v === undefined ? "-" : "0x" + BigInt(v).toString(16);
}

const FLAG_LETTERS: [number, string][] = [[0x800, "O"], [0x400, "D"], [0x80, "S"], [0x40, "Z"], [0x10, "A"], [
  0x4,
  "P",
], [0x1, "C"]];

/** RFLAGS as hex plus the set case flags, e.g. `0x246 [ZP]`. */
export function flagsText(v: number): string {
  return `0x${v.toString(16)} [${FLAG_LETTERS.filter(([b]) => v & b).map(([, l]) => l).join("")}]`;
}

/** The scratch-area address of a `mem[0x..]` field, for reports. */
export function memFieldAddress(field: string): number | undefined {
  const m = /^mem\[0x([0-9a-f]+)\]$/.exec(field);
  return m ? SCRATCH_ADDR + parseInt(m[1], 16) : undefined;
}

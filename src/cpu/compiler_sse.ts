/**
 * The block compiler's templates for the SSE/SSE2 forms that gcc's default code generation runs on
 * hot paths: the 128-, 64- and 32-bit moves (MOVDQA/MOVDQU/MOVAPS/MOVUPS/MOVAPD/MOVUPD, MOVSD,
 * MOVSS, MOVD, MOVQ), the logic operations (PAND/PANDN/POR/PXOR and the PS/PD forms), PADD/PSUB
 * B/W/D/Q, PCMPEQB/W/D and PCMPGTD, PMOVMSKB, PSHUFD, the unpacks, the shifts by an immediate, and
 * scalar floating point: ADD/SUB/MUL/DIV/SQRT SD and SS, CVTSI2SD/SS, CVT(T)SD2SI and CVT(T)SS2SI,
 * CVTSD2SS, CVTSS2SD, COMISD/UCOMISD/COMISS/UCOMISS.
 *
 * Every template gives exactly the handler's result (ops/sse_move.ts, sse_int.ts, sse_fp.ts):
 *
 * - The enabling checks (CR0.EM, CR0.TS, CR4.OSFXSR): each template starts with the marker
 *   {@link SSE_GUARD}, which the compiler turns into the check once per stretch of a block that no
 *   handler call interrupts (only a handler can change CR0 or CR4); when it fails, the handler runs
 *   at that instruction and raises the fault.
 * - Floating point takes the interpreter's own fast case (sse_fp.ts): MXCSR with round to nearest
 *   and the precision flag already set and masked, operands normal or zero, and a result that
 *   raises no other flag (normal, or a zero that no underflow made). Then JavaScript's binary64
 *   arithmetic is IEEE 754's (binary32 through `Math.fround`, exact for one operation on binary32
 *   operands), and MXCSR does not change. Anything else (the first inexact result while PE is
 *   still clear, NaNs, denormals, infinities, overflow, underflow, other rounding modes, unmasked
 *   exceptions) calls the handler, which takes the exact path. A memory operand is read inline
 *   only on a software-TLB hit (plain RAM), so when the handler runs instead it does the only
 *   access that reaches a device.
 *
 * A template calls the handler where it writes {@link SSE_SLOW}; the compiler puts there the call
 * with the state a handler sees (RIP, the instruction count, the registers written back), so the
 * register forms stay pure: a handler that returns leaves the state as the template would.
 *
 * @module
 */

import type { Insn } from "./insn.ts";
import { TLB_MASK } from "./cpu.ts";
import { CR0_EM, CR0_TS, CR4_OSFXSR } from "./registers.ts";
import { MX_PE, MX_RC_SHIFT } from "./fpu_state.ts";
import { OP_ADD, OP_DIV, OP_SQRT, OP_SUB } from "./softfloat.ts";
import * as sm from "./ops/sse_move.ts";
import * as si from "./ops/sse_int.ts";
import * as sf from "./ops/sse_fp.ts";
import { load128, store128, T_SRC } from "./ops/_sse.ts";

/** Marks the start of an SSE template: the place of the enabling checks. */
export const SSE_GUARD = "/*SSE*/";

/** Marks where a template runs the instruction's handler instead (its slow path). */
export const SSE_SLOW = "$SLOW";

/** The condition under which an SSE instruction faults (#UD or #NM) instead of running (see `sseCheck`). */
export const SSE_OFF = `((c.cr0 & ${CR0_EM | CR0_TS}) !== 0 || (c.cr4 & ${CR4_OSFXSR}) === 0)`;

/** What the templates need from the compiler: the linear address of a memory operand and GPR-width accesses. */
export interface MemoryCode {
  /** JavaScript computing the operand's linear address into `lin` (with its faults), or null (handler). */
  linear(i: Insn): string | null;
  /** JavaScript reading `size` bytes at `addr` and passing them (low, high half) to `use`. */
  read(addr: string, size: number, use: (lo: string, hi: string) => string): string;
  /** JavaScript writing `size` bytes (`lo`, `hi`) at `addr`. */
  write(addr: string, size: number, lo: string, hi: string): string;
}

/** The functions the templates call, by the names they use. */
export const SSE_HELPERS: Record<string, unknown> = { load128, store128 };

/** CPU state the templates use, as prologue declarations. */
export const SSE_FIELDS: string[] = [
  "X4 = c.fpu.xmm",
  "XD = c.fpu.xmmF64",
  "XS = c.fpu.xmmF32",
  "FP = c.fpu",
  "G = c.gpr",
];

/** MXCSR bits the floating-point fast case looks at (RC, PE, PM) and the values it needs (sse_fp.ts). */
const FAST_BITS = (3 << MX_RC_SHIFT) | MX_PE | (MX_PE << 7);
const FAST_OK = MX_PE | (MX_PE << 7);
const MIN_NORMAL_D = 2.2250738585072014e-308;
const MIN_NORMAL_S = 1.1754943508222875e-38;
const MAX_S = 3.4028234663852886e38;

/** XMM register `r`'s dword `k` (0..3). */
const lane = (r: number, k: number) => `X4[${4 * r + k}]`;

/** Code copying XMM register `from` to XMM register `to` (the lanes as the compiler keeps them). */
const copyCode = (to: number, from: number) =>
  [0, 1, 2, 3].map((k) => `${lane(to, k)} = ${lane(from, k)};`).join(" ");

/**
 * Code loading 16 bytes at `lin` into XMM register `r`: the TLB's hit path inline, else `load128`
 * (through the scratch register, which stays in the register file while XMM0-15 may be in locals).
 */
function load128Code(r: number): string {
  const put = [0, 1, 2, 3].map((k) => `${lane(r, k)} = dv.getUint32(p + ${4 * k}, true);`).join(" ");
  const miss = r === T_SRC
    ? `load128(c, lin, ${r});`
    : `{ load128(c, lin, ${T_SRC}); ${copyCode(r, T_SRC)} }`;
  return `{ const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (rTag[s] === vpn && off <= 4080) { const p = rHpa[s] + off; ${put} } else ${miss} }`;
}

/** Code storing XMM register `r` to the 16 bytes at `lin`: the TLB's hit path inline, else `store128` (as above). */
function store128Code(r: number): string {
  const put = [0, 1, 2, 3].map((k) => `dv.setUint32(p + ${4 * k}, ${lane(r, k)}, true);`).join(" ");
  return `{ const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (wTag[s] === vpn && off <= 4080) { const p = wHpa[s] + off; ${put} } ` +
    `else { ${copyCode(T_SRC, r)} store128(c, lin, ${T_SRC}); } }`;
}

/** The linear address of a 16-byte operand, with the #GP(0) of the aligned forms. */
function addr128(i: Insn, mem: MemoryCode, aligned: boolean): string | null {
  const lin = mem.linear(i);
  if (lin === null) return null;
  return aligned ? `${lin} if ((lin & 15) !== 0) c.gp0();` : lin;
}

/**
 * A template computing into XMM register `i.reg` from a 128-bit source (`src128`'s rules: a
 * memory operand must be 16-byte aligned): `body(s)` with `s` the register holding the source.
 */
function withSrc128(i: Insn, mem: MemoryCode, body: (s: number) => string): string | null {
  if (!i.mem) return `${SSE_GUARD}{ ${body(i.rm)} }`;
  const a = addr128(i, mem, true);
  return a === null ? null : `${SSE_GUARD}{ ${a} ${load128Code(T_SRC)} ${body(T_SRC)} }`;
}

/** Data movement: MOVAPS .. MOVDQU, MOVSS, MOVSD, MOVQ, MOVD. */
function moveTemplate(i: Insn, mem: MemoryCode): string | null | undefined {
  const h = i.h, d = i.reg;
  const copy = (to: number, from: number, n: number) =>
    to === from ? "" : [...Array(n).keys()].map((k) => `${lane(to, k)} = ${lane(from, k)};`).join(" ");
  if (h === sm.movXE || h === sm.movEX) {
    if (!i.mem) return SSE_GUARD + (h === sm.movXE ? copy(d, i.rm, 4) : copy(i.rm, d, 4));
    const a = addr128(i, mem, i.op === 1);
    if (a === null) return null;
    return `${SSE_GUARD}{ ${a} ${h === sm.movXE ? load128Code(d) : store128Code(d)} }`;
  }
  const zero = (from: number) =>
    [...Array(4 - from).keys()].map((k) => `${lane(d, from + k)} = 0;`).join(" ");
  if (h === sm.movssXE || h === sm.movsdXE) {
    const n = h === sm.movssXE ? 1 : 2;
    if (!i.mem) return SSE_GUARD + copy(d, i.rm, n) + (h === sm.movsdXE && i.op === 1 ? ` ${zero(2)}` : "");
    const lin = mem.linear(i);
    if (lin === null) return null;
    return `${SSE_GUARD}{ ${lin} ${
      mem.read("lin", 4 * n, (lo, hi) => `${lane(d, 0)} = ${lo};${n === 2 ? ` ${lane(d, 1)} = ${hi};` : ""}`)
    } ${zero(n)} }`;
  }
  if (h === sm.movssEX || h === sm.movsdEX) {
    const n = h === sm.movssEX ? 1 : 2;
    if (!i.mem) {
      return SSE_GUARD + (i.rm === d ? "" : copy(i.rm, d, n)) +
        (h === sm.movsdEX && i.op === 1 ? ` ${lane(i.rm, 2)} = 0; ${lane(i.rm, 3)} = 0;` : "");
    }
    const lin = mem.linear(i);
    if (lin === null) return null;
    return `${SSE_GUARD}{ ${lin} ${mem.write("lin", 4 * n, lane(d, 0), n === 2 ? lane(d, 1) : "0")} }`;
  }
  if (h === sm.movdXE) {
    const put = (lo: string, hi: string) =>
      `${lane(d, 0)} = ${lo}; ${lane(d, 1)} = ${i.size === 8 ? hi : "0"}; ${zero(2)}`;
    if (!i.mem) return `${SSE_GUARD}{ ${put(`g[${2 * i.rm}]`, `g[${2 * i.rm + 1}]`)} }`;
    const lin = mem.linear(i);
    return lin === null ? null : `${SSE_GUARD}{ ${lin} ${mem.read("lin", i.size, put)} }`;
  }
  if (h === sm.movdEX) {
    if (!i.mem) {
      return `${SSE_GUARD}g[${2 * i.rm}] = ${lane(d, 0)}; g[${2 * i.rm + 1}] = ${
        i.size === 8 ? lane(d, 1) : "0"
      };`;
    }
    const lin = mem.linear(i);
    return lin === null
      ? null
      : `${SSE_GUARD}{ ${lin} ${mem.write("lin", i.size, lane(d, 0), i.size === 8 ? lane(d, 1) : "0")} }`;
  }
  return undefined;
}

/** The dwords of the result, computed from dwords `a` (destination) and `b` (source) of lane k. */
function perLane(d: number, s: number, f: (a: string, b: string, k: number) => string): string {
  const rs = [0, 1, 2, 3].map((k) => `const v${k} = ${f(lane(d, k), lane(s, k), k)};`).join(" ");
  return `${rs} ${[0, 1, 2, 3].map((k) => `${lane(d, k)} = v${k};`).join(" ")}`;
}

/** Packed integer operations, logic, shuffles and unpacks. */
function integerTemplate(i: Insn, mem: MemoryCode): string | null | undefined {
  const h = i.h, d = i.reg;
  if (h === sm.logic) {
    const o = ["&", "&", "|", "^"][i.op];
    return withSrc128(
      i,
      mem,
      (s) =>
        i.op === 3 && s === d
          ? [0, 1, 2, 3].map((k) => `${lane(d, k)} = 0;`).join(" ")
          : perLane(d, s, (a, b) => i.op === 1 ? `~${a} & ${b}` : `${a} ${o} ${b}`),
    );
  }
  if (h === si.paddsub) {
    const sub = (i.op & 16) !== 0, size = i.op & 15;
    if (size === 8) {
      return withSrc128(i, mem, (s) => {
        let code = "";
        for (const k of [0, 2]) {
          const al = lane(d, k), ah = lane(d, k + 1), bl = lane(s, k), bh = lane(s, k + 1);
          code += sub
            ? `{ const l = ${al} - ${bl}; ${ah} = ${ah} - ${bh} - (l < 0 ? 1 : 0); ${al} = l; } `
            : `{ const l = ${al} + ${bl}; ${ah} = ${ah} + ${bh} + (l > 4294967295 ? 1 : 0); ${al} = l; } `;
        }
        return code;
      });
    }
    if (size === 4) return withSrc128(i, mem, (s) => perLane(d, s, (a, b) => `${a} ${sub ? "-" : "+"} ${b}`));
    // Bytes and words within a dword: the top bit of each element apart, so no carry crosses.
    const low = size === 1 ? "0x7f7f7f7f" : "0x7fff7fff", top = size === 1 ? "0x80808080" : "0x80008000";
    return withSrc128(
      i,
      mem,
      (s) =>
        perLane(
          d,
          s,
          (a, b) =>
            sub
              ? `((${a} | ${top}) - (${b} & ${low})) ^ ((${a} ^ ~${b}) & ${top})`
              : `((${a} & ${low}) + (${b} & ${low})) ^ ((${a} ^ ${b}) & ${top})`,
        ),
    );
  }
  if (h === si.pcmp) {
    const gt = (i.op & 16) !== 0, size = i.op & 15;
    if (size === 4) {
      return withSrc128(
        i,
        mem,
        (s) => perLane(d, s, (a, b) => gt ? `(${a} | 0) > (${b} | 0) ? -1 : 0` : `${a} === ${b} ? -1 : 0`),
      );
    }
    if (gt) return null;
    // Equal elements: the XOR is zero; an element is nonzero when its low bits carry into its top bit
    // or its top bit is set.
    const low = size === 1 ? "0x7f7f7f7f" : "0x7fff7fff", top = size === 1 ? "0x80808080" : "0x80008000";
    const shift = size === 1 ? 7 : 15, ones = size === 1 ? 255 : 65535;
    return withSrc128(i, mem, (s) =>
      perLane(d, s, (a, b) => {
        const t = `(${a} ^ ${b})`;
        const nonzero = `((((${t} & ${low}) + ${low}) | ${t}) & ${top})`;
        return `(((${nonzero} ^ ${top}) >>> ${shift}) * ${ones})`;
      }));
  }
  if (h === sm.pmovmskb) {
    const bits = [0, 1, 2, 3].map((k) => {
      const v = lane(i.rm, k);
      return `((((${v} >>> 7) & 1) | ((${v} >>> 14) & 2) | ((${v} >>> 21) & 4) | ((${v} >>> 28) & 8)) << ${
        4 * k
      })`;
    });
    return `${SSE_GUARD}g[${2 * d}] = ${bits.join(" | ")}; g[${2 * d + 1}] = 0;`;
  }
  if (h === sm.pshuf && i.op === 0) {
    return withSrc128(i, mem, (s) => perLane(d, s, (_a, _b, k) => lane(s, (i.imm >> (2 * k)) & 3)));
  }
  if (h === sm.unpack) {
    const size = i.op & 15, from = (i.op & 16) !== 0 ? 2 : 0; // the dword the interleave starts at
    return withSrc128(i, mem, (s) =>
      perLane(d, s, (_a, _b, k) => {
        if (size === 8) return lane(k < 2 ? d : s, from + (k & 1));
        if (size === 4) return lane(k & 1 ? s : d, from + (k >> 1));
        // Result dword k interleaves the 16-bit half (k & 1) of dword from + (k >> 1) of each.
        const j = from + (k >> 1), sh = 16 * (k & 1);
        const a = sh ? `(${lane(d, j)} >>> 16)` : lane(d, j), b = sh ? `(${lane(s, j)} >>> 16)` : lane(s, j);
        if (size === 2) return `(${a} & 0xffff) | (${b} << 16)`;
        return `(${a} & 0xff) | ((${b} & 0xff) << 8) | ((${a} & 0xff00) << 8) | ((${b} & 0xff00) << 16)`;
      }));
  }
  if (h === si.pmisc) return pmiscTemplate(i, mem);
  if (h === si.pshiftImm) {
    const kind = i.op >> 4, size = i.op & 15, n = i.imm & 0xff, r = i.rm;
    const all = (f: (v: string) => string) =>
      SSE_GUARD + [0, 1, 2, 3].map((k) => `${lane(r, k)} = ${f(lane(r, k))};`).join(" ");
    if (size === 8) {
      if (n >= 64) return all(() => "0");
      let code = "";
      for (const k of [0, 2]) {
        const lo = lane(r, k), hi = lane(r, k + 1);
        if (n === 0) continue;
        if (kind === si.SH_LL) {
          code += n >= 32
            ? `${hi} = ${lo} << ${n - 32}; ${lo} = 0; `
            : `${hi} = (${hi} << ${n}) | (${lo} >>> ${32 - n}); ${lo} = ${lo} << ${n}; `;
        } else {
          code += n >= 32
            ? `${lo} = ${hi} >>> ${n - 32}; ${hi} = 0; `
            : `${lo} = (${lo} >>> ${n}) | (${hi} << ${32 - n}); ${hi} = ${hi} >>> ${n}; `;
        }
      }
      return SSE_GUARD + code;
    }
    if (size === 4) {
      if (kind === si.SH_RA) return all((v) => `${v} >> ${Math.min(n, 31)}`);
      if (n >= 32) return all(() => "0");
      return all((v) => `${v} ${kind === si.SH_LL ? "<<" : ">>>"} ${n}`);
    }
    if (kind === si.SH_RA) {
      const c = Math.min(n, 15);
      return all((v) => `(((${v} << 16) >> ${16 + c}) & 0xffff) | ((${v} >> ${c}) & 0xffff0000)`);
    }
    if (n >= 16) return all(() => "0");
    const m = kind === si.SH_LL ? ((0xffff << n) & 0xffff) * 0x10001 : (0xffff >>> n) * 0x10001;
    return all((v) => `(${v} ${kind === si.SH_LL ? "<<" : ">>>"} ${n}) & ${m}`);
  }
  return undefined;
}

/** Words `k` (0: bits 15:0, 1: bits 31:16) of dword `v`, signed or unsigned. */
const word = (v: string, k: number, signed: boolean) =>
  signed
    ? (k === 0 ? `((${v} << 16) >> 16)` : `(${v} >> 16)`)
    : (k === 0 ? `(${v} & 0xffff)` : `(${v} >>> 16)`);

/** PMULLW/PMULHW/PMULHUW, PMINUB/PMAXUB, PMINSW/PMAXSW, PACKUSWB (the other `pmisc` forms use the handler). */
function pmiscTemplate(i: Insn, mem: MemoryCode): string | null {
  const d = i.reg, op = i.op;
  const words = (f: (x: string, y: string) => string, signed: boolean) =>
    withSrc128(
      i,
      mem,
      (s) =>
        perLane(d, s, (a, b) =>
          `(${f(word(a, 0, signed), word(b, 0, signed))} & 0xffff) | (${
            f(word(a, 1, signed), word(b, 1, signed))
          } << 16)`),
    );
  switch (op) {
    case si.PM_MULLW:
      return words((x, y) => `Math.imul(${x}, ${y})`, false);
    case si.PM_MULHW:
      return words((x, y) => `((${x} * ${y}) >> 16)`, true);
    case si.PM_MULHUW:
      return words((x, y) => `((${x} * ${y}) >>> 16)`, false);
    case si.PM_MINSW:
    case si.PM_MAXSW: {
      const c = op === si.PM_MAXSW ? ">" : "<";
      return words((x, y) => `(${x} ${c} ${y} ? ${x} : ${y})`, true);
    }
    case si.PM_MINUB:
    case si.PM_MAXUB: {
      const c = op === si.PM_MAXUB ? ">" : "<";
      return withSrc128(i, mem, (s) =>
        perLane(d, s, (a, b) =>
          [0, 1, 2, 3].map((k) => {
            const x = `((${a} >>> ${8 * k}) & 0xff)`, y = `((${b} >>> ${8 * k}) & 0xff)`;
            return `((${x} ${c} ${y} ? ${x} : ${y}) << ${8 * k})`;
          }).join(" | ")));
    }
    case si.PM_PACKUSWB: {
      // Result dword k packs words 4k..4k+3 of destination:source (signed, saturated to 0..255).
      const sat = (v: string) => `((${v}) < 0 ? 0 : (${v}) > 255 ? 255 : (${v}))`;
      return withSrc128(i, mem, (s) =>
        perLane(d, s, (_a, _b, k) => {
          const r = k < 2 ? d : s, j = 2 * (k & 1);
          const bytes = [0, 1, 2, 3].map((n) => sat(word(lane(r, j + (n >> 1)), n & 1, true)));
          return bytes.map((b, n) => `(${b} << ${8 * n})`).join(" | ");
        }));
    }
  }
  return null;
}

/**
 * A floating-point template reading a `bytes`-byte source (r/m): `body(lo, hi, value)` gets the
 * source's low dword, its high dword (8 bytes) and its value as a JavaScript number (binary64 or
 * binary32); a memory source that misses the TLB runs the handler.
 */
function withFpSource(
  i: Insn,
  mem: MemoryCode,
  bytes: number,
  body: (lo: string, hi: string, v: string) => string,
): string | null {
  if (!i.mem) {
    const v = bytes === 8 ? `XD[${2 * i.rm}]` : `XS[${4 * i.rm}]`;
    return `${SSE_GUARD}{ ${body(lane(i.rm, 0), lane(i.rm, 1), v)} }`;
  }
  const lin = mem.linear(i);
  if (lin === null) return null;
  return `${SSE_GUARD}{ ${lin} const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (rTag[s] === vpn && off <= ${4096 - bytes}) { const p = rHpa[s] + off; ` +
    `const bl = dv.getUint32(p, true), bh = ${bytes === 8 ? "dv.getUint32(p + 4, true)" : "0"}, ` +
    `bv = dv.${bytes === 8 ? "getFloat64" : "getFloat32"}(p, true); ${
      body("bl", "bh", "bv")
    } } else $SLOW; }`;
}

/**
 * A template computing into XMM register `i.reg` from a 128-bit floating-point source (register, or
 * memory that must be 16-byte aligned): `body(s)` with `s` the register holding it. A memory
 * operand that is misaligned or misses the TLB runs the handler (which raises the #GP).
 */
function withPackedSource(i: Insn, mem: MemoryCode, body: (s: number) => string): string | null {
  if (!i.mem) return `${SSE_GUARD}{ ${body(i.rm)} }`;
  const lin = mem.linear(i);
  if (lin === null) return null;
  const put = [0, 1, 2, 3].map((k) => `${lane(T_SRC, k)} = dv.getUint32(p + ${4 * k}, true);`).join(" ");
  return `${SSE_GUARD}{ ${lin} const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if ((lin & 15) === 0 && rTag[s] === vpn) { const p = rHpa[s] + off; ${put} ${
      body(T_SRC)
    } } else $SLOW; }`;
}

/** Lane `k`'s high bits (the exponent's dword) and whether it is zero, as JavaScript, for XMM register `r`. */
function laneBits(double: boolean, r: number, k: number): { hi: string; zero: string } {
  if (double) {
    const hi = lane(r, 2 * k + 1);
    return { hi, zero: `((${hi} & 0x7fffffff) | ${lane(r, 2 * k)}) === 0` };
  }
  const v = lane(r, k);
  return { hi: v, zero: `(${v} & 0x7fffffff) === 0` };
}

/** Lane `k`'s value, for XMM register `r`. */
const laneValue = (double: boolean, r: number, k: number) => double ? `XD[${2 * r + k}]` : `XS[${4 * r + k}]`;

/** Packed ADD/SUB/MUL/DIV/SQRT PD and PS: every lane on the fast case (as the scalar forms), else the handler. */
function packedArith(i: Insn, mem: MemoryCode): string | null {
  const op = i.op & 7, double = (i.op & sf.OPF_DOUBLE) !== 0, d = i.reg, n = double ? 2 : 4;
  const expMask = double ? "0x7ff00000" : "0x7f800000";
  const [minNormal, maxTest] = double ? [MIN_NORMAL_D, "< Infinity"] : [MIN_NORMAL_S, `<= ${MAX_S}`];
  return withPackedSource(i, mem, (s) => {
    const oks: string[] = [], rs: string[] = [], checks: string[] = [], puts: string[] = [];
    for (let k = 0; k < n; k++) {
      const a = laneBits(double, op === OP_SQRT ? s : d, k), b = laneBits(double, s, k);
      const ea = `(${a.hi} & ${expMask})`, eb = `(${b.hi} & ${expMask})`;
      if (op === OP_SQRT) {
        oks.push(`(${eb} !== 0 || ${b.zero}) && ${eb} !== ${expMask} && ${b.hi} < 0x80000000`);
        rs.push(`Math.sqrt(${laneValue(double, s, k)})`);
      } else {
        const bOk = op === OP_DIV ? `${eb} !== 0` : `(${eb} !== 0 || ${b.zero})`;
        oks.push(`(${ea} !== 0 || ${a.zero}) && ${ea} !== ${expMask} && ${bOk} && ${eb} !== ${expMask}`);
        rs.push(opCode(op, laneValue(double, d, k), laneValue(double, s, k)));
      }
      const zeroOk = op === OP_ADD || op === OP_SUB || op === OP_SQRT ? "true" : `${a.zero} || ${b.zero}`;
      checks.push(`((m${k} > ${minNormal} && m${k} ${maxTest}) || (m${k} === 0 && (${zeroOk})))`);
      puts.push(`${laneValue(double, d, k)} = r${k};`);
    }
    const results = rs.map((r, k) =>
      `const r${k} = ${double ? r : `Math.fround(${r})`}, m${k} = Math.abs(r${k});`
    );
    return `if ((FP.mxcsr & ${FAST_BITS}) === ${FAST_OK} && ${oks.map((c) => `(${c})`).join(" && ")}) { ` +
      `${results.join(" ")} if (${checks.join(" && ")}) { ${puts.join(" ")} } else $SLOW; } else $SLOW;`;
  });
}

/** MIN/MAX PD, PS, SD, SS: operands neither NaN (IE) nor denormal (DE, DAZ); the second one when equal. */
function minMax(i: Insn, mem: MemoryCode): string | null {
  const max = (i.op & 1) !== 0, double = (i.op & sf.OPF_DOUBLE) !== 0, scalar = (i.op & sf.OPF_SCALAR) !== 0;
  const d = i.reg, n = scalar ? 1 : double ? 2 : 4;
  const expMask = double ? "0x7ff00000" : "0x7f800000";
  const usual = (x: { hi: string; zero: string }) =>
    `((${x.hi} & ${expMask}) !== 0 || ${x.zero}) && (${x.hi} & ${expMask}) !== ${expMask}`;
  const body = (s: number) => {
    const oks: string[] = [], puts: string[] = [];
    for (let k = 0; k < n; k++) {
      oks.push(`(${usual(laneBits(double, d, k))}) && (${usual(laneBits(double, s, k))})`);
      const a = laneValue(double, d, k), b = laneValue(double, s, k);
      puts.push(`{ const a = ${a}, b = ${b}; ${a} = a ${max ? ">" : "<"} b ? a : b; }`);
    }
    return `if (${oks.join(" && ")}) { ${puts.join(" ")} } else $SLOW;`;
  };
  if (!scalar) return withPackedSource(i, mem, body);
  if (!i.mem) return `${SSE_GUARD}{ ${body(i.rm)} }`;
  const lin = mem.linear(i);
  if (lin === null) return null;
  const bytes = double ? 8 : 4;
  const put = [...Array(bytes / 4).keys()].map((k) => `${lane(T_SRC, k)} = dv.getUint32(p + ${4 * k}, true);`)
    .join(" ");
  return `${SSE_GUARD}{ ${lin} const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (rTag[s] === vpn && off <= ${4096 - bytes}) { const p = rHpa[s] + off; ${put} ${body(T_SRC)} } ` +
    `else $SLOW; }`;
}

/** JavaScript for `a op b` (`b` unused for SQRT). */
function opCode(op: number, a: string, b: string): string {
  return op === OP_SQRT ? `Math.sqrt(${a})` : `${a} ${["+", "-", "*", "/"][op]} ${b}`;
}

/** Scalar floating point and conversions. */
function floatTemplate(i: Insn, mem: MemoryCode): string | null | undefined {
  const h = i.h, d = i.reg;
  const fast = `(FP.mxcsr & ${FAST_BITS}) === ${FAST_OK}`;
  if (h === sf.fpArith && (i.op & sf.OPF_SCALAR) !== 0) {
    const op = i.op & 7, double = (i.op & sf.OPF_DOUBLE) !== 0;
    // As arithD/arithS: normal or zero operands (no zero divisor, no negative square root), then a
    // normal result or a zero that cannot come from underflow.
    const [expMask, fracOr, minNormal, maxAbs] = double
      ? ["0x7ff00000", (hi: string, lo: string) => `((${hi} & 0x7fffffff) | ${lo})`, MIN_NORMAL_D, "Infinity"]
      : ["0x7f800000", (v: string) => `(${v} & 0x7fffffff)`, MIN_NORMAL_S, `${MAX_S}`];
    return withFpSource(i, mem, double ? 8 : 4, (bl, bh, bv) => {
      const bHi = double ? bh : bl;
      const zb = `${fracOr(bHi, bl)} === 0`;
      const eb = `(${bHi} & ${expMask})`;
      let ok: string, zeroOk: string, r: string, aDecl = "";
      if (op === OP_SQRT) {
        ok = `(${eb} !== 0 || ${zb}) && ${eb} !== ${expMask} && ${bHi} < 0x80000000`;
        zeroOk = "true";
        r = opCode(op, bv, "");
      } else {
        const aHi = double ? lane(d, 1) : lane(d, 0);
        aDecl = `const ah = ${aHi}, za = ${fracOr("ah", lane(d, 0))} === 0, ea = ah & ${expMask}; `;
        const bOk = op === OP_DIV ? `${eb} !== 0` : `(${eb} !== 0 || ${zb})`;
        ok = `(ea !== 0 || za) && ea !== ${expMask} && ${bOk} && ${eb} !== ${expMask}`;
        zeroOk = op === OP_ADD || op === OP_SUB ? "true" : `za || ${zb}`;
        r = opCode(op, double ? `XD[${2 * d}]` : `XS[${4 * d}]`, bv);
      }
      const round = double ? r : `Math.fround(${r})`;
      const maxTest = double ? `m < ${maxAbs}` : `m <= ${maxAbs}`;
      return `${aDecl}if (${fast} && ${ok}) { const r = ${round}, m = Math.abs(r); ` +
        `if ((m > ${minNormal} && ${maxTest}) || (m === 0 && (${zeroOk}))) ${
          double ? `XD[${2 * d}]` : `XS[${4 * d}]`
        } = r; else $SLOW; } else $SLOW;`;
    });
  }
  if (h === sf.fpArith) return packedArith(i, mem);
  if (h === sf.fpMinMax) return minMax(i, mem);
  if (h === sf.cvtFromSi) {
    const double = (i.op & sf.OPF_DOUBLE) !== 0, limit = double ? 9007199254740992 : 16777216;
    const put = (lo: string, hi: string) => {
      const dst = double ? `XD[${2 * d}]` : `XS[${4 * d}]`;
      if (i.size === 4) {
        return double
          ? `${dst} = ${lo} | 0;`
          : `{ const n = ${lo} | 0; if (n <= ${limit} && n >= -${limit}) ${dst} = n; else $SLOW; }`;
      }
      return `{ const nh = ${hi} | 0; if (nh >= -2097152 && nh < 2097152) { const n = nh * 4294967296 + ${lo}; ` +
        `if (n <= ${limit} && n >= -${limit}) ${dst} = n; else $SLOW; } else $SLOW; }`;
    };
    if (!i.mem) return `${SSE_GUARD}${put(`g[${2 * i.rm}]`, `g[${2 * i.rm + 1}]`)}`;
    const lin = mem.linear(i);
    if (lin === null) return null;
    // A miss runs the handler (one access); a hit is plain RAM.
    return `${SSE_GUARD}{ ${lin} const off = lin & 4095, vpn = (lin - off) / 4096, s = vpn & ${TLB_MASK}; ` +
      `if (rTag[s] === vpn && off <= ${4096 - i.size}) { const p = rHpa[s] + off; ${
        put("dv.getUint32(p, true)", i.size === 8 ? "dv.getUint32(p + 4, true)" : "0")
      } } else $SLOW; }`;
  }
  if (h === sf.cvtToSi) {
    const double = (i.op & sf.OPF_DOUBLE) !== 0, trunc = (i.op & 1) !== 0;
    const lim = i.size === 8 ? 9223372036854775808 : 2147483648;
    const minNormal = double ? MIN_NORMAL_D : MIN_NORMAL_S;
    // Round to nearest, ties to even (as toInt); the truncating forms need no rounding mode.
    const round = trunc
      ? "const r = Math.trunc(v);"
      : "const fl = Math.floor(v), df = v - fl; const r = df < 0.5 ? fl : df > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;";
    const rcOk = trunc ? "" : ` && (mx & ${3 << MX_RC_SHIFT}) === 0`;
    const write = i.size === 8
      ? `const hi = Math.floor(r / 4294967296); g[${2 * d}] = (r - hi * 4294967296) >>> 0; g[${
        2 * d + 1
      }] = hi >>> 0;`
      : `g[${2 * d}] = r >>> 0; g[${2 * d + 1}] = 0;`;
    // Finite and normal or zero (no DE/DAZ question), in range; inexact only with PE masked (then PE is set).
    return withFpSource(
      i,
      mem,
      double ? 8 : 4,
      (_bl, _bh, bv) =>
        `const v = ${bv}, mx = FP.mxcsr, m = Math.abs(v); ` +
        `if ((m === 0 || (m >= ${minNormal} && m < Infinity))${rcOk}) { ${round} ` +
        `if (r >= -${lim} && r < ${lim} && (r === v || (mx & ${MX_PE << 7}) !== 0)) { ` +
        `if (r !== v) FP.mxcsr = mx | ${MX_PE}; ${write} } else { $SLOW; g[${2 * d}] = G[${2 * d}]; g[${
          2 * d + 1
        }] = G[${2 * d + 1}]; } } ` +
        `else { $SLOW; g[${2 * d}] = G[${2 * d}]; g[${2 * d + 1}] = G[${2 * d + 1}]; }`,
    );
  }
  if (h === sf.cvtPacked && (i.op === sf.CVT_SS2SD || i.op === sf.CVT_SD2SS)) {
    if (i.op === sf.CVT_SS2SD) {
      // Exact: only NaNs and denormals (DE, DAZ) need the handler.
      return withFpSource(
        i,
        mem,
        4,
        (bl, _bh, bv) =>
          `const e = ${bl} & 0x7f800000; if ((e !== 0 || (${bl} & 0x7fffffff) === 0) && e !== 0x7f800000) ` +
          `XD[${2 * d}] = ${bv}; else $SLOW;`,
      );
    }
    return withFpSource(
      i,
      mem,
      8,
      (bl, bh, bv) =>
        `const e = ${bh} & 0x7ff00000; if (${fast} && (e !== 0 || ((${bh} & 0x7fffffff) | ${bl}) === 0) && ` +
        `e !== 0x7ff00000) { const r = Math.fround(${bv}), m = Math.abs(r); ` +
        `if (m === 0 ? ${bv} === 0 : m > ${MIN_NORMAL_S} && m <= ${MAX_S}) XS[${4 * d}] = r; else $SLOW; } ` +
        `else $SLOW;`,
    );
  }
  if (h === sf.fpComi) {
    const double = (i.op & sf.OPF_DOUBLE) !== 0;
    const [expMask, aHi] = double ? ["0x7ff00000", lane(d, 1)] : ["0x7f800000", lane(d, 0)];
    const a = double ? `XD[${2 * d}]` : `XS[${4 * d}]`;
    // Neither operand a NaN (IE) nor denormal (DE): ZF, PF, CF from the order; OF, SF, AF cleared.
    const normal = (hi: string, lo: string) =>
      double
        ? `(((${hi} & ${expMask}) !== 0 || ((${hi} & 0x7fffffff) | ${lo}) === 0) && (${hi} & ${expMask}) !== ${expMask})`
        : `(((${hi} & ${expMask}) !== 0 || (${hi} & 0x7fffffff) === 0) && (${hi} & ${expMask}) !== ${expMask})`;
    return withFpSource(
      i,
      mem,
      double ? 8 : 4,
      (bl, bh, bv) =>
        `if (${normal(aHi, lane(d, 0))} && ${normal(double ? bh : bl, bl)}) { const a = ${a}, b = ${bv}; ` +
        `f.put((f.rf & ${~0x8d5}) | (a > b ? 0 : a < b ? 1 : 0x40)); } else $SLOW;`,
    );
  }
  return undefined;
}

/**
 * The template for an SSE instruction (see the module documentation), null when it runs through its
 * handler, or undefined when `i` is no SSE form this module knows.
 */
export function sseTemplate(i: Insn, mem: MemoryCode): string | null | undefined {
  const move = moveTemplate(i, mem);
  if (move !== undefined) return move;
  const int = integerTemplate(i, mem);
  if (int !== undefined) return int;
  return floatTemplate(i, mem);
}

const FLOAT_HANDLERS = new Set<unknown>([
  sf.fpArith,
  sf.fpMinMax,
  sf.cvtFromSi,
  sf.cvtToSi,
  sf.cvtPacked,
  sf.fpComi,
]);
const SSE_HANDLERS = new Set<unknown>([
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
  si.pcmp,
  sm.pmovmskb,
  sm.pshuf,
  sm.unpack,
  si.pshiftImm,
  si.pmisc,
  ...FLOAT_HANDLERS,
]);

/**
 * Whether a templated SSE instruction is pure for the compiler: a register form, which cannot fault
 * but in its enabling checks and its slow path, both of which the compiler places itself.
 */
export function ssePure(i: Insn): boolean {
  return !i.mem && SSE_HANDLERS.has(i.h);
}

/** Whether `i` is an SSE form with a template here that leaves RFLAGS alone (all but COMISD and its kin). */
export function sseKeepsFlags(i: Insn): boolean {
  return SSE_HANDLERS.has(i.h) && i.h !== sf.fpComi;
}

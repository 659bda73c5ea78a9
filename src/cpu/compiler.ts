/**
 * The block compiler: a hot decoded block, with the blocks its successor links reach (a region),
 * becomes one JavaScript function that runs from block to block without going back to the run
 * loop. Each instruction either has a template (the commonest register forms of MOV, the ALU
 * operations, TEST and the relative jumps), emitted with its registers, immediates and operation
 * fixed, or calls its handler, exactly as the interpreter loop would. RIP, the next RIP and the
 * instruction count are kept per instruction, so faults, exits and early block ends see the same
 * state as in the interpreter; a move to the next block of the region checks what the run loop
 * would check before it (the budget, an interrupt shadow, the links still valid).
 *
 * @module
 */

import type { Block } from "./blocks.ts";
import { FLAGS_ADD, FLAGS_DEC, FLAGS_INC, FLAGS_LOGIC, FLAGS_SUB } from "./flags.ts";
import { BASE_RIP, type Insn } from "./insn.ts";
import { CF, OF, RAX, RBP, RSP, SEG_FS, SEG_GS, SEG_SS } from "./registers.ts";
import * as alu from "./ops/alu.ts";
import * as ctl from "./ops/control.ts";
import * as md from "./ops/muldiv.ts";
import * as mov from "./ops/mov.ts";
import * as sh from "./ops/shift.ts";
import * as stk from "./ops/stack.ts";
import { type Cpu, TLB_MASK } from "./cpu.ts";
import {
  type MemoryCode,
  SSE_FIELDS,
  SSE_GUARD,
  SSE_HELPERS,
  SSE_OFF,
  SSE_SLOW,
  sseKeepsFlags,
  ssePure,
  sseTemplate,
} from "./compiler_sse.ts";

/**
 * A compiled region: returns the last block that ran to its end (for block chaining), or null when
 * an instruction ended its block early.
 */
export type CompiledBlock = (cpu: Cpu) => Block | null;

const TWO47 = 140737488355328;

/**
 * Marks the flag record an instruction leaves in `Flags` (the lazy-flags state). A block drops the
 * marked code where a later instruction of the same block overwrites the record before anything
 * can observe it (see {@link dropDeadFlags}).
 */
function flagStore(code: string): string {
  return `/*F*/${code}/*f*/`;
}

/** The record `Flags.set` makes, as field stores (inline, so no call is left to V8's inlining budget). */
function setFlags(
  op: number,
  size: number,
  a: string,
  ah: string,
  b: string,
  bh: string,
  r: string,
  rh: string,
) {
  return flagStore(
    `f.op = ${op}; f.size = ${size}; f.a = ${a}; f.ah = ${ah}; f.b = ${b}; f.bh = ${bh}; f.r = ${r}; f.rh = ${rh};`,
  );
}

/** The record `Flags.logic` makes, as field stores. */
function logicFlags(size: number, r: string, rh: string) {
  return flagStore(`f.op = ${FLAGS_LOGIC}; f.size = ${size}; f.r = ${r}; f.rh = ${rh};`);
}

/** ALU operations with a template (ADC and SBB use the handler). */
const TEMPLATED_ALU = new Set([alu.ALU_ADD, alu.ALU_OR, alu.ALU_AND, alu.ALU_SUB, alu.ALU_XOR, alu.ALU_CMP]);

/** JavaScript for `dst op= src` at `size` (4 or 8) with the flags recorded as the handler records them. */
function aluCode(op: number, size: number, d: number, src: string, srcHi: string): string {
  const a = `g[${2 * d}]`, ah = `g[${2 * d + 1}]`;
  const write = op === alu.ALU_CMP;
  if (size === 4) {
    let r: string, flags: string;
    switch (op) {
      case alu.ALU_ADD:
        r = `(a + b) >>> 0`;
        flags = setFlags(FLAGS_ADD, 4, "a", "0", "b", "0", "r", "0");
        break;
      case alu.ALU_SUB:
      case alu.ALU_CMP:
        r = `(a - b) >>> 0`;
        flags = `${setFlags(FLAGS_SUB, 4, "a", "0", "b", "0", "r", "0")} fa = a; fb = b;`;
        break;
      default:
        r = `(a ${op === alu.ALU_AND ? "&" : op === alu.ALU_OR ? "|" : "^"} b) >>> 0`;
        flags = `${logicFlags(4, "r", "0")} fr = r;`;
    }
    return `{ const a = ${a}, b = ${src}; const r = ${r}; ${flags}${write ? "" : ` ${a} = r; ${ah} = 0;`} }`;
  }
  let body: string;
  switch (op) {
    case alu.ALU_ADD:
      body = `const l = a + b; const r = l >>> 0; const rh = (ah + bh + (l > 4294967295 ? 1 : 0)) >>> 0; ` +
        setFlags(FLAGS_ADD, 8, "a", "ah", "b", "bh", "r", "rh");
      break;
    case alu.ALU_SUB:
    case alu.ALU_CMP:
      body = `const l = a - b; const r = l >>> 0; const rh = (ah - bh - (l < 0 ? 1 : 0)) >>> 0; ` +
        `${setFlags(FLAGS_SUB, 8, "a", "ah", "b", "bh", "r", "rh")} fa = a; fah = ah; fb = b; fbh = bh;`;
      break;
    default: {
      const o = op === alu.ALU_AND ? "&" : op === alu.ALU_OR ? "|" : "^";
      body = `const r = (a ${o} b) >>> 0; const rh = (ah ${o} bh) >>> 0; ${
        logicFlags(8, "r", "rh")
      } fr = r; frh = rh;`;
    }
  }
  return `{ const a = ${a}, ah = ${ah}, b = ${src}, bh = ${srcHi}; ${body}${
    write ? "" : ` ${a} = r; ${ah} = rh;`
  } }`;
}

/**
 * JavaScript computing the 64-bit effective address of `i` into `lo` (a number that may carry) and
 * `hi`, as `Cpu.effectiveAddress` does; null for forms left to the handler (32-bit addressing).
 */
function eaCode(i: Insn): string | null {
  if (i.asize !== 8) return null;
  let code: string;
  if (i.base === BASE_RIP) {
    code = `const t = c.nrip + ${i.disp}; let lo = t >>> 0; let hi = Math.floor(t / 4294967296);`;
  } else if (i.base >= 0) {
    code = `let lo = ${i.disp} + g[${2 * i.base}]; let hi = g[${2 * i.base + 1}];`;
  } else {
    code = `let lo = ${i.disp}; let hi = 0;`;
  }
  if (i.index >= 0) {
    const m = 1 << i.scale;
    code += ` lo += g[${2 * i.index}] * ${m}; hi += g[${2 * i.index + 1}] * ${m};`;
  }
  return code + ` const carry = Math.floor(lo / 4294967296); lo >>>= 0; hi = (hi + carry) | 0;`;
}

/** JavaScript for the linear address of a memory operand into `lin`, with `Cpu.linear`'s canonical check. */
function linearCode(i: Insn): string | null {
  if (i.seg === SEG_FS || i.seg === SEG_GS) return null;
  const ea = eaCode(i);
  if (ea === null) return null;
  const vector = i.base === RSP || i.base === RBP || i.seg === SEG_SS ? 12 : 13;
  return `${ea} if (((hi << 16) >> 16) !== hi) c.fault(${vector}, true, 0); const lin = hi * 4294967296 + lo;`;
}

/**
 * JavaScript reading `size` bytes at linear `addr` and handing them to `use` (the low half, and the
 * high half for 8 bytes): the software TLB's hit path inline (as `Cpu.read` has it), else
 * `Cpu.read`. Inline, so a large region does not run out of V8's inlining budget on its memory
 * accesses; `use` appears in both paths, so a loaded value never merges with a call's result.
 */
function readCode(addr: string, size: number, use: (lo: string, hi: string) => string): string {
  const lo = size === 1 ? "mem[p]" : size === 2 ? "dv.getUint16(p, true)" : "dv.getUint32(p, true)";
  return `{ const off = ${addr} & 4095, vpn = (${addr} - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (rTag[s] === vpn && off <= ${4096 - size}) { const p = rHpa[s] + off; ${
      use(lo, size === 8 ? "dv.getUint32(p + 4, true)" : "0")
    } } ` +
    `else { const v = c.read(${addr}, ${size}); ${use("v", size === 8 ? "c.hi" : "0")} } }`;
}

/** JavaScript writing `size` bytes (`lo`, `hi`) at linear `addr`: the TLB's hit path inline, else `Cpu.write`. */
function writeCode(addr: string, size: number, lo: string, hi: string): string {
  const store = size === 1
    ? `mem[p] = ${lo};`
    : size === 2
    ? `dv.setUint16(p, ${lo}, true);`
    : size === 4
    ? `dv.setUint32(p, ${lo}, true);`
    : `dv.setUint32(p, ${lo}, true); dv.setUint32(p + 4, ${hi}, true);`;
  return `{ const off = ${addr} & 4095, vpn = (${addr} - off) / 4096, s = vpn & ${TLB_MASK}; ` +
    `if (wTag[s] === vpn && off <= ${4096 - size}) { const p = wHpa[s] + off; ${store} } ` +
    `else c.write(${addr}, ${size}, ${lo}, ${hi}); }`;
}

/** What the last templated flag-setting instruction left in the block's locals, for a following Jcc. */
interface FlagSource {
  /**
   * "sub": CMP/SUB operands in fa(h), fb(h); "logic": AND/OR/XOR/TEST result in fr(h); "zs": an
   * INC/DEC result in fr(h), good for ZF and SF only.
   */
  kind: "sub" | "logic" | "zs";
  size: number;
}

/**
 * A condition evaluated straight from the operands of the instruction that set the flags (flag
 * fusion), or null where the lazy-flags evaluation is needed. Conditions as in SDM Vol. 1 App. B.
 */
function fusedCondition(cc: number, src: FlagSource): string | null {
  const neg = (e: string | null) => e === null ? null : `!(${e})`;
  const base = cc & ~1;
  let e: string | null = null;
  if (src.kind === "sub") {
    if (src.size !== 8) {
      // Operands of 1, 2 or 4 bytes, held masked to their size: signed compares extend the sign.
      const sx = (v: string) =>
        src.size === 4 ? `(${v} | 0)` : `((${v} << ${32 - 8 * src.size}) >> ${32 - 8 * src.size})`;
      switch (base) {
        case 2:
          e = "fa < fb";
          break;
        case 4:
          e = "fa === fb";
          break;
        case 6:
          e = "fa <= fb";
          break;
        case 12:
          e = `${sx("fa")} < ${sx("fb")}`;
          break;
        case 14:
          e = `${sx("fa")} <= ${sx("fb")}`;
          break;
      }
    } else {
      switch (base) {
        case 2:
          e = "fah < fbh || (fah === fbh && fa < fb)";
          break;
        case 4:
          e = "fa === fb && fah === fbh";
          break;
        case 6:
          e = "fah < fbh || (fah === fbh && fa <= fb)";
          break;
        case 12:
          e = "(fah | 0) < (fbh | 0) || (fah === fbh && fa < fb)";
          break;
        case 14:
          e = "(fah | 0) < (fbh | 0) || (fah === fbh && fa <= fb)";
          break;
      }
    }
  } else if (src.kind === "zs") {
    if (base === 4) e = src.size === 4 ? "fr === 0" : "(fr | frh) === 0";
    else if (base === 8) e = src.size === 4 ? "(fr | 0) < 0" : "(frh | 0) < 0";
  } else {
    const zf = src.size === 8 ? "(fr | frh) === 0" : "fr === 0";
    const sf = src.size === 8
      ? "(frh | 0) < 0"
      : src.size === 4
      ? "(fr | 0) < 0"
      : `(fr & ${src.size === 2 ? 0x8000 : 0x80}) !== 0`;
    switch (base) {
      case 2: // CF = 0
        e = "false";
        break;
      case 4:
      case 6: // BE: CF | ZF = ZF
        e = zf;
        break;
      case 8:
      case 12: // L: SF != OF = SF
        e = sf;
        break;
      case 14: // LE: ZF | (SF != OF)
        e = `${zf} || ${sf}`;
        break;
    }
  }
  return (cc & 1) === 0 ? e : neg(e);
}

/** JavaScript for bit `n` (a constant) of the 64-bit value (ah:a). */
function bit64(n: number): string {
  return n >= 32 ? `((ah >>> ${n - 32}) & 1)` : `((a >>> ${n}) & 1)`;
}

/**
 * SHL/SAL, SHR and SAR of a register by a constant count 1..63 (32-bit: 1..31), with the flags
 * exactly as `shiftGroup` sets them; null for other operations or counts.
 */
function shiftCode(op: number, size: number, r: number, count: number): string | null {
  const c = count & (size === 8 ? 63 : 31);
  if (c === 0) return null;
  const L = `g[${2 * r}]`, H = `g[${2 * r + 1}]`;
  if (op === sh.SH_ROL || op === sh.SH_ROR) return rotateCode(op === sh.SH_ROL, size, L, H, c);
  let code: string;
  if (size === 8) {
    switch (op) {
      case sh.SH_SHL:
      case sh.SH_SAL:
        code = c < 32
          ? `const rh = ((ah << ${c}) | (a >>> ${32 - c})) >>> 0; const r = (a << ${c}) >>> 0;`
          : `const rh = (a << ${c - 32}) >>> 0; const r = 0;`;
        code += ` const cf = ${bit64(64 - c)}; const of = ${c === 1 ? "(rh >>> 31) ^ cf" : "0"};`;
        break;
      case sh.SH_SHR:
        code = c < 32
          ? `const r = ((a >>> ${c}) | (ah << ${32 - c})) >>> 0; const rh = ah >>> ${c};`
          : `const r = ah >>> ${c - 32}; const rh = 0;`;
        code += ` const cf = ${bit64(c - 1)}; const of = ${c === 1 ? "ah >>> 31" : "0"};`;
        break;
      case sh.SH_SAR:
        code = c < 32
          ? `const r = ((a >>> ${c}) | (ah << ${32 - c})) >>> 0; const rh = ((ah | 0) >> ${c}) >>> 0;`
          : `const r = ((ah | 0) >> ${c - 32}) >>> 0; const rh = ((ah | 0) >> 31) >>> 0;`;
        code += ` const cf = ${bit64(c - 1)}; const of = 0;`;
        break;
      default:
        return null;
    }
    return `{ const a = ${L}, ah = ${H}; ${code} ${L} = r; ${H} = rh; ${
      flagStore("f.setEager(8, r, rh, cf, of);")
    } }`;
  }
  switch (op) {
    case sh.SH_SHL:
    case sh.SH_SAL:
      code = `const r = (a * ${2 ** c}) >>> 0; const cf = (a >>> ${32 - c}) & 1; const of = ${
        c === 1 ? "(r >>> 31) ^ cf" : "0"
      };`;
      break;
    case sh.SH_SHR:
      code = `const r = a >>> ${c}; const cf = (a >>> ${c - 1}) & 1; const of = ${
        c === 1 ? "a >>> 31" : "0"
      };`;
      break;
    case sh.SH_SAR:
      code = `const r = ((a | 0) >> ${c}) >>> 0; const cf = ((a | 0) >> ${c - 1}) & 1; const of = 0;`;
      break;
    default:
      return null;
  }
  return `{ const a = ${L}; ${code} ${L} = r; ${H} = 0; ${flagStore("f.setEager(4, r, 0, cf, of);")} }`;
}

/**
 * SHL/SAL, SHR and SAR of a register by CL (the low half of RCX is g[2]), with the flags as `shiftGroup` sets them. A masked
 * count of 0 changes no flag, but a 32-bit register is still zero-extended; so the flag record is
 * not a full overwrite, and is never dropped. Null for the rotates.
 */
function shiftByClCode(op: number, size: number, reg: number): string | null {
  const left = op === sh.SH_SHL || op === sh.SH_SAL;
  if (!left && op !== sh.SH_SHR && op !== sh.SH_SAR) return null;
  const L = `g[${2 * reg}]`, H = `g[${2 * reg + 1}]`;
  if (size === 4) {
    const body = left
      ? `const r = (a << n) >>> 0; const cf = (a >>> (32 - n)) & 1; const of = (r >>> 31) ^ cf;`
      : op === sh.SH_SHR
      ? `const r = a >>> n; const cf = (a >>> (n - 1)) & 1; const of = a >>> 31;`
      : `const r = ((a | 0) >> n) >>> 0; const cf = ((a | 0) >> (n - 1)) & 1; const of = 0;`;
    return `{ const n = g[2] & 31; if (n !== 0) { const a = ${L}; ${body} ${L} = r; ${H} = 0; ` +
      `f.setEager(4, r, 0, cf, n === 1 ? of : 0); } else ${H} = 0; }`;
  }
  // 64 bits: the halves move across each other below 32 and swap (with a shift) from 32 on.
  const bit = (k: string) => `((${k}) >= 32 ? ah >>> ((${k}) - 32) : a >>> (${k})) & 1`;
  const body = left
    ? `if (n < 32) { rh = ((ah << n) | (a >>> (32 - n))) >>> 0; r = (a << n) >>> 0; } ` +
      `else { rh = (a << (n - 32)) >>> 0; r = 0; } const cf = ${bit("64 - n")}; const of = (rh >>> 31) ^ cf;`
    : op === sh.SH_SHR
    ? `if (n < 32) { r = ((a >>> n) | (ah << (32 - n))) >>> 0; rh = ah >>> n; } ` +
      `else { r = ah >>> (n - 32); rh = 0; } const cf = ${bit("n - 1")}; const of = ah >>> 31;`
    : `if (n < 32) { r = ((a >>> n) | (ah << (32 - n))) >>> 0; rh = ((ah | 0) >> n) >>> 0; } ` +
      `else { r = ((ah | 0) >> (n - 32)) >>> 0; rh = ((ah | 0) >> 31) >>> 0; } const cf = ${bit("n - 1")}; ` +
      `const of = 0;`;
  return `{ const n = g[2] & 63; if (n !== 0) { const a = ${L}, ah = ${H}; let r = 0, rh = 0; ${body} ` +
    `${L} = r; ${H} = rh; f.setEager(8, r, rh, cf, n === 1 ? of : 0); } }`;
}

/**
 * ROL/ROR of a register by a constant count 1..63 (32-bit: 1..31). Only CF and OF change (OF as
 * the handler leaves it: defined for a count of 1, else 0), so the record before is read, not
 * replaced (`Flags.putArith`).
 */
function rotateCode(left: boolean, size: number, L: string, H: string, c: number): string {
  const of = c === 1 ? "of << 11" : "0";
  if (size === 4) {
    const r = left ? `((a << ${c}) | (a >>> ${32 - c})) >>> 0` : `((a >>> ${c}) | (a << ${32 - c})) >>> 0`;
    const flags = left
      ? `const cf = r & 1; const of = (r >>> 31) ^ cf;`
      : `const cf = r >>> 31; const of = cf ^ ((r >>> 30) & 1);`;
    return `{ const a = ${L}; const r = ${r}; ${flags} ${L} = r; ${H} = 0; ${
      flagStore(`f.putArith(${CF | OF}, cf | ${of});`)
    } }`;
  }
  // Rotating left by n is rotating right by 64 - n; past 32 the halves swap.
  let n = left ? c : 64 - c;
  let lo = "a", hi = "ah";
  if (n >= 32) [lo, hi, n] = [hi, lo, n - 32];
  const part = (x: string, y: string) => n === 0 ? x : `((${x} << ${n}) | (${y} >>> ${32 - n})) >>> 0`;
  const flags = left
    ? `const cf = r & 1; const of = (rh >>> 31) ^ cf;`
    : `const cf = rh >>> 31; const of = cf ^ ((rh >>> 30) & 1);`;
  return `{ const a = ${L}, ah = ${H}; const r = ${part(lo, hi)}, rh = ${part(hi, lo)}; ${flags} ` +
    `${L} = r; ${H} = rh; ${flagStore(`f.putArith(${CF | OF}, cf | ${of});`)} }`;
}

/** PUSH r64 / POP r64 through the stack, with `push`/`pop`'s canonical check (#SS(0)). */
function stackCode(push: boolean, r: number): string {
  const rsp = `const sp0 = (g[9] | 0) * 4294967296 + g[8];`;
  const check = (v: string) =>
    `{ const vh = Math.floor(${v} / 4294967296) | 0; if (((vh << 16) >> 16) !== vh) c.fault(12, true, 0); }`;
  if (push) {
    return `{ ${rsp} const sp = sp0 - 8; ${check("sp")} ${
      writeCode("sp", 8, `g[${2 * r}]`, `g[${2 * r + 1}]`)
    } ` +
      `g[8] = sp >>> 0; g[9] = Math.floor(sp / 4294967296) >>> 0; }`;
  }
  // Load (it may fault), then the new RSP, then the value: POP RSP ends with the value loaded.
  const use = (lo: string, hi: string) =>
    `const x = ${lo}, xh = ${hi}; g[8] = sp >>> 0; g[9] = Math.floor(sp / 4294967296) >>> 0; ` +
    `g[${2 * r}] = x; g[${2 * r + 1}] = xh;`;
  return `{ ${rsp} ${check("sp0")} const sp = sp0 + 8; ${readCode("sp0", 8, use)} }`;
}

/** Memory access code for the SSE templates (compiler_sse.ts). */
const MEMORY_CODE: MemoryCode = { linear: linearCode, read: readCode, write: writeCode };

/** The template for one instruction, or null when it runs through its handler. */
function template(i: Insn, flags: FlagSource | null): string | null {
  const h = i.h;
  const sse = sseTemplate(i, MEMORY_CODE);
  if (sse !== undefined) return sse;
  const size = i.size;
  if ((h === stk.pushR || h === stk.popR) && size === 8) return stackCode(h === stk.pushR, i.reg);
  if (h === ctl.callRel) {
    // Target check first (#GP), then the push of the return address (#SS/#PF), then the jump.
    return `{ const t = c.nrip + ${i.disp}; if (t >= ${TWO47} || t < -${TWO47}) c.gp0(); ` +
      `const sp0 = (g[9] | 0) * 4294967296 + g[8]; const sp = sp0 - 8; ` +
      `{ const vh = Math.floor(sp / 4294967296) | 0; if (((vh << 16) >> 16) !== vh) c.fault(12, true, 0); } ` +
      `${writeCode("sp", 8, "(c.nrip >>> 0)", "(Math.floor(c.nrip / 4294967296) >>> 0)")} ` +
      `g[8] = sp >>> 0; g[9] = Math.floor(sp / 4294967296) >>> 0; c.nrip = t; }`;
  }
  if (h === ctl.ret) {
    return `{ const sp = (g[9] | 0) * 4294967296 + g[8]; ` +
      `{ const vh = Math.floor(sp / 4294967296) | 0; if (((vh << 16) >> 16) !== vh) c.fault(12, true, 0); } ` +
      `let t = 0; ${readCode("sp", 8, (lo, hi) => `t = c.canonical(${lo}, ${hi});`)} const nsp = sp + ${
        8 + i.imm
      }; ` +
      `g[8] = nsp >>> 0; g[9] = Math.floor(nsp / 4294967296) >>> 0; c.nrip = t; }`;
  }
  if (h === mov.movzx && (size === 8 || size === 4) && (i.mem || i.rm < 16)) {
    const mask = i.op === 1 ? 0xff : 0xffff;
    if (!i.mem) return `g[${2 * i.reg}] = g[${2 * i.rm}] & ${mask}; g[${2 * i.reg + 1}] = 0;`;
    const lin = linearCode(i);
    if (lin === null) return null;
    return `{ ${lin} ${readCode("lin", i.op, (lo) => `g[${2 * i.reg}] = ${lo};`)} g[${2 * i.reg + 1}] = 0; }`;
  }
  if (h === sh.shiftGroup && !i.mem && (size === 8 || size === 4)) {
    if ((i.op >> 3) === 1) return shiftByClCode(i.op & 7, size, i.rm);
    return shiftCode(i.op & 7, size, i.rm, (i.op >> 3) === 0 ? 1 : i.imm);
  }
  if (i.mem && (size === 8 || size === 4)) {
    if (h === mov.lea) {
      const ea = eaCode(i);
      if (ea === null) return null;
      return `{ ${ea} g[${2 * i.reg}] = lo; g[${2 * i.reg + 1}] = ${size === 8 ? "hi >>> 0" : "0"}; }`;
    }
    if (h === mov.movGE || h === mov.movEG) {
      const lin = linearCode(i);
      if (lin === null) return null;
      const r = 2 * i.reg;
      return h === mov.movGE
        ? `{ ${lin} ${readCode("lin", size, (lo, hi) => `g[${r}] = ${lo}; g[${r + 1}] = ${hi};`)} }`
        : `{ ${lin} ${writeCode("lin", size, `g[${r}]`, size === 8 ? `g[${r + 1}]` : "0")} }`;
    }
  }
  if (h === ctl.jmpRel || h === ctl.jccRel) {
    const jump = `{ const t = c.nrip + ${i.disp}; if (t >= ${TWO47} || t < -${TWO47}) c.gp0(); c.nrip = t; }`;
    if (h === ctl.jmpRel) return jump;
    const fused = flags === null ? null : fusedCondition(i.op, flags);
    return `if (${fused ?? `f.cond(${i.op})`}) ${jump}`;
  }
  if (h === ctl.nop) return ""; // NOP, multi-byte NOP, fences: no memory access, nothing to do
  if (h === mov.xchgAR && i.reg === RAX) return ""; // 90 is NOP (XCHG EAX, EAX would clear RAX[63:32])
  if (h === ctl.jmpE && size === 8) {
    // JMP r/m64: the target must be canonical (#GP(0)), as `jmpE` checks it.
    if (!i.mem) return `c.nrip = c.canonical(g[${2 * i.rm}], g[${2 * i.rm + 1}]);`;
    const lin = linearCode(i);
    return lin === null
      ? null
      : `{ ${lin} ${readCode("lin", 8, (lo, hi) => `c.nrip = c.canonical(${lo}, ${hi});`)} }`;
  }
  const more = moreTemplate(i);
  if (more !== undefined) return more;
  if ((h === mov.cmov || h === mov.setcc) && !i.mem) {
    const cond = (flags === null ? null : fusedCondition(i.op, flags)) ?? `f.cond(${i.op})`;
    if (h === mov.setcc) {
      // SETcc r8: AL..R15B, or AH..BH (16..19) without REX.
      const r = i.rm < 16 ? 2 * i.rm : 2 * (i.rm - 16);
      return i.rm < 16
        ? `g[${r}] = (g[${r}] & 0xffffff00) | ((${cond}) ? 1 : 0);`
        : `g[${r}] = (g[${r}] & 0xffff00ff) | ((${cond}) ? 0x100 : 0);`;
    }
    if (size === 8) {
      return `if (${cond}) { g[${2 * i.reg}] = g[${2 * i.rm}]; g[${2 * i.reg + 1}] = g[${2 * i.rm + 1}]; }`;
    }
    // A 32-bit CMOV clears the upper half of its destination whether or not it moves (SDM Vol. 2 CMOVcc).
    if (size === 4) return `if (${cond}) g[${2 * i.reg}] = g[${2 * i.rm}]; g[${2 * i.reg + 1}] = 0;`;
  }
  if (h === mov.movRI && (size === 8 || size === 4)) {
    return `g[${2 * i.reg}] = ${i.imm >>> 0}; g[${2 * i.reg + 1}] = ${size === 8 ? i.immHi >>> 0 : 0};`;
  }
  if (i.mem || (size !== 8 && size !== 4)) return null;
  if (h === mov.movEG || h === mov.movGE) {
    const d = h === mov.movEG ? i.rm : i.reg, s = h === mov.movEG ? i.reg : i.rm;
    return `g[${2 * d}] = g[${2 * s}]; g[${2 * d + 1}] = ${size === 8 ? `g[${2 * s + 1}]` : "0"};`;
  }
  if ((h === alu.aluEG || h === alu.aluGE || h === alu.aluEI) && TEMPLATED_ALU.has(i.op)) {
    if (h === alu.aluEI) return aluCode(i.op, size, i.rm, `${i.imm >>> 0}`, `${i.immHi >>> 0}`);
    const d = h === alu.aluEG ? i.rm : i.reg, s = h === alu.aluEG ? i.reg : i.rm;
    return aluCode(i.op, size, d, `g[${2 * s}]`, `g[${2 * s + 1}]`);
  }
  if (h === alu.notE && !i.mem && (size === 8 || size === 4)) {
    // No flag changes (SDM Vol. 2 NOT).
    const r = i.rm;
    return `g[${2 * r}] = (~g[${2 * r}]) >>> 0; g[${2 * r + 1}] = ${
      size === 8 ? `(~g[${2 * r + 1}]) >>> 0` : "0"
    };`;
  }
  if (h === alu.incE || h === alu.decE) {
    // CF is kept: the flags record the carry the previous operation left (as the handler does).
    const inc = h === alu.incE, op = inc ? FLAGS_INC : FLAGS_DEC;
    const L = `g[${2 * i.rm}]`, H = `g[${2 * i.rm + 1}]`;
    if (size === 4) {
      return `{ const a = ${L}; fr = (a ${inc ? "+" : "-"} 1) >>> 0; ${L} = fr; ${H} = 0; ` +
        `${flagStore(`f.setWithCarry(${op}, 4, a, 0, 1, 0, fr, 0, f.cf());`)} }`;
    }
    const carry = inc ? "fr === 0 ? (ah + 1) >>> 0 : ah" : "a === 0 ? (ah - 1) >>> 0 : ah";
    return `{ const a = ${L}, ah = ${H}; fr = (a ${
      inc ? "+" : "-"
    } 1) >>> 0; frh = ${carry}; ${L} = fr; ${H} = frh; ` +
      `${flagStore(`f.setWithCarry(${op}, 8, a, ah, 1, 0, fr, frh, f.cf());`)} }`;
  }
  if (h === alu.testEG) {
    const x = 2 * i.rm, y = 2 * i.reg;
    return size === 8
      ? `fr = (g[${x}] & g[${y}]) >>> 0; frh = (g[${x + 1}] & g[${y + 1}]) >>> 0; ${
        logicFlags(8, "fr", "frh")
      }`
      : `fr = (g[${x}] & g[${y}]) >>> 0; ${logicFlags(4, "fr", "0")}`;
  }
  return null;
}

/** JavaScript for register `r` read at `size` bytes (byte registers 16..19 are AH..BH). */
function regRead(size: number, r: number): string {
  if (size === 1) return r < 16 ? `(g[${2 * r}] & 0xff)` : `((g[${2 * (r - 16)}] >>> 8) & 0xff)`;
  return size === 2 ? `(g[${2 * r}] & 0xffff)` : `g[${2 * r}]`;
}

/**
 * Templates for TEST with an immediate, the accumulator forms of the ALU operations, MOVSX and
 * MOVSXD, CDQE/CQO, 32-bit IMUL and the ALU operations with a memory source; undefined for
 * anything else (null: the form is known but left to its handler).
 */
function moreTemplate(i: Insn): string | null | undefined {
  const h = i.h, size = i.size;
  if (h === alu.testEG && (size === 1 || size === 2)) {
    if (i.mem) return null;
    return `fr = (${regRead(size, i.rm)} & ${regRead(size, i.reg)}) >>> 0; frh = 0; ${
      logicFlags(size, "fr", "frh")
    }`;
  }
  if (h === alu.testEI || h === alu.testAI) {
    if (h === alu.testEI && i.mem) return null;
    const r = h === alu.testAI ? 0 : i.rm;
    const lo = `(${regRead(size, r)} & ${i.imm >>> 0}) >>> 0`;
    const hi = size === 8 ? `(g[${2 * r + 1}] & ${i.immHi >>> 0}) >>> 0` : "0";
    return `fr = ${lo}; frh = ${hi}; ${logicFlags(size, "fr", "frh")}`;
  }
  if (h === alu.aluAI) {
    return (size === 8 || size === 4) && TEMPLATED_ALU.has(i.op)
      ? aluCode(i.op, size, 0, `${i.imm >>> 0}`, `${i.immHi >>> 0}`)
      : null;
  }
  if (h === mov.movsx) {
    if (size !== 8 && size !== 4) return null;
    const ext = i.op === 1 ? "(x << 24) >> 24" : i.op === 2 ? "(x << 16) >> 16" : "x | 0";
    const put = (v: string) =>
      `{ const x = ${v}; const s = ${ext}; g[${2 * i.reg}] = s >>> 0; g[${2 * i.reg + 1}] = ${
        size === 8 ? "s < 0 ? 0xffffffff : 0" : "0"
      }; }`;
    if (!i.mem) return put(regRead(i.op, i.rm));
    const lin = linearCode(i);
    return lin === null ? null : `{ ${lin} ${readCode("lin", i.op, (lo) => put(lo))} }`;
  }
  if (h === mov.cbw && size === 8) return `g[1] = (g[0] | 0) < 0 ? 0xffffffff : 0;`;
  if (h === mov.cwd && size === 8) {
    return `{ const s = (g[1] | 0) < 0 ? 0xffffffff : 0; g[4] = s; g[5] = s; }`;
  }
  if (h === mov.cwd && size === 4) return `g[4] = (g[0] | 0) < 0 ? 0xffffffff : 0; g[5] = 0;`;
  if (h === md.mulE && size === 8 && !i.mem) {
    // RDX:RAX = RAX * r64 through `mulWide` and the scratch words `w4` (both passed in).
    return `{ mulWide(c, g[0], g[1], g[${2 * i.rm}], g[${2 * i.rm + 1}], w4); ` +
      `g[0] = w4[0]; g[1] = w4[1]; g[4] = w4[2]; g[5] = w4[3]; }`;
  }
  if (h === md.imulGE && size === 8 && !i.mem) {
    // The exact 128-bit product decides the flags: `imul64` (the handler's core) is passed in.
    const [a, ah] = i.op === 1
      ? [`${i.imm >>> 0}`, `${i.immHi >>> 0}`]
      : [`g[${2 * i.reg}]`, `g[${2 * i.reg + 1}]`];
    return `{ const r = imul64(c, ${a}, ${ah}, g[${2 * i.rm}], g[${2 * i.rm + 1}]); ` +
      `g[${2 * i.reg}] = r; g[${2 * i.reg + 1}] = c.hi; }`;
  }
  if (h === md.imulGE && size === 4 && !i.mem) {
    // The low half from Math.imul; the double product is exact near +-2^31, where overflow is decided.
    const a = i.op === 1 ? `${i.imm | 0}` : `(g[${2 * i.reg}] | 0)`;
    return `{ const a = ${a}, b = g[${2 * i.rm}] | 0; const r = Math.imul(a, b) >>> 0; const p = a * b; ` +
      `const o = p >= 2147483648 || p < -2147483648 ? 1 : 0; g[${2 * i.reg}] = r; g[${2 * i.reg + 1}] = 0; ` +
      `${flagStore("f.setEager(4, r, 0, o, o);")} }`;
  }
  if ((h === mov.movEG || h === mov.movGE) && i.mem && (size === 1 || size === 2)) {
    const lin = linearCode(i);
    if (lin === null) return null;
    if (h === mov.movEG) return `{ ${lin} ${writeCode("lin", size, regRead(size, i.reg), "0")} }`;
    const r = i.reg;
    const merge = (v: string) =>
      size === 2
        ? `g[${2 * r}] = (g[${2 * r}] & 0xffff0000) | ${v};`
        : r < 16
        ? `g[${2 * r}] = (g[${2 * r}] & 0xffffff00) | ${v};`
        : `g[${2 * (r - 16)}] = (g[${2 * (r - 16)}] & 0xffff00ff) | (${v} << 8);`;
    return `{ ${lin} ${readCode("lin", size, (lo) => `{ const x = ${lo}; ${merge("x")} }`)} }`;
  }
  if ((h === alu.aluEG || h === alu.aluGE || h === alu.aluEI) && i.op === alu.ALU_CMP && size === 1) {
    // CMP on bytes: a - b recorded as SUB at size 1.
    const other = h === alu.aluEI ? `${i.imm & 0xff}` : regRead(1, i.reg);
    const cmp = (e: string) => {
      const [a, b] = h === alu.aluGE ? [other, e] : [e, other];
      return `{ const a = ${a}, b = ${b}; const r = (a - b) & 0xff; ` +
        `${setFlags(FLAGS_SUB, 1, "a", "0", "b", "0", "r", "0")} fa = a; fb = b; }`;
    };
    if (!i.mem) return cmp(regRead(1, i.rm));
    const lin = linearCode(i);
    return lin === null
      ? null
      : `{ ${lin} ${readCode("lin", 1, (lo) => `{ const x = ${lo}; ${cmp("x")} }`)} }`;
  }
  if (h === alu.aluGE && i.mem && (size === 8 || size === 4) && TEMPLATED_ALU.has(i.op)) {
    const lin = linearCode(i);
    return lin === null
      ? null
      : `{ ${lin} ${readCode("lin", size, (lo, hi) => aluCode(i.op, size, i.reg, lo, hi))} }`;
  }
  return undefined;
}

/** The flag source an instruction leaves for the next one (templates that do not touch flags keep it). */
function flagSource(i: Insn, templated: boolean, before: FlagSource | null): FlagSource | null {
  if (!templated) return null;
  const h = i.h;
  if (sseKeepsFlags(i)) return before;
  if (
    h === mov.movRI || h === mov.movEG || h === mov.movGE || h === mov.lea || h === ctl.nop ||
    h === mov.cmov || h === mov.xchgAR ||
    h === mov.setcc || h === alu.notE
  ) return before;
  if (h === alu.testEG) return { kind: "logic", size: i.size };
  if (h === alu.testEI || h === alu.testAI) return { kind: "logic", size: i.size };
  if (h === mov.movsx || h === mov.cbw || h === mov.cwd) return before;
  if (h === alu.incE || h === alu.decE) return { kind: "zs", size: i.size };
  if (h === alu.aluEG || h === alu.aluGE || h === alu.aluEI || h === alu.aluAI) {
    // Of the byte forms only CMP has a template (and it records its operands).
    if (i.size < 4) return i.op === alu.ALU_CMP && i.size === 1 ? { kind: "sub", size: 1 } : null;
    if (i.op === alu.ALU_SUB || i.op === alu.ALU_CMP) return { kind: "sub", size: i.size };
    if (i.op === alu.ALU_AND || i.op === alu.ALU_OR || i.op === alu.ALU_XOR) {
      return { kind: "logic", size: i.size };
    }
  }
  return null; // ADD, jumps: no fused source
}

/**
 * Most blocks joined into one compiled region. One: a region is its block, plus the jump back to
 * its own start when the block is a loop. Larger regions (2, 4, 8, 16, 32 blocks) measured slower
 * on the benchmark guests, 16 blocks by up to 3x: every hot block compiles its own region, so V8
 * optimizes many large overlapping functions, and their paths not yet run deoptimize them again.
 */
export const MAX_REGION_BLOCKS = 1;

/**
 * The blocks of the region that starts at `entry`: `entry` first, then the blocks its successor
 * links (valid in `epoch`) reach, breadth first, at most {@link MAX_REGION_BLOCKS}.
 */
function regionBlocks(entry: Block, epoch: number): Block[] {
  const out = [entry];
  for (let k = 0; k < out.length && out.length < MAX_REGION_BLOCKS; k++) {
    for (const [, next] of out[k].links(epoch)) {
      if (!out.includes(next) && out.length < MAX_REGION_BLOCKS) out.push(next);
    }
  }
  return out;
}

const FLAG_STORE = /\/\*F\*\/.*?\/\*f\*\//g;
const MARKS = /\/\*[Ff]\*\//g;

/**
 * Which instructions' flag records must be kept: the record an instruction leaves is dead when a
 * later instruction of the block overwrites it and nothing between can observe it. Observers: a
 * handler call, an instruction that can fault or exit (the exception or exit sees RFLAGS), a
 * condition read from the record, and the end of the block. A record that only updates part of
 * the flags (ROL/ROR's CF and OF, INC/DEC keeping CF) reads the one before it, but only if kept.
 */
function liveFlagStores(insns: Insn[], templates: (string | null)[]): boolean[] {
  const keep = new Array<boolean>(insns.length);
  let live = true;
  for (let k = insns.length - 1; k >= 0; k--) {
    keep[k] = live;
    const t = templates[k];
    if (t === null || !isPure(insns[k]) || t.startsWith(SSE_GUARD)) {
      live = true;
      continue;
    }
    const stores = t.match(FLAG_STORE) ?? [];
    if (t.replace(FLAG_STORE, "").includes("f.cond(")) live = true;
    else if (stores.length > 0) {
      live = keep[k] && stores.some((x) => x.includes("f.cf()") || x.includes("f.putArith("));
    }
  }
  return keep;
}

/**
 * JavaScript for one block's instructions; an early end (`c.brk`) returns null from the region.
 * `names`/`values` collect the handlers and instructions the code calls.
 */
/**
 * Register halves kept in JavaScript locals (`r0`..`r31`) inside a block: a half is loaded from
 * `Cpu.gpr` when an instruction first uses it and written back ("spilled") before anything that
 * can observe the register file (a handler, an instruction that can fault or exit) and at every way
 * out of the block. Between those points the registers live in locals, which V8 keeps in machine
 * registers, instead of in the typed array. The dwords of XMM0-15 (`X4[0]`..`X4[63]` in the SSE
 * templates) live in locals `xm0`..`xm63` the same way, holding what the Uint32Array would (every
 * write is wrapped to 32 bits unsigned), except around the templates that read the XMM registers
 * through the floating-point views (see {@link XMM_VIEWS}), which see them in the typed array.
 */
class RegisterLocals {
  private readonly loaded = new Set<string>();
  private readonly dirty = new Set<string>();

  private local(name: string, from: string): string {
    if (!this.loaded.has(name)) {
      this.loaded.add(name);
      this.loads += `${name} = ${from}; `;
    }
    return name;
  }
  private loads = "";

  /**
   * `code` with its register-file accesses on locals, after loads of the halves not yet loaded;
   * with `xmm` false the XMM registers stay in the typed array.
   */
  use(code: string, xmm = true): string {
    this.loads = "";
    let out = code.replace(/g\[(\d+)\]/g, (_, n: string) => this.local(`r${n}`, `g[${n}]`));
    for (const m of code.matchAll(/g\[(\d+)\] = (?!=)/g)) this.dirty.add(`r${m[1]}`);
    if (xmm) {
      const isXmm = (n: string) => Number(n) < XMM_LOCALS;
      out = out.replace(/X4\[(\d+)\] = (?!=)([^;]*);/g, (all, n: string, e: string) => {
        if (!isXmm(n)) return all;
        this.dirty.add(`xm${n}`);
        return `X4[${n}] = ${/^(0|X4\[\d+\]|dv\.getUint32\([^()]*\))$/.test(e) ? e : `(${e}) >>> 0`};`;
      });
      out = out.replace(/X4\[(\d+)\]/g, (all, n: string) => isXmm(n) ? this.local(`xm${n}`, all) : all);
    }
    return this.loads + out;
  }

  /** Code writing back the halves changed since the last spill, for a way out (they stay changed). */
  writeBack(): string {
    const out = [...this.dirty].map((n) =>
      `${n[0] === "x" ? "X4" : "g"}[${n.slice(n[0] === "x" ? 2 : 1)}] = ${n};`
    )
      .join(" ");
    return out === "" ? "" : `${out}\n`;
  }

  /** Code writing back the halves changed since the last spill. */
  spill(): string {
    const out = this.writeBack();
    this.dirty.clear();
    return out;
  }

  /** Code writing back the XMM dwords changed since the last spill; they are loaded again at their next use. */
  spillXmm(): string {
    const xs = [...this.dirty].filter((n) => n[0] === "x");
    for (const n of xs) this.dirty.delete(n);
    for (const n of [...this.loaded]) if (n[0] === "x") this.loaded.delete(n);
    return xs.length === 0 ? "" : `${xs.map((n) => `X4[${n.slice(2)}] = ${n};`).join(" ")}\n`;
  }

  /** A handler ran: every half must be loaded again. */
  forget(): void {
    this.loaded.clear();
  }
}

/** The XMM dwords kept in locals: those of XMM0-15 (the scratch registers above stay in the typed array). */
const XMM_LOCALS = 64;

/** SSE templates that read or write XMM registers through the floating-point views or a handler call. */
const XMM_VIEWS = /XD\[|XS\[|\$SLOW/;

function blockCode(block: Block, bi: number, names: string[], values: unknown[]): string {
  const insns = block.insns;
  const regs = new RegisterLocals();
  let body = "";
  let flags: FlagSource | null = null;
  // Instructions that can neither fault nor read RIP advance RIP and the count in one step later.
  let pendingBytes = 0, pendingCount = 0;
  const flush = () => {
    if (pendingCount === 0) return "";
    const code = `c.rip += ${pendingBytes}; c.icount += ${pendingCount};\n`;
    pendingBytes = pendingCount = 0;
    return code;
  };
  const templates: (string | null)[] = [];
  for (const i of insns) {
    templates.push(template(i, flags));
    flags = flagSource(i, templates[templates.length - 1] !== null, flags);
  }
  block.templated = templates.map((t) => t !== null);
  const live = liveFlagStores(insns, templates);
  // The SSE enabling checks passed since the last handler call (only a handler changes CR0 or CR4).
  let sseOn = false;
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k];
    let t = templates[k] === null ? null : templates[k]!.replace(live[k] ? MARKS : FLAG_STORE, "");
    let guard = "", slow = "";
    // Floating-point templates see the XMM registers in the typed array.
    const views = t !== null && XMM_VIEWS.test(t);
    if (views) body += regs.spillXmm();
    if (t !== null && t.startsWith(SSE_GUARD)) {
      // An SSE template: its handler runs for a failed enabling check (and raises the fault) and on
      // the template's slow path. A pure one runs it with RIP, the count and the registers as they
      // are at this instruction, then takes back RIP and the count (they are still pending).
      t = t.slice(SSE_GUARD.length);
      const h = `h${bi}_${k}`, a = `i${bi}_${k}`;
      names.push(h, a);
      values.push(i.h, i);
      // The general-register halves the template writes (so kept in locals): the handler writes
      // them in the register file, from where they are loaded again.
      const reload = [...new Set([...t.matchAll(/g\[(\d+)\] = (?!=)/g)].map((m) => m[1]))]
        .map((n) => ` r${n} = g[${n}];`).join("");
      slow = isPure(i)
        ? `{ c.rip += ${pendingBytes}; c.icount += ${pendingCount}; ${regs.writeBack()}` +
          `c.nrip = c.rip + ${i.len}; ${h}(c, ${a}); c.rip -= ${pendingBytes}; c.icount -= ${pendingCount};${reload} }`
        : `{ ${h}(c, ${a});${reload} }`;
      if (!sseOn) guard = `if (${SSE_OFF}) ${slow}\n`;
      sseOn = true;
    }
    const use = (code: string) => regs.use(code, !views).replaceAll(SSE_SLOW, slow);
    if (t !== null && isPure(i)) {
      body += `${guard}${use(t)}\n`;
      pendingBytes += i.len;
      pendingCount++;
      continue;
    }
    body += flush() + regs.spill();
    body += `c.nrip = c.rip + ${i.len};\n`;
    if (t !== null) {
      body += `${guard}${use(t)}\n`;
    } else {
      const h = `h${bi}_${k}`, a = `i${bi}_${k}`;
      names.push(h, a);
      values.push(i.h, i);
      body += `${h}(c, ${a});\n`;
      regs.forget();
      sseOn = false;
    }
    body += `c.rip = c.nrip; c.icount++;\n`;
    // Handlers and memory accesses can end a block early: a store into decoded code (self-modifying
    // code), a page walk that sets an accessed flag in a page holding code, IF or mode changes.
    if (t === null || touchesMemory(i)) {
      body += `if (c.brk) { ${regs.writeBack()}c.brk = false; return null; }\n`;
    }
  }
  return body + flush() + regs.spill();
}

/**
 * Compiles the region that starts at `entry` (see the module documentation): the entry block and
 * the blocks its successor links reach become one function that runs from block to block while
 * the budget allows a whole next block, no interrupt shadow is open and the block links are still
 * valid (the cache's epoch is unchanged). It returns the last block that ran to its end, for the
 * run loop to chain from, or null when one ended early.
 */
export function compileRegion(entry: Block, epoch: number): CompiledBlock {
  const blocks = regionBlocks(entry, epoch);
  const names: string[] = ["imul64", "mulWide", "w4", ...Object.keys(SSE_HELPERS)];
  const values: unknown[] = [md.imul64, md.mulWide, new Uint32Array(4), ...Object.values(SSE_HELPERS)];
  let cases = "", loops = false;
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi];
    names.push(`b${bi}`);
    values.push(b);
    let code = blockCode(b, bi, names, values);
    const exits: string[] = [];
    for (const [rip, next] of b.links(epoch)) {
      const ni = blocks.indexOf(next);
      if (ni < 0) continue;
      loops = true;
      exits.push(
        `if (r === ${rip}) { if (c.icount + ${next.insns.length} <= c.endAt && c.shadowEnd < c.icount && ` +
          `c.blocks.epoch === ${epoch}) { pc = ${ni}; continue; } return b${bi}; }`,
      );
    }
    if (exits.length > 0) code += `{ const r = c.rip; ${exits.join(" ")} }\n`;
    cases += `case ${bi}: {\n${code}return b${bi};\n}\n`;
  }
  // A block that does not loop back needs no dispatch loop around it.
  const body = loops || blocks.length > 1
    ? `for (let pc = 0;;) {\nswitch (pc) {\n${cases}}\n}`
    : cases.slice(cases.indexOf("{\n") + 2, cases.lastIndexOf("}"));
  // Named after the entry's physical address, so a CPU profile tells the guest's loops apart.
  const make = new Function(
    ...names,
    `return function region_${entry.hpa.toString(16)}(c) {\n${prologue(body)}${body}\n};`,
  ) as (
    ...a: unknown[]
  ) => CompiledBlock;
  return make(...values);
}

/** Declarations of the CPU state and the locals that the code `body` uses, and only those. */
function prologue(body: string): string {
  const fields = ["g = c.gpr", "f = c.fl", "mem = c.mem", "dv = c.dv", "rTag = c.rTag", "rHpa = c.rHpa"];
  fields.push("wTag = c.wTag", "wHpa = c.wHpa", ...SSE_FIELDS);
  const used = (name: string) => new RegExp(`\\b${name}\\b`).test(body);
  const consts = fields.filter((d) => used(d.slice(0, d.indexOf(" "))));
  const lets = ["fa", "fah", "fb", "fbh", "fr", "frh"].filter(used);
  for (let n = 0; n < 32; n++) if (used(`r${n}`)) lets.push(`r${n}`);
  for (let n = 0; n < XMM_LOCALS; n++) if (used(`xm${n}`)) lets.push(`xm${n}`);
  return (consts.length > 0 ? `const ${consts.join(", ")};\n` : "") +
    (lets.length > 0 ? `let ${lets.map((l) => `${l} = 0`).join(", ")};\n` : "");
}

/** Compiles `block` alone (a region of one block). */
export function compileBlock(block: Block): CompiledBlock {
  return compileRegion(block, -1);
}

/** The templated instruction reads or writes memory (a MOV, MOVZX with a memory operand, PUSH, POP). */
function touchesMemory(i: Insn): boolean {
  return (i.mem && i.h !== mov.lea && i.h !== ctl.nop) || i.h === stk.pushR || i.h === stk.popR ||
    i.h === ctl.callRel ||
    i.h === ctl.ret;
}

/** A templated instruction that cannot fault and does not read RIP (register and immediate forms, LEA off RIP). */
function isPure(i: Insn): boolean {
  const h = i.h;
  if (h === mov.lea) return i.base !== BASE_RIP;
  if (h === ctl.nop) return true; // a NOP's memory operand is never accessed
  if (h === mov.xchgAR) return i.reg === RAX; // 90: NOP
  if (i.mem) return false;
  return h === mov.movRI || h === mov.movEG || h === mov.movGE || h === alu.aluEG || h === alu.aluGE ||
    h === alu.aluEI || h === alu.testEG || h === sh.shiftGroup || h === mov.movzx || h === alu.incE ||
    h === alu.decE || h === ctl.nop || h === mov.cmov || h === mov.setcc || h === alu.testEI ||
    h === alu.notE ||
    h === alu.testAI || h === alu.aluAI || h === mov.movsx || h === mov.cbw || h === mov.cwd ||
    h === md.imulGE || h === md.mulE || ssePure(i);
}

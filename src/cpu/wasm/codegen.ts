/**
 * The WebAssembly code generator: a region of decoded blocks (an entry block and the blocks its
 * successor links reach) becomes one wasm function that runs from block to block inside a loop,
 * with the general registers in i64 locals and the lazy-flags record in locals, and returns to
 * JavaScript only when the region is left, the budget would not allow the next whole block, or an
 * instruction needs the slow path (a software-TLB miss, a page-crossing access, a non-canonical
 * address or branch target). The slow path leaves the state exact at that instruction's boundary:
 * registers and flags written back, the exit record saying where; JavaScript (runtime.ts) then runs
 * the rest of that block through the handlers, as the interpreter would.
 *
 * Semantics follow the handlers in ops/ (and so the Intel SDM Vol. 2 for each instruction); the
 * flag record each writes is the one `Flags` (flags.ts) records, so that RFLAGS read later by
 * JavaScript is the interpreter's.
 *
 * Function type: (rip: f64, left: i32, n: i32, gen: i32) -> i32. `rip` is the entry block's linear
 * RIP, `left` the instructions the budget allows from the start of the call chain (at least the
 * entry block's length), `n` the instructions retired in the chain before this region, `gen` the
 * dispatch cache's current generation. Returns 0 when a block ran to its end and the region was
 * left (exit record: next RIP, instructions retired, that block's index, the region's id), 1 when
 * an instruction needs the slow path (exit record: the RIP of its block, instructions retired
 * before that block, the block's index, the instruction's index in it, the region's id).
 *
 * A region left for a RIP that the dispatch cache (unified_memory.ts) maps, in the current
 * generation, to another compiled region whose entry block the budget allows whole, hands over to
 * it with a tail call through the function table instead of returning: the state is in memory then,
 * as at a return, and the JavaScript run loop would have chained to that region the same way.
 *
 * @module
 */

import type { Block } from "../blocks.ts";
import {
  FLAGS_ADC,
  FLAGS_ADD,
  FLAGS_DEC,
  FLAGS_EAGER,
  FLAGS_INC,
  FLAGS_LOGIC,
  FLAGS_SBB,
  FLAGS_SUB,
} from "../flags.ts";
import { BASE_RIP, type Insn, NONE } from "../insn.ts";
import { ARITH_FLAGS, FLAG_FIXED1, RAX, RCX, RDI, RDX, RSI, RSP, SEG_FS, SEG_GS } from "../registers.ts";
import * as alu from "../ops/alu.ts";
import * as atomic from "../ops/atomic.ts";
import * as bit from "../ops/bit.ts";
import * as ctl from "../ops/control.ts";
import * as md from "../ops/muldiv.ts";
import * as mov from "../ops/mov.ts";
import * as sh from "../ops/shift.ts";
import * as stk from "../ops/stack.ts";
import * as str from "../ops/string.ts";
import {
  STATE_DISPATCH,
  STATE_DISPATCH_ENTRIES,
  STATE_EXIT,
  STATE_FLAGS,
  STATE_GPR,
  STATE_RHPA,
  STATE_RTAG,
  STATE_WHPA,
  STATE_WTAG,
} from "../unified_memory.ts";
import { Code, F64, I32, I64, type Label, ModuleBuilder, Op } from "./encoder.ts";
import { SseEmitter, sseSupports } from "./codegen_sse.ts";

/** Exit status: a block ran to its end and the region was left. */
export const WASM_DONE = 0;
/** Exit status: an instruction needs the slow path (runtime.ts runs the rest of its block). */
export const WASM_SLOW = 1;

/** Most blocks in one region. */
export const MAX_WASM_REGION_BLOCKS = 8;

const ALU_TEMPLATED = new Set([
  alu.ALU_ADD,
  alu.ALU_OR,
  alu.ALU_ADC,
  alu.ALU_SBB,
  alu.ALU_AND,
  alu.ALU_SUB,
  alu.ALU_XOR,
  alu.ALU_CMP,
]);

/** A memory operand the generator handles: 64-bit addressing, no FS/GS base. */
function plainMem(i: Insn): boolean {
  return i.asize === 8 && i.seg !== SEG_FS && i.seg !== SEG_GS;
}

/** Whether the generator compiles instruction `i` (else its block stays with the JavaScript compiler). */
export function wasmSupports(i: Insn): boolean {
  const h = i.h, size = i.size;
  const e = !i.mem || plainMem(i); // the E operand, register or a plain memory operand
  if (h === mov.movRI) return true;
  if (h === mov.movEG || h === mov.movGE || h === mov.movEI) return e;
  if (h === mov.movzx) return e && size >= 4;
  if (h === mov.movsx) return e && size >= 4;
  if (h === mov.lea) return i.asize === 8 && size >= 4;
  if (h === alu.aluEG || h === alu.aluEI) return ALU_TEMPLATED.has(i.op) && e;
  if (h === alu.aluGE) return ALU_TEMPLATED.has(i.op) && e;
  if (h === alu.aluAI) return ALU_TEMPLATED.has(i.op);
  if (h === alu.testEG || h === alu.testEI) return e;
  if (h === alu.testAI) return true;
  if (h === alu.incE || h === alu.decE || h === alu.negE || h === alu.notE) return e;
  if (h === md.imulGE || h === md.mulE) return e && size >= 4;
  if (h === sh.shiftGroup) {
    const kind = i.op & 7, form = i.op >> 3;
    if (i.mem) return false;
    const rotate = kind === sh.SH_ROL || kind === sh.SH_ROR;
    if (rotate && form === 1) return size >= 4;
    if (rotate) return ((form === 0 ? 1 : i.imm) & (size === 8 ? 63 : 31)) !== 0;
    if (!(kind === sh.SH_SHL || kind === sh.SH_SAL || kind === sh.SH_SHR || kind === sh.SH_SAR)) return false;
    if (form === 1) return size >= 4;
    const n = (form === 0 ? 1 : i.imm) & (size === 8 ? 63 : 31);
    return n !== 0 && n < size * 8;
  }
  if (h === sh.shxd) return size >= 4 && e;
  if (h === bit.btEG) return size >= 4 && !i.mem;
  if (h === bit.btEI) return size >= 4 && e;
  if (h === bit.bsf || h === bit.bsr || h === bit.popcnt) return size >= 4 && e;
  if (h === md.divE || h === md.idivE) return size >= 4 && e;
  if (h === stk.pushR || h === stk.popR) return size === 8;
  if (h === ctl.lahf || h === ctl.sahf) return true;
  if (h === str.stringOp) {
    return i.rep === 0 && plainMem(i) &&
      (i.op === str.STR_MOVS || i.op === str.STR_STOS || i.op === str.STR_LODS);
  }
  if (h === stk.pushf) return size === 8;
  if (h === ctl.callRel || h === ctl.jmpRel || h === ctl.jccRel || h === ctl.nop) return true;
  if (h === ctl.ret) return true;
  if (h === ctl.jmpE || h === ctl.callE) return size === 8 && e;
  if (h === mov.xchgAR) return i.reg === RAX || size >= 2;
  if (h === mov.cmov) return e && size >= 4;
  if (h === mov.bswap) return size >= 4;
  if (h === mov.xchgEG || h === atomic.xadd || h === atomic.cmpxchg) return e;
  if (h === mov.setcc) return !i.mem;
  if (h === mov.cbw || h === mov.cwd) return size >= 4 && !(h === mov.cbw && size === 4);
  return sseSupports(i);
}

/** The flag-setting operation last emitted in the current block, known at compile time. */
interface FlagKind {
  kind: "add" | "sub" | "adc" | "sbb" | "logic" | "incdec" | "eager";
  size: number;
}

/**
 * A shift or rotate by a constant whose flags are not yet in the record locals: they are computed
 * only where something can observe them (a condition, the slow path, the block's end), from the
 * value before (local pa) and the result (local pr). A shift sets all six arithmetic flags; a
 * rotate only CF and OF, over the record in the locals (`fk` still describes it).
 */
interface Pending {
  rotate: boolean;
  /** SH_SHL, SH_SAL, SH_SHR, SH_SAR, SH_ROL or SH_ROR. */
  kind: number;
  size: number;
  /** The masked count, not 0 (for a rotate of 1 or 2 bytes, before the modulo of the size). */
  n: number;
  /** SHLD/SHRD (kind SH_SHL or SH_SHR): OF, for a count of 1, is whether the sign changed. */
  double?: boolean;
}

const MASK: Record<number, bigint> = { 1: 0xffn, 2: 0xffffn, 4: 0xffffffffn, 8: -1n };

/** The registers instruction `i` names (read or written), 0..15, with RAX, RCX, RDX and RSP, which some read implicitly. */
function regsOf(i: Insn, out: Set<number>): void {
  const add = (r: number) => {
    if (r >= 0 && r < 16) out.add(r);
    else if (r >= 16 && r < 20) out.add(r - 16);
  };
  add(i.reg);
  if (!i.mem) add(i.rm);
  if (i.mem) {
    if (i.base >= 0 && i.base < 16) out.add(i.base);
    if (i.index >= 0) out.add(i.index);
  }
  out.add(RAX);
  out.add(RCX); // shifts by CL
  out.add(RDX);
  out.add(RSP);
  out.add(RSI); // string instructions
  out.add(RDI);
}

/**
 * Whether block `b` sets all six arithmetic flags before anything can observe them (an instruction
 * that reads them, or one that may take the slow path, where the state must be exact).
 */
function flagsDeadAtEntry(b: Block): boolean {
  for (const i of b.insns) {
    const h = i.h;
    if (h === mov.lea) continue;
    if (i.mem) return false;
    if (h === alu.aluEG || h === alu.aluGE || h === alu.aluEI || h === alu.aluAI) {
      return i.op !== alu.ALU_ADC && i.op !== alu.ALU_SBB;
    }
    if (h === alu.testEG || h === alu.testEI || h === alu.testAI || h === alu.negE) return true;
    if (h === md.imulGE || h === md.mulE) return true;
    if (h === sh.shiftGroup) {
      const kind = i.op & 7;
      return (i.op >> 3) !== 1 && kind !== sh.SH_ROL && kind !== sh.SH_ROR;
    }
    if (
      h === mov.movRI || h === mov.movEG || h === mov.movGE || h === mov.movEI || h === mov.movzx ||
      h === mov.movsx || h === mov.bswap || h === mov.xchgEG || h === mov.xchgAR || h === mov.cbw ||
      h === mov.cwd || h === ctl.nop || h === alu.notE
    ) continue;
    return false;
  }
  return false;
}

/** Emits one region's function (see the module documentation). */
class RegionEmitter {
  readonly c = new Code(4);
  private readonly regs: number[] = [];
  private readonly names = new Set<number>();
  private readonly rip: number; // i64: linear RIP of the current block
  private readonly n: number; // i32: instructions retired in this call before the current block
  private readonly pc: number; // i32: the block to run next
  private readonly status: number; // i32
  private readonly exitRip: number; // i64
  private readonly bailAt: number; // i32
  private readonly last: number; // i32
  private readonly nx: number; // i64: next RIP of the current block
  private readonly fop: number;
  private readonly fsz: number;
  private readonly fa: number;
  private readonly fb: number;
  private readonly fr: number;
  private readonly fcin: number;
  private readonly frf: number;
  private readonly t: number[]; // i64 scratch
  private readonly p: number; // i32 scratch (host address)
  private readonly over: number; // i32 scratch (IMUL overflow)
  private exitLabel!: Label;
  private bailLabel!: Label;
  private fk: FlagKind | null = null;
  private pend: Pending | null = null;
  private readonly pa: number; // i64: the value a pending shift shifted
  private readonly pr: number; // i64: the result of a pending shift or rotate
  private readonly sse: SseEmitter;
  private bi = 0;
  private k = 0;
  private off = 0; // offset of the current instruction from its block's start
  private blockLen = 0;

  constructor(
    private readonly blocks: Block[],
    private readonly epoch: number,
    private readonly state: number,
    private readonly helpers: { flags: number; cond: number },
    private readonly id: number,
    private readonly type: number,
  ) {
    const c = this.c;
    this.rip = c.local(I64);
    this.n = c.local(I32);
    this.pc = c.local(I32);
    this.status = c.local(I32);
    this.exitRip = c.local(I64);
    this.bailAt = c.local(I32);
    this.last = c.local(I32);
    this.nx = c.local(I64);
    this.fop = c.local(I32);
    this.fsz = c.local(I32);
    this.fa = c.local(I64);
    this.fb = c.local(I64);
    this.fr = c.local(I64);
    this.fcin = c.local(I32);
    this.frf = c.local(I32);
    this.t = [
      c.local(I64),
      c.local(I64),
      c.local(I64),
      c.local(I64),
      c.local(I64),
      c.local(I64),
      c.local(I64),
    ];
    this.p = c.local(I32);
    this.over = c.local(I32);
    this.pa = c.local(I64);
    this.pr = c.local(I64);
    for (let r = 0; r < 16; r++) this.regs.push(c.local(I64));
    for (const b of blocks) for (const i of b.insns) regsOf(i, this.names);
    this.sse = new SseEmitter({
      c,
      state,
      p: this.p,
      gpr: (r) => this.regs[r],
      linear: (i) => this.linear(i),
      tlb: (lin, size, write) => this.tlb(lin, size, write),
      bailUnless: () => this.bailUnless(),
      writeReg: (size, r, v) => this.writeReg(size, r, v),
      putCompareFlags: () => {
        c.get(this.frf).i32(~0x8d5).op(Op.i32And, Op.i32Or).i32(FLAG_FIXED1).op(Op.i32Or).set(this.frf);
        c.i32(FLAGS_EAGER).set(this.fop);
        this.pend = null; // the six flags are all written
        this.fk = { kind: "eager", size: 4 };
      },
    }, blocks);
  }

  /** Emits the function body. */
  emit(): Code {
    const c = this.c, S = this.state;
    // Entry: registers and the flag record from the state area, RIP from the parameter.
    for (const r of this.names) c.i32(0).mem(Op.i64Load, 3, S + STATE_GPR + 8 * r).set(this.regs[r]);
    const F = S + STATE_FLAGS;
    c.i32(0).mem(Op.i32Load, 2, F).set(this.fop);
    c.i32(0).mem(Op.i32Load, 2, F + 4).set(this.fsz);
    c.i32(0).mem(Op.i64Load, 3, F + 8).set(this.fa);
    c.i32(0).mem(Op.i64Load, 3, F + 16).set(this.fb);
    c.i32(0).mem(Op.i64Load, 3, F + 24).set(this.fr);
    c.i32(0).mem(Op.i32Load, 2, F + 32).set(this.fcin);
    c.i32(0).mem(Op.i32Load, 2, F + 36).set(this.frf);
    c.get(0).op(Op.i64TruncF64S).set(this.rip);
    this.sse.enter();
    c.get(2).set(this.n);
    this.exitLabel = c.block();
    this.bailLabel = c.block();
    const loop = c.loop();
    const labels: Label[] = [];
    for (let b = this.blocks.length - 1; b >= 0; b--) labels[b] = c.block();
    c.get(this.pc).brTable(labels, labels[this.blocks.length - 1]);
    for (let b = 0; b < this.blocks.length; b++) {
      c.end(); // the label of block b: its code follows
      this.block(b, loop);
    }
    c.end(); // loop
    c.end(); // bail: the current block's RIP and index; runtime.ts adds the instruction's offset
    c.i32(WASM_SLOW).set(this.status).get(this.pc).set(this.last).get(this.rip).set(this.exitRip);
    c.end(); // exit
    // Exit: registers, flags and the exit record back to the state area.
    for (const r of this.names) c.i32(0).get(this.regs[r]).mem(Op.i64Store, 3, S + STATE_GPR + 8 * r);
    this.sse.leave();
    c.i32(0).get(this.fop).mem(Op.i32Store, 2, F);
    c.i32(0).get(this.fsz).mem(Op.i32Store, 2, F + 4);
    c.i32(0).get(this.fa).mem(Op.i64Store, 3, F + 8);
    c.i32(0).get(this.fb).mem(Op.i64Store, 3, F + 16);
    c.i32(0).get(this.fr).mem(Op.i64Store, 3, F + 24);
    c.i32(0).get(this.fcin).mem(Op.i32Store, 2, F + 32);
    c.i32(0).get(this.frf).mem(Op.i32Store, 2, F + 36);
    const E = S + STATE_EXIT;
    c.i32(0).get(this.exitRip).op(Op.f64ConvertI64S).mem(Op.f64Store, 3, E);
    c.i32(0).get(this.n).mem(Op.i32Store, 2, E + 8);
    c.i32(0).get(this.last).mem(Op.i32Store, 2, E + 12);
    c.i32(0).get(this.bailAt).mem(Op.i32Store, 2, E + 16);
    c.i32(0).i32(this.id).mem(Op.i32Store, 2, E + 20);
    // A region left at its end: on to the region the dispatch cache names for the next RIP, if any.
    const D = S + STATE_DISPATCH, p = this.p;
    c.get(this.status).op(Op.i32Eqz).if();
    c.get(this.exitRip).op(Op.i32WrapI64).tee(p).get(p).i32(11).op(Op.i32ShrU, Op.i32Xor);
    c.i32(STATE_DISPATCH_ENTRIES - 1).op(Op.i32And).i32(4).op(Op.i32Shl).set(p);
    c.get(p).mem(Op.i64Load, 3, D).get(this.exitRip).op(Op.i64Eq);
    c.get(p).mem(Op.i32Load, 2, D + 8).get(3).op(Op.i32Eq, Op.i32And);
    c.get(this.n).get(p).mem(Op.i32Load16U, 1, D + 14).op(Op.i32Add).get(1).op(Op.i32LeS, Op.i32And);
    c.if();
    c.get(this.exitRip).op(Op.f64ConvertI64S).get(1).get(this.n).get(3);
    c.get(p).mem(Op.i32Load16U, 1, D + 12).returnCallIndirect(this.type);
    c.end();
    c.end();
    c.get(this.status);
    return c;
  }

  /** One block's code, ending in a branch to the next block of the region or to the exit. */
  private block(bi: number, loop: Label): void {
    const c = this.c, b = this.blocks[bi];
    this.bi = bi;
    this.fk = null;
    this.pend = null;
    this.off = 0;
    this.blockLen = b.insns.reduce((s, i) => s + i.len, 0);
    let ended = false;
    for (let k = 0; k < b.insns.length; k++) {
      const i = b.insns[k];
      this.k = k;
      ended = this.insn(i);
      this.off += i.len;
    }
    if (!ended) c.get(this.rip).i64(this.blockLen).op(Op.i64Add).set(this.nx);
    c.get(this.n).i32(b.insns.length).op(Op.i32Add).set(this.n);
    if (this.epoch >= 0) {
      for (const [rip, next] of b.links(this.epoch)) {
        const ni = this.blocks.indexOf(next);
        if (ni < 0) continue;
        c.get(this.nx).i64(rip).op(Op.i64Eq);
        c.get(this.n).i32(next.insns.length).op(Op.i32Add).get(1).op(Op.i32LeS, Op.i32And);
        c.if();
        // Flags a pending shift or rotate left are computed unless the next block overwrites them
        // all before anything can observe them.
        if (!flagsDeadAtEntry(next)) this.materialize();
        c.get(this.nx).set(this.rip).i32(ni).set(this.pc).br(loop);
        c.end();
      }
    }
    this.materialize();
    this.pend = null;
    c.get(this.nx).set(this.exitRip).i32(bi).set(this.last).i32(WASM_DONE).set(this.status).br(
      this.exitLabel,
    );
  }

  /** The slow path for the current instruction: the state is exact at its start. */
  private bail(): void {
    this.materialize();
    this.c.i32(this.k).set(this.bailAt).br(this.bailLabel);
  }

  /** Bails if the i32 on the stack is non-zero. */
  private bailIf(): void {
    this.c.if();
    this.bail();
    this.c.end();
  }

  /** Bails unless the i32 on the stack is non-zero. */
  private bailUnless(): void {
    this.c.op(Op.i32Eqz).if();
    this.bail();
    this.c.end();
  }

  /** Pushes whether the i64 in local `x` is canonical (bits 63:47 equal). */
  private canonical(x: number): void {
    this.c.get(x).i64(16).op(Op.i64Shl).i64(16).op(Op.i64ShrS).get(x).op(Op.i64Eq);
  }

  /** Pushes register `r` at `size` bytes, zero-extended (16..19 at size 1: AH..BH). */
  private readReg(size: number, r: number): void {
    const c = this.c;
    if (size === 1 && r >= 16) {
      c.get(this.regs[r - 16]).i64(8).op(Op.i64ShrU).i64(0xff).op(Op.i64And);
      return;
    }
    c.get(this.regs[r]);
    if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
  }

  /** Writes the i64 in local `v` to register `r` at `size` (32-bit writes zero-extend, as in 64-bit mode). */
  private writeReg(size: number, r: number, v: number): void {
    const c = this.c;
    if (size === 8) {
      c.get(v).set(this.regs[r]);
    } else if (size === 4) {
      c.get(v).i64(0xffffffff).op(Op.i64And).set(this.regs[r]);
    } else if (size === 1 && r >= 16) {
      const g = this.regs[r - 16];
      c.get(g).i64(~0xff00n).op(Op.i64And).get(v).i64(0xff).op(Op.i64And).i64(8).op(Op.i64Shl).op(Op.i64Or)
        .set(g);
    } else {
      c.get(this.regs[r]).i64(~MASK[size]).op(Op.i64And).get(v).i64(MASK[size]).op(Op.i64And).op(Op.i64Or)
        .set(this.regs[r]);
    }
  }

  /** Pushes the 64-bit effective address of `i` (no segment, no checks). */
  private ea(i: Insn): void {
    const c = this.c;
    if (i.base === BASE_RIP) c.get(this.rip).i64(this.off + i.len + i.disp).op(Op.i64Add);
    else {
      if (i.base >= 0) c.get(this.regs[i.base]);
      else c.i64(0);
      if (i.disp !== 0) c.i64(i.disp).op(Op.i64Add);
    }
    if (i.index !== NONE) {
      c.get(this.regs[i.index]);
      if (i.scale !== 0) c.i64(i.scale).op(Op.i64Shl);
      c.op(Op.i64Add);
    }
  }

  /** The linear address of `i`'s memory operand into local t[4]; bails if it is not canonical. */
  private linear(i: Insn): number {
    const a = this.t[4];
    this.ea(i);
    this.c.set(a);
    this.canonical(a);
    this.bailUnless();
    return a;
  }

  /**
   * The software TLB's hit path for `size` bytes at the linear address in local `lin`: leaves the
   * host address in local p, or bails (a miss or a page-crossing access).
   */
  private tlb(lin: number, size: number, write: boolean): void {
    const c = this.c, S = this.state, p = this.p;
    const vpn = this.t[3];
    c.get(lin).i64(12).op(Op.i64ShrS).tee(vpn).op(Op.i32WrapI64).i32(0xfff).op(Op.i32And).i32(3).op(Op.i32Shl)
      .set(p);
    c.get(p).mem(Op.f64Load, 3, S + (write ? STATE_WTAG : STATE_RTAG)).get(vpn).op(
      Op.f64ConvertI64S,
      Op.f64Eq,
    );
    c.get(lin).op(Op.i32WrapI64).i32(0xfff).op(Op.i32And).i32(4096 - size).op(Op.i32LeU, Op.i32And);
    this.bailUnless();
    c.get(p).mem(Op.f64Load, 3, S + (write ? STATE_WHPA : STATE_RHPA)).op(Op.i32TruncF64U);
    c.get(lin).op(Op.i32WrapI64).i32(0xfff).op(Op.i32And, Op.i32Add).set(p);
  }

  /** Pushes `size` bytes at the linear address in local `lin`, zero-extended (or bails). */
  private load(lin: number, size: number): void {
    this.tlb(lin, size, false);
    const op = size === 1
      ? Op.i64Load8U
      : size === 2
      ? Op.i64Load16U
      : size === 4
      ? Op.i64Load32U
      : Op.i64Load;
    this.c.get(this.p).mem(op, 0, 0);
  }

  /** Stores the low `size` bytes of local `v` at the linear address in local `lin` (or bails). */
  private store(lin: number, size: number, v: number): void {
    this.tlb(lin, size, true);
    const op = size === 1
      ? Op.i64Store8
      : size === 2
      ? Op.i64Store16
      : size === 4
      ? Op.i64Store32
      : Op.i64Store;
    this.c.get(this.p).get(v).mem(op, 0, 0);
  }

  /** Pushes the E operand of `i` at `size` (a register, or memory: bails on the slow path). */
  private readE(i: Insn, size: number): void {
    if (!i.mem) this.readReg(size, i.rm);
    else this.load(this.linear(i), size);
  }

  /**
   * Pushes the E operand of a read-modify-write instruction: a register, or memory through the write
   * TLB (its host address stays in local p for {@link writeRmw}; a miss bails).
   */
  private readRmw(i: Insn, size: number): void {
    if (!i.mem) {
      this.readReg(size, i.rm);
      return;
    }
    this.tlb(this.linear(i), size, true);
    const op = size === 1
      ? Op.i64Load8U
      : size === 2
      ? Op.i64Load16U
      : size === 4
      ? Op.i64Load32U
      : Op.i64Load;
    this.c.get(this.p).mem(op, 0, 0);
  }

  /** Writes local `v` back to the E operand read by {@link readRmw}. */
  private writeRmw(i: Insn, size: number, v: number): void {
    if (!i.mem) {
      this.writeReg(size, i.rm, v);
      return;
    }
    const op = size === 1
      ? Op.i64Store8
      : size === 2
      ? Op.i64Store16
      : size === 4
      ? Op.i64Store32
      : Op.i64Store;
    this.c.get(this.p).get(v).mem(op, 0, 0);
  }

  /** Pushes the sign bit of the i64 in local `v` at `size` as an i32. */
  private sign(v: number, size: number): void {
    this.c.get(v).i64(size * 8 - 1).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And);
  }

  /** Pushes the i64 in local `v` at `size`, sign-extended to 64 bits. */
  private sext(v: number, size: number): void {
    this.c.get(v);
    if (size === 4) this.c.op(Op.i64Extend32S);
    else if (size === 2) this.c.op(Op.i64Extend16S);
    else if (size === 1) this.c.op(Op.i64Extend8S);
  }

  /** Pushes the arithmetic flags as an RFLAGS word, from the record in the locals. */
  private flagsWord(): void {
    const c = this.c;
    c.get(this.fop).get(this.fsz).get(this.fa).get(this.fb).get(this.fr).get(this.fcin).get(this.frf);
    c.call(this.helpers.flags);
  }

  /** Pushes condition `cc` (SDM Vol. 1 App. B) as an i32 0 or 1. */
  private cond(cc: number): void {
    const base = cc & ~1;
    if (this.pend !== null && this.pendCond(base)) {
      if ((cc & 1) !== 0) this.c.op(Op.i32Eqz);
      return;
    }
    this.flush();
    const c = this.c, fk = this.fk;
    let done = false;
    if (fk !== null) {
      const z = () => c.get(this.fr).op(Op.i64Eqz);
      if (fk.kind === "sub") {
        done = true;
        switch (base) {
          case 2:
            c.get(this.fa).get(this.fb).op(Op.i64LtU);
            break;
          case 4:
            z();
            break;
          case 6:
            c.get(this.fa).get(this.fb).op(Op.i64LeU);
            break;
          case 8:
            this.sign(this.fr, fk.size);
            break;
          case 12:
            this.sext(this.fa, fk.size);
            this.sext(this.fb, fk.size);
            c.op(Op.i64LtS);
            break;
          case 14:
            this.sext(this.fa, fk.size);
            this.sext(this.fb, fk.size);
            c.op(Op.i64LeS);
            break;
          default:
            done = false;
        }
      } else if (fk.kind === "logic") {
        done = true;
        switch (base) {
          case 0:
          case 2:
            c.i32(0);
            break;
          case 4:
          case 6:
            z();
            break;
          case 8:
          case 12:
            this.sign(this.fr, fk.size);
            break;
          case 14:
            z();
            this.sign(this.fr, fk.size);
            c.op(Op.i32Or);
            break;
          default:
            done = false;
        }
      } else if (fk.kind === "add" || fk.kind === "incdec" || fk.kind === "adc" || fk.kind === "sbb") {
        done = true;
        if (base === 4) z();
        else if (base === 8) this.sign(this.fr, fk.size);
        else done = false;
      }
    }
    if (!done) {
      this.flagsWord();
      c.i32(base).call(this.helpers.cond);
    }
    if ((cc & 1) !== 0) c.op(Op.i32Eqz);
  }

  /** Pushes CF (0 or 1) as an i32. */
  private carry(): void {
    const c = this.c, fk = this.fk;
    if (this.pend !== null) this.pendCf();
    else if (fk?.kind === "sub") c.get(this.fa).get(this.fb).op(Op.i64LtU);
    else if (fk?.kind === "add") c.get(this.fr).get(this.fa).op(Op.i64LtU);
    else if (fk?.kind === "logic") c.i32(0);
    else if (fk?.kind === "incdec") c.get(this.fcin);
    else if (fk?.kind === "adc") {
      c.get(this.fr).get(this.fa).op(Op.i64LtU).get(this.fcin).get(this.fr).get(this.fa).op(
        Op.i64Eq,
        Op.i32And,
        Op.i32Or,
      );
    } else if (fk?.kind === "sbb") {
      c.get(this.fa).get(this.fb).op(Op.i64LtU).get(this.fcin).get(this.fa).get(this.fb).op(
        Op.i64Eq,
        Op.i32And,
        Op.i32Or,
      );
    } else {
      this.flagsWord();
      c.i32(1).op(Op.i32And);
    }
  }

  /** Records a lazy flag operation: op, size, and the operands/result in locals a, b, r. */
  private record(op: number, size: number, a: number, b: number, r: number): void {
    const c = this.c;
    this.pend = null;
    c.i32(op).set(this.fop).i32(size).set(this.fsz);
    c.get(a).set(this.fa).get(b).set(this.fb).get(r).set(this.fr);
  }

  /** Sets the six arithmetic flags eagerly from result `r` (local) at `size`, with CF and OF given as i32 locals' code. */
  private eager(size: number, r: number, cf: () => void, of: () => void): void {
    this.eagerCode(size, r, cf, of);
    this.pend = null;
    this.fk = { kind: "eager", size };
  }

  /** The code of {@link eager}, without changing what the generator knows of the flags. */
  private eagerCode(size: number, r: number, cf: () => void, of: () => void): void {
    const c = this.c;
    c.get(this.frf).i32(~ARITH_FLAGS).op(Op.i32And);
    cf();
    c.op(Op.i32Or);
    // PF: even parity of the low byte.
    c.get(r).op(Op.i32WrapI64).i32(0xff).op(Op.i32And, Op.i32Popcnt).i32(1).op(Op.i32And).i32(1).op(Op.i32Xor)
      .i32(2).op(Op.i32Shl, Op.i32Or);
    c.get(r).op(Op.i64Eqz).i32(6).op(Op.i32Shl, Op.i32Or);
    this.sign(r, size);
    c.i32(7).op(Op.i32Shl, Op.i32Or);
    of();
    c.i32(11).op(Op.i32Shl, Op.i32Or);
    c.set(this.frf).i32(FLAGS_EAGER).set(this.fop);
  }

  /** Pushes bit `at` of local `v` (or of what `v` pushes) as an i32. */
  private bitOf(v: number | (() => void), at: number): void {
    if (typeof v === "number") this.c.get(v);
    else v();
    this.c.i64(at).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And);
  }

  /** Pushes CF of the pending shift or rotate. */
  private pendCf(): void {
    const p = this.pend!, bits = p.size * 8, n = p.n;
    if (p.kind === sh.SH_ROL) this.bitOf(this.pr, 0);
    else if (p.kind === sh.SH_ROR) this.bitOf(this.pr, bits - 1);
    else if (p.kind === sh.SH_SHL || p.kind === sh.SH_SAL) this.bitOf(this.pa, bits - n);
    else if (p.kind === sh.SH_SHR) this.bitOf(this.pa, n - 1);
    else this.bitOf(() => this.sext(this.pa, p.size), n - 1);
  }

  /** Pushes OF of the pending shift or rotate (as the handlers leave it: defined for a count of 1, else 0). */
  private pendOf(): void {
    const c = this.c, p = this.pend!, bits = p.size * 8;
    if (p.n !== 1 || p.kind === sh.SH_SAR) {
      c.i32(0);
      return;
    }
    if (p.kind === sh.SH_ROL) {
      this.bitOf(this.pr, bits - 1);
      this.bitOf(this.pr, 0);
      c.op(Op.i32Xor);
    } else if (p.kind === sh.SH_ROR) {
      this.bitOf(this.pr, bits - 1);
      this.bitOf(this.pr, bits - 2);
      c.op(Op.i32Xor);
    } else if (p.kind === sh.SH_SHR && !p.double) {
      this.bitOf(this.pa, bits - 1);
    } else {
      this.bitOf(this.pr, bits - 1);
      this.bitOf(this.pa, bits - 1);
      c.op(Op.i32Xor);
    }
  }

  /** Pushes condition `base` (even) of the pending shift or rotate when it is cheap; false when not. */
  private pendCond(base: number): boolean {
    const c = this.c, p = this.pend!;
    if (base === 0) this.pendOf();
    else if (base === 2) this.pendCf();
    else if (p.rotate) return false;
    else if (base === 4) c.get(this.pr).op(Op.i64Eqz);
    else if (base === 6) {
      this.pendCf();
      c.get(this.pr).op(Op.i64Eqz, Op.i32Or);
    } else if (base === 8) this.sign(this.pr, p.size);
    else return false;
    return true;
  }

  /**
   * Emits the code that puts the pending shift's or rotate's flags into the record locals (for the
   * paths that leave or read the record); what the generator knows is left as it is.
   */
  private materialize(): void {
    const p = this.pend;
    if (p === null) return;
    const c = this.c;
    if (!p.rotate) {
      this.eagerCode(p.size, this.pr, () => this.pendCf(), () => this.pendOf());
      return;
    }
    // RFLAGS: the record's arithmetic flags with CF and OF replaced.
    c.get(this.frf).i32(~ARITH_FLAGS).op(Op.i32And);
    this.flagsWord();
    c.i32(~0x801).op(Op.i32And, Op.i32Or);
    this.pendCf();
    c.op(Op.i32Or);
    this.pendOf();
    c.i32(11).op(Op.i32Shl, Op.i32Or).set(this.frf);
    c.i32(FLAGS_EAGER).set(this.fop);
  }

  /** Materializes a pending shift's or rotate's flags on every path from here. */
  private flush(): void {
    const p = this.pend;
    if (p === null) return;
    this.materialize();
    this.pend = null;
    this.fk = { kind: "eager", size: p.size };
  }

  /** Sets nx to a branch target RIP + `disp` past the instruction, bailing if it is not canonical. */
  private target(disp: number): void {
    const c = this.c, t = this.t[2];
    c.get(this.rip).i64(this.off + this.curLen + disp).op(Op.i64Add).set(t);
    this.canonical(t);
    this.bailUnless();
    c.get(t).set(this.nx);
  }

  private curLen = 0;

  /**
   * IMUL r, r/m and r, r/m, imm at 4 and 8 bytes: the low half of the signed product, CF = OF = the
   * product does not fit; the other flags from the low 32 bits, as the handler records them.
   */
  private imul(i: Insn): void {
    const c = this.c, size = i.size;
    const [t0, t1, t2] = this.t;
    this.readE(i, size);
    c.set(t1);
    if (i.op === 1) c.i64((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0));
    else this.readReg(size, i.reg);
    c.set(t0);
    const over = this.over;
    if (size === 4) {
      this.sext(t0, 4);
      this.sext(t1, 4);
      c.op(Op.i64Mul).tee(t2);
      c.get(t2).op(Op.i64Extend32S).op(Op.i64Ne).set(over);
      c.get(t2).i64(0xffffffff).op(Op.i64And).set(t2);
    } else {
      c.get(t0).get(t1).op(Op.i64Mul).set(t2);
      // Overflow: a = -1 overflows only for b = -2^63; else (a * b) / a differs from b.
      c.get(t0).i64(-1).op(Op.i64Eq).if(I32);
      c.get(t1).i64(-(1n << 63n)).op(Op.i64Eq);
      c.else();
      c.get(t0).op(Op.i64Eqz).if(I32);
      c.i32(0);
      c.else();
      c.get(t2).get(t0).op(Op.i64DivS).get(t1).op(Op.i64Ne);
      c.end();
      c.end();
      c.set(over);
    }
    this.writeReg(size, i.reg, t2);
    const lo = this.t[3];
    c.get(t2).i64(0xffffffff).op(Op.i64And).set(lo);
    this.eager(4, lo, () => c.get(over), () => c.get(over));
  }

  /**
   * MUL r/m at 4 and 8 bytes: RDX:RAX = RAX * r/m unsigned, CF = OF = the high half is not zero;
   * the other flags from the low 32 bits, as the handler records them. The 128-bit product from
   * four 32x32-bit partial products.
   */
  private mul(i: Insn): void {
    const c = this.c, size = i.size;
    const [t0, t1, t2] = this.t;
    const hi = this.t[3];
    this.readE(i, size);
    c.set(t1);
    this.readReg(size, RAX);
    c.set(t0);
    const lo32 = (x: number) => c.get(x).i64(0xffffffff).op(Op.i64And);
    const hi32 = (x: number) => c.get(x).i64(32).op(Op.i64ShrU);
    if (size === 4) {
      c.get(t0).get(t1).op(Op.i64Mul).set(t2);
      hi32(t2);
      c.set(hi);
      lo32(t2);
      c.set(t2);
    } else {
      // ll = aL*bL, lh = aL*bH, hl = aH*bL, hh = aH*bH; mid = ll>>32 + lo(lh) + lo(hl).
      const ll = t2, lh = this.t[4], mid = this.t[5], hl = this.t[6];
      lo32(t0);
      lo32(t1);
      c.op(Op.i64Mul).set(ll);
      lo32(t0);
      hi32(t1);
      c.op(Op.i64Mul).set(lh);
      hi32(t0);
      lo32(t1);
      c.op(Op.i64Mul).set(hl);
      hi32(ll);
      lo32(lh);
      c.op(Op.i64Add);
      lo32(hl);
      c.op(Op.i64Add).set(mid);
      hi32(t0);
      hi32(t1);
      c.op(Op.i64Mul);
      hi32(lh);
      c.op(Op.i64Add);
      hi32(hl);
      c.op(Op.i64Add);
      hi32(mid);
      c.op(Op.i64Add).set(hi);
      lo32(ll);
      c.get(mid).i64(32).op(Op.i64Shl, Op.i64Or).set(t2);
    }
    this.writeReg(size, RAX, t2);
    this.writeReg(size, RDX, hi);
    c.get(hi).op(Op.i64Eqz, Op.i32Eqz).set(this.over);
    lo32(t2);
    c.set(hi);
    this.eager(4, hi, () => c.get(this.over), () => c.get(this.over));
  }

  /**
   * ROL and ROR of a register by a constant at 4 and 8 bytes: only CF and OF change (OF as the
   * handler leaves it: defined for a count of 1, else 0); they stay pending over the record (a
   * pending shift's flags are put in the record first).
   */
  private rotate(i: Insn): void {
    const c = this.c, size = i.size, bits = size * 8, left = (i.op & 7) === sh.SH_ROL;
    // The count masked to 5 bits (6 at 8 bytes) decides OF; the rotation is by it modulo the size.
    const count = ((i.op >> 3) === 0 ? 1 : i.imm) & (size === 8 ? 63 : 31);
    const n = count % bits;
    const t0 = this.t[0];
    if (this.pend !== null && !this.pend.rotate) this.flush();
    this.readReg(size, i.rm);
    c.set(t0);
    if (size === 8) c.get(t0).i64(n).op(left ? Op.i64Rotl : Op.i64Rotr).set(this.pr);
    else {
      const [l, r] = left ? [n, bits - n] : [bits - n, n];
      c.get(t0).i64(l).op(Op.i64Shl).get(t0).i64(r).op(Op.i64ShrU, Op.i64Or).i64(MASK[size]).op(Op.i64And)
        .set(this.pr);
    }
    this.pend = { rotate: true, kind: i.op & 7, size, n: count };
    this.writeReg(size, i.rm, this.pr);
  }

  /**
   * MOVS, STOS and LODS without a repeat prefix, 64-bit addressing: RSI and RDI must be canonical
   * (else the slow path raises #GP); each steps by the size, down when DF is set.
   */
  private stringOnce(i: Insn): void {
    const c = this.c, size = i.size;
    const [t0, t1, t2] = this.t;
    const step = () => {
      c.i64(-size).i64(size).get(this.frf).i32(10).op(Op.i32ShrU).i32(1).op(Op.i32And, Op.select);
    };
    const addr = (r: number, into: number) => {
      c.get(this.regs[r]).set(into);
      this.canonical(into);
      this.bailUnless();
    };
    if (i.op === str.STR_LODS) {
      addr(RSI, t1);
      this.load(t1, size);
      c.set(t0);
      this.writeReg(size, RAX, t0);
      c.get(t1);
      step();
      c.op(Op.i64Add).set(this.regs[RSI]);
    } else if (i.op === str.STR_STOS) {
      addr(RDI, t1);
      this.readReg(size, RAX);
      c.set(t0);
      this.store(t1, size, t0);
      c.get(t1);
      step();
      c.op(Op.i64Add).set(this.regs[RDI]);
    } else {
      addr(RSI, t1);
      this.load(t1, size);
      c.set(t0);
      addr(RDI, t2);
      this.store(t2, size, t0);
      step();
      c.set(t0);
      c.get(t1).get(t0).op(Op.i64Add).set(this.regs[RSI]);
      c.get(t2).get(t0).op(Op.i64Add).set(this.regs[RDI]);
    }
  }

  /** Pushes the six arithmetic flags as RFLAGS has them (no pending shift: the caller flushes). */
  private arithWord(): void {
    if (this.fk?.kind === "eager") this.c.get(this.frf).i32(ARITH_FLAGS).op(Op.i32And);
    else this.flagsWord();
  }

  /**
   * Replaces the arithmetic flags in `mask` by the bits `value` pushes (an i32, in place), the others
   * as the record has them; the record becomes eager. The caller flushes a pending shift first.
   */
  private putArith(mask: number, value: () => void): void {
    const c = this.c;
    c.get(this.frf).i32(~ARITH_FLAGS).op(Op.i32And);
    this.arithWord();
    c.i32(~mask).op(Op.i32And, Op.i32Or);
    value();
    c.op(Op.i32Or).set(this.frf).i32(FLAGS_EAGER).set(this.fop);
  }

  /**
   * ROL and ROR of a register by CL at 4 and 8 bytes: a masked count of 0 changes nothing but the
   * zero-extension of a 32-bit register; else CF and OF (OF for a count of 1) as in {@link rotate}.
   */
  private rotateByCl(i: Insn): void {
    const c = this.c, size = i.size, bits = size * 8, left = (i.op & 7) === sh.SH_ROL;
    const [t0, , t2] = this.t;
    const n = this.t[3];
    this.flush();
    this.readReg(size, i.rm);
    c.set(t0);
    c.get(this.regs[RCX]).i64(bits - 1).op(Op.i64And).tee(n).op(Op.i64Eqz, Op.i32Eqz).if();
    if (size === 8) c.get(t0).get(n).op(left ? Op.i64Rotl : Op.i64Rotr).set(t2);
    else {
      c.get(t0).op(Op.i32WrapI64).get(n).op(Op.i32WrapI64, left ? Op.i32Rotl : Op.i32Rotr, Op.i64ExtendI32U)
        .set(t2);
    }
    const msb = (at: number) => this.bitOf(t2, at);
    this.putArith(0x801, () => {
      if (left) {
        msb(0);
        msb(bits - 1);
        msb(0);
      } else {
        msb(bits - 1);
        msb(bits - 1);
        msb(bits - 2);
      }
      c.op(Op.i32Xor).get(n).i64(1).op(Op.i64Eq, Op.i32And).i32(11).op(Op.i32Shl, Op.i32Or);
    });
    this.writeReg(size, i.rm, t2);
    c.else();
    this.writeReg(size, i.rm, t0);
    c.end();
    this.fk = null;
  }

  /**
   * SHLD and SHRD at 4 and 8 bytes (register or memory destination): the destination shifted,
   * filled from the source register; CF the last bit shifted out, OF (count 1) whether the sign
   * changed, the other flags from the result. A count of 0 (by CL) changes nothing but the
   * zero-extension of a 32-bit register. By a constant the flags stay pending.
   */
  private shxd(i: Insn): void {
    const c = this.c, size = i.size, bits = size * 8, left = (i.op & 1) === 0, byCl = (i.op & 2) !== 0;
    const [t0, t1, t2] = this.t;
    const n = this.t[3];
    // The count, masked: a constant or CL.
    const count = (): void => {
      if (byCl) c.get(n);
      else c.i64(i.imm & (bits - 1));
    };
    const compute = (dst: number, src: number, out: number): void => {
      c.get(dst);
      count();
      c.op(left ? Op.i64Shl : Op.i64ShrU);
      c.get(src).i64(bits);
      count();
      c.op(Op.i64Sub, left ? Op.i64ShrU : Op.i64Shl, Op.i64Or);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(out);
    };
    if (!byCl) {
      const k = i.imm & (bits - 1);
      if (k === 0) {
        // Nothing changes (the E operand is still checked for writing, as the handler reads it so).
        this.readRmw(i, size);
        c.set(t0);
        if (size === 4 && !i.mem) this.writeReg(4, i.rm, t0);
        return;
      }
      this.readRmw(i, size);
      c.set(this.pa);
      this.readReg(size, i.reg);
      c.set(t1);
      compute(this.pa, t1, this.pr);
      this.pend = { rotate: false, kind: left ? sh.SH_SHL : sh.SH_SHR, size, n: k, double: true };
      this.writeRmw(i, size, this.pr);
      return;
    }
    this.flush();
    this.readRmw(i, size);
    c.set(t0);
    this.readReg(size, i.reg);
    c.set(t1);
    c.get(this.regs[RCX]).i64(bits - 1).op(Op.i64And).tee(n).op(Op.i64Eqz, Op.i32Eqz).if();
    compute(t0, t1, t2);
    const bitAt = (v: number, at: () => void) => {
      c.get(v);
      at();
      c.op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And);
    };
    const cf = left
      ? () => bitAt(t0, () => c.i64(bits).get(n).op(Op.i64Sub))
      : () => bitAt(t0, () => c.get(n).i64(1).op(Op.i64Sub));
    const of = () => {
      this.bitOf(t0, bits - 1);
      this.bitOf(t2, bits - 1);
      c.op(Op.i32Xor).get(n).i64(1).op(Op.i64Eq, Op.i32And);
    };
    this.eagerCode(size, t2, cf, of);
    this.writeRmw(i, size, t2);
    if (size === 4 && !i.mem) {
      c.else();
      this.writeReg(4, i.rm, t0);
    }
    c.end();
    this.fk = null;
  }

  /**
   * BT, BTS, BTR, BTC with a register (offset modulo the operand size) or an immediate offset, on a
   * register, or (immediate offset) a memory operand: CF the bit before, the others as they were.
   */
  private bt(i: Insn): void {
    const c = this.c, size = i.size, bits = size * 8;
    const [t0, t1, t2] = this.t;
    this.flush();
    if (i.op === 0) this.readE(i, size);
    else this.readRmw(i, size);
    c.set(t0);
    if (i.h === bit.btEG) {
      this.readReg(size, i.reg);
      c.i64(bits - 1).op(Op.i64And);
    } else c.i64(i.imm & (bits - 1));
    c.set(t1);
    if (i.op !== 0) {
      c.i64(1).get(t1).op(Op.i64Shl);
      if (i.op === 1) c.get(t0).op(Op.i64Or);
      else if (i.op === 2) c.i64(-1).op(Op.i64Xor).get(t0).op(Op.i64And);
      else c.get(t0).op(Op.i64Xor);
      c.set(t2);
      this.writeRmw(i, size, t2);
    }
    this.putArith(1, () => c.get(t0).get(t1).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And));
    this.fk = { kind: "eager", size };
  }

  /**
   * BSF and BSR at 4 and 8 bytes: the index of the lowest (highest) set bit of the source, ZF clear;
   * for a zero source ZF set and the destination left alone. The other flags as they were.
   */
  private bitScan(i: Insn): void {
    const c = this.c, size = i.size;
    const [t0, t1] = this.t;
    this.flush();
    this.readE(i, size);
    c.set(t0);
    c.get(t0).op(Op.i64Eqz).if();
    this.putArith(0x40, () => c.i32(0x40));
    c.else();
    if (i.h === bit.bsf) c.get(t0).op(Op.i64Ctz);
    else c.i64(63).get(t0).op(Op.i64Clz, Op.i64Sub);
    c.set(t1);
    this.writeReg(size, i.reg, t1);
    this.putArith(0x40, () => c.i32(0));
    c.end();
    this.fk = { kind: "eager", size };
  }

  /**
   * DIV and IDIV at 4 and 8 bytes: quotient to RAX, remainder to RDX, flags unchanged. A zero
   * divisor, a quotient that does not fit, and a 64-bit dividend wider than RAX take the slow path
   * (the handler raises #DE or divides 128 bits).
   */
  private divide(i: Insn): void {
    const c = this.c, size = i.size, signed = i.h === md.idivE;
    const [t0, t1, t2] = this.t;
    const d = this.t[3];
    this.readE(i, size);
    if (signed && size === 4) c.op(Op.i64Extend32S);
    c.set(d);
    c.get(d).op(Op.i64Eqz);
    this.bailIf();
    // The dividend into t0.
    if (size === 4) {
      c.get(this.regs[RDX]).i64(32).op(Op.i64Shl).get(this.regs[RAX]).i64(0xffffffff).op(Op.i64And, Op.i64Or)
        .set(t0);
    } else {
      c.get(this.regs[RAX]).set(t0);
      // RDX must extend RAX (zero for DIV, the sign for IDIV).
      c.get(this.regs[RDX]);
      if (signed) c.get(t0).i64(63).op(Op.i64ShrS);
      else c.i64(0);
      c.op(Op.i64Ne);
      this.bailIf();
    }
    if (signed) {
      // The one quotient that traps in wasm overflows in x86 as well.
      c.get(t0).i64(-(1n << 63n)).op(Op.i64Eq).get(d).i64(-1).op(Op.i64Eq, Op.i32And);
      this.bailIf();
      c.get(t0).get(d).op(Op.i64DivS).set(t1);
      c.get(t0).get(d).op(Op.i64RemS).set(t2);
      if (size === 4) {
        c.get(t1).get(t1).op(Op.i64Extend32S, Op.i64Ne);
        this.bailIf();
      }
    } else {
      if (size === 4) {
        // The quotient fits in 32 bits exactly when EDX < the divisor.
        c.get(this.regs[RDX]).i64(0xffffffff).op(Op.i64And).get(d).op(Op.i64GeU);
        this.bailIf();
      }
      c.get(t0).get(d).op(Op.i64DivU).set(t1);
      c.get(t0).get(d).op(Op.i64RemU).set(t2);
    }
    this.writeReg(size, RAX, t1);
    this.writeReg(size, RDX, t2);
  }

  /**
   * SHL/SAL, SHR and SAR of a register by CL at 4 and 8 bytes: a masked count of 0 changes no flag
   * (a 32-bit register is still zero-extended), so what records the flags after it is not known.
   */
  private shiftByCl(i: Insn): void {
    const c = this.c, size = i.size, kind = i.op & 7, bits = size * 8;
    const [t0, , t2] = this.t;
    const n = this.t[3];
    this.flush();
    c.get(this.regs[1]).i64(bits - 1).op(Op.i64And).tee(n).op(Op.i64Eqz, Op.i32Eqz).if();
    this.readReg(size, i.rm);
    c.set(t0);
    const bitAt = (v: () => void, at: () => void) => {
      v();
      at();
      c.op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And);
    };
    const one = () => c.get(n).i64(1).op(Op.i64Eq);
    let cf: () => void, of: () => void;
    if (kind === sh.SH_SHL || kind === sh.SH_SAL) {
      c.get(t0).get(n).op(Op.i64Shl);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      cf = () => bitAt(() => c.get(t0), () => c.i64(bits).get(n).op(Op.i64Sub));
      of = () => {
        bitAt(() => c.get(t2), () => c.i64(bits - 1));
        cf();
        c.op(Op.i32Xor);
        one();
        c.op(Op.i32And);
      };
    } else if (kind === sh.SH_SHR) {
      c.get(t0).get(n).op(Op.i64ShrU).set(t2);
      cf = () => bitAt(() => c.get(t0), () => c.get(n).i64(1).op(Op.i64Sub));
      of = () => {
        bitAt(() => c.get(t0), () => c.i64(bits - 1));
        one();
        c.op(Op.i32And);
      };
    } else {
      this.sext(t0, size);
      c.get(n).op(Op.i64ShrS);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      cf = () => bitAt(() => this.sext(t0, size), () => c.get(n).i64(1).op(Op.i64Sub));
      of = () => c.i32(0);
    }
    this.eager(size, t2, cf, of);
    this.writeReg(size, i.rm, t2);
    if (size === 4) {
      c.else();
      this.readReg(4, i.rm);
      c.set(t2);
      this.writeReg(4, i.rm, t2);
    }
    c.end();
    this.fk = null;
  }

  /** Emits instruction `i`; returns true when it set nx (it ends the block). */
  private insn(i: Insn): boolean {
    const c = this.c, h = i.h, size = i.size;
    const [t0, t1, t2] = this.t;
    this.curLen = i.len;
    const nrip = () => c.get(this.rip).i64(this.off + i.len).op(Op.i64Add);
    if (h === mov.movRI) {
      c.i64((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0)).set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.movEG || h === mov.movEI) {
      if (h === mov.movEG) this.readReg(size, i.reg);
      else c.i64(((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0)) & (size === 8 ? -1n : MASK[size]));
      c.set(t0);
      if (i.mem) this.store(this.linear(i), size, t0);
      else this.writeReg(size, i.rm, t0);
    } else if (h === mov.movGE) {
      this.readE(i, size);
      c.set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.movzx) {
      this.readE(i, i.op);
      c.set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.movsx) {
      this.readE(i, i.op);
      c.set(t0);
      this.sext(t0, i.op);
      c.set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.lea) {
      this.ea(i);
      c.set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === alu.aluEG || h === alu.aluGE || h === alu.aluEI || h === alu.aluAI) {
      const m = MASK[size];
      const imm = ((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0)) & (size === 8 ? -1n : m);
      let dst: number;
      const rmw = i.mem && i.op !== alu.ALU_CMP && (h === alu.aluEG || h === alu.aluEI);
      if (h === alu.aluEG) {
        if (rmw) this.readRmw(i, size);
        else this.readE(i, size);
        c.set(t0);
        this.readReg(size, i.reg);
        dst = i.rm;
      } else if (h === alu.aluGE) {
        this.readReg(size, i.reg);
        c.set(t0);
        this.readE(i, size);
        dst = i.reg;
      } else if (h === alu.aluEI) {
        if (rmw) this.readRmw(i, size);
        else this.readE(i, size);
        c.set(t0);
        c.i64(imm);
        dst = i.rm;
      } else {
        this.readReg(size, RAX);
        c.set(t0);
        c.i64(imm);
        dst = RAX;
      }
      c.set(t1);
      const op = i.op;
      const withCarry = op === alu.ALU_ADC || op === alu.ALU_SBB;
      if (withCarry) {
        // The carry-in, from the record before (ADC/SBB record it as `cin`, as the handler does).
        this.carry();
        c.set(this.over);
      }
      c.get(t0).get(t1);
      if (op === alu.ALU_ADC) c.op(Op.i64Add).get(this.over).op(Op.i64ExtendI32U, Op.i64Add);
      else if (op === alu.ALU_SBB) c.op(Op.i64Sub).get(this.over).op(Op.i64ExtendI32U, Op.i64Sub);
      else if (op === alu.ALU_ADD) c.op(Op.i64Add);
      else if (op === alu.ALU_SUB || op === alu.ALU_CMP) c.op(Op.i64Sub);
      else if (op === alu.ALU_AND) c.op(Op.i64And);
      else if (op === alu.ALU_OR) c.op(Op.i64Or);
      else c.op(Op.i64Xor);
      if (size !== 8) c.i64(m).op(Op.i64And);
      c.set(t2);
      const kind = op === alu.ALU_ADD
        ? "add"
        : op === alu.ALU_SUB || op === alu.ALU_CMP
        ? "sub"
        : op === alu.ALU_ADC
        ? "adc"
        : op === alu.ALU_SBB
        ? "sbb"
        : "logic";
      const code =
        { add: FLAGS_ADD, sub: FLAGS_SUB, adc: FLAGS_ADC, sbb: FLAGS_SBB, logic: FLAGS_LOGIC }[kind];
      this.record(code, size, t0, t1, t2);
      if (withCarry) c.get(this.over).set(this.fcin);
      this.fk = { kind, size };
      if (rmw) this.writeRmw(i, size, t2);
      else if (op !== alu.ALU_CMP) this.writeReg(size, dst, t2);
    } else if (h === alu.testEG || h === alu.testEI || h === alu.testAI) {
      if (h === alu.testAI) this.readReg(size, RAX);
      else this.readE(i, size);
      c.set(t0);
      if (h === alu.testEG) this.readReg(size, i.reg);
      else c.i64(((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0)) & (size === 8 ? -1n : MASK[size]));
      c.set(t1);
      c.get(t0).get(t1).op(Op.i64And).set(t2);
      this.record(FLAGS_LOGIC, size, t0, t1, t2);
      this.fk = { kind: "logic", size };
    } else if (h === alu.incE || h === alu.decE) {
      const inc = h === alu.incE;
      this.readRmw(i, size);
      c.set(t0);
      this.carry();
      c.set(this.fcin);
      c.get(t0).i64(1).op(inc ? Op.i64Add : Op.i64Sub);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      c.i64(1).set(t1);
      this.record(inc ? FLAGS_INC : FLAGS_DEC, size, t0, t1, t2);
      this.fk = { kind: "incdec", size };
      this.writeRmw(i, size, t2);
    } else if (h === alu.negE) {
      this.readRmw(i, size);
      c.set(t1);
      c.i64(0).get(t1).op(Op.i64Sub);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      c.i64(0).set(t0);
      this.record(FLAGS_SUB, size, t0, t1, t2);
      this.fk = { kind: "sub", size };
      this.writeRmw(i, size, t2);
    } else if (h === alu.notE) {
      this.readRmw(i, size);
      c.i64(-1).op(Op.i64Xor);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      this.writeRmw(i, size, t2);
    } else if (h === md.imulGE) {
      this.imul(i);
    } else if (h === md.mulE) {
      this.mul(i);
    } else if (
      h === sh.shiftGroup && (i.op >> 3) === 1 && ((i.op & 7) === sh.SH_ROL || (i.op & 7) === sh.SH_ROR)
    ) {
      this.rotateByCl(i);
    } else if (h === sh.shiftGroup && (i.op >> 3) === 1) {
      this.shiftByCl(i);
    } else if (h === sh.shxd) {
      this.shxd(i);
    } else if (h === bit.btEG || h === bit.btEI) {
      this.bt(i);
    } else if (h === bit.bsf || h === bit.bsr) {
      this.bitScan(i);
    } else if (h === bit.popcnt) {
      this.readE(i, size);
      c.op(Op.i64Popcnt).set(t0);
      this.writeReg(size, i.reg, t0);
      // OF SF AF CF PF cleared, ZF for a zero source.
      this.pend = null;
      c.get(this.frf).i32(~ARITH_FLAGS).op(Op.i32And).get(t0).op(Op.i64Eqz).i32(6).op(Op.i32Shl, Op.i32Or);
      c.set(this.frf).i32(FLAGS_EAGER).set(this.fop);
      this.fk = { kind: "eager", size };
    } else if (h === md.divE || h === md.idivE) {
      this.divide(i);
    } else if (h === sh.shiftGroup && ((i.op & 7) === sh.SH_ROL || (i.op & 7) === sh.SH_ROR)) {
      this.rotate(i);
    } else if (h === sh.shiftGroup) {
      // SHL/SAL, SHR, SAR by a constant: the flags stay pending (see Pending).
      const kind = i.op & 7;
      const n = ((i.op >> 3) === 0 ? 1 : i.imm) & (size === 8 ? 63 : 31);
      this.readReg(size, i.rm);
      c.set(this.pa);
      if (kind === sh.SH_SHL || kind === sh.SH_SAL) {
        c.get(this.pa).i64(n).op(Op.i64Shl);
        if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      } else if (kind === sh.SH_SHR) {
        c.get(this.pa).i64(n).op(Op.i64ShrU);
      } else {
        this.sext(this.pa, size);
        c.i64(n).op(Op.i64ShrS);
        if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      }
      c.set(this.pr);
      this.pend = { rotate: false, kind, size, n };
      this.writeReg(size, i.rm, this.pr);
    } else if (h === str.stringOp) {
      this.stringOnce(i);
    } else if (h === ctl.lahf) {
      // AH = SF:ZF:0:AF:0:PF:1:CF.
      this.flush();
      this.arithWord();
      c.i32(0xd7).op(Op.i32And).i32(2).op(Op.i32Or, Op.i64ExtendI32U).set(t0);
      this.writeReg(1, 16 + RAX, t0);
    } else if (h === ctl.sahf) {
      // SF, ZF, AF, PF, CF = AH.
      this.flush();
      this.putArith(
        0xd5,
        () => c.get(this.regs[RAX]).i64(8).op(Op.i64ShrU, Op.i32WrapI64).i32(0xd5).op(Op.i32And),
      );
      this.fk = { kind: "eager", size: 1 };
    } else if (h === stk.pushf) {
      // RFLAGS without RF and VM.
      this.flush();
      c.get(this.regs[RSP]).i64(8).op(Op.i64Sub).set(t1);
      this.canonical(t1);
      this.bailUnless();
      c.get(this.frf).i32(~ARITH_FLAGS).op(Op.i32And);
      this.arithWord();
      c.op(Op.i32Or).i32(~0x30000).op(Op.i32And, Op.i64ExtendI32U).set(t0);
      this.store(t1, 8, t0);
      c.get(t1).set(this.regs[RSP]);
    } else if (h === stk.pushR) {
      c.get(this.regs[RSP]).i64(8).op(Op.i64Sub).set(t1);
      this.canonical(t1);
      this.bailUnless();
      c.get(this.regs[i.reg]).set(t0);
      this.store(t1, 8, t0);
      c.get(t1).set(this.regs[RSP]);
    } else if (h === stk.popR) {
      c.get(this.regs[RSP]).set(t1);
      this.canonical(t1);
      this.bailUnless();
      this.load(t1, 8);
      c.set(t0);
      c.get(t1).i64(8).op(Op.i64Add).set(this.regs[RSP]);
      c.get(t0).set(this.regs[i.reg]);
    } else if (h === ctl.callRel) {
      this.target(i.disp);
      c.get(this.regs[RSP]).i64(8).op(Op.i64Sub).set(t1);
      this.canonical(t1);
      this.bailUnless();
      nrip();
      c.set(t0);
      this.store(t1, 8, t0);
      c.get(t1).set(this.regs[RSP]);
      return true;
    } else if (h === ctl.ret) {
      c.get(this.regs[RSP]).set(t1);
      this.canonical(t1);
      this.bailUnless();
      this.load(t1, 8);
      c.set(t0);
      this.canonical(t0);
      this.bailUnless();
      c.get(t1).i64(8 + i.imm).op(Op.i64Add).set(this.regs[RSP]);
      c.get(t0).set(this.nx);
      return true;
    } else if (h === ctl.jmpRel) {
      this.target(i.disp);
      return true;
    } else if (h === ctl.jccRel) {
      this.cond(i.op);
      c.if();
      this.target(i.disp);
      c.else();
      nrip();
      c.set(this.nx);
      c.end();
      return true;
    } else if (h === ctl.callE) {
      this.readE(i, 8);
      c.set(t0);
      this.canonical(t0);
      this.bailUnless();
      c.get(this.regs[RSP]).i64(8).op(Op.i64Sub).set(t1);
      this.canonical(t1);
      this.bailUnless();
      nrip();
      c.set(t2);
      this.store(t1, 8, t2);
      c.get(t1).set(this.regs[RSP]);
      c.get(t0).set(this.nx);
      return true;
    } else if (h === ctl.jmpE) {
      this.readE(i, 8);
      c.set(t0);
      this.canonical(t0);
      this.bailUnless();
      c.get(t0).set(this.nx);
      return true;
    } else if (h === ctl.nop || (h === mov.xchgAR && i.reg === RAX)) {
      // nothing
    } else if (h === mov.cmov) {
      // The source is read whatever the condition (a memory operand can fault either way).
      this.readE(i, size);
      this.readReg(size, i.reg);
      this.cond(i.op);
      c.op(Op.select).set(t0);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.bswap) {
      // BSWAP: the bytes of the register reversed (32-bit: of the low half, zero-extended).
      const v = size === 8 ? this.regs[i.reg] : t1;
      if (size === 4) {
        this.readReg(4, i.reg);
        c.i64(32).op(Op.i64Shl).set(t1);
      }
      c.i64(0).set(t0);
      for (let k = 0; k < 8; k++) {
        c.get(v).i64(8 * k).op(Op.i64ShrU).i64(0xff).op(Op.i64And).i64(56 - 8 * k).op(Op.i64Shl).get(t0).op(
          Op.i64Or,
        )
          .set(t0);
      }
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.xchgEG) {
      // The E operand (checked for writing first) takes the register, the register the old E.
      this.readRmw(i, size);
      c.set(t0);
      this.readReg(size, i.reg);
      c.set(t1);
      this.writeRmw(i, size, t1);
      this.writeReg(size, i.reg, t0);
    } else if (h === atomic.xadd) {
      // The register takes the old destination, the destination the sum (flags of the ADD).
      this.readRmw(i, size);
      c.set(t0);
      this.readReg(size, i.reg);
      c.set(t1);
      c.get(t0).get(t1).op(Op.i64Add);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      this.record(FLAGS_ADD, size, t0, t1, t2);
      this.fk = { kind: "add", size };
      this.writeReg(size, i.reg, t0);
      this.writeRmw(i, size, t2);
    } else if (h === atomic.cmpxchg) {
      // Flags of CMP accumulator, destination; equal: the destination takes the register; else the
      // destination is written back unchanged and the accumulator takes it.
      const s = this.t[5];
      this.readRmw(i, size);
      c.set(t1);
      this.readReg(size, RAX);
      c.set(t0);
      c.get(t0).get(t1).op(Op.i64Sub);
      if (size !== 8) c.i64(MASK[size]).op(Op.i64And);
      c.set(t2);
      this.record(FLAGS_SUB, size, t0, t1, t2);
      this.fk = { kind: "sub", size };
      c.get(t2).op(Op.i64Eqz).if();
      this.readReg(size, i.reg);
      c.set(s);
      this.writeRmw(i, size, s);
      c.else();
      this.writeRmw(i, size, t1);
      this.writeReg(size, RAX, t1);
      c.end();
    } else if (h === mov.xchgAR && i.reg !== RAX) {
      this.readReg(size, h === mov.xchgAR ? RAX : i.rm);
      c.set(t0);
      this.readReg(size, i.reg);
      c.set(t1);
      this.writeReg(size, h === mov.xchgAR ? RAX : i.rm, t1);
      this.writeReg(size, i.reg, t0);
    } else if (h === mov.setcc) {
      this.cond(i.op);
      c.op(Op.i64ExtendI32U).set(t0);
      this.writeReg(1, i.rm, t0);
    } else if (h === mov.cbw) {
      c.get(this.regs[RAX]).op(Op.i64Extend32S).set(this.regs[RAX]);
    } else if (h === mov.cwd) {
      c.get(this.regs[RAX]);
      if (size === 4) c.op(Op.i64Extend32S);
      c.i64(63).op(Op.i64ShrS).set(t0);
      this.writeReg(size, RDX, t0);
    } else if (sseSupports(i)) {
      this.sse.emit(i);
    } else {
      throw new Error(`wasm codegen: no template for ${h.name}`);
    }
    return false;
  }
}

/**
 * The module's helper functions: `flags(op, size, a, b, r, cin, rf) -> i32`, the arithmetic flags of
 * a lazy record as `Flags.get` computes them (flags.ts); `cond(word, base) -> i32`, condition
 * `base` (an even condition code) on an RFLAGS word.
 */
function addHelpers(m: ModuleBuilder): { flags: number; cond: number } {
  // flags: params 0 op, 1 size, 2 a, 3 b, 4 r, 5 cin, 6 rf.
  const f = new Code(7);
  const sh = f.local(I64), out = f.local(I32);
  f.get(0).op(Op.i32Eqz).if();
  f.get(6).i32(ARITH_FLAGS).op(Op.i32And).op(Op.return);
  f.end();
  f.get(1).i32(8).op(Op.i32Mul).i32(1).op(Op.i32Sub).op(Op.i64ExtendI32U).set(sh);
  // ZF, SF, PF
  f.get(4).op(Op.i64Eqz).i32(6).op(Op.i32Shl);
  f.get(4).get(sh).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And).i32(7).op(Op.i32Shl, Op.i32Or);
  f.get(4).op(Op.i32WrapI64).i32(0xff).op(Op.i32And, Op.i32Popcnt).i32(1).op(Op.i32And).i32(1).op(Op.i32Xor)
    .i32(2).op(Op.i32Shl, Op.i32Or);
  f.set(out);
  // LOGIC: CF = OF = AF = 0.
  f.get(0).i32(FLAGS_LOGIC).op(Op.i32Eq).if();
  f.get(out).op(Op.return);
  f.end();
  // AF
  f.get(2).get(3).op(Op.i64Xor).get(4).op(Op.i64Xor).i64(4).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And)
    .i32(4).op(Op.i32Shl).get(out).op(Op.i32Or).set(out);
  // ADD, ADC (2), INC: OF from (a ^ r) & (b ^ r); SUB, SBB (4), DEC: from (a ^ b) & (a ^ r).
  f.get(0).i32(FLAGS_ADD).op(Op.i32Eq).get(0).i32(2).op(Op.i32Eq, Op.i32Or).get(0).i32(FLAGS_INC)
    .op(Op.i32Eq, Op.i32Or);
  f.if(I64);
  f.get(2).get(4).op(Op.i64Xor).get(3).get(4).op(Op.i64Xor, Op.i64And);
  f.else();
  f.get(2).get(3).op(Op.i64Xor).get(2).get(4).op(Op.i64Xor, Op.i64And);
  f.end();
  f.get(sh).op(Op.i64ShrU, Op.i32WrapI64).i32(1).op(Op.i32And).i32(11).op(Op.i32Shl).get(out).op(Op.i32Or)
    .set(out);
  // CF
  f.get(0).i32(FLAGS_ADD).op(Op.i32Eq).if();
  f.get(out).get(4).get(2).op(Op.i64LtU, Op.i32Or).op(Op.return);
  f.end();
  f.get(0).i32(2).op(Op.i32Eq).if(); // ADC
  f.get(out).get(4).get(2).op(Op.i64LtU).get(5).get(4).get(2).op(Op.i64Eq, Op.i32And, Op.i32Or, Op.i32Or);
  f.op(Op.return);
  f.end();
  f.get(0).i32(FLAGS_SUB).op(Op.i32Eq).if();
  f.get(out).get(2).get(3).op(Op.i64LtU, Op.i32Or).op(Op.return);
  f.end();
  f.get(0).i32(4).op(Op.i32Eq).if(); // SBB
  f.get(out).get(2).get(3).op(Op.i64LtU).get(5).get(2).get(3).op(Op.i64Eq, Op.i32And, Op.i32Or, Op.i32Or);
  f.op(Op.return);
  f.end();
  f.get(out).get(5).op(Op.i32Or); // INC, DEC: CF kept
  const flags = m.func(m.type([I32, I32, I64, I64, I64, I32, I32], [I32]), f);
  // cond: params 0 word, 1 base.
  const g = new Code(2);
  const bit = (n: number) => g.get(0).i32(n).op(Op.i32ShrU).i32(1).op(Op.i32And);
  const cases: [number, () => void][] = [
    [0, () => bit(11)],
    [2, () => bit(0)],
    [4, () => bit(6)],
    [6, () => (bit(0), bit(6), g.op(Op.i32Or))],
    [8, () => bit(7)],
    [10, () => bit(2)],
    [12, () => (bit(7), bit(11), g.op(Op.i32Xor))],
  ];
  for (const [base, emit] of cases) {
    g.get(1).i32(base).op(Op.i32Eq).if();
    emit();
    g.op(Op.return);
    g.end();
  }
  bit(6);
  bit(7);
  bit(11);
  g.op(Op.i32Xor, Op.i32Or);
  const cond = m.func(m.type([I32, I32], [I32]), g);
  return { flags, cond };
}

/** A compiled module's bytes with the export name of each region's function. */
export interface WasmRegionModule {
  /** The module's bytes (imports: `m.mem`, the CPU's shared memory, and `m.tbl`, the regions' function table). */
  bytes: Uint8Array;
  /** Export names, one per region, in order. */
  names: string[];
}

/**
 * Encodes the regions `regions` (each: its blocks, entry first, the cache epoch its links hold in,
 * or -1 for none, and its id for the exit record) into one module over a memory of `pages` pages with the CPU state area at
 * `state`.
 */
export function encodeRegions(
  regions: { blocks: Block[]; epoch: number; id: number }[],
  pages: number,
  state: number,
): WasmRegionModule {
  const m = new ModuleBuilder();
  m.importMemory("m", "mem", pages);
  m.importTable("m", "tbl");
  const helpers = addHelpers(m);
  const type = m.type([F64, I32, I32, I32], [I32]);
  const names: string[] = [];
  for (let k = 0; k < regions.length; k++) {
    const r = regions[k];
    const code = new RegionEmitter(r.blocks, r.epoch, state, helpers, r.id, type).emit();
    const f = m.func(type, code);
    m.export(`r${k}`, f);
    names.push(`r${k}`);
  }
  return { bytes: m.bytes(), names };
}

/**
 * The blocks of the region that starts at `entry`: `entry` first, then the blocks its successor
 * links (valid in `epoch`) reach, breadth first, every instruction compiled by this generator, at
 * most {@link MAX_WASM_REGION_BLOCKS}, without the entries of regions compiled to wasm in `epoch`
 * (the region goes on to them through the dispatch cache, so no block is compiled twice where
 * that can be helped). Empty when the entry block itself has an instruction the generator does
 * not compile.
 */
export function wasmRegionBlocks(entry: Block, epoch: number): Block[] {
  const ok = (b: Block) => b.insns.every(wasmSupports);
  if (!ok(entry)) return [];
  const out = [entry];
  if (epoch < 0) return out;
  for (let k = 0; k < out.length && out.length < MAX_WASM_REGION_BLOCKS; k++) {
    for (const [, next] of out[k].links(epoch)) {
      // A block already compiled to wasm in this epoch is reached through the dispatch cache.
      if (next.compiledEpoch === epoch && next.compiledBy === "wasm") continue;
      if (!out.includes(next) && out.length < MAX_WASM_REGION_BLOCKS && ok(next)) out.push(next);
    }
  }
  return out;
}

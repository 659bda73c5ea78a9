/**
 * The instruction set, described once as data (one entry per encoding, as v86's x86_table):
 * opcode map and byte, ModRM use and group extension, immediate kind, operand-size rule,
 * mnemonic, handler and argument. The decoder, the disassembler and the table-driven tests read
 * it; building it throws on a duplicate entry. Opcodes absent from the table raise #UD.
 *
 * @module
 */

import type { Cpu } from "./cpu.ts";
import type { Handler, Insn } from "./insn.ts";
import * as alu from "./ops/alu.ts";
import * as atomic from "./ops/atomic.ts";
import * as bit from "./ops/bit.ts";
import * as ctl from "./ops/control.ts";
import * as mov from "./ops/mov.ts";
import * as md from "./ops/muldiv.ts";
import * as sh from "./ops/shift.ts";
import * as stk from "./ops/stack.ts";
import * as str from "./ops/string.ts";
import * as sys from "./ops/system.ts";
import * as sf from "./ops/sse_fp.ts";
import * as si from "./ops/sse_int.ts";
import * as sm from "./ops/sse_move.ts";
import * as xs from "./ops/xsave.ts";
import * as sio from "./ops/string_io.ts";
import * as dc from "./ops/descriptor_checks.ts";
import * as s3 from "./ops/sse3.ts";
import * as ss3 from "./ops/ssse3.ts";
import * as s41 from "./ops/sse41.ts";
import * as s42 from "./ops/sse42.ts";
import { OP_ADD, OP_DIV, OP_MUL, OP_SQRT, OP_SUB } from "./softfloat.ts";
import { fwait } from "./ops/x87.ts";
import { X87_FORMS } from "./x87_table.ts";
import { MMX_FORMS } from "./mmx_table.ts";

/** No immediate. */
export const IMM_NONE = 0;
/** 8-bit immediate, sign-extended to the operand size. */
export const IMM_B = 1;
/** 8-bit immediate, unsigned (shift counts, ports, vectors). */
export const IMM_UB = 2;
/** 16/32-bit immediate (32 bits sign-extended for 64-bit operands). */
export const IMM_Z = 3;
/** Immediate of the full operand size (MOV r, imm64). */
export const IMM_V = 4;
/** 16-bit immediate. */
export const IMM_W = 5;
/** 16-bit then 8-bit immediate (ENTER). */
export const IMM_WB = 6;
/** 8-bit relative displacement. */
export const IMM_REL8 = 7;
/** 16/32-bit relative displacement. */
export const IMM_RELZ = 8;
/** Memory offset of the address size (MOV AL, moffs). */
export const IMM_MOFFS = 9;

/** Operand size: always 8 bits. */
export const SZ_BYTE = 0;
/** 16/32/64 by 66 and REX.W, default 32. */
export const SZ_V = 1;
/** Default 64 in 64-bit mode, 16 with 66 (stack operations, near branches). */
export const SZ_D64 = 2;
/** Always 64 bits in 64-bit mode. */
export const SZ_F64 = 3;
/** Always 16 bits. */
export const SZ_W = 4;
/** Always 32 bits. */
export const SZ_D = 5;
/** 32 bits, 64 with REX.W; a 66 prefix does not change it (SSE forms with a general-register operand). */
export const SZ_Y = 6;

/** Index in {@linkcode OpSpec.byPrefix} of the mandatory prefix: none, 66, F3, F2 (SDM Vol. 2 §2.1.2). */
export const PREFIX_INDEX: Readonly<Record<number, number>> = { 0: 0, 0x66: 1, 0xf3: 2, 0xf2: 3 };

/** One instruction encoding. */
export interface OpSpec {
  /** Position in {@linkcode opSpecs}. */
  index: number;
  /** Mnemonic, lower case (as GNU objdump prints it, without size suffix). */
  mnemonic: string;
  /** Opcode map: 0 one-byte, 1 two-byte (0f), 2 three-byte 0f 38, 3 three-byte 0f 3a. */
  map: number;
  /** Opcode byte. */
  opcode: number;
  /** ModRM.reg for group encodings, or -1. */
  ext: number;
  /** ModRM.rm for register-only group forms (0f 01 f8 ...), or -1. */
  rmExt: number;
  /** Has a ModRM byte. */
  modrm: boolean;
  /** Immediate kind (IMM_*). */
  imm: number;
  /** Operand-size rule (SZ_*). */
  size: number;
  /** Per-entry argument handed to the handler as `insn.op`. */
  arg: number;
  /** The handler. */
  h: Handler;
  /** Ends a decoded block. */
  ends: boolean;
  /** Register operand is encoded in the opcode's low three bits. */
  regInOpcode: boolean;
  /** The r/m operand is a byte register even though the operand size is not. */
  byteRm: boolean;
  /** The reg operand is a byte register even though the operand size is not. */
  byteReg: boolean;
  /** Only a memory r/m is legal. */
  memOnly: boolean;
  /** Only a register r/m is legal. */
  regOnly: boolean;
  /**
   * ModRM.mod is ignored: r/m always names a register and no SIB or displacement follows (MOV to and
   * from control and debug registers, SDM Vol. 2 "MOV—Move to/from Control Registers" and "Debug
   * Registers": "the 2 bits in the mod field are ignored").
   */
  modIgnored: boolean;
  /** LOCK is legal (memory destination read-modify-write). */
  lockable: boolean;
  /** Mandatory prefix (0 none, 0x66, 0xf3, 0xf2) selecting this entry, or -1 for entries without one. */
  prefix: number;
  /** Entries by mandatory prefix, indexed as {@linkcode PREFIX_INDEX} (for a prefixed opcode's head entry). */
  byPrefix?: (OpSpec | undefined)[];
  /** Group entries by ModRM.reg (for a group's head entry). */
  group?: (OpSpec | undefined)[];
  /** Register-form entries by reg*8+rm (for a group's head entry). */
  group3?: (OpSpec | undefined)[];
}

/** Handler of every undefined encoding: #UD. */
export const udHandler: Handler = (cpu: Cpu, _i: Insn) => cpu.ud();

type Opts = Partial<
  Omit<OpSpec, "index" | "mnemonic" | "map" | "opcode" | "h" | "group" | "group3" | "byPrefix">
>;

/** Every encoding, in definition order. */
export const opSpecs: OpSpec[] = [];
/** Dispatch: map * 256 + opcode -> entry (group heads hold their members). */
export const opTable: (OpSpec | undefined)[] = new Array(1024).fill(undefined);

function def(mnemonic: string, map: number, opcode: number, h: Handler, o: Opts = {}): void {
  const spec: OpSpec = {
    index: opSpecs.length,
    mnemonic,
    map,
    opcode,
    ext: o.ext ?? -1,
    rmExt: o.rmExt ?? -1,
    modrm: o.modrm ?? (o.ext !== undefined && o.ext >= 0),
    imm: o.imm ?? IMM_NONE,
    size: o.size ?? SZ_V,
    arg: o.arg ?? 0,
    h,
    ends: o.ends ?? false,
    regInOpcode: o.regInOpcode ?? false,
    byteRm: o.byteRm ?? false,
    byteReg: o.byteReg ?? false,
    memOnly: o.memOnly ?? false,
    regOnly: o.regOnly ?? false,
    modIgnored: o.modIgnored ?? false,
    lockable: o.lockable ?? false,
    prefix: o.prefix ?? -1,
  };
  const key = map * 256 + opcode;
  if (spec.prefix >= 0) {
    let head = opTable[key];
    if (head === undefined) {
      head = {
        ...spec,
        mnemonic: "(prefixed)",
        h: udHandler,
        modrm: true,
        byPrefix: new Array(4).fill(undefined),
      };
      opTable[key] = head;
    } else if (head.byPrefix === undefined) {
      throw new Error(`instruction table entry ${hex(map, opcode)} is both prefixed and plain`);
    }
    place(head.byPrefix!, PREFIX_INDEX[spec.prefix], spec, map, opcode);
  } else {
    place(opTable, key, spec, map, opcode);
  }
  opSpecs.push(spec);
}

/** Puts `spec` at `table[key]`, or into the group there (group entries by ModRM.reg, then reg*8+rm). */
function place(table: (OpSpec | undefined)[], key: number, spec: OpSpec, map: number, opcode: number): void {
  const head = table[key];
  const mnemonic = spec.mnemonic;
  if (spec.ext < 0) {
    if (head !== undefined) {
      throw new Error(`duplicate instruction table entry ${hex(map, opcode)} (${mnemonic})`);
    }
    table[key] = spec;
  } else {
    let g = head;
    if (g === undefined) {
      g = {
        ...spec,
        mnemonic: "(group)",
        h: udHandler,
        group: new Array(8).fill(undefined),
        group3: undefined,
      };
      table[key] = g;
    } else if (g.group === undefined) {
      throw new Error(`instruction table entry ${hex(map, opcode)} is both a group and a plain opcode`);
    }
    if (spec.rmExt >= 0) {
      g.group3 ??= new Array(64).fill(undefined);
      const k = spec.ext * 8 + spec.rmExt;
      if (g.group3[k] !== undefined) {
        throw new Error(`duplicate entry ${hex(map, opcode)} /${spec.ext} rm=${spec.rmExt}`);
      }
      g.group3[k] = spec;
    } else {
      if (g.group![spec.ext] !== undefined) {
        throw new Error(`duplicate entry ${hex(map, opcode)} /${spec.ext}`);
      }
      g.group![spec.ext] = spec;
    }
  }
}

function hex(map: number, opcode: number): string {
  return MAP_PREFIX[map] + opcode.toString(16).padStart(2, "0");
}

/** How each opcode map's escape bytes are written before the opcode: "", "0f ", "0f 38 ", "0f 3a ". */
export const MAP_PREFIX: readonly string[] = ["", "0f ", "0f 38 ", "0f 3a "];

const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const SHIFT_NAMES = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"];

// ALU: 00-3d.
for (let op = 0; op < 8; op++) {
  const b = op * 8;
  const lk = op !== 7;
  def(ALU_NAMES[op], 0, b, alu.aluEG, { modrm: true, size: SZ_BYTE, arg: op, lockable: lk });
  def(ALU_NAMES[op], 0, b + 1, alu.aluEG, { modrm: true, arg: op, lockable: lk });
  def(ALU_NAMES[op], 0, b + 2, alu.aluGE, { modrm: true, size: SZ_BYTE, arg: op });
  def(ALU_NAMES[op], 0, b + 3, alu.aluGE, { modrm: true, arg: op });
  def(ALU_NAMES[op], 0, b + 4, alu.aluAI, { imm: IMM_B, size: SZ_BYTE, arg: op });
  def(ALU_NAMES[op], 0, b + 5, alu.aluAI, { imm: IMM_Z, arg: op });
  def(ALU_NAMES[op], 0, 0x80, alu.aluEI, { ext: op, imm: IMM_B, size: SZ_BYTE, arg: op, lockable: lk });
  def(ALU_NAMES[op], 0, 0x81, alu.aluEI, { ext: op, imm: IMM_Z, arg: op, lockable: lk });
  def(ALU_NAMES[op], 0, 0x83, alu.aluEI, { ext: op, imm: IMM_B, arg: op, lockable: lk });
}

// Stack and moves.
for (let r = 0; r < 8; r++) {
  def("push", 0, 0x50 + r, stk.pushR, { size: SZ_D64, regInOpcode: true });
  def("pop", 0, 0x58 + r, stk.popR, { size: SZ_D64, regInOpcode: true });
  def("mov", 0, 0xb0 + r, mov.movRI, { size: SZ_BYTE, imm: IMM_V, regInOpcode: true });
  def("mov", 0, 0xb8 + r, mov.movRI, { imm: IMM_V, regInOpcode: true });
  def("bswap", 1, 0xc8 + r, mov.bswap, { regInOpcode: true });
}
def("nop", 0, 0x90, mov.xchgAR, { regInOpcode: true });
for (let r = 1; r < 8; r++) def("xchg", 0, 0x90 + r, mov.xchgAR, { regInOpcode: true });
def("movsxd", 0, 0x63, mov.movsx, { modrm: true, arg: 4 });
def("push", 0, 0x68, stk.pushI, { size: SZ_D64, imm: IMM_Z });
def("imul", 0, 0x69, md.imulGE, { modrm: true, imm: IMM_Z, arg: 1 });
def("push", 0, 0x6a, stk.pushI, { size: SZ_D64, imm: IMM_B });
def("imul", 0, 0x6b, md.imulGE, { modrm: true, imm: IMM_B, arg: 1 });
for (let cc = 0; cc < 16; cc++) {
  def("j" + CC[cc], 0, 0x70 + cc, ctl.jccRel, { imm: IMM_REL8, arg: cc, ends: true, size: SZ_F64 });
  def("j" + CC[cc], 1, 0x80 + cc, ctl.jccRel, { imm: IMM_RELZ, arg: cc, ends: true, size: SZ_F64 });
  def("set" + CC[cc], 1, 0x90 + cc, mov.setcc, { modrm: true, size: SZ_BYTE, arg: cc });
  def("cmov" + CC[cc], 1, 0x40 + cc, mov.cmov, { modrm: true, arg: cc });
}
def("test", 0, 0x84, alu.testEG, { modrm: true, size: SZ_BYTE });
def("test", 0, 0x85, alu.testEG, { modrm: true });
def("xchg", 0, 0x86, mov.xchgEG, { modrm: true, size: SZ_BYTE, lockable: true });
def("xchg", 0, 0x87, mov.xchgEG, { modrm: true, lockable: true });
def("mov", 0, 0x88, mov.movEG, { modrm: true, size: SZ_BYTE });
def("mov", 0, 0x89, mov.movEG, { modrm: true });
def("mov", 0, 0x8a, mov.movGE, { modrm: true, size: SZ_BYTE });
def("mov", 0, 0x8b, mov.movGE, { modrm: true });
def("mov", 0, 0x8c, sys.movFromSeg, { modrm: true });
def("lea", 0, 0x8d, mov.lea, { modrm: true, memOnly: true });
def("mov", 0, 0x8e, sys.movToSeg, { modrm: true, size: SZ_W, ends: true });
def("pop", 0, 0x8f, stk.popE, { ext: 0, size: SZ_D64 });
def("xlat", 0, 0xd7, mov.xlat, { size: SZ_BYTE });
def("cbw", 0, 0x98, mov.cbw);
def("cwd", 0, 0x99, mov.cwd);
def("pushf", 0, 0x9c, stk.pushf, { size: SZ_D64 });
def("popf", 0, 0x9d, stk.popf, { size: SZ_D64, ends: true });
def("sahf", 0, 0x9e, ctl.sahf);
def("lahf", 0, 0x9f, ctl.lahf);
def("mov", 0, 0xa0, mov.movMoffs, { size: SZ_BYTE, imm: IMM_MOFFS, arg: 0 });
def("mov", 0, 0xa1, mov.movMoffs, { imm: IMM_MOFFS, arg: 0 });
def("mov", 0, 0xa2, mov.movMoffs, { size: SZ_BYTE, imm: IMM_MOFFS, arg: 1 });
def("mov", 0, 0xa3, mov.movMoffs, { imm: IMM_MOFFS, arg: 1 });
const STRINGS: [string, number, number][] = [
  ["movs", 0xa4, str.STR_MOVS],
  ["cmps", 0xa6, str.STR_CMPS],
  ["stos", 0xaa, str.STR_STOS],
  ["lods", 0xac, str.STR_LODS],
  ["scas", 0xae, str.STR_SCAS],
];
for (const [name, opc, op] of STRINGS) {
  def(name, 0, opc, str.stringOp, { size: SZ_BYTE, arg: op });
  def(name, 0, opc + 1, str.stringOp, { arg: op });
}
def("ins", 0, 0x6c, sio.stringIo, { size: SZ_BYTE, arg: 0, ends: true });
def("ins", 0, 0x6d, sio.stringIo, { arg: 0, ends: true });
def("outs", 0, 0x6e, sio.stringIo, { size: SZ_BYTE, arg: sio.STRING_IO_OUT, ends: true });
def("outs", 0, 0x6f, sio.stringIo, { arg: sio.STRING_IO_OUT, ends: true });
def("test", 0, 0xa8, alu.testAI, { size: SZ_BYTE, imm: IMM_B });
def("test", 0, 0xa9, alu.testAI, { imm: IMM_Z });

// Shifts and rotates: arg = operation | count source << 3 (0: 1, 1: CL, 2: imm8).
for (let op = 0; op < 8; op++) {
  def(SHIFT_NAMES[op], 0, 0xc0, sh.shiftGroup, { ext: op, size: SZ_BYTE, imm: IMM_UB, arg: op | 16 });
  def(SHIFT_NAMES[op], 0, 0xc1, sh.shiftGroup, { ext: op, imm: IMM_UB, arg: op | 16 });
  def(SHIFT_NAMES[op], 0, 0xd0, sh.shiftGroup, { ext: op, size: SZ_BYTE, arg: op });
  def(SHIFT_NAMES[op], 0, 0xd1, sh.shiftGroup, { ext: op, arg: op });
  def(SHIFT_NAMES[op], 0, 0xd2, sh.shiftGroup, { ext: op, size: SZ_BYTE, arg: op | 8 });
  def(SHIFT_NAMES[op], 0, 0xd3, sh.shiftGroup, { ext: op, arg: op | 8 });
}
def("shld", 1, 0xa4, sh.shxd, { modrm: true, imm: IMM_UB, arg: 0 });
def("shld", 1, 0xa5, sh.shxd, { modrm: true, arg: 2 });
def("shrd", 1, 0xac, sh.shxd, { modrm: true, imm: IMM_UB, arg: 1 });
def("shrd", 1, 0xad, sh.shxd, { modrm: true, arg: 3 });

// Control transfer. Near branches are "f64" (SDM Vol. 2 App. A.2.5): in 64-bit mode a 66 prefix
// does not change their operand size (Intel; AMD processors differ and take rel16).
def("ret", 0, 0xc2, ctl.ret, { imm: IMM_W, size: SZ_F64, ends: true });
def("ret", 0, 0xc3, ctl.ret, { size: SZ_F64, ends: true });
def("mov", 0, 0xc6, mov.movEI, { ext: 0, size: SZ_BYTE, imm: IMM_B });
def("mov", 0, 0xc7, mov.movEI, { ext: 0, imm: IMM_Z });
def("enter", 0, 0xc8, stk.enter, { imm: IMM_WB, size: SZ_D64 });
def("leave", 0, 0xc9, stk.leave, { size: SZ_D64 });
def("int3", 0, 0xcc, ctl.int3, { ends: true });
def("int", 0, 0xcd, ctl.intN, { imm: IMM_UB, ends: true });
def("int1", 0, 0xf1, ctl.int1, { ends: true });
def("iret", 0, 0xcf, sys.iret, { ends: true });
def("lret", 0, 0xca, sys.retFar, { imm: IMM_W, ends: true });
def("lret", 0, 0xcb, sys.retFar, { ends: true });
def("loopne", 0, 0xe0, ctl.loop, { imm: IMM_REL8, arg: 0, ends: true });
def("loope", 0, 0xe1, ctl.loop, { imm: IMM_REL8, arg: 1, ends: true });
def("loop", 0, 0xe2, ctl.loop, { imm: IMM_REL8, arg: 2, ends: true });
def("jrcxz", 0, 0xe3, ctl.loop, { imm: IMM_REL8, arg: 3, ends: true });
def("in", 0, 0xe4, sys.io, { size: SZ_BYTE, imm: IMM_UB, arg: 0, ends: true });
def("in", 0, 0xe5, sys.io, { imm: IMM_UB, arg: 0, ends: true });
def("out", 0, 0xe6, sys.io, { size: SZ_BYTE, imm: IMM_UB, arg: 1, ends: true });
def("out", 0, 0xe7, sys.io, { imm: IMM_UB, arg: 1, ends: true });
def("call", 0, 0xe8, ctl.callRel, { imm: IMM_RELZ, size: SZ_F64, ends: true });
def("jmp", 0, 0xe9, ctl.jmpRel, { imm: IMM_RELZ, size: SZ_F64, ends: true });
def("jmp", 0, 0xeb, ctl.jmpRel, { imm: IMM_REL8, size: SZ_F64, ends: true });
def("in", 0, 0xec, sys.io, { size: SZ_BYTE, arg: 2, ends: true });
def("in", 0, 0xed, sys.io, { arg: 2, ends: true });
def("out", 0, 0xee, sys.io, { size: SZ_BYTE, arg: 3, ends: true });
def("out", 0, 0xef, sys.io, { arg: 3, ends: true });
def("hlt", 0, 0xf4, sys.hlt, { ends: true });
def("cmc", 0, 0xf5, ctl.flagOp, { arg: 2 });
def("clc", 0, 0xf8, ctl.flagOp, { arg: 0 });
def("stc", 0, 0xf9, ctl.flagOp, { arg: 1 });
def("cli", 0, 0xfa, sys.cli);
def("sti", 0, 0xfb, sys.sti, { ends: true });
def("cld", 0, 0xfc, ctl.flagOp, { arg: 3 });
def("std", 0, 0xfd, ctl.flagOp, { arg: 4 });

// Group 3 (f6, f7), groups 4 and 5 (fe, ff).
for (const [opc, sz] of [[0xf6, SZ_BYTE], [0xf7, SZ_V]]) {
  def("test", 0, opc, alu.testEI, { ext: 0, size: sz, imm: sz === SZ_BYTE ? IMM_B : IMM_Z });
  def("test", 0, opc, alu.testEI, { ext: 1, size: sz, imm: sz === SZ_BYTE ? IMM_B : IMM_Z });
  def("not", 0, opc, alu.notE, { ext: 2, size: sz, lockable: true });
  def("neg", 0, opc, alu.negE, { ext: 3, size: sz, lockable: true });
  def("mul", 0, opc, md.mulE, { ext: 4, size: sz });
  def("imul", 0, opc, md.imulE, { ext: 5, size: sz });
  def("div", 0, opc, md.divE, { ext: 6, size: sz });
  def("idiv", 0, opc, md.idivE, { ext: 7, size: sz });
}
def("inc", 0, 0xfe, alu.incE, { ext: 0, size: SZ_BYTE, lockable: true });
def("dec", 0, 0xfe, alu.decE, { ext: 1, size: SZ_BYTE, lockable: true });
def("inc", 0, 0xff, alu.incE, { ext: 0, lockable: true });
def("dec", 0, 0xff, alu.decE, { ext: 1, lockable: true });
def("call", 0, 0xff, ctl.callE, { ext: 2, size: SZ_F64, ends: true });
def("lcall", 0, 0xff, sys.farIndirect, { ext: 3, memOnly: true, arg: 1, ends: true });
def("jmp", 0, 0xff, ctl.jmpE, { ext: 4, size: SZ_F64, ends: true });
def("ljmp", 0, 0xff, sys.farIndirect, { ext: 5, memOnly: true, arg: 0, ends: true });
def("push", 0, 0xff, stk.pushE, { ext: 6, size: SZ_D64 });

// Two-byte map.
def("sldt", 1, 0x00, sys.segmentTable, { ext: 0, arg: 0 });
def("str", 1, 0x00, sys.segmentTable, { ext: 1, arg: 1 });
def("lldt", 1, 0x00, sys.segmentTable, { ext: 2, arg: 2, ends: true });
def("ltr", 1, 0x00, sys.segmentTable, { ext: 3, arg: 3, ends: true });
def("verr", 1, 0x00, dc.descriptorCheck, { ext: 4, size: SZ_W, arg: dc.CHECK_VERR });
def("verw", 1, 0x00, dc.descriptorCheck, { ext: 5, size: SZ_W, arg: dc.CHECK_VERW });
def("lar", 1, 0x02, dc.descriptorCheck, { modrm: true, arg: dc.CHECK_LAR });
def("lsl", 1, 0x03, dc.descriptorCheck, { modrm: true, arg: dc.CHECK_LSL });
def("sgdt", 1, 0x01, sys.descriptorTable, { ext: 0, arg: 0, memOnly: true });
def("sidt", 1, 0x01, sys.descriptorTable, { ext: 1, arg: 1, memOnly: true });
def("lgdt", 1, 0x01, sys.descriptorTable, { ext: 2, arg: 2, memOnly: true, ends: true });
def("lidt", 1, 0x01, sys.descriptorTable, { ext: 3, arg: 3, memOnly: true, ends: true });
def("smsw", 1, 0x01, sys.smsw, { ext: 4 });
def("lmsw", 1, 0x01, sys.lmsw, { ext: 6, size: SZ_W, ends: true });
def("invlpg", 1, 0x01, sys.descriptorTable, { ext: 7, arg: 7, memOnly: true, ends: true });
def("vmcall", 1, 0x01, sys.vmcall, { ext: 0, rmExt: 1, ends: true });
def("swapgs", 1, 0x01, sys.swapgs, { ext: 7, rmExt: 0, ends: true });
def("rdtscp", 1, 0x01, sys.rdtscp, { ext: 7, rmExt: 1 });
def("syscall", 1, 0x05, sys.syscall, { ends: true });
def("clts", 1, 0x06, sys.clts);
def("sysret", 1, 0x07, sys.sysret, { ends: true });
def("invd", 1, 0x08, sys.wbinvd);
def("wbinvd", 1, 0x09, sys.wbinvd);
def("ud2", 1, 0x0b, ctl.ud, { ends: true });
// UD1 and UD0 take a ModRM operand and always raise #UD (SDM Vol. 2 UD); Linux uses UD1 for its own traps.
def("ud1", 1, 0xb9, ctl.ud, { modrm: true, ends: true });
def("ud0", 1, 0xff, ctl.ud, { modrm: true, ends: true });
def("prefetchw", 1, 0x0d, ctl.nop, { modrm: true, memOnly: true });
for (let opc = 0x18; opc <= 0x1f; opc++) def("nop", 1, opc, ctl.nop, { modrm: true });
def("mov", 1, 0x20, sys.movFromCr, { modrm: true, size: SZ_F64, modIgnored: true });
def("mov", 1, 0x21, sys.movFromDr, { modrm: true, size: SZ_F64, modIgnored: true });
def("mov", 1, 0x22, sys.movToCr, { modrm: true, size: SZ_F64, ends: true, modIgnored: true });
def("mov", 1, 0x23, sys.movToDr, { modrm: true, size: SZ_F64, modIgnored: true });
def("wrmsr", 1, 0x30, sys.wrmsr, { ends: true });
def("rdtsc", 1, 0x31, sys.rdtsc);
def("rdmsr", 1, 0x32, sys.rdmsr);
def("push", 1, 0xa0, stk.pushSeg, { size: SZ_D64, arg: 4 });
def("pop", 1, 0xa1, stk.popSeg, { size: SZ_D64, arg: 4 });
def("cpuid", 1, 0xa2, sys.cpuid, { ends: true });
def("bt", 1, 0xa3, bit.btEG, { modrm: true, arg: 0 });
def("push", 1, 0xa8, stk.pushSeg, { size: SZ_D64, arg: 5 });
def("pop", 1, 0xa9, stk.popSeg, { size: SZ_D64, arg: 5 });
def("bts", 1, 0xab, bit.btEG, { modrm: true, arg: 1, lockable: true });
def("lfence", 1, 0xae, ctl.nop, { ext: 5, rmExt: 0 });
def("mfence", 1, 0xae, ctl.nop, { ext: 6, rmExt: 0 });
def("sfence", 1, 0xae, ctl.nop, { ext: 7, rmExt: 0 });
// The fences ignore ModRM.rm: 0f ae e8-ef, f0-f7 and f8-ff are one entry each (SDM Vol. 2 LFENCE,
// MFENCE, SFENCE: "the processor ignores the r/m field").
for (let ext = 5; ext <= 7; ext++) {
  const g3 = opTable[0x100 + 0xae]!.group3!;
  for (let rm = 1; rm < 8; rm++) g3[ext * 8 + rm] = g3[ext * 8];
}
def("xsave", 1, 0xae, xs.xsave, { ext: 4, memOnly: true, arg: xs.KIND_XSAVE });
def("xrstor", 1, 0xae, xs.xrstor, { ext: 5, memOnly: true });
def("xsaveopt", 1, 0xae, xs.xsave, { ext: 6, memOnly: true, arg: xs.KIND_XSAVEOPT });
def("xsavec", 1, 0xc7, xs.xsave, { ext: 4, memOnly: true, arg: xs.KIND_XSAVEC });
def("xgetbv", 1, 0x01, xs.xgetbv, { ext: 2, rmExt: 0 });
def("xsetbv", 1, 0x01, xs.xsetbv, { ext: 2, rmExt: 1, ends: true });
def("clflush", 1, 0xae, ctl.nop, { ext: 7, memOnly: true });
def("imul", 1, 0xaf, md.imulGE, { modrm: true, arg: 0 });
def("cmpxchg", 1, 0xb0, atomic.cmpxchg, { modrm: true, size: SZ_BYTE, lockable: true });
def("cmpxchg", 1, 0xb1, atomic.cmpxchg, { modrm: true, lockable: true });
def("btr", 1, 0xb3, bit.btEG, { modrm: true, arg: 2, lockable: true });
def("movzx", 1, 0xb6, mov.movzx, { modrm: true, arg: 1, byteRm: true });
def("movzx", 1, 0xb7, mov.movzx, { modrm: true, arg: 2 });
def("bt", 1, 0xba, bit.btEI, { ext: 4, imm: IMM_UB, arg: 0 });
def("bts", 1, 0xba, bit.btEI, { ext: 5, imm: IMM_UB, arg: 1, lockable: true });
def("btr", 1, 0xba, bit.btEI, { ext: 6, imm: IMM_UB, arg: 2, lockable: true });
def("btc", 1, 0xba, bit.btEI, { ext: 7, imm: IMM_UB, arg: 3, lockable: true });
def("btc", 1, 0xbb, bit.btEG, { modrm: true, arg: 3, lockable: true });
def("bsf", 1, 0xbc, bit.bsf, { modrm: true });
def("bsr", 1, 0xbd, bit.bsr, { modrm: true });
def("movsx", 1, 0xbe, mov.movsx, { modrm: true, arg: 1, byteRm: true });
def("movsx", 1, 0xbf, mov.movsx, { modrm: true, arg: 2 });
def("xadd", 1, 0xc0, atomic.xadd, { modrm: true, size: SZ_BYTE, lockable: true });
def("xadd", 1, 0xc1, atomic.xadd, { modrm: true, lockable: true });
def("cmpxchg8b", 1, 0xc7, atomic.cmpxchg8b16b, { ext: 1, size: SZ_Y, memOnly: true, lockable: true });
def("rdrand", 1, 0xc7, sys.rdrand, { ext: 6, regOnly: true, arg: 6 });
def("rdseed", 1, 0xc7, sys.rdrand, { ext: 7, regOnly: true, arg: 7 });

// SSE and SSE2 (SDM Vol. 2 App. A.3, Table A-3): the mandatory prefix selects the form.
function sse(mnemonic: string, opcode: number, prefix: number, h: Handler, o: Opts = {}): void {
  def(mnemonic, 1, opcode, h, { modrm: true, size: SZ_Y, prefix, ...o });
}
const P66 = 0x66, PF3 = 0xf3, PF2 = 0xf2;
sse("movups", 0x10, 0, sm.movXE);
sse("movupd", 0x10, P66, sm.movXE);
sse("movss", 0x10, PF3, sm.movssXE);
sse("movsd", 0x10, PF2, sm.movsdXE);
sse("movups", 0x11, 0, sm.movEX);
sse("movupd", 0x11, P66, sm.movEX);
sse("movss", 0x11, PF3, sm.movssEX);
sse("movsd", 0x11, PF2, sm.movsdEX);
sse("movlps", 0x12, 0, sm.movHalfXE, { arg: 0 }); // MOVHLPS with a register operand
sse("movlpd", 0x12, P66, sm.movHalfXE, { arg: 0, memOnly: true });
sse("movlps", 0x13, 0, sm.movHalfEX, { arg: 0, memOnly: true });
sse("movlpd", 0x13, P66, sm.movHalfEX, { arg: 0, memOnly: true });
sse("unpcklps", 0x14, 0, sm.unpack, { arg: 4 });
sse("unpcklpd", 0x14, P66, sm.unpack, { arg: 8 });
sse("unpckhps", 0x15, 0, sm.unpack, { arg: 4 | 16 });
sse("unpckhpd", 0x15, P66, sm.unpack, { arg: 8 | 16 });
sse("movhps", 0x16, 0, sm.movHalfXE, { arg: 1 }); // MOVLHPS with a register operand
sse("movhpd", 0x16, P66, sm.movHalfXE, { arg: 1, memOnly: true });
sse("movhps", 0x17, 0, sm.movHalfEX, { arg: 1, memOnly: true });
sse("movhpd", 0x17, P66, sm.movHalfEX, { arg: 1, memOnly: true });
sse("movaps", 0x28, 0, sm.movXE, { arg: 1 });
sse("movapd", 0x28, P66, sm.movXE, { arg: 1 });
sse("movaps", 0x29, 0, sm.movEX, { arg: 1 });
sse("movapd", 0x29, P66, sm.movEX, { arg: 1 });
sse("cvtsi2ss", 0x2a, PF3, sf.cvtFromSi, { arg: 0 });
sse("cvtsi2sd", 0x2a, PF2, sf.cvtFromSi, { arg: sf.OPF_DOUBLE });
sse("movntps", 0x2b, 0, sm.movEX, { arg: 1, memOnly: true });
sse("movntpd", 0x2b, P66, sm.movEX, { arg: 1, memOnly: true });
sse("cvttss2si", 0x2c, PF3, sf.cvtToSi, { arg: 1 });
sse("cvttsd2si", 0x2c, PF2, sf.cvtToSi, { arg: 1 | sf.OPF_DOUBLE });
sse("cvtss2si", 0x2d, PF3, sf.cvtToSi, { arg: 0 });
sse("cvtsd2si", 0x2d, PF2, sf.cvtToSi, { arg: sf.OPF_DOUBLE });
sse("ucomiss", 0x2e, 0, sf.fpComi, { arg: 1 });
sse("ucomisd", 0x2e, P66, sf.fpComi, { arg: 1 | sf.OPF_DOUBLE });
sse("comiss", 0x2f, 0, sf.fpComi, { arg: 0 });
sse("comisd", 0x2f, P66, sf.fpComi, { arg: sf.OPF_DOUBLE });
sse("movmskps", 0x50, 0, sm.movmsk, { arg: 4, regOnly: true });
sse("rsqrtps", 0x52, 0, sf.fpApprox, { arg: 1 });
sse("rsqrtss", 0x52, PF3, sf.fpApprox, { arg: 1 | sf.OPF_SCALAR });
sse("rcpps", 0x53, 0, sf.fpApprox, { arg: 0 });
sse("rcpss", 0x53, PF3, sf.fpApprox, { arg: sf.OPF_SCALAR });
sse("movmskpd", 0x50, P66, sm.movmsk, { arg: 8, regOnly: true });
const FP_SUFFIX: [string, number, number][] = [["ps", 0, 0], ["pd", P66, sf.OPF_DOUBLE], [
  "ss",
  PF3,
  sf.OPF_SCALAR,
], ["sd", PF2, sf.OPF_DOUBLE | sf.OPF_SCALAR]];
for (const [sfx, prefix, bits] of FP_SUFFIX) {
  sse("sqrt" + sfx, 0x51, prefix, sf.fpArith, { arg: OP_SQRT | bits });
  sse("add" + sfx, 0x58, prefix, sf.fpArith, { arg: OP_ADD | bits });
  sse("mul" + sfx, 0x59, prefix, sf.fpArith, { arg: OP_MUL | bits });
  sse("sub" + sfx, 0x5c, prefix, sf.fpArith, { arg: OP_SUB | bits });
  sse("min" + sfx, 0x5d, prefix, sf.fpMinMax, { arg: 0 | bits });
  sse("div" + sfx, 0x5e, prefix, sf.fpArith, { arg: OP_DIV | bits });
  sse("max" + sfx, 0x5f, prefix, sf.fpMinMax, { arg: 1 | bits });
  sse("cmp" + sfx, 0xc2, prefix, sf.fpCmp, { arg: bits, imm: IMM_UB });
}
const LOGIC: [string, string, number][] = [["and", "pand", 0x54], ["andn", "pandn", 0x55], [
  "or",
  "por",
  0x56,
], [
  "xor",
  "pxor",
  0x57,
]];
LOGIC.forEach(([name, _pname, opc], op) => {
  sse(name + "ps", opc, 0, sm.logic, { arg: op });
  sse(name + "pd", opc, P66, sm.logic, { arg: op });
});
sse("pand", 0xdb, P66, sm.logic, { arg: 0 });
sse("pandn", 0xdf, P66, sm.logic, { arg: 1 });
sse("por", 0xeb, P66, sm.logic, { arg: 2 });
sse("pxor", 0xef, P66, sm.logic, { arg: 3 });
sse("cvtps2pd", 0x5a, 0, sf.cvtPacked, { arg: sf.CVT_PS2PD });
sse("cvtpd2ps", 0x5a, P66, sf.cvtPacked, { arg: sf.CVT_PD2PS });
sse("cvtss2sd", 0x5a, PF3, sf.cvtPacked, { arg: sf.CVT_SS2SD });
sse("cvtsd2ss", 0x5a, PF2, sf.cvtPacked, { arg: sf.CVT_SD2SS });
sse("cvtdq2ps", 0x5b, 0, sf.cvtPacked, { arg: sf.CVT_DQ2PS });
sse("cvtps2dq", 0x5b, P66, sf.cvtPacked, { arg: sf.CVT_PS2DQ });
sse("cvttps2dq", 0x5b, PF3, sf.cvtPacked, { arg: sf.CVT_TPS2DQ });
sse("cvttpd2dq", 0xe6, P66, sf.cvtPacked, { arg: sf.CVT_TPD2DQ });
sse("cvtdq2pd", 0xe6, PF3, sf.cvtPacked, { arg: sf.CVT_DQ2PD });
sse("cvtpd2dq", 0xe6, PF2, sf.cvtPacked, { arg: sf.CVT_PD2DQ });
const UNPACKS: [string, number, number][] = [
  ["punpcklbw", 0x60, 1],
  ["punpcklwd", 0x61, 2],
  ["punpckldq", 0x62, 4],
  ["punpckhbw", 0x68, 1 | 16],
  ["punpckhwd", 0x69, 2 | 16],
  ["punpckhdq", 0x6a, 4 | 16],
  ["punpcklqdq", 0x6c, 8],
  ["punpckhqdq", 0x6d, 8 | 16],
];
for (const [name, opc, arg] of UNPACKS) sse(name, opc, P66, sm.unpack, { arg });
sse("packsswb", 0x63, P66, si.pmisc, { arg: si.PM_PACKSSWB });
sse("packuswb", 0x67, P66, si.pmisc, { arg: si.PM_PACKUSWB });
sse("packssdw", 0x6b, P66, si.pmisc, { arg: si.PM_PACKSSDW });
sse("pcmpgtb", 0x64, P66, si.pcmp, { arg: 1 | 16 });
sse("pcmpgtw", 0x65, P66, si.pcmp, { arg: 2 | 16 });
sse("pcmpgtd", 0x66, P66, si.pcmp, { arg: 4 | 16 });
sse("pcmpeqb", 0x74, P66, si.pcmp, { arg: 1 });
sse("pcmpeqw", 0x75, P66, si.pcmp, { arg: 2 });
sse("pcmpeqd", 0x76, P66, si.pcmp, { arg: 4 });
sse("movd", 0x6e, P66, sm.movdXE);
sse("movdqa", 0x6f, P66, sm.movXE, { arg: 1 });
sse("movdqu", 0x6f, PF3, sm.movXE, { arg: 0 });
sse("pshufd", 0x70, P66, sm.pshuf, { arg: 0, imm: IMM_UB });
sse("pshufhw", 0x70, PF3, sm.pshuf, { arg: 1, imm: IMM_UB });
sse("pshuflw", 0x70, PF2, sm.pshuf, { arg: 2, imm: IMM_UB });
for (const [name, opc, ext, arg] of si.PSHIFT_IMM_FORMS) {
  sse(name, opc, P66, si.pshiftImm, { ext, arg, imm: IMM_UB, regOnly: true });
}
sse("psrldq", 0x73, P66, si.pshiftBytes, { ext: 3, arg: 1, imm: IMM_UB, regOnly: true });
sse("pslldq", 0x73, P66, si.pshiftBytes, { ext: 7, arg: 0, imm: IMM_UB, regOnly: true });
sse("movd", 0x7e, P66, sm.movdEX);
sse("movq", 0x7e, PF3, sm.movsdXE, { arg: 1 });
sse("movdqa", 0x7f, P66, sm.movEX, { arg: 1 });
sse("movdqu", 0x7f, PF3, sm.movEX, { arg: 0 });
def("movnti", 1, 0xc3, sm.movnti, { modrm: true, size: SZ_Y, memOnly: true });
sse("pinsrw", 0xc4, P66, sm.pinsrw, { imm: IMM_UB });
sse("pextrw", 0xc5, P66, sm.pextrw, { imm: IMM_UB, regOnly: true });
sse("shufps", 0xc6, 0, sm.shufps, { imm: IMM_UB });
sse("shufpd", 0xc6, P66, sm.shufpd, { imm: IMM_UB });
for (const [name, opc, arg] of si.PSHIFT_REG_FORMS) sse(name, opc, P66, si.pshift, { arg });
sse("paddq", 0xd4, P66, si.paddsub, { arg: 8 });
sse("pmullw", 0xd5, P66, si.pmisc, { arg: si.PM_MULLW });
sse("movq", 0xd6, P66, sm.movsdEX, { arg: 1 });
sse("pmovmskb", 0xd7, P66, sm.pmovmskb, { regOnly: true });
sse("psubusb", 0xd8, P66, si.paddsat, { arg: 1 | 16 | 32 });
sse("psubusw", 0xd9, P66, si.paddsat, { arg: 2 | 16 | 32 });
sse("pminub", 0xda, P66, si.pmisc, { arg: si.PM_MINUB });
sse("paddusb", 0xdc, P66, si.paddsat, { arg: 1 | 32 });
sse("paddusw", 0xdd, P66, si.paddsat, { arg: 2 | 32 });
sse("pmaxub", 0xde, P66, si.pmisc, { arg: si.PM_MAXUB });
sse("pavgb", 0xe0, P66, si.pmisc, { arg: si.PM_AVGB });
sse("pavgw", 0xe3, P66, si.pmisc, { arg: si.PM_AVGW });
sse("pmulhuw", 0xe4, P66, si.pmisc, { arg: si.PM_MULHUW });
sse("pmulhw", 0xe5, P66, si.pmisc, { arg: si.PM_MULHW });
sse("movntdq", 0xe7, P66, sm.movEX, { arg: 1, memOnly: true });
sse("psubsb", 0xe8, P66, si.paddsat, { arg: 1 | 16 });
sse("psubsw", 0xe9, P66, si.paddsat, { arg: 2 | 16 });
sse("pminsw", 0xea, P66, si.pmisc, { arg: si.PM_MINSW });
sse("paddsb", 0xec, P66, si.paddsat, { arg: 1 });
sse("paddsw", 0xed, P66, si.paddsat, { arg: 2 });
sse("pmaxsw", 0xee, P66, si.pmisc, { arg: si.PM_MAXSW });
sse("pmuludq", 0xf4, P66, si.pmisc, { arg: si.PM_MULUDQ });
sse("pmaddwd", 0xf5, P66, si.pmisc, { arg: si.PM_MADDWD });
sse("psadbw", 0xf6, P66, si.pmisc, { arg: si.PM_SADBW });
sse("maskmovdqu", 0xf7, P66, sm.maskmovdqu, { regOnly: true });
const ADDSUB: [string, number, number][] = [
  ["psubb", 0xf8, 1 | 16],
  ["psubw", 0xf9, 2 | 16],
  ["psubd", 0xfa, 4 | 16],
  ["psubq", 0xfb, 8 | 16],
  ["paddb", 0xfc, 1],
  ["paddw", 0xfd, 2],
  ["paddd", 0xfe, 4],
];
for (const [name, opc, arg] of ADDSUB) sse(name, opc, P66, si.paddsub, { arg });

// SSE3 (SDM Vol. 2 App. A.3, Table A-3).
sse("addsubpd", 0xd0, P66, s3.addsub, { arg: s3.SSE3_DOUBLE });
sse("addsubps", 0xd0, PF2, s3.addsub, { arg: 0 });
sse("haddpd", 0x7c, P66, s3.horizontal, { arg: s3.SSE3_DOUBLE });
sse("haddps", 0x7c, PF2, s3.horizontal, { arg: 0 });
sse("hsubpd", 0x7d, P66, s3.horizontal, { arg: s3.SSE3_DOUBLE | s3.SSE3_SUB });
sse("hsubps", 0x7d, PF2, s3.horizontal, { arg: s3.SSE3_SUB });
sse("movsldup", 0x12, PF3, s3.movdup, { arg: 0 });
sse("movshdup", 0x16, PF3, s3.movdup, { arg: 1 });
sse("movddup", 0x12, PF2, s3.movdup, { arg: 2 });
sse("lddqu", 0xf0, PF2, sm.movXE, { arg: 0, memOnly: true });

// Three-byte maps 0f 38 (map 2) and 0f 3a (map 3): SSSE3 and later (SDM Vol. 2 App. A.3, Tables ).
function sse38(mnemonic: string, opcode: number, prefix: number, h: Handler, o: Opts = {}): void {
  def(mnemonic, 2, opcode, h, { modrm: true, size: SZ_Y, prefix, ...o });
}
function sse3a(mnemonic: string, opcode: number, prefix: number, h: Handler, o: Opts = {}): void {
  def(mnemonic, 3, opcode, h, { modrm: true, size: SZ_Y, prefix, imm: IMM_UB, ...o });
}
sse38("pshufb", 0x00, P66, ss3.pshufb);
sse38("phaddw", 0x01, P66, ss3.phaddsub, { arg: 2 });
sse38("phaddd", 0x02, P66, ss3.phaddsub, { arg: 4 });
sse38("phaddsw", 0x03, P66, ss3.phaddsub, { arg: 2 | ss3.PH_SAT });
sse38("pmaddubsw", 0x04, P66, ss3.pmaddubsw);
sse38("phsubw", 0x05, P66, ss3.phaddsub, { arg: 2 | ss3.PH_SUB });
sse38("phsubd", 0x06, P66, ss3.phaddsub, { arg: 4 | ss3.PH_SUB });
sse38("phsubsw", 0x07, P66, ss3.phaddsub, { arg: 2 | ss3.PH_SUB | ss3.PH_SAT });
sse38("psignb", 0x08, P66, ss3.psign, { arg: 1 });
sse38("psignw", 0x09, P66, ss3.psign, { arg: 2 });
sse38("psignd", 0x0a, P66, ss3.psign, { arg: 4 });
sse38("pmulhrsw", 0x0b, P66, ss3.pmulhrsw);
sse38("pabsb", 0x1c, P66, ss3.pabs, { arg: 1 });
sse38("pabsw", 0x1d, P66, ss3.pabs, { arg: 2 });
sse38("pabsd", 0x1e, P66, ss3.pabs, { arg: 4 });
sse3a("palignr", 0x0f, P66, ss3.palignr);
// SSE4.1.
sse38("pblendvb", 0x10, P66, s41.blendv, { arg: 1 });
sse38("blendvps", 0x14, P66, s41.blendv, { arg: 4 });
sse38("blendvpd", 0x15, P66, s41.blendv, { arg: 8 });
sse38("ptest", 0x17, P66, s41.ptest);
const PMOVX: [string, number, number][] = [
  ["bw", 0x20, 0x21],
  ["bd", 0x21, 0x41],
  ["bq", 0x22, 0x81],
  ["wd", 0x23, 0x42],
  ["wq", 0x24, 0x82],
  ["dq", 0x25, 0x84],
];
for (const [sfx, opc, arg] of PMOVX) {
  sse38("pmovsx" + sfx, opc, P66, s41.pmovx, { arg: arg | 0x100 });
  sse38("pmovzx" + sfx, opc + 0x10, P66, s41.pmovx, { arg });
}
sse38("pmuldq", 0x28, P66, s41.pmisc41, { arg: s41.P41_MULDQ });
sse38("pcmpeqq", 0x29, P66, s41.pmisc41, { arg: s41.P41_CMPEQQ });
sse38("movntdqa", 0x2a, P66, sm.movXE, { arg: 1, memOnly: true });
sse38("packusdw", 0x2b, P66, s41.pmisc41, { arg: s41.P41_PACKUSDW });
sse38("pminsb", 0x38, P66, s41.pminmax, { arg: 1 | s41.MM_SIGNED });
sse38("pminsd", 0x39, P66, s41.pminmax, { arg: 4 | s41.MM_SIGNED });
sse38("pminuw", 0x3a, P66, s41.pminmax, { arg: 2 });
sse38("pminud", 0x3b, P66, s41.pminmax, { arg: 4 });
sse38("pmaxsb", 0x3c, P66, s41.pminmax, { arg: 1 | s41.MM_SIGNED | s41.MM_MAX });
sse38("pmaxsd", 0x3d, P66, s41.pminmax, { arg: 4 | s41.MM_SIGNED | s41.MM_MAX });
sse38("pmaxuw", 0x3e, P66, s41.pminmax, { arg: 2 | s41.MM_MAX });
sse38("pmaxud", 0x3f, P66, s41.pminmax, { arg: 4 | s41.MM_MAX });
sse38("pmulld", 0x40, P66, s41.pmisc41, { arg: s41.P41_MULLD });
sse38("phminposuw", 0x41, P66, s41.phminposuw);
sse3a("roundps", 0x08, P66, s41.round, { arg: 0 });
sse3a("roundpd", 0x09, P66, s41.round, { arg: s41.RND_DOUBLE });
sse3a("roundss", 0x0a, P66, s41.round, { arg: s41.RND_SCALAR });
sse3a("roundsd", 0x0b, P66, s41.round, { arg: s41.RND_SCALAR | s41.RND_DOUBLE });
sse3a("blendps", 0x0c, P66, s41.blendImm, { arg: 4 });
sse3a("blendpd", 0x0d, P66, s41.blendImm, { arg: 8 });
sse3a("pblendw", 0x0e, P66, s41.blendImm, { arg: 2 });
sse3a("pextrb", 0x14, P66, s41.pextr, { arg: 1 });
sse3a("pextrw", 0x15, P66, s41.pextr, { arg: 2 });
sse3a("pextrd", 0x16, P66, s41.pextr, { arg: 4 });
sse3a("extractps", 0x17, P66, s41.extractps);
sse3a("pinsrb", 0x20, P66, s41.pinsr, { arg: 1 });
sse3a("insertps", 0x21, P66, s41.insertps);
sse3a("pinsrd", 0x22, P66, s41.pinsr, { arg: 4 });
sse3a("dpps", 0x40, P66, s41.dp, { arg: 0 });
sse3a("dppd", 0x41, P66, s41.dp, { arg: 1 });
sse3a("mpsadbw", 0x42, P66, s41.mpsadbw);
// SSE4.2 and POPCNT.
sse38("pcmpgtq", 0x37, P66, s41.pmisc41, { arg: s41.P41_CMPGTQ });
sse3a("pcmpestrm", 0x60, P66, s42.pcmpstr, { arg: s42.STR_EXPLICIT | s42.STR_MASK });
sse3a("pcmpestri", 0x61, P66, s42.pcmpstr, { arg: s42.STR_EXPLICIT });
sse3a("pcmpistrm", 0x62, P66, s42.pcmpstr, { arg: s42.STR_MASK });
sse3a("pcmpistri", 0x63, P66, s42.pcmpstr, { arg: 0 });
sse38("crc32", 0xf0, PF2, s42.crc32, { arg: 1, byteRm: true });
sse38("crc32", 0xf1, PF2, s42.crc32, { arg: 0, size: SZ_V });
def("popcnt", 1, 0xb8, bit.popcnt, { modrm: true, prefix: PF3 });

def("fxsave", 1, 0xae, sm.fxsave, { ext: 0, memOnly: true });
def("fxrstor", 1, 0xae, sm.fxrstor, { ext: 1, memOnly: true });
def("ldmxcsr", 1, 0xae, sm.ldmxcsr, { ext: 2, memOnly: true });
def("stmxcsr", 1, 0xae, sm.stmxcsr, { ext: 3, memOnly: true });

// x87 (d8-df, 9b): x87_table.ts lists the encodings.
for (const f of X87_FORMS) {
  def(f.mnemonic, 0, f.opcode, f.h, {
    ext: f.ext,
    rmExt: f.rm < 0 ? -1 : f.rm,
    arg: f.arg,
    memOnly: f.rm === -1,
    regOnly: f.rm === -2,
  });
}
def("fwait", 0, 0x9b, fwait);
// MMX (0f, 0f 38, 0f 3a without a prefix; MOVQ2DQ/MOVDQ2Q): mmx_table.ts lists the encodings.
for (const f of MMX_FORMS) {
  const o: Opts = { arg: f.arg, regOnly: f.regOnly, memOnly: f.memOnly, imm: f.imm ? IMM_UB : IMM_NONE };
  if (f.ext >= 0) o.ext = f.ext;
  if (f.opcode === 0x77) def(f.mnemonic, 1, f.opcode, f.h);
  else if (f.map === 2) sse38(f.mnemonic, f.opcode, f.prefix, f.h, o);
  else if (f.map === 3) sse3a(f.mnemonic, f.opcode, f.prefix, f.h, o);
  else sse(f.mnemonic, f.opcode, f.prefix, f.h, o);
}

/** The entry a decoded instruction came from. */
export function specOf(insn: Insn): OpSpec {
  return opSpecs[insn.entry];
}

export { SZ_D as SZ_DWORD };

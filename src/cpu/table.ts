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

/** One instruction encoding. */
export interface OpSpec {
  /** Position in {@linkcode opSpecs}. */
  index: number;
  /** Mnemonic, lower case (as GNU objdump prints it, without size suffix). */
  mnemonic: string;
  /** Opcode map: 0 one-byte, 1 two-byte (0f). */
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
  /** LOCK is legal (memory destination read-modify-write). */
  lockable: boolean;
  /** Group entries by ModRM.reg (for a group's head entry). */
  group?: (OpSpec | undefined)[];
  /** Register-form entries by reg*8+rm (for a group's head entry). */
  group3?: (OpSpec | undefined)[];
}

/** Handler of every undefined encoding: #UD. */
export const udHandler: Handler = (cpu: Cpu, _i: Insn) => cpu.ud();

type Opts = Partial<Omit<OpSpec, "index" | "mnemonic" | "map" | "opcode" | "h" | "group" | "group3">>;

/** Every encoding, in definition order. */
export const opSpecs: OpSpec[] = [];
/** Dispatch: map * 256 + opcode -> entry (group heads hold their members). */
export const opTable: (OpSpec | undefined)[] = new Array(512).fill(undefined);

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
    lockable: o.lockable ?? false,
  };
  const key = map * 256 + opcode;
  const head = opTable[key];
  if (spec.ext < 0) {
    if (head !== undefined) {
      throw new Error(`duplicate instruction table entry ${hex(map, opcode)} (${mnemonic})`);
    }
    opTable[key] = spec;
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
      opTable[key] = g;
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
  opSpecs.push(spec);
}

function hex(map: number, opcode: number): string {
  return (map === 1 ? "0f " : "") + opcode.toString(16).padStart(2, "0");
}

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
def("jmp", 0, 0xff, ctl.jmpE, { ext: 4, size: SZ_F64, ends: true });
def("push", 0, 0xff, stk.pushE, { ext: 6, size: SZ_D64 });

// Two-byte map.
def("sldt", 1, 0x00, sys.segmentTable, { ext: 0, arg: 0 });
def("str", 1, 0x00, sys.segmentTable, { ext: 1, arg: 1 });
def("lldt", 1, 0x00, sys.segmentTable, { ext: 2, arg: 2, ends: true });
def("ltr", 1, 0x00, sys.segmentTable, { ext: 3, arg: 3, ends: true });
def("sgdt", 1, 0x01, sys.descriptorTable, { ext: 0, arg: 0, memOnly: true });
def("sidt", 1, 0x01, sys.descriptorTable, { ext: 1, arg: 1, memOnly: true });
def("lgdt", 1, 0x01, sys.descriptorTable, { ext: 2, arg: 2, memOnly: true, ends: true });
def("lidt", 1, 0x01, sys.descriptorTable, { ext: 3, arg: 3, memOnly: true, ends: true });
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
def("prefetchw", 1, 0x0d, ctl.nop, { modrm: true, memOnly: true });
for (let opc = 0x18; opc <= 0x1f; opc++) def("nop", 1, opc, ctl.nop, { modrm: true });
def("mov", 1, 0x20, sys.movFromCr, { modrm: true, size: SZ_F64, regOnly: true });
def("mov", 1, 0x22, sys.movToCr, { modrm: true, size: SZ_F64, ends: true, regOnly: true });
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
def("rdrand", 1, 0xc7, sys.rdrand, { ext: 6, regOnly: true, arg: 6 });
def("rdseed", 1, 0xc7, sys.rdrand, { ext: 7, regOnly: true, arg: 7 });

/** The entry a decoded instruction came from. */
export function specOf(insn: Insn): OpSpec {
  return opSpecs[insn.entry];
}

export { SZ_D as SZ_DWORD };

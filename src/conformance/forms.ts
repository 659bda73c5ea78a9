/**
 * The instruction forms the conformance generator instantiates: every general-purpose instruction the
 * interpreter implements, in every operand size, written as AT&T templates for GNU `as`.
 *
 * Placeholders in a template (each occurrence gets its own random choice):
 * - `<r8l>` AL..BL and AH..BH (no REX), `<r8x>` AL..BL, SPL..DIL, R8B..R15B (REX forms),
 *   `<r16>` `<r32>` `<r64>` any register of that size;
 * - `<m8>` `<m16>` `<m32>` `<m64>` a memory operand in the scratch area with a random addressing
 *   mode (base, base+disp8/disp32, base+index*scale(+disp), index*scale+disp32, absolute disp32);
 *   `<m>` the same for LEA/NOP (no access); `<a32m32>` etc. with the 0x67 address-size prefix;
 *   `<moff8>`..`<moff64>` a 64-bit absolute address (MOVABS moffs);
 * - `<i8>` `<i16>` `<i32>` `<i64>` signed immediates (i16/i32 chosen outside the imm8 range so the
 *   long encodings are used), `<u8>` `<u16>` unsigned immediates;
 * - `<rel8>` `<rel32>` a branch target near the instruction (`.+T`), always an INT3 of the code region.
 * @module
 */

/**
 * How the generator sets up a form's implicit operands and which flags the SDM leaves undefined.
 * - `arith` ADD ADC SUB SBB CMP NEG INC DEC XADD: all flags defined.
 * - `logic` AND OR XOR TEST: AF undefined.
 * - `none` no flags written or all defined (MOV, LEA, SETcc, CMOVcc, XCHG, BSWAP, CBW.., LAHF, SAHF, flag ops, NOP).
 * - `shift` SHL SHR SAR, `rotate` ROL ROR, `rotc` RCL RCR, `shiftd` SHLD SHRD: rules by count.
 * - `mul` MUL IMUL: SF ZF AF PF undefined. `div` DIV IDIV: all status flags undefined.
 * - `bitscan` BSF BSR: all but ZF undefined, destination undefined for a zero source.
 * - `bittest` BT BTS BTR BTC: OF SF AF PF undefined.
 * - `sse` SSE/SSE2 forms (sse_forms.ts): flags all defined; XMM0-15 and MXCSR set and compared.
 * - `cmpxchg8b` CMPXCHG8B/16B: EDX:EAX (RDX:RAX) often equal to the memory operand; only ZF written.
 * - `xlat` XLAT: RBX at the scratch area, so [RBX + AL] is in it.
 * - `x87` x87 forms (x87_forms.ts): flags all defined; the x87 state set and compared.
 * - `cmpxchg`, `string`, `push`, `pop`, `pushf`, `popf`, `leave`, `branch` (Jcc/JMP/CALL rel), `ijmp`
 *   (JMP/CALL through a register or memory), `ret`, `trap` (UD2, INT3).
 */
export type Family =
  | "arith"
  | "logic"
  | "none"
  | "shift"
  | "rotate"
  | "rotc"
  | "shiftd"
  | "mul"
  | "div"
  | "bitscan"
  | "bittest"
  | "cmpxchg"
  | "cmpxchg8b"
  | "xlat"
  | "string"
  | "push"
  | "pop"
  | "pushf"
  | "popf"
  | "leave"
  | "branch"
  | "ijmp"
  | "ret"
  | "trap"
  | "sse"
  | "x87";

import { buildSseForms, type Lanes } from "./sse_forms.ts";
import { buildX87Forms } from "./x87_forms.ts";
import { buildSse4Forms } from "./sse4_forms.ts";
import { buildMmxForms } from "./mmx_forms.ts";

/** One instruction form: an AT&T template and what the generator needs to know about it. */
export interface InstructionForm {
  /** Unique id: the template. */
  id: string;
  /** Base mnemonic for filtering (`add`, `shl`, `movzx`, `jcc`, `setcc`, ...). */
  mnemonic: string;
  /** AT&T text with placeholders (see the module doc). */
  template: string;
  /** Setup and undefined-flags rules. */
  family: Family;
  /** Operand size in bits, for the flags rules (the destination's size). */
  size: 8 | 16 | 32 | 64;
  /** SSE forms: what the XMM lanes mostly hold (biases the generated values). */
  lanes?: Lanes;
}

/** The 16 condition codes in encoding order (SDM Vol. 1, App. B). */
export const CONDITIONS = [
  "o",
  "no",
  "b",
  "ae",
  "e",
  "ne",
  "be",
  "a",
  "s",
  "ns",
  "p",
  "np",
  "l",
  "ge",
  "le",
  "g",
];

const SIZES = [
  { bits: 8, s: "b", r: ["<r8l>", "<r8x>"], m: "<m8>", i: ["<i8>"] },
  { bits: 16, s: "w", r: ["<r16>"], m: "<m16>", i: ["<i8>", "<i16>"] },
  { bits: 32, s: "l", r: ["<r32>"], m: "<m32>", i: ["<i8>", "<i32>"] },
  { bits: 64, s: "q", r: ["<r64>"], m: "<m64>", i: ["<i8>", "<i32>"] },
] as const;
type SizeInfo = typeof SIZES[number];
const ACC: Record<number, string> = { 8: "%al", 16: "%ax", 32: "%eax", 64: "%rax" };
const WIDE = SIZES.slice(1);

/** Builds the form list; throws a `RangeError` on a duplicate template. */
export function buildForms(): InstructionForm[] {
  const forms: InstructionForm[] = [];
  const seen = new Set<string>();
  const add = (mnemonic: string, family: Family, size: number, ...templates: string[]) => {
    for (const template of templates) {
      if (seen.has(template)) throw new RangeError(`Duplicate conformance form "${template}"`);
      seen.add(template);
      forms.push({ id: template, mnemonic, template, family, size: size as InstructionForm["size"] });
    }
  };
  const eachSize = (sizes: readonly SizeInfo[], f: (z: SizeInfo) => void) => sizes.forEach(f);

  // ALU: reg/reg, reg/mem both ways, immediates (imm8 and the long form), LOCK on memory.
  for (const op of ["add", "adc", "sub", "sbb", "cmp", "and", "or", "xor"]) {
    const fam: Family = ["and", "or", "xor"].includes(op) ? "logic" : "arith";
    eachSize(SIZES, (z) => {
      for (const r of z.r) add(op, fam, z.bits, `${op}${z.s} ${r}, ${r}`, `${op}${z.s} ${z.m}, ${r}`);
      add(op, fam, z.bits, `${op}${z.s} ${z.r[0]}, ${z.m}`);
      for (const i of z.i) {
        add(op, fam, z.bits, `${op}${z.s} ${i}, ${z.r[z.r.length - 1]}`, `${op}${z.s} ${i}, ${z.m}`);
      }
      if (z.bits === 8) add(op, fam, 8, `${op}b <i8>, %al`);
      if (op !== "cmp") add(op, fam, z.bits, `lock ${op}${z.s} ${z.r[z.r.length - 1]}, ${z.m}`);
      // The reg, r/m direction (02/03 ...) for register operands, and the accumulator short forms.
      add(op, fam, z.bits, `{load} ${op}${z.s} ${z.r[z.r.length - 1]}, ${z.r[z.r.length - 1]}`);
      if (z.bits > 8) add(op, fam, z.bits, `${op}${z.s} ${z.i[1]}, ${ACC[z.bits]}`);
    });
  }
  eachSize(SIZES, (z) => {
    for (const r of z.r) add("test", "logic", z.bits, `test${z.s} ${r}, ${r}`);
    add("test", "logic", z.bits, `test${z.s} ${z.r[0]}, ${z.m}`, `test${z.s} ${z.i[z.i.length - 1]}, ${z.m}`);
    add("test", "logic", z.bits, `test${z.s} ${z.i[z.i.length - 1]}, ${z.r[z.r.length - 1]}`);
    add("test", "logic", z.bits, `test${z.s} ${z.i[z.i.length - 1]}, ${ACC[z.bits]}`);
  });
  for (const op of ["inc", "dec", "neg", "not"]) {
    const fam: Family = op === "not" ? "none" : "arith";
    eachSize(SIZES, (z) => {
      for (const r of z.r) add(op, fam, z.bits, `${op}${z.s} ${r}`);
      add(op, fam, z.bits, `${op}${z.s} ${z.m}`, `lock ${op}${z.s} ${z.m}`);
    });
  }

  // Shifts and rotates: by 1, by CL, by imm8; register and memory.
  for (const op of ["shl", "shr", "sar", "sal", "rol", "ror", "rcl", "rcr"]) {
    const fam: Family = ["rol", "ror"].includes(op)
      ? "rotate"
      : ["rcl", "rcr"].includes(op)
      ? "rotc"
      : "shift";
    eachSize(SIZES, (z) => {
      const r = z.r[z.r.length - 1];
      for (const dst of op === "sal" ? [r] : [...z.r, z.m]) {
        add(op, fam, z.bits, `${op}${z.s} ${dst}`, `${op}${z.s} %cl, ${dst}`, `${op}${z.s} <u8>, ${dst}`);
      }
    });
  }
  for (const op of ["shld", "shrd"]) {
    eachSize(WIDE, (z) => {
      const r = z.r[0];
      add(op, "shiftd", z.bits, `${op}${z.s} <u8>, ${r}, ${r}`, `${op}${z.s} %cl, ${r}, ${r}`);
      add(op, "shiftd", z.bits, `${op}${z.s} <u8>, ${r}, ${z.m}`, `${op}${z.s} %cl, ${r}, ${z.m}`);
    });
  }

  // Multiply and divide.
  for (const op of ["mul", "imul", "div", "idiv"]) {
    const fam: Family = op.endsWith("div") ? "div" : "mul";
    eachSize(SIZES, (z) => {
      for (const r of z.r) add(op, fam, z.bits, `${op}${z.s} ${r}`);
      add(op, fam, z.bits, `${op}${z.s} ${z.m}`);
    });
  }
  eachSize(WIDE, (z) => {
    const r = z.r[0];
    add("imul", "mul", z.bits, `imul${z.s} ${r}, ${r}`, `imul${z.s} ${z.m}, ${r}`);
    for (const i of z.i) {
      add("imul", "mul", z.bits, `imul${z.s} ${i}, ${r}, ${r}`, `imul${z.s} ${i}, ${z.m}, ${r}`);
    }
  });

  // Moves.
  eachSize(SIZES, (z) => {
    for (const r of z.r) {
      add("mov", "none", z.bits, `mov${z.s} ${r}, ${r}`, `mov${z.s} ${z.m}, ${r}`, `mov${z.s} ${r}, ${z.m}`);
    }
    const imm = z.bits === 64 ? "<i32>" : z.i[z.i.length - 1];
    add("mov", "none", z.bits, `mov${z.s} ${imm}, ${z.r[z.r.length - 1]}`, `mov${z.s} ${imm}, ${z.m}`);
    add("mov", "none", z.bits, `{load} mov${z.s} ${z.r[z.r.length - 1]}, ${z.r[z.r.length - 1]}`);
  });
  add("mov", "none", 64, "movq <i8>, <r64>");
  add("movabs", "none", 64, "movabsq <i64>, <r64>");
  for (const [acc, bits] of [["%al", 8], ["%ax", 16], ["%eax", 32], ["%rax", 64]] as const) {
    add("movabs", "none", bits, `movabs <moff${bits}>, ${acc}`, `movabs ${acc}, <moff${bits}>`);
  }
  for (
    const [m, src, dst, dbits] of [
      ["movzbw", ["<r8l>", "<r8x>", "<m8>"], "<r16>", 16],
      ["movzbl", ["<r8l>", "<r8x>", "<m8>"], "<r32>", 32],
      ["movzbq", ["<r8x>", "<m8>"], "<r64>", 64],
      ["movzwl", ["<r16>", "<m16>"], "<r32>", 32],
      ["movzwq", ["<r16>", "<m16>"], "<r64>", 64],
      ["movsbw", ["<r8l>", "<r8x>", "<m8>"], "<r16>", 16],
      ["movsbl", ["<r8l>", "<r8x>", "<m8>"], "<r32>", 32],
      ["movsbq", ["<r8x>", "<m8>"], "<r64>", 64],
      ["movswl", ["<r16>", "<m16>"], "<r32>", 32],
      ["movswq", ["<r16>", "<m16>"], "<r64>", 64],
      ["movslq", ["<r32>", "<m32>"], "<r64>", 64],
    ] as const
  ) {
    const mn = m === "movslq" ? "movsxd" : m.startsWith("movz") ? "movzx" : "movsx";
    for (const s of src) add(mn, "none", dbits, `${m} ${s}, ${dst}`);
  }
  for (const [s, r] of [["w", "<r16>"], ["l", "<r32>"], ["q", "<r64>"]]) {
    add("lea", "none", 64, `lea${s} <m>, ${r}`);
  }
  add("lea", "none", 32, "leal <a32m>, <r32>");
  eachSize(SIZES, (z) => {
    add("mov", "none", z.bits, `mov${z.s} <a32${z.m.slice(1)}, ${z.r[z.r.length - 1]}`);
  });
  for (const seg of ["%cs", "%ds", "%es", "%ss"]) add("mov", "none", 32, `movl ${seg}:<m32>, <r32>`);

  // Exchange and atomics.
  eachSize(SIZES, (z) => {
    for (const r of z.r) add("xchg", "none", z.bits, `xchg${z.s} ${r}, ${r}`);
    if (z.bits > 8) add("xchg", "none", z.bits, `xchg${z.s} ${z.r[0]}, ${ACC[z.bits]}`);
    add("xchg", "none", z.bits, `xchg${z.s} ${z.r[0]}, ${z.m}`);
    for (const op of ["xadd", "cmpxchg"]) {
      const fam: Family = op === "xadd" ? "arith" : "cmpxchg";
      for (const r of z.r) add(op, fam, z.bits, `${op}${z.s} ${r}, ${r}`);
      add(op, fam, z.bits, `${op}${z.s} ${z.r[0]}, ${z.m}`, `lock ${op}${z.s} ${z.r[0]}, ${z.m}`);
    }
  });
  add("bswap", "none", 32, "bswap <r32>");
  add("bswap", "none", 64, "bswap <r64>");
  add("cmpxchg8b", "cmpxchg8b", 64, "cmpxchg8b <m64>", "lock cmpxchg8b <m64>");
  add("cmpxchg16b", "cmpxchg8b", 64, "cmpxchg16b <m128>", "lock cmpxchg16b <m128>");
  add("xlat", "xlat", 8, "xlat");

  // Bit test and scan.
  for (const op of ["bt", "bts", "btr", "btc"]) {
    eachSize(WIDE, (z) => {
      const r = z.r[0];
      add(op, "bittest", z.bits, `${op}${z.s} ${r}, ${r}`, `${op}${z.s} <u8>, ${r}`);
      add(op, "bittest", z.bits, `${op}${z.s} <u8>, ${z.m}`, `${op}${z.s} ${r}, ${z.m}`);
      if (op !== "bt") add(op, "bittest", z.bits, `lock ${op}${z.s} ${r}, ${z.m}`);
    });
  }
  eachSize(
    WIDE,
    (z) =>
      add("popcnt", "none", z.bits, `popcnt${z.s} ${z.r[0]}, ${z.r[0]}`, `popcnt${z.s} ${z.m}, ${z.r[0]}`),
  );
  add("crc32", "none", 32, "crc32b <r8l>, <r32>", "crc32b <r8x>, <r32>", "crc32b <m8>, <r32>");
  add("crc32", "none", 64, "crc32b <r8x>, <r64>", "crc32b <m8>, <r64>");
  for (const z of WIDE) {
    const dst = z.bits === 64 ? "<r64>" : "<r32>";
    add(
      "crc32",
      "none",
      z.bits === 64 ? 64 : 32,
      `crc32${z.s} ${z.r[0]}, ${dst}`,
      `crc32${z.s} ${z.m}, ${dst}`,
    );
  }
  for (const op of ["bsf", "bsr"]) {
    eachSize(
      WIDE,
      (z) => add(op, "bitscan", z.bits, `${op}${z.s} ${z.r[0]}, ${z.r[0]}`, `${op}${z.s} ${z.m}, ${z.r[0]}`),
    );
  }

  // Conditions.
  for (const cc of CONDITIONS) {
    add("setcc", "none", 8, `set${cc} <r8l>`, `set${cc} <r8x>`, `set${cc} <m8>`);
    eachSize(
      WIDE,
      (z) =>
        add(
          "cmovcc",
          "none",
          z.bits,
          `cmov${cc}${z.s} ${z.r[0]}, ${z.r[0]}`,
          `cmov${cc}${z.s} ${z.m}, ${z.r[0]}`,
        ),
    );
    add("jcc", "branch", 64, `{disp8} j${cc} <rel8>`, `{disp32} j${cc} <rel32>`);
  }

  // Control transfer.
  add("jmp", "branch", 64, "{disp8} jmp <rel8>", "{disp32} jmp <rel32>");
  add("call", "branch", 64, "call <rel32>");
  add("jmp", "ijmp", 64, "jmp *<r64>", "jmp *<m64>");
  add("call", "ijmp", 64, "call *<r64>", "call *<m64>");
  add("ret", "ret", 64, "ret", "ret <u16>", "rep ret");
  add("loop", "branch", 64, "loop <rel8>", "loope <rel8>", "loopne <rel8>", "jrcxz <rel8>", "jecxz <rel8>");

  // Stack.
  add("push", "push", 64, "pushq <r64>", "pushq <m64>", "pushq <i8>", "pushq <i32>");
  add("push", "push", 16, "pushw <r16>", "pushw <m16>", "pushw <i16>");
  add("pop", "pop", 64, "popq <r64>", "popq <m64>", "popq %rsp");
  add("push", "push", 64, "pushq %rsp");
  add("pop", "pop", 16, "popw <r16>", "popw <m16>");
  add("leave", "leave", 64, "leaveq");
  // Frame sizes stay below 256 so the new RSP stays in the scratch page: the host CPU probes the new
  // stack top (a #PF when it is unmapped) while Unicorn does not.
  add("enter", "leave", 64, "enterq <u8>, $0", "enterq <u8>, $1", "enterq $24, $3", "enterq $0, $0");
  add("pushf", "pushf", 64, "pushfq");
  add("pushf", "pushf", 16, "pushfw");
  add("popf", "popf", 64, "popfq");
  add("popf", "popf", 16, "popfw");

  // Sign extension of the accumulator.
  for (
    const [m, bits] of [["cbtw", 16], ["cwtl", 32], ["cltq", 64], ["cwtd", 16], ["cltd", 32], [
      "cqto",
      64,
    ]] as const
  ) {
    add(m, "none", bits, m);
  }

  // String instructions, plain and with REP/REPE/REPNE, and one with the 0x67 prefix.
  for (const op of ["movs", "stos", "lods", "cmps", "scas"]) {
    const reps = op === "cmps" || op === "scas" ? ["", "repe ", "repne "] : ["", "rep "];
    eachSize(SIZES, (z) => {
      for (const rep of reps) add(op, "string", z.bits, `${rep}${op}${z.s}`);
    });
  }
  add("movs", "string", 8, "addr32 rep movsb");
  add("stos", "string", 32, "addr32 rep stosl");

  // Fences, cache hints, CET marker: no architectural effect on registers or memory.
  add("fence", "none", 64, "lfence", "mfence", "sfence");
  add("clflush", "none", 64, "clflush <m8>");
  add(
    "prefetch",
    "none",
    64,
    "prefetchnta <m8>",
    "prefetcht0 <m8>",
    "prefetcht1 <m8>",
    "prefetcht2 <m8>",
    "prefetchw <m8>",
  );
  add("endbr64", "none", 64, "endbr64");

  // Flags and no-ops.
  for (const m of ["clc", "stc", "cmc", "cld", "std", "lahf", "sahf"]) add(m, "none", 64, m);
  add(
    "nop",
    "none",
    64,
    "nop",
    "xchg %ax, %ax",
    "nopw <m>",
    "nopl <m>",
    "nopw %cs:<m>",
    "rex.W nop",
    "pause",
  );

  // Opcodes with the register in their low three bits (B0+r, B8+r, 50+r, 58+r, 90+r, 0F C8+r): one
  // form per register number, with and without REX.B, so every table entry is reached.
  const low = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
  const b8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
  for (let r = 0; r < 8; r++) {
    const x = `r${r + 8}`;
    add("mov", "none", 8, `movb <i8>, %${b8[r]}`, `movb <i8>, %${x}b`);
    add("movabs", "none", 64, `movabsq <i64>, %r${low[r]}`, `movabsq <i64>, %${x}`);
    add("push", "push", 64, `pushq %${x}`, `pushw %${low[r]}`);
    if (r !== 4) add("push", "push", 64, `pushq %r${low[r]}`);
    if (r !== 4) add("pop", "pop", 64, `popq %r${low[r]}`, `popq %${x}`);
    add("bswap", "none", 64, `bswap %e${low[r]}`, `bswap %${x}`);
    if (r !== 0) add("xchg", "none", 32, `xchgl %e${low[r]}, %eax`, `xchgq %${x}, %rax`);
  }

  // Traps.
  add("ud2", "trap", 64, "ud2");
  add("ud1", "trap", 32, "ud1 <r32>, <r32>", "ud1 <m32>, <r32>");
  add("ud0", "trap", 32, "ud0 <r32>, <r32>");
  add("int3", "trap", 64, "int3");
  for (const f of [...buildSseForms(), ...buildSse4Forms(), ...buildX87Forms(), ...buildMmxForms()]) {
    if (seen.has(f.template)) throw new RangeError(`Duplicate conformance form "${f.template}"`);
    seen.add(f.template);
    forms.push(f);
  }
  return forms;
}

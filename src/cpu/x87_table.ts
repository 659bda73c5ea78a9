/**
 * The x87 escape opcodes d8-df as instruction-table entries (SDM Vol. 2 App. A.4, Tables A-7 to
 * memory forms by ModRM.reg, register forms by ModRM.reg and r/m. table.ts defines them;
 * encodings not listed raise #UD.
 *
 * @module
 */

import type { Handler } from "./insn.ts";
import * as x from "./ops/x87.ts";
import * as xt from "./ops/x87_trans.ts";

/** One x87 encoding. */
export interface X87Form {
  /** Mnemonic (Intel). */
  mnemonic: string;
  /** Escape opcode, 0xd8-0xdf. */
  opcode: number;
  /** ModRM.reg. */
  ext: number;
  /** ModRM.rm of a single register form; -1 for a memory form, -2 for all eight ST(i) forms, -3 for both. */
  rm: number;
  /** Handler. */
  h: Handler;
  /** Handler argument. */
  arg: number;
}

const forms: X87Form[] = [];
const mem = (mnemonic: string, opcode: number, ext: number, h: Handler, arg = 0) =>
  forms.push({ mnemonic, opcode, ext, rm: -1, h, arg });
/**
 * All eight ST(i) forms of one ModRM.reg: one entry. When the same ModRM.reg also has a memory form,
 * the two share one entry whose handler picks by the operand (the register form's argument is set
 * on the decoded instruction when it first runs; it never changes for that instruction).
 */
const regs = (mnemonic: string, opcode: number, ext: number, h: Handler, arg = 0) => {
  const m = forms.findIndex((f) => f.opcode === opcode && f.ext === ext && f.rm === -1);
  if (m < 0) {
    forms.push({ mnemonic, opcode, ext, rm: -2, h, arg });
    return;
  }
  const memForm = forms[m];
  const memH = memForm.h;
  const both: Handler = (cpu, i) => {
    if (i.mem) memH(cpu, i);
    else {
      i.op = arg;
      h(cpu, i);
    }
  };
  forms[m] = { mnemonic: memForm.mnemonic, opcode, ext, rm: -3, h: both, arg: memForm.arg };
};
const one = (mnemonic: string, opcode: number, ext: number, rm: number, h: Handler, arg = 0) =>
  forms.push({ mnemonic, opcode, ext, rm, h, arg });

// Memory-operand kinds of x87.ts: 0 m32fp, 1 m64fp, 2 m32int, 3 m16int.
const ARITH = ["fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"];
const SOURCES: [number, number, string][] = [[0xd8, 0, ""], [0xdc, 1, ""], [0xda, 2, "i"], [0xde, 3, "i"]];
for (const [opcode, kind, pre] of SOURCES) {
  for (let r = 0; r < 8; r++) {
    const name = pre === "" ? ARITH[r] : "fi" + ARITH[r].slice(1);
    if (r === 2 || r === 3) mem(name, opcode, r, x.fcom, (r - 2) | 16 | (kind << 5));
    else mem(name, opcode, r, x.arithMem, r | (kind << 4));
  }
}
for (let r = 0; r < 8; r++) {
  if (r === 2 || r === 3) {
    regs(ARITH[r], 0xd8, r, x.fcom, r - 2);
    continue;
  }
  regs(ARITH[r], 0xd8, r, x.arithReg, r);
  // dc: the destination is ST(i); de: the same and pop (SDM's FSUBR ST(i), ST(0) is reg /4 there).
  const dcName = ["fadd", "fmul", "", "", "fsubr", "fsub", "fdivr", "fdiv"][r];
  regs(dcName, 0xdc, r, x.arithReg, r | 8);
  regs(dcName + "p", 0xde, r, x.arithReg, r | 8 | 16);
}
one("fcompp", 0xde, 3, 1, x.fcom, 2);

// d9.
mem("fld", 0xd9, 0, x.fldMem, 4);
mem("fst", 0xd9, 2, x.fstMem, 4);
mem("fstp", 0xd9, 3, x.fstMem, 4 | 16);
mem("fldenv", 0xd9, 4, x.fldenv);
mem("fldcw", 0xd9, 5, x.fldcw);
mem("fnstenv", 0xd9, 6, x.fnstenv);
mem("fnstcw", 0xd9, 7, x.fnstcw);
regs("fld", 0xd9, 0, x.fldReg);
regs("fxch", 0xd9, 1, x.fxch);
one("fnop", 0xd9, 2, 0, x.fnop);
one("fchs", 0xd9, 4, 0, x.fsign, 0);
one("fabs", 0xd9, 4, 1, x.fsign, 1);
one("ftst", 0xd9, 4, 4, x.fcom, 128);
one("fxam", 0xd9, 4, 5, x.fxam);
one("fld1", 0xd9, 5, 0, x.fldConst, 0);
one("fldl2t", 0xd9, 5, 1, x.fldConst, 1);
one("fldl2e", 0xd9, 5, 2, x.fldConst, 2);
one("fldpi", 0xd9, 5, 3, x.fldConst, 3);
one("fldlg2", 0xd9, 5, 4, x.fldConst, 4);
one("fldln2", 0xd9, 5, 5, x.fldConst, 5);
one("fldz", 0xd9, 5, 6, x.fldConst, 6);
one("f2xm1", 0xd9, 6, 0, xt.f2xm1);
one("fyl2x", 0xd9, 6, 1, xt.fyl2x, 0);
one("fptan", 0xd9, 6, 2, xt.fptan);
one("fpatan", 0xd9, 6, 3, xt.fpatan);
one("fxtract", 0xd9, 6, 4, x.fxtract);
one("fprem1", 0xd9, 6, 5, x.fprem, 1);
one("fdecstp", 0xd9, 6, 6, x.fstp, 0);
one("fincstp", 0xd9, 6, 7, x.fstp, 1);
one("fprem", 0xd9, 7, 0, x.fprem, 0);
one("fyl2xp1", 0xd9, 7, 1, xt.fyl2x, 1);
one("fsqrt", 0xd9, 7, 2, x.fsqrt);
one("fsincos", 0xd9, 7, 3, xt.fsincos);
one("frndint", 0xd9, 7, 4, x.frndint);
one("fscale", 0xd9, 7, 5, x.fscale);
one("fsin", 0xd9, 7, 6, xt.fsincosOne, 0);
one("fcos", 0xd9, 7, 7, xt.fsincosOne, 1);

// da, db: FCMOVcc (condition 0 B, 1 E, 2 BE, 3 U; 4 negated), FUCOMPP, FNCLEX, FNINIT, F(U)COMI.
const FCMOV = ["fcmovb", "fcmove", "fcmovbe", "fcmovu"];
mem("fild", 0xdb, 0, x.fild, 4);
mem("fisttp", 0xdb, 1, x.fist, 4 | 16 | 32);
mem("fist", 0xdb, 2, x.fist, 4);
mem("fistp", 0xdb, 3, x.fist, 4 | 16);
for (let c = 0; c < 4; c++) {
  regs(FCMOV[c], 0xda, c, x.fcmov, c);
  regs(FCMOV[c].replace("fcmov", "fcmovn"), 0xdb, c, x.fcmov, c | 4);
}
one("fucompp", 0xda, 5, 1, x.fcom, 2 | 4);
mem("fld", 0xdb, 5, x.fldMem, 10);
mem("fstp", 0xdb, 7, x.fstMem, 10 | 16);
one("fnclex", 0xdb, 4, 2, x.fnclex);
one("fninit", 0xdb, 4, 3, x.fninit);
regs("fucomi", 0xdb, 5, x.fcom, 4 | 8);
regs("fcomi", 0xdb, 6, x.fcom, 8);

// dd.
mem("fld", 0xdd, 0, x.fldMem, 8);
mem("fisttp", 0xdd, 1, x.fist, 8 | 16 | 32);
mem("fst", 0xdd, 2, x.fstMem, 8);
mem("fstp", 0xdd, 3, x.fstMem, 8 | 16);
mem("frstor", 0xdd, 4, x.frstor);
mem("fnsave", 0xdd, 6, x.fnsave);
mem("fnstsw", 0xdd, 7, x.fnstsw);
regs("ffree", 0xdd, 0, x.ffree);
regs("fst", 0xdd, 2, x.fstReg, 0);
regs("fstp", 0xdd, 3, x.fstReg, 16);
regs("fucom", 0xdd, 4, x.fcom, 4);
regs("fucomp", 0xdd, 5, x.fcom, 4 | 1);

// df.
mem("fild", 0xdf, 0, x.fild, 2);
mem("fisttp", 0xdf, 1, x.fist, 2 | 16 | 32);
mem("fist", 0xdf, 2, x.fist, 2);
mem("fistp", 0xdf, 3, x.fist, 2 | 16);
mem("fbld", 0xdf, 4, x.fbld);
mem("fild", 0xdf, 5, x.fild, 8);
mem("fbstp", 0xdf, 6, x.fbstp);
mem("fistp", 0xdf, 7, x.fist, 8 | 16);
one("fnstsw", 0xdf, 4, 0, x.fnstsw);
regs("fucomip", 0xdf, 5, x.fcom, 4 | 8 | 1);
regs("fcomip", 0xdf, 6, x.fcom, 8 | 1);

// Aliases that x86 processors execute in register encodings the SDM's x87 opcode maps (Vol. 2
// App. A.4) leave blank: FSTP1 (d9 d8+i), FCOM2 (dc d0+i),
// FCOMP3 (dc d8+i), FXCH4 (dd c8+i), FCOMP5 (de d0+i), FFREEP (df c0+i: FFREE, then pop), FXCH7
// (df c8+i), FSTP8 (df d0+i) and FSTP9 (df d8+i), each as the instruction it names, except that FSTP1
// (FSTPNCE to some disassemblers) pops an empty ST(0) without a stack fault. Checked against the host
// CPU (src/conformance/x87_forms.ts).
regs("fstp1", 0xd9, 3, x.fstReg, 16 | 32);
regs("fcom2", 0xdc, 2, x.fcom, 0);
regs("fcomp3", 0xdc, 3, x.fcom, 1);
regs("fxch4", 0xdd, 1, x.fxch);
regs("fcomp5", 0xde, 2, x.fcom, 1);
regs("ffreep", 0xdf, 0, x.ffree, 16);
regs("fxch7", 0xdf, 1, x.fxch);
regs("fstp8", 0xdf, 2, x.fstReg, 16);
regs("fstp9", 0xdf, 3, x.fstReg, 16);

/** Every x87 encoding of d8-df. */
export const X87_FORMS: readonly X87Form[] = forms;

/**
 * The x87 instruction forms of the conformance generator, as AT&T templates (see forms.ts for the
 * placeholders; x87 forms add `<st>` a stack register %st(i), `<m80>` a 10-byte operand, `<m224>`
 * the 28-byte environment and `<m864>` the 108-byte FNSAVE image). Every case of an x87 form also
 * sets the x87 state (FCW with precision, rounding and masks varied, FSW with TOP and sticky flags,
 * the tag word, ST0-ST7 with edge-biased extended values) and compares it (case.ts `x87`), and its
 * extended-format memory operands hold extended values.
 *
 * Not here: FXSAVE/FXRSTOR (tests/cpu/sse_test.ts, tests/cpu/x87_test.ts).
 * @module
 */

import type { InstructionForm } from "./forms.ts";

/** Builds the x87 forms. */
export function buildX87Forms(): InstructionForm[] {
  const out: InstructionForm[] = [];
  const add = (mnemonic: string, ...templates: string[]) => {
    for (const template of templates) out.push({ id: template, mnemonic, template, family: "x87", size: 64 });
  };
  for (const op of ["add", "mul", "sub", "subr", "div", "divr"]) {
    add("f" + op, `f${op}s <m32>`, `f${op}l <m64>`, `f${op} <st>, %st`, `f${op} %st, <st>`);
    add("f" + op + "p", `f${op}p %st, <st>`);
    add("fi" + op, `fi${op}s <m16>`, `fi${op}l <m32>`);
  }
  add("fcom", "fcoms <m32>", "fcoml <m64>", "fcom <st>");
  add("fcomp", "fcomps <m32>", "fcompl <m64>", "fcomp <st>");
  add("fcompp", "fcompp");
  add("ficom", "ficoms <m16>", "ficoml <m32>", "ficomps <m16>", "ficompl <m32>");
  add("fucom", "fucom <st>", "fucomp <st>", "fucompp");
  add("fcomi", "fcomi <st>, %st", "fcomip <st>, %st", "fucomi <st>, %st", "fucomip <st>, %st");
  add("ftst", "ftst");
  add("fxam", "fxam");
  for (const cc of ["b", "e", "be", "u", "nb", "ne", "nbe", "nu"]) add("fcmov", `fcmov${cc} <st>, %st`);
  add("fld", "flds <m32>", "fldl <m64>", "fldt <m80>", "fld <st>");
  add("fst", "fsts <m32>", "fstl <m64>", "fst <st>");
  add("fstp", "fstps <m32>", "fstpl <m64>", "fstpt <m80>", "fstp <st>");
  add("fild", "filds <m16>", "fildl <m32>", "fildll <m64>");
  add("fist", "fists <m16>", "fistl <m32>");
  add("fistp", "fistps <m16>", "fistpl <m32>", "fistpll <m64>");
  add("fisttp", "fisttps <m16>", "fisttpl <m32>", "fisttpll <m64>");
  add("fbld", "fbld <m80>");
  add("fbstp", "fbstp <m80>");
  for (const c of ["fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2"]) add(c, c);
  add("fxch", "fxch <st>");
  for (
    const m of [
      "fchs",
      "fabs",
      "fsqrt",
      "frndint",
      "fscale",
      "fxtract",
      "fprem",
      "fprem1",
      "fincstp",
      "fdecstp",
    ]
  ) add(m, m);
  for (const m of ["fsin", "fcos", "fsincos", "fptan", "fpatan", "f2xm1", "fyl2x", "fyl2xp1"]) add(m, m);
  add("ffree", "ffree <st>");
  add("fnop", "fnop");
  add("fwait", "fwait");
  add("fnstsw", "fnstsw %ax", "fnstsw <m16>");
  add("fnstcw", "fnstcw <m16>");
  add("fldcw", "fldcw <m16>");
  add("fnclex", "fnclex");
  add("fninit", "fninit");
  add("fnstenv", "fnstenv <m224>");
  add("fldenv", "fldenv <m224>");
  add("fnsave", "fnsave <m864>");
  add("frstor", "frstor <m864>");
  // Register aliases in encodings the opcode map leaves blank (GNU as knows only FFREEP by name).
  add("ffreep", "ffreep <st>");
  const ALIASES: [string, number, number][] = [
    ["fstp1", 0xd9, 0xd8],
    ["fcom2", 0xdc, 0xd0],
    ["fcomp3", 0xdc, 0xd8],
    ["fxch4", 0xdd, 0xc8],
    ["fcomp5", 0xde, 0xd0],
    ["fxch7", 0xdf, 0xc8],
    ["fstp8", 0xdf, 0xd0],
    ["fstp9", 0xdf, 0xd8],
  ];
  for (const [m, op, modrm] of ALIASES) {
    for (const i of [0, 1, 2, 5, 7]) add(m, `.byte 0x${op.toString(16)}, 0x${(modrm + i).toString(16)}`);
  }
  return out;
}

/** The transcendental instructions: the SDM bounds their error by 1 ulp (compare.ts allows it). */
export const X87_TRANSCENDENTAL = /^(fsin|fcos|fsincos|fptan|fpatan|f2xm1|fyl2x|fyl2xp1)$/;

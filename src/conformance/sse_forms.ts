/**
 * The SSE and SSE2 instruction forms of the conformance generator, as AT&T templates (see
 * forms.ts for the placeholders; SSE forms add `<x>` an XMM register, `<m128>` a 16-byte memory
 * operand, usually 16-byte aligned, and `<u3>` a compare predicate 0..7). Every case of an SSE form
 * also sets XMM0-15 and MXCSR (rounding mode, DAZ, FTZ, masks and flags varied) and compares them.
 *
 * Not here: FXSAVE/FXRSTOR (their 512-byte image is larger than the scratch area; tests/cpu/
 * sse_test.ts checks them against the SDM's layout).
 * @module
 */

import type { InstructionForm } from "./forms.ts";

/** What an SSE form's lanes mostly hold, to bias the generated XMM and memory values. */
export type Lanes = "ps" | "pd" | "int";

/** Builds the SSE/SSE2 forms. */
export function buildSseForms(): InstructionForm[] {
  const out: InstructionForm[] = [];
  const add = (mnemonic: string, lanes: Lanes, ...templates: string[]) => {
    for (const template of templates) {
      out.push({ id: template, mnemonic, template, family: "sse", size: 64, lanes });
    }
  };
  const lanesOf = (m: string): Lanes => (/(ps|ss)$/.test(m) ? "ps" : /(pd|sd)$/.test(m) ? "pd" : "int");
  // Data movement.
  for (const m of ["movups", "movaps", "movupd", "movapd", "movdqa", "movdqu"]) {
    add(m, lanesOf(m), `${m} <x>, <x>`, `${m} <m128>, <x>`, `${m} <x>, <m128>`);
  }
  add("movss", "ps", "movss <x>, <x>", "movss <m32>, <x>", "movss <x>, <m32>");
  add("movsd", "pd", "movsd <x>, <x>", "movsd <m64>, <x>", "movsd <x>, <m64>");
  for (const m of ["movlps", "movhps", "movlpd", "movhpd"]) {
    add(m, lanesOf(m), `${m} <m64>, <x>`, `${m} <x>, <m64>`);
  }
  add("movhlps", "ps", "movhlps <x>, <x>");
  add("movlhps", "ps", "movlhps <x>, <x>");
  add("movd", "int", "movd <r32>, <x>", "movd <m32>, <x>", "movd <x>, <r32>", "movd <x>, <m32>");
  add("movq", "int", "movq <r64>, <x>", "movq <x>, <r64>", "movq <m64>, <x>", "movq <x>, <m64>");
  add("movq", "int", "movq <x>, <x>", "{store} movq <x>, <x>");
  add("movmskps", "ps", "movmskps <x>, <r32>");
  add("movmskpd", "pd", "movmskpd <x>, <r32>");
  add("pmovmskb", "int", "pmovmskb <x>, <r32>");
  add("movnti", "int", "movnti <r32>, <m32>", "movnti <r64>, <m64>");
  for (const m of ["movntps", "movntpd", "movntdq"]) add(m, lanesOf(m), `${m} <x>, <m128>`);
  add("maskmovdqu", "int", "maskmovdqu <x>, <x>");
  add("ldmxcsr", "int", "ldmxcsr <m32>");
  add("stmxcsr", "int", "stmxcsr <m32>");
  // Logic, shuffles, unpacks and packed integer operations (xmm, xmm/m128).
  const binary128 = [
    "andps",
    "andnps",
    "orps",
    "xorps",
    "andpd",
    "andnpd",
    "orpd",
    "xorpd",
    "pand",
    "pandn",
    "por",
    "pxor",
    "unpcklps",
    "unpckhps",
    "unpcklpd",
    "unpckhpd",
    "punpcklbw",
    "punpcklwd",
    "punpckldq",
    "punpcklqdq",
    "punpckhbw",
    "punpckhwd",
    "punpckhdq",
    "punpckhqdq",
    "packsswb",
    "packuswb",
    "packssdw",
    "paddb",
    "paddw",
    "paddd",
    "paddq",
    "psubb",
    "psubw",
    "psubd",
    "psubq",
    "paddsb",
    "paddsw",
    "paddusb",
    "paddusw",
    "psubsb",
    "psubsw",
    "psubusb",
    "psubusw",
    "pcmpeqb",
    "pcmpeqw",
    "pcmpeqd",
    "pcmpgtb",
    "pcmpgtw",
    "pcmpgtd",
    "pmullw",
    "pmulhw",
    "pmulhuw",
    "pmuludq",
    "pmaddwd",
    "psadbw",
    "pavgb",
    "pavgw",
    "pminub",
    "pmaxub",
    "pminsw",
    "pmaxsw",
    "psllw",
    "pslld",
    "psllq",
    "psrlw",
    "psrld",
    "psrlq",
    "psraw",
    "psrad",
  ];
  for (const m of binary128) add(m, lanesOf(m), `${m} <x>, <x>`, `${m} <m128>, <x>`);
  for (
    const m of ["psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad", "psrldq", "pslldq"]
  ) {
    add(m, "int", `${m} <u8>, <x>`);
  }
  for (const m of ["pshufd", "pshufhw", "pshuflw", "shufps", "shufpd"]) {
    add(m, lanesOf(m), `${m} <u8>, <x>, <x>`, `${m} <u8>, <m128>, <x>`);
  }
  add("pinsrw", "int", "pinsrw <u8>, <r32>, <x>", "pinsrw <u8>, <m16>, <x>");
  add("pextrw", "int", "pextrw <u8>, <x>, <r32>");
  // Floating point.
  for (const op of ["add", "sub", "mul", "div", "sqrt", "min", "max"]) {
    add(op + "ps", "ps", `${op}ps <x>, <x>`, `${op}ps <m128>, <x>`);
    add(op + "pd", "pd", `${op}pd <x>, <x>`, `${op}pd <m128>, <x>`);
    add(op + "ss", "ps", `${op}ss <x>, <x>`, `${op}ss <m32>, <x>`);
    add(op + "sd", "pd", `${op}sd <x>, <x>`, `${op}sd <m64>, <x>`);
  }
  for (const m of ["rcpps", "rsqrtps"]) add(m, "ps", `${m} <x>, <x>`, `${m} <m128>, <x>`);
  for (const m of ["rcpss", "rsqrtss"]) add(m, "ps", `${m} <x>, <x>`, `${m} <m32>, <x>`);
  add("cmpps", "ps", "cmpps <u3>, <x>, <x>", "cmpps <u3>, <m128>, <x>");
  add("cmppd", "pd", "cmppd <u3>, <x>, <x>", "cmppd <u3>, <m128>, <x>");
  add("cmpss", "ps", "cmpss <u3>, <x>, <x>", "cmpss <u3>, <m32>, <x>");
  add("cmpsd", "pd", "cmpsd <u3>, <x>, <x>", "cmpsd <u3>, <m64>, <x>");
  for (const m of ["comiss", "ucomiss"]) add(m, "ps", `${m} <x>, <x>`, `${m} <m32>, <x>`);
  for (const m of ["comisd", "ucomisd"]) add(m, "pd", `${m} <x>, <x>`, `${m} <m64>, <x>`);
  // Conversions.
  add(
    "cvtsi2ss",
    "ps",
    "cvtsi2ssl <r32>, <x>",
    "cvtsi2ssl <m32>, <x>",
    "cvtsi2ssq <r64>, <x>",
    "cvtsi2ssq <m64>, <x>",
  );
  add(
    "cvtsi2sd",
    "pd",
    "cvtsi2sdl <r32>, <x>",
    "cvtsi2sdl <m32>, <x>",
    "cvtsi2sdq <r64>, <x>",
    "cvtsi2sdq <m64>, <x>",
  );
  for (const m of ["cvtss2si", "cvttss2si"]) {
    add(m, "ps", `${m} <x>, <r32>`, `${m} <m32>, <r32>`, `${m} <x>, <r64>`, `${m} <m32>, <r64>`);
  }
  for (const m of ["cvtsd2si", "cvttsd2si"]) {
    add(m, "pd", `${m} <x>, <r32>`, `${m} <m64>, <r32>`, `${m} <x>, <r64>`, `${m} <m64>, <r64>`);
  }
  add("cvtss2sd", "ps", "cvtss2sd <x>, <x>", "cvtss2sd <m32>, <x>");
  add("cvtsd2ss", "pd", "cvtsd2ss <x>, <x>", "cvtsd2ss <m64>, <x>");
  add("cvtps2pd", "ps", "cvtps2pd <x>, <x>", "cvtps2pd <m64>, <x>");
  add("cvtdq2pd", "int", "cvtdq2pd <x>, <x>", "cvtdq2pd <m64>, <x>");
  for (const m of ["cvtpd2ps", "cvtpd2dq", "cvttpd2dq"]) add(m, "pd", `${m} <x>, <x>`, `${m} <m128>, <x>`);
  for (const m of ["cvtps2dq", "cvttps2dq"]) add(m, "ps", `${m} <x>, <x>`, `${m} <m128>, <x>`);
  add("cvtdq2ps", "int", "cvtdq2ps <x>, <x>", "cvtdq2ps <m128>, <x>");
  return out;
}

/**
 * The MMX instruction forms of the conformance generator, as AT&T templates (see forms.ts for the
 * placeholders; MMX forms add `<mm>` an MMX register). They are x87-family cases: the x87 state
 * (whose registers' significands are MM0-MM7) is set and compared, so the aliasing (TOP = 0, all
 * tags valid, bits 79:64 of a written register set to ones; EMMS emptying the tags) is compared
 * too. Not here: MOVQ2DQ and MOVDQ2Q, which also need XMM state (tests/cpu/mmx_test.ts).
 * @module
 */

import type { InstructionForm } from "./forms.ts";
import { SSSE3_INTEGER } from "./sse4_forms.ts";

/** Builds the MMX forms. */
export function buildMmxForms(): InstructionForm[] {
  const out: InstructionForm[] = [];
  const add = (mnemonic: string, ...templates: string[]) => {
    for (const template of templates) out.push({ id: template, mnemonic, template, family: "x87", size: 64 });
  };
  const binary = [
    "punpcklbw",
    "punpcklwd",
    "punpckldq",
    "punpckhbw",
    "punpckhwd",
    "punpckhdq",
    "packsswb",
    "packuswb",
    "packssdw",
    "pcmpgtb",
    "pcmpgtw",
    "pcmpgtd",
    "pcmpeqb",
    "pcmpeqw",
    "pcmpeqd",
    "psrlw",
    "psrld",
    "psrlq",
    "psraw",
    "psrad",
    "psllw",
    "pslld",
    "psllq",
    "paddq",
    "pmullw",
    "psubusb",
    "psubusw",
    "pminub",
    "pand",
    "paddusb",
    "paddusw",
    "pmaxub",
    "pandn",
    "pavgb",
    "pavgw",
    "pmulhuw",
    "pmulhw",
    "psubsb",
    "psubsw",
    "pminsw",
    "por",
    "paddsb",
    "paddsw",
    "pmaxsw",
    "pxor",
    "pmuludq",
    "pmaddwd",
    "psadbw",
    "psubb",
    "psubw",
    "psubd",
    "psubq",
    "paddb",
    "paddw",
    "paddd",
  ];
  for (const m of binary) add(m, `${m} <mm>, <mm>`, `${m} <m64>, <mm>`);
  for (const m of ["psrlw", "psraw", "psllw", "psrld", "psrad", "pslld", "psrlq", "psllq"]) {
    add(m, `${m} <u8>, <mm>`);
  }
  add("pshufw", "pshufw <u8>, <mm>, <mm>", "pshufw <u8>, <m64>, <mm>");
  add("pinsrw", "pinsrw <u8>, <r32>, <mm>", "pinsrw <u8>, <m16>, <mm>");
  add("pextrw", "pextrw <u8>, <mm>, <r32>");
  add("pmovmskb", "pmovmskb <mm>, <r32>");
  add("movd", "movd <r32>, <mm>", "movd <m32>, <mm>", "movd <mm>, <r32>", "movd <mm>, <m32>");
  add(
    "movq",
    "movq <r64>, <mm>",
    "movq <mm>, <r64>",
    "movq <m64>, <mm>",
    "movq <mm>, <m64>",
    "movq <mm>, <mm>",
  );
  add("movntq", "movntq <mm>, <m64>");
  add("maskmovq", "maskmovq <mm>, <mm>");
  add("emms", "emms");
  // SSSE3 on MMX registers (0f 38 / 0f 3a 0f without a prefix).
  for (const m of SSSE3_INTEGER) add(m, `${m} <mm>, <mm>`, `${m} <m64>, <mm>`);
  add("palignr", "palignr <u8>, <mm>, <mm>", "palignr <u8>, <m64>, <mm>");
  return out;
}

/**
 * The MMX encodings (SDM Vol. 2 App. A.3, the 0f opcodes without a mandatory prefix, and MOVQ2DQ /
 * MOVDQ2Q with F3 / F2; the SSSE3 forms on MMX registers, 0f 38 and 0f 3a without a prefix, Tables
 * ) as instruction-table entries: each names the XMM handler that computes it
 * (ops/mmx.ts runs it on 64-bit operands) and how the operands map. table.ts defines them.
 *
 * @module
 */

import type { Handler } from "./insn.ts";
import * as mm from "./ops/mmx.ts";
import * as si from "./ops/sse_int.ts";
import * as sm from "./ops/sse_move.ts";
import * as ss3 from "./ops/ssse3.ts";

/** One MMX encoding. */
export interface MmxForm {
  /** Mnemonic. */
  mnemonic: string;
  /** Opcode map: 1 (0f), 2 (0f 38) or 3 (0f 3a). */
  map: number;
  /** Opcode byte after the map's escape bytes. */
  opcode: number;
  /** Mandatory prefix (0 none, 0xf3, 0xf2). */
  prefix: number;
  /** Handler. */
  h: Handler;
  /** Handler argument (the XMM handler's). */
  arg: number;
  /** ModRM.reg for group encodings, else -1. */
  ext: number;
  /** Has an 8-bit immediate. */
  imm: boolean;
  /** Only a register r/m. */
  regOnly: boolean;
  /** Only a memory r/m. */
  memOnly: boolean;
}

const forms: MmxForm[] = [];
function add(
  mnemonic: string,
  opcode: number,
  h: Handler,
  o: Partial<Omit<MmxForm, "mnemonic" | "opcode" | "h">> = {},
): void {
  forms.push({
    mnemonic,
    map: o.map ?? 1,
    opcode,
    h,
    prefix: o.prefix ?? 0,
    arg: o.arg ?? 0,
    ext: o.ext ?? -1,
    imm: o.imm ?? false,
    regOnly: o.regOnly ?? false,
    memOnly: o.memOnly ?? false,
  });
}
const binary = (mnemonic: string, opcode: number, h: Handler, arg: number) =>
  add(mnemonic, opcode, mm.mmxForm(h, mm.MM_BINARY), { arg });

binary("punpcklbw", 0x60, sm.unpack, 1);
binary("punpcklwd", 0x61, sm.unpack, 2);
binary("punpckldq", 0x62, sm.unpack, 4);
add("punpckhbw", 0x68, mm.mmxForm(sm.unpack, mm.MM_UNPACK_HIGH), { arg: 1 });
add("punpckhwd", 0x69, mm.mmxForm(sm.unpack, mm.MM_UNPACK_HIGH), { arg: 2 });
add("punpckhdq", 0x6a, mm.mmxForm(sm.unpack, mm.MM_UNPACK_HIGH), { arg: 4 });
add("packsswb", 0x63, mm.mmxForm(si.pmisc, mm.MM_PACK), { arg: si.PM_PACKSSWB });
add("packuswb", 0x67, mm.mmxForm(si.pmisc, mm.MM_PACK), { arg: si.PM_PACKUSWB });
add("packssdw", 0x6b, mm.mmxForm(si.pmisc, mm.MM_PACK), { arg: si.PM_PACKSSDW });
binary("pcmpgtb", 0x64, si.pcmp, 1 | 16);
binary("pcmpgtw", 0x65, si.pcmp, 2 | 16);
binary("pcmpgtd", 0x66, si.pcmp, 4 | 16);
binary("pcmpeqb", 0x74, si.pcmp, 1);
binary("pcmpeqw", 0x75, si.pcmp, 2);
binary("pcmpeqd", 0x76, si.pcmp, 4);
add("movd", 0x6e, mm.movdMmE);
add("movq", 0x6f, mm.movqMmE);
add("pshufw", 0x70, mm.mmxForm(sm.pshuf, mm.MM_BINARY), { arg: 2, imm: true });
for (const [name, opc, ext, arg] of si.PSHIFT_IMM_FORMS) {
  add(name, opc, mm.mmxForm(si.pshiftImm, mm.MM_SHIFT_IMM), { ext, arg, imm: true, regOnly: true });
}
add("emms", 0x77, mm.emms);
add("movd", 0x7e, mm.movdEMm);
add("movq", 0x7f, mm.movqEMm);
add("pinsrw", 0xc4, mm.mmxForm(sm.pinsrw, mm.MM_FROM_GPR), { imm: true });
add("pextrw", 0xc5, mm.mmxForm(sm.pextrw, mm.MM_TO_GPR), { imm: true, regOnly: true });
for (const [name, opc, arg] of si.PSHIFT_REG_FORMS) binary(name, opc, si.pshift, arg);
binary("paddq", 0xd4, si.paddsub, 8);
binary("pmullw", 0xd5, si.pmisc, si.PM_MULLW);
add("pmovmskb", 0xd7, mm.mmxForm(sm.pmovmskb, mm.MM_TO_GPR), { regOnly: true });
binary("psubusb", 0xd8, si.paddsat, 1 | 16 | 32);
binary("psubusw", 0xd9, si.paddsat, 2 | 16 | 32);
binary("pminub", 0xda, si.pmisc, si.PM_MINUB);
binary("pand", 0xdb, sm.logic, 0);
binary("paddusb", 0xdc, si.paddsat, 1 | 32);
binary("paddusw", 0xdd, si.paddsat, 2 | 32);
binary("pmaxub", 0xde, si.pmisc, si.PM_MAXUB);
binary("pandn", 0xdf, sm.logic, 1);
binary("pavgb", 0xe0, si.pmisc, si.PM_AVGB);
binary("pavgw", 0xe3, si.pmisc, si.PM_AVGW);
binary("pmulhuw", 0xe4, si.pmisc, si.PM_MULHUW);
binary("pmulhw", 0xe5, si.pmisc, si.PM_MULHW);
add("movntq", 0xe7, mm.movqEMm, { memOnly: true });
binary("psubsb", 0xe8, si.paddsat, 1 | 16);
binary("psubsw", 0xe9, si.paddsat, 2 | 16);
binary("pminsw", 0xea, si.pmisc, si.PM_MINSW);
binary("por", 0xeb, sm.logic, 2);
binary("paddsb", 0xec, si.paddsat, 1);
binary("paddsw", 0xed, si.paddsat, 2);
binary("pmaxsw", 0xee, si.pmisc, si.PM_MAXSW);
binary("pxor", 0xef, sm.logic, 3);
binary("pmuludq", 0xf4, si.pmisc, si.PM_MULUDQ);
binary("pmaddwd", 0xf5, si.pmisc, si.PM_MADDWD);
binary("psadbw", 0xf6, si.pmisc, si.PM_SADBW);
add("maskmovq", 0xf7, mm.maskmovq, { regOnly: true });
binary("psubb", 0xf8, si.paddsub, 1 | 16);
binary("psubw", 0xf9, si.paddsub, 2 | 16);
binary("psubd", 0xfa, si.paddsub, 4 | 16);
binary("psubq", 0xfb, si.paddsub, 8 | 16);
binary("paddb", 0xfc, si.paddsub, 1);
binary("paddw", 0xfd, si.paddsub, 2);
binary("paddd", 0xfe, si.paddsub, 4);
// SSSE3 (0f 38 / 0f 3a 0f without a prefix).
const ssse3 = (mnemonic: string, opcode: number, h: Handler, mode: number, arg = 0) =>
  add(mnemonic, opcode, mm.mmxForm(h, mode), { map: 2, arg });
ssse3("pshufb", 0x00, ss3.pshufb, mm.MM_DEST_TWICE);
ssse3("phaddw", 0x01, ss3.phaddsub, mm.MM_PACK, 2);
ssse3("phaddd", 0x02, ss3.phaddsub, mm.MM_PACK, 4);
ssse3("phaddsw", 0x03, ss3.phaddsub, mm.MM_PACK, 2 | ss3.PH_SAT);
ssse3("pmaddubsw", 0x04, ss3.pmaddubsw, mm.MM_BINARY);
ssse3("phsubw", 0x05, ss3.phaddsub, mm.MM_PACK, 2 | ss3.PH_SUB);
ssse3("phsubd", 0x06, ss3.phaddsub, mm.MM_PACK, 4 | ss3.PH_SUB);
ssse3("phsubsw", 0x07, ss3.phaddsub, mm.MM_PACK, 2 | ss3.PH_SUB | ss3.PH_SAT);
ssse3("psignb", 0x08, ss3.psign, mm.MM_BINARY, 1);
ssse3("psignw", 0x09, ss3.psign, mm.MM_BINARY, 2);
ssse3("psignd", 0x0a, ss3.psign, mm.MM_BINARY, 4);
ssse3("pmulhrsw", 0x0b, ss3.pmulhrsw, mm.MM_BINARY);
ssse3("pabsb", 0x1c, ss3.pabs, mm.MM_BINARY, 1);
ssse3("pabsw", 0x1d, ss3.pabs, mm.MM_BINARY, 2);
ssse3("pabsd", 0x1e, ss3.pabs, mm.MM_BINARY, 4);
add("palignr", 0x0f, mm.mmxForm(ss3.palignr, mm.MM_ALIGN), { map: 3, imm: true });
add("movq2dq", 0xd6, mm.movq2dq, { prefix: 0xf3, regOnly: true });
add("movdq2q", 0xd6, mm.movdq2q, { prefix: 0xf2, regOnly: true });

/** Every MMX encoding. */
export const MMX_FORMS: readonly MmxForm[] = forms;

/**
 * The SSE3, SSSE3, SSE4.1 and SSE4.2 instruction forms of the conformance generator (XMM forms;
 * templates and placeholders as in sse_forms.ts). POPCNT and CRC32, which work on general
 * registers, are in forms.ts.
 * @module
 */

import type { InstructionForm } from "./forms.ts";
import type { Lanes } from "./sse_forms.ts";

/** The SSSE3 integer instructions that take two operands, in XMM (66 0f 38) and MMX (0f 38) forms. */
export const SSSE3_INTEGER: readonly string[] = [
  "pshufb",
  "phaddw",
  "phaddd",
  "phaddsw",
  "phsubw",
  "phsubd",
  "phsubsw",
  "pmaddubsw",
  "pmulhrsw",
  "psignb",
  "psignw",
  "psignd",
  "pabsb",
  "pabsw",
  "pabsd",
];

/** Builds the SSE3 .. SSE4.2 forms. */
export function buildSse4Forms(): InstructionForm[] {
  const out: InstructionForm[] = [];
  const add = (mnemonic: string, lanes: Lanes, ...templates: string[]) => {
    for (const template of templates) {
      out.push({ id: template, mnemonic, template, family: "sse", size: 64, lanes });
    }
  };
  const binary = (m: string, lanes: Lanes) => add(m, lanes, `${m} <x>, <x>`, `${m} <m128>, <x>`);
  // SSE3.
  for (const m of ["addsubps", "haddps", "hsubps"]) binary(m, "ps");
  for (const m of ["addsubpd", "haddpd", "hsubpd"]) binary(m, "pd");
  binary("movsldup", "ps");
  binary("movshdup", "ps");
  add("movddup", "pd", "movddup <x>, <x>", "movddup <m64>, <x>");
  add("lddqu", "int", "lddqu <m128>, <x>");
  // SSSE3.
  for (const m of SSSE3_INTEGER) binary(m, "int");
  add("palignr", "int", "palignr <u8>, <x>, <x>", "palignr <u8>, <m128>, <x>");
  // SSE4.1.
  const withImm = (m: string, lanes: Lanes, mem = "<m128>") =>
    add(m, lanes, `${m} <u8>, <x>, <x>`, `${m} <u8>, ${mem}, <x>`);
  add("pblendvb", "int", "pblendvb %xmm0, <x>, <x>", "pblendvb %xmm0, <m128>, <x>");
  add("blendvps", "ps", "blendvps %xmm0, <x>, <x>", "blendvps %xmm0, <m128>, <x>");
  add("blendvpd", "pd", "blendvpd %xmm0, <x>, <x>", "blendvpd %xmm0, <m128>, <x>");
  for (
    const m of [
      "ptest",
      "pmuldq",
      "pcmpeqq",
      "packusdw",
      "pminsb",
      "pminsd",
      "pminuw",
      "pminud",
      "pmaxsb",
      "pmaxsd",
      "pmaxuw",
      "pmaxud",
      "pmulld",
      "phminposuw",
    ]
  ) binary(m, "int");
  const PMOVX_MEM: Record<string, string> = {
    bw: "m64",
    bd: "m32",
    bq: "m16",
    wd: "m64",
    wq: "m32",
    dq: "m64",
  };
  for (const [sfx, mem] of Object.entries(PMOVX_MEM)) {
    for (const m of ["pmovsx" + sfx, "pmovzx" + sfx]) add(m, "int", `${m} <x>, <x>`, `${m} <${mem}>, <x>`);
  }
  add("movntdqa", "int", "movntdqa <m128>, <x>");
  withImm("roundps", "ps");
  withImm("roundpd", "pd");
  withImm("roundss", "ps", "<m32>");
  withImm("roundsd", "pd", "<m64>");
  withImm("blendps", "ps");
  withImm("blendpd", "pd");
  withImm("pblendw", "int");
  withImm("dpps", "ps");
  withImm("dppd", "pd");
  withImm("mpsadbw", "int");
  withImm("insertps", "ps", "<m32>");
  add("pextrb", "int", "pextrb <u8>, <x>, <r32>", "pextrb <u8>, <x>, <m8>");
  add("pextrw", "int", "pextrw <u8>, <x>, <m16>");
  add("pextrd", "int", "pextrd <u8>, <x>, <r32>", "pextrd <u8>, <x>, <m32>");
  add("pextrq", "int", "pextrq <u8>, <x>, <r64>", "pextrq <u8>, <x>, <m64>");
  add(
    "extractps",
    "ps",
    "extractps <u8>, <x>, <r32>",
    "extractps <u8>, <x>, <r64>",
    "extractps <u8>, <x>, <m32>",
  );
  add("pinsrb", "int", "pinsrb <u8>, <r32>, <x>", "pinsrb <u8>, <m8>, <x>");
  add("pinsrd", "int", "pinsrd <u8>, <r32>, <x>", "pinsrd <u8>, <m32>, <x>");
  add("pinsrq", "int", "pinsrq <u8>, <r64>, <x>", "pinsrq <u8>, <m64>, <x>");
  // SSE4.2.
  binary("pcmpgtq", "int");
  for (const m of ["pcmpestri", "pcmpestrm", "pcmpistri", "pcmpistrm"]) withImm(m, "int");
  for (const m of ["pcmpestri", "pcmpestrm"]) withImm(m + "q", "int");
  return out;
}

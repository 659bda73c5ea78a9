/**
 * The SSE3, SSSE3, SSE4.1 and SSE4.2 instruction forms of the conformance generator (XMM forms;
 * templates and placeholders as in sse_forms.ts). POPCNT and CRC32, which work on general
 * registers, are in forms.ts.
 * @module
 */

import type { InstructionForm } from "./forms.ts";
import type { Lanes } from "./sse_forms.ts";

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
  for (
    const m of [
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
    ]
  ) binary(m, "int");
  add("palignr", "int", "palignr <u8>, <x>, <x>", "palignr <u8>, <m128>, <x>");
  return out;
}

import assert from "node:assert/strict";
import { AF, CF, OF, PF, SF, ZF } from "../../src/conformance/case.ts";
import type { Family } from "../../src/conformance/forms.ts";
import { undefinedFlags } from "../../src/conformance/undefined_flags.ts";

const ALL = CF | PF | AF | ZF | SF | OF;

// [family, mnemonic, size, count, expected] from each instruction's "Flags Affected" (SDM Vol. 2).
const ROWS: [Family, string, number, number, number][] = [
  ["arith", "add", 64, 0, 0],
  ["logic", "and", 32, 0, AF],
  ["shift", "shl", 32, 0, 0],
  ["shift", "shl", 32, 1, AF],
  ["shift", "shl", 32, 2, AF | OF],
  ["shift", "shl", 32, 33, AF], // masked to 1
  ["shift", "shl", 8, 8, AF | OF | CF], // count >= operand size: CF undefined for SHL/SHR
  ["shift", "shr", 16, 31, AF | OF | CF],
  ["shift", "sar", 8, 9, AF | OF], // SAR: CF is the last bit shifted out
  ["shift", "shl", 64, 64, 0], // masked to 0
  ["shift", "shl", 64, 63, AF | OF],
  ["rotate", "rol", 32, 1, 0],
  ["rotate", "ror", 32, 5, OF],
  ["rotate", "rol", 8, 8, OF], // masked count 8 is not 1
  ["rotate", "rol", 32, 32, 0],
  ["rotc", "rcl", 16, 1, 0],
  ["rotc", "rcr", 64, 65, 0],
  ["rotc", "rcr", 64, 66, OF],
  ["shiftd", "shld", 32, 1, AF],
  ["shiftd", "shrd", 32, 7, AF | OF],
  ["shiftd", "shld", 16, 17, ALL],
  ["shiftd", "shld", 64, 0, 0],
  ["mul", "imul", 64, 0, SF | ZF | AF | PF],
  ["div", "idiv", 8, 0, ALL],
  ["bitscan", "bsf", 32, 0, CF | OF | SF | AF | PF],
  ["bittest", "bts", 16, 0, OF | SF | AF | PF],
  ["none", "mov", 64, 0, 0],
];

for (const [family, mnemonic, size, count, want] of ROWS) {
  Deno.test(`undefinedFlags() for ${mnemonic} ${size}-bit, count ${count}`, () => {
    assert.equal(undefinedFlags(family, mnemonic, size, count), want);
  });
}

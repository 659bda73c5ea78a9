/**
 * Which RFLAGS bits the SDM leaves undefined after an instruction, per instruction family and,
 * for shifts and rotates, per count (SDM Vol. 2, each instruction's "Flags Affected").
 * @module
 */

import { AF, CF, OF, PF, SF, STATUS_FLAGS, ZF } from "./case.ts";
import type { Family } from "./forms.ts";

/**
 * The undefined RFLAGS bits after an instruction of `family` on `size`-bit operands.
 * @param mnemonic base mnemonic (`shl`, `sar`, ...), needed for the shift rules
 * @param count the shift/rotate count as encoded (before masking); ignored for other families
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AF, OF } from "./case.ts";
 * import { undefinedFlags } from "./undefined_flags.ts";
 * assert.equal(undefinedFlags("shift", "shl", 32, 1), AF);
 * assert.equal(undefinedFlags("shift", "shl", 32, 2), AF | OF);
 * assert.equal(undefinedFlags("shift", "shl", 32, 32), 0); // masked count 0: flags unaffected
 * ```
 */
export function undefinedFlags(family: Family, mnemonic: string, size: number, count = 0): number {
  const masked = count & (size === 64 ? 63 : 31);
  switch (family) {
    // AND/OR/XOR/TEST: "The state of the AF flag is undefined."
    case "logic":
      return AF;
    // SAL/SAR/SHL/SHR: count 0 leaves flags alone; AF undefined for a nonzero count; OF only defined for
    // 1-bit shifts; CF undefined for SHL/SHR when the count is >= the operand size.
    case "shift": {
      if (masked === 0) return 0;
      let u = AF;
      if (masked !== 1) u |= OF;
      if ((mnemonic === "shl" || mnemonic === "shr" || mnemonic === "sal") && masked >= size) u |= CF;
      return u;
    }
    // ROL/ROR/RCL/RCR: only CF and OF are affected; OF is undefined unless the masked count is 1.
    case "rotate":
    case "rotc":
      return masked === 0 || masked === 1 ? 0 : OF;
    // SHLD/SHRD: AF undefined for a nonzero count, OF unless the count is 1 (counts above the operand
    // size, possible for 16 bits, make everything undefined; the generator avoids them).
    case "shiftd":
      if (masked === 0) return 0;
      if (masked > size) return STATUS_FLAGS;
      return masked === 1 ? AF : AF | OF;
    // MUL/IMUL: "The SF, ZF, AF, and PF flags are undefined."
    case "mul":
      return SF | ZF | AF | PF;
    // DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
    case "div":
      return STATUS_FLAGS;
    // BSF/BSR: "The CF, OF, SF, AF, and PF flags are undefined."
    case "bitscan":
      return CF | OF | SF | AF | PF;
    // BT/BTS/BTR/BTC: "The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined."
    case "bittest":
      return OF | SF | AF | PF;
    default:
      return 0;
  }
}

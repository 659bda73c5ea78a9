/**
 * The exact rounding core of the SSE slow paths, against IEEE 754 facts the SDM restates (Vol. 1
 * §4.8.4 rounding, §4.9.1.4-5 overflow and underflow: tininess detected after rounding, the masked
 * responses, flush-to-zero §10.2.3.3).
 */
import assert from "node:assert/strict";
import {
  BINARY32,
  BINARY64,
  exactArith,
  OP_DIV,
  OP_SQRT,
  RC_DOWN,
  RC_NEAREST,
  RC_UP,
  RC_ZERO,
  roundExact,
} from "../../src/cpu/softfloat.ts";

const PE = 0x20, UE = 0x10, OE = 0x08;
const ALL_MASKED = 0x3f;
const UE_UNMASKED = ALL_MASKED & ~UE;
const OE_UNMASKED = ALL_MASKED & ~OE;

// [what, m, e, rc, ftz, masks, value, flags]: the value (-1)^0 * m * 2^e rounded to binary32.
const ROWS: [string, bigint, number, number, boolean, number, number, number][] = [
  ["a tie rounds to even", (1n << 24n) + 1n, -24, RC_NEAREST, false, ALL_MASKED, 1, PE],
  ["a tie rounds to even (up)", (1n << 24n) + 3n, -24, RC_NEAREST, false, ALL_MASKED, 1 + 2 ** -22, PE],
  ["toward +inf", (1n << 24n) + 1n, -24, RC_UP, false, ALL_MASKED, 1 + 2 ** -23, PE],
  ["toward -inf, positive", (1n << 24n) + 1n, -24, RC_DOWN, false, ALL_MASKED, 1, PE],
  ["exact", 3n, 0, RC_NEAREST, false, ALL_MASKED, 3, 0],
  ["overflow to infinity", 1n, 128, RC_NEAREST, false, ALL_MASKED, Infinity, OE | PE],
  ["overflow toward zero: the largest finite", 1n, 128, RC_ZERO, false, ALL_MASKED, BINARY32.max, OE | PE],
  [
    "overflow toward -inf, positive: the largest finite",
    1n,
    128,
    RC_DOWN,
    false,
    ALL_MASKED,
    BINARY32.max,
    OE | PE,
  ],
  ["overflow unmasked, exact significand: OE alone", 1n, 128, RC_NEAREST, false, OE_UNMASKED, 0, OE],
  ["2^-150 is a tie between 0 and 2^-149: even, 0", 1n, -150, RC_NEAREST, false, ALL_MASKED, 0, UE | PE],
  ["0.75 * 2^-149 rounds to 2^-149", 3n, -151, RC_NEAREST, false, ALL_MASKED, 2 ** -149, UE | PE],
  [
    "an exact denormal: no flag when underflow is masked",
    1n,
    -149,
    RC_NEAREST,
    false,
    ALL_MASKED,
    2 ** -149,
    0,
  ],
  ["an exact denormal: UE when underflow is unmasked", 1n, -149, RC_NEAREST, false, UE_UNMASKED, 0, UE],
  ["flush to zero", 1n, -149, RC_NEAREST, true, ALL_MASKED, 0, UE | PE],
  // (1 - 2^-25) * 2^-126 rounds (unbounded exponent) to 2^-126: not tiny after rounding, so no UE.
  ["tininess after rounding", (1n << 25n) - 1n, -151, RC_NEAREST, false, ALL_MASKED, 2 ** -126, PE],
  [
    "tininess after rounding, toward zero: tiny",
    (1n << 25n) - 1n,
    -151,
    RC_ZERO,
    false,
    ALL_MASKED,
    2 ** -126 - 2 ** -149,
    UE | PE,
  ],
];

for (const [what, m, e, rc, ftz, masks, value, flags] of ROWS) {
  Deno.test(`roundExact() to binary32: ${what}`, () => {
    const r = roundExact(false, m, e, false, BINARY32, rc, ftz, masks);
    assert.equal(r.flags, flags);
    if ((flags & ~masks) === 0) assert.equal(r.value, value);
  });
}

Deno.test("exactArith() is correctly rounded in every mode (1/3, sqrt 2 in binary64)", () => {
  const bits = (v: number) => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v);
    return dv.getBigUint64(0).toString(16);
  };
  const third = (rc: number) => exactArith(OP_DIV, 1, 3, BINARY64, rc, false, ALL_MASKED);
  assert.equal(bits(third(RC_NEAREST).value), "3fd5555555555555");
  assert.equal(bits(third(RC_UP).value), "3fd5555555555556");
  assert.equal(bits(third(RC_ZERO).value), "3fd5555555555555");
  assert.equal(third(RC_NEAREST).flags, PE);
  const root2 = exactArith(OP_SQRT, 2, 0, BINARY64, RC_NEAREST, false, ALL_MASKED);
  assert.equal(bits(root2.value), "3ff6a09e667f3bcd");
  // sqrt 2 = 1.41421356237309504880...; 0x3ff6a09e667f3bcd = 1.41421356237309514547... lies above it.
  assert.equal(bits(exactArith(OP_SQRT, 2, 0, BINARY64, RC_UP, false, ALL_MASKED).value), "3ff6a09e667f3bcd");
  assert.equal(
    bits(exactArith(OP_SQRT, 2, 0, BINARY64, RC_ZERO, false, ALL_MASKED).value),
    "3ff6a09e667f3bcc",
  );
  assert.equal(exactArith(OP_SQRT, 4, 0, BINARY64, RC_UP, false, ALL_MASKED).flags, 0, "sqrt(4) is exact");
});

/**
 * The x87 aliases in register encodings the SDM's x87 opcode maps leave blank (src/cpu/x87_table.ts).
 * Expected values were produced by this host's CPU running the same code (a gcc-built program with
 * inline assembly, then FNSAVE); the conformance generator compares these encodings with the host
 * CPU on random x87 states (src/conformance/x87_forms.ts).
 */
import assert from "node:assert/strict";
import { go, load, makeCpu } from "./_harness.ts";

// fninit; fld1; fadd %st(0),%st; fld1; fadd %st(0),%st; fadd %st(0),%st; fld1: ST0 = 1, ST1 = 4, ST2 = 2.
const PRE = [0xdb, 0xe3, 0xd9, 0xe8, 0xd8, 0xc0, 0xd9, 0xe8, 0xd8, 0xc0, 0xd8, 0xc0, 0xd9, 0xe8];
const FFREE_ST0 = [0xdd, 0xc0];
const ONE = 0x3fff8000000000000000n, TWO = 0x40008000000000000000n, FOUR = 0x40018000000000000000n;
const INDEFINITE = 0xffffc000000000000000n;

function run(code: number[]) {
  const cpu = makeCpu();
  load(cpu, { code: new Uint8Array([...code, 0xcc]) });
  assert.equal(go(cpu).vector, 3);
  const f = cpu.fpu, top = (f.fsw >> 11) & 7;
  const st = (i: number) => {
    let v = 0n;
    for (let k = 9; k >= 0; k--) v = (v << 8n) | BigInt(f.st[10 * ((top + i) & 7) + k]);
    return v;
  };
  return { fsw: f.fsw, ftw: f.ftw, st: [st(0), st(1), st(2)] };
}

// [name, code after PRE, FSW, full tag word, ST0..ST2] as the host CPU left them.
const CASES: [string, number[], number, number, bigint[]][] = [
  ["ffreep %st(1)", [0xdf, 0xc1], 0x3000, 0x3fff, [FOUR, TWO, 0n]],
  ["fxch7 %st(2)", [0xdf, 0xca], 0x2800, 0x03ff, [TWO, FOUR, ONE]],
  ["fxch4 %st(1)", [0xdd, 0xc9], 0x2800, 0x03ff, [FOUR, ONE, TWO]],
  ["fcom2 %st(1)", [0xdc, 0xd1], 0x2900, 0x03ff, [ONE, FOUR, TWO]],
  ["fcomp3 %st(1)", [0xdc, 0xd9], 0x3100, 0x0fff, [FOUR, TWO, 0n]],
  ["fcomp5 %st(2)", [0xde, 0xd2], 0x3100, 0x0fff, [FOUR, TWO, 0n]],
  ["fstp9 %st(1)", [0xdf, 0xd9], 0x3000, 0x0fff, [ONE, TWO, 0n]],
  ["fstp1 %st(1)", [0xd9, 0xd9], 0x3000, 0x0fff, [ONE, TWO, 0n]],
  // ST(0) empty: FSTP8 takes the stack fault's masked response, as FSTP does; FSTP1 only pops.
  ["ffree; fstp8 %st(1)", [...FFREE_ST0, 0xdf, 0xd1], 0x3041, 0x2fff, [INDEFINITE, TWO, 0n]],
  ["ffree; fstp1 %st(1)", [...FFREE_ST0, 0xd9, 0xd9], 0x3000, 0x0fff, [FOUR, TWO, 0n]],
];

Deno.test("the x87 alias encodings run as the host CPU runs them", () => {
  for (const [name, code, fsw, ftw, st] of CASES) {
    const r = run([...PRE, ...code]);
    assert.equal(r.fsw.toString(16), fsw.toString(16), `${name}: FSW`);
    assert.equal(r.ftw.toString(16), ftw.toString(16), `${name}: tag word`);
    // Empty registers keep stale contents: compare only the ones the host left tagged in use.
    const top = (fsw >> 11) & 7;
    st.forEach((v, i) => {
      if (((ftw >> (2 * ((top + i) & 7))) & 3) !== 3) assert.equal(r.st[i], v, `${name}: ST${i}`);
    });
  }
});

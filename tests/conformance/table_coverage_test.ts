import assert from "node:assert/strict";
import { hexToBytes } from "../../src/conformance/case.ts";
import { generateCases } from "../../src/conformance/generator.ts";
import {
  entryName,
  EXCLUDED_ENTRIES,
  lookupEncoding,
  tableCoverage,
} from "../../src/conformance/table_coverage.ts";
import { HAVE_TOOLCHAIN } from "./_util.ts";

// [bytes, entry, operand size, memory operand] from the opcode maps of SDM Vol. 2, App. A.
const ROWS: [string, string, number, boolean][] = [
  ["4801d8", "add 01", 64, false],
  ["6601d8", "add 01", 16, false],
  ["0118", "add 01", 32, true],
  ["f0480fb10b", "cmpxchg 0f b1", 64, true],
  ["48c1e005", "shl c1/4", 64, false],
  ["66d3f8", "sar d3/7", 16, false],
  ["ff2425" + "00083000", "jmp ff/4", 64, true],
  ["6650", "push 50", 16, false],
  ["0faee8", "lfence 0f ae/5", 64, false],
  ["f4", "hlt f4", 32, false],
  ["66410f3800c1", "pshufb 0f 38 00", 32, false],
  ["66480f3a1600ff", "pextrd 0f 3a 16", 64, true],
  ["66f2480f38f1c3", "crc32 0f 38 f1", 64, false],
  ["66f30fb8c3", "popcnt 0f b8", 16, false],
];

for (const [hex, name, size, memory] of ROWS) {
  Deno.test(`lookupEncoding() finds ${name} for ${hex}`, () => {
    const info = lookupEncoding(hexToBytes(hex));
    assert.ok(info.spec, hex);
    assert.equal(entryName(info.spec), name);
    if (!name.startsWith("lfence") && !name.startsWith("hlt")) assert.equal(info.size, size, hex);
    assert.equal(info.memory, memory);
  });
}

Deno.test("lookupEncoding() reports an opcode outside the table (0f 0e, FEMMS)", () => {
  assert.equal(lookupEncoding(hexToBytes("0f0e")).spec, undefined);
});

Deno.test({
  name:
    "tableCoverage(): the generated cases reach every entry of hvsim's instruction table not excluded on purpose",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const cov = tableCoverage(await generateCases({ seed: 1, cases: 20000 }));
    const missing = cov.entries.filter((e) =>
      e.variants.length === 0 && !(entryName(e.spec) in EXCLUDED_ENTRIES)
    );
    assert.deepEqual(missing.map((e) => entryName(e.spec)), [], "table entries without a conformance form");
    assert.deepEqual(cov.outsideTable, [], "forms whose encoding hvsim's table lacks");
  },
});

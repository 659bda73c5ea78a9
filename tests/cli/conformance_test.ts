import assert from "node:assert/strict";
import { main } from "../../src/cli/conformance.ts";
import { UsageError } from "../../src/cli/_common.ts";

Deno.test("conformance main() rejects a bad --cases with a UsageError", async () => {
  await assert.rejects(() => main(["--cases", "lots"]), UsageError);
  await assert.rejects(() => main(["--cases", "0"]), UsageError);
});

Deno.test("conformance main() rejects a missing --cases-file with a UsageError", async () => {
  await assert.rejects(() => main(["--cases-file", "/nonexistent/cases.jsonl"]), UsageError);
});

Deno.test("conformance main() --help prints usage and returns 0", async () => {
  const log = console.log;
  let text = "";
  console.log = (s: string) => text += s;
  try {
    assert.equal(await main(["--help"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(text, /deno task conformance/);
});

Deno.test("conformance main() --runners hvsim,hvsim-compiled runs the interpreter and the block compiler side by side", async () => {
  const log = console.log;
  let text = "";
  console.log = (s: string) => text += s + "\n";
  try {
    assert.equal(await main(["--cases", "300", "--seed", "3", "--runners", "hvsim,hvsim-compiled"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(text, /hvsim-compiled +\d/);
  assert.match(text, /300 cases, 0 with unexplained mismatches/);
});

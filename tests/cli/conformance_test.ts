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

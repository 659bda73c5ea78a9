import assert from "node:assert/strict";
import { main } from "../../src/cli/migrate_sweep.ts";
import { UsageError } from "../../src/cli/_common.ts";

const hello = new URL("../../guests/build/hello.elf", import.meta.url).pathname;

Deno.test("migrate-sweep main() finds every point in a range equal to the unmigrated run", async () => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(await main([hello, "--memory", "8M", "--from", "200", "--to", "212", "--step", "3"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(lines.at(-1)!, /^migrate-sweep: 5 points from 200 to 212 step 3: 0 differ/);
});

Deno.test("migrate-sweep main() refuses a range outside the run with a UsageError", async () => {
  await assert.rejects(main([hello, "--memory", "8M", "--to", "99999999"]), UsageError);
  await assert.rejects(main([hello, "--step", "0"]), UsageError);
});

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

Deno.test("migrate-sweep main() sweeps on the WebAssembly backend with --backend wasm", async () => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (s: string) => lines.push(s);
  try {
    const args = [hello, "--memory", "8M", "--from", "300", "--to", "305", "--backend", "wasm"];
    assert.equal(await main(args), 0);
  } finally {
    console.log = log;
  }
  assert.match(lines.at(-1)!, /^migrate-sweep: 6 points from 300 to 305 step 1: 0 differ/);
});

Deno.test("migrate-sweep main() refuses a range outside the run or an unknown backend with a UsageError", async () => {
  await assert.rejects(main([hello, "--memory", "8M", "--to", "99999999"]), UsageError);
  await assert.rejects(main([hello, "--step", "0"]), UsageError);
  await assert.rejects(main([hello, "--backend", "fast"]), UsageError);
});

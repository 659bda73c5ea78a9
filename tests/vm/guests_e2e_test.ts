/**
 * End-to-end: every sample guest in guests/manifest.json runs under hvsim and prints exactly its
 * expected console output (from the native build of the same source, or reasoned by hand for
 * guests that cannot run natively) with its expected exit code.
 */

import assert from "node:assert/strict";
import { Machine, parseSize } from "../../src/vm/mod.ts";

interface Run {
  name: string;
  elf: string;
  cmdline: string;
  memory: string;
  expected: string;
  exitCode: number;
  exitReason?: string;
}

const root = new URL("../../", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));

for (const run of manifest.runs as Run[]) {
  Deno.test(`guest ${run.name} prints its expected output under hvsim`, () => {
    const elf = Deno.readFileSync(new URL(run.elf, root));
    const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline: run.cmdline }, run.name);
    const exit = m.runToEnd(2e9);
    const expected = Deno.readTextFileSync(new URL(run.expected, root));
    assert.equal(m.consoleText(), expected);
    const reason = run.exitReason ?? "debug-exit";
    if (reason === "debug-exit") {
      assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason, code: run.exitCode });
    } else {
      assert.equal(exit.reason, reason, exit.message);
    }
  });
}

import assert from "node:assert/strict";
import { assertSameRun, diffRuns, runGuest } from "../../src/replay/mod.ts";

const read = (p: string) => Deno.readFileSync(new URL("../../" + p, import.meta.url));

Deno.test("assertSameRun() lists every difference between two runs, one per line", () => {
  const elf = read("guests/build/hello.elf");
  const a = runGuest(elf, { cmdline: "greeting=hi" }), b = runGuest(elf, { cmdline: "greeting=yo" });
  assert.deepEqual(diffRuns(a, a), []);
  assert.throws(() => assertSameRun(a, b, ["hi", "yo"]), (e: Error) => {
    assert.match(e.message, /^runs differ \(hi vs yo\):\n/);
    assert.match(
      e.message,
      /\n {2}console: first difference on line 2: hi "ram: 64 MiB, cmdline: \\"greeting=hi\\"", yo /,
    );
    assert.match(e.message, /\n {2}digest: hi [0-9a-f]{64}, yo [0-9a-f]{64}/);
    return true;
  });
});

import { equal, ok } from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("soak: a guest that dirties memory migrates back and forth 24 times (4 over TCP), ends equal, memory flat", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${root}src/cli/soak.ts`,
      "--hops",
      "24",
      "--tcp-hops",
      "4",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  const j = JSON.parse(new TextDecoder().decode(r.stdout));
  equal(r.code, 0, err + JSON.stringify(j));
  equal(j.equal, true, j.differences.join("; "));
  equal(j.instructions, 25 * 20_000);
  ok(j.memory.collected);
  ok(j.memory.flat, `grew ${j.memory.growthBytes} bytes`);
});

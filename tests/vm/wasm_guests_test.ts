/**
 * Every sample guest run of guests/manifest.json on the WebAssembly backend (`--backend wasm`, the
 * default compile threshold) equals its interpreted run: exit, instruction count, console output and
 * digest. Runs up to 2M instructions are compared whole; longer ones are compared with the
 * interpreter over their first 300,000 instructions, then to the end with the JavaScript compiler's
 * run (whose equality with the interpreter tests/cpu/compiler_test.ts checks; the benchmark runs'
 * ends are compared so in tests/cpu/wasm_test.ts, which keeps this file fast).
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { Machine, parseSize } from "../../src/vm/mod.ts";
import { assertSameEnd, guestMaker, SAMPLE_RUNS } from "./_guests.ts";

const FULL = 2_000_000, PREFIX = 300_000;

for (const run of SAMPLE_RUNS) {
  Deno.test(`wasm: guest ${run.name} runs as interpreted`, () => {
    const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
    const make = (backend: "js" | "wasm", interpreted = false) => {
      const m = Machine.fromElf(
        elf,
        { memory: parseSize(run.memory), cmdline: run.cmdline, backend },
        run.name,
      );
      if (interpreted) m.cpu.compileThreshold = Infinity;
      return m;
    };
    const w = make("wasm"), i = make("js", true);
    w.run(FULL);
    if (w.exit !== null) {
      i.runToEnd(2 * FULL);
      assertSameEnd(w, i, run.name);
    } else {
      const v = make("wasm");
      v.run(PREFIX);
      i.run(PREFIX);
      assertSameEnd(v, i, `${run.name} at ${PREFIX}`);
      assert.deepEqual(v.regs(), i.regs(), `${run.name} at ${PREFIX}`);
      w.runToEnd(2e9);
      if (!run.benchmark) {
        const js = guestMaker(run)();
        js.runToEnd(2e9);
        assertSameEnd(w, js, run.name);
      }
    }
    assert.ok(w.cpu.wasm !== null && w.cpu.wasm.compiled > 0, `${run.name}: no wasm region`);
  });
}

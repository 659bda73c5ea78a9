/**
 * The every-point migration sweep through code compiled to WebAssembly: a sample guest on the wasm
 * backend (every block compiled the first time it runs), migrated at every instruction boundary of
 * a stretch of its hot loop, ends each time equal to the interpreted run that never moved (exit,
 * instruction count, console, digest, compared a window after the switchover). The source must
 * have stopped inside compiled regions: at most points the block holding its RIP was compiled to
 * wasm. `deno task migrate-sweep <elf> --backend wasm` sweeps whole runs by hand.
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { Machine, parseSize } from "../../src/vm/mod.ts";
import { assertSameEnd, migrateAt, SAMPLE_RUNS } from "./_guests.ts";

Deno.test("wasm: sort-O3 migrated at every boundary of a stretch of compiled code ends equal to the unmigrated run", async () => {
  const run = SAMPLE_RUNS.find((r) => r.name === "sort-O3")!;
  const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
  const make = (wasm: boolean) => {
    const m = Machine.fromElf(
      elf,
      // 8 MiB of RAM (the guest needs less) keeps each migration's copy small.
      { memory: parseSize("8M"), cmdline: run.cmdline, backend: wasm ? "wasm" : "js" },
      run.name,
    );
    m.cpu.compileThreshold = wasm ? 1 : Infinity;
    return m;
  };
  const FROM = 50_000, POINTS = 24, WINDOW = 10_000;
  const ref = make(false);
  let inside = 0;
  for (let at = FROM; at < FROM + POINTS; at++) {
    const src = make(true);
    const d = await migrateAt(src, at);
    // Where the source stopped: a compiled block holding (or ending at) its RIP.
    const rip = src.cpu.rip;
    const blocks = [...src.cpu.blocks.all()];
    if (
      blocks.some((b) =>
        b.compiledBy === "wasm" && b.hpa <= rip && rip <= b.hpa + b.insns.reduce((s, i) => s + i.len, 0)
      )
    ) inside++;
    assert.ok(src.cpu.wasm !== null && src.cpu.wasm.compiled > 0, `at ${at}: no wasm region`);
    d.cpu.backend = "wasm";
    d.cpu.compileThreshold = 1;
    const end = at + WINDOW;
    d.run(end - d.instructions);
    ref.run(end - ref.instructions);
    assertSameEnd(d, ref, `migrated at ${at}, compared at ${end}`);
    assert.ok(d.cpu.wasm !== null && d.cpu.wasm.compiled > 0, `at ${at}: the destination compiled nothing`);
  }
  assert.ok(inside >= POINTS * 0.9, `${inside} of ${POINTS} points inside compiled code`);
});

/**
 * What debugging with gdb costs (src/gdb): the guest's speed with the history's snapshots and with a
 * breakpoint set, and how far back reverse execution goes in how long. On the sort guest (the
 * benchmark run of guests/manifest.json), in process, after one warm-up run, without a client: the target's operations are
 * the ones the server performs for `continue`, `reverse-stepi` (bs) and `reverse-continue` (bc).
 *
 * ```
 * deno run -A bench/gdb_reverse.ts [--at N]
 * ```
 */

import { parseArgs } from "node:util";
import { DebugTarget } from "../src/gdb/mod.ts";
import { Machine } from "../src/vm/mod.ts";

const { values } = parseArgs({ args: Deno.args, options: { at: { type: "string", default: "20000000" } } });
const at = Number(values.at);
const root = new URL("../", import.meta.url);
const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));
const run = manifest.runs.find((r: { name: string }) => r.name === "sort");
const elf = Deno.readFileSync(new URL(run.elf, root));
const fresh = () => Machine.fromElf(elf, { memory: 64 * 2 ** 20, cmdline: run.cmdline }, "sort");

/** The address of a symbol of the ELF (for a breakpoint), from binutils' nm. */
function symbol(name: string): bigint {
  const out = new Deno.Command("nm", { args: [new URL(run.elf, root).pathname] }).outputSync();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`sort.elf has no symbol ${name}`);
  return BigInt("0x" + line.split(" ")[0]);
}

/** Runs the target forward to instruction `n` as the server's continue does (snapshots included). */
function forward(t: DebugTarget, n: number): void {
  const m = t.machine, h = t.history;
  while (m.instructions < n && m.exit === null) {
    const limit = h ? Math.min(n, h.nextSnapshotAt) : n;
    m.run(Math.max(1, limit - m.instructions));
    h?.maybeSnapshot();
    if (t.debug.stopped !== null) t.debug.stopped = null;
  }
}

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

const rows: [string, string][] = [];
fresh().run(at); // warm-up: V8 compiles the interpreter and the guest's blocks once
{
  const m = fresh();
  const s = time(() => m.run(at));
  rows.push([
    `forward ${at / 1e6}M instructions, no debugger`,
    `${s.toFixed(2)} s (${(at / s / 1e6).toFixed(1)} MIPS)`,
  ]);
}
const t = new DebugTarget(fresh());
{
  const s = time(() => forward(t, at));
  rows.push([
    `same under the debugger (history: a snapshot every ${t.history!.interval} instructions)`,
    `${s.toFixed(2)} s (${(at / s / 1e6).toFixed(1)} MIPS), ${t.history!.size} snapshots`,
  ]);
}
{
  const t2 = new DebugTarget(fresh(), { noHistory: true });
  t2.insertBreakpoint("swbreak", 1n); // never hit: the CPU checks it before every instruction
  const n = Math.min(at, 2_000_000);
  const s = time(() => forward(t2, n));
  rows.push([
    `with a breakpoint set (checked block by block), ${n / 1e6}M`,
    `${(n / s / 1e6).toFixed(2)} MIPS`,
  ]);
}
{
  const first = time(() => t.reverseStep());
  const k = 20;
  const rest = time(() => {
    for (let i = 0; i < k; i++) t.reverseStep();
  });
  rows.push([
    `reverse-stepi (bs) at ${at / 1e6}M: the first, then each of ${k} more`,
    `${(first * 1000).toFixed(0)} ms, then ${(rest / k * 1000).toFixed(1)} ms each`,
  ]);
}
{
  // main is entered once, near the start: reverse-continue scans every interval back to it.
  t.insertBreakpoint("swbreak", symbol("main"));
  const from = t.machine.instructions;
  let reply = "";
  const s = time(() => reply = t.reverseContinue());
  const back = from - t.machine.instructions;
  rows.push([
    `reverse-continue (bc) to the only hit, ${(back / 1e6).toFixed(1)}M instructions back`,
    `${s.toFixed(2)} s (${(back / s / 1e6).toFixed(2)}M instructions scanned per second; ${reply})`,
  ]);
}
for (const [k, v] of rows) console.log(`${k.padEnd(80)} ${v}`);

/**
 * Guest MIPS (retired instructions per second of wall time) on each benchmark guest of
 * guests/manifest.json (`--long`: on its long command line), with hot code compiled by the
 * JavaScript block compiler and by the WebAssembly backend (`--backend js` or `wasm`: only that one),
 * next to Unicorn 2.0.1 (QEMU's TCG,
 * Debian's python3-unicorn) running the same ELF with the same command line (`--no-unicorn`: hvsim
 * only). Each guest runs once to warm the JIT (not the long runs), then `repeat` timed times; the
 * best run counts (the least disturbed by other work on the machine). Unicorn's runs alternate with
 * hvsim's, so both see the same load.
 *
 * Unicorn has no instruction counter short of a hook per instruction (which would measure the
 * hook), so its MIPS divides hvsim's retired-instruction count by Unicorn's time: both run the same
 * deterministic program to the same end (their console output is compared), and hvsim counts as
 * the native build's callgrind does (guests/README.md). Unicorn's time is that of `emu_start`, its
 * code translation included, without Python's start-up and the ELF loading.
 */

import { Machine, parseSize } from "../src/vm/mod.ts";
import { findUnicornPython } from "../src/conformance/unicorn_runner.ts";

interface Run {
  name: string;
  elf: string;
  cmdline: string;
  memory: string;
  benchmark: boolean;
  longCmdline?: string;
  generalRegs?: string;
}

/** One guest's result. */
export interface MipsResult {
  name: string;
  instructions: number;
  seconds: number;
  mips: number;
  /** Best time with the WebAssembly backend, when it was measured. */
  wasmSeconds?: number;
  /** Unicorn's best time on the same run, when it was measured. */
  unicornSeconds?: number;
  /** For a default-flags (SSE2) build: the run of its `-mgeneral-regs-only` build. */
  generalRegs?: string;
}

/** One run of `elf` under Unicorn (bench/unicorn_guest.py): seconds, or an error. */
async function runUnicorn(
  python: string,
  elf: string,
  memory: number,
  cmdline: string,
  console: string,
): Promise<number> {
  const script = new URL("./unicorn_guest.py", import.meta.url).pathname;
  const out = await new Deno.Command(python, { args: [script, elf, String(memory), cmdline] }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`unicorn: ${new TextDecoder().decode(out.stderr).trim()}`);
  const r = JSON.parse(text) as { seconds: number; error: string | null; console: string };
  if (r.error !== null) throw new Error(`unicorn: ${r.error}`);
  if (r.console !== console) throw new Error(`unicorn: ${elf} printed other than under hvsim`);
  return r.seconds;
}

/**
 * Measures every benchmark guest (or those named in `only`); with `long`, on its long command line
 * (about ten times the work, so the warm-up of the compiled code in V8 is a small part). With
 * `unicorn` (and python3-unicorn installed), each guest also runs under Unicorn.
 */
export async function measureMips(
  repeat = 3,
  only?: string[],
  long = false,
  unicorn = true,
  backends: ("js" | "wasm")[] = ["js", "wasm"],
): Promise<MipsResult[]> {
  const root = new URL("../", import.meta.url);
  const manifest = JSON.parse(Deno.readTextFileSync(new URL("guests/manifest.json", root)));
  const python = unicorn ? await findUnicornPython() : undefined;
  const out: MipsResult[] = [];
  for (const run of manifest.runs as Run[]) {
    if (!run.benchmark || (only && !only.includes(run.name))) continue;
    const cmdline = long ? run.longCmdline ?? run.cmdline : run.cmdline;
    const elfPath = new URL(run.elf, root).pathname;
    const elf = Deno.readFileSync(elfPath);
    const best = { js: Infinity, wasm: Infinity };
    let ucBest = Infinity, instructions = 0, console = "";
    const first = long ? 0 : 1; // a long run is its own warm-up
    for (let k = 0; k < first + repeat; k++) {
      for (const backend of backends) {
        const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline, backend }, run.name);
        const t0 = performance.now();
        m.runToEnd(5e9);
        const s = (performance.now() - t0) / 1000;
        if (console !== "" && (m.instructions !== instructions || m.console.text() !== console)) {
          throw new Error(`${run.name}: the ${backend} backend's run differs`);
        }
        instructions = m.instructions;
        console = m.console.text();
        if (k >= first && s < best[backend]) best[backend] = s;
      }
      if (python !== undefined && k >= first) {
        const u = await runUnicorn(python, elfPath, parseSize(run.memory), cmdline, console);
        if (u < ucBest) ucBest = u;
      }
    }
    const seconds = backends.includes("js") ? best.js : best.wasm;
    out.push({
      name: run.name,
      instructions,
      seconds,
      mips: instructions / seconds / 1e6,
      ...(backends.includes("js") && backends.includes("wasm") ? { wasmSeconds: best.wasm } : {}),
      ...(python !== undefined ? { unicornSeconds: ucBest } : {}),
      ...(run.generalRegs !== undefined ? { generalRegs: run.generalRegs } : {}),
    });
  }
  return out;
}

/** Prints `rows` as a table (with the wasm backend's and Unicorn's columns when they were measured). */
export function printMips(rows: MipsResult[]): void {
  const w = rows.some((r) => r.wasmSeconds !== undefined);
  const uc = rows.some((r) => r.unicornSeconds !== undefined);
  console.log(
    `guest            instructions   seconds    MIPS${w ? "  wasm: s    MIPS" : ""}${
      uc ? "   Unicorn  MIPS  hvsim/Unicorn" : ""
    }${uc && w ? "  wasm/Unicorn" : ""}`,
  );
  const f = (x: number, n: number, d: number) => x.toFixed(d).padStart(n);
  for (const r of rows) {
    let line = `${r.name.padEnd(16)} ${String(r.instructions).padStart(12)} ${f(r.seconds, 9, 3)} ${
      f(r.mips, 7, 1)
    }`;
    const wmips = r.wasmSeconds === undefined ? 0 : r.instructions / r.wasmSeconds / 1e6;
    if (r.wasmSeconds !== undefined) line += ` ${f(r.wasmSeconds, 9, 3)} ${f(wmips, 7, 1)}`;
    if (r.unicornSeconds !== undefined) {
      const umips = r.instructions / r.unicornSeconds / 1e6;
      line += ` ${f(r.unicornSeconds, 9, 3)} ${f(umips, 6, 1)} ${f(r.mips / umips, 13, 2)}x`;
      if (r.wasmSeconds !== undefined) line += ` ${f(wmips / umips, 12, 2)}x`;
    }
    console.log(line);
  }
}

/**
 * Prints each default-flags (SSE2) build of `rows` beside its `-mgeneral-regs-only` build (both
 * measured in `rows`): MIPS of each, and how much faster the default-flags build finishes (the
 * general-register build's seconds over its own; the two may retire different instruction counts,
 * vectorized code fewer).
 */
export function printDefaultFlags(rows: MipsResult[]): void {
  const pairs = rows.flatMap((r) => {
    const twin = rows.find((t) => t.name === r.generalRegs);
    return twin === undefined ? [] : [[r, twin] as const];
  });
  if (pairs.length === 0) return;
  console.log("default flags (SSE2)    MIPS  Unicorn | -mgeneral-regs-only      MIPS | speed-up (time)");
  for (const [r, g] of pairs) {
    const uc = r.unicornSeconds === undefined ? "" : (r.instructions / r.unicornSeconds / 1e6).toFixed(1);
    console.log(
      `${r.name.padEnd(20)} ${r.mips.toFixed(1).padStart(7)} ${uc.padStart(8)} | ${g.name.padEnd(20)} ${
        g.mips.toFixed(1).padStart(7)
      } | ${(g.seconds / r.seconds).toFixed(2).padStart(14)}x`,
    );
  }
}

if (import.meta.main) {
  const long = Deno.args.includes("--long");
  const b = Deno.args.indexOf("--backend");
  const backends = b >= 0 ? [Deno.args[b + 1] as "js" | "wasm"] : ["js" as const, "wasm" as const];
  if (!backends.every((x) => x === "js" || x === "wasm")) {
    console.error("cpu_mips: --backend js or --backend wasm");
    Deno.exit(2);
  }
  const only = Deno.args.filter((a, k) => !a.startsWith("-") && Deno.args[k - 1] !== "--backend");
  const rows = await measureMips(
    long ? 1 : 2,
    only.length ? only : undefined,
    long,
    !Deno.args.includes("--no-unicorn"),
    backends,
  );
  printMips(rows);
  console.log();
  printDefaultFlags(rows);
}

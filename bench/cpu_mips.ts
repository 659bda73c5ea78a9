/**
 * Guest MIPS (retired instructions per second of wall time) on each benchmark guest of
 * guests/manifest.json (`--long`: on its long command line), next to Unicorn 2.0.1 (QEMU's TCG,
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
    let best = Infinity, ucBest = Infinity, instructions = 0;
    const first = long ? 0 : 1; // a long run is its own warm-up
    for (let k = 0; k < first + repeat; k++) {
      const m = Machine.fromElf(elf, { memory: parseSize(run.memory), cmdline }, run.name);
      const t0 = performance.now();
      m.runToEnd(5e9);
      const s = (performance.now() - t0) / 1000;
      instructions = m.instructions;
      if (k >= first && s < best) best = s;
      if (python !== undefined && k >= first) {
        const u = await runUnicorn(python, elfPath, parseSize(run.memory), cmdline, m.console.text());
        if (u < ucBest) ucBest = u;
      }
    }
    out.push({
      name: run.name,
      instructions,
      seconds: best,
      mips: instructions / best / 1e6,
      ...(python !== undefined ? { unicornSeconds: ucBest } : {}),
      ...(run.generalRegs !== undefined ? { generalRegs: run.generalRegs } : {}),
    });
  }
  return out;
}

/** Prints `rows` as a table (with Unicorn's columns when it was measured). */
export function printMips(rows: MipsResult[]): void {
  const uc = rows.some((r) => r.unicornSeconds !== undefined);
  console.log(
    `guest            instructions   seconds    MIPS${uc ? "   Unicorn  MIPS  hvsim/Unicorn" : ""}`,
  );
  for (const r of rows) {
    let line = `${r.name.padEnd(16)} ${String(r.instructions).padStart(12)} ${
      r.seconds.toFixed(3).padStart(9)
    } ${r.mips.toFixed(1).padStart(7)}`;
    if (r.unicornSeconds !== undefined) {
      const umips = r.instructions / r.unicornSeconds / 1e6;
      line += ` ${r.unicornSeconds.toFixed(3).padStart(9)} ${umips.toFixed(1).padStart(6)} ${
        (r.mips / umips).toFixed(2).padStart(13)
      }x`;
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
  const only = Deno.args.filter((a) => !a.startsWith("-"));
  const long = Deno.args.includes("--long");
  const rows = await measureMips(
    long ? 1 : 2,
    only.length ? only : undefined,
    long,
    !Deno.args.includes("--no-unicorn"),
  );
  printMips(rows);
  console.log();
  printDefaultFlags(rows);
}

/**
 * `deno task fuzz <surface|all>`: seeded, reproducible fuzzing of every input hvsim parses (see
 * `src/fuzz/`). Cases run in a separate process that may write only into the output directory; a
 * case that throws anything but a clean refusal is a crash, one that takes longer than
 * `--case-timeout` a hang, one that leaves more than `--memory-bound` allocated a memory failure.
 * Each failure is saved as a reproducer file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseDurationMs } from "../migration/link.ts";
import { caseInput, runCase } from "../fuzz/cases.ts";
import { loadSurface, surfaceNames } from "../fuzz/registry.ts";
import type { FuzzSurface } from "../fuzz/surface.ts";
import { LINE_PREFIX } from "../fuzz/worker.ts";
import { parseSize } from "../vm/elf.ts";
import { parseCount, readInput, runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task fuzz <surface|all> [--cases N] [--seed S] [--out DIR] [options]
       deno task fuzz <surface> --seed S --case I        run one case again (in this process)
       deno task fuzz <surface> --replay FILE            run a saved reproducer

Surfaces: ${surfaceNames().join(", ")}

Each case is a real valid input (made by hvsim from the sample guests) mutated by a generator seeded
from the seed and the case number: bits flipped and boundary values set in lengths, CRCs, versions,
counts and addresses, records dropped, repeated, reordered, truncated or spliced from another input,
random bytes; most mutated inputs get their checksums made right again so they reach the checks
behind them. Every case must end in a correct run (at most --max-instructions guest instructions)
or a clean refusal with one line.

Options:
  --cases N              cases per surface (default 1000)
  --seed S               seed (default 1)
  --out DIR              where reproducers and scratch files go (default fuzz-out); the case
                         process may write nowhere else
  --max-instructions N   guest instructions a case may run (default 20k)
  --case-timeout TIME    a case using more CPU time is a hang (default 10s; 10 times that of
                         wall time ends it too)
  --memory-bound SIZE    memory a case may leave allocated (default 512M)
  --jobs N               case processes running at once (default 1), each with its own
                         chunk of the cases
  --json                 one JSON object per surface
  -h, --help             this text

Exit status: 0 when no case crashed, hung or exceeded the memory bound; 1 otherwise; 2 bad input.`;

/** Totals of one surface's run. */
export interface FuzzSummary {
  surface: string;
  seed: number;
  cases: number;
  accepted: number;
  refused: number;
  crashes: number;
  hangs: number;
  memory: number;
  slowestMs: number;
  slowestCase: number;
  /** The most CPU time one case used, ms, and which case. */
  mostCpuMs: number;
  mostCpuCase: number;
  seconds: number;
  /** Refusals grouped by their line with numbers blanked, most frequent first (top 12). */
  refusals: [string, number][];
  /** Reproducer files written. */
  reproducers: string[];
}

interface Options {
  seed: number;
  cases: number;
  out: string;
  maxInstructions: number;
  caseTimeoutMs: number;
  memoryBound: number;
  jobs: number;
}

/** Read `@@fz` lines from a child's stdout, each within `ms()` or null on timeout / end. */
class LineReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  #dec = new TextDecoder();
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  constructor(s: ReadableStream<Uint8Array>) {
    this.#reader = s.getReader();
  }
  async next(ms: number): Promise<Record<string, unknown> | "timeout" | "end"> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.startsWith(LINE_PREFIX)) return JSON.parse(line.slice(LINE_PREFIX.length));
        continue;
      }
      this.#pending ??= this.#reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
      const r = await Promise.race([this.#pending, late]);
      clearTimeout(timer);
      if (r === "timeout") return "timeout";
      this.#pending = null;
      if (r.done) return "end";
      this.#buf += this.#dec.decode(r.value, { stream: true });
    }
  }
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/** CPU time (user + system) the process `pid` has used, ms; undefined where /proc cannot tell. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

/** Cases a case process runs at most before the next one starts (its corpus is built once per process). */
const CHUNK_CASES = 5000;

/** The most wall time a case may take whatever its CPU time, as a multiple of `--case-timeout`. */
const WALL_LIMIT_FACTOR = 10;

async function fuzzSurface(
  name: string,
  o: Options,
  progress: (s: FuzzSummary) => void,
): Promise<FuzzSummary> {
  const s: FuzzSummary = {
    surface: name,
    seed: o.seed,
    cases: 0,
    accepted: 0,
    refused: 0,
    crashes: 0,
    hangs: 0,
    memory: 0,
    slowestMs: 0,
    slowestCase: -1,
    mostCpuMs: 0,
    mostCpuCase: -1,
    seconds: 0,
    refusals: [],
    reproducers: [],
  };
  const reasons = new Map<string, number>();
  const t0 = performance.now();
  let parent: Promise<{ surface: FuzzSurface; corpus: Uint8Array[] }> | undefined;
  const save = async (i: number, kind: string, detail: string) => {
    parent ??= loadSurface(name).then(async (surface) => ({ surface, corpus: await surface.corpus() }));
    const p = await parent;
    const base = `${o.out}/${name}-seed${o.seed}-case${i}`;
    await Deno.writeFile(`${base}.bin`, caseInput(p.surface, p.corpus, o.seed, i));
    await Deno.writeTextFile(
      `${base}.txt`,
      `${kind} in surface ${name}, seed ${o.seed}, case ${i}\n` +
        `reproduce: deno task fuzz ${name} --replay ${base}.bin  (or --seed ${o.seed} --case ${i})\n\n${detail}\n`,
    );
    s.reproducers.push(`${base}.bin`);
  };
  let lastProgress = performance.now();
  // Cases from..to-1 in one case process at a time (a new one after a hang or a crash).
  const runRange = async (from: number, to: number) => {
    let next = from;
    while (next < to) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--v8-flags=--expose-gc",
          "--allow-read",
          `--allow-write=${o.out}`,
          "--allow-net=127.0.0.1",
          "--allow-env",
          new URL("../fuzz/worker.ts", import.meta.url).pathname,
          name,
          String(o.seed),
          String(next),
          String(to),
          o.out,
          String(o.maxInstructions),
          String(o.memoryBound),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const lines = new LineReader(child.stdout);
      let ready = false;
      let finished = false;
      let since = performance.now();
      let cpuAtLine = cpuMs(child.pid);
      for (;;) {
        let m = await lines.next(ready ? o.caseTimeoutMs : Math.max(120_000, o.caseTimeoutMs));
        // A case is timed by the CPU time its process uses: on a busy machine it may wait for a CPU
        // much longer than it runs. Wall time still ends it at WALL_LIMIT_FACTOR x the bound.
        while (m === "timeout" && ready) {
          const cpu = cpuMs(child.pid);
          const used = cpu === undefined || cpuAtLine === undefined ? Infinity : cpu - cpuAtLine;
          if (used >= o.caseTimeoutMs || performance.now() - since >= WALL_LIMIT_FACTOR * o.caseTimeoutMs) {
            break;
          }
          const wall = WALL_LIMIT_FACTOR * o.caseTimeoutMs - (performance.now() - since);
          m = await lines.next(Math.max(1, Math.min(o.caseTimeoutMs - used, wall)));
        }
        since = performance.now();
        cpuAtLine = cpuMs(child.pid);
        if (m === "timeout" || m === "end") {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
          lines.cancel();
          const err = (await stderr).trim().split("\n").slice(-20).join("\n");
          await child.status;
          if (!ready) {
            throw new Error(
              `the ${name} case process did not start: ${err || "timed out building its corpus"}`,
            );
          }
          if (m === "timeout") {
            s.hangs++;
            await save(
              next,
              "hang",
              `no end within ${o.caseTimeoutMs} ms of CPU time (or ${WALL_LIMIT_FACTOR} times that of wall time)`,
            );
          } else {
            s.crashes++;
            await save(next, "crash", `the case process died:\n${err}`);
          }
          s.cases++;
          next++;
          break;
        }
        if (m.ready) {
          if (m.outside !== "denied" && m.outside !== "prompt") {
            child.kill("SIGKILL");
            throw new Error(
              `the ${name} case process may write outside ${o.out} (${m.outside}): refusing to run`,
            );
          }
          ready = true;
          continue;
        }
        if (m.done) {
          finished = true;
          break;
        }
        const i = m.i as number, ms = m.ms as number, cpu = m.cpu as number;
        // a case that ended but used more CPU time than the bound is a hang as well
        const r = cpu > o.caseTimeoutMs && (m.r === "accepted" || m.r === "refused") ? "hang" : m.r as string;
        s.cases++;
        next = i + 1;
        if (cpu > s.mostCpuMs) {
          s.mostCpuMs = cpu;
          s.mostCpuCase = i;
        }
        if (ms > s.slowestMs) {
          s.slowestMs = ms;
          s.slowestCase = i;
        }
        if (r === "accepted") s.accepted++;
        else if (r === "refused") {
          s.refused++;
          const key = String(m.d ?? "").replace(/^\S*\/scratch-[^/]*\/\S*?: /, "").replace(
            /0x[0-9a-f]+|\d+/g,
            "N",
          ).replace(/"[^"]*"/g, '"…"').slice(0, 100);
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
        } else if (r === "crash") {
          s.crashes++;
          await save(i, "crash", String(m.d));
        } else if (r === "hang") {
          s.hangs++;
          await save(i, "hang", `ended (${m.r}) but used ${cpu.toFixed(1)} ms of CPU time, over the bound`);
        } else {
          s.memory++;
          await save(i, "memory", String(m.d));
        }
        if (performance.now() - lastProgress > 10_000) {
          lastProgress = performance.now();
          s.seconds = (performance.now() - t0) / 1000;
          progress(s);
        }
      }
      if (finished) {
        await child.status;
        await stderr;
      }
    }
  };
  // The cases in chunks, each run by one of --jobs case processes at a time.
  const chunk = Math.max(1, Math.min(CHUNK_CASES, Math.ceil(o.cases / o.jobs)));
  let nextChunk = 0;
  const job = async () => {
    while (nextChunk < o.cases) {
      const from = nextChunk;
      nextChunk = Math.min(o.cases, from + chunk);
      await runRange(from, nextChunk);
    }
  };
  await Promise.all(Array.from({ length: o.jobs }, job));
  if (parent) (await parent).surface.close?.();
  s.seconds = (performance.now() - t0) / 1000;
  s.refusals = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return s;
}

function line(s: FuzzSummary): string {
  return `${s.surface.padEnd(15)} ${String(s.cases).padStart(7)} cases  ${
    String(s.accepted).padStart(6)
  } ran  ` +
    `${
      String(s.refused).padStart(7)
    } refused  ${s.crashes} crashes  ${s.hangs} hangs  ${s.memory} over memory  ` +
    `slowest ${s.slowestMs.toFixed(0)} ms (case ${s.slowestCase}), most CPU ${s.mostCpuMs.toFixed(0)} ms ` +
    `(case ${s.mostCpuCase})  ${s.seconds.toFixed(1)} s`;
}

/** The `fuzz` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      cases: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      out: { type: "string", default: "fuzz-out" },
      case: { type: "string" },
      replay: { type: "string" },
      "max-instructions": { type: "string", default: "20k" },
      "case-timeout": { type: "string", default: "10s" },
      "memory-bound": { type: "string", default: "512M" },
      jobs: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one surface name or all (see --help)");
  const names = positionals[0] === "all" ? surfaceNames() : [positionals[0]];
  const o: Options = {
    seed: parseCount(values.seed!, "--seed") >>> 0,
    cases: parseCount(values.cases!, "--cases"),
    out: values.out!,
    maxInstructions: parseCount(values["max-instructions"]!, "--max-instructions"),
    caseTimeoutMs: parseDurationMs(values["case-timeout"]!),
    memoryBound: parseSize(values["memory-bound"]!, "--memory-bound"),
    jobs: parseCount(values.jobs!, "--jobs"),
  };
  if (o.jobs < 1) throw new UsageError("--jobs must be at least 1");
  for (const n of names) await loadSurface(n);
  await Deno.mkdir(o.out, { recursive: true });
  o.out = await Deno.realPath(o.out);
  if (values.replay !== undefined || values.case !== undefined) {
    if (names.length !== 1) throw new UsageError("--replay and --case need one surface");
    const surface = await loadSurface(names[0]);
    const corpus = await surface.corpus();
    const input = values.replay !== undefined
      ? readInput(values.replay, "reproducer")
      : caseInput(surface, corpus, o.seed, parseCount(values.case!, "--case"));
    const scratch = await Deno.makeTempDir({ dir: o.out, prefix: "scratch-" });
    const r = await runCase(surface, input, { scratch, maxInstructions: o.maxInstructions });
    surface.close?.();
    await Deno.remove(scratch, { recursive: true });
    console.log(`${r.result} in ${r.ms.toFixed(1)} ms: ${r.detail}`);
    return r.result === "crash" ? 1 : 0;
  }
  let failed = 0;
  for (const n of names) {
    const s = await fuzzSurface(n, o, (p) => {
      if (!values.quiet && !values.json) console.error(`[fuzz] ${line(p)}`);
    });
    failed += s.crashes + s.hangs + s.memory;
    if (values.json) console.log(JSON.stringify(s));
    else {
      console.log(line(s));
      for (const [k, v] of s.refusals) console.log(`    ${String(v).padStart(7)}  ${k}`);
      for (const r of s.reproducers) console.log(`    reproducer: ${r}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) runCli("fuzz", () => main(Deno.args));

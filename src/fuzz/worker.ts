/**
 * The process that runs fuzz cases, started by `deno task fuzz` with write access to the output
 * directory only (so a case that writes anywhere else fails). It builds the surface's corpus, runs
 * cases `from..to-1` of a seed, and prints one line per case: `@@fz {json}`. The parent watches the
 * lines: a case that prints nothing in time has hung, a process that dies has crashed.
 *
 * Usage: worker.ts SURFACE SEED FROM TO OUT_DIR MAX_INSTRUCTIONS MEMORY_BOUND_BYTES
 *
 * @module
 */

import process from "node:process";
import { caseInput, runCase } from "./cases.ts";
import { loadSurface } from "./registry.ts";

/** Prefix of the lines the parent reads (anything else on stdout is ignored). */
export const LINE_PREFIX = "@@fz ";

const enc = new TextEncoder();
function emit(o: unknown): void {
  const b = enc.encode(`${LINE_PREFIX}${JSON.stringify(o)}\n`);
  for (let d = 0; d < b.length;) d += Deno.stdout.writeSync(b.subarray(d));
}

function heldBytes(): number {
  const u = Deno.memoryUsage();
  return u.heapUsed + u.external;
}

async function main(args: string[]): Promise<void> {
  const [name, seedText, fromText, toText, out, maxText, boundText] = args;
  const seed = Number(seedText), from = Number(fromText), to = Number(toText);
  const bound = Number(boundText);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const surface = await loadSurface(name);
  const t0 = performance.now();
  const corpus = await surface.corpus();
  const scratch = await Deno.makeTempDir({ dir: out, prefix: `scratch-${name}-` });
  gc();
  const baseline = heldBytes();
  // the sandbox the parent asked for: writes outside the output directory must be refused
  const outside = (await Deno.permissions.query({ name: "write", path: `${out}/../outside` })).state;
  emit({
    ready: true,
    corpus: corpus.length,
    corpusMs: Math.round(performance.now() - t0),
    baseline,
    outside,
  });
  let current = -1;
  const crash = (e: unknown) => {
    emit({ i: current, r: "crash", ms: 0, d: `unhandled: ${(e as Error)?.stack ?? String(e)}` });
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    crash(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    crash(ev.error);
  });
  for (let i = from; i < to; i++) {
    current = i;
    const input = caseInput(surface, corpus, seed, i);
    // What the case allocated and still holds at its end (ArrayBuffers and heap; a collection during
    // the case can only make it look smaller). Housekeeping collections keep the total down.
    const before = heldBytes();
    const cpu0 = process.cpuUsage();
    const r = await runCase(surface, input, { scratch, maxInstructions: Number(maxText) });
    const used = process.cpuUsage(cpu0);
    const cpu = (used.user + used.system) / 1000;
    const grew = heldBytes() - before;
    if (r.result === "crash") emit({ i, r: "crash", ms: r.ms, cpu, d: r.detail });
    else if (grew > bound) {
      emit({ i, r: "memory", ms: r.ms, cpu, d: `${Math.round(grew / 2 ** 20)} MiB allocated by the case` });
    } else {emit({
        i,
        r: r.result,
        ms: r.ms,
        cpu,
        d: r.result === "refused" ? r.detail.slice(0, 160) : undefined,
      });}
    if (heldBytes() - baseline > 2 * bound) gc();
  }
  surface.close?.();
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  emit({ done: true });
}

if (import.meta.main) {
  await main(Deno.args);
  Deno.exit(0);
}

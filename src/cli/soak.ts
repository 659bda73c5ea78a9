/**
 * `deno task soak`: the ping-pong migration soak. One guest that keeps dirtying memory moves back
 * and forth between two machines in one process (and the last hops over loopback TCP), then runs
 * to its end; it must end equal to a run that never moved, with the process's memory flat across
 * the hops.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatBytes, type MemorySample, pingPong } from "../migration/mod.ts";
import { Machine } from "../vm/mod.ts";
import { parseCount, parseMemory, readInput, runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task soak [--hops N] [--tcp-hops N] [--stride N] [options]

Moves one running guest (memwrite, rewriting its working set without end) between two machines:
hop k starts at k x stride instructions, pre-copies while the guest runs on, and switches over at
exactly k x stride + stride / 2 instructions; the machine it left takes it back on the next hop.
The last --tcp-hops hops go over loopback TCP. Then the guest runs to (hops + 1) x stride
instructions and is compared with a run that never moved (digest, console, instruction count).
Memory (heap and external, after a full collection when run with --v8-flags=--expose-gc, as the
task does) is sampled after every hop; it must not grow by more than --leak-bound from the end of
the warm-up (the first quarter of the hops, at least 2) to the last hop.

Options:
  --hops N            migrations in all (default 1000)
  --tcp-hops N        of which the last N over loopback TCP (default 50)
  --stride N          instructions between two hops (default 20000)
  --guest FILE        guest (default guests/build/memwrite.elf)
  --cmdline TEXT      its command line (default "ws=1M rate=64 iters=0 spin=0 quiet")
  --memory SIZE       guest RAM (default 8M)
  --leak-bound SIZE   largest memory growth allowed (default 8M)
  --json              one JSON object
  -h, --help          this text

Exit status: 0 equal and flat; 1 not; 2 bad input.`;

const held = (m: MemorySample) => m.heapUsed + m.external;

/** The `soak` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      hops: { type: "string", default: "1000" },
      "tcp-hops": { type: "string", default: "50" },
      stride: { type: "string", default: "20000" },
      guest: {
        type: "string",
        default: new URL("../../guests/build/memwrite.elf", import.meta.url).pathname,
      },
      cmdline: { type: "string", default: "ws=1M rate=64 iters=0 spin=0 quiet" },
      memory: { type: "string", default: "8M" },
      "leak-bound": { type: "string", default: "8M" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see --help)`);
  const hops = parseCount(values.hops!, "--hops");
  const tcpHops = parseCount(values["tcp-hops"]!, "--tcp-hops");
  const stride = parseCount(values.stride!, "--stride");
  if (hops < 1 || tcpHops > hops) throw new UsageError("--hops must be at least 1 and at least --tcp-hops");
  if (stride < 2) throw new UsageError("--stride must be at least 2");
  const memory = parseMemory(values.memory!);
  const leakBound = parseMemory(values["leak-bound"]!);
  const elf = readInput(values.guest!, "guest");
  const make = () => Machine.fromElf(elf, { memory, cmdline: values.cmdline }, values.guest);
  const gc = (globalThis as { gc?: () => void }).gc;
  const t0 = performance.now();
  const r = await pingPong(make(), new Machine({ memory }), {
    hops,
    tcpHops,
    stride,
    gc,
    onHop: (h) => {
      if (!values.json && (h.hop % 10 === 9 || h.hop === hops - 1)) {
        console.error(
          `[soak] hop ${h.hop + 1}/${hops} (${h.via}) at ${h.at}: ${formatBytes(h.bytes)} sent, ` +
            `heap+external ${(held(h.memory) / 2 ** 20).toFixed(1)} MiB, rss ${
              (h.memory.rss / 2 ** 20).toFixed(0)
            } MiB`,
        );
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const end = (hops + 1) * stride;
  const dest = r.vm as Machine;
  dest.runToEnd(end - dest.instructions);
  const ref = make();
  ref.runToEnd(end);
  const differences: string[] = [];
  if (dest.instructions !== ref.instructions) {
    differences.push(`instructions ${dest.instructions} != ${ref.instructions}`);
  }
  if (dest.consoleText() !== ref.consoleText()) differences.push("console output differs");
  const digest = dest.digest(), refDigest = ref.digest();
  if (digest !== refDigest) differences.push(`digest ${digest} != ${refDigest}`);
  // compared after a warm-up (a quarter of the hops, at least 2): compiled code and caches settle
  const warm = Math.min(Math.max(1, Math.floor(hops / 4) - 1), r.hops.length - 1);
  const first = r.hops[warm].memory, last = r.hops[r.hops.length - 1].memory;
  const growth = held(last) - held(first);
  const flat = growth <= leakBound;
  const report = {
    hops,
    tcpHops,
    stride,
    seconds: Number(seconds.toFixed(1)),
    instructions: dest.instructions,
    equal: differences.length === 0,
    differences,
    digest,
    memory: {
      start: r.start,
      afterWarmUp: first,
      warmUpHops: warm + 1,
      end: last,
      growthBytes: growth,
      flat,
      collected: gc !== undefined,
    },
  };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `${hops} hops (${hops - tcpHops} in process, ${tcpHops} over TCP) in ${seconds.toFixed(1)} s; ` +
        (report.equal
          ? `the guest ends equal to the unmigrated run (${dest.instructions} instructions, digest ${
            digest.slice(0, 16)
          }...)`
          : `MISMATCH with the unmigrated run: ${differences.join("; ")}`),
    );
    console.log(
      `memory (heap+external${gc ? ", after a full collection" : ", without forced collections"}): start ${
        mib(held(r.start))
      }, after hop ${warm + 1} ${mib(held(first))}, end ${mib(held(last))}: ${flat ? "flat" : "GROWING"} (${
        growth >= 0 ? "+" : ""
      }${mib(growth)}; rss ${mib(r.start.rss)} -> ${mib(last.rss)})`,
    );
  }
  return report.equal && flat ? 0 : 1;
}

if (import.meta.main) runCli("soak", () => main(Deno.args));

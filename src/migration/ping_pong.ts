/**
 * Ping-pong migration, the soak test of the migration path: one running guest moved back and forth
 * between the same two VM instances many times, in one process (simulated link) or over loopback
 * TCP, while it keeps dirtying memory. Each hop switches over at an exact instruction count, so the
 * guest's end can be compared with a run that never moved; the process's memory is sampled after
 * every hop, so a leak per migration shows as growth.
 *
 * @module
 */

import { MigrationController } from "./controller.ts";
import { RealTimeLink, SimulatedLink } from "./link.ts";
import { connectMigration, listenForMigration } from "./tcp.ts";
import { inProcessTransport } from "./transport.ts";
import type { MigratableVm } from "./vm_interface.ts";

/** Options of {@link pingPong}. */
export interface PingPongOptions {
  /** Migrations in all. */
  hops: number;
  /** How many of them (the last ones) go over loopback TCP instead of in process (default 0). */
  tcpHops?: number;
  /** Guest instructions from the start of one hop to the start of the next. */
  stride: number;
  /** Simulated link bandwidth of in-process hops, bytes/s (default 1e9). */
  bandwidth?: number;
  /** Called after each hop with its report (e.g. to print progress). */
  onHop?: (h: HopReport) => void;
  /** A full garbage collection before each memory sample (e.g. `gc` under `--expose-gc`). */
  gc?: () => void;
}

/** Process memory at one point (bytes), from `Deno.memoryUsage()`. */
export interface MemorySample {
  /** Resident set size, bytes. */
  rss: number;
  /** JavaScript heap in use, bytes. */
  heapUsed: number;
  /** Memory outside the JavaScript heap (ArrayBuffers: guest RAM), bytes. */
  external: number;
}

/** One hop. */
export interface HopReport {
  /** Hop number from 0. */
  hop: number;
  /** Which VM the guest left: "A" or "B". */
  from: "A" | "B";
  /** In process or over loopback TCP. */
  via: "in-process" | "tcp";
  /** The retired-instruction count at the switchover. */
  at: number;
  /** Bytes sent. */
  bytes: number;
  /** Pre-copy rounds. */
  rounds: number;
  /** Memory after the hop (after `gc` when given). */
  memory: MemorySample;
}

function sample(gc?: () => void): MemorySample {
  gc?.();
  const u = Deno.memoryUsage();
  return { rss: u.rss, heapUsed: u.heapUsed, external: u.external };
}

/**
 * Move the guest running in `a` to `b` and back, `opts.hops` times: hop `k` starts at instruction
 * `k * stride` (the guest runs there first), pre-copies while the guest runs on, and switches over at
 * exactly `k * stride + stride / 2`. The VM the guest left is the next hop's destination (every page
 * and all state are written over). Returns the VM holding the guest after the last hop, not run on.
 * Throws if a hop fails.
 */
export async function pingPong(
  a: MigratableVm,
  b: MigratableVm,
  opts: PingPongOptions,
): Promise<{ vm: MigratableVm; hops: HopReport[]; start: MemorySample }> {
  const stride = opts.stride;
  if (!Number.isSafeInteger(stride) || stride < 2) {
    throw new RangeError(`stride ${stride}: expected 2 or more`);
  }
  const tcpFrom = opts.hops - (opts.tcpHops ?? 0);
  let src = a, dst = b;
  let from: "A" | "B" = "A";
  const hops: HopReport[] = [];
  const start = sample(opts.gc);
  for (let hop = 0; hop < opts.hops; hop++) {
    const begin = hop * stride;
    while (!src.finished && src.instructions < begin) src.run(begin - src.instructions);
    if (src.finished) {
      throw new Error(`the guest ended at ${src.instructions} instructions, before hop ${hop}`);
    }
    const stopAt = begin + (stride >>> 1);
    const via = hop >= tcpFrom ? "tcp" : "in-process";
    const target = dst;
    let r;
    if (via === "in-process") {
      const pair = inProcessTransport({ createVm: () => target, base: target });
      r = await new MigrationController(src).migrate(pair.transport, {
        link: new SimulatedLink({ bandwidth: opts.bandwidth ?? 1e9, latencyMs: 0, clockHz: 1e9 }),
        stopAt,
      });
      if (r.ok) await pair.destination;
    } else {
      const l = listenForMigration({ port: 0, createVm: () => target, base: target });
      try {
        const accepted = l.accept();
        accepted.catch(() => {});
        r = await new MigrationController(src).migrate(await connectMigration({ port: l.port }), {
          link: new RealTimeLink(1e6),
          stopAt,
        });
        if (r.ok) await accepted;
      } finally {
        l.close();
      }
    }
    if (!r.ok) throw new Error(`hop ${hop} (${via}) failed: ${r.error?.message}`);
    if (dst.instructions !== stopAt) {
      throw new Error(`hop ${hop} switched over at ${dst.instructions}, expected ${stopAt}`);
    }
    const report: HopReport = {
      hop,
      from,
      via,
      at: stopAt,
      bytes: r.stats.transferred,
      rounds: r.stats.rounds.length,
      memory: sample(opts.gc),
    };
    hops.push(report);
    opts.onHop?.(report);
    [src, dst] = [dst, src];
    from = from === "A" ? "B" : "A";
  }
  return { vm: src, hops, start };
}

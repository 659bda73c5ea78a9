/**
 * `--gdb HOST:PORT [--gdb-wait]` for the commands that run a guest (run, restore, replay): serve
 * the machine to gdb until the guest ends or a client kills it, printing its console output as
 * it comes.
 *
 * @module
 */

import { DebugTarget, serveGdb, type TargetOptions } from "../gdb/mod.ts";
import type { Machine, RunExit } from "../vm/mod.ts";
import { UsageError } from "./_common.ts";
import { parseHostPort } from "./_migrate_common.ts";

/** The help lines of the gdb options. */
export const GDB_HELP =
  `  --gdb HOST:PORT          serve the guest to gdb (GDB remote protocol) on HOST:PORT (127.0.0.1
                           unless given; "target remote HOST:PORT" in gdb); the guest runs until
                           a client attaches
  --gdb-wait               with --gdb: stop before the first instruction until a client attaches`;

/** The parseArgs options of the gdb flags. */
export const GDB_OPTIONS = {
  gdb: { type: "string" },
  "gdb-wait": { type: "boolean", default: false },
} as const;

/** How a run under gdb ended. */
export interface GdbRunEnd {
  /** The guest's end, or a kill by the client. */
  exit: RunExit;
  /** The client killed the guest before it ended. */
  killed: boolean;
}

/**
 * Serves `m` to gdb as `--gdb` asks; `live` prints console output while it runs (not with --json).
 * Returns once the guest has ended and no client holds it, or a client killed it.
 */
export async function runUnderGdb(
  m: Machine,
  spec: string,
  wait: boolean,
  live: boolean,
  opts: TargetOptions = {},
): Promise<GdbRunEnd> {
  const { hostname, port } = parseHostPort(spec, "--gdb");
  const target = new DebugTarget(m, opts);
  let shown = 0;
  const progress = () => {
    if (!live) return;
    const out = m.console.output();
    if (out.length > shown) {
      Deno.stdout.writeSync(out.subarray(shown));
      shown = out.length;
    }
  };
  let end;
  try {
    end = await serveGdb(target, { hostname, port, wait, progress });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) throw new UsageError(`--gdb ${spec}: the address is in use`);
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new UsageError(`--gdb ${spec}: cannot listen there (${(e as Error).message})`);
    }
    throw e;
  }
  progress();
  if (end === "killed") {
    return {
      exit: m.exit ?? { reason: "instruction-limit", code: 0, message: "killed by gdb" },
      killed: true,
    };
  }
  return { exit: m.exit!, killed: false };
}

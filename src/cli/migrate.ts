/**
 * `deno task migrate`: migrate a running guest to a second machine and check that it ends exactly
 * as a run that never moved. In-process over a deterministic simulated link by default; between
 * two processes over TCP with `--listen` and `--to`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  buildMigrationReport,
  formatBytes,
  incomingFailure,
  parseBandwidth,
  parseDurationMs,
  POLICY_NAMES,
} from "../migration/mod.ts";
import { wallClockMs } from "../migration/stats.ts";
import type { MigrationProgress, ReportContext } from "../migration/mod.ts";
import { formatSize, Machine } from "../vm/mod.ts";
import {
  buildMachine,
  LINUX_HELP,
  LINUX_OPTIONS,
  parseCount,
  parseMemory,
  readGuest,
  runCli,
  UsageError,
} from "./_common.ts";
import {
  commandText,
  finish,
  guestRegions,
  guestStatus,
  loadKey,
  machineReport,
  parseHostPort,
  stderrIsTerminal,
  writeReport,
} from "./_migrate_common.ts";
import { migrateInProcess, migrateToTcp, receiveFromTcp } from "../migration/mod.ts";
import { formatProgress, formatRegionRounds, formatSummary } from "./_migrate_format.ts";

const HELP = `Usage: deno task migrate <guest.elf> [options]                  in one process (deterministic)
       deno task migrate <guest.elf> --to HOST:PORT [options]     source side, over TCP
       deno task migrate [guest.elf] --listen HOST:PORT [options] destination side, over TCP

Runs the guest, live-migrates it (pre-copy) to a second machine at --at instructions, runs the
destination to the end, runs the same guest without migration, and compares final digest, console
output and retired-instruction count. Over TCP the destination does the comparison when it is given
the guest; the source reports the migration.

Options:
  --memory SIZE            guest RAM (default 64M)
  --cmdline TEXT           guest command line (default empty)
${LINUX_HELP}
  --max-instructions N     stop every run after N retired instructions in total
  --at N                   start migrating after N retired instructions (default 0)
  --stop-at N              switch over at exactly N retired instructions (the guest waits there)
  --policy NAME            switchover policy: qemu (default), seed, xen
  --bandwidth RATE         simulated link bandwidth, e.g. 1gbit, 100mbit, 125MB (default 1gbit)
  --latency TIME           simulated one-way latency, e.g. 2ms (default 0)
  --downtime-limit TIME    qemu policy: allowed downtime (default 300ms)
  --clock-hz N             guest instructions per second of link time (default 1G: 1 instruction = 1 ns)
  --no-auto-converge       do not throttle a guest that dirties memory faster than the link
  --verify                 re-send all memory at the end; the destination checks it received exactly it
  --key-file FILE          authenticate the stream with HMAC-SHA256 (both sides use the same file)
  --to HOST:PORT           migrate to a destination listening there
  --listen HOST:PORT       be the destination (binds 127.0.0.1 unless a host is given); it takes a
                           stream for exactly --memory of RAM with a guest given, at most without
  --timeout TIME           over TCP: drop a source that sends nothing, or give up on a destination
                           that takes nothing or does not confirm, for this long (default 30s)
  --keep-listening         with --listen: after a failed attempt, wait for the next source
  --json                   one JSON object: the destination's run (as run --json) plus "migration"
                           (QEMU query-migrate names), "reference" (the unmigrated run) and "report"
                           (rounds, pages dirtied per round, downtime: docs/migration_report.md)
  --report FILE            write an HTML report (rounds, switchover test, dirty rate, heat map of
                           memory, downtime); self-contained, opens in any browser
  --quiet                  no progress line
  -h, --help               this text

Exit status: 0 when the migration completed and the destination equals the reference; 1 when they
differ; 2 for bad input; 3 when the migration failed (the source then resumes and finishes).
With --listen: 2 when the incoming stream was refused (malformed, damaged, truncated, too large,
unauthenticated, or a state the machine cannot take), 3 when the source went silent for --timeout
or its connection failed; one line says which. No machine is built from a refused stream.`;

/** The `migrate` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      ...LINUX_OPTIONS,
      "max-instructions": { type: "string" },
      at: { type: "string", default: "0" },
      "stop-at": { type: "string" },
      policy: { type: "string", default: "qemu" },
      bandwidth: { type: "string", default: "1gbit" },
      latency: { type: "string", default: "0ms" },
      "downtime-limit": { type: "string", default: "300ms" },
      "clock-hz": { type: "string", default: "1G" },
      "no-auto-converge": { type: "boolean", default: false },
      verify: { type: "boolean", default: false },
      "key-file": { type: "string" },
      to: { type: "string" },
      listen: { type: "string" },
      timeout: { type: "string", default: "30s" },
      "keep-listening": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      report: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.to && values.listen) throw new UsageError("give either --to or --listen, not both");
  if (positionals.length > 1) throw new UsageError("expected one guest ELF file (see --help)");
  if (positionals.length === 0 && !values.listen) {
    throw new UsageError("expected a guest ELF file (see --help)");
  }
  const memory = parseMemory(values.memory!);
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const at = parseCount(values.at!, "--at");
  const stopAt = values["stop-at"] === undefined ? undefined : parseCount(values["stop-at"], "--stop-at");
  if (stopAt !== undefined && stopAt < at) throw new UsageError(`--stop-at ${stopAt} lies before --at ${at}`);
  if (!(POLICY_NAMES as readonly string[]).includes(values.policy!)) {
    throw new UsageError(`bad --policy "${values.policy}": expected one of ${POLICY_NAMES.join(", ")}`);
  }
  const bandwidth = parseBandwidth(values.bandwidth!);
  const latencyMs = parseDurationMs(values.latency!);
  const downtimeLimitMs = parseDurationMs(values["downtime-limit"]!);
  const clockHz = parseCount(values["clock-hz"]!, "--clock-hz");
  const timeoutMs = parseDurationMs(values.timeout!);
  if (!(timeoutMs > 0)) throw new UsageError(`bad --timeout ${values.timeout}: must be positive`);
  if (values["keep-listening"] && !values.listen) throw new UsageError("--keep-listening needs --listen");
  if (clockHz <= 0) throw new UsageError(`bad --clock-hz ${values["clock-hz"]}: must be positive`);
  const key = await loadKey(values["key-file"]);
  const path = positionals[0];
  const guest = path === undefined ? undefined : readGuest(path, values);
  const make = () => buildMachine(guest!, { memory });
  const progress = !values.quiet && !values.json && stderrIsTerminal();
  const enc = new TextEncoder();
  const onProgress = progress
    ? (p: MigrationProgress) => Deno.stderr.writeSync(enc.encode(`\r${formatProgress(p)}\x1b[K`))
    : undefined;
  const endProgress = () => progress && Deno.stderr.writeSync(enc.encode("\n"));
  const common = {
    at,
    policy: values.policy,
    downtimeLimitMs,
    bandwidth,
    latencyMs,
    clockHz,
    autoConverge: !values["no-auto-converge"],
    key,
    onProgress,
    stopAt,
  };

  // Destination side over TCP.
  if (values.listen) {
    if (values.report !== undefined) {
      throw new UsageError(
        "--report is written by the source (--to) or an in-process migration, not by --listen",
      );
    }
    const where = parseHostPort(values.listen, "--listen");
    const said = (line: string) => !values.json && console.error(line);
    let got;
    try {
      got = await receiveFromTcp((h) => new Machine({ memory: h.ramBytes }), {
        ...where,
        key,
        expectRamBytes: guest ? memory : undefined,
        maxRamBytes: memory,
        timeoutMs,
        keepListening: values["keep-listening"],
        onListening: (h, p) => said(`[hvsim] waiting for a migration on ${h}:${p}`),
        onConnection: (peer) => said(`[hvsim] receiving from ${peer}`),
        onFailure: (e) => {
          console.error(`migrate: ${incomingFailure(e)!.message}`);
          said("[hvsim] no machine was built; waiting for the next source");
        },
      });
    } catch (e) {
      const f = incomingFailure(e);
      if (f === undefined) throw e;
      console.error(`migrate: ${f.message}`);
      return f.status;
    }
    const dest = got.vm as Machine;
    // The destination's own view of the downtime: from when the stop-and-copy pass's round record
    // arrived (the source had paused) to resuming the guest here.
    const seen = got.lastRoundAtWallMs > 0 ? wallClockMs() - got.lastRoundAtWallMs : undefined;
    if (seen !== undefined) {
      said(
        `[hvsim] downtime as this destination saw it: ${
          seen.toFixed(3)
        } ms (wall clock, from the stop-and-copy ` +
          `round record's arrival to resuming the guest)`,
      );
    }
    const exit = finish(dest, max);
    if (!guest) {
      if (values.json) {
        console.log(JSON.stringify({ ...machineReport(dest, exit), "downtime-seen-ms": seen }, null, 2));
      } else Deno.stdout.writeSync(dest.console.output());
      return guestStatus(exit);
    }
    return report(dest, exit, make, max, values.json!, undefined, undefined, {
      json: { "downtime-seen-ms": seen },
    });
  }

  // Source side over TCP.
  if (values.to) {
    const where = parseHostPort(values.to, "--to");
    const src = make();
    let r: Awaited<ReturnType<typeof migrateToTcp>> | undefined;
    let error: string | undefined;
    try {
      r = await migrateToTcp(src, { ...where, ...common, timeoutMs });
    } catch (e) {
      // The destination cannot be reached: nothing was sent, the source never stopped.
      error = (e as Error).message;
    }
    endProgress();
    const data = r && buildMigrationReport(r.stats, {
      guestName: path,
      cmdline: guest!.cmdline,
      command: commandText("migrate", args),
      regions: guestRegions(guest!, src),
      sourceInstructions: src.instructions,
    });
    if (data && values.report !== undefined) writeReport(values.report, data);
    if (!data && values.report !== undefined) {
      console.error(`[hvsim] no report written to ${values.report}: the migration never started`);
    }
    if (r) {
      if (values.json) {
        console.log(JSON.stringify({ migration: r.json, ok: r.ok, error: r.error, report: data }, null, 2));
      } else {
        console.error(formatSummary(r.stats));
        if (data) console.error(formatRegionRounds(data));
      }
      if (!r.ok) error = r.error;
    } else if (values.json) console.log(JSON.stringify({ ok: false, error }, null, 2));
    if (error !== undefined) {
      console.error(`[hvsim] migration failed: ${error}; the source is intact and resumes`);
      const exit = finish(src, max);
      if (!values.json) Deno.stdout.writeSync(src.console.output());
      console.error(`[hvsim] source finished: ${exit.reason}, ${src.instructions} instructions`);
      return 3;
    }
    console.error(`[hvsim] migrated to ${where.hostname}:${where.port}; the destination confirmed`);
    return 0;
  }

  // In one process.
  const src = make();
  const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
    ...common,
    verify: values.verify,
  });
  endProgress();
  if (!r.ok) {
    console.error(`[hvsim] migration failed: ${r.error}; the source resumes`);
    const exit = finish(src, max);
    report(src, exit, make, max, values.json!, r, undefined, {
      ctx: { guestName: path, cmdline: guest!.cmdline, command: commandText("migrate", args) },
      path: values.report,
    });
    return 3;
  }
  const dest = r.destination as Machine;
  const ctx: ReportContext = {
    guestName: path,
    cmdline: guest!.cmdline,
    command: commandText("migrate", args),
    regions: guestRegions(guest!, src),
    sourceInstructions: src.instructions,
  };
  ctx.resumedAtWallMs = wallClockMs();
  const exit = finish(dest, max);
  return report(dest, exit, make, max, values.json!, r, at, { ctx, path: values.report });
}

/** Compare with a reference run, print, and return the exit status. */
function report(
  dest: Machine,
  exit: ReturnType<typeof finish>,
  make: () => Machine,
  max: number,
  json: boolean,
  r?: Awaited<ReturnType<typeof migrateInProcess>>,
  at?: number,
  out?: { ctx?: ReportContext; path?: string; json?: Record<string, unknown> },
): number {
  const ref = make();
  const refExit = finish(ref, max);
  const a = machineReport(dest, exit);
  const b = machineReport(ref, refExit);
  const differences: string[] = [];
  if (a.instructions !== b.instructions) {
    differences.push(`instructions ${a.instructions} != ${b.instructions}`);
  }
  if (a.console !== b.console) differences.push("console output differs");
  if (a.digest !== b.digest) differences.push(`digest ${a.digest} != ${b.digest}`);
  const equal = differences.length === 0;
  const data = r && out?.ctx
    ? buildMigrationReport(r.stats, {
      ...out.ctx,
      equal,
      referenceEnd: b.instructions as number,
      destinationEnd: r.ok ? a.instructions as number : undefined,
    })
    : undefined;
  if (data && out?.path !== undefined) writeReport(out.path, data);
  if (json) {
    console.log(JSON.stringify(
      {
        ...a,
        migration: r ? { ...r.json, ok: r.ok, error: r.error, rounds: r.stats.rounds } : undefined,
        reference: { exit: b.exit, instructions: b.instructions, console: b.console, digest: b.digest },
        equal,
        report: data,
        ...out?.json,
      },
      null,
      2,
    ));
  } else {
    Deno.stdout.writeSync(dest.console.output());
    if (r) console.error(formatSummary(r.stats));
    if (data) console.error(formatRegionRounds(data));
    console.error(
      equal
        ? `[hvsim] ${
          r?.ok === false ? "source (migration failed)" : "destination"
        } equals the unmigrated run: ` +
          `${a.instructions} instructions, digest ${String(a.digest).slice(0, 16)}...` +
          (at !== undefined && r
            ? ` (migration started at ${at}, ${formatSize(dest.ramBytes)} RAM, ` +
              `${formatBytes(r.stats.transferred)} sent)`
            : "")
        : `[hvsim] MISMATCH with the unmigrated run: ${differences.join("; ")}`,
    );
  }
  return equal ? 0 : 1;
}

if (import.meta.main) runCli("migrate", () => main(Deno.args));

/**
 * `deno task replay run.hvlog`: replays a recorded run in a fresh machine, handing back every
 * logged input at its instruction count and checking every fine point and checkpoint digest. On a
 * divergence it names the first differing instruction; with `--seek N` it prints the state at
 * instruction N.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { GPR_NAMES } from "../cpu/mod.ts";
import { LogError, readLog, Replayer } from "../replay/mod.ts";
import { ReplayInputs } from "../replay/inputs.ts";
import { inputKindName, NO_DIGEST } from "../replay/log.ts";
import { textAt } from "../replay/replayer.ts";
import { bootMachine, parseSize } from "../vm/mod.ts";
import { parseCount, readInput, runCli, UsageError } from "./_common.ts";
import { GDB_HELP, GDB_OPTIONS, runUnderGdb } from "./_gdb.ts";

const HELP = `Usage: deno task replay <run.hvlog> [options]

Replays a run recorded by \`deno task record\` and checks that it reaches the same state at every
fine point, every checkpoint and the end. Prints the replayed console output.

Options:
  --guest PATH     the guest ELF (default: the path stored in the log); it must be the recorded one
  --initrd PATH    a Linux guest's initrd (default: the path stored in the log); the recorded one
  --seek N         replay to instruction N (from the nearest snapshot) and print the state there
  --max-memory SIZE  refuse a log for more guest RAM than this (default 16G, a machine's most)
  --info           print what the log holds (guest, intervals, inputs, checkpoints, marks) and stop
  --json           print one JSON object instead (ok, exit, instructions, console, digest, regs,
                   checkpoints, divergence or the seek state)
${GDB_HELP}
                   (under gdb the logged inputs are handed back at their instruction counts, also
                   after going backwards; the end is compared with the log's)
  -h, --help       this text

Exit status: 0 when the replay matched the log; 1 when it diverged (the report names the first
differing instruction); 2 for bad input (a damaged or foreign log, the wrong guest).`;

function hex(n: bigint | number): string {
  return "0x" + BigInt.asUintN(64, BigInt(n)).toString(16);
}

/** The `replay` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      guest: { type: "string" },
      initrd: { type: "string" },
      seek: { type: "string" },
      "max-memory": { type: "string", default: "16G" },
      info: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      ...GDB_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values["gdb-wait"] && values.gdb === undefined) {
    throw new UsageError("--gdb-wait needs --gdb HOST:PORT");
  }
  if (values.gdb !== undefined && values.seek !== undefined) {
    throw new UsageError("--seek cannot be combined with --gdb");
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one replay log file (see --help)");
  const logPath = positionals[0];
  let replayer: Replayer;
  try {
    const log = readLog(readInput(logPath, "replay log"));
    if (values.info) {
      const h = log.header;
      const kinds = new Map<string, number>();
      for (const r of log.inputs) {
        kinds.set(inputKindName(r.kind), (kinds.get(inputKindName(r.kind)) ?? 0) + 1);
      }
      const info = {
        version: `${h.major}.${h.minor}`,
        guest: { path: h.guestPath, sha256: h.elfSha256, memory: h.memory, cmdline: h.cmdline },
        ...(h.initrd === undefined ? {} : { initrd: h.initrd }),
        ...(h.rtcStart === undefined ? {} : {
          platform: { rtcStart: new Date(h.rtcStart * 1000).toISOString(), serialPoll: h.serialPoll },
        }),
        intervals: { checkpoint: h.checkpointInterval, trace: h.traceInterval },
        end: log.end,
        inputs: Object.fromEntries(kinds),
        finePoints: log.points.length,
        memoryPoints: log.points.filter((p) => p.memory).length,
        checkpoints: log.checkpoints.map((c) => ({ icount: c.icount, digest: c.digest })),
        snapshots: log.snapshots.map((x) => ({ icount: x.icount, pages: x.pages.size })),
        marks: log.marks,
        records: log.records + 1,
      };
      console.log(JSON.stringify(info, null, 2));
      return 0;
    }
    const guestPath = values.guest ?? log.header.guestPath;
    if (!guestPath) throw new UsageError(`${logPath} names no guest: give --guest PATH`);
    const initrdPath = values.initrd ?? log.header.initrd?.path;
    if (log.header.initrd !== undefined && !initrdPath) {
      throw new UsageError(`${logPath} names no initrd: give --initrd PATH`);
    }
    replayer = new Replayer(log, readInput(guestPath, "guest"), {
      maxMemory: parseSize(values["max-memory"]!, "--max-memory"),
      initrd: initrdPath ? readInput(initrdPath, "initrd") : undefined,
    });
  } catch (e) {
    if (e instanceof LogError) throw new UsageError(`${logPath}: ${e.message}`);
    throw e;
  }
  const t0 = performance.now();

  if (values.gdb !== undefined) {
    // The replayer checked the guest and the log's start; the debugged machine takes the logged
    // inputs at their instruction counts, repositioned whenever the debugger goes back.
    const log = replayer.log, h = log.header;
    const inputs = new ReplayInputs(log.inputs, h.entropyState);
    const initrdPath = values.initrd ?? h.initrd?.path;
    const m = bootMachine(
      readInput(values.guest ?? h.guestPath, "guest"),
      h.initrd !== undefined && initrdPath ? readInput(initrdPath, "initrd") : undefined,
      {
        memory: h.memory,
        cmdline: h.cmdline,
        entropy: inputs.entropy,
        serialInput: inputs.serial,
        rtcStart: h.rtcStart,
      },
    );
    inputs.machine = m;
    const end = await runUnderGdb(m, values.gdb, values["gdb-wait"]!, !values.json, {
      onRestore: (n) => inputs.seek(n),
    });
    const digest = m.digest();
    // The same end as recorded: exit, instruction count, and the final digest when the log has one.
    const e = log.end;
    const matched = !end.killed && end.exit.reason === e.reason && end.exit.code === e.code &&
      m.instructions === e.icount && (e.machineDigest === NO_DIGEST || digest === e.machineDigest);
    if (values.json) {
      console.log(JSON.stringify(
        { ok: matched, exit: end.exit, instructions: m.instructions, console: m.consoleText(), digest },
        null,
        2,
      ));
    } else {
      console.error(
        end.killed
          ? `[hvsim] gdb killed the guest at instruction ${m.instructions}`
          : `[hvsim] ${end.exit.reason} at instruction ${m.instructions}; the end ${
            matched ? "matches" : "differs from"
          } the log's (exit, instructions${e.machineDigest === NO_DIGEST ? "" : ", digest"})`,
      );
    }
    return matched ? 0 : 1;
  }

  if (values.seek !== undefined) {
    const n = parseCount(values.seek, "--seek");
    let m;
    try {
      m = replayer.seek(n);
    } catch (e) {
      if (e instanceof LogError) {
        console.error(`replay: ${e.message}`);
        return 1;
      }
      throw e;
    }
    const regs = m.regs();
    const state = {
      instruction: m.instructions,
      next: { rip: hex(m.cpu.rip), text: textAt(m) },
      regs,
      console: m.consoleText(),
      digest: m.digest(),
      snapshot: replayer.lastSeek!.from,
      snapshotSource: replayer.lastSeek!.source,
    };
    if (values.json) console.log(JSON.stringify({ ok: true, seek: state }, null, 2));
    else {
      console.log(
        `state at instruction ${state.instruction} (from the ${
          state.snapshotSource === "log" ? "log's" : "replay's"
        } snapshot at ${state.snapshot}):`,
      );
      console.log(`  next instruction: ${state.next.rip}: ${state.next.text}`);
      const names = [...GPR_NAMES.slice(0, 16), "rip", "rflags"];
      for (let i = 0; i < names.length; i += 4) {
        console.log(
          "  " + names.slice(i, i + 4).map((k) => `${k.padEnd(6)} ${regs[k].padEnd(18)}`).join(" "),
        );
      }
      console.log(
        `  console so far: ${
          JSON.stringify(state.console.length > 200 ? "..." + state.console.slice(-200) : state.console)
        }`,
      );
      console.log(`  digest: ${state.digest}`);
    }
    return 0;
  }

  const r = replayer.run();
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) {
    console.log(JSON.stringify(
      {
        ok: r.ok,
        ...r.result,
        checkpointsVerified: r.checkpointsVerified,
        finePointsVerified: r.pointsVerified,
        inputsReplayed: r.inputsReplayed,
        marks: replayer.log.marks,
        divergence: r.divergence,
      },
      null,
      2,
    ));
  } else {
    Deno.stdout.writeSync(new TextEncoder().encode(r.result.console));
    for (const mk of replayer.log.marks) {
      console.error(`[hvsim] mark at instruction ${mk.icount}: ${mk.label}`);
    }
    if (r.ok) {
      console.error(
        `[hvsim] replay matched the log: ${r.result.instructions} instructions in ${seconds.toFixed(2)} s, ` +
          `${r.checkpointsVerified} checkpoints, ${r.pointsVerified} fine points, ${r.inputsReplayed} inputs; ` +
          `digest ${r.result.digest}`,
      );
    } else {
      console.error(r.divergence!.report);
    }
  }
  return r.ok ? 0 : 1;
}

if (import.meta.main) runCli("replay", () => main(Deno.args));

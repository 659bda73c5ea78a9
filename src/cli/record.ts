/**
 * `deno task record <guest.elf> --log run.hvlog`: runs a guest and writes its replay log (every
 * nondeterministic input with the instruction count at which it was consumed, fine points and
 * checkpoint digests), then prints the guest's console output like `run`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatSize } from "../vm/mod.ts";
import { ByteInput, DEFAULT_CHECKPOINT_INTERVAL, recordGuest } from "../replay/mod.ts";
import { DEFAULT_TRACE_INTERVAL } from "../replay/recorder.ts";
import { CONSOLE_POLL_INSTRUCTIONS, Entropy } from "../devices/mod.ts";
import type { EntropySource } from "../vm/mod.ts";
import {
  LINUX_HELP,
  LINUX_OPTIONS,
  parseCount,
  parseMemory,
  readGuest,
  readInput,
  runCli,
  UsageError,
} from "./_common.ts";

const HELP = `Usage: deno task record <guest.elf> --log FILE [options]

Runs an x86-64 ELF guest and records every nondeterministic input it observes (RDRAND, RDSEED,
COM1 input) into a replay log, with a state digest every N instructions and at the end.
\`deno task replay FILE\` replays it in a fresh process and checks every digest.

Options:
  --log FILE               the replay log to write (required; written whole, then renamed into place)
  --memory SIZE            guest RAM, e.g. 64M, 1G (default 64M; a multiple of 2 MiB)
  --cmdline TEXT           command line handed to the guest (default empty)
${LINUX_HELP}
  --entropy SOURCE         RDRAND/RDSEED source: "host" (the host's random generator, default),
                           "seed" (hvsim's fixed seed, as \`run\` uses) or "seed:N"
  --serial-input FILE      bytes COM1 receives, in order ("-" for stdin; default none); a Linux
                           guest takes them as its console does under \`run\`, through the serial
                           line that opens once its driver listens, the UART polled every
                           ${CONSOLE_POLL_INSTRUCTIONS} instructions (both kept in the log, as is --rtc-start)
  --checkpoint N           instructions between checkpoints (default ${DEFAULT_CHECKPOINT_INTERVAL})
  --trace-interval K       instructions between fine points (default ${DEFAULT_TRACE_INTERVAL})
  --snapshot-every C       store a snapshot in the log every C checkpoints, for \`replay --seek\`
                           (default 1; 0: none)
  --max-instructions N     stop after N retired instructions (k, M, G suffixes allowed)
  --json                   print one JSON object: exit, instructions, console, digest, regs, log
  -h, --help               this text

Exit status: as \`run\`: the guest's debug-exit code; 0 after HLT or the instruction limit; 2 for bad input.`;

function entropyOption(text: string): "host" | EntropySource {
  if (text === "host") return "host";
  if (text === "seed") return new Entropy();
  const m = /^seed:(0x[0-9a-fA-F]+|\d+)$/.exec(text);
  if (!m) throw new UsageError(`bad --entropy "${text}": expected host, seed or seed:N`);
  return new Entropy(BigInt(m[1]));
}

/** The `record` command. */
export function main(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      log: { type: "string" },
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      ...LINUX_OPTIONS,
      entropy: { type: "string", default: "host" },
      "serial-input": { type: "string" },
      checkpoint: { type: "string" },
      "trace-interval": { type: "string" },
      "max-instructions": { type: "string" },
      "snapshot-every": { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one guest ELF file (see --help)");
  if (!values.log) throw new UsageError("missing --log FILE: where to write the replay log");
  const path = positionals[0];
  const memory = parseMemory(values.memory!);
  const checkpoint = values.checkpoint === undefined
    ? DEFAULT_CHECKPOINT_INTERVAL
    : parseCount(values.checkpoint, "--checkpoint");
  if (checkpoint < 1) throw new UsageError("bad --checkpoint 0: expected at least 1 instruction");
  const trace = values["trace-interval"] === undefined
    ? DEFAULT_TRACE_INTERVAL
    : parseCount(values["trace-interval"], "--trace-interval");
  if (trace < 1 || trace > 0xffffffff) {
    throw new UsageError(`bad --trace-interval ${trace}: expected 1..4294967295`);
  }
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const entropy = entropyOption(values.entropy!);
  const snapshotEvery = parseCount(values["snapshot-every"]!, "--snapshot-every");
  let serial: (() => number) | undefined;
  const si = values["serial-input"];
  if (si === "-") {
    const input = new ByteInput(null, (p) => Deno.stdin.readSync(p));
    serial = () => input.next();
  } else if (si !== undefined) {
    const input = new ByteInput(readInput(si, "serial input"));
    serial = () => input.next();
  }
  const guest = readGuest(path, values);

  const logPath = values.log;
  const partial = `${logPath}.partial`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(partial, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new UsageError(`cannot write replay log ${logPath}: ${(e as Error).message}`);
  }
  // Records arrive one at a time (an input is a few dozen bytes): batch them into large writes.
  const buf = new Uint8Array(1 << 20);
  let used = 0;
  const writeAll = (b: Uint8Array) => {
    let o = 0;
    while (o < b.length) o += file.writeSync(b.subarray(o));
  };
  const flush = () => {
    writeAll(buf.subarray(0, used));
    used = 0;
  };
  const sink = (chunk: Uint8Array) => {
    if (used + chunk.length > buf.length) flush();
    if (chunk.length > buf.length) writeAll(chunk);
    else {
      buf.set(chunk, used);
      used += chunk.length;
    }
  };
  const t0 = performance.now();
  let rec;
  try {
    rec = recordGuest(guest.file, {
      memory,
      cmdline: guest.cmdline,
      initrd: guest.initrd,
      initrdPath: guest.initrdPath,
      entropy,
      serialInput: serial,
      serialPoll: guest.linux && serial !== undefined ? CONSOLE_POLL_INSTRUCTIONS : 0,
      rtcStart: guest.rtcStart,
      checkpointInterval: checkpoint,
      traceInterval: trace,
      maxInstructions: max,
      snapshotEvery,
      finalDigest: values.json,
      sink,
      guestPath: path,
    });
    flush();
    file.syncDataSync();
    file.close();
    Deno.renameSync(partial, logPath);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    try {
      Deno.removeSync(partial);
    } catch { /* nothing written */ }
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  const r = rec.result;
  if (values.json) {
    console.log(JSON.stringify(
      {
        ...r,
        log: {
          path: logPath,
          bytes: rec.logBytes,
          inputs: rec.inputs,
          checkpoints: rec.checkpoints,
          snapshots: rec.snapshots,
          finePoints: rec.points,
        },
      },
      null,
      2,
    ));
  } else {
    Deno.stdout.writeSync(new TextEncoder().encode(r.console));
    console.error(
      `[hvsim] ${r.exit.reason}${r.exit.reason === "debug-exit" ? ` code ${r.exit.code}` : ""}` +
        `${r.exit.message ? `: ${r.exit.message}` : ""}; recorded ${r.instructions} instructions in ` +
        `${seconds.toFixed(2)} s, ${
          formatSize(memory)
        } RAM: ${rec.inputs} inputs, ${rec.checkpoints} checkpoints, ${rec.snapshots} snapshots, ` +
        `${rec.points} fine points, ${rec.logBytes} bytes of log in ${logPath}`,
    );
  }
  const exit = r.exit;
  return exit.reason === "debug-exit"
    ? exit.code
    : exit.reason === "hlt" || exit.reason === "instruction-limit"
    ? 0
    : exit.code;
}

if (import.meta.main) runCli("record", () => main(Deno.args));

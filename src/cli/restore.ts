/**
 * `deno task restore FILE [DIFF...]`: verify a snapshot (then any diff snapshots), build a machine
 * from it, and run the guest on to its end, reporting as `run` does. The restored guest's COM1 is
 * the console as `run` gives a Linux guest: the terminal in raw mode when the guest's driver
 * listens (a Linux shell), else stdin's bytes through the serial line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DestinationRefusedError, type ReceiveResult, StreamError } from "../migration/mod.ts";
import { Machine } from "../vm/mod.ts";
import { parseCount, runCli, UsageError } from "./_common.ts";
import { guestStatus, loadKey, machineReport } from "./_migrate_common.ts";
import { restoreFromFiles } from "../migration/mod.ts";
import { GDB_HELP, GDB_OPTIONS, runUnderGdb } from "./_gdb.ts";
import { runPollingSerial, SerialLine } from "../devices/mod.ts";
import { liveOutput, runOnTerminal, stdinSerialInput, TerminalInput } from "./_console.ts";

const HELP = `Usage: deno task restore <snapshot> [diff-snapshot...] [options]

Reads and verifies the whole snapshot (magic, version, every record's CRC32C, the end record, every
page present) before it builds a machine, then runs the guest on from where it was saved and prints
its console output, or with --json one object as "run --json" does. A damaged or foreign file is
refused with one line saying what is wrong.

COM1 is the guest's serial console, as "run" gives a Linux guest: when stdin is a terminal and the
restored guest's driver listens (its received-data interrupt on, as at a Linux shell's prompt), the
terminal in raw mode (Ctrl-A X quits, Ctrl-A H lists the keys); otherwise stdin's bytes, once the
guest's driver has listened for a character time. The console output printed includes what the
guest wrote before the snapshot.

Options:
  --lazy                   resume before RAM is loaded: after the whole file has verified, each page
                           loads from it when the guest first touches it (as Firecracker maps its
                           memory file); the file must stay unchanged until the guest ends
  --key-file FILE          the key an authenticated snapshot was written with (not with --lazy)
  --max-instructions N     stop after N retired instructions in total
  --json                   one JSON object (exit, instructions, console, digest, regs, exits)
${GDB_HELP}
  -h, --help               this text

Exit status: as "run" (the guest's debug-exit code, ...); 2 for bad input or a refused snapshot.`;

/** The `restore` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "key-file": { type: "string" },
      lazy: { type: "boolean", default: false },
      "max-instructions": { type: "string" },
      json: { type: "boolean", default: false },
      ...GDB_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values["gdb-wait"] && values.gdb === undefined) {
    throw new UsageError("--gdb-wait needs --gdb HOST:PORT");
  }
  if (values.gdb !== undefined && values["max-instructions"] !== undefined) {
    throw new UsageError(
      "--max-instructions cannot be combined with --gdb (the debugger decides where to stop)",
    );
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("expected a snapshot file (see --help)");
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const key = await loadKey(values["key-file"]);
  let m: Machine;
  let restored: ReceiveResult;
  try {
    restored = await restoreFromFiles((h) => new Machine({ memory: h.ramBytes }), positionals, {
      key,
      lazy: values.lazy,
    });
    m = restored.vm as Machine;
  } catch (e) {
    if (
      e instanceof StreamError || e instanceof DestinationRefusedError ||
      /^Cannot read snapshot/.test((e as Error).message)
    ) {
      throw new UsageError((e as Error).message);
    }
    throw e;
  }
  const from = m.instructions;
  // COM1's input, as `run` connects a Linux guest's (src/devices/serial_gate.ts): a guest that
  // never listens never takes a byte from stdin.
  const terminal = values.gdb === undefined && !values.json && m.serial.receiveInterruptEnabled() &&
      Deno.stdin.isTerminal()
    ? new TerminalInput()
    : null;
  if (values.gdb === undefined && (terminal !== null || !Deno.stdin.isTerminal())) {
    const line = new SerialLine(terminal?.input ?? stdinSerialInput());
    m.serial.input = line.input;
    line.attach(m);
  }
  let exit;
  let report;
  let live = false;
  try {
    if (values.gdb !== undefined) {
      exit = (await runUnderGdb(m, values.gdb, values["gdb-wait"]!, !values.json)).exit;
    } else if (m.exit !== null) exit = m.exit;
    else {
      live = !values.json;
      if (live) Deno.stdout.writeSync(m.console.output());
      const left = Math.max(0, max - m.instructions);
      if (terminal !== null) {
        terminal.start();
        try {
          exit = await runOnTerminal(m, terminal, left) ??
            { reason: "instruction-limit" as const, code: 0, message: "quit from the console (Ctrl-A X)" };
        } finally {
          terminal.stop();
        }
      } else {
        const out = live ? liveOutput(m) : null;
        exit = runPollingSerial(m, left) ?? m.runToEnd(0);
        out?.flush();
      }
    }
    report = values.json ? { ...machineReport(m, exit), restoredAt: from } : undefined;
  } catch (e) {
    // A lazy restore's file changed under the running guest: it stopped rather than run on.
    if (e instanceof StreamError) throw new UsageError(e.message);
    throw e;
  } finally {
    restored.lazy?.close();
  }
  if (report) console.log(JSON.stringify(report, null, 2));
  else {
    if (values.gdb === undefined && !live) Deno.stdout.writeSync(m.console.output());
    console.error(`[hvsim] restored at ${from} instructions; ${exit.reason}, ${m.instructions} instructions`);
  }
  return guestStatus(exit);
}

if (import.meta.main) runCli("restore", () => main(Deno.args));

/**
 * `deno task run <guest.elf>`: runs a guest and prints its console output, or with `--json` one
 * JSON object (exit, instructions, console, digest, regs, exits) as docs/cli-json.md defines.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatSize } from "../vm/mod.ts";
import { runPollingSerial, SerialLine } from "../devices/mod.ts";
import { EXIT_REASON_SHORT_NAMES } from "../vmx/exit_reasons.ts";
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
import { liveOutput, runOnTerminal, stdinSerialInput, TerminalInput } from "./_console.ts";
import { GDB_HELP, GDB_OPTIONS, runUnderGdb } from "./_gdb.ts";

const HELP = `Usage: deno task run <guest.elf> [options]
       deno task run <bzImage|vmlinux> [--initrd FILE] [--append TEXT] [options]

Runs an x86-64 ELF guest under boot protocol 1 and prints what it wrote to the console, or boots a
Linux kernel under the Linux/x86 64-bit boot protocol. A Linux guest's serial console (COM1) is the
terminal, in raw mode (Ctrl-A X quits, Ctrl-A H lists the keys); when stdin is a pipe or a file, its
bytes are COM1's input.

Options:
  --memory SIZE            guest RAM, e.g. 64M, 1G (default 64M; a multiple of 2 MiB)
  --cmdline TEXT           command line handed to the guest (default empty)
  --max-instructions N     stop after N retired instructions (k, M, G suffixes allowed)
  --json                   print one JSON object: exit, instructions, console, digest, regs, exits,
                           dirtyPages
  --no-dirty-tracking      run without EPT dirty logging (for comparison; dirtyPages is then null)
${LINUX_HELP}
  --backend js|wasm        compiler for hot code: JavaScript (default) or WebAssembly regions
${GDB_HELP}
  -h, --help               this text

Exit status: the guest's debug-exit code; 0 after HLT or the instruction limit; 2 for bad input;
3 triple fault; 4 access outside RAM; 5 a VM exit hvsim cannot handle; 70 a simulator defect.`;

/** The `run` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      memory: { type: "string", default: "64M" },
      cmdline: { type: "string", default: "" },
      "max-instructions": { type: "string" },
      json: { type: "boolean", default: false },
      "no-dirty-tracking": { type: "boolean", default: false },
      ...LINUX_OPTIONS,
      backend: { type: "string", default: "js" },
      ...GDB_OPTIONS,
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("expected one guest ELF file (see --help)");
  const path = positionals[0];
  const memory = parseMemory(values.memory!);
  const max = values["max-instructions"] === undefined
    ? Infinity
    : parseCount(values["max-instructions"], "--max-instructions");
  const backend = values.backend;
  if (backend !== "js" && backend !== "wasm") {
    throw new UsageError(`--backend ${backend}: expected js or wasm`);
  }
  const guest = readGuest(path, values);
  // A Linux guest's console is the terminal (raw mode) or stdin's bytes; other guests take no input.
  const terminal = guest.linux && !values.json && values.gdb === undefined && Deno.stdin.isTerminal()
    ? new TerminalInput()
    : null;
  // Its bytes reach COM1 as a line that opens once the guest's driver listens (src/devices/serial_gate.ts).
  const line = guest.linux ? new SerialLine(terminal?.input ?? stdinSerialInput()) : null;
  const machine = buildMachine(guest, { memory, serialInput: line?.input, backend });
  line?.attach(machine);
  const tracking = !values["no-dirty-tracking"];
  if (tracking) machine.setDirtyTracking(true);
  if (values["gdb-wait"] && values.gdb === undefined) {
    throw new UsageError("--gdb-wait needs --gdb HOST:PORT");
  }
  if (values.gdb !== undefined && values["max-instructions"] !== undefined) {
    throw new UsageError(
      "--max-instructions cannot be combined with --gdb (the debugger decides where to stop)",
    );
  }
  const t0 = performance.now();
  let exit;
  let live = false;
  if (values.gdb !== undefined) {
    live = !values.json;
    const r = await runUnderGdb(machine, values.gdb, values["gdb-wait"]!, live);
    exit = r.exit;
  } else if (terminal !== null) {
    live = true;
    terminal.start();
    try {
      exit = await runOnTerminal(machine, terminal, max) ??
        { reason: "instruction-limit" as const, code: 0, message: "quit from the console (Ctrl-A X)" };
    } finally {
      terminal.stop();
    }
  } else if (guest.linux) {
    live = !values.json;
    const out = live ? liveOutput(machine) : null;
    exit = runPollingSerial(machine, max) ?? machine.runToEnd(0);
    out?.flush();
  } else exit = machine.runToEnd(max);
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) {
    const exits: Record<string, number> = {};
    for (const [k, v] of [...machine.exitCounts].sort((a, b) => a[0] - b[0])) {
      exits[EXIT_REASON_SHORT_NAMES[k] ?? String(k)] = v;
    }
    const out = {
      exit: exit.message ? { reason: exit.reason, code: exit.code, message: exit.message } : {
        reason: exit.reason,
        code: exit.code,
      },
      instructions: machine.instructions,
      console: machine.consoleText(),
      digest: machine.digest(),
      regs: machine.regs(),
      exits,
      dirtyPages: tracking ? machine.dirtyPageCount() : null,
    };
    console.log(JSON.stringify(out, null, 2));
  } else {
    if (!live) Deno.stdout.writeSync(machine.console.output());
    const mips = machine.instructions / seconds / 1e6;
    console.error(
      `[hvsim] ${exit.reason}${exit.reason === "debug-exit" ? ` code ${exit.code}` : ""}` +
        `${exit.message ? `: ${exit.message}` : ""}; ${machine.instructions} instructions` +
        (values.gdb === undefined ? ` in ${seconds.toFixed(2)} s (${mips.toFixed(1)} MIPS)` : "") +
        `, ${formatSize(memory)} RAM`,
    );
  }
  return exit.reason === "debug-exit"
    ? exit.code
    : exit.reason === "hlt" || exit.reason === "instruction-limit"
    ? 0
    : exit.code;
}

if (import.meta.main) runCli("run", () => main(Deno.args));

/**
 * The guest's serial console on the user's terminal, as QEMU's `-nographic`: the terminal in raw
 * mode, each key a byte COM1 receives, the guest's output printed as it comes. Ctrl-A starts an
 * escape: Ctrl-A X quits, Ctrl-A H lists the keys, Ctrl-A Ctrl-A sends one Ctrl-A. When stdin is
 * not a terminal (a pipe or a file), its bytes are COM1's input in order, read as the guest asks.
 *
 * @module
 */

import { CONSOLE_POLL_INSTRUCTIONS, type SerialInput } from "../devices/mod.ts";
import { ByteInput } from "../replay/inputs.ts";
import type { Machine, RunExit } from "../vm/mod.ts";

/** Ctrl-A, the escape key. */
export const ESCAPE_KEY = 0x01;

/** What Ctrl-A H prints. */
export const ESCAPE_HELP = "\r\nC-a h    print this help\r\nC-a x    exit hvsim\r\nC-a C-a  sends C-a\r\n";

/** Splits terminal bytes into guest input and escape commands (one instance per terminal session). */
export class EscapeDecoder {
  #pendingEscape = false;

  /**
   * Feeds `bytes`; returns what goes to the guest and the commands seen ("quit", "help"), in order.
   */
  feed(bytes: Uint8Array): { input: number[]; commands: ("quit" | "help")[] } {
    const input: number[] = [];
    const commands: ("quit" | "help")[] = [];
    for (const b of bytes) {
      if (this.#pendingEscape) {
        this.#pendingEscape = false;
        if (b === 0x78 || b === 0x58) commands.push("quit"); // x
        else if (b === 0x68 || b === 0x48) commands.push("help"); // h
        else if (b === ESCAPE_KEY) input.push(ESCAPE_KEY);
        // any other key after Ctrl-A is dropped, as QEMU does
      } else if (b === ESCAPE_KEY) this.#pendingEscape = true;
      else input.push(b);
    }
    return { input, commands };
  }
}

/** COM1's input from a raw-mode terminal: keys queue up as they are typed. */
export class TerminalInput {
  readonly #queue: number[] = [];
  readonly #decoder = new EscapeDecoder();
  /** The user asked to quit (Ctrl-A X). */
  quit = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  /** Whether typed bytes are waiting. */
  waiting(): boolean {
    return this.#queue.length > 0;
  }

  /** The serial input: the next typed byte, or -1 when none is waiting. */
  readonly input: SerialInput = () => this.#queue.length > 0 ? this.#queue.shift()! : -1;

  /** Puts the terminal in raw mode and starts reading keys. */
  start(): void {
    Deno.stdin.setRaw(true);
    this.#reader = Deno.stdin.readable.getReader();
    (async () => {
      while (true) {
        const { value, done } = await this.#reader!.read().catch(() => ({ value: undefined, done: true }));
        if (done || value === undefined) return;
        const { input, commands } = this.#decoder.feed(value);
        this.#queue.push(...input);
        for (const c of commands) {
          if (c === "quit") this.quit = true;
          else Deno.stdout.writeSync(new TextEncoder().encode(ESCAPE_HELP));
        }
      }
    })();
  }

  /** Restores the terminal. */
  stop(): void {
    this.#reader?.releaseLock();
    try {
      Deno.stdin.setRaw(false);
    } catch {
      // stdin is gone
    }
  }
}

/** COM1's input from stdin when it is a pipe or a file: its bytes in order, blocking until they come. */
export function stdinSerialInput(): SerialInput {
  const input = new ByteInput(null, (p) => Deno.stdin.readSync(p));
  return () => input.next();
}

/** Prints the machine's console output as it is written (flushed at each newline and at the end). */
export function liveOutput(machine: Machine): { flush(): void } {
  const buf: number[] = [];
  const flush = () => {
    if (buf.length > 0) Deno.stdout.writeSync(new Uint8Array(buf.splice(0)));
  };
  machine.console.onByte = (b) => {
    buf.push(b);
    if (b === 0x0a || buf.length >= 4096) flush();
  };
  return { flush };
}

/**
 * Runs `machine` with a terminal console: slices of `slice` instructions, between which typed keys
 * arrive and output is printed. Ends when the guest ends, `max` instructions have run, or the user
 * quits (then null).
 */
export async function runOnTerminal(
  machine: Machine,
  terminal: TerminalInput,
  max: number,
  slice = CONSOLE_POLL_INSTRUCTIONS,
): Promise<RunExit | null> {
  const out = liveOutput(machine);
  const stopAt = machine.instructions + max;
  try {
    while (true) {
      const exit = machine.run(Math.min(slice, stopAt - machine.instructions));
      out.flush();
      if (exit !== null) return exit;
      if (machine.instructions >= stopAt) return machine.runToEnd(0);
      if (terminal.quit) return null;
      await new Promise((r) => setTimeout(r, 0));
      // Keys that arrived: the UART takes them now (an idle guest reads nothing until interrupted).
      if (terminal.waiting()) machine.serial.poll();
    }
  } finally {
    out.flush();
  }
}

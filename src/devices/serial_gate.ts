/**
 * A host's byte stream for COM1 (a pipe, a file, a terminal) as a serial line that starts sending
 * once the guest's driver listens: bytes are offered only once the UART's received-data interrupt
 * (IER bit 0) has been enabled for one character time at 115200 baud (86,806 TSC ticks at 1 GHz,
 * 10 bits a character), and not while it is off. Linux's 8250 driver probes IER, clears the FIFO
 * and enables it (which clears it too) right around enabling that interrupt; a byte offered from
 * the first instruction on, or at the moment the interrupt comes on, is lost there, as a key
 * typed before a machine is on would be. Deterministic: when the line opens depends only on the
 * guest and its instruction count. The line keeps no state of its own: the time the interrupt
 * was enabled is the UART's ({@linkcode Serial.receiveInterruptEnabledAt}), so it travels with a
 * snapshot, a migration or a replay log's snapshot, and a restored guest's line opens as the
 * original's would have.
 *
 * The UART takes bytes when the guest reads it or when {@linkcode Serial.poll} is called; an idle
 * guest reads nothing, so a runner polls between slices ({@linkcode runPollingSerial}).
 *
 * @module
 */

import type { Serial, SerialInput } from "./serial.ts";

/** One character time at 115200 baud (10 bits: start, 8 data, stop) in TSC ticks at 1 GHz. */
export const CHAR_TICKS = 86_806;

/** What the line looks at: the UART and the virtual time (the clock the UART was given). */
export interface SerialLineHost {
  /** The UART. */
  readonly serial: Serial;
  /** Virtual time (TSC). */
  now(): number;
}

/** `source`'s bytes as a line that sends once the guest's driver has listened for a character time. */
export class SerialLine {
  #host: SerialLineHost | null = null;

  /** @param source the host's bytes (-1: none now) */
  constructor(private readonly source: SerialInput) {}

  /** Connects the line to its machine (once the machine exists). */
  attach(host: SerialLineHost): void {
    this.#host = host;
  }

  /** The UART's input: the next byte once the line is open, else -1. */
  readonly input: SerialInput = () => {
    const h = this.#host;
    if (h === null) return -1;
    const since = h.serial.receiveInterruptEnabledAt();
    return since >= 0 && h.now() - since >= CHAR_TICKS ? this.source() : -1;
  };
}

/**
 * Instructions between a console's polls of the UART ({@linkcode runPollingSerial}'s slice): a
 * host byte waits at most this long for a guest that reads nothing. A recording of a console keeps
 * it in its log, and a replay polls where the recording did.
 */
export const CONSOLE_POLL_INSTRUCTIONS = 1_000_000;

/** Something that runs in slices and has a UART. */
export interface SliceRunner<E> {
  /** Runs at most `max` instructions; the end, or null if the budget ran out. */
  run(max: number): E | null;
  /** Retired instructions so far. */
  readonly instructions: number;
  /** The UART. */
  readonly serial: Serial;
}

/**
 * Runs `m` until it ends or `max` instructions have retired, in slices of `slice` instructions,
 * polling the UART between slices so a waiting byte reaches an idle guest. Returns the end, or
 * null at the budget.
 */
export function runPollingSerial<E>(
  m: SliceRunner<E>,
  max: number,
  slice = CONSOLE_POLL_INSTRUCTIONS,
): E | null {
  const stopAt = m.instructions + max;
  while (m.instructions < stopAt) {
    const exit = m.run(Math.min(slice, stopAt - m.instructions));
    if (exit !== null) return exit;
    m.serial.poll();
  }
  return null;
}

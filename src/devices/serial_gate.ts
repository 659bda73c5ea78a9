/**
 * A host's byte stream for COM1 held back until the guest's driver listens: bytes are offered only
 * while the UART's received-data interrupt is enabled (IER bit 0). Linux's 8250 driver clears the
 * FIFO and reads RBR when it opens the port, before it enables that interrupt, and the console's
 * output path polls LSR (which takes received bytes into the FIFO) long before; offered from the
 * first instruction, the start of a piped script would be lost there, as a user's keys would be if
 * typed before the machine is on. Deterministic: when the gate opens depends only on the guest.
 *
 * @module
 */

import type { Serial, SerialInput } from "./serial.ts";

/** `source`'s bytes, offered only while `serial()`'s received-data interrupt is enabled. */
export function listeningInput(serial: () => Serial | null, source: SerialInput): SerialInput {
  return () => {
    const s = serial();
    return s !== null && s.receiveInterruptEnabled() ? source() : -1;
  };
}

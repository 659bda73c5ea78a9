/**
 * One-call helpers for tests: replay a log from bytes and insist that it matched.
 *
 * @module
 */

import { readLog } from "./log.ts";
import { Replayer, type ReplayResult } from "./replayer.ts";

/**
 * Reads `log` (refusing a damaged or foreign one with a {@linkcode LogError}) and replays it
 * against `elf` in a fresh machine, to the end or the first divergence.
 */
export function replayGuest(log: Uint8Array, elf: Uint8Array): ReplayResult {
  return new Replayer(readLog(log), elf).run();
}

/** Like {@linkcode replayGuest}, but throws an Error carrying the divergence report when it diverges. */
export function assertReplays(log: Uint8Array, elf: Uint8Array): ReplayResult {
  const r = replayGuest(log, elf);
  if (!r.ok) throw new Error(r.divergence!.report);
  return r;
}

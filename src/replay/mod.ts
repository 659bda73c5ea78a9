/**
 * Deterministic record/replay for hvsim: the input log, recording, replay with divergence
 * bisection and seeking, and the API for writing deterministic tests in a few lines.
 *
 * @example
 * ```ts
 * import { assertSameRun, readLog, recordGuest, replayGuest, runGuest } from "./mod.ts";
 * const elf = Deno.readFileSync("guests/build/hello.elf");
 * const rec = recordGuest(elf, { cmdline: "greeting=hi" });
 * assertSameRun(rec.result, runGuest(elf, { cmdline: "greeting=hi" }), ["recorded", "plain"]);
 * const rep = replayGuest(rec.log!, elf);
 * assertSameRun(rec.result, rep.result, ["recorded", "replayed"]);
 * ```
 *
 * @module
 */

export * from "./log.ts";
export * from "./inputs.ts";
export * from "./run.ts";
export * from "./recorder.ts";
export * from "./replayer.ts";
export * from "./api.ts";

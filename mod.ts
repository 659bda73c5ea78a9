/**
 * hvsim: an x86-64 hypervisor simulator. Each part is a module of its own (`@hvsim/hvsim/vm`,
 * `/migration`, `/replay`, `/vmx`, `/cpu`); this root module re-exports them as namespaces.
 *
 * @example A deterministic test: record a guest's run, replay it, assert the same run
 * ```ts
 * import { replay } from "./mod.ts";
 *
 * const elf = Deno.readFileSync("guests/build/entropy.elf");
 * const input = new replay.ByteInput(new TextEncoder().encode("Ada\n"));
 * const rec = replay.recordGuest(elf, { entropy: "host", serialInput: () => input.next() });
 * replay.assertSameRun(rec.result, replay.replayGuest(rec.log!, elf).result, ["recorded", "replayed"]);
 * ```
 *
 * @module
 */

export * as cpu from "./src/cpu/mod.ts";
export * as vm from "./src/vm/mod.ts";
export * as vmx from "./src/vmx/mod.ts";
export * as migration from "./src/migration/mod.ts";
export * as replay from "./src/replay/mod.ts";
export * as gdb from "./src/gdb/mod.ts";

/**
 * hvsim: an x86-64 hypervisor simulator. The public API re-exports each part's module.
 *
 * @module
 */

export * from "./src/cpu/mod.ts";
export * from "./src/devices/mod.ts";
export * from "./src/vm/mod.ts";
export * as vmx from "./src/vmx/mod.ts";
export * as migration from "./src/migration/mod.ts";
export * as replay from "./src/replay/mod.ts";
export * as gdb from "./src/gdb/mod.ts";

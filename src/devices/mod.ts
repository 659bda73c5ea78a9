/**
 * Port-I/O devices: debug console, debug exit, serial.
 *
 * @module
 */

export * from "./port_device.ts";
export * from "./debug_console.ts";
export * from "./debug_exit.ts";
export * from "./serial.ts";
export * from "./entropy.ts";
export * from "./lapic.ts";

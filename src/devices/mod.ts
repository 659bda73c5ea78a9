/**
 * Port-I/O devices: debug console, debug exit, serial, and the PC platform (PIC, PIT, port 0x61).
 *
 * @module
 */

export * from "./port_device.ts";
export * from "./debug_console.ts";
export * from "./debug_exit.ts";
export * from "./serial.ts";
export * from "./serial_gate.ts";
export * from "./entropy.ts";
export * from "./lapic.ts";
export * from "./platform_clock.ts";
export * from "./pic.ts";
export * from "./pit.ts";
export * from "./system_control.ts";
export * from "./rtc.ts";
export * from "./i8042.ts";
export * from "./post_code.ts";

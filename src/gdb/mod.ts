/**
 * A GDB remote serial protocol server for a guest: breakpoints and watchpoints that leave guest
 * memory alone, guest-virtual memory access, reverse execution over in-memory snapshots, and
 * monitor commands for the hypervisor's own state.
 *
 * @module
 */

export * from "./packet.ts";
export * from "./target_description.ts";
export * from "./registers.ts";
export * from "./guest_memory.ts";
export * from "./history.ts";
export * from "./target.ts";
export * from "./monitor.ts";
export * from "./session.ts";
export * from "./server.ts";

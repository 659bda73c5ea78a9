/**
 * Live migration, snapshots and restore for hvsim: dirty bitmap, stream format, pre-copy
 * controller and policies, links, statistics, transports, inspection.
 *
 * @module
 */

export * from "./vm_interface.ts";
export * from "./dirty_bitmap.ts";
export * from "./crc32c.ts";
export * from "./byte_io.ts";
export * from "./stream.ts";
export * from "./ram_pages.ts";
export * from "./receiver.ts";
export * from "./state.ts";
export * from "./link.ts";
export * from "./stats.ts";
export * from "./policies.ts";
export * from "./controller.ts";
export * from "./transport.ts";
export * from "./tcp.ts";
export * from "./file.ts";
export * from "./fault.ts";
export * from "./inspect.ts";
export * from "./lazy_ram.ts";
export * from "./report.ts";
export * from "./report_html.ts";
export * from "./ping_pong.ts";

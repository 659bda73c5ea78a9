/**
 * A machine (guest RAM, vCPU, devices), its ELF loader and boot protocol, and the exit loop.
 *
 * @module
 */

export * from "./machine.ts";
export * from "./elf.ts";
export * from "./boot.ts";
export * from "./cpuid.ts";
export * from "./hypercall.ts";
export * from "./ept_map.ts";
export * from "./vcpu.ts";
export * from "./mmio.ts";
export * from "./host_memory.ts";
export * from "./memory_map.ts";

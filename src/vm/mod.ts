/**
 * A virtual machine: guest RAM, a vCPU in VMX non-root operation with its VMCS, EPT with dirty
 * logging, the devices (debug console and exit port, COM1, local APIC, entropy), the guest's ELF
 * loader and the hypervisor's exit loop. A guest runs deterministically: the same ELF and command
 * line give the same instructions, console output and final digest on every run.
 *
 * @example Boot a guest, run it to its end, read what it printed
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Machine } from "./mod.ts";
 *
 * const elf = Deno.readFileSync("guests/build/hello.elf");
 * const m = Machine.fromElf(elf, { cmdline: "greeting=hi verbose" });
 * const exit = m.runToEnd(1e8);
 * equal(exit.reason, "debug-exit");
 * // The console output equals the native build's (guests/hello/hello.expected.txt).
 * equal(m.consoleText(), Deno.readTextFileSync("guests/hello/hello.expected.txt"));
 * // Deterministic: a second machine ends on the same state digest.
 * const again = Machine.fromElf(elf, { cmdline: "greeting=hi verbose" });
 * again.runToEnd(1e8);
 * equal(again.digest(), m.digest());
 * ```
 *
 * @module
 */

export {
  type EntropySource,
  EXIT_REASONS,
  type ExitReason,
  GUEST_RAM_GRANULE,
  Machine,
  type MachineOptions,
  MAX_GUEST_RAM_BYTES,
  type RunExit,
} from "./machine.ts";
export { formatSize, type GuestImage, LOAD_FLOOR, type LoadSegment, parseElf, parseSize } from "./elf.ts";
export { guestMemoryMap, type MemoryMapRegion } from "./memory_map.ts";
export { type KernelImageRange, kernelImageRanges, linuxMemoryMap } from "./linux_image.ts";
export { type DirtyLogMethod, EptMap, type PageLoader } from "./ept_map.ts";
export { type VmEntryOutcome, VmxVcpu } from "./vcpu.ts";
export { bootGuest } from "./boot.ts";
export { bootMachine } from "./guest_boot.ts";
export {
  type E820Entry,
  initrdFormat,
  isLinuxKernel,
  linuxE820Map,
  type LinuxKernel,
  type LinuxLayout,
  type LinuxLoadOptions,
  loadLinux,
  parseLinuxKernel,
} from "./linux_loader.ts";
export type { SerialInput } from "../devices/serial.ts";
// The types that the exports above name from the CPU, VMX and migration parts (their own modules
// document them), so that this module's documentation is complete on its own.
export type { Cpu, GuestPhysicalMap } from "../cpu/cpu.ts";
export type { SharedMemory } from "../cpu/unified_memory.ts";
export type { Handler, Insn } from "../cpu/insn.ts";
export type { BreakKind, CpuDebug, DebugHit, Watch, WatchKind } from "../cpu/debug.ts";
export type { StateSection } from "../migration/vm_interface.ts";
export type {
  VmEntryFailure,
  VmEntryResult,
  VmFailInvalid,
  VmFailValid,
  VmPtrstResult,
  VmReadResult,
  VmSucceed,
  Vmx,
  VmxFault,
  VmxResult,
  VmxState,
} from "../vmx/instructions.ts";
export type { Vmcs, VmcsState } from "../vmx/vmcs.ts";
export type { VmxCapabilities } from "../vmx/capabilities.ts";
export type { PmlLog } from "../vmx/ept.ts";

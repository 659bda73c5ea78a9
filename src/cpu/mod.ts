/**
 * The x86-64 interpreter and block compiler, for those who drive the CPU themselves: decode,
 * disassemble and run guest code in 64-bit mode, read and set its registers, save and restore its
 * state. (A whole machine with its VMX layer, devices and exit loop is `hvsim/vm`.)
 *
 * @example Run two instructions and disassemble one
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Cpu, decode, disassemble, RAX, RBX, STOP_BUDGET } from "./mod.ts";
 * import { bootGuest } from "../vm/mod.ts";
 *
 * const ram = new Uint8Array(2 << 20);
 * ram.set([0x48, 0x01, 0xd8, 0x48, 0x0f, 0xaf, 0xc3], 0x100000); // add rax, rbx; imul rax, rbx
 * const cpu = new Cpu(ram);
 * bootGuest(cpu, ram, 0x100000, ""); // 64-bit mode, identity-mapped, RIP at the code
 * cpu.setReg64(RAX, 6n);
 * cpu.setReg64(RBX, 7n);
 * equal(disassemble(decode(cpu, 0x100000, Infinity)!), "add rax, rbx");
 * equal(cpu.run(2), STOP_BUDGET); // two instructions, then the budget is spent
 * equal(cpu.getReg64(RAX), 91n); // (6 + 7) * 7
 * ```
 *
 * @module
 */

export {
  ACC_FETCH,
  ACC_READ,
  ACC_WRITE,
  Cpu,
  type GuestPhysicalMap,
  IdentityMap,
  STOP_BUDGET,
  STOP_INTERNAL,
} from "./cpu.ts";
export * from "./registers.ts";
export { type Handler, Insn } from "./insn.ts";
export { SharedMemory } from "./unified_memory.ts";
export { decode, MAX_INSN_LENGTH } from "./decoder.ts";
export { disassemble } from "./disasm.ts";
export * from "./state.ts";
export * from "./fpu_state.ts";
export * from "./debug.ts";

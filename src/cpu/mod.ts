/**
 * The x86-64 interpreter.
 *
 * @module
 */

export * from "./cpu.ts";
export * from "./registers.ts";
export * from "./flags.ts";
export { Insn } from "./insn.ts";
export { decode, MAX_INSN_LENGTH } from "./decoder.ts";
export { type OpSpec, opSpecs, specOf } from "./table.ts";
export { disassemble } from "./disasm.ts";
export * from "./state.ts";
export * from "./fpu_state.ts";
export * from "./debug.ts";

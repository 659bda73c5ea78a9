/**
 * A small disassembler over the instruction table, for messages (divergence reports, stops the
 * hypervisor cannot handle): mnemonic and operands in Intel order.
 *
 * @module
 */

import type { Insn } from "./insn.ts";
import { BASE_RIP, NONE } from "./insn.ts";
import { gprName as reg } from "./registers.ts";
import { opSpecs } from "./table.ts";

function memOperand(i: Insn): string {
  const parts: string[] = [];
  if (i.base === BASE_RIP) parts.push("rip");
  else if (i.base !== NONE) parts.push(reg(i.asize, i.base));
  if (i.index !== NONE) parts.push(`${reg(i.asize, i.index)}*${1 << i.scale}`);
  let s = parts.join("+");
  if (i.disp !== 0 || s === "") {
    s += (i.disp < 0 ? "-" : s === "" ? "" : "+") + "0x" + Math.abs(i.disp).toString(16);
  }
  const seg = i.seg === 4 ? "fs:" : i.seg === 5 ? "gs:" : "";
  return `${seg}[${s}]`;
}

/** Text of a decoded instruction, e.g. `add rax, qword [rbx+rcx*8+0x10]`. */
export function disassemble(i: Insn): string {
  const spec = opSpecs[i.entry];
  if (spec === undefined || spec.h !== i.h) return "(bad)";
  const prefix = i.rep === 0xf3 ? "rep " : i.rep === 0xf2 ? "repne " : "";
  const ops: string[] = [];
  if (spec.modrm) {
    ops.push(i.mem ? memOperand(i) : reg(spec.byteRm ? 1 : i.size, i.rm));
    if (spec.ext < 0) ops.push(reg(i.size, i.reg));
  } else if (spec.regInOpcode) ops.push(reg(i.size, i.reg));
  if (spec.imm === 7 || spec.imm === 8) ops.push(`.${i.disp >= 0 ? "+" : ""}${i.disp + i.len}`);
  else if (spec.imm !== 0 && spec.imm !== 9) {
    ops.push(
      "0x" +
        (i.immHi !== 0 ? i.immHi.toString(16) + i.imm.toString(16).padStart(8, "0") : i.imm.toString(16)),
    );
  }
  return `${prefix}${spec.mnemonic}${ops.length ? " " + ops.join(", ") : ""}`;
}

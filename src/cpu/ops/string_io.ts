/**
 * INS and OUTS, with and without REP (SDM Vol. 2 INS/INSB/INSW/INSD, OUTS/OUTSB/OUTSW/OUTSD): one
 * element per iteration between the port in DX and memory at ES:RDI (INS; no segment override) or
 * DS:RSI (OUTS; FS and GS overrides count), RDI/RSI stepping by DF. Each iteration retires as an
 * instruction of its own, as the other string instructions' iterations do (src/cpu/ops/string.ts).
 *
 * An iteration first makes its memory access safe (OUTS reads its element, INS checks the
 * destination for writing), so a page fault comes before any port access. Then, when the I/O
 * bitmaps let the port through, it goes to the device directly; otherwise the iteration exits with
 * exit reason 30, the string and REP bits of the qualification, the INS/OUTS instruction information
 * and the element's linear address (SDM Vol. 3 §28.2.1, §28.2.5), and the hypervisor performs that
 * one iteration ({@linkcode ioIteration}).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { IOPL, RCX, RDI, RDX, RSI, SEG_DS, SEG_ES } from "../registers.ts";
import { addrReg, stepReg } from "./string.ts";
import { EXIT_REASON_IO_INSTRUCTION } from "../../vmx/exit_reasons.ts";
import { encodeIoQualification, encodeStringIoInstructionInfo } from "../../vmx/qualifications.ts";

/** `insn.op` of OUTS (INS is 0). */
export const STRING_IO_OUT = 1;

/** Element size of INS/OUTS: 1, 2 or 4 bytes (REX.W does not make it 8). */
function elementSize(i: Insn): 1 | 2 | 4 {
  return i.size === 1 ? 1 : i.size === 2 ? 2 : 4;
}

/**
 * One iteration of INS (`out` false) or OUTS between `port` and memory at linear `lin`, as the
 * hypervisor performs it after the exit (or the CPU when the port does not exit): the element moves,
 * RDI or RSI steps by DF, and with REP RCX counts down. Returns true when the instruction is done
 * (no REP, or RCX reached 0).
 */
export function ioIteration(
  cpu: Cpu,
  out: boolean,
  size: 1 | 2 | 4,
  addressSize: number,
  rep: boolean,
  lin: number,
  access: { read(port: number, size: number): number; write(port: number, size: number, v: number): void },
): boolean {
  const a32 = addressSize === 4;
  const port = cpu.gpr[2 * RDX] & 0xffff;
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  if (out) access.write(port, size, cpu.read(lin, size) & mask);
  else cpu.write(lin, size, (access.read(port, size) & mask) >>> 0, 0);
  stepReg(cpu, out ? RSI : RDI, cpu.dir() * size, a32);
  if (!rep) return true;
  const g = cpu.gpr;
  const cl = g[2 * RCX], ch = a32 ? 0 : g[2 * RCX + 1];
  if (cl === 0) {
    g[2 * RCX] = 0xffffffff;
    if (!a32) g[2 * RCX + 1] = (ch - 1) >>> 0;
  } else {
    g[2 * RCX] = cl - 1;
    if (a32) g[2 * RCX + 1] = 0;
  }
  return g[2 * RCX] === 0 && (a32 || g[2 * RCX + 1] === 0);
}

/** INS (6c, 6d) and OUTS (6e, 6f; `op` = {@linkcode STRING_IO_OUT}). */
export function stringIo(cpu: Cpu, i: Insn): void {
  if (cpu.cpl > ((cpu.fl.rf & IOPL) >>> 12)) cpu.gp0();
  const out = i.op === STRING_IO_OUT;
  const size = elementSize(i);
  const a32 = i.asize === 4;
  const rep = i.rep !== 0;
  const g = cpu.gpr;
  const port = g[2 * RDX] & 0xffff;
  let first = true;
  for (;;) {
    if (rep) {
      if (g[2 * RCX] === 0 && (a32 || g[2 * RCX + 1] === 0)) return;
      if (!first) {
        // Later iterations retire as instructions of their own (see string.ts).
        cpu.brk = true;
        if (cpu.icount + 1 >= cpu.endAt) {
          cpu.nrip = cpu.rip;
          return;
        }
        cpu.icount++;
      }
    }
    first = false;
    const lin = out ? cpu.withSegmentBase(i.seg, addrReg(cpu, RSI, a32)) : addrReg(cpu, RDI, a32);
    if (out) cpu.read(lin, size);
    else cpu.probeWrite(lin, size);
    const ports = cpu.ports;
    if (ports === null || cpu.ctl.ioExit(port, size)) {
      cpu.exitInsnInfo = encodeStringIoInstructionInfo({
        addressSize: a32 ? 4 : 8,
        segment: out ? (i.seg >= 0 ? i.seg : SEG_DS) : SEG_ES,
      });
      cpu.exitGla = lin;
      cpu.vmExit(
        EXIT_REASON_IO_INSTRUCTION,
        encodeIoQualification({ size, in: !out, string: true, rep, immediate: false, port }),
      );
    }
    if (ioIteration(cpu, out, size, a32 ? 4 : 8, rep, lin, ports) || !rep) return;
  }
}

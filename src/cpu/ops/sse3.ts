/**
 * SSE3 (SDM Vol. 2: ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD, MOVSLDUP, MOVSHDUP, MOVDDUP, LDDQU). The
 * arithmetic goes lane by lane through the SSE2 lane operations of sse_fp.ts, so rounding, DAZ/FTZ,
 * NaN propagation and the flags are those of ADDPS/SUBPS; like them, an unmasked exception writes
 * no destination. FISTTP is x87; MONITOR/MWAIT are not implemented (CPUID.1:ECX.MONITOR[3] = 0,
 * so they raise #UD, SDM Vol. 2 "MONITOR").
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { OP_ADD, OP_SUB } from "../softfloat.ts";
import { copy128, src128, src64, sseCheck, T_DST } from "./_sse.ts";
import { arithD, arithS, finish } from "./sse_fp.ts";

/** `op` bit of the FP handlers here: binary64 lanes (the PD forms). */
export const SSE3_DOUBLE = 1;
/** `op` bit of {@linkcode horizontal}: subtract (HSUB) rather than add (HADD). */
export const SSE3_SUB = 2;

/** ADDSUBPS (op 0) / ADDSUBPD (SSE3_DOUBLE): even lanes dest - src, odd lanes dest + src. */
export function addsub(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  f.pre = f.post = 0;
  const s = src128(cpu, i, true), d = i.reg;
  if ((i.op & SSE3_DOUBLE) !== 0) {
    for (let k = 0; k < 2; k++) arithD(f, k === 0 ? OP_SUB : OP_ADD, 2 * d + k, 2 * s + k, 2 * T_DST + k);
  } else {
    for (let k = 0; k < 4; k++) {
      arithS(f, (k & 1) === 0 ? OP_SUB : OP_ADD, 4 * d + k, 4 * s + k, 4 * T_DST + k);
    }
  }
  finish(cpu);
  copy128(f.xmm, d, T_DST);
}

/**
 * HADDPS/HSUBPS/HADDPD/HSUBPD (op = SSE3_DOUBLE | SSE3_SUB): adjacent lanes of the destination
 * combined into the low half of the result, those of the source into the high half.
 */
export function horizontal(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const f = cpu.fpu;
  f.pre = f.post = 0;
  const s = src128(cpu, i, true), d = i.reg;
  const op = (i.op & SSE3_SUB) !== 0 ? OP_SUB : OP_ADD;
  if ((i.op & SSE3_DOUBLE) !== 0) {
    arithD(f, op, 2 * d, 2 * d + 1, 2 * T_DST);
    arithD(f, op, 2 * s, 2 * s + 1, 2 * T_DST + 1);
  } else {
    arithS(f, op, 4 * d, 4 * d + 1, 4 * T_DST);
    arithS(f, op, 4 * d + 2, 4 * d + 3, 4 * T_DST + 1);
    arithS(f, op, 4 * s, 4 * s + 1, 4 * T_DST + 2);
    arithS(f, op, 4 * s + 2, 4 * s + 3, 4 * T_DST + 3);
  }
  finish(cpu);
  copy128(f.xmm, d, T_DST);
}

/** MOVSLDUP (op 0: lanes 0,0,2,2), MOVSHDUP (op 1: lanes 1,1,3,3), MOVDDUP (op 2: the low quadword twice, m64 source). */
export function movdup(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.fpu.xmm, d = 4 * i.reg;
  if (i.op === 2) {
    const s = 4 * src64(cpu, i);
    const lo = x[s], hi = x[s + 1];
    x[d] = x[d + 2] = lo;
    x[d + 1] = x[d + 3] = hi;
    return;
  }
  const s = 4 * src128(cpu, i, true) + i.op;
  const a = x[s], b = x[s + 2];
  x[d] = x[d + 1] = a;
  x[d + 2] = x[d + 3] = b;
}

/**
 * Runs conformance-format cases (src/conformance/case.ts) on the interpreter, through the bare
 * test CPU of `_harness.ts`, and compares results with the undefined bits masked.
 */

import { CODE_ADDR, go, load, makeCpu, REGS, SCRATCH_ADDR, SCRATCH_SIZE } from "./_harness.ts";
import type { Cpu } from "../../src/cpu/mod.ts";
import { EXCEPTION_NAMES } from "../../src/conformance/case.ts";

/** Exception names by vector, as the conformance format spells them. */
const EXC = EXCEPTION_NAMES;

/** A case: the subset of the conformance TestCase the interpreter needs. */
export interface HostCase {
  id: string;
  asm: string;
  bytes: string;
  regs: Record<string, string>;
  rflags: string;
  mem: string;
  undef: { flags: number; regs?: Record<string, string>; mem?: [number, number][] };
}

/** A result: the subset of the conformance CaseResult. */
export interface HostResult {
  exception?: string;
  regs?: Record<string, string>;
  rip?: string;
  rflags?: string;
  mem?: string;
}

function bytesOf(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Runs one case on `cpu` (made by makeCpu) and reports it as the host oracle would. */
export function runHostCase(cpu: Cpu, c: HostCase): HostResult {
  const regs: Partial<Record<typeof REGS[number], bigint>> = {};
  for (const r of REGS) regs[r] = BigInt(c.regs[r]);
  load(cpu, { code: bytesOf(c.bytes), regs, rflags: Number(c.rflags), scratch: bytesOf(c.mem) });
  const o = go(cpu, 1000);
  const out: HostResult = {};
  // The instruction's own INT3 is #BP at the next byte; any other INT3 is the end sentinel.
  if (o.vector === 3 && o.rip !== CODE_ADDR) {
    // stopped at an INT3 sentinel
  } else if (o.vector >= 0) {
    out.exception = EXC[o.vector] ?? `vector${o.vector}`;
  } else {
    out.exception = "timeout";
  }
  const rs: Record<string, string> = {};
  for (const r of REGS) rs[r] = "0x" + o.regs[r].toString(16);
  out.regs = rs;
  out.rip = "0x" + o.rip.toString(16);
  out.rflags = "0x" + o.rflags.toString(16);
  out.mem = hexOf(cpu.mem.subarray(SCRATCH_ADDR, SCRATCH_ADDR + SCRATCH_SIZE));
  return out;
}

/** Fields where `got` differs from `want` outside the case's undefined bits. */
export function differences(c: HostCase, want: HostResult, got: HostResult): string[] {
  if (want.exception !== undefined || got.exception !== undefined) {
    if (want.exception === got.exception) return [];
    return [`exception: want ${want.exception ?? "none"}, got ${got.exception ?? "none"}`];
  }
  const out: string[] = [];
  for (const r of REGS) {
    const mask = ~BigInt(c.undef.regs?.[r] ?? 0) & 0xffffffffffffffffn;
    const x = BigInt(want.regs![r]) & mask, y = BigInt(got.regs![r]) & mask;
    if (x !== y) out.push(`${r}: want 0x${x.toString(16)}, got 0x${y.toString(16)}`);
  }
  if (BigInt(want.rip!) !== BigInt(got.rip!)) out.push(`rip: want ${want.rip}, got ${got.rip}`);
  const fm = 0xcd5 & ~c.undef.flags;
  const wf = Number(want.rflags) & fm, gf = Number(got.rflags) & fm;
  if (wf !== gf) {
    out.push(`rflags: want 0x${wf.toString(16)}, got 0x${gf.toString(16)} (mask 0x${fm.toString(16)})`);
  }
  const um = new Map<number, number>();
  for (const [off, m] of c.undef.mem ?? []) um.set(off, (um.get(off) ?? 0) | m);
  for (let i = 0; i < SCRATCH_SIZE; i++) {
    const m = ~(um.get(i) ?? 0) & 0xff;
    const x = parseInt(want.mem!.slice(2 * i, 2 * i + 2), 16) & m;
    const y = parseInt(got.mem!.slice(2 * i, 2 * i + 2), 16) & m;
    if (x !== y) out.push(`mem[0x${i.toString(16)}]: want 0x${x.toString(16)}, got 0x${y.toString(16)}`);
  }
  return out;
}

export { makeCpu };

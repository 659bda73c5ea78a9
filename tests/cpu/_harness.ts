/**
 * A bare CPU for instruction tests: 64-bit mode, CPL 0, flat segments, paging off (linear =
 * physical), every exception turned into a stop (`ctl.exceptionBitmap` all ones) so a test sees
 * the vector instead of an IDT delivery.
 *
 * The memory layout is the conformance case layout (src/conformance/case.ts), so cases run on the
 * host CPU by the host oracle replay here unchanged: a code region full of INT3 with the code at
 * `CODE_ADDR`, a scratch area at `SCRATCH_ADDR`. A run ends at the first INT3 it reaches.
 */

import {
  Cpu,
  CR0_ET,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  GPR_NAMES,
  type GprName,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
  SharedMemory,
  STOP_BUDGET,
  STOP_INTERNAL,
} from "../../src/cpu/mod.ts";
import { EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_HLT } from "../../src/vmx/exit_reasons.ts";

/** Start of the code region (filled with INT3). */
export const CODE_REGION_BASE = 0x200000;
/** Size of the code region. */
export const CODE_REGION_SIZE = 0x2000;
/** Where test code is placed. */
export const CODE_ADDR = 0x201000;
/** Scratch area for memory operands. */
export const SCRATCH_ADDR = 0x300800;
/** Size of the scratch area. */
export const SCRATCH_SIZE = 256;
/** RAM of the test CPU. */
export const TEST_RAM = 4 * 2 ** 20;

/** Register names in encoding order. */
export const REGS = GPR_NAMES;
/** A register name. */
export type Reg = GprName;

/** The outcome of a run. */
export interface Outcome {
  /** Exception vector that stopped the run (3 = the INT3 sentinel), or -1 (budget, HLT, other exit). */
  vector: number;
  /** What `cpu.run` returned. */
  stop: number;
  /** Final registers. */
  regs: Record<Reg, bigint>;
  /** Final RIP. */
  rip: number;
  /** Final RFLAGS. */
  rflags: number;
}

/** Where the harness keeps its page tables (PML4, PDPT, PD, one page table for 2..4 MiB). */
const PAGE_TABLES = 0x10000;

/**
 * Makes a CPU in flat 64-bit mode over fresh RAM, with 4-level paging that maps (identity,
 * writable) only the code region, the scratch page and the 4 KiB pages listed in `extraPages`
 * (addresses in 2..4 MiB), as the host oracle maps only those: any other access is a #PF. `wasm`:
 * the RAM in a WebAssembly memory and hot blocks compiled by the WebAssembly backend.
 */
export function makeCpu(extraPages: number[] = [], wasm = false): Cpu {
  const ram = TEST_RAM;
  const cpu = new Cpu(wasm ? new SharedMemory(ram) : new Uint8Array(ram));
  if (wasm) cpu.backend = "wasm";
  const dv = new DataView(cpu.mem.buffer);
  const pml4 = PAGE_TABLES, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000, pt = pd + 0x1000;
  // User-accessible (U/S = 1) so that tests can return to ring 3.
  dv.setBigUint64(pml4, BigInt(pdpt | 7), true);
  dv.setBigUint64(pdpt, BigInt(pd | 7), true);
  dv.setBigUint64(pd + 8, BigInt(pt | 7), true); // 0x200000..0x3fffff
  const pages = [CODE_REGION_BASE, CODE_REGION_BASE + 0x1000, SCRATCH_ADDR & ~0xfff, ...extraPages];
  for (const p of pages) {
    if (p < 0x200000 || p >= 0x400000 || p % 4096 !== 0) {
      throw new RangeError(`cannot map page 0x${p.toString(16)}`);
    }
    dv.setBigUint64(pt + ((p - 0x200000) >>> 12) * 8, BigInt(p | 7), true);
  }
  cpu.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
  cpu.cr4 = CR4_PAE;
  cpu.cr3 = pml4;
  cpu.efer = EFER_LME | EFER_LMA;
  const flat = (seg: number, ar: number) => {
    cpu.segSel[seg] = seg === SEG_CS ? 8 : seg === SEG_SS ? 16 : 0; // null DS, ES, FS, GS as in Linux user mode
    cpu.segBase[seg] = 0;
    cpu.segLimit[seg] = 0xffffffff;
    cpu.segAr[seg] = ar;
  };
  flat(SEG_CS, 0xa09b);
  for (const s of [SEG_DS, SEG_ES, SEG_SS, SEG_FS, SEG_GS]) flat(s, 0xc093);
  cpu.ctl.exceptionBitmap = 0xffffffff;
  cpu.ctl.hltExiting = true;
  return cpu;
}

/** Initial state of one run. */
export interface Setup {
  /** Code bytes, placed at CODE_ADDR. */
  code: Uint8Array;
  /** Registers (others are 0). */
  regs?: Partial<Record<Reg, bigint>>;
  /** RFLAGS (bit 1 is forced). */
  rflags?: number;
  /** Scratch-area contents (at most SCRATCH_SIZE bytes). */
  scratch?: Uint8Array;
  /** FS and GS bases. */
  fsBase?: number;
  gsBase?: number;
}

/** Resets `cpu` to `s`: registers, flags, code region, scratch page; caches dropped. */
export function load(cpu: Cpu, s: Setup): void {
  const mem = cpu.mem;
  mem.fill(0xcc, CODE_REGION_BASE, CODE_REGION_BASE + CODE_REGION_SIZE);
  mem.set(s.code, CODE_ADDR);
  mem.fill(0, SCRATCH_ADDR - 0x800, SCRATCH_ADDR + 0x800);
  if (s.scratch) mem.set(s.scratch, SCRATCH_ADDR);
  for (let r = 0; r < 16; r++) cpu.setReg64(r, s.regs?.[REGS[r]] ?? 0n);
  cpu.setRflags(s.rflags ?? 2);
  cpu.segBase[SEG_FS] = s.fsBase ?? 0;
  cpu.segBase[SEG_GS] = s.gsBase ?? 0;
  cpu.rip = CODE_ADDR;
  cpu.halted = false;
  cpu.icount = 0;
  cpu.shadowEnd = 0;
  cpu.flushTlb();
  cpu.blocks.clear();
}

/** Runs until a stop (INT3, another exception, an exit, the budget); throws on a simulator defect. */
export function go(cpu: Cpu, budget = 100000): Outcome {
  const stop = cpu.run(budget);
  if (stop === STOP_INTERNAL) throw new Error(`simulator defect: ${cpu.internalError}`);
  const regs = {} as Record<Reg, bigint>;
  for (let r = 0; r < 16; r++) regs[REGS[r]] = cpu.getReg64(r);
  return {
    vector: stop === EXIT_REASON_EXCEPTION_NMI ? cpu.exitIntrInfo & 0xff : -1,
    stop,
    regs,
    rip: cpu.rip,
    rflags: cpu.getRflags(),
  };
}

/** Loads and runs. */
export function runCase(cpu: Cpu, s: Setup, budget = 100000): Outcome {
  load(cpu, s);
  return go(cpu, budget);
}

/** Bytes from hex text (spaces allowed). */
export function hexBytes(h: string): Uint8Array {
  const t = h.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** 64-bit value as 0x hex. */
export function hx(v: bigint | number): string {
  return "0x" + BigInt.asUintN(64, BigInt(v)).toString(16);
}

export { EXIT_REASON_HLT, STOP_BUDGET };

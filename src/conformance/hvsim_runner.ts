/**
 * The runner under test: hvsim's own interpreter (src/cpu), booted by the loader's protocol
 * (src/vm/boot.ts: 64-bit mode, CPL 0, identity paging over 4 MiB of RAM) with every exception
 * vector set in the exception bitmap, so an exception stops the run as an exception exit instead of
 * going through the (absent) IDT.
 * @module
 */

import { Cpu, STOP_BUDGET, STOP_INTERNAL } from "../cpu/mod.ts";
import { SharedMemory } from "../cpu/unified_memory.ts";
import { bootGuest } from "../vm/boot.ts";
import {
  type CaseResult,
  CODE_ADDR,
  CODE_REGION_BASE,
  CODE_REGION_SIZE,
  EXCEPTION_NAMES,
  hexToBytes,
  REG_NAMES,
  type RegName,
  SCRATCH_ADDR,
  SCRATCH_PAGE,
  SCRATCH_SIZE,
  type TestCase,
} from "./case.ts";
import type { Runner } from "./runner.ts";
import type { FpuState } from "../cpu/fpu_state.ts";
import { EXIT_REASON_EXCEPTION_NMI } from "../vmx/exit_reasons.ts";

/** Guest RAM for the conformance machine: covers the code region and the scratch page. */
export const HVSIM_RAM_BYTES = 4 * 2 ** 20;
/** Instructions after which a case counts as an endless loop (the same limit Unicorn gets). */
export const HVSIM_MAX_STEPS = 10000;

/** Runs cases in hvsim's interpreter, one CPU reused for all cases. */
export class HvsimRunner implements Runner {
  /** Runner name in reports ("hvsim", or as given). */
  readonly name: string;
  readonly #shared = new SharedMemory(HVSIM_RAM_BYTES);
  readonly #ram = this.#shared.bytes;
  readonly #cpu = new Cpu(this.#shared);

  /**
   * @param opts.compileThreshold the CPU's block-compile threshold: 1 runs every case through the
   *   block compiler's code, the default (16) through the interpreter loop (a case runs once)
   * @param opts.name the runner's name in reports (default "hvsim")
   * @param opts.backend the compiler compiled blocks go to: "js" (default) or "wasm" (`Cpu.backend`)
   */
  constructor(opts: { compileThreshold?: number; name?: string; backend?: "js" | "wasm" } = {}) {
    this.name = opts.name ?? "hvsim";
    this.#cpu.backend = opts.backend ?? "js";
    if (opts.compileThreshold !== undefined) this.#cpu.compileThreshold = opts.compileThreshold;
  }

  /** Runs every case; never throws for a case (an interpreter error becomes a `crash` result). */
  run(cases: readonly TestCase[]): Promise<CaseResult[]> {
    return Promise.resolve(cases.map((c) => this.runOne(c)));
  }

  /** Runs one case. */
  runOne(c: TestCase): CaseResult {
    const ram = this.#ram;
    const cpu = this.#cpu;
    let bytes: Uint8Array, mem: Uint8Array;
    try {
      bytes = hexToBytes(c.bytes);
      mem = hexToBytes(c.mem);
      if (bytes.length < 1 || bytes.length > 15 || mem.length !== SCRATCH_SIZE) throw new RangeError("sizes");
      for (const r of REG_NAMES) BigInt(c.regs[r]);
    } catch {
      return { id: c.id, exception: "error", detail: "malformed case" };
    }
    ram.fill(0xcc, CODE_REGION_BASE, CODE_REGION_BASE + CODE_REGION_SIZE);
    ram.set(bytes, CODE_ADDR);
    ram.fill(0, SCRATCH_PAGE, SCRATCH_PAGE + 4096);
    ram.set(mem, SCRATCH_ADDR);
    bootGuest(cpu, ram, CODE_ADDR, "");
    cpu.blocks.clear();
    cpu.halted = false;
    cpu.ctl.exceptionBitmap = 0xffffffff | 0;
    REG_NAMES.forEach((r, i) => cpu.setReg64(i, BigInt(c.regs[r])));
    cpu.setRflags((Number(c.rflags) & 0xcd5) | 2);
    if (c.xmm !== undefined) {
      let x: Uint8Array;
      try {
        x = hexToBytes(c.xmm);
        if (x.length !== 256 || !(Number(c.mxcsr) >= 0 && Number(c.mxcsr) <= 0xffff)) {
          throw new RangeError("sse");
        }
      } catch {
        return { id: c.id, exception: "error", detail: "malformed case" };
      }
      cpu.fpu.xmmU8.set(x);
      cpu.fpu.mxcsr = Number(c.mxcsr);
    }
    if (c.x87 !== undefined) {
      try {
        setX87(cpu.fpu, hexToBytes(c.x87));
      } catch {
        return { id: c.id, exception: "error", detail: "malformed case" };
      }
    }
    cpu.rip = CODE_ADDR;

    let stop: number;
    try {
      stop = cpu.run(HVSIM_MAX_STEPS);
    } catch (e) {
      return { id: c.id, exception: "crash", detail: `interpreter threw: ${(e as Error).message}` };
    }
    const out: CaseResult = { id: c.id };
    let rip = Number(cpu.getRip());
    if (stop === STOP_BUDGET) {
      out.exception = "timeout";
      out.detail = `no INT3 reached within ${HVSIM_MAX_STEPS} instructions`;
    } else if (stop === STOP_INTERNAL) {
      out.exception = "crash";
      out.detail = `interpreter error: ${cpu.internalError.split("\n")[0]}`;
    } else if (stop === EXIT_REASON_EXCEPTION_NMI) {
      const vector = cpu.exitIntrInfo & 0xff;
      if (!(vector === 3 && rip !== CODE_ADDR)) {
        out.exception = EXCEPTION_NAMES[vector] ?? "unknown";
        out.vector = vector;
      }
    } else {
      out.exception = "exit";
      out.detail = `VM exit reason ${stop}`;
    }
    const regs = {} as Record<RegName, string>;
    REG_NAMES.forEach((r, i) => regs[r] = "0x" + cpu.getReg64(i).toString(16));
    out.regs = regs;
    rip = Number(cpu.getRip());
    out.rip = "0x" + rip.toString(16);
    out.rflags = "0x" + cpu.getRflags().toString(16);
    out.mem = Array.from(
      ram.subarray(SCRATCH_ADDR, SCRATCH_ADDR + SCRATCH_SIZE),
      (x) => x.toString(16).padStart(2, "0"),
    )
      .join("");
    if (c.xmm !== undefined) {
      out.xmm = Array.from(cpu.fpu.xmmU8.subarray(0, 256), (x) => x.toString(16).padStart(2, "0")).join("");
      out.mxcsr = "0x" + cpu.fpu.mxcsr.toString(16);
    }
    if (c.x87 !== undefined) {
      out.x87 = Array.from(getX87(cpu.fpu), (x) => x.toString(16).padStart(2, "0")).join("");
    }
    return out;
  }
}

/** Loads a case's x87 state (case.ts `x87`: FCW, FSW, full FTW, ST0-ST7) into the FPU. */
function setX87(f: FpuState, b: Uint8Array): void {
  if (b.length !== 86) throw new RangeError("x87 state size");
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  f.fcw = dv.getUint16(0, true);
  f.fsw = dv.getUint16(2, true);
  f.ftw = dv.getUint16(4, true);
  const top = (f.fsw >>> 11) & 7;
  for (let i = 0; i < 8; i++) f.st.set(b.subarray(6 + 10 * i, 16 + 10 * i), 10 * ((top + i) & 7));
}

/** The FPU's x87 state in the case format. */
function getX87(f: FpuState): Uint8Array {
  const b = new Uint8Array(86);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, f.fcw, true);
  dv.setUint16(2, f.fsw, true);
  // The full tag word as it can be observed (FNSTENV, FNSAVE; the host's FXSAVE image): empty or not,
  // and a non-empty register's tag from its contents.
  let ftw = 0;
  for (let p = 0; p < 8; p++) ftw |= (((f.ftw >>> (2 * p)) & 3) === 3 ? 3 : f.tagOf(p)) << (2 * p);
  dv.setUint16(4, ftw, true);
  const top = (f.fsw >>> 11) & 7;
  for (let i = 0; i < 8; i++) {
    b.set(f.st.subarray(10 * ((top + i) & 7), 10 * ((top + i) & 7) + 10), 6 + 10 * i);
  }
  return b;
}

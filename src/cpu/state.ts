/**
 * Saving and restoring the architectural state of a {@linkcode Cpu} (everything but memory and
 * caches), as plain data and as bytes. Migration, snapshots, digests and record/replay use it.
 *
 * @module
 */

import type { Cpu } from "./cpu.ts";
import { DR6_FIXED1 } from "./registers.ts";
import { XCR0_RESET, xcr0Valid } from "./ops/xsave.ts";

/**
 * Version of the byte format of {@linkcode encodeCpuState}. 2 added the debug registers DR0-DR3
 * and DR6, 3 XCR0; {@linkcode decodeCpuState} still reads versions 1 and 2, with those at their
 * reset values.
 */
export const CPU_STATE_VERSION = 3;

/** The architectural state of a CPU as plain data. */
export interface CpuState {
  /** The 16 general-purpose registers as 32-bit halves, low then high (RAX low, RAX high, RCX low, ...). */
  gpr: number[];
  /** RIP. */
  rip: number;
  /** RFLAGS. */
  rflags: number;
  /** Segment selectors, in SEG_* order (ES, CS, SS, DS, FS, GS, LDTR, TR). */
  segSel: number[];
  /** Segment bases, in the same order. */
  segBase: number[];
  /** Segment limits, in the same order. */
  segLimit: number[];
  /** Segment access rights (VMX access-rights format), in the same order. */
  segAr: number[];
  /** GDTR base. */
  gdtrBase: number;
  /** GDTR limit. */
  gdtrLimit: number;
  /** IDTR base. */
  idtrBase: number;
  /** IDTR limit. */
  idtrLimit: number;
  /** CR0. */
  cr0: number;
  /** CR2. */
  cr2: number;
  /** CR3. */
  cr3: number;
  /** CR4. */
  cr4: number;
  /** CR8 (task priority). */
  cr8: number;
  /** IA32_EFER. */
  efer: number;
  /** DR0-DR3 as 32-bit halves (low of DRn at [2n]). */
  dr: number[];
  /** DR6 (debug status). */
  dr6: number;
  /** DR7 (debug control). */
  dr7: number;
  /** Current privilege level. */
  cpl: number;
  /** IA32_KERNEL_GS_BASE (SWAPGS). */
  kernelGsBase: number;
  /** Other MSRs: [index, value as a hex string]. */
  msrs: [number, string][];
  /** Retired instructions (virtual time). */
  icount: number;
  /** TSC offset: the TSC reads icount + tscOffset. */
  tscOffset: number;
  /** Interrupt shadow left, in instructions (0 or 1). */
  shadow: number;
  /** The open shadow is MOV SS's (else STI's). */
  shadowMovSs: boolean;
  /** Halted (HLT) until an interrupt. */
  halted: boolean;
  /** XCR0 (XSAVE feature mask). */
  xcr0: number;
}

/** Captures the CPU's architectural state. */
export function saveCpuState(cpu: Cpu): CpuState {
  return {
    gpr: Array.from(cpu.gpr),
    rip: cpu.rip,
    rflags: cpu.getRflags(),
    segSel: Array.from(cpu.segSel),
    segBase: Array.from(cpu.segBase),
    segLimit: Array.from(cpu.segLimit),
    segAr: Array.from(cpu.segAr),
    gdtrBase: cpu.gdtrBase,
    gdtrLimit: cpu.gdtrLimit,
    idtrBase: cpu.idtrBase,
    idtrLimit: cpu.idtrLimit,
    cr0: cpu.cr0,
    cr2: cpu.cr2,
    cr3: cpu.cr3,
    cr4: cpu.cr4,
    cr8: cpu.cr8,
    efer: cpu.efer,
    dr: Array.from(cpu.dr),
    dr6: cpu.dr6,
    dr7: cpu.dr7,
    cpl: cpu.cpl,
    kernelGsBase: cpu.kernelGsBase,
    msrs: [...cpu.msrs.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, v.toString(16)]),
    icount: cpu.icount,
    tscOffset: cpu.tscOffset,
    shadow: Math.max(0, cpu.shadowEnd - cpu.icount),
    // Blocking by MOV SS exists only while the shadow is open (SDM Vol. 3 §25.4.2, interruptibility state).
    shadowMovSs: cpu.shadowEnd > cpu.icount && cpu.shadowMovSs,
    halted: cpu.halted,
    xcr0: cpu.xcr0,
  };
}

/** Loads a state captured by {@linkcode saveCpuState}; caches (TLB, decoded blocks) are dropped. */
export function restoreCpuState(cpu: Cpu, s: CpuState): void {
  if (s.gpr.length !== 32 || s.segSel.length !== 8 || s.dr.length !== 8) {
    throw new RangeError("CPU state has the wrong shape");
  }
  cpu.gpr.set(s.gpr);
  cpu.rip = s.rip;
  cpu.setRflags(s.rflags);
  cpu.segSel.set(s.segSel);
  cpu.segBase.set(s.segBase);
  cpu.segLimit.set(s.segLimit);
  cpu.segAr.set(s.segAr);
  cpu.gdtrBase = s.gdtrBase;
  cpu.gdtrLimit = s.gdtrLimit;
  cpu.idtrBase = s.idtrBase;
  cpu.idtrLimit = s.idtrLimit;
  cpu.cr0 = s.cr0;
  cpu.cr2 = s.cr2;
  cpu.cr3 = s.cr3;
  cpu.cr4 = s.cr4;
  cpu.cr8 = s.cr8;
  cpu.efer = s.efer;
  cpu.dr.set(s.dr);
  cpu.dr6 = s.dr6;
  cpu.dr7 = s.dr7;
  cpu.cpl = s.cpl;
  cpu.kernelGsBase = s.kernelGsBase;
  cpu.msrs.clear();
  for (const [k, v] of s.msrs) cpu.msrs.set(k, BigInt("0x" + v));
  cpu.icount = s.icount;
  cpu.tscOffset = s.tscOffset;
  cpu.shadowEnd = s.icount + s.shadow;
  cpu.shadowMovSs = s.shadowMovSs;
  cpu.halted = s.halted;
  cpu.xcr0 = s.xcr0;
  cpu.flushTlb();
  cpu.blocks.clear();
}

/** The CPU state as canonical bytes (stable key order), for streams and digests. */
export function encodeCpuState(s: CpuState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(s));
}

/**
 * Decodes bytes made by {@linkcode encodeCpuState} at `version` (1 or {@linkcode CPU_STATE_VERSION});
 * throws a clear error on damage or another version.
 */
export function decodeCpuState(b: Uint8Array, version = CPU_STATE_VERSION): CpuState {
  if (version !== 1 && version !== 2 && version !== CPU_STATE_VERSION) {
    throw new RangeError(
      `CPU state is version ${version}; this hvsim reads versions 1 to ${CPU_STATE_VERSION}`,
    );
  }
  let s: CpuState;
  try {
    s = JSON.parse(new TextDecoder().decode(b));
  } catch {
    throw new RangeError("CPU state section is not valid (cannot parse it)");
  }
  if (typeof s !== "object" || s === null) throw new RangeError("CPU state section is not an object");
  if (!Array.isArray(s.gpr) || s.gpr.length !== 32) {
    throw new RangeError("CPU state section lacks 32 register halves");
  }
  if (version === 1) {
    // Version 1 had no DR0-DR3 and DR6: they held their reset values (SDM Vol. 3 Table 10-1).
    s.dr = [0, 0, 0, 0, 0, 0, 0, 0];
    s.dr6 = DR6_FIXED1;
  } else if (!Array.isArray(s.dr) || s.dr.length !== 8 || typeof s.dr6 !== "number") {
    throw new RangeError("CPU state section lacks the debug registers DR0-DR3 and DR6");
  }
  // Versions 1 and 2 had no XCR0: it held its reset value (SDM Vol. 1 §13.3).
  if (version < 3) s.xcr0 = XCR0_RESET;
  checkCpuState(s);
  return s;
}

/** An integer (a double with no fraction) in [lo, hi). */
function within(x: unknown, lo: number, hi: number): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= lo && x < hi;
}

/**
 * Check every field of a decoded state against what {@linkcode saveCpuState} can write (numbers of the
 * register's width, booleans, the MSR list), so no other value reaches the CPU.
 */
function checkCpuState(s: CpuState): void {
  const bad = (what: string): never => {
    throw new RangeError(`CPU state section has an invalid ${what}`);
  };
  const u32 = 2 ** 32, u64 = 2 ** 64;
  const arrays: [keyof CpuState, number, number, number][] = [
    ["gpr", 32, 0, u32],
    ["segSel", 8, 0, 2 ** 16],
    ["segBase", 8, -u64, u64],
    ["segLimit", 8, 0, u32],
    ["segAr", 8, 0, u32],
    ["dr", 8, -u64, u64],
  ];
  for (const [k, n, lo, hi] of arrays) {
    const a = s[k];
    if (!Array.isArray(a) || a.length !== n || !a.every((x) => within(x, lo, hi))) bad(k);
  }
  const scalars: [keyof CpuState, number, number][] = [
    ["rip", -u64, u64],
    ["rflags", 0, u32],
    ["gdtrBase", -u64, u64],
    ["gdtrLimit", 0, 2 ** 16],
    ["idtrBase", -u64, u64],
    ["idtrLimit", 0, 2 ** 16],
    ["cr0", -u64, u64],
    ["cr2", -u64, u64],
    ["cr3", -u64, u64],
    ["cr4", -u64, u64],
    ["cr8", 0, 16],
    ["efer", -u64, u64],
    ["dr6", -u64, u64],
    ["dr7", -u64, u64],
    ["cpl", 0, 4],
    ["kernelGsBase", -u64, u64],
    ["icount", 0, Number.MAX_SAFE_INTEGER],
    ["tscOffset", -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ["shadow", 0, 2],
  ];
  for (const [k, lo, hi] of scalars) if (!within(s[k], lo, hi)) bad(k);
  if (typeof s.shadowMovSs !== "boolean") bad("shadowMovSs");
  if (typeof s.halted !== "boolean") bad("halted");
  if (typeof s.xcr0 !== "number" || !xcr0Valid(s.xcr0, 0)) bad("XCR0");
  if (
    !Array.isArray(s.msrs) ||
    !s.msrs.every((m) =>
      Array.isArray(m) && m.length === 2 && within(m[0], 0, u32) && typeof m[1] === "string" &&
      /^[0-9a-f]{1,16}$/.test(m[1])
    )
  ) {
    bad("MSR list");
  }
}

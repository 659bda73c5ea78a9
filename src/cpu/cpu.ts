/**
 * The x86-64 processor: architectural state, memory access through a software TLB, 4-level
 * paging, exception delivery through the 64-bit IDT, and the run loop over cached decoded blocks.
 *
 * The CPU runs as VMX non-root operation does: it stops with an Intel basic exit reason
 * (SDM Vol. 3 App. C) whenever the hypervisor must act (I/O, CPUID, HLT, triple fault, ...), or
 * with {@linkcode STOP_BUDGET} when its instruction budget (virtual time) runs out.
 *
 * @module
 */

import { Flags } from "./flags.ts";
import {
  SharedMemory,
  STATE_BYTES,
  STATE_GPR,
  STATE_RHPA,
  STATE_RTAG,
  STATE_TLB_ENTRIES,
  STATE_WHPA,
  STATE_WTAG,
  STATE_XMM,
} from "./unified_memory.ts";
import { FpuState } from "./fpu_state.ts";
import { Insn } from "./insn.ts";
import { type Block, BlockCache } from "./blocks.ts";
import { compileBlock, type CompiledBlock, compileRegion } from "./compiler.ts";
import { decode } from "./decoder.ts";
import { WasmBackend } from "./wasm/runtime.ts";
import type { CpuDebug } from "./debug.ts";
import {
  CLASS_DOUBLE_FAULT,
  eventClass,
  isDoubleFault,
  isFaultClass,
  isSoftwareInterrupt,
} from "./exception_classes.ts";
import {
  CF,
  CR0_PG,
  CR0_WP,
  CR4_PGE,
  DF,
  DR6_BD,
  DR6_FIXED1,
  DR7_FIXED1,
  DR7_GD,
  EFER_LMA,
  EFER_NXE,
  EXC_DB,
  EXC_DF,
  EXC_GP,
  EXC_NP,
  EXC_PF,
  EXC_SS,
  EXC_TS,
  EXC_UD,
  EXCEPTION_NAMES,
  FLAG_FIXED1,
  IF,
  NT,
  RF,
  RSP,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_TR,
  TF,
  VM,
} from "./registers.ts";
import {
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_HLT,
  EXIT_REASON_INTERRUPT_WINDOW,
  EXIT_REASON_TRIPLE_FAULT,
} from "../vmx/exit_reasons.ts";
import {
  encodeEptViolationQualification,
  encodeInterruptionInfo,
  INTR_TYPE_EXTERNAL_INTERRUPT,
  INTR_TYPE_HARDWARE_EXCEPTION,
  INTR_TYPE_NMI,
  INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_INTERRUPT,
} from "../vmx/qualifications.ts";
import { exceptionExits } from "../vmx/exits.ts";

/** `run()` stopped because the instruction budget ran out. */
export const STOP_BUDGET: number = -1;
/** `run()` stopped because of a defect in the simulator itself (see {@linkcode Cpu.internalError}). */
export const STOP_INTERNAL: number = -2;

/** Access kind: data read. */
export const ACC_READ = 0;
/** Access kind: data write. */
export const ACC_WRITE = 1;
/** Access kind: instruction fetch. */
export const ACC_FETCH = 2;

/** Thrown inside the CPU to abandon the current instruction; caught by the run loop. */
class Signal {
  constructor(readonly name: string) {}
}
/** The instruction raised an exception (details in `Cpu.excVector` ...). */
const FAULT = new Signal("fault");
/** The instruction caused a VM exit (details in `Cpu.exitReason` ...). */
const EXIT = new Signal("exit");

/**
 * Second-level address translation, as the VMX layer provides it (EPT), or the identity when
 * the guest runs without it. `translate` returns the host-physical address of `gpa` or stops
 * the CPU with an EPT exit through {@linkcode Cpu.vmExit}.
 */
export interface GuestPhysicalMap {
  /** Host-physical address for guest-physical `gpa`; may call `cpu.vmExit(...)` (throws). */
  translate(cpu: Cpu, gpa: number, access: number, gla: number, paging: boolean): number;
  /** Whether writes to the page of `gpa` may bypass this map until the next invalidation (D flag set). */
  writeCached(gpa: number): boolean;
}

/** Guest-physical = host-physical offset `base`, bounded by `size`; no tracking. */
export class IdentityMap implements GuestPhysicalMap {
  /**
   * A map of `size` bytes of guest-physical space onto host memory from `base`.
   *
   * @param base host-physical address of guest-physical 0
   * @param size bytes of guest-physical space
   */
  constructor(readonly base: number, readonly size: number) {}
  /** Host-physical address of `gpa` (= `gpa` + `base`); an access beyond `size` exits as an EPT violation. */
  translate(cpu: Cpu, gpa: number, access: number, gla: number): number {
    if (gpa < 0 || gpa >= this.size) cpu.badPhysical(gpa, access, gla);
    return this.base + gpa;
  }
  writeCached(): boolean {
    return true;
  }
}

const EFER_SCE_BIT = 1;

/** MSRs kept as plain values, with their reset values (SDM Vol. 4). */
const MSR_DEFAULTS = new Map<number, bigint>([
  [0x1b, 0xfee00900n], // IA32_APIC_BASE: BSP, xAPIC enabled, base 0xfee00000
  [0x174, 0n], // IA32_SYSENTER_CS
  [0x175, 0n], // IA32_SYSENTER_ESP
  [0x176, 0n], // IA32_SYSENTER_EIP
  [0x277, 0x0007040600070406n], // IA32_PAT
  // IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2): fast strings (0) on; BTS (11) and PEBS (12) unavailable;
  // no performance monitoring (7), MONITOR FSM (18) or XD disable (34). Linux reads it on Intel CPUs.
  [0x1a0, 0x1801n],
  // IA32_BIOS_SIGN_ID (SDM Vol. 4 Table 2-2): the microcode update signature in bits 63:32; hvsim
  // has no microcode, so 0 (software writes 0 before CPUID.01H and reads it back; Linux does).
  [0x8b, 0n],
  [0xc0000081, 0n], // IA32_STAR
  [0xc0000082, 0n], // IA32_LSTAR
  [0xc0000083, 0n], // IA32_CSTAR
  [0xc0000084, 0n], // IA32_FMASK
  [0xc0000103, 0n], // IA32_TSC_AUX
]);

/** Entries of each software-TLB array (a power of two; the state area holds the read and write ones). */
const TLB_SIZE = STATE_TLB_ENTRIES;
/** Mask of a software-TLB slot index (the block compiler inlines the TLB's hit path). */
export const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
const TWO47 = 140737488355328;

/** Whether a 64-bit address is canonical (bits 63:47 all equal). */
function canonical64(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -(1n << 47n) && s < 1n << 47n;
}

/** Times a block's region is compiled again after its links went stale, before it is compiled alone. */
const MAX_REGION_COMPILATIONS = 4;

/** One x86-64 logical processor. */
export class Cpu {
  /** Host-physical memory (guest RAM lives in it at the place the physical map says). */
  readonly mem: Uint8Array;
  /** Little-endian view of {@linkcode mem}. */
  readonly dv: DataView;
  /** Guest-physical to host-physical translation. */
  phys: GuestPhysicalMap;

  /**
   * General registers as 32-bit halves: low of r at [2r], high at [2r+1] (a view on the state
   * area of {@linkcode shared}, where register r is a little-endian 64-bit slot).
   */
  readonly gpr: Uint32Array;
  /** The WebAssembly memory holding host memory and this CPU's state area, when there is one. */
  readonly shared: SharedMemory | null;
  /** RIP, as a canonical linear address held as a signed number. */
  rip = 0;
  /** RIP of the next instruction while one executes; branches set it. */
  nrip = 0;
  /**
   * RFLAGS with lazily evaluated arithmetic flags (read them with `getRflags()`).
   *
   * @internal
   */
  readonly fl: Flags = new Flags();

  /** Segment selectors (SEG_ES .. SEG_TR). */
  readonly segSel: Uint16Array = new Uint16Array(8);
  /** Segment bases (canonical linear addresses as signed numbers). */
  readonly segBase: Float64Array = new Float64Array(8);
  /** Segment limits. */
  readonly segLimit: Uint32Array = new Uint32Array(8);
  /** Segment access rights in the VMCS format (SDM Vol. 3 §24.4.1; bit 16 = unusable). */
  readonly segAr: Uint32Array = new Uint32Array(8);
  /** GDTR base. */
  gdtrBase = 0;
  /** GDTR limit. */
  gdtrLimit = 0;
  /** IDTR base. */
  idtrBase = 0;
  /** IDTR limit. */
  idtrLimit = 0;
  /** CR0. */
  cr0 = 0;
  /** CR2, the last page-fault linear address. */
  cr2 = 0;
  /** CR3. */
  cr3 = 0;
  /** CR4. */
  cr4 = 0;
  /** CR8 (task priority). */
  cr8 = 0;
  /** IA32_EFER. */
  efer = 0;
  /** DR0-DR3, breakpoint linear addresses, as 32-bit halves: low of DRn at [2n], high at [2n+1]. */
  readonly dr: Uint32Array = new Uint32Array(8);
  /** DR6, debug status (SDM Vol. 3 §17.2.3). */
  dr6: number = DR6_FIXED1;
  /** DR7, debug control (SDM Vol. 3 §17.2.4). */
  dr7: number = DR7_FIXED1;
  /** Current privilege level. */
  cpl = 0;
  /**
   * The x87, MMX and SSE registers (XMM0-15, MXCSR, ST0-7 and the x87 control state).
   *
   * @internal
   */
  readonly fpu: FpuState;
  /** Model-specific registers without a field of their own. */
  readonly msrs: Map<number, bigint> = new Map<number, bigint>();
  /** IA32_KERNEL_GS_BASE. */
  kernelGsBase = 0;

  /** Retired instructions (each REP iteration counts as one, as QEMU's icount does). */
  icount = 0;
  /** TSC = icount + tscOffset. */
  tscOffset = 0;
  /** Interrupts are inhibited until icount reaches this value (STI / MOV SS shadow). */
  shadowEnd = 0;
  /** Blocking by MOV SS (as opposed to STI) for the interruptibility state. */
  shadowMovSs = false;
  /** The processor is halted (activity state HLT). */
  halted = false;

  /** VM-exit controls as the VMX layer set them on entry. */
  readonly ctl = {
    hltExiting: true,
    rdtscExiting: false,
    invlpgExiting: false,
    /** RDRAND / RDSEED exit (secondary controls bits 11 and 16); when clear they read {@linkcode Cpu.entropy}. */
    rdrandExiting: true,
    rdseedExiting: true,
    interruptWindowExiting: false,
    /** Exceptions whose bit is set cause an exit instead of IDT delivery. */
    exceptionBitmap: 0,
    /** RDMSR/WRMSR of these MSRs exit (all others are handled by the CPU). */
    msrExit: (_msr: number, _write: boolean): boolean => false,
    /**
     * CR0/CR4 bits owned by the host (writes that change them exit), and their read shadows:
     * natural-width fields, bits 31:0 here and bits 63:32 in the `Hi` halves (SDM Vol. 3 §24.6.6).
     */
    cr0Mask: 0,
    cr4Mask: 0,
    cr0Shadow: 0,
    cr4Shadow: 0,
    cr0MaskHi: 0,
    cr4MaskHi: 0,
    cr0ShadowHi: 0,
    cr4ShadowHi: 0,
    cr3LoadExiting: false,
    /** MOV to or from a debug register exits (primary control bit 23; SDM Vol. 3 §25.1.3). */
    movDrExiting: false,
    /** The first CR3_TARGET_COUNT CR3-target values: MOV to CR3 of one of them does not exit (SDM Vol. 3 §25.1.3). */
    cr3Targets: [] as bigint[],
    cr3StoreExiting: false,
    cr8LoadExiting: false,
    cr8StoreExiting: false,
    /** #PF exits per the exception bitmap only when (error code & mask) == match (SDM Vol. 3 §25.2). */
    pfecMask: 0,
    pfecMatch: 0,
    /** IN/OUT of `size` bytes at `port` exits; when it does not, the access goes to {@linkcode Cpu.ports}. */
    ioExit: (_port: number, _size: number): boolean => true,
    /** An external interrupt (one arriving at {@linkcode Cpu.extIntAt}) causes a VM exit (reason 1). */
    extIntExiting: false,
    /** VM exits for external interrupts acknowledge them and report the vector ("acknowledge interrupt on exit"). */
    ackIntOnExit: false,
  };

  /** Port I/O that does not exit (I/O bitmaps with the port's bit clear) reaches these devices directly. */
  ports:
    | { read(port: number, size: number): number; write(port: number, size: number, value: number): void }
    | null = null;
  /** Where RDRAND (`seed` false) and RDSEED (`seed` true) draw 64 random bits when they do not exit. */
  entropy: ((seed: boolean) => bigint) | null = null;
  /** Retired-instruction count at which an external (host) interrupt arrives, or Infinity. */
  extIntAt: number = Infinity;
  /** Vector of that external interrupt. */
  extIntVector = 0;

  /** Exit reason of the last stop. */
  exitReason = 0;
  /** Exit qualification. */
  exitQual = 0;
  /** Guest-linear address of the exit, when it has one. */
  exitGla = 0;
  /** Guest-physical address of the exit, when it has one. */
  exitGpa = 0;
  /** Length of the instruction that caused the exit. */
  exitInsnLen = 0;
  /** VM-exit interruption information (exception exits). */
  exitIntrInfo = 0;
  /** VM-exit interruption error code. */
  exitIntrError = 0;
  /** VM-exit instruction information. */
  exitInsnInfo = 0;
  /** IDT-vectoring information: the event being delivered when the exit happened. */
  idtVectoring = 0;
  /** IDT-vectoring error code. */
  idtVectoringError = 0;
  /** Message of an internal simulator defect (STOP_INTERNAL). */
  internalError = "";
  /** Why the last triple fault happened (for messages). */
  tripleFaultCause = "";

  /** Pending exception: vector. */
  excVector = 0;
  /** Pending exception: has an error code. */
  excHasError = false;
  /** Pending exception: error code. */
  excError = 0;
  /** CR2 before the #PF the CPU detected last (restored if that #PF causes a VM exit). */
  pfCr2Before = 0;
  /** A #PF detected by the CPU (not injected) is on its way to delivery or to a VM exit. */
  pfPending = false;
  /** DR6 bits of a #DB the CPU detected (BD), set in DR6 when it is delivered, or the exit qualification. */
  dbPending = 0;

  /** High half of the last 8-byte memory read. */
  hi = 0;
  /** Effective address of the last memory operand (linear). */
  ea = 0;
  /** Low half of the last computed 64-bit effective address (LEA). */
  eaLo = 0;
  /** High half of the last computed 64-bit effective address (LEA). */
  eaHi = 0;
  /** The current block must end after this instruction. */
  brk = false;
  /** icount at which the current run() must stop (string instructions stop between iterations there). */
  endAt = 0;
  /** A decoded block is compiled to JavaScript on its this-many-th run (1: at once; Infinity: never); 16 keeps V8 from compiling lukewarm blocks. */
  compileThreshold = 16;
  /**
   * Which compiler hot blocks go to: "js" (compiler.ts), or "wasm" (src/cpu/wasm/, where it compiles
   * the region's entry block; else the JavaScript compiler). "wasm" needs the host memory in a
   * WebAssembly memory (a {@linkcode SharedMemory}); without one it is "js".
   */
  backend: "js" | "wasm" = "js";
  /**
   * The WebAssembly backend, once the first region went to it (for tests and statistics).
   *
   * @internal
   */
  wasm: WasmBackend | null = null;
  /** CR4 bits this CPU implements (others raise #GP). */
  cr4Allowed = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x10000 |
    0x40000;
  /** XCR0, the XSAVE feature mask (SDM Vol. 1 §13.3): bit 0 x87, bit 1 SSE; 1 after reset. */
  xcr0 = 1;
  /** Pending event: 0 for an exception, else its event type (INT n 4, INT1 5, INT3 6). */
  excSoft = 0;
  /**
   * A debugger's breakpoints and watchpoints, or null (the normal case: no cost). While set, the
   * run loop goes one instruction at a time; the setter flushes the TLB when watchpoints change.
   */
  debug: CpuDebug | null = null;

  /**
   * Decoded-block cache (the simulator's own; for tests and statistics).
   *
   * @internal
   */
  readonly blocks: BlockCache;

  // Software TLB: tags are linear page numbers (NaN = empty), values host-physical page addresses.
  /** Software TLB for reads: the linear page number cached in each slot (NaN: empty). */
  readonly rTag: Float64Array;
  /** Host-physical page address of each read slot. */
  readonly rHpa: Float64Array;
  /** Software TLB for writes (a page enters it only once writable and already dirty). */
  readonly wTag: Float64Array;
  /** Host-physical page address of each write slot. */
  readonly wHpa: Float64Array;
  private readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  private readonly xHpa = new Float64Array(TLB_SIZE);
  // Global-page marks, one per entry kind: a slot's read, write and fetch entries can hold
  // different pages (16 MiB apart), only some of them global.
  private readonly rGlobal = new Uint8Array(TLB_SIZE);
  private readonly wGlobal = new Uint8Array(TLB_SIZE);
  private readonly xGlobal = new Uint8Array(TLB_SIZE);
  /** Double-fault class of the event being delivered (exception_classes.ts), or -1. */
  private deliveringClass = -1;
  private external = false;

  /**
   * Creates a CPU over host-physical memory `mem` (bytes, or a {@linkcode SharedMemory} whose
   * state area then holds the registers and the TLB); guest-physical addresses map through `phys`
   * (by default: the identity over all of the host memory).
   */
  constructor(host: Uint8Array | SharedMemory, phys?: GuestPhysicalMap) {
    const shared = host instanceof SharedMemory ? host : null;
    const mem = shared !== null ? shared.bytes : host as Uint8Array;
    const buf = shared !== null ? shared.stateBuffer : new ArrayBuffer(STATE_BYTES);
    const at = shared !== null ? shared.stateOffset : 0;
    this.shared = shared;
    this.gpr = new Uint32Array(buf, at + STATE_GPR, 32);
    this.fpu = new FpuState(buf, at + STATE_XMM);
    this.rTag = new Float64Array(buf, at + STATE_RTAG, TLB_SIZE).fill(NaN);
    this.rHpa = new Float64Array(buf, at + STATE_RHPA, TLB_SIZE);
    this.wTag = new Float64Array(buf, at + STATE_WTAG, TLB_SIZE).fill(NaN);
    this.wHpa = new Float64Array(buf, at + STATE_WHPA, TLB_SIZE);
    this.mem = mem;
    this.dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    this.phys = phys ?? new IdentityMap(0, mem.byteLength);
    this.blocks = new BlockCache(mem.byteLength);
  }

  // ---------------------------------------------------------------- registers

  /** Reads a 64-bit general register as a bigint. */
  getReg64(r: number): bigint {
    return (BigInt(this.gpr[2 * r + 1]) << 32n) | BigInt(this.gpr[2 * r]);
  }

  /** Writes a 64-bit general register from a bigint (taken modulo 2^64). */
  setReg64(r: number, v: bigint): void {
    v = BigInt.asUintN(64, v);
    this.gpr[2 * r] = Number(v & 0xffffffffn);
    this.gpr[2 * r + 1] = Number(v >> 32n);
  }

  /** RIP as an unsigned 64-bit bigint. */
  getRip(): bigint {
    return BigInt.asUintN(64, BigInt(this.rip));
  }

  /** Sets RIP from a 64-bit value; it must be canonical. */
  setRip(v: bigint): void {
    const s = BigInt.asIntN(64, v);
    if (s < -(1n << 47n) || s >= 1n << 47n) throw new RangeError(`RIP 0x${v.toString(16)} is not canonical`);
    this.rip = Number(s);
  }

  /** The full RFLAGS value. */
  getRflags(): number {
    return this.fl.get();
  }

  /** Replaces RFLAGS (reserved bits are forced as the SDM requires). */
  setRflags(v: number): void {
    this.fl.put(v);
  }

  /** Reads register `r` at operand size `size` (byte registers 16..19 are AH..BH); 8-byte reads leave the high half in {@linkcode hi}. */
  readReg(size: number, r: number): number {
    const g = this.gpr;
    switch (size) {
      case 1:
        return r < 16 ? g[2 * r] & 0xff : (g[2 * (r - 16)] >>> 8) & 0xff;
      case 2:
        return g[2 * r] & 0xffff;
      case 4:
        return g[2 * r];
      default:
        this.hi = g[2 * r + 1];
        return g[2 * r];
    }
  }

  /** Writes register `r` at operand size `size` (32-bit writes zero the high half, as in 64-bit mode). */
  writeReg(size: number, r: number, lo: number, hi: number): void {
    const g = this.gpr;
    switch (size) {
      case 1:
        if (r < 16) g[2 * r] = (g[2 * r] & 0xffffff00) | (lo & 0xff);
        else g[2 * (r - 16)] = (g[2 * (r - 16)] & 0xffff00ff) | ((lo & 0xff) << 8);
        return;
      case 2:
        g[2 * r] = (g[2 * r] & 0xffff0000) | (lo & 0xffff);
        return;
      case 4:
        g[2 * r] = lo;
        g[2 * r + 1] = 0;
        return;
      default:
        g[2 * r] = lo;
        g[2 * r + 1] = hi;
    }
  }

  // ---------------------------------------------------------------- addresses

  /** Computes the 64-bit effective address of `i`'s memory operand into eaLo/eaHi (no segment, no checks). */
  effectiveAddress(i: Insn): void {
    const g = this.gpr;
    let lo = i.disp; // signed: the borrow of a negative displacement comes out of the carry below
    let hi = 0;
    const b = i.base;
    if (b >= 0) {
      if (b === 16) {
        const t = this.nrip + i.disp;
        lo = t >>> 0;
        hi = Math.floor(t / TWO32);
      } else {
        lo += g[2 * b];
        hi += g[2 * b + 1];
      }
    }
    const x = i.index;
    if (x >= 0) {
      const m = 1 << i.scale;
      lo += g[2 * x] * m;
      hi += g[2 * x + 1] * m;
    }
    const carry = Math.floor(lo / TWO32);
    this.eaLo = lo >>> 0;
    this.eaHi = i.asize === 4 ? 0 : (hi + carry) >>> 0;
  }

  /** Linear address of `i`'s memory operand, with the FS/GS base; #GP(0) (or #SS) if not canonical. */
  linear(i: Insn): number {
    this.effectiveAddress(i);
    let lo = this.eaLo;
    let hi = this.eaHi | 0;
    const s = i.seg;
    if (s === SEG_FS || s === SEG_GS) {
      const base = this.segBase[s];
      const t = lo + (base >>> 0);
      hi = (hi + Math.floor(base / TWO32) + Math.floor(t / TWO32)) | 0;
      lo = t >>> 0;
    }
    if (((hi << 16) >> 16) !== hi) {
      this.fault(i.base === RSP || i.base === 5 || s === SEG_SS ? 12 : EXC_GP, true, 0);
    }
    return (this.ea = hi * TWO32 + lo);
  }

  /** Adds the base of segment `seg` (FS or GS; others have none) to linear `lin`; #GP(0) if the sum is not canonical. */
  withSegmentBase(seg: number, lin: number): number {
    if (seg !== SEG_FS && seg !== SEG_GS) return lin;
    const v = lin + this.segBase[seg];
    if (v < -TWO47 || v >= TWO47) this.fault(EXC_GP, true, 0);
    return v;
  }

  /** Makes a 64-bit value (hi:lo) a branch target; #GP(0) if not canonical. */
  canonical(lo: number, hi: number): number {
    hi |= 0;
    if (((hi << 16) >> 16) !== hi) this.fault(EXC_GP, true, 0);
    return hi * TWO32 + lo;
  }

  // ---------------------------------------------------------------- memory

  /** Reads `size` (1, 2, 4, 8) bytes at linear `lin`; 8-byte reads leave the high half in {@linkcode hi}. */
  read(lin: number, size: number): number {
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    const slot = vpn & TLB_MASK;
    if (this.rTag[slot] === vpn && off + size <= 4096) {
      const p = this.rHpa[slot] + off;
      switch (size) {
        case 1:
          return this.mem[p];
        case 2:
          return this.dv.getUint16(p, true);
        case 4:
          return this.dv.getUint32(p, true);
        default:
          this.hi = this.dv.getUint32(p + 4, true);
          return this.dv.getUint32(p, true);
      }
    }
    return this.readSlow(lin, size, ACC_READ);
  }

  /** Writes `size` bytes at linear `lin` (value lo, and hi for 8 bytes). */
  write(lin: number, size: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    const slot = vpn & TLB_MASK;
    if (this.wTag[slot] === vpn && off + size <= 4096) {
      const p = this.wHpa[slot] + off;
      switch (size) {
        case 1:
          this.mem[p] = lo;
          return;
        case 2:
          this.dv.setUint16(p, lo, true);
          return;
        case 4:
          this.dv.setUint32(p, lo, true);
          return;
        default:
          this.dv.setUint32(p, lo, true);
          this.dv.setUint32(p + 4, hi, true);
          return;
      }
    }
    this.writeSlow(lin, size, lo, hi);
  }

  /** Checks that `size` bytes at `lin` are writable (for read-modify-write instructions), without writing. */
  probeWrite(lin: number, size: number): void {
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    if (this.wTag[vpn & TLB_MASK] === vpn && off + size <= 4096) return;
    this.translate(lin, ACC_WRITE);
    if (off + size > 4096) this.translate(lin - off + 4096, ACC_WRITE);
  }

  /** A read that misses the read TLB or crosses a page: translates each page. */
  private readSlow(lin: number, size: number, acc: number): number {
    const off = lin & 0xfff;
    if (off + size <= 4096) {
      const p = this.translate(lin, acc);
      if (this.debug !== null) this.debug.access(lin, size, false, this.icount);
      switch (size) {
        case 1:
          return this.mem[p];
        case 2:
          return this.dv.getUint16(p, true);
        case 4:
          return this.dv.getUint32(p, true);
        default:
          this.hi = this.dv.getUint32(p + 4, true);
          return this.dv.getUint32(p, true);
      }
    }
    // Crosses a page: translate both pages first so a fault leaves nothing half done.
    const p1 = this.translate(lin, acc);
    const p2 = this.translate(lin - off + 4096, acc);
    if (this.debug !== null) this.debug.access(lin, size, false, this.icount);
    const n1 = 4096 - off;
    let lo = 0, hi = 0;
    for (let k = 0; k < size; k++) {
      const b = k < n1 ? this.mem[p1 + k] : this.mem[p2 + k - n1];
      if (k < 4) lo |= b << (8 * k);
      else hi |= b << (8 * (k - 4));
    }
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** A write that misses the write TLB or crosses a page: translates each page. */
  private writeSlow(lin: number, size: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    const p1 = this.translate(lin, ACC_WRITE);
    if (off + size <= 4096) {
      if (this.debug !== null) this.debug.access(lin, size, true, this.icount);
      this.storeBytes(p1, size, lo, hi);
      return;
    }
    const p2 = this.translate(lin - off + 4096, ACC_WRITE);
    if (this.debug !== null) this.debug.access(lin, size, true, this.icount);
    const n1 = 4096 - off;
    for (let k = 0; k < size; k++) {
      const b = (k < 4 ? lo >>> (8 * k) : hi >>> (8 * (k - 4))) & 0xff;
      const p = k < n1 ? p1 + k : p2 + k - n1;
      this.mem[p] = b;
      this.codeWrite(p);
    }
  }

  /** Stores `size` bytes of `lo`/`hi` at host-physical `p`. */
  private storeBytes(p: number, size: number, lo: number, hi: number): void {
    switch (size) {
      case 1:
        this.mem[p] = lo;
        break;
      case 2:
        this.dv.setUint16(p, lo, true);
        break;
      case 4:
        this.dv.setUint32(p, lo, true);
        break;
      default:
        this.dv.setUint32(p, lo, true);
        this.dv.setUint32(p + 4, hi, true);
    }
    this.codeWrite(p);
    if ((p & 0xfff) + size > 4096) this.codeWrite(p + size - 1);
  }

  /** A store reached host page `p`: drop decoded code there (self-modifying code). */
  private codeWrite(p: number): void {
    if (this.blocks.hasCode(p)) {
      this.blocks.invalidatePage(p);
      this.brk = true;
    }
  }

  /** Host-physical address of the byte at linear `lin` for an instruction fetch (for the decoder). */
  fetchAddress(lin: number): number {
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    const slot = vpn & TLB_MASK;
    if (this.xTag[slot] === vpn) return this.xHpa[slot] + off;
    return this.translate(lin, ACC_FETCH);
  }

  /** Reads one instruction byte at linear `lin`. */
  fetchByte(lin: number): number {
    return this.mem[this.fetchAddress(lin)];
  }

  /**
   * Translates linear `lin` for an access of kind `acc` through guest paging and the physical
   * map, fills the TLB, and returns the host-physical address. Raises #PF as the SDM says.
   */
  translate(lin: number, acc: number): number {
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    const slot = vpn & TLB_MASK;
    const user = this.cpl === 3;
    let gpa: number;
    let writable = true;
    let global = false;
    if ((this.cr0 & CR0_PG) === 0) {
      gpa = lin - off;
    } else {
      // 4-level walk (SDM Vol. 3 §4.5).
      const nxe = (this.efer & EFER_NXE) !== 0;
      let table = this.cr3Base();
      let rw = true, us = true, nx = false;
      let level = 4;
      let entryLo = 0, entryHi = 0, entryGpa = 0;
      let pageSize = 4096;
      for (;;) {
        const shift = 12 + 9 * (level - 1);
        const idx = Math.floor(lin / 2 ** shift) & 511;
        entryGpa = table + idx * 8;
        const hpa = this.phys.translate(this, entryGpa, ACC_READ, lin, true);
        entryLo = this.dv.getUint32(hpa, true);
        entryHi = this.dv.getUint32(hpa + 4, true);
        if ((entryLo & 1) === 0) this.pageFault(lin, acc, 0);
        const large = (entryLo & 0x80) !== 0;
        const reserved = (!nxe && (entryHi & 0x80000000) !== 0) ||
          (level === 4 && large) ||
          (level === 3 && large && (entryLo & 0x3fffe000) !== 0) ||
          (level === 2 && large && (entryLo & 0x1fe000) !== 0);
        if (reserved) this.pageFault(lin, acc, 8 | 1);
        rw &&= (entryLo & 2) !== 0;
        us &&= (entryLo & 4) !== 0;
        nx ||= nxe && (entryHi & 0x80000000) !== 0;
        // Accessed flag on every level used (a guest-physical write).
        if ((entryLo & 0x20) === 0) {
          const wh = this.phys.translate(this, entryGpa, ACC_WRITE, lin, true);
          this.dv.setUint32(wh, entryLo | 0x20, true);
          entryLo |= 0x20;
          this.codeWrite(wh);
        }
        const leaf = level === 1 || (level <= 3 && (entryLo & 0x80) !== 0);
        if (leaf) {
          pageSize = 2 ** shift;
          break;
        }
        table = (entryLo & 0xfffff000) + (entryHi & 0xfffff) * TWO32;
        level--;
      }
      // Permission checks (SDM Vol. 3 §4.6).
      const write = acc === ACC_WRITE;
      const fetch = acc === ACC_FETCH;
      if (user && !us) this.pageFault(lin, acc, 1);
      if (write && !rw && (user || (this.cr0 & CR0_WP) !== 0)) this.pageFault(lin, acc, 1);
      if (fetch && nx) this.pageFault(lin, acc, 1);
      writable = rw || (!user && (this.cr0 & CR0_WP) === 0);
      global = (entryLo & 0x100) !== 0 && (this.cr4 & CR4_PGE) !== 0;
      const frameMask = pageSize === 4096 ? 0xfffff000 : pageSize === 0x200000 ? 0xffe00000 : 0xc0000000;
      const frame = ((entryLo & frameMask) >>> 0) + (entryHi & 0xfffff) * TWO32;
      gpa = frame + (lin - Math.floor(lin / pageSize) * pageSize) - off;
      // Dirty flag on the leaf when writing.
      if (write && (entryLo & 0x40) === 0) {
        const wh = this.phys.translate(this, entryGpa, ACC_WRITE, lin, true);
        this.dv.setUint32(wh, entryLo | 0x40, true);
        entryLo |= 0x40;
        this.codeWrite(wh);
      }
      // A write entry is only cached once the guest's own D flag is set.
      if ((entryLo & 0x40) === 0) writable = false;
    }
    const hpaPage = this.phys.translate(this, gpa + off, acc, lin, false) - off; // exact GPA for exits
    // A watched page stays out of the data TLB: every access to it takes the slow path's check.
    if (this.debug !== null && acc !== ACC_FETCH && this.debug.watchPages.has(vpn)) return hpaPage + off;
    const g = global ? 1 : 0;
    if (acc === ACC_FETCH) {
      this.xTag[slot] = vpn;
      this.xHpa[slot] = hpaPage;
      this.xGlobal[slot] = g;
    } else {
      this.rTag[slot] = vpn;
      this.rHpa[slot] = hpaPage;
      this.rGlobal[slot] = g;
      if (acc === ACC_WRITE && writable && this.phys.writeCached(gpa) && !this.blocks.hasCode(hpaPage)) {
        this.wTag[slot] = vpn;
        this.wHpa[slot] = hpaPage;
        this.wGlobal[slot] = g;
      }
    }
    return hpaPage + off;
  }

  /** The page-table root of CR3 (bits 51:12). */
  private cr3Base(): number {
    return (this.cr3 - (this.cr3 % 4096)) % 2 ** 52;
  }

  /** Raises #PF for `lin` with the error-code `bits` of access `acc` (CR2 set). */
  private pageFault(lin: number, acc: number, bits: number): never {
    let code = bits;
    if (acc === ACC_WRITE) code |= 2;
    if (this.cpl === 3) code |= 4;
    if (acc === ACC_FETCH && (this.efer & EFER_NXE) !== 0) code |= 16;
    // CR2 is loaded with the address, unless the #PF causes a VM exit: raise() puts it back then.
    if (!this.pfPending) this.pfCr2Before = this.cr2;
    this.pfPending = true;
    this.cr2 = lin;
    this.fault(EXC_PF, true, code);
  }

  /** Flushes the whole software TLB (CR3 load without PGE, EPT invalidation, mode changes). */
  flushTlb(keepGlobal = false): void {
    this.blocks.epoch++; // block links follow translations
    if (!keepGlobal) {
      this.rTag.fill(NaN);
      this.wTag.fill(NaN);
      this.xTag.fill(NaN);
      return;
    }
    for (let s = 0; s < TLB_SIZE; s++) {
      if (this.rGlobal[s] === 0) this.rTag[s] = NaN;
      if (this.wGlobal[s] === 0) this.wTag[s] = NaN;
      if (this.xGlobal[s] === 0) this.xTag[s] = NaN;
    }
  }

  /** Drops only the cached write permissions (after the dirty log is harvested, as INVEPT would). */
  flushWriteTlb(): void {
    this.wTag.fill(NaN);
  }

  /** Drops write entries that point into host page `hpaPage` (it now holds decoded code). */
  dropWriteEntries(hpaPage: number): void {
    for (let s = 0; s < TLB_SIZE; s++) if (this.wHpa[s] === hpaPage) this.wTag[s] = NaN;
  }

  /** INVLPG: drops the translation of one linear page. */
  invalidatePage(lin: number): void {
    this.blocks.epoch++;
    const off = lin & 0xfff;
    const vpn = (lin - off) / 4096;
    const slot = vpn & TLB_MASK;
    if (this.rTag[slot] === vpn) this.rTag[slot] = NaN;
    if (this.wTag[slot] === vpn) this.wTag[slot] = NaN;
    if (this.xTag[slot] === vpn) this.xTag[slot] = NaN;
  }

  /** Loads CR3 and flushes the TLB (keeping global pages when CR4.PGE is set). */
  loadCr3(value: number): void {
    this.cr3 = value;
    this.flushTlb((this.cr4 & CR4_PGE) !== 0);
  }

  /** A guest-physical access outside guest RAM with no EPT: reported as an EPT violation exit. */
  badPhysical(gpa: number, access: number, gla: number): never {
    this.exitGpa = gpa;
    this.exitGla = gla;
    this.exitQual = encodeEptViolationQualification({
      read: access === ACC_READ,
      write: access === ACC_WRITE,
      fetch: access === ACC_FETCH,
      readable: false,
      writable: false,
      executable: false,
      linearValid: true,
      finalTranslation: false,
      nmiUnblocking: false,
    });
    return this.vmExit(EXIT_REASON_EPT_VIOLATION, this.exitQual);
  }

  // ---------------------------------------------------------------- faults and exits

  /** Raises exception `vector` (with `error` when `hasError`): abandons the instruction. */
  fault(vector: number, hasError: boolean, error: number): never {
    this.excVector = vector;
    this.excHasError = hasError;
    this.excError = error;
    throw FAULT;
  }

  /** #UD. */
  ud(): never {
    return this.fault(EXC_UD, false, 0);
  }

  /** #GP(0). */
  gp0(): never {
    return this.fault(EXC_GP, true, 0);
  }

  /** Stops with VM exit `reason`; RIP stays at the instruction; the instruction length is recorded. */
  vmExit(reason: number, qualification = 0): never {
    this.exitReason = reason;
    this.exitQual = qualification;
    this.exitInsnLen = this.nrip - this.rip;
    throw EXIT;
  }

  /** The CPU has interrupts enabled and no interrupt shadow. */
  interruptible(): boolean {
    return (this.fl.rf & IF) !== 0 && this.icount >= this.shadowEnd;
  }

  // ---------------------------------------------------------------- run loop

  /**
   * Runs until a VM exit or until `budget` instructions have retired.
   * @returns an exit reason (EXIT_*), STOP_BUDGET, or STOP_INTERNAL.
   */
  run(budget: number): number {
    const end = this.icount + budget;
    try {
      return this.debug === null ? this.loop(end) : this.debugLoop(end, this.debug);
    } catch (e) {
      this.internalError = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
      return STOP_INTERNAL;
    }
  }

  /** The run loop: blocks (compiled or interpreted) until `end`, an exit, or a stop. */
  private loop(end: number): number {
    this.endAt = end;
    const blocks = this.blocks;
    // The block that last ran to its end: its cached successor is looked up once the budget and
    // event checks above allow another block (a fetch fault must not happen past the budget).
    let prev: Block | null = null;
    for (;;) {
      if (this.halted) return this.stop(EXIT_REASON_HLT);
      if (this.ctl.interruptWindowExiting && this.interruptible()) {
        this.exitInsnLen = 0;
        return this.stop(EXIT_REASON_INTERRUPT_WINDOW);
      }
      if (this.icount >= this.extIntAt) {
        // A host interrupt arrived: with external-interrupt exiting it is a VM exit (SDM Vol. 3 §25.2).
        this.extIntAt = Infinity;
        if (this.ctl.extIntExiting) {
          this.exitInsnLen = 0;
          this.exitIntrInfo = this.ctl.ackIntOnExit
            ? encodeInterruptionInfo({
              vector: this.extIntVector,
              type: INTR_TYPE_EXTERNAL_INTERRUPT,
              errorCode: false,
              nmiUnblocking: false,
              valid: true,
            })
            : 0;
          return this.stop(EXIT_REASON_EXTERNAL_INTERRUPT);
        }
      }
      const stopAt = end < this.extIntAt ? end : this.extIntAt;
      this.endAt = stopAt;
      const left = stopAt - this.icount;
      if (left <= 0) return STOP_BUDGET;
      // RF is cleared as the next instruction starts (SDM Vol. 3 §18.3.1.1). Only IRET and VM
      // entry set it, and both return here before another instruction runs.
      if ((this.fl.rf & RF) !== 0) this.fl.rf &= ~RF;
      try {
        let block: Block;
        if (prev !== null) {
          const rip = this.rip, epoch = blocks.epoch;
          const next = prev.successor(rip, epoch);
          if (next !== null) block = next;
          else {
            block = blocks.lookup(this.fetchAddress(rip)) ?? this.decodeBlock();
            if (blocks.epoch === epoch) prev.link(rip, epoch, block);
          }
          prev = null;
        } else {
          block = blocks.lookup(this.fetchAddress(this.rip)) ?? this.decodeBlock();
        }
        const insns = block.insns;
        let n = insns.length;
        if (n > left) n = left;
        const limit = this.shadowEnd > this.icount ? this.shadowEnd - this.icount : n;
        if (n > limit) n = limit;
        if (block.compiledEpoch !== blocks.epoch && ++block.runs >= this.compileThreshold) {
          this.compile(block);
        }
        if (n === insns.length && block.compiled !== null) {
          // Compiled blocks chain to each other here without the checks above: only an
          // instruction that ends its block early (null) can halt, change IF or open a shadow,
          // the budget and the host interrupt are both in endAt, and each next block must be
          // compiled in this epoch (else the loop above decides about compiling it). A shadow
          // still open or ending just here goes back to the loop, which may take an interrupt
          // window exit at this boundary.
          const epoch = blocks.epoch;
          let fn: CompiledBlock = block.compiled;
          for (;;) {
            const done = fn(this);
            if (done === null) break;
            const rip = this.rip;
            let next = done.successor(rip, epoch);
            if (next === null && this.icount < this.endAt) {
              // An indirect jump or a new path: the block cache (a fetch fault here is taken at
              // the same point as in the loop above, which fetches once the budget allows).
              next = blocks.lookup(this.fetchAddress(rip)) ?? null;
              if (next !== null && blocks.epoch === epoch) done.link(rip, epoch, next);
            }
            if (
              next === null || next.compiledEpoch !== epoch || next.compiled === null ||
              this.icount + next.insns.length > this.endAt || this.shadowEnd >= this.icount ||
              blocks.epoch !== epoch
            ) {
              prev = done;
              break;
            }
            fn = next.compiled;
          }
          continue;
        }
        let k = 0;
        for (; k < n; k++) {
          const i = insns[k];
          this.nrip = this.rip + i.len;
          i.h(this, i);
          this.rip = this.nrip;
          this.icount++;
          if (this.brk) {
            this.brk = false;
            k = -1;
            break;
          }
        }
        // A block that ran to its end chains to its cached successor (block chaining).
        if (k === insns.length) prev = block;
      } catch (e) {
        prev = null;
        if (e === EXIT) {
          this.brk = false;
          return this.exitReason;
        }
        if (e === FAULT) {
          this.brk = false;
          const soft = this.excSoft;
          this.excSoft = 0;
          const r = this.raise(
            this.excVector,
            this.excHasError,
            this.excError,
            soft === 0 ? INTR_TYPE_HARDWARE_EXCEPTION : soft,
          );
          if (r >= 0) return r;
          // INT n / INT3 retire. A delivered exception counts as one tick of virtual time too:
          // a guest whose handlers fault forever (no instruction ever retires) must still use
          // up its budget, or run() would never return.
          this.icount++;
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * The run loop with a debugger's hooks: one instruction at a time, each breakpoint checked
   * before its instruction (except the one a resume starts on), a watched access reported once
   * its instruction has retired. A hit stops the run as a spent budget does (or is only recorded).
   */
  private debugLoop(end: number, d: CpuDebug): number {
    for (;;) {
      const before = this.icount;
      if (before < end && before !== d.resumeAt && d.breakpoints.size !== 0) {
        const kind = d.breakpoints.get(this.rip);
        if (kind !== undefined && d.hit({ kind, address: this.rip, icount: before })) return STOP_BUDGET;
      }
      d.pending = null;
      const r = this.loop(before < end ? before + this.debugSpan(d, end - before) : end);
      const w = d.pending;
      if (w !== null) {
        d.pending = null;
        if (d.hit(w) && r === STOP_BUDGET) return STOP_BUDGET;
      }
      if (r !== STOP_BUDGET || this.icount >= end) return r;
    }
  }

  /**
   * How many instructions the debug loop may run at once from RIP: with watchpoints one (a hit
   * must stop right after its instruction); with breakpoints only, the whole block at RIP when no
   * breakpoint lies inside it (the loop then runs it as usual, compiled or not).
   */
  private debugSpan(d: CpuDebug, left: number): number {
    if (d.watches.length !== 0 || left <= 1) return 1;
    // Only through a fetch translation already cached: looking ahead must not walk the guest's
    // page tables (accessed flags) at a point where the loop might not fetch (an interrupt first).
    const off = this.rip & 0xfff;
    const vpn = (this.rip - off) / 4096;
    const slot = vpn & TLB_MASK;
    if (this.xTag[slot] !== vpn) return 1;
    const block = this.blocks.lookup(this.xHpa[slot] + off);
    if (block === undefined) return 1;
    const insns = block.insns;
    let at = this.rip;
    for (let k = 1; k < insns.length; k++) {
      at += insns[k - 1].len;
      if (d.breakpoints.has(at)) return k;
    }
    return insns.length < left ? insns.length : left;
  }

  /**
   * Compiles the region that starts at `block` in the current epoch. A block whose region went
   * stale (the epoch moved on) is compiled again after as many runs; after a few times it is
   * compiled on its own, a region valid in every epoch, and left alone.
   */
  private compile(block: Block): void {
    const epoch = this.blocks.epoch;
    block.runs = 0;
    block.compiledEpoch = epoch;
    const alone = ++block.compilations > MAX_REGION_COMPILATIONS;
    if (this.backend === "wasm" && this.wasm === null && WasmBackend.available(this)) {
      this.wasm = new WasmBackend(this);
    }
    // The WebAssembly backend takes the region when it compiles every instruction of its entry block.
    const fn = this.backend === "wasm" ? this.wasm?.compile(block, alone ? -1 : epoch) ?? null : null;
    block.compiledBy = fn !== null ? "wasm" : "js";
    block.compiled = fn ?? (alone ? compileBlock(block) : compileRegion(block, epoch));
    if (alone) block.runs = -Infinity;
  }

  /** Records why `run()` stopped and returns it. */
  private stop(reason: number): number {
    this.exitReason = reason;
    return reason;
  }

  /** Decodes and caches the block at RIP. */
  private decodeBlock(): Block {
    return this.blocks.decodeAt(this, this.rip, decode);
  }

  /**
   * Delivers an event through the IDT, or reports the exit the exception bitmap asks for.
   * `type` is the event's VMX interruption type (exception_classes.ts): 3 for exceptions the
   * processor raises, 4 INT n, 5 INT1, 6 INT3/INTO, and 0 (external interrupt) or 2 (NMI) when
   * VM entry injects one. An exception raised while delivering follows Table 6-5 (SDM Vol. 3
   * §6.15): serially, as a double fault, or (while delivering #DF) as a triple fault.
   * Returns an exit reason, or -1 when delivery went into the guest.
   */
  raise(vector: number, hasError: boolean, error: number, type: number): number {
    const c = this.ctl;
    // An event injected by VM entry is not subject to the exception bitmap; the exceptions its
    // delivery raises are (SDM Vol. 3 §27.6.1.1 in the VM-entry chapter).
    const injected = this.external && this.deliveringClass < 0;
    if (
      type !== INTR_TYPE_SOFTWARE_INTERRUPT && !injected &&
      exceptionExits(c.exceptionBitmap, c.pfecMask, c.pfecMatch, vector, error)
    ) {
      const t = type === INTR_TYPE_HARDWARE_EXCEPTION && vector === 2 ? INTR_TYPE_NMI : type;
      this.exitIntrInfo = encodeInterruptionInfo({
        vector,
        type: t,
        errorCode: hasError,
        nmiUnblocking: false,
        valid: true,
      });
      this.exitIntrError = error;
      // A #PF that exits leaves CR2 alone; its address goes only into the qualification (SDM Vol. 3 §27.1).
      this.exitQual = vector === EXC_PF ? this.cr2 : 0;
      if (vector === EXC_PF && this.pfPending) {
        this.pfPending = false;
        this.cr2 = this.pfCr2Before;
      }
      if (vector === EXC_DB) {
        // A #DB that exits leaves DR6 and DR7 alone; the qualification has DR6's format (SDM Vol. 3
        // §27.1, Table 27-1: B0-B3 in 3:0, BD in 13, BS in 14).
        this.exitQual = this.dbPending;
        this.dbPending = 0;
      }
      this.exitInsnLen = this.nrip - this.rip;
      this.exitReason = EXIT_REASON_EXCEPTION_NMI;
      return EXIT_REASON_EXCEPTION_NMI;
    }
    if (vector === EXC_PF) this.pfPending = false;
    if (vector === EXC_DB && this.dbPending !== 0) {
      // Delivery sets the detected condition in DR6 and clears DR7.GD so the handler can use the
      // debug registers (SDM Vol. 3 §17.2.3-17.2.4).
      this.dr6 = (this.dr6 | this.dbPending) >>> 0;
      if ((this.dbPending & DR6_BD) !== 0) this.dr7 &= ~DR7_GD;
      this.dbPending = 0;
    }
    const cls = eventClass(vector, type);
    const first = this.deliveringClass;
    if (first >= 0) {
      // An exception while delivering another (SDM Vol. 3 Table 6-5).
      if (first === CLASS_DOUBLE_FAULT) {
        this.deliveringClass = -1;
        this.tripleFaultCause = `${this.tripleFaultCause}; then vector ${vector} while delivering #DF`;
        this.exitReason = EXIT_REASON_TRIPLE_FAULT;
        return EXIT_REASON_TRIPLE_FAULT;
      }
      if (isDoubleFault(first, cls)) {
        this.deliveringClass = -1;
        return this.raise(EXC_DF, true, 0, INTR_TYPE_HARDWARE_EXCEPTION);
      }
    } else if (vector !== EXC_DF) {
      this.tripleFaultCause = `${EXCEPTION_NAMES[vector] ?? "vector " + vector} at rip 0x${
        this.getRip().toString(16)
      }`;
    }
    this.deliveringClass = cls;
    try {
      this.deliver(vector, hasError, error, type, injected);
    } catch (e) {
      if (e === FAULT) {
        const r = this.raise(this.excVector, this.excHasError, this.excError, INTR_TYPE_HARDWARE_EXCEPTION);
        this.deliveringClass = -1;
        return r;
      }
      if (e === EXIT) {
        this.deliveringClass = -1;
        return this.exitReason;
      }
      throw e;
    }
    this.deliveringClass = -1;
    return -1;
  }

  /**
   * Delivers vector `v` through a 64-bit IDT gate, with the checks, their order and their error
   * codes as the IA-32e-mode path of the INT n/INTO/INT3/INT1 pseudocode (SDM Vol. 2) and SDM
   * Vol. 3 §6.12-6.14 give them. EXT (bit 0 of an error code, §6.13) is 0 only while delivering
   * a software interrupt (INT n, INT3, INTO); INT1 counts as a hardware event.
   */
  private deliver(v: number, hasError: boolean, error: number, type: number, injected: boolean): void {
    const soft = isSoftwareInterrupt(type);
    const ext = soft ? 0 : 1;
    const idtError = v * 8 + 2 + ext; // error_code(vector, 1, EXT)
    if (v * 16 + 15 > this.idtrLimit) this.fault(EXC_GP, true, idtError);
    const g = this.idtrBase + v * 16;
    const w0 = this.readSys(g, 4), w1 = this.readSys(g + 4, 4), w2 = this.readSys(g + 8, 4);
    const gateType = (w1 >>> 8) & 0x1f; // the S bit (12) must be 0 too: a system descriptor
    const dpl = (w1 >>> 13) & 3;
    // Only 64-bit interrupt (0xe) and trap (0xf) gates exist in IA-32e mode.
    if (gateType !== 0xe && gateType !== 0xf) this.fault(EXC_GP, true, idtError);
    // The gate's DPL is checked for INT n, INT3 and INTO only: #GP(error_code(vector, 1, 0)).
    if (soft && dpl < this.cpl) this.fault(EXC_GP, true, v * 8 + 2);
    if ((w1 & 0x8000) === 0) this.fault(EXC_NP, true, idtError);
    const sel = w0 >>> 16;
    const csAr = this.gateCodeSegment(sel, ext);
    // A conforming code segment runs at the current privilege level.
    const newCpl = (csAr & 4) !== 0 ? this.cpl : (csAr >>> 5) & 3;
    const ist = w1 & 7;
    const oldSs = this.segSel[SEG_SS], oldRsp = this.getReg64(RSP), oldCs = this.segSel[SEG_CS];
    let flags = this.fl.get();
    // Fault-class exceptions push RF = 1 (SDM Vol. 3 §18.3.1.1); an injected event pushes RF as
    // loaded from the guest-state area (§27.6.1.1 in the VM-entry chapter).
    if (type === INTR_TYPE_HARDWARE_EXCEPTION && !injected && isFaultClass(v)) flags |= RF;
    let rsp: bigint;
    const switched = ist !== 0 || newCpl < this.cpl;
    if (ist !== 0) rsp = this.tssRead64(36 + (ist - 1) * 8, ext);
    else if (newCpl < this.cpl) rsp = this.tssRead64(4 + newCpl * 8, ext);
    else rsp = oldRsp;
    rsp &= ~15n; // the new RSP is aligned to 16 bytes (§6.14.2)
    // Stack addresses must be canonical: #SS with the new SS (null, RPL = new CPL) as the error
    // code, EXT set as above (Vol. 2 INT n, 64-Bit Mode Exceptions). Checked for the whole frame.
    const frameBytes = hasError ? 48n : 40n;
    if (!canonical64(rsp) || !canonical64(rsp - frameBytes)) this.fault(EXC_SS, true, ext);
    // A non-canonical target RIP: #GP(0) (Vol. 2 INT n, 64-Bit Mode Exceptions).
    const target = this.canonical(((w1 & 0xffff0000) | (w0 & 0xffff)) >>> 0, w2);
    const ret = soft || type === INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION ? this.nrip : this.rip;
    const frame: bigint[] = [
      BigInt(oldSs),
      oldRsp,
      BigInt(flags),
      BigInt(oldCs),
      BigInt.asUintN(64, BigInt(ret)),
    ];
    if (hasError) frame.push(BigInt(error >>> 0));
    const oldCpl = this.cpl;
    this.cpl = newCpl;
    let sp = rsp;
    try {
      for (const val of frame) {
        sp = BigInt.asUintN(64, sp - 8n);
        const lin = Number(BigInt.asIntN(64, sp));
        this.write(lin, 8, Number(val & 0xffffffffn), Number(val >> 32n));
      }
    } catch (e) {
      this.cpl = oldCpl;
      throw e;
    }
    if (newCpl !== oldCpl) this.flushTlb();
    if (switched) {
      // In IA-32e mode a stack switch loads SS with a null selector whose RPL is the new CPL (§6.14.4).
      this.segSel[SEG_SS] = newCpl;
      this.segAr[SEG_SS] = 0x1c000 | 0x93 | (newCpl << 5);
      this.segBase[SEG_SS] = 0;
    }
    this.setReg64(RSP, sp);
    this.segSel[SEG_CS] = (sel & 0xfffc) | newCpl;
    this.segAr[SEG_CS] = csAr;
    this.segBase[SEG_CS] = 0;
    let nf = this.fl.get() & ~(TF | NT | RF | VM);
    if (gateType === 0xe) nf &= ~IF;
    this.fl.put(nf);
    this.rip = target;
    this.halted = false;
    this.shadowEnd = 0;
  }

  /**
   * The checks on an IDT gate's code segment (Vol. 2 INT n, IA-32e mode), in their order: a null
   * selector is #GP(EXT); a selector past the GDT limit or in the LDT, a descriptor that is not
   * a 64-bit code segment (L = 1, D = 0) or whose DPL exceeds the CPL is #GP(selector + EXT); a
   * segment not present is #NP(selector + EXT). Returns its VMCS-format access rights.
   */
  private gateCodeSegment(sel: number, ext: number): number {
    const idx = sel & 0xfff8;
    const code = (sel & 0xfffc) + ext;
    if ((sel & 0xfffc) === 0) this.fault(EXC_GP, true, ext);
    if ((sel & 4) !== 0 || idx + 7 > this.gdtrLimit) this.fault(EXC_GP, true, code);
    const ar = (this.readSys(this.gdtrBase + idx + 4, 4) >>> 8) & 0xf0ff;
    if ((ar & 0x18) !== 0x18 || (ar & 0x6000) !== 0x2000) this.fault(EXC_GP, true, code);
    if (((ar >>> 5) & 3) > this.cpl) this.fault(EXC_GP, true, code);
    if ((ar & 0x80) === 0) this.fault(EXC_NP, true, code);
    return ar | 1; // loading a segment marks it accessed
  }

  /** Reads the code-segment descriptor `sel` from the GDT and returns its VMCS-format access rights. */
  codeSegmentAr(sel: number, ext: number): number {
    const idx = sel & 0xfff8;
    if (idx === 0 || (sel & 4) !== 0 || idx + 7 > this.gdtrLimit) {
      this.fault(EXC_GP, true, (sel & 0xfffc) + ext);
    }
    const hiWord = this.readSys(this.gdtrBase + idx + 4, 4);
    const ar = (hiWord >>> 8) & 0xf0ff;
    if ((ar & 0x18) !== 0x18 || (ar & 0x2000) === 0) this.fault(EXC_GP, true, (sel & 0xfffc) + ext);
    if ((ar & 0x80) === 0) this.fault(11, true, (sel & 0xfffc) + ext);
    return ar | 1; // loading a segment marks it accessed
  }

  /** Reads `size` bytes at a linear address as a supervisor access (descriptor tables, TSS). */
  readSys(lin: number, size: number): number {
    const cpl = this.cpl;
    this.cpl = 0;
    try {
      return this.read(lin, size);
    } finally {
      this.cpl = cpl;
    }
  }

  /** Reads RSPn or ISTn from the TSS; past its limit: #TS(error_code(TR selector, 0, EXT)). */
  private tssRead64(off: number, ext: number): bigint {
    const base = this.segBase[SEG_TR];
    if (off + 7 > this.segLimit[SEG_TR]) this.fault(EXC_TS, true, (this.segSel[SEG_TR] & 0xfffc) + ext);
    const lo = this.readSys(base + off, 4);
    const hi = this.readSys(base + off + 4, 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /**
   * Injects an event as VM entry does (SDM Vol. 3 §26.6): `type` 0 external interrupt,
   * 2 NMI, 3 hardware exception, 4 software interrupt, 6 software exception.
   * @returns an exit reason if delivery itself exits (triple fault), else -1.
   */
  inject(vector: number, type: number, hasError: boolean, error: number, insnLen: number): number {
    this.halted = false;
    this.dbPending = 0;
    this.pfPending = false; // an injected #PF leaves CR2 as the hypervisor set it (SDM Vol. 3 §26.6.1)
    this.nrip = this.rip + insnLen;
    this.external = true;
    try {
      return this.raise(vector, hasError, error, type);
    } finally {
      this.external = false;
    }
  }

  /**
   * INT n, INT3 and INT1 from an instruction: `vector` delivered as the event `type`
   * (INTR_TYPE_SOFTWARE_INTERRUPT, INTR_TYPE_SOFTWARE_EXCEPTION or INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION), returning after the instruction.
   */
  softwareInterrupt(vector: number, type: number): never {
    this.excVector = vector;
    this.excHasError = false;
    this.excError = 0;
    this.excSoft = type;
    throw FAULT;
  }

  /** Changes CPL; the TLB holds user/supervisor decisions, so it is flushed. */
  setCpl(cpl: number): void {
    if (cpl !== this.cpl) {
      this.cpl = cpl;
      this.flushTlb();
    }
  }

  /**
   * Loads a data segment register (DS, ES, SS, FS, GS) from the GDT (SDM Vol. 3 §3.4.3, MOV,
   * POP, IRET, RET far). `cpl` is the privilege level the checks use: the current one, or the
   * one a return to an outer level is about to enter. A null SS is legal in 64-bit mode below
   * CPL 3.
   */
  loadDataSegment(seg: number, sel: number, cpl = this.cpl): void {
    const rpl = sel & 3;
    if ((sel & 0xfffc) === 0) {
      if (seg === SEG_SS && (cpl === 3 || rpl !== cpl)) this.fault(EXC_GP, true, 0);
      this.segSel[seg] = sel;
      this.segAr[seg] = 0x1c000 | (seg === SEG_SS ? 0x93 | (rpl << 5) : 0);
      if (seg !== SEG_FS && seg !== SEG_GS) this.segBase[seg] = 0;
      return;
    }
    const idx = sel & 0xfff8;
    if ((sel & 4) !== 0 || idx + 7 > this.gdtrLimit) this.fault(EXC_GP, true, sel & 0xfffc);
    const lo = this.readSys(this.gdtrBase + idx, 4);
    const hi = this.readSys(this.gdtrBase + idx + 4, 4);
    const ar = (hi >>> 8) & 0xf0ff;
    const code = (ar & 8) !== 0;
    const dpl = (ar >>> 5) & 3;
    if ((ar & 0x10) === 0) this.fault(EXC_GP, true, sel & 0xfffc);
    if (seg === SEG_SS) {
      if (code || (ar & 2) === 0 || dpl !== cpl || rpl !== cpl) {
        this.fault(EXC_GP, true, sel & 0xfffc);
      }
      if ((ar & 0x80) === 0) this.fault(EXC_SS, true, sel & 0xfffc);
    } else {
      if (code && (ar & 2) === 0) this.fault(EXC_GP, true, sel & 0xfffc);
      // Data and non-conforming code segments: RPL and CPL must not exceed the DPL.
      if (!(code && (ar & 4) !== 0) && (rpl > dpl || cpl > dpl)) this.fault(EXC_GP, true, sel & 0xfffc);
      if ((ar & 0x80) === 0) this.fault(11, true, sel & 0xfffc);
    }
    this.segSel[seg] = sel;
    this.segAr[seg] = ar | 1; // accessed
    this.segLimit[seg] = ((hi & 0xf0000) | (lo & 0xffff)) * ((ar & 0x8000) !== 0 ? 4096 : 1) +
      ((ar & 0x8000) !== 0 ? 4095 : 0);
    const base = ((hi & 0xff000000) | ((hi & 0xff) << 16) | (lo >>> 16)) >>> 0;
    if (seg === SEG_FS || seg === SEG_GS) this.segBase[seg] = base;
    else this.segBase[seg] = 0;
  }

  /**
   * On a return to an outer privilege level (IRET, RET far), ES, DS, FS and GS holding a data or
   * non-conforming code segment more privileged than `newCpl` are made null (SDM Vol. 2 IRET,
   * RET); FS and GS keep their bases.
   */
  nullInaccessibleSegments(newCpl: number): void {
    for (const seg of [SEG_ES, SEG_DS, SEG_FS, SEG_GS]) {
      const ar = this.segAr[seg];
      if ((this.segSel[seg] & 0xfffc) === 0 || (ar & 0x10000) !== 0) continue;
      const conformingCode = (ar & 0x18) === 0x18 && (ar & 4) !== 0;
      if (!conformingCode && ((ar >>> 5) & 3) < newCpl) {
        this.segSel[seg] = 0;
        this.segAr[seg] = 0x1c000;
      }
    }
  }

  /** Loads LDTR or TR from a 16-byte system descriptor; LTR marks the TSS busy. */
  loadSystemSegment(seg: number, sel: number): void {
    const idx = sel & 0xfff8;
    if (seg === SEG_LDTR && idx === 0) {
      this.segSel[seg] = sel;
      this.segAr[seg] = 0x10000;
      return;
    }
    if ((sel & 4) !== 0 || idx === 0 || idx + 15 > this.gdtrLimit) this.fault(EXC_GP, true, sel & 0xfffc);
    const a = this.gdtrBase + idx;
    const lo = this.readSys(a, 4), hi = this.readSys(a + 4, 4), up = this.readSys(a + 8, 4);
    const ar = (hi >>> 8) & 0xf0ff;
    const type = ar & 0x1f;
    if (seg === SEG_TR ? type !== 9 : type !== 2) this.fault(EXC_GP, true, sel & 0xfffc);
    if ((ar & 0x80) === 0) this.fault(11, true, sel & 0xfffc);
    const base = up * TWO32 + (((hi & 0xff000000) | ((hi & 0xff) << 16) | (lo >>> 16)) >>> 0);
    this.segSel[seg] = sel;
    this.segBase[seg] = Number(BigInt.asIntN(64, BigInt(base)));
    this.segLimit[seg] = ((hi & 0xf0000) | (lo & 0xffff)) * ((ar & 0x8000) !== 0 ? 4096 : 1) +
      ((ar & 0x8000) !== 0 ? 4095 : 0);
    if (seg === SEG_TR) {
      this.segAr[seg] = ar | 2; // busy
      const cpl = this.cpl;
      this.cpl = 0;
      try {
        this.write(a + 4, 4, (hi | 0x200) >>> 0, 0);
      } finally {
        this.cpl = cpl;
      }
    } else {
      this.segAr[seg] = ar;
    }
  }

  /** Reads an architectural MSR the CPU implements; undefined for an unknown one (#GP). */
  readMsr(msr: number): bigint | undefined {
    const b = (x: number) => BigInt.asUintN(64, BigInt(x));
    switch (msr) {
      case 0x10:
        return b(this.icount + this.tscOffset);
      case 0xc0000080:
        return BigInt(this.efer);
      case 0xc0000100:
        return b(this.segBase[SEG_FS]);
      case 0xc0000101:
        return b(this.segBase[SEG_GS]);
      case 0xc0000102:
        return b(this.kernelGsBase);
      default:
        return MSR_DEFAULTS.has(msr) ? (this.msrs.get(msr) ?? MSR_DEFAULTS.get(msr)!) : undefined;
    }
  }

  /** Writes an architectural MSR; false for an unknown MSR or a value it refuses (#GP). */
  writeMsr(msr: number, v: bigint): boolean {
    const canon = (x: bigint) => {
      const sv = BigInt.asIntN(64, x);
      return sv >= -(1n << 47n) && sv < 1n << 47n ? Number(sv) : undefined;
    };
    switch (msr) {
      case 0x10:
        this.tscOffset = Number(v) - this.icount;
        return true;
      case 0xc0000080: {
        const allowed = BigInt(EFER_SCE_BIT | 0x100 | 0x400 | 0x800);
        if ((v & ~allowed) !== 0n) return false;
        const nv = Number(v);
        if ((this.cr0 & CR0_PG) !== 0 && ((nv ^ this.efer) & 0x100) !== 0) return false;
        this.efer = (nv & ~EFER_LMA) | (this.efer & EFER_LMA);
        this.flushTlb();
        return true;
      }
      case 0xc0000100:
      case 0xc0000101:
      case 0xc0000102: {
        const c = canon(v);
        if (c === undefined) return false;
        if (msr === 0xc0000100) this.segBase[SEG_FS] = c;
        else if (msr === 0xc0000101) this.segBase[SEG_GS] = c;
        else this.kernelGsBase = c;
        return true;
      }
      case 0xc0000082:
      case 0xc0000083:
      case 0x175:
      case 0x176:
        if (canon(v) === undefined) return false;
        this.msrs.set(msr, BigInt.asUintN(64, v));
        return true;
      case 0x277: {
        // PAT: each byte must be a valid memory type (0, 1, 4, 5, 6, 7).
        for (let k = 0n; k < 64n; k += 8n) {
          const t = Number((v >> k) & 0xffn);
          if (t === 2 || t === 3 || t > 7) return false;
        }
        this.msrs.set(msr, v);
        return true;
      }
      default:
        if (!MSR_DEFAULTS.has(msr)) return false;
        this.msrs.set(msr, BigInt.asUintN(64, v));
        return true;
    }
  }

  /** Direction step for string instructions: -1 with DF set, else +1. */
  dir(): number {
    return (this.fl.rf & DF) !== 0 ? -1 : 1;
  }

  /** CF as 0 or 1. */
  carry(): number {
    return this.fl.cf() & CF;
  }

  /** Long mode is active. */
  longMode(): boolean {
    return (this.efer & EFER_LMA) !== 0;
  }

  /** Resets RFLAGS to its power-on value. */
  resetFlags(): void {
    this.fl.put(FLAG_FIXED1);
  }
}

export { FAULT as _FAULT_SIGNAL, Insn };

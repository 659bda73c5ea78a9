/**
 * A machine: guest RAM, a vCPU, the port-I/O devices and the hypervisor loop that handles every
 * VM exit. It is the unit that runs, migrates, snapshots and replays.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { StateSection } from "../migration/vm_interface.ts";
import {
  Cpu,
  encodeCpuState,
  EXCEPTION_NAMES,
  GPR_NAMES,
  IF,
  RAX,
  RBX,
  RCX,
  RDX,
  saveCpuState,
} from "../cpu/mod.ts";
import {
  COM1_IRQ,
  DebugConsole,
  DebugExit,
  DualPic,
  Entropy,
  I8042,
  LAPIC_BASE,
  LocalApic,
  MSR_TSC_DEADLINE,
  Pit,
  PortBus,
  PostCode,
  Rtc,
  Serial,
  type SerialInput,
  SystemControl,
} from "../devices/mod.ts";
import { emulateMmio } from "./mmio.ts";
import { VmxVcpu } from "./vcpu.ts";
import * as F from "../vmx/fields.ts";
import {
  decodeIoQualification,
  decodeRandomInstructionInfo,
  decodeStringIoInstructionInfo,
} from "../vmx/qualifications.ts";
import { ioIteration } from "../cpu/ops/string_io.ts";
import {
  ENTRY_IA32E_MODE_GUEST,
  ENTRY_LOAD_DEBUG_CONTROLS,
  EXIT_ACK_INTERRUPT_ON_EXIT,
  EXIT_SAVE_DEBUG_CONTROLS,
  EXIT_SAVE_PREEMPTION_TIMER,
  PIN_ACTIVATE_PREEMPTION_TIMER,
  PIN_EXTERNAL_INTERRUPT_EXITING,
  PROC2_ENABLE_PML,
  PROC2_RDRAND_EXITING,
  PROC2_RDSEED_EXITING,
  PROC_HLT_EXITING,
  PROC_INTERRUPT_WINDOW_EXITING,
  PROC_UNCONDITIONAL_IO_EXITING,
  PROC_USE_MSR_BITMAPS,
} from "../vmx/controls.ts";
import { decodeVmcsRegion, formatVmcsDump } from "../vmx/vmcs_dump.ts";
import { setupVmcs64 } from "../vmx/setup.ts";
import { HVSIM_VMX_CAPABILITIES, vmcsRevision } from "../vmx/capabilities.ts";
import { Vmx } from "../vmx/instructions.ts";
import { Vmcs } from "../vmx/vmcs.ts";
import { CR4_VMXE } from "../cpu/mod.ts";
import { bootGuest } from "./boot.ts";
import { LINUX_LAPIC_SETUP, type LinuxLayout, loadLinux, parseLinuxKernel } from "./linux_loader.ts";
import { hypercallResult } from "./hypercall.ts";
import { cpuidLeaf } from "./cpuid.ts";
import { formatSize, parseElf } from "./elf.ts";
import { type DirtyLogMethod, EptMap, eptTableBytes, type PageLoader } from "./ept_map.ts";
import { allocateSharedMemory } from "./host_memory.ts";
import { CPU_STATE_VERSION, decodeCpuState, FpuState, restoreCpuState } from "../cpu/mod.ts";
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_HLT,
  EXIT_REASON_INTERRUPT_WINDOW,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_PML_FULL,
  EXIT_REASON_PREEMPTION_TIMER,
  EXIT_REASON_RDRAND,
  EXIT_REASON_RDSEED,
  EXIT_REASON_SHORT_NAMES,
  EXIT_REASON_TRIPLE_FAULT,
  EXIT_REASON_VMCALL,
  EXIT_REASON_XSETBV,
} from "../vmx/exit_reasons.ts";
import { emulateXsetbv } from "../cpu/ops/xsave.ts";

/**
 * Version of the "fpu" state section: the x87/MMX/SSE registers as the 512-byte FXSAVE image of
 * 64-bit mode followed by the full 16-bit tag word (src/cpu/fpu_state.ts). A stream without it
 * (written before hvsim had this state) restores the state boot protocol 1 enters with.
 */
export const FPU_STATE_VERSION = 1;

/** Version of the "machine" state section. */
export const MACHINE_STATE_VERSION = 1;

/** How a run ended. */
/** Every way a run can end. */
export const EXIT_REASONS = [
  "debug-exit",
  "hlt",
  "reset",
  "instruction-limit",
  "triple-fault",
  "bad-physical-access",
  "unhandled-exit",
  "internal-error",
] as const;

/** How a run ended. */
export type ExitReason = typeof EXIT_REASONS[number];

/** The end of a run. */
export interface RunExit {
  /** How the run ended. */
  reason: ExitReason;
  /** The exit status of the run (the guest's debug-exit code, or the CLI's status for a failure). */
  code: number;
  /** One line explaining a failure, when there is one. */
  message?: string;
}

/** Largest guest RAM a machine takes (16 GiB). */
export const MAX_GUEST_RAM_BYTES = 16 * 2 ** 30;
/** Guest RAM comes in multiples of this (2 MiB, the boot identity map's page size). */
export const GUEST_RAM_GRANULE = 2 * 2 ** 20;

/** Options of a machine. */
export interface MachineOptions {
  /** Guest RAM in bytes: a multiple of 2 MiB up to 16 GiB (default 64 MiB). */
  memory?: number;
  /** Command line handed to the guest. */
  cmdline?: string;
  /** Seed of the entropy source (RDRAND, RDSEED). */
  entropySeed?: bigint;
  /** The entropy source itself (record/replay supplies one that logs or replays). */
  entropy?: EntropySource;
  /** Where COM1's received bytes come from (default: none). */
  serialInput?: SerialInput;
  /** Advise huge pages for guest RAM where the host supports it (default false; see allocateSharedMemory). */
  hugePages?: boolean;
  /** The CMOS clock's time at TSC 0, in seconds since the Unix epoch, UTC (default 2026-01-01T00:00:00Z). */
  rtcStart?: number;
  /**
   * The compiler for hot guest code: "js" (the JavaScript block compiler, the default) or "wasm"
   * (WebAssembly regions where every instruction of the entry block has a template; see `Cpu.backend`).
   */
  backend?: "js" | "wasm";
}

/** What RDRAND and RDSEED draw from. */
export interface EntropySource {
  /** The next 64 random bits; `seed` is true for RDSEED, false (or absent) for RDRAND. */
  next64(seed?: boolean): bigint;
  /** State for snapshots. */
  save(): Uint8Array;
  /** Loads state from save(). */
  restore(b: Uint8Array): void;
}

/** Timer events a HLT with interrupts on waits through before the guest resumes without an interrupt. */
const HLT_EVENTS = 64;

/** Vector of the host's timer interrupt (Linux's LOCAL_TIMER_VECTOR), reported on external-interrupt exits. */
export const HOST_TIMER_VECTOR = 0xec;
/** Offset of the VMXON region in the hypervisor's area. */
export const HV_VMXON = 0x0000;
/** Offset of the VMCS region. */
export const HV_VMCS = 0x1000;
/** Offset of the MSR bitmaps (4 KiB). */
export const HV_MSR_BITMAP = 0x2000;
/** Offset of the PML page. */
export const HV_PML = 0x3000;
/** Offset of the (unused) host page tables named by HOST_CR3. */
export const HV_HOST_CR3 = 0x4000;
/** Offset of the EPT paging structures. */
export const HV_EPT = 0x10000;

/** A virtual machine with one vCPU. */
export class Machine {
  /** Guest RAM size in bytes. */
  readonly ramBytes: number;
  /**
   * Host-physical memory: guest RAM at 0. After a lazy restore, pages may still be loading (see
   * {@link Machine.attachLazyRam}): read RAM through `readPage`, or call `loadLazyRam` first.
   */
  readonly mem: Uint8Array;
  /** The vCPU. */
  readonly cpu: Cpu;
  /**
   * Port-I/O bus.
   *
   * @internal
   */
  readonly bus: PortBus = new PortBus();
  /**
   * Debug console (port 0xE9; COM1 transmits into it too); read it with `consoleText()`.
   *
   * @internal
   */
  readonly console: DebugConsole = new DebugConsole();
  /**
   * Debug exit (port 0xF4).
   *
   * @internal
   */
  readonly debugExit: DebugExit = new DebugExit();
  /**
   * COM1 (its input comes from `MachineOptions.serialInput`).
   *
   * @internal
   */
  readonly serial: Serial;
  /** Entropy for RDRAND/RDSEED. */
  readonly entropy: EntropySource;
  /**
   * The local APIC (timer, interrupt controller).
   *
   * @internal
   */
  readonly lapic: LocalApic = new LocalApic();
  /**
   * The 8259A pair (ports 0x20/0x21, 0xA0/0xA1, ELCR 0x4D0/0x4D1); its INTR reaches the CPU through
   * the local APIC's LINT0 (see docs/architecture.md, "PC platform devices").
   *
   * @internal
   */
  readonly pic: DualPic = new DualPic();
  /**
   * The 8254 PIT (ports 0x40-0x43); counter 0 drives IRQ0.
   *
   * @internal
   */
  readonly pit: Pit;
  /**
   * The MC146818 RTC and CMOS RAM (ports 0x70/0x71); its interrupt is IRQ8.
   *
   * @internal
   */
  readonly rtc: Rtc;
  /**
   * The i8042 keyboard controller (ports 0x60, 0x64); its reset command ends the run as "reset".
   *
   * @internal
   */
  readonly i8042: I8042 = new I8042();
  /** VM exits handled, by basic exit reason. */
  readonly exitCounts: Map<number, number> = new Map<number, number>();
  /** How the guest ended, once it has. */
  exit: RunExit | null = null;
  /** EPT over guest RAM, with the dirty log. */
  readonly ept: EptMap;
  /** Auto-converge throttle: the fraction of each run() the guest is held. */
  throttle = 0;
  private throttleCarry = 0;
  /** The VMX instructions over host memory. */
  readonly vmx: Vmx;
  /** The vCPU in VMX non-root operation. */
  readonly vcpu: VmxVcpu;
  /** Host-physical address of the hypervisor's area (VMXON region, VMCS, bitmaps) above guest RAM. */
  readonly hvBase: number;

  /**
   * A machine with blank RAM, its hypervisor set up and the vCPU ready for a guest.
   *
   * @param opts RAM size, command line, entropy and serial input
   * @throws RangeError when `opts.memory` is not a multiple of 2 MiB from 2 MiB to 16 GiB.
   */
  constructor(opts: MachineOptions = {}) {
    const ram = opts.memory ?? 64 * 2 ** 20;
    if (!Number.isSafeInteger(ram) || ram < GUEST_RAM_GRANULE || ram % GUEST_RAM_GRANULE !== 0) {
      throw new RangeError(`guest RAM of ${ram} bytes: expected a multiple of 2 MiB, at least 2 MiB`);
    }
    if (ram > MAX_GUEST_RAM_BYTES) throw new RangeError(`guest RAM of ${formatSize(ram)}: at most 16 GiB`);
    this.ramBytes = ram;
    this.hvBase = this.ramBytes;
    const host = allocateSharedMemory(this.ramBytes + HV_EPT + eptTableBytes(this.ramBytes), {
      hugePages: opts.hugePages,
    });
    this.mem = host.bytes;
    this.ept = new EptMap(this.mem, 0, this.ramBytes, this.hvBase + HV_EPT, this.hvBase + HV_PML);
    this.cpu = new Cpu(host, this.ept);
    this.cpu.backend = opts.backend ?? "js";
    this.serial = new Serial(
      (b) => this.console.append(b),
      opts.serialInput,
      (level) => this.pic.setIrq(COM1_IRQ, level),
      () => this.now(),
    );
    this.entropy = opts.entropy ?? new Entropy(opts.entropySeed);
    this.bus.add(this.console);
    this.bus.add(this.debugExit);
    this.bus.add(this.serial);
    this.pit = new Pit(() => this.now(), (level) => this.pic.setIrq(0, level));
    this.bus.add(this.pic);
    this.bus.add(this.pit);
    this.bus.add(new SystemControl(this.pit, () => this.now()));
    this.rtc = new Rtc(() => this.now(), (level) => this.pic.setIrq(8, level), opts.rtcStart);
    this.bus.add(this.rtc);
    this.bus.add(this.i8042);
    this.bus.add(new PostCode());
    this.vmx = new Vmx(this.mem);
    // The hypervisor's MSR bitmaps: RDMSR/WRMSR of IA32_TSC_DEADLINE exit (the local APIC is emulated).
    const msrBitmap = this.hvBase + HV_MSR_BITMAP;
    const bit = MSR_TSC_DEADLINE;
    this.mem[msrBitmap + (bit >>> 3)] |= 1 << (bit & 7); // read bitmap, low MSRs
    this.mem[msrBitmap + 0x800 + (bit >>> 3)] |= 1 << (bit & 7); // write bitmap, low MSRs

    this.vcpu = new VmxVcpu(this.cpu, this.vmx, this.ept, this.ramBytes);
    this.cpu.ports = this.bus;
    // RDRAND/RDSEED that do not exit draw from the same source as the exits (and are logged the same way).
    this.cpu.entropy = (seed) => this.entropy.next64(seed);
  }

  /**
   * Sets up VMX operation the way a hypervisor does: VMXON, VMCLEAR and VMPTRLD of the VMCS,
   * VMWRITE of controls, host state and the booted guest state. Called once the CPU holds the
   * guest's initial state.
   */
  private startVmx(): void {
    const rev = vmcsRevision(HVSIM_VMX_CAPABILITIES);
    const dv = new DataView(this.mem.buffer);
    const vmxon = this.hvBase + HV_VMXON,
      vmcsAddr = this.hvBase + HV_VMCS,
      msrBitmap = this.hvBase + HV_MSR_BITMAP;
    dv.setUint32(vmxon, rev, true);
    dv.setUint32(vmcsAddr, rev, true);
    const must = (r: { ok: boolean }, what: string) => {
      if (!r.ok) throw new Error(`${what} failed: ${JSON.stringify(r)}`);
    };
    must(this.vmx.vmxon(vmxon), "VMXON");
    must(this.vmx.vmclear(vmcsAddr), "VMCLEAR");
    must(this.vmx.vmptrld(vmcsAddr), "VMPTRLD");
    const vmcs = this.vcpu.vmcs;
    setupVmcs64(vmcs, { hostCr3: BigInt(this.hvBase + HV_HOST_CR3), eptp: BigInt(this.ept.eptp) });
    vmcs.write(F.PML_ADDRESS, BigInt(this.hvBase + HV_PML));
    vmcs.writeNumber(F.GUEST_PML_INDEX, 511);
    // Exits hvsim's hypervisor wants: HLT, all I/O, the TSC-deadline MSR; the preemption timer slices time.
    vmcs.writeNumber(
      F.PIN_BASED_VM_EXEC_CONTROL,
      vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL) | PIN_ACTIVATE_PREEMPTION_TIMER |
        PIN_EXTERNAL_INTERRUPT_EXITING,
    );
    vmcs.writeNumber(
      F.CPU_BASED_VM_EXEC_CONTROL,
      vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL) | PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING |
        PROC_USE_MSR_BITMAPS,
    );
    vmcs.writeNumber(
      F.VM_EXIT_CONTROLS,
      vmcs.readNumber(F.VM_EXIT_CONTROLS) | EXIT_SAVE_PREEMPTION_TIMER | EXIT_ACK_INTERRUPT_ON_EXIT |
        EXIT_SAVE_DEBUG_CONTROLS,
    );
    // DR7 goes with the guest across exits, as KVM has it ("save/load debug controls").
    vmcs.writeNumber(F.VM_ENTRY_CONTROLS, vmcs.readNumber(F.VM_ENTRY_CONTROLS) | ENTRY_LOAD_DEBUG_CONTROLS);
    vmcs.write(F.MSR_BITMAP, BigInt(msrBitmap));
    // RDRAND and RDSEED exit, as hvsim's hypervisor has always handled them (the guest could run
    // them itself from the same entropy source when these controls are clear).
    vmcs.writeNumber(
      F.SECONDARY_VM_EXEC_CONTROL,
      vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL) | PROC2_RDRAND_EXITING | PROC2_RDSEED_EXITING,
    );
    // The guest runs with CR4.VMXE set (a fixed-1 bit in VMX operation), hidden by the read shadow.
    this.cpu.cr4 |= CR4_VMXE;
    this.vcpu.storeGuest();
  }

  /** Virtual time: the guest's TSC. */
  now(): number {
    return this.cpu.icount + this.cpu.tscOffset;
  }

  /** Creates a machine and loads an ELF guest into it under the boot protocol. */
  static fromElf(file: Uint8Array, opts: MachineOptions = {}, name = "guest"): Machine {
    const m = new Machine(opts);
    const image = parseElf(file, m.ramBytes, name);
    for (const s of image.segments) {
      m.mem.fill(0, s.addr, s.addr + s.memSize);
      m.mem.set(s.data, s.addr);
    }
    bootGuest(m.cpu, m.mem.subarray(0, m.ramBytes), image.entry, opts.cmdline ?? "");
    m.startVmx();
    return m;
  }

  /**
   * Creates a machine and loads a Linux kernel (bzImage or ELF vmlinux) with an optional initrd under
   * the Linux/x86 64-bit boot protocol (src/vm/linux_loader.ts); the local APIC is set up as firmware
   * leaves it (virtual wire: LINT0 ExtINT, LINT1 NMI). `opts.cmdline` is the kernel command line.
   */
  static fromLinux(
    kernel: Uint8Array,
    initrd: Uint8Array | undefined,
    opts: MachineOptions = {},
    name = "kernel",
  ): Machine {
    const m = new Machine(opts);
    const image = parseLinuxKernel(kernel, m.ramBytes, name);
    m.linuxLayout = loadLinux(m.cpu, m.mem.subarray(0, m.ramBytes), image, {
      cmdline: opts.cmdline ?? "",
      initrd,
    });
    for (const [offset, value] of LINUX_LAPIC_SETUP) m.lapic.write(offset, value, 0);
    m.startVmx();
    return m;
  }

  /** Where the Linux loader put the zero page, command line and initrd (null for other guests). */
  linuxLayout: LinuxLayout | null = null;

  /**
   * Creates a machine from a raw flat binary loaded at guest-physical `loadAddr` (at or above
   * 1 MiB), entered at `entry` (default: the load address), under the same boot protocol.
   */
  static fromFlat(
    code: Uint8Array,
    loadAddr = 0x100000,
    entry = loadAddr,
    opts: MachineOptions = {},
  ): Machine {
    const m = new Machine(opts);
    if (loadAddr < 0x100000 || loadAddr + code.length > m.ramBytes) {
      throw new RangeError(
        `Cannot load flat binary at 0x${loadAddr.toString(16)}..0x${
          (loadAddr + code.length).toString(16)
        }: ` +
          `it must lie in RAM at or above 1 MiB`,
      );
    }
    m.mem.set(code, loadAddr);
    bootGuest(m.cpu, m.mem.subarray(0, m.ramBytes), entry, opts.cmdline ?? "");
    m.startVmx();
    return m;
  }

  /** Retired guest instructions so far. */
  get instructions(): number {
    return this.cpu.icount;
  }

  /** The guest has ended. */
  get finished(): boolean {
    return this.exit !== null;
  }

  /**
   * Runs the guest until it ends or `max` more instructions have retired (or a debugger's
   * breakpoint or watchpoint stops it: `cpu.debug.stopped`).
   * @returns the exit, or null if the budget ran out first or the debugger stopped the guest.
   */
  run(max = Infinity): RunExit | null {
    const cpu = this.cpu;
    if (this.throttle > 0 && Number.isFinite(max)) {
      // The guest gets (1 - throttle) of the slice; the fraction of an instruction carries over.
      const exact = max * (1 - this.throttle) + this.throttleCarry;
      max = Math.floor(exact);
      this.throttleCarry = exact - max;
    }
    const stopAt = cpu.icount + max;
    const vmcs = this.vcpu.vmcs;
    while (this.exit === null) {
      const left = stopAt - cpu.icount;
      if (left <= 0) return null;
      this.deliverInterrupts();
      // The VMX-preemption timer (rate 0: one tick per TSC tick) ends the slice; the emulated local
      // APIC's next timer event arrives as a host interrupt (an external-interrupt exit), as the host
      // timer that KVM arms for a guest's APIC timer does. Both in virtual time.
      vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, Math.max(1, Math.min(left, 0xffffffff)));
      const untilEvent = this.nextDeviceEvent() - this.now();
      if (untilEvent < left) {
        cpu.extIntAt = cpu.icount + Math.max(0, untilEvent);
        cpu.extIntVector = HOST_TIMER_VECTOR;
      }
      const out = this.vcpu.enter();
      if (out.kind === "internal") {
        this.exit = { reason: "internal-error", code: 70, message: `simulator defect: ${out.message}` };
        break;
      }
      if (out.kind === "fail") {
        this.exit = {
          reason: "unhandled-exit",
          code: 5,
          message: `VM entry failed: ${JSON.stringify(out.result)}\n${this.vmcsText()}`,
        };
        break;
      }
      this.handleExit(out.reason);
      // A debugger's breakpoint or watchpoint stopped the guest (the CPU's hooks; see Cpu.debug).
      if (cpu.debug !== null && cpu.debug.stopped !== null && this.exit === null) return null;
    }
    return this.exit;
  }

  /** The current VMCS decoded field by field (non-zero fields), for messages. */
  vmcsText(): string {
    return formatVmcsDump(decodeVmcsRegion(this.vcpu.vmcs.region()), true);
  }

  /** Runs to the end (or `max` instructions), marking the instruction limit as the exit. */
  runToEnd(max = Infinity): RunExit {
    return this.run(max) ?? (this.exit = { reason: "instruction-limit", code: 0 });
  }

  /** Brings the timers up to `now`: their interrupts due by then are raised. */
  private updateDevices(now: number): void {
    this.lapic.update(now);
    this.pit.update(now);
    this.rtc.update(now);
  }

  /** TSC of the next timer event of any device, or Infinity. */
  private nextDeviceEvent(): number {
    return Math.min(this.lapic.nextEvent(), this.pit.nextEvent(), this.rtc.nextEvent());
  }

  /** The 8259's INTR reaches the CPU (through LINT0 in ExtINT mode, or with the APIC disabled). */
  private picInterruptPending(): boolean {
    const apicBase = this.cpu.msrs.get(0x1b) ?? 0xfee00900n;
    return this.pic.intr() && this.lapic.acceptsPicInterrupt((apicBase & 0x800n) !== 0n);
  }

  /**
   * Queues the pending interrupt for VM entry if the guest can take it, else asks for an
   * interrupt-window exit. The 8259's ExtINT comes first (its vector from the INTA cycle), then
   * the APIC's highest request, as KVM orders them.
   */
  private deliverInterrupts(): void {
    const vcpu = this.vcpu;
    this.updateDevices(this.now());
    const ext = this.picInterruptPending();
    const v = ext ? -1 : this.lapic.pending();
    if (!ext && v < 0) {
      vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, false);
      return;
    }
    if (!vcpu.interruptible()) {
      vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, true);
      return;
    }
    vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, false);
    if (ext) vcpu.injectEvent(this.pic.acknowledge(), 0);
    else {
      this.lapic.acknowledge(v);
      vcpu.injectEvent(v, 0);
    }
  }

  /** Counts an exit by its basic reason. */
  private count(reason: number): void {
    this.exitCounts.set(reason, (this.exitCounts.get(reason) ?? 0) + 1);
  }

  /** Finishes an instruction the hypervisor emulated: RIP past it (in the VMCS), and it retires. */
  private complete(): void {
    this.vcpu.skipInstruction();
  }

  /** Guest RIP in hex, for messages. */
  private ripText(): string {
    return "0x" + this.vcpu.rip().toString(16);
  }

  /** Handles VM exit `r` as the hypervisor: emulates, completes the instruction or ends the run. */
  private handleExit(r: number): void {
    const cpu = this.cpu;
    const vmcs = this.vcpu.vmcs;
    this.count(r);
    switch (r) {
      case EXIT_REASON_IO_INSTRUCTION: {
        const q = decodeIoQualification(Number(vmcs.read(F.EXIT_QUALIFICATION) & 0xffffffffn));
        if (q.string) {
          // INS/OUTS: one iteration per exit; RIP moves on when the last one is done.
          const info = decodeStringIoInstructionInfo(vmcs.readNumber(F.VMX_INSTRUCTION_INFO));
          const gla = Number(BigInt.asIntN(64, vmcs.read(F.GUEST_LINEAR_ADDRESS)));
          if (ioIteration(cpu, !q.in, q.size, info.addressSize, q.rep, gla, this.bus)) this.complete();
          else cpu.icount++;
          return;
        }
        const { size, in: isIn, port } = q;
        if (isIn) {
          const v = this.bus.read(port, size);
          cpu.writeReg(size, RAX, v, 0);
        } else {
          const v = cpu.gpr[0] & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
          this.bus.write(port, size, v >>> 0);
        }
        this.complete();
        if (this.debugExit.code !== null) this.exit = { reason: "debug-exit", code: this.debugExit.code };
        else if (this.i8042.resetRequested) {
          this.exit = { reason: "reset", code: 0, message: "the guest reset the machine (i8042 reset line)" };
        }
        return;
      }
      case EXIT_REASON_CPUID: {
        const [a, b, c, d] = cpuidLeaf(cpu.gpr[2 * RAX], cpu.gpr[2 * RCX], cpu.cr4);
        cpu.writeReg(4, RAX, a, 0);
        cpu.writeReg(4, RBX, b, 0);
        cpu.writeReg(4, RCX, c, 0);
        cpu.writeReg(4, RDX, d, 0);
        this.complete();
        return;
      }
      case EXIT_REASON_HLT: {
        this.complete();
        if ((Number(vmcs.read(F.GUEST_RFLAGS)) & IF) === 0) {
          this.exit = { reason: "hlt", code: 0 };
          return;
        }
        // Wait for the next interrupt: virtual time jumps from timer event to timer event until one
        // brings an interrupt the CPU takes (an 8254 OUT falling edge or a masked line brings none),
        // for at most HLT_EVENTS events, after which the guest resumes as if woken.
        for (let k = 0; k < HLT_EVENTS; k++) {
          this.updateDevices(this.now());
          if (this.lapic.pending() >= 0 || this.picInterruptPending()) return;
          const next = this.nextDeviceEvent();
          if (next === Infinity) {
            this.exit = { reason: "hlt", code: 0, message: "HLT with interrupts enabled and no timer armed" };
            return;
          }
          cpu.tscOffset += next - this.now();
        }
        return;
      }
      case EXIT_REASON_INTERRUPT_WINDOW:
        this.vcpu.setProcControl(PROC_INTERRUPT_WINDOW_EXITING, false);
        return;
      case EXIT_REASON_PREEMPTION_TIMER:
      case EXIT_REASON_EXTERNAL_INTERRUPT: // the host timer: the loop updates the APIC and injects
        return;
      case EXIT_REASON_PML_FULL:
        // The log is full: move it into the dirty bitmap and start a new one (the access retries).
        this.ept.drainPml();
        this.ept.pmlFullExits++;
        this.syncPmlIndex();
        return;
      case EXIT_REASON_RDRAND:
      case EXIT_REASON_RDSEED: {
        const { reg, size } = decodeRandomInstructionInfo(vmcs.readNumber(F.VMX_INSTRUCTION_INFO));
        const v = this.entropy.next64(r === EXIT_REASON_RDSEED);
        cpu.writeReg(size, reg, Number(v & 0xffffffffn), Number(v >> 32n));
        vmcs.write(F.GUEST_RFLAGS, (vmcs.read(F.GUEST_RFLAGS) & ~0x8d5n) | 1n); // CF = 1, OF SF ZF AF PF = 0
        this.complete();
        return;
      }
      case EXIT_REASON_VMCALL: {
        const cpl = (vmcs.readNumber(F.GUEST_SS_AR_BYTES) >>> 5) & 3;
        const longMode = (vmcs.readNumber(F.GUEST_CS_AR_BYTES) & 0x2000) !== 0 &&
          (vmcs.readNumber(F.VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) !== 0;
        cpu.setReg64(RAX, hypercallResult(cpu.getReg64(RAX), cpl, longMode));
        this.complete();
        return;
      }
      case EXIT_REASON_MSR_READ:
      case EXIT_REASON_MSR_WRITE: {
        const msr = cpu.gpr[2 * RCX];
        if (msr === MSR_TSC_DEADLINE) {
          if (r === EXIT_REASON_MSR_READ) {
            const v = this.lapic.readTscDeadline();
            cpu.writeReg(4, RAX, v >>> 0, 0);
            cpu.writeReg(4, RDX, Math.floor(v / 2 ** 32) >>> 0, 0);
          } else {
            this.lapic.writeTscDeadline(cpu.gpr[2 * RDX] * 2 ** 32 + cpu.gpr[0], this.now());
          }
          this.complete();
          return;
        }
        this.vcpu.injectEvent(13, 3, 0); // #GP(0), as hardware without the MSR
        return;
      }
      case EXIT_REASON_XSETBV:
        // XCR0 is the guest's own; the value is checked as the processor would (SDM Vol. 2 XSETBV).
        if (emulateXsetbv(cpu)) this.complete();
        else this.vcpu.injectEvent(13, 3, 0); // #GP(0)
        return;
      case EXIT_REASON_TRIPLE_FAULT:
        this.exit = { reason: "triple-fault", code: 3, message: `triple fault (${cpu.tripleFaultCause})` };
        return;
      case EXIT_REASON_EPT_VIOLATION: {
        const gpa = Number(vmcs.read(F.GUEST_PHYSICAL_ADDRESS));
        const base = Number((cpu.msrs.get(0x1b) ?? 0xfee00900n) & ~0xfffn) || LAPIC_BASE;
        if (gpa >= base && gpa < base + 4096) {
          const now = this.now();
          const lapic = this.lapic;
          const err = emulateMmio(cpu, {
            read: (off) => lapic.read(off, now),
            write: (off, _size, v) => lapic.write(off, v, now),
          }, gpa - base);
          if (typeof err === "number") {
            vmcs.write(F.GUEST_RIP, BigInt.asUintN(64, vmcs.read(F.GUEST_RIP) + BigInt(err)));
            cpu.icount++;
            return;
          }
          this.exit = { reason: "unhandled-exit", code: 5, message: `${err} at rip ${this.ripText()}` };
          return;
        }
        this.exit = {
          reason: "bad-physical-access",
          code: 4,
          message:
            `guest accessed guest-physical 0x${gpa.toString(16)} outside ${this.ramBytes} bytes of RAM ` +
            `at rip ${this.ripText()}`,
        };
        return;
      }
      case EXIT_REASON_EXCEPTION_NMI: {
        const v = vmcs.readNumber(F.VM_EXIT_INTR_INFO) & 0xff;
        this.exit = {
          reason: "unhandled-exit",
          code: 5,
          message: `exception ${EXCEPTION_NAMES[v] ?? v} at rip ${this.ripText()}`,
        };
        return;
      }
      default:
        this.exit = {
          reason: "unhandled-exit",
          code: 5,
          message: `VM exit ${r} (${EXIT_REASON_SHORT_NAMES[r] ?? "unknown"}) at rip ${this.ripText()} ` +
            `qualification 0x${vmcs.read(F.EXIT_QUALIFICATION).toString(16)}\n${this.vmcsText()}`,
        };
    }
  }

  // ------------------------------------------------------------ migration interface

  /** Takes and clears the dirty log: one bit per 4 KiB page written since the last call. */
  takeDirtyLog(): Uint32Array {
    const log = this.ept.take(this.cpu);
    this.syncPmlIndex();
    return log;
  }

  /** Starts (with an empty log) or stops dirty tracking; `method` picks PML or D-flag scans. */
  setDirtyTracking(on: boolean, method: DirtyLogMethod = "pml"): void {
    this.ept.setLogging(this.cpu, on, method);
    const vmcs = this.vcpu.vmcs;
    const proc2 = vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL);
    const pml = on && method === "pml";
    vmcs.writeNumber(F.SECONDARY_VM_EXEC_CONTROL, pml ? proc2 | PROC2_ENABLE_PML : proc2 & ~PROC2_ENABLE_PML);
    vmcs.write(F.EPT_POINTER, BigInt(this.ept.eptp));
    // With logging off the log is empty: the index rests at its start (511), as after VMPTRLD setup.
    if (!pml) vmcs.writeNumber(F.GUEST_PML_INDEX, 511);
    this.syncPmlIndex();
  }

  /** Distinct 4 KiB pages written while dirty tracking was on. */
  dirtyPageCount(): number {
    const n = this.ept.everDirtyCount();
    this.syncPmlIndex();
    return n;
  }

  /** Copies the PML index of the EPT log into the VMCS. */
  private syncPmlIndex(): void {
    if (this.ept.pml !== null) this.vcpu.vmcs.writeNumber(F.GUEST_PML_INDEX, this.ept.pml.index);
  }

  /**
   * Takes RAM that loads on first touch, for a lazy restore (before `restoreState`, on a machine
   * that has not run): every guest-physical translation, page read and digest loads what it needs.
   */
  attachLazyRam(lazy: PageLoader): void {
    this.ept.lazy = lazy;
  }

  /** Loads every page a lazy restore has not loaded yet (see {@link Machine.attachLazyRam}). */
  loadLazyRam(): void {
    const lazy = this.ept.lazy;
    if (lazy === null) return;
    lazy.loadAll(this.mem.subarray(0, this.ramBytes));
    this.ept.lazy = null;
  }

  /** Copies guest page `pfn` into `dst` (4096 bytes). */
  readPage(pfn: number, dst: Uint8Array): void {
    const a = pfn * 4096;
    const lazy = this.ept.lazy;
    if (lazy !== null && lazy.missing[pfn] !== 0) lazy.load(pfn, this.mem.subarray(0, this.ramBytes));
    dst.set(this.mem.subarray(a, a + 4096));
  }

  /** Writes guest page `pfn` from `src`: a device-side write, so decoded code there is dropped and the page logged. */
  writePage(pfn: number, src: Uint8Array): void {
    const a = pfn * 4096;
    if (src.length !== 4096) throw new RangeError(`a page is 4096 bytes, got ${src.length}`);
    if (a + 4096 > this.ramBytes) {
      throw new RangeError(`page ${pfn} lies outside ${this.ramBytes} bytes of RAM`);
    }
    if (this.ept.lazy !== null) this.ept.lazy.discard(pfn);
    this.mem.set(src, a);
    if (this.cpu.blocks.hasCode(a)) this.cpu.blocks.invalidatePage(a);
    if (this.ept.logging) this.ept.markGpa(a);
  }

  /** Sets the auto-converge throttle (0..0.99). */
  setThrottle(fraction: number): void {
    if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`throttle must be in [0, 1), got ${fraction}`);
    this.throttle = fraction;
    this.throttleCarry = 0;
  }

  /** Everything but RAM, as versioned sections: CPU, devices, entropy, and the machine's own. */
  saveState(): StateSection[] {
    const machine = {
      ramBytes: this.ramBytes,
      exit: this.exit,
      exitCounts: [...this.exitCounts],
    };
    const vmx = { ...this.vmx.save(), launched: this.vcpu.isLaunched };
    return [
      { name: "cpu", version: CPU_STATE_VERSION, data: encodeCpuState(saveCpuState(this.cpu)) },
      { name: "fpu", version: FPU_STATE_VERSION, data: this.cpu.fpu.save() },
      { name: "vmcs", version: 1, data: this.vcpu.vmcs.region().slice() },
      { name: "vmx", version: 1, data: new TextEncoder().encode(JSON.stringify(vmx)) },
      ...this.deviceState(),
      {
        name: "machine",
        version: MACHINE_STATE_VERSION,
        data: new TextEncoder().encode(JSON.stringify(machine)),
      },
    ];
  }

  /** Loads sections made by {@linkcode saveState}; every section must be present, at a known version. */
  restoreState(sections: StateSection[]): void {
    const byName = new Map(sections.map((s) => [s.name, s]));
    const need = (name: string, version: number, oldest = version): Uint8Array => {
      const s = byName.get(name);
      if (!s) throw new RangeError(`state has no "${name}" section`);
      if (s.version < oldest || s.version > version) {
        throw new RangeError(
          `state section "${name}" is version ${s.version}; this hvsim reads version ${
            oldest === version ? version : `${oldest} to ${version}`
          }`,
        );
      }
      return s.data;
    };
    const m = checkMachineSection(
      JSON.parse(new TextDecoder().decode(need("machine", MACHINE_STATE_VERSION))),
    );
    if (m.ramBytes !== this.ramBytes) {
      throw new RangeError(`state is for ${m.ramBytes} bytes of RAM; this machine has ${this.ramBytes}`);
    }
    const cpuState = decodeCpuState(need("cpu", CPU_STATE_VERSION, 1), byName.get("cpu")!.version);
    const fpu = byName.has("fpu") ? need("fpu", FPU_STATE_VERSION) : null;
    if (fpu !== null) new FpuState().restore(fpu); // checked before anything changes
    for (const d of this.bus.devices) d.restore(need(d.name, d.version));
    this.entropy.restore(need("entropy", 1));
    this.lapic.restore(need("lapic", this.lapic.version));
    restoreCpuState(this.cpu, cpuState);
    if (fpu !== null) this.cpu.fpu.restore(fpu);
    else {
      this.cpu.fpu.reset();
      this.cpu.fpu.fninit();
    }
    const region = need("vmcs", 1);
    if (region.length !== 4096) {
      throw new RangeError(`VMCS section is ${region.length} bytes; a VMCS region is 4096`);
    }
    const vmx = JSON.parse(new TextDecoder().decode(need("vmx", 1)));
    if (typeof vmx !== "object" || vmx === null) throw new RangeError(`state section "vmx" is not an object`);
    this.vmx.restore(vmx);
    this.vcpu.vmcs.region().set(region);
    this.vcpu.setLaunched(vmx.launched === true);
    // Dirty tracking belongs to this machine's hypervisor, not to the guest: a restored VM starts
    // with it off (the source's PML settings came along in its VMCS).
    this.setDirtyTracking(false);
    this.exit = m.exit;
    this.exitCounts.clear();
    for (const [k, v] of m.exitCounts) this.exitCounts.set(k, v);
  }

  /** Console output so far. */
  consoleText(): string {
    return this.console.text();
  }

  /**
   * The general registers, RIP, RFLAGS, XMM0-15 (128-bit), MXCSR and the debug registers (DR0-DR3,
   * DR6, DR7) as hex strings.
   */
  regs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (let r = 0; r < 16; r++) out[GPR_NAMES[r]] = "0x" + this.cpu.getReg64(r).toString(16);
    out.rip = "0x" + this.cpu.getRip().toString(16);
    out.rflags = "0x" + this.cpu.getRflags().toString(16);
    for (let r = 0; r < 16; r++) out[`xmm${r}`] = "0x" + this.cpu.fpu.xmmBig(r).toString(16);
    out.mxcsr = "0x" + this.cpu.fpu.mxcsr.toString(16);
    const dr = this.cpu.dr;
    for (let n = 0; n < 4; n++) {
      out[`dr${n}`] = "0x" + ((BigInt(dr[2 * n + 1]) << 32n) | BigInt(dr[2 * n])).toString(16);
    }
    out.dr6 = "0x" + this.cpu.dr6.toString(16);
    out.dr7 = "0x" + this.cpu.dr7.toString(16);
    return out;
  }

  /** Device state sections (name, version, bytes), in a fixed order. */
  deviceState(): { name: string; version: number; data: Uint8Array }[] {
    const out = this.bus.devices.map((d) => ({ name: d.name, version: d.version, data: d.save() }));
    out.push({ name: "entropy", version: 1, data: this.entropy.save() });
    out.push({ name: "lapic", version: this.lapic.version, data: this.lapic.save() });
    return out;
  }

  /** SHA-256 over registers, control state, the VMCS, device state and all of RAM (docs/determinism.md). */
  digest(): string {
    this.loadLazyRam();
    const h = createHash("sha256");
    h.update(encodeCpuState(saveCpuState(this.cpu)));
    h.update(this.cpu.fpu.save());
    // The VMCS, less what belongs to this machine's hypervisor rather than to the guest: the
    // VMX-preemption timer value (how the host sliced the run) and the dirty-logging settings.
    const region = this.vcpu.vmcs.region().slice();
    const copy = new Vmcs(region, 0);
    copy.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, 0);
    copy.writeNumber(
      F.SECONDARY_VM_EXEC_CONTROL,
      copy.readNumber(F.SECONDARY_VM_EXEC_CONTROL) & ~PROC2_ENABLE_PML,
    );
    copy.writeNumber(F.GUEST_PML_INDEX, 511);
    h.update(region);
    for (const s of this.deviceState()) {
      h.update(s.name);
      h.update(s.data);
    }
    h.update(this.mem.subarray(0, this.ramBytes));
    return h.digest("hex");
  }
}

/** The "machine" state section, checked: RAM size, how the run ended (if it did), VM-exit counts. */
function checkMachineSection(m: unknown): {
  ramBytes: number;
  exit: RunExit | null;
  exitCounts: [number, number][];
} {
  const bad = (what: string): never => {
    throw new RangeError(`state section "machine" has ${what}`);
  };
  if (typeof m !== "object" || m === null) return bad("no object");
  const o = m as Record<string, unknown>;
  if (!Number.isSafeInteger(o.ramBytes)) bad("no RAM size");
  let exit: RunExit | null = null;
  if (o.exit !== undefined && o.exit !== null) {
    const e = o.exit as Record<string, unknown>;
    if (
      typeof e !== "object" || !(EXIT_REASONS as readonly unknown[]).includes(e.reason) ||
      !Number.isInteger(e.code) || (e.code as number) < -(2 ** 31) || (e.code as number) >= 2 ** 32 ||
      (e.message !== undefined && typeof e.message !== "string")
    ) {
      bad(`an invalid exit ${JSON.stringify(o.exit).slice(0, 80)}`);
    }
    exit = e.message === undefined
      ? { reason: e.reason as ExitReason, code: e.code as number }
      : { reason: e.reason as ExitReason, code: e.code as number, message: e.message as string };
  }
  const counts = o.exitCounts;
  if (
    !Array.isArray(counts) ||
    !counts.every((c) =>
      Array.isArray(c) && c.length === 2 && Number.isSafeInteger(c[0]) && c[0] >= 0 &&
      Number.isSafeInteger(c[1]) &&
      c[1] >= 0
    )
  ) {
    bad("invalid VM-exit counts");
  }
  return { ramBytes: o.ramBytes as number, exit, exitCounts: counts as [number, number][] };
}

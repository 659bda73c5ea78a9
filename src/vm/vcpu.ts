/**
 * A vCPU in VMX non-root operation: the interpreter ({@linkcode Cpu}) driven through a real VMCS.
 * VM entry (VMLAUNCH/VMRESUME through the VMX layer's checks) loads the CPU from the VMCS
 * guest-state area and its execution controls, injects the event in the VM-entry
 * interruption-information field, and runs the guest; a VM exit stores the CPU back into the
 * guest-state area and records the exit reason, qualification and exit information, as the SDM
 * describes (Vol. 3 ch. 26-28). Between exits the VMCS is the single home of the guest's state
 * (the general registers other than RSP live here, as in KVM's `vcpu->arch.regs`).
 *
 * @module
 */

import { type Cpu, DR7_FIXED1, RSP, SEG_FS, SEG_GS, STOP_BUDGET, STOP_INTERNAL } from "../cpu/mod.ts";
import * as F from "../vmx/fields.ts";
import {
  ENTRY_LOAD_DEBUG_CONTROLS,
  EXIT_ACK_INTERRUPT_ON_EXIT,
  EXIT_SAVE_DEBUG_CONTROLS,
  EXIT_SAVE_PREEMPTION_TIMER,
  PIN_ACTIVATE_PREEMPTION_TIMER,
  PIN_EXTERNAL_INTERRUPT_EXITING,
  PROC_ACTIVATE_SECONDARY_CONTROLS,
  PROC_CR3_LOAD_EXITING,
  PROC_CR3_STORE_EXITING,
  PROC_CR8_LOAD_EXITING,
  PROC_CR8_STORE_EXITING,
  PROC_HLT_EXITING,
  PROC_INTERRUPT_WINDOW_EXITING,
  PROC_INVLPG_EXITING,
  PROC_MOV_DR_EXITING,
  PROC_RDTSC_EXITING,
  PROC_USE_TSC_OFFSETTING,
} from "../vmx/controls.ts";
import { ioAccessExits, msrAccessExits, recordVmExit, storeIa32eModeGuest } from "../vmx/exits.ts";
import {
  CR_ACCESS_LMSW,
  decodeCrAccessQualification,
  decodeInterruptionInfo,
  decodeIoQualification,
  encodeInterruptionInfo,
  INTR_INFO_VALID,
} from "../vmx/qualifications.ts";
import {
  ACTIVITY_ACTIVE,
  ACTIVITY_HLT,
  type GuestRegisterFile,
  INTERRUPTIBILITY_MOV_SS,
  INTERRUPTIBILITY_STI,
  readGuestState,
  writeGuestState,
} from "../vmx/guest_state.ts";
import type { VmEntryResult, Vmx } from "../vmx/instructions.ts";
import type { Vmcs } from "../vmx/vmcs.ts";
import {
  PROC2_ENABLE_EPT,
  PROC2_ENABLE_PML,
  PROC2_RDRAND_EXITING,
  PROC2_RDSEED_EXITING,
} from "../vmx/controls.ts";
import { IdentityMap } from "../cpu/mod.ts";
import type { EptMap } from "./ept_map.ts";
import {
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_EPT_MISCONFIG,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_PREEMPTION_TIMER,
} from "../vmx/exit_reasons.ts";

/** How a VM entry ended. */
export type VmEntryOutcome =
  /** The guest ran and exited with this basic exit reason (also in the VMCS). */
  | { kind: "exit"; reason: number }
  /** VMLAUNCH/VMRESUME failed (VMfailInvalid, VMfailValid with an error, or an entry failure). */
  | { kind: "fail"; result: VmEntryResult }
  /** A defect in the simulator (the message says which). */
  | { kind: "internal"; message: string };

const TWO32 = 4294967296;

/**
 * Whether an exit writes the guest-linear address field (SDM Vol. 3 §28.2.1): EPT violations with a
 * linear address, INS/OUTS, and LMSW with a memory operand.
 */
function definesLinearAddress(reason: number, qualification: number): boolean {
  if (reason === EXIT_REASON_EPT_VIOLATION) return true;
  if (reason === EXIT_REASON_IO_INSTRUCTION) return decodeIoQualification(qualification).string;
  if (reason === EXIT_REASON_CR_ACCESS) {
    const q = decodeCrAccessQualification(qualification);
    return q.accessType === CR_ACCESS_LMSW && q.lmswMemory;
  }
  return false;
}

function toSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function toUnsigned(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/** CR3-target values 0-3, the four hvsim advertises (IA32_VMX_MISC bits 24:16; SDM Vol. 3 §24.6.7). */
const CR3_TARGET_FIELDS = [
  F.CR3_TARGET_VALUE0,
  F.CR3_TARGET_VALUE1,
  F.CR3_TARGET_VALUE2,
  F.CR3_TARGET_VALUE3,
];

/** MSRs the VMCS guest-state area holds (the CPU keeps them in its MSR map). */
const MSR_PAT = 0x277, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;

/** One vCPU: the CPU, the VMX instructions, and the current VMCS. */
export class VmxVcpu {
  private launched = false;
  /** Preemption-timer budget left when the last exit happened (for the saved timer value). */
  private lastBudget = 0;

  private readonly noEpt: IdentityMap;

  /**
   * A vCPU driving `cpu` through VM entries and exits.
   *
   * @param cpu the processor
   * @param vmx the VMX instructions over host memory
   * @param ept the EPT walker (with the hypervisor's dirty log) used when "enable EPT" is set
   * @param ramBytes guest RAM size (without EPT, guest-physical accesses are bounded by it)
   */
  constructor(readonly cpu: Cpu, readonly vmx: Vmx, readonly ept: EptMap, ramBytes: number) {
    this.noEpt = new IdentityMap(0, ramBytes);
  }

  /** The current VMCS. */
  get vmcs(): Vmcs {
    const v = this.vmx.currentVmcs;
    if (v === undefined) throw new Error("no current VMCS (VMPTRLD first)");
    return v;
  }

  /** The current VMCS has been launched. */
  get isLaunched(): boolean {
    return this.launched;
  }

  /** Marks the VMCS launched or clear (after a restore). */
  setLaunched(on: boolean): void {
    this.launched = on;
  }

  /** Copies the CPU's state into the VMCS guest-state area (what a VM exit stores). */
  storeGuest(): void {
    const cpu = this.cpu, vmcs = this.vmcs;
    const g: GuestRegisterFile = readGuestState(vmcs);
    g.cr0 = BigInt(cpu.cr0 >>> 0);
    g.cr3 = BigInt(cpu.cr3);
    g.cr4 = BigInt(cpu.cr4 >>> 0);
    // DR7 is saved only with "save debug controls" (SDM Vol. 3 §27.3.1); DR0-DR3 and DR6 are not VMCS state.
    if ((vmcs.readNumber(F.VM_EXIT_CONTROLS) & EXIT_SAVE_DEBUG_CONTROLS) !== 0) g.dr7 = BigInt(cpu.dr7 >>> 0);
    g.rsp = cpu.getReg64(RSP);
    g.rip = cpu.getRip();
    g.rflags = BigInt(cpu.getRflags() >>> 0);
    for (let s = 0; s < 8; s++) {
      g.seg[s] = {
        selector: cpu.segSel[s],
        base: toUnsigned(cpu.segBase[s]),
        limit: cpu.segLimit[s] >>> 0,
        ar: cpu.segAr[s],
      };
    }
    g.gdtr = { base: toUnsigned(cpu.gdtrBase), limit: cpu.gdtrLimit };
    g.idtr = { base: toUnsigned(cpu.idtrBase), limit: cpu.idtrLimit };
    g.efer = BigInt(cpu.efer);
    g.pat = cpu.readMsr(MSR_PAT) ?? 0x0007040600070406n;
    g.sysenterCs = Number(cpu.readMsr(MSR_SYSENTER_CS) ?? 0n) & 0xffffffff;
    g.sysenterEsp = cpu.readMsr(MSR_SYSENTER_ESP) ?? 0n;
    g.sysenterEip = cpu.readMsr(MSR_SYSENTER_EIP) ?? 0n;
    g.activityState = cpu.halted ? ACTIVITY_HLT : ACTIVITY_ACTIVE;
    g.interruptibility = cpu.icount < cpu.shadowEnd
      ? (cpu.shadowMovSs ? INTERRUPTIBILITY_MOV_SS : INTERRUPTIBILITY_STI)
      : 0;
    writeGuestState(vmcs, g);
    // "IA-32e mode guest" follows EFER.LMA on exit (IA32_VMX_MISC bit 5).
    storeIa32eModeGuest(vmcs, BigInt(cpu.efer));
  }

  /** Loads the CPU from the VMCS guest-state area and its controls (what a VM entry loads). */
  loadGuest(): void {
    const cpu = this.cpu, vmcs = this.vmcs;
    const g = readGuestState(vmcs);
    const oldCr0 = cpu.cr0, oldCr3 = cpu.cr3, oldCr4 = cpu.cr4, oldEfer = cpu.efer, oldCpl = cpu.cpl;
    cpu.cr0 = Number(g.cr0 & 0xffffffffn);
    cpu.cr3 = Number(g.cr3);
    cpu.cr4 = Number(g.cr4 & 0xffffffffn);
    // DR7 comes from the VMCS with "load debug controls" (SDM Vol. 3 §26.3.2.1); without it, it is
    // what the last VM exit left there, 0x400 (SDM Vol. 3 §27.5.1).
    cpu.dr7 = (vmcs.readNumber(F.VM_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS) !== 0
      ? Number(g.dr7 & 0xffffffffn)
      : DR7_FIXED1;
    cpu.setReg64(RSP, g.rsp);
    cpu.setRip(g.rip);
    cpu.setRflags(Number(g.rflags & 0xffffffffn));
    for (let s = 0; s < 8; s++) {
      const seg = g.seg[s];
      cpu.segSel[s] = seg.selector;
      cpu.segBase[s] = s === SEG_FS || s === SEG_GS || s >= 6 ? toSigned(seg.base) : toSigned(seg.base);
      cpu.segLimit[s] = seg.limit;
      cpu.segAr[s] = seg.ar;
    }
    cpu.gdtrBase = toSigned(g.gdtr.base);
    cpu.gdtrLimit = g.gdtr.limit;
    cpu.idtrBase = toSigned(g.idtr.base);
    cpu.idtrLimit = g.idtr.limit;
    cpu.efer = Number(g.efer);
    cpu.writeMsr(MSR_PAT, g.pat);
    cpu.writeMsr(MSR_SYSENTER_CS, BigInt(g.sysenterCs));
    cpu.writeMsr(MSR_SYSENTER_ESP, g.sysenterEsp);
    cpu.writeMsr(MSR_SYSENTER_EIP, g.sysenterEip);
    cpu.cpl = (cpu.segAr[2] >>> 5) & 3; // CPL is SS.DPL (SDM Vol. 3 §26.3.1.5)
    cpu.halted = g.activityState === ACTIVITY_HLT;
    const blocking = g.interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
    cpu.shadowEnd = blocking !== 0 ? cpu.icount + 1 : 0;
    cpu.shadowMovSs = (blocking & INTERRUPTIBILITY_MOV_SS) !== 0;
    if (
      cpu.cr0 !== oldCr0 || cpu.cr3 !== oldCr3 || cpu.cr4 !== oldCr4 || cpu.efer !== oldEfer ||
      cpu.cpl !== oldCpl
    ) {
      cpu.flushTlb();
    }
    this.loadControls();
  }

  /** Sets the CPU's exit controls from the VM-execution controls (SDM Vol. 3 §25.1-25.3). */
  private loadControls(): void {
    const cpu = this.cpu, vmcs = this.vmcs, c = cpu.ctl;
    const proc = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
    const proc2 = (proc & PROC_ACTIVATE_SECONDARY_CONTROLS) !== 0
      ? vmcs.readNumber(F.SECONDARY_VM_EXEC_CONTROL)
      : 0;
    c.hltExiting = (proc & PROC_HLT_EXITING) !== 0;
    c.rdtscExiting = (proc & PROC_RDTSC_EXITING) !== 0;
    c.invlpgExiting = (proc & PROC_INVLPG_EXITING) !== 0;
    c.interruptWindowExiting = (proc & PROC_INTERRUPT_WINDOW_EXITING) !== 0;
    c.cr3LoadExiting = (proc & PROC_CR3_LOAD_EXITING) !== 0;
    c.movDrExiting = (proc & PROC_MOV_DR_EXITING) !== 0;
    c.cr3StoreExiting = (proc & PROC_CR3_STORE_EXITING) !== 0;
    const targets = Math.min(vmcs.readNumber(F.CR3_TARGET_COUNT), CR3_TARGET_FIELDS.length);
    c.cr3Targets = CR3_TARGET_FIELDS.slice(0, targets).map((f) => vmcs.read(f));
    c.cr8LoadExiting = (proc & PROC_CR8_LOAD_EXITING) !== 0;
    c.cr8StoreExiting = (proc & PROC_CR8_STORE_EXITING) !== 0;
    c.exceptionBitmap = vmcs.readNumber(F.EXCEPTION_BITMAP) >>> 0;
    // Guest/host masks and read shadows are natural-width: all 64 bits count (SDM Vol. 3 §24.6.6).
    const cr0Mask = vmcs.read(F.CR0_GUEST_HOST_MASK), cr4Mask = vmcs.read(F.CR4_GUEST_HOST_MASK);
    const cr0Shadow = vmcs.read(F.CR0_READ_SHADOW), cr4Shadow = vmcs.read(F.CR4_READ_SHADOW);
    c.cr0Mask = Number(cr0Mask & 0xffffffffn);
    c.cr0MaskHi = Number(cr0Mask >> 32n);
    c.cr4Mask = Number(cr4Mask & 0xffffffffn);
    c.cr4MaskHi = Number(cr4Mask >> 32n);
    c.cr0Shadow = Number(cr0Shadow & 0xffffffffn);
    c.cr0ShadowHi = Number(cr0Shadow >> 32n);
    c.cr4Shadow = Number(cr4Shadow & 0xffffffffn);
    c.cr4ShadowHi = Number(cr4Shadow >> 32n);
    c.rdrandExiting = (proc2 & PROC2_RDRAND_EXITING) !== 0;
    c.rdseedExiting = (proc2 & PROC2_RDSEED_EXITING) !== 0;
    // EPT: the walker latches the EPT pointer and the PML address and index at VM entry.
    const ept = this.ept;
    if ((proc2 & PROC2_ENABLE_EPT) !== 0) {
      const eptp = Number(vmcs.read(F.EPT_POINTER));
      if (cpu.phys !== ept || ept.eptp !== eptp) {
        ept.eptp = eptp;
        cpu.phys = ept;
        cpu.flushTlb();
      }
      ept.pml = (proc2 & PROC2_ENABLE_PML) !== 0
        ? { address: Number(vmcs.read(F.PML_ADDRESS)), index: vmcs.readNumber(F.GUEST_PML_INDEX) }
        : null;
    } else if (cpu.phys !== this.noEpt) {
      cpu.phys = this.noEpt;
      cpu.flushTlb();
    }
    if ((proc & PROC_USE_TSC_OFFSETTING) !== 0) cpu.tscOffset = toSigned(vmcs.read(F.TSC_OFFSET));
    const mem = this.vmx.mem;
    c.msrExit = (msr, write) => msrAccessExits(vmcs, mem, msr, write);
    c.ioExit = (port, size) => ioAccessExits(vmcs, mem, port, size);
    c.pfecMask = vmcs.readNumber(F.PAGE_FAULT_ERROR_CODE_MASK) >>> 0;
    c.pfecMatch = vmcs.readNumber(F.PAGE_FAULT_ERROR_CODE_MATCH) >>> 0;
    const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
    c.extIntExiting = (pin & PIN_EXTERNAL_INTERRUPT_EXITING) !== 0;
    c.ackIntOnExit = (vmcs.readNumber(F.VM_EXIT_CONTROLS) & EXIT_ACK_INTERRUPT_ON_EXIT) !== 0;
  }

  /**
   * VM entry (VMLAUNCH the first time, VMRESUME after), event injection, guest execution until
   * a VM exit, and the exit's bookkeeping in the VMCS.
   */
  enter(): VmEntryOutcome {
    const result = this.launched ? this.vmx.vmresume() : this.vmx.vmlaunch();
    if (!result.ok) return { kind: "fail", result };
    this.launched = true;
    const cpu = this.cpu, vmcs = this.vmcs;
    this.loadGuest();
    cpu.idtVectoring = 0;
    // Event injection (SDM Vol. 3 §26.6).
    const raw = vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD) >>> 0;
    const info = decodeInterruptionInfo(raw);
    if (info.valid) {
      vmcs.writeNumber(F.VM_ENTRY_INTR_INFO_FIELD, (raw & ~INTR_INFO_VALID) >>> 0);
      const r = cpu.inject(
        info.vector,
        info.type,
        info.errorCode,
        vmcs.readNumber(F.VM_ENTRY_EXCEPTION_ERROR_CODE) >>> 0,
        vmcs.readNumber(F.VM_ENTRY_INSTRUCTION_LEN),
      );
      if (r >= 0) return this.exit(r);
    }
    const pin = vmcs.readNumber(F.PIN_BASED_VM_EXEC_CONTROL);
    const timer = (pin & PIN_ACTIVATE_PREEMPTION_TIMER) !== 0;
    const budget = timer ? vmcs.readNumber(F.VMX_PREEMPTION_TIMER_VALUE) >>> 0 : 2 ** 40;
    if (timer && budget === 0) return this.exit(EXIT_REASON_PREEMPTION_TIMER, 0);
    const start = cpu.icount;
    const r = cpu.run(budget);
    this.lastBudget = budget - (cpu.icount - start);
    if (r === STOP_INTERNAL) return { kind: "internal", message: cpu.internalError };
    if (r === STOP_BUDGET) return this.exit(EXIT_REASON_PREEMPTION_TIMER, 0);
    return this.exit(r);
  }

  /** Records a VM exit in the VMCS: guest state, reason, qualification, exit information. */
  private exit(reason: number, insnLen = this.cpu.exitInsnLen): VmEntryOutcome {
    const cpu = this.cpu, vmcs = this.vmcs;
    cpu.extIntAt = Infinity; // a host interrupt is armed for one entry only
    this.storeGuest();
    const ept = reason === EXIT_REASON_EPT_VIOLATION || reason === EXIT_REASON_EPT_MISCONFIG;
    const event = reason === EXIT_REASON_EXCEPTION_NMI || reason === EXIT_REASON_EXTERNAL_INTERRUPT;
    recordVmExit(vmcs, {
      reason,
      qualification: reason === EXIT_REASON_PREEMPTION_TIMER ? 0n : toUnsigned(cpu.exitQual),
      instructionLength: insnLen,
      instructionInfo: cpu.exitInsnInfo >>> 0,
      // The guest-physical and guest-linear address fields are written only by the exits that
      // define them (SDM Vol. 3 §28.2.1); for the others they keep their old contents.
      guestPhysicalAddress: ept ? toUnsigned(cpu.exitGpa) : undefined,
      guestLinearAddress: definesLinearAddress(reason, cpu.exitQual) ? toUnsigned(cpu.exitGla) : undefined,
      interruption: {
        info: event ? cpu.exitIntrInfo >>> 0 : 0,
        errorCode: reason === EXIT_REASON_EXCEPTION_NMI ? cpu.exitIntrError >>> 0 : 0,
      },
      idtVectoring: { info: cpu.idtVectoring >>> 0, errorCode: cpu.idtVectoringError >>> 0 },
    });
    if (this.ept.pml !== null && cpu.phys === this.ept) {
      vmcs.writeNumber(F.GUEST_PML_INDEX, this.ept.pml.index);
    }
    if ((vmcs.readNumber(F.VM_EXIT_CONTROLS) & EXIT_SAVE_PREEMPTION_TIMER) !== 0) {
      vmcs.writeNumber(
        F.VMX_PREEMPTION_TIMER_VALUE,
        reason === EXIT_REASON_PREEMPTION_TIMER ? 0 : this.lastBudget,
      );
    }
    return { kind: "exit", reason };
  }

  /** Guest RIP from the VMCS. */
  rip(): bigint {
    return this.vmcs.read(F.GUEST_RIP);
  }

  /** Completes the instruction that exited: RIP += the exit's instruction length; it retires. */
  skipInstruction(): void {
    const vmcs = this.vmcs;
    const len = vmcs.readNumber(F.VM_EXIT_INSTRUCTION_LEN);
    vmcs.write(F.GUEST_RIP, BigInt.asUintN(64, vmcs.read(F.GUEST_RIP) + BigInt(len)));
    // An emulated instruction ends any STI / MOV SS blocking, as executing it would.
    const intr = vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO);
    if ((intr & 3) !== 0) vmcs.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, intr & ~3);
    this.cpu.icount++;
  }

  /** Queues an event for the next VM entry (VM-entry interruption information, SDM Vol. 3 §24.8.3). */
  injectEvent(vector: number, type: number, errorCode?: number, insnLen = 0): void {
    const vmcs = this.vmcs;
    const info = encodeInterruptionInfo({
      vector,
      type,
      errorCode: errorCode !== undefined,
      nmiUnblocking: false,
      valid: true,
    });
    if (errorCode !== undefined) vmcs.writeNumber(F.VM_ENTRY_EXCEPTION_ERROR_CODE, errorCode);
    vmcs.writeNumber(F.VM_ENTRY_INTR_INFO_FIELD, info);
    vmcs.writeNumber(F.VM_ENTRY_INSTRUCTION_LEN, insnLen);
  }

  /** The guest can take an external interrupt now (RFLAGS.IF and no STI/MOV SS blocking, from the VMCS). */
  interruptible(): boolean {
    const vmcs = this.vmcs;
    return (Number(vmcs.read(F.GUEST_RFLAGS) & 0x200n) !== 0) &&
      (vmcs.readNumber(F.GUEST_INTERRUPTIBILITY_INFO) & 3) === 0 &&
      (vmcs.readNumber(F.VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID) === 0;
  }

  /** Sets or clears a bit of the primary processor-based controls. */
  setProcControl(bit: number, on: boolean): void {
    const vmcs = this.vmcs;
    const v = vmcs.readNumber(F.CPU_BASED_VM_EXEC_CONTROL);
    vmcs.writeNumber(F.CPU_BASED_VM_EXEC_CONTROL, on ? v | bit : v & ~bit);
  }
}

export { TWO32 as _TWO32 };

/**
 * System instructions: I/O, CPUID, HLT, RDTSC(P), RDMSR/WRMSR, MOV to/from control, debug
 * and segment registers, descriptor tables (LGDT/LIDT/SGDT/SIDT/LTR/LLDT/STR/SLDT), INVLPG,
 * SWAPGS, SYSCALL/SYSRET, IRETQ, CLI/STI, WBINVD/INVD, CLTS, RDRAND/RDSEED, VMCALL.
 * Instructions that need the hypervisor stop the CPU with their VM exit (SDM Vol. 3 ch. 25).
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { EXIT_REASON_DR_ACCESS } from "../../vmx/exit_reasons.ts";
import { encodeDrAccessQualification } from "../../vmx/qualifications.ts";
import {
  ARITH_FLAGS,
  CF,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR4_DE,
  CR4_PAE,
  CR4_PGE,
  DR6_BD,
  DR6_FIXED1,
  DR6_WRITABLE,
  DR7_FIXED1,
  DR7_GD,
  DR7_WRITABLE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  EXC_DB,
  IF,
  IOPL,
  NT,
  RCX,
  RDX,
  RF,
  RFLAGS_WRITABLE,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_TR,
  VIF,
  VIP,
} from "../registers.ts";
import { pop, readE, rspLinear, setRsp, writeE } from "./_operands.ts";
import {
  CR_ACCESS_CLTS,
  CR_ACCESS_LMSW,
  CR_ACCESS_MOV_FROM_CR,
  CR_ACCESS_MOV_TO_CR,
  encodeCrAccessQualification,
  encodeIoQualification,
  encodeRandomInstructionInfo,
} from "../../vmx/qualifications.ts";
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_HLT,
  EXIT_REASON_INVLPG,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_RDRAND,
  EXIT_REASON_RDSEED,
  EXIT_REASON_RDTSC,
  EXIT_REASON_RDTSCP,
  EXIT_REASON_VMCALL,
} from "../../vmx/exit_reasons.ts";

const TWO32 = 4294967296;

function cpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.gp0();
}

function ioAllowed(cpu: Cpu): void {
  if (cpu.cpl > ((cpu.fl.rf & IOPL) >>> 12)) cpu.gp0();
}

/** IN AL/eAX, Ib|DX and OUT Ib|DX, AL/eAX (e4..e7, ec..ef): `op` bit 0 = OUT, bit 1 = port in DX. */
export function io(cpu: Cpu, i: Insn): void {
  ioAllowed(cpu);
  const out = (i.op & 1) !== 0;
  const dx = (i.op & 2) !== 0;
  const port = dx ? cpu.gpr[2 * RDX] & 0xffff : i.imm & 0xff;
  const size = i.size === 1 ? 1 : i.size === 2 ? 2 : 4;
  const ports = cpu.ports;
  if (ports !== null && !cpu.ctl.ioExit(port, size)) {
    // The I/O bitmaps let this access through: it goes to the device without the hypervisor.
    const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    if (out) ports.write(port, size, (cpu.gpr[0] & mask) >>> 0);
    else cpu.writeReg(size, 0, ports.read(port, size) & mask, 0);
    return;
  }
  cpu.exitInsnInfo = 0;
  cpu.vmExit(
    EXIT_REASON_IO_INSTRUCTION,
    encodeIoQualification({ size, in: !out, string: false, rep: false, immediate: !dx, port }),
  );
}

/** CPUID (0f a2): always exits in VMX non-root operation. */
export function cpuid(cpu: Cpu, _i: Insn): void {
  cpu.vmExit(EXIT_REASON_CPUID);
}

/** HLT (f4). */
export function hlt(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
  if (cpu.ctl.hltExiting) cpu.vmExit(EXIT_REASON_HLT);
  cpu.halted = true;
  cpu.brk = true;
}

/** RDTSC (0f 31): EDX:EAX = TSC (virtual time: retired instructions + offset). */
export function rdtsc(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr4 & 4) !== 0 && cpu.cpl !== 0) cpu.gp0();
  if (cpu.ctl.rdtscExiting) cpu.vmExit(EXIT_REASON_RDTSC);
  const t = cpu.icount + cpu.tscOffset;
  cpu.writeReg(4, 0, t >>> 0, 0);
  cpu.writeReg(4, RDX, Math.floor(t / TWO32) >>> 0, 0);
}

/** RDTSCP (0f 01 f9): RDTSC plus ECX = IA32_TSC_AUX. */
export function rdtscp(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr4 & 4) !== 0 && cpu.cpl !== 0) cpu.gp0();
  if (cpu.ctl.rdtscExiting) cpu.vmExit(EXIT_REASON_RDTSCP);
  const t = cpu.icount + cpu.tscOffset;
  cpu.writeReg(4, 0, t >>> 0, 0);
  cpu.writeReg(4, RDX, Math.floor(t / TWO32) >>> 0, 0);
  cpu.writeReg(4, RCX, Number((cpu.msrs.get(0xc0000103) ?? 0n) & 0xffffffffn), 0);
}

/** RDMSR (0f 32). */
export function rdmsr(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
  const msr = cpu.gpr[2 * RCX];
  if (cpu.ctl.msrExit(msr, false)) cpu.vmExit(EXIT_REASON_MSR_READ);
  const v = cpu.readMsr(msr);
  if (v === undefined) cpu.gp0();
  cpu.writeReg(4, 0, Number(v & 0xffffffffn), 0);
  cpu.writeReg(4, RDX, Number(v >> 32n), 0);
}

/** WRMSR (0f 30). */
export function wrmsr(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
  const msr = cpu.gpr[2 * RCX];
  if (cpu.ctl.msrExit(msr, true)) cpu.vmExit(EXIT_REASON_MSR_WRITE);
  const v = (BigInt(cpu.gpr[2 * RDX]) << 32n) | BigInt(cpu.gpr[0]);
  if (!cpu.writeMsr(msr, v)) cpu.gp0();
  cpu.brk = true;
}

/** The exit qualification of a MOV CR or CLTS exit (the register number of `rm`, no LMSW fields). */
function crQualification(cr: number, accessType: number, rm: number): number {
  return encodeCrAccessQualification({ cr, accessType, lmswMemory: false, gpr: rm & 15, lmswData: 0 });
}

/** MOV r64, CRn (0f 20). */
export function movFromCr(cpu: Cpu, i: Insn): void {
  cpl0(cpu);
  const cr = i.reg;
  const c = cpu.ctl;
  let v: number;
  switch (cr) {
    case 0:
      // Bits the host owns read from the shadow, the others from CR0, whose bits 63:32 are 0.
      cpu.writeReg(
        8,
        i.rm,
        ((cpu.cr0 & ~c.cr0Mask) | (c.cr0Shadow & c.cr0Mask)) >>> 0,
        (c.cr0ShadowHi & c.cr0MaskHi) >>> 0,
      );
      return;
    case 2:
      v = cpu.cr2;
      break;
    case 3:
      if (c.cr3StoreExiting) {
        cpu.vmExit(EXIT_REASON_CR_ACCESS, crQualification(3, CR_ACCESS_MOV_FROM_CR, i.rm));
      }
      v = cpu.cr3;
      break;
    case 4:
      cpu.writeReg(
        8,
        i.rm,
        ((cpu.cr4 & ~c.cr4Mask) | (c.cr4Shadow & c.cr4Mask)) >>> 0,
        (c.cr4ShadowHi & c.cr4MaskHi) >>> 0,
      );
      return;
    case 8:
      if (c.cr8StoreExiting) {
        cpu.vmExit(EXIT_REASON_CR_ACCESS, crQualification(8, CR_ACCESS_MOV_FROM_CR, i.rm));
      }
      v = cpu.cr8;
      break;
    default:
      return cpu.ud();
  }
  cpu.writeReg(8, i.rm, v >>> 0, Math.floor(v / TWO32) >>> 0);
}

/** MOV CRn, r64 (0f 22). */
export function movToCr(cpu: Cpu, i: Insn): void {
  cpl0(cpu);
  const cr = i.reg;
  const lo = cpu.gpr[2 * i.rm], hi = cpu.gpr[2 * i.rm + 1];
  const c = cpu.ctl;
  const qual = crQualification(cr, CR_ACCESS_MOV_TO_CR, i.rm);
  switch (cr) {
    case 0: {
      // The mask test (all 64 bits) comes before the #GP for reserved bits: only the faults of
      // SDM Vol. 3 §25.1.1 (here CPL > 0) take priority over the VM exit.
      if ((((lo ^ c.cr0Shadow) & c.cr0Mask) | ((hi ^ c.cr0ShadowHi) & c.cr0MaskHi)) !== 0) {
        cpu.vmExit(EXIT_REASON_CR_ACCESS, qual);
      }
      if (hi !== 0) cpu.gp0();
      const v = ((lo & ~c.cr0Mask) | (cpu.cr0 & c.cr0Mask)) >>> 0;
      if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) cpu.gp0();
      if ((v & 0x60000000) === 0x20000000) cpu.gp0(); // NW without CD
      if ((cpu.efer & EFER_LME) !== 0 && (v & CR0_PG) !== 0 && (cpu.cr4 & CR4_PAE) === 0) cpu.gp0();
      if ((cpu.cr0 & CR0_PG) !== 0 && (v & CR0_PG) === 0 && (cpu.segAr[SEG_CS] & 0x2000) !== 0) cpu.gp0();
      cpu.cr0 = v | 0x10;
      if ((cpu.efer & EFER_LME) !== 0 && (v & CR0_PG) !== 0) cpu.efer |= EFER_LMA;
      else cpu.efer &= ~EFER_LMA;
      cpu.flushTlb();
      break;
    }
    case 2:
      // CR2 holds a linear address; a non-canonical value keeps its top 53 significant bits.
      cpu.cr2 = Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
      break;
    case 3: {
      if (c.cr3LoadExiting && !c.cr3Targets.includes((BigInt(hi) << 32n) | BigInt(lo))) {
        cpu.vmExit(EXIT_REASON_CR_ACCESS, qual);
      }
      if ((hi & 0xfff00000) !== 0) cpu.gp0();
      cpu.loadCr3(hi * TWO32 + lo);
      break;
    }
    case 4: {
      if ((((lo ^ c.cr4Shadow) & c.cr4Mask) | ((hi ^ c.cr4ShadowHi) & c.cr4MaskHi)) !== 0) {
        cpu.vmExit(EXIT_REASON_CR_ACCESS, qual);
      }
      if (hi !== 0) cpu.gp0();
      const v = ((lo & ~c.cr4Mask) | (cpu.cr4 & c.cr4Mask)) >>> 0;
      if ((v & ~cpu.cr4Allowed) !== 0) cpu.gp0();
      if ((cpu.efer & EFER_LMA) !== 0 && (v & CR4_PAE) === 0) cpu.gp0();
      const flush = ((v ^ cpu.cr4) & (CR4_PGE | CR4_PAE | 0x10)) !== 0;
      cpu.cr4 = v;
      if (flush) cpu.flushTlb();
      break;
    }
    case 8:
      if (c.cr8LoadExiting) cpu.vmExit(EXIT_REASON_CR_ACCESS, qual);
      if (hi !== 0 || lo > 15) cpu.gp0();
      cpu.cr8 = lo;
      break;
    default:
      cpu.ud();
  }
  cpu.brk = true;
}

/**
 * The checks MOV to and from a debug register make before it moves anything (SDM Vol. 2 "MOV-Move
 * to/from Debug Registers", Vol. 3 §17.2, §25.1.3), in order: the VM exit when "MOV-DR exiting" is
 * set (it takes priority over the #GP for CPL > 0 and the #UD for DR4/DR5 with CR4.DE set); #UD for
 * DR8-DR15 (REX.R) or DR4/DR5 with CR4.DE; #GP(0) at CPL > 0; #DB (DR6.BD) while DR7.GD is set.
 * @returns the debug register to use: 0-3, 6 or 7 (DR4/DR5 alias DR6/DR7 with CR4.DE clear)
 */
function debugRegister(cpu: Cpu, i: Insn, fromDr: boolean): number {
  if (i.reg > 7) cpu.ud();
  if (cpu.ctl.movDrExiting) {
    cpu.vmExit(EXIT_REASON_DR_ACCESS, encodeDrAccessQualification({ dr: i.reg, fromDr, gpr: i.rm & 15 }));
  }
  let dr = i.reg;
  if (dr === 4 || dr === 5) {
    if ((cpu.cr4 & CR4_DE) !== 0) cpu.ud();
    dr += 2;
  }
  cpl0(cpu);
  if ((cpu.dr7 & DR7_GD) !== 0) {
    cpu.dbPending = DR6_BD;
    cpu.fault(EXC_DB, false, 0);
  }
  return dr;
}

/** MOV r64, DRn (0f 21): DR0-DR3 as stored, DR6 and DR7 zero-extended. */
export function movFromDr(cpu: Cpu, i: Insn): void {
  const dr = debugRegister(cpu, i, true);
  if (dr < 4) cpu.writeReg(8, i.rm, cpu.dr[2 * dr], cpu.dr[2 * dr + 1]);
  else cpu.writeReg(8, i.rm, dr === 6 ? cpu.dr6 : cpu.dr7, 0);
}

/**
 * MOV DRn, r64 (0f 23): DR0-DR3 take all 64 bits; DR6 and DR7 raise #GP(0) for a 1 in bits
 * 63:32 and keep their fixed bits (SDM Vol. 3 §17.2.3-17.2.4).
 */
export function movToDr(cpu: Cpu, i: Insn): void {
  const dr = debugRegister(cpu, i, false);
  const lo = cpu.gpr[2 * i.rm], hi = cpu.gpr[2 * i.rm + 1];
  if (dr < 4) {
    cpu.dr[2 * dr] = lo;
    cpu.dr[2 * dr + 1] = hi;
    return;
  }
  if (hi !== 0) cpu.gp0();
  if (dr === 6) cpu.dr6 = ((lo & DR6_WRITABLE) | DR6_FIXED1) >>> 0;
  else cpu.dr7 = ((lo & DR7_WRITABLE) | DR7_FIXED1) >>> 0;
}

/** CLTS (0f 06). */
export function clts(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
  if ((cpu.ctl.cr0Mask & CR0_TS) !== 0 && (cpu.ctl.cr0Shadow & CR0_TS) !== 0) {
    cpu.vmExit(EXIT_REASON_CR_ACCESS, crQualification(0, CR_ACCESS_CLTS, 0));
  }
  cpu.cr0 &= ~CR0_TS;
}

/** The CR0 value a guest reads: host-owned bits (the CR0 guest/host mask) from the read shadow. */
function cr0AsRead(cpu: Cpu): number {
  const c = cpu.ctl;
  return ((cpu.cr0 & ~c.cr0Mask) | (c.cr0Shadow & c.cr0Mask)) >>> 0;
}

/**
 * SMSW Ew (0f 01 /4): the machine status word, CR0 as the guest reads it (host-owned bits from the
 * read shadow). A memory destination takes bits 15:0; a register takes as many bits of CR0 as its
 * size (SDM Vol. 2 SMSW; CR0 bits 63:32 are 0). Not privileged (hvsim has no CR4.UMIP).
 */
export function smsw(cpu: Cpu, i: Insn): void {
  const v = cr0AsRead(cpu);
  if (i.mem) cpu.write(cpu.linear(i), 2, v & 0xffff, 0);
  else cpu.writeReg(i.size, i.rm, i.size === 2 ? v & 0xffff : v, 0);
}

/**
 * LMSW Ew (0f 01 /6): loads CR0 bits 3:0 (PE, MP, EM, TS) from the source; PE can be set but not
 * cleared (SDM Vol. 2 LMSW). CPL 0 only. In VMX non-root operation it exits when a host-owned bit
 * of 3:0 would differ from the read shadow, or PE is host-owned, clear in the shadow and set in the
 * source (SDM Vol. 3 §26.1.3), with the LMSW exit qualification (Table 28-3).
 */
export function lmsw(cpu: Cpu, i: Insn): void {
  cpl0(cpu);
  const lin = i.mem ? cpu.linear(i) : 0;
  const src = i.mem ? cpu.read(lin, 2) : cpu.readReg(2, i.rm);
  const c = cpu.ctl;
  const m = c.cr0Mask & 0xf;
  if (
    ((src ^ c.cr0Shadow) & m & 0xe) !== 0 || ((m & 1) !== 0 && (c.cr0Shadow & 1) === 0 && (src & 1) !== 0)
  ) {
    if (i.mem) cpu.exitGla = lin;
    cpu.vmExit(
      EXIT_REASON_CR_ACCESS,
      encodeCrAccessQualification({
        cr: 0,
        accessType: CR_ACCESS_LMSW,
        lmswMemory: i.mem,
        gpr: 0, // bits 11:8 name MOV CR's register only
        lmswData: src & 0xffff,
      }),
    );
  }
  // Host-owned bits keep their value; PE stays set once set.
  const bits = (src & 0xf & ~m) | (cpu.cr0 & 1);
  cpu.cr0 = ((cpu.cr0 & ~(0xe & ~m)) | bits) >>> 0;
  cpu.brk = true;
}

/** MOV Ew, Sreg (8c). */
export function movFromSeg(cpu: Cpu, i: Insn): void {
  if ((i.reg & 7) > 5) cpu.ud();
  const v = cpu.segSel[i.reg & 7];
  if (i.mem) cpu.write(cpu.linear(i), 2, v, 0);
  else cpu.writeReg(i.size === 8 ? 8 : i.size === 4 ? 4 : 2, i.rm, v, 0);
}

/** MOV Sreg, Ew (8e): not CS; MOV SS blocks interrupts for one instruction. */
export function movToSeg(cpu: Cpu, i: Insn): void {
  const s = i.reg & 7;
  if (s === SEG_CS || s > 5) cpu.ud();
  const sel = i.mem ? cpu.read(cpu.linear(i), 2) : cpu.readReg(2, i.rm);
  cpu.loadDataSegment(s, sel);
  if (s === SEG_SS) {
    cpu.shadowEnd = cpu.icount + 2;
    cpu.shadowMovSs = true;
    cpu.brk = true;
  }
}

/** Group 7 memory forms: SGDT /0, SIDT /1, LGDT /2, LIDT /3, INVLPG /7 (`op`). */
export function descriptorTable(cpu: Cpu, i: Insn): void {
  const lin = cpu.linear(i);
  switch (i.op) {
    case 0:
    case 1: {
      const base = i.op === 0 ? cpu.gdtrBase : cpu.idtrBase;
      const limit = i.op === 0 ? cpu.gdtrLimit : cpu.idtrLimit;
      cpu.write(lin, 2, limit, 0);
      cpu.write(lin + 2, 8, base >>> 0, Math.floor(base / TWO32) >>> 0);
      return;
    }
    case 2:
    case 3: {
      cpl0(cpu);
      const limit = cpu.read(lin, 2);
      const lo = cpu.read(lin + 2, 8);
      const base = cpu.canonical(lo, cpu.hi);
      if (i.op === 2) {
        cpu.gdtrBase = base;
        cpu.gdtrLimit = limit;
      } else {
        cpu.idtrBase = base;
        cpu.idtrLimit = limit;
      }
      cpu.brk = true;
      return;
    }
    default:
      cpl0(cpu);
      if (cpu.ctl.invlpgExiting) {
        cpu.exitGla = lin;
        cpu.vmExit(EXIT_REASON_INVLPG, lin);
      }
      cpu.invalidatePage(lin);
      cpu.brk = true;
  }
}

/** Group 6: SLDT /0, STR /1, LLDT /2, LTR /3 (`op`). */
export function segmentTable(cpu: Cpu, i: Insn): void {
  if (i.op <= 1) {
    const v = cpu.segSel[i.op === 0 ? SEG_LDTR : SEG_TR];
    if (i.mem) cpu.write(cpu.linear(i), 2, v, 0);
    else cpu.writeReg(i.size === 8 ? 8 : i.size === 4 ? 4 : 2, i.rm, v, 0);
    return;
  }
  cpl0(cpu);
  const sel = i.mem ? cpu.read(cpu.linear(i), 2) : cpu.readReg(2, i.rm);
  cpu.loadSystemSegment(i.op === 2 ? SEG_LDTR : SEG_TR, sel);
  cpu.brk = true;
}

/** SWAPGS (0f 01 f8). */
export function swapgs(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
  const t = cpu.segBase[SEG_GS];
  cpu.segBase[SEG_GS] = cpu.kernelGsBase;
  cpu.kernelGsBase = t;
}

/** VMCALL (0f 01 c1): a hypercall; exits to the hypervisor. */
export function vmcall(cpu: Cpu, _i: Insn): void {
  cpu.vmExit(EXIT_REASON_VMCALL);
}

/** SYSCALL (0f 05), 64-bit mode (SDM Vol. 2 SYSCALL). */
export function syscall(cpu: Cpu, _i: Insn): void {
  if ((cpu.efer & EFER_SCE) === 0) cpu.ud();
  const star = cpu.msrs.get(0xc0000081) ?? 0n;
  const lstar = cpu.msrs.get(0xc0000082) ?? 0n;
  const fmask = Number((cpu.msrs.get(0xc0000084) ?? 0n) & 0xffffffffn);
  const sel = Number((star >> 32n) & 0xffffn);
  const flags = cpu.fl.get();
  const next = cpu.nrip;
  cpu.writeReg(8, RCX, next >>> 0, Math.floor(next / TWO32) >>> 0);
  cpu.writeReg(8, 11, flags, 0);
  cpu.fl.put(flags & ~fmask & ~RF);
  cpu.segSel[SEG_CS] = sel & 0xfffc;
  cpu.segBase[SEG_CS] = 0;
  cpu.segLimit[SEG_CS] = 0xffffffff;
  cpu.segAr[SEG_CS] = 0xa09b;
  cpu.segSel[SEG_SS] = (sel + 8) & 0xfffc;
  cpu.segBase[SEG_SS] = 0;
  cpu.segLimit[SEG_SS] = 0xffffffff;
  cpu.segAr[SEG_SS] = 0xc093;
  cpu.nrip = Number(BigInt.asIntN(64, lstar));
  cpu.setCpl(0);
  cpu.brk = true;
}

/** SYSRET with REX.W (48 0f 07): return to 64-bit user mode. */
export function sysret(cpu: Cpu, i: Insn): void {
  if ((cpu.efer & EFER_SCE) === 0) cpu.ud();
  cpl0(cpu);
  if (i.size !== 8) cpu.ud(); // returning to compatibility mode is not supported
  const g = cpu.gpr;
  const t = cpu.canonical(g[2 * RCX], g[2 * RCX + 1]);
  const star = cpu.msrs.get(0xc0000081) ?? 0n;
  const sel = Number((star >> 48n) & 0xffffn);
  cpu.fl.put((g[2 * 11] & 0x3c7fd7) | 2);
  cpu.segSel[SEG_CS] = ((sel + 16) & 0xfffc) | 3;
  cpu.segBase[SEG_CS] = 0;
  cpu.segLimit[SEG_CS] = 0xffffffff;
  cpu.segAr[SEG_CS] = 0xa0fb;
  cpu.segSel[SEG_SS] = ((sel + 8) & 0xfffc) | 3;
  cpu.segAr[SEG_SS] = 0xc0f3;
  cpu.nrip = t;
  cpu.setCpl(3);
  cpu.brk = true;
}

/**
 * IRET/IRETQ (cf, 48 cf) in 64-bit mode: pops RIP, CS, RFLAGS, RSP and SS (SDM Vol. 2 IRET,
 * IA-32e mode). Every check happens before any state changes, so a fault leaves the frame
 * in place. Returning to a 32-bit code segment (compatibility mode) is not supported: #GP.
 */
export function iret(cpu: Cpu, i: Insn): void {
  // A nested-task return (NT = 1) does not exist in IA-32e mode: #GP(0) (SDM Vol. 2 IRET).
  if ((cpu.fl.rf & NT) !== 0) cpu.gp0();
  const size = i.size === 8 ? 8 : i.size === 2 ? 2 : 4;
  const sp = rspLinear(cpu, 0);
  const ripLo = cpu.read(sp, size), ripHi = size === 8 ? cpu.hi : 0;
  const cs = cpu.read(sp + size, 2);
  const fl = cpu.read(sp + 2 * size, size === 2 ? 2 : 4);
  const rspLo = cpu.read(sp + 3 * size, size), rspHi = size === 8 ? cpu.hi : 0;
  const ss = cpu.read(sp + 4 * size, 2);
  const rpl = returnCodeSegmentChecks(cpu, cs);
  const ar = cpu.codeSegmentAr(cs, 0);
  returnDplCheck(cpu, cs, ar);
  const t = cpu.canonical(ripLo, ripHi);
  const newRsp = cpu.canonical(rspLo, rspHi);
  cpu.loadDataSegment(SEG_SS, ss, rpl); // the last check; it changes SS only when it succeeds
  const cur = cpu.fl.get();
  // IOPL, VIF and VIP change only at CPL 0; IF only when CPL <= IOPL (SDM Vol. 2 IRET).
  let mask = RFLAGS_WRITABLE;
  if (cpu.cpl > 0) mask &= ~(IOPL | VIF | VIP);
  if (cpu.cpl > ((cur & IOPL) >>> 12)) mask &= ~IF;
  if (size === 2) mask &= 0xffff;
  cpu.fl.put(((cur & ~mask) | (fl & mask)) >>> 0);
  setCodeSegment(cpu, cs, ar);
  setRsp(cpu, newRsp);
  cpu.nrip = t;
  if (rpl > cpu.cpl) cpu.nullInaccessibleSegments(rpl);
  cpu.setCpl(rpl);
  cpu.brk = true;
}

/**
 * RET far (cb, ca iw; REX.W for 64-bit offsets): pops RIP and CS, and RSP and SS too when
 * returning to an outer privilege level; the immediate is added to both stack pointers
 * (SDM Vol. 2 RET, IA-32e mode).
 */
export function retFar(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const sp = rspLinear(cpu, 0);
  const ipLo = cpu.read(sp, size), ipHi = size === 8 ? cpu.hi : 0;
  const cs = cpu.read(sp + size, 2);
  const rpl = returnCodeSegmentChecks(cpu, cs);
  const ar = cpu.codeSegmentAr(cs, 0);
  returnDplCheck(cpu, cs, ar);
  const t = cpu.canonical(ipLo, ipHi);
  let newSp = sp + 2 * size + i.imm;
  if (rpl > cpu.cpl) {
    const rspLo = cpu.read(newSp, size), rspHi = size === 8 ? cpu.hi : 0;
    const ss = cpu.read(newSp + size, 2);
    const outer = cpu.canonical(rspLo, rspHi);
    cpu.loadDataSegment(SEG_SS, ss, rpl);
    newSp = outer + i.imm;
    cpu.nullInaccessibleSegments(rpl);
  }
  setCodeSegment(cpu, cs, ar);
  setRsp(cpu, newSp);
  cpu.nrip = t;
  cpu.setCpl(rpl);
  cpu.brk = true;
}

/**
 * JMP far m16:16/m16:32/m16:64 (ff /5) and CALL far (ff /3; `op` 1 for CALL): the offset, then the
 * selector, from memory; REX.W makes the offset 64 bits (SDM Vol. 2 JMP, CALL, IA-32e mode). The
 * selector must name a 64-bit code segment in the GDT: conforming with DPL <= CPL, or non-conforming
 * with RPL <= CPL and DPL = CPL (else #GP(selector); null #GP(0); not present #NP(selector)); the
 * CPL does not change and CS.RPL becomes the CPL. Call gates, task gates and TSS selectors, which
 * 64-bit Linux does not use, raise #GP(selector). A CALL pushes CS, then the return RIP, each of the
 * operand size. Every check and read happens before anything changes.
 */
export function farIndirect(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const lin = cpu.linear(i);
  const offLo = cpu.read(lin, size), offHi = size === 8 ? cpu.hi : 0;
  const sel = cpu.read(lin + size, 2);
  if ((sel & 0xfffc) === 0) cpu.gp0();
  const ar = cpu.codeSegmentAr(sel, 0);
  const dpl = (ar >>> 5) & 3, cpl = cpu.cpl;
  if ((ar & 4) !== 0 ? dpl > cpl : (sel & 3) > cpl || dpl !== cpl) cpu.fault(13, true, sel & 0xfffc);
  const t = cpu.canonical(offLo, offHi);
  const cs = (sel & 0xfffc) | cpl;
  if (i.op === 1) {
    const sp = rspLinear(cpu, -2 * size);
    cpu.probeWrite(sp, 2 * size);
    const next = cpu.nrip;
    cpu.write(sp + size, size, cpu.segSel[SEG_CS], 0);
    cpu.write(sp, size, next >>> 0, size === 8 ? Math.floor(next / TWO32) >>> 0 : 0);
    setRsp(cpu, sp);
  }
  setCodeSegment(cpu, cs, ar);
  cpu.nrip = size === 8 ? t : size === 4 ? offLo >>> 0 : offLo & 0xffff;
  cpu.brk = true;
}

/** A return's CS must be non-null and not more privileged than the CPL; returns its RPL. */
function returnCodeSegmentChecks(cpu: Cpu, cs: number): number {
  if ((cs & 0xfffc) === 0) cpu.gp0();
  const rpl = cs & 3;
  if (rpl < cpu.cpl) cpu.fault(13, true, cs & 0xfffc);
  return rpl;
}

/** Non-conforming code: DPL = RPL; conforming: DPL <= RPL. */
function returnDplCheck(cpu: Cpu, cs: number, ar: number): void {
  const dpl = (ar >>> 5) & 3, rpl = cs & 3;
  if ((ar & 4) !== 0 ? dpl > rpl : dpl !== rpl) cpu.fault(13, true, cs & 0xfffc);
}

function setCodeSegment(cpu: Cpu, cs: number, ar: number): void {
  cpu.segSel[SEG_CS] = cs;
  cpu.segAr[SEG_CS] = ar;
  cpu.segBase[SEG_CS] = 0;
  cpu.segLimit[SEG_CS] = 0xffffffff;
}

/** CLI (fa). */
export function cli(cpu: Cpu, _i: Insn): void {
  ioAllowed(cpu);
  cpu.fl.rf &= ~IF;
}

/** STI (fb): interrupts stay blocked until the next instruction has completed. */
export function sti(cpu: Cpu, _i: Insn): void {
  ioAllowed(cpu);
  if ((cpu.fl.rf & IF) === 0) {
    cpu.shadowEnd = cpu.icount + 2;
    cpu.shadowMovSs = false;
  }
  cpu.fl.rf |= IF;
  cpu.brk = true;
}

/** WBINVD (0f 09), INVD (0f 08): caches are not simulated, so only the privilege check remains. */
export function wbinvd(cpu: Cpu, _i: Insn): void {
  cpl0(cpu);
}

/**
 * RDRAND (0f c7 /6) and RDSEED (0f c7 /7), register forms. With "RDRAND exiting" / "RDSEED
 * exiting" set they exit (SDM Vol. 3 §25.1.3) and the hypervisor supplies the value; otherwise
 * the destination gets bits from {@linkcode Cpu.entropy}, CF = 1, and OF, SF, ZF, AF, PF = 0
 * (SDM Vol. 2 RDRAND, RDSEED).
 */
export function rdrand(cpu: Cpu, i: Insn): void {
  const seed = i.op === 7;
  if (seed ? cpu.ctl.rdseedExiting : cpu.ctl.rdrandExiting) {
    cpu.exitInsnInfo = encodeRandomInstructionInfo({
      reg: i.rm,
      size: i.size === 2 ? 2 : i.size === 4 ? 4 : 8,
    });
    cpu.vmExit(seed ? EXIT_REASON_RDSEED : EXIT_REASON_RDRAND);
  }
  if (cpu.entropy === null) {
    throw new Error("RDRAND/RDSEED without exiting need an entropy source (Cpu.entropy)");
  }
  const v = cpu.entropy(seed);
  cpu.writeReg(i.size, i.rm, Number(v & 0xffffffffn), Number(v >> 32n));
  cpu.fl.putArith(ARITH_FLAGS, CF);
}

export { EFER_NXE, pop, readE, SEG_DS, SEG_ES, SEG_FS, writeE };

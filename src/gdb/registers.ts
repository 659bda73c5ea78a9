/**
 * Reading and writing a stopped guest's registers in the target description's numbering. While the
 * guest is stopped the VMCS guest-state area holds RIP, RSP, RFLAGS, the segment registers, CR0,
 * CR3, CR4 and EFER (the hypervisor may have moved RIP there after an exit it emulated); the other
 * general registers, CR2, CR8 and the x87/SSE state live in the CPU (src/vm/vcpu.ts).
 *
 * @module
 */

import { MXCSR_MASK, RSP } from "../cpu/mod.ts";
import type { Machine } from "../vm/mod.ts";
import * as F from "../vmx/fields.ts";
import { REGISTERS } from "./target_description.ts";

const SEG_SELECTOR = [
  F.GUEST_ES_SELECTOR,
  F.GUEST_CS_SELECTOR,
  F.GUEST_SS_SELECTOR,
  F.GUEST_DS_SELECTOR,
  F.GUEST_FS_SELECTOR,
  F.GUEST_GS_SELECTOR,
];
const SEG_BASE = [
  F.GUEST_ES_BASE,
  F.GUEST_CS_BASE,
  F.GUEST_SS_BASE,
  F.GUEST_DS_BASE,
  F.GUEST_FS_BASE,
  F.GUEST_GS_BASE,
];

/** Value of register `n` (gdb numbering), or null when the CPU does not have it. */
export function readRegister(m: Machine, n: number): bigint | null {
  const r = REGISTERS[n];
  if (r === undefined) return null;
  const vmcs = m.vcpu.vmcs, cpu = m.cpu;
  const s = r.source;
  switch (s.kind) {
    case "gpr":
      return s.index === RSP ? vmcs.read(F.GUEST_RSP) : cpu.getReg64(s.index);
    case "rip":
      return vmcs.read(F.GUEST_RIP);
    case "rflags":
      return vmcs.read(F.GUEST_RFLAGS) & 0xffffffffn;
    case "segment":
      return vmcs.read(SEG_SELECTOR[s.index]);
    case "segment-base":
      return vmcs.read(SEG_BASE[s.index]);
    case "cr":
      return s.index === 0
        ? vmcs.read(F.GUEST_CR0)
        : s.index === 2
        ? BigInt.asUintN(64, BigInt(cpu.cr2))
        : s.index === 3
        ? vmcs.read(F.GUEST_CR3)
        : s.index === 4
        ? vmcs.read(F.GUEST_CR4)
        : BigInt(cpu.cr8);
    case "efer":
      return vmcs.read(F.GUEST_IA32_EFER);
    case "st": {
      // gdb's stN is ST(N): physical register (TOP + N) mod 8 (SDM Vol. 1 §8.1.2).
      const f = cpu.fpu, p = (((f.fsw >>> 11) & 7) + s.index) & 7;
      return bytesValue(f.st.subarray(10 * p, 10 * p + 10));
    }
    case "x87": {
      const f = cpu.fpu;
      switch (s.field) {
        case "fcw":
          return BigInt(f.fcw);
        case "fsw":
          return BigInt(f.fsw);
        case "ftw":
          return BigInt(f.ftw);
        case "fop":
          return BigInt(f.fop);
        case "fip":
          return BigInt.asUintN(32, BigInt(f.fip));
        case "fdp":
          return BigInt.asUintN(32, BigInt(f.fdp));
        default:
          return 0n; // 64-bit mode keeps no FPU CS or DS selector (FXSAVE's REX.W form)
      }
    }
    case "xmm":
      return bytesValue(cpu.fpu.xmmU8.subarray(16 * s.index, 16 * s.index + 16));
    case "mxcsr":
      return BigInt(cpu.fpu.mxcsr);
  }
}

/**
 * Writes register `n`; returns false for one the debugger may not change (segment selectors,
 * control registers, EFER: changing them under a running guest is a mode change, not a poke).
 */
export function writeRegister(m: Machine, n: number, value: bigint): boolean {
  const r = REGISTERS[n];
  if (r === undefined) return false;
  const vmcs = m.vcpu.vmcs, cpu = m.cpu;
  const v = BigInt.asUintN(r.bits, value);
  const s = r.source;
  switch (s.kind) {
    case "gpr":
      if (s.index === RSP) vmcs.write(F.GUEST_RSP, v);
      else cpu.setReg64(s.index, v);
      return true;
    case "rip":
      if (BigInt.asIntN(48, v) !== BigInt.asIntN(64, v)) return false; // not canonical
      vmcs.write(F.GUEST_RIP, v);
      return true;
    case "rflags":
      // Bit 1 is always 1; bits 3, 5, 15 and 22-31 are reserved zeros (SDM Vol. 1 §3.4.3).
      vmcs.write(F.GUEST_RFLAGS, (v & 0x3f7fd5n) | 2n);
      return true;
    case "segment-base":
      if (BigInt.asIntN(48, v) !== BigInt.asIntN(64, v)) return false;
      vmcs.write(SEG_BASE[s.index], v);
      return true;
    case "st": {
      const f = cpu.fpu, p = (((f.fsw >>> 11) & 7) + s.index) & 7;
      f.st.set(registerBytes(n, v), 10 * p);
      return true;
    }
    case "x87":
      if (s.field === "fcw") cpu.fpu.fcw = Number(v) & 0xffff;
      else if (s.field === "fsw") cpu.fpu.fsw = Number(v) & 0xffff;
      else if (s.field === "ftw") cpu.fpu.ftw = Number(v) & 0xffff;
      else return false;
      return true;
    case "xmm":
      cpu.fpu.xmmU8.set(registerBytes(n, v), 16 * s.index);
      return true;
    case "mxcsr":
      if ((v & ~BigInt(MXCSR_MASK)) !== 0n) return false; // reserved bits: FXRSTOR would #GP
      cpu.fpu.mxcsr = Number(v);
      return true;
    default:
      return false;
  }
}

/** Bytes of register `n`'s value, little-endian (as g and p carry them). */
export function registerBytes(n: number, value: bigint): Uint8Array {
  const bytes = new Uint8Array(REGISTERS[n].bits / 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

/** A little-endian value from bytes. */
export function bytesValue(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

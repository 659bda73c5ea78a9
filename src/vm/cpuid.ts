/**
 * The CPUID leaves the hypervisor reports (SDM Vol. 2 CPUID): only what hvsim implements.
 * Leaf 0x40000000 is the hypervisor leaf, naming hvsim (as KVM's "KVMKVMKVM").
 *
 * hvsim presents an Intel CPU (the Ice Lake-SP signature below), so leaf 0 says "GenuineIntel":
 * Linux reads the TSC and crystal clock of leaves 0x15/0x16 only from a CPU with that vendor
 * (arch/x86/kernel/tsc.c, native_calibrate_tsc), and takes its generic paths for an unknown one.
 *
 * @module
 */

import { CR4_OSXSAVE } from "../cpu/registers.ts";
import { XCR0_SUPPORTED, XSAVE_AREA_BYTES } from "../cpu/ops/xsave.ts";

/** Vendor string of leaf 0 (12 bytes). */
export const CPUID_VENDOR = "GenuineIntel";
/** Highest basic leaf (leaf 0 EAX): 0x16, the processor frequency leaf. */
export const CPUID_MAX_BASIC_LEAF = 0x16;
/**
 * The TSC frequency in Hz: virtual time counts one TSC tick per retired instruction, and a
 * guest second is 10^9 of them (a 1 GHz guest, the clock the migration link model uses too).
 */
export const TSC_HZ = 1_000_000_000;
/**
 * The core crystal clock in Hz (leaf 0x15 ECX). The local APIC timer counts at this rate (Linux
 * sets its period from it, SDM Vol. 3A 11.5.4): hvsim's APIC timer counts TSC ticks, so the
 * crystal runs at the TSC's rate and the TSC/crystal ratio (leaf 0x15 EBX/EAX) is 1/1.
 */
export const CRYSTAL_HZ = TSC_HZ;
/** CPUID.6:EAX bits: ARAT, the APIC timer always runs, in every C-state (2). */
export const CPUID6_EAX = 1 << 2;
/** Hypervisor signature of leaf 0x40000000 (12 bytes). */
export const HYPERVISOR_SIGNATURE = "hvsimhvsim\0\0";

/**
 * The processor brand string of leaves 0x80000002-0x80000004 (SDM Vol. 2 CPUID, "Processor Brand
 * String"; at most 47 characters, NUL-padded to 48 bytes): what Linux shows as "model name" in
 * /proc/cpuinfo. It names the part the signature below presents and the TSC frequency leaf 0x16
 * reports, in Intel's "@ x.xxGHz" form.
 */
export const CPUID_BRAND = `hvsim virtual CPU (Intel Ice Lake-SP) @ ${(TSC_HZ / 1e9).toFixed(2)}GHz`;

function words(s: string): [number, number, number] {
  const b = new TextEncoder().encode(s);
  const w = (o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  return [w(0), w(4), w(8)];
}

/**
 * CPUID.1:EDX bits: FPU(0), PSE(3; large pages, which IA-32e paging always has), TSC(4), MSR(5),
 * PAE(6), CX8(8), APIC(9), PGE(13), CMOV(15), PAT(16), MMX(23), FXSR(24), SSE(25), SSE2(26).
 */
export const CPUID1_EDX = 1 | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 13) |
  (1 << 15) | (1 << 16) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
/**
 * CPUID.1:ECX bits: SSE3 (0), SSSE3 (9), CX16 (13), SSE4.1 (19), SSE4.2 (20), POPCNT (23), TSC-deadline (24), XSAVE (26), RDRAND (30),
 * hypervisor present (31). OSXSAVE (27) is added while CR4.OSXSAVE is set. Not MONITOR (3): MONITOR and
 * MWAIT raise #UD.
 */
export const CPUID1_ECX =
  ((1 << 0) | (1 << 9) | (1 << 13) | (1 << 19) | (1 << 20) | (1 << 23) | (1 << 24) | (1 << 26) | (1 << 30) |
    (1 << 31)) >>> 0;
/** CPUID.1:ECX.OSXSAVE: mirrors CR4.OSXSAVE (SDM Vol. 2 CPUID, Table 3-10). */
export const CPUID1_ECX_OSXSAVE = 1 << 27;
/**
 * CPUID.(EAX=0DH,ECX=1):EAX: XSAVEOPT (0), XSAVEC and compacted XRSTOR (1), XGETBV with ECX = 1 (2);
 * not XSAVES (3). See src/cpu/ops/xsave.ts.
 */
export const CPUID_D1_EAX = 0b111;
/** CPUID.7.0:EBX bits: RDSEED (18). */
export const CPUID7_EBX = 1 << 18;
/** CPUID.80000001:EDX bits: SYSCALL (11), NX (20), 1-GiB pages (26), RDTSCP (27), LM (29). */
export const CPUID81_EDX = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29);
/** CPUID.80000001:ECX bits: LAHF/SAHF in 64-bit mode (0). */
export const CPUID81_ECX = 1;

/**
 * CPUID.1:EAX, the processor signature (SDM Vol. 2 CPUID, Figure 3-6): stepping 0 (bits 3:0),
 * model 0xA (7:4), family 6 (11:8), extended model 6 (19:16). The displayed model is
 * extended model << 4 | model = 0x6A: family 06_6AH, the 3rd generation Intel Xeon Scalable
 * processor (Ice Lake-SP; SDM Vol. 4 Table 2-1), a server part with VMX, EPT and PML.
 */
export const CPUID_SIGNATURE = 0x000606a0;

/**
 * Returns [EAX, EBX, ECX, EDX] for `leaf`/`subleaf`; `cr4` is the guest's CR4 (for OSXSAVE). Basic
 * leaves up to the maximum that hvsim has nothing for are zero; leaves above the maximum answer as the
 * maximum basic leaf, as Intel CPUs do.
 */
export function cpuidLeaf(leaf: number, subleaf: number, cr4 = 0): [number, number, number, number] {
  const [v0, v1, v2] = words(CPUID_VENDOR);
  const [h0, h1, h2] = words(HYPERVISOR_SIGNATURE);
  switch (leaf) {
    case 0:
      return [CPUID_MAX_BASIC_LEAF, v0, v2, v1];
    case 1:
      // The signature; one logical processor; APIC ID 0.
      return [
        CPUID_SIGNATURE,
        0x00010800,
        ((cr4 & CR4_OSXSAVE) !== 0 ? CPUID1_ECX | CPUID1_ECX_OSXSAVE : CPUID1_ECX) >>> 0,
        CPUID1_EDX,
      ];
    case 6:
      return [CPUID6_EAX, 0, 0, 0];
    case 0xd:
      // Subleaf 0: the supported XCR0 bits; the area size for XCR0's components and for all of
      // them (the legacy region and the header: x87 and SSE state live in the legacy region).
      // Subleaf 1: the XSAVE extensions, the area size for XCR0 | IA32_XSS, no IA32_XSS bits.
      // Subleaves 2 and up describe components 2 and up, which this processor does not have.
      if (subleaf === 0) return [XCR0_SUPPORTED, XSAVE_AREA_BYTES, XSAVE_AREA_BYTES, 0];
      if (subleaf === 1) return [CPUID_D1_EAX, XSAVE_AREA_BYTES, 0, 0];
      return [0, 0, 0, 0];
    case 7:
      return subleaf === 0 ? [0, CPUID7_EBX, 0, 0] : [0, 0, 0, 0];
    case 0x15:
      // TSC/crystal ratio EBX/EAX and the crystal's frequency (SDM Vol. 2 CPUID, leaf 15H).
      return [1, TSC_HZ / CRYSTAL_HZ, CRYSTAL_HZ, 0];
    case 0x16:
      // Base and maximum frequency in MHz, bus (reference) frequency in MHz (leaf 16H).
      return [TSC_HZ / 1e6, TSC_HZ / 1e6, 100, 0];
    case 0x40000000:
      return [0x40000001, h0, h1, h2];
    case 0x40000001:
      return [0, 0, 0, 0];
    case 0x80000000:
      return [0x80000008, 0, 0, 0];
    case 0x80000001:
      return [0, 0, CPUID81_ECX, CPUID81_EDX];
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      // 16 bytes of the brand string per leaf, in EAX, EBX, ECX, EDX order.
      const b = new Uint8Array(48);
      b.set(new TextEncoder().encode(CPUID_BRAND));
      const w = new DataView(b.buffer, 16 * (leaf - 0x80000002), 16);
      return [w.getUint32(0, true), w.getUint32(4, true), w.getUint32(8, true), w.getUint32(12, true)];
    }
    case 0x80000008:
      return [0x302e, 0, 0, 0]; // 46 physical (IA32_VMX's MAXPHYADDR), 48 linear address bits
    default:
      if ((leaf >= 2 && leaf <= CPUID_MAX_BASIC_LEAF) || (leaf > 0x80000001 && leaf < 0x80000008)) {
        return [0, 0, 0, 0];
      }
      return cpuidLeaf(CPUID_MAX_BASIC_LEAF, subleaf, cr4);
  }
}

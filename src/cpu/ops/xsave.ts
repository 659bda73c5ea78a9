/**
 * The XSAVE feature set for XCR0 = x87 | SSE (SDM Vol. 1 ch. 13, Vol. 2 XGETBV, XSETBV, XSAVE,
 * XSAVEOPT, XSAVEC, XRSTOR): XCR0, the processor's XINUSE tracking, and the save and restore
 * instructions over the legacy region (the FXSAVE image of {@linkcode FpuState}) and the XSAVE header.
 *
 * What is implemented, as CPUID leaf 0xD reports it (src/vm/cpuid.ts): XCR0 bits 0 and 1; XSAVEOPT
 * (with the init optimization, not the modified optimization), XSAVEC with the compacted format,
 * XGETBV with ECX = 1; not XSAVES/XRSTORS (no supervisor state components, no IA32_XSS).
 *
 * XINUSE is computed from the registers, not tracked: XINUSE[0] is 0 exactly when the x87 state is in
 * its initial configuration (FCW 0x37F, FSW 0, all tags empty, FOP, FIP, FDP and the data registers 0;
 * SDM Vol. 1 §13.6); XINUSE[1] is 0 exactly when XMM0-15 are 0 and MXCSR is 0x1F80. The SDM allows an
 * XINUSE bit to be 1 for a component in its initial configuration (§13.6), which is how MXCSR is
 * counted here, so XSAVEC's and XSAVEOPT's skipped components are always restored exactly.
 *
 * The x87 part of the legacy region has the 64-bit layout (FIP and FDP as 64-bit offsets) with or
 * without REX.W, as hvsim's FXSAVE has.
 *
 * @module
 */

import type { Cpu } from "../cpu.ts";
import type { Insn } from "../insn.ts";
import { CR0_TS, CR4_OSXSAVE, EXC_NM, RAX, RCX, RDX } from "../registers.ts";
import { FCW_DEFAULT, type FpuState, FXSAVE_BYTES, MXCSR_DEFAULT, MXCSR_MASK } from "../fpu_state.ts";
import { EXIT_REASON_XSETBV } from "../../vmx/exit_reasons.ts";

/** XCR0 bit 0: x87 state. */
export const XFEATURE_X87 = 1;
/** XCR0 bit 1: SSE state (XMM registers and MXCSR). */
export const XFEATURE_SSE = 2;
/** The XCR0 bits this processor supports (CPUID.(EAX=0DH,ECX=0):EAX). */
export const XCR0_SUPPORTED = XFEATURE_X87 | XFEATURE_SSE;
/** XCR0 after reset: x87 only (SDM Vol. 1 §13.3). */
export const XCR0_RESET = XFEATURE_X87;
/** Size of the XSAVE area for every supported component: the 512-byte legacy region and the 64-byte header. */
export const XSAVE_AREA_BYTES = FXSAVE_BYTES + 64;

/** Offset of XSTATE_BV in the XSAVE area (the header's first 8 bytes, SDM Vol. 1 §13.4.2). */
const XSTATE_BV = 512;
/** Offset of XCOMP_BV. */
const XCOMP_BV = 520;
/** XCOMP_BV bit 63 (the compacted format), as the high half's bit 31. */
const COMPACTED_HI = 0x80000000;

/**
 * Whether `v` (EDX:EAX of XSETBV, as halves) is a legal XCR0: bit 0 set, no unsupported bit
 * (SDM Vol. 1 §13.3, Vol. 2 XSETBV).
 */
export function xcr0Valid(lo: number, hi: number): boolean {
  return hi === 0 && (lo & XFEATURE_X87) !== 0 && (lo & ~XCR0_SUPPORTED) === 0;
}

/**
 * Executes XSETBV for the hypervisor (the instruction always exits, SDM Vol. 3 §26.1.2): ECX must
 * select XCR0 and EDX:EAX be a legal value, else the guest gets #GP(0). Returns false for #GP.
 */
export function emulateXsetbv(cpu: Cpu): boolean {
  const g = cpu.gpr;
  if (g[2 * RCX] !== 0 || !xcr0Valid(g[2 * RAX], g[2 * RDX])) return false;
  cpu.xcr0 = g[2 * RAX];
  return true;
}

/** Whether the x87 state is in its initial configuration (SDM Vol. 1 §13.6). */
function x87Initial(f: FpuState): boolean {
  if (f.fcw !== FCW_DEFAULT || f.fsw !== 0 || f.ftw !== 0xffff || f.fop !== 0 || f.fip !== 0 || f.fdp !== 0) {
    return false;
  }
  for (let k = 0; k < 80; k++) if (f.st[k] !== 0) return false;
  return true;
}

/** XINUSE for x87 and SSE state, as the module describes. */
export function xinuse(f: FpuState): number {
  const v = x87Initial(f) ? 0 : XFEATURE_X87;
  if (f.mxcsr !== MXCSR_DEFAULT) return v | XFEATURE_SSE;
  for (let k = 0; k < 64; k++) {
    if (f.xmm[k] !== 0) return v | XFEATURE_SSE;
  }
  return v;
}

/** #UD unless CR4.OSXSAVE is set (the XSAVE feature set is enabled). */
function osxsave(cpu: Cpu): void {
  if ((cpu.cr4 & CR4_OSXSAVE) === 0) cpu.ud();
}

/** XGETBV (0f 01 d0): EDX:EAX = XCR0 (ECX = 0) or XCR0 AND XINUSE (ECX = 1); other ECX #GP(0). */
export function xgetbv(cpu: Cpu, _i: Insn): void {
  osxsave(cpu);
  const ecx = cpu.gpr[2 * RCX];
  if (ecx > 1) cpu.gp0();
  const v = ecx === 0 ? cpu.xcr0 : cpu.xcr0 & xinuse(cpu.fpu);
  cpu.writeReg(4, RAX, v, 0);
  cpu.writeReg(4, RDX, 0, 0);
}

/**
 * XSETBV (0f 01 d1): #UD unless CR4.OSXSAVE, #GP(0) at CPL > 0 (both before the VM exit, SDM Vol. 3
 * §26.1.1); then it exits unconditionally (exit reason 55) and the hypervisor checks and loads the
 * value ({@linkcode emulateXsetbv}).
 */
export function xsetbv(cpu: Cpu, _i: Insn): void {
  osxsave(cpu);
  if (cpu.cpl !== 0) cpu.gp0();
  cpu.vmExit(EXIT_REASON_XSETBV);
}

/** The checks every XSAVE-area instruction makes, in order: #UD, #NM, the address, 64-byte alignment. */
function areaAddress(cpu: Cpu, i: Insn): number {
  osxsave(cpu);
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.fault(EXC_NM, false, 0);
  const lin = cpu.linear(i);
  if ((lin & 63) !== 0) cpu.gp0();
  return lin;
}

/** Writes bytes [from, to) of `img` at `lin + from` (4-byte multiples). */
function store(cpu: Cpu, lin: number, img: Uint8Array, from: number, to: number): void {
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  for (let k = from; k < to; k += 8) {
    if (to - k >= 8) cpu.write(lin + k, 8, dv.getUint32(k, true), dv.getUint32(k + 4, true));
    else cpu.write(lin + k, 4, dv.getUint32(k, true), 0);
  }
}

/** Reads bytes [from, to) at `lin + from` into `img` (4-byte multiples). */
function load(cpu: Cpu, lin: number, img: Uint8Array, from: number, to: number): void {
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  for (let k = from; k < to; k += 4) dv.setUint32(k, cpu.read(lin + k, 4), true);
}

/** `insn.op` of XSAVE: the standard form. */
export const KIND_XSAVE = 0;
/** `insn.op` of XSAVEOPT: the standard form with the init optimization. */
export const KIND_XSAVEOPT = 1;
/** `insn.op` of XSAVEC: the compacted form. */
export const KIND_XSAVEC = 2;

/**
 * XSAVE m (0f ae /4), XSAVEOPT m (0f ae /6), XSAVEC m (0f c7 /4); `op` is the kind. RFBM = XCR0 AND
 * EDX:EAX. The x87 component is bytes 0-23 and 32-159 of the legacy region, the SSE component
 * bytes 160-415 with MXCSR and MXCSR_MASK at 24-31 (SDM Vol. 1 §13.4.1).
 * - XSAVE saves each component in RFBM and sets XSTATE_BV[i] = XINUSE[i] for i in RFBM, leaving the
 *   header's other bits and bytes alone (§13.7).
 * - XSAVEOPT skips a component whose XINUSE bit is 0 (the init optimization), but writes MXCSR
 *   whenever RFBM[1] is set; XSTATE_BV as XSAVE (§13.9).
 * - XSAVEC saves a component only if it is in RFBM and in use, writes XSTATE_BV = RFBM AND XINUSE
 *   and XCOMP_BV = bit 63 | RFBM (§13.10); with only x87 and SSE state the compacted and the
 *   standard layouts coincide.
 * The whole area is checked for writing first, so a fault writes nothing.
 */
export function xsave(cpu: Cpu, i: Insn): void {
  const lin = areaAddress(cpu, i);
  const rfbm = cpu.xcr0 & cpu.gpr[2 * RAX];
  const inUse = xinuse(cpu.fpu);
  cpu.probeWrite(lin, XSAVE_AREA_BYTES);
  const img = new Uint8Array(FXSAVE_BYTES);
  cpu.fpu.writeFxsave(img);
  const kind = i.op;
  const save = kind === KIND_XSAVE ? rfbm : rfbm & inUse;
  if ((save & XFEATURE_X87) !== 0) {
    store(cpu, lin, img, 0, 24);
    store(cpu, lin, img, 32, 160);
  }
  if ((kind === KIND_XSAVEC ? save : rfbm) & XFEATURE_SSE) store(cpu, lin, img, 24, 32);
  if ((save & XFEATURE_SSE) !== 0) store(cpu, lin, img, 160, 416);
  if (kind === KIND_XSAVEC) {
    cpu.write(lin + XSTATE_BV, 8, rfbm & inUse, 0);
    cpu.write(lin + XCOMP_BV, 8, rfbm, COMPACTED_HI);
    return;
  }
  const old = cpu.read(lin + XSTATE_BV, 8), oldHi = cpu.hi;
  cpu.write(lin + XSTATE_BV, 8, ((old & ~rfbm) | (inUse & rfbm)) >>> 0, oldHi);
}

/** Sets the x87 state to its initial configuration (as XRSTOR does for XSTATE_BV[0] = 0). */
function initX87(f: FpuState): void {
  f.fninit();
  f.st.fill(0);
}

/**
 * XRSTOR m (0f ae /5). The header decides the form (XCOMP_BV[63]) and raises #GP(0), before
 * anything changes, when it is malformed (SDM Vol. 1 §13.8.1-13.8.2): standard form, XSTATE_BV
 * sets a bit outside XCR0 or header bytes 8-23 are not 0; compacted form, XCOMP_BV[62:0] sets a
 * bit outside XCR0, XSTATE_BV a bit outside XCOMP_BV, or header bytes 16-63 are not 0; either
 * form, a loaded MXCSR with a reserved bit set. Then for each component i in RFBM (XCR0 AND
 * EDX:EAX): loaded from the area when XSTATE_BV[i] = 1, set to its initial configuration
 * otherwise. MXCSR comes from the area whenever RFBM[1] is set in the standard form; in the
 * compacted form only with XSTATE_BV[1], and is 0x1F80 when SSE state is initialised.
 */
export function xrstor(cpu: Cpu, i: Insn): void {
  const lin = areaAddress(cpu, i);
  const rfbm = cpu.xcr0 & cpu.gpr[2 * RAX];
  const header = new Uint8Array(64);
  load(cpu, lin + XSTATE_BV, header, 0, 64);
  const hv = new DataView(header.buffer);
  const xstateLo = hv.getUint32(0, true), xstateHi = hv.getUint32(4, true);
  const xcompLo = hv.getUint32(8, true), xcompHi = hv.getUint32(12, true);
  const compacted = (xcompHi & COMPACTED_HI) !== 0;
  const xcr0 = cpu.xcr0;
  let bad: boolean;
  if (compacted) {
    bad = (xcompLo & ~xcr0) !== 0 || (xcompHi & ~COMPACTED_HI) !== 0 || (xstateLo & ~xcompLo) !== 0 ||
      xstateHi !== 0;
    for (let k = 16; k < 64; k++) if (header[k] !== 0) bad = true;
  } else {
    bad = (xstateLo & ~xcr0) !== 0 || xstateHi !== 0;
    for (let k = 8; k < 24; k++) if (header[k] !== 0) bad = true;
  }
  if (bad) cpu.gp0();
  const loadX87 = (rfbm & xstateLo & XFEATURE_X87) !== 0;
  const loadSse = (rfbm & xstateLo & XFEATURE_SSE) !== 0;
  const mxcsrFromArea = compacted ? loadSse : (rfbm & XFEATURE_SSE) !== 0;
  const img = new Uint8Array(FXSAVE_BYTES);
  const f = cpu.fpu;
  f.writeFxsave(img);
  if (loadX87) {
    load(cpu, lin, img, 0, 24);
    load(cpu, lin, img, 32, 160);
  }
  if (mxcsrFromArea) {
    const mxcsr = cpu.read(lin + 24, 4);
    if ((mxcsr & ~MXCSR_MASK) !== 0) cpu.gp0();
    new DataView(img.buffer).setUint32(24, mxcsr, true);
  } else if (compacted && (rfbm & XFEATURE_SSE) !== 0) {
    new DataView(img.buffer).setUint32(24, MXCSR_DEFAULT, true);
  }
  if (loadSse) load(cpu, lin, img, 160, 416);
  // Every read is done and checked: now the state changes.
  const ftw = f.ftw;
  f.readFxrstor(img);
  if (!loadX87) f.ftw = ftw; // the x87 registers were not reloaded: keep their full tags
  if ((rfbm & XFEATURE_X87) !== 0 && !loadX87) initX87(f);
  if ((rfbm & XFEATURE_SSE) !== 0 && !loadSse) f.xmm.fill(0, 0, 64);
}

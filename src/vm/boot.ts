/**
 * The loader's part of boot protocol version 1 (docs/boot-protocol.md): below 1 MiB it builds a GDT with a
 * flat 64-bit code segment, a data segment and a TSS, identity page tables over all of guest RAM
 * (2 MiB pages, writable, executable), and the command line; then it puts the CPU in 64-bit
 * mode at CPL 0 with RIP = entry, RSP = top of RAM, RDI = RAM size, RSI = command line, and x87
 * and SSE enabled as a Linux process sees them: CR0.MP=1, EM=0, NE=1, TS=0, CR4.OSFXSR and
 * CR4.OSXMMEXCPT set, MXCSR = 0x1F80, the x87 state as after FNINIT (FCW = 0x37F), XMM0-15 zero.
 *
 * @module
 */

import {
  type Cpu,
  CR0_ET,
  CR0_MP,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_OSFXSR,
  CR4_OSXMMEXCPT,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  RDI,
  RSI,
  RSP,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_TR,
} from "../cpu/mod.ts";

/** Guest-physical address of the GDT. */
export const BOOT_GDT = 0x1000;
/** Guest-physical address of the TSS. */
export const BOOT_TSS = 0x2000;
/** Guest-physical address of the command line. */
export const BOOT_CMDLINE = 0x8000;
/** Longest command line, NUL included. */
export const BOOT_CMDLINE_MAX = 0x8000;
/** Guest-physical address of the PML4; PDPT and page directories follow. */
export const BOOT_PML4 = 0x10000;
/** Flat 64-bit code selector. */
export const BOOT_CS = 0x08;
/** Flat data selector. */
export const BOOT_DS = 0x10;
/** TSS selector. */
export const BOOT_TR = 0x18;

/** A range of guest-physical memory that the loader fills at boot. */
export interface BootRegion {
  /** What it holds, e.g. "page tables". */
  name: string;
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** One past the last byte of the boot page tables (PML4, PDPT, a page directory per GiB) for `ramBytes`. */
export function bootPageTablesEnd(ramBytes: number): number {
  return BOOT_PML4 + 0x1000 * (2 + Math.ceil(ramBytes / 2 ** 30));
}

/** Where {@link bootGuest} puts its structures in `ramBytes` of guest RAM (the guest's ELF aside). */
export function bootLayout(ramBytes: number): BootRegion[] {
  return [
    { name: "GDT", start: BOOT_GDT, end: BOOT_GDT + 0x28 },
    { name: "TSS", start: BOOT_TSS, end: BOOT_TSS + 0x68 },
    { name: "command line", start: BOOT_CMDLINE, end: BOOT_CMDLINE + BOOT_CMDLINE_MAX },
    { name: "page tables", start: BOOT_PML4, end: bootPageTablesEnd(ramBytes) },
  ];
}

/**
 * Writes the boot structures into guest RAM (`ram` is guest-physical 0..size) and sets the CPU.
 * @throws RangeError if the command line is too long or RAM is too small or not 2 MiB-aligned.
 */
export function bootGuest(cpu: Cpu, ram: Uint8Array, entry: number, cmdline: string): void {
  const size = ram.length;
  if (size < 2 * 2 ** 20 || size % (2 * 2 ** 20) !== 0) {
    throw new RangeError(`RAM must be a multiple of 2 MiB and at least 2 MiB, got ${size} bytes`);
  }
  if (size > 512 * 2 ** 30) throw new RangeError("RAM above 512 GiB is not supported");
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const cmd = new TextEncoder().encode(cmdline);
  if (cmd.length >= BOOT_CMDLINE_MAX) {
    throw new RangeError(`command line is ${cmd.length} bytes; at most ${BOOT_CMDLINE_MAX - 1} fit`);
  }
  ram.set(cmd, BOOT_CMDLINE);
  ram[BOOT_CMDLINE + cmd.length] = 0;

  // GDT: null, code64 (0x08), data (0x10), 64-bit TSS (0x18, 16 bytes).
  dv.setBigUint64(BOOT_GDT + 0x08, 0x00af9b000000ffffn, true);
  dv.setBigUint64(BOOT_GDT + 0x10, 0x00cf93000000ffffn, true);
  const [tssLo, tssHi] = tssDescriptor(BOOT_TSS);
  dv.setBigUint64(BOOT_GDT + 0x18, tssLo, true);
  dv.setBigUint64(BOOT_GDT + 0x20, tssHi, true);
  // TSS: I/O map base beyond the limit (no I/O bitmap).
  dv.setUint16(BOOT_TSS + 0x66, 0x68, true);

  writeIdentityMap(ram, BOOT_PML4);
  const tablesEnd = bootPageTablesEnd(size);
  if (tablesEnd > 0x100000) throw new RangeError("page tables do not fit below 1 MiB");

  enterLongMode(cpu, {
    cr0: CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
    cr4: CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT,
    efer: EFER_LME | EFER_LMA | EFER_NXE,
    cr3: BOOT_PML4,
    gdt: BOOT_GDT,
    gdtLimit: 0x27,
    cs: BOOT_CS,
    ds: BOOT_DS,
    tr: BOOT_TR,
    tss: BOOT_TSS,
  });
  cpu.setReg64(RSP, BigInt(size));
  cpu.setReg64(RDI, BigInt(size));
  cpu.setReg64(RSI, BigInt(BOOT_CMDLINE));
  cpu.rip = entry;
  cpu.flushTlb();
}

/**
 * Writes identity page tables over all of `ram` (guest-physical 0..size): a PML4 at `pml4`, one PDPT
 * after it and a page directory per GiB after that, 2 MiB pages, present, writable, user, executable.
 * The tables end at `pml4 + 0x1000 * (2 + GiB of RAM)`.
 */
export function writeIdentityMap(ram: Uint8Array, pml4: number): void {
  const size = ram.length;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const pdpt = pml4 + 0x1000;
  const gib = Math.ceil(size / 2 ** 30);
  for (let a = pml4; a < pdpt + 0x1000 * (1 + gib); a += 8) dv.setBigUint64(a, 0n, true);
  dv.setBigUint64(pml4, BigInt(pdpt) | 0x7n, true);
  for (let g = 0; g < gib; g++) {
    const pd = pdpt + 0x1000 * (1 + g);
    dv.setBigUint64(pdpt + 8 * g, BigInt(pd) | 0x7n, true);
    for (let e = 0; e < 512; e++) {
      const addr = g * 2 ** 30 + e * 2 ** 21;
      if (addr >= size) break;
      dv.setBigUint64(pd + 8 * e, BigInt(addr) | 0x87n, true); // P, RW, US, PS
    }
  }
}

/** The control and segment state {@link enterLongMode} puts the CPU in. */
export interface LongModeState {
  /** CR0 (PE and PG set). */
  cr0: number;
  /** CR4 (PAE set). */
  cr4: number;
  /** IA32_EFER (LME and LMA set). */
  efer: number;
  /** CR3: the PML4. */
  cr3: number;
  /** Guest-physical address of the GDT. */
  gdt: number;
  /** GDT limit. */
  gdtLimit: number;
  /** Flat 64-bit code selector. */
  cs: number;
  /** Flat data selector for DS, ES, SS, FS and GS. */
  ds: number;
  /** Selector of the 64-bit TSS (a VM entry needs a usable TR). */
  tr: number;
  /** Guest-physical address of the TSS (limit 0x67). */
  tss: number;
}

/**
 * Puts the CPU in 64-bit mode at CPL 0 with flat segments from `s`, no IDT (limit 0), no LDT,
 * RFLAGS = 2 (interrupts off), the general registers zero and the x87/SSE state as after FNINIT.
 * The caller sets RIP, RSP and the argument registers.
 */
export function enterLongMode(cpu: Cpu, s: LongModeState): void {
  cpu.cr0 = s.cr0;
  cpu.cr4 = s.cr4;
  cpu.fpu.reset();
  cpu.fpu.fninit();
  cpu.efer = s.efer;
  cpu.cr3 = s.cr3;
  cpu.cpl = 0;
  cpu.gdtrBase = s.gdt;
  cpu.gdtrLimit = s.gdtLimit;
  cpu.idtrBase = 0;
  cpu.idtrLimit = 0;
  const flat = (seg: number, sel: number, ar: number) => {
    cpu.segSel[seg] = sel;
    cpu.segBase[seg] = 0;
    cpu.segLimit[seg] = 0xffffffff;
    cpu.segAr[seg] = ar;
  };
  flat(SEG_CS, s.cs, 0xa09b);
  for (const seg of [SEG_DS, SEG_ES, SEG_SS, SEG_FS, SEG_GS]) flat(seg, s.ds, 0xc093);
  cpu.segSel[SEG_LDTR] = 0;
  cpu.segBase[SEG_LDTR] = 0;
  cpu.segLimit[SEG_LDTR] = 0;
  cpu.segAr[SEG_LDTR] = 0x10000;
  cpu.segSel[SEG_TR] = s.tr;
  cpu.segBase[SEG_TR] = s.tss;
  cpu.segLimit[SEG_TR] = 0x67;
  cpu.segAr[SEG_TR] = 0x8b;
  cpu.setRflags(0x2);
  cpu.gpr.fill(0);
}

/**
 * The 16-byte GDT descriptor of the 64-bit TSS at `base` with limit 0x67, marked busy as LTR leaves
 * it (SDM Vol. 3A, 8.2.3 and 8.7), as [low, high] quadwords.
 */
export function tssDescriptor(base: number): [bigint, bigint] {
  const lo = 0x67n | (BigInt(base & 0xffffff) << 16n) | (0x8bn << 40n) |
    (BigInt((base >>> 24) & 0xff) << 56n);
  return [lo, BigInt(Math.floor(base / 2 ** 32))];
}

/**
 * The loader's part of the Linux/x86 boot protocol, 64-bit entry (the kernel's
 * Documentation/x86/boot.rst, "64-bit Boot Protocol", and Documentation/x86/zero-page.rst), for a
 * `bzImage` (real-mode setup header at 0x1F1, protected-mode kernel after the setup sectors, 64-bit
 * entry 0x200 past its start) or an ELF `vmlinux` (segments placed by their physical addresses,
 * entered at `e_entry`, the physical address of startup_64), with no firmware, as Firecracker
 * starts a kernel:
 *
 * - the zero page (struct boot_params) at {@link LINUX_ZERO_PAGE}: the kernel's setup header copied,
 *   type_of_loader 0xFF (undefined loader), the command line pointer, the initrd's address and size,
 *   and an e820 map of guest RAM with the usual holes (see {@link linuxE820Map});
 * - the command line at {@link LINUX_CMDLINE}, the initrd page-aligned at the top of RAM (below
 *   initrd_addr_max);
 * - the CPU in 64-bit mode at CPL 0, paging on with an identity map of all RAM (2 MiB pages), a GDT
 *   with flat __BOOT_CS (0x10, code) and __BOOT_DS (0x18, data) and a TSS, interrupts off, RSI = the
 *   zero page, RSP = a small boot stack below it, no IDT.
 *
 * The local APIC's LINT0/LINT1 wiring (virtual wire: ExtINT and NMI, MP specification 1.4, 3.6.2.2)
 * is the firmware's job; {@link LINUX_LAPIC_SETUP} lists the register writes the machine makes.
 *
 * @module
 */

import {
  type Cpu,
  CR0_ET,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  RSI,
  RSP,
} from "../cpu/mod.ts";
import { enterLongMode, tssDescriptor, writeIdentityMap } from "./boot.ts";
import { formatSize, type LoadSegment, parseElf } from "./elf.ts";

/** Guest-physical address of the GDT (as Firecracker's layout). */
export const LINUX_GDT = 0x500;
/** Guest-physical address of the TSS. */
export const LINUX_TSS = 0x600;
/** Guest-physical address of the zero page (struct boot_params, 4 KiB). */
export const LINUX_ZERO_PAGE = 0x7000;
/** Top of the boot stack (RSP at entry). */
export const LINUX_BOOT_STACK = 0x8ff0;
/** Guest-physical address of the PML4; the PDPT and a page directory per GiB follow. */
export const LINUX_PML4 = 0x9000;
/** Guest-physical address of the command line. */
export const LINUX_CMDLINE = 0x20000;
/** Command-line room when the kernel does not say (protocol < 2.06: 255 bytes, NUL excluded). */
export const LINUX_CMDLINE_DEFAULT_MAX = 255;
/** Where the protected-mode part of a bzImage is loaded (the protocol's traditional 0x100000). */
export const BZIMAGE_LOAD_ADDRESS = 0x100000;
/** __BOOT_CS. */
export const LINUX_BOOT_CS = 0x10;
/** __BOOT_DS. */
export const LINUX_BOOT_DS = 0x18;
/** The TSS selector (after __BOOT_DS). */
export const LINUX_BOOT_TR = 0x20;
/** type_of_loader for a loader with no assigned ID. */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** Start of the EBDA hole in the e820 map (as Firecracker: RAM below it, 0x9FC00..1 MiB not RAM). */
export const E820_EBDA_START = 0x9fc00;
/** Start of the 32-bit MMIO hole: RAM above it is reported from 4 GiB on (none is, see linuxE820Map). */
export const E820_MMIO_HOLE = 0xc0000000;

/** e820 type of usable RAM. */
export const E820_RAM = 1;
/** e820 type of reserved memory. */
export const E820_RESERVED = 2;

/** Offsets in struct boot_params (zero-page.rst) and its setup header (boot.rst). */
export const BP = {
  extRamdiskImage: 0x0c0,
  extRamdiskSize: 0x0c4,
  extCmdLinePtr: 0x0c8,
  e820Entries: 0x1e8,
  sentinel: 0x1ef,
  setupHeader: 0x1f1,
  setupSects: 0x1f1,
  syssize: 0x1f4,
  bootFlag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  typeOfLoader: 0x210,
  loadflags: 0x211,
  code32Start: 0x214,
  ramdiskImage: 0x218,
  ramdiskSize: 0x21c,
  cmdLinePtr: 0x228,
  initrdAddrMax: 0x22c,
  kernelAlignment: 0x230,
  relocatableKernel: 0x234,
  xloadflags: 0x236,
  cmdlineSize: 0x238,
  prefAddress: 0x258,
  initSize: 0x260,
  e820Table: 0x2d0,
} as const;

/** "HdrS", the setup header's magic, little-endian. */
export const SETUP_HEADER_MAGIC = 0x53726448;
/** Oldest boot protocol with the 64-bit entry point and xloadflags (2.12). */
export const MIN_64BIT_PROTOCOL = 0x020c;
/** xloadflags bit 0: the kernel has the 64-bit entry at +0x200. */
export const XLF_KERNEL_64 = 1;
/** Most e820 entries the zero page holds. */
export const E820_MAX_ENTRIES = 128;

/** The local APIC writes of the virtual-wire setup: SVR enabled with vector 0xFF, LINT0 ExtINT, LINT1 NMI. */
export const LINUX_LAPIC_SETUP: readonly [offset: number, value: number][] = [
  [0xf0, 0x1ff],
  [0x350, 0x700],
  [0x360, 0x400],
];

/** A parsed Linux kernel. */
export interface LinuxKernel {
  /** bzImage or ELF vmlinux. */
  kind: "bzImage" | "vmlinux";
  /** Physical address of the 64-bit entry point. */
  entry: number;
  /** What to copy into RAM. */
  segments: LoadSegment[];
  /** The setup header as found in the file (bytes 0x1F1 up to its end), or null for a vmlinux. */
  setupHeader: Uint8Array | null;
  /** Boot protocol version (e.g. 0x020F), or 0 for a vmlinux. */
  version: number;
  /** Highest address the initrd may end at, plus one. */
  initrdLimit: number;
  /** Longest command line the kernel takes, NUL excluded. */
  cmdlineMax: number;
  /** One past the last byte the kernel needs while it starts (its load area), for the initrd check. */
  end: number;
}

/** One e820 entry. */
export interface E820Entry {
  /** First byte. */
  addr: number;
  /** Length in bytes. */
  size: number;
  /** E820_RAM or E820_RESERVED. */
  type: number;
}

/** Where the loader put things, for reports and tests. */
export interface LinuxLayout {
  /** The kernel's kind. */
  kind: "bzImage" | "vmlinux";
  /** 64-bit entry point. */
  entry: number;
  /** Where the kernel lies while it starts (its load address up to the end of its load area). */
  kernel: { start: number; end: number };
  /** Zero page address. */
  zeroPage: number;
  /** Command line address. */
  cmdline: number;
  /** Initrd address and size (size 0: none). */
  initrd: { addr: number; size: number };
  /** The e820 map written into the zero page. */
  e820: E820Entry[];
}

/** Whether `file` starts like a bzImage: boot_flag 0xAA55 at 0x1FE and "HdrS" at 0x202. */
export function isBzImage(file: Uint8Array): boolean {
  if (file.length < 0x206) return false;
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  return dv.getUint16(BP.bootFlag, true) === 0xaa55 && dv.getUint32(BP.header, true) === SETUP_HEADER_MAGIC;
}

/**
 * Whether `file` is an ELF vmlinux: an ELF64 whose notes include one named "Linux" (the kernel's
 * ELFNOTE records, e.g. its version) or "Xen".
 */
export function isLinuxElf(file: Uint8Array): boolean {
  if (file.length < 64 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    return false;
  }
  if (file[4] !== 2 || file[5] !== 1) return false;
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > file.length) return false;
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (dv.getUint32(o, true) !== 4) continue; // PT_NOTE
    let at = Number(dv.getBigUint64(o + 8, true));
    const end = Math.min(file.length, at + Number(dv.getBigUint64(o + 32, true)));
    while (at + 12 <= end) {
      const namesz = dv.getUint32(at, true), descsz = dv.getUint32(at + 4, true);
      const name = new TextDecoder().decode(file.subarray(at + 12, at + 12 + Math.max(0, namesz - 1)));
      if (name === "Linux" || name === "Xen") return true;
      at += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
    }
  }
  return false;
}

/** Whether `file` is a Linux kernel this loader takes (a bzImage or an ELF vmlinux). */
export function isLinuxKernel(file: Uint8Array): boolean {
  return isBzImage(file) || isLinuxElf(file);
}

/**
 * Parses a bzImage or an ELF vmlinux for `ramBytes` of guest RAM.
 * @throws RangeError with one line saying what is wrong.
 */
export function parseLinuxKernel(file: Uint8Array, ramBytes: number, name = "kernel"): LinuxKernel {
  const fail = (what: string): never => {
    throw new RangeError(`Cannot load ${name}: ${what}`);
  };
  if (!isBzImage(file)) {
    if (file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46) {
      const image = parseElf(file, ramBytes, name, true);
      const end = Math.max(...image.segments.map((s) => s.addr + s.memSize));
      return {
        kind: "vmlinux",
        entry: image.entry,
        segments: image.segments,
        setupHeader: null,
        version: 0,
        initrdLimit: 0x80000000,
        cmdlineMax: 2047,
        end,
      };
    }
    if (file.length < 0x206) fail(`file is ${file.length} bytes, too short for a bzImage setup header`);
    fail('neither a bzImage (no "HdrS" setup header at 0x202 with boot flag 0xAA55) nor an ELF vmlinux');
  }
  // The magic fits in 0x206 bytes; every field read below lies before 0x26c.
  if (file.length < 0x26c) fail(`file is ${file.length} bytes, shorter than its setup header`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = dv.getUint16(BP.version, true);
  const vtext = `${version >> 8}.${(version & 0xff).toString().padStart(2, "0")}`;
  if (version < MIN_64BIT_PROTOCOL) {
    fail(`boot protocol ${vtext} has no 64-bit entry point (2.12 or later needed)`);
  }
  if ((dv.getUint16(BP.xloadflags, true) & XLF_KERNEL_64) === 0) {
    fail("the kernel has no 64-bit entry point (xloadflags bit XLF_KERNEL_64 clear)");
  }
  const headerEnd = 0x202 + file[0x201];
  if (headerEnd > file.length || headerEnd < 0x26c) {
    fail(`setup header end 0x${headerEnd.toString(16)} is bad`);
  }
  const setupSects = file[BP.setupSects] === 0 ? 4 : file[BP.setupSects];
  const pmStart = (setupSects + 1) * 512;
  if (pmStart >= file.length) {
    fail(`setup of ${setupSects} sectors leaves no protected-mode kernel in ${file.length} bytes`);
  }
  const syssize = dv.getUint32(BP.syssize, true) * 16;
  const pmSize = file.length - pmStart;
  if (syssize > pmSize) {
    fail(`syssize says ${syssize} bytes of protected-mode kernel; the file holds ${pmSize} (truncated?)`);
  }
  const initSize = dv.getUint32(BP.initSize, true);
  const pref = Number(dv.getBigUint64(BP.prefAddress, true));
  const relocatable = file[BP.relocatableKernel] !== 0;
  // The kernel decompresses itself to pref_address (or, if relocatable, where it was loaded) and
  // needs init_size bytes there.
  const runAt = relocatable ? BZIMAGE_LOAD_ADDRESS : pref;
  const end = Math.max(runAt + initSize, BZIMAGE_LOAD_ADDRESS + pmSize);
  if (end > ramBytes) {
    fail(
      `the kernel needs RAM up to 0x${end.toString(16)} while it starts (init_size ${
        formatSize(initSize)
      } at 0x${runAt.toString(16)}); ${formatSize(ramBytes)} is too small`,
    );
  }
  const initrdMax = dv.getUint32(BP.initrdAddrMax, true);
  return {
    kind: "bzImage",
    entry: BZIMAGE_LOAD_ADDRESS + 0x200,
    segments: [{ addr: BZIMAGE_LOAD_ADDRESS, data: file.subarray(pmStart), memSize: pmSize, flags: 7 }],
    setupHeader: file.slice(BP.setupHeader, headerEnd),
    version,
    initrdLimit: (initrdMax === 0 ? 0x37ffffff : initrdMax) + 1,
    cmdlineMax: version >= 0x0206 ? dv.getUint32(BP.cmdlineSize, true) : LINUX_CMDLINE_DEFAULT_MAX,
    end,
  };
}

/**
 * The e820 map of `ramBytes` of guest RAM: usable below the EBDA (0..0x9FC00), reserved from there to
 * 0xA0000 and for the BIOS area 0xF0000..1 MiB (as a PC has them, so Linux does not look for an MP
 * table or ACPI where there is none), usable from 1 MiB up to the end of RAM or the 32-bit MMIO hole
 * at 3 GiB, whichever comes first. RAM above 3 GiB is not reported (the machine maps RAM contiguously
 * from 0, so there is none above 4 GiB to report in its place).
 */
export function linuxE820Map(ramBytes: number): E820Entry[] {
  const top = Math.min(ramBytes, E820_MMIO_HOLE);
  return [
    { addr: 0, size: E820_EBDA_START, type: E820_RAM },
    { addr: E820_EBDA_START, size: 0xa0000 - E820_EBDA_START, type: E820_RESERVED },
    { addr: 0xf0000, size: 0x10000, type: E820_RESERVED },
    { addr: 0x100000, size: top - 0x100000, type: E820_RAM },
  ];
}

/** Options of {@link loadLinux}. */
export interface LinuxLoadOptions {
  /** The kernel command line. */
  cmdline: string;
  /** The initrd (initramfs) image, if any. */
  initrd?: Uint8Array;
}

/**
 * Loads `kernel` into `ram` (guest-physical 0..size, zero-filled), writes the zero page, command
 * line, initrd, GDT, TSS and page tables, and sets the CPU to the 64-bit entry state.
 * @throws RangeError with one line when the command line or initrd does not fit.
 */
export function loadLinux(
  cpu: Cpu,
  ram: Uint8Array,
  kernel: LinuxKernel,
  opts: LinuxLoadOptions,
): LinuxLayout {
  const size = ram.length;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const cmd = new TextEncoder().encode(opts.cmdline);
  if (cmd.length > kernel.cmdlineMax) {
    throw new RangeError(
      `kernel command line is ${cmd.length} bytes; this kernel takes at most ${kernel.cmdlineMax}`,
    );
  }
  for (const s of kernel.segments) {
    ram.fill(0, s.addr, s.addr + s.memSize);
    ram.set(s.data, s.addr);
  }
  ram.set(cmd, LINUX_CMDLINE);
  ram[LINUX_CMDLINE + cmd.length] = 0;

  // The initrd: page-aligned, as high as RAM, the kernel's limit and the e820 RAM allow.
  let initrd = { addr: 0, size: 0 };
  if (opts.initrd !== undefined && opts.initrd.length > 0) {
    const n = opts.initrd.length;
    const limit = Math.min(size, kernel.initrdLimit, E820_MMIO_HOLE);
    const addr = Math.floor((limit - n) / 4096) * 4096;
    if (addr < kernel.end) {
      throw new RangeError(
        `initrd of ${n} bytes does not fit between the kernel (up to 0x${kernel.end.toString(16)}) and ` +
          `0x${limit.toString(16)}; give the machine more memory`,
      );
    }
    ram.set(opts.initrd, addr);
    initrd = { addr, size: n };
  }

  // The zero page: the setup header copied, then what the loader fills in.
  const zp = LINUX_ZERO_PAGE;
  ram.fill(0, zp, zp + 0x1000);
  if (kernel.setupHeader !== null) ram.set(kernel.setupHeader, zp + BP.setupHeader);
  else {
    dv.setUint16(zp + BP.bootFlag, 0xaa55, true);
    dv.setUint32(zp + BP.header, SETUP_HEADER_MAGIC, true);
    dv.setUint32(zp + BP.kernelAlignment, 0x1000000, true);
  }
  ram[zp + BP.typeOfLoader] = LOADER_TYPE_UNDEFINED;
  ram[zp + BP.loadflags] |= 0x01; // LOADED_HIGH: the protected-mode kernel is at 0x100000
  dv.setUint32(zp + BP.code32Start, BZIMAGE_LOAD_ADDRESS, true);
  dv.setUint32(zp + BP.cmdLinePtr, LINUX_CMDLINE, true);
  dv.setUint32(zp + BP.cmdlineSize, kernel.cmdlineMax, true);
  dv.setUint32(zp + BP.ramdiskImage, initrd.addr, true);
  dv.setUint32(zp + BP.ramdiskSize, initrd.size, true);
  const e820 = linuxE820Map(size);
  ram[zp + BP.e820Entries] = e820.length;
  e820.forEach((e, k) => {
    const at = zp + BP.e820Table + 20 * k;
    dv.setBigUint64(at, BigInt(e.addr), true);
    dv.setBigUint64(at + 8, BigInt(e.size), true);
    dv.setUint32(at + 16, e.type, true);
  });

  // GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18), TSS (0x20, 16 bytes).
  ram.fill(0, LINUX_GDT, LINUX_GDT + 0x30);
  dv.setBigUint64(LINUX_GDT + LINUX_BOOT_CS, 0x00af9b000000ffffn, true);
  dv.setBigUint64(LINUX_GDT + LINUX_BOOT_DS, 0x00cf93000000ffffn, true);
  const [tssLo, tssHi] = tssDescriptor(LINUX_TSS);
  dv.setBigUint64(LINUX_GDT + LINUX_BOOT_TR, tssLo, true);
  dv.setBigUint64(LINUX_GDT + LINUX_BOOT_TR + 8, tssHi, true);
  ram.fill(0, LINUX_TSS, LINUX_TSS + 0x68);
  dv.setUint16(LINUX_TSS + 0x66, 0x68, true); // no I/O permission bitmap

  writeIdentityMap(ram, LINUX_PML4);
  enterLongMode(cpu, {
    cr0: CR0_PE | CR0_ET | CR0_NE | CR0_PG,
    cr4: CR4_PAE,
    efer: EFER_LME | EFER_LMA,
    cr3: LINUX_PML4,
    gdt: LINUX_GDT,
    gdtLimit: LINUX_BOOT_TR + 15,
    cs: LINUX_BOOT_CS,
    ds: LINUX_BOOT_DS,
    tr: LINUX_BOOT_TR,
    tss: LINUX_TSS,
  });
  cpu.setReg64(RSI, BigInt(zp));
  cpu.setReg64(RSP, BigInt(LINUX_BOOT_STACK));
  cpu.rip = kernel.entry;
  cpu.flushTlb();
  const start = Math.min(...kernel.segments.map((s) => s.addr));
  return {
    kind: kernel.kind,
    entry: kernel.entry,
    kernel: { start, end: kernel.end },
    zeroPage: zp,
    cmdline: LINUX_CMDLINE,
    initrd,
    e820,
  };
}

/** Leading bytes of the formats an initrd may have: a newc/CRC cpio archive or one compressed. */
const INITRD_MAGICS: readonly [string, number[]][] = [
  ["cpio", [0x30, 0x37, 0x30, 0x37, 0x30]], // "07070" (newc 070701, crc 070702)
  ["gzip", [0x1f, 0x8b]],
  ["gzip", [0x1f, 0x9e]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lzma", [0x5d, 0x00, 0x00]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["lzo", [0x89, 0x4c, 0x5a, 0x4f]],
  ["lz4", [0x02, 0x21, 0x4c, 0x18]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
];

/**
 * The format of an initrd (an initramfs: cpio "newc", raw or compressed, as the kernel's
 * init/initramfs.c and lib/decompress.c recognise them).
 * @throws RangeError with one line when `data` is empty or none of them.
 */
export function initrdFormat(data: Uint8Array, name = "initrd"): string {
  if (data.length === 0) throw new RangeError(`Cannot load ${name}: it is empty`);
  for (const [format, magic] of INITRD_MAGICS) {
    if (magic.every((b, k) => data[k] === b)) return format;
  }
  throw new RangeError(
    `Cannot load ${name}: not an initramfs (neither a cpio archive nor gzip, bzip2, lzma, xz, lzo, lz4 ` +
      `or zstd data)`,
  );
}

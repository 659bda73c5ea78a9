/**
 * ELF64 loading under boot protocol version 1 (docs/boot-protocol.md): an x86-64 ET_EXEC whose PT_LOAD
 * segments lie in guest RAM at or above 1 MiB (ELF-64 Object File Format, v1.5).
 *
 * @module
 */

/** Lowest guest-physical address a segment may use; below it is the loader's. */
export const LOAD_FLOOR = 0x100000;

/** A segment to copy into guest RAM. */
export interface LoadSegment {
  /** Guest-physical (= virtual, identity-mapped) address. */
  addr: number;
  /** Bytes from the file. */
  data: Uint8Array;
  /** Size in memory (the rest, up to it, is zero). */
  memSize: number;
  /** p_flags: PF_X 1, PF_W 2, PF_R 4. */
  flags: number;
}

/** A parsed guest image. */
export interface GuestImage {
  /** Entry point. */
  entry: number;
  /** Segments to load. */
  segments: LoadSegment[];
}

/**
 * Parses an ELF64 x86-64 executable and checks that it fits `ramBytes` of guest RAM. Segments are
 * placed at their virtual addresses (p_vaddr; an hvsim guest is identity-mapped), or with
 * `physical` at their physical ones (p_paddr; a Linux vmlinux, linked high, loads low).
 * @throws RangeError with one line saying what is wrong.
 */
export function parseElf(file: Uint8Array, ramBytes: number, name = "guest", physical = false): GuestImage {
  const fail = (what: string): never => {
    throw new RangeError(`Cannot load ${name}: ${what}`);
  };
  if (file.length < 64) fail(`file is ${file.length} bytes, too short for an ELF header (64)`);
  if (file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    fail("not an ELF file (bad magic; expected 7f 45 4c 46)");
  }
  if (file[4] !== 2) fail(`not ELF64 (EI_CLASS ${file[4]}, expected 2)`);
  if (file[5] !== 1) fail(`not little-endian (EI_DATA ${file[5]}, expected 1)`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== 62) fail(`not x86-64 (e_machine ${machine}, expected 62)`);
  if (type !== 2) fail(`not an executable (e_type ${type}, expected ET_EXEC 2; link with -static -no-pie)`);
  const entry = num(dv, 24, fail);
  const phoff = num(dv, 32, fail);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56) fail(`program header entries are ${phentsize} bytes, expected 56`);
  if (phoff + phnum * phentsize > file.length) fail("program headers lie outside the file");
  const segments: LoadSegment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD only
    const offset = num(dv, o + 8, fail);
    const paddr = num(dv, o + (physical ? 24 : 16), fail);
    const filesz = num(dv, o + 32, fail);
    const memsz = num(dv, o + 40, fail);
    if (memsz === 0) continue;
    if (filesz > memsz) {
      fail(`segment ${k} has p_filesz 0x${filesz.toString(16)} > p_memsz 0x${memsz.toString(16)}`);
    }
    if (offset + filesz > file.length) fail(`segment ${k} data lies outside the file`);
    const range = `0x${paddr.toString(16)}..0x${(paddr + memsz).toString(16)}`;
    if (paddr < LOAD_FLOOR) fail(`segment ${range} lies below 1 MiB (reserved for the loader)`);
    if (paddr + memsz > ramBytes) fail(`segment ${range} lies outside ${formatSize(ramBytes)} of RAM`);
    const flags = dv.getUint32(o + 4, true);
    segments.push({ addr: paddr, data: file.subarray(offset, offset + filesz), memSize: memsz, flags });
  }
  if (segments.length === 0) fail("no PT_LOAD segment");
  const inside = segments.some((s) => entry >= s.addr && entry < s.addr + s.memSize);
  if (!inside) fail(`entry point 0x${entry.toString(16)} is not inside a loaded segment`);
  return { entry, segments };
}

function num(dv: DataView, at: number, fail: (w: string) => never): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`field at offset ${at} is too large (0x${v.toString(16)})`);
  return Number(v);
}

/** "64 MiB", "1 GiB", "4096 bytes". */
export function formatSize(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * Parses a size such as `64M`, `1G`, `512K`, `65536` (binary units).
 * @throws RangeError naming the bad text.
 */
export function parseSize(text: string, what = "size"): number {
  const m = /^(\d+)([KMG]i?B?|B)?$/i.exec(text.trim());
  if (!m) throw new RangeError(`Bad ${what} "${text}": expected a number with an optional K, M or G suffix`);
  const unit = (m[2] ?? "").toUpperCase()[0];
  const mult = unit === "K" ? 1024 : unit === "M" ? 2 ** 20 : unit === "G" ? 2 ** 30 : 1;
  return Number(m[1]) * mult;
}

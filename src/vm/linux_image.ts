/**
 * Where a Linux kernel lies in guest-physical memory once it runs: its code, rodata, data and bss,
 * and the parts it gives back to the page allocator at the end of boot (its init memory, the gaps
 * between its segments, the unused brk), from the sections and segments of its ELF image (see
 * {@link vmlinuxRanges}). For a `vmlinux` that is the file itself; a `bzImage` carries it compressed as its
 * payload (boot.rst, "payload_offset" and "payload_length"), which this module decompresses when it
 * is LZ4 (the kernel's legacy LZ4 format, lib/decompress_unlz4.c) or gzip. The kernel's own
 * /proc/iomem names the same ranges ("Kernel code", "Kernel data", "Kernel bss").
 *
 * The loader does not need any of it (the kernel decompresses itself); reports do, to tell the
 * kernel's pages from the memory it hands out.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
import { type MemoryMapRegion, segmentFlagsText } from "./memory_map.ts";
import { isBzImage, type LinuxLayout, parseLinuxKernel } from "./linux_loader.ts";

/** A part of the running kernel's image. */
export interface KernelImageRange {
  /** e.g. "kernel code", "kernel init (freed at boot)", "kernel bss". */
  name: string;
  /** Whether the kernel gives it back to the page allocator at the end of boot (its init memory). */
  freed: boolean;
  /** First byte, guest-physical. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** The legacy LZ4 format's magic (lib/decompress_unlz4.c, ARCHIVE_MAGICNUMBER). */
const LZ4_LEGACY_MAGIC = 0x184c2102;
/** The most a legacy LZ4 block decompresses to (LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE). */
const LZ4_LEGACY_BLOCK = 8 << 20;
/** Offsets of payload_offset and payload_length in a bzImage (setup header, protocol 2.08). */
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;

/**
 * Decompresses one LZ4 block (the LZ4 block format: sequences of a token, literals and a match of
 * at least 4 bytes at a 16-bit offset back) into `out` at `at`; returns where the output ends.
 * @throws RangeError on a block that reads or writes out of bounds.
 */
export function lz4Block(src: Uint8Array, out: Uint8Array, at: number): number {
  let ip = 0, op = at;
  const bad = (): never => {
    throw new RangeError("malformed LZ4 block");
  };
  while (ip < src.length) {
    const token = src[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b;
      do {
        if (ip >= src.length) bad();
        b = src[ip++];
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > src.length || op + lit > out.length) bad();
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip === src.length) break; // the last sequence has literals only
    if (ip + 2 > src.length) bad();
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b;
      do {
        if (ip >= src.length) bad();
        b = src[ip++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (offset === 0 || offset > op - at || op + len > out.length) bad();
    for (let k = 0; k < len; k++, op++) out[op] = out[op - offset];
  }
  return op;
}

/**
 * Decompresses the kernel's legacy LZ4 stream (magic, then blocks each with a 32-bit little-endian
 * compressed length) into `size` bytes; a trailing 32-bit length, as the kernel build appends, ends it.
 * @throws RangeError when it is not one or the output does not come to `size` bytes.
 */
export function unlz4Legacy(src: Uint8Array, size: number): Uint8Array {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 4 || dv.getUint32(0, true) !== LZ4_LEGACY_MAGIC) throw new RangeError("not legacy LZ4");
  const out = new Uint8Array(size);
  let ip = 4, op = 0;
  while (ip + 4 <= src.length) {
    const n = dv.getUint32(ip, true);
    ip += 4;
    if (n === LZ4_LEGACY_MAGIC) continue;
    if (ip + n > src.length) break; // the appended size field
    const block = out.subarray(0, Math.min(size, op + LZ4_LEGACY_BLOCK));
    op = lz4Block(src.subarray(ip, ip + n), block, op);
    ip += n;
  }
  if (op !== size) throw new RangeError(`LZ4 stream gives ${op} bytes, expected ${size}`);
  return out;
}

/** The ELF image inside a bzImage (its decompressed payload), or null when it is not LZ4 or gzip. */
export function bzImagePayload(file: Uint8Array): Uint8Array | null {
  if (!isBzImage(file) || file.length < PAYLOAD_LENGTH + 4) return null;
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const setupSects = file[0x1f1] === 0 ? 4 : file[0x1f1];
  const start = (setupSects + 1) * 512 + dv.getUint32(PAYLOAD_OFFSET, true);
  const length = dv.getUint32(PAYLOAD_LENGTH, true);
  if (length < 8 || start + length > file.length) return null;
  const payload = file.subarray(start, start + length);
  // The build appends the decompressed length (32-bit little-endian) to every payload.
  const size = new DataView(payload.buffer, payload.byteOffset + length - 4, 4).getUint32(0, true);
  try {
    if (payload[0] === 0x1f && payload[1] === 0x8b) return new Uint8Array(gunzipSync(payload));
    if (dv.getUint32(start, true) === LZ4_LEGACY_MAGIC) return unlz4Legacy(payload, size);
  } catch {
    return null;
  }
  return null;
}

/**
 * The running kernel's image from an ELF64 vmlinux, by physical address. With section headers (a
 * vmlinux keeps them, and so does a bzImage's payload): "kernel code" (`.text`, /proc/iomem's
 * "Kernel code"), "kernel rodata" (from `.rodata` to the end of its segment), "kernel data" (the
 * segment of `.data`), "kernel init" (from `.init.text` up to `.bss`: freed at the end of boot),
 * "kernel bss" (`.bss`, "Kernel bss") and "kernel brk" (`.brk`, whose unused part the kernel never
 * reserves, so the page allocator hands it out too). The gaps between them (the text/rodata and
 * rodata/data gaps) are freed at boot as well and are left out. Without section headers, each
 * `PT_LOAD` segment whole. Null when `elf` is not an ELF64 with loadable segments.
 */
export function vmlinuxRanges(elf: Uint8Array): KernelImageRange[] | null {
  if (elf.length < 64 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    return null;
  }
  if (elf[4] !== 2 || elf[5] !== 1) return null;
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const phoff = Number(u64(0x20)), phentsize = dv.getUint16(0x36, true), phnum = dv.getUint16(0x38, true);
  if (phentsize < 56 || phoff + phnum * phentsize > elf.length) return null;
  const loads: { flags: number; vaddr: bigint; paddr: number; memsz: number }[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
    const memsz = Number(u64(o + 40));
    if (memsz > 0) {
      loads.push({ flags: dv.getUint32(o + 4, true), vaddr: u64(o + 16), paddr: Number(u64(o + 24)), memsz });
    }
  }
  if (loads.length === 0) return null;
  loads.sort((a, b) => a.paddr - b.paddr);
  const sections = elfSections(elf, dv);
  // A section's physical address and the end of the segment that holds it.
  const place = (name: string) => {
    const sec = sections.get(name);
    const l = sec && loads.find((l) => sec.addr >= l.vaddr && sec.addr < l.vaddr + BigInt(l.memsz));
    if (sec === undefined || l === undefined) return null;
    const start = l.paddr + Number(sec.addr - l.vaddr);
    return { start, end: Math.min(start + sec.size, l.paddr + l.memsz), segmentEnd: l.paddr + l.memsz };
  };
  const text = place(".text"), rodata = place(".rodata"), data = place(".data");
  const init = place(".init.text"), bss = place(".bss"), brk = place(".brk");
  if (text === null || data === null || bss === null) {
    return loads.map((l) => ({
      name: `kernel ${segmentFlagsText(l.flags)}`,
      freed: false,
      start: l.paddr,
      end: l.paddr + l.memsz,
    }));
  }
  const out: KernelImageRange[] = [{ name: "kernel code", freed: false, start: text.start, end: text.end }];
  if (rodata !== null) {
    out.push({ name: "kernel rodata", freed: false, start: rodata.start, end: rodata.segmentEnd });
  }
  out.push({ name: "kernel data", freed: false, start: data.start, end: data.segmentEnd });
  if (init !== null && init.start < bss.start) {
    out.push({ name: "kernel init (freed at boot)", freed: true, start: init.start, end: bss.start });
  }
  const bssEnd = brk !== null && brk.start >= bss.start ? brk.start : bss.segmentEnd;
  out.push({ name: "kernel bss", freed: false, start: bss.start, end: bssEnd });
  if (brk !== null && brk.start >= bss.start) {
    out.push({
      name: "kernel brk (its unused part freed at boot)",
      freed: true,
      start: brk.start,
      end: brk.segmentEnd,
    });
  }
  return out.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
}

/** The sections of an ELF64 by name: address and size (empty without section headers). */
function elfSections(elf: Uint8Array, dv: DataView): Map<string, { addr: bigint; size: number }> {
  const out = new Map<string, { addr: bigint; size: number }>();
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true), shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  if (shoff === 0 || shentsize < 64 || shstrndx >= shnum || shoff + shnum * shentsize > elf.length) {
    return out;
  }
  const strOff = Number(dv.getBigUint64(shoff + shstrndx * shentsize + 0x18, true));
  const dec = new TextDecoder();
  for (let k = 0; k < shnum; k++) {
    const o = shoff + k * shentsize;
    const at = strOff + dv.getUint32(o, true);
    if (at >= elf.length) continue;
    const nul = elf.indexOf(0, at);
    const name = dec.decode(elf.subarray(at, nul < 0 ? elf.length : nul));
    if (!out.has(name)) {
      out.set(name, { addr: dv.getBigUint64(o + 0x10, true), size: Number(dv.getBigUint64(o + 0x20, true)) });
    }
  }
  return out;
}

/** The running kernel's image for a bzImage or vmlinux file; null when it cannot be read from it. */
export function kernelImageRanges(file: Uint8Array): KernelImageRange[] | null {
  return vmlinuxRanges(isBzImage(file) ? bzImagePayload(file) ?? new Uint8Array(0) : file);
}

/**
 * The labelled memory of a Linux guest booted from `kernel` (the bzImage or vmlinux file) as the
 * loader laid it out (`layout`): the zero page, the command line (`cmdlineBytes` long, NUL
 * excluded), the initrd, and the running kernel's image (see {@link kernelImageRanges}; kind
 * "kernel", or "freed" for what it hands back to the page allocator at boot) with, for a bzImage,
 * where the loader put it compressed. When the image cannot be read from the file, the kernel's
 * load area instead. Sorted by start.
 */
export function linuxMemoryMap(
  kernel: Uint8Array,
  layout: LinuxLayout,
  ramBytes: number,
  cmdlineBytes: number,
): MemoryMapRegion[] {
  const l = layout;
  const regions: MemoryMapRegion[] = [
    { name: "zero page", kind: "boot", start: l.zeroPage, end: l.zeroPage + 0x1000 },
    { name: "command line", kind: "boot", start: l.cmdline, end: l.cmdline + cmdlineBytes + 1 },
  ];
  const image = kernelImageRanges(kernel);
  if (image === null) {
    regions.push({ name: `Linux ${l.kind}`, kind: "kernel", start: l.kernel.start, end: l.kernel.end });
  } else {
    for (const r of image) {
      regions.push({ name: r.name, kind: r.freed ? "freed" : "kernel", start: r.start, end: r.end });
    }
    if (l.kind === "bzImage") {
      // Where the loader put the compressed kernel; it decompresses itself to its run address.
      const loaded = parseLinuxKernel(kernel, ramBytes).segments[0];
      regions.push({
        name: "bzImage as loaded (freed at boot)",
        kind: "freed",
        start: loaded.addr,
        end: loaded.addr + loaded.memSize,
      });
    }
  }
  if (l.initrd.size > 0) {
    regions.push({
      name: "initrd (freed once unpacked)",
      kind: "boot",
      start: l.initrd.addr,
      end: l.initrd.addr + l.initrd.size,
    });
  }
  return regions.sort((a, b) => a.start - b.start);
}

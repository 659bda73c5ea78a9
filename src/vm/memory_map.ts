/**
 * A guest's memory map for reports: its ELF segments, the structures boot protocol 1 puts below
 * 1 MiB (GDT, TSS, command line, page tables) and its stack (RSP starts at the top of RAM).
 *
 * @module
 */

import { bootLayout } from "./boot.ts";
import type { GuestImage } from "./elf.ts";

/** A labelled range of guest-physical memory. */
export interface MemoryMapRegion {
  /** Label, e.g. "ELF R-X" or "page tables". */
  name: string;
  /**
   * What it is: an ELF segment, the stack, the boot page tables, another structure the loader
   * wrote (zero page, command line, initrd), a part of a running Linux kernel's image, or a part
   * the loader or kernel placed that the kernel hands back to its page allocator during boot.
   */
  kind: "elf" | "stack" | "page-tables" | "boot" | "kernel" | "freed";
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** "R-X" style text of ELF p_flags (PF_R 4, PF_W 2, PF_X 1). */
export function segmentFlagsText(flags: number): string {
  return (flags & 4 ? "R" : "-") + (flags & 2 ? "W" : "-") + (flags & 1 ? "X" : "-");
}

/**
 * The regions of a guest loaded from `image` into `ramBytes` of RAM. With `rsp` (the stack
 * pointer at some moment), the stack is labelled from its page up to the top of RAM.
 */
export function guestMemoryMap(image: GuestImage, ramBytes: number, rsp?: number): MemoryMapRegion[] {
  const out: MemoryMapRegion[] = bootLayout(ramBytes).map((r) => ({
    name: r.name,
    kind: r.name === "page tables" ? "page-tables" : "boot",
    start: r.start,
    end: r.end,
  }));
  for (const s of image.segments) {
    out.push({
      name: `ELF ${segmentFlagsText(s.flags)} 0x${s.addr.toString(16)}`,
      kind: "elf",
      start: s.addr,
      end: s.addr + s.memSize,
    });
  }
  if (rsp !== undefined && rsp > 0 && rsp <= ramBytes) {
    const start = Math.min(Math.floor(rsp / 4096) * 4096, ramBytes - 4096);
    out.push({ name: "stack", kind: "stack", start, end: ramBytes });
  }
  return out.sort((a, b) => a.start - b.start);
}

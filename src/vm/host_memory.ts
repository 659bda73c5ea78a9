/**
 * Host memory for guest RAM: allocate it, advising transparent huge pages where the host supports it.
 *
 * QEMU calls `madvise(MADV_HUGEPAGE)` on guest RAM so that Linux backs it with 2 MiB pages: one page
 * fault and one TLB entry per 2 MiB instead of per 4 KiB. That matters most when fresh RAM is first
 * written all over, as a snapshot restore or an incoming migration does. The advice goes through
 * Deno's FFI to libc; without `--allow-ffi`, without glibc's `libc.so.6`, or on a host other than
 * Linux, the memory is a plain allocation and nothing fails.
 *
 * The advice is off unless asked for. Each huge page is zeroed whole by the kernel on its first
 * touch, and on a host that is itself a VM returning free memory to its hypervisor (free page
 * reporting, as in Firecracker microVMs) those zeroes fault in 4 KiB at a time one level down: there,
 * writing 65,536 pages 16 KiB apart into a fresh 1 GiB took 0.1 s with huge pages when the memory
 * had just been freed, but 2.3 s after a few idle seconds, against 0.3 s either way with 4 KiB pages.
 *
 * @module
 */

import { SharedMemory } from "../cpu/unified_memory.ts";

/** Size of a transparent huge page on x86-64 Linux (PMD-mapped, 2 MiB). */
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

/** `MADV_HUGEPAGE` (Linux `include/uapi/asm-generic/mman-common.h`). */
export const MADV_HUGEPAGE = 14;

/** Options of {@link allocateGuestMemory}. */
export interface GuestMemoryOptions {
  /** Advise huge pages for the memory (default false). */
  hugePages?: boolean;
}

/**
 * Zeroed memory of `bytes` bytes for guest RAM, advised as huge pages if `hugePages` is true
 * (see {@link adviseHugePages}; if the advice is not possible, the memory is a plain allocation).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { allocateGuestMemory } from "./host_memory.ts";
 * const mem = allocateGuestMemory(8 * 1024 * 1024, { hugePages: true });
 * equal(mem.length, 8 * 1024 * 1024);
 * equal(mem[0] | mem[mem.length - 1], 0);
 * ```
 */
export function allocateGuestMemory(bytes: number, opts: GuestMemoryOptions = {}): Uint8Array {
  const mem = new Uint8Array(bytes);
  if (opts.hugePages ?? false) adviseHugePages(mem);
  return mem;
}

/**
 * Zeroed host memory of `bytes` bytes in one WebAssembly memory with the CPU's state area after it
 * (see {@link SharedMemory}), advised as huge pages if `hugePages` is true (as
 * {@link allocateGuestMemory}).
 */
export function allocateSharedMemory(bytes: number, opts: GuestMemoryOptions = {}): SharedMemory {
  const shared = new SharedMemory(bytes);
  if (opts.hugePages ?? false) adviseHugePages(shared.bytes);
  return shared;
}

/**
 * Advise Linux to back the 2 MiB-aligned interior of `mem` with transparent huge pages
 * (`madvise(MADV_HUGEPAGE)`), as QEMU does for guest RAM. Call it before anything touches the memory:
 * pages already faulted in stay small until khugepaged collapses them. The advice belongs to the
 * address range, not the buffer: if the allocator keeps the memory after the buffer is freed, a later
 * allocation there is advised too.
 *
 * @returns the number of bytes advised: a multiple of {@link HUGE_PAGE_SIZE}, 0 when the region
 * holds no whole aligned huge page or the advice is not possible (not Linux, FFI not granted, no
 * `libc.so.6`, madvise refused).
 */
export function adviseHugePages(mem: Uint8Array): number {
  if (mem.byteLength < HUGE_PAGE_SIZE || !ffiAvailable()) return 0;
  let lib: Deno.DynamicLibrary<{ madvise: { parameters: ["pointer", "usize", "i32"]; result: "i32" } }>;
  try {
    lib = Deno.dlopen("libc.so.6", { madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" } });
  } catch {
    return 0;
  }
  try {
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(mem));
    const start = alignUp(BigInt(base), BigInt(HUGE_PAGE_SIZE));
    const end = alignDown(BigInt(base) + BigInt(mem.byteLength), BigInt(HUGE_PAGE_SIZE));
    if (end <= start) return 0;
    const rc = lib.symbols.madvise(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE);
    return rc === 0 ? Number(end - start) : 0;
  } catch {
    return 0;
  } finally {
    lib.close();
  }
}

/** Linux, with FFI granted already (never prompts). */
function ffiAvailable(): boolean {
  if (Deno.build.os !== "linux" || typeof Deno.dlopen !== "function") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

function alignUp(x: bigint, a: bigint): bigint {
  return (x + a - 1n) / a * a;
}

function alignDown(x: bigint, a: bigint): bigint {
  return x / a * a;
}

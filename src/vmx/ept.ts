/**
 * Extended page tables (SDM Vol. 3, §28.2): the EPTP and paging-structure entry formats, a builder for
 * identity-style tables in host memory, and the 4-level walk with accessed/dirty flags,
 * page-modification logging, EPT violations and misconfigurations.
 *
 * All addresses are numbers (host-physical and guest-physical addresses stay below 2^53); entries
 * are read and written as two little-endian u32 halves, so a walk allocates no BigInt.
 *
 * @module
 */

import {
  EPT_CAP_1GB_PAGES,
  EPT_CAP_2MB_PAGES,
  EPT_CAP_EXECUTE_ONLY,
  HVSIM_VMX_CAPABILITIES,
  type VmxCapabilities,
} from "./capabilities.ts";
import { encodeEptViolationQualification } from "./qualifications.ts";

/** EPT entry bit 0: read access (SDM Vol. 3, §28.2.2). */
export const EPT_READ = 0x1;
/** EPT entry bit 1: write access (SDM Vol. 3, §28.2.2). */
export const EPT_WRITE = 0x2;
/** EPT entry bit 2: execute access (SDM Vol. 3, §28.2.2). */
export const EPT_EXECUTE = 0x4;
/** EPT entry bits 2:0 all set. */
export const EPT_RWX = 0x7;
/** EPT leaf bits 5:3: memory type (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_SHIFT = 3;
/** EPT leaf bit 6: ignore PAT (SDM Vol. 3, §28.2.2). */
export const EPT_IGNORE_PAT = 0x40;
/** EPT PDPTE/PDE bit 7: maps a 1 GiB / 2 MiB page (SDM Vol. 3, §28.2.2). */
export const EPT_LARGE_PAGE = 0x80;
/** EPT entry bit 8: accessed flag, with EPTP[6] (SDM Vol. 3, §28.2.4). */
export const EPT_ACCESSED = 0x100;
/** EPT leaf bit 9: dirty flag, with EPTP[6] (SDM Vol. 3, §28.2.4). */
export const EPT_DIRTY = 0x200;

/** EPT memory type 0: uncacheable (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_UC = 0;
/** EPT memory type 1: write combining (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_WC = 1;
/** EPT memory type 4: write through (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_WT = 4;
/** EPT memory type 5: write protected (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_WP = 5;
/** EPT memory type 6: write back (SDM Vol. 3, §28.2.2). */
export const EPT_MEMTYPE_WB = 6;

/** EPTP bits 2:0: memory type of the paging structures (SDM Vol. 3, §24.6.11). */
export const EPTP_MEMTYPE_MASK = 0x7;
/** EPTP bits 5:3: walk length minus 1 (SDM Vol. 3, §24.6.11). */
export const EPTP_WALK_LENGTH_SHIFT = 3;
/** EPTP bit 6: enable accessed and dirty flags (SDM Vol. 3, §24.6.11). */
export const EPTP_AD_ENABLE = 0x40;

/** Access bit 0: data read (same bit as EPT-violation qualification bit 0, SDM Vol. 3, Table 27-7). */
export const EPT_ACCESS_READ = 0x1;
/** Access bit 1: data write (qualification bit 1). */
export const EPT_ACCESS_WRITE = 0x2;
/** Access bit 2: instruction fetch (qualification bit 2). */
export const EPT_ACCESS_FETCH = 0x4;

/** Number of 8-byte entries in the PML log (SDM Vol. 3, §28.2.5). */
export const PML_ENTRIES = 512;
/** The PML index software starts with (KVM's PML_HEAD_INDEX; SDM Vol. 3, §28.2.5). */
export const PML_HEAD_INDEX = 511;

const PAGE = 4096;
const SIZE_2M = 2 ** 21;
const SIZE_1G = 2 ** 30;
const TWO32 = 2 ** 32;

function read32(mem: Uint8Array, a: number): number {
  return (mem[a] | (mem[a + 1] << 8) | (mem[a + 2] << 16) | (mem[a + 3] << 24)) >>> 0;
}

function write32(mem: Uint8Array, a: number, v: number): void {
  mem[a] = v & 0xff;
  mem[a + 1] = (v >>> 8) & 0xff;
  mem[a + 2] = (v >>> 16) & 0xff;
  mem[a + 3] = (v >>> 24) & 0xff;
}

/** Reads a 64-bit EPT entry as a bigint (for tests and tools; the walk itself avoids BigInt). */
export function readEptEntry(mem: Uint8Array, address: number): bigint {
  return (BigInt(read32(mem, address + 4)) << 32n) | BigInt(read32(mem, address));
}

/** Writes a 64-bit EPT entry. */
export function writeEptEntry(mem: Uint8Array, address: number, entry: bigint): void {
  write32(mem, address, Number(entry & 0xffffffffn));
  write32(mem, address + 4, Number((entry >> 32n) & 0xffffffffn));
}

/**
 * Builds an EPTP (SDM Vol. 3, §24.6.11): PML4 address, memory type, 4-level walk, A/D enable.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { makeEptp } from "./ept.ts";
 * equal(makeEptp(0x5000, { accessedDirty: true }), 0x505e); // WB | (3 << 3) | bit 6
 * ```
 */
export function makeEptp(pml4: number, opts: { memType?: number; accessedDirty?: boolean } = {}): number {
  if (pml4 % PAGE !== 0) throw new RangeError(`EPT PML4 address 0x${pml4.toString(16)} is not 4 KiB aligned`);
  return pml4 + (opts.memType ?? EPT_MEMTYPE_WB) + (3 << EPTP_WALK_LENGTH_SHIFT) +
    (opts.accessedDirty ? EPTP_AD_ENABLE : 0);
}

/** Decoded EPTP. */
export interface EptpInfo {
  /** Memory type of the paging structures. */
  memType: number;
  /** Number of levels (walk length). */
  levels: number;
  /** Accessed/dirty flags enabled. */
  accessedDirty: boolean;
  /** Host-physical address of the PML4 table. */
  pml4: number;
}

/** Decodes an EPTP (SDM Vol. 3, §24.6.11). */
export function decodeEptp(eptp: number): EptpInfo {
  const low = eptp % PAGE;
  return {
    memType: low & EPTP_MEMTYPE_MASK,
    levels: ((low >>> EPTP_WALK_LENGTH_SHIFT) & 7) + 1,
    accessedDirty: (low & EPTP_AD_ENABLE) !== 0,
    pml4: eptp - low,
  };
}

/** Options of `buildIdentityEpt`. */
export interface IdentityEptOptions {
  /** Host-physical address where the tables go (4 KiB aligned); they are zeroed first. */
  tableBase: number;
  /** Guest-physical 0 maps to this host-physical address. */
  hostBase: number;
  /** Bytes of guest-physical memory to map from 0 (a multiple of 4 KiB). */
  size: number;
  /** Largest leaf to use: 4096, 2 MiB or 1 GiB (default 4096). Smaller leaves cover the tail. */
  pageSize?: number;
  /** Leaf permissions, bits 2:0 (default RWX). */
  permissions?: number;
  /** Leaf memory type (default WB). */
  memType?: number;
  /** Capabilities (large-page support). Default: hvsim's. */
  caps?: VmxCapabilities;
}

/** Result of `buildIdentityEpt`. */
export interface IdentityEpt {
  /** Address of the PML4 table (= tableBase). */
  pml4: number;
  /** First byte after the tables. */
  end: number;
}

/** Bytes of table space `buildIdentityEpt` needs for a mapping. */
export function identityEptTableBytes(size: number, pageSize = PAGE): number {
  const pdpts = Math.ceil(size / 2 ** 39);
  const pds = pageSize >= SIZE_1G ? Math.ceil((size % SIZE_1G) / SIZE_1G) : Math.ceil(size / SIZE_1G);
  const pts = pageSize >= SIZE_2M ? Math.ceil((size % SIZE_2M) / SIZE_2M) : Math.ceil(size / SIZE_2M);
  return (1 + pdpts + pds + pts) * PAGE;
}

/**
 * Builds 4-level EPT tables in host memory mapping guest-physical [0, size) to host-physical
 * [hostBase, hostBase + size), using leaves up to `pageSize` where the range allows, non-leaf entries
 * RWX, leaves with `permissions` and `memType`, A/D flags clear. Throws a RangeError for a bad
 * alignment or tables that do not fit in `mem`.
 */
export function buildIdentityEpt(mem: Uint8Array, opts: IdentityEptOptions): IdentityEpt {
  const pageSize = opts.pageSize ?? PAGE;
  const caps = opts.caps ?? HVSIM_VMX_CAPABILITIES;
  const perms = opts.permissions ?? EPT_RWX;
  const leafLow = perms | ((opts.memType ?? EPT_MEMTYPE_WB) << EPT_MEMTYPE_SHIFT);
  if (pageSize !== PAGE && pageSize !== SIZE_2M && pageSize !== SIZE_1G) {
    throw new RangeError(`EPT page size ${pageSize}: expected 4096, 2 MiB or 1 GiB`);
  }
  if (pageSize === SIZE_2M && (caps.eptVpidCap & EPT_CAP_2MB_PAGES) === 0n) {
    throw new RangeError("EPT page size 2 MiB is not supported by the capabilities");
  }
  if (pageSize === SIZE_1G && (caps.eptVpidCap & EPT_CAP_1GB_PAGES) === 0n) {
    throw new RangeError("EPT page size 1 GiB is not supported by the capabilities");
  }
  if (opts.tableBase % PAGE !== 0 || opts.size % PAGE !== 0 || opts.hostBase % pageSize !== 0) {
    throw new RangeError(
      `Cannot build EPT: table base 0x${
        opts.tableBase.toString(16)
      } and size ${opts.size} must be 4 KiB aligned, ` +
        `host base 0x${opts.hostBase.toString(16)} aligned to the ${pageSize}-byte page size`,
    );
  }
  const need = identityEptTableBytes(opts.size, pageSize);
  if (opts.tableBase + need > mem.length) {
    throw new RangeError(
      `Cannot build EPT: ${need} bytes of tables at 0x${opts.tableBase.toString(16)} exceed host memory`,
    );
  }
  let next = opts.tableBase;
  const alloc = (): number => {
    const t = next;
    mem.fill(0, t, t + PAGE);
    next += PAGE;
    return t;
  };
  const set = (at: number, address: number, low: number): void => {
    write32(mem, at, ((address % TWO32) + low) >>> 0);
    write32(mem, at + 4, Math.floor(address / TWO32));
  };
  const pml4 = alloc();
  const tableAt = (parent: number, index: number): number => {
    const at = parent + index * 8;
    if ((read32(mem, at) & EPT_RWX) !== 0) {
      return (read32(mem, at + 4) & 0xfffff) * TWO32 + ((read32(mem, at) & 0xfffff000) >>> 0);
    }
    const t = alloc();
    set(at, t, EPT_RWX);
    return t;
  };
  for (let gpa = 0; gpa < opts.size;) {
    const hpa = opts.hostBase + gpa;
    const pdpt = tableAt(pml4, Math.floor(gpa / 2 ** 39) % 512);
    const i3 = Math.floor(gpa / SIZE_1G) % 512;
    if (pageSize === SIZE_1G && gpa % SIZE_1G === 0 && gpa + SIZE_1G <= opts.size) {
      set(pdpt + i3 * 8, hpa, leafLow | EPT_LARGE_PAGE);
      gpa += SIZE_1G;
      continue;
    }
    const pd = tableAt(pdpt, i3);
    const i2 = Math.floor(gpa / SIZE_2M) % 512;
    if (pageSize >= SIZE_2M && gpa % SIZE_2M === 0 && gpa + SIZE_2M <= opts.size) {
      set(pd + i2 * 8, hpa, leafLow | EPT_LARGE_PAGE);
      gpa += SIZE_2M;
      continue;
    }
    const pt = tableAt(pd, i2);
    set(pt + (Math.floor(gpa / PAGE) % 512) * 8, hpa, leafLow);
    gpa += PAGE;
  }
  return { pml4, end: next };
}

/** A successful translation. */
export interface EptTranslation {
  /** Discriminant. */
  readonly kind: "ok";
  /** Host-physical address of the access. */
  readonly hpa: number;
  /** Size of the page the leaf maps: 4096, 2 MiB or 1 GiB. */
  readonly pageSize: number;
  /** AND of bits 2:0 over every entry walked: what a TLB may cache. */
  readonly permissions: number;
  /** Host-physical address of the leaf entry (its D flag tells whether writes may be cached). */
  readonly leafEntryAddress: number;
  /** True if this access changed the leaf's dirty flag from 0 to 1. */
  readonly dirtied: boolean;
}

/** An EPT violation (exit reason 48) with its exit qualification (SDM Vol. 3, §28.2.3.2; Table 27-7). */
export interface EptViolation {
  /** Discriminant. */
  readonly kind: "violation";
  /** Exit qualification bits. */
  readonly violation: number;
}

/** An EPT misconfiguration (exit reason 49; qualification undefined, SDM Vol. 3, §28.2.3.1). */
export interface EptMisconfig {
  /** Discriminant. */
  readonly kind: "misconfig";
  /** Always true. */
  readonly misconfig: true;
  /** Level of the offending entry: 4 PML4E, 3 PDPTE, 2 PDE, 1 PTE. */
  readonly level: number;
}

/** A page-modification-log-full event (exit reason 62): no flag set, the access did not happen (SDM Vol. 3, §28.2.5). */
export interface EptPmlFull {
  /** Discriminant. */
  readonly kind: "pml-full";
  /** Always true. */
  readonly pmlFull: true;
}

/** Outcome of `eptWalk`. */
export type EptWalkResult = EptTranslation | EptViolation | EptMisconfig | EptPmlFull;

/** The page-modification log the walk appends to (PML_ADDRESS and GUEST_PML_INDEX, SDM Vol. 3, §28.2.5). */
export interface PmlLog {
  /** Host-physical address of the 4 KiB log (PML_ADDRESS). */
  address: number;
  /** Next slot to fill, 511 down to 0; 0xFFFF (or any value >= 512) means full (GUEST_PML_INDEX). */
  index: number;
}

/** Options of `eptWalk`. */
export interface EptWalkOptions {
  /** Capabilities (execute-only and large-page support, MAXPHYADDR). Default: hvsim's. */
  caps?: VmxCapabilities;
  /** The access is to a guest paging-structure entry (counts as a write when A/D is on). */
  pagingStructure?: boolean;
  /** Whether the guest-linear-address field will be valid (qualification bit 7). Default true. */
  linearAddressValid?: boolean;
  /** The PML log when "enable PML" is 1 and EPTP[6] = 1; its index is updated in place. */
  pml?: PmlLog;
}

const LEVEL_SIZE = [0, PAGE, SIZE_2M, SIZE_1G, 2 ** 39];

/**
 * Translates a guest-physical address through 4-level EPT tables in host memory for an access
 * (EPT_ACCESS_READ, _WRITE or _FETCH), following SDM Vol. 3, §28.2.2-28.2.5:
 * - a present entry with write-without-read, execute-only without support, reserved bits set, a
 *   large page where unsupported, or a leaf memory type 2, 3 or 7 is a misconfiguration (checked
 *   before permissions);
 * - a not-present entry or missing permission is a violation whose qualification has the access
 *   bits, the AND of R/W/X over the entries walked, and bits 7/8 for the linear address;
 * - with EPTP[6], accesses to guest paging structures count as writes; a successful access sets A
 *   in every entry used and D in the leaf on a write; with a PML log, a 0->1 dirty transition logs
 *   the 4 KiB-aligned GPA at `address + 8 * index` and decrements the index, and if a flag must be
 *   set while the index is outside 0-511 the result is "pml-full" with nothing changed.
 *
 * Throws a RangeError for an EPTP that is not a 4-level walk or a table outside host memory (both
 * hypervisor bugs, which VM entry and the builder rule out).
 */
export function eptWalk(
  mem: Uint8Array,
  eptp: number,
  gpa: number,
  access: number,
  opts: EptWalkOptions = {},
): EptWalkResult {
  const caps = opts.caps ?? HVSIM_VMX_CAPABILITIES;
  const low = eptp % PAGE;
  if (((low >>> EPTP_WALK_LENGTH_SHIFT) & 7) !== 3) {
    throw new RangeError(`EPTP 0x${eptp.toString(16)} does not select a 4-level walk`);
  }
  const ad = (low & EPTP_AD_ENABLE) !== 0;
  if (ad && opts.pagingStructure) access |= EPT_ACCESS_READ | EPT_ACCESS_WRITE;
  const maxPhys = caps.maxPhysAddr;
  const hiReserved = (0xfffff & ~((1 << (maxPhys - 32)) - 1)) >>> 0; // bits 51:MAXPHYADDR in the high word
  const execOnly = (caps.eptVpidCap & EPT_CAP_EXECUTE_ONLY) !== 0n;
  const large2m = (caps.eptVpidCap & EPT_CAP_2MB_PAGES) !== 0n;
  const large1g = (caps.eptVpidCap & EPT_CAP_1GB_PAGES) !== 0n;

  let table = eptp - low;
  let combined = EPT_RWX;
  // Up to 4 entry addresses used, recorded for the A/D update.
  let e4 = -1, e3 = -1, e2 = -1, e1 = -1;
  let leafLevel = 0;
  let leafLo = 0, leafHi = 0, leafAt = -1;
  for (let level = 4; level >= 1; level--) {
    if (table + PAGE > mem.length) {
      throw new RangeError(
        `EPT table at 0x${table.toString(16)} lies outside ${mem.length} bytes of host memory`,
      );
    }
    const index = Math.floor(gpa / LEVEL_SIZE[level]) % 512;
    const at = table + index * 8;
    const lo = read32(mem, at);
    const hi = read32(mem, at + 4);
    const perm = lo & EPT_RWX;
    if (perm === 0) {
      return violation(access, 0, opts);
    }
    // Misconfiguration (SDM Vol. 3, §28.2.3.1).
    if ((perm & (EPT_READ | EPT_WRITE)) === EPT_WRITE) return misconfig(level);
    if (perm === EPT_EXECUTE && !execOnly) return misconfig(level);
    if ((hi & hiReserved) !== 0) return misconfig(level);
    const isLeaf = level === 1 || ((level === 2 || level === 3) && (lo & EPT_LARGE_PAGE) !== 0);
    if (level === 4 && (lo & 0xf8) !== 0) return misconfig(level);
    if (!isLeaf && level !== 4 && (lo & 0x78) !== 0) return misconfig(level);
    if (isLeaf) {
      if (level === 3 && (!large1g || (lo & 0x3ffff000) !== 0)) return misconfig(level);
      if (level === 2 && (!large2m || (lo & 0x1ff000) !== 0)) return misconfig(level);
      const mt = (lo >>> EPT_MEMTYPE_SHIFT) & 7;
      if (mt === 2 || mt === 3 || mt === 7) return misconfig(level);
    }
    combined &= perm;
    if (level === 4) e4 = at;
    else if (level === 3) e3 = at;
    else if (level === 2) e2 = at;
    else e1 = at;
    if (isLeaf) {
      leafLevel = level;
      leafLo = lo;
      leafHi = hi;
      leafAt = at;
      break;
    }
    table = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }
  // Permissions (SDM Vol. 3, §28.2.3.2).
  if (
    ((access & EPT_ACCESS_READ) !== 0 && (combined & EPT_READ) === 0) ||
    ((access & EPT_ACCESS_WRITE) !== 0 && (combined & EPT_WRITE) === 0) ||
    ((access & EPT_ACCESS_FETCH) !== 0 && (combined & EPT_EXECUTE) === 0)
  ) {
    return violation(access, combined, opts);
  }
  const pageSize = LEVEL_SIZE[leafLevel];
  const frame = (leafHi & 0xfffff) * TWO32 + ((leafLo & 0xfffff000) >>> 0);
  const base = frame - (frame % pageSize);
  const hpa = base + (gpa % pageSize);
  let dirtied = false;
  if (ad) {
    const write = (access & EPT_ACCESS_WRITE) !== 0;
    const setD = write && (leafLo & EPT_DIRTY) === 0;
    const needsA = (e4 >= 0 && (read32(mem, e4) & EPT_ACCESSED) === 0) ||
      (e3 >= 0 && (read32(mem, e3) & EPT_ACCESSED) === 0) ||
      (e2 >= 0 && (read32(mem, e2) & EPT_ACCESSED) === 0) ||
      (e1 >= 0 && (read32(mem, e1) & EPT_ACCESSED) === 0);
    const pml = opts.pml;
    if (pml !== undefined && (needsA || setD) && !(pml.index >= 0 && pml.index < PML_ENTRIES)) {
      return PML_FULL;
    }
    if (e4 >= 0) write32(mem, e4, read32(mem, e4) | EPT_ACCESSED);
    if (e3 >= 0) write32(mem, e3, read32(mem, e3) | EPT_ACCESSED);
    if (e2 >= 0) write32(mem, e2, read32(mem, e2) | EPT_ACCESSED);
    if (e1 >= 0) write32(mem, e1, read32(mem, e1) | EPT_ACCESSED);
    if (setD) {
      write32(mem, leafAt, read32(mem, leafAt) | EPT_ACCESSED | EPT_DIRTY);
      dirtied = true;
      if (pml !== undefined) {
        const slot = pml.address + pml.index * 8;
        const logged = gpa - (gpa % PAGE);
        write32(mem, slot, logged % TWO32);
        write32(mem, slot + 4, Math.floor(logged / TWO32));
        pml.index = (pml.index - 1) & 0xffff;
      }
    }
  }
  return { kind: "ok", hpa, pageSize, permissions: combined, leafEntryAddress: leafAt, dirtied };
}

const PML_FULL: EptPmlFull = Object.freeze({ kind: "pml-full", pmlFull: true });

function violation(access: number, combined: number, opts: EptWalkOptions): EptViolation {
  const linear = opts.linearAddressValid ?? true;
  const q = encodeEptViolationQualification({
    read: (access & EPT_ACCESS_READ) !== 0,
    write: (access & EPT_ACCESS_WRITE) !== 0,
    fetch: (access & EPT_ACCESS_FETCH) !== 0,
    readable: (combined & EPT_READ) !== 0,
    writable: (combined & EPT_WRITE) !== 0,
    executable: (combined & EPT_EXECUTE) !== 0,
    linearValid: linear,
    finalTranslation: linear && !opts.pagingStructure,
    nmiUnblocking: false,
  });
  return { kind: "violation", violation: q };
}

function misconfig(level: number): EptMisconfig {
  return { kind: "misconfig", misconfig: true, level };
}

/** Where the leaf entry mapping a guest-physical address lives. */
export interface EptLeaf {
  /** Host-physical address of the leaf entry. */
  readonly entryAddress: number;
  /** Size of the page it maps: 4096, 2 MiB or 1 GiB. */
  readonly pageSize: number;
}

/**
 * Finds the leaf entry that maps `gpa` (no permission checks, no A/D update), or undefined if some
 * entry on the way is not present. For the hypervisor's own bookkeeping (dirty-log harvesting,
 * write-protecting large pages), not for guest accesses.
 */
export function findEptLeaf(mem: Uint8Array, eptp: number, gpa: number): EptLeaf | undefined {
  let table = eptp - (eptp % PAGE);
  for (let level = 4; level >= 1; level--) {
    const at = table + (Math.floor(gpa / LEVEL_SIZE[level]) % 512) * 8;
    const lo = read32(mem, at);
    if ((lo & EPT_RWX) === 0) return undefined;
    if (level === 1 || ((level === 2 || level === 3) && (lo & EPT_LARGE_PAGE) !== 0)) {
      return { entryAddress: at, pageSize: LEVEL_SIZE[level] };
    }
    table = (read32(mem, at + 4) & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }
  return undefined;
}

/**
 * Clears the dirty flag of the leaf that maps `gpa` and returns whether it was set. After clearing,
 * cached translations that allow writes to that page must be dropped, as INVEPT requires
 * (SDM Vol. 3, §28.2.4).
 */
export function clearEptDirty(mem: Uint8Array, eptp: number, gpa: number): boolean {
  const leaf = findEptLeaf(mem, eptp, gpa);
  if (leaf === undefined) return false;
  const lo = read32(mem, leaf.entryAddress);
  if ((lo & EPT_DIRTY) === 0) return false;
  write32(mem, leaf.entryAddress, (lo & ~EPT_DIRTY) >>> 0);
  return true;
}

/**
 * Scans guest-physical [0, size) for leaves with the dirty flag set (the D-bit-scan way of building
 * a dirty log, as KVM does without PML) and calls `dirty(gpa)` for every 4 KiB page they map. A dirty 2 MiB or
 * 1 GiB leaf reports all its 4 KiB pages, since one D flag covers them all. With `clear`, the D
 * flags are cleared as they are read (take-and-clear).
 */
export function scanEptDirty(
  mem: Uint8Array,
  eptp: number,
  size: number,
  dirty: (gpa: number) => void,
  clear = false,
): void {
  for (let gpa = 0; gpa < size;) {
    const leaf = findEptLeaf(mem, eptp, gpa);
    if (leaf === undefined) {
      gpa += PAGE;
      continue;
    }
    const start = gpa - (gpa % leaf.pageSize);
    const end = Math.min(start + leaf.pageSize, size);
    const lo = read32(mem, leaf.entryAddress);
    if ((lo & EPT_DIRTY) !== 0) {
      for (let p = gpa; p < end; p += PAGE) dirty(p);
      if (clear) write32(mem, leaf.entryAddress, (lo & ~EPT_DIRTY) >>> 0);
    }
    gpa = end;
  }
}

/**
 * Guest memory as a debugger sees it: guest-virtual addresses translated through the guest's own
 * page tables (4-level paging, SDM Vol. 3 §4.5), or guest-physical addresses. The walk only reads:
 * it sets no accessed or dirty flag, fills no TLB and raises no fault, so looking at memory leaves
 * the guest's state (and its digest) as it was. Writes go to RAM as a device's would: decoded code
 * in the page is dropped and the page is logged dirty.
 *
 * @module
 */

import { CR0_PG, EFER_NXE } from "../cpu/mod.ts";
import type { Machine } from "../vm/mod.ts";
import * as F from "../vmx/fields.ts";

const PAGE = 4096;
const TWO32 = 4294967296;

/**
 * The guest-physical address of guest-virtual `va` (a 64-bit value), or null when the guest's
 * page tables do not map it (not present, non-canonical, or a table outside RAM).
 */
export function virtualToPhysical(m: Machine, va: bigint): number | null {
  const vmcs = m.vcpu.vmcs;
  const cr0 = Number(vmcs.read(F.GUEST_CR0) & 0xffffffffn);
  const v = BigInt.asUintN(64, va);
  if ((cr0 & CR0_PG) === 0) return v < BigInt(m.ramBytes) ? Number(v) : null;
  if (BigInt.asIntN(48, v) !== BigInt.asIntN(64, v)) return null;
  const lin = Number(v & 0xffffffffffffn);
  const nxe = (Number(vmcs.read(F.GUEST_IA32_EFER)) & EFER_NXE) !== 0;
  let table = Number(vmcs.read(F.GUEST_CR3) & 0xffffffffff000n);
  for (let level = 4; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const at = table + (Math.floor(lin / 2 ** shift) % 512) * 8;
    if (at + 8 > m.ramBytes) return null;
    const lo = m.cpu.dv.getUint32(at, true), hi = m.cpu.dv.getUint32(at + 4, true);
    if ((lo & 1) === 0) return null;
    if (!nxe && (hi & 0x80000000) !== 0) return null; // reserved bit: the walk would fault
    const frame = (lo & 0xfffff000) >>> 0;
    const base = frame + (hi & 0xfffff) * TWO32;
    if (level === 1 || (level <= 3 && (lo & 0x80) !== 0)) {
      const size = 2 ** shift;
      const pageBase = base - (base % size);
      return pageBase + (lin % size);
    }
    table = base;
  }
  return null;
}

/** Whether addresses are guest-virtual (through the page tables) or guest-physical. */
export type AddressSpace = "virtual" | "physical";

function physicalOf(m: Machine, addr: bigint, space: AddressSpace): number | null {
  if (space === "virtual") return virtualToPhysical(m, addr);
  return addr >= 0n && addr < BigInt(m.ramBytes) ? Number(addr) : null;
}

/**
 * Reads up to `length` bytes at `addr`; stops early at the first byte that is not mapped to RAM
 * (so the result may be shorter, or empty).
 */
export function readMemory(m: Machine, addr: bigint, length: number, space: AddressSpace): Uint8Array {
  m.loadLazyRam();
  const out = new Uint8Array(length);
  let n = 0;
  while (n < length) {
    const a = BigInt.asUintN(64, addr + BigInt(n));
    const p = physicalOf(m, a, space);
    if (p === null) break;
    const inPage = Math.min(length - n, PAGE - (p % PAGE));
    out.set(m.mem.subarray(p, p + inPage), n);
    n += inPage;
  }
  return out.subarray(0, n);
}

/** Writes `bytes` at `addr`; returns false (writing nothing) if any byte is not mapped to RAM. */
export function writeMemory(m: Machine, addr: bigint, bytes: Uint8Array, space: AddressSpace): boolean {
  m.loadLazyRam();
  const pieces: [number, number, number][] = []; // physical address, offset in bytes, length
  let n = 0;
  while (n < bytes.length) {
    const p = physicalOf(m, BigInt.asUintN(64, addr + BigInt(n)), space);
    if (p === null) return false;
    const inPage = Math.min(bytes.length - n, PAGE - (p % PAGE));
    pieces.push([p, n, inPage]);
    n += inPage;
  }
  const page = new Uint8Array(PAGE);
  for (const [p, off, len] of pieces) {
    const pfn = Math.floor(p / PAGE);
    m.readPage(pfn, page);
    page.set(bytes.subarray(off, off + len), p % PAGE);
    m.writePage(pfn, page);
  }
  return true;
}

/**
 * Guest-physical memory through EPT, and the dirty log built on its dirty flags (SDM Vol. 3,
 * §28.2; page-modification logging in §28.2.5). Every guest-physical access the CPU makes, its own page-table walks
 * included, goes through {@linkcode EptMap.translate}, which walks the hypervisor's EPT tables in
 * host memory with accessed/dirty flags and page-modification logging. The software TLB caches a
 * write translation only while the EPT leaf's dirty flag is set, so a store to a page already
 * dirty in this round costs nothing extra.
 *
 * The dirty log works as KVM's GET_DIRTY_LOG / CLEAR_DIRTY_LOG: pages come from the PML buffer
 * (drained at PML-full exits and at each harvest) or, as a second method, from a scan of the EPT
 * leaves' dirty flags; taking the log clears the flags of the pages taken and drops cached write
 * translations, as INVEPT would. While logging, EPT maps RAM with 4 KiB leaves (KVM splits huge
 * pages the same way), so a dirty flag never stands for more than one page.
 *
 * @module
 */

import { ACC_FETCH, ACC_WRITE, type Cpu, type GuestPhysicalMap } from "../cpu/mod.ts";
import {
  buildIdentityEpt,
  EPT_ACCESS_FETCH,
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  EPT_DIRTY,
  EPT_LARGE_PAGE,
  eptWalk,
  findEptLeaf,
  identityEptTableBytes,
  makeEptp,
  type PmlLog,
} from "../vmx/ept.ts";
import {
  EXIT_REASON_EPT_MISCONFIG,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_PML_FULL,
} from "../vmx/exit_reasons.ts";

/** How the dirty log is filled. */
export type DirtyLogMethod = "pml" | "dbit-scan";

const PAGE = 4096;
const SIZE_2M = 2 * 1024 * 1024;

/**
 * Guest RAM whose pages load on first touch (a lazy snapshot restore; the same shape as migration's
 * `LazyRam`). Loading happens below the guest: no guest write, no dirty bit, no virtual time.
 */
export interface PageLoader {
  /** Per page: non-zero until the page has been loaded (or discarded). */
  readonly missing: Uint8Array;
  /** Load page `pfn` (and others stored with it) into `ram`, the RAM from guest-physical 0. */
  load(pfn: number, ram: Uint8Array): void;
  /** Page `pfn` is about to be overwritten whole: never load it. */
  discard(pfn: number): void;
  /** Load every missing page into `ram`. */
  loadAll(ram: Uint8Array): void;
}

/** Bytes of host memory the EPT tables may need for `ramBytes` of guest RAM (4 KiB leaves). */
export function eptTableBytes(ramBytes: number): number {
  return identityEptTableBytes(ramBytes, PAGE);
}

/** EPT over guest RAM, with dirty logging. */
export class EptMap implements GuestPhysicalMap {
  /** The EPT pointer (WB, 4-level, A/D enabled). */
  eptp = 0;
  /** The PML log while "enable PML" is on (its index mirrors GUEST_PML_INDEX during a run). */
  pml: PmlLog | null = null;
  /** Dirty logging is on. */
  logging = false;
  /** How harvests find dirty pages. */
  method: DirtyLogMethod = "pml";
  /** PML-full exits handled (statistics). */
  pmlFullExits = 0;
  /** RAM still loading on first touch (a lazy restore), or null: every translation to RAM loads its page. */
  lazy: PageLoader | null = null;
  /** Pages found dirty and not yet taken: one bit per 4 KiB page. */
  private pending: Uint32Array;
  /** Every page written while logging, never cleared (for `dirtyPages`). */
  private ever: Uint32Array;
  private lastWalkDirty = false;

  /**
   * A guest-physical map over host memory `mem`.
   *
   * @param mem host-physical memory
   * @param ramBase host-physical address of guest-physical 0
   * @param ramBytes guest RAM size
   * @param tableBase host-physical address for the EPT tables
   * @param pmlAddress host-physical address of the 4 KiB PML buffer
   */
  constructor(
    readonly mem: Uint8Array,
    readonly ramBase: number,
    readonly ramBytes: number,
    readonly tableBase: number,
    readonly pmlAddress: number,
  ) {
    const words = Math.ceil(ramBytes / PAGE / 32);
    this.pending = new Uint32Array(words);
    this.ever = new Uint32Array(words);
    this.build(SIZE_2M);
  }

  /** (Re)builds the identity EPT with leaves up to `pageSize`; A/D flags start clear. */
  private build(pageSize: number): void {
    const { pml4 } = buildIdentityEpt(this.mem, {
      tableBase: this.tableBase,
      hostBase: this.ramBase,
      size: this.ramBytes,
      pageSize,
    });
    this.eptp = makeEptp(pml4, { accessedDirty: true });
  }

  translate(cpu: Cpu, gpa: number, access: number, gla: number, paging: boolean): number {
    const acc = access === ACC_WRITE
      ? EPT_ACCESS_WRITE
      : access === ACC_FETCH
      ? EPT_ACCESS_FETCH
      : EPT_ACCESS_READ;
    const r = eptWalk(this.mem, this.eptp, gpa, acc, {
      pagingStructure: paging,
      pml: this.pml ?? undefined,
    });
    switch (r.kind) {
      case "ok":
        // With A/D on, paging-structure accesses count as writes, so their leaves are dirty too.
        this.lastWalkDirty = (this.mem[r.leafEntryAddress + 1] & (EPT_DIRTY >> 8)) !== 0;
        if (this.lazy !== null) this.ensureLoaded(this.lazy, r.hpa);
        return r.hpa;
      case "violation":
        cpu.exitGpa = gpa;
        cpu.exitGla = gla;
        return cpu.vmExit(EXIT_REASON_EPT_VIOLATION, r.violation);
      case "misconfig":
        cpu.exitGpa = gpa;
        return cpu.vmExit(EXIT_REASON_EPT_MISCONFIG, 0);
      default:
        cpu.exitGpa = gpa;
        return cpu.vmExit(EXIT_REASON_PML_FULL, 0);
    }
  }

  /** Loads the RAM page at host-physical `hpa` if it is still missing. */
  private ensureLoaded(lazy: PageLoader, hpa: number): void {
    const off = hpa - this.ramBase;
    if (off < 0 || off >= this.ramBytes) return;
    const pfn = Math.floor(off / PAGE);
    if (lazy.missing[pfn] !== 0) {
      lazy.load(pfn, this.mem.subarray(this.ramBase, this.ramBase + this.ramBytes));
    }
  }

  writeCached(_gpa: number): boolean {
    return this.lastWalkDirty;
  }

  /** Moves the PML buffer's entries into the pending bitmap and resets the index to 511. */
  drainPml(): void {
    const pml = this.pml;
    if (pml === null) return;
    const dv = new DataView(this.mem.buffer, this.mem.byteOffset, this.mem.byteLength);
    const first = pml.index >= 512 ? 0 : pml.index + 1;
    for (let k = first; k < 512; k++) {
      const at = pml.address + k * 8;
      const gpa = dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
      this.markGpa(gpa);
    }
    pml.index = 511;
  }

  /** Marks a guest page dirty from outside the CPU (device writes, the destination of a migration). */
  markGpa(gpa: number): void {
    const p = Math.floor(gpa / PAGE);
    if (p >= this.ramBytes / PAGE) return;
    this.pending[p >>> 5] |= 1 << (p & 31);
    this.ever[p >>> 5] |= 1 << (p & 31);
  }

  /** Starts dirty logging (4 KiB leaves, PML armed) or stops it (2 MiB leaves). Drops cached translations. */
  setLogging(cpu: Cpu, on: boolean, method: DirtyLogMethod = this.method): void {
    this.logging = on;
    this.method = method;
    this.pending.fill(0);
    this.build(on ? PAGE : SIZE_2M);
    this.pml = on && method === "pml" ? { address: this.pmlAddress, index: 511 } : null;
    cpu.flushTlb();
  }

  /**
   * Takes and clears the dirty log: the pages written since the last call. Clears their EPT
   * dirty flags and drops cached write translations (INVEPT), so the next write logs again.
   */
  take(cpu: Cpu): Uint32Array {
    if (this.method === "pml") this.drainPml();
    else this.scanDirtyFlags();
    const out = this.pending;
    this.pending = new Uint32Array(out.length);
    this.clearDirtyFlags(out);
    cpu.flushWriteTlb();
    return out;
  }

  /** Number of distinct pages written while logging was on. */
  everDirtyCount(): number {
    if (this.method === "pml") this.drainPml();
    else this.scanDirtyFlags();
    let n = 0;
    for (const w of this.ever) n += popcount(w);
    return n;
  }

  /** Second method: find dirty pages by reading every EPT leaf's dirty flag. */
  private scanDirtyFlags(): void {
    this.forEachLeaf((gpa, at) => {
      if ((this.mem[at + 1] & (EPT_DIRTY >> 8)) !== 0) this.markGpa(gpa);
    });
  }

  /** Clears the EPT dirty flag of every page set in `bits`: page by page when few are set, else in one scan. */
  private clearDirtyFlags(bits: Uint32Array): void {
    let count = 0;
    for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) count += popcount(bits[w]);
    if (count * 8 < this.ramBytes / PAGE) {
      for (let w = 0; w < bits.length; w++) {
        let word = bits[w];
        while (word !== 0) {
          const b = 31 - Math.clz32(word & -word);
          word &= word - 1;
          const leaf = findEptLeaf(this.mem, this.eptp, (w * 32 + b) * PAGE);
          if (leaf !== undefined) this.mem[leaf.entryAddress + 1] &= ~(EPT_DIRTY >> 8);
        }
      }
      return;
    }
    this.forEachLeaf((gpa, at) => {
      const p = gpa / PAGE;
      if ((bits[p >>> 5] & (1 << (p & 31))) !== 0) this.mem[at + 1] &= ~(EPT_DIRTY >> 8);
    });
  }

  /** Calls `f(gpa, entryAddress)` for every 4 KiB leaf (2 MiB leaves report their first page). */
  private forEachLeaf(f: (gpa: number, at: number) => void): void {
    const mem = this.mem;
    const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    const addr = (at: number) =>
      (dv.getUint32(at, true) & 0xfffff000) + (dv.getUint32(at + 4, true) & 0xfffff) * 2 ** 32;
    const pml4 = this.eptp - (this.eptp % PAGE);
    for (let i4 = 0; i4 < 512 && i4 * 2 ** 39 < this.ramBytes; i4++) {
      const e4 = pml4 + i4 * 8;
      if ((mem[e4] & 7) === 0) continue;
      const pdpt = addr(e4);
      for (let i3 = 0; i3 < 512; i3++) {
        const g3 = i4 * 2 ** 39 + i3 * 2 ** 30;
        if (g3 >= this.ramBytes) break;
        const e3 = pdpt + i3 * 8;
        if ((mem[e3] & 7) === 0) continue;
        if ((mem[e3] & EPT_LARGE_PAGE) !== 0) {
          f(g3, e3);
          continue;
        }
        const pd = addr(e3);
        for (let i2 = 0; i2 < 512; i2++) {
          const g2 = g3 + i2 * SIZE_2M;
          if (g2 >= this.ramBytes) break;
          const e2 = pd + i2 * 8;
          if ((mem[e2] & 7) === 0) continue;
          if ((mem[e2] & EPT_LARGE_PAGE) !== 0) {
            f(g2, e2);
            continue;
          }
          const pt = addr(e2);
          for (let i1 = 0; i1 < 512; i1++) {
            const g1 = g2 + i1 * PAGE;
            if (g1 >= this.ramBytes) break;
            f(g1, pt + i1 * 8);
          }
        }
      }
    }
  }
}

function popcount(w: number): number {
  w = w - ((w >>> 1) & 0x55555555);
  w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
  return (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * The decoded-instruction cache: straight-line blocks of decoded instructions keyed by the
 * host-physical address of their first byte. A store into a page that holds decoded code drops
 * every block with bytes in that page (self-modifying code).
 *
 * @module
 */

import type { Cpu } from "./cpu.ts";
import type { Insn } from "./insn.ts";

/**
 * A straight-line run of decoded instructions, with two links to the blocks that followed it last
 * (the taken and the fall-through successor), valid while the cache's epoch is unchanged.
 */
export class Block {
  /** Linear RIP after which `aNext` ran, or NaN. */
  aRip = NaN;
  /** Epoch of the `a` link. */
  aEpoch = -1;
  /** A successor. */
  aNext: Block | null = null;
  /** Linear RIP of the second link, or NaN. */
  bRip = NaN;
  /** Epoch of the `b` link. */
  bEpoch = -1;
  /** The second successor. */
  bNext: Block | null = null;
  /** Which link the next new successor replaces. */
  slot = 0;
  /** Times the block ran since it was last compiled (-Infinity: never compile it again). */
  runs = 0;
  /** The cache epoch its region was compiled in (its links inside the region hold only then). */
  compiledEpoch = -1;
  /** Times its region was compiled. */
  compilations = 0;
  /**
   * The region starting at this block compiled to one JavaScript function (compiler.ts): returns
   * the last block that ran to its end, or null when an instruction ended its block early.
   */
  compiled: ((cpu: Cpu) => Block | null) | null = null;
  /** Which compiler compiled the region starting at this block, once one did. */
  compiledBy: "js" | "wasm" | null = null;
  /**
   * Set when a region holding the block is compiled: per instruction, whether its code is the
   * compiler's template (true) or a call of its handler (false). Written at compile time only,
   * never read by the simulator: for tests and statistics.
   */
  templated: readonly boolean[] | null = null;

  constructor(
    /** Host-physical address of the first byte. */
    readonly hpa: number,
    /** The instructions, in order. */
    readonly insns: Insn[],
  ) {}

  /** The cached successor starting at linear `rip`, if its link is still valid. */
  successor(rip: number, epoch: number): Block | null {
    if (this.aRip === rip && this.aEpoch === epoch) return this.aNext;
    if (this.bRip === rip && this.bEpoch === epoch) return this.bNext;
    return null;
  }

  /** The successor links valid in `epoch`, as [linear RIP, block] pairs. */
  links(epoch: number): [number, Block][] {
    const out: [number, Block][] = [];
    if (this.aNext !== null && this.aEpoch === epoch) out.push([this.aRip, this.aNext]);
    if (this.bNext !== null && this.bEpoch === epoch) out.push([this.bRip, this.bNext]);
    return out;
  }

  /** Remembers `next` as the successor starting at `rip`. */
  link(rip: number, epoch: number, next: Block): void {
    if (this.slot === 0) {
      this.aRip = rip;
      this.aEpoch = epoch;
      this.aNext = next;
      this.slot = 1;
    } else {
      this.bRip = rip;
      this.bEpoch = epoch;
      this.bNext = next;
      this.slot = 0;
    }
  }
}

/** Decodes one instruction at linear `lin`; `limit` is the last linear address it may read (or Infinity). */
export type DecodeFn = (cpu: Cpu, lin: number, limit: number) => Insn | null;

const FAST_SIZE = 4096;
const FAST_MASK = FAST_SIZE - 1;

/** Longest block, in instructions. */
export const MAX_BLOCK = 64;

/** Blocks by host-physical address, with per-page bookkeeping for invalidation. */
export class BlockCache {
  private readonly map = new Map<number, Block>();
  private readonly code: Uint8Array;
  private readonly pageBlocks = new Map<number, number[]>();
  /** Number of blocks decoded so far (statistics). */
  decoded = 0;
  /** Number of page invalidations caused by stores into code (statistics). */
  invalidations = 0;
  /**
   * Most blocks kept; past it the cache starts over, so a guest that jumps to ever new addresses
   * cannot make the simulator run out of memory.
   */
  maxBlocks = 1 << 18;

  /**
   * Changes whenever a cached link between blocks may have become wrong: a TLB flush, INVLPG, a
   * change of privilege or physical map, or code dropped from the cache.
   */
  epoch = 0;

  // A direct-mapped front for `map` (a typed-array probe is cheaper than a Map lookup per block).
  private readonly fastKey = new Float64Array(FAST_SIZE).fill(-1);
  private readonly fastBlock: (Block | undefined)[] = new Array(FAST_SIZE).fill(undefined);

  constructor(memBytes: number) {
    this.code = new Uint8Array(Math.ceil(memBytes / 4096) + 1);
  }

  /** Number of blocks cached. */
  get size(): number {
    return this.map.size;
  }

  /** The block starting at host-physical `hpa`, if decoded. */
  lookup(hpa: number): Block | undefined {
    const s = hpa & FAST_MASK;
    if (this.fastKey[s] === hpa) return this.fastBlock[s];
    const b = this.map.get(hpa);
    if (b !== undefined) {
      this.fastKey[s] = hpa;
      this.fastBlock[s] = b;
    }
    return b;
  }

  /** The cached blocks (for inspection). */
  all(): IterableIterator<Block> {
    return this.map.values();
  }

  /** Whether host page of `hpa` holds decoded code. */
  hasCode(hpa: number): boolean {
    return this.code[Math.floor(hpa / 4096)] !== 0;
  }

  /** Drops every block with bytes in the host page of `hpa`. */
  invalidatePage(hpa: number): void {
    const page = Math.floor(hpa / 4096);
    const list = this.pageBlocks.get(page);
    this.code[page] = 0;
    if (!list) return;
    this.pageBlocks.delete(page);
    this.invalidations++;
    this.epoch++;
    for (const start of list) {
      this.map.delete(start);
      const s = start & FAST_MASK;
      if (this.fastKey[s] === start) {
        this.fastKey[s] = -1;
        this.fastBlock[s] = undefined;
      }
    }
  }

  /** Drops everything (after a restore or a change of the physical map). */
  clear(): void {
    this.epoch++;
    this.map.clear();
    this.fastKey.fill(-1);
    this.fastBlock.fill(undefined);
    this.pageBlocks.clear();
    this.code.fill(0);
  }

  /** Decodes a block at the CPU's RIP (linear `lin`) and caches it. */
  decodeAt(cpu: Cpu, lin: number, decode: DecodeFn): Block {
    if (this.map.size >= this.maxBlocks) this.clear();
    const hpa = cpu.fetchAddress(lin);
    const insns: Insn[] = [];
    const pageEnd = lin - (lin & 0xfff) + 4095;
    const pages = new Set<number>();
    let at = lin;
    for (;;) {
      const first = insns.length === 0;
      const insn = decode(cpu, at, first ? Infinity : pageEnd);
      if (insn === null) break;
      pages.add(Math.floor(cpu.fetchAddress(at) / 4096));
      pages.add(Math.floor(cpu.fetchAddress(at + insn.len - 1) / 4096));
      insns.push(insn);
      at += insn.len;
      if (insn.ends || insns.length >= MAX_BLOCK || at > pageEnd) break;
    }
    const block = new Block(hpa, insns);
    this.map.set(hpa, block);
    for (const p of pages) {
      if (this.code[p] === 0) {
        this.code[p] = 1;
        cpu.dropWriteEntries(p * 4096);
      }
      let list = this.pageBlocks.get(p);
      if (!list) this.pageBlocks.set(p, list = []);
      list.push(hpa);
    }
    this.decoded++;
    return block;
  }
}

/**
 * The WebAssembly backend's glue: compiles a hot region (codegen.ts) into a module over the CPU's
 * shared memory (unified_memory.ts), and wraps its function as a compiled block the run loop calls
 * like the JavaScript compiler's (compiler.ts): it returns the last block that ran to its end, or
 * null when an instruction ended its block early.
 *
 * Around each call the wrapper hands the lazy-flags record to the wasm code and takes it back, and
 * passes how many instructions the budget allows; the registers and the TLB are shared memory
 * already. When the wasm code stops at an instruction that needs the slow path, the state is exact
 * at that instruction's boundary, and the wrapper runs the rest of its block through the
 * handlers, as the interpreter would (each handler takes the slow path itself: a TLB fill, a
 * fault, an exit, a store into code).
 *
 * Every region's function also sits in one table per CPU, and the dispatch cache in the shared
 * memory maps an entry RIP to its slot, so that a region left for another compiled region's entry
 * goes on there without returning (codegen.ts). An entry holds in one generation: the block cache's
 * epoch it was compiled in (the epoch changes whenever a link between blocks may have become
 * wrong, and the JavaScript run loop then chains no more either). The exit record names the
 * region that stopped, so the wrapper of the first region of a chain finds the last one's blocks.
 *
 * @module
 */

import type { Block } from "../blocks.ts";
import type { CompiledBlock } from "../compiler.ts";
import type { Cpu } from "../cpu.ts";
import type { BlockCache } from "../blocks.ts";
import {
  STATE_DISPATCH,
  STATE_DISPATCH_ENTRIES,
  STATE_EXIT,
  STATE_FLAGS,
  STATE_SSE,
} from "../unified_memory.ts";
import { encodeRegions, WASM_DONE, wasmRegionBlocks } from "./codegen.ts";
import { sseControl } from "./codegen_sse.ts";

/** Most instructions one call may run (the budget passed to the wasm code is an i32). */
const MAX_LEFT = 0x3fffffff;

/** A region function: (entry RIP, instructions allowed, instructions retired before, generation) -> status. */
type RegionFn = (rip: number, left: number, n: number, gen: number) => number;

/**
 * Slots of the function table (region ids modulo this); past it, slots are reused and the dispatch
 * cache starts empty, so the table keeps at most this many superseded regions alive.
 */
const MAX_SLOTS = 1 << 13;

/** A compiled region's blocks and each instruction's offset from its block's start. */
interface Region {
  id: number;
  blocks: Block[];
  offsets: number[][];
}

/** Compiles regions of one CPU to WebAssembly. */
export class WasmBackend {
  /** Regions compiled (statistics). */
  compiled = 0;
  /** Bytes of wasm code produced (statistics). */
  bytes = 0;
  /** Times compiled code stopped at an instruction that needed the slow path (statistics, tests). */
  slowPaths = 0;
  /** Calls from JavaScript into compiled code (statistics, tests: a region going on to the next one is not a call). */
  calls = 0;
  private readonly memory: WebAssembly.Memory;
  private readonly pages: number;
  private readonly stateOffset: number;
  private readonly fx: Uint32Array;
  private readonly exRip: Float64Array;
  private readonly exInfo: Int32Array;
  private readonly sseWord: Int32Array;
  private readonly cpu: Cpu;
  private readonly table = new WebAssembly.Table({ element: "anyfunc", initial: 256 });
  /** The dispatch cache as 32-bit words (see unified_memory.ts). */
  private readonly dispatch: Int32Array;
  /** Regions by table slot. */
  private readonly regions: (Region | undefined)[] = [];
  private nextId = 0;
  /** The dispatch cache's generation (>= 1; a zeroed entry holds in none), its block cache and epoch. */
  private gen = 1;
  private genBlocks: BlockCache | null = null;
  private genEpoch = -1;

  /** A backend for `cpu`, whose host memory must be a WebAssembly memory (see {@link WasmBackend.available}). */
  constructor(cpu: Cpu) {
    const shared = cpu.shared;
    if (shared === null || shared.memory === null) {
      throw new Error("the WebAssembly backend needs the CPU's memory in one WebAssembly.Memory");
    }
    this.memory = shared.memory;
    this.pages = shared.memory.buffer.byteLength / 65536;
    this.stateOffset = shared.stateOffset;
    const buf = shared.memory.buffer;
    this.fx = new Uint32Array(buf, shared.stateOffset + STATE_FLAGS, 10);
    this.exRip = new Float64Array(buf, shared.stateOffset + STATE_EXIT, 1);
    this.exInfo = new Int32Array(buf, shared.stateOffset + STATE_EXIT + 8, 4);
    this.sseWord = new Int32Array(buf, shared.stateOffset + STATE_SSE, 1);
    this.dispatch = new Int32Array(buf, shared.stateOffset + STATE_DISPATCH, 4 * STATE_DISPATCH_ENTRIES);
    this.dispatch.fill(0);
    this.cpu = cpu;
  }

  /** The dispatch cache's generation for the CPU's block cache as it is now. */
  private generation(): number {
    const blocks = this.cpu.blocks;
    if (blocks.epoch !== this.genEpoch || blocks !== this.genBlocks) {
      this.gen = this.gen === 0x7fffffff ? 1 : this.gen + 1;
      if (this.gen === 1) this.dispatch.fill(0);
      this.genEpoch = blocks.epoch;
      this.genBlocks = blocks;
    }
    return this.gen;
  }

  /** Whether `cpu` can use this backend (its host memory is one WebAssembly memory). */
  static available(cpu: Cpu): boolean {
    return cpu.shared !== null && cpu.shared.memory !== null;
  }

  /**
   * Compiles the region that starts at `entry` with the links valid in `epoch` (-1: the block
   * alone), or returns null when the entry block has an instruction the generator does not compile.
   */
  compile(entry: Block, epoch: number): CompiledBlock | null {
    const blocks = wasmRegionBlocks(entry, epoch);
    if (blocks.length === 0) return null;
    const id = this.nextId, slot = id % MAX_SLOTS;
    this.nextId = id === 0x7fffffff ? 0 : id + 1;
    if (slot === 0 && id !== 0) this.dispatch.fill(0); // slots are reused: no entry may name an old one
    const mod = encodeRegions([{ blocks, epoch, id }], this.pages, this.stateOffset);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(mod.bytes as BufferSource), {
      m: { mem: this.memory, tbl: this.table },
    });
    this.compiled++;
    this.bytes += mod.bytes.length;
    const fn = inst.exports[mod.names[0]] as RegionFn;
    // Offsets of each block's instructions from its start, for the slow path's RIP.
    const offsets = blocks.map((b) => {
      const o: number[] = [];
      let at = 0;
      for (const i of b.insns) {
        o.push(at);
        at += i.len;
      }
      return o;
    });
    const region: Region = { id, blocks, offsets };
    while (this.table.length <= slot) this.table.grow(this.table.length);
    this.table.set(slot, fn);
    this.regions[slot] = region;
    // The entry at the CPU's RIP (the loop compiles the block it is about to run).
    const d = this.dispatch, rip = this.cpu.rip, lo = rip % 0x100000000;
    const k = 4 * (((lo >>> 0) ^ ((lo >>> 0) >>> 11)) & (STATE_DISPATCH_ENTRIES - 1));
    d[k] = lo | 0;
    d[k + 1] = Math.floor(rip / 0x100000000);
    d[k + 2] = this.generation();
    d[k + 3] = slot | (blocks[0].insns.length << 16);
    return this.wrap(fn, region, epoch);
  }

  /** The compiled block calling `fn` (see the module documentation). */
  private wrap(fn: RegionFn, mine: Region, epoch: number): CompiledBlock {
    const fx = this.fx, exRip = this.exRip, exInfo = this.exInfo, regions = this.regions;
    const sseWord = this.sseWord;
    const entryLength = mine.blocks[0].insns.length;
    return (c: Cpu): Block | null => {
      const f = c.fl;
      fx[0] = f.op;
      fx[1] = f.size;
      fx[2] = f.a;
      fx[4] = f.b;
      fx[6] = f.r;
      // Below 8 bytes the high halves of the record are not part of it (Flags reads them only at 8).
      if (f.size === 8) {
        fx[3] = f.ah;
        fx[5] = f.bh;
        fx[7] = f.rh;
      } else fx[3] = fx[5] = fx[7] = 0;
      fx[8] = f.cin;
      fx[9] = f.rf;
      // Past the entry block only while no interrupt shadow is open and the links still hold (as
      // the run loop's chaining checks), and the budget allows each next whole block.
      let left = c.endAt - c.icount;
      if (left > MAX_LEFT) left = MAX_LEFT;
      if (c.shadowEnd >= c.icount || c.blocks.epoch !== epoch) left = entryLength;
      // Every call: a region this one goes on to may have SSE forms (the word cannot change in wasm).
      sseWord[0] = sseControl(c);
      this.calls++;
      const status = fn(c.rip, left, 0, this.generation());
      f.op = fx[0];
      f.size = fx[1];
      f.a = fx[2];
      f.ah = fx[3];
      f.b = fx[4];
      f.bh = fx[5];
      f.r = fx[6];
      f.rh = fx[7];
      f.cin = fx[8];
      f.rf = fx[9];
      c.rip = exRip[0];
      c.icount += exInfo[0];
      const id = exInfo[3];
      const r = id === mine.id ? mine : regions[id % MAX_SLOTS]!;
      const b = r.blocks[exInfo[1]];
      if (status === WASM_DONE) return b;
      this.slowPaths++;
      const insns = b.insns, at = exInfo[2];
      c.rip += r.offsets[exInfo[1]][at];
      c.icount += at;
      for (let k = at; k < insns.length; k++) {
        const i = insns[k];
        c.nrip = c.rip + i.len;
        i.h(c, i);
        c.rip = c.nrip;
        c.icount++;
        if (c.brk) {
          c.brk = false;
          return null;
        }
      }
      return b;
    };
  }
}

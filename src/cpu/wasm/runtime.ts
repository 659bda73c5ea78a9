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
 * @module
 */

import type { Block } from "../blocks.ts";
import type { CompiledBlock } from "../compiler.ts";
import type { Cpu } from "../cpu.ts";
import { STATE_EXIT, STATE_FLAGS, STATE_SSE } from "../unified_memory.ts";
import { encodeRegions, WASM_DONE, wasmRegionBlocks } from "./codegen.ts";
import { sseControl, sseSupports } from "./codegen_sse.ts";

/** Most instructions one call may run (the budget passed to the wasm code is an i32). */
const MAX_LEFT = 0x3fffffff;

/** A region function: (entry RIP, instructions allowed) -> status. */
type RegionFn = (rip: number, left: number) => number;

/** Compiles regions of one CPU to WebAssembly. */
export class WasmBackend {
  /** Regions compiled (statistics). */
  compiled = 0;
  /** Bytes of wasm code produced (statistics). */
  bytes = 0;
  /** Times compiled code stopped at an instruction that needed the slow path (statistics, tests). */
  slowPaths = 0;
  private readonly memory: WebAssembly.Memory;
  private readonly pages: number;
  private readonly stateOffset: number;
  private readonly fx: Uint32Array;
  private readonly exRip: Float64Array;
  private readonly exInfo: Int32Array;
  private readonly sseWord: Int32Array;

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
    this.exInfo = new Int32Array(buf, shared.stateOffset + STATE_EXIT + 8, 3);
    this.sseWord = new Int32Array(buf, shared.stateOffset + STATE_SSE, 1);
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
    const mod = encodeRegions([{ blocks, epoch }], this.pages, this.stateOffset);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(mod.bytes as BufferSource), {
      m: { mem: this.memory },
    });
    this.compiled++;
    this.bytes += mod.bytes.length;
    return this.wrap(inst.exports[mod.names[0]] as RegionFn, blocks, epoch);
  }

  /** The compiled block calling `fn` (see the module documentation). */
  private wrap(fn: RegionFn, blocks: Block[], epoch: number): CompiledBlock {
    const fx = this.fx, exRip = this.exRip, exInfo = this.exInfo, sseWord = this.sseWord;
    const sse = blocks.some((b) => b.insns.some(sseSupports));
    const entryLength = blocks[0].insns.length;
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
      if (sse) sseWord[0] = sseControl(c);
      const status = fn(c.rip, left);
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
      const b = blocks[exInfo[1]];
      if (status === WASM_DONE) return b;
      this.slowPaths++;
      const insns = b.insns, at = exInfo[2];
      c.rip += offsets[exInfo[1]][at];
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

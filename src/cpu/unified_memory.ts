/**
 * Host memory and the CPU's hot state in one `WebAssembly.Memory`, so that code compiled to
 * WebAssembly (src/cpu/wasm/) reads and writes guest memory, the general registers and the
 * software TLB directly, while JavaScript (the interpreter, the devices, EPT, migration, replay)
 * keeps typed-array views on the same bytes.
 *
 * Layout of the memory: host-physical memory from byte 0 (`bytes`, exactly the size asked for),
 * then, from {@linkcode SharedMemory.stateOffset} (64 KiB aligned), the CPU state area:
 *
 * | offset in the area | contents                                                                  |
 * | ------------------ | ------------------------------------------------------------------------- |
 * | 0                  | general registers: register r as a little-endian 64-bit slot at 8r        |
 * | 256                | the lazy-flags record handed between JavaScript and compiled code         |
 * | 320                | the exit record of compiled code (where and why it stopped)               |
 * | 352                | the SSE control word handed to compiled code (MXCSR, or -1: SSE disabled) |
 * | 1024               | XMM0-15 and the handlers' four staging registers, 16 bytes each           |
 * | 4096               | software TLB: read tags, read pages, write tags, write pages (f64 each)   |
 * | 135168             | compiled code's dispatch cache: entry RIP -> compiled region (16 bytes)   |
 *
 * A register's slot at 8r holds its low half at 8r and its high half at 8r + 4, which is exactly
 * the interpreter's `gpr[2r]`, `gpr[2r + 1]` as a Uint32Array over the slots. WebAssembly memories
 * with 32-bit addresses hold at most 4 GiB; a larger host memory is a plain ArrayBuffer (with the
 * state outside it), and the WebAssembly backend is then not available.
 *
 * @module
 */

/** Byte offset of the general registers in the state area (16 slots of 8 bytes). */
export const STATE_GPR = 0;
/** Byte offset of the lazy-flags record: op, size, a, ah, b, bh, r, rh, cin, rf as 32-bit words. */
export const STATE_FLAGS = 256;
/** Byte offset of the exit record of compiled code (see src/cpu/wasm/runtime.ts). */
export const STATE_EXIT = 320;
/** Byte offset of the SSE control word: MXCSR while SSE instructions may run, else -1 (see src/cpu/wasm/runtime.ts). */
export const STATE_SSE = 352;
/** Byte offset of the XMM registers (`FpuState.xmm`: 20 registers of 16 bytes, register n at 16n). */
export const STATE_XMM = 1024;
/** Entries of each software-TLB array. */
export const STATE_TLB_ENTRIES = 4096;
/** Byte offset of the read TLB's tags (f64 linear page numbers, NaN when empty). */
export const STATE_RTAG = 4096;
/** Byte offset of the read TLB's host-physical page addresses (f64). */
export const STATE_RHPA = STATE_RTAG + 8 * STATE_TLB_ENTRIES;
/** Byte offset of the write TLB's tags. */
export const STATE_WTAG = STATE_RHPA + 8 * STATE_TLB_ENTRIES;
/** Byte offset of the write TLB's host-physical page addresses. */
export const STATE_WHPA = STATE_WTAG + 8 * STATE_TLB_ENTRIES;
/**
 * Byte offset of the dispatch cache of compiled code (src/cpu/wasm/runtime.ts): per entry, a linear
 * RIP (i64), the generation it holds in (i32), a region's table slot and its entry block's length
 * (u16 each).
 */
export const STATE_DISPATCH = STATE_WHPA + 8 * STATE_TLB_ENTRIES;
/** Entries of the dispatch cache (a power of two). */
export const STATE_DISPATCH_ENTRIES = 2048;
/** Size of the state area in bytes (a multiple of the 64 KiB WebAssembly page). */
export const STATE_BYTES = 3 * 65536;

const WASM_PAGE = 65536;
/** Most bytes a WebAssembly memory with 32-bit addresses holds (65,536 pages). */
const MAX_WASM_BYTES = 4 * 1024 * 1024 * 1024;

/** Host memory with the CPU state area after it (see the module documentation). */
export class SharedMemory {
  /** The WebAssembly memory holding both, or null when the host memory is too large for one. */
  readonly memory: WebAssembly.Memory | null;
  /** Host-physical memory: the first `size` bytes of the buffer. */
  readonly bytes: Uint8Array;
  /** Byte offset of the CPU state area in the buffer. */
  readonly stateOffset: number;
  /** The buffer holding the state area (the memory's buffer, or a separate one). */
  readonly stateBuffer: ArrayBuffer;

  /**
   * Zeroed host memory of `size` bytes with a state area after it, in one WebAssembly memory when
   * they fit in 4 GiB.
   *
   * @example
   * ```ts
   * import { equal } from "node:assert/strict";
   * import { SharedMemory } from "./unified_memory.ts";
   * const m = new SharedMemory(2 * 1024 * 1024);
   * equal(m.bytes.length, 2 * 1024 * 1024);
   * equal(m.bytes.buffer, m.memory?.buffer);
   * ```
   */
  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`host memory of ${size} bytes`);
    const stateOffset = Math.ceil(size / WASM_PAGE) * WASM_PAGE;
    const total = stateOffset + STATE_BYTES;
    if (total <= MAX_WASM_BYTES) {
      const pages = total / WASM_PAGE;
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const buffer = this.memory.buffer as ArrayBuffer; // not shared: created without `shared: true`
      this.bytes = new Uint8Array(buffer, 0, size);
      this.stateOffset = stateOffset;
      this.stateBuffer = buffer;
    } else {
      this.memory = null;
      this.bytes = new Uint8Array(size);
      this.stateOffset = 0;
      this.stateBuffer = new ArrayBuffer(STATE_BYTES);
    }
  }
}

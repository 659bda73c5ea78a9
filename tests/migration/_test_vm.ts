/**
 * A test double for {@link MigratableVm}: not a CPU, just RAM and a deterministic write pattern.
 *
 * The "guest" retires abstract instructions; every `writeEvery` instructions it writes one page of a
 * working set of `workingSetPages` pages (cycling through them, like QEMU's migration-test guest,
 * which increments a byte in every page in a loop). Its state section holds its counters, so a
 * destination that restored it continues the same pattern. Its final RAM depends only on how many
 * instructions it retired, so a migrated run must end byte-for-byte equal to an unmigrated one.
 */

import type { LazyRam, MigratableVm, StateSection } from "../../src/migration/vm_interface.ts";
import { PAGE_SIZE } from "../../src/migration/vm_interface.ts";
import { allocateGuestMemory } from "../../src/vm/host_memory.ts";

/** Parameters of a {@link TestVm}. */
export interface TestVmOptions {
  /** RAM size in bytes (multiple of 4096). */
  ramBytes: number;
  /** Pages the guest keeps writing. */
  workingSetPages: number;
  /** First page of the working set (default 16). */
  workingSetStart?: number;
  /** One page write every this many instructions. */
  writeEvery: number;
  /** The guest finishes after this many instructions (default: never). */
  endAt?: number;
  /** Fill every `bootStride`-th page with a pattern at construction, like a loaded image (default 4; 0: none). */
  bootStride?: number;
  /** State section version this VM writes and accepts (default 1). */
  stateVersion?: number;
  /** Advise huge pages for RAM where the host supports it (default false; see allocateGuestMemory). */
  hugePages?: boolean;
}

const SECTION = "test-vm";

/** The test double. */
export class TestVm implements MigratableVm {
  readonly ramBytes: number;
  readonly ram: Uint8Array;
  readonly opts: Required<TestVmOptions>;
  instructions = 0;
  writes = 0;
  throttle = 0;
  /** Virtual instructions of time passed to run() (retired + held by the throttle). */
  virtualTime = 0;
  /** Calls of takeDirtyLog(). */
  logTakes = 0;
  tracking = false;
  #log: Uint32Array;
  #carry = 0;
  /** RAM still loading after a lazy restore, or null. */
  lazy: LazyRam | null = null;

  constructor(opts: TestVmOptions, blank = false) {
    this.opts = {
      workingSetStart: 16,
      endAt: Infinity,
      bootStride: 4,
      stateVersion: 1,
      hugePages: false,
      ...opts,
    };
    const o = this.opts;
    if (o.ramBytes % PAGE_SIZE !== 0) throw new RangeError("ramBytes must be a multiple of 4096");
    if (o.workingSetStart + o.workingSetPages > o.ramBytes / PAGE_SIZE) {
      throw new RangeError("working set lies outside RAM");
    }
    this.ramBytes = o.ramBytes;
    this.ram = allocateGuestMemory(o.ramBytes, { hugePages: o.hugePages });
    this.#log = new Uint32Array(Math.ceil(o.ramBytes / PAGE_SIZE / 32));
    if (!blank && o.bootStride > 0) {
      for (let p = 0; p < o.ramBytes / PAGE_SIZE; p += o.bootStride) {
        const base = p * PAGE_SIZE;
        for (let i = 0; i < PAGE_SIZE; i += 64) this.ram[base + i] = (p * 7 + i) & 0xff | 1;
      }
    }
  }

  /** A fresh destination VM for a stream from a VM with these options: blank RAM, nothing run. */
  static blank(opts: TestVmOptions): TestVm {
    return new TestVm(opts, true);
  }

  get finished(): boolean {
    return this.instructions >= this.opts.endAt;
  }

  #write(k: number): void {
    const o = this.opts;
    const ws = o.workingSetPages;
    const pfn = o.workingSetStart + (k % ws);
    const lap = Math.floor(k / ws);
    const base = pfn * PAGE_SIZE;
    this.#ensure(pfn);
    this.ram[base + (lap % 512) * 8]++;
    this.ram[base + 4095] = lap & 0xff;
    if (this.tracking) this.#log[pfn >>> 5] |= 1 << (pfn & 31);
  }

  run(n: number): void {
    if (n <= 0 || this.finished) return;
    this.virtualTime += n;
    this.#carry += n * (1 - this.throttle);
    let r = Math.floor(this.#carry);
    this.#carry -= r;
    r = Math.min(r, this.opts.endAt - this.instructions);
    if (this.opts.workingSetPages > 0) {
      const every = this.opts.writeEvery;
      const target = this.instructions + r;
      // writes happen after instructions every, 2*every, ...
      for (let next = (this.writes + 1) * every; next <= target; next += every) this.#write(this.writes++);
    }
    this.instructions += r;
  }

  takeDirtyLog(): Uint32Array {
    this.logTakes++;
    const out = this.#log.slice();
    this.#log.fill(0);
    return out;
  }

  setDirtyTracking(on: boolean): void {
    this.tracking = on;
    this.#log.fill(0);
  }

  #ensure(pfn: number): void {
    if (this.lazy !== null && this.lazy.missing[pfn] !== 0) this.lazy.load(pfn, this.ram);
  }

  attachLazyRam(lazy: LazyRam): void {
    this.lazy = lazy;
  }

  readPage(pfn: number, dst: Uint8Array): void {
    this.#ensure(pfn);
    dst.set(this.ram.subarray(pfn * PAGE_SIZE, pfn * PAGE_SIZE + PAGE_SIZE));
  }

  writePage(pfn: number, src: Uint8Array): void {
    this.lazy?.discard(pfn);
    this.ram.set(src.subarray(0, PAGE_SIZE), pfn * PAGE_SIZE);
  }

  saveState(): StateSection[] {
    const d = new DataView(new ArrayBuffer(40));
    const o = this.opts;
    d.setFloat64(0, this.instructions, true);
    d.setFloat64(8, this.writes, true);
    d.setFloat64(16, o.workingSetPages, true);
    d.setFloat64(24, o.writeEvery, true);
    d.setFloat64(32, o.endAt, true);
    return [{ name: SECTION, version: o.stateVersion, data: new Uint8Array(d.buffer) }];
  }

  restoreState(sections: StateSection[]): void {
    const s = sections.find((x) => x.name === SECTION);
    if (!s) throw new Error(`state section "${SECTION}" is missing`);
    if (s.version !== this.opts.stateVersion) {
      throw new Error(
        `state section "${SECTION}" has version ${s.version}, expected ${this.opts.stateVersion}`,
      );
    }
    if (s.data.length !== 40) {
      throw new Error(`state section "${SECTION}" is ${s.data.length} bytes, expected 40`);
    }
    const d = new DataView(s.data.buffer, s.data.byteOffset, 40);
    const o = this.opts;
    if (
      d.getFloat64(16, true) !== o.workingSetPages || d.getFloat64(24, true) !== o.writeEvery ||
      d.getFloat64(32, true) !== o.endAt
    ) throw new Error("test VM parameters differ between source and destination");
    this.instructions = d.getFloat64(0, true);
    this.writes = d.getFloat64(8, true);
  }

  setThrottle(fraction: number): void {
    if (!(fraction >= 0 && fraction <= 0.99)) throw new RangeError(`throttle ${fraction} outside 0..0.99`);
    this.throttle = fraction;
  }
}

/** Run `vm` to its end (or `limit` instructions) without migration. */
export function runToEnd(vm: TestVm, limit = 1e12): void {
  while (!vm.finished && vm.instructions < limit) vm.run(Math.min(1e9, limit - vm.instructions));
}

/** The first difference between two test VMs (RAM, counters), or "" if they are equal. */
export function diffVms(a: TestVm, b: TestVm): string {
  for (const v of [a, b]) v.lazy?.loadAll(v.ram);
  if (a.instructions !== b.instructions) return `instructions ${a.instructions} != ${b.instructions}`;
  if (a.writes !== b.writes) return `writes ${a.writes} != ${b.writes}`;
  if (a.ram.length !== b.ram.length) return `RAM ${a.ram.length} != ${b.ram.length}`;
  for (let i = 0; i < a.ram.length; i++) {
    if (a.ram[i] !== b.ram[i]) {
      return `RAM byte 0x${i.toString(16)} (page ${i >>> 12}): ${a.ram[i]} != ${b.ram[i]}`;
    }
  }
  return "";
}

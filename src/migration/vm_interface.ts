/**
 * The narrow view of a virtual machine that live migration, snapshots and restore use.
 *
 * Nothing in `cpu`, `vmx` or `vm` depends on migration at run time; a VM takes part by implementing
 * {@link MigratableVm} (the machine's state sections are this module's {@link StateSection}).
 *
 * @module
 */

/** Size of one guest page, in bytes: the granule of dirty tracking and of the stream. */
export const PAGE_SIZE = 4096;

/** One versioned piece of non-RAM state (VMCS region, registers, MSRs, a device, ...). */
export interface StateSection {
  /** Section name, unique within one VM, e.g. "vmcs" or "serial0". */
  name: string;
  /** Format version of `data`; a restore refuses versions it does not know. */
  version: number;
  /** The serialized state. */
  data: Uint8Array;
}

/** What migration needs from a VM: nothing more. */
export interface MigratableVm {
  /** Guest RAM size in bytes, a multiple of 4096. */
  readonly ramBytes: number;
  /** Retired guest instructions so far (virtual time). */
  readonly instructions: number;
  /** The guest has ended (exit port, hlt, ...). */
  readonly finished: boolean;
  /** Run the guest for at most `n` more instructions of virtual time (stops early if it ends). */
  run(n: number): void;
  /**
   * Take-and-clear the dirty log: one bit per 4 KiB page written since the last call (page i is bit
   * i & 31 of word i >>> 5, LSB first; the same bytes as the 64-bit words of `DirtyBitmap`).
   */
  takeDirtyLog(): Uint32Array;
  /** Start/stop dirty tracking (start also clears the log). */
  setDirtyTracking(on: boolean): void;
  /** Copy the 4096 bytes of page `pfn` out into `dst`. */
  readPage(pfn: number, dst: Uint8Array): void;
  /** Copy 4096 bytes from `src` into page `pfn` (destination side). */
  writePage(pfn: number, src: Uint8Array): void;
  /** Everything that is not RAM: VMCS region, registers not in the VMCS, MSRs, pending interrupts, device state, as versioned sections. */
  saveState(): StateSection[];
  /** Restore what {@link MigratableVm.saveState} produced; throws with a clear message on mismatch. */
  restoreState(sections: StateSection[]): void;
  /** Throttle for auto-converge: fraction of virtual time the guest is held (0..0.99). */
  setThrottle(fraction: number): void;
  /**
   * Take RAM that loads on first touch (a lazy restore; see {@link LazyRam}). Called on a fresh VM
   * before {@link MigratableVm.restoreState}. A VM without it cannot be restored lazily.
   */
  attachLazyRam?(lazy: LazyRam): void;
}

/**
 * Guest RAM still to be loaded, for a lazily restored VM. The VM must call {@link LazyRam.load}
 * before any access to a page whose `missing` flag is set (its CPU's guest-physical translations,
 * page reads and digests alike) and {@link LazyRam.discard} before overwriting one whole. Loading is
 * below the guest: it is no guest write, sets no dirty bit and costs no virtual time.
 */
export interface LazyRam {
  /** Per page: non-zero until the page has been loaded (or discarded). */
  readonly missing: Uint8Array;
  /** Pages still missing. */
  readonly remaining: number;
  /** Load page `pfn` (and others stored with it) into `ram`, the VM's RAM from guest-physical 0. */
  load(pfn: number, ram: Uint8Array): void;
  /** Page `pfn` is about to be overwritten whole: never load it. */
  discard(pfn: number): void;
  /** Load every missing page into `ram`. */
  loadAll(ram: Uint8Array): void;
  /** Release the backing file; pages not loaded by then can no longer be. */
  close(): void;
}

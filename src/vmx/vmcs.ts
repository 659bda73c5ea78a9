/**
 * A VMCS region in host-physical memory: header (revision identifier, shadow bit, VMX-abort
 * indicator), hvsim's launch state, and field data at the offsets of fields.ts.
 *
 * @module
 */

import {
  fieldOffset,
  fieldSize,
  VMCS_ABORT_OFFSET,
  VMCS_LAUNCH_STATE_OFFSET,
  VMCS_REGION_SIZE,
  VMCS_REVISION_OFFSET,
} from "./fields.ts";

/** Launch state "clear", stored as u32 0 at offset 8 (SDM Vol. 3, §24.1; KVM vmcs12.launch_state). */
export const LAUNCH_STATE_CLEAR = 0;

/** Launch state "launched", stored as u32 1 at offset 8 (SDM Vol. 3, §24.1; KVM vmcs12.launch_state). */
export const LAUNCH_STATE_LAUNCHED = 1;

/** Bit 31 of the first header word: shadow-VMCS indicator (SDM Vol. 3, Table 24-1). */
export const VMCS_SHADOW_INDICATOR = 0x80000000;

/** Bits 30:0 of the first header word: VMCS revision identifier (SDM Vol. 3, Table 24-1). */
export const VMCS_REVISION_MASK = 0x7fffffff;

/** Saved form of a VMCS region: plain data (Firecracker `Persist` style). */
export interface VmcsState {
  /** Host-physical address the region was saved from. */
  address: number;
  /** The 4096 bytes of the region, header included. */
  region: Uint8Array;
}

function unsupported(encoding: number): RangeError {
  const shown = Number.isInteger(encoding) ? `0x${encoding.toString(16)}` : String(encoding);
  return new RangeError(
    `Unsupported VMCS field encoding ${shown}: expected one of the 194 encodings of fields.ts`,
  );
}

/**
 * A VMCS region at `address` in host-physical memory `mem`. Reads and writes go straight to `mem`,
 * so the region bytes are the single home of VMCS state (and are saved with host memory).
 *
 * Field access methods throw a RangeError for an unsupported encoding; the VMX instructions in
 * instructions.ts turn that case into VMfailValid(12) before calling them.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { Vmcs } from "./vmcs.ts";
 * import { GUEST_CS_SELECTOR, GUEST_RIP } from "./fields.ts";
 * const vmcs = new Vmcs(new Uint8Array(8192), 4096);
 * vmcs.write(GUEST_RIP, 0x401000n);
 * vmcs.writeNumber(GUEST_CS_SELECTOR, 0x10);
 * equal(vmcs.read(GUEST_RIP), 0x401000n);
 * equal(vmcs.readNumber(GUEST_CS_SELECTOR), 0x10);
 * ```
 */
export class Vmcs {
  /** Host-physical memory holding the region. */
  readonly mem: Uint8Array;
  /** Host-physical address of the region (byte index into `mem`). */
  readonly address: number;
  readonly #view: DataView;

  /** Wraps the region at `address`; throws a RangeError if 4096 bytes from there do not fit in `mem`. */
  constructor(mem: Uint8Array, address: number) {
    if (!Number.isSafeInteger(address) || address < 0 || address + VMCS_REGION_SIZE > mem.length) {
      throw new RangeError(
        `Cannot place a VMCS at ${address}: expected a 4 KiB region inside ${mem.length} bytes of host memory`,
      );
    }
    this.mem = mem;
    this.address = address;
    this.#view = new DataView(mem.buffer, mem.byteOffset + address, VMCS_REGION_SIZE);
  }

  /** Fills the region with zeros and writes a revision identifier (what software does before VMPTRLD). */
  format(revisionId: number, shadow = false): void {
    this.mem.fill(0, this.address, this.address + VMCS_REGION_SIZE);
    this.revisionId = revisionId;
    this.shadow = shadow;
  }

  /** VMCS revision identifier, bits 30:0 of offset 0. */
  get revisionId(): number {
    return this.#view.getUint32(VMCS_REVISION_OFFSET, true) & VMCS_REVISION_MASK;
  }

  set revisionId(value: number) {
    const word = this.#view.getUint32(VMCS_REVISION_OFFSET, true);
    this.#view.setUint32(
      VMCS_REVISION_OFFSET,
      ((word & VMCS_SHADOW_INDICATOR) | (value & VMCS_REVISION_MASK)) >>> 0,
      true,
    );
  }

  /** Shadow-VMCS indicator, bit 31 of offset 0. */
  get shadow(): boolean {
    return (this.#view.getUint32(VMCS_REVISION_OFFSET, true) & VMCS_SHADOW_INDICATOR) !== 0;
  }

  set shadow(value: boolean) {
    const word = this.#view.getUint32(VMCS_REVISION_OFFSET, true) & VMCS_REVISION_MASK;
    this.#view.setUint32(VMCS_REVISION_OFFSET, (value ? word | VMCS_SHADOW_INDICATOR : word) >>> 0, true);
  }

  /** VMX-abort indicator, u32 at offset 4. */
  get abortIndicator(): number {
    return this.#view.getUint32(VMCS_ABORT_OFFSET, true);
  }

  set abortIndicator(value: number) {
    this.#view.setUint32(VMCS_ABORT_OFFSET, value >>> 0, true);
  }

  /** Launch state, u32 at offset 8: LAUNCH_STATE_CLEAR or LAUNCH_STATE_LAUNCHED. */
  get launchState(): number {
    return this.#view.getUint32(VMCS_LAUNCH_STATE_OFFSET, true);
  }

  set launchState(value: number) {
    this.#view.setUint32(VMCS_LAUNCH_STATE_OFFSET, value >>> 0, true);
  }

  /** Reads a field by encoding at its width, zero-extended (a high alias reads bits 63:32). */
  read(encoding: number): bigint {
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
        return BigInt(this.#view.getUint16(offset, true));
      case 4:
        return BigInt(this.#view.getUint32(offset, true));
      case 8:
        return this.#view.getBigUint64(offset, true);
      default:
        throw unsupported(encoding);
    }
  }

  /** Writes a field by encoding, keeping the low bits that fit its width (as VMWRITE does). */
  write(encoding: number, value: bigint | number): void {
    if (typeof value === "number") return this.writeNumber(encoding, value);
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
        this.#view.setUint16(offset, Number(value & 0xffffn), true);
        return;
      case 4:
        this.#view.setUint32(offset, Number(value & 0xffffffffn), true);
        return;
      case 8:
        this.#view.setBigUint64(offset, BigInt.asUintN(64, value), true);
        return;
      default:
        throw unsupported(encoding);
    }
  }

  /**
   * Reads a 16-bit, 32-bit or high-alias field as a number, without allocating. For 64-bit and
   * natural-width fields it returns the value if it is below 2^53 and throws a RangeError otherwise.
   */
  readNumber(encoding: number): number {
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
        return this.#view.getUint16(offset, true);
      case 4:
        return this.#view.getUint32(offset, true);
      case 8: {
        const lo = this.#view.getUint32(offset, true);
        const hi = this.#view.getUint32(offset + 4, true);
        if (hi > 0x1fffff) {
          throw new RangeError(`VMCS field 0x${encoding.toString(16)} holds a value above 2^53: use read()`);
        }
        return hi * 0x100000000 + lo;
      }
      default:
        throw unsupported(encoding);
    }
  }

  /** Bits 31:0 of a field as an unsigned number, without allocating (a 16-bit field zero-extended). */
  readLow32(encoding: number): number {
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
        return this.#view.getUint16(offset, true);
      case 4:
      case 8:
        return this.#view.getUint32(offset, true);
      default:
        throw unsupported(encoding);
    }
  }

  /** Bits 63:32 of a 64-bit or natural-width field as an unsigned number (0 for narrower fields). */
  readHigh32(encoding: number): number {
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
      case 4:
        return 0;
      case 8:
        return this.#view.getUint32(offset + 4, true);
      default:
        throw unsupported(encoding);
    }
  }

  /**
   * Writes a field from a number without allocating. 16/32-bit fields keep the low bits of the
   * integer (negative values wrap as two's complement); 64-bit and natural-width fields take a
   * safe integer, negative ones sign-extended to 64 bits.
   */
  writeNumber(encoding: number, value: number): void {
    const offset = fieldOffset(encoding);
    switch (fieldSize(encoding)) {
      case 2:
        this.#view.setUint16(offset, value & 0xffff, true);
        return;
      case 4:
        this.#view.setUint32(offset, value >>> 0, true);
        return;
      case 8: {
        if (!Number.isSafeInteger(value)) {
          throw new RangeError(
            `Cannot write ${value} to a 64-bit VMCS field: expected a safe integer or a bigint`,
          );
        }
        const hi = Math.floor(value / 0x100000000);
        this.#view.setUint32(offset, value >>> 0, true);
        this.#view.setUint32(offset + 4, hi >>> 0, true);
        return;
      }
      default:
        throw unsupported(encoding);
    }
  }

  /** The 4096 bytes of the region, as a view into host memory (not a copy). */
  region(): Uint8Array {
    return this.mem.subarray(this.address, this.address + VMCS_REGION_SIZE);
  }

  /** Saves the region as plain data (a copy of its 4096 bytes). */
  save(): VmcsState {
    return { address: this.address, region: this.region().slice() };
  }

  /** Restores a saved region into this region's bytes; throws a RangeError if it is not 4096 bytes. */
  restore(state: VmcsState): void {
    if (state.region.length !== VMCS_REGION_SIZE) {
      throw new RangeError(
        `Cannot restore a VMCS from ${state.region.length} bytes: expected a ${VMCS_REGION_SIZE}-byte region`,
      );
    }
    this.mem.set(state.region, this.address);
  }
}

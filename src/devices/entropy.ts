/**
 * The entropy source behind RDRAND, RDSEED and the entropy device: a seeded SplitMix64
 * generator, so runs are reproducible; record/replay logs what it hands out.
 *
 * @module
 */

/** A deterministic 64-bit random source. */
export class Entropy {
  private state: bigint;
  /** Values handed out so far. */
  count = 0;

  constructor(seed: bigint = 0x68767369_6d5f7631n) {
    this.state = BigInt.asUintN(64, seed);
  }

  /** The next 64-bit value (SplitMix64, Steele et al. 2014). */
  next64(): bigint {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    this.count++;
    return z ^ (z >> 31n);
  }

  /** State for snapshots. */
  save(): Uint8Array {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, this.state, true);
    dv.setFloat64(8, this.count, true);
    return b;
  }

  /** Loads state from {@linkcode save}. */
  restore(b: Uint8Array): void {
    if (b.length !== 16) throw new RangeError(`entropy state must be 16 bytes, got ${b.length}`);
    const dv = new DataView(b.buffer, b.byteOffset, 16);
    this.state = dv.getBigUint64(0, true);
    this.count = dv.getFloat64(8, true);
  }
}

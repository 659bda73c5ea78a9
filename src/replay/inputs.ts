/**
 * Sources of the guest's nondeterministic inputs, and their recording and replaying wrappers.
 *
 * Recording wraps a real source (the host's random generator or a seeded one for RDRAND/RDSEED;
 * a file or stdin for COM1) and reports every value with the retired-instruction count at which
 * the guest consumed it. Replaying hands the logged values back at exactly those counts.
 *
 * @module
 */

import { Entropy, type SerialInput } from "../devices/mod.ts";
import type { EntropySource, Machine } from "../vm/mod.ts";
import { INPUT_RDRAND, INPUT_RDSEED, INPUT_SERIAL, type InputRecord } from "./log.ts";

/** An entropy source backed by the host's cryptographic generator: really nondeterministic. */
export class HostEntropy implements EntropySource {
  /** Values handed out so far. */
  count = 0;
  readonly #buf = new BigUint64Array(1);

  /** 64 bits from `crypto.getRandomValues`. */
  next64(): bigint {
    crypto.getRandomValues(this.#buf);
    this.count++;
    return this.#buf[0];
  }

  /** 16 bytes: zero, then the count as f64 (the layout of the seeded source's state). */
  save(): Uint8Array {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setFloat64(8, this.count, true);
    return b;
  }

  /** Loads the count from {@linkcode save}. */
  restore(b: Uint8Array): void {
    if (b.length !== 16) throw new RangeError(`host entropy state must be 16 bytes, got ${b.length}`);
    this.count = new DataView(b.buffer, b.byteOffset, 16).getFloat64(8, true);
  }
}

/** Called for every input the guest consumes while recording. */
export type InputObserver = (r: InputRecord) => void;

/**
 * Recording wrapper around an entropy source: hands out the inner source's values and reports
 * each one, with the source's state after it (so a replay reproduces the state bytes that the
 * checkpoint digests cover).
 */
export class RecordingEntropy implements EntropySource {
  /** The machine whose instruction count stamps each value (set once it exists). */
  machine: Machine | null = null;

  /**
   * Wraps `inner`, reporting each value to `observe`.
   * @param inner the real source
   * @param observe receives every value drawn
   */
  constructor(inner: EntropySource, observe: InputObserver) {
    this.inner = inner;
    this.observe = observe;
  }

  /** The real source. */
  readonly inner: EntropySource;
  /** Receives every value drawn. */
  readonly observe: InputObserver;

  /** The inner source's next value, reported to the observer. */
  next64(seed = false): bigint {
    const v = this.inner.next64(seed);
    const cpu = this.machine!.cpu;
    this.observe({
      kind: seed ? INPUT_RDSEED : INPUT_RDRAND,
      icount: cpu.icount,
      value: v,
      state: this.inner.save(),
    });
    return v;
  }

  /** The inner source's state. */
  save(): Uint8Array {
    return this.inner.save();
  }

  /** Restores the inner source. */
  restore(b: Uint8Array): void {
    this.inner.restore(b);
  }
}

/** Where COM1's bytes come from while recording: a byte array (a file), or a synchronous reader. */
export class ByteInput {
  #buf: Uint8Array;
  #pos = 0;
  readonly #read: ((p: Uint8Array) => number | null) | null;
  #eof = false;

  /**
   * Hands out `data`, then what `read` returns.
   * @param data bytes to hand out in order, or
   * @param read a blocking reader (e.g. `Deno.stdin.readSync`) that fills `p` and returns the count or null at the end
   */
  constructor(data: Uint8Array | null, read: ((p: Uint8Array) => number | null) | null = null) {
    this.#buf = data ?? new Uint8Array(0);
    this.#read = read;
  }

  /** The next byte, or -1 once the input has ended. */
  next(): number {
    if (this.#pos < this.#buf.length) return this.#buf[this.#pos++];
    if (this.#read === null || this.#eof) return -1;
    const chunk = new Uint8Array(4096);
    const n = this.#read(chunk);
    if (n === null || n === 0) {
      this.#eof = true;
      return -1;
    }
    this.#buf = chunk.subarray(0, n);
    this.#pos = 1;
    return this.#buf[0];
  }
}

/** A recording serial input: bytes from `source`, each reported with its instruction count. */
export function recordingSerial(
  source: () => number,
  observe: InputObserver,
  machine: () => Machine | null,
): SerialInput {
  return () => {
    const b = source();
    if (b >= 0) {
      observe({ kind: INPUT_SERIAL, icount: machine()!.cpu.icount, value: BigInt(b), state: EMPTY });
    }
    return b;
  };
}

const EMPTY = new Uint8Array(0);

/** Why a replay's inputs did not line up with the log. */
export interface InputMismatch {
  /** Instruction count at which the guest asked for the input. */
  icount: number;
  /** What happened. */
  message: string;
}

/**
 * Hands the logged inputs back at their instruction counts. A request at a count the log does
 * not have (the guest diverged) gets a zero value and is reported in {@linkcode mismatch}.
 */
export class ReplayInputs {
  /** The first mismatch, if any. */
  mismatch: InputMismatch | null = null;
  /** Called with each input as it is handed out (the replayer checks a fine point there). */
  onInput: ((r: InputRecord, index: number) => void) | null = null;
  /** The machine (set once it exists). */
  machine: Machine | null = null;
  readonly #entropy: InputRecord[] = [];
  readonly #entropyIndex: number[] = [];
  readonly #serial: InputRecord[] = [];
  readonly #serialIndex: number[] = [];
  #e = 0;
  #s = 0;
  #state: Uint8Array;

  /** Over the log's inputs, starting from the entropy state in its header. */
  constructor(inputs: InputRecord[], entropyState: Uint8Array) {
    inputs.forEach((r, i) => {
      if (r.kind === INPUT_SERIAL) {
        this.#serial.push(r);
        this.#serialIndex.push(i);
      } else {
        this.#entropy.push(r);
        this.#entropyIndex.push(i);
      }
    });
    this.#state = entropyState.slice();
  }

  /** Positions both cursors at the first inputs consumed at or after instruction `icount`. */
  seek(icount: number): void {
    const first = (xs: InputRecord[]) => {
      let lo = 0, hi = xs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (xs[mid].icount < icount) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    this.#e = first(this.#entropy);
    this.#s = first(this.#serial);
  }

  /** Instruction count of the first logged input not yet handed out (Infinity if none). */
  nextPending(): number {
    const e = this.#e < this.#entropy.length ? this.#entropy[this.#e].icount : Infinity;
    const s = this.#s < this.#serial.length ? this.#serial[this.#s].icount : Infinity;
    return Math.min(e, s);
  }

  /** Instruction count of the first logged COM1 byte not yet handed out (Infinity if none). */
  nextSerial(): number {
    return this.#s < this.#serial.length ? this.#serial[this.#s].icount : Infinity;
  }

  /** The entropy source to give the machine. */
  readonly entropy: EntropySource = {
    next64: (seed = false): bigint => {
      const cpu = this.machine!.cpu;
      const r = this.#entropy[this.#e];
      if (r === undefined || r.icount !== cpu.icount) {
        this.mismatch ??= {
          icount: cpu.icount,
          message: r === undefined
            ? `the guest executed ${seed ? "RDSEED" : "RDRAND"} but the log has no more entropy`
            : `the guest executed ${
              seed ? "RDSEED" : "RDRAND"
            } but the log's next entropy input is at instruction ${r.icount}`,
        };
        return 0n;
      }
      this.#state = r.state;
      this.onInput?.(r, this.#entropyIndex[this.#e]);
      this.#e++;
      return r.value;
    },
    save: (): Uint8Array => this.#state.slice(),
    restore: (b: Uint8Array): void => {
      this.#state = b.slice();
    },
  };

  /** The serial input to give the machine. */
  readonly serial: SerialInput = (): number => {
    const cpu = this.machine!.cpu;
    const r = this.#serial[this.#s];
    if (r === undefined || r.icount !== cpu.icount) return -1;
    this.onInput?.(r, this.#serialIndex[this.#s]);
    this.#s++;
    return Number(r.value & 0xffn);
  };
}

/** The seeded entropy source every plain run uses (same seed as the machine's default). */
export function seededEntropy(seed?: bigint): EntropySource {
  return new Entropy(seed);
}

/**
 * Links: the clock a migration runs by.
 *
 * A {@link SimulatedLink} is deterministic: sending `b` bytes takes `b / bandwidth` seconds of
 * virtual time, the guest runs for exactly that long (`seconds * clockHz` instructions), and a
 * one-way latency is added where the destination must have received something. Rounds, pages,
 * downtime and total time are therefore the same on every machine. A {@link RealTimeLink} uses
 * the monotonic wall clock (TCP mode).
 *
 * @module
 */

/** Default virtual clock: 1 instruction = 1 ns, i.e. a 1 GHz guest. */
export const DEFAULT_CLOCK_HZ = 1_000_000_000;
/** Default simulated bandwidth: 1 Gbit/s = 125,000,000 bytes per second. */
export const DEFAULT_BANDWIDTH = 125_000_000;

/** The clock and pacing of one migration. */
export interface Link {
  /** Whether time is virtual (same results on every machine). */
  readonly deterministic: boolean;
  /** Guest instructions per second of link time. */
  readonly clockHz: number;
  /** One-way latency in seconds (0 for a real link: it is part of the measured time). */
  readonly latency: number;
  /** Seconds since the link was created. */
  now(): number;
  /** Account for `bytes` handed to the transport (a simulated link advances its clock). */
  transmitted(bytes: number): void;
}

/** Options of a {@link SimulatedLink}. */
export interface SimulatedLinkOptions {
  /** Bytes per second (default {@link DEFAULT_BANDWIDTH}). */
  bandwidth?: number;
  /** One-way latency in milliseconds (default 0). */
  latencyMs?: number;
  /** Guest instructions per virtual second (default {@link DEFAULT_CLOCK_HZ}). */
  clockHz?: number;
}

/** A deterministic link with a fixed bandwidth and latency in virtual time. */
export class SimulatedLink implements Link {
  /** Always true. */
  readonly deterministic = true;
  /** Bytes per second. */
  readonly bandwidth: number;
  /** One-way latency in seconds. */
  readonly latency: number;
  /** Guest instructions per virtual second. */
  readonly clockHz: number;
  #bytes = 0;
  #idle = 0;

  /** Create a link; throws a RangeError for a non-positive bandwidth or clock, or a negative latency. */
  constructor(opts: SimulatedLinkOptions = {}) {
    const bandwidth = opts.bandwidth ?? DEFAULT_BANDWIDTH;
    const latencyMs = opts.latencyMs ?? 0;
    const clockHz = opts.clockHz ?? DEFAULT_CLOCK_HZ;
    if (!(bandwidth > 0) || !Number.isFinite(bandwidth)) {
      throw new RangeError(`Link bandwidth is ${bandwidth} bytes/s: expected a positive number`);
    }
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) {
      throw new RangeError(`Link latency is ${latencyMs} ms: expected 0 or more`);
    }
    if (!(clockHz > 0) || !Number.isFinite(clockHz)) {
      throw new RangeError(`Virtual clock is ${clockHz} Hz: expected a positive number`);
    }
    this.bandwidth = bandwidth;
    this.latency = latencyMs / 1000;
    this.clockHz = clockHz;
  }

  /** Virtual seconds: bytes sent over bandwidth, plus any idle time. */
  now(): number {
    return this.#bytes / this.bandwidth + this.#idle;
  }

  /** Advance the clock by the time `bytes` take on the wire. */
  transmitted(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Advance the clock by `seconds` with nothing on the wire (e.g. waiting for a reply). */
  idle(seconds: number): void {
    this.#idle += seconds;
  }
}

/** A link measured by the monotonic wall clock (TCP mode); latency is part of what it measures. */
export class RealTimeLink implements Link {
  /** Always false. */
  readonly deterministic = false;
  /** Always 0: real latency shows up in the measured time. */
  readonly latency = 0;
  /** Guest instructions per second of wall time spent sending. */
  readonly clockHz: number;
  #start = performance.now();

  /** Create; the guest runs `clockHz` instructions per second spent sending (default 1 GHz). */
  constructor(clockHz = DEFAULT_CLOCK_HZ) {
    if (!(clockHz > 0)) throw new RangeError(`Virtual clock is ${clockHz} Hz: expected a positive number`);
    this.clockHz = clockHz;
  }

  /** Wall seconds since creation. */
  now(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /** Nothing to do: the time is spent in the transport. */
  transmitted(_bytes: number): void {}
}

const UNITS: Record<string, number> = {
  "": 1,
  "b": 1,
  "k": 1e3,
  "kb": 1e3,
  "m": 1e6,
  "mb": 1e6,
  "g": 1e9,
  "gb": 1e9,
  "kib": 1024,
  "mib": 1 << 20,
  "gib": 1 << 30,
  "kbit": 125,
  "mbit": 125e3,
  "gbit": 125e6,
  "kbps": 125,
  "mbps": 125e3,
  "gbps": 125e6,
};

/**
 * Parse a bandwidth such as "1gbit", "100mbit", "125MB", "64MiB" (per second; "/s" optional)
 * into bytes per second. Throws a RangeError with the accepted forms otherwise.
 *
 * @example
 * ```ts
 * import { parseBandwidth } from "./link.ts";
 * import { equal } from "node:assert/strict";
 * equal(parseBandwidth("1gbit"), 125_000_000);
 * equal(parseBandwidth("64MiB/s"), 64 * 1024 * 1024);
 * ```
 */
export function parseBandwidth(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)(?:\/s)?\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const value = m ? Number(m[1]) * (unit ?? NaN) : NaN;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Bad bandwidth "${text}": expected a positive number with a unit such as 1gbit, 100mbit, 125MB, 64MiB`,
    );
  }
  return value;
}

/**
 * Parse a duration such as "300ms", "1.5s" or "300" (milliseconds) into milliseconds.
 *
 * @example
 * ```ts
 * import { parseDurationMs } from "./link.ts";
 * import { equal } from "node:assert/strict";
 * equal(parseDurationMs("1.5s"), 1500);
 * ```
 */
export function parseDurationMs(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|us)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`Bad duration "${text}": expected a number with ms, s or us, e.g. 300ms`);
  const v = Number(m[1]);
  const unit = (m[2] ?? "ms").toLowerCase();
  return unit === "s" ? v * 1000 : unit === "us" ? v / 1000 : v;
}

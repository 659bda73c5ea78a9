/**
 * The PC platform's clocks, derived from virtual time. hvsim's guest TSC advances one tick per
 * retired instruction and CPUID reports it as `TSC_HZ` (1 GHz, src/vm/cpuid.ts); the platform's
 * other clocks are exact integer functions of the TSC, so every device counts the same way on every
 * run:
 *
 * - the 8254 PIT counts at `PIT_HZ` = 1 193 182 Hz (the PC's 14.31818 MHz crystal / 12, as Linux's
 *   PIT_TICK_RATE rounds it): PIT clock k happens at the first TSC value t with
 *   `floor(t × 1193182 / 10^9) ≥ k`, so the ratio of TSC to PIT ticks is 10^9 / 1193182 (about
 *   838.1), with the rounding fixed;
 * - the MC146818 RTC's time base is 32.768 kHz: its tick k happens at the first t with
 *   `floor(t × 32768 / 10^9) ≥ k` (one RTC second is exactly one TSC second).
 *
 * The products are split at whole seconds, so the arithmetic is exact for any TSC below 2^53.
 *
 * @module
 */

import { TSC_HZ } from "../vm/cpuid.ts";

/** PIT input clock (Hz), 1.193182 MHz. */
export const PIT_HZ = 1_193_182;
/** The RTC's time base (Hz). */
export const RTC_BASE_HZ = 32768;

/** `floor(tsc × hz / TSC_HZ)`, exactly. */
function ticksAt(tsc: number, hz: number): number {
  const sec = Math.floor(tsc / TSC_HZ);
  return sec * hz + Math.floor((tsc - sec * TSC_HZ) * hz / TSC_HZ);
}

/** The first TSC value t with `ticksAt(t, hz) ≥ tick`, exactly. */
function tickTsc(tick: number, hz: number): number {
  const sec = Math.floor(tick / hz);
  return sec * TSC_HZ + Math.ceil((tick - sec * hz) * TSC_HZ / hz);
}

/**
 * PIT clock ticks elapsed at TSC `tsc`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pitTicks, pitTickTsc } from "./platform_clock.ts";
 * assert.equal(pitTicks(1_000_000_000), 1_193_182); // one second
 * assert.equal(pitTickTsc(1), 839); // ceil(10^9 / 1193182)
 * assert.equal(pitTicks(838), 0);
 * ```
 */
export function pitTicks(tsc: number): number {
  return ticksAt(tsc, PIT_HZ);
}

/** The TSC value at which PIT clock `tick` happens. */
export function pitTickTsc(tick: number): number {
  return tickTsc(tick, PIT_HZ);
}

/** RTC 32.768 kHz ticks elapsed at TSC `tsc`. */
export function rtcTicks(tsc: number): number {
  return ticksAt(tsc, RTC_BASE_HZ);
}

/** The TSC value at which RTC tick `tick` happens. */
export function rtcTickTsc(tick: number): number {
  return tickTsc(tick, RTC_BASE_HZ);
}

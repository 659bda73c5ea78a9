/**
 * Switchover policies (when pre-copy ends and stop-and-copy begins) and QEMU's auto-converge.
 *
 * A policy is asked after every dirty sync, i.e. after each complete pass over the dirty pages.
 *
 * @module
 */

import { PAGE_SIZE } from "./vm_interface.ts";

/** What a policy sees after a pass. */
export interface SyncReport {
  /** Passes completed: 1 after round 0 (which sent every page). */
  passes: number;
  /** Pages dirty now: what the next pass (or stop-and-copy) must send. */
  dirtyPages: number;
  /** Pages the previous pass had to send (all pages for the first). */
  previousPages: number;
  /** Guest RAM pages. */
  totalPages: number;
  /** Measured bandwidth in bytes/s (QEMU's 100 ms windows; the average so far before the first closes). */
  bandwidth: number;
  /** Link time since the migration started, seconds. */
  elapsed: number;
}

/**
 * A policy's switchover test after one pass, as numbers: the quantity it compares with a threshold,
 * so a report can draw the test against the rounds. Caps on the pass count are not part of it.
 */
export interface SwitchoverTest {
  /** What is compared, e.g. "dirty bytes". */
  quantity: string;
  /** Unit of `value` and `threshold`. */
  unit: "bytes" | "pages";
  /** The quantity after the pass. */
  value: number;
  /** What it is compared with. */
  threshold: number;
  /** Switch over when value is at or below (`<=`), below (`<`) or above (`>`) the threshold. */
  switchWhen: "<=" | "<" | ">";
  /** The threshold in words, e.g. "bandwidth x downtime-limit (300 ms)". */
  thresholdLabel: string;
}

/** Decides when to switch over. */
export interface SwitchoverPolicy {
  /** Short name ("qemu", "seed", "xen"). */
  readonly name: string;
  /** The policy's settings by name (e.g. downtimeLimitMs), for reports. */
  readonly params?: Readonly<Record<string, number>>;
  /** Return why to stop and copy now, or null to run another pre-copy pass. */
  decide(r: SyncReport): string | null;
  /** The numbers `decide` compares after this pass (the same rule), for reports. */
  test?(r: SyncReport): SwitchoverTest;
}

/** Whether a {@link SwitchoverTest} says switch over. */
export function testPasses(t: SwitchoverTest): boolean {
  return t.switchWhen === "<="
    ? t.value <= t.threshold
    : t.switchWhen === "<"
    ? t.value < t.threshold
    : t.value > t.threshold;
}

/** Options of {@link qemuPolicy}. */
export interface QemuPolicyOptions {
  /** downtime-limit in milliseconds (default 300, as QEMU). */
  downtimeLimitMs?: number;
  /** Give up waiting after this many passes (default: never, as QEMU). */
  maxPasses?: number;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} is ${v}: expected an integer of 1 or more`);
  }
  return v;
}

/**
 * QEMU's rule: switch over when the bytes still dirty fit in bandwidth x downtime-limit
 * (`migration_iteration_run`: pending_size < threshold_size). No switchover before bandwidth has been
 * measured, except when nothing is dirty.
 */
export function qemuPolicy(opts: QemuPolicyOptions = {}): SwitchoverPolicy {
  const limitMs = opts.downtimeLimitMs ?? 300;
  if (!(limitMs >= 0) || !Number.isFinite(limitMs)) {
    throw new RangeError(`downtime-limit is ${limitMs} ms: expected 0 or more`);
  }
  const maxPasses = opts.maxPasses === undefined ? Infinity : positiveInt("maxPasses", opts.maxPasses);
  const test = (r: SyncReport): SwitchoverTest => ({
    quantity: "dirty bytes",
    unit: "bytes",
    value: r.dirtyPages * PAGE_SIZE,
    threshold: r.bandwidth * limitMs / 1000,
    switchWhen: "<=",
    thresholdLabel: `bandwidth x downtime-limit (${limitMs} ms)`,
  });
  const params: Record<string, number> = { downtimeLimitMs: limitMs };
  if (maxPasses !== Infinity) params.maxPasses = maxPasses;
  return {
    name: "qemu",
    params,
    test,
    decide(r) {
      const t = test(r);
      if (r.dirtyPages === 0) return "no dirty pages left";
      if (r.bandwidth > 0 && testPasses(t)) {
        return `${t.value} dirty bytes fit in bandwidth x downtime-limit (${Math.floor(t.threshold)} bytes)`;
      }
      if (r.passes >= maxPasses) return `pass limit ${maxPasses} reached`;
      return null;
    },
  };
}

/** Options of {@link seedPolicy}. */
export interface SeedPolicyOptions {
  /** Percentage by which the dirty count must fall each pass to keep going (default 20, 0..100). */
  thresholdPercent?: number;
  /** Round cap (default 30). */
  maxPasses?: number;
}

/**
 * The seed's rule, without its bugs: keep iterating while each pass shrinks the dirty count by at
 * least `thresholdPercent` (compared with what the previous pass sent, never with "0 before the
 * first round"); switch over when it stops shrinking that much, when nothing is dirty, or at the cap.
 */
export function seedPolicy(opts: SeedPolicyOptions = {}): SwitchoverPolicy {
  const pct = opts.thresholdPercent ?? 20;
  if (!(pct >= 0 && pct <= 100)) {
    throw new RangeError(`Convergence threshold is ${pct} %: expected 0..100`);
  }
  const maxPasses = positiveInt("Round cap", opts.maxPasses ?? 30);
  const test = (r: SyncReport): SwitchoverTest => ({
    quantity: "dirty pages",
    unit: "pages",
    value: r.dirtyPages,
    threshold: r.previousPages * (100 - pct) / 100,
    switchWhen: ">",
    thresholdLabel: `${100 - pct} % of the pages the pass sent`,
  });
  return {
    name: "seed",
    params: { thresholdPercent: pct, maxPasses },
    test,
    decide(r) {
      if (r.dirtyPages === 0) return "no dirty pages left";
      if (r.passes >= maxPasses) return `round cap ${maxPasses} reached`;
      // must fall by pct %: dirty <= previous * (100 - pct) / 100
      if (testPasses(test(r))) {
        return `dirty pages fell from ${r.previousPages} to ${r.dirtyPages}, less than ${pct} %`;
      }
      return null;
    },
  };
}

/** Options of {@link xenPolicy}. */
export interface XenPolicyOptions {
  /** Switch over below this many dirty pages (default 50). */
  dirtyThreshold?: number;
  /** Switch over after this many passes (default 5). */
  maxPasses?: number;
}

/** Xen's rule: stop when fewer than 50 pages are dirty or after 5 passes. */
export function xenPolicy(opts: XenPolicyOptions = {}): SwitchoverPolicy {
  const threshold = positiveInt("Dirty threshold", opts.dirtyThreshold ?? 50);
  const maxPasses = positiveInt("Pass limit", opts.maxPasses ?? 5);
  const test = (r: SyncReport): SwitchoverTest => ({
    quantity: "dirty pages",
    unit: "pages",
    value: r.dirtyPages,
    threshold,
    switchWhen: "<",
    thresholdLabel: `${threshold} pages`,
  });
  return {
    name: "xen",
    params: { dirtyThreshold: threshold, maxPasses },
    test,
    decide(r) {
      if (testPasses(test(r))) return `fewer than ${threshold} dirty pages (${r.dirtyPages})`;
      if (r.passes >= maxPasses) return `${maxPasses} passes done`;
      return null;
    },
  };
}

/** Names accepted by {@link policyByName}. */
export const POLICY_NAMES = ["qemu", "seed", "xen"] as const;

/** The policy called `name` with default settings (qemu's downtime limit from `downtimeLimitMs`). */
export function policyByName(name: string, downtimeLimitMs?: number): SwitchoverPolicy {
  switch (name) {
    case "qemu":
      return qemuPolicy({ downtimeLimitMs });
    case "seed":
      return seedPolicy();
    case "xen":
      return xenPolicy();
    default:
      throw new RangeError(`Unknown migration policy "${name}": expected one of ${POLICY_NAMES.join(", ")}`);
  }
}

/** Options of {@link AutoConverge} (QEMU's defaults). */
export interface AutoConvergeOptions {
  /** cpu-throttle-initial, percent (default 20). */
  initialPercent?: number;
  /** cpu-throttle-increment, percent (default 10). */
  incrementPercent?: number;
  /** Maximum throttle, percent (default 99). */
  maxPercent?: number;
  /** throttle-trigger-threshold, percent of bytes sent (default 50). */
  triggerPercent?: number;
  /** Shortest sync period evaluated, seconds (QEMU: 1). */
  periodSeconds?: number;
}

/**
 * QEMU's auto-converge (`migration_trigger_throttle`): over each period of at least one second, if
 * the guest dirtied more than 50 % of the bytes sent, count it; on the second such period throttle
 * the guest, 20 % at first, then 10 % more each time, up to 99 %.
 */
export class AutoConverge {
  /** Current throttle, percent. */
  percent = 0;
  readonly #initial: number;
  readonly #increment: number;
  readonly #max: number;
  readonly #trigger: number;
  readonly #period: number;
  #highCount = 0;
  #periodStart = 0;
  #xferStart = 0;
  #dirtyPages = 0;

  /** Create with QEMU's defaults unless overridden. */
  constructor(opts: AutoConvergeOptions = {}) {
    this.#initial = opts.initialPercent ?? 20;
    this.#increment = opts.incrementPercent ?? 10;
    this.#max = opts.maxPercent ?? 99;
    this.#trigger = opts.triggerPercent ?? 50;
    this.#period = opts.periodSeconds ?? 1;
    for (
      const [n, v] of [["initial", this.#initial], ["increment", this.#increment], [
        "max",
        this.#max,
      ]] as const
    ) {
      if (!(v >= 0 && v <= 99)) throw new RangeError(`Throttle ${n} is ${v} %: expected 0..99`);
    }
  }

  /** Restart measuring at time `now` with `transferred` bytes sent. */
  reset(now: number, transferred: number): void {
    this.percent = 0;
    this.#highCount = 0;
    this.#periodStart = now;
    this.#xferStart = transferred;
    this.#dirtyPages = 0;
  }

  /**
   * After a sync that found `dirtyPages` newly dirty pages: returns the new throttle in percent if it
   * changed, else null.
   */
  onSync(now: number, transferred: number, dirtyPages: number): number | null {
    this.#dirtyPages += dirtyPages;
    if (now - this.#periodStart < this.#period) return null;
    const bytesDirty = this.#dirtyPages * PAGE_SIZE;
    const bytesXfer = transferred - this.#xferStart;
    this.#periodStart = now;
    this.#xferStart = transferred;
    this.#dirtyPages = 0;
    if (bytesDirty > bytesXfer * this.#trigger / 100 && ++this.#highCount >= 2) {
      this.#highCount = 0;
      const next = this.percent === 0 ? this.#initial : Math.min(this.#max, this.percent + this.#increment);
      if (next !== this.percent) {
        this.percent = next;
        return next;
      }
    }
    return null;
  }
}

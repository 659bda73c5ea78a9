/**
 * The 8254 programmable interval timer at ports 0x40-0x43, counting in virtual time: its input clock
 * runs at 1.193182 MHz of TSC time (`pitTicks`, platform_clock.ts).
 * Section names cite the Intel 8254 datasheet (order no. 231164): "Control Word Format", "Read
 * Operations" (counter latch, read-back), "Modes" and "Gate" (Table 2).
 *
 * A counter's state is its count and the PIT tick at which the count was loaded; its value and OUT
 * are computed from the current tick, so the device changes state only when the guest accesses it
 * and when channel 0's OUT changes (it drives IRQ0). At power-up, which the datasheet leaves undefined,
 * each counter is in mode 3 waiting for a count, OUT high, so programming counter 0 for a periodic
 * mode raises no stray IRQ0 edge. Modes 0 to 5 are implemented; a new count written
 * while a mode 2 or 3 counter runs restarts it at the next clock (the datasheet waits for the end of
 * the current period; QEMU restarts at once as hvsim does).
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";
import { pitTicks, pitTickTsc } from "./platform_clock.ts";

/** Counter 0's port; counters 1 and 2 follow. */
export const PIT_COUNTER0 = 0x40;
/** The control word register. */
export const PIT_CONTROL = 0x43;
/** Version of the "pit" state section. */
export const PIT_STATE_VERSION = 1;

/** Numbers per counter in the saved state. */
const FIELDS = 14;

function fromBcd(v: number): number {
  return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

function toBcd(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) |
    ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** Smallest d' > d with d' ≡ phase (mod n). */
function nextAt(d: number, n: number, phase: number): number {
  return d + 1 + (((phase - d - 1) % n) + n) % n;
}

/** One counter. All times are PIT ticks. */
class Counter {
  /** Power-up state (the datasheet leaves it undefined): mode 3 waiting for a count, OUT high. */
  mode = 3;
  /** Read/write: 1 LSB only, 2 MSB only, 3 LSB then MSB. */
  rw = 3;
  bcd = 0;
  /** The count (1..65536 binary, 1..10000 BCD). */
  count = 0;
  /** Tick at which the counter holds `count` (d = 0); -1 while no count is loaded or no trigger came. */
  loadTick = -1;
  /** Elapsed ticks frozen while the gate is low (modes 0, 4), else -1. */
  pausedD = -1;
  gate = 0;
  /** The first byte of an LSB-then-MSB write arrived (its value in `writeLow`). */
  writeHigh = 0;
  writeLow = 0;
  /** The next unlatched read of an LSB-then-MSB counter returns the MSB. */
  readHigh = 0;
  /** Latched count: bytes left to read (0 none, 1 or 2) and the value. */
  latchLeft = 0;
  latchValue = 0;
  /** A status byte is latched (read-back), and its value. */
  statusLatched = 0;
  statusValue = 0;

  constructor(gate: number) {
    this.gate = gate;
  }

  private wrap(): number {
    return this.bcd ? 10000 : 65536;
  }

  /** Elapsed ticks since the count was loaded at tick `t` (negative before). */
  elapsed(t: number): number {
    if (this.loadTick < 0) return -1;
    if (this.pausedD >= 0) return this.pausedD;
    return t - this.loadTick;
  }

  /** OUT at tick `t` ("Modes"). */
  out(t: number): boolean {
    const d = this.elapsed(t);
    const n = this.count;
    switch (this.mode) {
      case 0:
        return d >= n;
      case 1:
        return d < 0 || d >= n;
      case 2:
        return d < 0 || !this.gate || d % n !== n - 1;
      case 3:
        return d < 0 || !this.gate || d % n < ((n + 1) >> 1);
      default: // 4, 5
        return d !== n;
    }
  }

  /** The counting element's value at tick `t`, as a number 0..65535 (BCD encoded in BCD mode). */
  value(t: number): number {
    const d = this.elapsed(t);
    const n = this.count;
    let v: number;
    if (d < 0) v = n;
    else {
      switch (this.mode) {
        case 2:
          v = n - (d % n);
          break;
        case 3: {
          const p = d % n;
          if ((n & 1) === 0) v = n - 2 * (p % (n >> 1));
          else {
            const h = (n + 1) >> 1;
            if (p < h) v = p === 0 ? n : n + 1 - 2 * p;
            else v = p === h ? n : n - 1 - 2 * (p - h);
          }
          break;
        }
        default:
          v = ((n - d) % this.wrap() + this.wrap()) % this.wrap();
      }
    }
    v %= this.wrap();
    return this.bcd ? toBcd(v) : v;
  }

  /** The tick of OUT's next change after tick `t`, or Infinity. */
  nextChange(t: number): number {
    if (this.loadTick < 0 || this.pausedD >= 0) return Infinity;
    const d = t - this.loadTick; // negative while the count waits for its first clock
    const n = this.count;
    let next: number;
    switch (this.mode) {
      case 0:
      case 1:
        next = d < n ? n : Infinity;
        break;
      case 2:
        if (!this.gate) return Infinity;
        next = n === 1 ? Infinity : Math.min(nextAt(d, n, n - 1), nextAt(d, n, 0));
        break;
      case 3:
        if (!this.gate) return Infinity;
        next = n === 1 ? Infinity : Math.min(nextAt(d, n, (n + 1) >> 1), nextAt(d, n, 0));
        break;
      default:
        next = d < n ? n : d === n ? n + 1 : Infinity;
    }
    return next === Infinity ? Infinity : this.loadTick + next;
  }

  /** Status byte for read-back ("Status Byte"). */
  status(t: number): number {
    const nullCount = this.loadTick < 0 || t < this.loadTick ? 0x40 : 0;
    return (this.out(t) ? 0x80 : 0) | nullCount | (this.rw << 4) | (this.mode << 1) | this.bcd;
  }

  /** A control word for this counter (not a latch): mode, read/write format, BCD; OUT to its initial level. */
  control(v: number): void {
    this.rw = (v >> 4) & 3;
    this.mode = (v >> 1) & 7;
    if (this.mode > 5) this.mode -= 4; // x10 and x11 are modes 2 and 3
    this.bcd = v & 1;
    this.loadTick = -1;
    this.pausedD = -1;
    this.writeHigh = 0;
    this.readHigh = 0;
    this.latchLeft = 0;
  }

  /** Counter latch command. */
  latch(t: number): void {
    if (this.latchLeft !== 0) return;
    this.latchValue = this.value(t);
    this.latchLeft = this.rw === 3 ? 2 : 1;
  }

  /** A new count written at tick `t`. */
  load(raw: number, t: number): void {
    let n = this.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.wrap();
    this.count = n;
    switch (this.mode) {
      case 1:
      case 5:
        return; // waits for a gate trigger
      case 0:
      case 4:
        if (this.gate) {
          this.loadTick = t + 1;
          this.pausedD = -1;
        } else {
          this.loadTick = t + 1;
          this.pausedD = 0;
        }
        return;
      default:
        this.loadTick = t + 1;
        this.pausedD = -1;
    }
  }

  /** The gate input changes at tick `t` ("Gate", Table 2). */
  setGate(level: number, t: number): void {
    if (level === this.gate) return;
    const d = this.elapsed(t);
    this.gate = level;
    switch (this.mode) {
      case 0:
      case 4:
        if (this.loadTick < 0) return;
        if (!level) this.pausedD = Math.max(0, d);
        else {
          this.loadTick = t - this.pausedD;
          this.pausedD = -1;
        }
        return;
      default:
        // Modes 1, 5 trigger on a rising edge; modes 2, 3 reload on it (and stop while it is low).
        if (level && this.count !== 0) this.loadTick = t + 1;
    }
  }

  read(t: number): number {
    if (this.statusLatched) {
      this.statusLatched = 0;
      return this.statusValue;
    }
    if (this.latchLeft !== 0) {
      const high = this.rw === 2 || (this.rw === 3 && this.latchLeft === 1);
      this.latchLeft--;
      return high ? this.latchValue >> 8 : this.latchValue & 0xff;
    }
    const v = this.value(t);
    if (this.rw === 1) return v & 0xff;
    if (this.rw === 2) return v >> 8;
    this.readHigh ^= 1;
    return this.readHigh ? v & 0xff : v >> 8;
  }

  write(v: number, t: number): void {
    if (this.rw === 1) this.load(v, t);
    else if (this.rw === 2) this.load(v << 8, t);
    else if (!this.writeHigh) {
      this.writeLow = v;
      this.writeHigh = 1;
    } else {
      this.writeHigh = 0;
      this.load(this.writeLow | (v << 8), t);
    }
  }

  save(): number[] {
    return [
      this.mode,
      this.rw,
      this.bcd,
      this.count,
      this.loadTick,
      this.pausedD,
      this.gate,
      this.writeHigh,
      this.writeLow,
      this.readHigh,
      this.latchLeft,
      this.latchValue,
      this.statusLatched,
      this.statusValue,
    ];
  }

  restore(f: Float64Array, o: number): void {
    const int = (k: number, lo: number, hi: number) => {
      const v = f[o + k];
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`pit state field ${k} is ${v}, expected an integer in ${lo}..${hi}`);
      }
      return v;
    };
    this.mode = int(0, 0, 5);
    this.rw = int(1, 1, 3);
    this.bcd = int(2, 0, 1);
    this.count = int(3, 0, 65536);
    this.loadTick = int(4, -1, Number.MAX_SAFE_INTEGER);
    this.pausedD = int(5, -1, Number.MAX_SAFE_INTEGER);
    this.gate = int(6, 0, 1);
    this.writeHigh = int(7, 0, 1);
    this.writeLow = int(8, 0, 255);
    this.readHigh = int(9, 0, 1);
    this.latchLeft = int(10, 0, 2);
    this.latchValue = int(11, 0, 0xffff);
    this.statusLatched = int(12, 0, 1);
    this.statusValue = int(13, 0, 255);
    if (this.loadTick >= 0 && this.count === 0) {
      throw new RangeError("pit state has a running counter with count 0");
    }
  }
}

/**
 * The 8254. Channel 0's OUT drives IRQ0 through `irq0`; channel 2's gate and OUT belong to port
 * 0x61 ({@linkcode Pit.setGate2}, {@linkcode Pit.out2}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pit, pitTickTsc } from "./mod.ts";
 * let now = 0;
 * const pit = new Pit(() => now, () => {});
 * pit.write(0x43, 1, 0x34); // counter 0, LSB then MSB, mode 2
 * pit.write(0x40, 1, 100);
 * pit.write(0x40, 1, 0);
 * now = pitTickTsc(11); // loaded at PIT clock 1, counted down by 10
 * pit.write(0x43, 1, 0x00); // latch counter 0
 * assert.equal(pit.read(0x40) | (pit.read(0x40) << 8), 90);
 * ```
 */
export class Pit implements PortDevice {
  readonly name = "pit";
  readonly version = PIT_STATE_VERSION;
  readonly ports: [number, number][] = [[PIT_COUNTER0, PIT_CONTROL]];
  private readonly counters = [new Counter(1), new Counter(1), new Counter(0)];
  /** The PIT tick up to which channel 0's OUT has been delivered to IRQ0. */
  private irqTick = 0;
  /** Channel 0's OUT level last delivered (high at power-up, see Counter.mode). */
  private irqLevel = 1;

  /**
   * @param now the current TSC (virtual time)
   * @param irq0 receives channel 0's OUT level whenever it changes
   */
  constructor(private readonly now: () => number, private readonly irq0: (level: boolean) => void) {}

  private tick(): number {
    return pitTicks(this.now());
  }

  read(port: number): number {
    if (port === PIT_CONTROL) return 0xff; // the control word register cannot be read
    return this.counters[port - PIT_COUNTER0].read(this.tick());
  }

  write(port: number, _size: number, value: number): void {
    const t = this.tick();
    this.update(this.now());
    const v = value & 0xff;
    if (port !== PIT_CONTROL) {
      this.counters[port - PIT_COUNTER0].write(v, t);
    } else {
      const sc = v >> 6;
      if (sc === 3) {
        // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 3..1 pick counters 2..0.
        for (let k = 0; k < 3; k++) {
          if ((v & (2 << k)) === 0) continue;
          const c = this.counters[k];
          if ((v & 0x10) === 0 && !c.statusLatched) {
            c.statusValue = c.status(t);
            c.statusLatched = 1;
          }
          if ((v & 0x20) === 0) c.latch(t);
        }
      } else if ((v & 0x30) === 0) this.counters[sc].latch(t);
      else this.counters[sc].control(v);
    }
    this.deliver(t);
  }

  /** Hands channel 0's OUT at tick `t` to IRQ0 if it changed. */
  private deliver(t: number): void {
    this.irqTick = t;
    const level = this.counters[0].out(t) ? 1 : 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level === 1);
    }
  }

  /** TSC at which channel 0's OUT next changes, or Infinity. */
  nextEvent(): number {
    const t = this.counters[0].nextChange(this.irqTick);
    return t === Infinity ? Infinity : pitTickTsc(t);
  }

  /** Delivers every change of channel 0's OUT up to TSC `now` to IRQ0, in order. */
  update(now: number): void {
    const end = pitTicks(now);
    const c = this.counters[0];
    const period = c.mode === 2 || c.mode === 3 ? c.count : 0;
    // A long gap (nothing ran the loop) keeps only the last period's changes: earlier edges are lost in it.
    if (period > 0 && end - this.irqTick > 2 * period) {
      this.irqTick += Math.floor((end - this.irqTick) / period - 1) * period;
    }
    for (let next = c.nextChange(this.irqTick); next <= end; next = c.nextChange(this.irqTick)) {
      this.deliver(next);
    }
  }

  /** Sets channel 2's gate (port 0x61 bit 0). */
  setGate2(level: boolean): void {
    this.counters[2].setGate(level ? 1 : 0, this.tick());
  }

  /** Channel 2's gate. */
  gate2(): boolean {
    return this.counters[2].gate === 1;
  }

  /** Channel 2's OUT now (port 0x61 bit 5). */
  out2(): boolean {
    return this.counters[2].out(this.tick());
  }

  save(): Uint8Array {
    const f = new Float64Array(3 * FIELDS + 2);
    this.counters.forEach((c, k) => f.set(c.save(), k * FIELDS));
    f[3 * FIELDS] = this.irqTick;
    f[3 * FIELDS + 1] = this.irqLevel;
    return new Uint8Array(f.buffer);
  }

  restore(data: Uint8Array): void {
    const n = (3 * FIELDS + 2) * 8;
    if (data.length !== n) throw new RangeError(`pit state must be ${n} bytes, got ${data.length}`);
    const f = new Float64Array(data.slice().buffer);
    this.counters.forEach((c, k) => c.restore(f, k * FIELDS));
    this.irqTick = f[3 * FIELDS];
    this.irqLevel = f[3 * FIELDS + 1] === 1 ? 1 : 0;
  }
}

/**
 * The MC146818A real-time clock and CMOS RAM at ports 0x70 (index, bit 7 the NMI mask) and 0x71
 * (data). Its time is a start time plus virtual time: RTC seconds advance with TSC seconds, on the
 * 32.768 kHz time base of platform_clock.ts. Sections cite the Motorola MC146818A datasheet: "Time,
 * Calendar and Alarm Locations" (Table 3, BCD and binary, 12- and 24-hour), "Register A" (UIP, DV,
 * RS and Table 5, the periodic rates), "Register B" (SET, PIE, AIE, UIE, DM, 24/12), "Register C"
 * (IRQF, PF, AF, UF; cleared by reading), "Register D" (VRT), "Update Cycle" (UIP is set 244 µs,
 * tBUC, before each update).
 *
 * The update cycle itself takes no time (the registers read consistent values throughout); the
 * divider (DV bits) always runs; a change of data mode shows the current time in the new format (the
 * chip would leave the old bytes); day of week follows the date (a write to it is ignored). Register C's
 * flags are computed from the time elapsed since they were last cleared, so the device changes state
 * only when the guest accesses it and when its interrupt line rises.
 *
 * @module
 */

import type { PortDevice } from "./port_device.ts";
import { RTC_BASE_HZ, rtcTicks, rtcTickTsc } from "./platform_clock.ts";

/** Index port (bits 0-6 the register, bit 7 masks NMI on a PC). */
export const RTC_INDEX_PORT = 0x70;
/** Data port. */
export const RTC_DATA_PORT = 0x71;
/** Version of the "rtc" state section. */
export const RTC_STATE_VERSION = 1;
/** Default start time: 2026-01-01T00:00:00Z, in seconds since the Unix epoch. */
export const RTC_DEFAULT_START = Date.UTC(2026, 0, 1) / 1000;
/** CMOS byte that PC firmware keeps the century in (BCD), as QEMU and SeaBIOS do. */
export const CMOS_CENTURY = 0x32;

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const B_SET = 0x80, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
/** RTC time-base ticks of UIP before each update (tBUC = 244 µs). */
const UIP_TICKS = 8;
/** Alarm bytes at or above this match any value (don't care). */
const DONT_CARE = 0xc0;

/** Periodic interrupt period in time-base ticks for rate select `rs` (Table 5, 32.768 kHz), 0 = none. */
export function rtcPeriodTicks(rs: number): number {
  if (rs === 0) return 0;
  if (rs <= 2) return 64 << rs; // 3.90625 ms, 7.8125 ms
  return 1 << (rs - 1);
}

/** Broken-down UTC time of `seconds` since the epoch. */
function fields(seconds: number) {
  const d = new Date(seconds * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    dow: d.getUTCDay() + 1,
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/**
 * The RTC.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rtc } from "./rtc.ts";
 * const rtc = new Rtc(() => 0, () => {}, Date.UTC(2026, 6, 4, 13, 30) / 1000);
 * rtc.write(0x70, 1, 0x04); // hours
 * assert.equal(rtc.read(0x71), 0x13); // BCD, 24-hour
 * ```
 */
export class Rtc implements PortDevice {
  readonly name = "rtc";
  readonly version = RTC_STATE_VERSION;
  readonly ports: [number, number][] = [[RTC_INDEX_PORT, RTC_DATA_PORT]];
  /** The 128 bytes: clock registers (where stored), A, B, and the 114 bytes of RAM from 0x0E. */
  private readonly cmos = new Uint8Array(128);
  private index = 0;
  private nmiMasked = 0;
  /** RTC seconds at TSC 0 (while the clock runs). */
  private offset: number;
  /** The time held while SET is 1. */
  private frozen = 0;
  /** Register C flags gathered up to `flagsSince`. */
  private flags = 0;
  /** TSC up to which `flags` has been gathered. */
  private flagsSince = 0;
  /** IRQ8 is asserted (IRQF set; until register C is read). */
  private irqLine = 0;
  /** Cached time of the next alarm match (not state). */
  private alarmCache: number | null = null;

  /**
   * @param now the current TSC (virtual time)
   * @param irq8 receives the interrupt line's level when it changes
   * @param start the time at TSC 0, in seconds since the Unix epoch (UTC)
   */
  constructor(
    private readonly now: () => number,
    private readonly irq8: (level: boolean) => void,
    start: number = RTC_DEFAULT_START,
  ) {
    this.offset = Math.floor(start);
    this.cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.cmos[REG_B] = B_24H;
    const century = Math.floor(fields(this.offset).year / 100);
    this.cmos[CMOS_CENTURY] = ((Math.floor(century / 10) % 10) << 4) | (century % 10);
  }

  private get b(): number {
    return this.cmos[REG_B];
  }

  /** SET is 1: updates are inhibited and the time holds still. */
  private held(): boolean {
    return (this.cmos[REG_B] & B_SET) !== 0;
  }

  /** The clock's seconds since the epoch at TSC `t`. */
  private seconds(t: number): number {
    return this.held() ? this.frozen : this.offset + Math.floor(rtcTicks(t) / RTC_BASE_HZ);
  }

  private enc(v: number): number {
    return (this.b & B_DM_BINARY) !== 0 ? v : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private dec(v: number): number {
    return (this.b & B_DM_BINARY) !== 0 ? v : (v >> 4) * 10 + (v & 0xf);
  }

  private encHour(h: number): number {
    if ((this.b & B_24H) !== 0) return this.enc(h);
    return this.enc(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  private decHour(v: number): number {
    if ((this.b & B_24H) !== 0) return this.dec(v);
    const h = this.dec(v & 0x7f) % 12;
    return (v & 0x80) !== 0 ? h + 12 : h;
  }

  /** Seconds, minutes, hours as their registers read for a time of day. */
  private timeBytes(seconds: number): [number, number, number] {
    const sod = ((seconds % 86400) + 86400) % 86400;
    return [this.enc(sod % 60), this.enc(Math.floor(sod / 60) % 60), this.encHour(Math.floor(sod / 3600))];
  }

  /** Whether the alarm registers match at `seconds` (each byte equal, or don't care). */
  private alarmMatches(seconds: number): boolean {
    const [s, m, h] = this.timeBytes(seconds);
    const as = this.cmos[1], am = this.cmos[3], ah = this.cmos[5];
    return (as >= DONT_CARE || as === s) && (am >= DONT_CARE || am === m) && (ah >= DONT_CARE || ah === h);
  }

  /** The flags set by time-base events in (a, b]. */
  private flagsBetween(a: number, b: number): number {
    let f = 0;
    const ta = rtcTicks(a), tb = rtcTicks(b);
    const period = rtcPeriodTicks(this.cmos[REG_A] & 0xf);
    if (period > 0 && Math.floor(tb / period) > Math.floor(ta / period)) f |= C_PF;
    if (!this.held()) {
      const first = Math.floor(ta / RTC_BASE_HZ) + 1, last = Math.floor(tb / RTC_BASE_HZ);
      if (last >= first) {
        f |= C_UF;
        for (let k = first; k <= Math.min(last, first + 86400); k++) {
          if (this.alarmMatches(this.offset + k)) {
            f |= C_AF;
            break;
          }
        }
      }
    }
    return f;
  }

  /** Gathers the flags up to TSC `t`. */
  private gather(t: number): void {
    if (t > this.flagsSince) this.flags |= this.flagsBetween(this.flagsSince, t);
    this.flagsSince = Math.max(this.flagsSince, t);
  }

  /** Raises IRQ8 if an enabled flag is set. */
  private checkIrq(): void {
    if (this.irqLine === 0 && (this.flags & this.b & 0x70) !== 0) {
      this.irqLine = 1;
      this.irq8(true);
    }
  }

  /** TSC of the next alarm match's update after `flagsSince`, or Infinity. */
  private nextAlarm(): number {
    if (this.alarmCache !== null) return this.alarmCache;
    let at = Infinity;
    if (!this.held()) {
      const first = Math.floor(rtcTicks(this.flagsSince) / RTC_BASE_HZ) + 1;
      for (let k = first; k <= first + 86400; k++) {
        if (this.alarmMatches(this.offset + k)) {
          at = rtcTickTsc(k * RTC_BASE_HZ);
          break;
        }
      }
    }
    return (this.alarmCache = at);
  }

  /** TSC at which IRQ8 next rises, or Infinity. */
  nextEvent(): number {
    if (this.irqLine !== 0) return Infinity;
    const b = this.b;
    let next = Infinity;
    const since = rtcTicks(this.flagsSince);
    const period = rtcPeriodTicks(this.cmos[REG_A] & 0xf);
    if ((b & 0x40) !== 0 && period > 0) next = rtcTickTsc((Math.floor(since / period) + 1) * period);
    if (!this.held()) {
      if ((b & B_UIE) !== 0) {
        next = Math.min(next, rtcTickTsc((Math.floor(since / RTC_BASE_HZ) + 1) * RTC_BASE_HZ));
      }
      if ((b & 0x20) !== 0) next = Math.min(next, this.nextAlarm());
    }
    return next;
  }

  /** Raises IRQ8 if its time has come by TSC `now`. */
  update(now: number): void {
    if (this.irqLine === 0 && this.nextEvent() <= now) {
      this.irqLine = 1;
      this.irq8(true);
    }
  }

  read(port: number): number {
    if (port === RTC_INDEX_PORT) return 0xff; // the index register is write-only
    const t = this.now();
    const r = this.index;
    switch (r) {
      case 0:
      case 2:
      case 4:
        return this.timeBytes(this.seconds(t))[r >> 1];
      case 6:
        return this.enc(fields(this.seconds(t)).dow);
      case 7:
        return this.enc(fields(this.seconds(t)).day);
      case 8:
        return this.enc(fields(this.seconds(t)).month);
      case 9:
        return this.enc(fields(this.seconds(t)).year % 100);
      case REG_A: {
        const uip = !this.held() && rtcTicks(t) % RTC_BASE_HZ >= RTC_BASE_HZ - UIP_TICKS;
        return (this.cmos[REG_A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case REG_C: {
        this.gather(t);
        const v = this.flags | ((this.flags & this.b & 0x70) !== 0 ? C_IRQF : 0);
        this.flags = 0;
        this.alarmCache = null;
        if (this.irqLine !== 0) {
          this.irqLine = 0;
          this.irq8(false);
        }
        return v;
      }
      case REG_D:
        return 0x80; // valid RAM and time
      default:
        return this.cmos[r];
    }
  }

  write(port: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (port === RTC_INDEX_PORT) {
      this.index = v & 0x7f;
      this.nmiMasked = v >> 7;
      return;
    }
    const t = this.now();
    const r = this.index;
    this.gather(t);
    this.alarmCache = null;
    switch (r) {
      case 0:
      case 2:
      case 4:
      case 7:
      case 8:
      case 9:
        this.setField(r, v, t);
        break;
      case 6:
      case REG_C:
      case REG_D:
        break; // day of week follows the date; C and D are read-only
      case REG_A:
        this.cmos[REG_A] = v & 0x7f;
        break;
      case REG_B: {
        const old = this.b;
        let nb = v;
        if ((nb & B_SET) !== 0) nb &= ~B_UIE; // SET clears UIE (Register B)
        if ((nb & B_SET) !== 0 && (old & B_SET) === 0) this.frozen = this.seconds(t);
        if ((nb & B_SET) === 0 && (old & B_SET) !== 0) {
          this.offset = this.frozen - Math.floor(rtcTicks(t) / RTC_BASE_HZ);
        }
        this.cmos[REG_B] = nb;
        break;
      }
      default:
        this.cmos[r] = v;
    }
    this.checkIrq();
  }

  /** A write to a time or date register: the clock takes the new field. */
  private setField(r: number, v: number, t: number): void {
    const now = this.seconds(t);
    const f = fields(now);
    switch (r) {
      case 0:
        f.second = this.dec(v);
        break;
      case 2:
        f.minute = this.dec(v);
        break;
      case 4:
        f.hour = this.decHour(v);
        break;
      case 7:
        f.day = this.dec(v);
        break;
      case 8:
        f.month = this.dec(v);
        break;
      default:
        f.year = Math.floor(f.year / 100) * 100 + (this.dec(v) % 100);
    }
    const next = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) / 1000;
    if (!Number.isFinite(next)) return;
    if (this.held()) this.frozen = next;
    else this.offset += next - now;
  }

  save(): Uint8Array {
    const b = new Uint8Array(128 + 8 * 7);
    b.set(this.cmos);
    new Float64Array(b.buffer, 128).set([
      this.index,
      this.nmiMasked,
      this.offset,
      this.frozen,
      this.flags,
      this.flagsSince,
      this.irqLine,
    ]);
    return b;
  }

  restore(data: Uint8Array): void {
    if (data.length !== 128 + 56) throw new RangeError(`rtc state must be 184 bytes, got ${data.length}`);
    const f = new Float64Array(data.slice(128).buffer);
    const ok = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
    if (
      !ok(f[0], 0, 127) || !ok(f[1], 0, 1) || !ok(f[2], -(2 ** 52), 2 ** 52) ||
      !ok(f[3], -(2 ** 52), 2 ** 52) ||
      !ok(f[4], 0, 0x70) || !ok(f[5], 0, Number.MAX_SAFE_INTEGER) || !ok(f[6], 0, 1)
    ) {
      throw new RangeError("rtc state holds out-of-range values");
    }
    this.cmos.set(data.subarray(0, 128));
    [this.index, this.nmiMasked, this.offset, this.frozen, this.flags, this.flagsSince, this.irqLine] = f;
    this.alarmCache = null;
  }
}

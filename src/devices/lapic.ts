/**
 * The local APIC as the hypervisor emulates it (xAPIC registers at 0xFEE00000, SDM Vol. 3 ch. 11):
 * the timer in one-shot, periodic and TSC-deadline modes, counting in virtual time (one APIC
 * timer tick per TSC tick, before the divider), interrupt requests (IRR), in-service (ISR),
 * task priority and EOI. Interrupts from other sources enter through {@linkcode LocalApic.raise}.
 *
 * @module
 */

/** Default xAPIC base address (IA32_APIC_BASE reset value, SDM Vol. 3 §11.4.4). */
export const LAPIC_BASE = 0xfee00000;
/** Local APIC ID register offset. */
export const APIC_ID = 0x20;
/** Version register. */
export const APIC_VERSION = 0x30;
/** Task-priority register. */
export const APIC_TPR = 0x80;
/** Processor-priority register. */
export const APIC_PPR = 0xa0;
/** End-of-interrupt register. */
export const APIC_EOI = 0xb0;
/** Logical destination register. */
export const APIC_LDR = 0xd0;
/** Destination format register. */
export const APIC_DFR = 0xe0;
/** Spurious-interrupt vector register. */
export const APIC_SVR = 0xf0;
/** In-service register (8 x 32 bits at 0x100..0x170). */
export const APIC_ISR = 0x100;
/** Trigger-mode register. */
export const APIC_TMR = 0x180;
/** Interrupt-request register. */
export const APIC_IRR = 0x200;
/** Error-status register. */
export const APIC_ESR = 0x280;
/** Interrupt-command register, low. */
export const APIC_ICR_LOW = 0x300;
/** Interrupt-command register, high. */
export const APIC_ICR_HIGH = 0x310;
/** LVT timer. */
export const APIC_LVT_TIMER = 0x320;
/** LVT thermal sensor. */
export const APIC_LVT_THERMAL = 0x330;
/** LVT performance counter. */
export const APIC_LVT_PERF = 0x340;
/** LVT LINT0. */
export const APIC_LVT_LINT0 = 0x350;
/** LVT LINT1. */
export const APIC_LVT_LINT1 = 0x360;
/** LVT error. */
export const APIC_LVT_ERROR = 0x370;
/** Timer initial count. */
export const APIC_TIMER_INITIAL = 0x380;
/** Timer current count. */
export const APIC_TIMER_CURRENT = 0x390;
/** Timer divide configuration. */
export const APIC_TIMER_DIVIDE = 0x3e0;
/** IA32_TSC_DEADLINE (SDM Vol. 3 §11.5.4.1). */
export const MSR_TSC_DEADLINE = 0x6e0;

/** LVT mask bit. */
const LVT_MASKED = 1 << 16;
/** LVT delivery mode ExtINT (bits 10:8 = 111, SDM Vol. 3 Figure 11-8). */
const DELIVERY_EXTINT = 7;
/** LVT delivery mode NMI (100). */
const DELIVERY_NMI = 4;
/** Timer mode one-shot (LVT timer bits 18:17 = 00). */
export const TIMER_ONESHOT = 0;
/** Timer mode periodic (01). */
export const TIMER_PERIODIC = 1;
/** Timer mode TSC-deadline (10). */
export const TIMER_TSC_DEADLINE = 2;
const MODE_PERIODIC = TIMER_PERIODIC, MODE_TSC_DEADLINE = TIMER_TSC_DEADLINE;

/** Version of the saved state. */
export const LAPIC_STATE_VERSION = 1;

/** Divide-configuration value (bits 0, 1, 3) to divisor (SDM Vol. 3 Figure 11-10). */
export function timerDivisor(dcr: number): number {
  const v = (dcr & 3) | ((dcr & 8) >> 1);
  return v === 7 ? 1 : 2 << v;
}

/** One local APIC. All times are TSC values (virtual time). */
export class LocalApic {
  readonly name = "lapic";
  readonly version = LAPIC_STATE_VERSION;
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(6).fill(LVT_MASKED); // timer, thermal, perf, lint0, lint1, error
  private initialCount = 0;
  private divide = 0;
  /** TSC at which the current count was loaded (one-shot, periodic). */
  private start = 0;
  /** TSC at which the timer next fires, or -1. */
  private deadline = -1;
  /** IA32_TSC_DEADLINE value. */
  private tscDeadline = 0;
  /** Timer interrupts raised so far (statistics). */
  fired = 0;

  /** The APIC is software-enabled (SVR bit 8). */
  enabled(): boolean {
    return (this.svr & 0x100) !== 0;
  }

  /** Reads a 32-bit register at `offset` (an unknown one reads 0). */
  read(offset: number, now: number): number {
    this.update(now);
    const r = offset & 0xff0;
    if (r >= APIC_ISR && r < APIC_ISR + 0x80) return this.isr[(r - APIC_ISR) >> 4];
    if (r >= APIC_TMR && r < APIC_TMR + 0x80) return this.tmr[(r - APIC_TMR) >> 4];
    if (r >= APIC_IRR && r < APIC_IRR + 0x80) return this.irr[(r - APIC_IRR) >> 4];
    switch (r) {
      case APIC_ID:
        return this.id << 24;
      case APIC_VERSION:
        return 0x00050014; // version 0x14, 6 LVT entries
      case APIC_TPR:
        return this.tpr;
      case APIC_PPR:
        return this.ppr();
      case APIC_LDR:
        return this.ldr;
      case APIC_DFR:
        return this.dfr;
      case APIC_SVR:
        return this.svr;
      case APIC_ESR:
        return this.esr;
      case APIC_ICR_LOW:
        return this.icrLow;
      case APIC_ICR_HIGH:
        return this.icrHigh;
      case APIC_TIMER_INITIAL:
        return this.initialCount;
      case APIC_TIMER_CURRENT:
        return this.currentCount(now);
      case APIC_TIMER_DIVIDE:
        return this.divide;
      default:
        if (r >= APIC_LVT_TIMER && r <= APIC_LVT_ERROR) return this.lvt[(r - APIC_LVT_TIMER) >> 4];
        return 0;
    }
  }

  /** Writes a 32-bit register at `offset`. */
  write(offset: number, value: number, now: number): void {
    this.update(now);
    const r = offset & 0xff0;
    value >>>= 0;
    switch (r) {
      case APIC_ID:
        this.id = value >>> 24;
        return;
      case APIC_TPR:
        this.tpr = value & 0xff;
        return;
      case APIC_EOI:
        this.eoi();
        return;
      case APIC_LDR:
        this.ldr = value & 0xff000000;
        return;
      case APIC_DFR:
        this.dfr = value | 0x0fffffff;
        return;
      case APIC_SVR:
        this.svr = value & 0x13ff;
        if (!this.enabled()) { for (let k = 0; k < 6; k++) this.lvt[k] |= LVT_MASKED; }
        return;
      case APIC_ESR:
        this.esr = 0;
        return;
      case APIC_ICR_LOW:
        // Self-IPI with the fixed delivery mode and the "self" shorthand is the only IPI one CPU can take.
        this.icrLow = value & ~(1 << 12);
        if (((value >>> 18) & 3) === 1 && ((value >>> 8) & 7) === 0) this.raise(value & 0xff);
        return;
      case APIC_ICR_HIGH:
        this.icrHigh = value & 0xff000000;
        return;
      case APIC_TIMER_INITIAL:
        if (this.mode() === MODE_TSC_DEADLINE) return;
        this.initialCount = value;
        this.start = now;
        this.deadline = value === 0 ? -1 : now + value * timerDivisor(this.divide);
        return;
      case APIC_TIMER_DIVIDE:
        this.divide = value & 0xb;
        return;
      default:
        if (r >= APIC_LVT_TIMER && r <= APIC_LVT_ERROR) {
          const k = (r - APIC_LVT_TIMER) >> 4;
          const oldMode = this.mode();
          let v = value & (k === 0 ? 0x700ff : 0x1f7ff);
          if (!this.enabled()) v |= LVT_MASKED;
          this.lvt[k] = v;
          if (k === 0 && this.mode() !== oldMode) {
            // Switching modes disarms the timer (SDM Vol. 3 §11.5.4.1).
            this.initialCount = 0;
            this.deadline = -1;
            this.tscDeadline = 0;
          }
        }
    }
  }

  private mode(): number {
    return (this.lvt[0] >>> 17) & 3;
  }

  /** Current-count register. */
  private currentCount(now: number): number {
    if (this.mode() === MODE_TSC_DEADLINE || this.initialCount === 0 || this.deadline < 0) return 0;
    const div = timerDivisor(this.divide);
    const elapsed = Math.floor((now - this.start) / div);
    return elapsed >= this.initialCount ? 0 : this.initialCount - elapsed;
  }

  /**
   * Whether the 8259's INTR reaches the CPU through LINT0: with the APIC globally disabled
   * (IA32_APIC_BASE bit 11 clear) LINT0 is the processor's INTR pin; otherwise LVT LINT0 must be
   * unmasked in ExtINT delivery mode (SDM Vol. 3 §11.5.1; the rule KVM applies).
   *
   * @param hwEnabled IA32_APIC_BASE bit 11
   */
  acceptsPicInterrupt(hwEnabled: boolean): boolean {
    if (!hwEnabled) return true;
    const lint0 = this.lvt[3];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >>> 8) & 7) === DELIVERY_EXTINT;
  }

  /**
   * Programs LINT0 as ExtINT and LINT1 as NMI, both unmasked: the "virtual wire" mode a PC's
   * firmware leaves for an operating system that finds no MP table (MultiProcessor Specification
   * 1.4 §3.6.2.2), set here the way firmware does, before the APIC is software-enabled.
   */
  setVirtualWire(): void {
    this.lvt[3] = DELIVERY_EXTINT << 8;
    this.lvt[4] = DELIVERY_NMI << 8;
  }

  /** Reads IA32_TSC_DEADLINE. */
  readTscDeadline(): number {
    return this.mode() === MODE_TSC_DEADLINE ? this.tscDeadline : 0;
  }

  /** Writes IA32_TSC_DEADLINE (ignored unless the timer is in TSC-deadline mode). */
  writeTscDeadline(value: number, now: number): void {
    this.update(now);
    if (this.mode() !== MODE_TSC_DEADLINE) return;
    this.tscDeadline = value;
    this.deadline = value === 0 ? -1 : Math.max(value, now);
  }

  /** TSC at which the timer needs attention next, or Infinity. */
  nextEvent(): number {
    return this.deadline < 0 ? Infinity : this.deadline;
  }

  /** Advances the timer to `now`: raises the timer interrupt if its time has come. */
  update(now: number): void {
    while (this.deadline >= 0 && now >= this.deadline) {
      if ((this.lvt[0] & LVT_MASKED) === 0) this.raise(this.lvt[0] & 0xff);
      this.fired++;
      const mode = this.mode();
      if (mode === MODE_PERIODIC && this.initialCount !== 0) {
        this.start = this.deadline;
        this.deadline += this.initialCount * timerDivisor(this.divide);
      } else {
        if (mode === MODE_TSC_DEADLINE) this.tscDeadline = 0;
        this.deadline = -1;
      }
    }
  }

  /** Requests interrupt `vector` (sets its IRR bit). Vectors below 16 are illegal and are dropped. */
  raise(vector: number): void {
    if (vector < 16) {
      this.esr |= 0x40; // received illegal vector
      return;
    }
    this.irr[vector >>> 5] |= 1 << (vector & 31);
  }

  private static highest(bits: Uint32Array): number {
    for (let w = 7; w >= 0; w--) if (bits[w] !== 0) return w * 32 + 31 - Math.clz32(bits[w]);
    return -1;
  }

  private ppr(): number {
    const isr = LocalApic.highest(this.isr);
    const isrClass = isr < 0 ? 0 : isr & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  /** The vector the APIC would deliver now (IRR above the processor priority), or -1. */
  pending(): number {
    if (!this.enabled()) return -1;
    const v = LocalApic.highest(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr() & 0xf0)) return -1;
    return v;
  }

  /** The CPU accepted `vector`: it moves from IRR to ISR (SDM Vol. 3 §11.8.4). */
  acknowledge(vector: number): void {
    this.irr[vector >>> 5] &= ~(1 << (vector & 31));
    this.isr[vector >>> 5] |= 1 << (vector & 31);
  }

  private eoi(): void {
    const v = LocalApic.highest(this.isr);
    if (v >= 0) this.isr[v >>> 5] &= ~(1 << (v & 31));
  }

  /** State as bytes (little-endian words in a fixed order). */
  save(): Uint8Array {
    const words = [
      ...this.irr,
      ...this.isr,
      ...this.tmr,
      this.id,
      this.tpr,
      this.ldr,
      this.dfr,
      this.svr,
      this.esr,
      this.icrLow,
      this.icrHigh,
      ...this.lvt,
      this.initialCount,
      this.divide,
    ];
    const b = new Uint8Array(words.length * 4 + 4 * 8);
    const dv = new DataView(b.buffer);
    words.forEach((w, k) => dv.setUint32(k * 4, w >>> 0, true));
    const o = words.length * 4;
    dv.setFloat64(o, this.start, true);
    dv.setFloat64(o + 8, this.deadline, true);
    dv.setFloat64(o + 16, this.tscDeadline, true);
    dv.setFloat64(o + 24, this.fired, true);
    return b;
  }

  /** Loads state from {@linkcode save}. */
  restore(b: Uint8Array): void {
    const n = 8 * 3 + 8 + 6 + 2;
    if (b.length !== n * 4 + 32) {
      throw new RangeError(`lapic state must be ${n * 4 + 32} bytes, got ${b.length}`);
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const w = (k: number) => dv.getUint32(k * 4, true);
    for (let k = 0; k < 8; k++) {
      this.irr[k] = w(k);
      this.isr[k] = w(8 + k);
      this.tmr[k] = w(16 + k);
    }
    [this.id, this.tpr, this.ldr, this.dfr, this.svr, this.esr, this.icrLow, this.icrHigh] = [
      w(24),
      w(25),
      w(26),
      w(27),
      w(28),
      w(29),
      w(30),
      w(31),
    ];
    for (let k = 0; k < 6; k++) this.lvt[k] = w(32 + k);
    this.initialCount = w(38);
    this.divide = w(39);
    const o = n * 4;
    this.start = dv.getFloat64(o, true);
    this.deadline = dv.getFloat64(o + 8, true);
    this.tscDeadline = dv.getFloat64(o + 16, true);
    this.fired = dv.getFloat64(o + 24, true);
  }
}

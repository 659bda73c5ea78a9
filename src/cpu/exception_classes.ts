/**
 * How the processor classifies the events it delivers through the IDT: the double-fault classes
 * of SDM Vol. 3 §6.15 (Table 6-4, applied by Table 6-5), which exceptions are fault-class (the
 * RF image they push, SDM Vol. 3 §18.3.1.1), and the event types of VMX interruption
 * information (SDM Vol. 3 §25.8.3), which also say whether an event is a software interrupt.
 *
 * @module
 */

import {
  INTR_TYPE_HARDWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_INTERRUPT,
} from "../vmx/qualifications.ts";

// Event types are the VMX interruption types (SDM Vol. 3 §25.8.3), defined once in
// vmx/qualifications.ts; the CPU passes them with every event it delivers.

/** Double-fault class: benign (Table 6-4: every vector not listed below, all INT n, all INTR). */
export const CLASS_BENIGN = 0;
/** Double-fault class: contributory (#DE, #TS, #NP, #SS, #GP; #CP). */
export const CLASS_CONTRIBUTORY = 1;
/** Double-fault class: page faults (#PF; #VE). */
export const CLASS_PAGE_FAULT = 2;
/** The event being delivered is a double fault: any further exception is a triple fault (§6.15, Interrupt 8). */
export const CLASS_DOUBLE_FAULT = 3;

/**
 * The class of an event for the double-fault rules. Only exceptions the processor detects have a
 * class other than benign: software interrupts (INT n, INT3, INTO, INT1), external interrupts and
 * NMIs are benign whatever their vector (Table 6-4 lists "All: INT n" and "All: INTR" as benign).
 */
export function eventClass(vector: number, type: number): number {
  if (type !== INTR_TYPE_HARDWARE_EXCEPTION) return CLASS_BENIGN;
  switch (vector) {
    case 0:
    case 10:
    case 11:
    case 12:
    case 13:
    case 21:
      return CLASS_CONTRIBUTORY;
    case 14:
    case 20:
      return CLASS_PAGE_FAULT;
    case 8:
      return CLASS_DOUBLE_FAULT;
    default:
      return CLASS_BENIGN;
  }
}

/**
 * Whether a second exception of class `second`, raised while delivering an event of class
 * `first`, becomes a double fault (Table 6-5): contributory after contributory, and contributory
 * or page fault after a page fault. Every other pair is handled serially.
 */
export function isDoubleFault(first: number, second: number): boolean {
  if (first === CLASS_CONTRIBUTORY) return second === CLASS_CONTRIBUTORY;
  if (first === CLASS_PAGE_FAULT) return second === CLASS_CONTRIBUTORY || second === CLASS_PAGE_FAULT;
  return false;
}

/**
 * Fault-class exceptions (SDM Vol. 3 Table 6-1): #DE, #BR, #UD, #NM, #TS, #NP, #SS, #GP, #PF,
 * #MF, #AC, #XM, #VE, #CP. #DB is a fault only for instruction breakpoints, which hvsim does not
 * raise; #BP and #OF are traps, #DF and #MC aborts.
 */
export function isFaultClass(vector: number): boolean {
  return vector === 0 || vector === 5 || vector === 6 || vector === 7 || (vector >= 10 && vector <= 14) ||
    vector === 16 || vector === 17 || vector === 19 || vector === 20 || vector === 21;
}

/** Software interrupts and software exceptions (INT n, INT3, INTO): the only events with EXT = 0 and a gate DPL check. */
export function isSoftwareInterrupt(type: number): boolean {
  return type === INTR_TYPE_SOFTWARE_INTERRUPT || type === INTR_TYPE_SOFTWARE_EXCEPTION;
}

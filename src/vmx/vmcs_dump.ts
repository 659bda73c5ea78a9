/**
 * Decoding a saved 4 KiB VMCS region field by field (for `deno task vmcs --dump` and for snapshot
 * tools), and printing the field table.
 *
 * @module
 */

import { VMCS_FIELDS, VMCS_REGION_SIZE, type VmcsField } from "./fields.ts";
import { LAUNCH_STATE_CLEAR, LAUNCH_STATE_LAUNCHED, Vmcs } from "./vmcs.ts";

/** One decoded field. */
export interface VmcsDumpField {
  /** The field (full encodings only; high aliases are not repeated). */
  field: VmcsField;
  /** Its value, zero-extended. */
  value: bigint;
}

/** A decoded VMCS region. */
export interface VmcsDump {
  /** Revision identifier, bits 30:0 of offset 0. */
  revisionId: number;
  /** Shadow-VMCS indicator, bit 31 of offset 0. */
  shadow: boolean;
  /** VMX-abort indicator, offset 4. */
  abortIndicator: number;
  /** Launch state at offset 8 (0 clear, 1 launched, anything else is corrupt). */
  launchState: number;
  /** Every field with a full encoding, in table order. */
  fields: VmcsDumpField[];
}

/**
 * Decodes a 4096-byte VMCS region with hvsim's layout; throws a RangeError for another size.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { decodeVmcsRegion } from "./vmcs_dump.ts";
 * const region = new Uint8Array(4096);
 * region[544] = 0x34; // GUEST_RIP, vmcs12 offset 544
 * const dump = decodeVmcsRegion(region);
 * equal(dump.fields.find((f) => f.field.name === "GUEST_RIP")?.value, 0x34n);
 * ```
 */
export function decodeVmcsRegion(region: Uint8Array): VmcsDump {
  if (region.length !== VMCS_REGION_SIZE) {
    throw new RangeError(`A VMCS region is ${VMCS_REGION_SIZE} bytes, got ${region.length}`);
  }
  const vmcs = new Vmcs(region, 0);
  return {
    revisionId: vmcs.revisionId,
    shadow: vmcs.shadow,
    abortIndicator: vmcs.abortIndicator,
    launchState: vmcs.launchState,
    fields: VMCS_FIELDS.filter((f) => f.width !== "64-high").map((field) => ({
      field,
      value: vmcs.read(field.encoding),
    })),
  };
}

function hex(value: bigint | number, digits: number): string {
  return "0x" + value.toString(16).padStart(digits, "0");
}

/** The encoding as data/vmcs_fields.tsv spells it: 0x plus four upper-case hex digits. */
export function formatEncoding(encoding: number): string {
  return "0x" + encoding.toString(16).toUpperCase().padStart(4, "0");
}

/** Formats a field value with as many hex digits as its width (4, 8 or 16). */
export function formatFieldValue(field: VmcsField, value: bigint): string {
  return hex(value, field.size * 2);
}

/** The launch state as a word: "clear", "launched" or the raw number if corrupt. */
export function launchStateName(state: number): string {
  return state === LAUNCH_STATE_CLEAR
    ? "clear"
    : state === LAUNCH_STATE_LAUNCHED
    ? "launched"
    : hex(state, 8);
}

/**
 * Formats a dump as TSV: four header lines (revision-id, shadow, abort, launch-state), then one
 * `encoding, name, value` line per field (only non-zero fields if `nonzeroOnly`).
 */
export function formatVmcsDump(dump: VmcsDump, nonzeroOnly = false): string {
  const lines = [
    `revision-id\t${hex(dump.revisionId, 8)}`,
    `shadow\t${dump.shadow ? 1 : 0}`,
    `abort\t${hex(dump.abortIndicator, 8)}`,
    `launch-state\t${launchStateName(dump.launchState)}`,
  ];
  for (const { field, value } of dump.fields) {
    if (nonzeroOnly && value === 0n) continue;
    lines.push(`${formatEncoding(field.encoding)}\t${field.name}\t${formatFieldValue(field, value)}`);
  }
  return lines.join("\n") + "\n";
}

/** The field table as TSV with a header: encoding, name, width, type, offset (decimal bytes). */
export function formatFieldTable(): string {
  const lines = ["encoding\tname\twidth\ttype\toffset"];
  for (const f of VMCS_FIELDS) {
    lines.push(`${formatEncoding(f.encoding)}\t${f.name}\t${f.width}\t${f.type}\t${f.offset}`);
  }
  return lines.join("\n") + "\n";
}

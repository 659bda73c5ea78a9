/**
 * Reads data/vmcs_fields.tsv, the project's record of the VMCS fields (encodings, widths and types
 * from SDM Vol. 3, App. B; offsets from KVM's struct vmcs12), for the tests that check
 * src/vmx/fields.ts and `deno task vmcs` against it.
 *
 * @module
 */

import { deepEqual, ok } from "node:assert/strict";

/** One row of data/vmcs_fields.tsv. */
export interface VmcsFieldRow {
  /** Encoding as written: "0x" plus four upper-case hex digits. */
  encoding: string;
  /** Linux `enum vmcs_field` name. */
  name: string;
  /** "16", "32", "64", "64-high" or "natural". */
  width: string;
  /** "control", "exit-info", "guest" or "host". */
  type: string;
  /** Byte offset in KVM's struct vmcs12, or null where vmcs12 has no such field. */
  vmcs12Offset: number | null;
}

/** Column names of the table, in order. */
export const VMCS_FIELDS_TSV_COLUMNS = ["encoding", "name", "width", "type", "vmcs12_offset"];

/** Path of data/vmcs_fields.tsv. */
export const VMCS_FIELDS_TSV = new URL("../../data/vmcs_fields.tsv", import.meta.url);

/** Reads data/vmcs_fields.tsv: `#` comment lines skipped, the column header checked, one row per field. */
export function readVmcsFieldsTsv(): VmcsFieldRow[] {
  const lines = Deno.readTextFileSync(VMCS_FIELDS_TSV).split("\n").filter((l) =>
    l !== "" && !l.startsWith("#")
  );
  deepEqual(lines[0].split("\t"), VMCS_FIELDS_TSV_COLUMNS);
  return lines.slice(1).map((line, i) => {
    const cols = line.split("\t");
    ok(cols.length === 5, `data/vmcs_fields.tsv row ${i + 1} has ${cols.length} columns: expected 5`);
    const [encoding, name, width, type, offset] = cols;
    ok(/^0x[0-9A-F]{4}$/.test(encoding), `row ${i + 1}: encoding ${encoding}`);
    ok(offset === "-" || /^\d+$/.test(offset), `row ${i + 1}: vmcs12 offset ${offset}`);
    return { encoding, name, width, type, vmcs12Offset: offset === "-" ? null : Number(offset) };
  });
}

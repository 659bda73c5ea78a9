/**
 * The VMCS dump decoder, as `deno task vmcs --dump F` reads its input: a raw 4 KiB VMCS region,
 * or a snapshot whose "vmcs" state section is decoded. Fields are mutated where the field table
 * puts them.
 *
 * @module
 */

import { dumpVmcs } from "../../cli/vmcs.ts";
import { UsageError } from "../../cli/_common.ts";
import { MigrationController } from "../../migration/controller.ts";
import { memoryTransport } from "../../migration/transport.ts";
import { VMCS_FIELDS } from "../../vmx/fields.ts";
import { machineAt } from "../corpus.ts";
import { resealStream, streamStructure } from "../stream_format.ts";
import type { CaseOutcome, Field, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";

const REGION_FIELDS: Field[] = [
  { offset: 0, size: 4, kind: "version" },
  { offset: 4, size: 4, kind: "value" },
  { offset: 8, size: 4, kind: "value" },
  ...VMCS_FIELDS.map((f): Field => ({ offset: f.offset, size: f.size, kind: "value" })),
];

function isStream(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x48 && b[1] === 0x56 && b[2] === 0x53 && b[3] === 0x4d;
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "vmcs-dump",
  description: "vmcs --dump: a saved 4 KiB VMCS region or a snapshot's VMCS section, decoded and printed",
  async corpus() {
    const out: Uint8Array[] = [];
    for (
      const [name, cmdline, at] of [["hello", "", 0], ["entropy", "n=2 spins=200 max=16", 3000]] as const
    ) {
      const m = machineAt(name, cmdline, at);
      out.push(m.vcpu.vmcs.region().slice());
      const t = memoryTransport();
      await new MigrationController(m).snapshot(t.transport);
      out.push(t.sink.bytes());
    }
    return out;
  },
  structure(b) {
    return isStream(b)
      ? streamStructure(b)
      : { fields: REGION_FIELDS.filter((f) => f.offset < b.length), records: [] };
  },
  reseal(b) {
    return isStream(b) ? resealStream(b) : b;
  },
  async run(input): Promise<CaseOutcome> {
    const nonzero = (input.length & 1) === 1;
    try {
      const text = await dumpVmcs(input, "vmcs.bin", { nonzero, "any-revision": nonzero });
      return { result: "accepted", detail: `${text.split("\n").length} lines` };
    } catch (e) {
      if (e instanceof UsageError) return refused(e);
      throw e;
    }
  },
};

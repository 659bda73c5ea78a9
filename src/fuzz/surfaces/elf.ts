/**
 * ELF guests, as `deno task run G` loads them: parsed and checked against guest RAM, loaded,
 * booted, and run for the case's budget.
 *
 * @module
 */

import { Machine } from "../../vm/machine.ts";
import { guestElf } from "../corpus.ts";
import { runGuest } from "../run_guest.ts";
import type { CaseOutcome, Field, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";

/** The surface. */
export const surface: FuzzSurface = {
  name: "elf",
  description: "ELF guests: parse, load into 8 MiB of RAM, boot and run",
  corpus() {
    return Promise.resolve(["hello", "hello-Os", "entropy", "smc"].map(guestElf));
  },
  structure(b) {
    const fields: Field[] = [];
    if (b.length < 64) return { fields, records: [] };
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    fields.push(
      { offset: 0, size: 4, kind: "magic" },
      { offset: 4, size: 1, kind: "type" },
      { offset: 5, size: 1, kind: "type" },
      { offset: 16, size: 2, kind: "type" },
      { offset: 18, size: 2, kind: "type" },
      { offset: 24, size: 8, kind: "address" },
      { offset: 32, size: 8, kind: "address" },
      { offset: 54, size: 2, kind: "size" },
      { offset: 56, size: 2, kind: "count" },
    );
    const phoff = Number(v.getBigUint64(32, true) & 0xffffffn);
    const n = Math.min(v.getUint16(56, true), 16);
    const records = [];
    for (let k = 0; k < n; k++) {
      const o = phoff + 56 * k;
      if (o + 56 > b.length) break;
      records.push({ offset: o, length: 56 });
      fields.push(
        { offset: o, size: 4, kind: "type" },
        { offset: o + 4, size: 4, kind: "flags" },
        { offset: o + 8, size: 8, kind: "address" },
        { offset: o + 16, size: 8, kind: "address" },
        { offset: o + 24, size: 8, kind: "address" },
        { offset: o + 32, size: 8, kind: "size" },
        { offset: o + 40, size: 8, kind: "size" },
      );
    }
    return { fields, records };
  },
  run(input, ctx): Promise<CaseOutcome> {
    let m: Machine;
    try {
      m = Machine.fromElf(input, { memory: 8 << 20 }, "guest");
    } catch (e) {
      if (e instanceof RangeError && /^Cannot load guest: /.test(e.message)) {
        return Promise.resolve(refused(e));
      }
      throw e;
    }
    return Promise.resolve(runGuest(m, ctx.maxInstructions));
  },
};

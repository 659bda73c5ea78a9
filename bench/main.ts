/**
 * `deno task bench`: guest MIPS on every benchmark guest, then the cost of dirty tracking.
 */

import { measureMips } from "./cpu_mips.ts";
import { measureTracking } from "./dirty_tracking.ts";

console.log("guest            instructions   seconds    MIPS");
for (const r of measureMips(2)) {
  console.log(
    `${r.name.padEnd(16)} ${String(r.instructions).padStart(12)} ${r.seconds.toFixed(3).padStart(9)} ${
      r.mips.toFixed(1).padStart(7)
    }`,
  );
}
console.log();
const rows = measureTracking(2);
console.log("memwrite, dirty tracking   seconds   overhead");
for (const r of rows) {
  console.log(
    `${(r.mode + (r.harvests ? ` (${r.harvests} harvests)` : "")).padEnd(26)} ${
      r.seconds.toFixed(3).padStart(7)
    } ${((r.seconds / rows[0].seconds - 1) * 100).toFixed(1).padStart(8)} %`,
  );
}

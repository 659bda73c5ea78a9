/**
 * `deno task bench`: guest MIPS on every benchmark guest (default and long runs; default-flags builds
 * beside their general-register builds), the cost of dirty tracking, Linux's boot to the shell prompt
 * (bench/linux_boot.ts), Linux migrated during its `dirty` workload (bench/linux_migrate.ts), then the
 * migration benchmarks (bench/migration_bench.ts: downtime against its bound, a 1 GiB guest's migration,
 * snapshot and restore, TCP on loopback, CRC and bitmap).
 */

import { measureMips, printDefaultFlags, printMips } from "./cpu_mips.ts";
import { measureTracking } from "./dirty_tracking.ts";
import { runMigrationBenchmarks } from "./migration_bench.ts";
import { measureLinuxBoot, printLinuxBoot } from "./linux_boot.ts";
import { measureLinuxMigration, printLinuxMigration } from "./linux_migrate.ts";

const short = await measureMips(2);
printMips(short);
console.log();
printDefaultFlags(short);
console.log();
console.log("long runs (about 10x the work; the compiled code's warm-up in V8 is a small part)");
const long = await measureMips(1, undefined, true);
printMips(long);
console.log();
printDefaultFlags(long);
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
console.log();
printLinuxBoot(measureLinuxBoot());
console.log();
printLinuxMigration(await measureLinuxMigration());
console.log();
await runMigrationBenchmarks();

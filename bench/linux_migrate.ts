/**
 * Linux migrated while its `dirty` workload rewrites a working set: guests/linux/bzImage booted with
 * `hvsim.workload=dirty`, migrated in one process from {@link LINUX_MIGRATION.at} instructions (the
 * workload's passes running) with the xen policy (five pre-copy rounds) on a 10 Gbit/s link: rounds,
 * bytes, downtime (modelled on the link, and the wall clock from the source's pause to the
 * destination's resume) and the pages each round dirtied by region of guest memory. The same as
 *
 * ```
 * deno task migrate guests/linux/bzImage --initrd guests/linux/initramfs.cpio.gz --memory 128M \
 *   --append "console=ttyS0 panic=-1 hvsim.workload=dirty hvsim.ws=4M hvsim.passes=3000" \
 *   --at 132M --policy xen --bandwidth 10gbit
 * ```
 *
 * without the unmigrated reference run (tests/guests/linux_migrate_test.ts compares).
 *
 * ```
 * deno run -A bench/linux_migrate.ts
 * ```
 *
 * @module
 */

import { REPO_ROOT } from "../guests/build.ts";
import { buildMigrationReport, migrateInProcess, type MigrationReport } from "../src/migration/mod.ts";
import { wallClockMs } from "../src/migration/stats.ts";
import { linuxMemoryMap, Machine } from "../src/vm/mod.ts";
import { formatRegionRounds } from "../src/cli/_migrate_format.ts";

/** The migration measured: the README's command. */
export const LINUX_MIGRATION = {
  memory: 128 * 2 ** 20,
  cmdline: "console=ttyS0 panic=-1 hvsim.workload=dirty hvsim.ws=4M hvsim.passes=3000",
  at: 132_000_000,
  policy: "xen",
  /** 10 Gbit/s, in bytes per second. */
  bandwidth: 10e9 / 8,
} as const;

/** What {@link measureLinuxMigration} found. */
export interface LinuxMigrationResult {
  /** The report's data (rounds, totals, downtime, pages by region). */
  report: MigrationReport;
  /** Wall seconds to boot and run to the migration's start. */
  bootSeconds: number;
  /** Wall seconds of the migration (pre-copy with the guest running, stop-and-copy, loading). */
  migrationSeconds: number;
}

/** Boots the committed kernel with the dirty workload and migrates it mid-workload. */
export async function measureLinuxMigration(): Promise<LinuxMigrationResult> {
  const kernel = Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`);
  const m = Machine.fromLinux(
    kernel,
    Deno.readFileSync(`${REPO_ROOT}/guests/linux/initramfs.cpio.gz`),
    { memory: LINUX_MIGRATION.memory, cmdline: LINUX_MIGRATION.cmdline },
    "bzImage",
  );
  const t0 = performance.now();
  m.run(LINUX_MIGRATION.at);
  const t1 = performance.now();
  const r = await migrateInProcess(m, (h) => new Machine({ memory: h.ramBytes }), {
    policy: LINUX_MIGRATION.policy,
    bandwidth: LINUX_MIGRATION.bandwidth,
  });
  const resumed = wallClockMs();
  const t2 = performance.now();
  if (!r.ok) throw new Error(`the migration failed: ${r.error}`);
  const report = buildMigrationReport(r.stats, {
    guestName: "guests/linux/bzImage",
    cmdline: LINUX_MIGRATION.cmdline,
    regions: linuxMemoryMap(kernel, m.linuxLayout!, m.ramBytes, LINUX_MIGRATION.cmdline.length),
    sourceInstructions: m.instructions,
    resumedAtWallMs: resumed,
  });
  return { report, bootSeconds: (t1 - t0) / 1000, migrationSeconds: (t2 - t1) / 1000 };
}

/** Prints the rounds, totals, downtime and the pages dirtied by region. */
export function printLinuxMigration(x: LinuxMigrationResult): void {
  const r = x.report;
  console.log(
    `Linux 6.1 migrated during "dirty" (4 MiB working set), from ${r.instructions.atStart} instructions, ` +
      `xen policy, 10 Gbit/s`,
  );
  console.log("round    pages sent  dirtied   bytes        ms");
  for (const k of r.rounds) {
    console.log(
      `${(k.final ? "final" : String(k.round)).padEnd(8)} ${String(k.pages).padStart(10)} ${
        String(k.dirtied).padStart(8)
      } ${String(k.bytes).padStart(11)} ${k.durationMs.toFixed(3).padStart(9)}`,
    );
  }
  const wall = r.downtime.wall[0];
  console.log(
    `${r.totals.precopyRounds} pre-copy rounds, ${r.totals.transferred} bytes, downtime ${
      r.downtime.modelledMs.toFixed(3)
    } ms modelled` + (wall ? `, ${wall.ms.toFixed(1)} ms wall (source paused to destination resumed)` : ""),
  );
  console.log(
    `wall seconds: ${x.bootSeconds.toFixed(1)} to boot and run to the start, ${
      x.migrationSeconds.toFixed(1)
    } for the migration`,
  );
  console.log(formatRegionRounds(r));
}

if (import.meta.main) printLinuxMigration(await measureLinuxMigration());

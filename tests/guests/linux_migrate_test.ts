// Linux live-migrated in the middle of its boot (the initramfs being unpacked, the 8250 driver being
// set up) and in the middle of the `dirty` workload (a process rewriting its working set) ends as
// the run that never moved: the same exit, instruction count, console output and digest over
// registers, VMCS, devices and all of RAM. The workload's own check ("dirty: ok") passes on the
// destination, and the migration's dirty log shows the working set: in every pre-copy round, at
// least as many pages outside the kernel's image as the working set has (the workload rewrites all
// of it many times a round), and the kernel's own data pages.
import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { buildMigrationReport, migrateInProcess } from "../../src/migration/mod.ts";
import { linuxMemoryMap } from "../../src/vm/linux_image.ts";
import { Machine } from "../../src/vm/machine.ts";
import { assertSameEnd, migrateAt } from "../vm/_guests.ts";

const KERNEL = Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`);
const INITRD = Deno.readFileSync(`${REPO_ROOT}/guests/linux/initramfs.cpio.gz`);
const MEMORY = 128 * 2 ** 20;
const BUDGET = 3e9;
/** The workload: a 4 MiB working set, every page rewritten by each of 3000 passes, then checked. */
const WS = 4 * 2 ** 20;
const PASSES = 3000;
const CMDLINE = `console=ttyS0 panic=-1 hvsim.workload=dirty hvsim.ws=${WS >> 10}K hvsim.rate=0 ` +
  `hvsim.passes=${PASSES}`;

function boot(): Machine {
  return Machine.fromLinux(KERNEL, INITRD, { memory: MEMORY, cmdline: CMDLINE }, "bzImage");
}

/** The unmigrated run, and the instruction counts at which it printed the workload's first and last lines. */
interface Reference {
  m: Machine;
  /** `dirty: ws ...` printed: the working set is about to be mapped and tagged. */
  started: number;
  /** `dirty: ok ...` printed: the passes and the check are over. */
  checked: number;
}

let reference: Reference | undefined;
function unmigrated(): Reference {
  if (reference !== undefined) return reference;
  const m = boot();
  let line = "", started = -1, checked = -1;
  m.console.onByte = (b) => {
    line += String.fromCharCode(b);
    if (b !== 10) return;
    if (line.startsWith("dirty: ws ")) started = m.instructions;
    if (line.startsWith("dirty: ok")) checked = m.instructions;
    line = "";
  };
  const exit = m.runToEnd(BUDGET);
  assert.deepEqual(
    { reason: exit.reason, code: exit.code },
    { reason: "hlt", code: 0 },
    m.consoleText().slice(-1500),
  );
  assert.match(m.consoleText(), /dirty: ok, checksum 0x[0-9a-f]+\r?\n/);
  assert.match(m.consoleText(), /hvsim-linux: workload done/);
  assert.ok(started > 0 && checked > started, `workload lines at ${started}, ${checked}`);
  reference = { m, started, checked };
  return reference;
}

Deno.test("Linux migrated mid-boot ends equal to the unmigrated run", async () => {
  const ref = unmigrated();
  const src = boot();
  src.run(40_000_000); // pre-copy from here, switchover at 60 M
  const dest = await migrateAt(src, 60_000_000);
  dest.runToEnd(BUDGET - dest.instructions);
  assertSameEnd(dest, ref.m, "migrated at 60 M instructions");
});

Deno.test("Linux migrated while `dirty` rewrites its working set ends equal, and the dirty log shows the working set", async () => {
  const ref = unmigrated();
  const src = boot();
  // Pre-copy from an eighth into the workload (past mapping and tagging the working set), five
  // rounds (the xen policy's cap) on a 10 Gbit/s link, all while the passes run.
  const at = ref.started + Math.floor((ref.checked - ref.started) / 8);
  const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
    at,
    policy: "xen",
    bandwidth: 10e9 / 8,
  });
  assert.ok(r.ok, r.error);
  assert.equal(r.stats.precopyRounds, 5, r.stats.switchoverReason);
  assert.ok(src.instructions < ref.checked, "the switchover comes before the workload's check");
  const dest = r.destination as Machine;
  dest.runToEnd(BUDGET - dest.instructions);
  assertSameEnd(dest, ref.m, `migrated from ${at} instructions on, during the dirty workload`);
  assert.match(dest.consoleText(), /dirty: ok, checksum/);

  const report = buildMigrationReport(r.stats, {
    regions: linuxMemoryMap(KERNEL, src.linuxLayout!, MEMORY, CMDLINE.length),
    sourceInstructions: src.instructions,
  });
  const wsPages = WS / 4096;
  let kernelPages = 0;
  report.rounds.forEach((round, i) => {
    const rows = report.dirtyByRegion;
    assert.equal(rows.reduce((n, x) => n + x.dirtied[i], 0), round.dirtied, `round ${i}: regions add up`);
    const kernel = rows.filter((x) => x.kind === "kernel").reduce((n, x) => n + x.dirtied[i], 0);
    kernelPages += kernel;
    if (round.final) return;
    assert.ok(
      round.dirtied - kernel >= wsPages,
      `round ${i}: ${
        round.dirtied - kernel
      } pages dirtied outside the kernel's image, working set ${wsPages}`,
    );
  });
  assert.ok(kernelPages > 0, "the kernel's own pages were dirtied");
  assert.deepEqual(
    report.dirtyByRegion.filter((x) => x.kind === "kernel").map((x) => x.name),
    ["kernel code", "kernel rodata", "kernel data", "kernel bss"],
  );
});

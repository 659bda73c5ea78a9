// Linux live-migrated in the middle of its boot (the initramfs being unpacked, the 8250 driver being
// set up) ends as the run that never moved: the same exit, instruction count, console output and
// digest over registers, VMCS, devices and all of RAM.
import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { Machine } from "../../src/vm/machine.ts";
import { assertSameEnd, migrateAt } from "../vm/_guests.ts";

const KERNEL = Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`);
const INITRD = Deno.readFileSync(`${REPO_ROOT}/guests/linux/initramfs.cpio.gz`);
const BUDGET = 3e9;

function boot(): Machine {
  return Machine.fromLinux(KERNEL, INITRD, {
    memory: 128 * 2 ** 20,
    cmdline: "console=ttyS0 panic=-1 hvsim.workload=sha hvsim.file=/bin/dirty",
  }, "bzImage");
}

Deno.test("Linux migrated mid-boot ends equal to the unmigrated run", async () => {
  const ref = boot();
  const exit = ref.runToEnd(BUDGET);
  assert.deepEqual(
    { reason: exit.reason, code: exit.code },
    { reason: "hlt", code: 0 },
    ref.consoleText().slice(-1500),
  );
  assert.match(ref.consoleText(), /hvsim-linux: workload done/);
  const src = boot();
  src.run(40_000_000); // pre-copy from here, switchover at 60 M
  const dest = await migrateAt(src, 60_000_000);
  dest.runToEnd(BUDGET - dest.instructions);
  assertSameEnd(dest, ref, "migrated at 60 M instructions");
});

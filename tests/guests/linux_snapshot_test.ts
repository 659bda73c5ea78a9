// A snapshot of Linux at its busybox shell's prompt, written by `deno task snapshot` and restored by
// `deno task restore` with commands piped into its console, answers them exactly as the VM that
// was never snapshotted does when the same bytes reach its console at the same instruction: the
// same console output, exit, instruction count and digest (over registers, VMCS, devices and all of
// RAM). The answers themselves come from shell arithmetic and from the kernel image (the release
// string the boot protocol's kernel_version field points at).
import assert from "node:assert/strict";
import { runPollingSerial } from "../../src/devices/mod.ts";
import { Machine } from "../../src/vm/machine.ts";
import {
  ended,
  feed,
  INITRD,
  INITRD_PATH,
  KERNEL,
  KERNEL_PATH,
  kernelRelease,
  pipeInto,
  task,
} from "./_linux.ts";

const MEMORY = "128M";
const CMDLINE = "console=ttyS0 panic=-1 hvsim.workload=shell";
/** A count some millions of instructions after the prompt (a boot reaches it at about 123 M). */
const AT = 130_000_000;
/** The prompt, and the cursor-position query (ECMA-48 DSR, CSI 6 n) busybox's line editor sends after it. */
const PROMPT = new RegExp("/ # (\u001b\\[6n)?$");
const BUDGET = 3e9;
const SCRIPT = "echo $((6*7))\nuname -r\nexit\n";

async function finished(p: Deno.ChildProcess): Promise<string> {
  const r = await ended(p);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("Linux snapshotted at its shell prompt restores and answers a typed command as the unsnapshotted VM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/shell.snap`;
    // The snapshot as a user takes it (its own boot, on the other core meanwhile)...
    const snap = task("snapshot", [
      KERNEL_PATH,
      "--initrd",
      INITRD_PATH,
      "--memory",
      MEMORY,
      "--append",
      CMDLINE,
      "--at",
      String(AT),
      "--out",
      file,
    ]);
    // ... and the VM that is never snapshotted, booted to the same instruction.
    const ref = Machine.fromLinux(KERNEL, INITRD, { memory: 128 * 2 ** 20, cmdline: CMDLINE }, "bzImage");
    assert.equal(ref.run(AT), null);
    const before = ref.consoleText();
    assert.match(before, PROMPT, `the shell's prompt by ${AT}: ${JSON.stringify(before.slice(-300))}`);
    await finished(snap);

    const restore = task("restore", [file, "--json"], "piped");
    await feed(restore, SCRIPT);
    pipeInto(ref, new TextEncoder().encode(SCRIPT));
    const exit = runPollingSerial(ref, BUDGET) ?? ref.runToEnd(0);
    const restored = JSON.parse(await finished(restore));

    const answer = ref.consoleText().slice(before.length);
    assert.match(answer, /\r\n42\r\n/, answer);
    assert.ok(answer.includes(`uname -r\r\n${kernelRelease(KERNEL)}\r\n`), answer);
    assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason: "hlt", code: 0 }, answer);
    assert.equal(restored.restoredAt, AT);
    assert.deepEqual(restored.exit, exit);
    assert.equal(restored.instructions, ref.instructions);
    assert.equal(restored.console, ref.consoleText());
    assert.equal(restored.digest, ref.digest());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Linux 6.1 (guests/linux/bzImage) boots with the busybox initramfs to its init's marker line and
// runs the workloads: sha256sum of a file, checked against the hash computed here from the same
// file taken out of the committed initramfs; and the interactive shell, driven through COM1 with
// the bytes a pipe would carry, which `deno task record` records with the same input and `deno
// task replay` replays to the same end. Expected kernel facts come from the image itself (the
// version string the boot protocol's kernel_version field points at), from the CPUID leaves hvsim
// reports and from the CMOS start time given.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runPollingSerial } from "../../src/devices/mod.ts";
import { CPUID_BRAND } from "../../src/vm/cpuid.ts";
import { Machine, type RunExit } from "../../src/vm/machine.ts";
import { kernelImageRanges } from "../../src/vm/linux_image.ts";
import { cpioFiles, gunzip } from "./_initramfs.ts";
import { decodeLogHeader, INPUT_SERIAL, LOG_RECORD_INPUT } from "../../src/replay/log.ts";
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

const MEMORY = 128 * 2 ** 20;
/** Generous: a boot to the shell and back is some 10^8 instructions. */
const BUDGET = 3e9;
const MARKER = /hvsim-linux: init up, workload (\w+)/;

function boot(cmdline: string, input?: Uint8Array, rtcStart?: number): Machine {
  const m = Machine.fromLinux(KERNEL, INITRD, {
    memory: MEMORY,
    cmdline: `console=ttyS0 panic=-1 ${cmdline}`,
    rtcStart,
  }, "bzImage");
  // The bytes a pipe carries, as `deno task run` hands them over.
  pipeInto(m, input ?? new Uint8Array(0));
  return m;
}

function runToEnd(m: Machine): RunExit {
  return runPollingSerial(m, BUDGET) ?? m.runToEnd(0);
}

Deno.test("Linux boots to init's marker, prints the sha256 of /bin/busybox and halts with status 0", async () => {
  const files = cpioFiles(await gunzip(INITRD));
  const busybox = files.get("bin/busybox");
  assert.ok(busybox !== undefined, "the initramfs holds bin/busybox");
  const expected = createHash("sha256").update(busybox).digest("hex");
  const m = boot("hvsim.workload=sha");
  const exit = runToEnd(m);
  const out = m.consoleText();
  assert.match(out, MARKER, out.slice(-2000));
  assert.equal(MARKER.exec(out)![1], "sha");
  assert.ok(out.includes(`${expected}  /bin/busybox`), out.slice(-2000));
  assert.ok(out.includes("hvsim-linux: workload done"));
  assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason: "hlt", code: 0 }, exit.message);
});

Deno.test("the busybox shell answers commands typed into COM1 (a pipe's bytes); a recording with the same input replays", async () => {
  const script =
    "echo hvsim-$((6*7))\nls /\ncat /proc/cpuinfo\nuname -r\ncat /proc/iomem\ndate -u +%FT%H\nexit\n";
  const dir = await Deno.makeTempDir();
  try {
    // `deno task record` of the same boot and input (on the other core meanwhile), with a CMOS
    // start time the log must carry: its bytes must reach COM1 where the plain run's pipe does.
    const log = `${dir}/shell.hvlog`;
    const record = task("record", [
      KERNEL_PATH,
      "--initrd",
      INITRD_PATH,
      "--memory",
      "128M",
      "--append",
      `console=ttyS0 panic=-1 hvsim.workload=shell`,
      "--rtc-start",
      "2031-07-15T09:30:00Z",
      "--entropy",
      "seed", // RDRAND and RDSEED as a plain run draws them
      "--serial-input",
      "-",
      "--log",
      log,
      "--json",
    ], "piped");
    await feed(record, script);
    const m = boot(
      "hvsim.workload=shell",
      new TextEncoder().encode(script),
      Date.UTC(2031, 6, 15, 9, 30) / 1000,
    );
    const exit = runToEnd(m);
    const out = m.consoleText();
    assert.match(out, MARKER, out.slice(-2000));
    assert.ok(out.includes("hvsim-42"), out.slice(-3000));
    for (const d of ["bin", "dev", "init", "proc", "sys"]) assert.match(out, new RegExp(`\\b${d}\\b`));
    // /proc/cpuinfo shows the CPU hvsim reports (src/vm/cpuid.ts): GenuineIntel, family 6, model 0x6A.
    assert.match(out, /vendor_id\s*: GenuineIntel/);
    assert.match(out, /cpu family\s*: 6\b/);
    assert.match(out, /model\s*: 106\b/);
    // The brand string of CPUID leaves 0x80000002-0x80000004.
    assert.ok(out.includes(`model name\t: ${CPUID_BRAND}`), out.slice(-3000));
    assert.ok(out.includes(kernelRelease(KERNEL)), `uname -r: ${kernelRelease(KERNEL)}`);
    // /proc/iomem: where the kernel says its image lies (arch/x86/kernel/setup.c: "Kernel code" is
    // _text.._etext, "Kernel rodata" __start_rodata.., "Kernel data" _sdata.._edata, "Kernel bss"
    // __bss_start..__bss_stop), against what kernelImageRanges reads from the bzImage's payload.
    const iomem = (what: string) => {
      const m = new RegExp(`([0-9a-f]+)-([0-9a-f]+) : Kernel ${what}`).exec(out);
      assert.ok(m, `/proc/iomem names Kernel ${what}`);
      return { start: parseInt(m[1], 16), end: parseInt(m[2], 16) + 1 };
    };
    const image = new Map(kernelImageRanges(KERNEL)!.map((r) => [r.name, r]));
    const code = image.get("kernel code")!, data = image.get("kernel data")!, bss = image.get("kernel bss")!;
    assert.deepEqual(iomem("code"), { start: code.start, end: code.end });
    assert.deepEqual(iomem("bss"), { start: bss.start, end: bss.end });
    assert.equal(iomem("rodata").start, image.get("kernel rodata")!.start);
    assert.equal(iomem("data").start, data.start);
    assert.ok(iomem("data").end <= data.end);
    // The kernel set its clock from the CMOS RTC: the start time, a fraction of a second later.
    assert.ok(out.includes("\r\n2031-07-15T09\r\n"), out.slice(-300));
    assert.ok(out.includes("hvsim-linux: workload done"));
    assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason: "hlt", code: 0 }, exit.message);

    const same = (r: { code: number; stdout: string; stderr: string }, what: string) => {
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.deepEqual(
        { exit: j.exit, instructions: j.instructions, console: j.console, digest: j.digest },
        { exit, instructions: m.instructions, console: out, digest: m.digest() },
        what,
      );
      return j;
    };
    same(await ended(record), "recorded");
    // The replay needs no flags: the log names the kernel, the initrd, the RTC start and the polls.
    const replayed = same(await ended(task("replay", [log, "--json"])), "replayed");
    assert.equal(replayed.ok, true);
    assert.ok(replayed.inputsReplayed >= script.length, `${replayed.inputsReplayed} inputs`);

    // A typed byte altered in the log (its CRC not re-sealed): refused with one line, status 2.
    const bytes = await Deno.readFile(log);
    const typed = new TextEncoder().encode("hvsim-")[0];
    const at = findSerialInput(bytes, typed);
    bytes[at] ^= 0x20;
    await Deno.writeFile(`${dir}/tampered.hvlog`, bytes);
    const refused = await ended(task("replay", [`${dir}/tampered.hvlog`]));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr.trim(), /^replay: .*tampered\.hvlog: .*CRC32C mismatch[^\n]*$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Offset of the value byte of the first COM1 input record holding `byte` (log.ts, "input"). */
function findSerialInput(log: Uint8Array, byte: number): number {
  const v = new DataView(log.buffer, log.byteOffset, log.length);
  let off = decodeLogHeader(log).bytes;
  while (off < log.length) {
    const type = v.getUint16(off, true), len = v.getUint32(off + 4, true);
    const p = off + 16;
    if (type === LOG_RECORD_INPUT && log[p] === INPUT_SERIAL && log[p + 16] === byte) return p + 16;
    off = p + len;
  }
  throw new Error(`no COM1 input ${byte} in the log`);
}

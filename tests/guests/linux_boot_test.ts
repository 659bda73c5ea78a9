// Linux 6.1 (guests/linux/bzImage) boots with the busybox initramfs to its init's marker line and
// runs the workloads: sha256sum of a file, checked against the hash computed here from the same
// file taken out of the committed initramfs; and the interactive shell, driven through COM1 with
// the bytes a pipe would carry. Expected kernel facts come from the image itself (the version
// string the boot protocol's kernel_version field points at) and from the CPUID leaves hvsim reports.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { REPO_ROOT } from "../../guests/build.ts";
import { ByteInput } from "../../src/replay/inputs.ts";
import { runPollingSerial, SerialLine } from "../../src/devices/mod.ts";
import { CPUID_BRAND } from "../../src/vm/cpuid.ts";
import { Machine, type RunExit } from "../../src/vm/machine.ts";
import { kernelImageRanges } from "../../src/vm/linux_image.ts";
import { cpioFiles, gunzip } from "./_initramfs.ts";

const KERNEL = Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`);
const INITRD = Deno.readFileSync(`${REPO_ROOT}/guests/linux/initramfs.cpio.gz`);
const MEMORY = 128 * 2 ** 20;
/** Generous: a boot to the shell and back is some 10^8 instructions. */
const BUDGET = 3e9;
const MARKER = /hvsim-linux: init up, workload (\w+)/;

/** The kernel release: the version string at kernel_version + 0x200 (boot.rst, "kernel_version"). */
function kernelRelease(bz: Uint8Array): string {
  const at = new DataView(bz.buffer, bz.byteOffset).getUint16(0x20e, true) + 0x200;
  const end = bz.indexOf(0, at);
  return new TextDecoder().decode(bz.subarray(at, end)).split(" ")[0];
}

function boot(cmdline: string, input?: Uint8Array): Machine {
  // The bytes a pipe carries, as `deno task run` hands them over: a serial line that opens once
  // the guest's driver listens.
  const bytes = new ByteInput(input ?? new Uint8Array(0));
  const line = new SerialLine(() => bytes.next());
  const m = Machine.fromLinux(KERNEL, INITRD, {
    memory: MEMORY,
    cmdline: `console=ttyS0 panic=-1 ${cmdline}`,
    serialInput: line.input,
  }, "bzImage");
  line.attach(m);
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

Deno.test("the busybox shell answers commands typed into COM1 (a pipe's bytes), and exit halts", () => {
  const script = "echo hvsim-$((6*7))\nls /\ncat /proc/cpuinfo\nuname -r\ncat /proc/iomem\nexit\n";
  const m = boot("hvsim.workload=shell", new TextEncoder().encode(script));
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
  assert.ok(out.includes("hvsim-linux: workload done"));
  assert.deepEqual({ reason: exit.reason, code: exit.code }, { reason: "hlt", code: 0 }, exit.message);
});

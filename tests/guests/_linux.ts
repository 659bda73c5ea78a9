/**
 * The committed Linux guest for tests: its files, the kernel release its image names, and the
 * console a pipe gives it, as `deno task run` connects one.
 *
 * @module
 */

import { REPO_ROOT } from "../../guests/build.ts";
import { ByteInput } from "../../src/replay/inputs.ts";
import { SerialLine } from "../../src/devices/mod.ts";
import type { Machine } from "../../src/vm/machine.ts";

/** guests/linux/bzImage. */
export const KERNEL_PATH = `${REPO_ROOT}/guests/linux/bzImage`;
/** guests/linux/initramfs.cpio.gz. */
export const INITRD_PATH = `${REPO_ROOT}/guests/linux/initramfs.cpio.gz`;
/** The kernel image. */
export const KERNEL = Deno.readFileSync(KERNEL_PATH);
/** The initramfs. */
export const INITRD = Deno.readFileSync(INITRD_PATH);

/** The kernel release: the version string at kernel_version + 0x200 (boot.rst, "kernel_version"). */
export function kernelRelease(bz: Uint8Array): string {
  const at = new DataView(bz.buffer, bz.byteOffset).getUint16(0x20e, true) + 0x200;
  const end = bz.indexOf(0, at);
  return new TextDecoder().decode(bz.subarray(at, end)).split(" ")[0];
}

/**
 * Makes `bytes` the input of `m`'s COM1 from now on, as a pipe's bytes reach it under `deno task
 * run` or `restore`: a serial line that opens once the guest's driver listens.
 */
export function pipeInto(m: Machine, bytes: Uint8Array): void {
  const input = new ByteInput(bytes);
  const line = new SerialLine(() => input.next());
  m.serial.input = line.input;
  line.attach(m);
}

/** `deno task TASK ARGS` in the repository, its stdout and stderr piped (stdin piped too if asked). */
export function task(name: string, args: string[], stdin: "null" | "piped" = "null"): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}/src/cli/${name}.ts`, ...args],
    cwd: REPO_ROOT,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** `p`'s output once it has ended: status, stdout and stderr as text. */
export async function ended(p: Deno.ChildProcess): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await p.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Writes `text` to `p`'s stdin and closes it. */
export async function feed(p: Deno.ChildProcess, text: string): Promise<void> {
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
}

/**
 * One entry for every way a guest boots: a Linux kernel (bzImage or ELF vmlinux, with an optional
 * initrd) under the Linux boot protocol, any other ELF under hvsim's boot protocol 1.
 *
 * @module
 */

import { isLinuxKernel } from "./linux_loader.ts";
import { Machine, type MachineOptions } from "./machine.ts";

/**
 * Builds a machine and boots `file` in it: a Linux kernel with `initrd` and `opts.cmdline` as its
 * command line, or an ELF guest (then `initrd` must be absent).
 * @throws RangeError with one line when the guest or initrd cannot be loaded.
 */
export function bootMachine(
  file: Uint8Array,
  initrd: Uint8Array | undefined,
  opts: MachineOptions = {},
  name = "guest",
): Machine {
  if (isLinuxKernel(file)) return Machine.fromLinux(file, initrd, opts, name);
  if (initrd !== undefined) throw new RangeError(`Cannot load ${name}: an initrd needs a Linux kernel`);
  return Machine.fromElf(file, opts, name);
}

/**
 * Linux kernels, as `Machine.fromLinux` loads them (the 64-bit boot protocol): a bzImage's setup
 * header read and checked against guest RAM, or an ELF vmlinux's program headers; the kernel
 * loaded, the zero page, command line and initrd written, and the kernel run for the case's budget.
 * Mutations know the setup header's fields (setup_sects, syssize, boot_flag, the header's magic
 * and end, version, loadflags, code32_start, initrd_addr_max, kernel_alignment, relocatable_kernel,
 * xloadflags, cmdline_size, pref_address, init_size) and, for a vmlinux, the ELF surface's fields.
 *
 * @module
 */

import { Machine } from "../../vm/machine.ts";
import { initrdCorpus, kernelCorpus, LINUX_CMDLINE_TEXT, linuxRamFor } from "../linux_corpus.ts";
import { runGuest } from "../run_guest.ts";
import type { CaseOutcome, Field, FieldKind, FuzzSurface } from "../surface.ts";
import { refused } from "../surface.ts";
import { surface as elfSurface } from "./elf.ts";

let initrd: Uint8Array = new Uint8Array(0);

/** The setup header's fields (boot.rst, "The real-mode kernel header"): offset, size, kind. */
const SETUP_FIELDS: [number, 1 | 2 | 4 | 8, FieldKind][] = [
  [0x1f1, 1, "count"], // setup_sects
  [0x1f4, 4, "size"], // syssize
  [0x1fe, 2, "magic"], // boot_flag
  [0x201, 1, "length"], // the jump's offset: where the header ends
  [0x202, 4, "magic"], // "HdrS"
  [0x206, 2, "version"],
  [0x211, 1, "flags"], // loadflags
  [0x214, 4, "address"], // code32_start
  [0x218, 4, "address"], // ramdisk_image
  [0x21c, 4, "size"], // ramdisk_size
  [0x228, 4, "address"], // cmd_line_ptr
  [0x22c, 4, "address"], // initrd_addr_max
  [0x230, 4, "size"], // kernel_alignment
  [0x234, 1, "flags"], // relocatable_kernel
  [0x235, 1, "value"], // min_alignment
  [0x236, 2, "flags"], // xloadflags
  [0x238, 4, "size"], // cmdline_size
  [0x248, 4, "address"], // payload_offset
  [0x24c, 4, "length"], // payload_length
  [0x250, 8, "address"], // setup_data
  [0x258, 8, "address"], // pref_address
  [0x260, 4, "size"], // init_size
];

/** Whether `e` is the loader's one-line refusal of a kernel or initrd. */
export function isLinuxLoaderRefusal(e: unknown): boolean {
  return e instanceof RangeError &&
    /^(Cannot load (kernel|initrd)\b|kernel command line is \d+ bytes|initrd of \d+ bytes does not fit)/.test(
      e.message,
    );
}

/** Boot `kernel` with `initrd` and run it for `maxInstructions`; a loader refusal is a clean refusal. */
export function bootLinux(kernel: Uint8Array, rd: Uint8Array, maxInstructions: number): CaseOutcome {
  let m: Machine;
  try {
    m = Machine.fromLinux(kernel, rd, { memory: linuxRamFor(kernel), cmdline: LINUX_CMDLINE_TEXT }, "kernel");
  } catch (e) {
    if (isLinuxLoaderRefusal(e)) return refused(e);
    throw e;
  }
  return runGuest(m, maxInstructions);
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "linux-kernel",
  description: "Linux kernels (bzImage setup header, ELF vmlinux): load with an initrd, boot and run",
  async corpus() {
    initrd = (await initrdCorpus())[0];
    return kernelCorpus();
  },
  structure(b) {
    if (b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) {
      return elfSurface.structure(b);
    }
    const fields: Field[] = SETUP_FIELDS.filter(([o, s]) => o + s <= b.length).map((
      [offset, size, kind],
    ) => ({
      offset,
      size,
      kind,
    }));
    // the setup sectors and the protected-mode kernel, moved, dropped or repeated whole
    const pm = Math.min(b.length, ((b.length > 0x1f1 && b[0x1f1] !== 0 ? b[0x1f1] : 4) + 1) * 512);
    const records = [{ offset: 0, length: pm }];
    if (b.length > pm) records.push({ offset: pm, length: b.length - pm });
    return { fields, records };
  },
  run(input, ctx): Promise<CaseOutcome> {
    return Promise.resolve(bootLinux(input, initrd, ctx.maxInstructions));
  },
};

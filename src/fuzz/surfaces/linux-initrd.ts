/**
 * Initrds (initramfs images), as the Linux loader takes them: the format recognised (a newc cpio
 * archive, or gzip, bzip2, lzma, xz, lzo, lz4 or zstd), then placed below the top of RAM and the
 * kernel's initrd_addr_max above the kernel, its address and size written into the zero page, and
 * the kernel run (it prints the initrd's first bytes). Mutations know the cpio headers' fields
 * (magic, sizes, name lengths: ASCII hex) and entries, and gzip's header and trailer.
 *
 * @module
 */

import { initrdFormat } from "../../vm/linux_loader.ts";
import { initrdCorpus, kernelCorpus } from "../linux_corpus.ts";
import type { CaseOutcome, Field, FuzzSurface, Span } from "../surface.ts";
import { refused } from "../surface.ts";
import { bootLinux, isLinuxLoaderRefusal } from "./linux-kernel.ts";

let kernel: Uint8Array = new Uint8Array(0);

/** The entries of a newc cpio archive (110-byte ASCII headers), read leniently. */
function cpioEntries(b: Uint8Array): Span[] {
  const out: Span[] = [];
  const hex = (o: number) => parseInt(new TextDecoder().decode(b.subarray(o, o + 8)), 16);
  for (let at = 0; at + 110 <= b.length && out.length < 256;) {
    if (b[at] !== 0x30 || b[at + 1] !== 0x37) break; // "07"
    const namesize = hex(at + 94), filesize = hex(at + 54);
    if (!Number.isFinite(namesize) || !Number.isFinite(filesize)) break;
    const dataAt = at + Math.ceil((110 + namesize) / 4) * 4;
    const end = dataAt + Math.ceil(filesize / 4) * 4;
    if (end > b.length || end <= at) break;
    out.push({ offset: at, length: end - at });
    at = end;
  }
  return out;
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "linux-initrd",
  description: "initrds (cpio newc, gzip and other compressions): recognise, place below the RAM top, boot",
  async corpus() {
    kernel = kernelCorpus()[0];
    return await initrdCorpus();
  },
  structure(b) {
    const fields: Field[] = [];
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
      fields.push({ offset: 0, size: 2, kind: "magic" }, { offset: 2, size: 1, kind: "type" }, {
        offset: 3,
        size: 1,
        kind: "flags",
      });
      if (b.length >= 18) {
        fields.push({ offset: b.length - 8, size: 4, kind: "crc" }, {
          offset: b.length - 4,
          size: 4,
          kind: "size",
        });
      }
      return { fields, records: [] };
    }
    const records = cpioEntries(b);
    for (const r of records) {
      fields.push({ offset: r.offset, size: 4, kind: "magic" }, {
        offset: r.offset + 4,
        size: 2,
        kind: "magic",
      });
      // the ASCII hex digits of mode, filesize and namesize
      for (const f of [14, 54, 94]) {
        for (let k = 0; k < 8; k++) fields.push({ offset: r.offset + f + k, size: 1, kind: "text" });
      }
    }
    return { fields, records };
  },
  run(input, ctx): Promise<CaseOutcome> {
    try {
      initrdFormat(input, "initrd");
    } catch (e) {
      if (isLinuxLoaderRefusal(e)) return Promise.resolve(refused(e));
      throw e;
    }
    return Promise.resolve(bootLinux(kernel, input, ctx.maxInstructions));
  },
};

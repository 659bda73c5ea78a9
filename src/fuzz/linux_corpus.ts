/**
 * Real valid inputs of the Linux loader (the kernel's Documentation/x86/boot.rst, 64-bit boot
 * protocol): a bzImage with a 2.15 setup header and an ELF vmlinux with a "Linux" note, both around
 * a small 64-bit kernel that prints its command line and the first bytes of its initrd (found
 * through the zero page in RSI) and exits; initrds as a newc cpio archive, raw and gzip-compressed;
 * and the committed Linux 6.1 `guests/linux/bzImage` and its `guests/linux/initramfs.cpio.gz`.
 *
 * @module
 */

/** Guest RAM of the Linux cases for the small kernels; a kernel file over 1 MiB gets {@link LINUX_BIG_RAM_BYTES}. */
export const LINUX_RAM_BYTES = 8 << 20;
/**
 * Guest RAM for a full-size kernel: the committed bzImage runs at its pref_address, 16 MiB, and
 * needs init_size (11.6 MiB) there.
 */
export const LINUX_BIG_RAM_BYTES = 32 << 20;
/** The command line the cases boot with. */
export const LINUX_CMDLINE_TEXT = "console=ttyS0 quiet rdinit=/init";

/** RAM for kernel `file`. */
export function linuxRamFor(file: Uint8Array): number {
  return file.length > 1 << 20 ? LINUX_BIG_RAM_BYTES : LINUX_RAM_BYTES;
}

/**
 * The kernel's code (64-bit, entered with RSI = the zero page): print the command line
 * (cmd_line_ptr, 0x228) to port 0xE9, then up to 16 bytes of the initrd (ramdisk_image 0x218,
 * ramdisk_size 0x21C), then write 0 to port 0xF4.
 */
const KERNEL_CODE = new Uint8Array([
  0x8b,
  0x9e,
  0x28,
  0x02,
  0x00,
  0x00, // mov ebx, [rsi+0x228]
  0x66,
  0xba,
  0xe9,
  0x00, //             mov dx, 0xe9
  0x8a,
  0x03, //                         L1: mov al, [rbx]
  0x84,
  0xc0, //                         test al, al
  0x74,
  0x06, //                         jz D1
  0xee, //                               out dx, al
  0x48,
  0xff,
  0xc3, //                   inc rbx
  0xeb,
  0xf4, //                         jmp L1
  0x8b,
  0x9e,
  0x18,
  0x02,
  0x00,
  0x00, // D1: mov ebx, [rsi+0x218]
  0x8b,
  0x8e,
  0x1c,
  0x02,
  0x00,
  0x00, // mov ecx, [rsi+0x21c]
  0x83,
  0xf9,
  0x10, //                   cmp ecx, 16
  0x76,
  0x05, //                         jbe S
  0xb9,
  0x10,
  0x00,
  0x00,
  0x00, //       mov ecx, 16
  0x85,
  0xc9, //                         S: test ecx, ecx
  0x74,
  0x0a, //                         jz D2
  0x8a,
  0x03, //                         L2: mov al, [rbx]
  0xee, //                               out dx, al
  0x48,
  0xff,
  0xc3, //                   inc rbx
  0xff,
  0xc9, //                         dec ecx
  0x75,
  0xf6, //                         jnz L2
  0x66,
  0xba,
  0xf4,
  0x00, //             D2: mov dx, 0xf4
  0x31,
  0xc0, //                         xor eax, eax
  0xee, //                               out dx, al
  0xf4, //                               hlt
]);

/** A bzImage: 4 setup sectors with a 2.15 setup header, the protected-mode kernel with the code at +0x200. */
export function smallBzImage(): Uint8Array {
  const setupSects = 4;
  const pm = new Uint8Array(Math.ceil((0x200 + KERNEL_CODE.length) / 16) * 16);
  pm.set(KERNEL_CODE, 0x200);
  const b = new Uint8Array((setupSects + 1) * 512 + pm.length);
  const dv = new DataView(b.buffer);
  b[0x1f1] = setupSects; // setup_sects
  dv.setUint32(0x1f4, pm.length / 16, true); // syssize (16-byte units)
  dv.setUint16(0x1fe, 0xaa55, true); // boot_flag
  b[0x200] = 0xeb; // jump over the header, which ends at 0x202 + 0x6a
  b[0x201] = 0x6a;
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, 0x020f, true); // protocol 2.15
  b[0x211] = 0x01; // loadflags: LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true); // code32_start
  dv.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  dv.setUint32(0x230, 0x200000, true); // kernel_alignment
  b[0x234] = 1; // relocatable_kernel
  b[0x235] = 21; // min_alignment: 2 MiB
  dv.setUint16(0x236, 0x1, true); // xloadflags: XLF_KERNEL_64
  dv.setUint32(0x238, 2047, true); // cmdline_size
  dv.setBigUint64(0x258, 0x1000000n, true); // pref_address
  dv.setUint32(0x260, 1 << 20, true); // init_size
  b.set(pm, (setupSects + 1) * 512);
  return b;
}

/** An ELF vmlinux: the code at physical 2 MiB (entry), a PT_NOTE naming "Linux". */
export function smallVmlinux(): Uint8Array {
  const at = 0x200000, codeOff = 0x1000;
  const b = new Uint8Array(codeOff + KERNEL_CODE.length);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 0x3e, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, BigInt(at), true); // e_entry
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(52, 64, true); // e_ehsize
  dv.setUint16(54, 56, true); // e_phentsize
  dv.setUint16(56, 2, true); // e_phnum
  dv.setUint16(58, 64, true); // e_shentsize
  const note = 64 + 2 * 56;
  const ph = (
    k: number,
    type: number,
    flags: number,
    off: number,
    addr: number,
    size: number,
    align: number,
  ) => {
    const o = 64 + 56 * k;
    dv.setUint32(o, type, true);
    dv.setUint32(o + 4, flags, true);
    dv.setBigUint64(o + 8, BigInt(off), true);
    dv.setBigUint64(o + 16, BigInt(addr), true);
    dv.setBigUint64(o + 24, BigInt(addr), true);
    dv.setBigUint64(o + 32, BigInt(size), true);
    dv.setBigUint64(o + 40, BigInt(size), true);
    dv.setBigUint64(o + 48, BigInt(align), true);
  };
  ph(0, 1, 5, codeOff, at, KERNEL_CODE.length, 0x1000); // PT_LOAD, R+X
  ph(1, 4, 4, note, 0, 24, 4); // PT_NOTE
  dv.setUint32(note, 6, true); // namesz ("Linux\0")
  dv.setUint32(note + 4, 4, true); // descsz
  dv.setUint32(note + 8, 6, true); // type (LINUX_ELFNOTE_LINUX_VERSION... any)
  b.set(new TextEncoder().encode("Linux"), note + 12);
  dv.setUint32(note + 20, 0x060100, true);
  b.set(KERNEL_CODE, codeOff);
  return b;
}

/** A cpio "newc" archive (the kernel's Documentation/driver-api/early-userspace/buffer-format.rst). */
export function cpioNewc(files: [name: string, mode: number, data: Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const pad4 = (n: number) => (4 - (n % 4)) % 4;
  let ino = 1;
  for (const [name, mode, data] of [...files, ["TRAILER!!!", 0, new Uint8Array(0)] as const]) {
    const hex = (v: number) => v.toString(16).padStart(8, "0");
    const nameBytes = enc.encode(name + "\0");
    const head = "070701" + hex(name === "TRAILER!!!" ? 0 : ino++) + hex(mode) + hex(0) + hex(0) + hex(1) +
      hex(0) + hex(data.length) + hex(0) + hex(0) + hex(0) + hex(0) + hex(nameBytes.length) + hex(0);
    parts.push(enc.encode(head), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)), data);
    parts.push(new Uint8Array(pad4(data.length)));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** A committed file of `guests/linux/`, or null. */
function committed(name: string): Uint8Array | null {
  try {
    return Deno.readFileSync(new URL(`../../guests/linux/${name}`, import.meta.url));
  } catch {
    return null;
  }
}

/** Kernels: the small bzImage and vmlinux, and the committed bzImage. */
export function kernelCorpus(): Uint8Array[] {
  const out = [smallBzImage(), smallVmlinux()];
  const real = committed("bzImage");
  if (real !== null) out.push(real);
  return out;
}

/** Initrds: a cpio archive with an init script and a directory, raw and gzipped, and the committed initramfs. */
export async function initrdCorpus(): Promise<Uint8Array[]> {
  const enc = new TextEncoder();
  const cpio = cpioNewc([
    ["dev", 0o40755, new Uint8Array(0)],
    ["init", 0o100755, enc.encode("#!/bin/sh\necho hello from the initrd\n")],
  ]);
  const out = [cpio, await gzip(cpio)];
  const real = committed("initramfs.cpio.gz");
  if (real !== null) out.push(real);
  return out;
}

// The Linux loader against the boot protocol document (the kernel's Documentation/x86/boot.rst and
// zero-page.rst): offsets and values below are the documents', written out, not the loader's names.
import assert from "node:assert/strict";
import { Cpu, IF, RSI, SEG_CS, SEG_DS, SEG_ES, SEG_SS } from "../../src/cpu/mod.ts";
import {
  initrdFormat,
  isBzImage,
  isLinuxKernel,
  linuxE820Map,
  loadLinux,
  parseLinuxKernel,
} from "../../src/vm/linux_loader.ts";
import { Machine } from "../../src/vm/machine.ts";
import { APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_SVR } from "../../src/devices/lapic.ts";

const MiB = 2 ** 20;

/** A synthetic bzImage: `setupSects` setup sectors with a 2.15 header, then `pm` as the protected-mode kernel. */
function bzImage(pm: Uint8Array, patch: (dv: DataView, b: Uint8Array) => void = () => {}): Uint8Array {
  const setupSects = 4;
  const b = new Uint8Array((setupSects + 1) * 512 + pm.length);
  const dv = new DataView(b.buffer);
  b[0x1f1] = setupSects; // setup_sects
  dv.setUint32(0x1f4, Math.ceil(pm.length / 16), true); // syssize, 16-byte paragraphs
  dv.setUint16(0x1fe, 0xaa55, true); // boot_flag
  b[0x200] = 0xeb; // jump
  b[0x201] = 0x6a; // header ends at 0x202 + 0x6a = 0x26c
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, 0x020f, true); // protocol 2.15
  b[0x211] = 0x01; // loadflags: LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true); // code32_start
  dv.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  dv.setUint32(0x230, 0x200000, true); // kernel_alignment
  b[0x234] = 0; // not relocatable
  dv.setUint16(0x236, 0x1, true); // xloadflags: XLF_KERNEL_64
  dv.setUint32(0x238, 2047, true); // cmdline_size
  dv.setBigUint64(0x258, 0x1000000n, true); // pref_address: 16 MiB
  dv.setUint32(0x260, 4 * MiB, true); // init_size
  b.set(pm, (setupSects + 1) * 512);
  patch(dv, b);
  return b;
}

const PM = new Uint8Array(0x3000).map((_, i) => (i * 7 + 1) & 0xff);

Deno.test("a bzImage: protected-mode kernel at 0x100000, 64-bit entry at +0x200, zero page filled in", () => {
  const ram = new Uint8Array(64 * MiB);
  const cpu = new Cpu(ram);
  const file = bzImage(PM);
  assert.ok(isBzImage(file) && isLinuxKernel(file));
  const kernel = parseLinuxKernel(file, ram.length, "test.bzImage");
  const initrd = new Uint8Array(5000).fill(0x42);
  initrd.set([0x1f, 0x8b]);
  const layout = loadLinux(cpu, ram, kernel, { cmdline: "console=ttyS0 quiet", initrd });
  // "the 64-bit kernel entry point, which is the start address of loaded 64-bit kernel plus 0x200"
  assert.equal(cpu.rip, 0x100200);
  assert.deepEqual(ram.subarray(0x100000, 0x100000 + PM.length), PM);
  const zp = Number(cpu.getReg64(RSI)); // "%rsi must hold the base address of the struct boot_params"
  assert.equal(zp, layout.zeroPage);
  const dv = new DataView(ram.buffer);
  // The setup header is copied from 0x1F1 to its end (0x202 + byte at 0x201).
  assert.deepEqual(ram.subarray(zp + 0x202, zp + 0x206), file.subarray(0x202, 0x206));
  assert.equal(dv.getUint16(zp + 0x206, true), 0x020f);
  assert.equal(ram[zp + 0x210], 0xff, "type_of_loader: undefined loader");
  assert.equal(ram[zp + 0x211] & 1, 1, "LOADED_HIGH");
  // cmd_line_ptr points at the NUL-terminated command line.
  const cmdPtr = dv.getUint32(zp + 0x228, true);
  const cmd = "console=ttyS0 quiet";
  assert.equal(new TextDecoder().decode(ram.subarray(cmdPtr, cmdPtr + cmd.length)), cmd);
  assert.equal(ram[cmdPtr + cmd.length], 0);
  // ramdisk_image/ramdisk_size: the initrd, page-aligned, below initrd_addr_max and the end of RAM.
  const rdAddr = dv.getUint32(zp + 0x218, true), rdSize = dv.getUint32(zp + 0x21c, true);
  assert.equal(rdSize, initrd.length);
  assert.equal(rdAddr % 4096, 0);
  assert.ok(rdAddr + rdSize <= ram.length);
  assert.ok(rdAddr >= 0x1000000 + 4 * MiB, "above the kernel's pref_address + init_size");
  assert.deepEqual(ram.subarray(rdAddr, rdAddr + rdSize), initrd);
  // The e820 map: e820_entries at 0x1E8, 20-byte entries (addr, size, type) at 0x2D0.
  const n = ram[zp + 0x1e8];
  const e820 = [...Array(n)].map((_, k) => ({
    addr: Number(dv.getBigUint64(zp + 0x2d0 + 20 * k, true)),
    size: Number(dv.getBigUint64(zp + 0x2d0 + 20 * k + 8, true)),
    type: dv.getUint32(zp + 0x2d0 + 20 * k + 16, true),
  }));
  assert.deepEqual(e820, linuxE820Map(ram.length));
  const usable = e820.filter((e) => e.type === 1);
  assert.ok(usable.some((e) => e.addr === 0x100000 && e.addr + e.size === ram.length), "RAM from 1 MiB up");
  assert.ok(usable.every((e) => e.addr + e.size <= 0xa0000 || e.addr >= 0x100000), "no RAM in 640K..1M");
  assert.equal(ram[zp + 0x1ef], 0, "sentinel zero");
});

Deno.test("the 64-bit entry state: long mode, paging, __BOOT_CS 0x10 and __BOOT_DS 0x18 flat, interrupts off", () => {
  const ram = new Uint8Array(64 * MiB);
  const cpu = new Cpu(ram);
  loadLinux(cpu, ram, parseLinuxKernel(bzImage(PM), ram.length), { cmdline: "" });
  assert.ok(cpu.longMode());
  assert.equal((cpu.cr0 & 0x80000001) >>> 0, 0x80000001, "CR0.PE and CR0.PG");
  assert.ok((cpu.cr4 & 0x20) !== 0, "CR4.PAE");
  assert.equal(cpu.getRflags() & IF, 0);
  assert.equal(cpu.segSel[SEG_CS], 0x10);
  for (const s of [SEG_DS, SEG_ES, SEG_SS]) assert.equal(cpu.segSel[s], 0x18);
  // The GDT's descriptors at those selectors: base 0, limit 4 GiB (G=1, limit 0xFFFFF); code
  // execute/read (type 0xB accessed, L=1), data read/write (type 0x3) (SDM Vol. 3A 3.4.5).
  const dv = new DataView(ram.buffer);
  const desc = (sel: number) => dv.getBigUint64(cpu.gdtrBase + sel, true);
  const code = desc(0x10), data = desc(0x18);
  assert.equal(code & 0xffffn, 0xffffn);
  assert.equal((code >> 48n) & 0xfn, 0xfn);
  assert.equal((code >> 40n) & 0xffn, 0x9bn, "present, DPL 0, code execute/read");
  assert.equal((code >> 53n) & 1n, 1n, "L");
  assert.equal((data >> 40n) & 0xffn, 0x93n, "present, DPL 0, data read/write");
  assert.equal((data >> 55n) & 1n, 1n, "G");
  assert.ok(cpu.gdtrLimit >= 0x1f);
  // Identity map: the kernel, the zero page and the command line translate to themselves.
  const walk = (va: number): number => {
    const pml4e = dv.getBigUint64(cpu.cr3 + 8 * ((va / 2 ** 39) & 511), true);
    const pdpte = dv.getBigUint64(Number(pml4e & 0xffffffffff000n) + 8 * ((va / 2 ** 30) & 511), true);
    const pde = dv.getBigUint64(Number(pdpte & 0xffffffffff000n) + 8 * ((va >>> 21) & 511), true);
    assert.equal(pde & 0x81n, 0x81n, `a present 2 MiB page maps 0x${va.toString(16)}`);
    return Number(pde & 0xfffffffe00000n) + (va & 0x1fffff);
  };
  for (const a of [0x7000, 0x20000, 0x100200, 0x1000000, 0x1000000 + 4 * MiB - 1, 64 * MiB - 1]) {
    assert.equal(walk(a), a);
  }
});

Deno.test("a kernel the loader cannot take gets one line saying why", () => {
  const ram = 64 * MiB;
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(100), /too short/],
    [new Uint8Array(4096), /neither a bzImage .* nor an ELF vmlinux/],
    [bzImage(PM, (dv) => dv.setUint16(0x206, 0x020b, true)), /boot protocol 2\.11 has no 64-bit entry point/],
    [bzImage(PM, (dv) => dv.setUint16(0x236, 0, true)), /XLF_KERNEL_64/],
    [bzImage(PM).subarray(0, 5 * 512 + 0x1000), /truncated/],
    // cut just after the "HdrS" magic (a fuzzed kernel once read its version past the end)
    [bzImage(PM).subarray(0, 0x207), /0x207|519 bytes, shorter than its setup header/],
    [bzImage(PM, (dv) => dv.setUint32(0x260, 60 * MiB, true)), /64 MiB is too small/],
  ];
  for (const [file, re] of cases) {
    assert.throws(() => parseLinuxKernel(file, ram, "k"), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^Cannot load k: /);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("an initrd that is no initramfs, or does not fit, and a command line too long are refused", () => {
  assert.equal(initrdFormat(new Uint8Array([0x1f, 0x8b, 8, 0])), "gzip");
  assert.equal(initrdFormat(new TextEncoder().encode("070701000000")), "cpio");
  assert.throws(() => initrdFormat(new Uint8Array(0), "x"), /Cannot load x: it is empty/);
  assert.throws(() => initrdFormat(new Uint8Array([1, 2, 3, 4]), "x"), /Cannot load x: not an initramfs/);
  const ram = new Uint8Array(32 * MiB);
  const kernel = parseLinuxKernel(bzImage(PM), ram.length);
  const big = new Uint8Array(16 * MiB);
  big.set([0x1f, 0x8b]);
  assert.throws(() => loadLinux(new Cpu(ram), ram, kernel, { cmdline: "", initrd: big }), /does not fit/);
  assert.throws(
    () => loadLinux(new Cpu(ram), ram, kernel, { cmdline: "x".repeat(2048) }),
    /2048 bytes; this kernel takes at most 2047/,
  );
});

Deno.test("Machine.fromLinux wires the local APIC as firmware leaves it: enabled, LINT0 ExtINT, LINT1 NMI", () => {
  const m = Machine.fromLinux(bzImage(PM), undefined, { memory: 64 * MiB });
  // SDM Vol. 3A Figure 11-8: delivery mode bits 10:8, ExtINT 111b, NMI 100b; mask bit 16 clear.
  assert.equal(m.lapic.read(APIC_LVT_LINT0, 0) & 0x10700, 0x700);
  assert.equal(m.lapic.read(APIC_LVT_LINT1, 0) & 0x10700, 0x400);
  assert.equal(m.lapic.read(APIC_SVR, 0) & 0x100, 0x100);
  assert.equal(m.linuxLayout?.entry, 0x100200);
});

/** A minimal vmlinux-like ELF: one PT_LOAD linked at 0xffffffff81000000, loaded at 16 MiB, and a "Linux" note. */
function vmlinux(withNote = true): Uint8Array {
  const code = new Uint8Array(0x200).fill(0x90);
  const note = new Uint8Array(12 + 8 + 4);
  const nv = new DataView(note.buffer);
  nv.setUint32(0, 6, true); // namesz "Linux\0"
  nv.setUint32(4, 4, true); // descsz
  nv.setUint32(8, 6, true); // type
  note.set(new TextEncoder().encode("Linux\0"), 12);
  const phoff = 64, phnum = withNote ? 2 : 1, dataAt = 0x1000;
  const b = new Uint8Array(dataAt + code.length + note.length);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 62, true); // x86-64
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, 0x1000000n, true); // e_entry: physical startup_64
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phnum, true);
  const ph = (k: number, type: number, off: number, vaddr: bigint, paddr: bigint, size: number) => {
    const o = phoff + 56 * k;
    dv.setUint32(o, type, true);
    dv.setUint32(o + 4, 5, true);
    dv.setBigUint64(o + 8, BigInt(off), true);
    dv.setBigUint64(o + 16, vaddr, true);
    dv.setBigUint64(o + 24, paddr, true);
    dv.setBigUint64(o + 32, BigInt(size), true);
    dv.setBigUint64(o + 40, BigInt(size), true);
  };
  ph(0, 1, dataAt, 0xffffffff81000000n, 0x1000000n, code.length);
  if (withNote) ph(1, 4, dataAt + code.length, 0xffffffff81000200n, 0x1000200n, note.length);
  b.set(code, dataAt);
  b.set(note, dataAt + code.length);
  return b;
}

Deno.test("an ELF vmlinux loads by physical address and is entered at e_entry; a Linux note marks it", () => {
  const file = vmlinux();
  assert.ok(isLinuxKernel(file));
  assert.equal(isLinuxKernel(vmlinux(false)), false, "an ELF without a Linux note is an hvsim guest");
  const ram = new Uint8Array(64 * MiB);
  const cpu = new Cpu(ram);
  const layout = loadLinux(cpu, ram, parseLinuxKernel(file, ram.length), { cmdline: "x" });
  assert.equal(layout.kind, "vmlinux");
  assert.equal(cpu.rip, 0x1000000);
  assert.equal(ram[0x1000000], 0x90);
  const zp = Number(cpu.getReg64(RSI));
  const dv = new DataView(ram.buffer);
  // No setup header in an ELF: the loader writes the fields the kernel reads (boot_flag, "HdrS").
  assert.equal(dv.getUint16(zp + 0x1fe, true), 0xaa55);
  assert.equal(dv.getUint32(zp + 0x202, true), 0x53726448);
  assert.equal(ram[zp + 0x210], 0xff);
});

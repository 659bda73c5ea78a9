// The running kernel's image read from a bzImage: the legacy LZ4 decompressor against the lz4 tool
// (`lz4 -l`, the format the kernel build uses), and the ranges read from the committed bzImage's
// payload against GNU readelf's view of the same ELF and the boot protocol (boot.rst: a
// non-relocatable kernel runs at pref_address and needs init_size bytes there).
import assert from "node:assert/strict";
import { REPO_ROOT } from "../../guests/build.ts";
import { bzImagePayload, kernelImageRanges, lz4Block, unlz4Legacy } from "../../src/vm/linux_image.ts";

const KERNEL = Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`);

function missing(tool: string): string | null {
  try {
    new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return null;
  } catch {
    return `${tool} not found (Debian package ${tool === "lz4" ? "lz4" : "binutils"})`;
  }
}

/** 9 MiB (two legacy blocks) of text with repeats and a pseudo-random stretch. */
function sample(): Uint8Array {
  const out = new Uint8Array(9 * 2 ** 20 + 1234);
  let x = 12345;
  for (let i = 0; i < out.length; i++) {
    if ((i >> 16) % 3 === 0) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[i] = x >>> 24;
    } else out[i] = "the quick brown fox jumps over the lazy dog "[i % 44].charCodeAt(0) + (i >> 20);
  }
  return out;
}

const LZ4 = missing("lz4");
Deno.test({
  name: `unlz4Legacy decompresses what lz4 -l compressed, with and without the kernel's size trailer${
    LZ4 ? ` (ignored: ${LZ4})` : ""
  }`,
  ignore: LZ4 !== null,
  fn: async () => {
    const data = sample();
    const dir = await Deno.makeTempDir({ prefix: "hvsim-lz4-" });
    try {
      await Deno.writeFile(`${dir}/in`, data);
      const r = await new Deno.Command("lz4", {
        args: ["-l", "-9", "-f", "-q", `${dir}/in`, `${dir}/in.lz4`],
      })
        .output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const packed = await Deno.readFile(`${dir}/in.lz4`);
      assert.deepEqual(unlz4Legacy(packed, data.length), data);
      // The kernel's build appends the decompressed size, 32-bit little-endian (size_append).
      const trailed = new Uint8Array(packed.length + 4);
      trailed.set(packed);
      new DataView(trailed.buffer).setUint32(packed.length, data.length, true);
      assert.deepEqual(unlz4Legacy(trailed, data.length), data);
      assert.throws(() => unlz4Legacy(packed.subarray(0, packed.length >> 1), data.length), RangeError);
      assert.throws(() => unlz4Legacy(packed, data.length + 1), RangeError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("lz4Block refuses a match before the start of its output and a literal run past its input", () => {
  const out = new Uint8Array(64);
  // token 0x10: one literal, then a match of 4 at offset 2 (only 1 byte written so far)
  assert.throws(() => lz4Block(new Uint8Array([0x10, 0x41, 0x02, 0x00, 0x00]), out, 0), RangeError);
  // token 0x50: five literals, two given
  assert.throws(() => lz4Block(new Uint8Array([0x50, 0x41, 0x42]), out, 0), RangeError);
  // token 0x10, literal 'A', match of 4 at offset 1, then the last sequence: one literal 'B'
  const n = lz4Block(new Uint8Array([0x10, 0x41, 0x01, 0x00, 0x10, 0x42]), out, 0);
  assert.equal(new TextDecoder().decode(out.subarray(0, n)), "AAAAAB");
});

const READELF = missing("readelf");
Deno.test({
  name: `the committed bzImage's kernel image: readelf's sections and segments, at pref_address${
    READELF ? ` (ignored: ${READELF})` : ""
  }`,
  ignore: READELF !== null,
  fn: async () => {
    const elf = bzImagePayload(KERNEL);
    assert.ok(elf !== null, "the payload decompresses");
    const dir = await Deno.makeTempDir({ prefix: "hvsim-vmlinux-" });
    let sections: string, segments: string;
    try {
      await Deno.writeFile(`${dir}/vmlinux.bin`, elf);
      const run = async (flag: string) => {
        const o = await new Deno.Command("readelf", { args: ["-W", flag, `${dir}/vmlinux.bin`] }).output();
        assert.ok(o.success, new TextDecoder().decode(o.stderr));
        return new TextDecoder().decode(o.stdout);
      };
      sections = await run("-S");
      segments = await run("-l");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    // readelf -l: "LOAD offset vaddr paddr filesz memsz flags align"
    const loads = [
      ...segments.matchAll(/^\s*LOAD\s+\S+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+\S+\s+0x([0-9a-f]+)/gm),
    ]
      .map((m) => ({ vaddr: BigInt(`0x${m[1]}`), paddr: parseInt(m[2], 16), memsz: parseInt(m[3], 16) }));
    const phys = (vaddr: bigint) => {
      const l = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + BigInt(l.memsz))!;
      return { at: l.paddr + Number(vaddr - l.vaddr), segmentEnd: l.paddr + l.memsz };
    };
    // readelf -S: "[Nr] Name Type Address Off Size ..."
    const sec = (name: string) => {
      const m = new RegExp(`\\]\\s+${name.replace(".", "\\.")}\\s+\\S+\\s+([0-9a-f]+)\\s+\\S+\\s+([0-9a-f]+)`)
        .exec(sections)!;
      assert.ok(m, `section ${name}`);
      return { ...phys(BigInt(`0x${m[1]}`)), size: parseInt(m[2], 16) };
    };
    const text = sec(".text"), rodata = sec(".rodata"), data = sec(".data"), init = sec(".init.text");
    const bss = sec(".bss"), brk = sec(".brk");
    const ranges = kernelImageRanges(KERNEL)!;
    assert.deepEqual(ranges.map((r) => [r.name, r.start, r.end, r.freed]), [
      ["kernel code", text.at, text.at + text.size, false],
      ["kernel rodata", rodata.at, rodata.segmentEnd, false],
      ["kernel data", data.at, data.segmentEnd, false],
      ["kernel init (freed at boot)", init.at, bss.at, true],
      ["kernel bss", bss.at, brk.at, false],
      ["kernel brk (its unused part freed at boot)", brk.at, brk.segmentEnd, true],
    ]);
    // boot.rst: pref_address (0x258) is where a non-relocatable kernel runs; it needs init_size
    // (0x260) bytes from there.
    const dv = new DataView(KERNEL.buffer, KERNEL.byteOffset);
    assert.equal(KERNEL[0x234], 0, "the committed kernel is not relocatable");
    const pref = Number(dv.getBigUint64(0x258, true));
    assert.equal(ranges[0].start, pref);
    assert.ok(ranges[ranges.length - 1].end <= pref + dv.getUint32(0x260, true));
  },
});

Deno.test("kernelImageRanges of a file with no readable image is null, not an exception", () => {
  assert.equal(kernelImageRanges(new Uint8Array(100)), null);
  // boot.rst: payload_offset (0x248) from the protected-mode code, payload_length (0x24c).
  const dv = new DataView(KERNEL.buffer, KERNEL.byteOffset);
  const payload = (KERNEL[0x1f1] + 1) * 512 + dv.getUint32(0x248, true);
  const half = payload + (dv.getUint32(0x24c, true) >> 1);
  assert.equal(kernelImageRanges(KERNEL.slice(0, half)), null, "cut in the middle of the payload");
  for (const at of [payload + 64, half]) {
    const bent = KERNEL.slice();
    bent[at] ^= 0xff;
    const r = kernelImageRanges(bent);
    assert.ok(r === null || Array.isArray(r));
  }
});

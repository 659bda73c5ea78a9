import assert from "node:assert/strict";
import {
  checkElfs,
  checkNative,
  checkQemu,
  haveGcc,
  haveQemu,
  type Manifest,
  parseSize,
  readManifest,
  REPO_ROOT,
} from "../../guests/build.ts";
import { applyQemuDeviations, parseQemuRecord, qemuOracleRuns } from "../../guests/qemu_oracle.ts";

const gcc = await haveGcc();
const manifest: Manifest = await readManifest();

/** Whether a program can be run (objdump for the SSE check). */
async function have(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

Deno.test("readManifest() names an existing ELF and expected file for every run", async () => {
  assert.ok(manifest.runs.length > 0);
  for (const run of manifest.runs) {
    const elf = await Deno.stat(`${REPO_ROOT}/${run.elf}`);
    assert.ok(elf.isFile && elf.size > 0, `${run.elf} missing`);
    const expected = await Deno.readTextFile(`${REPO_ROOT}/${run.expected}`);
    assert.ok(expected.length > 0, `${run.expected} is empty`);
    assert.ok(Number.isInteger(run.exitCode) && run.exitCode >= 0 && run.exitCode < 256, run.name);
    assert.ok(["debug-exit", "triple-fault"].includes(run.exitReason), `${run.name}: ${run.exitReason}`);
  }
  const used = new Set(manifest.runs.map((r) => r.build));
  for (const key of Object.keys(manifest.builds)) assert.ok(used.has(key), `build ${key} has no run`);
});

Deno.test("parseSize() accepts plain, K, M and G sizes and rejects the rest", () => {
  const good: [string, number][] = [["4096", 4096], ["1K", 1024], ["64M", 64 << 20], ["1g", 1 << 30]];
  for (const [text, bytes] of good) assert.equal(parseSize(text), bytes, text);
  for (const bad of ["", "12Q", "-1M", "1.5M", "M"]) assert.throws(() => parseSize(bad), RangeError, bad);
});

Deno.test("guest ELFs are ELF64 x86-64 executables loaded at or above 1 MiB (boot protocol v1)", async () => {
  for (const build of Object.values(manifest.builds)) {
    const bytes = await Deno.readFile(`${REPO_ROOT}/${build.elf}`);
    const v = new DataView(bytes.buffer);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${build.elf}: ELF magic`);
    assert.equal(bytes[4], 2, `${build.elf}: ELFCLASS64`);
    assert.equal(bytes[5], 1, `${build.elf}: little-endian`);
    assert.equal(v.getUint16(16, true), 2, `${build.elf}: ET_EXEC`);
    assert.equal(v.getUint16(18, true), 62, `${build.elf}: EM_X86_64`);
    const phoff = Number(v.getBigUint64(32, true));
    const phentsize = v.getUint16(54, true);
    const phnum = v.getUint16(56, true);
    let loads = 0;
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (v.getUint32(ph, true) !== 1) continue; // PT_LOAD
      loads++;
      const vaddr = v.getBigUint64(ph + 16, true);
      assert.ok(vaddr >= 0x100000n, `${build.elf}: PT_LOAD at 0x${vaddr.toString(16)} is below 1 MiB`);
    }
    assert.ok(loads > 0, `${build.elf}: no PT_LOAD segment`);
  }
});

Deno.test({
  name:
    "guest ELFs contain no SSE/AVX register (built with -mgeneral-regs-only), but the SSE builds' XMM code",
  ignore: !(await have("objdump")),
  fn: async () => {
    const builds = Object.values(manifest.builds);
    const disassemble = async (sse: boolean) => {
      const elfs = [
        ...new Set(builds.filter((b) => (b.sse === true) === sse).map((b) => `${REPO_ROOT}/${b.elf}`)),
      ];
      const out = await new Deno.Command("objdump", { args: ["-d", "--no-show-raw-insn", ...elfs] }).output();
      assert.ok(out.success);
      return new TextDecoder().decode(out.stdout).split("\n");
    };
    const plain = await disassemble(false);
    assert.deepEqual(plain.filter((l) => /%[xyz]mm\d|%mm\d/.test(l)), []);
    // The default-flags builds use SSE/SSE2 on XMM registers and x87 (`long double`), and nothing hvsim
    // lacks: no AVX (YMM/ZMM), no MMX registers.
    const sse = await disassemble(true);
    assert.ok(sse.some((l) => /%xmm\d/.test(l)));
    assert.ok(sse.some((l) => /%st\b|%st\(/.test(l)), "the ldouble guest's x87 code");
    assert.deepEqual(sse.filter((l) => /%[yz]mm\d|%mm\d/.test(l)), []);
  },
});

Deno.test({
  name: "checkElfs() finds every committed guest ELF equal to a fresh gcc build",
  ignore: !gcc,
  fn: async () => {
    assert.deepEqual(await checkElfs(manifest), []);
  },
});

Deno.test({
  name: "checkNative() finds every native build's output equal to the committed expected output",
  ignore: !gcc,
  fn: async () => {
    assert.deepEqual(await checkNative(manifest), []);
  },
});

// QEMU's TCG timers follow the host clock, so the kernel guest's timer phases can time out on a
// loaded machine: this oracle check is opt-in (HVSIM_QEMU_CHECK=1, or `deno task guests --qemu-check`),
// and not part of the suite otherwise. Asked for without gcc or QEMU, it is reported ignored.
if (Deno.env.get("HVSIM_QEMU_CHECK") === "1") {
  Deno.test({
    name: "checkQemu() finds every guest booted in QEMU printing its expected output and exit code",
    ignore: !gcc || !(await haveQemu()),
    fn: async () => {
      assert.deepEqual(await checkQemu(manifest), []);
    },
  });
}

Deno.test("reasoned expected outputs list the QEMU deviations they rely on, each present in the file", async () => {
  for (const run of manifest.runs) {
    const text = await Deno.readTextFile(`${REPO_ROOT}/${run.expected}`);
    for (const d of run.qemuDeviations ?? []) {
      assert.ok(text.includes(d.expected), `${run.name}: "${d.expected}" not in ${run.expected}`);
      assert.notEqual(d.expected, d.qemu);
      assert.ok(d.why.length > 0);
    }
  }
});

Deno.test("a QEMU-oracle run's expected file is its recorded QEMU output with only the listed deviations", async () => {
  const runs = qemuOracleRuns(manifest);
  assert.ok(runs.length > 0);
  for (const run of runs) {
    const record = parseQemuRecord(await Deno.readTextFile(`${REPO_ROOT}/${run.qemuOutput}`));
    assert.match(
      record.header[0],
      /^deno task qemu-oracle: guests\/qemu\/run\.sh /,
      "the command that made it",
    );
    assert.match(record.header[1], /^qemu-system-x86_64 /);
    assert.match(record.header[2], /^QEMU emulator version /);
    const { text, unused } = applyQemuDeviations(record.console, run.qemuDeviations ?? []);
    assert.deepEqual(unused, [], `${run.name}: deviations whose QEMU line is not in ${run.qemuOutput}`);
    const expected = await Deno.readTextFile(`${REPO_ROOT}/${run.expected}`);
    assert.deepEqual(expected.split("\n"), text.split("\n"), `${run.name}: ${run.expected}`);
    const exit = run.exitReason === "debug-exit" ? `exit: ${run.exitCode}` : `exit: ${run.exitReason}`;
    assert.equal(record.exit, exit, `${run.name}: QEMU's exit`);
  }
});

Deno.test("applyQemuDeviations() replaces whole lines only and reports a deviation no line uses", () => {
  const d = [
    { qemu: "a: 0x812", expected: "a: 0x40a", why: "scaled by 16" },
    { qemu: "c", expected: "C", why: "never printed" },
  ];
  const r = applyQemuDeviations("a: 0x812\nb: a: 0x812\n", d);
  assert.equal(r.text, "a: 0x40a\nb: a: 0x812\n");
  assert.deepEqual(r.unused, [d[1]]);
});

/** A copy of guests/ in a temp dir, with a manifest reduced to the hello build and its run. */
async function helloCopy(): Promise<{ root: string; small: Manifest }> {
  const root = await Deno.makeTempDir({ prefix: "hvsim-guests-test-" });
  await new Deno.Command("cp", { args: ["-r", `${REPO_ROOT}/guests`, `${root}/guests`] }).output();
  const small: Manifest = {
    version: 1,
    builds: { hello: manifest.builds.hello },
    runs: manifest.runs.filter((r) => r.name === "hello"),
  };
  return { root, small };
}

Deno.test({
  name: "checkElfs() reports a committed ELF that differs from its sources",
  ignore: !gcc,
  fn: async () => {
    const { root, small } = await helloCopy();
    try {
      const path = `${root}/${small.builds.hello.elf}`;
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 1] ^= 1;
      await Deno.writeFile(path, bytes);
      const problems = await checkElfs(small, root);
      assert.equal(problems.length, 1);
      assert.match(problems[0], /guests\/build\/hello\.elf differs/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "checkNative() reports an expected file that the native build does not print",
  ignore: !gcc,
  fn: async () => {
    const { root, small } = await helloCopy();
    try {
      const expected = `${root}/${small.runs[0].expected}`;
      await Deno.writeTextFile(expected, (await Deno.readTextFile(expected)).replace("Hello", "Jello"));
      assert.deepEqual(await checkNative(small, root), [
        `hello: native output differs from ${small.runs[0].expected}`,
      ]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

if (!gcc) console.warn("tests/guests: gcc not found; skipping the rebuild and native-oracle checks");
if (!(await haveQemu())) console.warn("tests/guests: qemu-system-x86_64 not found; skipping the QEMU check");

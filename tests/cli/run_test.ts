/** `deno task run`: JSON output as docs/cli-json.md defines it, and one clear line for each kind of bad input. */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/run.ts`, ...args],
    cwd: root,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** An ELF64 x86-64 ET_EXEC with one PT_LOAD segment at `vaddr` (header patched from hello.elf). */
async function elfWithSegmentAt(vaddr: bigint, memsz?: bigint): Promise<string> {
  const elf = await Deno.readFile(`${root}guests/build/hello.elf`);
  const dv = new DataView(elf.buffer);
  const phoff = Number(dv.getBigUint64(32, true));
  const phnum = dv.getUint16(56, true);
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * 56;
    if (dv.getUint32(o, true) !== 1) continue;
    dv.setBigUint64(o + 16, vaddr, true); // p_vaddr
    dv.setBigUint64(o + 24, vaddr, true); // p_paddr
    if (memsz !== undefined) dv.setBigUint64(o + 40, memsz, true);
    break;
  }
  const path = await Deno.makeTempFile({ suffix: ".elf" });
  await Deno.writeFile(path, elf);
  return path;
}

Deno.test("run --json prints exit, instructions, console, digest, regs, exits and dirtyPages", async () => {
  const r = await run([`${root}guests/build/hello.elf`, "--json", "--memory", "8M"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.exit, { reason: "debug-exit", code: 0 });
  assert.ok(j.instructions > 1000);
  assert.match(j.console, /^Hello from an hvsim guest!\n/);
  assert.match(j.digest, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(j.regs).slice(0, 4), ["rax", "rcx", "rdx", "rbx"]);
  assert.match(j.regs.rip, /^0x[0-9a-f]+$/);
  assert.ok(j.exits.io > 0);
  assert.ok(j.dirtyPages > 0);
  const plain = JSON.parse(
    (await run([`${root}guests/build/hello.elf`, "--json", "--memory", "8M", "--no-dirty-tracking"])).stdout,
  );
  assert.equal(plain.dirtyPages, null);
  assert.equal(plain.digest, j.digest, "dirty tracking does not change what the guest computes");
});

Deno.test("run --max-instructions stops there with reason instruction-limit", async () => {
  const r = await run([`${root}guests/build/hello.elf`, "--json", "--max-instructions", "1k"]);
  const j = JSON.parse(r.stdout);
  assert.equal(j.exit.reason, "instruction-limit");
  assert.equal(j.instructions, 1000);
});

Deno.test("run refuses bad input with one line on stderr and exit status 2", async () => {
  const notElf = await Deno.makeTempFile();
  await Deno.writeTextFile(
    notElf,
    "this is not an ELF file at all, but it is long enough to have a header.......",
  );
  const elf32 = await Deno.makeTempFile();
  const e = await Deno.readFile(`${root}guests/build/hello.elf`);
  e[4] = 1; // ELFCLASS32
  await Deno.writeFile(elf32, e);
  const arm = await Deno.makeTempFile();
  const a = await Deno.readFile(`${root}guests/build/hello.elf`);
  new DataView(a.buffer).setUint16(18, 183, true); // EM_AARCH64
  await Deno.writeFile(arm, a);
  const cases: [string[], RegExp][] = [
    [["/no/such/guest.elf"], /guest \/no\/such\/guest\.elf does not exist/],
    [[notElf], /not an ELF file/],
    [[elf32], /not ELF64/],
    [[arm], /not x86-64 \(e_machine 183, expected 62\)/],
    [[await elfWithSegmentAt(0x8000n)], /lies below 1 MiB/],
    [[await elfWithSegmentAt(0x7f00000n)], /lies outside 64 MiB of RAM/],
    [[`${root}guests/build/hello.elf`, "--memory", "12345"], /multiple of 2 MiB/],
    [[`${root}guests/build/hello.elf`, "--memory", "lots"], /Bad --memory "lots"/],
    [[`${root}guests/build/hello.elf`, "--max-instructions=-5"], /bad --max-instructions "-5"/],
    [
      [`${root}guests/build/hello.elf`, "--max-instructions", "-5"],
      /--max-instructions. argument is ambiguous/,
    ],
    [[], /expected one guest ELF file/],
    [[`${root}guests/build/hello.elf`, "--bogus"], /Unknown option '--bogus'/],
    [[`${root}guests/build/hello.elf`, "--rtc-start", "yesterday"], /bad --rtc-start "yesterday"/],
    [[`${root}guests/build/hello.elf`, "--rtc-start", "2026-01-01T00:00:00"], /bad --rtc-start/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
  }
});

/** `deno task run` with a Linux kernel: one clear line and exit status 2 for each kind of bad input. */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;
const KERNEL = `${root}guests/linux/bzImage`;
const INITRD = `${root}guests/linux/initramfs.cpio.gz`;

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/run.ts`, ...args],
    cwd: root,
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function oneLine(r: { code: number; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

Deno.test("a truncated bzImage, an initrd that is no initramfs, and too little RAM get one line each", async () => {
  const bz = await Deno.readFile(KERNEL);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/short`, bz.subarray(0, 0x5000));
    oneLine(
      await run([`${dir}/short`, "--initrd", INITRD]),
      /^run: Cannot load .*short: syssize says .* \(truncated\?\)$/,
    );
    await Deno.writeFile(`${dir}/text`, new TextEncoder().encode("not an archive\n"));
    oneLine(await run([KERNEL, "--initrd", `${dir}/text`]), /^run: Cannot load .*text: not an initramfs/);
    oneLine(await run([KERNEL, "--initrd", `${dir}/none`]), /^run: initrd .*none does not exist$/);
    oneLine(
      await run([KERNEL, "--memory", "16M"]),
      /^run: Cannot load .*bzImage: the kernel needs RAM up to 0x/,
    );
    oneLine(
      await run([`${root}guests/build/hello.elf`, "--initrd", INITRD]),
      /^run: --initrd is for a Linux kernel; .*hello\.elf is not a bzImage or vmlinux$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

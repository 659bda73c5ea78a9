/**
 * Assembles many single-instruction AT&T lines with GNU `as` in one batch (one `as`, `objcopy` and `nm`
 * run), cached in `.cache/conformance/` by the hash of the source, and disassembles bytes with objdump.
 * @module
 */

import { bytesToHex, CODE_ADDR, hexToBytes } from "./case.ts";
import { cacheDir, sha256Hex } from "./_paths.ts";

async function run(cmd: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(
      `Cannot run ${cmd} (GNU binutils is needed: apt-get install binutils): ${(e as Error).message}`,
    );
  }
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Assembles each line as one instruction (64-bit mode) and returns its bytes as hex, in order.
 * Throws an `Error` naming the offending lines when `as` rejects any, or when a line does not
 * assemble to exactly one instruction of 1..15 bytes.
 */
export async function assembleLines(lines: readonly string[]): Promise<string[]> {
  let src = "\t.text\n";
  for (let i = 0; i < lines.length; i++) src += `c${i}:\n\t${lines[i]}\n`;
  src += `c${lines.length}:\n`;
  const dir = await cacheDir();
  const hash = (await sha256Hex(src)).slice(0, 24);
  const cached = `${dir}/asm-${hash}.json`;
  try {
    return JSON.parse(await Deno.readTextFile(cached)) as string[];
  } catch {
    // not cached yet
  }
  const tmp = await Deno.makeTempDir({ dir, prefix: "asm-" });
  try {
    await Deno.writeTextFile(`${tmp}/a.s`, src);
    const as = await new Deno.Command("as", {
      args: ["--64", "-o", `${tmp}/a.o`, `${tmp}/a.s`],
      stderr: "piped",
    })
      .output();
    if (!as.success) {
      const msgs = new TextDecoder().decode(as.stderr).split("\n").filter((l) => l.includes("Error"));
      const bad = msgs.slice(0, 10).map((m) => {
        const line = Number(/a\.s:(\d+):/.exec(m)?.[1] ?? 0);
        return `  ${src.split("\n")[line - 1]?.trim()}: ${m.replace(/^.*Error: /, "")}`;
      });
      throw new Error(`GNU as rejected ${msgs.length} line(s):\n${bad.join("\n")}`);
    }
    await run("objcopy", ["-O", "binary", "-j", ".text", `${tmp}/a.o`, `${tmp}/a.bin`]);
    const bin = await Deno.readFile(`${tmp}/a.bin`);
    const offsets = new Array<number>(lines.length + 1);
    for (const l of (await run("nm", [`${tmp}/a.o`])).split("\n")) {
      const m = /^([0-9a-f]+) t c(\d+)$/.exec(l.trim());
      if (m) offsets[Number(m[2])] = parseInt(m[1], 16);
    }
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const len = offsets[i + 1] - offsets[i];
      if (!(len >= 1 && len <= 15)) {
        throw new Error(`"${lines[i]}" assembled to ${len} bytes; expected one instruction of 1..15 bytes`);
      }
      out.push(bytesToHex(bin.subarray(offsets[i], offsets[i + 1])));
    }
    await Deno.writeTextFile(cached, JSON.stringify(out));
    return out;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Disassembles instruction bytes (placed at `CODE_ADDR`) with objdump; returns `mnemonic operands` lines. */
export async function disassemble(bytes: string, vma = CODE_ADDR): Promise<string> {
  const dir = await cacheDir();
  const tmp = await Deno.makeTempFile({ dir, prefix: "dis-" });
  try {
    await Deno.writeFile(tmp, hexToBytes(bytes));
    const text = await run("objdump", [
      "-D",
      "-b",
      "binary",
      "-m",
      "i386:x86-64",
      `--adjust-vma=0x${vma.toString(16)}`,
      tmp,
    ]);
    return text.split("\n").filter((l) => /^\s+[0-9a-f]+:\t/.test(l)).map((l) =>
      l.split("\t").slice(2).join(" ").trim()
    )
      .join("; ");
  } finally {
    await Deno.remove(tmp);
  }
}

/**
 * Test helper: assembles GNU as source (Intel syntax) into a flat binary, cached under .cache/
 * by the source's hash. A test that needs it passes {@link NEEDS_AS} to Deno.test, so without
 * binutils it is reported ignored (with the reason printed once), never passed.
 */

import { createHash } from "node:crypto";
import { Machine } from "../../src/vm/mod.ts";

/** Whether `cmd --version` runs. */
function runs(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** GNU as and objcopy (binutils) are installed; decided once, when the test module loads. */
export const HAVE_AS: boolean = runs("as") && runs("objcopy");
if (!HAVE_AS) {
  console.warn("GNU as/objcopy not found (apt-get install -y binutils): tests that assemble are ignored");
}

/** Deno.test options for a test that assembles: ignored when binutils is missing. */
export const NEEDS_AS: { ignore: boolean } = { ignore: !HAVE_AS };

/** Assembles `tests/vm/asm/<name>.s`, with the macros of `tests/vm/asm/_macros.s` in front. */
export function assemble(name: string): Uint8Array {
  const macros = Deno.readTextFileSync(new URL("./asm/_macros.s", import.meta.url));
  const src = Deno.readTextFileSync(new URL(`./asm/${name}.s`, import.meta.url));
  return assembleText(`${macros}\n${src}`);
}

/** A machine booted on `asm` as a flat binary. */
export function bootAsm(asm: string): Machine {
  return Machine.fromFlat(assembleText(asm));
}

/** Assembles Intel-syntax source text; the bytes of its .text section. Throws without binutils. */
export function assembleText(text: string): Uint8Array {
  const src = `.intel_syntax noprefix\n.code64\n${text}\n`;
  const key = createHash("sha256").update(src).digest("hex").slice(0, 20);
  const cacheDir = new URL("../../.cache/asm/", import.meta.url);
  const out = new URL(`${key}.bin`, cacheDir);
  try {
    return Deno.readFileSync(out);
  } catch { /* build it */ }
  Deno.mkdirSync(cacheDir, { recursive: true });
  const s = new URL(`${key}.s`, cacheDir).pathname, obj = new URL(`${key}.o`, cacheDir).pathname;
  Deno.writeTextFileSync(s, src);
  const as = new Deno.Command("as", { args: ["-o", obj, s] }).outputSync();
  if (!as.success) throw new Error(`as failed:\n${new TextDecoder().decode(as.stderr)}\n${src}`);
  const oc = new Deno.Command("objcopy", { args: ["-O", "binary", "-j", ".text", obj, out.pathname] })
    .outputSync();
  if (!oc.success) throw new Error(`objcopy failed: ${new TextDecoder().decode(oc.stderr)}`);
  return Deno.readFileSync(out);
}

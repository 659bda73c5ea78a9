/**
 * Test helper: assembles GNU as source (Intel syntax) into a flat binary, cached under .cache/
 * by the source's hash. Returns null when binutils is missing (the caller skips).
 */

import { createHash } from "node:crypto";
import { Machine } from "../../src/vm/mod.ts";

/** Assembles `tests/vm/asm/<name>.s`. */
export function assemble(name: string): Uint8Array | null {
  const src = Deno.readTextFileSync(new URL(`./asm/${name}.s`, import.meta.url));
  return assembleText(src);
}

/** A machine booted on `asm` as a flat binary; null (with a warning) when GNU as is missing. */
export function bootAsm(asm: string): Machine | null {
  const code = assembleText(asm);
  if (code === null) {
    console.warn("skipped: GNU as not found");
    return null;
  }
  return Machine.fromFlat(code);
}

/** Assembles Intel-syntax source text; the bytes of its .text section. */
export function assembleText(text: string): Uint8Array | null {
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
  try {
    const as = new Deno.Command("as", { args: ["-o", obj, s] }).outputSync();
    if (!as.success) throw new Error(`as failed:\n${new TextDecoder().decode(as.stderr)}\n${src}`);
    const oc = new Deno.Command("objcopy", { args: ["-O", "binary", "-j", ".text", obj, out.pathname] })
      .outputSync();
    if (!oc.success) throw new Error(`objcopy failed: ${new TextDecoder().decode(oc.stderr)}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return Deno.readFileSync(out);
}

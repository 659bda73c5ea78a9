/**
 * Test helper: assembles a GNU as source (Intel syntax) into a flat binary, with a cache keyed
 * by the source's hash so tests do not depend on `as` once built. Returns null without binutils.
 */

import { createHash } from "node:crypto";

/** Assembles `tests/vm/asm/<name>.s`; the bytes of its .text section. */
export function assemble(name: string): Uint8Array | null {
  const dir = new URL("./asm/", import.meta.url);
  const src = Deno.readTextFileSync(new URL(`${name}.s`, dir));
  const key = createHash("sha256").update(src).digest("hex").slice(0, 16);
  const cacheDir = new URL("../../.cache/asm/", import.meta.url);
  const out = new URL(`${name}-${key}.bin`, cacheDir);
  try {
    return Deno.readFileSync(out);
  } catch { /* build it */ }
  Deno.mkdirSync(cacheDir, { recursive: true });
  const obj = new URL(`${name}-${key}.o`, cacheDir).pathname;
  try {
    const as = new Deno.Command("as", { args: ["-o", obj, new URL(`${name}.s`, dir).pathname] }).outputSync();
    if (!as.success) throw new Error(`as failed on ${name}.s:\n${new TextDecoder().decode(as.stderr)}`);
    const oc = new Deno.Command("objcopy", { args: ["-O", "binary", "-j", ".text", obj, out.pathname] })
      .outputSync();
    if (!oc.success) throw new Error(`objcopy failed: ${new TextDecoder().decode(oc.stderr)}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return Deno.readFileSync(out);
}

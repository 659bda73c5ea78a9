/**
 * The surfaces: every file in `src/fuzz/surfaces/` that exports `surface`. Adding a surface (a gdb
 * packet parser, a kernel loader) is adding one file there.
 *
 * @module
 */

import type { FuzzSurface } from "./surface.ts";

const DIR = new URL("./surfaces/", import.meta.url);

/** The names of all surfaces, sorted. */
export function surfaceNames(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (e.isFile && /^[a-z0-9-]+\.ts$/.test(e.name)) names.push(e.name.slice(0, -3));
  }
  return names.sort();
}

/** Load surface `name`; throws a RangeError naming the known ones if there is none. */
export async function loadSurface(name: string): Promise<FuzzSurface> {
  const known = surfaceNames();
  if (!known.includes(name)) {
    throw new RangeError(`unknown fuzzing surface "${name}": expected one of ${known.join(", ")}, or all`);
  }
  const mod = await import(new URL(`${name}.ts`, DIR).href);
  const s = mod.surface as FuzzSurface;
  if (s?.name !== name) throw new Error(`src/fuzz/surfaces/${name}.ts does not export its surface`);
  return s;
}

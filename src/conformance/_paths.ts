/**
 * Paths the conformance tools share: the repository root and the build cache.
 * @module
 */

/** The repository root (two levels above this file). */
export function repoRoot(): string {
  return new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
}

/** The cache directory for built oracles and assembled cases (`.cache/conformance`, gitignored). */
export async function cacheDir(): Promise<string> {
  const dir = `${repoRoot()}/.cache/conformance`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** SHA-256 of a string, as hex. */
export async function sha256Hex(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when `cmd` can be started (it is on PATH or an existing path). */
export async function commandExists(cmd: string, args: string[] = ["--version"]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Reads a gzip-compressed cpio "newc" archive (the kernel's Documentation/driver-api/early-userspace/
 * buffer-format.rst) so a test can take a file from the committed initramfs and compute what the
 * guest should print about it natively.
 *
 * @module
 */

/** Decompresses gzip data with the platform's DecompressionStream. */
export async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The regular files of a newc archive by path (without the leading "/"), stopping at TRAILER!!!. */
export function cpioFiles(archive: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = new TextDecoder();
  const hex = (at: number) => parseInt(text.decode(archive.subarray(at, at + 8)), 16);
  const align4 = (n: number) => (n + 3) & ~3;
  let at = 0;
  while (at + 110 <= archive.length) {
    const magic = text.decode(archive.subarray(at, at + 6));
    if (magic !== "070701" && magic !== "070702") throw new Error(`bad cpio header magic at ${at}: ${magic}`);
    const mode = hex(at + 14);
    const size = hex(at + 54);
    const nameSize = hex(at + 94);
    const name = text.decode(archive.subarray(at + 110, at + 110 + nameSize - 1));
    if (name === "TRAILER!!!") break;
    const dataAt = align4(at + 110 + nameSize);
    if ((mode & 0o170000) === 0o100000) {
      files.set(name.replace(/^\//, ""), archive.subarray(dataAt, dataAt + size));
    }
    at = align4(dataAt + size);
  }
  return files;
}

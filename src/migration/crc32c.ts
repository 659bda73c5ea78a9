/**
 * CRC-32C (Castagnoli), the checksum of every record in the migration stream.
 *
 * Reflected polynomial 0x82F63B78 (iSCSI, RFC 3720 App. B.4), initial value and final XOR
 * 0xFFFFFFFF; check value 0xE3069283 for the ASCII bytes "123456789". Slicing-by-8 tables.
 *
 * @module
 */

/** The reflected CRC-32C polynomial (RFC 3720, App. B.4). */
export const CRC32C_POLY_REFLECTED = 0x82f63b78;

/** Eight 256-entry tables for slicing-by-8, computed once; never written after construction. */
const TABLES: Int32Array = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it, 0 to start).
 *
 * @example
 * ```ts
 * import { crc32c } from "./crc32c.ts";
 * import { equal } from "node:assert/strict";
 * equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * ```
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  const t = TABLES;
  let c = ~previous;
  let i = 0;
  const n = data.length;
  const end8 = n - 8;
  while (i <= end8) {
    const lo = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const hi = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^ t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^ t[768 + (hi & 0xff)] ^ t[512 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^ t[hi >>> 24];
    i += 8;
  }
  while (i < n) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Test helpers: alter one record of a replay log and re-seal its CRC-32C, as a deliberate
 * tamperer would (an unsealed change is refused earlier, as damage).
 *
 * @module
 */

import { crc32c } from "../../src/migration/crc32c.ts";
import { decodeLogHeader, LOG_RECORD_TRACE, POINT_FIXED_BYTES } from "../../src/replay/log.ts";

/** A copy of `log` with the `nth` record of `type` edited in place by `edit`, its CRC re-sealed. */
export function editRecord(
  log: Uint8Array,
  type: number,
  nth: number,
  edit: (payload: Uint8Array, view: DataView) => void,
): Uint8Array {
  const b = log.slice();
  const v = new DataView(b.buffer);
  let off = decodeLogHeader(b).bytes, k = 0;
  while (off < b.length) {
    const t = v.getUint16(off, true), len = v.getUint32(off + 4, true);
    if (t === type && k++ === nth) {
      const p = b.subarray(off + 16, off + 16 + len);
      edit(p, new DataView(b.buffer, off + 16, len));
      v.setUint32(off + 12, crc32c(p, crc32c(b.subarray(off, off + 12))), true);
      return b;
    }
    off += 16 + len;
  }
  throw new Error(`log has no record ${nth} of type ${type}`);
}

/** A copy of `log` with the fine point at `icount` (the first with that count) edited by `edit(view, offset)`. */
export function editPoint(
  log: Uint8Array,
  icount: number,
  edit: (view: DataView, at: number) => void,
): Uint8Array {
  for (let nth = 0;; nth++) {
    let found = false;
    const out = editRecord(log, LOG_RECORD_TRACE, nth, (p, v) => {
      const n = v.getUint32(0, true);
      let o = 4;
      for (let i = 0; i < n && !found; i++) {
        const at = v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
        if (at === icount) {
          edit(v, o);
          found = true;
        }
        o += POINT_FIXED_BYTES + 8 * v.getUint32(o + 12, true);
      }
      void p;
    });
    if (found) return out;
  }
}

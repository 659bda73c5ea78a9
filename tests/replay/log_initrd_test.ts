// The replay log header's initrd (version 2.1): a Linux guest's initrd hash and path after the
// guest path, flagged by header flag bit 0; a log without one stays version 2.0 byte for byte.
import assert from "node:assert/strict";
import { crc32c } from "../../src/migration/crc32c.ts";
import { decodeLogHeader, encodeLogHeader, LogError } from "../../src/replay/log.ts";

const BASE = {
  elfSha256: "ab".repeat(32),
  checkpointInterval: 10_000_000,
  traceInterval: 65536,
  cmdline: "console=ttyS0",
  entropyState: new Uint8Array(16).fill(3),
  guestPath: "guests/linux/bzImage",
  memory: 128 * 2 ** 20,
};

Deno.test("a header with an initrd round-trips as version 2.1 with flag bit 0", () => {
  const h = { ...BASE, initrd: { sha256: "cd".repeat(32), path: "guests/linux/initramfs.cpio.gz" } };
  const b = encodeLogHeader(h);
  const v = new DataView(b.buffer);
  assert.equal(v.getUint16(6, true), 1, "minor version 1");
  assert.equal(v.getUint32(12, true), 1, "flag bit 0");
  const { header, bytes } = decodeLogHeader(b);
  assert.equal(bytes, b.length);
  assert.deepEqual({ ...header }, { ...h, major: 2, minor: 1 });
});

Deno.test("a header without an initrd is version 2.0 with no flags and no initrd field", () => {
  const b = encodeLogHeader(BASE);
  const v = new DataView(b.buffer);
  assert.equal(v.getUint16(6, true), 0);
  assert.equal(v.getUint32(12, true), 0);
  assert.equal("initrd" in decodeLogHeader(b).header, false);
});

Deno.test("the initrd flag in a 2.0 header, or initrd fields beyond the header, are refused", () => {
  const reseal = (b: Uint8Array) => {
    new DataView(b.buffer).setUint32(b.length - 4, crc32c(b.subarray(0, b.length - 4)), true);
    return b;
  };
  const with20 = encodeLogHeader(BASE);
  new DataView(with20.buffer).setUint32(12, 1, true);
  assert.throws(
    () => decodeLogHeader(reseal(with20)),
    (e) => e instanceof LogError && /unknown flags/.test(e.message),
  );
  const h = { ...BASE, initrd: { sha256: "cd".repeat(32), path: "x" } };
  const long = encodeLogHeader(h);
  // Claim a longer initrd path than the header holds.
  const at = 76 + BASE.cmdline.length + 16 + BASE.guestPath.length;
  new DataView(long.buffer).setUint16(at + 32, 500, true);
  assert.throws(
    () => decodeLogHeader(reseal(long)),
    (e) => e instanceof LogError && /inconsistent/.test(e.message),
  );
});

// Version 2.2: the platform fields (the CMOS clock's start time and the COM1 poll interval) after
// the initrd's, flagged by header flag bit 1, so a replay needs no flags to build the same machine.
Deno.test("a header with the platform fields round-trips as version 2.2 with flag bit 1, after the initrd", () => {
  const h = {
    ...BASE,
    initrd: { sha256: "cd".repeat(32), path: "guests/linux/initramfs.cpio.gz" },
    rtcStart: Date.UTC(2031, 6, 15, 9, 30) / 1000,
    serialPoll: 1_000_000,
  };
  const b = encodeLogHeader(h);
  const v = new DataView(b.buffer);
  assert.equal(v.getUint16(6, true), 2, "minor version 2");
  assert.equal(v.getUint32(12, true), 3, "flag bits 0 and 1");
  assert.equal(Number(v.getBigInt64(b.length - 16, true)), h.rtcStart, "i64 start time");
  assert.equal(v.getUint32(b.length - 8, true), 1_000_000, "u32 poll interval");
  assert.deepEqual({ ...decodeLogHeader(b).header }, { ...h, major: 2, minor: 2 });
  const bare = { ...BASE, rtcStart: 0, serialPoll: 0 };
  assert.deepEqual({ ...decodeLogHeader(encodeLogHeader(bare)).header }, { ...bare, major: 2, minor: 2 });
});

Deno.test("the platform flag in a 2.1 header, or a start time past 2099, is refused", () => {
  const reseal = (b: Uint8Array) => {
    new DataView(b.buffer).setUint32(b.length - 4, crc32c(b.subarray(0, b.length - 4)), true);
    return b;
  };
  const h = { ...BASE, rtcStart: 1_800_000_000, serialPoll: 1000 };
  const as21 = encodeLogHeader(h);
  new DataView(as21.buffer).setUint16(6, 1, true);
  assert.throws(
    () => decodeLogHeader(reseal(as21)),
    (e) => e instanceof LogError && /unknown flags 0x00000002 for version 2\.1/.test(e.message),
  );
  const late = encodeLogHeader(h);
  new DataView(late.buffer).setBigInt64(late.length - 16, BigInt(Date.UTC(2100, 0, 1) / 1000), true);
  assert.throws(
    () => decodeLogHeader(reseal(late)),
    (e) => e instanceof LogError && /RTC start 4102444800 is not a time from 1970 to 2099/.test(e.message),
  );
});

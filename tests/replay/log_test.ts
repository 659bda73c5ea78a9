import assert from "node:assert/strict";
import { crc32c } from "../../src/migration/crc32c.ts";
import { encodeHeader } from "../../src/migration/stream.ts";
import { LogError, readLog, recordGuest, Replayer } from "../../src/replay/mod.ts";
import {
  decodeLogHeader,
  encodeLogHeader,
  INPUT_RDRAND,
  INPUT_RDSEED,
  LOG_RECORD_CHECKPOINT,
  LOG_RECORD_TRACE,
} from "../../src/replay/log.ts";
import { editRecord } from "./_tamper.ts";

const ENTROPY = Deno.readFileSync(new URL("../../guests/build/entropy.elf", import.meta.url));
const HELLO = Deno.readFileSync(new URL("../../guests/build/hello.elf", import.meta.url));
const rec = recordGuest(ENTROPY, { checkpointInterval: 5000, traceInterval: 1000, memoryInterval: 4000 });
const LOG = rec.log!;

Deno.test("encodeLogHeader() and decodeLogHeader() round-trip every field", () => {
  const cases = [
    { cmdline: "", entropyState: new Uint8Array(0), guestPath: "", memory: 2 ** 21 },
    {
      cmdline: "n=3 spins=10 ünïcode",
      entropyState: new Uint8Array(16).fill(7),
      guestPath: "a/b.elf",
      memory: 2 ** 34,
    },
  ];
  for (const c of cases) {
    const h = {
      elfSha256: "ab".repeat(32),
      checkpointInterval: 10_000_000,
      traceInterval: 65536,
      ...c,
    };
    const b = encodeLogHeader(h);
    const { header, bytes } = decodeLogHeader(b);
    assert.equal(bytes, b.length);
    assert.deepEqual({ ...header }, { ...h, major: 2, minor: 0 });
  }
});

Deno.test("decodeLogHeader() refuses a RAM size no machine has before anything is built", () => {
  for (const memory of [0, 3 * 2 ** 20, 2 ** 21 + 4096, 2 ** 35, 2 ** 52]) {
    const b = encodeLogHeader({
      elfSha256: "ab".repeat(32),
      checkpointInterval: 1000,
      traceInterval: 100,
      cmdline: "",
      entropyState: new Uint8Array(0),
      guestPath: "",
      memory,
    });
    assert.throws(
      () => decodeLogHeader(b),
      (e: Error) =>
        e instanceof LogError &&
        e.message === `Replay log header: guest RAM of ${memory} bytes is not a machine's ` +
            "(a multiple of 2 MiB up to 16 GiB)",
    );
  }
});

Deno.test("readLog() returns the recorded inputs: hvsim's seeded RDRAND values in order (SplitMix64 oracle)", () => {
  const log = readLog(LOG);
  // Values from guests/entropy/oracle.py (SplitMix64, seed 0x687673696d5f7631), not from hvsim.
  assert.deepEqual(log.inputs.map((r) => [r.kind, r.value]), [
    [INPUT_RDRAND, 0x8cb8da1ba4bb182dn],
    [INPUT_RDRAND, 0x595d5ce8fafd2cd8n],
    [INPUT_RDRAND, 0xe15199fc3655726dn],
    [INPUT_RDSEED, 0x5b885b3a9c5c5931n],
  ]);
  assert.equal(log.end.reason, "debug-exit");
  assert.equal(log.end.icount, rec.result.instructions);
  assert.equal(log.checkpoints.at(-1)!.icount, log.end.icount);
  assert.equal(log.checkpoints.length, Math.ceil(log.end.icount / 5000));
  assert.equal(log.header.traceInterval, 1000);
});

function withHeaderField(at: number, value: number): Uint8Array {
  const b = LOG.slice();
  const v = new DataView(b.buffer);
  v.setUint16(at, value, true);
  const len = v.getUint32(8, true);
  v.setUint32(len - 4, crc32c(b.subarray(0, len - 4)), true);
  return b;
}

const headerBytes = decodeLogHeader(LOG).bytes;
const damaged: [string, Uint8Array, RegExp][] = [
  ["an empty file", new Uint8Array(0), /empty/],
  ["a migration stream", encodeHeader(4096, 0), /magic is "HVSM", expected "HVRL"/],
  [
    "another major version (1.x: recorded before SSE was on at boot)",
    withHeaderField(4, 1),
    /version 1\.0 is not supported: this hvsim reads version 2\.x/,
  ],
  [
    "a flipped header bit",
    (() => {
      const b = LOG.slice();
      b[20] ^= 1;
      return b;
    })(),
    /header CRC32C mismatch/,
  ],
  [
    "a flipped payload bit",
    (() => {
      const b = LOG.slice();
      b[headerBytes + 16 + 9] ^= 0x10;
      return b;
    })(),
    /CRC32C mismatch in record 0 \(input\)/,
  ],
  ["a log cut in a record", LOG.subarray(0, LOG.length - 7), /truncated in record \d+ \(end\)/],
  [
    "a log cut between records",
    LOG.subarray(0, headerBytes + 16 + 24 + 16),
    /truncated: no end record after 1 records/,
  ],
  ["bytes after the end record", new Uint8Array([...LOG, 0]), /1 bytes after its end record/],
];

Deno.test("readLog() refuses a damaged or foreign log with one line naming the problem", () => {
  for (const [what, bytes, re] of damaged) {
    assert.throws(() => readLog(bytes), (e: unknown) => {
      assert.ok(e instanceof LogError, `${what}: ${e}`);
      assert.match(e.message, re, what);
      assert.ok(!e.message.includes("\n"), `${what}: one line`);
      return true;
    });
  }
});

/** Store a correct CRC32C (over header bytes 0..12 and the payload) in the first record of `log`. */
function resealFirstRecord(log: Uint8Array): void {
  const v = new DataView(log.buffer, log.byteOffset);
  const len = v.getUint32(headerBytes + 4, true);
  const payload = log.subarray(headerBytes + 16, headerBytes + 16 + len);
  v.setUint32(headerBytes + 12, crc32c(payload, crc32c(log.subarray(headerBytes, headerBytes + 12))), true);
}

Deno.test("readLog() refuses records out of order and unknown record types", () => {
  const reindexed = LOG.slice();
  const v = new DataView(reindexed.buffer);
  v.setUint32(headerBytes + 8, 5, true);
  resealFirstRecord(reindexed);
  assert.throws(
    () => readLog(reindexed),
    /Out-of-order record 0 \(input\) at offset \d+: it carries index 5, expected 0/,
  );
  const unknown = LOG.slice();
  const u = new DataView(unknown.buffer);
  u.setUint16(headerBytes, 99, true);
  resealFirstRecord(unknown);
  assert.throws(() => readLog(unknown), /unknown record type 99 for version 2\.0/);
  const inconsistent = editRecord(LOG, LOG_RECORD_CHECKPOINT, 0, (_p, cv) => cv.setUint32(136, 1000, true));
  assert.throws(
    () => readLog(inconsistent),
    /checkpoint\) at offset \d+: \d+ bytes, expected \d+ for 1000 pages/,
  );
});

Deno.test("Replayer refuses a log recorded for another guest", () => {
  assert.throws(() => new Replayer(readLog(LOG), HELLO), (e: unknown) => {
    assert.ok(e instanceof LogError);
    assert.match(
      e.message,
      /recorded with another guest: log has ELF sha256 [0-9a-f]{16}\.\.\., this ELF is/,
    );
    return true;
  });
});

Deno.test("readLog() refuses a fine point whose RIP is not a whole 64-bit address", () => {
  for (const rip of [4200834.148895501, Infinity, NaN, 2 ** 65]) {
    const bad = editRecord(LOG, LOG_RECORD_TRACE, 0, (_p, v) => v.setFloat64(4 + 144, rip, true));
    assert.throws(
      () => readLog(bad),
      (e: Error) =>
        e instanceof LogError && /fine point 0 of \d+ has RIP .*, not a 64-bit address/.test(e.message),
    );
  }
});

Deno.test("Replayer refuses a log for more guest RAM than it allows, before building a machine", () => {
  assert.throws(
    () => new Replayer(readLog(LOG), ENTROPY, { maxMemory: 32 << 20 }),
    (e: Error) =>
      e instanceof LogError &&
      e.message === "Replay log is for 64 MiB of guest RAM: this replay allows at most 32 MiB",
  );
});

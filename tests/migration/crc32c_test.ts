import { equal } from "node:assert/strict";
import { crc32c } from "../../src/migration/crc32c.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time reference from the definition (reflected 0x82F63B78), the oracle for the tables. */
function bitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32c() matches the published check values", () => {
  // "123456789" -> 0xE3069283 (Castagnoli check value); the others are RFC 3720 App. B.4 test
  // vectors (32 bytes of 0x00, of 0xFF, 0..31 ascending, 31..0 descending).
  const ascending = new Uint8Array(32).map((_, i) => i);
  const descending = new Uint8Array(32).map((_, i) => 31 - i);
  const table: [string, Uint8Array, number][] = [
    ["123456789", enc("123456789"), 0xe3069283],
    ["empty", new Uint8Array(0), 0],
    ["32 x 00", new Uint8Array(32), 0x8a9136aa],
    ["32 x ff", new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ["00..1f", ascending, 0x46dd794e],
    ["1f..00", descending, 0x113fdb5c],
  ];
  for (const [name, data, want] of table) equal(crc32c(data), want, name);
});

Deno.test("crc32c() equals the bit-at-a-time definition for every length and alignment", () => {
  const buf = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 40; len++) {
      const d = buf.subarray(start, start + len);
      equal(crc32c(d), bitwise(d), `start ${start} len ${len}`);
    }
  }
  equal(crc32c(buf), bitwise(buf));
});

Deno.test("crc32c() word path agrees with the definition at every alignment and length around 64", () => {
  const buf = new Uint8Array(4096 + 16).map((_, i) => (i * 197 + 11) & 0xff);
  for (let start = 0; start < 8; start++) {
    for (const len of [63, 64, 65, 79, 80, 81, 127, 128, 129, 1000, 4096]) {
      const d = buf.subarray(start, start + len);
      equal(crc32c(d), bitwise(d), `start ${start} len ${len}`);
    }
  }
});

Deno.test("crc32c() continues across chunks", () => {
  const all = enc("The quick brown fox jumps over the lazy dog, twice over.");
  for (const cut of [0, 1, 7, 8, 9, 20, all.length]) {
    equal(crc32c(all.subarray(cut), crc32c(all.subarray(0, cut))), crc32c(all), `cut at ${cut}`);
  }
});

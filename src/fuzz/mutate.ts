/**
 * Mutations: structure-aware ones on a format's fields and records (flip bits in lengths, CRCs,
 * versions and counts, set them to boundary values, drop, duplicate, reorder and truncate
 * records), and plain byte-level ones (random bits and bytes, inserted, deleted and copied
 * ranges). Every choice comes from the case's seeded generator, so a case is reproducible.
 *
 * @module
 */

import type { Prng } from "../conformance/prng.ts";
import type { Field, Structure } from "./surface.ts";

/** One mutation: returns the new bytes (may be the same array, changed in place). */
type Mutation = (b: Uint8Array, s: Structure, rng: Prng, corpus: Uint8Array[]) => Uint8Array;

function readField(b: Uint8Array, f: Field): bigint {
  let v = 0n;
  for (let i = f.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[f.offset + i] ?? 0);
  return v;
}

function writeField(b: Uint8Array, f: Field, value: bigint): void {
  let v = BigInt.asUintN(f.size * 8, value);
  for (let i = 0; i < f.size && f.offset + i < b.length; i++) {
    b[f.offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Boundary values for a field of `bits` bits that holds `old`. */
function interesting(rng: Prng, bits: number, old: bigint, kind: Field["kind"]): bigint {
  const max = (1n << BigInt(bits)) - 1n;
  const picks = [
    0n,
    1n,
    max,
    max >> 1n,
    (max >> 1n) + 1n,
    old + 1n,
    old - 1n,
    old * 2n,
    old >> 1n,
    old ^ (1n << BigInt(rng.int(bits))),
    BigInt(rng.u32()),
  ];
  if (kind === "length" || kind === "count" || kind === "size") {
    picks.push(old + 4096n, old - 4n, old + 16n, 1n << 31n, 1n << 20n, 64n << 20n, 1n << 32n, 1n << 40n);
  }
  if (kind === "version") picks.push(2n, old + 256n);
  if (kind === "address") picks.push(0x100000n, 0xfffff000n, 1n << 47n, 1n << 63n);
  return picks[rng.int(picks.length)];
}

const fieldBit: Mutation = (b, s, rng) => {
  if (s.fields.length === 0) return byteBit(b, s, rng, []);
  const f = s.fields[rng.int(s.fields.length)];
  writeField(b, f, readField(b, f) ^ (1n << BigInt(rng.int(f.size * 8))));
  return b;
};

/** Characters that change what JSON text means without changing its length. */
const JSON_CHARS = new TextEncoder().encode('0123456789-.eE"{}[],:ntfl ');

const fieldValue: Mutation = (b, s, rng) => {
  if (s.fields.length === 0) return byteSet(b, s, rng, []);
  const f = s.fields[rng.int(s.fields.length)];
  if (f.kind === "text") b[f.offset] = JSON_CHARS[rng.int(JSON_CHARS.length)];
  else writeField(b, f, interesting(rng, f.size * 8, readField(b, f), f.kind));
  return b;
};

const byteBit: Mutation = (b, _s, rng) => {
  if (b.length > 0) b[rng.int(b.length)] ^= 1 << rng.int(8);
  return b;
};

const byteSet: Mutation = (b, _s, rng) => {
  if (b.length === 0) return b;
  const n = 1 + rng.int(8);
  const at = rng.int(b.length);
  for (let i = 0; i < n && at + i < b.length; i++) {
    b[at + i] = rng.chance(0.5) ? rng.int(256) : [0, 0xff, 0x7f, 0x80][rng.int(4)];
  }
  return b;
};

const truncate: Mutation = (b, s, rng) => {
  if (s.records.length > 0 && rng.chance(0.5)) {
    const r = s.records[rng.int(s.records.length)];
    return b.slice(0, r.offset + (rng.chance(0.5) ? 0 : rng.int(r.length)));
  }
  return b.slice(0, rng.int(b.length + 1));
};

const insertBytes: Mutation = (b, _s, rng) => {
  const at = rng.int(b.length + 1);
  const n = 1 + rng.int(rng.chance(0.9) ? 16 : 4096);
  const add = new Uint8Array(n);
  for (let i = 0; i < n; i++) add[i] = rng.int(256);
  return concat(b.subarray(0, at), add, b.subarray(at));
};

const deleteBytes: Mutation = (b, _s, rng) => {
  if (b.length === 0) return b;
  const at = rng.int(b.length);
  const n = 1 + rng.int(Math.min(64, b.length - at));
  return concat(b.subarray(0, at), b.subarray(at + n));
};

const copyBytes: Mutation = (b, _s, rng) => {
  if (b.length < 2) return b;
  const from = rng.int(b.length);
  const n = 1 + rng.int(Math.min(256, b.length - from));
  const to = rng.int(b.length - n + 1);
  b.copyWithin(to, from, from + n);
  return b;
};

const dropRecord: Mutation = (b, s, rng) => {
  if (s.records.length === 0) return deleteBytes(b, s, rng, []);
  const r = s.records[rng.int(s.records.length)];
  return concat(b.subarray(0, r.offset), b.subarray(r.offset + r.length));
};

const duplicateRecord: Mutation = (b, s, rng) => {
  if (s.records.length === 0) return copyBytes(b, s, rng, []);
  const r = s.records[rng.int(s.records.length)];
  const at = s.records[rng.int(s.records.length)].offset;
  return concat(b.subarray(0, at), b.subarray(r.offset, r.offset + r.length), b.subarray(at));
};

const swapRecords: Mutation = (b, s, rng) => {
  if (s.records.length < 2) return copyBytes(b, s, rng, []);
  let i = rng.int(s.records.length), j = rng.int(s.records.length);
  if (i === j) return b;
  if (i > j) [i, j] = [j, i];
  const a = s.records[i], c = s.records[j];
  return concat(
    b.subarray(0, a.offset),
    b.subarray(c.offset, c.offset + c.length),
    b.subarray(a.offset + a.length, c.offset),
    b.subarray(a.offset, a.offset + a.length),
    b.subarray(c.offset + c.length),
  );
};

/** A record of another valid input spliced in (same format, other content). */
const spliceRecord: Mutation = (b, s, rng, corpus) => {
  if (s.records.length === 0 || corpus.length === 0) return insertBytes(b, s, rng, []);
  const other = corpus[rng.int(corpus.length)];
  const at = s.records[rng.int(s.records.length)].offset;
  const from = rng.int(other.length);
  const n = Math.min(other.length - from, 16 + rng.int(4096));
  return concat(b.subarray(0, at), other.subarray(from, from + n), b.subarray(at));
};

const MUTATIONS: [Mutation, number][] = [
  [fieldBit, 6],
  [fieldValue, 6],
  [byteBit, 3],
  [byteSet, 2],
  [truncate, 2],
  [insertBytes, 1],
  [deleteBytes, 1],
  [copyBytes, 1],
  [dropRecord, 2],
  [duplicateRecord, 2],
  [swapRecords, 2],
  [spliceRecord, 1],
];
const TOTAL = MUTATIONS.reduce((n, [, w]) => n + w, 0);

/**
 * Apply 1-4 mutations to a copy of `input` (`structure` reads where its fields and records lie,
 * again after each mutation); `corpus` supplies records to splice in.
 */
export function mutate(
  input: Uint8Array,
  structure: (b: Uint8Array) => Structure,
  rng: Prng,
  corpus: Uint8Array[],
): Uint8Array {
  let b: Uint8Array = input.slice();
  const n = 1 + rng.int(rng.chance(0.7) ? 1 : 4);
  for (let k = 0; k < n; k++) {
    let pick = rng.int(TOTAL);
    let m = MUTATIONS[0][0];
    for (const [f, w] of MUTATIONS) {
      if (pick < w) {
        m = f;
        break;
      }
      pick -= w;
    }
    b = m(b, structure(b), rng, corpus);
  }
  return b;
}

/** The parts, one after another, in a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

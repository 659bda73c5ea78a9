/**
 * Decoder robustness and instruction lengths: random and mutated byte streams, their first
 * instruction's length according to GNU objdump (one batch: each stream in its own section), and
 * according to hvsim's decoder, compared.
 * @module
 */

import { Cpu } from "../cpu/mod.ts";
import { decode } from "../cpu/decoder.ts";
import { udHandler } from "../cpu/table.ts";
import { bootGuest } from "../vm/boot.ts";
import { bytesToHex, CODE_ADDR, type TestCase } from "./case.ts";
import { HvsimRunner } from "./hvsim_runner.ts";
import { Prng } from "./prng.ts";
import { cacheDir } from "./_paths.ts";

/** Bytes in every stream: room for the longest legal instruction (15) plus one. */
export const STREAM_BYTES = 16;

const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65];

/**
 * `n` byte streams of `STREAM_BYTES` bytes: a third purely random, the rest mutations of `seeds`
 * (real instructions): a byte replaced, prefixes or a REX inserted, a byte dropped, a prefix
 * repeated past the 15-byte limit. Deterministic for a given `rng` state.
 */
export function byteStreams(rng: Prng, n: number, seeds: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    let b: number[];
    if (seeds.length === 0 || i % 3 === 0) {
      b = [];
    } else {
      b = Array.from(rng.pick(seeds));
      const kind = rng.int(5);
      if (kind === 0 && b.length > 0) b[rng.int(b.length)] = rng.int(256);
      else if (kind === 1) b.unshift(rng.pick(PREFIXES));
      else if (kind === 2) b.unshift(0x40 | rng.int(16));
      else if (kind === 3 && b.length > 1) b.splice(rng.int(b.length), 1);
      else if (kind === 4) { for (let k = rng.range(1, 14); k > 0; k--) b.unshift(rng.pick(PREFIXES)); }
    }
    while (b.length < STREAM_BYTES) b.push(rng.int(256));
    out.push(Uint8Array.from(b.slice(0, STREAM_BYTES)));
  }
  return out;
}

const PREFIX_WORDS =
  /^(rex(\.[WRXB]+)?|data16|addr32|cs|ds|es|ss|fs|gs|repz|repnz|rep|lock|bnd|notrack|xacquire|xrelease)$/;

/** objdump's view of a stream's first instruction. */
export interface ObjdumpInsn {
  /** Length in bytes. */
  length: number;
  /** Disassembly text. */
  text: string;
  /** False when objdump prints `(bad)` (or nothing) for it. */
  valid: boolean;
}

/** Decodes the first instruction of every stream with GNU objdump (64-bit mode), in one batch. */
export async function objdumpLengths(streams: readonly Uint8Array[]): Promise<ObjdumpInsn[]> {
  const dir = await Deno.makeTempDir({ dir: await cacheDir(), prefix: "len-" });
  try {
    let src = "";
    streams.forEach((s, i) => {
      src += `\t.section .s${i},"ax",@progbits\n\t.byte ${Array.from(s).join(",")}\n`;
    });
    await Deno.writeTextFile(`${dir}/s.s`, src);
    const as = await new Deno.Command("as", {
      args: ["--64", "-o", `${dir}/s.o`, `${dir}/s.s`],
      stderr: "piped",
    })
      .output();
    if (!as.success) throw new Error(`GNU as failed: ${new TextDecoder().decode(as.stderr).slice(0, 500)}`);
    const od = await new Deno.Command("objdump", {
      // Intel64 decoding where the vendors differ (66 on near branches is ignored), as hvsim follows the SDM.
      args: ["-d", "-z", "--insn-width=16", "-M", "suffix,intel64", `${dir}/s.o`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!od.success) throw new Error(`objdump failed: ${new TextDecoder().decode(od.stderr).slice(0, 500)}`);
    const out: ObjdumpInsn[] = new Array(streams.length);
    let section = -1;
    let taken = true;
    for (const line of new TextDecoder().decode(od.stdout).split("\n")) {
      const h = /^Disassembly of section \.s(\d+):/.exec(line);
      if (h) {
        section = Number(h[1]);
        taken = false;
        continue;
      }
      if (taken || section < 0) continue;
      const m = /^\s+0:\t([0-9a-f ]+)\t?(.*)$/.exec(line);
      if (!m) continue;
      const length = m[1].trim().split(/\s+/).length;
      const text = m[2].trim();
      // objdump prints a REX that another prefix follows, and runs of prefixes it cannot attach
      // to an opcode, as instructions of their own; the CPU does not: such lines are not lengths.
      const prefixOnly = text.split(/\s+/).every((w) => PREFIX_WORDS.test(w));
      out[section] = { length, text, valid: text !== "" && !text.includes("(bad)") && !prefixOnly };
      taken = true;
    }
    for (let i = 0; i < out.length; i++) out[i] ??= { length: 0, text: "", valid: false };
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** hvsim's view of a stream's first instruction. */
export interface HvsimInsn {
  /** Length in bytes (0 when the decoder returned nothing or threw). */
  length: number;
  /** The encoding is in hvsim's instruction table (not the #UD handler). */
  implemented: boolean;
  /** Message of a JavaScript error thrown by the decoder, if any: always a defect. */
  error?: string;
}

/** Decodes streams with hvsim's decoder, one CPU in 64-bit mode reused for all. */
export class HvsimDecoder {
  readonly #ram = new Uint8Array(4 * 2 ** 20);
  readonly #cpu = new Cpu(this.#ram);

  /** Sets up 64-bit mode with the loader's identity paging. */
  constructor() {
    bootGuest(this.#cpu, this.#ram, CODE_ADDR, "");
  }

  /** Decodes the first instruction of `bytes` (placed at `CODE_ADDR`). */
  decode(bytes: Uint8Array): HvsimInsn {
    this.#ram.fill(0, CODE_ADDR, CODE_ADDR + 64);
    this.#ram.set(bytes, CODE_ADDR);
    try {
      const insn = decode(this.#cpu, CODE_ADDR, CODE_ADDR + bytes.length - 1);
      if (insn === null) return { length: 0, implemented: false };
      return { length: insn.len, implemented: insn.h !== udHandler };
    } catch (e) {
      return { length: 0, implemented: false, error: (e as Error).message ?? String(e) };
    }
  }
}

/** Result of comparing instruction lengths. */
export interface LengthReport {
  /** Streams decoded. */
  streams: number;
  /** Streams both objdump and hvsim decode as a valid, implemented instruction. */
  compared: number;
  /** Streams where the lengths differ (first 50 kept). */
  mismatches: { bytes: string; objdump: ObjdumpInsn; hvsim: HvsimInsn }[];
  /** Number of length mismatches. */
  mismatchCount: number;
  /** Streams objdump decodes but hvsim does not implement (#UD). */
  unimplemented: number;
  /** Streams hvsim implements but objdump calls invalid. */
  hvsimOnly: { bytes: string; hvsim: HvsimInsn }[];
  /** Streams on which hvsim's decoder threw a JavaScript error. */
  errors: { bytes: string; error: string }[];
}

/** Compares objdump's and hvsim's lengths on `n` streams made from `seeds` (see `byteStreams`). */
export async function compareLengths(
  seed: number,
  n: number,
  seeds: readonly Uint8Array[],
): Promise<LengthReport> {
  const streams = byteStreams(new Prng(seed), n, seeds);
  const od = await objdumpLengths(streams);
  const dec = new HvsimDecoder();
  const r: LengthReport = {
    streams: n,
    compared: 0,
    mismatches: [],
    mismatchCount: 0,
    unimplemented: 0,
    hvsimOnly: [],
    errors: [],
  };
  streams.forEach((s, i) => {
    const h = dec.decode(s);
    const hex = bytesToHex(s);
    if (h.error !== undefined) {
      r.errors.push({ bytes: hex, error: h.error });
      return;
    }
    if (!od[i].valid) {
      if (h.implemented && r.hvsimOnly.length < 50) r.hvsimOnly.push({ bytes: hex, hvsim: h });
      return;
    }
    if (!h.implemented) {
      r.unimplemented++;
      return;
    }
    r.compared++;
    // FWAIT (9b) is an instruction of its own; objdump prints it joined to the x87 instruction after it
    // (fstsw, fstcw, fsave, ...), so its length there includes that one.
    const fwaitJoined = s[0] === 0x9b && h.length === 1 && od[i].length > 1;
    if (h.length !== od[i].length && !fwaitJoined) {
      r.mismatchCount++;
      if (r.mismatches.length < 50) r.mismatches.push({ bytes: hex, objdump: od[i], hvsim: h });
    }
  });
  return r;
}

/** Outcome of running byte streams through hvsim's interpreter. */
export interface RobustnessReport {
  /** Streams run. */
  streams: number;
  /** Outcomes by kind (`completed`, `UD`, `GP`, `PF`, `exit`, ...). */
  outcomes: Record<string, number>;
  /** Streams that made the interpreter fail with a JavaScript error (always a defect). */
  crashes: { bytes: string; detail: string }[];
}

/**
 * Runs each stream as the instruction of a case (taking the register and memory state from
 * `states`, round-robin) in hvsim's interpreter and collects outcomes and interpreter crashes.
 */
export async function interpreterRobustness(
  streams: readonly Uint8Array[],
  states: readonly TestCase[],
): Promise<RobustnessReport> {
  const cases = streams.map((s, i) => ({
    ...states[i % states.length],
    id: `stream-${i}`,
    bytes: bytesToHex(s.subarray(0, 15)),
  }));
  const results = await new HvsimRunner().run(cases);
  const r: RobustnessReport = { streams: streams.length, outcomes: {}, crashes: [] };
  results.forEach((res, i) => {
    const k = res.exception ?? "completed";
    r.outcomes[k] = (r.outcomes[k] ?? 0) + 1;
    if (k === "crash") r.crashes.push({ bytes: cases[i].bytes, detail: res.detail ?? "" });
  });
  return r;
}

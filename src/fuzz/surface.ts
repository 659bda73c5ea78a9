/**
 * What a fuzzing surface is: one input format hvsim parses, the real valid inputs mutations start
 * from, where the format's fields lie (for structure-aware mutations), and how one input is run.
 *
 * A surface is one file in `src/fuzz/surfaces/` exporting `surface`; `deno task fuzz` finds it
 * there by its file name.
 *
 * @module
 */

/** What a field of a format holds: picks the mutations that hurt it most. */
export type FieldKind =
  | "magic"
  | "version"
  | "length"
  | "count"
  | "crc"
  | "index"
  | "type"
  | "flags"
  | "size"
  | "address"
  | "value"
  | "text";

/** A little-endian integer field of an input, or (kind "text", size 1) a character of JSON text. */
export interface Field {
  /** Byte offset. */
  offset: number;
  /** Width in bytes. */
  size: 1 | 2 | 4 | 8;
  /** What it holds. */
  kind: FieldKind;
}

/** A record (a self-contained span) of an input: moved, dropped and duplicated whole. */
export interface Span {
  /** Byte offset. */
  offset: number;
  /** Length in bytes. */
  length: number;
}

/** Where an input's fields and records lie (read leniently from possibly damaged bytes). */
export interface Structure {
  /** Integer fields worth mutating. */
  fields: Field[];
  /** Records, in order (empty for a format without records). */
  records: Span[];
}

/** How one case ended when it did not crash. */
export interface CaseOutcome {
  /** "accepted": a correct run or decode; "refused": a clean refusal with one line. */
  result: "accepted" | "refused";
  /** The refusal's line, or a short description of what ran. */
  detail: string;
}

/** What a surface gets for each case. */
export interface CaseContext {
  /** A directory the case may write into (emptied between cases). */
  scratch: string;
  /** Guest instructions a case may run at most (its time bound). */
  maxInstructions: number;
}

/** One input format under test. */
export interface FuzzSurface {
  /** Name (the file name in `src/fuzz/surfaces/`, used on the command line). */
  readonly name: string;
  /** One line: what is parsed and how. */
  readonly description: string;
  /** Real valid inputs to start from, built once per process. */
  corpus(): Promise<Uint8Array[]>;
  /** Where `input`'s fields and records lie; must not throw on damaged bytes. */
  structure(input: Uint8Array): Structure;
  /**
   * Make a mutated input consistent again where a real attacker could (recompute CRCs, renumber
   * records), so that it gets past the checksums to the checks behind them. Optional.
   */
  reseal?(input: Uint8Array): Uint8Array;
  /**
   * Parse and run one input the way hvsim's command does. Resolves with a correct run or a clean
   * refusal (only the error classes the command turns into one line count as that); anything
   * thrown is a crash.
   */
  run(input: Uint8Array, ctx: CaseContext): Promise<CaseOutcome>;
  /** Release what {@link FuzzSurface.corpus} or the runs set up (sockets). Optional. */
  close?(): void;
}

/** A refusal outcome from an error's message (first line only). */
export function refused(e: unknown): CaseOutcome {
  return { result: "refused", detail: String((e as Error).message ?? e).split("\n")[0] };
}

/**
 * The x86-64 target description the GDB server hands out through `qXfer:features:read:target.xml`
 * (the GDB manual, "Target Descriptions", "i386 Features"), and the register numbering of the g/G
 * and p/P packets that follows from it.
 *
 * gdb's amd64 architecture requires the whole `org.gnu.gdb.i386.core` feature, x87 registers
 * included; hvsim's CPU has no x87 or SSE state yet, so those registers are described (as gdb
 * requires) and reported unavailable (`xx` in a g reply). `org.gnu.gdb.i386.segments` carries the
 * FS and GS bases; the control registers and EFER come in a feature of hvsim's own, which gdb shows
 * as `$cr0` ... `$efer`.
 *
 * @module
 */

import {
  RAX,
  RBP,
  RBX,
  RCX,
  RDI,
  RDX,
  RSI,
  RSP,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
} from "../cpu/registers.ts";

/** Where a register's value lives (see registers.ts). */
export type RegisterSource =
  | { kind: "gpr"; index: number }
  | { kind: "rip" }
  | { kind: "rflags" }
  | { kind: "segment"; index: number }
  | { kind: "segment-base"; index: number }
  | { kind: "cr"; index: number }
  | { kind: "efer" }
  | { kind: "unavailable" };

/** One register of the description, in g-packet order (its gdb number is its index). */
export interface RegisterInfo {
  /** gdb's name. */
  name: string;
  /** Size in bits. */
  bits: number;
  /** Type in the description. */
  type: string;
  /** Register group, when not the default. */
  group?: string;
  /** Where hvsim keeps it. */
  source: RegisterSource;
}

const ES = SEG_ES, CS = SEG_CS, SS = SEG_SS, DS = SEG_DS, FS = SEG_FS, GS = SEG_GS;

function gpr(name: string, index: number, type = "int64"): RegisterInfo {
  return { name, bits: 64, type, source: { kind: "gpr", index } };
}

/** The registers, in gdb's numbering. */
export const REGISTERS: readonly RegisterInfo[] = [
  gpr("rax", RAX),
  gpr("rbx", RBX),
  gpr("rcx", RCX),
  gpr("rdx", RDX),
  gpr("rsi", RSI),
  gpr("rdi", RDI),
  gpr("rbp", RBP, "data_ptr"),
  gpr("rsp", RSP, "data_ptr"),
  ...[8, 9, 10, 11, 12, 13, 14, 15].map((i) => gpr(`r${i}`, i)),
  { name: "rip", bits: 64, type: "code_ptr", source: { kind: "rip" } },
  { name: "eflags", bits: 32, type: "i386_eflags", source: { kind: "rflags" } },
  ...([["cs", CS], ["ss", SS], ["ds", DS], ["es", ES], ["fs", FS], ["gs", GS]] as const).map(
    ([name, index]): RegisterInfo => ({ name, bits: 32, type: "int32", source: { kind: "segment", index } }),
  ),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i): RegisterInfo => ({
    name: `st${i}`,
    bits: 80,
    type: "i387_ext",
    source: { kind: "unavailable" },
  })),
  ...["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"].map((name): RegisterInfo => ({
    name,
    bits: 32,
    type: "int",
    group: "float",
    source: { kind: "unavailable" },
  })),
  { name: "fs_base", bits: 64, type: "int", source: { kind: "segment-base", index: FS } },
  { name: "gs_base", bits: 64, type: "int", source: { kind: "segment-base", index: GS } },
  ...[0, 2, 3, 4, 8].map((i): RegisterInfo => ({
    name: `cr${i}`,
    bits: 64,
    type: "int",
    group: "system",
    source: { kind: "cr", index: i },
  })),
  { name: "efer", bits: 64, type: "int", group: "system", source: { kind: "efer" } },
];

/** gdb's register number of `name`, or -1. */
export function registerNumber(name: string): number {
  return REGISTERS.findIndex((r) => r.name === name);
}

function reg(n: number): string {
  const r = REGISTERS[n];
  return `<reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${n}"` +
    (r.group ? ` group="${r.group}"` : "") + "/>";
}

function regs(from: string, to: string): string {
  const a = registerNumber(from), b = registerNumber(to);
  const out: string[] = [];
  for (let n = a; n <= b; n++) out.push("    " + reg(n));
  return out.join("\n");
}

/** The RFLAGS bits as gdb's i386_eflags type names them. */
const EFLAGS_BITS: [string, number][] = [
  ["CF", 0],
  ["", 1],
  ["PF", 2],
  ["AF", 4],
  ["ZF", 6],
  ["SF", 7],
  ["TF", 8],
  ["IF", 9],
  ["DF", 10],
  ["OF", 11],
  ["NT", 14],
  ["RF", 16],
  ["VM", 17],
  ["AC", 18],
  ["VIF", 19],
  ["VIP", 20],
  ["ID", 21],
];

/** The description (target.xml). */
export const TARGET_XML: string = `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>i386:x86-64</architecture>
  <feature name="org.gnu.gdb.i386.core">
    <flags id="i386_eflags" size="4">
${EFLAGS_BITS.map(([n, b]) => `      <field name="${n}" start="${b}" end="${b}"/>`).join("\n")}
    </flags>
${regs("rax", "fop")}
  </feature>
  <feature name="org.gnu.gdb.i386.segments">
${regs("fs_base", "gs_base")}
  </feature>
  <feature name="org.hvsim.x86-64.system">
${regs("cr0", "efer")}
  </feature>
</target>
`;

/** Answers `qXfer:features:read:ANNEX:OFFSET,LENGTH`: `m`/`l` plus data, or null for an unknown annex. */
export function readFeatures(annex: string, offset: number, length: number): string | null {
  if (annex !== "target.xml") return null;
  const chunk = TARGET_XML.slice(offset, offset + length);
  return (offset + length >= TARGET_XML.length ? "l" : "m") + chunk;
}

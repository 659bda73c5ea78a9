/**
 * The x86-64 target description the GDB server hands out through `qXfer:features:read:target.xml`
 * (the GDB manual, "Target Descriptions", "i386 Features"), and the register numbering of the g/G
 * and p/P packets that follows from it.
 *
 * `org.gnu.gdb.i386.core` has the general registers and the x87 state, `org.gnu.gdb.i386.sse` XMM0-15
 * and MXCSR (the CPU's FpuState), `org.gnu.gdb.i386.segments` the FS and GS bases; the control
 * registers and EFER come in a feature of hvsim's own, which gdb shows as `$cr0` ... `$efer`.
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
  | { kind: "st"; index: number }
  | { kind: "x87"; field: "fcw" | "fsw" | "ftw" | "fiseg" | "fip" | "foseg" | "fdp" | "fop" }
  | { kind: "xmm"; index: number }
  | { kind: "mxcsr" };

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
    source: { kind: "st", index: i },
  })),
  ...([
    ["fctrl", "fcw"],
    ["fstat", "fsw"],
    ["ftag", "ftw"],
    ["fiseg", "fiseg"],
    ["fioff", "fip"],
    ["foseg", "foseg"],
    ["fooff", "fdp"],
    ["fop", "fop"],
  ] as const).map(([name, field]): RegisterInfo => ({
    name,
    bits: 32,
    type: "int",
    group: "float",
    source: { kind: "x87", field },
  })),
  ...Array.from({ length: 16 }, (_, i): RegisterInfo => ({
    name: `xmm${i}`,
    bits: 128,
    type: "vec128",
    source: { kind: "xmm", index: i },
  })),
  { name: "mxcsr", bits: 32, type: "i386_mxcsr", group: "vector", source: { kind: "mxcsr" } },
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

/** MXCSR's bits as gdb's i386_mxcsr type names them (SDM Vol. 1 Figure 10-3). */
const MXCSR_BITS: [string, number][] = [
  ["IE", 0],
  ["DE", 1],
  ["ZE", 2],
  ["OE", 3],
  ["UE", 4],
  ["PE", 5],
  ["DAZ", 6],
  ["IM", 7],
  ["DM", 8],
  ["ZM", 9],
  ["OM", 10],
  ["UM", 11],
  ["PM", 12],
  ["FZ", 15],
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
  <feature name="org.gnu.gdb.i386.sse">
    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
    <flags id="i386_mxcsr" size="4">
${MXCSR_BITS.map(([n, b]) => `      <field name="${n}" start="${b}" end="${b}"/>`).join("\n")}
    </flags>
${regs("xmm0", "mxcsr")}
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

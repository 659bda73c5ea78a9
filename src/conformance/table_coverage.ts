/**
 * Coverage of hvsim's instruction table (src/cpu/table.ts) by conformance cases: every case's
 * bytes (from GNU as) are looked up in the table by their own prefixes, opcode and ModRM, giving
 * for each table entry the operand sizes and operand kinds (register / memory) that the cases
 * exercise, the entries no case reaches, and the forms whose encoding the table lacks.
 * @module
 */

import { type OpSpec, opSpecs } from "../cpu/table.ts";
import { MAP_PREFIX, opTable, SZ_BYTE, SZ_D64, SZ_F64, SZ_V, SZ_Y } from "../cpu/table.ts";
import { hexToBytes, type TestCase } from "./case.ts";

/** Where one encoding falls in the table. */
export interface EncodingInfo {
  /** The table entry, or undefined when the table has none (hvsim raises #UD). */
  spec?: OpSpec;
  /** Operand size in bits as the prefixes select it (8 for byte entries). */
  size: number;
  /** The ModRM r/m operand is memory (false when there is no ModRM). */
  memory: boolean;
}

const LEGACY = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65]);

/** Finds the table entry of an encoding by its opcode bytes (SDM Vol. 2 §2.1), independently of hvsim's decoder. */
export function lookupEncoding(bytes: Uint8Array): EncodingInfo {
  let i = 0;
  let opsize = false;
  let rexW = false;
  let rep = 0;
  while (i < bytes.length && LEGACY.has(bytes[i])) {
    if (bytes[i] === 0x66) opsize = true;
    if (bytes[i] === 0xf2 || bytes[i] === 0xf3) rep = bytes[i];
    i++;
  }
  if (i < bytes.length && (bytes[i] & 0xf0) === 0x40) {
    rexW = (bytes[i] & 8) !== 0;
    i++;
  }
  let map = 0;
  if (bytes[i] === 0x0f) {
    map = 1;
    i++;
    if (bytes[i] === 0x38 || bytes[i] === 0x3a) map = bytes[i++] === 0x38 ? 2 : 3;
  }
  const opcode = bytes[i++];
  let spec = opTable[map * 256 + opcode];
  // A mandatory prefix selects SSE forms: F3/F2 before 66 (SDM Vol. 2 §2.1.2).
  if (spec?.byPrefix) spec = spec.byPrefix[rep === 0xf3 ? 2 : rep === 0xf2 ? 3 : opsize ? 1 : 0];
  const modrm = bytes[i];
  if (spec?.group) {
    const reg = (modrm >> 3) & 7;
    const three = spec.group3?.[reg * 8 + (modrm & 7)];
    spec = (modrm >> 6) === 3 && three ? three : spec.group[reg];
  }
  let size = 32;
  if (spec?.size === SZ_BYTE) size = 8;
  else if (spec?.size === SZ_V) size = rexW ? 64 : opsize ? 16 : 32;
  else if (spec?.size === SZ_D64) size = opsize ? 16 : 64;
  else if (spec?.size === SZ_F64) size = 64;
  else if (spec?.size === SZ_Y) size = rexW ? 64 : 32;
  else if (spec) size = rexW ? 64 : opsize ? 16 : 32;
  return { spec, size, memory: spec?.modrm === true && (modrm >> 6) !== 3 };
}

/** Coverage of one table entry. */
export interface EntryCoverage {
  /** The entry. */
  spec: OpSpec;
  /** `"<size>/<reg|mem|->"` variants reached, e.g. `64/mem`. */
  variants: string[];
  /** Forms reaching it. */
  forms: string[];
}

/** Table coverage of a run's cases. */
export interface TableCoverage {
  /** Every table entry with what reaches it (entries no form reaches have no variants). */
  entries: EntryCoverage[];
  /** Forms whose encoding is not in the table. */
  outsideTable: string[];
}

/**
 * Table entries the forms leave out on purpose, by mnemonic, with the reason: their outcome on the
 * host (CPL 3 under Linux) cannot be compared with an emulator at CPL 0, or is not deterministic.
 */
export const EXCLUDED_ENTRIES: Record<string, string> = {
  "movq2dq 0f d6":
    "needs both XMM and x87 state in one case: tests/cpu/mmx_test.ts checks it against the SDM",
  "movdq2q 0f d6":
    "needs both XMM and x87 state in one case: tests/cpu/mmx_test.ts checks it against the SDM",
  "hlt f4": "privileged (#GP at CPL 3)",
  "cli fa": "privileged (IOPL 0 at CPL 3)",
  "sti fb": "privileged (IOPL 0 at CPL 3)",
  "in e4": "port I/O: #GP at CPL 3, a device access in hvsim",
  "in e5": "port I/O",
  "in ec": "port I/O",
  "in ed": "port I/O",
  "out e6": "port I/O",
  "out e7": "port I/O",
  "out ee": "port I/O",
  "out ef": "port I/O",
  "ins 6c": "port I/O (string): tests/vm/isa_system_test.ts instead",
  "ins 6d": "port I/O (string)",
  "outs 6e": "port I/O (string)",
  "outs 6f": "port I/O (string)",
  "int cd": "software interrupt: a Linux system call or signal on the host",
  "int1 f1": "a #DB trap: SIGTRAP on the host, compared in tests/cpu/delivery_test.ts instead",
  "iret cf": "needs an interrupt frame and descriptor tables",
  "lret ca":
    "far return loads CS: code selectors differ between the host (Linux user mode) and hvsim's loader",
  "lret cb": "far return loads CS",
  "sldt 0f 00/0": "system state differs (host kernel vs hvsim loader)",
  "str 0f 00/1": "system state differs (host kernel vs hvsim loader)",
  "lldt 0f 00/2": "privileged",
  "ltr 0f 00/3": "privileged",
  "sgdt 0f 01/0": "system state differs (host kernel vs hvsim loader)",
  "sidt 0f 01/1": "system state differs (host kernel vs hvsim loader)",
  "lgdt 0f 01/2": "privileged",
  "lidt 0f 01/3": "privileged",
  "invlpg 0f 01/7": "privileged",
  "vmcall 0f 01/0": "VMX: #UD outside VMX operation on the host",
  "swapgs 0f 01/7": "privileged",
  "lar 0f 02": "reads a descriptor: the host's GDT differs from hvsim's; tests/cpu/descriptor_checks_test.ts",
  "lsl 0f 03": "reads a descriptor: the host's GDT differs from hvsim's; tests/cpu/descriptor_checks_test.ts",
  "verr 0f 00/4":
    "reads a descriptor: the host's GDT differs from hvsim's; tests/cpu/descriptor_checks_test.ts",
  "verw 0f 00/5":
    "reads a descriptor: the host's GDT differs from hvsim's; tests/cpu/descriptor_checks_test.ts",
  "smsw 0f 01/4": "system state differs (CR0 of the host kernel vs hvsim's)",
  "lmsw 0f 01/6": "privileged",
  "xgetbv 0f 01/2": "XCR0 differs (the host enables AVX and more); tests/cpu/xsave_test.ts instead",
  "xsetbv 0f 01/2": "privileged",
  "xsave 0f ae/4": "the host's XCR0 and XINUSE differ; tests/cpu/xsave_test.ts instead",
  "xrstor 0f ae/5": "the host's XCR0 differs; tests/cpu/xsave_test.ts instead",
  "xsaveopt 0f ae/6": "the host's XCR0 and XINUSE differ; tests/cpu/xsave_test.ts instead",
  "xsavec 0f c7/4": "the host's XCR0 and XINUSE differ; tests/cpu/xsave_test.ts instead",
  "lcall ff/3": "far call loads CS: code selectors differ between the host and hvsim's loader",
  "ljmp ff/5": "far jump loads CS: code selectors differ between the host and hvsim's loader",
  "rdtscp 0f 01/7": "not deterministic (time stamp counter)",
  "syscall 0f 05": "a Linux system call on the host",
  "clts 0f 06": "privileged",
  "sysret 0f 07": "privileged",
  "invd 0f 08": "privileged",
  "wbinvd 0f 09": "privileged",
  "mov 0f 20": "control registers: privileged",
  "mov 0f 21": "debug registers: privileged",
  "mov 0f 22": "control registers: privileged",
  "mov 0f 23": "debug registers: privileged",
  "wrmsr 0f 30": "privileged",
  "rdtsc 0f 31": "not deterministic (time stamp counter)",
  "rdmsr 0f 32": "privileged",
  "cpuid 0f a2": "machine-specific answers",
  "rdrand 0f c7/6": "not deterministic (random numbers)",
  "rdseed 0f c7/7": "not deterministic (random numbers)",
  "mov 8c": "segment selectors differ between the host (Linux user mode) and hvsim's loader",
  "mov 8e": "loads a segment selector",
  "push 0f a0": "PUSH FS: selectors differ between host and hvsim",
  "pop 0f a1": "POP FS: loads a selector",
  "push 0f a8": "PUSH GS: selectors differ between host and hvsim",
  "pop 0f a9": "POP GS: loads a selector",
  "sal c0/6": "undocumented /6 alias of SHL, which GNU as never emits",
  "sal c1/6": "undocumented /6 alias",
  "sal d0/6": "undocumented /6 alias",
  "sal d1/6": "undocumented /6 alias",
  "sal d2/6": "undocumented /6 alias",
  "sal d3/6": "undocumented /6 alias",
  "test f6/1": "undocumented /1 alias of TEST, which GNU as never emits",
  "test f7/1": "undocumented /1 alias",
  "nop 0f 19": "reserved NOP, no GNU as mnemonic",
  "nop 0f 1a": "reserved NOP (BNDLDX space), no plain GNU as mnemonic",
  "nop 0f 1b": "reserved NOP (BNDSTX space), no plain GNU as mnemonic",
  "nop 0f 1c": "reserved NOP, no GNU as mnemonic",
  "nop 0f 1d": "reserved NOP, no GNU as mnemonic",
  "fxsave 0f ae/0": "a 512-byte image, larger than the scratch area (tests/cpu/sse_test.ts checks it)",
  "fxrstor 0f ae/1": "a 512-byte image, larger than the scratch area (tests/cpu/sse_test.ts checks it)",
};

/** A table entry's name as the coverage report prints it: `mnemonic [0f ]opcode[/ext]`. */
export function entryName(spec: OpSpec): string {
  return `${spec.mnemonic} ${MAP_PREFIX[spec.map]}${spec.opcode.toString(16).padStart(2, "0")}${
    spec.ext >= 0 ? "/" + spec.ext : ""
  }`;
}

/** Maps the cases of a run onto hvsim's instruction table. */
export function tableCoverage(cases: readonly TestCase[]): TableCoverage {
  const entries = opSpecs.map((spec) => ({ spec, variants: [] as string[], forms: [] as string[] }));
  const outside = new Set<string>();
  for (const c of cases) {
    const info = lookupEncoding(hexToBytes(c.bytes));
    if (!info.spec) {
      outside.add(c.form);
      continue;
    }
    const e = entries[info.spec.index];
    const v = `${info.size}/${info.spec.modrm ? (info.memory ? "mem" : "reg") : "-"}`;
    if (!e.variants.includes(v)) e.variants.push(v);
    if (!e.forms.includes(c.form)) e.forms.push(c.form);
  }
  for (const e of entries) e.variants.sort();
  return { entries, outsideTable: [...outside].sort() };
}

/**
 * The instruction survey: which instructions real x86-64 binaries (a static busybox, a Linux
 * kernel) contain, and whether hvsim's decoder implements each. GNU objdump disassembles every
 * code section; each instruction's bytes then go through hvsim's decoder ({@linkcode HvsimDecoder}),
 * which says whether the encoding is in hvsim's instruction table or raises #UD, and with what
 * length. Instructions are grouped by mnemonic and operand form (`mov r64, m64`), counted per
 * binary and per section, and written as a Markdown table.
 *
 * @module
 */

import { bytesToHex } from "./case.ts";
import { HvsimDecoder } from "./lengths.ts";
import { gprName } from "../cpu/registers.ts";

/** One instruction form found in the surveyed binaries. */
export interface SurveyRow {
  /** objdump's mnemonic (Intel syntax), with a REP/REPZ/REPNZ/LOCK prefix kept as part of it. */
  mnemonic: string;
  /** Operand kinds: `r64`, `m32`, `xmm`, `imm`, `rel`, `sreg`, `cr`, ... comma separated. */
  form: string;
  /** Occurrences per binary label. */
  uses: Map<string, number>;
  /** Sections (binary label: section name) it occurs in, with counts. */
  sections: Map<string, number>;
  /** Occurrences hvsim's decoder implements (not #UD). */
  implemented: number;
  /** Occurrences hvsim decodes as #UD. */
  undefined: number;
  /** Occurrences where hvsim's length differs from objdump's. */
  lengthMismatch: number;
  /** The bytes of the first occurrence, hex. */
  example: string;
  /** objdump's text of the first occurrence. */
  exampleText: string;
  /** What the form needs beyond the baseline ({@linkcode encodingClass}). */
  needs: string;
}

/** A surveyed binary. */
export interface SurveyInput {
  /** Short name used in the table (`busybox`, `linux`). */
  label: string;
  /** Path of the ELF file. */
  path: string;
  /** What it is (package and version), for the document's header. */
  description: string;
}

/** The general registers of one operand size (bytes) as the disassembler names them, with extras. */
function gprSet(size: number, count: number, ...extra: string[]): Set<string> {
  return new Set([...Array.from({ length: count }, (_, r) => gprName(size, r)), ...extra]);
}
const GPR64 = gprSet(8, 16, "rip");
const GPR32 = gprSet(4, 16, "eip", "eiz");
const GPR16 = gprSet(2, 16);
const GPR8 = gprSet(1, 20); // with AH, CH, DH, BH
const SREG = new Set(["es", "cs", "ss", "ds", "fs", "gs"]);
const MEM_SIZE: Record<string, string> = {
  "BYTE": "m8",
  "WORD": "m16",
  "DWORD": "m32",
  "QWORD": "m64",
  "FWORD": "m16:32",
  "TBYTE": "m80",
  "XMMWORD": "m128",
  "OWORD": "m128",
  "YMMWORD": "m256",
  "ZMMWORD": "m512",
};
/** Prefix words objdump prints before a mnemonic that do not change which instruction it is. */
const DROPPED_PREFIXES = new Set([
  "cs",
  "ds",
  "es",
  "ss",
  "fs",
  "gs",
  "data16",
  "addr32",
  "notrack",
  "bnd",
  "rex",
  "xacquire",
  "xrelease",
]);
const KEPT_PREFIXES = new Set(["rep", "repz", "repnz", "repe", "repne", "lock"]);

/** The kind of one Intel-syntax operand as objdump prints it. */
export function operandKind(text: string): string {
  // AVX-512 decorations: a mask register {k1}, zeroing {z}, broadcast {1to8}, rounding {sae}.
  const t = text.replace(/\{[^}]*\}/g, "").trim();
  const m = /^(BYTE|WORD|DWORD|QWORD|FWORD|TBYTE|XMMWORD|OWORD|YMMWORD|ZMMWORD) PTR /.exec(t);
  if (m) return MEM_SIZE[m[1]];
  if (t.includes("[") || /^[a-z]s:0x[0-9a-f]+$/.test(t)) return "m";
  if (GPR64.has(t)) return "r64";
  if (GPR32.has(t)) return "r32";
  if (GPR16.has(t)) return "r16";
  if (GPR8.has(t)) return "r8";
  if (SREG.has(t)) return "sreg";
  if (/^xmm\d+$/.test(t)) return "xmm";
  if (/^ymm\d+$/.test(t)) return "ymm";
  if (/^zmm\d+$/.test(t)) return "zmm";
  if (/^mm\d$/.test(t)) return "mm";
  if (/^st(\(\d\))?$/.test(t)) return "st";
  if (/^cr\d+$/.test(t)) return "cr";
  if (/^db\d+$/.test(t) || /^dr\d+$/.test(t)) return "dr";
  if (/^k\d$/.test(t)) return "k";
  if (/^[0-9a-f]+ <.*>$/.test(t) || /^[0-9a-f]{9,}$/.test(t)) return "rel";
  if (/^-?(0x[0-9a-f]+|\d+)$/.test(t)) return "imm";
  if (/^0x[0-9a-f]+:0x[0-9a-f]+$/.test(t)) return "ptr16:32";
  return "?";
}

/** Splits objdump's Intel-syntax text into its mnemonic (with REP/LOCK) and operand form. */
export function classify(text: string): { mnemonic: string; form: string } {
  let t = text.replace(/\s+#.*$/, "").trim();
  const words: string[] = [];
  for (;;) {
    const m = /^([a-z0-9.]+)(\s+|$)/.exec(t);
    if (!m) break;
    const w = m[1];
    if (DROPPED_PREFIXES.has(w) || /^rex(\.[WRXB]+)?$/.test(w)) {
      t = t.slice(m[0].length);
      continue;
    }
    if (KEPT_PREFIXES.has(w)) {
      words.push(w);
      t = t.slice(m[0].length);
      continue;
    }
    words.push(w);
    t = t.slice(m[0].length);
    break;
  }
  const operands = t.trim() === "" ? [] : splitOperands(t.trim());
  return { mnemonic: words.join(" "), form: operands.map(operandKind).join(", ") };
}

/** Splits on commas outside brackets and parentheses. */
function splitOperands(t: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let k = 0; k < t.length; k++) {
    const c = t[k];
    if (c === "[" || c === "(" || c === "<") depth++;
    else if (c === "]" || c === ")" || c === ">") depth--;
    else if (c === "," && depth === 0) {
      out.push(t.slice(start, k));
      start = k + 1;
    }
  }
  out.push(t.slice(start));
  return out;
}

/** One instruction of objdump's output. */
export interface DisassembledInsn {
  /** Section name. */
  section: string;
  /** The instruction's bytes. */
  bytes: Uint8Array;
  /** objdump's text (Intel syntax, without the address and bytes). */
  text: string;
}

/** Runs GNU objdump over `path` and yields every instruction of every code section. */
export async function* disassemble(path: string): AsyncGenerator<DisassembledInsn> {
  const child = new Deno.Command("objdump", {
    args: ["-d", "-w", "-z", "--insn-width=16", "-M", "intel,intel64", path],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errText = new Response(child.stderr).text();
  let section = "";
  for await (const line of textLines(child.stdout)) {
    const s = /^Disassembly of section (\S+):/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const m = /^\s*[0-9a-f]+:\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (!m) continue;
    const hex = m[1].trim().split(/\s+/);
    yield { section, bytes: Uint8Array.from(hex.map((h) => parseInt(h, 16))), text: m[2] };
  }
  const status = await child.status;
  if (!status.success) throw new Error(`objdump ${path} failed: ${(await errText).trim().slice(0, 300)}`);
}

/** The lines of a byte stream (UTF-8), without their line ends. */
async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

/** Collects instruction forms over several binaries. */
export class Survey {
  /** Rows by `mnemonic|form`. */
  readonly rows: Map<string, SurveyRow> = new Map();
  /** Instructions seen per label. */
  readonly totals: Map<string, number> = new Map();
  /** objdump lines that are not instructions (`(bad)`, data in code) per label. */
  readonly bad: Map<string, number> = new Map();
  readonly #decoder = new HvsimDecoder();
  readonly #cache = new Map<string, { implemented: boolean; length: number }>();

  /** Adds one instruction seen in binary `label`. */
  add(label: string, insn: DisassembledInsn): void {
    const { mnemonic, form } = classify(insn.text);
    if (mnemonic === "" || mnemonic.includes("(bad)") || insn.text.includes("(bad)")) {
      this.bad.set(label, (this.bad.get(label) ?? 0) + 1);
      return;
    }
    // objdump prints a prefix it cannot attach (a lone REX, a segment override before a prefix) as an
    // instruction of its own; the bytes go with the next instruction on a CPU.
    if (insn.bytes.length === 1 && /^(rex(\.[WRXB]+)?|cs|ds|es|ss|fs|gs|data16|addr32)$/.test(mnemonic)) {
      this.bad.set(label, (this.bad.get(label) ?? 0) + 1);
      return;
    }
    this.totals.set(label, (this.totals.get(label) ?? 0) + 1);
    const hex = bytesToHex(insn.bytes);
    let d = this.#cache.get(hex);
    if (d === undefined) {
      const r = this.#decoder.decode(insn.bytes);
      if (r.error !== undefined) throw new Error(`hvsim's decoder threw on ${hex}: ${r.error}`);
      d = { implemented: r.implemented, length: r.length };
      this.#cache.set(hex, d);
    }
    const key = `${mnemonic}|${form}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = {
        mnemonic,
        form,
        uses: new Map(),
        sections: new Map(),
        implemented: 0,
        undefined: 0,
        lengthMismatch: 0,
        example: hex,
        needs: encodingClass(insn.bytes, mnemonic),
        exampleText: insn.text.replace(/\s+#.*$/, "").replace(/\s+/g, " ").trim(),
      };
      this.rows.set(key, row);
    }
    row.uses.set(label, (row.uses.get(label) ?? 0) + 1);
    const sk = `${label}:${insn.section}`;
    row.sections.set(sk, (row.sections.get(sk) ?? 0) + 1);
    if (d.implemented) {
      row.implemented++;
      if (d.length !== insn.bytes.length) row.lengthMismatch++;
    } else row.undefined++;
  }

  /** Disassembles `input.path` and adds every instruction under `input.label`. */
  async addBinary(input: SurveyInput): Promise<void> {
    for await (const insn of disassemble(input.path)) this.add(input.label, insn);
  }

  /** Rows sorted by mnemonic, then form. */
  sorted(): SurveyRow[] {
    return [...this.rows.values()].sort((a, b) =>
      a.mnemonic < b.mnemonic
        ? -1
        : a.mnemonic > b.mnemonic
        ? 1
        : a.form < b.form
        ? -1
        : a.form > b.form
        ? 1
        : 0
    );
  }
}

/**
 * Instructions of the one- and two-byte maps that exist only with a CPU feature, and the CPUID bit
 * that reports it (SDM Vol. 2 CPUID, Tables 3-8 to 3-11; AMD APM Vol. 3 for AMD's own): code that
 * uses them runs only where CPUID reports the feature, which hvsim's CPUID does not.
 */
const FEATURE_OF: Record<string, string> = {
  xbegin: "RTM (CPUID.7:EBX.11)",
  xend: "RTM (CPUID.7:EBX.11)",
  xabort: "RTM (CPUID.7:EBX.11)",
  xtest: "RTM/HLE (CPUID.7:EBX.4/11)",
  clac: "SMAP (CPUID.7:EBX.20)",
  stac: "SMAP (CPUID.7:EBX.20)",
  monitor: "MONITOR (CPUID.1:ECX.3)",
  mwait: "MONITOR (CPUID.1:ECX.3)",
  monitorx: "AMD MONITORX (CPUID.80000001:ECX.29)",
  mwaitx: "AMD MONITORX (CPUID.80000001:ECX.29)",
  rdfsbase: "FSGSBASE (CPUID.7:EBX.0)",
  rdgsbase: "FSGSBASE (CPUID.7:EBX.0)",
  wrfsbase: "FSGSBASE (CPUID.7:EBX.0)",
  wrgsbase: "FSGSBASE (CPUID.7:EBX.0)",
  rdpkru: "PKU (CPUID.7:ECX.3)",
  wrpkru: "PKU (CPUID.7:ECX.3)",
  rdpmc: "performance counters (CPUID.0AH)",
  serialize: "SERIALIZE (CPUID.7:EDX.14)",
  stgi: "AMD SVM (CPUID.80000001:ECX.2)",
  clgi: "AMD SVM (CPUID.80000001:ECX.2)",
  xsaves: "XSAVES (CPUID.(0DH,1):EAX.3)",
  xsaves64: "XSAVES (CPUID.(0DH,1):EAX.3)",
  xrstors: "XSAVES (CPUID.(0DH,1):EAX.3)",
  xrstors64: "XSAVES (CPUID.(0DH,1):EAX.3)",
  popcnt: "POPCNT (CPUID.1:ECX.23)",
  movbe: "MOVBE (CPUID.1:ECX.22)",
  rdpid: "RDPID (CPUID.7:ECX.22)",
  invpcid: "INVPCID (CPUID.7:EBX.10)",
  clwb: "CLWB (CPUID.7:EBX.24)",
  clflushopt: "CLFLUSHOPT (CPUID.7:EBX.23)",
  emms: "MMX (CPUID.1:EDX.23)",
  fwait: "x87 (CPUID.1:EDX.0)",
  finit: "x87 (CPUID.1:EDX.0)",
  fninit: "x87 (CPUID.1:EDX.0)",
};

const LEGACY_PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65];

/**
 * What an instruction needs beyond the x86-64 baseline, from its bytes and mnemonic: the encoding
 * space (VEX, EVEX, x87, the 0f 38 and 0f 3a maps) or the extension (RTM, CET), or "" for the
 * one- and two-byte maps.
 */
export function encodingClass(bytes: Uint8Array, mnemonic: string): string {
  let k = 0, mandatory = false;
  while (k < bytes.length && LEGACY_PREFIXES.includes(bytes[k])) {
    if (bytes[k] === 0x66 || bytes[k] === 0xf2 || bytes[k] === 0xf3) mandatory = true;
    k++;
  }
  if (k < bytes.length && (bytes[k] & 0xf0) === 0x40) k++;
  const b = bytes[k], b1 = bytes[k + 1];
  if (b === 0xc4 || b === 0xc5) return "VEX (AVX, AVX2, BMI)";
  if (b === 0x62) return "EVEX (AVX-512)";
  if (b >= 0xd8 && b <= 0xdf) return "x87";
  const base = mnemonic.replace(/^(lock|rep|repz|repnz|repe|repne) /, "");
  const feature = FEATURE_OF[base];
  if (feature !== undefined) return feature;
  if (/^(incssp|rdssp|saveprevssp|rstorssp|wrss|setssbsy|clrssbsy|endbr)/.test(mnemonic)) return "CET";
  if (b === 0x0f && b1 === 0x38) return "0f 38 map";
  if (b === 0x0f && b1 === 0x3a) return "0f 3a map";
  if (b === 0x0f && b1 !== undefined && ((b1 >= 0x60 && b1 <= 0x7f) || b1 >= 0xd0) && !mandatory) {
    return "MMX";
  }
  return "";
}

/** Sections whose code runs only when the kernel patches it in for a CPU feature. */
const ALTERNATIVE_SECTIONS = /altinstr_replacement/;

/** Whether a row occurs only in alternative-replacement sections (code patched in for CPU features). */
export function onlyAlternatives(row: SurveyRow): boolean {
  for (const s of row.sections.keys()) if (!ALTERNATIVE_SECTIONS.test(s)) return false;
  return true;
}

function status(row: SurveyRow): string {
  if (row.undefined === 0) {
    return row.lengthMismatch === 0 ? "yes" : `yes (length differs ×${row.lengthMismatch})`;
  }
  if (row.implemented === 0) return "**no (#UD)**";
  return `partly (${row.undefined} of ${row.implemented + row.undefined} #UD)`;
}

function usesText(row: SurveyRow, labels: string[]): string {
  return labels.map((l) => String(row.uses.get(l) ?? 0)).join(" | ");
}

function sectionsText(row: SurveyRow): string {
  return [...row.sections.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([s]) => s).join(" ");
}

/** The survey as Markdown: a summary, the forms hvsim does not implement, then every form. */
export function surveyMarkdown(survey: Survey, inputs: SurveyInput[], generatedBy: string): string {
  const labels = inputs.map((i) => i.label);
  const rows = survey.sorted();
  const missing = rows.filter((r) => r.undefined > 0);
  const out: string[] = [];
  out.push("# Instruction survey");
  out.push("");
  out.push(
    "Which x86-64 instructions real binaries contain, and whether hvsim implements each. GNU objdump " +
      "disassembles every code section; each instruction's bytes then go through hvsim's decoder, which " +
      "says whether the encoding is in the instruction table or raises #UD (and with what length). " +
      "Instructions are grouped by mnemonic (Intel syntax, REP and LOCK kept) and operand kinds. A form " +
      "in a binary is not necessarily executed: kernel code in `.altinstr_replacement` is patched in only " +
      "on a CPU that reports the feature it needs, which hvsim's CPUID does not for any feature it lacks. " +
      "The *needs* column names the encoding space or the CPUID feature a form requires: busybox's glibc " +
      "and the kernel choose such code only when CPUID reports the feature (glibc's IFUNCs, the kernel's " +
      "alternatives and feature checks), and hvsim's CPUID reports none that hvsim lacks.",
  );
  out.push("");
  out.push(`Generated by \`${generatedBy}\`.`);
  out.push("");
  out.push("| binary | what | instructions | forms | forms hvsim lacks |");
  out.push("| --- | --- | --- | --- | --- |");
  for (const inp of inputs) {
    const own = rows.filter((r) => r.uses.has(inp.label));
    out.push(
      `| ${inp.label} | ${inp.description} | ${survey.totals.get(inp.label) ?? 0} | ${own.length} | ${
        own.filter((r) => r.undefined > 0).length
      } |`,
    );
  }
  out.push("");
  out.push("## Forms hvsim does not implement");
  out.push("");
  if (missing.length === 0) out.push("None.");
  else {
    out.push(`| instruction | form | ${labels.join(" | ")} | needs | where | example |`);
    out.push(`| --- | --- | ${labels.map(() => "---").join(" | ")} | --- | --- | --- |`);
    for (const r of missing) {
      const alt = onlyAlternatives(r) ? " (alternative only)" : "";
      out.push(
        `| ${r.mnemonic} | ${r.form || "—"} | ${usesText(r, labels)} | ${r.needs} | ${
          sectionsText(r)
        }${alt} | \`${r.example}\` |`,
      );
    }
  }
  out.push("");
  out.push("## Every form");
  out.push("");
  out.push(`| instruction | form | ${labels.join(" | ")} | implemented |`);
  out.push(`| --- | --- | ${labels.map(() => "---").join(" | ")} | --- |`);
  for (const r of rows) {
    const alt = onlyAlternatives(r) ? " (kernel alternative only)" : "";
    out.push(`| ${r.mnemonic} | ${r.form || "—"} | ${usesText(r, labels)} | ${status(r)}${alt} |`);
  }
  out.push("");
  return out.join("\n");
}

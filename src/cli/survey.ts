/**
 * `deno task survey`: the instruction survey of x86-64 binaries against hvsim's decoder (see
 * src/conformance/survey.ts), printed or written as Markdown.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Survey, type SurveyInput, surveyMarkdown } from "../conformance/survey.ts";
import { runCli, UsageError } from "./_common.ts";

const HELP = `Usage: deno task survey [--out FILE] LABEL=PATH[=DESCRIPTION] ...

Disassembles each ELF file with GNU objdump, decodes every instruction with hvsim's decoder, and
prints (or writes to FILE) a Markdown table of the instruction forms found: uses per binary and
whether hvsim implements each or raises #UD. Example:

  deno task survey --out docs/instruction_survey.md busybox=/bin/busybox linux=vmlinux

Options:
  --out FILE   write the Markdown to FILE (laid out by deno fmt) instead of stdout
  -h, --help   this text

Exit status: 0 on success, 2 for bad input.`;

/** The `survey` command. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("give at least one LABEL=PATH (see --help)");
  const inputs: SurveyInput[] = positionals.map((p) => {
    const m = /^([A-Za-z0-9_.-]+)=([^=]+)(?:=(.*))?$/.exec(p);
    if (!m) throw new UsageError(`bad binary "${p}": expected LABEL=PATH or LABEL=PATH=DESCRIPTION`);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(m[2]);
    } catch {
      throw new UsageError(`file ${m[2]} does not exist`);
    }
    if (!info.isFile) throw new UsageError(`${m[2]} is not a file`);
    const head = Deno.readFileSync(m[2]).subarray(0, 5);
    if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46 || head[4] !== 2) {
      throw new UsageError(`${m[2]} is not a 64-bit ELF file`);
    }
    return { label: m[1], path: m[2], description: m[3] ?? m[2] };
  });
  const survey = new Survey();
  for (const inp of inputs) await survey.addBinary(inp);
  // The command as run, with each binary's directory left out (the document names no path outside the repository).
  const shown = args.map((a) => a.replace(/^([A-Za-z0-9_.-]+=)[^=]*\/([^=/]+)(=|$)/, "$1$2$3"));
  const quoted = shown.map((a) => /[\s"']/.test(a) ? `"${a}"` : a).join(" ");
  const md = surveyMarkdown(survey, inputs, `deno task survey ${quoted}`);
  if (values.out === undefined) {
    console.log(md);
    return 0;
  }
  Deno.writeTextFileSync(values.out, md);
  // The repository's formatter lays out the tables, so the file passes `deno fmt --check` as written.
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", values.out] }).output();
  if (!fmt.success) throw new Error(`deno fmt ${values.out} failed`);
  return 0;
}

if (import.meta.main) await runCli("survey", () => main(Deno.args));

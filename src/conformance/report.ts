/**
 * Formats a conformance report as text: per runner speed, every mismatch group with a minimal
 * reproducer (bytes, objdump's disassembly, the initial state, each runner's final values of the
 * fields that differ), the known Unicorn deviations, and a summary line.
 * @module
 */

import { disassemble } from "./assembler.ts";
import { type CaseResult, REG_NAMES, type RegName, type TestCase } from "./case.ts";
import { flagsText, stOf, xmmOf } from "./compare.ts";
import { hostCpuName } from "./host_runner.ts";
import type { ConformanceReport, MismatchGroup } from "./session.ts";
import { UNICORN_DEVIATIONS } from "./unicorn_deviations.ts";
import { VENDOR_DIFFERENCES } from "./vendor_differences.ts";

/** Groups printed in full; the rest are listed one line each. */
export const MAX_DETAILED_GROUPS = 40;

function spaced(hex: string): string {
  return hex.match(/../g)?.join(" ") ?? "";
}

function fieldValue(r: CaseResult | undefined, field: string): string {
  if (!r) return "-";
  if (field === "exception") {
    return r.exception ? `#${r.exception}${r.detail ? ` (${r.detail})` : ""}` : "completed";
  }
  if (field === "rip") return r.rip ?? "-";
  if (field === "rflags") return r.rflags ? flagsText(Number(r.rflags)) : "-";
  const m = /^mem\[0x([0-9a-f]+)\]$/.exec(field);
  if (m) {
    const off = parseInt(m[1], 16);
    return r.mem ? "0x" + r.mem.slice(2 * off, 2 * off + 2) : "-";
  }
  const x = /^xmm(\d+)$/.exec(field);
  if (x) return xmmOf(r.xmm, Number(x[1]));
  if (field === "mxcsr") return r.mxcsr ?? "-";
  const x87 = x87Field(r.x87, field);
  if (x87 !== undefined) return x87;
  return r.regs?.[field as RegName] ?? "-";
}

/** The initial state of a case in a few lines: registers, flags, the scratch bytes that are not zero. */
export function formatInitialState(c: TestCase): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 16; i += 4) {
    lines.push(REG_NAMES.slice(i, i + 4).map((r) => `${r.padStart(3)}=${c.regs[r].padEnd(18)}`).join(" "));
  }
  lines.push(`rflags=${flagsText(Number(c.rflags))}  undefined flags mask=0x${c.undef.flags.toString(16)}`);
  lines.push(`scratch @0x300800: ${c.mem}`);
  if (c.xmm !== undefined) {
    for (let r = 0; r < 16; r += 2) {
      lines.push(`xmm${r}=${xmmOf(c.xmm, r)} xmm${r + 1}=${xmmOf(c.xmm, r + 1)}`);
    }
    lines.push(`mxcsr=${c.mxcsr}`);
  }
  if (c.x87 !== undefined) {
    lines.push(["fcw", "fsw", "ftw"].map((f) => `${f}=${x87Field(c.x87, f)}`).join(" "));
    for (let i = 0; i < 8; i += 2) {
      lines.push(`st${i}=${x87Field(c.x87, `st${i}`)} st${i + 1}=${x87Field(c.x87, `st${i + 1}`)}`);
    }
  }
  return lines;
}

/** A field of an x87 state (case.ts `x87`): fcw, fsw, ftw or st0-st7, as hex; undefined for other fields. */
function x87Field(x87: string | undefined, field: string): string | undefined {
  const k = ["fcw", "fsw", "ftw"].indexOf(field);
  const st = /^st([0-7])$/.exec(field);
  if (k < 0 && !st) return undefined;
  if (x87 === undefined || x87.length !== 172) return "-";
  if (st) return "0x" + stOf(x87, Number(st[1])).toString(16).padStart(20, "0");
  return "0x" + (x87.slice(4 * k + 2, 4 * k + 4) + x87.slice(4 * k, 4 * k + 2));
}

async function formatGroup(g: MismatchGroup, runnerNames: string[]): Promise<string[]> {
  const c = g.example.case;
  const out: string[] = [];
  const tag = !g.deviation
    ? ""
    : VENDOR_DIFFERENCES.some((d) => d.id === g.deviation)
    ? ` [Intel/AMD difference: ${g.deviation}]`
    : ` [known Unicorn deviation: ${g.deviation}]`;
  out.push(`MISMATCH ${g.runner}: ${g.form}  (${g.count} case${g.count === 1 ? "" : "s"})${tag}`);
  let dis: string;
  try {
    dis = await disassemble(c.bytes);
  } catch (e) {
    dis = `(objdump failed: ${(e as Error).message})`;
  }
  out.push(`  case    ${c.id}   asm: ${c.asm}`);
  out.push(`  bytes   ${spaced(c.bytes)}   objdump: ${dis}`);
  for (const l of formatInitialState(c)) out.push(`  init    ${l}`);
  const w = Math.max(8, ...g.example.diffs.map((d) => d.field.length));
  out.push(`  ${"field".padEnd(w)}  ${runnerNames.map((n) => n.padEnd(24)).join(" ")}`);
  for (const d of g.example.diffs) {
    out.push(
      `  ${d.field.padEnd(w)}  ${
        runnerNames.map((n) => fieldValue(g.example.results[n], d.field).padEnd(24)).join(" ")
      }`,
    );
  }
  return out;
}

/** Formats the report as the text `deno task conformance` prints. */
export async function formatReport(r: ConformanceReport): Promise<string> {
  const out: string[] = [];
  const cpu = r.reference === "host" ? ` (${hostCpuName()})` : "";
  out.push(`conformance: seed ${r.seed}, ${r.cases} cases, reference: ${r.reference}${cpu}`);
  const nw = Math.max(8, ...r.runners.map((s) => s.name.length), ...r.unavailable.map((u) => u.name.length));
  for (const s of r.runners) {
    out.push(
      `  ${s.name.padEnd(nw)} ${s.seconds.toFixed(2).padStart(7)} s  ${
        Math.round(s.casesPerSecond).toString().padStart(7)
      } cases/s`,
    );
  }
  for (const u of r.unavailable) out.push(`  ${u.name.padEnd(nw)} not run: ${u.reason}`);
  const names = r.runners.map((s) => s.name);
  const unexplainedGroups = r.groups.filter((g) => !g.deviation);
  let shown = 0;
  for (const g of unexplainedGroups) {
    if (shown++ >= MAX_DETAILED_GROUPS) break;
    out.push("", ...(await formatGroup(g, names)));
  }
  if (unexplainedGroups.length > MAX_DETAILED_GROUPS) {
    out.push("", `... and ${unexplainedGroups.length - MAX_DETAILED_GROUPS} more forms with mismatches:`);
    for (const g of unexplainedGroups.slice(MAX_DETAILED_GROUPS)) {
      out.push(`  ${g.runner}: ${g.form} (${g.count})`);
    }
  }
  const knownGroups = r.groups.filter((g) => g.deviation);
  const listKnown = (title: string, list: readonly { id: string; summary: string }[]) => {
    const lines: string[] = [];
    for (const d of list) {
      const gs = knownGroups.filter((g) => g.deviation === d.id);
      if (gs.length === 0) continue;
      lines.push(
        `  ${d.id}: ${gs.reduce((n, g) => n + g.count, 0)} cases in ${gs.length} forms — ${d.summary}`,
      );
    }
    if (lines.length > 0) out.push("", title, ...lines);
  };
  listKnown("Known Unicorn deviations (the host CPU is right):", UNICORN_DEVIATIONS);
  listKnown(
    "Intel/AMD differences (hvsim follows the Intel SDM, the host is AMD; docs/intel_vs_amd.md):",
    VENDOR_DIFFERENCES,
  );
  out.push(
    "",
    `conformance: ${r.cases} cases, ${r.unexplained} with unexplained mismatches (${unexplainedGroups.length} forms), ` +
      `${r.known} explained by known Unicorn deviations or Intel/AMD differences`,
  );
  return out.join("\n");
}

/** Shared pieces of the migrate, snapshot, restore and inspect commands. */

import { RSP } from "../cpu/mod.ts";
import type { MigrationReport, ReportRegion } from "../migration/mod.ts";
import { readKeyFile, renderReportHtml } from "../migration/mod.ts";
import type { Machine, RunExit } from "../vm/mod.ts";
import { guestMemoryMap, linuxMemoryMap, parseElf } from "../vm/mod.ts";
import { EXIT_REASON_SHORT_NAMES } from "../vmx/exit_reasons.ts";
import { type GuestSpec, UsageError } from "./_common.ts";

/** The `run --json` object (docs/cli-json.md) for a machine that has ended with `exit`. */
export function machineReport(m: Machine, exit: RunExit): Record<string, unknown> {
  const exits: Record<string, number> = {};
  for (const [k, v] of [...m.exitCounts].sort((a, b) => a[0] - b[0])) {
    exits[EXIT_REASON_SHORT_NAMES[k] ?? String(k)] = v;
  }
  return {
    exit: exit.message
      ? { reason: exit.reason, code: exit.code, message: exit.message }
      : { reason: exit.reason, code: exit.code },
    instructions: m.instructions,
    console: m.consoleText(),
    digest: m.digest(),
    regs: m.regs(),
    exits,
  };
}

/** Run `m` to its end or until it has retired `max` instructions in total. */
export function finish(m: Machine, max: number): RunExit {
  return m.exit ?? m.runToEnd(Math.max(0, max - m.instructions));
}

/** The exit status `run` uses for a guest's end. */
export function guestStatus(exit: RunExit): number {
  if (exit.reason === "debug-exit") return exit.code;
  return exit.reason === "hlt" || exit.reason === "instruction-limit" ? 0 : exit.code;
}

/** Parse HOST:PORT, :PORT or PORT (host defaults to 127.0.0.1). */
export function parseHostPort(text: string, what: string): { hostname: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]*):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`bad ${what} "${text}": expected HOST:PORT, e.g. 127.0.0.1:4444`);
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, "") : "127.0.0.1";
  return { hostname: host || "127.0.0.1", port };
}

/** Read `--key-file`, turning its problems into one usage line. */
export async function loadKey(path: string | undefined): Promise<CryptoKey | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readKeyFile(path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Whether stderr is a terminal (for the progress line). */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/**
 * The labelled memory of the guest as `m` holds it now: for an ELF guest its segments, boot
 * structures and stack (from the current RSP); for Linux the zero page, command line, initrd and
 * the running kernel's image (code, rodata, data, bss, and the parts it frees at boot) read from the
 * kernel file, or its load area when the image cannot be read from it.
 */
export function guestRegions(guest: GuestSpec, m: Machine): ReportRegion[] {
  const l = m.linuxLayout;
  if (guest.linux && l !== null) {
    return linuxMemoryMap(guest.file, l, m.ramBytes, new TextEncoder().encode(guest.cmdline).length);
  }
  return guestMemoryMap(
    parseElf(guest.file, m.ramBytes, guest.path),
    m.ramBytes,
    Number(m.cpu.getReg64(RSP)),
  );
}

/** The command as typed, e.g. `deno task migrate guests/build/memwrite.elf --cmdline "ws=8M"`. */
export function commandText(task: string, args: string[]): string {
  const quote = (a: string) => /^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `"${a.replace(/["\\$`]/g, "\\$&")}"`;
  return [`deno task ${task}`, ...args.map(quote)].join(" ");
}

/** Write `data` as an HTML report to `path`; a path that cannot be written is one usage line. */
export function writeReport(path: string, data: MigrationReport): void {
  try {
    Deno.writeTextFileSync(path, renderReportHtml(data));
  } catch (e) {
    throw new UsageError(`cannot write the report ${path}: ${(e as Error).message}`);
  }
}

/**
 * `monitor` commands (qRcmd): what only a hypervisor simulator can show about a stopped guest —
 * the decoded VMCS, an EPT walk with its accessed/dirty flags, the pages dirtied since the last
 * look, retired instructions, VM exits by reason — and the switch between guest-virtual and
 * guest-physical addresses for memory packets.
 *
 * @module
 */

import { EXIT_REASON_SHORT_NAMES } from "../vmx/exit_reasons.ts";
import {
  decodeEptp,
  EPT_ACCESSED,
  EPT_DIRTY,
  EPT_EXECUTE,
  EPT_LARGE_PAGE,
  EPT_READ,
  EPT_WRITE,
  readEptEntry,
} from "../vmx/ept.ts";
import * as F from "../vmx/fields.ts";
import type { DebugTarget } from "./target.ts";

/** The commands and what they do (for `monitor help`). */
export const MONITOR_HELP = `monitor commands:
  vmcs            the current VMCS, decoded field by field (non-zero fields)
  ept GPA         the EPT walk for guest-physical GPA: each entry with R/W/X, A and D flags
  dirty           guest pages written since the last "monitor dirty" (the EPT dirty log)
  icount          instructions retired so far
  exits           VM exits handled, by basic exit reason
  phys on|off     memory packets use guest-physical (on) or guest-virtual (off) addresses
  history         the reverse-execution history: its start and snapshots
  help            this text
`;

const LEVEL_NAMES = ["", "PTE", "PDE", "PDPTE", "PML4E"];
const LEVEL_SIZE = [0, 4096, 2 ** 21, 2 ** 30, 2 ** 39];

/** The EPT walk of guest-physical `gpa`, one line per level (read only: no flag changes). */
export function eptWalkText(t: DebugTarget, gpa: number): string {
  const m = t.machine;
  const eptp = Number(m.vcpu.vmcs.read(F.EPT_POINTER));
  const info = decodeEptp(eptp);
  const lines = [
    `EPTP 0x${eptp.toString(16)}: PML4 at 0x${info.pml4.toString(16)}, ${info.levels} levels, ` +
    `A/D ${info.accessedDirty ? "on" : "off"}`,
  ];
  let table = info.pml4;
  for (let level = 4; level >= 1; level--) {
    const index = Math.floor(gpa / LEVEL_SIZE[level]) % 512;
    const at = table + index * 8;
    const e = readEptEntry(m.mem, at);
    const lo = Number(e & 0xffffffffn);
    const flags = [
      lo & EPT_READ ? "R" : "-",
      lo & EPT_WRITE ? "W" : "-",
      lo & EPT_EXECUTE ? "X" : "-",
      lo & EPT_ACCESSED ? " A" : " -",
      lo & EPT_DIRTY ? "D" : "-",
    ].join("");
    const leaf = level === 1 || ((level === 2 || level === 3) && (lo & EPT_LARGE_PAGE) !== 0);
    const addr = e & 0xffffffffff000n;
    lines.push(
      `${LEVEL_NAMES[level].padEnd(5)} [${String(index).padStart(3)}] at 0x${at.toString(16)}: ` +
        `0x${e.toString(16).padStart(16, "0")}  ${flags}  ` +
        (lo & 7
          ? (leaf
            ? `page 0x${addr.toString(16)} (${LEVEL_SIZE[level] / 1024} KiB)`
            : `table 0x${addr.toString(16)}`)
          : "not present"),
    );
    if ((lo & 7) === 0) break;
    if (leaf) {
      const hpa = Number(addr) + (gpa % LEVEL_SIZE[level]);
      lines.push(`GPA 0x${gpa.toString(16)} -> host-physical 0x${hpa.toString(16)}`);
      break;
    }
    table = Number(addr);
  }
  return lines.join("\n") + "\n";
}

/** Runs one monitor command; returns the text to show (an error message for an unknown command). */
export function runMonitor(t: DebugTarget, command: string): string {
  const words = command.trim().split(/\s+/).filter((w) => w !== "");
  const m = t.machine;
  switch (words[0] ?? "help") {
    case "help":
      return MONITOR_HELP;
    case "vmcs":
      return m.vmcsText().replace(/\n?$/, "\n");
    case "ept": {
      const text = words[1] ?? "";
      const gpa = /^(0x)?[0-9a-fA-F]+$/.test(text) ? Number.parseInt(text.replace(/^0x/, ""), 16) : NaN;
      if (!Number.isSafeInteger(gpa)) {
        return `monitor ept: expected a guest-physical address in hex, e.g. 0x401000\n`;
      }
      return eptWalkText(t, gpa);
    }
    case "dirty": {
      if (t.history === null) return "monitor dirty: no dirty log while the history is off\n";
      const pages = t.history.takeMonitorDirty();
      const shown = pages.slice(0, 64).map((p) => "0x" + (p * 4096).toString(16));
      return `${pages.length} pages dirty since the last harvest` +
        (pages.length ? `: ${shown.join(" ")}${pages.length > 64 ? " ..." : ""}` : "") + "\n";
    }
    case "icount":
      return `${m.instructions} instructions retired\n`;
    case "exits": {
      const rows = [...m.exitCounts].sort((a, b) => a[0] - b[0]);
      if (rows.length === 0) return "no VM exits yet\n";
      return rows.map(([r, n]) =>
        `${String(r).padStart(3)} ${(EXIT_REASON_SHORT_NAMES[r] ?? "unknown").padEnd(20)} ${n}`
      )
        .join("\n") + "\n";
    }
    case "phys":
      if (words[1] === "on") t.space = "physical";
      else if (words[1] === "off") t.space = "virtual";
      else if (words[1] !== undefined) return "monitor phys: expected on or off\n";
      return `memory addresses are guest-${t.space}\n`;
    case "history": {
      const h = t.history;
      if (h === null) return "no history (reverse execution is off)\n";
      return `history from instruction ${h.start}, ${h.size} snapshots every ${h.interval} instructions; ` +
        `now at ${m.instructions}\n`;
    }
    default:
      return `unknown monitor command "${words[0]}" (monitor help lists them)\n`;
  }
}

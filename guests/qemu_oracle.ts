/**
 * QEMU as the output oracle of guests that only a system emulator can run (runs with
 * `"oracle": "qemu"` in guests/manifest.json, the delivery guest):
 *
 * ```
 * deno task qemu-oracle    boot each such run's committed ELF in QEMU (TCG) through guests/qemu/run.sh,
 *                          record QEMU's output with the command and QEMU version in its `qemuOutput`
 *                          file, and write its expected file: QEMU's output with the manifest's
 *                          `qemuDeviations` (lines where QEMU departs from the SDM) put right
 * ```
 *
 * CI does not need QEMU: tests/guests checks that each expected file is exactly its recorded QEMU
 * output with the listed deviations applied, and the end-to-end tests compare hvsim's console with
 * the expected file line for line.
 *
 * @module
 */
import {
  type GuestRun,
  haveQemu,
  type Manifest,
  parseSize,
  type QemuDeviation,
  readManifest,
  REPO_ROOT,
  runQemu,
} from "./build.ts";

/** QEMU's recorded output of one run. */
export interface QemuRecord {
  /** The header lines (without "# "): how the record was made. */
  header: string[];
  /** The console output. */
  console: string;
  /** The last line, as guests/qemu/run.sh prints it ("exit: 0 (qemu status 1)", "exit: triple-fault ..."). */
  exit: string;
}

/** Formats a record: "# " header lines, the console output, then the exit line. */
export function formatQemuRecord(r: QemuRecord): string {
  return r.header.map((h) => `# ${h}\n`).join("") + r.console + r.exit + "\n";
}

/** Parses a record written by {@linkcode formatQemuRecord}. */
export function parseQemuRecord(text: string): QemuRecord {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const header: string[] = [];
  while (lines.length > 0 && lines[0].startsWith("# ")) header.push(lines.shift()!.slice(2));
  const exit = lines.pop();
  if (exit === undefined || !exit.startsWith("exit: ")) {
    throw new Error("a QEMU record ends with its exit line");
  }
  return { header, console: lines.map((l) => l + "\n").join(""), exit };
}

/**
 * The expected output from QEMU's console: each line equal to a deviation's `qemu` line becomes
 * its `expected` line. Returns the text and the deviations no line used (each must be used).
 */
export function applyQemuDeviations(
  console: string,
  deviations: readonly QemuDeviation[],
): { text: string; unused: QemuDeviation[] } {
  const used = new Set<QemuDeviation>();
  const text = console.split("\n").map((line) => {
    const d = deviations.find((x) => x.qemu === line);
    if (d === undefined) return line;
    used.add(d);
    return d.expected;
  }).join("\n");
  return { text, unused: deviations.filter((d) => !used.has(d)) };
}

/** The runs whose expected output comes from QEMU. */
export function qemuOracleRuns(manifest: Manifest): GuestRun[] {
  return manifest.runs.filter((r) => r.oracle === "qemu");
}

/** Boots each QEMU-oracle run in QEMU and writes its record and expected file; returns problems. */
export async function writeQemuOracle(manifest: Manifest, root: string = REPO_ROOT): Promise<string[]> {
  const version = new TextDecoder().decode(
    (await new Deno.Command("qemu-system-x86_64", { args: ["--version"], stdout: "piped" }).output()).stdout,
  ).split("\n")[0];
  const problems: string[] = [];
  for (const run of qemuOracleRuns(manifest)) {
    const result = await runQemu(run, root);
    const mib = parseSize(run.memory) >> 20;
    const record: QemuRecord = {
      header: [
        `deno task qemu-oracle: guests/qemu/run.sh ${run.elf} ${mib} '${run.cmdline}'`,
        `${result.command ?? "(run.sh printed no command)"}`,
        version,
      ],
      console: result.console,
      exit: `exit: ${result.exitReason === "debug-exit" ? result.exitCode : result.exitReason}`,
    };
    await Deno.writeTextFile(`${root}/${run.qemuOutput}`, formatQemuRecord(record));
    const { text, unused } = applyQemuDeviations(result.console, run.qemuDeviations ?? []);
    await Deno.writeTextFile(`${root}/${run.expected}`, text);
    for (const d of unused) problems.push(`${run.name}: QEMU no longer prints "${d.qemu}"`);
    if (result.exitReason !== run.exitReason) {
      problems.push(`${run.name}: QEMU exit reason ${result.exitReason}, manifest says ${run.exitReason}`);
    } else if (result.exitCode !== run.exitCode) {
      problems.push(`${run.name}: QEMU exit code ${result.exitCode}, manifest says ${run.exitCode}`);
    }
  }
  return problems;
}

if (import.meta.main) {
  try {
    if (!(await haveQemu())) {
      console.error("qemu-oracle: qemu-system-x86_64 not found (Debian package qemu-system-x86)");
      Deno.exit(1);
    }
    const manifest = await readManifest();
    const problems = await writeQemuOracle(manifest);
    for (const p of problems) console.error(`qemu-oracle: ${p}`);
    for (const run of qemuOracleRuns(manifest)) {
      console.log(`qemu-oracle: wrote ${run.qemuOutput} and ${run.expected}`);
    }
    Deno.exit(problems.length === 0 ? 0 : 1);
  } catch (e) {
    console.error(`qemu-oracle: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}

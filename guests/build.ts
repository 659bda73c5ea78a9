/**
 * Builds the sample guests listed in guests/manifest.json with gcc, and their native (Linux)
 * twins, which are the oracle for the guests' expected console output.
 *
 * ```
 * deno task guests                 build guests/build/*.elf and write every run's expected output
 *                                  from its native build
 * deno task guests --check         rebuild into a temp dir; fail if a committed ELF differs
 * deno task guests --native-check  run the native builds; fail if output or exit code differs
 *                                  from the committed expectation
 * deno task guests --qemu-check    boot every committed ELF in QEMU (TCG) through guests/qemu/run.sh;
 *                                  fail if output or exit code differs (needs qemu-system-x86_64)
 * deno task guests --linux         rebuild guests/linux/bzImage and initramfs.cpio.gz (guests/linux/
 *                                  build.sh; minutes: a kernel build)
 * deno task guests --check --linux rebuild them in a temp dir; fail if a committed file differs
 * ```
 *
 * Paths are resolved against the repository root, and gcc runs with the root as working
 * directory, so that file names embedded in the ELF files are relative and the bytes do not
 * depend on where the checkout lives.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The repository root (the parent of guests/). */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Path of the manifest, relative to the repository root. */
export const MANIFEST_PATH = "guests/manifest.json";

/** Compiler flags shared by the guest ELF and its native twin (see guests/README.md). */
export const COMMON_CFLAGS: readonly string[] = [
  "-std=gnu11",
  "-ffreestanding",
  "-fno-builtin",
  "-fno-tree-loop-distribute-patterns",
  "-mgeneral-regs-only",
  "-mno-red-zone",
  "-fno-stack-protector",
  "-fcf-protection=none",
  "-fno-asynchronous-unwind-tables",
  "-fno-ident",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Iguests/runtime",
];

/** Extra flags for the freestanding guest ELF (linked at gcc's default 0x400000). */
export const GUEST_LDFLAGS: readonly string[] = [
  "-nostdlib",
  "-static",
  "-no-pie",
  "-fno-pic",
  "-Wl,--build-id=none",
  "-Wl,-z,noexecstack",
];

/** Runtime sources linked into every guest that uses the runtime (guest and native builds). */
export const RUNTIME_SOURCES: readonly string[] = [
  "guests/runtime/console.c",
  "guests/runtime/string.c",
  "guests/runtime/heap.c",
  "guests/runtime/cmdline.c",
  "guests/runtime/check.c",
];

/** Runtime sources only the freestanding guest uses: entry code and the port-I/O platform layer. */
export const GUEST_ONLY_SOURCES: readonly string[] = [
  "guests/runtime/crt0.S",
  "guests/runtime/platform_hv.c",
];

/** The native platform layer. */
export const NATIVE_SHIM = "guests/runtime/linux/shim.c";

/** How one ELF is built. */
export interface GuestBuild {
  /** ELF path relative to the repository root, e.g. "guests/build/sort-O0.elf". */
  elf: string;
  /** The guest's own sources (C or assembly), relative to the repository root. */
  sources: string[];
  /** Optimization level, e.g. "-O2". */
  opt: string;
  /**
   * Build with DWARF debug information (-g) for debugging with gdb; source paths are recorded
   * relative to the repository root, so the ELF does not depend on where the checkout lives.
   */
  debug?: boolean;
  /** Link the runtime (crt0, console, string, heap, cmdline); false for a guest with its own entry. */
  runtime: boolean;
  /** Whether a native twin exists (false for guests that need ring 0, e.g. the kernel-like guest). */
  native: boolean;
  /** Build with gcc's default x86-64 code generation (SSE2) instead of `-mgeneral-regs-only`. */
  sse?: boolean;
  /** An SSE build for this `-march` level, e.g. "x86-64-v2" (SSE3 .. SSE4.2, POPCNT). */
  march?: string;
}

/**
 * The shared flags for `build`: COMMON_CFLAGS, less `-mgeneral-regs-only` for an SSE build, plus
 * `-march=` when the build names a level.
 */
export function cflagsOf(build: GuestBuild): string[] {
  const flags = COMMON_CFLAGS.filter((f) => !(build.sse === true && f === "-mgeneral-regs-only"));
  return build.march === undefined ? flags : [...flags, `-march=${build.march}`];
}

/** One run of a guest: an ELF, a command line and what it must print. */
export interface GuestRun {
  /** Unique name, e.g. "sort-O0". */
  name: string;
  /** Key into the manifest's builds. */
  build: string;
  /** ELF path relative to the repository root (the build's elf, repeated for consumers). */
  elf: string;
  /** Command line passed as `--cmdline`. */
  cmdline: string;
  /** Guest RAM as passed to `--memory` ("64M"). */
  memory: string;
  /** File holding the expected console output, relative to the repository root. */
  expected: string;
  /** Expected exit code (value written to port 0xF4; 0 for other exit reasons). */
  exitCode: number;
  /** Expected exit reason, as in `deno task run --json`: "debug-exit" (port 0xF4) or "triple-fault". */
  exitReason: "debug-exit" | "triple-fault";
  /** Whether the run is a compute/memory workload meant for benchmarks. */
  benchmark: boolean;
  /**
   * For a benchmark: the command line of the long run (about ten times the work), where the
   * compiled code's warm-up in V8 no longer dominates the time.
   */
  longCmdline?: string;
  /**
   * For a benchmark built with gcc's default flags (SSE2): the run of the same program built with
   * `-mgeneral-regs-only`, on the same command lines, which `deno task bench` shows beside it.
   */
  generalRegs?: string;
  /**
   * How the expected output was derived: "native" (the native twin's output), "reasoned" (by hand
   * from the SDM) or "qemu" (QEMU's recorded output, `qemuOutput`, with the listed deviations).
   */
  oracle: "native" | "reasoned" | "qemu";
  /** For the "qemu" oracle: the file holding QEMU's recorded output (guests/qemu_oracle.ts). */
  qemuOutput?: string;
  /** Lines where QEMU (TCG) departs from the SDM, and so from the expected output. */
  qemuDeviations?: QemuDeviation[];
}

/** One expected-output line that QEMU prints differently, with the reason. */
export interface QemuDeviation {
  /** The line as the SDM has it (in the expected file). */
  expected: string;
  /** The line as QEMU prints it. */
  qemu: string;
  /** Why they differ. */
  why: string;
}

/** The parsed guests/manifest.json. */
export interface Manifest {
  version: number;
  builds: Record<string, GuestBuild>;
  runs: GuestRun[];
}

/** Reads and validates guests/manifest.json. */
export async function readManifest(root: string = REPO_ROOT): Promise<Manifest> {
  const text = await Deno.readTextFile(`${root}/${MANIFEST_PATH}`);
  const manifest = JSON.parse(text) as Manifest;
  if (manifest.version !== 1) {
    throw new Error(`${MANIFEST_PATH}: version ${manifest.version} is not supported (expected 1)`);
  }
  const names = new Set<string>();
  for (const run of manifest.runs) {
    const build = manifest.builds[run.build];
    if (!build) throw new Error(`${MANIFEST_PATH}: run ${run.name} names unknown build ${run.build}`);
    if (build.elf !== run.elf) {
      throw new Error(`${MANIFEST_PATH}: run ${run.name} has elf ${run.elf}, its build says ${build.elf}`);
    }
    if (names.has(run.name)) throw new Error(`${MANIFEST_PATH}: duplicate run name ${run.name}`);
    names.add(run.name);
    if (run.oracle === "native" && !build.native) {
      throw new Error(`${MANIFEST_PATH}: run ${run.name} wants a native oracle but its build has none`);
    }
    if (run.oracle === "qemu" && run.qemuOutput === undefined) {
      throw new Error(`${MANIFEST_PATH}: run ${run.name} has the QEMU oracle but no qemuOutput file`);
    }
    if (run.generalRegs !== undefined) {
      const twin = manifest.runs.find((r) => r.name === run.generalRegs);
      if (
        twin === undefined || !twin.benchmark || !run.benchmark || manifest.builds[twin.build].sse === true ||
        twin.cmdline !== run.cmdline || twin.longCmdline !== run.longCmdline
      ) {
        throw new Error(
          `${MANIFEST_PATH}: run ${run.name}: generalRegs must name a general-register benchmark run with its command lines`,
        );
      }
    }
    if (run.oracle === "native" && run.exitReason !== "debug-exit") {
      throw new Error(`${MANIFEST_PATH}: run ${run.name}: a native oracle can only check "debug-exit"`);
    }
  }
  return manifest;
}

/** Parses a size such as "64M", "4096" or "1G" into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(text);
  if (!m) throw new RangeError(`Bad size "${text}": expected a number with optional K/M/G suffix`);
  const scale: Record<string, number> = { "": 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };
  return Number(m[1]) * scale[m[2].toUpperCase()];
}

/** Whether gcc can be run. */
export async function haveGcc(): Promise<boolean> {
  try {
    const out = await new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function gcc(args: string[], root: string): Promise<void> {
  const out = await new Deno.Command("gcc", { args, cwd: root, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`gcc ${args.join(" ")} failed:\n${err}`);
  }
}

/** Runs tasks with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/** -g and the prefix map that keeps the checkout's path out of the debug information. */
function debugFlags(build: GuestBuild, root: string): string[] {
  return build.debug ? ["-g", `-fdebug-prefix-map=${root}=.`] : [];
}

/** Builds one guest ELF at `outPath` (absolute, or relative to the repository root). */
export async function buildElf(build: GuestBuild, outPath: string, root: string = REPO_ROOT): Promise<void> {
  const runtime = build.runtime ? [...GUEST_ONLY_SOURCES, ...RUNTIME_SOURCES] : [];
  await gcc([
    build.opt,
    ...debugFlags(build, root),
    ...cflagsOf(build),
    ...GUEST_LDFLAGS,
    "-o",
    outPath,
    ...runtime,
    ...build.sources,
    "-lgcc",
  ], root);
}

/** Builds the native twin of a guest at `outPath` (absolute). */
export async function buildNative(
  build: GuestBuild,
  outPath: string,
  root: string = REPO_ROOT,
): Promise<void> {
  const objDir = `${outPath}.obj`;
  await Deno.mkdir(objDir, { recursive: true });
  const sources = [...RUNTIME_SOURCES, ...build.sources];
  const objects: string[] = [];
  for (const [i, src] of sources.entries()) {
    const obj = `${objDir}/${i}.o`;
    await gcc([build.opt, ...cflagsOf(build), "-Dmain=guest_main", "-c", "-o", obj, src], root);
    objects.push(obj);
  }
  await gcc(["-O2", "-Wall", "-Wextra", "-Werror", "-o", outPath, NATIVE_SHIM, ...objects], root);
}

/** Builds every ELF of the manifest into `outDir` (absolute); returns build key -> ELF path. */
export async function buildAllElfs(manifest: Manifest, outDir: string, root: string = REPO_ROOT) {
  await Deno.mkdir(outDir, { recursive: true });
  const paths = new Map<string, string>();
  const keys = Object.keys(manifest.builds);
  await pool(keys, 4, async (key) => {
    const build = manifest.builds[key];
    const out = `${outDir}/${build.elf.split("/").pop()}`;
    await buildElf(build, out, root);
    paths.set(key, out);
  });
  return paths;
}

/** Builds every native twin of the manifest into `outDir` (absolute); returns build key -> path. */
export async function buildAllNatives(manifest: Manifest, outDir: string, root: string = REPO_ROOT) {
  await Deno.mkdir(outDir, { recursive: true });
  const paths = new Map<string, string>();
  const keys = Object.keys(manifest.builds).filter((k) => manifest.builds[k].native);
  await pool(keys, 4, async (key) => {
    const out = `${outDir}/${key}.native`;
    await buildNative(manifest.builds[key], out, root);
    paths.set(key, out);
  });
  return paths;
}

/** Output of one native or QEMU run. */
export interface NativeResult {
  console: string;
  exitCode: number;
  /** "debug-exit", "triple-fault" or (QEMU only) "timeout". */
  exitReason: string;
  /** QEMU only: the command line guests/qemu/run.sh ran (temporary paths shortened). */
  command?: string;
}

/** Runs a native twin the way hvsim would run the guest: same cmdline words, same RAM size. */
export async function runNative(path: string, run: GuestRun): Promise<NativeResult> {
  const words = run.cmdline.split(" ").filter((w) => w !== "");
  const out = await new Deno.Command(path, {
    args: [`--memory=${parseSize(run.memory)}`, ...words],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return { console: new TextDecoder().decode(out.stdout), exitCode: out.code, exitReason: "debug-exit" };
}

/** The committed Linux guest files that guests/linux/build.sh writes, relative to the repository root. */
export const LINUX_FILES: readonly string[] = ["guests/linux/bzImage", "guests/linux/initramfs.cpio.gz"];

/**
 * Runs guests/linux/build.sh with a scratch directory (`HVSIM_LINUX_SCRATCH`, default a temp dir,
 * removed after) writing into `out`.
 */
export async function buildLinux(out: string, root: string = REPO_ROOT): Promise<void> {
  const given = Deno.env.get("HVSIM_LINUX_SCRATCH");
  const scratch = given ?? await Deno.makeTempDir({ prefix: "hvsim-linux-" });
  try {
    const r = await new Deno.Command(`${root}/guests/linux/build.sh`, {
      args: [scratch, out],
      cwd: root,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!r.success) throw new Error(`guests/linux/build.sh failed (exit ${r.code})`);
  } finally {
    if (given === undefined) await Deno.remove(scratch, { recursive: true });
  }
}

/** Rebuilds the Linux guest files in a temp dir and compares them with the committed ones. */
export async function checkLinux(root: string = REPO_ROOT): Promise<string[]> {
  const tmp = await Deno.makeTempDir({ prefix: "hvsim-linux-out-" });
  try {
    await buildLinux(tmp, root);
    const problems: string[] = [];
    for (const f of LINUX_FILES) {
      const name = f.slice(f.lastIndexOf("/") + 1);
      const committed = await Deno.readFile(`${root}/${f}`).catch(() => null);
      if (committed === null) {
        problems.push(`${f} is missing (run \`deno task guests --linux\` and commit it)`);
      } else if (!equalBytes(committed, await Deno.readFile(`${tmp}/${name}`))) {
        problems.push(`${f} differs from what guests/linux/build.sh builds`);
      }
    }
    return problems;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Compares each committed ELF with a fresh build; returns one line per difference. */
export async function checkElfs(manifest: Manifest, root: string = REPO_ROOT): Promise<string[]> {
  const tmp = await Deno.makeTempDir({ prefix: "hvsim-guests-" });
  try {
    const fresh = await buildAllElfs(manifest, tmp, root);
    const problems: string[] = [];
    for (const [key, path] of fresh) {
      const elf = manifest.builds[key].elf;
      let committed: Uint8Array;
      try {
        committed = await Deno.readFile(`${root}/${elf}`);
      } catch {
        problems.push(`${elf} is missing (run \`deno task guests\` and commit it)`);
        continue;
      }
      const built = await Deno.readFile(path);
      if (!equalBytes(committed, built)) {
        problems.push(`${elf} differs from what its sources build (run \`deno task guests\` and commit it)`);
      }
    }
    return problems.sort();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Runs every native twin and compares with the committed expectations; one line per difference. */
export async function checkNative(manifest: Manifest, root: string = REPO_ROOT): Promise<string[]> {
  const tmp = await Deno.makeTempDir({ prefix: "hvsim-native-" });
  try {
    const natives = await buildAllNatives(manifest, tmp, root);
    const problems: string[] = [];
    const runs = manifest.runs.filter((r) => r.oracle === "native");
    await pool(runs, 2, async (run) => {
      const result = await runNative(natives.get(run.build)!, run);
      const expected = await Deno.readTextFile(`${root}/${run.expected}`).catch(() => null);
      if (expected === null) problems.push(`${run.name}: ${run.expected} is missing`);
      else if (expected !== result.console) {
        problems.push(`${run.name}: native output differs from ${run.expected}`);
      }
      if (result.exitCode !== run.exitCode) {
        problems.push(`${run.name}: native exit code ${result.exitCode}, manifest says ${run.exitCode}`);
      }
    });
    return problems.sort();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Whether QEMU's x86-64 system emulator can be run. */
export async function haveQemu(): Promise<boolean> {
  try {
    const cmd = new Deno.Command("qemu-system-x86_64", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    });
    return (await cmd.output()).success;
  } catch {
    return false;
  }
}

/** Boots a run's committed ELF in QEMU (TCG) through guests/qemu/run.sh. */
export async function runQemu(run: GuestRun, root: string = REPO_ROOT): Promise<NativeResult> {
  const mib = parseSize(run.memory) >> 20;
  const out = await new Deno.Command(`${root}/guests/qemu/run.sh`, {
    args: [`${root}/${run.elf}`, String(mib), run.cmdline],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const at = text.lastIndexOf("exit: ");
  if (at < 0) throw new Error(`${run.name}: guests/qemu/run.sh printed no exit line`);
  const word = text.slice(at + 6).split(" ")[0];
  const code = /^\d+$/.test(word) ? Number(word) : 0;
  const command = /^qemu command: (.*)$/m.exec(new TextDecoder().decode(out.stderr))?.[1];
  return {
    console: text.slice(0, at),
    exitCode: code,
    exitReason: /^\d+$/.test(word) ? "debug-exit" : word,
    command,
  };
}

/** Boots every run in QEMU and compares with the expected output (allowing the listed deviations). */
export async function checkQemu(manifest: Manifest, root: string = REPO_ROOT): Promise<string[]> {
  const problems: string[] = [];
  await pool(manifest.runs, 2, async (run) => {
    const result = await runQemu(run, root);
    let expected = await Deno.readTextFile(`${root}/${run.expected}`);
    for (const d of run.qemuDeviations ?? []) expected = expected.replace(d.expected, d.qemu);
    if (expected !== result.console) problems.push(`${run.name}: QEMU output differs from ${run.expected}`);
    if (result.exitReason !== run.exitReason) {
      problems.push(`${run.name}: QEMU exit reason ${result.exitReason}, manifest says ${run.exitReason}`);
    } else if (result.exitCode !== run.exitCode) {
      problems.push(`${run.name}: QEMU exit code ${result.exitCode}, manifest says ${run.exitCode}`);
    }
  });
  return problems.sort();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Builds the committed ELFs and writes every native-oracle run's expected output. */
export async function buildAll(manifest: Manifest, root: string = REPO_ROOT): Promise<string[]> {
  await buildAllElfs(manifest, `${root}/guests/build`, root);
  const tmp = await Deno.makeTempDir({ prefix: "hvsim-native-" });
  try {
    const natives = await buildAllNatives(manifest, tmp, root);
    const problems: string[] = [];
    for (const run of manifest.runs.filter((r) => r.oracle === "native")) {
      const result = await runNative(natives.get(run.build)!, run);
      await Deno.writeTextFile(`${root}/${run.expected}`, result.console);
      if (result.exitCode !== run.exitCode) {
        problems.push(`${run.name}: native exit code ${result.exitCode}, manifest says ${run.exitCode}`);
      }
    }
    return problems;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      check: { type: "boolean", default: false },
      "native-check": { type: "boolean", default: false },
      "qemu-check": { type: "boolean", default: false },
      linux: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task guests [--check | --native-check | --qemu-check]\n" +
        "  (no option)     build guests/build/*.elf and write expected outputs from the native builds\n" +
        "  --check         fail if a committed ELF differs from what its sources build\n" +
        "  --native-check  fail if a native build's output differs from the committed expected output\n" +
        "  --qemu-check    fail if a committed ELF booted in QEMU prints other than the expected output\n" +
        "  --linux         rebuild guests/linux/bzImage and initramfs.cpio.gz (a kernel build: minutes);\n" +
        "                  with --check, rebuild them in a temp dir and fail if a committed file differs",
    );
    return 0;
  }
  if (values.linux) {
    if (values.check) {
      const problems = await checkLinux();
      for (const p of problems) console.error(`guests: ${p}`);
      if (problems.length === 0) {
        console.log("guests: the Linux kernel and initramfs match guests/linux/build.sh");
      }
      return problems.length === 0 ? 0 : 1;
    }
    await buildLinux(`${REPO_ROOT}/guests/linux`);
    console.log("guests: built guests/linux/bzImage and guests/linux/initramfs.cpio.gz");
    return 0;
  }
  if (!(await haveGcc())) {
    console.error("guests: gcc not found (expected gcc 12 on PATH)");
    return 1;
  }
  const manifest = await readManifest();
  let problems: string[];
  if (values["qemu-check"]) {
    if (!(await haveQemu())) {
      console.error("guests: qemu-system-x86_64 not found (Debian package qemu-system-x86)");
      return 1;
    }
    problems = await checkQemu(manifest);
  } else if (values.check) problems = await checkElfs(manifest);
  else if (values["native-check"]) problems = await checkNative(manifest);
  else problems = await buildAll(manifest);
  for (const p of problems) console.error(`guests: ${p}`);
  if (problems.length === 0) {
    const what = values["qemu-check"]
      ? "QEMU outputs match the expected files (allowing the listed QEMU deviations)"
      : values.check
      ? "ELF files match their sources"
      : values["native-check"]
      ? "native outputs match the expected files"
      : "built";
    console.log(
      `guests: ${Object.keys(manifest.builds).length} builds, ${manifest.runs.length} runs: ${what}`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`guests: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}

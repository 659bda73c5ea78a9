/**
 * Oracle 1: the host CPU, through `host_oracle.c` built with gcc into `.cache/conformance/`.
 * @module
 */

import {
  type CaseResult,
  CODE_ADDR,
  CODE_REGION_BASE,
  CODE_REGION_SIZE,
  SCRATCH_ADDR,
  SCRATCH_PAGE,
  SCRATCH_SIZE,
  type TestCase,
} from "./case.ts";
import type { Runner } from "./runner.ts";
import { runJsonLinesProcess } from "./_process.ts";
import { cacheDir, sha256Hex } from "./_paths.ts";

/** The C compiler used to build the host oracle. */
export const HOST_CC = "gcc";

/**
 * Builds the host oracle (once per source and layout; cached by content hash) and returns the
 * executable's path. Throws an `Error` with gcc's message if the build fails.
 */
export async function buildHostOracle(): Promise<string> {
  const src = new URL("./host_oracle.c", import.meta.url).pathname;
  const text = await Deno.readTextFile(src);
  const defines = {
    CODE_REGION_BASE,
    CODE_REGION_SIZE,
    CODE_ADDR,
    SCRATCH_PAGE,
    SCRATCH_ADDR,
    SCRATCH_SIZE,
  };
  const args = [
    "-O2",
    "-Wall",
    "-Wextra",
    ...Object.entries(defines).map(([k, v]) => `-D${k}=0x${v.toString(16)}`),
  ];
  const hash = (await sha256Hex(text + "\n" + args.join(" "))).slice(0, 16);
  const exe = `${await cacheDir()}/host_oracle-${hash}`;
  try {
    await Deno.stat(exe);
    return exe;
  } catch {
    // not built yet
  }
  const tmp = `${exe}.tmp${Date.now()}`;
  const out = await new Deno.Command(HOST_CC, { args: [...args, "-o", tmp, src], stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Cannot build the host oracle with ${HOST_CC}: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(tmp, exe);
  return exe;
}

/** Runs cases natively on the host CPU. */
export class HostRunner implements Runner {
  /** Runner name in reports. */
  readonly name = "host";
  #exe: string;

  /** Wraps an already built oracle executable (see `buildHostOracle`). */
  constructor(exe: string) {
    this.#exe = exe;
  }

  /** Builds the oracle if needed and returns a runner for it. */
  static async create(): Promise<HostRunner> {
    return new HostRunner(await buildHostOracle());
  }

  /** Runs every case in one oracle process (restarted after a crash). */
  run(cases: readonly TestCase[]): Promise<CaseResult[]> {
    return runJsonLinesProcess(this.#exe, [], cases);
  }
}

/** The host CPU's vendor and model from /proc/cpuinfo (e.g. `AuthenticAMD, AMD EPYC`), or `unknown`. */
export function hostCpuName(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
    return [field("vendor_id"), field("model name")].filter((x) => x).join(", ") || "unknown";
  } catch {
    return "unknown";
  }
}

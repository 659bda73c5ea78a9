/**
 * Shared command-line plumbing: one clear line and a non-zero exit for user errors.
 *
 * @module
 */

import { parseSize } from "../vm/elf.ts";
import { GUEST_RAM_GRANULE, type Machine, type MachineOptions, MAX_GUEST_RAM_BYTES } from "../vm/machine.ts";
import { bootMachine } from "../vm/guest_boot.ts";
import { initrdFormat, isLinuxKernel } from "../vm/linux_loader.ts";

/** A mistake the user made on the command line or in an input file (exit status 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Runs `main`; a UsageError, RangeError or missing file becomes one line on stderr and exit status 2. */
export async function runCli(name: string, main: () => Promise<number> | number): Promise<never> {
  let status: number;
  try {
    status = await main();
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError || e instanceof TypeError) {
      console.error(`${name}: ${e.message.replace(/\s*\n\s*/g, " ")}`);
      Deno.exit(2);
    }
    if (e instanceof Deno.errors.NotFound) {
      console.error(
        `${name}: ${e.message.replace(/^No such file or directory \(os error 2\): /, "no such file: ")}`,
      );
      Deno.exit(2);
    }
    throw e;
  }
  Deno.exit(status);
}

/** Reads a file, with a one-line error naming it. */
export function readInput(path: string, what = "file"): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`${what} ${path} does not exist`);
    if (e instanceof Deno.errors.IsADirectory) throw new UsageError(`${what} ${path} is a directory`);
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Parses a non-negative integer option, with SI-free suffixes k/M/G as powers of 1000 allowed. */
export function parseCount(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`bad ${what} "${text}": expected a whole number, optionally with k, M or G`);
  const mult = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 }[m[2]]!;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new UsageError(`bad ${what} "${text}": not a whole number`);
  return v;
}

/** Parses a --memory value: a size that is a multiple of 2 MiB, from 2 MiB to 16 GiB. */
export function parseMemory(text: string): number {
  const memory = parseSize(text, "--memory");
  if (memory < GUEST_RAM_GRANULE || memory % GUEST_RAM_GRANULE !== 0) {
    throw new UsageError(`bad --memory ${text}: must be a multiple of 2 MiB, at least 2 MiB`);
  }
  if (memory > MAX_GUEST_RAM_BYTES) throw new UsageError(`bad --memory ${text}: at most 16 GiB`);
  return memory;
}

/** The options for booting a Linux kernel, and the platform's clock, shared by every command that builds a VM. */
export const LINUX_OPTIONS = {
  initrd: { type: "string" },
  append: { type: "string" },
  "rtc-start": { type: "string" },
} as const;

/** Help text of {@link LINUX_OPTIONS}. */
export const LINUX_HELP =
  `  --initrd FILE            with a Linux kernel (bzImage or vmlinux): the initramfs to load
  --append TEXT            with a Linux kernel: its command line (the same as --cmdline)
  --rtc-start TIME         the CMOS clock's time at boot, ISO 8601 in UTC or with an offset
                           (default 2026-01-01T00:00:00Z: runs repeat exactly)`;

/** A guest as the command line names it: an hvsim ELF guest or a Linux kernel with its initrd. */
export interface GuestSpec {
  /** The guest's path, for messages. */
  path: string;
  /** The ELF guest or kernel. */
  file: Uint8Array;
  /** The initrd, for a Linux kernel. */
  initrd?: Uint8Array;
  /** The initrd's path. */
  initrdPath?: string;
  /** Whether `file` is a Linux kernel. */
  linux: boolean;
  /** The guest's (or kernel's) command line. */
  cmdline: string;
  /** The CMOS clock's time at boot (seconds since the Unix epoch), when given. */
  rtcStart?: number;
}

/**
 * Parses a --rtc-start value: an ISO 8601 date and time with `Z` or an offset, 1970 to 2099.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRtcStart } from "./_common.ts";
 * assert.equal(parseRtcStart("2026-01-01T00:00:00Z"), 1767225600);
 * assert.equal(parseRtcStart("2026-01-01T01:00:00+01:00"), 1767225600);
 * ```
 */
export function parseRtcStart(text: string): number {
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const ms = ok ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms >= Date.UTC(2100, 0, 1)) {
    throw new UsageError(
      `bad --rtc-start "${text}": expected a time from 1970 to 2099 like 2026-01-01T00:00:00Z`,
    );
  }
  return Math.floor(ms / 1000);
}

/**
 * Reads the guest at `path` and the Linux options: a bzImage or vmlinux boots under the Linux boot
 * protocol, anything else is an hvsim ELF guest (for which --initrd and --append are errors).
 */
export function readGuest(
  path: string,
  values: { cmdline?: string; initrd?: string; append?: string; "rtc-start"?: string },
): GuestSpec {
  const file = readInput(path, "guest");
  const linux = isLinuxKernel(file);
  if (!linux && values.initrd !== undefined) {
    throw new UsageError(`--initrd is for a Linux kernel; ${path} is not a bzImage or vmlinux`);
  }
  if (!linux && values.append !== undefined) {
    throw new UsageError(
      `--append is for a Linux kernel; ${path} is not a bzImage or vmlinux (use --cmdline)`,
    );
  }
  if (values.append !== undefined && values.cmdline) {
    throw new UsageError("give the kernel command line once, with --append or --cmdline");
  }
  let initrd: Uint8Array | undefined;
  if (values.initrd !== undefined) {
    initrd = readInput(values.initrd, "initrd");
    initrdFormat(initrd, values.initrd);
  }
  return {
    path,
    file,
    initrd,
    initrdPath: values.initrd,
    linux,
    cmdline: values.append ?? values.cmdline ?? "",
    rtcStart: values["rtc-start"] === undefined ? undefined : parseRtcStart(values["rtc-start"]),
  };
}

/** Builds a machine for `guest` with `opts` (its command line comes from the spec). */
export function buildMachine(guest: GuestSpec, opts: MachineOptions): Machine {
  return bootMachine(
    guest.file,
    guest.initrd,
    { ...opts, cmdline: guest.cmdline, rtcStart: guest.rtcStart },
    guest.path,
  );
}

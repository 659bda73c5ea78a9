/**
 * Shared test helpers for the conformance tests: which oracles this machine can run, and a builder
 * for hand-written cases.
 * @module
 */

import {
  REG_NAMES,
  type RegName,
  RFLAGS_FIXED,
  SCRATCH_ADDR,
  SCRATCH_SIZE,
  type TestCase,
} from "../../src/conformance/case.ts";
import { findUnicornPython } from "../../src/conformance/unicorn_runner.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** gcc and GNU binutils are installed (host oracle, assembler). */
export const HAVE_TOOLCHAIN = (await has("gcc")) && (await has("as")) && (await has("objdump"));
/** python3-unicorn is installed. */
export const HAVE_UNICORN = (await findUnicornPython()) !== undefined;

if (!HAVE_TOOLCHAIN) console.warn("conformance tests: gcc/binutils missing, host-oracle tests are skipped");
if (!HAVE_UNICORN) {
  console.warn(
    "conformance tests: python3-unicorn missing (apt-get install -y python3-unicorn), Unicorn tests are skipped",
  );
}

/** A case from hex bytes and a few register values (others 0), RSP in the scratch area. */
export function makeCase(
  id: string,
  bytes: string,
  regs: Partial<Record<RegName, bigint>> = {},
  rflags = RFLAGS_FIXED,
  mem = new Uint8Array(SCRATCH_SIZE),
): TestCase {
  const r = {} as Record<RegName, string>;
  for (const n of REG_NAMES) {
    r[n] = "0x" +
      BigInt.asUintN(64, regs[n] ?? (n === "rsp" ? BigInt(SCRATCH_ADDR + 0x80) : 0n)).toString(16);
  }
  return {
    id,
    form: id,
    asm: "",
    bytes,
    regs: r,
    rflags: "0x" + rflags.toString(16),
    mem: Array.from(mem, (b) => b.toString(16).padStart(2, "0")).join(""),
    undef: { flags: 0 },
  };
}

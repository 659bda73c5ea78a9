/**
 * Replays instruction fixtures (cases with outcomes recorded on the host CPU by
 * _tools/make_fixtures.ts) on the interpreter and reports every difference outside the bits the
 * SDM leaves undefined.
 */

import type { Cpu } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, hexBytes, load, REGS, SCRATCH_ADDR, SCRATCH_SIZE } from "./_harness.ts";
import { SEG_CS, SEG_SS } from "../../src/cpu/mod.ts";
import { VENDOR_DIFFERENCES } from "../../src/conformance/vendor_differences.ts";

/** The outcome recorded on the host. */
export interface Want {
  /** Exception mnemonic (`DE`, `UD`, `GP`, `PF`, ...), when the instruction faulted. */
  exception?: string;
  /** Registers whose final value differs from the initial one. */
  regs?: Record<string, string>;
  /** Final RIP relative to the code address (where the INT3 sentinel stopped the run). */
  rip?: number;
  /** Final status flags and DF. */
  flags?: number;
  /** Nonzero runs of the final scratch area: [offset, hex]. */
  mem?: [number, string][];
}

/** One case of a fixture. */
export interface FixtureCase {
  asm: string;
  bytes: string;
  /** Nonzero initial registers. */
  regs?: Record<string, string>;
  flags?: number;
  /** Nonzero runs of the initial scratch area. */
  mem?: [number, string][];
  undef?: number;
  undefRegs?: Record<string, string>;
  want: Want;
}

/** A fixture file. */
export interface Fixture {
  family: string;
  source: string;
  host: string;
  cases: FixtureCase[];
}

const EXC: Record<number, string> = {
  0: "DE",
  1: "DB",
  3: "BP",
  5: "BR",
  6: "UD",
  12: "SS",
  13: "GP",
  14: "PF",
  17: "AC",
};

/** Reads tests/cpu/fixtures/<name>.jsonl (a header line, then one case per line). */
export function readFixture(name: string): Fixture {
  const lines = Deno.readTextFileSync(new URL(`./fixtures/${name}.jsonl`, import.meta.url)).split("\n");
  const header = JSON.parse(lines[0]);
  return { ...header, cases: lines.slice(1).filter((l) => l !== "").map((l) => JSON.parse(l)) };
}

function scratchOf(runs: [number, string][] | undefined): Uint8Array {
  const m = new Uint8Array(SCRATCH_SIZE);
  for (const [off, h] of runs ?? []) m.set(hexBytes(h), off);
  return m;
}

/**
 * Runs one case; returns the differences from the recorded outcome (empty when it matches). When
 * the outcome was recorded on an AMD CPU (`amdHost`), an Intel/AMD difference that applies to the
 * case turns it into the Intel SDM's outcome first, as hvsim follows Intel (docs/intel_vs_amd.md).
 */
export function replay(cpu: Cpu, c: FixtureCase, cpl = 0, amdHost = false): string[] {
  const regs: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(c.regs ?? {})) regs[k] = BigInt(v);
  // IF = 1 as in the host's user mode (PUSHF stores it).
  load(cpu, { code: hexBytes(c.bytes), regs, rflags: (c.flags ?? 0) | 0x202, scratch: scratchOf(c.mem) });
  // The host ran the case in ring 3; the interpreter runs it in ring 3 and in ring 0.
  cpu.cpl = cpl;
  cpu.segSel[SEG_CS] = cpl === 3 ? 0x33 : 0x08;
  cpu.segAr[SEG_CS] = cpl === 3 ? 0xa0fb : 0xa09b;
  cpu.segSel[SEG_SS] = cpl === 3 ? 0x2b : 0x10;
  cpu.segAr[SEG_SS] = cpl === 3 ? 0xc0f3 : 0xc093;
  cpu.flushTlb();
  const o = go(cpu, 1000);
  let exc: string | undefined;
  if (o.vector === 3 && o.rip !== CODE_ADDR) exc = undefined;
  else if (o.vector >= 0) exc = EXC[o.vector] ?? `vector ${o.vector}`;
  else exc = `no stop (run returned ${o.stop})`;
  const w = c.want;
  if (w.exception !== undefined || exc !== undefined) {
    return w.exception === exc ? [] : [`exception: want ${w.exception ?? "none"}, got ${exc ?? "none"}`];
  }
  const out: string[] = [];
  const wantRegs: Record<string, bigint> = {};
  for (const r of REGS) wantRegs[r] = BigInt(w.regs?.[r] ?? c.regs?.[r] ?? 0);
  if (amdHost) {
    for (const d of VENDOR_DIFFERENCES) {
      const intel = d.intelRegs(c.asm, wantRegs, w.flags ?? 0);
      if (intel !== null) Object.assign(wantRegs, intel);
    }
  }
  for (const r of REGS) {
    const want = wantRegs[r];
    const m = ~BigInt(c.undefRegs?.[r] ?? 0) & 0xffffffffffffffffn;
    if ((want & m) !== (o.regs[r] & m)) {
      out.push(`${r}: want 0x${want.toString(16)}, got 0x${o.regs[r].toString(16)}`);
    }
  }
  if (o.rip - CODE_ADDR !== w.rip) {
    out.push(`rip: want +0x${w.rip!.toString(16)}, got +0x${(o.rip - CODE_ADDR).toString(16)}`);
  }
  const fm = 0xcd5 & ~(c.undef ?? 0);
  if ((o.rflags & fm) !== (w.flags! & fm)) {
    out.push(
      `flags: want 0x${(w.flags! & fm).toString(16)}, got 0x${(o.rflags & fm).toString(16)} (compared 0x${
        fm.toString(16)
      })`,
    );
  }
  const wm = scratchOf(w.mem);
  const gm = cpu.mem.subarray(SCRATCH_ADDR, SCRATCH_ADDR + SCRATCH_SIZE);
  for (let i = 0; i < SCRATCH_SIZE; i++) {
    if (wm[i] !== gm[i]) {
      out.push(`mem[0x${i.toString(16)}]: want 0x${wm[i].toString(16)}, got 0x${gm[i].toString(16)}`);
    }
  }
  return out;
}

/** Replays every case at CPL 0 and at CPL 3 (recorded on an AMD CPU: `amdHost`); returns failure lines. */
export function replayAll(cpu: Cpu, cases: FixtureCase[], amdHost = false): string[] {
  const fails: string[] = [];
  for (const c of cases) {
    for (const cpl of [0, 3]) {
      const d = replay(cpu, c, cpl, amdHost);
      if (d.length === 0) continue;
      fails.push(
        `CPL ${cpl}: ${c.asm} [${c.bytes}] regs ${JSON.stringify(c.regs ?? {})} flags 0x${
          (c.flags ?? 0).toString(16)
        }: ${d.join("; ")}`,
      );
    }
  }
  return fails;
}

/** The first word of a case's text without size suffix noise (`addq` -> `addq`, `rep movsb` -> `rep movsb`). */
export function mnemonicOf(c: FixtureCase): string {
  const t = c.asm.replace(/^(lock|addr32|rep|repe|repne|fs|gs) /, "$1 ");
  const words = t.split(" ");
  return ["lock", "addr32", "rep", "repe", "repne", "fs", "gs"].includes(words[0])
    ? `${words[0]} ${words[1]}`
    : words[0];
}

/**
 * Registers one Deno test per mnemonic of fixture `name`: "<mnemonic> matches the host CPU on N
 * cases". A failure lists every differing case.
 */
export function fixtureTests(name: string, makeCpu: () => Cpu): void {
  const fx = readFixture(name);
  const groups = new Map<string, FixtureCase[]>();
  for (const c of fx.cases) {
    const m = mnemonicOf(c);
    if (!groups.has(m)) groups.set(m, []);
    groups.get(m)!.push(c);
  }
  let cpu: Cpu | undefined;
  for (const [m, cases] of groups) {
    Deno.test(`${m} matches the host CPU on ${cases.length} ${name} cases, at CPL 0 and 3`, () => {
      cpu ??= makeCpu();
      const fails = replayAll(cpu, cases, /AMD/.test(fx.host));
      if (fails.length) {
        throw new Error(`${fails.length} of ${cases.length} cases differ:\n${fails.slice(0, 20).join("\n")}`);
      }
    });
  }
}

/**
 * Developer tool: turns the tables of specs.ts into fixtures with expected outcomes from the host
 * CPU (GNU as assembles each line; the conformance host oracle runs it natively). Writes
 * tests/cpu/fixtures/<family>.jsonl. Needs gcc and binutils; the tests that read the fixtures
 * do not. Usage: deno run -A tests/cpu/_tools/make_fixtures.ts [family ...]
 */
import { assembleLines } from "../../../src/conformance/assembler.ts";
import { HostRunner } from "../../../src/conformance/host_runner.ts";
import type { TestCase } from "../../../src/conformance/case.ts";
import { FAMILIES, SCRATCH, type Spec } from "./specs.ts";
import { GPR_NAMES } from "../../../src/cpu/registers.ts";
import type { Fixture, FixtureCase } from "../_fixture.ts";

const REGS = GPR_NAMES;
const SCRATCH_SIZE = 256;
const hx = (v: bigint) => "0x" + BigInt.asUintN(64, v).toString(16);

function initialRegs(s: Spec): Record<string, bigint> {
  const r: Record<string, bigint> = {};
  for (const n of REGS) r[n] = 0n;
  r.rsp = BigInt(SCRATCH + 0xc0);
  r.rbx = BigInt(SCRATCH);
  for (const [k, v] of Object.entries(s.regs ?? {})) {
    if (!(k in r)) throw new Error(`unknown register ${k} in "${s.asm}"`);
    r[k] = BigInt.asUintN(64, v);
  }
  return r;
}

function initialMem(s: Spec): Uint8Array {
  const m = new Uint8Array(SCRATCH_SIZE);
  for (const [off, v, n] of s.mem ?? []) {
    for (let i = 0; i < n; i++) m[off + i] = Number((BigInt.asUintN(64, v) >> BigInt(8 * i)) & 0xffn);
  }
  return m;
}

/** Nonzero runs of `m` as [offset, hex]. */
function runs(m: Uint8Array): [number, string][] {
  const out: [number, string][] = [];
  for (let i = 0; i < m.length;) {
    if (m[i] === 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < m.length && (m[j] !== 0 || (j + 1 < m.length && m[j + 1] !== 0))) j++;
    out.push([i, Array.from(m.subarray(i, j), (b) => b.toString(16).padStart(2, "0")).join("")]);
    i = j;
  }
  return out;
}

const hexOf = (m: Uint8Array) => Array.from(m, (b) => b.toString(16).padStart(2, "0")).join("");

const names = Deno.args.length ? Deno.args : Object.keys(FAMILIES);
const host = await HostRunner.create();
for (const name of names) {
  const specs = FAMILIES[name]();
  const bytes = await assembleLines(specs.map((s) => s.asm));
  const cases: TestCase[] = specs.map((s, k) => {
    const regs = initialRegs(s);
    const rs = {} as Record<string, string>;
    for (const n of REGS) rs[n] = hx(regs[n]);
    return {
      id: `${name}-${k}`,
      form: s.asm,
      asm: s.asm,
      bytes: bytes[k],
      regs: rs,
      rflags: "0x" + (((s.flags ?? 0) & 0xcd5) | 2).toString(16),
      mem: hexOf(initialMem(s)),
      undef: { flags: s.undef ?? 0 },
    } as TestCase;
  });
  const results = await host.run(cases);
  const out: FixtureCase[] = [];
  specs.forEach((s, k) => {
    const r = results[k];
    if (r.exception === "timeout" || r.exception === "error" || r.exception === "crash") {
      throw new Error(`host oracle failed on "${s.asm}": ${r.exception} ${r.detail ?? ""}`);
    }
    const init = initialRegs(s);
    const c: FixtureCase = { asm: s.asm, bytes: bytes[k], want: {} };
    const nz: Record<string, string> = {};
    for (const n of REGS) if (init[n] !== 0n) nz[n] = hx(init[n]);
    c.regs = nz;
    if (s.flags) c.flags = s.flags & 0xcd5;
    if (s.mem?.length) c.mem = runs(initialMem(s));
    if (s.undef) c.undef = s.undef;
    if (s.undefRegs) {
      c.undefRegs = Object.fromEntries(Object.entries(s.undefRegs).map(([n, v]) => [n, hx(v)]));
    }
    if (r.exception !== undefined) {
      c.want = { exception: r.exception };
    } else {
      const changed: Record<string, string> = {};
      const final = r.regs as Record<string, string>;
      for (const n of REGS) if (BigInt(final[n]) !== init[n]) changed[n] = hx(BigInt(final[n]));
      const fm = new Uint8Array(SCRATCH_SIZE);
      for (let i = 0; i < SCRATCH_SIZE; i++) fm[i] = parseInt(r.mem!.slice(2 * i, 2 * i + 2), 16);
      c.want = {
        regs: changed,
        rip: Number(r.rip) - 0x201000,
        flags: Number(r.rflags) & 0xcd5,
        mem: runs(fm),
      };
    }
    out.push(c);
  });
  const fx: Fixture = {
    family: name,
    source: "tests/cpu/_tools/specs.ts, run natively on the host CPU by src/conformance/host_oracle.c",
    host: (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown",
    cases: out,
  };
  // JSON lines (header, then one case per line): compact, and left alone by deno fmt.
  const file = new URL(`../fixtures/${name}.jsonl`, import.meta.url);
  await Deno.mkdir(new URL("../fixtures/", import.meta.url), { recursive: true });
  const { cases: _, ...header } = fx;
  await Deno.writeTextFile(file, [header, ...fx.cases].map((x) => JSON.stringify(x)).join("\n") + "\n");
  console.log(`${name}: ${out.length} cases, ${out.filter((c) => c.want.exception).length} with exceptions`);
}

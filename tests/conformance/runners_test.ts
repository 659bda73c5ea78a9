import assert from "node:assert/strict";
import {
  AF,
  CF,
  CODE_ADDR,
  OF,
  PF,
  RFLAGS_FIXED,
  SCRATCH_ADDR,
  SCRATCH_SIZE,
  SF,
  ZF,
} from "../../src/conformance/case.ts";
import { HostRunner } from "../../src/conformance/host_runner.ts";
import { HvsimRunner } from "../../src/conformance/hvsim_runner.ts";
import type { Runner } from "../../src/conformance/runner.ts";
import { UnicornRunner } from "../../src/conformance/unicorn_runner.ts";
import { HAVE_TOOLCHAIN, HAVE_UNICORN, makeCase } from "./_util.ts";

const STACK = BigInt(SCRATCH_ADDR + 0x80);
const mem40 = new Uint8Array(SCRATCH_SIZE);
mem40.set([0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0], 0x40);

interface Row {
  name: string;
  c: ReturnType<typeof makeCase>;
  /** Expected exception, or undefined for completion. */
  exception?: string;
  regs?: Record<string, bigint>;
  rip?: number;
  /** Expected status flags (checked under STATUS mask). */
  flags?: number;
  mem?: [number, number[]][];
  /** Only meaningful at CPL 3 (the host oracle). */
  cpl3?: boolean;
}

// Expected values worked out from the SDM (Vol. 2 instruction pages).
const ROWS: Row[] = [
  {
    name: "ADD r64, r64 (48 01 d8): 1 + 2 = 3, PF set (two 1 bits), RIP after the instruction",
    c: makeCase("add", "4801d8", { rax: 1n, rbx: 2n }),
    regs: { rax: 3n, rbx: 2n },
    rip: CODE_ADDR + 3,
    flags: PF,
  },
  {
    name: "ADD r32 (01 d8): 0xffffffff + 1 wraps to 0, CF ZF PF AF set, upper half zeroed",
    c: makeCase("add32", "01d8", { rax: 0xaaaaaaaaffffffffn, rbx: 1n }),
    regs: { rax: 0n },
    flags: CF | ZF | PF | AF,
  },
  {
    name: "SUB r8 high byte (28 e0: sub %ah,%al): 0x00 - 0x01 = 0xff, CF SF AF PF",
    c: makeCase("subah", "28e0", { rax: 0x0100n }),
    regs: { rax: 0x01ffn },
    flags: CF | SF | AF | PF,
  },
  {
    name: "ADD overflow (48 01 d8): 0x7fff... + 1 sets OF and SF",
    c: makeCase("addof", "4801d8", { rax: 0x7fffffffffffffffn, rbx: 1n }),
    regs: { rax: 0x8000000000000000n },
    flags: OF | SF | AF | PF,
  },
  { name: "DIV by zero (48 f7 f3) raises #DE", c: makeCase("div0", "48f7f3", { rax: 5n }), exception: "DE" },
  {
    name: "DIV r64 (48 f7 f3): 0x1_0000_0000_0000_0005 / 2",
    c: makeCase("div", "48f7f3", { rax: 5n, rdx: 1n, rbx: 2n }),
    regs: { rax: 0x8000000000000002n, rdx: 1n },
  },
  { name: "UD2 (0f 0b) raises #UD", c: makeCase("ud2", "0f0b"), exception: "UD" },
  { name: "INT3 (cc) raises #BP", c: makeCase("int3", "cc"), exception: "BP" },
  { name: "HLT (f4) at CPL 3 raises #GP", c: makeCase("hlt", "f4"), exception: "GP", cpl3: true },
  {
    name: "JNE rel8 (75 0e) taken with ZF=0 ends at the target INT3",
    c: makeCase("jne-taken", "750e"),
    rip: CODE_ADDR + 0x10,
  },
  {
    name: "JNE rel8 (75 0e) not taken with ZF=1 ends after the instruction",
    c: makeCase("jne-not", "750e", {}, RFLAGS_FIXED | ZF),
    rip: CODE_ADDR + 2,
    flags: ZF,
  },
  {
    name: "PUSH r64 (50) stores RAX below RSP",
    c: makeCase("push", "50", { rax: 0x1122334455667788n }),
    regs: { rsp: STACK - 8n },
    mem: [[0x78, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]]],
  },
  {
    name: "CALL rel32 (e8 0b 00 00 00) pushes the return address and ends at the target",
    c: makeCase("call", "e80b000000"),
    regs: { rsp: STACK - 8n },
    rip: CODE_ADDR + 0x10,
    mem: [[0x78, [0x05, 0x10, 0x20, 0, 0, 0, 0, 0]]],
  },
  {
    name: "MOV r64 to RSP (48 89 c4) with RSP=0 afterwards leaves the runner intact",
    c: makeCase("movrsp", "4889c4", { rax: 0n }),
    regs: { rsp: 0n },
  },
  {
    name: "MOV r32, m32 (8b 07) reads the scratch area",
    c: makeCase("load", "8b07", { rdi: BigInt(SCRATCH_ADDR + 0x40), rax: -1n }, RFLAGS_FIXED, mem40),
    regs: { rax: 0x12345678n },
  },
  {
    name: "MOV r64, m64 (48 8b 00) from unmapped address 0x40000000 raises #PF",
    c: makeCase("pf", "488b00", { rax: 0x40000000n }),
    exception: "PF",
  },
  {
    name: "JMP rel8 to itself (eb fe) is reported as a timeout",
    c: makeCase("loop", "ebfe"),
    exception: "timeout",
  },
];

async function check(runner: Runner, cpl0: boolean) {
  const rows = ROWS.filter((r) => !(cpl0 && r.cpl3));
  const results = await runner.run(rows.map((r) => r.c));
  assert.equal(results.length, rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const res = results[i];
    const what = `${runner.name}: ${row.name}`;
    assert.equal(res.id, row.c.id, what);
    assert.equal(res.exception, row.exception, `${what}: ${res.detail ?? ""}`);
    if (row.exception) continue;
    for (const [r, v] of Object.entries(row.regs ?? {})) {
      assert.equal(BigInt(res.regs![r as "rax"]), BigInt.asUintN(64, v), `${what}: ${r}`);
    }
    if (row.rip !== undefined) assert.equal(Number(res.rip), row.rip, `${what}: rip`);
    if (row.flags !== undefined) {
      assert.equal(
        Number(res.rflags) & (CF | PF | AF | ZF | SF | OF),
        row.flags,
        `${what}: rflags ${res.rflags}`,
      );
    }
    for (const [off, bytes] of row.mem ?? []) {
      assert.equal(
        res.mem!.slice(2 * off, 2 * off + 2 * bytes.length),
        bytes.map((b) => b.toString(16).padStart(2, "0")).join(""),
        `${what}: mem`,
      );
    }
  }
}

Deno.test({
  name: "HostRunner runs single instructions natively with SDM results, faults and timeouts",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    await check(await HostRunner.create(), false);
  },
});

Deno.test({
  name: "UnicornRunner gives the same SDM results",
  ignore: !HAVE_UNICORN,
  async fn() {
    await check((await UnicornRunner.create())!, true);
  },
});

Deno.test("HvsimRunner gives the same SDM results", async () => {
  await check(new HvsimRunner(), true);
});

Deno.test({
  name: "HostRunner reports a malformed case as an error and goes on",
  ignore: !HAVE_TOOLCHAIN,
  async fn() {
    const good = makeCase("ok", "90");
    const bad = { ...makeCase("bad", "90"), bytes: "zz" };
    const res = await (await HostRunner.create()).run([bad, good]);
    assert.equal(res[0].exception, "error");
    assert.equal(res[1].exception, undefined);
    assert.equal(Number(res[1].rip), CODE_ADDR + 1);
  },
});

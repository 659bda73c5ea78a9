/**
 * REP string instructions and the instruction budget: `cpu.run(n)` may end between iterations
 * (each iteration retires as one instruction). RIP must then still point at the REP instruction,
 * RCX/RSI/RDI must describe exactly the iterations done, and resuming (on the same CPU, or on a
 * fresh one after saveCpuState/restoreCpuState) must end in the same state as an uninterrupted run.
 */

import assert from "node:assert/strict";
import { restoreCpuState, saveCpuState } from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, hexBytes, load, makeCpu, SCRATCH_ADDR, type Setup } from "./_harness.ts";

interface RepCase {
  name: string;
  /** nop; <rep instruction>; then the INT3 sentinel. */
  insn: string;
  regs: Setup["regs"];
  df?: boolean;
  zf?: boolean;
  /** Iterations the instruction performs in total. */
  iterations: number;
  /** Operand size, for checking the pointer registers at a stop. */
  size: number;
  /** Pointer registers the instruction advances. */
  advances: ("rsi" | "rdi")[];
}

const S = BigInt(SCRATCH_ADDR);
// Scratch: bytes 0..127 = i, bytes 128..255 = i except byte 128+20 (a difference for CMPS at 20).
const scratch = new Uint8Array(256);
for (let i = 0; i < 128; i++) scratch[i] = scratch[128 + i] = i;
scratch[128 + 20] = 0xee;

const CASES: RepCase[] = [
  {
    name: "rep movsb",
    insn: "f3a4",
    regs: { rsi: S, rdi: S + 128n, rcx: 40n },
    iterations: 40,
    size: 1,
    advances: ["rsi", "rdi"],
  },
  {
    name: "rep movsq",
    insn: "f348a5",
    regs: { rsi: S, rdi: S + 128n, rcx: 9n },
    iterations: 9,
    size: 8,
    advances: ["rsi", "rdi"],
  },
  {
    name: "rep movsw with DF=1",
    insn: "66f3a5",
    regs: { rsi: S + 60n, rdi: S + 200n, rcx: 17n },
    df: true,
    iterations: 17,
    size: 2,
    advances: ["rsi", "rdi"],
  },
  {
    name: "rep stosl",
    insn: "f3ab",
    regs: { rdi: S + 16n, rcx: 25n, rax: 0x11223344n },
    iterations: 25,
    size: 4,
    advances: ["rdi"],
  },
  { name: "rep lodsb", insn: "f3ac", regs: { rsi: S, rcx: 30n }, iterations: 30, size: 1, advances: ["rsi"] },
  {
    name: "repe cmpsb (stops at the difference)",
    insn: "f3a6",
    regs: { rsi: S, rdi: S + 128n, rcx: 100n },
    iterations: 21,
    size: 1,
    advances: ["rsi", "rdi"],
  },
  {
    name: "repne scasb (stops at the match)",
    insn: "f2ae",
    regs: { rdi: S, rcx: 100n, rax: 33n },
    iterations: 34,
    size: 1,
    advances: ["rdi"],
  },
  {
    name: "repne scasq with DF=1 (runs out of count)",
    insn: "f248af",
    regs: { rdi: S + 120n, rcx: 12n, rax: 0xffn },
    df: true,
    iterations: 12,
    size: 8,
    advances: ["rdi"],
  },
];

function setup(c: RepCase): Setup {
  return {
    code: hexBytes("90" + c.insn), // a NOP first, so the REP instruction sits inside a block
    regs: c.regs,
    rflags: (c.df ? 0x400 : 0) | (c.zf ? 0x40 : 0) | 2,
    scratch,
  };
}

function snapshot(cpu: ReturnType<typeof makeCpu>) {
  const o = go(cpu, 0);
  return {
    regs: o.regs,
    rip: cpu.rip,
    flags: cpu.getRflags() & 0xcd5,
    icount: cpu.icount,
    mem: Array.from(cpu.mem.subarray(SCRATCH_ADDR, SCRATCH_ADDR + 256)),
  };
}

for (const c of CASES) {
  Deno.test(`stringOp ${c.name}: run(n) stops between iterations on the REP instruction and resumes exactly`, () => {
    const ref = makeCpu();
    load(ref, setup(c));
    const full = go(ref, 1000);
    assert.equal(full.vector, 3, "the reference run ends at the INT3 sentinel");
    assert.equal(ref.icount, 1 + c.iterations, "every iteration retires as one instruction, the NOP as one");
    const want = snapshot(ref);

    const cpu = makeCpu();
    const dest = makeCpu();
    for (let budget = 1; budget <= c.iterations + 1; budget++) {
      load(cpu, setup(c));
      const first = go(cpu, budget);
      assert.equal(first.stop, -1, `budget ${budget}: stops on the budget`);
      assert.equal(cpu.icount, budget, `budget ${budget}: retired exactly the budget`);
      const done = budget - 1; // iterations done (the NOP took one)
      if (done < c.iterations) {
        assert.equal(cpu.rip, CODE_ADDR + 1, `budget ${budget}: RIP stays on the REP instruction`);
        assert.equal(
          first.regs.rcx,
          c.regs!.rcx! - BigInt(done),
          `budget ${budget}: RCX counts the iterations left`,
        );
        for (const r of c.advances) {
          const step = BigInt((c.df ? -1 : 1) * c.size * done);
          assert.equal(
            first.regs[r],
            c.regs![r]! + step,
            `budget ${budget}: ${r} advanced by the iterations done`,
          );
        }
      }
      // Resume on the same CPU.
      const rest = go(cpu, 1000);
      assert.equal(rest.vector, 3);
      assert.deepEqual(snapshot(cpu), want, `budget ${budget}: resuming gives the uninterrupted result`);
      // Or move the stopped state to another CPU (as migration does) and resume there.
      load(cpu, setup(c));
      go(cpu, budget);
      load(dest, setup(c));
      restoreCpuState(dest, saveCpuState(cpu));
      dest.mem.set(cpu.mem.subarray(SCRATCH_ADDR, SCRATCH_ADDR + 256), SCRATCH_ADDR);
      go(dest, 1000);
      assert.deepEqual(
        snapshot(dest),
        want,
        `budget ${budget}: resuming after save/restore gives the same result`,
      );
    }
  });
}

Deno.test("stringOp REP with RCX = 0 does nothing and retires once", () => {
  const cpu = makeCpu();
  for (const insn of ["f3a4", "f3ab", "f3a6", "f2ae", "f348ad"]) {
    load(cpu, { code: hexBytes(insn), regs: { rsi: S, rdi: S, rcx: 0n }, rflags: 0x2, scratch });
    const o = go(cpu, 1000);
    assert.equal(o.vector, 3);
    assert.equal(o.rip, CODE_ADDR + insn.length / 2);
    assert.equal(cpu.icount, 1);
    assert.deepEqual([o.regs.rsi, o.regs.rdi, o.regs.rcx], [S, S, 0n]);
    assert.equal(o.rflags & 0xcd5, 0, `${insn}: flags untouched`);
  }
});

Deno.test("stringOp REP with 67 prefix uses ECX, ESI, EDI and zero-extends them", () => {
  const cpu = makeCpu();
  // addr32 rep movsb: RCX upper half is ignored and cleared, as are RSI/RDI's.
  load(cpu, {
    code: hexBytes("67f3a4"),
    regs: { rsi: S | 0xabcd00000000n, rdi: (S + 128n) | 0x1200000000n, rcx: 0x500000003n },
    scratch,
  });
  const o = go(cpu, 1000);
  assert.equal(o.vector, 3);
  assert.deepEqual([o.regs.rsi, o.regs.rdi, o.regs.rcx], [S + 3n, S + 131n, 0n]);
  assert.deepEqual(Array.from(cpu.mem.subarray(SCRATCH_ADDR + 128, SCRATCH_ADDR + 132)), [0, 1, 2, 3]);
});

Deno.test("stringOp REP MOVS faulting in the middle keeps the iterations done and RIP on the instruction", () => {
  // Scratch page is the only data page: copying upward off its end faults (#PF) after the bytes that fit.
  const cpu = makeCpu();
  const end = BigInt((SCRATCH_ADDR & ~0xfff) + 0x1000);
  load(cpu, { code: hexBytes("f3a4"), regs: { rsi: S, rdi: end - 5n, rcx: 10n }, scratch });
  const o = go(cpu, 1000);
  assert.equal(o.vector, 14);
  assert.equal(o.rip, CODE_ADDR);
  assert.deepEqual([o.regs.rsi, o.regs.rdi, o.regs.rcx], [S + 5n, end, 5n]);
  assert.equal(cpu.icount, 5, "the five completed iterations retired");
  // The harness makes every exception a VM exit: the address is the qualification, CR2 stays (SDM Vol. 3 §27.1).
  assert.equal(cpu.exitQual, Number(end));
});

/**
 * The block compiler's SSE templates (src/cpu/compiler_sse.ts) give exactly the interpreter's
 * results: every templated form runs compiled and interpreted on edge values (zeros of both signs,
 * denormals, infinities, quiet and signalling NaNs, rounding ties, values out of an integer's
 * range, byte and word patterns with their top bits set) under several MXCSR settings (precision
 * flag clear or set, rounding up, DAZ and FTZ, exceptions unmasked), and must end in the same
 * registers, XMM registers, MXCSR, RFLAGS, memory and exception. The compiled run must also have
 * used the template for each form (not its handler). The interpreter's SSE semantics are checked
 * against the host CPU and Unicorn by the conformance tests.
 */

import assert from "node:assert/strict";
import { type Cpu, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT } from "../../src/cpu/mod.ts";
import { disassemble } from "../../src/cpu/disasm.ts";
import { load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";
import { assembleText, NEEDS_AS } from "../vm/_asm.ts";
import {
  bits32,
  bits64,
  bytesOf,
  type Case,
  DOUBLES,
  FLOATS,
  hexer,
  MXCSRS,
  packedCases,
  runCase,
  scalarCases,
  SSE_MOVE_FORMS,
  sseCpu,
  UPPER,
  vectorCases,
} from "./_sse_cases.ts";

/**
 * Asserts that each instruction of every block `cpu` compiled ran as its template, except INT3
 * (the end of the test code) and the instructions (disassembled) in `handlers`.
 */
function assertTemplated(cpu: Cpu, form: string, handlers: string[] = []): void {
  let blocks = 0;
  for (const b of cpu.blocks.all()) {
    blocks++;
    assert.ok(b.templated !== null, `${form}: a block was not compiled`);
    b.insns.forEach((insn, k) => {
      const text = disassemble(insn);
      const handler = text === "int3" || handlers.includes(text);
      assert.equal(
        b.templated![k],
        !handler,
        `${form}: ${text}: ${handler ? "expected its handler" : "not templated"}`,
      );
    });
  }
  assert.ok(blocks > 0, form);
}

/** Runs every case of `form` both ways and compares; returns the number of cases. */
function sameBothWays(form: string, cases: Case[], handlers: string[] = []): number {
  const code = assembleText(form);
  const compiled = sseCpu(code, true), interpreted = sseCpu(code, false);
  for (const c of cases) {
    assert.equal(runCase(compiled, c), runCase(interpreted, c), `${form} with ${JSON.stringify(c, hexer)}`);
  }
  assertTemplated(compiled, form, handlers);
  return cases.length;
}

Deno.test(
  "compiled scalar SSE arithmetic (ADD/SUB/MUL/DIV/SQRT SD and SS) matches the interpreter, MXCSR flags included",
  NEEDS_AS,
  () => {
    let n = 0;
    for (const op of ["add", "sub", "mul", "div", "sqrt"]) {
      for (const [sfx, values, bytes] of [["sd", DOUBLES, 8], ["ss", FLOATS, 4]] as const) {
        n += sameBothWays(`${op}${sfx} xmm1, xmm2`, scalarCases(values, bytes));
        n += sameBothWays(`${op}${sfx} xmm1, [rbx]`, scalarCases(values, bytes));
        n += sameBothWays(`${op}${sfx} xmm2, xmm2`, scalarCases(values, bytes, [0x1fa0]));
      }
    }
    // A chain: the first inexact result sets PE (slow path), the next ones take the fast path.
    n += sameBothWays(
      "divsd xmm1, xmm2\naddsd xmm1, xmm2\nmulsd xmm2, xmm1\nsubss xmm3, xmm2\nsqrtsd xmm4, xmm1",
      scalarCases(DOUBLES, 8, [0x1f80]),
    );
    assert.ok(n > 30000);
  },
);

Deno.test(
  "compiled conversions and compares (CVTSI2SD/SS, CVT(T)SD2SI, CVT(T)SS2SI, CVTSD2SS, CVTSS2SD, (U)COMISD/SS) match the interpreter",
  NEEDS_AS,
  () => {
    const ints = [
      0n,
      1n,
      -1n,
      0x7fffffffn,
      -0x80000000n,
      16777217n,
      -16777217n,
      (1n << 53n) + 1n,
      -(1n << 62n),
    ];
    ints.push(0x7fffffffffffffffn, -0x8000000000000000n, 123456789n, (1n << 53n) - 1n);
    const intCases: Case[] = [];
    for (const mxcsr of MXCSRS) {
      for (const v of ints) {
        intCases.push({ xmm: [0n, UPPER | 7n], mxcsr, rax: BigInt.asUintN(64, v), scratch: bytesOf(v, 8) });
      }
    }
    for (
      const form of ["cvtsi2sd xmm1, eax", "cvtsi2sd xmm1, rax", "cvtsi2ss xmm1, eax", "cvtsi2ss xmm1, rax"]
    ) {
      sameBothWays(form, intCases);
    }
    for (const form of ["cvtsi2sd xmm1, dword ptr [rbx]", "cvtsi2sd xmm1, qword ptr [rbx]"]) {
      sameBothWays(form, intCases);
    }
    sameBothWays("cvtsi2ss xmm1, dword ptr [rbx]", intCases);
    sameBothWays("cvtsi2ss xmm1, qword ptr [rbx]", intCases);
    const one = (values: bigint[], bytes: number): Case[] =>
      MXCSRS.flatMap((mxcsr) =>
        values.map((b) => ({ xmm: [0n, UPPER | b], mxcsr, rcx: 0x1234567890n, scratch: bytesOf(b, bytes) }))
      );
    for (const t of ["", "t"]) {
      for (const r of ["eax", "rax"]) {
        sameBothWays(`cvt${t}sd2si ${r}, xmm1`, one(DOUBLES, 8));
        sameBothWays(`cvt${t}sd2si ${r}, qword ptr [rbx]`, one(DOUBLES, 8));
        sameBothWays(`cvt${t}ss2si ${r}, xmm1`, one(FLOATS, 4));
        sameBothWays(`cvt${t}ss2si ${r}, dword ptr [rbx]`, one(FLOATS, 4));
      }
    }
    sameBothWays("cvtsd2ss xmm2, xmm1", one(DOUBLES, 8));
    sameBothWays("cvtsd2ss xmm2, qword ptr [rbx]", one(DOUBLES, 8));
    sameBothWays("cvtss2sd xmm2, xmm1", one(FLOATS, 4));
    sameBothWays("cvtss2sd xmm2, dword ptr [rbx]", one(FLOATS, 4));
    for (const op of ["comisd", "ucomisd"]) {
      sameBothWays(`${op} xmm1, xmm2\nsetb cl\nsete ch`, scalarCases(DOUBLES, 8, [0x1f80, 0x1fc0]));
      sameBothWays(`${op} xmm1, [rbx]`, scalarCases(DOUBLES, 8, [0x1f80]));
    }
    for (const op of ["comiss", "ucomiss"]) {
      sameBothWays(`${op} xmm1, xmm2\nsetp cl`, scalarCases(FLOATS, 4, [0x1f80, 0x1fc0]));
      sameBothWays(`${op} xmm1, [rbx]`, scalarCases(FLOATS, 4, [0x1f80]));
    }
  },
);

Deno.test(
  "compiled packed SSE arithmetic (ADD/SUB/MUL/DIV/SQRT PD and PS) and MIN/MAX (PD, PS, SD, SS) match the interpreter",
  NEEDS_AS,
  () => {
    for (const [sfx, values, bytes] of [["pd", DOUBLES, 8], ["ps", FLOATS, 4]] as const) {
      for (const op of ["add", "sub", "mul", "div", "sqrt", "min", "max"]) {
        sameBothWays(`${op}${sfx} xmm1, xmm2`, packedCases(values, bytes, [0x1f80, 0x1fa0, 0x9fe0]));
        sameBothWays(`${op}${sfx} xmm1, [rbx]`, packedCases(values, bytes, [0x1fa0]));
      }
    }
    for (const [sfx, values, bytes] of [["sd", DOUBLES, 8], ["ss", FLOATS, 4]] as const) {
      for (const op of ["min", "max"]) {
        sameBothWays(`${op}${sfx} xmm1, xmm2`, scalarCases(values, bytes, [0x1f80, 0x9fe0]));
        sameBothWays(`${op}${sfx} xmm1, [rbx]`, scalarCases(values, bytes, [0x1f80]));
      }
    }
    // A misaligned packed memory operand: #GP(0) from the handler.
    const c: Case = { xmm: [0n, 1n, 2n], mxcsr: 0x1fa0, scratch: new Uint8Array(32) };
    const outs = [true, false].map((compiled) =>
      runCase(sseCpu(assembleText("mulpd xmm1, [rbx+8]"), compiled), c)
    );
    assert.equal(JSON.parse(outs[0]).vector, 13);
    assert.equal(outs[0], outs[1]);
  },
);

Deno.test("compiled SSE2 integer, logic, shuffle and unpack forms match the interpreter", NEEDS_AS, () => {
  const cases = vectorCases();
  const ops = [
    "pxor",
    "pand",
    "pandn",
    "por",
    "xorps",
    "xorpd",
    "andpd",
    "andnps",
    "orps",
    "paddb",
    "paddw",
    "paddd",
    "paddq",
    "psubb",
    "psubw",
    "psubd",
    "psubq",
    "pcmpeqb",
    "pcmpeqw",
    "pcmpeqd",
    "pcmpgtd",
    "punpcklbw",
    "punpcklwd",
    "punpckldq",
    "punpcklqdq",
    "punpckhbw",
    "punpckhwd",
    "punpckhdq",
    "punpckhqdq",
    "pmullw",
    "pmulhw",
    "pmulhuw",
    "pminub",
    "pmaxub",
    "pminsw",
    "pmaxsw",
    "packuswb",
  ];
  for (const op of ops) {
    sameBothWays(`${op} xmm1, xmm2`, cases);
    sameBothWays(`${op} xmm1, [rbx]`, cases);
    sameBothWays(`${op} xmm1, xmm1`, cases.slice(0, 20));
  }
  for (const imm of [0, 0x1b, 0xe4, 0x4e, 0xff, 0x39]) {
    sameBothWays(`pshufd xmm1, xmm2, ${imm}`, cases);
    sameBothWays(`pshufd xmm1, [rbx], ${imm}`, cases.slice(0, 40));
    sameBothWays(`pshufd xmm2, xmm2, ${imm}`, cases.slice(0, 40));
  }
  sameBothWays("pmovmskb eax, xmm2\npmovmskb r9d, xmm1", cases);
  for (const op of ["psrlw", "psraw", "psllw", "psrld", "psrad", "pslld", "psrlq", "psllq"]) {
    for (const n of [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 200, 255]) {
      sameBothWays(`${op} xmm2, ${n}`, cases.slice(0, 40));
    }
  }
});

Deno.test(
  "compiled SSE moves (MOVDQA/DQU/APS/UPS/APD/UPD, MOVSD, MOVSS, MOVQ, MOVD) match the interpreter",
  NEEDS_AS,
  () => {
    const cases = vectorCases().slice(0, 60).map((c, k) => ({
      ...c,
      rax: 0x8877665544332211n * BigInt(k + 1),
    }));
    const forms = SSE_MOVE_FORMS;
    for (const form of forms) sameBothWays(form, cases);
  },
);

Deno.test(
  "compiled SSE templates fault as the handlers do: #UD, #NM, #GP on alignment, #PF, #XM",
  NEEDS_AS,
  () => {
    const c: Case = { xmm: [0n, 1n, bits64(3), bits64(0)], mxcsr: 0x1f80, scratch: new Uint8Array(32) };
    const forms = [
      "paddd xmm1, xmm2",
      "movdqa xmm1, [rbx]",
      "addsd xmm1, xmm2",
      "mov eax, 1\npxor xmm1, xmm1",
    ];
    for (const form of forms) {
      for (const [cr0, cr4, vector] of [[0, CR4_OSFXSR, 3], [CR0_TS, CR4_OSFXSR, 7], [0, 0, 6]]) {
        const outs = [true, false].map((compiled) => {
          const cpu = sseCpu(assembleText(form), compiled);
          cpu.cr0 |= cr0;
          cpu.cr4 = (cpu.cr4 & ~CR4_OSFXSR) | cr4;
          const out = runCase(cpu, c);
          assert.equal(JSON.parse(out).vector, vector, `${form}, CR0 ${cr0}, CR4 ${cr4}`);
          return out;
        });
        assert.equal(outs[0], outs[1], form);
      }
    }
    // Misaligned MOVDQA/MOVAPS/PXOR m128: #GP(0); MOVDQU across a page into an unmapped one: #PF.
    const page = SCRATCH_ADDR & ~0xfff;
    for (
      const [form, at, vector] of [
        ["movdqa xmm1, [rbx]", SCRATCH_ADDR + 8, 13],
        ["movaps [rbx], xmm1", SCRATCH_ADDR + 4, 13],
        ["pxor xmm1, [rbx]", SCRATCH_ADDR + 1, 13],
        ["movdqu xmm1, [rbx]", page + 0xff8, 14],
        ["movdqu [rbx], xmm1", page + 0xffc, 14],
        ["movsd xmm1, [rbx]", page + 0xffc, 14],
        ["addsd xmm1, [rbx]", page + 0xffc, 14],
        ["cvtsi2sd xmm1, qword ptr [rbx]", page + 0xffe, 14],
      ] as const
    ) {
      const small = { ...c, scratch: new Uint8Array(4) };
      const outs = [true, false].map((compiled) => runCase(sseCpu(assembleText(form), compiled), small, at));
      assert.equal(JSON.parse(outs[0]).vector, vector, form);
      assert.equal(outs[0], outs[1], form);
    }
    // MOVDQU across two mapped pages runs (the TLB's miss path).
    const next = page + 0x1000;
    for (const form of ["movdqu xmm1, [rbx]", "movdqu [rbx], xmm2", "movsd xmm3, [rbx+4]"]) {
      const outs = [true, false].map((compiled) => {
        const cpu = makeCpu([next]);
        cpu.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
        cpu.compileThreshold = compiled ? 1 : Infinity;
        load(cpu, { code: assembleText(form) });
        return runCase(cpu, {
          ...c,
          xmm: [0n, 0n, 0x0102030405060708_090a0b0c0d0e0f10n],
          scratch: new Uint8Array(4),
        }, page + 0xffa);
      });
      assert.equal(JSON.parse(outs[0]).vector, 3, form);
      assert.equal(outs[0], outs[1], form);
    }
    // Unmasked exceptions: #XM from the slow path, destination and MXCSR as the handler leaves them.
    for (
      const [form, mxcsr] of [
        ["divsd xmm1, xmm3", 0x1d80],
        ["addsd xmm1, xmm2", 0x0f80],
        ["cvttsd2si eax, xmm2", 0x0f80],
      ] as const
    ) {
      const outs = [true, false].map((compiled) =>
        runCase(sseCpu(assembleText(`mov ecx, 5\n${form}`), compiled), {
          ...c,
          xmm: [0n, bits64(1), bits64(0.1), 0n],
          mxcsr,
        })
      );
      assert.equal(outs[0], outs[1], form);
    }
  },
);

Deno.test(
  "a result rounded up to the smallest normal is still tiny: UE (values from the host CPU)",
  NEEDS_AS,
  () => {
    // Host CPU (gcc, x86-64): 0x3fefffffffffffff * 0x0010000000000000 = 0x0010000000000000 with
    // MXCSR 0x1f80 -> 0x1fb0; (float) 0x380fffffe0000000 = 0x00800000 with MXCSR 0x1fa0 -> 0x1fb0.
    for (const compiled of [true, false]) {
      const mul = sseCpu(assembleText("mulsd xmm1, xmm2"), compiled);
      const c: Case = {
        xmm: [0n, 0x3fefffffffffffffn, 0x0010000000000000n],
        mxcsr: 0x1fa0,
        scratch: new Uint8Array(0),
      };
      const out = JSON.parse(runCase(mul, c));
      assert.equal(out.xmm[1], "10000000000000");
      assert.equal(out.mxcsr, 0x1fb0);
      const cvt = sseCpu(assembleText("cvtsd2ss xmm2, xmm1"), compiled);
      const d = JSON.parse(runCase(cvt, { ...c, xmm: [0n, 0x380fffffe0000000n, 0n] }));
      assert.equal(d.xmm[2], "800000");
      assert.equal(d.mxcsr, 0x1fb0);
    }
  },
);

Deno.test(
  "compiled SSE templates that write a general register keep it on their slow path (a TLB miss, the exact path)",
  NEEDS_AS,
  () => {
    // Each case starts with an empty TLB, so a memory operand takes the handler; RCX starts nonzero.
    const forms = [
      "cvttsd2si rcx, qword ptr [rbx]",
      "cvtsd2si ecx, qword ptr [rbx]",
      "cvttss2si rcx, dword ptr [rbx]",
      "cvtss2si ecx, dword ptr [rbx]",
      "cvttsd2si rcx, xmm1",
      "mov rdx, rcx\ncvttsd2si ecx, xmm1\nadd rcx, rdx",
    ];
    for (const form of forms) {
      const code = assembleText(form);
      const cpus = [sseCpu(code, true), sseCpu(code, false)];
      for (const v of [bits64(2.5), bits64(-0), bits64(1e30), DOUBLES[7], bits32(-2.5), 0x80000000n]) {
        for (const mxcsr of [0x1f80, 0x1fa0]) {
          const c: Case = { xmm: [0n, v], mxcsr, rcx: 0x1234567890n, scratch: bytesOf(v, 8) };
          const outs = cpus.map((cpu) => {
            cpu.flushTlb();
            return runCase(cpu, c);
          });
          assert.equal(outs[0], outs[1], `${form} with 0x${v.toString(16)}, MXCSR 0x${mxcsr.toString(16)}`);
        }
      }
    }
  },
);

Deno.test(
  "XMM registers kept in a compiled block's locals are in the register file wherever it can be observed",
  NEEDS_AS,
  () => {
    // Integer templates (XMM0-15 in locals), floating-point ones (the typed array's views), a form
    // left to its handler (PSADBW), 16-byte loads and stores on the TLB's hit and miss paths, a
    // loop over a region, and a fault (a misaligned MOVDQA) after all of them.
    const code = assembleText(
      [
        "mov ecx, 3",
        "2:",
        "paddd xmm1, xmm2",
        "pxor xmm3, xmm1",
        "addsd xmm1, xmm2",
        "movdqa xmm4, xmm1",
        "psadbw xmm4, xmm2",
        "paddq xmm4, xmm3",
        "movdqu [rbx], xmm4",
        "movdqu xmm5, [rbx+8]",
        "paddd xmm5, xmm1",
        "movq rax, xmm5",
        "add rax, rcx",
        "movq xmm7, rax",
        "dec ecx",
        "jnz 2b",
        "punpcklqdq xmm7, xmm5",
        "movdqa xmm6, [rbx]",
        "paddw xmm6, xmm7",
      ].join("\n"),
    );
    const cpus = [sseCpu(code, true), sseCpu(code, false)];
    const xmm = [0n, 0x3ff0000000000000_00000001_fffffffen, 0x4000000000000000_7fffffff_00000003n, 5n << 70n];
    for (const at of [SCRATCH_ADDR, SCRATCH_ADDR + 8]) {
      for (const flush of [true, false]) {
        const c: Case = { xmm, mxcsr: 0x1f80, rcx: 0n, scratch: new Uint8Array(32).fill(0xa5) };
        const outs = cpus.map((cpu) => {
          if (flush) cpu.flushTlb();
          return runCase(cpu, c, at);
        });
        assert.equal(JSON.parse(outs[0]).vector, at === SCRATCH_ADDR ? 3 : 13, `at 0x${at.toString(16)}`);
        assert.equal(outs[0], outs[1], `at 0x${at.toString(16)}, TLB flushed: ${flush}`);
      }
    }
  },
);

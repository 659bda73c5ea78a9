/**
 * The WebAssembly backend's SSE/SSE2 forms (src/cpu/wasm/codegen_sse.ts) give exactly the
 * interpreter's results: every compiled form runs through a wasm region and interpreted on the edge
 * values of tests/cpu/_sse_cases.ts (zeros of both signs, denormals, infinities, NaNs, rounding
 * ties, integer-range limits, byte and word patterns with their top bits set) under several MXCSR
 * settings, and must end in the same registers, XMM registers, MXCSR, RFLAGS, memory and exception.
 * Each form's block must have been compiled to wasm, and the cases must have run there: every case
 * of an integer or move form without the slow path (after the first, which fills the TLB), and
 * the floating-point forms' fast cases likewise; the cases outside the fast case (MXCSR not
 * default, NaNs, denormals, inexact results with PE clear...) leave through the slow path to the
 * handler, and are compared all the same. The interpreter's SSE semantics are checked against the
 * host CPU by the conformance tests.
 */

import assert from "node:assert/strict";
import type { Cpu } from "../../src/cpu/mod.ts";
import { CR0_TS, CR4_OSFXSR } from "../../src/cpu/mod.ts";
import { assembleText, NEEDS_AS } from "../vm/_asm.ts";
import { SCRATCH_ADDR } from "./_harness.ts";
import {
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

/** Asserts that every block of `cpu` but the final INT3's was compiled to WebAssembly. */
function assertWasm(cpu: Cpu, form: string): void {
  let n = 0;
  for (const b of cpu.blocks.all()) {
    const int3 = b.insns.length === 1 && b.insns[0].h.name === "int3";
    if (int3) continue;
    assert.equal(b.compiledBy, "wasm", `${form}: ${b.insns.map((i) => i.h.name)}`);
    n++;
  }
  assert.ok(n > 0, `${form}: no block`);
}

/**
 * Runs every case of `form` (a jump after it, so that the INT3 ending the code is a block of its
 * own) through wasm and interpreted, and compares. Returns how many cases ran without the slow
 * path; `inline` = "all": every case but the first must have, "some": at least one, "any": none
 * need have (each case takes the slow path somewhere; the blocks are still compiled).
 */
function sameBothWays(form: string, cases: Case[], inline: "all" | "some" | "any" = "all"): number {
  const code = assembleText(`${form}\njmp 1f\n1:`);
  const wasm = sseCpu(code, true, [], "wasm"), interpreted = sseCpu(code, false);
  let fast = 0;
  cases.forEach((c, k) => {
    const before = wasm.wasm?.slowPaths ?? 0;
    const out = runCase(wasm, c);
    const slow = (wasm.wasm?.slowPaths ?? 0) - before;
    if (slow === 0) fast++;
    else if (inline === "all" && k > 0) {
      assert.fail(`${form}: the slow path with ${JSON.stringify(c, hexer)}`);
    }
    assert.equal(out, runCase(interpreted, c), `${form} with ${JSON.stringify(c, hexer)}`);
  });
  assertWasm(wasm, form);
  if (inline !== "any") assert.ok(fast > 0, `${form}: no case ran inline`);
  return fast;
}

/** Scalar cases where both operands are among the first `n` (normal or zero) values, MXCSR 0x1fa0. */
const fastScalar = (values: bigint[], bytes: number, n: number) =>
  scalarCases(values.slice(0, n), bytes, [0x1fa0]);

Deno.test(
  "wasm: scalar SSE arithmetic (ADD/SUB/MUL/DIV/SQRT SD and SS) matches the interpreter, MXCSR flags included",
  NEEDS_AS,
  () => {
    for (const op of ["add", "sub", "mul", "div", "sqrt"]) {
      for (const [sfx, values, bytes] of [["sd", DOUBLES, 8], ["ss", FLOATS, 4]] as const) {
        sameBothWays(`${op}${sfx} xmm1, xmm2`, scalarCases(values, bytes), "some");
        sameBothWays(`${op}${sfx} xmm1, [rbx]`, scalarCases(values, bytes, [0x1f80, 0x1fa0]), "some");
        sameBothWays(`${op}${sfx} xmm2, xmm2`, scalarCases(values, bytes, [0x1fa0]), "some");
        // Normal operands with PE set: at least three quarters inline (the rest over- or underflow,
        // divide by zero or take a negative square root).
        const fast = fastScalar(values, bytes, 11);
        const n = sameBothWays(`${op}${sfx} xmm1, xmm2`, fast, "some");
        assert.ok(n >= fast.length * 0.4, `${op}${sfx}: ${n} of ${fast.length} inline`);
      }
    }
    // A chain in blocks of their own: the first inexact result sets PE (the slow path), the next
    // blocks may then take the fast path.
    sameBothWays(
      "divsd xmm1, xmm2\njmp 2f\n2: addsd xmm1, xmm2\nmulsd xmm2, xmm1\njmp 3f\n3: subss xmm3, xmm2\nsqrtsd xmm4, xmm1",
      scalarCases(DOUBLES, 8, [0x1f80]),
      "any",
    );
  },
);

Deno.test(
  "wasm: conversions and compares (CVTSI2SD/SS, CVT(T)SD2SI, CVT(T)SS2SI, CVTSD2SS, CVTSS2SD, (U)COMISD/SS) match the interpreter",
  NEEDS_AS,
  () => {
    const ints = [0n, 1n, -1n, 0x7fffffffn, -0x80000000n, 16777217n, -16777217n, (1n << 53n) + 1n];
    ints.push(-(1n << 62n), 0x7fffffffffffffffn, -0x8000000000000000n, 123456789n, (1n << 53n) - 1n);
    const intCases: Case[] = [];
    for (const mxcsr of MXCSRS) {
      for (const v of ints) {
        intCases.push({ xmm: [0n, UPPER | 7n], mxcsr, rax: BigInt.asUintN(64, v), scratch: bytesOf(v, 8) });
      }
    }
    for (
      const form of [
        "cvtsi2sd xmm1, eax",
        "cvtsi2sd xmm1, rax",
        "cvtsi2ss xmm1, eax",
        "cvtsi2ss xmm1, rax",
        "cvtsi2sd xmm1, dword ptr [rbx]",
        "cvtsi2sd xmm1, qword ptr [rbx]",
        "cvtsi2ss xmm1, dword ptr [rbx]",
        "cvtsi2ss xmm1, qword ptr [rbx]",
      ]
    ) {
      sameBothWays(form, intCases, form === "cvtsi2sd xmm1, eax" ? "all" : "some");
    }
    const one = (values: bigint[], bytes: number): Case[] =>
      MXCSRS.flatMap((mxcsr) =>
        values.map((b) => ({ xmm: [0n, UPPER | b], mxcsr, rcx: 0x1234567890n, scratch: bytesOf(b, bytes) }))
      );
    for (const t of ["", "t"]) {
      for (const r of ["eax", "rax"]) {
        sameBothWays(`cvt${t}sd2si ${r}, xmm1`, one(DOUBLES, 8), "some");
        sameBothWays(`cvt${t}sd2si ${r}, qword ptr [rbx]`, one(DOUBLES, 8), "some");
        sameBothWays(`cvt${t}ss2si ${r}, xmm1`, one(FLOATS, 4), "some");
        sameBothWays(`cvt${t}ss2si ${r}, dword ptr [rbx]`, one(FLOATS, 4), "some");
      }
    }
    sameBothWays("cvtsd2ss xmm2, xmm1", one(DOUBLES, 8), "some");
    sameBothWays("cvtsd2ss xmm2, qword ptr [rbx]", one(DOUBLES, 8), "some");
    sameBothWays("cvtss2sd xmm2, xmm1", one(FLOATS, 4), "some");
    sameBothWays("cvtss2sd xmm2, dword ptr [rbx]", one(FLOATS, 4), "some");
    for (const op of ["comisd", "ucomisd"]) {
      sameBothWays(
        `${op} xmm1, xmm2\nsetb cl\nsete ch\nseta dl`,
        scalarCases(DOUBLES, 8, [0x1f80, 0x1fc0]),
        "some",
      );
      sameBothWays(`${op} xmm1, [rbx]\nsetbe cl`, scalarCases(DOUBLES, 8, [0x1f80]), "some");
    }
    for (const op of ["comiss", "ucomiss"]) {
      sameBothWays(`${op} xmm1, xmm2\nsetp cl\njb 2f\n2:`, scalarCases(FLOATS, 4, [0x1f80, 0x1fc0]), "some");
      sameBothWays(`${op} xmm1, [rbx]`, scalarCases(FLOATS, 4, [0x1f80]), "some");
    }
  },
);

Deno.test(
  "wasm: packed SSE arithmetic (ADD/SUB/MUL/DIV/SQRT PD and PS), MIN/MAX and CMP (PD, PS, SD, SS) match the interpreter",
  NEEDS_AS,
  () => {
    for (const [sfx, values, bytes] of [["pd", DOUBLES, 8], ["ps", FLOATS, 4]] as const) {
      for (const op of ["add", "sub", "mul", "div", "sqrt", "min", "max"]) {
        sameBothWays(`${op}${sfx} xmm1, xmm2`, packedCases(values, bytes, [0x1f80, 0x1fa0, 0x9fe0]), "some");
        sameBothWays(`${op}${sfx} xmm1, [rbx]`, packedCases(values, bytes, [0x1fa0]), "some");
      }
    }
    // CMPPS/PD/SS/SD with every predicate.
    for (const [sfx, values, bytes] of [["pd", DOUBLES, 8], ["ps", FLOATS, 4]] as const) {
      for (let p = 0; p < 8; p++) {
        sameBothWays(`cmp${sfx} xmm1, xmm2, ${p}`, packedCases(values, bytes, [0x1f80]), "some");
      }
      sameBothWays(`cmp${sfx} xmm1, [rbx], 2`, packedCases(values, bytes, [0x1f80]), "some");
    }
    for (const [sfx, values, bytes] of [["sd", DOUBLES, 8], ["ss", FLOATS, 4]] as const) {
      for (let p = 0; p < 8; p++) {
        sameBothWays(`cmp${sfx} xmm1, xmm2, ${p}`, scalarCases(values, bytes, [0x1f80]), "some");
      }
      sameBothWays(`cmp${sfx} xmm1, [rbx], 5`, scalarCases(values, bytes, [0x1f80]), "some");
    }
    for (const [sfx, values, bytes] of [["sd", DOUBLES, 8], ["ss", FLOATS, 4]] as const) {
      for (const op of ["min", "max"]) {
        sameBothWays(`${op}${sfx} xmm1, xmm2`, scalarCases(values, bytes, [0x1f80, 0x9fe0]), "some");
        sameBothWays(`${op}${sfx} xmm1, [rbx]`, scalarCases(values, bytes, [0x1f80]), "some");
      }
    }
  },
);

Deno.test(
  "wasm: SSE2 integer, logic, shuffle, shift and unpack forms match the interpreter",
  NEEDS_AS,
  () => {
    const cases = vectorCases();
    const ops = [
      "pxor",
      "pand",
      "pandn",
      "por",
      "xorps",
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
      "pcmpgtb",
      "pcmpgtw",
      "pcmpgtd",
      "punpcklbw",
      "punpcklwd",
      "punpckldq",
      "punpcklqdq",
      "punpckhbw",
      "punpckhwd",
      "punpckhdq",
      "punpckhqdq",
      "unpcklps",
      "unpckhpd",
      "pmullw",
      "pmulhw",
      "pmulhuw",
      "pmuludq",
      "pmaddwd",
      "paddsb",
      "paddsw",
      "paddusb",
      "paddusw",
      "psubsb",
      "psubsw",
      "psubusb",
      "psubusw",
      "pavgb",
      "pavgw",
      "pminub",
      "pmaxub",
      "pminsw",
      "pmaxsw",
      "packsswb",
      "packuswb",
      "packssdw",
    ];
    for (const op of ops) {
      sameBothWays(`${op} xmm1, xmm2`, cases);
      sameBothWays(`${op} xmm1, [rbx]`, cases);
      sameBothWays(`${op} xmm1, xmm1`, cases.slice(0, 20));
    }
    for (const imm of [0, 0x1b, 0xe4, 0x4e, 0xff, 0x39]) {
      for (const op of ["pshufd", "pshuflw", "pshufhw"]) {
        sameBothWays(`${op} xmm1, xmm2, ${imm}`, cases.slice(0, 60));
        sameBothWays(`${op} xmm1, [rbx], ${imm}`, cases.slice(0, 20));
        sameBothWays(`${op} xmm2, xmm2, ${imm}`, cases.slice(0, 20));
      }
    }
    sameBothWays("pmovmskb eax, xmm2\npmovmskb r9d, xmm1\npmovmskb rcx, xmm3", cases);
    sameBothWays("movmskps eax, xmm2\nmovmskpd r9d, xmm1\nmovmskps rcx, xmm3", cases);
    for (const imm of [0, 3, 7, 0x1b, 0xe4, 0x4e, 0xff]) {
      sameBothWays(`shufps xmm1, xmm2, ${imm}\nshufpd xmm3, xmm1, ${imm}`, cases.slice(0, 60));
      sameBothWays(`shufps xmm1, [rbx], ${imm}\nshufpd xmm2, [rbx], ${imm}`, cases.slice(0, 20));
      sameBothWays(
        `pextrw eax, xmm2, ${imm}\npinsrw xmm1, eax, ${
          (imm + 1) & 0xff
        }\npinsrw xmm3, word ptr [rbx], ${imm}`,
        cases.slice(0, 20),
      );
    }
    for (
      const op of ["psrlw", "psraw", "psllw", "psrld", "psrad", "pslld", "psrlq", "psllq", "psrldq", "pslldq"]
    ) {
      for (const n of [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 200, 255]) {
        sameBothWays(`${op} xmm2, ${n}`, cases.slice(0, 30));
      }
    }
  },
);

Deno.test(
  "wasm: SSE moves (MOVDQA/DQU/APS/UPS/APD/UPD, MOVSD, MOVSS, MOVQ, MOVD) match the interpreter",
  NEEDS_AS,
  () => {
    const cases = vectorCases().slice(0, 60).map((c, k) => ({
      ...c,
      rax: 0x8877665544332211n * BigInt(k + 1),
    }));
    const forms = [
      ...SSE_MOVE_FORMS,
      "movq qword ptr [rbx+4], xmm1",
      // General-register forms between SSE ones, in one region: the locals of both kinds.
      "movq rax, xmm1\nadd rax, 1\nmovq xmm4, rax\npaddq xmm4, xmm2\nmovd edx, xmm4\ncmp edx, eax\nsetne dl",
    ];
    for (const form of forms) sameBothWays(form, cases);
  },
);

Deno.test(
  "wasm: SSE forms fault as the handlers do (#UD, #NM, #GP on alignment, #PF, #XM), through the slow path",
  NEEDS_AS,
  () => {
    const c: Case = { xmm: [0n, 1n, bits64(3), bits64(0)], mxcsr: 0x1f80, scratch: new Uint8Array(32) };
    const run = (form: string, wasm: boolean, setup: (cpu: Cpu) => void, cc: Case, at = SCRATCH_ADDR) => {
      const cpu = sseCpu(assembleText(`${form}\njmp 1f\n1:`), wasm, [], wasm ? "wasm" : "js");
      setup(cpu);
      const out = runCase(cpu, cc, at);
      if (wasm) assertWasm(cpu, form);
      return out;
    };
    for (
      const form of [
        "paddd xmm1, xmm2",
        "movdqa xmm1, [rbx]",
        "addsd xmm1, xmm2",
        "mov eax, 1\npxor xmm1, xmm1",
      ]
    ) {
      for (const [cr0, cr4, vector] of [[0, CR4_OSFXSR, 3], [CR0_TS, CR4_OSFXSR, 7], [0, 0, 6]]) {
        const setup = (cpu: Cpu) => {
          cpu.cr0 |= cr0;
          cpu.cr4 = (cpu.cr4 & ~CR4_OSFXSR) | cr4;
        };
        const outs = [true, false].map((wasm) => run(form, wasm, setup, c));
        assert.equal(JSON.parse(outs[0]).vector, vector, `${form}, CR0 ${cr0}, CR4 ${cr4}`);
        assert.equal(outs[0], outs[1], form);
      }
    }
    // Misaligned MOVDQA/MOVAPS/PXOR m128: #GP(0); across a page into an unmapped one: #PF.
    const page = SCRATCH_ADDR & ~0xfff;
    for (
      const [form, at, vector] of [
        ["movdqa xmm1, [rbx]", SCRATCH_ADDR + 8, 13],
        ["movaps [rbx], xmm1", SCRATCH_ADDR + 4, 13],
        ["pxor xmm1, [rbx]", SCRATCH_ADDR + 1, 13],
        ["mulpd xmm1, [rbx]", SCRATCH_ADDR + 8, 13],
        ["movdqu xmm1, [rbx]", page + 0xff8, 14],
        ["movdqu [rbx], xmm1", page + 0xffc, 14],
        ["movsd xmm1, [rbx]", page + 0xffc, 14],
        ["addsd xmm1, [rbx]", page + 0xffc, 14],
        ["cvtsi2sd xmm1, qword ptr [rbx]", page + 0xffe, 14],
      ] as const
    ) {
      const small = { ...c, scratch: new Uint8Array(4) };
      const outs = [true, false].map((wasm) => run(form, wasm, () => {}, small, at));
      assert.equal(JSON.parse(outs[0]).vector, vector, form);
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
      const cc = { ...c, xmm: [0n, bits64(1), bits64(0.1), 0n], mxcsr };
      const outs = [true, false].map((wasm) => run(`mov ecx, 5\n${form}`, wasm, () => {}, cc));
      assert.equal(outs[0], outs[1], form);
    }
  },
);

/**
 * The block compiler gives exactly the interpreter's results. The interpreter's instruction
 * semantics are checked against the host CPU elsewhere (fixtures, conformance); here every
 * templated form, and every condition fused with the CMP, SUB, AND or TEST before it, runs both
 * ways on edge values and must end in the same registers and flags.
 */

import assert from "node:assert/strict";
import { disassemble } from "../../src/cpu/disasm.ts";
import { Machine } from "../../src/vm/mod.ts";
import { assembleText, NEEDS_AS } from "../vm/_asm.ts";
import { guestMaker, SAMPLE_RUNS } from "../vm/_guests.ts";

const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const EDGES = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  0x123456789abcdef0n,
];

/** Runs `code` with RAX, RBX preset; returns registers and flags at the final HLT. */
function run(code: Uint8Array, a: bigint, b: bigint, compiled: boolean, handlers: string[] = []): string {
  const m = Machine.fromFlat(code, 0x100000, 0x100000, { memory: 4 << 20 });
  m.cpu.compileThreshold = compiled ? 1 : Infinity;
  m.cpu.setReg64(0, a);
  m.cpu.setReg64(3, b);
  const exit = m.runToEnd(100);
  if (compiled) assertTemplated(m, handlers);
  return JSON.stringify([exit.reason, m.regs()]);
}

/**
 * Asserts that every block the run decoded was compiled and that each of its instructions ran as
 * the compiler's template, except HLT and the instructions (disassembled) in `handlers`, which
 * must call their handler: a template that fell back to its handler fails here, not silently.
 */
function assertTemplated(m: Machine, handlers: string[]): void {
  let blocks = 0;
  for (const b of m.cpu.blocks.all()) {
    blocks++;
    assert.ok(b.templated !== null, `block at 0x${b.hpa.toString(16)} was not compiled`);
    b.insns.forEach((insn, k) => {
      const text = disassemble(insn);
      const handler = text === "hlt" || handlers.includes(text);
      assert.equal(
        b.templated![k],
        !handler,
        `${text}: ${handler ? "expected its handler" : "not templated"}`,
      );
    });
  }
  assert.ok(blocks > 0);
}

/**
 * Asserts that `text` (then HLT) ends in the same registers and flags compiled and interpreted,
 * for every `a` in EDGES and every `b` in `bs` and `a` itself, and that the compiled run took a
 * template for each instruction but those in `handlers` (see {@link assertTemplated}). Returns
 * the cases checked.
 */
function sameBothWays(text: string, bs: bigint[], handlers: string[] = []): number {
  const code = assembleText(`${text}\nhlt`);
  let n = 0;
  for (const a of EDGES) {
    for (const b of [...bs, a]) {
      assert.equal(
        run(code, a, b, true, handlers),
        run(code, a, b, false),
        `${text.replaceAll("\n", "; ")} with ${a}, ${b}`,
      );
      n++;
    }
  }
  return n;
}

/** {@link sameBothWays} for each of `forms`, with the instructions in `handlers` left to their handlers. */
function allSameBothWays(forms: string[], bs: bigint[], handlers: string[] = []): void {
  for (const form of forms) sameBothWays(form, bs, handlers);
}

Deno.test(
  "compiled blocks fuse each condition with the CMP/SUB/AND/TEST before it, as the interpreter evaluates it",
  NEEDS_AS,
  () => {
    const forms = [
      "cmp rax, rbx",
      "cmp eax, ebx",
      "sub rax, rbx",
      "sub eax, ebx",
      "cmp rax, -1",
      "cmp eax, 0x7f",
      "test rax, rbx",
      "test eax, ebx",
      "and rax, rbx",
      "xor eax, ebx",
      "or rax, rbx",
      "stc\ninc rax", // STC and CLC are handlers: INC/DEC keep the CF they leave
      "clc\ndec eax",
      "dec rax",
      "inc eax",
      "cmp al, bl",
      "cmp bh, 0x80",
      "test bl, 0x81",
      "test bx, 0x8001",
      "test al, 0xc0",
      "test bl, al",
      "test ah, bh",
      "test bx, ax",
    ];
    let checked = 0;
    for (const form of forms) {
      for (const cc of CC) {
        // A MOV between the flag-setter and the branch must not disturb the fused operands.
        const n = sameBothWays(`${form}\nmov rax, rcx\nj${cc} 1f\nmov edx, 1\n1:`, [
          0n,
          1n,
          0x80000000n,
          0xffffffffffffffffn,
        ], ["stc", "clc"]);
        checked += n;
      }
    }
    assert.ok(checked > 10000);
  },
);

Deno.test(
  "compiled templates (MOV, LEA, loads, stores, ALU with immediates) match the interpreter",
  NEEDS_AS,
  () => {
    const code = assembleText(`
    mov r8, rax
    mov r9d, ebx
    lea r10, [rax + rbx*4 + 0x10]
    lea r11d, [rbx + rax*8 - 3]
    mov qword ptr [0x200000], rax
    mov dword ptr [0x200008], ebx
    mov r12, qword ptr [rip + data]
    mov r13d, dword ptr [0x200000]
    add r8, -5
    add r9d, 0x7fffffff
    sub r10, rbx
    and r11, 0x7f
    or r12d, ebx
    xor r13, rax
    mov r14, 0x1122334455667788
    mov r15d, 0x9abcdef0
    test r8, r9
    push r8
    push rax
    pop r14
    pop rsp
    mov rsp, 0x300000
    movzx r15d, byte ptr [0x200001]
    movzx r13, word ptr [0x200006]
    movzx r12d, bl
    shl rax, 1
    shl rbx, 33
    shr r8, 7
    shr r9, 63
    sar r10, 1
    sar r11, 40
    shl eax, 31
    shr ebx, 1
    sar r8d, 5
    sal r9d, 3
    hlt
  data:
    .quad 0xfedcba9876543210`);
    for (const a of EDGES) {
      // MOV r/m64, imm32 (C7 /0) has no template.
      for (const b of EDGES) {
        assert.equal(run(code, a, b, true, ["mov rsp, 0x300000"]), run(code, a, b, false), `${a}, ${b}`);
      }
    }
  },
);

Deno.test(
  "compiled shifts and rotates by constants, MOVZX, PUSH and POP match the interpreter, flags included",
  NEEDS_AS,
  () => {
    const forms = [
      "shl rax, 1",
      "shl rax, 5",
      "shl rax, 32",
      "shl rax, 63",
      "shr rax, 1",
      "shr rax, 31",
      "shr rax, 32",
      "shr rax, 63",
      "sar rax, 1",
      "sar rax, 17",
      "sar rax, 32",
      "sar rax, 63",
      "shl eax, 1",
      "shl eax, 31",
      "shr eax, 1",
      "shr eax, 13",
      "sar eax, 1",
      "sar eax, 31",
      "shl rax, 64", // masked to 0: the handler's path
      // Rotates change only CF and OF: the flags of the CMP before must survive in the others.
      ...[1, 5, 31, 32, 33, 63].flatMap((
        n,
      ) => [`cmp rbx, rax\nrol rax, ${n}`, `cmp rbx, rax\nror rax, ${n}`]),
      ...[1, 7, 31].flatMap((n) => [`cmp ebx, eax\nrol eax, ${n}`, `cmp ebx, eax\nror eax, ${n}`]),
      "movzx eax, bl",
      "movzx rax, bx",
      "push rbx\npop rax",
      // By CL: a count of 0 (also 64 or 32 masked) keeps the CMP's flags; 32-bit still zero-extends.
      ...[0, 1, 2, 31, 32, 33, 63, 64, 65].flatMap((n) =>
        ["shl", "shr", "sar"].flatMap((op) => [
          `cmp rbx, rax\nmov ecx, ${n}\n${op} rax, cl`,
          `cmp ebx, eax\nmov ecx, ${n}\n${op} eax, cl`,
        ])
      ),
      "mov ecx, 0x105\nshl rcx, cl\nmov edx, 0x23\nsar edx, cl",
      // Indirect jumps: through a register, through memory, and to a non-canonical target (#GP).
      "lea rcx, [rip + 1f]\njmp rcx\nmov edx, 1\n1:",
      "lea rcx, [rip + 1f]\nmov qword ptr [0x200000], rcx\njmp qword ptr [0x200000]\nmov edx, 1\n1:",
      "mov rcx, 0x800000000000\njmp rcx",
      "mov rcx, 0x800000000000\nmov qword ptr [0x200008], rcx\njmp qword ptr [0x200008]",
    ];
    allSameBothWays(forms, [0n, 0xffffffffffffffffn, 0x8000000000000001n], ["shl rax, 0x40"]);
  },
);

Deno.test("a compiled block that stores into its own code stops and runs the new code", NEEDS_AS, () => {
  // The MOV store patches the immediate of the next MOV, in the same block.
  const code = assembleText(`
    lea rbx, [rip + patch + 1]
    mov dword ptr [rbx], eax
  patch:
    mov ecx, 0x11111111
    hlt`);
  for (const compiled of [true, false]) {
    const m = Machine.fromFlat(code, 0x100000, 0x100000, { memory: 4 << 20 });
    m.cpu.compileThreshold = compiled ? 1 : Infinity;
    m.cpu.setReg64(0, 0x22222222n);
    m.runToEnd(100);
    assert.equal(m.cpu.getReg64(1), 0x22222222n, compiled ? "compiled" : "interpreted");
  }
});

Deno.test("compiled CALL and RET (with and without an immediate) match the interpreter", NEEDS_AS, () => {
  const code = assembleText(`
    mov rsp, 0x300000
    call f
    add rax, 1
    push 5
    call h
    mov rdx, rsp
    hlt
  f:
    add rbx, rax
    push rax
    call g
    pop rcx
    ret
  g:
    add rbx, 7
    ret
  h:
    add rbx, qword ptr [rsp + 8]
    ret 8`);
  for (const a of EDGES) {
    const got = run(code, a, 3n, true, ["mov rsp, 0x300000", "push 0x5"]); // C7 /0 and PUSH imm8: handlers
    assert.match(got, /^\["hlt"/);
    assert.equal(got, run(code, a, 3n, false), `${a}`);
  }
});

/** One sample guest of guests/manifest.json, ready to run. */
function guest(name: string, threshold: number): Machine {
  const m = guestMaker(SAMPLE_RUNS.find((r) => r.name === name)!)();
  m.cpu.compileThreshold = threshold;
  return m;
}

Deno.test("compiled regions stop exactly where the interpreter stops, slice after slice, on real guests", () => {
  // Odd slice lengths end slices inside blocks and regions; the kernel guest takes interrupts and
  // changes its page tables (stale regions), smc rewrites its own code.
  for (
    const name of ["sort-O3", "hash-Os", "forth-small", "bignum-small", "kernel", "smc", "memwrite-small"]
  ) {
    for (const threshold of [1, 3]) {
      const compiled = guest(name, threshold), interpreted = guest(name, Infinity);
      let seed = 12345, slices = 0;
      for (;;) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const slice = 1 + (seed >>> 8) % 4000;
        const a = compiled.run(slice), b = interpreted.run(slice);
        assert.equal(compiled.instructions, interpreted.instructions, `${name}: instructions`);
        assert.deepEqual(compiled.regs(), interpreted.regs(), name);
        slices++;
        if (a !== null || b !== null) {
          assert.deepEqual(a, b, name);
          break;
        }
      }
      assert.equal(compiled.digest(), interpreted.digest(), name);
      assert.equal(compiled.consoleText(), interpreted.consoleText(), name);
      assert.ok(slices > 10, `${name}: ${slices} slices`);
    }
  }
});

Deno.test(
  "compiled CMOVcc, SETcc and NOPs match the interpreter for every condition after each flag source",
  NEEDS_AS,
  () => {
    const setters = [
      "cmp rax, rbx",
      "cmp eax, ebx",
      "test rax, rbx",
      "and eax, ebx",
      "dec rax",
      "add rax, rbx",
    ];
    let checked = 0;
    for (const setter of setters) {
      for (const cc of CC) {
        // 32-bit CMOV clears RSI's upper half even when it does not move; SETcc into AH and R9B keeps the rest.
        const text = [
          "mov rsi, 0x123456789abcdef0",
          "mov r9, 0x123456789abcdef0",
          setter,
          "nop dword ptr [rax + 0x10]",
          `cmov${cc} rdx, rbx`,
          `cmov${cc} esi, eax`,
          `set${cc} ah`,
          `set${cc} r9b`,
          "nop",
        ].join("\n");
        const n = sameBothWays(text, [0n, 1n, 0xffffffffffffffffn]);
        checked += n;
      }
    }
    assert.ok(checked > 4000);
  },
);

Deno.test(
  "a compiled block drops only flag records nothing can observe: a fault or a flag read between keeps them",
  NEEDS_AS,
  () => {
    const cases = [
      // Dead: the CMP overwrites the ADD's flags with only register moves between.
      "add rax, rbx\nmov rcx, rax\nxor edx, edx\ncmp rax, rcx\nhlt",
      // The store faults (non-canonical address): RFLAGS at the fault must be the ADD's.
      "add rax, rbx\nmov rsi, 0x7fffffffffff0000\nshl rsi, 4\nmov qword ptr [rsi], rax\nsub rax, rax\nhlt",
      // ADC reads CF of the SUB before the CMP overwrites it.
      "sub rax, rbx\nadc rcx, 0\ncmp rax, rbx\nhlt",
      // INC keeps CF from the ADD.
      "add rax, rbx\ninc rcx\nhlt",
      // Registers live in locals between handlers: BSWAP (a handler) must see the ADD's RAX, and
      // the ADD after it BSWAP's result.
      "add rax, rbx\nbswap rax\nadd rcx, rax\nmov rdx, rcx",
      // A rotate changes only CF and OF: kept, it reads the ADD's record; overwritten, both go.
      "add rax, rbx\nrol rax, 3\nhlt",
      "add rax, rbx\nrol rax, 3\nadd rcx, rax",
      "sub rax, rbx\nror rax, 1\njo 1f\nmov edx, 1\n1:",
      "sub rax, rbx\ninc rcx\nrol eax, 5\nxor rdx, rdx",
      "sub rax, rbx\ninc rcx\nrol eax, 5\njc 1f\nmov edx, 1\n1:",
      // A Jcc that cannot be fused reads the SHL's flags.
      "shl rax, 3\njp 1f\nmov edx, 1\n1:\nhlt",
    ];
    allSameBothWays(cases, [0n, 1n, 0xffffffffffffffffn], ["adc rcx, 0x0", "bswap rax"]);
  },
);

Deno.test(
  "compiled TEST with immediates, accumulator ALU forms, MOVSX, CDQE/CQO, IMUL r32 and ALU loads match the interpreter",
  NEEDS_AS,
  () => {
    const forms = [
      "test eax, 0x80000000\njs 1f\nmov edx, 1\n1:",
      "test rax, -2\njz 1f\nmov edx, 1\n1:",
      "test bl, 0x81",
      "test bh, 1",
      "test al, 3",
      "test rax, 0x7fffffff",
      "cmp eax, 0x12345678\njb 1f\nmov edx, 1\n1:",
      "add rax, 0x7fffffff",
      "sub eax, 500\njl 1f\nmov edx, 1\n1:",
      "and rax, -500",
      "movsx rax, bl",
      "movsx eax, bh",
      "movsx rax, bx",
      "movsx ecx, bx",
      "movsxd rax, ebx",
      "mov qword ptr [0x200000], rbx\nmovsx rax, byte ptr [0x200000]\nmovsx ecx, word ptr [0x200006]\nmovsxd rdx, dword ptr [0x200004]",
      // First touches of their pages: the loads take the TLB's miss path.
      "movsx rax, byte ptr [0x201001]\nmovsxd rcx, dword ptr [0x202000]\nadd rax, qword ptr [0x203000]\nsub ecx, dword ptr [0x204000]",
      "cdqe",
      "cqo",
      "cdq",
      "imul eax, ebx",
      "imul ebx, eax, -7",
      "imul ecx, ebx, 0x40000000",
      "imul eax, eax\njo 1f\nmov edx, 1\n1:",
      "imul rax, rbx",
      "imul rbx, rax, -7",
      "imul rcx, rbx, 0x40000000",
      "imul rax, rax\njo 1f\nmov edx, 1\n1:",
      "cmp rax, rbx\nimul rcx, rbx\njc 1f\nmov edx, 1\n1:",
      "mul rbx",
      "mul rax\njc 1f\nmov ecx, 1\n1:",
      "mov rdx, rbx\nmul rdx",
      "mov qword ptr [0x200000], rbx\nadd rax, qword ptr [0x200000]",
      "mov qword ptr [0x200000], rbx\ncmp eax, dword ptr [0x200000]\njae 1f\nmov edx, 1\n1:",
      "mov qword ptr [0x200000], rbx\nxor rax, qword ptr [0x200000]\njle 1f\nmov edx, 1\n1:",
    ];
    allSameBothWays(forms, [0n, 1n, 0x80n, 0x8000n, 0xffffffffffffffffn, 0x8000000000000001n]);
  },
);

Deno.test(
  "compiled byte and word loads and stores, and byte compares, match the interpreter",
  NEEDS_AS,
  () => {
    const forms = [
      "mov byte ptr [0x200001], bl\nmov byte ptr [0x200002], bh\nmov word ptr [0x200004], bx\nmov rax, qword ptr [0x200000]",
      "mov qword ptr [0x200000], rbx\nmov al, byte ptr [0x200003]\nmov ah, byte ptr [0x200001]\nmov cx, word ptr [0x200006]",
      "mov r9b, byte ptr [0x205007]\nmov r10w, word ptr [0x206ffe]", // first touches: the TLB's miss path
      ...["b", "ae", "e", "l", "le", "s", "p"].flatMap((cc) => [
        `cmp al, bl\nj${cc} 1f\nmov edx, 1\n1:`,
        `cmp bh, 0x80\nj${cc} 1f\nmov edx, 1\n1:`,
        `mov qword ptr [0x200000], rbx\ncmp byte ptr [0x200000], al\nj${cc} 1f\nmov edx, 1\n1:`,
        `mov qword ptr [0x200000], rbx\ncmp al, byte ptr [0x200007]\nj${cc} 1f\nmov edx, 1\n1:`,
        `mov qword ptr [0x200000], rbx\ncmp byte ptr [0x200001], 0x7f\nj${cc} 1f\nmov edx, 1\n1:`,
      ]),
    ];
    allSameBothWays(forms, [0n, 1n, 0x7fn, 0x80n, 0xff80n, 0xffffffffffffffffn]);
  },
);

Deno.test(
  "compiled NOT r32/r64 matches the interpreter and keeps the flags of the instruction before",
  NEEDS_AS,
  () => {
    for (
      const text of [
        "cmp rax, rbx\nnot rax\nsetb cl\nnot ebx\nsete dl",
        "add eax, ebx\nnot r13d\nnot r13\nsetl cl",
      ]
    ) {
      sameBothWays(text, [0n, 1n, 0xffffffff80000000n]);
    }
  },
);

/**
 * The WebAssembly backend (src/cpu/wasm/) gives exactly the interpreter's results. Every form it
 * compiles runs both ways on edge values and must end in the same registers and flags, with an
 * assertion that its block was compiled to wasm and ran there without the slow path (the TLB warm);
 * real guests run slice by slice through wasm regions must stop where the interpreter stops, with
 * the same registers, console, instruction count and digest; a guest migrated out of wasm code
 * ends equal to the unmigrated interpreted run.
 */

import assert from "node:assert/strict";
// The CPU first: the generator's handler modules (ops/string.ts) import the CPU, whose opcode table
// reads their constants as it loads.
import { Machine, parseSize } from "../../src/vm/mod.ts";
import { encodeRegions } from "../../src/cpu/wasm/codegen.ts";
import { assembleText, NEEDS_AS } from "../vm/_asm.ts";
import { assertSameEnd, guestMaker, migrateAt, SAMPLE_RUNS } from "../vm/_guests.ts";
import { REPO_ROOT } from "../../guests/build.ts";

const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const EDGES = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  0x123456789abcdef0n,
];

/**
 * The program around a form: a first block touching the data and stack pages (its accesses take
 * the slow path once and fill the TLB), then the form in blocks of its own, then HLT.
 */
function program(form: string): Uint8Array {
  return assembleText(`
    mov rdx, qword ptr [0x200000]
    mov qword ptr [0x200000], rdx
    mov rdx, qword ptr [rsp - 8]
    mov qword ptr [rsp - 8], rdx
    xor edx, edx
    jmp 2f
  2:
    ${form}
    jmp 3f
  3:
    hlt`);
}

/** Runs `code` with RAX, RBX preset (wasm-compiled or interpreted); registers and flags at the end. */
function run(code: Uint8Array, a: bigint, b: bigint, wasm: boolean, slow = 1, df = false): string {
  const m = Machine.fromFlat(code, 0x100000, 0x100000, { memory: 4 << 20, backend: wasm ? "wasm" : "js" });
  m.cpu.compileThreshold = wasm ? 1 : Infinity;
  if (df) m.cpu.fl.rf |= 0x400; // DF: string instructions step down
  m.cpu.setReg64(0, a);
  m.cpu.setReg64(3, b);
  m.cpu.setReg64(1, 5n);
  const exit = m.runToEnd(1000);
  if (wasm) {
    for (const blk of m.cpu.blocks.all()) {
      const hlt = blk.insns.length === 1 && blk.insns[0].h.name === "hlt";
      assert.equal(
        blk.compiledBy,
        hlt ? "js" : "wasm",
        `block at 0x${blk.hpa.toString(16)}: ${blk.insns.map((i) => i.h.name)}`,
      );
    }
    // Only the first block's first access takes the slow path (and forms that fault, by `slow`;
    // -1: as many as the values ask for).
    if (slow >= 0) assert.equal(m.cpu.wasm!.slowPaths, slow, "slow paths taken");
  }
  return JSON.stringify([exit.reason, m.regs(), m.cpu.getRflags()]);
}

/** Asserts `form` ends equal wasm-compiled and interpreted for every edge pair. */
function sameBothWays(form: string, slow = 1): number {
  const code = program(form);
  let n = 0;
  for (const a of EDGES) {
    for (const b of [1n, 0xffffffffffffffffn, a]) {
      assert.equal(
        run(code, a, b, true, slow),
        run(code, a, b, false),
        `${form.replaceAll("\n", "; ")}: ${a}, ${b}`,
      );
      n++;
    }
  }
  return n;
}

Deno.test(
  "wasm: every condition fused with the flag-setter before it, or read from the record, as interpreted",
  NEEDS_AS,
  () => {
    const setters = [
      "cmp rax, rbx",
      "cmp eax, ebx",
      "sub rax, rbx",
      "sub eax, ebx",
      "cmp rax, -1",
      "cmp eax, 0x7f",
      "add rax, rbx",
      "add eax, ebx",
      "test rax, rbx",
      "test eax, ebx",
      "and rax, rbx",
      "xor eax, ebx",
      "or rax, rbx",
      "inc rax",
      "dec eax",
      "cmp al, bl",
      "cmp bh, 0x80",
      "cmp ax, bx",
      "test bl, 0x81",
      "test ax, 0x8001",
      "add al, bl",
      "sub bx, ax",
      "shl rax, 1",
      "sar eax, 3",
      "shr rax, 1",
      "shr ebx, 31",
      "sar rax, 63",
      "shl bx, 9",
      "rol rax, 1",
      "ror eax, 7",
      "cmp rax, rbx\nror rbx, 1", // a rotate keeps the CMP's SF, ZF, PF and AF
      "shl eax, 1\nrol rbx, 3", // a rotate over a shift's pending flags
      "sub rax, rbx\nrol rax, 5\nror rbx, 1", // a rotate over a rotate
      "shr rax, 2\njmp 4f\n4:", // a shift's flags from the record in the next block
      "cmp rax, rbx\ninc rbx", // INC keeps the CMP's CF
      "cmp eax, ebx\njmp 4f\n4:", // the condition after a block boundary: from the record
    ];
    let n = 0;
    for (const s of setters) {
      // Each condition's Jcc, SETcc and CMOVcc outcome becomes one bit of RDX, RSI and R11.
      const body = CC.map((cc) => `
        mov rax, r8
        mov rbx, r9
        xor edi, edi
        ${s}
        set${cc} cl
        cmov${cc} edi, r10d
        j${cc} 5f
        lea rdx, [rdx + rdx]
        jmp 6f
      5:
        lea rdx, [rdx + rdx + 1]
      6:
        movzx ecx, cl
        lea rsi, [rsi*2 + rcx]
        lea r11, [r11*2 + rdi]`).join("\n");
      n += sameBothWays(`mov r8, rax\nmov r9, rbx\nmov r10d, 1\nxor esi, esi\nxor r11d, r11d\n${body}`);
    }
    assert.ok(n > 1000);
  },
);

Deno.test(
  "wasm: MOV, MOVZX, MOVSX, LEA, ALU, TEST, shifts, CDQE/CDQ/CQO and memory forms match the interpreter",
  NEEDS_AS,
  () => {
    const forms = [
      "mov r8, rax\nmov r9d, ebx\nmov r10w, ax\nmov r11b, bl\nmov ah, bl\nmov bh, al",
      "mov r14, 0x1122334455667788\nmov r15d, 0x9abcdef0\nmov cx, 0x1234\nmov ch, 0x56",
      "lea r10, [rax + rbx*4 + 0x10]\nlea r11d, [rbx + rax*8 - 3]\nlea r12, [rip + 0x100]\nlea r13, [rbx*2]",
      "mov qword ptr [0x200000], rax\nmov dword ptr [0x200008], ebx\nmov word ptr [0x20000c], ax\nmov byte ptr [0x20000e], bh\nmov r12, qword ptr [0x200000]\nmov r13d, dword ptr [0x200004]\nmov r14w, word ptr [0x200006]\nmov r15b, byte ptr [0x200009]",
      "mov qword ptr [0x200000], -2\nmov dword ptr [0x200010], 0x80000000\nmov word ptr [0x200018], 0x8001\nmov byte ptr [0x20001a], 0x7f\nmov r8, qword ptr [0x200000]\nmov r9, qword ptr [0x200010]\nmov r10, qword ptr [0x200018]",
      "mov qword ptr [0x200000], rax\nmovzx r8d, byte ptr [0x200001]\nmovzx r9, word ptr [0x200006]\nmovsx r10, byte ptr [0x200007]\nmovsx r11d, word ptr [0x200002]\nmovsxd r12, dword ptr [0x200004]",
      "movzx eax, bl\nmovzx rcx, bx\nmovzx edx, bh\nmovsx rsi, bl\nmovsx edi, bx\nmovsxd r8, ebx\nmovsx ecx, ah",
      "add rax, rbx\nsub ebx, eax\nand rax, 0x7f\nor ebx, -1\nxor rax, rax\nadd al, bl\nsub bh, 3\nand ax, bx\nor cl, ah",
      "add eax, 0x7fffffff\nsub rbx, -0x80000000\nadd ax, 1\nadd al, 0x80\nsub rax, 1\nxor bl, 0xff",
      "mov qword ptr [0x200000], rbx\nadd rax, qword ptr [0x200000]\nsub eax, dword ptr [0x200004]\nxor ax, word ptr [0x200002]\nand al, byte ptr [0x200001]\ncmp qword ptr [0x200000], rax\ncmp byte ptr [0x200003], 0x80",
      "mov qword ptr [rsp - 16], rbx\ncmp dword ptr [rsp - 16], 7\ntest byte ptr [rsp - 13], 0x81\ntest qword ptr [rsp - 16], rax",
      "inc rax\ndec ebx\ninc ax\ndec bl\ninc ch",
      ...[1, 5, 31, 32, 63].flatMap((n) => [`shl rax, ${n}`, `shr rbx, ${n}`, `sar rax, ${n}`]),
      ...[1, 7, 31].flatMap((n) => [`shl eax, ${n}`, `shr ebx, ${n}`, `sar eax, ${n}`, `sal ebx, ${n}`]),
      "cdqe\ncqo",
      "cdq",
      "push rax\npush rbx\npop rcx\npop rsi",
      "push rsp\npop rax",
      "mov rdi, rsp\nmov rsp, 0x3ff800\npush rax\npop rsp\nmov rsp, rdi",
      "nop\nnop dword ptr [rax + rax]\nnop word ptr [rax]",
      // Read-modify-write memory operands, NEG, NOT, IMUL, shifts by CL and of bytes and words.
      "mov qword ptr [0x200000], rbx\nadd qword ptr [0x200000], rax\nsub dword ptr [0x200004], 7\nxor word ptr [0x200002], ax\nor byte ptr [0x200001], al\nand dword ptr [0x200000], eax\ninc qword ptr [0x200000]\ndec byte ptr [0x200007]\nneg word ptr [0x200002]\nnot dword ptr [0x200004]\nmov rcx, qword ptr [0x200000]",
      "neg rax\nnot ebx\nneg bl\nnot ax",
      "imul rax, rbx\nimul ebx, eax",
      "mov ecx, 8\njmp 4f\n4:\nshr rax, cl\nmovzx eax, al", // CL set in another region
      // Rotates change only CF and OF: the flags of the CMP before must survive in the others.
      ...[1, 5, 31, 32, 33, 63].flatMap((
        n,
      ) => [`cmp rbx, rax\nrol rax, ${n}`, `cmp rbx, rax\nror rax, ${n}`]),
      ...[1, 7, 31].flatMap((n) => [`cmp ebx, eax\nrol eax, ${n}`, `add ebx, eax\nror eax, ${n}`]),
      // ADC and SBB take the carry of the record before (fused, from the record, or another ADC/SBB).
      "cmp rax, rbx\nadc rcx, rbx\nsbb rdx, rax\nadc al, bl\nsbb ebx, 1\nadc si, ax",
      "add rax, rbx\nadc rcx, 0\nadc rdx, rdx\nsub rbx, rax\nsbb rsi, 0\nsbb edi, edi",
      "cmp eax, ebx\njmp 4f\n4:\nadc rcx, rax\nsbb rdx, rbx",
      "mov qword ptr [0x200000], rbx\ncmp rbx, rax\nadc qword ptr [0x200000], rax\nsbb rcx, qword ptr [0x200000]",
      "bswap rax\nbswap ebx\nbswap r9",
      "xchg rax, rbx\nxchg ecx, edx\nxchg al, bh\nxchg eax, eax\nxchg si, di",
      "mov qword ptr [0x200000], rbx\ncmp rax, rbx\ncmovb rcx, qword ptr [0x200000]\ncmovge edx, dword ptr [0x200004]",
      "mul rbx",
      "mov rcx, rax\nmul rcx\nmul ebx",
      "mov qword ptr [0x200000], rbx\nmul qword ptr [0x200000]",
      "imul rax, rbx, -3\nimul ecx, ebx, 0x7fffffff",
      "mov qword ptr [0x200000], rbx\nimul rax, qword ptr [0x200000]",
      ...[0, 1, 2, 31, 32, 33, 63, 64].flatMap((n) =>
        ["shl", "shr", "sar"].flatMap((op) => [
          `cmp rbx, rax\nmov ecx, ${n}\n${op} rax, cl`,
          `cmp ebx, eax\nmov ecx, ${n}\n${op} eax, cl`,
        ])
      ),
      ...[1, 3, 7].flatMap((
        n,
      ) => [`shl al, ${n}`, `shr bl, ${n}`, `sar ah, ${n}`, `shl ax, ${n + 8}`, `sar bx, ${n}`]),
      "lea rcx, [rip + 1f]\ncall rcx\njmp 2f\n1:\nret\n2:\nlea rcx, [rip + 1b]\nmov qword ptr [0x200000], rcx\ncall qword ptr [0x200000]",
      // A shift's pending flags die at the next full flag-setter, in its block or the next.
      "shr rax, 3\nshl rbx, 1\nand ecx, eax",
      "sar rax, 1\njmp 4f\n4:\nmov ecx, eax\nadd ecx, 1",
      "mov ecx, 5\n4:\nmov edx, eax\nand edx, 1\nadd esi, edx\nshr rax, 1\ndec ecx\njne 4b",
      "mov ecx, 3\n4:\nmov edx, eax\nand edx, 1\nadd esi, edx\nshr rax, 1\njne 4b",
    ];
    for (const f of forms) sameBothWays(f);
  },
);

Deno.test(
  "wasm: SHLD/SHRD, rotates by CL, BT/BTS/BTR/BTC, BSF/BSR, POPCNT, DIV and IDIV match the interpreter",
  NEEDS_AS,
  () => {
    const counts = [0, 1, 2, 7, 31, 32, 33, 63];
    const forms = [
      // Each after a CMP, whose flags must survive where the form leaves them alone.
      ...[1, 7, 31, 63].flatMap((
        n,
      ) => [`cmp rbx, rax\nshld rax, rbx, ${n}`, `cmp rbx, rax\nshrd rbx, rax, ${n}`]),
      ...[0, 1, 9, 31].flatMap((
        n,
      ) => [`cmp rbx, rax\nshld eax, ebx, ${n}`, `cmp rbx, rax\nshrd ebx, eax, ${n}`]),
      ...counts.flatMap((n) => [
        `cmp rbx, rax\nmov ecx, ${n}\nshld rax, rbx, cl`,
        `cmp rbx, rax\nmov ecx, ${n}\nshrd eax, ebx, cl`,
        `cmp rbx, rax\nmov ecx, ${n}\nrol rax, cl`,
        `cmp ebx, eax\nmov ecx, ${n}\nror eax, cl`,
      ]),
      "shld rax, rbx, 1\nsetc cl\nseto ch\nsetz dl\nsets dh\nsetp sil",
      "shrd eax, ebx, 1\nsetc cl\nseto ch\nsetz dl\nsets dh\nsetbe sil",
      "mov qword ptr [0x200000], rax\nshld qword ptr [0x200000], rbx, 5\nshrd dword ptr [0x200004], ebx, cl\nmov rdx, qword ptr [0x200000]",
      "cmp rax, rbx\nbt rax, rbx\nsetc cl",
      "cmp rbx, rax\nbts rax, rbx\nbtr ebx, eax\nbtc rax, 63\nbt eax, 31\nbts ebx, 0",
      "mov qword ptr [0x200000], rax\ncmp rbx, rax\nbts qword ptr [0x200000], 33\nbtr dword ptr [0x200000], 7\nbt qword ptr [0x200000], 1\nmov rdx, qword ptr [0x200000]",
      "cmp rax, rbx\nbsf rcx, rax\nbsr rdx, rbx",
      "cmp rbx, rax\nbsf ecx, ebx\nbsr edx, eax\nsetz sil",
      "mov qword ptr [0x200000], rax\nbsr rcx, qword ptr [0x200000]\nbsf edx, dword ptr [0x200000]",
      "tzcnt rcx, rax",
      "cmp rax, rbx\npopcnt rcx, rax\npopcnt edx, ebx",
      // MOVS, STOS, LODS without a repeat prefix, up and down.
      "mov rsi, 0x200000\nmov qword ptr [rsi], rbx\nmov rdi, 0x200100\nlodsb\nlodsq\nstosw\nstosq\nmovsb\nmovsd\nmov rcx, qword ptr [0x200100]",
      // LAHF, SAHF, PUSHF after each kind of flag record; rotates of bytes and words.
      "cmp rax, rbx\nlahf\nmov ecx, eax\nadd rbx, rax\nlahf\nshl ebx, 3\nlahf\nmov edx, eax",
      "mov eax, ebx\ncmp rbx, 7\nsahf\nsetc cl\nsetz ch\nsets dl\nsetp dh\nsetbe sil",
      "cmp rax, rbx\npushf\nshr rbx, 1\npushf\nsahf\npushfq\npop rcx\npop rdx\npop rsi",
      ...[1, 3, 8, 15, 16, 17, 31].flatMap((n) => [
        `cmp rax, rbx\nrol bx, ${n}`,
        `cmp rax, rbx\nror ax, ${n}`,
        `cmp rax, rbx\nrol bl, ${n}`,
        `cmp rax, rbx\nror ah, ${n}`,
      ]),
      // XCHG with memory, XADD, CMPXCHG (equal and not, register and memory destinations).
      "mov qword ptr [0x200000], rbx\nxchg qword ptr [0x200000], rax\nxchg dword ptr [0x200004], ebx\nxchg byte ptr [0x200001], ah\nmov rcx, qword ptr [0x200000]",
      "mov rcx, rax\nxadd rax, rbx\nxadd ecx, ebx\nxadd bl, cl\nxadd rdx, rdx",
      "mov qword ptr [0x200000], rbx\nlock xadd qword ptr [0x200000], rax\nxadd word ptr [0x200002], bx\nmov rcx, qword ptr [0x200000]",
      "mov rcx, 7\ncmpxchg rbx, rcx\ncmpxchg ecx, ebx\nsetz dl",
      "mov rcx, rax\ncmpxchg rcx, rbx\ncmpxchg eax, ebx\ncmpxchg bl, cl",
      "mov qword ptr [0x200000], rbx\nlock cmpxchg qword ptr [0x200000], rcx\ncmpxchg dword ptr [0x200000], eax\nmov rdx, qword ptr [0x200000]",
    ];
    for (const f of forms) sameBothWays(f);
    // Divisions: a zero divisor, a quotient too wide or a dividend beyond RAX take the slow path.
    for (
      const f of [
        "xor edx, edx\ndiv rbx",
        "cqo\nidiv rbx",
        "mov rdx, rax\nshr rdx, 7\ndiv ebx",
        "mov rdx, rax\nshr rdx, 40\ndiv ebx",
        "cdq\nidiv ebx",
        "mov rdx, rax\nsar rdx, 3\nidiv ebx",
        "mov edx, 1\ndiv rbx",
        "mov rdx, -1\nidiv rbx",
        "mov qword ptr [0x200000], rbx\nxor edx, edx\ndiv qword ptr [0x200000]",
        "mov qword ptr [0x200000], rbx\ncdq\nidiv dword ptr [0x200000]",
      ]
    ) sameBothWays(f, -1);
  },
);

Deno.test("wasm: MOVS, STOS and LODS step down with DF set, as interpreted", NEEDS_AS, () => {
  const code = program("mov rdi, 0x200010\nmov rsi, 0x200000\nstosd\nmovsq\nlodsw\nstosb\nmovsw");
  for (const a of EDGES) {
    assert.equal(run(code, a, 3n, true, 1, true), run(code, a, 3n, false, 1, true), `${a}`);
  }
});

Deno.test(
  "wasm: a shift's or rotate's pending flags are exact where the slow path leaves compiled code",
  NEEDS_AS,
  () => {
    // The load from a page not yet in the TLB takes the slow path right after the shift or rotate;
    // the handlers then run the rest of the block with the flags as the wasm code left them.
    for (
      const f of [
        "shl rax, 3",
        "shr ebx, 1",
        "sar rax, 1",
        "cmp rax, rbx\nrol rax, 1",
        "add ebx, eax\nror eax, 9",
        "shr rax, 7\nror rbx, 1",
      ]
    ) {
      for (const tail of ["", "\nsetc cl\nseto ch\nsetz dl\nsets dh\nsetp bl"]) {
        sameBothWays(`${f}\nmov rdx, qword ptr [0x300000]${tail}`, 2);
      }
    }
  },
);

Deno.test(
  "wasm: CALL, RET, RET imm and indirect jumps match the interpreter, across the region's blocks",
  NEEDS_AS,
  () => {
    const code = program(`
    call 5f
    add rax, 1
    push rax
    call 6f
    mov rdx, rsp
    lea rcx, [rip + 7f]
    jmp rcx
    mov edx, 1
  7:
    mov qword ptr [0x200020], rcx
    lea rcx, [rip + 8f]
    mov qword ptr [0x200020], rcx
    jmp qword ptr [0x200020]
  5:
    add rbx, rax
    push rax
    call 9f
    pop rcx
    ret
  9:
    add rbx, 7
    ret
  6:
    add rbx, qword ptr [rsp + 8]
    ret 8
  8:`);
    for (const a of EDGES) assert.equal(run(code, a, 3n, true), run(code, a, 3n, false), `${a}`);
  },
);

Deno.test(
  "wasm: a non-canonical address or branch target leaves through the slow path to the interpreter's fault",
  NEEDS_AS,
  () => {
    for (
      const form of [
        "mov rcx, 0x800000000000\njmp rcx",
        "mov rcx, 0x800000000000\nmov rdx, qword ptr [rcx]",
        "mov rcx, 0x800000000000\nmov qword ptr [0x200000], rcx\njmp qword ptr [0x200000]",
      ]
    ) {
      const code = program(form);
      assert.equal(run(code, 1n, 2n, true, 2), run(code, 1n, 2n, false), form);
    }
  },
);

Deno.test(
  "wasm: regions go on to each other through the dispatch cache without returning, within the budget",
  NEEDS_AS,
  () => {
    // Compiled on their first run, the loop's blocks are regions of one block each (no links yet):
    // every hand-over between them is a tail call through the table, not a return to JavaScript.
    const code = program(`
      mov ecx, 300
    4:
      add rax, rbx
      test al, 1
      jz 5f
      rol rbx, 3
    5:
      xor rbx, rax
      dec ecx
      jnz 4b`);
    for (const budget of [1000, 2001, 3333, 100_000]) {
      const make = (wasm: boolean) => {
        const m = Machine.fromFlat(code, 0x100000, 0x100000, {
          memory: 4 << 20,
          backend: wasm ? "wasm" : "js",
        });
        m.cpu.compileThreshold = wasm ? 1 : Infinity;
        m.cpu.setReg64(0, 0x1234n);
        m.cpu.setReg64(3, 0x9876543210n);
        return m;
      };
      const w = make(true), ref = make(false);
      const a = w.run(budget), b = ref.run(budget);
      assert.deepEqual(a, b, `budget ${budget}`);
      assert.equal(w.instructions, ref.instructions, `budget ${budget}`);
      assert.deepEqual(w.regs(), ref.regs(), `budget ${budget}`);
      assert.equal(w.cpu.getRflags(), ref.cpu.getRflags(), `budget ${budget}`);
      const wasm = w.cpu.wasm!;
      assert.ok(wasm.compiled >= 4, `${wasm.compiled} regions`);
      // About 1,200 blocks ran; without the hand-overs each would be a call from JavaScript.
      assert.ok(wasm.calls < 40, `${wasm.calls} calls into wasm for budget ${budget}`);
    }
  },
);

/** One sample guest of guests/manifest.json, on the wasm backend or interpreted. */
function guest(name: string, wasm: boolean, threshold = 1): Machine {
  const run = SAMPLE_RUNS.find((r) => r.name === name)!;
  const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
  const m = Machine.fromElf(elf, {
    memory: parseSize(run.memory),
    cmdline: run.cmdline,
    backend: wasm ? "wasm" : "js",
  }, run.name);
  m.cpu.compileThreshold = wasm ? threshold : Infinity;
  return m;
}

Deno.test("wasm: regions stop exactly where the interpreter stops, slice after slice, on real guests", () => {
  // Odd slice lengths end slices inside blocks and regions (the budget of a preemption timer or an
  // interrupt); the kernel guest takes interrupts and changes its page tables, smc rewrites its code,
  // memwrite dirties pages under EPT dirty logging.
  for (
    const name of ["sort-O3", "hash-Os", "forth-small", "bignum-small", "kernel", "smc", "memwrite-small"]
  ) {
    for (const threshold of [1, 3]) {
      const compiled = guest(name, true, threshold), interpreted = guest(name, false);
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
      assert.ok(compiled.cpu.wasm !== null && compiled.cpu.wasm.compiled > 0, `${name}: no wasm region`);
    }
  }
});

Deno.test("wasm: every benchmark guest's run through wasm regions equals its run through the JavaScript compiler", () => {
  for (const run of SAMPLE_RUNS.filter((r) => r.benchmark && r.name !== "fpu" && r.name !== "fpu-O3")) {
    const make = guestMaker(run);
    const js = make();
    js.runToEnd(1e9);
    const elf = Deno.readFileSync(`${REPO_ROOT}/${run.elf}`);
    const w = Machine.fromElf(
      elf,
      { memory: parseSize(run.memory), cmdline: run.cmdline, backend: "wasm" },
      run.name,
    );
    w.runToEnd(1e9);
    assertSameEnd(w, js, run.name);
    assert.ok(w.cpu.wasm !== null && w.cpu.wasm.compiled > 0, `${run.name}: no wasm region`);
  }
});

Deno.test("wasm: a guest migrated out of wasm regions ends equal to the unmigrated interpreted run", async () => {
  for (const stopAt of [1000, 123_457, 400_001]) {
    const src = guest("sort-O3", true, 2);
    const ref = guest("sort-O3", false);
    ref.runToEnd(1e9);
    const d = await migrateAt(src, stopAt);
    d.cpu.backend = "wasm";
    d.runToEnd(1e9);
    assertSameEnd(d, ref, `migrated at ${stopAt}`);
  }
});

Deno.test("wasm: the encoder's modules validate for regions of every block of a real guest", () => {
  const m = guest("sort-O3", true);
  m.runToEnd(2_000_000);
  let n = 0;
  const shared = m.cpu.shared!;
  for (const b of m.cpu.blocks.all()) {
    if (b.compiledBy !== "wasm") continue;
    const mod = encodeRegions(
      [{ blocks: [b], epoch: -1, id: 0 }],
      shared.memory!.buffer.byteLength / 65536,
      shared.stateOffset,
    );
    assert.ok(WebAssembly.validate(mod.bytes as BufferSource));
    n++;
  }
  assert.ok(n > 10);
});

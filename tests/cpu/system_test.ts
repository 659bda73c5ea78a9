/**
 * Instructions that stop the CPU for the hypervisor, checked against the SDM's VM-exit formats:
 * IN/OUT (exit reason 30, qualification SDM Vol. 3 Table 28-5), CPUID (10), HLT (12), RDTSC (time
 * is the retired-instruction count plus the TSC offset), INT3/INT n (exception exits with the
 * software-exception / software-interrupt types of the interruption information, SDM Vol. 3
 * §25.9.2), and page faults on accesses and fetches that cross into an unmapped page.
 */

import assert from "node:assert/strict";

import {
  CODE_ADDR,
  CODE_REGION_BASE,
  CODE_REGION_SIZE,
  go,
  hexBytes,
  load,
  makeCpu,
  SCRATCH_ADDR,
} from "./_harness.ts";
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
} from "../../src/vmx/exit_reasons.ts";

/** IN/OUT qualification: size - 1 (bits 2:0), 1 = IN (bit 3), 1 = immediate port (bit 6), port (31:16). */
const ioQual = (size: number, isIn: boolean, imm: boolean, port: number) =>
  ((size - 1) | (isIn ? 8 : 0) | (imm ? 0x40 : 0) | (port << 16)) >>> 0;

const IO: [string, string, number][] = [
  ["inb $0x80, %al", "e480", ioQual(1, true, true, 0x80)],
  ["inw $0x81, %ax", "66e581", ioQual(2, true, true, 0x81)],
  ["inl $0xe9, %eax", "e5e9", ioQual(4, true, true, 0xe9)],
  ["inb %dx, %al", "ec", ioQual(1, true, false, 0x3f8)],
  ["inw %dx, %ax", "66ed", ioQual(2, true, false, 0x3f8)],
  ["inl %dx, %eax", "ed", ioQual(4, true, false, 0x3f8)],
  ["outb %al, $0xf4", "e6f4", ioQual(1, false, true, 0xf4)],
  ["outw %ax, $0x12", "66e712", ioQual(2, false, true, 0x12)],
  ["outl %eax, $0x34", "e734", ioQual(4, false, true, 0x34)],
  ["outb %al, %dx", "ee", ioQual(1, false, false, 0x3f8)],
  ["outw %ax, %dx", "66ef", ioQual(2, false, false, 0x3f8)],
  ["outl %eax, %dx", "ef", ioQual(4, false, false, 0x3f8)],
  ["rex.w outl %eax, %dx (REX.W does not widen I/O)", "48ef", ioQual(4, false, false, 0x3f8)],
];

for (const [asm, bytes, qual] of IO) {
  Deno.test(`io ${asm} exits with reason 30 and the SDM qualification, RIP on the instruction`, () => {
    const cpu = makeCpu();
    load(cpu, { code: hexBytes(bytes), regs: { rdx: 0xffff000000ff03f8n } });
    const o = go(cpu);
    assert.equal(o.stop, EXIT_REASON_IO_INSTRUCTION);
    assert.equal(cpu.exitQual.toString(16), qual.toString(16));
    assert.equal(cpu.exitInsnLen, bytes.length / 2);
    assert.equal(o.rip, CODE_ADDR);
    assert.equal(cpu.icount, 0, "not retired: the hypervisor completes it");
  });
}

Deno.test("cpuid exits with reason 10; hlt with reason 12", () => {
  const cpu = makeCpu();
  load(cpu, { code: hexBytes("0fa2") });
  assert.equal(go(cpu).stop, EXIT_REASON_CPUID);
  assert.equal(cpu.exitInsnLen, 2);
  load(cpu, { code: hexBytes("90f4") });
  assert.equal(go(cpu).stop, EXIT_REASON_HLT);
  assert.equal(cpu.rip, CODE_ADDR + 1);
  assert.equal(cpu.exitInsnLen, 1);
});

Deno.test("rdtsc returns retired instructions plus the TSC offset in EDX:EAX, zero-extended", () => {
  const cpu = makeCpu();
  // nop; nop; nop; rdtsc
  load(cpu, { code: hexBytes("9090900f31"), regs: { rax: -1n, rdx: -1n } });
  cpu.tscOffset = 0x1_0000_0005;
  const o = go(cpu);
  assert.equal(o.vector, 3);
  assert.equal(o.regs.rax, 3n + 5n);
  assert.equal(o.regs.rdx, 1n);
});

Deno.test("int3 exits as a software exception (type 6) and int n as a software interrupt (type 4)", () => {
  const cpu = makeCpu();
  load(cpu, { code: hexBytes("cc") });
  let o = go(cpu);
  assert.equal(o.stop, EXIT_REASON_EXCEPTION_NMI);
  assert.equal(cpu.exitIntrInfo, (0x80000000 | (6 << 8) | 3) >>> 0);
  assert.equal(cpu.exitInsnLen, 1);
  assert.equal(o.rip, CODE_ADDR);
  // INT n is not subject to the exception bitmap: it is delivered through the IDT (limit 0 here:
  // #GP -> #DF -> #GP: triple fault), never reported as an exception exit of vector n.
  load(cpu, { code: hexBytes("cd21") });
  o = go(cpu);
  assert.notEqual(cpu.exitIntrInfo & 0xff, 0x21);
});

Deno.test("division by zero raises #DE with RIP on the instruction and no register changed", () => {
  const cpu = makeCpu();
  // The 8/16/32-bit divisors are zero though RCX's upper half is not; the 64-bit ones are all zero.
  for (
    const [bytes, rcx] of [
      ["f6f1", 0xffffffff00000000n],
      ["66f7f1", 0x10000n],
      ["f7f1", 0x100000000n],
      [
        "48f7f1",
        0n,
      ],
      ["48f7f9", 0n],
      ["f6f9", 0x100n],
    ] as const
  ) {
    load(cpu, { code: hexBytes(bytes), regs: { rax: 0x1234n, rdx: 0x55n, rcx } });
    const o = go(cpu);
    assert.equal(o.vector, 0, bytes);
    assert.equal(o.rip, CODE_ADDR);
    assert.deepEqual([o.regs.rax, o.regs.rdx], [0x1234n, 0x55n]);
  }
});

Deno.test("Cpu.write crossing into an unmapped page faults before writing anything", () => {
  const cpu = makeCpu();
  const end = (SCRATCH_ADDR & ~0xfff) + 0x1000;
  // movq %rcx, (%rbx) with RBX 4 bytes before the end of the scratch page.
  load(cpu, { code: hexBytes("48890b"), regs: { rbx: BigInt(end - 4), rcx: -1n } });
  const before = cpu.mem.slice(end - 8, end + 8);
  const o = go(cpu);
  assert.equal(o.vector, 14);
  // The harness makes every exception a VM exit: the address is the qualification, CR2 stays (SDM Vol. 3 §27.1).
  assert.equal(cpu.exitQual, end);
  assert.equal(cpu.cr2, 0);
  assert.equal(cpu.exitIntrError, 2, "#PF error code: write, not present, supervisor");
  assert.deepEqual(cpu.mem.slice(end - 8, end + 8), before);
  // The same read faults with error code 0.
  load(cpu, { code: hexBytes("488b0b"), regs: { rbx: BigInt(end - 2) } });
  assert.equal(go(cpu).vector, 14);
  assert.equal(cpu.exitIntrError, 0);
});

Deno.test("an instruction fetch crossing into an unmapped page faults with the address at the page", () => {
  const cpu = makeCpu();
  const end = CODE_REGION_BASE + CODE_REGION_SIZE;
  load(cpu, { code: new Uint8Array(0) });
  // jmp to end-2, where "48 8b" starts "movq 8(%rbx), %rcx" whose last two bytes are unmapped.
  cpu.mem.set(hexBytes("488b"), end - 2);
  cpu.rip = end - 2;
  const o = go(cpu);
  assert.equal(o.vector, 14);
  assert.equal(
    cpu.exitQual,
    end,
    "the exit qualification (the harness's exception bitmap) holds the address",
  );
  assert.equal(o.rip, end - 2);
  assert.equal(cpu.exitIntrError & 1, 0, "not present");
});

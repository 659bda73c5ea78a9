/**
 * EPT dirty tracking through guest code: the harvested set, PML-full exits, re-dirtying after a
 * harvest, large pages, violations and misconfigurations (SDM Vol. 3, §28.2.4-28.2.5).
 */

import assert from "node:assert/strict";
import { findEptLeaf } from "../../src/vmx/ept.ts";
import * as F from "../../src/vmx/fields.ts";
import { bootAsm, NEEDS_AS } from "./_asm.ts";

/** Page numbers set in a dirty bitmap. */
function pages(bits: Uint32Array): number[] {
  const out: number[] = [];
  for (let w = 0; w < bits.length; w++) {
    for (let b = 0; b < 32; b++) if ((bits[w] >>> b) & 1) out.push(w * 32 + b);
  }
  return out;
}

/** The boot page tables the walk touches: PML4 (0x10000), PDPT (0x11000), first PD (0x12000). */
const PAGE_TABLES = [0x10, 0x11, 0x12];

Deno.test("dirty log holds exactly the pages written plus the guest page tables walked", NEEDS_AS, () => {
  const m = bootAsm(`
    mov byte ptr [0x300000], 1
    mov qword ptr [0x301ff8], 2
    mov dword ptr [0x345000], 3
    mov word ptr [0x3ff000], 4
    mov eax, dword ptr [0x500000]
    hlt`);
  m.setDirtyTracking(true);
  m.runToEnd(100);
  // With EPT A/D on, accesses to guest paging structures count as writes (SDM Vol. 3, §28.2.4).
  assert.deepEqual(pages(m.takeDirtyLog()), [...PAGE_TABLES, 0x300, 0x301, 0x345, 0x3ff]);
  assert.deepEqual(pages(m.takeDirtyLog()), []); // taken and cleared
});

Deno.test(
  "a push and a call dirty the stack page; a store across a page boundary dirties both pages",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
    mov rsp, 0x600000
    push rax
    mov dword ptr [0x700ffe], 0x11223344
    hlt`);
    m.setDirtyTracking(true);
    m.runToEnd(100);
    assert.deepEqual(pages(m.takeDirtyLog()), [...PAGE_TABLES, 0x5ff, 0x700, 0x701]);
  },
);

Deno.test("512 new dirty pages fill the PML log: exactly one PML-full exit, nothing lost", NEEDS_AS, () => {
  const m = bootAsm(`
    mov rdi, 0x800000
    mov ecx, 600
  1:
    mov byte ptr [rdi], 1
    add rdi, 4096
    dec ecx
    jnz 1b
    hlt`);
  m.setDirtyTracking(true);
  m.runToEnd(10_000);
  // 3 page-table pages + 600 data pages = 603 logged GPAs: the 513th log attempt exits (reason 62).
  assert.equal(m.exitCounts.get(62), 1);
  const got = pages(m.takeDirtyLog());
  assert.equal(got.length, 603);
  assert.deepEqual(got.slice(3), Array.from({ length: 600 }, (_, k) => 0x800 + k));
});

Deno.test(
  "a harvested page written again shows up in the next harvest (D flags cleared, INVEPT)",
  NEEDS_AS,
  () => {
    const m = bootAsm(`
  1:
    mov byte ptr [0x900000], al
    inc al
    mov byte ptr [0x901000], al
    pause
    jmp 1b`);
    m.setDirtyTracking(true);
    m.run(10);
    assert.deepEqual(pages(m.takeDirtyLog()), [...PAGE_TABLES, 0x900, 0x901]);
    m.run(5); // the write TLB entries were dropped: the next stores log again
    // Re-translating the stores walks the guest page tables again, and with EPT A/D on those
    // accesses count as writes (SDM Vol. 3, §28.2.4), so the page-table pages are dirty again too.
    assert.deepEqual(pages(m.takeDirtyLog()), [...PAGE_TABLES, 0x900, 0x901]);
    m.run(0);
    assert.deepEqual(pages(m.takeDirtyLog()), []);
  },
);

Deno.test("the D-flag scan finds the same pages as PML", NEEDS_AS, () => {
  const asm = `
    mov byte ptr [0x300000], 1
    mov byte ptr [0x3c0010], 2
    hlt`;
  const a = bootAsm(asm), b = bootAsm(asm);
  a.setDirtyTracking(true, "pml");
  b.setDirtyTracking(true, "dbit-scan");
  a.runToEnd(100);
  b.runToEnd(100);
  assert.deepEqual(pages(b.takeDirtyLog()), pages(a.takeDirtyLog()));
  assert.equal(b.exitCounts.get(62) ?? 0, 0);
});

Deno.test("a large page under logging never hides a write (EPT is split to 4 KiB leaves)", NEEDS_AS, () => {
  const m = bootAsm(`
    mov byte ptr [0xa00000], 1
    out 0xe9, al
    mov byte ptr [0xa01000], 1
    mov byte ptr [0xbff000], 1
    hlt`);
  // Before logging, EPT maps RAM with 2 MiB leaves: the first store dirties the whole 2 MiB leaf.
  m.run(1);
  const big = findEptLeaf(m.mem, m.ept.eptp, 0xa00000)!;
  assert.equal(big.pageSize, 2 * 1024 * 1024);
  m.setDirtyTracking(true);
  assert.equal(findEptLeaf(m.mem, m.ept.eptp, 0xa00000)!.pageSize, 4096);
  m.runToEnd(100);
  const got = pages(m.takeDirtyLog());
  assert.ok(
    got.includes(0xa01) && got.includes(0xbff),
    `missing writes in ${got.map((p) => p.toString(16))}`,
  );
  assert.ok(!got.includes(0xa00), "0xa00000 was written before logging started");
});

Deno.test("device writes into guest memory are logged", NEEDS_AS, () => {
  const m = bootAsm("hlt");
  m.setDirtyTracking(true);
  m.writePage(0x1234, new Uint8Array(4096).fill(7));
  assert.deepEqual(pages(m.takeDirtyLog()), [0x1234]);
});

Deno.test(
  "EPT violation from a guest store to a write-protected page has the SDM qualification",
  NEEDS_AS,
  () => {
    const m = bootAsm("mov eax, dword ptr [0x300000]\nmov dword ptr [0x300000], eax\nhlt");
    m.setDirtyTracking(true); // 4 KiB leaves
    const leaf = findEptLeaf(m.mem, m.ept.eptp, 0x300000)!;
    m.mem[leaf.entryAddress] &= ~2; // clear W
    m.vcpu.vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, 1000);
    const out = m.vcpu.enter();
    assert.equal(out.kind, "exit");
    assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_REASON), 48);
    // Write access (bit 1); readable (3) and executable (5); linear address valid (7) for the final translation (8).
    assert.equal(Number(m.vcpu.vmcs.read(F.EXIT_QUALIFICATION)), 0x2 | 0x8 | 0x20 | 0x80 | 0x100);
    assert.equal(Number(m.vcpu.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)), 0x300000);
    assert.equal(Number(m.vcpu.vmcs.read(F.GUEST_RIP)), 0x100007); // the store, after the 7-byte load
  },
);

Deno.test("EPT misconfiguration (write without read) exits with reason 49", NEEDS_AS, () => {
  const m = bootAsm("mov eax, dword ptr [0x300000]\nhlt");
  m.setDirtyTracking(true);
  const leaf = findEptLeaf(m.mem, m.ept.eptp, 0x300000)!;
  m.mem[leaf.entryAddress] = (m.mem[leaf.entryAddress] & ~7) | 2;
  m.vcpu.vmcs.writeNumber(F.VMX_PREEMPTION_TIMER_VALUE, 1000);
  m.vcpu.enter();
  assert.equal(m.vcpu.vmcs.readNumber(F.VM_EXIT_REASON), 49);
  assert.equal(Number(m.vcpu.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)), 0x300000);
});

/**
 * 4-level paging (SDM Vol. 3 §4.5-4.10): translation through 4 KiB, 2 MiB and 1 GiB pages,
 * accessed/dirty flags, permission checks and #PF error codes (§4.7: P=bit 0, W/R=1, U/S=2,
 * RSVD=3, I/D=4), CR2, and the TLB: global pages survive a CR3 load with CR4.PGE, INVLPG drops
 * one page. Expected values are worked out from the SDM.
 */

import assert from "node:assert/strict";
import {
  ACC_FETCH,
  ACC_READ,
  ACC_WRITE,
  Cpu,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PAE,
  CR4_PGE,
} from "../../src/cpu/mod.ts";

const RAM = 4 * 2 ** 20;
const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
const P = 1n, RW = 2n, US = 4n, A = 0x20n, D = 0x40n, PS = 0x80n, G = 0x100n, NX = 1n << 63n;

/** A CPU whose PML4[0] -> PDPT[0] -> PD -> PT maps linear page `i` (i < 512) to `pte(i)`. */
function setup(opts: { nxe?: boolean; wp?: boolean; pge?: boolean } = {}) {
  const cpu = new Cpu(new Uint8Array(RAM));
  const dv = new DataView(cpu.mem.buffer);
  dv.setBigUint64(PML4, BigInt(PDPT) | P | RW | US, true);
  dv.setBigUint64(PDPT, BigInt(PD) | P | RW | US, true);
  dv.setBigUint64(PD, BigInt(PT) | P | RW | US, true); // 0..2 MiB through PT
  cpu.cr0 = CR0_PE | CR0_PG | (opts.wp === false ? 0 : CR0_WP);
  cpu.cr4 = CR4_PAE | (opts.pge ? CR4_PGE : 0);
  cpu.cr3 = PML4;
  cpu.efer = 0x500 | (opts.nxe === false ? 0 : 0x800);
  const pte = (page: number, v: bigint) => dv.setBigUint64(PT + 8 * page, v, true);
  const entry = (addr: number) => dv.getBigUint64(addr, true);
  return { cpu, dv, pte, entry };
}

/** Runs an access; returns the host address, or the #PF error code as a negative number - 1. */
function access(cpu: Cpu, lin: number, acc: number): { hpa?: number; pf?: number } {
  try {
    return { hpa: cpu.translate(lin, acc) };
  } catch {
    assert.equal(cpu.excVector, 14, "only #PF is expected");
    return { pf: cpu.excError };
  }
}

Deno.test("Cpu.translate maps a 4 KiB page and sets A on every level, D only on a write", () => {
  const { cpu, pte, entry } = setup();
  pte(5, 0x200000n | P | RW);
  assert.deepEqual(access(cpu, 0x5123, ACC_READ), { hpa: 0x200123 });
  for (const e of [PML4, PDPT, PD]) {
    assert.equal(entry(e) & (A | D), A, `A set, D clear at 0x${e.toString(16)}`);
  }
  assert.equal(entry(PT + 40) & (A | D), A);
  assert.deepEqual(access(cpu, 0x5ff8, ACC_WRITE), { hpa: 0x200ff8 });
  assert.equal(entry(PT + 40) & (A | D), A | D);
});

Deno.test("Cpu.translate maps 2 MiB and 1 GiB pages with the offset bits of the linear address", () => {
  const { cpu, dv } = setup();
  dv.setBigUint64(PD + 8, 0x200000n | P | RW | PS, true); // linear 2..4 MiB -> 2 MiB page at 2 MiB
  assert.deepEqual(access(cpu, 0x2abcde, ACC_READ), { hpa: 0x2abcde });
  dv.setBigUint64(PDPT + 8, 0n | P | RW | PS, true); // linear 1..2 GiB -> physical 0..1 GiB
  assert.deepEqual(access(cpu, 0x40000000 + 0x312345, ACC_READ), { hpa: 0x312345 });
});

const FAULTS: [string, bigint, number, { user?: boolean; nxe?: boolean; wp?: boolean }, number | null][] = [
  ["a read of a not-present page", 0n, ACC_READ, {}, 0],
  ["a write to a not-present page", 0n, ACC_WRITE, {}, 2],
  ["a user read of a not-present page", 0n, ACC_READ, { user: true }, 4],
  ["a user read of a supervisor page", P | RW, ACC_READ, { user: true }, 5],
  ["a user write to a read-only user page", P | US, ACC_WRITE, { user: true }, 7],
  ["a supervisor write to a read-only page with CR0.WP", P, ACC_WRITE, {}, 3],
  ["a supervisor write to a read-only page without CR0.WP (allowed)", P, ACC_WRITE, { wp: false }, null],
  ["a fetch from an NX page with EFER.NXE", P | RW | NX, ACC_FETCH, {}, 0x11],
  ["a read of an NX page (allowed)", P | RW | NX, ACC_READ, {}, null],
  ["a fetch from a not-present page with EFER.NXE (I/D set)", 0n, ACC_FETCH, {}, 0x10],
  ["a fetch from a not-present page without EFER.NXE (I/D clear)", 0n, ACC_FETCH, { nxe: false }, 0],
  ["a read through an entry with bit 63 set and EFER.NXE clear (reserved)", P | RW | NX, ACC_READ, {
    nxe: false,
  }, 9],
];

for (const [what, flags, acc, o, code] of FAULTS) {
  Deno.test(`Cpu.translate: ${what} ${code === null ? "succeeds" : `raises #PF(0x${code.toString(16)})`}`, () => {
    const { cpu, pte } = setup({ nxe: o.nxe, wp: o.wp });
    pte(7, 0x200000n | flags);
    if (o.user) cpu.cpl = 3;
    const r = access(cpu, 0x7010, acc);
    if (code === null) assert.deepEqual(r, { hpa: 0x200010 });
    else {
      assert.deepEqual(r, { pf: code });
      assert.equal(cpu.cr2, 0x7010);
    }
  });
}

Deno.test("Cpu.translate: a PS bit in a PML4 entry or reserved bits in a large-page entry raise #PF with RSVD", () => {
  let { cpu, dv } = setup();
  dv.setBigUint64(PML4, BigInt(PDPT) | P | RW | PS, true);
  assert.deepEqual(access(cpu, 0x1000, ACC_WRITE), { pf: 0xb });
  ({ cpu, dv } = setup());
  dv.setBigUint64(PD + 8, 0x200000n | 0x2000n | P | RW | PS, true); // bit 13 of a 2 MiB entry
  assert.deepEqual(access(cpu, 0x200000, ACC_READ), { pf: 9 });
});

Deno.test("Cpu.loadCr3 keeps global translations with CR4.PGE and drops the others, per access kind", () => {
  const { cpu, pte, dv } = setup({ pge: true });
  // Linear pages 0x1 (non-global, fetched) and 0x1001 (global, read) share one TLB slot
  // (16 MiB apart). A CR3 load must drop the first and keep the second.
  pte(1, 0x201000n | P | RW);
  dv.setBigUint64(PD + 8 * 8, BigInt(PT + 0x1000) | P | RW, true); // linear 16 MiB.. through a second PT
  dv.setBigUint64(PT + 0x1000 + 8, 0x202000n | P | RW | G, true); // linear 0x1001000 -> 0x202000, global
  assert.equal(cpu.fetchAddress(0x1000), 0x201000);
  assert.equal(cpu.read(0x1001000, 1), 0);
  // Remap both pages, then load CR3.
  pte(1, 0x203000n | P | RW);
  dv.setBigUint64(PT + 0x1000 + 8, 0x204000n | P | RW | G, true);
  cpu.loadCr3(cpu.cr3);
  assert.equal(cpu.fetchAddress(0x1000), 0x203000, "the non-global translation was dropped");
  cpu.mem[0x202000] = 0x5a;
  assert.equal(
    cpu.read(0x1001000, 1),
    0x5a,
    "the global translation was kept (the old mapping is still used)",
  );
  // Without PGE everything goes.
  cpu.cr4 &= ~CR4_PGE;
  cpu.loadCr3(cpu.cr3);
  cpu.mem[0x204000] = 0xa5;
  assert.equal(cpu.read(0x1001000, 1), 0xa5);
});

Deno.test("Cpu.invalidatePage (INVLPG) drops one page's translation; a cleared D flag is set again", () => {
  const { cpu, pte, entry } = setup();
  pte(3, 0x205000n | P | RW);
  cpu.write(0x3000, 1, 0x11, 0);
  assert.equal(entry(PT + 24) & D, D);
  // Software clears D (as a dirty-page scan does), invalidates the page, writes again.
  pte(3, 0x205000n | P | RW | A);
  cpu.invalidatePage(0x3000);
  cpu.write(0x3004, 1, 0x22, 0);
  assert.equal(entry(PT + 24) & D, D, "D set again on the next write");
  assert.deepEqual([cpu.mem[0x205000], cpu.mem[0x205004]], [0x11, 0x22]);
});

Deno.test("Cpu.read caches no user permission across a CPL change", () => {
  const { cpu, pte } = setup();
  pte(9, 0x206000n | P | RW); // supervisor page
  cpu.read(0x9000, 4);
  cpu.setCpl(3);
  assert.deepEqual(access(cpu, 0x9000, ACC_READ), { pf: 5 });
  assert.throws(() => cpu.read(0x9000, 4));
});

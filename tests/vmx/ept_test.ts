import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { HVSIM_VMX_CAPABILITIES as CAPS } from "../../src/vmx/capabilities.ts";
import {
  buildIdentityEpt,
  clearEptDirty,
  decodeEptp,
  EPT_ACCESS_FETCH,
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  eptWalk,
  type EptWalkResult,
  findEptLeaf,
  identityEptTableBytes,
  makeEptp,
  type PmlLog,
  readEptEntry,
  scanEptDirty,
  writeEptEntry,
} from "../../src/vmx/ept.ts";

const TABLES = 0x10000;
const HOST = 0x100000;
const R = EPT_ACCESS_READ;
const W = EPT_ACCESS_WRITE;
const X = EPT_ACCESS_FETCH;

/** 4 KiB leaves for guest-physical [0, 64 KiB) at host 0x100000; returns memory, EPTP and entry addresses. */
function small(ad = true) {
  const mem = new Uint8Array(0x40000);
  const { pml4, end } = buildIdentityEpt(mem, { tableBase: TABLES, hostBase: HOST, size: 0x10000 });
  const pdpt = TABLES + 0x1000;
  const pd = TABLES + 0x2000;
  const pt = TABLES + 0x3000;
  return { mem, eptp: makeEptp(pml4, { accessedDirty: ad }), end, pml4, pdpt, pd, pt };
}

const flags = (mem: Uint8Array, at: number) => Number(readEptEntry(mem, at) & 0x300n);

Deno.test("makeEptp()/decodeEptp() follow the EPTP layout of SDM Vol. 3, §24.6.11", () => {
  equal(makeEptp(0x5000), 0x501e);
  equal(makeEptp(0x5000, { accessedDirty: true }), 0x505e);
  equal(makeEptp(0x5000, { memType: 0 }), 0x5018);
  deepEqual(decodeEptp(0x505e), { memType: 6, levels: 4, accessedDirty: true, pml4: 0x5000 });
  throws(() => makeEptp(0x5008), /not 4 KiB aligned/);
});

Deno.test("buildIdentityEpt() writes entries in the format of SDM Vol. 3, §28.2.2 (4 KiB leaves)", () => {
  const { mem, pml4, pdpt, pd, pt, end } = small();
  equal(end, TABLES + 4 * 0x1000);
  equal(end - TABLES, identityEptTableBytes(0x10000));
  equal(readEptEntry(mem, pml4), BigInt(pdpt) | 7n, "PML4E: PDPT address | RWX");
  equal(readEptEntry(mem, pdpt), BigInt(pd) | 7n);
  equal(readEptEntry(mem, pd), BigInt(pt) | 7n);
  equal(readEptEntry(mem, pt), BigInt(HOST) | 0x37n, "PTE: page | WB << 3 | RWX");
  equal(readEptEntry(mem, pt + 15 * 8), BigInt(HOST + 0xf000) | 0x37n);
  equal(readEptEntry(mem, pt + 16 * 8), 0n, "nothing mapped beyond the size");
});

Deno.test("eptWalk() translates through 4 KiB, 2 MiB and 1 GiB leaves", () => {
  const mem = new Uint8Array(0x20000);
  // 1 GiB + 2 MiB + 8 KiB at host 1 GiB, largest leaves first.
  const size = 2 ** 30 + 2 ** 21 + 0x2000;
  const { pml4, end } = buildIdentityEpt(mem, {
    tableBase: 0x1000,
    hostBase: 2 ** 30,
    size,
    pageSize: 2 ** 30,
  });
  equal(end - 0x1000, identityEptTableBytes(size, 2 ** 30));
  const eptp = makeEptp(pml4);
  const cases: [number, number, number][] = [
    [0x12345678, 2 ** 30 + 0x12345678, 2 ** 30],
    [2 ** 30 + 0x1abcd, 2 ** 31 + 0x1abcd, 2 ** 21],
    [2 ** 30 + 2 ** 21 + 0x1ff0, 2 ** 31 + 2 ** 21 + 0x1ff0, 4096],
  ];
  for (const [gpa, hpa, pageSize] of cases) {
    const r = eptWalk(mem, eptp, gpa, R);
    equal(r.kind, "ok");
    if (r.kind === "ok") {
      equal(r.hpa, hpa);
      equal(r.pageSize, pageSize);
      equal(r.permissions, 7);
    }
  }
  equal(readEptEntry(mem, 0x2000) & 0x80n, 0x80n, "the 1 GiB PDPTE has bit 7");
  equal(eptWalk(mem, eptp, size, R).kind, "violation");
});

Deno.test("eptWalk() sets A on every level and D only on the leaf of a write (SDM Vol. 3, §28.2.4)", () => {
  const { mem, eptp, pml4, pdpt, pd, pt } = small();
  const r = eptWalk(mem, eptp, 0x3010, R);
  deepEqual(r, {
    kind: "ok",
    hpa: HOST + 0x3010,
    pageSize: 4096,
    permissions: 7,
    leafEntryAddress: pt + 24,
    dirtied: false,
  });
  for (const at of [pml4, pdpt, pd, pt + 24]) equal(flags(mem, at), 0x100);
  equal(flags(mem, pt + 32), 0, "other leaves untouched");
  const w = eptWalk(mem, eptp, 0x3fff, W);
  equal(w.kind === "ok" && w.dirtied, true);
  equal(flags(mem, pt + 24), 0x300);
  equal(flags(mem, pd), 0x100, "no D flag on a non-leaf entry");
  const again = eptWalk(mem, eptp, 0x3000, W);
  equal(again.kind === "ok" && again.dirtied, false, "D was already set");
});

Deno.test("eptWalk() leaves A/D alone when EPTP[6] is 0", () => {
  const { mem, eptp, pml4, pt } = small(false);
  eptWalk(mem, eptp, 0x1000, W);
  equal(flags(mem, pml4), 0);
  equal(flags(mem, pt + 8), 0);
});

function expectViolation(r: EptWalkResult, qualification: number): void {
  deepEqual(r, { kind: "violation", violation: qualification });
}

Deno.test("eptWalk() reports violations with the qualification of SDM Vol. 3, Table 27-7", () => {
  const { mem, eptp, pd, pt } = small();
  writeEptEntry(mem, pt + 1 * 8, 0n); // not present
  writeEptEntry(mem, pt + 2 * 8, BigInt(HOST + 0x2000) | 0x30n | 5n); // R+X
  writeEptEntry(mem, pt + 3 * 8, BigInt(HOST + 0x3000) | 0x30n | 3n); // R+W
  expectViolation(eptWalk(mem, eptp, 0x1000, R), 0x181); // read, ---, linear valid, final
  expectViolation(eptWalk(mem, eptp, 0x1000, X), 0x184);
  expectViolation(eptWalk(mem, eptp, 0x2008, W), 0x1aa); // write to R-X
  expectViolation(eptWalk(mem, eptp, 0x3000, X), 0x19c); // fetch from RW-
  expectViolation(eptWalk(mem, eptp, 0x2000, R, { pagingStructure: true }), 0xab); // A/D on: read+write, bit 8 clear
  expectViolation(eptWalk(mem, eptp, 0x2000, W, { linearAddressValid: false }), 0x2a);
  equal(flags(mem, pt + 16), 0, "a violating access sets no flag");
  // An upper level without X: the AND over all entries lacks X.
  writeEptEntry(mem, pd, readEptEntry(mem, pd) & ~4n);
  expectViolation(eptWalk(mem, eptp, 0x4000, X), 0x19c);
  const ok4 = eptWalk(mem, eptp, 0x4000, W);
  equal(ok4.kind === "ok" && ok4.permissions, 3);
});

Deno.test("eptWalk() counts paging-structure reads as reads when A/D is off", () => {
  const { mem, eptp, pt } = small(false);
  writeEptEntry(mem, pt + 2 * 8, BigInt(HOST + 0x2000) | 0x30n | 5n);
  equal(eptWalk(mem, eptp, 0x2000, R, { pagingStructure: true }).kind, "ok");
});

Deno.test("eptWalk() reports misconfigurations of SDM Vol. 3, §28.2.3.1 before violations", () => {
  const cases: [string, (m: Uint8Array, e: ReturnType<typeof small>) => void, number, number?][] = [
    ["write-only leaf", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | 0x30n | 2n), 1],
    ["write+execute leaf", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | 0x30n | 6n), 1],
    ["execute-only leaf without support", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | 0x30n | 4n), 1],
    ["write-only PDE", (m, e) => writeEptEntry(m, e.pd, BigInt(e.pt) | 2n), 2],
    ["PML4E reserved bit 3", (m, e) => writeEptEntry(m, e.pml4, BigInt(e.pdpt) | 7n | 8n), 4],
    ["PML4E bit 7", (m, e) => writeEptEntry(m, e.pml4, BigInt(e.pdpt) | 7n | 0x80n), 4],
    ["non-leaf PDE reserved bit 4", (m, e) => writeEptEntry(m, e.pd, BigInt(e.pt) | 7n | 0x10n), 2],
    ["leaf memory type 2", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | (2n << 3n) | 7n), 1],
    ["leaf memory type 3", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | (3n << 3n) | 7n), 1],
    ["leaf memory type 7", (m, e) => writeEptEntry(m, e.pt, BigInt(HOST) | (7n << 3n) | 7n), 1],
    [
      "address bit 46 (beyond MAXPHYADDR)",
      (m, e) => writeEptEntry(m, e.pt, (1n << 46n) | BigInt(HOST) | 0x37n),
      1,
    ],
    ["2 MiB leaf with bit 12 set", (m, e) => writeEptEntry(m, e.pd, 0x200000n | 0x1000n | 0xb7n), 2],
    ["PTE misconfigured under a PDE without X (fetch)", (m, e) => {
      writeEptEntry(m, e.pd, BigInt(e.pt) | 3n);
      writeEptEntry(m, e.pt, BigInt(HOST) | 0x30n | 6n);
    }, 1],
  ];
  for (const [what, change, level] of cases) {
    const e = small();
    change(e.mem, e);
    deepEqual(eptWalk(e.mem, e.eptp, 0x0, X), { kind: "misconfig", misconfig: true, level }, what);
    equal(flags(e.mem, e.pml4), 0, `${what}: no flags set`);
  }
  // 1 GiB leaves without the capability, execute-only with it.
  const e = small();
  writeEptEntry(e.mem, e.pdpt, 0x37n | 0x80n);
  deepEqual(eptWalk(e.mem, e.eptp, 0, R, { caps: { ...CAPS, eptVpidCap: CAPS.eptVpidCap & ~(1n << 17n) } }), {
    kind: "misconfig",
    misconfig: true,
    level: 3,
  });
  const x = small();
  writeEptEntry(x.mem, x.pt, BigInt(HOST) | 0x30n | 4n);
  const xcaps = { ...CAPS, eptVpidCap: CAPS.eptVpidCap | 1n };
  equal(eptWalk(x.mem, x.eptp, 0x10, X, { caps: xcaps }).kind, "ok");
  expectViolation(eptWalk(x.mem, x.eptp, 0x10, R, { caps: xcaps }), 0x1a1);
});

Deno.test("eptWalk() logs each 0->1 dirty transition in the PML log from slot 511 down (SDM Vol. 3, §28.2.5)", () => {
  const { mem, eptp } = small();
  const pml: PmlLog = { address: 0x30000, index: 511 };
  const dv = new DataView(mem.buffer);
  for (const gpa of [0x5123, 0x2fff, 0x5000, 0x7008]) ok(eptWalk(mem, eptp, gpa, W, { pml }).kind === "ok");
  eptWalk(mem, eptp, 0x9000, R, { pml }); // reads log nothing
  equal(pml.index, 508);
  deepEqual([511, 510, 509].map((s) => dv.getBigUint64(0x30000 + 8 * s, true)), [0x5000n, 0x2000n, 0x7000n]);
  equal(dv.getBigUint64(0x30000 + 8 * 508, true), 0n);
});

Deno.test("eptWalk(): 512 new dirty pages fill the log and the next flag-setting access is PML-full", () => {
  const mem = new Uint8Array(0x300000);
  const { pml4 } = buildIdentityEpt(mem, { tableBase: 0x1000, hostBase: 0x1000000, size: 0x300000 });
  const eptp = makeEptp(pml4, { accessedDirty: true });
  const pml: PmlLog = { address: 0x200000, index: 511 };
  for (let p = 0; p < 512; p++) equal(eptWalk(mem, eptp, p * 4096, W, { pml }).kind, "ok");
  equal(pml.index, 0xffff);
  equal(eptWalk(mem, eptp, 100 * 4096 + 8, W, { pml }).kind, "ok", "already-dirty page: no flag to set");
  equal(eptWalk(mem, eptp, 7 * 4096, R, { pml }).kind, "ok", "A already set: nothing to log");
  const leaf = 512 * 8 + 0x4000; // PTE of page 512 (second PT)
  const before = mem.slice();
  deepEqual(eptWalk(mem, eptp, 512 * 4096, W, { pml }), { kind: "pml-full", pmlFull: true });
  deepEqual(
    eptWalk(mem, eptp, 600 * 4096, R, { pml }),
    { kind: "pml-full", pmlFull: true },
    "setting only A also exits",
  );
  deepEqual(mem, before, "a PML-full event changes nothing");
  pml.index = 511; // the hypervisor drained the log
  equal(eptWalk(mem, eptp, 512 * 4096, W, { pml }).kind, "ok");
  equal(flags(mem, leaf), 0x300);
});

Deno.test("eptWalk(): a 2 MiB leaf has one D flag, so only its first write is logged", () => {
  const mem = new Uint8Array(0x10000);
  const { pml4 } = buildIdentityEpt(mem, {
    tableBase: 0x1000,
    hostBase: 0x40000000,
    size: 0x400000,
    pageSize: 2 ** 21,
  });
  const eptp = makeEptp(pml4, { accessedDirty: true });
  const pml: PmlLog = { address: 0x8000, index: 511 };
  const a = eptWalk(mem, eptp, 0x234567, W, { pml });
  equal(a.kind === "ok" && a.hpa, 0x40234567);
  equal(eptWalk(mem, eptp, 0x300000, W, { pml }).kind, "ok");
  equal(pml.index, 510);
  equal(new DataView(mem.buffer).getBigUint64(0x8000 + 511 * 8, true), 0x234000n);
});

Deno.test("eptWalk(): with A/D on, a guest paging-structure read sets D and is logged (SDM Vol. 3, §28.2.4)", () => {
  const { mem, eptp, pt } = small();
  const pml: PmlLog = { address: 0x30000, index: 511 };
  const r = eptWalk(mem, eptp, 0x6018, R, { pagingStructure: true, pml });
  equal(r.kind === "ok" && r.dirtied, true);
  equal(flags(mem, pt + 6 * 8), 0x300);
  equal(new DataView(mem.buffer).getBigUint64(0x30000 + 511 * 8, true), 0x6000n);
});

Deno.test("findEptLeaf(), clearEptDirty() and scanEptDirty() find, clear and harvest D flags", () => {
  const mem = new Uint8Array(0x20000);
  // 2 MiB leaves for [0, 4 MiB), 4 KiB leaves for [4 MiB, 4 MiB + 64 KiB).
  const size = 0x400000 + 0x10000;
  const { pml4 } = buildIdentityEpt(mem, {
    tableBase: 0x1000,
    hostBase: 0x40000000,
    size,
    pageSize: 2 ** 21,
  });
  const eptp = makeEptp(pml4, { accessedDirty: true });
  equal(findEptLeaf(mem, eptp, 0x1234)?.pageSize, 2 ** 21);
  equal(findEptLeaf(mem, eptp, 0x401234)?.pageSize, 4096);
  equal(findEptLeaf(mem, eptp, size), undefined);
  for (const gpa of [0x200010, 0x401000, 0x40f000]) eptWalk(mem, eptp, gpa, W);
  eptWalk(mem, eptp, 0x402000, R);
  const seen: number[] = [];
  scanEptDirty(mem, eptp, size, (g) => seen.push(g));
  equal(seen.length, 512 + 2, "a dirty 2 MiB leaf reports its 512 pages");
  equal(seen[0], 0x200000);
  deepEqual(seen.slice(512), [0x401000, 0x40f000]);
  equal(clearEptDirty(mem, eptp, 0x401800), true);
  equal(clearEptDirty(mem, eptp, 0x401800), false);
  const taken: number[] = [];
  scanEptDirty(mem, eptp, size, (g) => taken.push(g), true);
  equal(taken.length, 513);
  const after: number[] = [];
  scanEptDirty(mem, eptp, size, (g) => after.push(g));
  deepEqual(after, [], "take-and-clear leaves nothing dirty");
  const again = eptWalk(mem, eptp, 0x40f004, W);
  equal(again.kind === "ok" && again.dirtied, true, "a harvested page written again is dirty again");
});

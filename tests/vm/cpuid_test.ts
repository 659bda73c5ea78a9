import assert from "node:assert/strict";
import { CPUID_BRAND, CPUID_SIGNATURE, cpuidLeaf, TSC_HZ } from "../../src/vm/cpuid.ts";

function text(...words: number[]): string {
  return new TextDecoder().decode(new Uint8Array(new Uint32Array(words).buffer));
}

Deno.test("cpuidLeaf() names the vendor and the hypervisor (leaf 0x40000000)", () => {
  const [max, b, c, d] = cpuidLeaf(0, 0);
  // An Intel CPU: "GenuineIntel" in EBX, EDX, ECX order (SDM Vol. 2 CPUID, leaf 0).
  assert.equal(text(b, d, c), "GenuineIntel");
  assert.equal(max, 0x16, "the maximum basic leaf covers the frequency leaves 15H and 16H");
  const [top, h0, h1, h2] = cpuidLeaf(0x40000000, 0);
  assert.equal(top, 0x40000001);
  assert.equal(text(h0, h1, h2), "hvsimhvsim\0\0");
});

Deno.test("cpuidLeaf() reports only what the interpreter implements", () => {
  const [, , ecx, edx] = cpuidLeaf(1, 0);
  // No AVX, MOVBE, VMX (SDM Vol. 2 Table 3-10/3-11), checked below. The x87 FPU, PSE, CX8 (CMPXCHG8B), MMX,
  // FXSAVE/FXRSTOR, SSE and SSE2 (src/cpu/ops/).
  for (const bit of [0, 3, 8, 23, 24, 25, 26]) assert.equal((edx >>> bit) & 1, 1, `EDX bit ${bit}`);
  for (const bit of [3, 5, 22, 27, 28]) {
    assert.equal((ecx >>> bit) & 1, 0, `ECX bit ${bit}`);
  }
  assert.equal((ecx >>> 13) & 1, 1, "CMPXCHG16B");
  assert.equal((ecx >>> 26) & 1, 1, "XSAVE");
  // SSE3 .. SSE4.2, POPCNT (src/cpu/ops/sse3.ts .. sse42.ts, bit.ts); not MONITOR (bit 3): MONITOR/MWAIT raise #UD.
  for (const bit of [0, 9, 19, 20, 23]) assert.equal((ecx >>> bit) & 1, 1, `ECX bit ${bit}`);
  // Not LZCNT (CPUID.80000001H:ECX[5]): F3 0F BD executes as BSR.
  assert.equal((cpuidLeaf(0x80000001, 0)[2] >>> 5) & 1, 0, "80000001 ECX bit 5 (LZCNT)");
  assert.equal((ecx >>> 31) & 1, 1, "hypervisor present");
  assert.equal((ecx >>> 30) & 1, 1, "RDRAND (through the hypervisor's entropy source)");
  assert.equal((ecx >>> 24) & 1, 1, "TSC-deadline timer");
  const [, , , e81] = cpuidLeaf(0x80000001, 0);
  for (const bit of [11, 20, 26, 27, 29]) assert.equal((e81 >>> bit) & 1, 1, `80000001 EDX bit ${bit}`);
  const [, ebx7] = cpuidLeaf(7, 0);
  assert.equal(ebx7 & ~(1 << 18), 0, "leaf 7: only RDSEED (no BMI1/BMI2/AVX2/...)");
  assert.equal(cpuidLeaf(0x80000008, 0)[0] & 0xff, 46, "MAXPHYADDR matches IA32_VMX and EPT");
});

Deno.test("cpuidLeaf(1) ECX.OSXSAVE follows CR4.OSXSAVE (SDM Vol. 2 CPUID Table 3-10)", () => {
  assert.equal((cpuidLeaf(1, 0, 0)[2] >>> 27) & 1, 0);
  assert.equal((cpuidLeaf(1, 0, 1 << 18)[2] >>> 27) & 1, 1);
});

Deno.test("cpuidLeaf(0xD) describes XSAVE with XCR0 = x87 | SSE (SDM Vol. 1 §13.2, Vol. 2 CPUID)", () => {
  assert.ok(cpuidLeaf(0, 0)[0] >= 0xd, "leaf 0xD is a basic leaf");
  // Subleaf 0: XCR0 bits 0 and 1; the area is the 512-byte legacy region plus the 64-byte header.
  assert.deepEqual(cpuidLeaf(0xd, 0), [3, 576, 576, 0]);
  // Subleaf 1: XSAVEOPT, XSAVEC, XGETBV with ECX = 1; no XSAVES, no IA32_XSS bits.
  assert.deepEqual(cpuidLeaf(0xd, 1), [7, 576, 0, 0]);
  // Components 2 and up do not exist.
  assert.deepEqual(cpuidLeaf(0xd, 2), [0, 0, 0, 0]);
  assert.deepEqual(cpuidLeaf(0xd, 63), [0, 0, 0, 0]);
  // Leaves 8..0xC are reserved or describe what this processor does not have.
  for (const leaf of [8, 9, 0xa, 0xb, 0xc]) {
    assert.deepEqual(cpuidLeaf(leaf, 0), [0, 0, 0, 0], `leaf ${leaf}`);
  }
});

Deno.test("cpuidLeaf(1) EAX decodes to family 06_6AH, the Ice Lake-SP signature the module names", () => {
  const [eax] = cpuidLeaf(1, 0);
  assert.equal(eax, CPUID_SIGNATURE);
  // SDM Vol. 2 CPUID: displayed family = family (11:8) when it is not 0xF; displayed model =
  // extended model (19:16) << 4 | model (7:4) for families 6 and 0xF.
  const family = (eax >>> 8) & 0xf, model = (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf);
  assert.deepEqual({ family, model, stepping: eax & 0xf }, { family: 6, model: 0x6a, stepping: 0 });
});

Deno.test("cpuidLeaf() reports the TSC and crystal clock (leaves 15H, 16H), ARAT (leaf 6)", () => {
  // SDM Vol. 2 CPUID leaf 15H: TSC frequency = ECX (crystal Hz) * EBX / EAX; EAX and EBX non-zero.
  const [den, num, crystal] = cpuidLeaf(0x15, 0);
  assert.ok(den > 0 && num > 0 && crystal > 0);
  assert.equal(crystal * num / den, TSC_HZ);
  // One retired instruction is one TSC tick; a guest second is 10^9 ticks (src/migration/link.ts's clock).
  assert.equal(TSC_HZ, 1e9);
  // Leaf 16H: base frequency in MHz (EAX bits 15:0), the TSC's.
  assert.equal(cpuidLeaf(0x16, 0)[0] & 0xffff, TSC_HZ / 1e6);
  // Leaf 6 EAX bit 2: ARAT, the APIC timer runs at a constant rate in every C-state.
  assert.equal((cpuidLeaf(6, 0)[0] >>> 2) & 1, 1);
  // Leaves between the known ones are zero; above the maximum, the maximum leaf's answer (leaf 0 EAX).
  assert.deepEqual(cpuidLeaf(0xb, 0), [0, 0, 0, 0]);
  assert.deepEqual(cpuidLeaf(0x17, 0), cpuidLeaf(0x16, 0));
});

Deno.test("cpuidLeaf(0x80000002..4) is the brand string, and leaf 0x80000000 covers it (SDM Vol. 2 CPUID)", () => {
  // Leaf 80000000H EAX: the highest extended leaf, 80000008H (address sizes); the brand string
  // leaves 80000002H-80000004H lie below it.
  assert.equal(cpuidLeaf(0x80000000, 0)[0], 0x80000008);
  // 48 bytes, 16 per leaf in EAX, EBX, ECX, EDX order, NUL-terminated ASCII.
  const bytes = new Uint8Array(
    new Uint32Array([0x80000002, 0x80000003, 0x80000004].flatMap((l) => cpuidLeaf(l, 0))).buffer,
  );
  const end = bytes.indexOf(0);
  assert.ok(end > 0 && end <= 47, "terminated within the 48 bytes");
  assert.ok(bytes.subarray(end).every((b) => b === 0), "NUL-padded");
  assert.ok(bytes.subarray(0, end).every((b) => b >= 0x20 && b < 0x7f), "printable ASCII");
  const brand = new TextDecoder().decode(bytes.subarray(0, end));
  assert.equal(brand, CPUID_BRAND);
  // Consistent with leaf 0 (GenuineIntel), the Ice Lake-SP signature of leaf 1 and the frequency of leaf 16H.
  assert.match(brand, /Intel Ice Lake-SP/);
  assert.match(brand, new RegExp(`@ ${(cpuidLeaf(0x16, 0)[0] / 1000).toFixed(2)}GHz$`));
  // Above the highest extended leaf: the highest basic leaf's data, as Intel CPUs answer.
  assert.deepEqual(cpuidLeaf(0x80000009, 0), cpuidLeaf(0x16, 0));
});

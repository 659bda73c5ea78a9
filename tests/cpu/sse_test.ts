/**
 * SSE state and enabling rules, with expected values from the SDM: the #UD/#NM/#XM rules (Vol. 3
 * §2.5, Vol. 1 §11.5, §13.1), alignment (#GP on MOVAPS m128), the FXSAVE image layout (Vol. 1
 * Table 10-2), LDMXCSR's reserved bits, and the state's byte encoding round trip. The instruction
 * results themselves are compared with the host CPU by the conformance tests.
 */
import assert from "node:assert/strict";
import {
  CR0_EM,
  CR0_TS,
  CR4_OSFXSR,
  CR4_OSXMMEXCPT,
  FCW_DEFAULT,
  FpuState,
  MXCSR_DEFAULT,
} from "../../src/cpu/mod.ts";
import { CODE_ADDR, go, load, makeCpu, SCRATCH_ADDR } from "./_harness.ts";
import { bootGuest } from "../../src/vm/boot.ts";
import { Cpu } from "../../src/cpu/mod.ts";

const ADDPS = [0x0f, 0x58, 0xc1]; // addps %xmm1, %xmm0
const DIVSS = [0xf3, 0x0f, 0x5e, 0xc1]; // divss %xmm1, %xmm0

function sseCpu(cr4Extra = CR4_OSFXSR | CR4_OSXMMEXCPT) {
  const cpu = makeCpu();
  cpu.cr4 |= cr4Extra;
  return cpu;
}

function run(
  cpu: ReturnType<typeof makeCpu>,
  code: number[],
  scratch?: Uint8Array,
  at = 0,
  bytes?: Uint8Array,
) {
  load(cpu, { code: new Uint8Array([...code, 0xcc]), scratch });
  if (bytes !== undefined) cpu.mem.set(bytes, at);
  return go(cpu);
}

Deno.test("SSE instructions raise #UD with CR4.OSFXSR=0 or CR0.EM=1, #NM with CR0.TS=1 (SDM Vol. 3 §2.5)", () => {
  assert.equal(run(sseCpu(0), ADDPS).vector, 6);
  const em = sseCpu();
  em.cr0 |= CR0_EM | CR0_TS;
  assert.equal(run(em, ADDPS).vector, 6, "#UD takes priority over #NM");
  const ts = sseCpu();
  ts.cr0 |= CR0_TS;
  assert.equal(run(ts, ADDPS).vector, 7);
  assert.equal(run(sseCpu(), ADDPS).vector, 3, "enabled: runs to the INT3");
});

Deno.test("an unmasked SIMD exception raises #XM, or #UD with CR4.OSXMMEXCPT=0, and writes nothing", () => {
  for (const [cr4, vector] of [[CR4_OSFXSR | CR4_OSXMMEXCPT, 19], [CR4_OSFXSR, 6]]) {
    const cpu = sseCpu(cr4);
    cpu.fpu.mxcsr = MXCSR_DEFAULT & ~(1 << 9); // divide-by-zero unmasked
    cpu.fpu.xmmF32[0] = 1;
    cpu.fpu.xmmF32[4] = 0;
    assert.equal(run(cpu, DIVSS).vector, vector);
    assert.equal(cpu.fpu.xmmF32[0], 1, "destination unchanged");
    assert.equal(cpu.fpu.mxcsr & 0x3f, 0x4, "ZE flagged");
    assert.equal(cpu.rip, CODE_ADDR, "fault: RIP at the instruction");
  }
  const masked = sseCpu();
  masked.fpu.xmmF32[0] = 1;
  masked.fpu.xmmF32[4] = 0;
  assert.equal(run(masked, DIVSS).vector, 3);
  assert.equal(masked.fpu.xmmF32[0], Infinity, "masked response: infinity (SDM Vol. 1 §4.9.1.3)");
  assert.equal(masked.fpu.mxcsr, MXCSR_DEFAULT | 0x4);
});

Deno.test("MOVAPS m128 raises #GP(0) on a misaligned address; MOVUPS does not", () => {
  const at = (mnemonicOpcode: number, off: number) => {
    const cpu = sseCpu();
    // movaps/movups (disp32 absolute), %xmm0
    const a = SCRATCH_ADDR + off;
    return run(cpu, [
      0x0f,
      mnemonicOpcode,
      0x04,
      0x25,
      a & 0xff,
      (a >> 8) & 0xff,
      (a >> 16) & 0xff,
      a >>> 24,
    ]);
  };
  assert.equal(at(0x28, 0).vector, 3);
  assert.equal(at(0x28, 8).vector, 13);
  assert.equal(at(0x10, 8).vector, 3);
});

Deno.test("LDMXCSR raises #GP(0) for a reserved MXCSR bit (SDM Vol. 2 LDMXCSR)", () => {
  const a = SCRATCH_ADDR;
  const code = [0x0f, 0xae, 0x14, 0x25, a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >>> 24];
  const good = sseCpu();
  assert.equal(run(good, code, new Uint8Array([0x40, 0x7f, 0, 0])).vector, 3);
  assert.equal(good.fpu.mxcsr, 0x7f40);
  assert.equal(run(sseCpu(), code, new Uint8Array([0x80, 0x1f, 0x01, 0])).vector, 13);
});

Deno.test("FXSAVE writes the 64-bit image of SDM Vol. 1 Table 10-2; FXRSTOR reads it back", () => {
  const cpu = sseCpu();
  const f = cpu.fpu;
  f.fninit();
  f.mxcsr = 0x9fc0;
  for (let k = 0; k < 64; k++) f.xmm[k] = (0x01010101 * (k + 1)) >>> 0;
  const a = SCRATCH_ADDR - 0x800; // the scratch page start: 16-byte aligned, 4 KiB mapped
  const abs = [a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >>> 24];
  assert.equal(run(cpu, [0x0f, 0xae, 0x04, 0x25, ...abs]).vector, 3);
  const img = cpu.mem.slice(a, a + 512);
  const dv = new DataView(img.buffer, img.byteOffset, 512);
  assert.equal(dv.getUint16(0, true), FCW_DEFAULT, "FCW at 0");
  assert.equal(dv.getUint8(4), 0, "abridged FTW: all empty");
  assert.equal(dv.getUint32(24, true), 0x9fc0, "MXCSR at 24");
  assert.equal(dv.getUint32(28, true), 0xffff, "MXCSR_MASK at 28 (DAZ supported)");
  assert.equal(dv.getUint32(160, true), 0x01010101, "XMM0 at 160");
  assert.equal(dv.getUint32(160 + 16 * 15 + 12, true), (0x01010101 * 64) >>> 0, "XMM15 bits 127:96 at 412");
  f.xmm.fill(0);
  f.mxcsr = MXCSR_DEFAULT;
  assert.equal(run(cpu, [0x0f, 0xae, 0x0c, 0x25, ...abs], undefined, a, img).vector, 3);
  assert.equal(f.mxcsr, 0x9fc0);
  assert.equal(f.xmm[63], (0x01010101 * 64) >>> 0);
  // Misaligned: #GP(0); a reserved MXCSR bit in the image: #GP(0).
  const mis = a + 8;
  assert.equal(
    run(cpu, [0x0f, 0xae, 0x04, 0x25, mis & 0xff, (mis >> 8) & 0xff, (mis >> 16) & 0xff, mis >>> 24]).vector,
    13,
  );
  dv.setUint32(24, 0x10000, true);
  assert.equal(run(cpu, [0x0f, 0xae, 0x0c, 0x25, ...abs], undefined, a, img).vector, 13);
});

Deno.test("FpuState.save() and restore() round-trip every register, the full tag word included", () => {
  const f = new FpuState();
  f.fninit();
  for (let k = 0; k < 64; k++) f.xmm[k] = (k * 0x9e3779b9) >>> 0;
  for (let k = 0; k < 80; k++) f.st[k] = (k * 37) & 0xff;
  f.mxcsr = 0x7fbf;
  f.fsw = 0x3800;
  f.ftw = 0x5a3c;
  f.fop = 0x5ab;
  f.fip = 0x7fff12345678;
  f.fdp = -0x1000;
  const g = new FpuState();
  g.restore(f.save());
  assert.deepEqual(g.save(), f.save());
  assert.equal(g.ftw, 0x5a3c);
  assert.equal(g.fdp, -0x1000);
  assert.throws(() => g.restore(new Uint8Array(10)), RangeError);
});

Deno.test("bootGuest() enters with x87 and SSE enabled as a Linux process sees them", () => {
  const cpu = new Cpu(new Uint8Array(4 * 2 ** 20));
  cpu.fpu.mxcsr = 0;
  bootGuest(cpu, cpu.mem, 0x400000, "");
  assert.equal(cpu.cr0 & 0x2e, 0x22, "CR0.MP=1, EM=0, TS=0, NE=1");
  assert.equal(cpu.cr4 & 0x600, 0x600, "CR4.OSFXSR and OSXMMEXCPT");
  assert.equal(cpu.fpu.mxcsr, 0x1f80);
  assert.equal(cpu.fpu.fcw, 0x37f);
  assert.equal(cpu.fpu.ftw, 0xffff);
});

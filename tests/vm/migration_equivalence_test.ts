/**
 * A migrated guest ends bit-for-bit equal to one that never moved (docs/determinism.md), when
 * the switchover lands inside a REP MOVS, around instructions and copies that straddle pages, and
 * with a timer interrupt pending.
 */

import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { assemble, NEEDS_AS } from "./_asm.ts";
import { assertSameEnd, migrateAt } from "./_guests.ts";

function mapApic(m: Machine): void {
  const dv = new DataView(m.mem.buffer);
  dv.setBigUint64(0x11000 + 3 * 8, 0x30000n | 3n, true);
  dv.setBigUint64(0x30000 + ((0xfee00000 >>> 21) & 511) * 8, 0xfee00000n | 0x83n | 0x18n, true);
}

/** Migrates a fresh machine at exactly `stopAt` instructions and runs the destination to the end. */
async function migrateToEnd(make: () => Machine, stopAt: number): Promise<Machine> {
  const d = await migrateAt(make(), stopAt);
  d.runToEnd(1e9);
  return d;
}

/** The instruction at RIP is a REP MOVS (F3, optional REX, A4/A5). */
function atRepMovs(m: Machine): boolean {
  const rip = Number(m.cpu.getRip());
  let b = m.mem[rip];
  if (b !== 0xf3) return false;
  b = m.mem[rip + 1];
  if ((b & 0xf0) === 0x40) b = m.mem[rip + 2];
  return b === 0xa4 || b === 0xa5;
}

Deno.test("migration inside a REP MOVS (RIP on the instruction, RCX part-way) ends equal", async () => {
  const elf = Deno.readFileSync(new URL("../../guests/build/repstr.elf", import.meta.url));
  const make = () => Machine.fromElf(elf, { memory: 8 << 20, cmdline: "kb=128 n=200" });
  const ref = make();
  ref.runToEnd(1e9);
  // Find points where the instruction budget ran out between iterations of a REP MOVS.
  const probe = make();
  const points: number[] = [];
  while (points.length < 3 && probe.run(4093) === null) {
    if (atRepMovs(probe) && probe.cpu.getReg64(1) > 1n) points.push(probe.instructions);
  }
  assert.equal(points.length, 3, "repstr spends time in REP MOVS");
  for (const at of points) assertSameEnd(await migrateToEnd(make, at), ref, `inside REP MOVS at ${at}`);
});

Deno.test("migration around page-straddling instructions and copies ends equal", NEEDS_AS, async () => {
  const code = assemble("page_cross");
  const make = () => Machine.fromFlat(code, 0x100000, 0x100000, { memory: 16 << 20 });
  const ref = make();
  ref.runToEnd(1e6);
  assert.equal(ref.exit?.reason, "debug-exit");
  // Every instruction boundary of the first loop iterations, REP iterations included.
  for (let at = 1; at < 120; at += 7) assertSameEnd(await migrateToEnd(make, at), ref, `at ${at}`);
});

Deno.test(
  "migration with a timer interrupt pending (IRR set, interrupts off) ends equal",
  NEEDS_AS,
  async () => {
    const code = assemble("timer_pending");
    const make = () => {
      const m = Machine.fromFlat(code);
      mapApic(m);
      return m;
    };
    const ref = make();
    ref.runToEnd(1e7);
    assert.equal(ref.exit?.reason, "debug-exit");
    assert.ok(ref.exit!.code > 5, `ticks counted: ${ref.exit!.code}`);
    const probe = make();
    const points: number[] = [];
    while (points.length < 3 && probe.run(997) === null) {
      const pending = probe.lapic.pending() >= 0 || probe.lapic.nextEvent() <= probe.now();
      if (pending && (probe.cpu.getRflags() & 0x200) === 0) points.push(probe.instructions);
    }
    assert.equal(points.length, 3, "the guest spends time with a tick pending");
    for (const at of points) assertSameEnd(await migrateToEnd(make, at), ref, `tick pending at ${at}`);
  },
);

Deno.test("a failed migration of a real guest leaves the source intact: it resumes and ends equal", async () => {
  const { MigrationController, inProcessTransport, SimulatedLink } = await import(
    "../../src/migration/mod.ts"
  );
  const { faultyTransport } = await import("../../src/migration/fault.ts");
  const elf = Deno.readFileSync(new URL("../../guests/build/memwrite.elf", import.meta.url));
  const make = () => Machine.fromElf(elf, { memory: 8 << 20, cmdline: "ws=1M iters=200 rate=64 quiet" });
  const ref = make();
  ref.runToEnd(1e9);
  const faults: { dropAtByte?: number; corruptChunk?: number; refuseConfirmation?: string }[] = [
    { dropAtByte: 300_000 },
    { corruptChunk: 3 },
    { refuseConfirmation: "destination refuses (injected)" },
  ];
  for (const fault of faults) {
    const src = make();
    src.run(50_000);
    let built = 0;
    const pair = inProcessTransport({
      createVm: (h) => {
        built++;
        return new Machine({ memory: h.ramBytes });
      },
      expectRamBytes: src.ramBytes,
    });
    const r = await new MigrationController(src).migrate(faultyTransport(pair.transport, fault), {
      link: new SimulatedLink({ bandwidth: 1e8, latencyMs: 0, clockHz: 1e9 }),
    });
    assert.equal(r.ok, false, JSON.stringify(fault));
    if (fault.refuseConfirmation === undefined) {
      assert.equal(built, 0, "the destination never builds partial state");
    }
    src.runToEnd(1e9);
    assertSameEnd(src, ref, `source after ${JSON.stringify(fault)}`);
  }
});

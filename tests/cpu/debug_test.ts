// The CPU's debug hooks against single-stepping: a breakpoint is hit exactly at the instruction
// counts where a run stepped one instruction at a time is at its address, whether the hooks run
// the guest instruction by instruction or block by block; watchpoints catch each access once.
import assert from "node:assert/strict";
import { CpuDebug, type DebugHit } from "../../src/cpu/mod.ts";
import { Machine } from "../../src/vm/mod.ts";
import * as F from "../../src/vmx/fields.ts";

const root = new URL("../../", import.meta.url);
const demo = Deno.readFileSync(new URL("guests/build/gdbdemo.elf", root));
const fresh = () => Machine.fromElf(demo, { memory: 64 * 2 ** 20 }, "gdbdemo");

/** RIP before every instruction of the whole run, stepping one instruction per VM entry. */
function trace(): number[] {
  const m = fresh();
  const rips: number[] = [];
  while (m.exit === null) {
    rips.push(Number(BigInt.asIntN(64, m.vcpu.vmcs.read(F.GUEST_RIP))));
    m.run(1);
  }
  return rips;
}

Deno.test("breakpoints are hit exactly where a single-stepped run is at their addresses", () => {
  const rips = trace();
  // step+0 (a block start), step+12 and step+35 (inside its block), main's call of step and
  // report: addresses from objdump -d -l of guests/build/gdbdemo.elf.
  const addrs = [0x401e44, 0x401e50, 0x401e67, 0x401eeb, 0x401e7d];
  const expected = rips.flatMap((r, i) => addrs.includes(r) ? [i] : []);
  assert.ok(expected.length >= 40);
  const m = fresh();
  const d = new CpuDebug();
  for (const a of addrs) d.breakpoints.set(a, "swbreak");
  const hits: DebugHit[] = [];
  d.record = hits;
  m.cpu.debug = d;
  m.runToEnd();
  assert.deepEqual(hits.map((h) => h.icount), expected);
  assert.deepEqual(hits.map((h) => h.address), expected.map((i) => rips[i]));
  // The same end as without hooks.
  const plain = fresh();
  plain.runToEnd();
  assert.equal(m.digest(), plain.digest());
  assert.equal(m.instructions, rips.length);
});

Deno.test("a breakpoint stops the run before its instruction; resuming there runs on", () => {
  const m = fresh();
  const d = new CpuDebug();
  d.breakpoints.set(0x401e50, "hwbreak");
  m.cpu.debug = d;
  const stops: number[] = [];
  while (m.run(1e9) === null) {
    assert.ok(d.stopped !== null);
    assert.equal(m.vcpu.vmcs.read(F.GUEST_RIP), 0x401e50n);
    stops.push(d.stopped.icount);
    d.stopped = null;
    d.resumeAt = m.instructions;
  }
  // step() is called ten times (n = 10 in gdbdemo.c).
  assert.equal(stops.length, 10);
  assert.equal(m.consoleText(), "total 855 counter 10 scale 3 message abc\n");
});

Deno.test("watchpoints: writes to counter, reads of scale, accesses of total", () => {
  // Globals from nm: counter 0x403220, total 0x403228 (8 bytes each), scale 0x403200 (4 bytes).
  const m = fresh();
  const d = new CpuDebug();
  d.addWatch({ kind: "watch", start: 0x403220, length: 8 });
  d.addWatch({ kind: "rwatch", start: 0x403200, length: 4 });
  d.addWatch({ kind: "awatch", start: 0x403228, length: 8 });
  const hits: DebugHit[] = [];
  d.record = hits;
  m.cpu.debug = d;
  m.cpu.flushTlb();
  m.runToEnd();
  const count = (k: string) => hits.filter((h) => h.kind === k).length;
  // crt0.S clears .bss with REP STOSB: one write per byte of counter and of total (8 each).
  // step(): `counter = counter + 1` writes counter once per call (10 calls); `square * scale`
  // reads scale once per call; main's `total += step(i)` reads and writes total once per
  // iteration; report() reads scale and total once more.
  assert.equal(count("watch"), 8 + 10);
  assert.equal(count("rwatch"), 10 + 1);
  assert.equal(count("awatch"), 8 + 20 + 1);
  assert.equal(m.consoleText(), "total 855 counter 10 scale 3 message abc\n");
});

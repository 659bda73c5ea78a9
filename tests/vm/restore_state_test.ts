import { equal, throws } from "node:assert/strict";
import { Machine } from "../../src/vm/machine.ts";

const GUEST = Deno.readFileSync(new URL("../../guests/build/hello.elf", import.meta.url));
const MEMORY = 8 << 20;

Deno.test("Machine.restoreState() refuses a machine or vmx section that is not what saveState() writes", () => {
  const m = Machine.fromElf(GUEST, { memory: MEMORY });
  m.run(1000);
  const sections = m.saveState();
  const machine = JSON.parse(new TextDecoder().decode(sections.find((s) => s.name === "machine")!.data));
  const cpu = JSON.parse(new TextDecoder().decode(sections.find((s) => s.name === "cpu")!.data));
  const table: [string, string, unknown, RegExp][] = [
    ["machine", "an unknown exit reason", { ...machine, exit: { reason: "zzz", code: 0 } }, /invalid exit/],
    [
      "machine",
      "an exit code that is not a number",
      { ...machine, exit: { reason: "hlt", code: "x" } },
      /invalid exit/,
    ],
    [
      "machine",
      "an exit code above 32 bits",
      { ...machine, exit: { reason: "debug-exit", code: 2 ** 40 } },
      /invalid exit/,
    ],
    ["machine", "an exit that is a number", { ...machine, exit: 5 }, /invalid exit/],
    [
      "machine",
      "exit counts that are not pairs",
      { ...machine, exitCounts: [[1, "x"], ["y"]] },
      /invalid VM-exit counts/,
    ],
    [
      "machine",
      "exit counts that are an object",
      { ...machine, exitCounts: { a: 1 } },
      /invalid VM-exit counts/,
    ],
    ["machine", "null", null, /"machine" has no object/],
    ["vmx", "null", null, /"vmx" is not an object/],
    ["cpu", "a RIP that is a string", { ...cpu, rip: "0x401000" }, /invalid rip/],
    ["cpu", "a RIP with a fraction", { ...cpu, rip: 4096.5 }, /invalid rip/],
    ["cpu", "an instruction count below 0", { ...cpu, icount: -1 }, /invalid icount/],
    ["cpu", "a register half above 32 bits", { ...cpu, gpr: [2 ** 32, ...cpu.gpr.slice(1)] }, /invalid gpr/],
    ["cpu", "seven segment selectors", { ...cpu, segSel: cpu.segSel.slice(1) }, /invalid segSel/],
    ["cpu", "CPL 4", { ...cpu, cpl: 4 }, /invalid cpl/],
    ["cpu", "halted as a number", { ...cpu, halted: 0 }, /invalid halted/],
    ["cpu", "an MSR value that is not hex", { ...cpu, msrs: [[372, "zz"]] }, /invalid MSR list/],
    ["cpu", "null", null, /CPU state section is not an object/],
  ];
  for (const [name, what, value, msg] of table) {
    const bad = sections.map((s) =>
      s.name === name ? { ...s, data: new TextEncoder().encode(JSON.stringify(value)) } : s
    );
    throws(
      () => new Machine({ memory: MEMORY }).restoreState(bad),
      (e: Error) => e instanceof RangeError && msg.test(e.message),
      what,
    );
  }
  // the sections as saved restore, and the guest ends as the original does
  const d = new Machine({ memory: MEMORY });
  for (let pfn = 0; pfn < MEMORY / 4096; pfn++) {
    const page = new Uint8Array(4096);
    m.readPage(pfn, page);
    d.writePage(pfn, page);
  }
  d.restoreState(sections);
  equal(d.runToEnd().reason, m.runToEnd().reason);
  equal(d.digest(), m.digest());
});

Deno.test("Machine.restoreState() takes the fpu section, refuses a damaged one, and without one uses the boot state", () => {
  const fpuGuest = Deno.readFileSync(new URL("../../guests/build/fpu.elf", import.meta.url));
  const m = Machine.fromElf(fpuGuest, { memory: 64 << 20, cmdline: "steps=20 size=8 n=64" });
  m.run(20000);
  equal(m.regs().mxcsr, "0x1fa0", "the guest has done inexact arithmetic (MXCSR.PE)");
  const sections = m.saveState();
  const fpu = sections.find((s) => s.name === "fpu")!;
  equal(fpu.data.length, 514, "the FXSAVE image and the full tag word");
  const d = new Machine({ memory: 64 << 20 });
  d.restoreState(sections);
  equal(d.regs().xmm0, m.regs().xmm0);
  equal(d.regs().mxcsr, m.regs().mxcsr);
  // A damaged section (a reserved MXCSR bit, a wrong length) is refused with one line.
  const bad = fpu.data.slice();
  bad[26] = 1; // MXCSR bit 16
  throws(
    () =>
      new Machine({ memory: 64 << 20 }).restoreState(
        sections.map((s) => s === fpu ? { ...s, data: bad } : s),
      ),
    (e: Error) => e instanceof RangeError && /MXCSR/.test(e.message),
  );
  throws(
    () =>
      new Machine({ memory: 64 << 20 }).restoreState(
        sections.map((s) => s === fpu ? { ...s, data: bad.subarray(0, 100) } : s),
      ),
    (e: Error) => e instanceof RangeError && /514/.test(e.message),
  );
  // A stream from before the section existed: the x87/SSE state boot protocol 1 enters with.
  const old = new Machine({ memory: 64 << 20 });
  old.cpu.fpu.mxcsr = 0;
  old.restoreState(sections.filter((s) => s.name !== "fpu"));
  equal(old.regs().mxcsr, "0x1f80");
  equal(old.regs().xmm0, "0x0");
  equal(old.cpu.fpu.fcw, 0x37f);
});

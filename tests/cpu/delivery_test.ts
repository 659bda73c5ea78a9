/**
 * The event delivery path as a table: INT n / INT3 / INTO / INT1 from CPL 0 and 3, the checks on
 * the IDT gate and its code segment, the stack (RSP0, IST, alignment, faults while pushing), the
 * double-fault classes, IRETQ and SYSRET. Each row names the part of the Intel SDM its expected
 * values are worked out from: the INT n/INTO/INT3/INT1, IRET and SYSRET pseudocode and exception
 * lists (Vol. 2), and Vol. 3 §6.12-6.15 (gates, error codes, 64-bit stack frames and IST,
 * Tables 6-4/6-5) and §18.3.1.1 (the RF image: 1 for fault-class exceptions, else RF's value).
 *
 * Every row runs one instruction (or injects one event) and stops with the handler about to run:
 * each vector's handler is at its own address (`handler(v)`), so the final RIP names the vector
 * the processor delivered, and the frame on the new stack shows what it pushed.
 */

import assert from "node:assert/strict";
import { type Cpu, EFER_SCE, IF, RF, SEG_CS, SEG_SS, SEG_TR, STOP_BUDGET, TF } from "../../src/cpu/mod.ts";
import { CODE_ADDR, hexBytes, load, makeCpu } from "./_harness.ts";
import { EXIT_REASON_TRIPLE_FAULT } from "../../src/vmx/exit_reasons.ts";

const GDT = 0x300000, TSS = 0x300100, IDT = 0x310000;
/** Mapped stack pages: the kernel stack (RSP0), IST1, the user stack, IST2. 0x380000 is not mapped. */
const PAGES = [0x310000, 0x311000, 0x312000, 0x313000, 0x314000];
const RSP0 = 0x311ff8; // deliberately not 16-byte aligned: the processor aligns it to 0x311ff0
const IST1 = 0x312ff8;
const IST2 = 0x314ff8;
const UNMAPPED = 0x380ff8; // a stack on a page that is not present
const USER_RSP = 0x313f48;
const KERNEL_RSP = 0x311e48;
const NONCANONICAL = 0x0000800000000000n;
const TR_SEL = 0x50;
const START_FLAGS = 0x202; // IF set

/** Each vector's handler: never executed, the run stops before it. */
function handler(v: number): number {
  return 0x200000 + v * 8;
}

/**
 * GDT: null; 0x08 64-bit code DPL 0; 0x10 data DPL 0; 0x18 64-bit code DPL 3; 0x20 data DPL 3;
 * 0x28 unused; 0x30 64-bit code, not present; 0x38 32-bit code (L = 0); 0x40 code with L = 1 and
 * D = 1; 0x48 conforming 64-bit code DPL 0.
 */
const DESCRIPTORS = [
  0n,
  0x00af9b000000ffffn,
  0x00cf93000000ffffn,
  0x00affb000000ffffn,
  0x00cff3000000ffffn,
  0n,
  0x00af1b000000ffffn,
  0x00cf9b000000ffffn,
  0x00ef9b000000ffffn,
  0x00af9f000000ffffn,
];

/** One IDT gate; `target` may be a bigint to give bits 63:32 (a non-canonical RIP). */
interface Gate {
  type?: number;
  dpl?: number;
  present?: boolean;
  ist?: number;
  sel?: number;
  target?: bigint;
}

/** The machine a row starts from, handed to its `prepare`. */
interface Machine {
  cpu: Cpu;
  dv: DataView;
  gate(v: number, g: Gate): void;
  /** Sets TSS.RSPn (n = 0..2) or ISTn (n = 3..9 for IST1..IST7). */
  tss(slot: number, value: bigint | number): void;
}

function machine(code: string, cpl: number, rflags: number): Machine {
  const cpu = makeCpu(PAGES);
  cpu.ctl.exceptionBitmap = 0; // deliver everything through the IDT
  load(cpu, { code: hexBytes(code), rflags, regs: { rsp: BigInt(cpl === 3 ? USER_RSP : KERNEL_RSP) } });
  const dv = new DataView(cpu.mem.buffer);
  DESCRIPTORS.forEach((d, k) => dv.setBigUint64(GDT + 8 * k, d, true));
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 8 * DESCRIPTORS.length - 1;
  cpu.idtrBase = IDT;
  cpu.idtrLimit = 0xfff;
  cpu.segSel[SEG_TR] = TR_SEL;
  cpu.segBase[SEG_TR] = TSS;
  cpu.segLimit[SEG_TR] = 0x67;
  cpu.segAr[SEG_TR] = 0x8b;
  const gate = (v: number, g: Gate) => {
    const a = IDT + 16 * v;
    const t = BigInt.asUintN(64, g.target ?? BigInt(handler(v)));
    dv.setUint16(a, Number(t & 0xffffn), true);
    dv.setUint16(a + 2, g.sel ?? 0x08, true);
    dv.setUint8(a + 4, g.ist ?? 0);
    dv.setUint8(a + 5, ((g.present ?? true) ? 0x80 : 0) | ((g.dpl ?? 0) << 5) | (g.type ?? 0xe));
    dv.setUint16(a + 6, Number((t >> 16n) & 0xffffn), true);
    dv.setUint32(a + 8, Number(t >> 32n), true);
    dv.setUint32(a + 12, 0, true);
  };
  const tss = (slot: number, value: bigint | number) => {
    const off = slot <= 2 ? 4 + 8 * slot : 36 + 8 * (slot - 3);
    dv.setBigUint64(TSS + off, BigInt.asUintN(64, BigInt(value)), true);
  };
  for (let v = 0; v < 256; v++) gate(v, {});
  gate(0x80, { type: 0xf, dpl: 3 }); // a system-call style trap gate
  gate(8, { ist: 2 }); // #DF on its own stack, as operating systems do
  tss(0, RSP0);
  tss(3, IST1);
  tss(4, IST2);
  tss(5, UNMAPPED);
  if (cpl === 3) {
    cpu.cpl = 3;
    cpu.segSel[SEG_CS] = 0x1b;
    cpu.segAr[SEG_CS] = 0xa0fb;
    cpu.segSel[SEG_SS] = 0x23;
    cpu.segAr[SEG_SS] = 0xc0f3;
  }
  return { cpu, dv, gate, tss };
}

/** What a row expects: a delivery (vector, error code, the frame, the handler's CS, SS, RSP) or an end. */
interface Want {
  /** The run ends in a triple fault (VM exit reason 2). */
  triple?: boolean;
  /** The vector whose handler is about to run. */
  vector?: number;
  /** The error code pushed, if any. */
  error?: number;
  /** RIP, CS, RFLAGS, RSP, SS as pushed. */
  frame?: [number, number, number, number | bigint, number];
  /** The aligned top of the stack the frame is on (RSP after delivery = top - frame size). */
  stack?: number;
  cs?: number;
  ss?: number;
  cpl?: number;
  /** A row that ends in no delivery (IRETQ): RIP, RSP, CS, SS afterwards. */
  rip?: number;
  rsp?: number;
  cr2?: number;
  /** RFLAGS bits that must be set / clear afterwards. */
  flagsSet?: number;
  flagsClear?: number;
}

interface Row {
  name: string;
  code: string;
  cpl?: number;
  rflags?: number;
  /** Instructions to run (default 1). */
  steps?: number;
  prepare?: (m: Machine) => void;
  /** Instead of running: inject this event as VM entry does (vector, type, error code or undefined, length). */
  inject?: [number, number, number | undefined, number];
  want: Want;
}

// Frames as pushed, for the two places code runs from.
const U = (rip: number, flags: number) =>
  [rip, 0x1b, flags, USER_RSP, 0x23] as [number, number, number, number, number];
const K = (rip: number, flags: number) =>
  [rip, 0x08, flags, KERNEL_RSP, 0x10] as [number, number, number, number, number];
const FAULT_FLAGS = START_FLAGS | RF; // fault-class exceptions push RF = 1 (Vol. 3 §18.3.1.1)
const ALIGN = (a: number) => a & ~15;
/** Delivery on RSP0 from CPL 3: CS 0x08, SS null with RPL 0 (Vol. 3 §6.14.4). */
const ON_RSP0 = { stack: ALIGN(RSP0), cs: 0x08, ss: 0, cpl: 0 };
/** Delivery at CPL 0 without a stack switch: the current stack aligned (Vol. 3 §6.14.2). */
const SAME_K = { stack: ALIGN(KERNEL_RSP), cs: 0x08, ss: 0x10, cpl: 0 };
const ON_IST2 = { stack: ALIGN(IST2), cs: 0x08, ss: 0, cpl: 0 };

/** A fault taken at CPL 0 on the same stack: vector, error code, the frame of the faulting instruction. */
const kFault = (vector: number, error: number | undefined): Want => ({
  vector,
  error,
  frame: K(CODE_ADDR, FAULT_FLAGS),
  ...SAME_K,
});
/** #DF (error code 0, Vol. 3 §6.15 Interrupt 8) on IST2, for a fault at CPL 0; an abort pushes RF as it is. */
const kDoubleFault: Want = { vector: 8, error: 0, frame: K(CODE_ADDR, START_FLAGS), ...ON_IST2 };

/** Where the IRETQ rows put their frame (RSP at the IRETQ), in the kernel stack page. */
const FRAME_AT = 0x311e00;
/** A fault taken at the IRETQ itself: on the same stack, aligned from FRAME_AT. */
const frameStack = { stack: FRAME_AT, cs: 0x08, ss: 0x10, cpl: 0 };

/** Writes an IRETQ frame (RIP, CS, RFLAGS, RSP, SS) at `at` and points RSP at it. */
function frame(m: Machine, f: (number | bigint)[], at = FRAME_AT): void {
  f.forEach((v, k) => m.dv.setBigUint64(at + 8 * k, BigInt.asUintN(64, BigInt(v)), true));
  m.cpu.setReg64(4, BigInt(at));
}

const UD2 = "0f0b";
const DIV_BY_ZERO = "f7f3"; // div %ebx with EBX = 0: #DE
const LOAD_RCX = "488b01"; // mov (%rcx), %rax
const IRETQ = "48cf";

const ROWS: Row[] = [
  // ---- INT n / INT3 / INTO / INT1 (Vol. 2 INT n pseudocode; Vol. 3 §6.12.1.1, §6.14)
  {
    name: "INT 0x80 at CPL 3 through a DPL-3 trap gate: RSP0 stack, SS null, no error code, IF kept",
    code: "cd80",
    cpl: 3,
    want: { vector: 0x80, frame: U(CODE_ADDR + 2, START_FLAGS), ...ON_RSP0, flagsSet: IF },
  },
  {
    name: "INT 0x81 at CPL 3 through a DPL-0 gate: #GP(0x81*8+2) on the RSP0 stack (Vol. 2 INT n: DPL < CPL)",
    code: "cd81",
    cpl: 3,
    want: { vector: 13, error: 0x81 * 8 + 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT 0x0d at CPL 3 through a DPL-0 gate: #GP(0x6a), not #DF (INT n is benign, Table 6-4)",
    code: "cd0d",
    cpl: 3,
    want: { vector: 13, error: 0x0d * 8 + 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT 0x0e at CPL 3 through a DPL-0 gate: #GP(0x72), not #DF (INT n is benign, Table 6-4)",
    code: "cd0e",
    cpl: 3,
    want: { vector: 13, error: 0x0e * 8 + 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT 0x08 at CPL 3 through a DPL-0 gate: #GP(0x42), not a triple fault",
    code: "cd08",
    cpl: 3,
    want: { vector: 13, error: 0x08 * 8 + 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT3 at CPL 3 through a DPL-0 gate: #GP(3*8+2) (Vol. 2 INT n: INT3 is checked as INT n)",
    code: "cc",
    cpl: 3,
    want: { vector: 13, error: 3 * 8 + 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT3 at CPL 3 through a DPL-3 gate: #BP, a trap: RIP after the instruction, RF = 0",
    code: "cc",
    cpl: 3,
    prepare: (m) => m.gate(3, { dpl: 3 }),
    want: { vector: 3, frame: U(CODE_ADDR + 1, START_FLAGS), ...ON_RSP0, flagsClear: IF },
  },
  {
    name: "INT 3 (cd 03) at CPL 3 through a DPL-0 gate: #GP(0x1a)",
    code: "cd03",
    cpl: 3,
    want: { vector: 13, error: 0x1a, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name:
      "INT1 (f1) at CPL 3 through a DPL-0 gate: #DB without the DPL check, a trap (Vol. 2 INT n: not INT1)",
    code: "f1",
    cpl: 3,
    want: { vector: 1, frame: U(CODE_ADDR + 1, START_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INTO (ce) in 64-bit mode: #UD (Vol. 2 INT n: INTO and CS.L = 1)",
    code: "ce",
    cpl: 3,
    want: { vector: 6, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "INT 0x40 at CPL 0 through a DPL-0 gate: same stack aligned to 16, SS kept, IF cleared",
    code: "cd40",
    want: { vector: 0x40, frame: K(CODE_ADDR + 2, START_FLAGS), ...SAME_K, flagsClear: IF },
  },
  {
    name: "INT1 at CPL 0: #DB with the next RIP",
    code: "f1",
    want: { vector: 1, frame: K(CODE_ADDR + 1, START_FLAGS), ...SAME_K },
  },

  // ---- the gate (Vol. 2 INT n, IA-32e mode; Vol. 3 §6.13 error codes: IDT bit 1, EXT bit 0)
  {
    name: "INT 0x40 through a gate not present: #NP(0x40*8+2), EXT = 0 for INT n",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { present: false }),
    want: kFault(11, 0x40 * 8 + 2),
  },
  {
    name: "#UD through a gate not present: #NP(6*8+2+1), EXT = 1 for an exception",
    code: UD2,
    prepare: (m) => m.gate(6, { present: false }),
    want: kFault(11, 6 * 8 + 3),
  },
  {
    name: "INT 0x40 past the IDT limit: #GP(0x40*8+2)",
    code: "cd40",
    prepare: (m) => (m.cpu.idtrLimit = 0x40 * 16 - 1),
    want: kFault(13, 0x40 * 8 + 2),
  },
  {
    name: "#PF past the IDT limit: #GP(14*8+2+1), then #DF (page fault, then contributory: Table 6-5)",
    code: LOAD_RCX,
    prepare: (m) => {
      m.cpu.setReg64(1, BigInt(UNMAPPED));
      m.cpu.idtrLimit = 14 * 16 - 1;
    },
    want: kDoubleFault,
  },
  {
    name: "an injected external interrupt past the IDT limit: #GP(0x30*8+2+1), the guest RIP pushed",
    code: "90",
    prepare: (m) => (m.cpu.idtrLimit = 0x30 * 16 - 1),
    inject: [0x30, 0, undefined, 0],
    want: kFault(13, 0x30 * 8 + 3),
  },
  {
    name:
      "INT 0x40 through a call gate (type 0xc): #GP(0x40*8+2), only interrupt and trap gates in IA-32e mode",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { type: 0xc }),
    want: kFault(13, 0x40 * 8 + 2),
  },
  {
    name: "#UD through a 16-bit interrupt gate (type 6): #GP(6*8+2+1)",
    code: UD2,
    prepare: (m) => m.gate(6, { type: 0x6 }),
    want: kFault(13, 6 * 8 + 3),
  },
  {
    name: "INT 0x40, gate selector null: #GP(EXT) = #GP(0)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0 }),
    want: kFault(13, 0),
  },
  {
    name: "#UD, gate selector null: #GP(EXT) = #GP(1)",
    code: UD2,
    prepare: (m) => m.gate(6, { sel: 0 }),
    want: kFault(13, 1),
  },
  {
    name: "INT 0x40, gate selector a data segment: #GP(0x10)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x10 }),
    want: kFault(13, 0x10),
  },
  {
    name: "#UD, gate selector a data segment: #GP(0x10 + EXT)",
    code: UD2,
    prepare: (m) => m.gate(6, { sel: 0x10 }),
    want: kFault(13, 0x11),
  },
  {
    name: "INT 0x40, gate code segment not present: #NP(0x30)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x30 }),
    want: kFault(11, 0x30),
  },
  {
    name: "#UD, gate code segment not present: #NP(0x30 + EXT)",
    code: UD2,
    prepare: (m) => m.gate(6, { sel: 0x30 }),
    want: kFault(11, 0x31),
  },
  {
    name: "INT 0x40, gate code segment 32-bit (L = 0): #GP(0x38), not a 64-bit code segment",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x38 }),
    want: kFault(13, 0x38),
  },
  {
    name: "INT 0x40, gate code segment with L = 1 and D = 1: #GP(0x40)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x40 }),
    want: kFault(13, 0x40),
  },
  {
    name: "INT 0x40 at CPL 0, gate code segment DPL 3 (DPL > CPL): #GP(0x18)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x18 }),
    want: kFault(13, 0x18),
  },
  {
    name: "INT 0x40, gate selector past the GDT limit: #GP(0x100)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x100 }),
    want: kFault(13, 0x100),
  },
  {
    name: "INT 0x40, gate selector in the (null) LDT: #GP(0x0c)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { sel: 0x0c }),
    want: kFault(13, 0x0c),
  },
  {
    name: "INT 0x80 at CPL 3 into a conforming code segment: stays at CPL 3 on the user stack, CS 0x4b",
    code: "cd80",
    cpl: 3,
    prepare: (m) => m.gate(0x80, { type: 0xf, dpl: 3, sel: 0x48 }),
    want: {
      vector: 0x80,
      frame: U(CODE_ADDR + 2, START_FLAGS),
      stack: ALIGN(USER_RSP),
      cs: 0x4b,
      ss: 0x23,
      cpl: 3,
    },
  },
  {
    name: "INT 0x40, gate target RIP not canonical: #GP(0) (Vol. 2 INT n, 64-Bit Mode Exceptions)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { target: NONCANONICAL | 0x1000n }),
    want: kFault(13, 0),
  },
  {
    name: "#UD, gate target RIP not canonical: #GP(0)",
    code: UD2,
    prepare: (m) => m.gate(6, { target: NONCANONICAL | 0x1000n }),
    want: kFault(13, 0),
  },

  // ---- the stack (Vol. 3 §6.14.2-6.14.5)
  {
    name: "INT 0x40 at CPL 0 through a gate with IST1: IST1 stack, SS loaded null (Vol. 3 §6.14.5)",
    code: "cd40",
    prepare: (m) => m.gate(0x40, { ist: 1 }),
    want: { vector: 0x40, frame: K(CODE_ADDR + 2, START_FLAGS), stack: ALIGN(IST1), cs: 0x08, ss: 0, cpl: 0 },
  },
  {
    name: "INT 0x80 at CPL 3 through a gate with IST1: IST1 rather than RSP0",
    code: "cd80",
    cpl: 3,
    prepare: (m) => m.gate(0x80, { type: 0xf, dpl: 3, ist: 1 }),
    want: { vector: 0x80, frame: U(CODE_ADDR + 2, START_FLAGS), stack: ALIGN(IST1), cs: 0x08, ss: 0, cpl: 0 },
  },
  {
    name: "INT 0x80 at CPL 3 with RSP0 not canonical: #SS(0) (EXT = 0), taken on IST2",
    code: "cd80",
    cpl: 3,
    prepare: (m) => {
      m.tss(0, NONCANONICAL);
      m.gate(12, { ist: 2 });
    },
    want: { vector: 12, error: 0, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_IST2 },
  },
  {
    name: "#UD at CPL 3 with RSP0 not canonical: #SS(EXT) = #SS(1)",
    code: UD2,
    cpl: 3,
    prepare: (m) => {
      m.tss(0, NONCANONICAL);
      m.gate(12, { ist: 2 });
    },
    want: { vector: 12, error: 1, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_IST2 },
  },
  {
    name: "INT 0x40 through IST1 with the IST1 entry not canonical: #SS(0)",
    code: "cd40",
    prepare: (m) => {
      m.gate(0x40, { ist: 1 });
      m.tss(3, NONCANONICAL);
      m.gate(12, { ist: 2 });
    },
    want: { vector: 12, error: 0, frame: K(CODE_ADDR, FAULT_FLAGS), ...ON_IST2 },
  },
  {
    name: "INT 0x40 at CPL 0 with RSP not canonical: #SS(0), no stack switch",
    code: "cd40",
    prepare: (m) => {
      m.cpu.setReg64(4, NONCANONICAL | 0x48n);
      m.gate(12, { ist: 2 });
    },
    want: {
      vector: 12,
      error: 0,
      frame: [CODE_ADDR, 0x08, FAULT_FLAGS, NONCANONICAL | 0x48n, 0x10],
      ...ON_IST2,
    },
  },
  {
    name: "INT 0x80 at CPL 3 with RSP0 on a page not present: #PF(W) at the first push, CR2 set",
    code: "cd80",
    cpl: 3,
    prepare: (m) => {
      m.tss(0, UNMAPPED);
      m.gate(14, { ist: 2 });
    },
    want: { vector: 14, error: 2, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_IST2, cr2: ALIGN(UNMAPPED) - 8 },
  },
  {
    name: "INT 0x80 at CPL 3 with IST1 past the TSS limit: #TS(TR selector), EXT = 0",
    code: "cd80",
    cpl: 3,
    prepare: (m) => {
      m.gate(0x80, { type: 0xf, dpl: 3, ist: 1 });
      m.cpu.segLimit[SEG_TR] = 0x23; // RSP0..RSP2 fit, IST1 (bytes 36..43) does not
    },
    want: { vector: 10, error: TR_SEL, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "#UD at CPL 3 through IST1 past the TSS limit: #TS(TR selector + EXT)",
    code: UD2,
    cpl: 3,
    prepare: (m) => {
      m.gate(6, { ist: 1 });
      m.cpu.segLimit[SEG_TR] = 0x23;
    },
    want: { vector: 10, error: TR_SEL + 1, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },

  // ---- double faults (Vol. 3 §6.15, Tables 6-4 and 6-5)
  {
    name: "benign then page fault (#UD, its IST stack not present): #PF handled serially",
    code: UD2,
    prepare: (m) => m.gate(6, { ist: 3 }),
    want: { ...kFault(14, 2), cr2: ALIGN(UNMAPPED) - 8 },
  },
  {
    name: "contributory then contributory (#DE, its gate not present): #DF(0)",
    code: DIV_BY_ZERO,
    prepare: (m) => m.gate(0, { present: false }),
    want: kDoubleFault,
  },
  {
    name: "contributory then page fault (#DE, its IST stack not present): #PF handled serially",
    code: DIV_BY_ZERO,
    prepare: (m) => m.gate(0, { ist: 3 }),
    want: { ...kFault(14, 2), cr2: ALIGN(UNMAPPED) - 8 },
  },
  {
    name: "contributory then contributory (#GP, its gate a call gate): #DF(0)",
    code: LOAD_RCX,
    prepare: (m) => {
      m.cpu.setReg64(1, NONCANONICAL);
      m.gate(13, { type: 0xc });
    },
    want: kDoubleFault,
  },
  {
    name: "page fault then contributory (#PF, its gate not present): #DF(0)",
    code: LOAD_RCX,
    prepare: (m) => {
      m.cpu.setReg64(1, BigInt(UNMAPPED));
      m.gate(14, { present: false });
    },
    want: kDoubleFault,
  },
  {
    name: "page fault then page fault (#PF, its IST stack not present): #DF(0)",
    code: LOAD_RCX,
    prepare: (m) => {
      m.cpu.setReg64(1, BigInt(UNMAPPED));
      m.gate(14, { ist: 3 });
    },
    want: { ...kDoubleFault, cr2: ALIGN(UNMAPPED) - 8 },
  },
  {
    name: "a fault while delivering #DF (its gate not present): triple fault",
    code: DIV_BY_ZERO,
    prepare: (m) => {
      m.gate(0, { present: false });
      m.gate(8, { present: false });
    },
    want: { triple: true },
  },
  {
    name: "a page fault while delivering #DF (its IST stack not present): triple fault",
    code: LOAD_RCX,
    prepare: (m) => {
      m.cpu.setReg64(1, BigInt(UNMAPPED));
      m.gate(14, { ist: 3 });
      m.gate(8, { ist: 3 });
    },
    want: { triple: true },
  },
  {
    name: "INT 8 (software) through a gate not present: #NP(0x42), not a triple fault",
    code: "cd08",
    prepare: (m) => m.gate(8, { present: false }),
    want: kFault(11, 0x42),
  },
  {
    name: "an injected NMI through a gate not present: #NP(2*8+2+1) handled serially (NMI is benign)",
    code: "90",
    prepare: (m) => m.gate(2, { present: false }),
    inject: [2, 2, undefined, 0],
    want: kFault(11, 2 * 8 + 3),
  },
  {
    name: "an injected #GP(0) through a gate not present: #NP, then #DF (contributory twice)",
    code: "90",
    prepare: (m) => m.gate(13, { present: false }),
    inject: [13, 3, 0, 0],
    want: kDoubleFault,
  },
  {
    name: "an injected INT 0x0d (software interrupt) at CPL 3 through a DPL-0 gate: #GP(0x6a) serially",
    code: "cd0d",
    cpl: 3,
    inject: [0x0d, 4, undefined, 2],
    want: { vector: 13, error: 0x6a, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },

  // ---- IRETQ (Vol. 2 IRET, IA-32e mode; the frame is RIP, CS, RFLAGS, RSP, SS at RSP)
  {
    name: "IRETQ from CPL 0 to CPL 3: CS, SS, RSP and RIP from the frame",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x1b, 0x202, USER_RSP, 0x23]),
    want: { rip: CODE_ADDR + 0x100, rsp: USER_RSP, cs: 0x1b, ss: 0x23, cpl: 3, flagsSet: IF },
  },
  {
    name: "IRETQ to CPL 3 with a null SS: #GP(0)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x1b, 0x202, USER_RSP, 0x03]),
    want: { vector: 13, error: 0, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ to CPL 3 with SS RPL 0: #GP(SS selector)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x1b, 0x202, USER_RSP, 0x20]),
    want: { vector: 13, error: 0x20, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ to CPL 3 with SS a DPL-0 data segment: #GP(SS selector)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x1b, 0x202, USER_RSP, 0x13]),
    want: { vector: 13, error: 0x10, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ to the same level (CPL 0) with a null SS: allowed, SS null",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x08, 0x202, KERNEL_RSP, 0]),
    want: { rip: CODE_ADDR + 0x100, rsp: KERNEL_RSP, cs: 0x08, ss: 0, cpl: 0 },
  },
  {
    name: "IRETQ with a null CS: #GP(0)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0, 0x202, KERNEL_RSP, 0x10]),
    want: { vector: 13, error: 0, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ with CS a data segment: #GP(CS selector)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x10, 0x202, KERNEL_RSP, 0x10]),
    want: { vector: 13, error: 0x10, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ with CS not present: #NP(CS selector)",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x30, 0x202, KERNEL_RSP, 0x10]),
    want: { vector: 11, error: 0x30, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ at CPL 3 to CS RPL 0 (RPL < CPL): #GP(CS selector) on RSP0",
    code: IRETQ,
    cpl: 3,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x08, 0x202, KERNEL_RSP, 0x10], USER_RSP),
    want: { vector: 13, error: 0x08, frame: U(CODE_ADDR, FAULT_FLAGS), ...ON_RSP0 },
  },
  {
    name: "IRETQ to a non-canonical RIP: #GP(0)",
    code: IRETQ,
    prepare: (m) => frame(m, [NONCANONICAL, 0x08, 0x202, KERNEL_RSP, 0x10]),
    want: { vector: 13, error: 0, frame: [CODE_ADDR, 0x08, FAULT_FLAGS, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ with RFLAGS.NT = 1: #GP(0) (no task return in IA-32e mode)",
    code: IRETQ,
    rflags: 0x4202,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x08, 0x202, KERNEL_RSP, 0x10]),
    want: { vector: 13, error: 0, frame: [CODE_ADDR, 0x08, 0x4202 | RF, FRAME_AT, 0x10], ...frameStack },
  },
  {
    name: "IRETQ restores RF = 1 and TF = 1 from the frame",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x08, 0x202 | RF | TF, KERNEL_RSP, 0x10]),
    want: { rip: CODE_ADDR + 0x100, rsp: KERNEL_RSP, flagsSet: RF | TF },
  },
  {
    name: "RF restored by IRETQ is cleared once the next instruction has run (Vol. 3 §18.3.1.1)",
    code: IRETQ,
    steps: 2,
    prepare: (m) => {
      frame(m, [CODE_ADDR + 0x100, 0x08, 0x202 | RF, KERNEL_RSP, 0x10]);
      m.cpu.mem[CODE_ADDR + 0x100] = 0x90;
    },
    want: { rip: CODE_ADDR + 0x101, rsp: KERNEL_RSP, flagsClear: RF },
  },
  {
    name: "INT n right after an IRETQ that set RF pushes RF = 0 (cleared as the INT starts)",
    code: IRETQ,
    steps: 2,
    prepare: (m) => {
      frame(m, [CODE_ADDR + 0x100, 0x08, 0x202 | RF, KERNEL_RSP, 0x10]);
      m.cpu.mem.set([0xcd, 0x40], CODE_ADDR + 0x100);
    },
    want: { vector: 0x40, frame: K(CODE_ADDR + 0x102, START_FLAGS), ...SAME_K },
  },
  {
    name: "IRETQ at CPL 3 changes neither IOPL nor IF (CPL > IOPL)",
    code: IRETQ,
    cpl: 3,
    rflags: 0x2,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x1b, 0x3202, USER_RSP, 0x23], USER_RSP),
    want: { rip: CODE_ADDR + 0x100, cpl: 3, flagsClear: 0x3000 | IF },
  },
  {
    name: "IRETQ at CPL 0 restores IOPL, VIF and VIP",
    code: IRETQ,
    prepare: (m) => frame(m, [CODE_ADDR + 0x100, 0x08, 0x183202, KERNEL_RSP, 0x10]),
    want: { rip: CODE_ADDR + 0x100, flagsSet: 0x183000 },
  },

  // ---- SYSRET (Vol. 2 SYSRET: RCX not canonical is #GP(0) before anything changes, at CPL 0)
  {
    name: "SYSRET to a non-canonical RCX: #GP(0) at CPL 0 on the kernel stack",
    code: "480f07",
    prepare: (m) => {
      m.cpu.efer |= EFER_SCE;
      m.cpu.setReg64(1, NONCANONICAL);
      m.cpu.setReg64(11, 0x202n);
    },
    want: kFault(13, 0),
  },
];

function runRow(row: Row): void {
  const m = machine(row.code, row.cpl ?? 0, row.rflags ?? START_FLAGS);
  row.prepare?.(m);
  const cpu = m.cpu;
  let stop: number;
  if (row.inject !== undefined) {
    const [vector, type, error, len] = row.inject;
    stop = cpu.inject(vector, type, error !== undefined, error ?? 0, len);
  } else {
    stop = cpu.run(row.steps ?? 1);
  }
  const w = row.want;
  if (w.triple) {
    assert.equal(stop, EXIT_REASON_TRIPLE_FAULT, "triple fault");
    return;
  }
  assert.equal(stop, STOP_BUDGET, `the run ended with ${stop}: ${cpu.internalError}`);
  const rsp = cpu.getReg64(4);
  if (w.vector !== undefined) {
    const got = (cpu.rip - handler(0)) / 8;
    assert.equal(got, w.vector, `delivered vector 0x${got.toString(16)}, RIP 0x${cpu.rip.toString(16)}`);
    const n = w.error !== undefined ? 6 : 5;
    assert.equal(rsp, BigInt(w.stack! - 8 * n), "RSP after delivery (which stack, 16-byte aligned)");
    const pushed = Array.from({ length: n }, (_, k) => m.dv.getBigUint64(Number(rsp) + 8 * k, true));
    const want = w.frame!.map((v) => BigInt.asUintN(64, BigInt(v)));
    if (w.error !== undefined) want.unshift(BigInt(w.error));
    assert.deepEqual(pushed.map(hex), want.map(hex), "frame: [error code,] RIP, CS, RFLAGS, RSP, SS");
  }
  if (w.rip !== undefined) assert.equal(cpu.rip, w.rip, "RIP");
  if (w.rsp !== undefined) assert.equal(rsp, BigInt(w.rsp), "RSP");
  if (w.cs !== undefined) assert.equal(cpu.segSel[SEG_CS], w.cs, "CS");
  if (w.ss !== undefined) assert.equal(cpu.segSel[SEG_SS], w.ss, "SS");
  if (w.cpl !== undefined) assert.equal(cpu.cpl, w.cpl, "CPL");
  if (w.cr2 !== undefined) assert.equal(cpu.cr2, w.cr2, "CR2");
  const flags = cpu.getRflags();
  if (w.flagsSet !== undefined) {
    assert.equal(flags & w.flagsSet, w.flagsSet, `RFLAGS 0x${flags.toString(16)}`);
  }
  if (w.flagsClear !== undefined) assert.equal(flags & w.flagsClear, 0, `RFLAGS 0x${flags.toString(16)}`);
}

function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

for (const row of ROWS) Deno.test(`delivery: ${row.name}`, () => runRow(row));

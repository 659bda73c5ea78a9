/**
 * Generates conformance test cases from instruction forms: random operands biased to edge values,
 * memory operands in the scratch area, implicit operands set up per instruction family, bytes from GNU
 * `as`. Deterministic for a given seed.
 * @module
 */

import {
  CASE_FLAGS,
  CODE_ADDR,
  DF,
  REG_NAMES,
  type RegName,
  RFLAGS_FIXED,
  SCRATCH_ADDR,
  SCRATCH_SIZE,
  STATUS_FLAGS,
  type TestCase,
  type Undefined,
} from "./case.ts";
import { gprName, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../cpu/registers.ts";
import { buildForms, type InstructionForm } from "./forms.ts";
import { Prng } from "./prng.ts";
import { undefinedFlags } from "./undefined_flags.ts";
import { assembleLines } from "./assembler.ts";
import { x87Setup } from "./x87_setup.ts";
import { X87_C1 } from "./case.ts";

const R8X = Array.from({ length: 16 }, (_, r) => gprName(1, r));
const R16 = Array.from({ length: 16 }, (_, r) => gprName(2, r));
const R32 = Array.from({ length: 16 }, (_, r) => gprName(4, r));
/** Register names of each operand size in bits, by register number (8-bit: the REX forms). */
export const REGISTER_NAMES: Readonly<Record<number, readonly string[]>> = {
  8: R8X,
  16: R16,
  32: R32,
  64: REG_NAMES,
};

interface RegOp {
  kind: "reg";
  bits: number;
  reg: number;
  high: boolean;
}
interface MemOp {
  kind: "mem";
  bits: number;
  /** Offset of the effective address in the scratch area. */
  off: number;
  base?: number;
  index?: number;
  scale: number;
  disp: bigint;
  addr32: boolean;
  /** Index register value chosen with the displacement (index-only addressing). */
  indexValue?: bigint;
  access: boolean;
  /** RIP-relative: the displacement is patched after assembly, once the length is known. */
  rip?: boolean;
}
interface ImmOp {
  kind: "imm";
  bits: number;
  value: bigint;
  unsigned: boolean;
}
interface RelOp {
  kind: "rel";
  /** Target relative to the instruction's start. */
  delta: number;
}
interface XmmOp {
  kind: "xmm";
  reg: number;
}
interface StOp {
  kind: "st" | "mm";
  reg: number;
}
interface MoffOp {
  kind: "moff";
  bits: number;
  off: number;
}
type Operand = RegOp | MemOp | ImmOp | RelOp | MoffOp | XmmOp | StOp;

/** Options for `generateCases`. */
export interface GenerateOptions {
  /** PRNG seed; the same seed and options give the same cases. */
  seed: number;
  /** Number of cases. */
  cases: number;
  /** Keep only forms whose mnemonic (`add`, `jcc`, ...) or first template word (`addq`) is listed. */
  only?: string[];
  /** Forms to draw from (default: `buildForms()`). */
  forms?: InstructionForm[];
}

/** Filters forms by mnemonic or by the template's instruction word; throws a `RangeError` if none match. */
export function selectForms(forms: InstructionForm[], only?: string[]): InstructionForm[] {
  if (!only || only.length === 0) return forms;
  const want = new Set(only.map((s) => s.toLowerCase()));
  const words = (f: InstructionForm) => f.template.replace(/\{(disp8|disp32|load)\} /, "").split(/[ ,]+/);
  const out = forms.filter((f) => want.has(f.mnemonic) || words(f).some((w) => want.has(w)));
  if (out.length === 0) {
    throw new RangeError(
      `No instruction form matches --only ${only.join(",")}; expected mnemonics such as ${
        [...new Set(forms.map((f) => f.mnemonic))].slice(0, 12).join(", ")
      }, ...`,
    );
  }
  return out;
}

/**
 * Generates `cases` test cases: the forms are shuffled by the seed and used round-robin, so every
 * form is covered once `cases` reaches the number of forms.
 */
export async function generateCases(opts: GenerateOptions): Promise<TestCase[]> {
  const forms = selectForms(opts.forms ?? buildForms(), opts.only);
  const rng = new Prng(opts.seed);
  const order = rng.shuffle(forms.slice());
  const built: Built[] = [];
  for (let i = 0; i < opts.cases; i++) built.push(buildCase(order[i % order.length], rng));
  const bytes = await assembleLines(built.map((b) => b.asm));
  for (let i = 0; i < built.length; i++) {
    if (built[i].ripOff === undefined) continue;
    const p = patchRipRelative(bytes[i], built[i].asm, built[i].ripOff!);
    bytes[i] = p.bytes;
    built[i].asm = p.asm;
  }
  return built.map((b, i) => {
    const undef: Undefined = { flags: b.undefFlags };
    if (b.approx !== undefined) undef.approx = b.approx;
    if (b.x87Approx) undef.x87 = { ulp: 1, sw: X87_C1 };
    if (Object.keys(b.undefRegs).length > 0) undef.regs = b.undefRegs;
    if (b.undefMem.length > 0) undef.mem = b.undefMem;
    const regs = {} as Record<RegName, string>;
    REG_NAMES.forEach((r, j) => regs[r] = "0x" + b.regs[j].toString(16));
    const c: TestCase = {
      id: `${opts.seed}-${i}`,
      form: b.form.id,
      asm: b.asm,
      bytes: bytes[i],
      regs,
      rflags: "0x" + b.flags.toString(16),
      mem: Array.from(b.mem, (x) => x.toString(16).padStart(2, "0")).join(""),
      undef,
    };
    if (b.xmm !== undefined) {
      c.xmm = Array.from(b.xmm, (x) => x.toString(16).padStart(2, "0")).join("");
      c.mxcsr = "0x" + b.mxcsr!.toString(16);
    }
    if (b.x87 !== undefined) c.x87 = Array.from(b.x87, (x) => x.toString(16).padStart(2, "0")).join("");
    return c;
  });
}

interface Built {
  form: InstructionForm;
  asm: string;
  regs: bigint[];
  flags: number;
  mem: Uint8Array;
  undefFlags: number;
  undefRegs: Partial<Record<RegName, string>>;
  undefMem: [number, number][];
  /** Scratch offset a RIP-relative operand must reach, if the case has one. */
  ripOff?: number;
  /** SSE forms: XMM0-15 (256 bytes). */
  xmm?: Uint8Array;
  /** SSE forms: MXCSR. */
  mxcsr?: number;
  /** SSE forms with bounded approximations (RCP, RSQRT): the destination and its approximate lanes. */
  approx?: { xmm: number; lanes: number };
  /** x87 forms: the x87 state (case.ts `x87`). */
  x87?: Uint8Array;
  /** x87 forms whose results the SDM bounds within 1 ulp (the transcendentals). */
  x87Approx?: boolean;
}

/** Edge values of binary32 (bit patterns): zeros, ones, denormals, extremes, infinities, NaNs, integer limits. */
const F32_EDGES = [
  0,
  0x80000000,
  0x3f800000,
  0xbf800000,
  1,
  0x007fffff,
  0x80000001,
  0x00800000,
  0x80800000,
  0x7f7fffff,
  0xff7fffff,
  0x7f800000,
  0xff800000,
  0x7fc00000,
  0xffc00000,
  0x7fa00000,
  0x7f800001,
  0xffbfffff,
  0x4b000000,
  0x4f000000,
  0xcf000000,
  0x5f000000,
  0xdf000000,
  0x3f000000,
  0x3fc00000,
  0x40200000,
  0xbfc00000,
  0x00000400,
  0x0c000000,
  0x72000000,
];
/** Edge values of binary64 (high, low halves). */
const F64_EDGES: [number, number][] = [
  [0, 0],
  [0x80000000, 0],
  [0x3ff00000, 0],
  [0xbff00000, 0],
  [0, 1],
  [0x000fffff, 0xffffffff],
  [0x80000000, 1],
  [0x00100000, 0],
  [0x80100000, 0],
  [0x7fefffff, 0xffffffff],
  [0xffefffff, 0xffffffff],
  [0x7ff00000, 0],
  [0xfff00000, 0],
  [0x7ff80000, 0],
  [0xfff80000, 0],
  [0x7ff40000, 0],
  [0x7ff00000, 1],
  [0x41e00000, 0],
  [0xc1e00000, 0],
  [0x43e00000, 0],
  [0xc3e00000, 0],
  [0x3fe00000, 0],
  [0x3ff80000, 0],
  [0x40040000, 0],
  [0x36a00000, 0],
  [0x47e00000, 0],
  [0x38100000, 0],
  [0x41dfffff, 0xffc00000],
  [0x3ff00000, 1],
];

/** An edge-biased 32-bit lane of binary32. */
function f32Lane(rng: Prng): number {
  switch (rng.int(5)) {
    case 0:
    case 1:
      return rng.pick(F32_EDGES);
    case 2: // a normal number of moderate exponent, random significand and sign
      return ((rng.chance(0.3) ? 0x80000000 : 0) | ((rng.range(100, 154) << 23) | (rng.u32() & 0x7fffff))) >>>
        0;
    case 3: // near the normal range's ends
      return ((rng.chance(0.5) ? 0x80000000 : 0) |
        ((rng.pick([0, 1, 2, 24, 25, 230, 253, 254]) << 23) | (rng.u32() & 0x7fffff))) >>> 0;
    default:
      return rng.u32();
  }
}

/** An edge-biased binary64 lane as [high, low]. */
function f64Lane(rng: Prng): [number, number] {
  switch (rng.int(5)) {
    case 0:
    case 1:
      return rng.pick(F64_EDGES);
    case 2:
      return [
        ((rng.chance(0.3) ? 0x80000000 : 0) | ((rng.range(990, 1060) << 20) | (rng.u32() & 0xfffff))) >>> 0,
        rng.u32(),
      ];
    case 3:
      return [
        ((rng.chance(0.5) ? 0x80000000 : 0) |
          ((rng.pick([0, 1, 2, 53, 54, 0x380, 0x47f, 0x7fd, 0x7fe]) << 20) |
            (rng.u32() & 0xfffff))) >>> 0,
        rng.chance(0.5) ? 0 : rng.u32(),
      ];
    default:
      return [rng.u32(), rng.u32()];
  }
}

/** Fills `n` bytes at `at` of `out` with lanes of the given kind (mostly `lanes`, sometimes another). */
function fillLanes(rng: Prng, out: Uint8Array, at: number, n: number, lanes: string): void {
  const dv = new DataView(out.buffer, out.byteOffset);
  const kind = rng.chance(0.75) ? lanes : rng.pick(["ps", "pd", "int"]);
  for (let k = 0; k + 4 <= n; k += kind === "pd" ? 8 : 4) {
    if (kind === "pd" && k + 8 <= n) {
      const [hi, lo] = f64Lane(rng);
      dv.setUint32(at + k, lo, true);
      dv.setUint32(at + k + 4, hi, true);
    } else if (kind === "ps" || kind === "pd") dv.setUint32(at + k, f32Lane(rng), true);
    else dv.setUint32(at + k, Number(edgeValue(rng, 32)), true);
  }
}

/** An MXCSR for a case: mostly the default, else random rounding, DAZ, FTZ, masks and sticky flags. */
function caseMxcsr(rng: Prng): number {
  if (rng.chance(0.3)) return 0x1f80;
  let m = rng.int(4) << 13; // RC
  if (rng.chance(0.25)) m |= 0x40; // DAZ
  if (rng.chance(0.25)) m |= 0x8000; // FTZ
  m |= rng.chance(0.75) ? 0x1f80 : (rng.u32() & 0x1f80); // masks
  if (rng.chance(0.5)) m |= rng.u32() & 0x3f; // sticky flags
  return m;
}

/** An edge-biased `bits`-wide value (unsigned bigint). */
export function edgeValue(rng: Prng, bits: number): bigint {
  const b = BigInt(bits);
  const mask = (1n << b) - 1n;
  const sign = 1n << (b - 1n);
  switch (rng.int(14)) {
    case 0:
      return 0n;
    case 1:
      return 1n;
    case 2:
      return mask;
    case 3:
      return sign - 1n;
    case 4:
      return sign;
    case 5:
      return rng.chance(0.5) ? sign + 1n : mask - 1n;
    case 6:
      return BigInt(rng.int(256)) & mask;
    case 7:
      return (mask - BigInt(rng.int(256))) & mask;
    case 8:
      return 1n << BigInt(rng.int(bits));
    case 9:
      return mask ^ (1n << BigInt(rng.int(bits)));
    default:
      return rng.bits(bits);
  }
}

function signed(v: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, v);
}

/** A signed immediate of `bits` that does not fit in 8 bits (so the long encoding is used). */
function longImm(rng: Prng, bits: number): bigint {
  for (;;) {
    const v = signed(edgeValue(rng, bits), bits);
    if (v < -128n || v > 127n) return v;
  }
}

const SHIFT_COUNTS = [0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255];

/** A code address near the instruction (never inside it), for branch targets and return addresses. */
function codeDelta(rng: Prng, far: boolean): number {
  const back = rng.chance(0.5);
  if (!far) return back ? -rng.range(1, 120) : rng.range(16, 120);
  return back ? -rng.range(1, 0xff0) : rng.range(16, 0xff0);
}

function buildCase(form: InstructionForm, rng: Prng): Built {
  const regs: bigint[] = [];
  for (let i = 0; i < 16; i++) regs.push(edgeValue(rng, 64));
  regs[RSP] = BigInt(SCRATCH_ADDR + 0x80 + 8 * rng.range(-6, 6) + (rng.chance(0.1) ? rng.pick([2, 4]) : 0));
  let flags = (rng.u32() & STATUS_FLAGS) | (rng.chance(form.family === "string" ? 0.5 : 0.2) ? DF : 0) |
    RFLAGS_FIXED;
  const mem = new Uint8Array(SCRATCH_SIZE);
  const fill = rng.int(4);
  for (let i = 0; i < SCRATCH_SIZE; i++) {
    mem[i] = fill === 0
      ? rng.int(256)
      : fill === 1
      ? rng.pick([0, 0xff, 0x80, 0x7f, 1])
      : fill === 2
      ? 0
      : rng.int(256);
  }
  if (fill === 2) { for (let k = 0; k < 8; k++) mem[rng.int(SCRATCH_SIZE)] = rng.int(256); }

  // Registers used for the implicit operands of the family should not double as base/index registers.
  const noRex = form.template.includes("<r8l>");
  const regPool = noRex ? 8 : 16;
  const ops: Operand[] = [];
  const pieces: string[] = [];
  const re = /<([a-z0-9]+)>/g;
  let last = 0;
  for (let m; (m = re.exec(form.template));) {
    pieces.push(form.template.slice(last, m.index));
    last = m.index + m[0].length;
    // BT with a register bit offset and a memory operand: the offset register must not address memory.
    const avoid = form.family === "bittest" ? ops.flatMap((o) => (o.kind === "reg" ? [o.reg] : [])) : [];
    // A shift count in CL must survive the address set-up.
    if (form.template.includes("%cl")) avoid.push(RCX);
    ops.push(resolve(m[1], form, rng, regPool, avoid));
    pieces.push("");
  }
  pieces.push(form.template.slice(last));

  const b: Built = { form, asm: "", regs, flags, mem, undefFlags: 0, undefRegs: {}, undefMem: [] };
  for (const op of ops) {
    if (op.kind === "reg" || op.kind === "mem" || op.kind === "moff") setOp(b, op, edgeValue(rng, op.bits));
  }
  if (form.family === "sse") sseSetup(b, ops, rng);
  if (form.family === "x87") {
    const mems = ops.flatMap((o) => (o.kind === "mem" ? [{ off: o.off, bits: o.bits }] : []));
    const x = x87Setup(rng, form.template, b.mem, mems);
    b.x87 = x.state;
    b.x87Approx = x.approx;
    b.undefMem.push(...x.undefMem);
    if (form.template.startsWith("maskmovq")) {
      b.regs[RDI] = BigInt(SCRATCH_ADDR + 8 * rng.int(SCRATCH_SIZE / 8));
    }
  }
  const count = family(b, ops, rng);
  flags = b.flags;
  // Memory operands: make the effective address land on the chosen scratch offset.
  for (const op of ops) if (op.kind === "mem") fixAddress(b, op);
  for (const op of ops) if (op.kind === "mem" && op.rip) b.ripOff = op.off;
  b.undefFlags = undefinedFlags(form.family, form.mnemonic, form.size, count);
  b.flags = (flags & CASE_FLAGS) | RFLAGS_FIXED;

  let k = 0;
  b.asm = pieces.map((p, i) => (i % 2 === 1 ? text(ops[k++]) : p)).join("");
  return b;
}

function resolve(ph: string, form: InstructionForm, rng: Prng, regPool: number, avoid: number[]): Operand {
  const m =
    /^(r8l|r8x|r16|r32|r64|a32m|a32m8|a32m16|a32m32|a32m64|m|m8|m16|m32|m64|m80|m128|m224|m864|i8|i16|i32|i64|u8|u16|u3|rel8|rel32|moff8|moff16|moff32|moff64|x|st|mm)$/
      .exec(ph);
  if (!m) throw new RangeError(`Unknown placeholder <${ph}> in form "${form.template}"`);
  if (ph === "x") return { kind: "xmm", reg: rng.int(16) };
  if (ph === "st" || ph === "mm") return { kind: ph, reg: rng.int(8) };
  if (ph === "u3") return { kind: "imm", bits: 8, value: BigInt(rng.int(8)), unsigned: true };
  if (ph === "r8l") {
    const i = rng.int(8);
    return { kind: "reg", bits: 8, reg: i & 3, high: i >= 4 };
  }
  if (ph === "r8x") return { kind: "reg", bits: 8, reg: rng.int(16), high: false };
  if (ph.startsWith("r")) {
    if (ph.startsWith("rel")) return { kind: "rel", delta: codeDelta(rng, ph === "rel32") };
    return { kind: "reg", bits: Number(ph.slice(1)), reg: rng.int(regPool), high: false };
  }
  if (ph.startsWith("i")) {
    const bits = Number(ph.slice(1));
    const value = bits === 8 || bits === 64 ? signed(edgeValue(rng, bits), bits) : longImm(rng, bits);
    return { kind: "imm", bits, value, unsigned: false };
  }
  if (ph.startsWith("u")) {
    const bits = Number(ph.slice(1));
    return { kind: "imm", bits, value: edgeValue(rng, bits), unsigned: true };
  }
  if (ph.startsWith("moff")) {
    const bits = Number(ph.slice(4));
    return { kind: "moff", bits, off: rng.int(SCRATCH_SIZE - bits / 8 + 1) };
  }
  // Memory operands.
  const addr32 = ph.startsWith("a32");
  const sizeText = ph.replace(/^a32/, "").slice(1);
  const bits = sizeText === "" ? 64 : Number(sizeText);
  const access = sizeText !== "";
  const bytes = bits / 8;
  const off = form.family === "bittest"
    ? rng.range(0x70, 0x88)
    : bits === 128 && rng.chance(0.9)
    ? 16 * rng.int(SCRATCH_SIZE / 16) // 16-byte aligned (SCRATCH_ADDR is)
    : rng.int(SCRATCH_SIZE - bytes + 1);
  const mode = rng.int(addr32 ? 6 : 7);
  if (mode === 6) {
    return { kind: "mem", bits, off, scale: 1, disp: RIP_MARKER, addr32, access, rip: true };
  }
  let base: number | undefined;
  let index: number | undefined;
  do {
    base = mode === 4 || mode === 5 ? undefined : rng.int(regPool);
    index = mode === 2 || mode === 3 || mode === 4 ? rng.int(regPool - 1) : undefined;
    if (index !== undefined && index >= RSP) index++; // RSP cannot be an index
  } while (
    (index !== undefined && index === base) || avoid.includes(base ?? -1) || avoid.includes(index ?? -1)
  );
  // PUSH/POP/CALL through memory based on RSP: keep RSP itself inside the scratch area.
  const stackish = form.family === "push" || form.family === "pop" || form.family === "ijmp";
  if (base === RSP && stackish) index = undefined;
  const scale = index === undefined ? 1 : rng.pick([1, 2, 4, 8]);
  let disp = 0n;
  let indexValue: bigint | undefined;
  const target = BigInt(SCRATCH_ADDR + off);
  if (mode === 1 || mode === 3) {
    disp = rng.chance(0.5) ? BigInt(rng.range(-128, 127)) : signed(rng.bits(32), 32);
  }
  if (base === RSP && stackish) disp = BigInt(rng.range(-16, 16));
  if (mode === 4) {
    indexValue = BigInt(rng.int(0x1000));
    disp = target - indexValue * BigInt(scale);
  }
  if (mode === 5) disp = target;
  return { kind: "mem", bits, off, base, index, scale, disp, addr32, indexValue, access };
}

/**
 * Placeholder displacement of a RIP-relative operand: assembled as is, then replaced by the
 * displacement that reaches the target from the end of the instruction.
 */
const RIP_MARKER = 0x5a5a5a5an;
const RIP_MARKER_HEX = "5a5a5a5a";

/** Replaces the RIP-relative marker in `bytes` (hex) so the operand addresses scratch offset `off`. */
function patchRipRelative(bytes: string, asm: string, off: number): { bytes: string; asm: string } {
  let at = bytes.indexOf(RIP_MARKER_HEX);
  while (at >= 0 && at % 2 !== 0) at = bytes.indexOf(RIP_MARKER_HEX, at + 1);
  if (at < 0) throw new Error(`RIP-relative marker missing in "${asm}" (${bytes})`);
  const disp = SCRATCH_ADDR + off - (CODE_ADDR + bytes.length / 2);
  const le = Array.from({ length: 4 }, (_, i) => ((disp >>> (8 * i)) & 0xff).toString(16).padStart(2, "0"))
    .join("");
  const text = (disp < 0 ? "-0x" : "0x") + Math.abs(disp).toString(16);
  return {
    bytes: bytes.slice(0, at) + le + bytes.slice(at + 8),
    asm: asm.replace("0x5a5a5a5a(%rip)", `${text}(%rip)`),
  };
}

function regName(op: RegOp | { bits: number; reg: number; high: boolean }): string {
  if (op.bits === 8) return gprName(1, op.high ? 16 + op.reg : op.reg);
  if (op.bits === 16) return R16[op.reg];
  if (op.bits === 32) return R32[op.reg];
  return REG_NAMES[op.reg];
}

function text(op: Operand): string {
  switch (op.kind) {
    case "reg":
      return "%" + regName(op);
    case "xmm":
      return "%xmm" + op.reg;
    case "st":
      return `%st(${op.reg})`;
    case "mm":
      return `%mm${op.reg}`;
    case "imm":
      return "$" + (op.unsigned ? op.value.toString() : signed(op.value, op.bits).toString());
    case "rel":
      return op.delta < 0 ? `.-${-op.delta}` : `.+${op.delta}`;
    case "moff":
      return "0x" + (SCRATCH_ADDR + op.off).toString(16);
    case "mem": {
      if (op.rip) return "0x" + op.disp.toString(16) + "(%rip)";
      const rn = (r: number) => "%" + (op.addr32 ? R32[r] : REG_NAMES[r]);
      const d = op.disp === 0n && op.base !== undefined
        ? ""
        : (op.disp < 0n ? "-0x" + (-op.disp).toString(16) : "0x" + op.disp.toString(16));
      if (op.base === undefined && op.index === undefined) return d;
      const inner = op.index === undefined
        ? rn(op.base!)
        : `${op.base === undefined ? "" : rn(op.base)},${rn(op.index)},${op.scale}`;
      return `${d}(${inner})`;
    }
  }
}

function getOp(b: Built, op: Operand): bigint {
  if (op.kind === "reg") {
    const v = op.high ? b.regs[op.reg] >> 8n : b.regs[op.reg];
    return BigInt.asUintN(op.bits, v);
  }
  if (op.kind === "mem" || op.kind === "moff") {
    let v = 0n;
    for (let i = op.bits / 8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(b.mem[op.off + i]);
    return v;
  }
  if (op.kind === "imm") return BigInt.asUintN(op.bits, op.value);
  throw new TypeError("branch targets have no value");
}

function setOp(b: Built, op: Operand, v: bigint): void {
  if (op.kind === "reg") {
    const shift = op.high ? 8n : 0n;
    const mask = ((1n << BigInt(op.bits)) - 1n) << shift;
    b.regs[op.reg] = (b.regs[op.reg] & ~mask) | ((BigInt.asUintN(op.bits, v) << shift) & mask);
  } else if (op.kind === "mem" || op.kind === "moff") {
    for (let i = 0; i < op.bits / 8; i++) b.mem[op.off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  } else if (op.kind === "imm") {
    op.value = op.unsigned ? BigInt.asUintN(op.bits, v) : signed(v, op.bits);
  }
}

function setReg(b: Built, reg: number, bits: number, v: bigint): void {
  setOp(b, { kind: "reg", bits, reg, high: false }, v);
}

function writeMem64(b: Built, off: number, v: bigint): void {
  for (let i = 0; i < 8 && off + i < SCRATCH_SIZE; i++) {
    if (off + i >= 0) b.mem[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  }
}

function fixAddress(b: Built, op: MemOp): void {
  if (op.rip) return;
  const width = op.addr32 ? 32 : 64;
  const target = BigInt(SCRATCH_ADDR + op.off);
  if (op.indexValue !== undefined && op.index !== undefined) {
    setReg(b, op.index, width, op.indexValue);
    return;
  }
  if (op.base === undefined) return; // absolute
  const idx = op.index === undefined ? 0n : BigInt.asUintN(width, b.regs[op.index]) * BigInt(op.scale);
  setReg(b, op.base, width, BigInt.asUintN(width, target - op.disp - idx));
}

/** SSE forms: XMM0-15, MXCSR and memory operands get lane values; implicit operands are set up. */
function sseSetup(b: Built, ops: Operand[], rng: Prng): void {
  const lanes = b.form.lanes ?? "int";
  b.xmm = new Uint8Array(256);
  for (let r = 0; r < 16; r++) fillLanes(rng, b.xmm, 16 * r, 16, lanes);
  b.mxcsr = caseMxcsr(rng);
  for (const op of ops) {
    if (op.kind === "mem" && op.bits >= 32 && rng.chance(0.8)) {
      fillLanes(rng, b.mem, op.off, op.bits / 8, lanes);
    }
  }
  // Two operands of one register sometimes, and equal values sometimes (compares, MIN/MAX ties).
  const xs = ops.filter((o): o is XmmOp => o.kind === "xmm");
  if (xs.length === 2 && rng.chance(0.1)) {
    b.xmm.copyWithin(16 * xs[1].reg, 16 * xs[0].reg, 16 * xs[0].reg + 16);
  }
  const t = b.form.template;
  if (t.startsWith("ldmxcsr") && ops[0].kind === "mem") {
    let v = caseMxcsr(rng);
    // A reserved bit: #GP. Not bit 17, which AMD processors define (MM, misaligned-exception mask)
    // and this AMD host accepts; on Intel it is reserved, as hvsim has it.
    if (rng.chance(0.1)) v |= 1 << rng.pick([16, 18, 20, 24, 30, 31]);
    setOp(b, ops[0], BigInt(v >>> 0));
  }
  const dst = ops[ops.length - 1];
  if (/^(rcp|rsqrt)/.test(t) && dst.kind === "xmm") b.approx = { xmm: dst.reg, lanes: /ss /.test(t) ? 1 : 4 };
  if (t.startsWith("maskmovdqu")) b.regs[RDI] = BigInt(SCRATCH_ADDR + 16 * rng.int(SCRATCH_SIZE / 16));
  if (/^pcmp[ei]str/.test(t)) stringSetup(b, ops, rng);
}

/**
 * PCMPxSTRx: operands mostly short strings over a small alphabet (so elements match, ranges hold,
 * substrings occur), often with a zero element (the implicit forms' terminator), and lengths in
 * RAX/RDX mostly small, negative or just past the register (the explicit forms).
 */
function stringSetup(b: Built, ops: Operand[], rng: Prng): void {
  const fill = (out: Uint8Array, at: number) => {
    if (rng.chance(0.2)) return; // keep the random lanes
    const alphabet = rng.pick([[0x41, 0x42, 0x43], [0x61, 0x7a, 0x30, 0x39, 0x20], [0x80, 0x7f, 0x01, 0xff]]);
    for (let k = 0; k < 16; k++) out[at + k] = rng.pick(alphabet);
    if (rng.chance(0.6)) {
      const z = rng.int(16);
      out[at + z] = 0;
      if (rng.chance(0.5) && z < 15) out[at + z + 1] = 0; // a zero word too
    }
  };
  for (const op of ops) {
    if (op.kind === "xmm") fill(b.xmm!, 16 * op.reg);
    else if (op.kind === "mem" && op.bits === 128) fill(b.mem, op.off);
  }
  for (const r of [RAX, RDX]) {
    if (rng.chance(0.85)) b.regs[r] = BigInt.asUintN(64, BigInt(rng.range(-20, 20)));
  }
}

function stackOffset(b: Built): number {
  return Number(b.regs[RSP]) - SCRATCH_ADDR;
}

/** Family-specific setup; returns the shift/rotate count (0 for other families). */
function family(b: Built, ops: Operand[], rng: Prng): number {
  const f = b.form;
  const size = f.size;
  switch (f.family) {
    case "shift":
    case "rotate":
    case "rotc":
    case "shiftd": {
      let count = 1;
      for (;;) {
        count = rng.chance(0.8) ? rng.pick(SHIFT_COUNTS) : rng.int(256);
        if (f.family !== "shiftd" || size !== 16 || (count & 31) <= 16) break;
      }
      const imm = ops.find((o) => o.kind === "imm");
      if (f.template.includes("%cl")) setReg(b, RCX, 8, BigInt(count));
      else if (imm) setOp(b, imm, BigInt(count));
      else count = 1;
      return count;
    }
    case "div": {
      const r = rng.int(10);
      const bits = size === 8 ? 16 : size;
      if (r >= 2) {
        const d = edgeValue(rng, size) || 1n;
        setOp(b, ops[0], d);
        const lo = edgeValue(rng, size);
        let hi: bigint;
        if (f.mnemonic === "idiv") hi = signed(lo, size) < 0n ? (1n << BigInt(size)) - 1n : 0n;
        else hi = BigInt.asUintN(size, getOp(b, ops[0])) > 0n ? rng.bits(size) % getOp(b, ops[0]) : 0n;
        const dividend = (hi << BigInt(size)) | lo;
        if (size === 8) setReg(b, RAX, 16, dividend);
        else {
          setReg(b, RAX, size, dividend);
          setReg(b, RDX, size, dividend >> BigInt(size));
        }
      } else if (r === 1) {
        setOp(b, ops[0], 0n);
      } else if (size === 8) setReg(b, RAX, bits, rng.bits(bits));
      // The divisor may share a register with the dividend: what it holds now is what divides.
      return 0;
    }
    case "bitscan": {
      if (rng.chance(0.2)) setOp(b, ops[0], 0n);
      if (ops[1].kind === "reg" && getOp(b, ops[0]) === 0n) {
        b.undefRegs[REG_NAMES[ops[1].reg]] = "0xffffffffffffffff";
      }
      return 0;
    }
    case "bittest": {
      if (ops[0].kind === "reg" && ops[1].kind === "mem") {
        setOp(b, ops[0], BigInt(rng.range(-0x60 * 8, 0x60 * 8 - 1)));
      }
      return 0;
    }
    case "cmpxchg": {
      if (rng.chance(0.5)) setReg(b, RAX, size, getOp(b, ops[1]));
      return 0;
    }
    case "cmpxchg8b": {
      // Equal halves half of the time: EDX:EAX (RDX:RAX) = the memory operand.
      if (rng.chance(0.5)) {
        const wide = f.mnemonic === "cmpxchg16b";
        const m = ops[0];
        if (m.kind !== "mem") return 0;
        const half = wide ? 64 : 32;
        const lo = getOp(b, { ...m, bits: half });
        const hi = getOp(b, { ...m, bits: half, off: m.off + half / 8 });
        setReg(b, RAX, half, lo);
        setReg(b, RDX, half, hi);
      }
      return 0;
    }
    case "xlat":
      b.regs[RBX] = BigInt(SCRATCH_ADDR);
      return 0;
    case "string": {
      const rep = /^(addr32 )?rep/.test(f.template);
      const a32 = f.template.startsWith("addr32");
      if (rep) setReg(b, RCX, a32 ? 32 : 64, BigInt(rng.pick([0, 1, 2, 3, 5, 8])));
      for (const r of [RSI, RDI]) {
        const p = BigInt(SCRATCH_ADDR + 0x50 + rng.int(0x60));
        if (a32) setReg(b, r, 32, p);
        else b.regs[r] = p;
      }
      if (rng.chance(0.4)) {
        // make CMPS/SCAS find equal elements sometimes
        const si = Number(b.regs[RSI] & 0xffffffffn) - SCRATCH_ADDR;
        const di = Number(b.regs[RDI] & 0xffffffffn) - SCRATCH_ADDR;
        const n = rng.int(16);
        for (let i = -8; i < n; i++) {
          if (si + i >= 0 && si + i < SCRATCH_SIZE && di + i >= 0) b.mem[di + i] = b.mem[si + i];
        }
        setReg(
          b,
          RAX,
          size,
          getOp(b, { kind: "mem", bits: size, off: di, scale: 1, disp: 0n, addr32: false, access: true }),
        );
      }
      return 0;
    }
    case "push":
    case "pop":
    case "leave":
    case "ret":
    case "pushf":
    case "popf": {
      if (f.family === "leave") b.regs[RBP] = BigInt(SCRATCH_ADDR + 0x60 + 8 * rng.range(-4, 8));
      else if (ops[0]?.kind === "reg" && ops[0].reg === RSP) {
        b.regs[RSP] = BigInt(SCRATCH_ADDR + 0x80 + 8 * rng.range(-6, 6));
      }
      const sp = stackOffset(b);
      if (f.family === "ret") writeMem64(b, sp, BigInt(CODE_ADDR + codeDelta(rng, rng.chance(0.5))));
      if (f.family === "popf") {
        const v = BigInt((rng.u32() & CASE_FLAGS) | RFLAGS_FIXED);
        if (size === 16) {
          b.mem[sp] = Number(v & 0xffn);
          b.mem[sp + 1] = Number(v >> 8n);
        } else writeMem64(b, sp, v);
      }
      if (f.family === "pushf") {
        // Environment-dependent RFLAGS bits (TF IF IOPL NT, RF VM AC VIF VIP ID): the host runs at CPL 3, the
        // emulators at CPL 0, so only the status flags and DF of the pushed image are compared.
        const at = sp - size / 8;
        b.undefMem.push([at + 1, 0x73]);
        if (size === 64) { for (let i = 2; i < 8; i++) b.undefMem.push([at + i, 0xff]); }
      }
      return 0;
    }
    case "branch": {
      // LOOP/LOOPcc/JRCXZ: make the count register reach 0 and 1 often.
      if (/^(loop|jrcxz|jecxz)/.test(f.template) && rng.chance(0.6)) {
        setReg(b, RCX, 64, BigInt(rng.pick([0, 1, 2])));
      }
      return 0;
    }
    case "ijmp": {
      const target = BigInt(CODE_ADDR + codeDelta(rng, rng.chance(0.5)));
      if (ops[0].kind === "reg") b.regs[ops[0].reg] = target;
      else setOp(b, ops[0], target);
      return 0;
    }
    default:
      return 0;
  }
}

/**
 * A small encoder for the WebAssembly binary format (WebAssembly Core Specification 2.0, chapter 5
 * "Binary Format"): value types, function types, one imported memory, functions with their
 * locals and bodies, exports. Function bodies are written through {@linkcode Code}, which keeps
 * the structured-control labels so that branches name their target instead of counting depths.
 *
 * @module
 */

/** Value type i32 (spec 5.3.1). */
export const I32 = 0x7f;
/** Value type i64. */
export const I64 = 0x7e;
/** Value type f64. */
export const F64 = 0x7c;
/** Value type f32. */
export const F32 = 0x7d;
/** Value type v128 (the fixed-width SIMD proposal, part of WebAssembly 2.0). */
export const V128 = 0x7b;
/** A value type. */
export type ValType = typeof I32 | typeof I64 | typeof F64 | typeof F32 | typeof V128;

/** Opcodes used by the code generator (spec 5.4). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  returnCallIndirect: 0x13,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  f64Load: 0x2b,
  i32Load16U: 0x2f,
  i64Load8U: 0x31,
  i64Load16U: 0x33,
  i64Load32U: 0x35,
  i32Store: 0x36,
  i64Store: 0x37,
  f64Store: 0x39,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeU: 0x4f,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GtS: 0x55,
  i64GtU: 0x56,
  i64LeS: 0x57,
  i64LeU: 0x58,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  f64Eq: 0x61,
  i32Popcnt: 0x69,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Clz: 0x79,
  i64Ctz: 0x7a,
  i64Popcnt: 0x7b,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i64Rotl: 0x89,
  i64Rotr: 0x8a,
  i32WrapI64: 0xa7,
  i32TruncF64U: 0xab,
  i64TruncF64S: 0xb0,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
  f64ConvertI64S: 0xb9,
  i64Extend8S: 0xc2,
  i64Extend16S: 0xc3,
  i64Extend32S: 0xc4,
} as const;

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb(out: number[], v: number): void {
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer (a number). */
export function sleb32(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of a 64-bit value. */
export function sleb(out: number[], v: bigint): void {
  v = BigInt.asIntN(64, v);
  if (v >= -0x80000000n && v < 0x80000000n) {
    sleb32(out, Number(v));
    return;
  }
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** A structured-control label (a block, loop or if), to branch to by identity. */
export class Label {
  /** Depth of the label in its function's control stack when it was opened. */
  depth = -1;
}

/** A function body: instructions appended in order, with its locals. */
export class Code {
  /** The encoded instructions. */
  readonly bytes: number[] = [];
  /** Types of the locals after the parameters, in order. */
  readonly locals: ValType[] = [];
  private readonly stack: Label[] = [];

  /** @param params number of parameters (locals are numbered after them) */
  constructor(readonly params: number) {}

  /** A new local of type `t`; returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params + this.locals.length - 1;
  }

  /** Appends raw opcodes and immediates. */
  op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  /** `i32.const v`. */
  i32(v: number): this {
    this.bytes.push(Op.i32Const);
    sleb32(this.bytes, v);
    return this;
  }

  /** `i64.const v` (a bigint, or a safe integer). */
  i64(v: bigint | number): this {
    this.bytes.push(Op.i64Const);
    if (typeof v === "number" && v >= -0x80000000 && v < 0x80000000 && Number.isInteger(v)) {
      sleb32(this.bytes, v);
    } else sleb(this.bytes, typeof v === "bigint" ? v : BigInt(v));
    return this;
  }

  /** `local.get n`. */
  get(n: number): this {
    this.bytes.push(Op.localGet);
    uleb(this.bytes, n);
    return this;
  }

  /** `local.set n`. */
  set(n: number): this {
    this.bytes.push(Op.localSet);
    uleb(this.bytes, n);
    return this;
  }

  /** `local.tee n`. */
  tee(n: number): this {
    this.bytes.push(Op.localTee);
    uleb(this.bytes, n);
    return this;
  }

  /** A load or store `op` with its alignment exponent and constant offset. */
  mem(op: number, align: number, offset: number): this {
    this.bytes.push(op, align);
    uleb(this.bytes, offset);
    return this;
  }

  /** `call f`. */
  call(f: number): this {
    this.bytes.push(Op.call);
    uleb(this.bytes, f);
    return this;
  }

  /** `return_call_indirect` of function type `type` through table 0 (the callee's index is on the stack). */
  returnCallIndirect(type: number): this {
    this.bytes.push(Op.returnCallIndirect);
    uleb(this.bytes, type);
    this.bytes.push(0);
    return this;
  }

  /** Opens a `block` (result type `result`, or none); returns its label. */
  block(result?: ValType): Label {
    return this.open(Op.block, result);
  }

  /** Opens a `loop`; returns its label. */
  loop(): Label {
    return this.open(Op.loop);
  }

  /** Opens an `if` (the condition is on the stack) with an optional result type. */
  if(result?: ValType): Label {
    return this.open(Op.if, result);
  }

  /** `else` of the innermost `if`. */
  else(): this {
    this.bytes.push(Op.else);
    return this;
  }

  /** Closes the innermost construct. */
  end(): this {
    this.stack.pop();
    this.bytes.push(Op.end);
    return this;
  }

  /** `br` to `l`. */
  br(l: Label): this {
    this.bytes.push(Op.br);
    uleb(this.bytes, this.rel(l));
    return this;
  }

  /** `br_if` to `l`. */
  brIf(l: Label): this {
    this.bytes.push(Op.brIf);
    uleb(this.bytes, this.rel(l));
    return this;
  }

  /** `br_table` over `targets`, `dflt` otherwise. */
  brTable(targets: Label[], dflt: Label): this {
    this.bytes.push(Op.brTable);
    uleb(this.bytes, targets.length);
    for (const t of targets) uleb(this.bytes, this.rel(t));
    uleb(this.bytes, this.rel(dflt));
    return this;
  }

  private open(op: number, result?: ValType): Label {
    const l = new Label();
    l.depth = this.stack.length;
    this.stack.push(l);
    this.bytes.push(op, result ?? 0x40);
    return l;
  }

  private rel(l: Label): number {
    if (l.depth < 0 || this.stack[l.depth] !== l) throw new Error("wasm encoder: branch to a closed label");
    return this.stack.length - 1 - l.depth;
  }
}

/** A module under construction. */
export class ModuleBuilder {
  private readonly types: number[][] = [];
  private readonly funcs: { type: number; code: Code }[] = [];
  private readonly exports: { name: string; func: number }[] = [];
  private memory: { module: string; name: string; pages: number } | null = null;
  private table: { module: string; name: string } | null = null;

  /** The index of the function type (params) -> (results), added if new. */
  type(params: ValType[], results: ValType[]): number {
    const enc = [0x60, params.length, ...params, results.length, ...results];
    const k = this.types.findIndex((t) => t.length === enc.length && t.every((x, i) => x === enc[i]));
    if (k >= 0) return k;
    this.types.push(enc);
    return this.types.length - 1;
  }

  /** Imports a memory of `pages` 64 KiB pages (its minimum and maximum) as `module.name`. */
  importMemory(module: string, name: string, pages: number): void {
    this.memory = { module, name, pages };
  }

  /** Imports a table of function references (table 0, any size) as `module.name`. */
  importTable(module: string, name: string): void {
    this.table = { module, name };
  }

  /** Adds a function of type `type` with body `code`; returns its index. */
  func(type: number, code: Code): number {
    this.funcs.push({ type, code });
    return this.funcs.length - 1;
  }

  /** The index the next function added will have. */
  get nextFunc(): number {
    return this.funcs.length;
  }

  /** Exports function `func` as `name`. */
  export(name: string, func: number): void {
    this.exports.push({ name, func });
  }

  /** The module's bytes. */
  bytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]) => {
      out.push(id);
      uleb(out, body.length);
      for (const b of body) out.push(b);
    };
    const name = (b: number[], s: string) => {
      const e = new TextEncoder().encode(s);
      uleb(b, e.length);
      for (const x of e) b.push(x);
    };
    let b: number[] = [];
    uleb(b, this.types.length);
    for (const t of this.types) b.push(...t);
    section(1, b);
    if (this.memory !== null || this.table !== null) {
      b = [(this.memory !== null ? 1 : 0) + (this.table !== null ? 1 : 0)];
      if (this.memory !== null) {
        name(b, this.memory.module);
        name(b, this.memory.name);
        b.push(0x02, 0x01); // memory, limits with a maximum
        uleb(b, this.memory.pages);
        uleb(b, this.memory.pages);
      }
      if (this.table !== null) {
        name(b, this.table.module);
        name(b, this.table.name);
        b.push(0x01, 0x70, 0x00, 0x00); // table of funcref, limits: at least 0 entries
      }
      section(2, b);
    }
    b = [];
    uleb(b, this.funcs.length);
    for (const f of this.funcs) uleb(b, f.type);
    section(3, b);
    b = [];
    uleb(b, this.exports.length);
    for (const e of this.exports) {
      name(b, e.name);
      b.push(0x00);
      uleb(b, e.func);
    }
    section(7, b);
    const head: number[] = [];
    uleb(head, this.funcs.length);
    const parts: (number[] | Uint8Array)[] = [head];
    let codeLength = head.length;
    for (const f of this.funcs) {
      const body: number[] = [];
      // Locals as runs of one type.
      const runs: [number, number][] = [];
      for (const t of f.code.locals) {
        if (runs.length > 0 && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
        else runs.push([1, t]);
      }
      uleb(body, runs.length);
      for (const [n, t] of runs) {
        uleb(body, n);
        body.push(t);
      }
      const total = body.length + f.code.bytes.length + 1;
      const size: number[] = [];
      uleb(size, total);
      const code = new Uint8Array(f.code.bytes.length + 1);
      code.set(f.code.bytes);
      code[code.length - 1] = Op.end;
      parts.push(size, body, code);
      codeLength += size.length + body.length + code.length;
    }
    out.push(10);
    uleb(out, codeLength);
    const bytes = new Uint8Array(out.length + codeLength);
    bytes.set(out);
    let at = out.length;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return bytes;
  }
}

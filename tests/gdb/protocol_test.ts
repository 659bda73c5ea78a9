// The GDB remote protocol's framing and a session's answers to edge cases, in process. Expected
// values come from the GDB manual ("Remote Protocol": checksums are the byte sum modulo 256,
// unknown packets get an empty reply, `-` asks for a retransmission) and the sample guest's source.
import assert from "node:assert/strict";
import {
  DebugTarget,
  framePacket,
  GdbSession,
  MAX_PACKET,
  PacketReader,
  type RspEvent,
  serveGdb,
  TARGET_XML,
  unescapeBinary,
} from "../../src/gdb/mod.ts";
import { Machine } from "../../src/vm/mod.ts";

const root = new URL("../../", import.meta.url);
const demo = Deno.readFileSync(new URL("guests/build/gdbdemo.elf", root));
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

Deno.test("framePacket: $data#checksum with the byte sum modulo 256, and }-escapes", () => {
  // "OK": 0x4f + 0x4b = 0x9a.
  assert.equal(dec(framePacket("OK")), "$OK#9a");
  assert.equal(dec(framePacket("")), "$#00");
  // '#' (0x23) is sent as } 0x03; the checksum covers the escaped bytes: 0x7d + 0x03 = 0x80.
  assert.equal(dec(framePacket("#")), "$}\x03#80");
  assert.deepEqual(unescapeBinary(enc("a}\x03b}]")), enc("a#b}"));
});

Deno.test("PacketReader: packets in any chunking, acks, interrupts, bad checksums, oversized packets", () => {
  const r = new PacketReader();
  const stream = enc("+$qC#b4-\x03$m0,1#00$g#67");
  const events: RspEvent[] = [];
  for (const b of stream) events.push(...r.feed(new Uint8Array([b])));
  assert.deepEqual(events.map((e) => e.kind), [
    "ack",
    "packet",
    "nack",
    "interrupt",
    "bad-checksum",
    "packet",
  ]);
  assert.equal(dec((events[1] as { data: Uint8Array }).data), "qC");
  // A packet longer than PacketSize is reported once, not split or kept.
  const big = "$" + "a".repeat(MAX_PACKET + 10) + "#00";
  assert.deepEqual(r.feed(enc(big)).map((e) => e.kind), ["oversized"]);
  // Checksum digits that are not hex are a bad checksum.
  assert.deepEqual(r.feed(enc("$g#zz")).map((e) => e.kind), ["bad-checksum"]);
  // The reader is usable afterwards.
  assert.deepEqual(r.feed(enc("$?#3f")).map((e) => e.kind), ["packet"]);
});

function session(): { s: GdbSession; sent: string[]; target: DebugTarget } {
  const m = Machine.fromElf(demo, { memory: 64 * 2 ** 20 }, "gdbdemo");
  const target = new DebugTarget(m);
  const sent: string[] = [];
  const s = new GdbSession(target, (b) => {
    sent.push(dec(b));
    return Promise.resolve();
  });
  return { s, sent, target };
}

async function ask(s: GdbSession, text: string): Promise<string | null> {
  return await s.handle(enc(text));
}

Deno.test("session: bad checksum gets '-', then the resent packet is answered; no-ack mode drops acks", async () => {
  const { s, sent } = session();
  const r = new PacketReader();
  for (const ev of r.feed(enc("$qAttached#00"))) await s.onEvent(ev);
  assert.deepEqual(sent, ["-"]);
  for (const ev of r.feed(framePacket("qAttached"))) await s.onEvent(ev);
  assert.deepEqual(sent, ["-", "+", dec(framePacket("1"))]);
  // A '-' from the client asks for the last reply again.
  await s.onEvent({ kind: "nack" });
  assert.equal(sent.at(-1), dec(framePacket("1")));
  sent.length = 0;
  for (const ev of r.feed(framePacket("QStartNoAckMode"))) await s.onEvent(ev);
  assert.deepEqual(sent, ["+", dec(framePacket("OK"))]);
  sent.length = 0;
  for (const ev of r.feed(framePacket("qAttached"))) await s.onEvent(ev);
  for (const ev of r.feed(enc("$qAttached#00"))) await s.onEvent(ev); // bad checksum: ignored now
  assert.deepEqual(sent, [dec(framePacket("1"))]);
});

Deno.test("session: oversized packets get an error, unknown packets an empty reply, bad arguments E01", async () => {
  const { s, sent } = session();
  await s.onEvent({ kind: "oversized" });
  assert.deepEqual(sent, ["+", dec(framePacket("E01"))]);
  for (const p of ["vFooBar", "qFooBar", "!", "Q", "_x", "\u00ff\u00fe"]) {
    assert.equal(await ask(s, p), "", p);
  }
  for (
    const p of [
      "m",
      "mzz,1",
      "m1,",
      "M0,2:aa",
      "Mq",
      "p",
      "pzz",
      "Pzz=00",
      "P0=00",
      "Z9,0,0",
      "Z2,0,0",
      "X0,2:a",
    ]
  ) {
    assert.match((await ask(s, p))!, /^E[0-9a-f]{2}$/, p);
  }
  // Memory not mapped by the guest's page tables: E14 (EFAULT), as gdbserver answers.
  assert.equal(await ask(s, "m7fff00000000,4"), "E14");
  assert.equal(await ask(s, "Mffff800000000000,1:00"), "E14");
});

Deno.test("session: qSupported advertises the features; qXfer serves the target description in pieces", async () => {
  const { s } = session();
  const sup = (await ask(s, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"))!;
  for (
    const f of [
      `PacketSize=${MAX_PACKET.toString(16)}`,
      "QStartNoAckMode+",
      "qXfer:features:read+",
      "ReverseStep+",
      "ReverseContinue+",
      "swbreak+",
      "hwbreak+",
      "vContSupported+",
    ]
  ) {
    assert.ok(sup.split(";").includes(f), f);
  }
  let xml = "";
  for (let off = 0;;) {
    const r = (await ask(s, `qXfer:features:read:target.xml:${off.toString(16)},100`))!;
    xml += r.slice(1);
    off += r.length - 1;
    if (r[0] === "l") break;
    assert.equal(r[0], "m");
  }
  assert.equal(xml, TARGET_XML);
  assert.match(xml, /<architecture>i386:x86-64<\/architecture>/);
  assert.match(xml, /org\.gnu\.gdb\.i386\.core/);
  assert.equal(await ask(s, "qXfer:features:read:other.xml:0,100"), "E00");
  assert.equal(await ask(s, "qAttached"), "1");
  assert.equal(await ask(s, "qOffsets"), "Text=0;Data=0;Bss=0");
  assert.equal(await ask(s, "vCont?"), "vCont;c;C;s;S");
});

Deno.test("session: g reads the boot state (RIP = ELF entry, RSP = top of RAM); P, M and step change it", async () => {
  const { s, target } = session();
  const g = (await ask(s, "g"))!;
  // rax..r15 (16 x 8 bytes), then rip: the ELF's entry point, _start, at 0x401000 (nm).
  const rip = g.slice(16 * 16, 17 * 16);
  assert.equal(rip, "0010400000000000");
  // rsp (gdb register 7) = top of RAM, per the boot protocol.
  assert.equal(g.slice(7 * 16, 8 * 16), "0000000400000000");
  // Every register is available; MXCSR (gdb register 56, after 24 core, 16 x87 and 16 XMM
  // registers) holds its reset value 0x1f80 (SDM Vol. 1 §10.2.3.1), as boot protocol 1 leaves it.
  assert.doesNotMatch(g, /x/);
  assert.equal(await ask(s, "p38"), "801f0000");
  assert.equal(await ask(s, "P38=00000100"), "E01"); // a reserved MXCSR bit
  assert.equal(await ask(s, "P28=0102030405060708090a0b0c0d0e0f10"), "OK"); // xmm0
  assert.equal(await ask(s, "p28"), "0102030405060708090a0b0c0d0e0f10");
  assert.equal(await ask(s, "P0=efbeadde00000000"), "OK");
  assert.equal(await ask(s, "p0"), "efbeadde00000000");
  // Writing guest memory through its page tables (identity-mapped at boot): read back.
  assert.equal(await ask(s, "M500000,3:010203"), "OK");
  assert.equal(await ask(s, "m500000,3"), "010203");
  assert.equal(await ask(s, "X500001,2:\x7d\x03\x7d\x5d"), "OK");
  assert.equal(await ask(s, "m500000,3"), "01237d");
  // A step retires exactly one instruction.
  const before = target.machine.instructions;
  assert.equal(await ask(s, "s"), "T05");
  assert.equal(target.machine.instructions, before + 1);
  assert.equal(await ask(s, "?"), "T05");
});

Deno.test("session: software breakpoints leave guest memory alone; the run ends with the digest of a run without them", async () => {
  const ref = Machine.fromElf(demo, { memory: 64 * 2 ** 20 }, "gdbdemo");
  ref.runToEnd();
  const { s, target } = session();
  const step = "401e50"; // step() after its prologue (objdump -d -l: line 16)
  assert.equal(await ask(s, `Z0,${step},1`), "OK");
  assert.equal(await ask(s, "m401e50,4"), "488b45e8"); // the instruction's own bytes, no int3
  assert.equal(await ask(s, "c"), "T05swbreak:;");
  assert.equal(await ask(s, "p10"), "501e400000000000");
  assert.equal(await ask(s, "c"), "T05swbreak:;");
  assert.equal(await ask(s, `z0,${step},1`), "OK");
  assert.equal(await ask(s, "c"), "W00");
  assert.equal(target.machine.consoleText(), "total 855 counter 10 scale 3 message abc\n");
  assert.equal(target.machine.digest(), ref.digest());
  assert.equal(target.machine.instructions, ref.instructions);
});

Deno.test("session: monitor commands answer in hex; unknown ones say so", async () => {
  const { s } = session();
  const mon = async (c: string) =>
    dec(Uint8Array.from((await ask(s, "qRcmd," + toHexText(c)))!.match(/../g)!.map((h) => parseInt(h, 16))));
  assert.equal(await mon("icount"), "0 instructions retired\n");
  await ask(s, "s");
  assert.equal(await mon("icount"), "1 instructions retired\n");
  assert.match(await mon("vmcs"), /GUEST_RIP/);
  assert.match(await mon("ept 0x401000"), /GPA 0x401000 -> host-physical 0x401000/);
  assert.match(await mon("ept nonsense"), /expected a guest-physical address/);
  assert.match(await mon("frobnicate"), /unknown monitor command "frobnicate"/);
  assert.match(await mon("phys on"), /guest-physical/);
  // Guest-physical 0x401000 holds _start (identity-mapped): mov %rdi,%r12 = 49 89 fc (objdump).
  assert.equal(await ask(s, "m401000,3"), "4989fc");
});

function toHexText(t: string): string {
  return Array.from(enc(t)).map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("server: Ctrl-C (0x03) interrupts a running guest; a dropped client leaves it stopped for the next", async () => {
  const memwrite = Deno.readFileSync(new URL("guests/build/memwrite.elf", root));
  const m = Machine.fromElf(memwrite, { memory: 64 * 2 ** 20, cmdline: "ws=1M iters=0 quiet" }, "memwrite");
  const target = new DebugTarget(m, { noHistory: true });
  let port = 0;
  const served = serveGdb(target, { port: 0, wait: true, log: () => {}, listening: (a) => port = a.port });
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const talk = async (conn: Deno.Conn, until: RegExp): Promise<string> => {
    let got = "";
    const buf = new Uint8Array(4096);
    while (!until.test(got)) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += dec(buf.subarray(0, n));
    }
    return got;
  };
  let conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(framePacket("QStartNoAckMode"));
  await talk(conn, /\$OK#9a/);
  await conn.write(framePacket("c"));
  await new Promise((r) => setTimeout(r, 200));
  await conn.write(new Uint8Array([0x03]));
  assert.match(await talk(conn, /\$T02#/), /\$T02#/);
  const at = m.instructions;
  assert.ok(at > 0);
  conn.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(m.instructions, at, "the guest stays stopped without a client");
  conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(framePacket("?"));
  assert.match(await talk(conn, /\$T02#/), /\$T02#/);
  await conn.write(enc("+"));
  await conn.write(framePacket("vKill;1"));
  await talk(conn, /\$OK#/);
  assert.equal(await served, "killed");
  conn.close();
});

Deno.test("session: 1,000 random packets (garbage after each command letter) get a reply, never an exception", async () => {
  const { s, target } = session();
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const heads = [
    "m",
    "M",
    "X",
    "p",
    "P",
    "g",
    "G",
    "Z",
    "z",
    "q",
    "Q",
    "v",
    "vCont;",
    "qXfer:features:read:",
    "qRcmd,",
    "H",
    "?",
    "s",
    "bs",
    "bc",
    "T",
    "x",
    "!",
  ];
  const alphabet = "0123456789abcdefABCDEF,:;=xyz-}*#$ ";
  for (let i = 0; i < 1000; i++) {
    let p = heads[rnd(heads.length)];
    const len = rnd(24);
    for (let k = 0; k < len; k++) p += alphabet[rnd(alphabet.length)];
    const r = await ask(s, p);
    assert.ok(r === null || typeof r === "string", p);
    if (target.finished) break;
  }
});

Deno.test("session: a guest that triple-faults ends with X and SIGSEGV; monitor dirty lists a page gdb wrote", async () => {
  const kernel = Deno.readFileSync(new URL("guests/build/kernel.elf", root));
  const m = Machine.fromElf(kernel, { memory: 64 * 2 ** 20, cmdline: "triple" }, "kernel");
  const s = new GdbSession(new DebugTarget(m), () => Promise.resolve());
  // guests/manifest.json: kernel with "triple" ends in a triple fault; gdb's SIGSEGV is 11 (0x0b).
  assert.equal(await s.handle(enc("c")), "X0b");
  assert.equal(await s.handle(enc("?")), "X0b");

  const d = session();
  const mon = async (c: string) =>
    dec(
      Uint8Array.from((await ask(d.s, "qRcmd," + toHexText(c)))!.match(/../g)!.map((h) => parseInt(h, 16))),
    );
  await mon("dirty"); // start a fresh harvest
  assert.equal(await ask(d.s, "M600010,2:abcd"), "OK");
  assert.match(await mon("dirty"), /^1 pages dirty since the last harvest: 0x600000\n$/);
  assert.match(await mon("dirty"), /^0 pages dirty since the last harvest\n$/);
});

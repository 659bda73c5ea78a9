/**
 * GDB remote protocol packets, as `deno task run G --gdb` reads them from a client: the bytes go
 * through the packet reader and the session answers each packet against a booted guest (registers,
 * memory, breakpoints and watchpoints, stepping and continuing, reverse execution, monitor
 * commands, the target description). A case is the byte stream of a whole client session.
 *
 * The session answers any failure with an error reply and goes on, reporting on stderr what was
 * not a refused argument (a defect): here that report is a crash.
 *
 * @module
 */

import { framePacket, PacketReader } from "../../gdb/packet.ts";
import { GdbSession } from "../../gdb/session.ts";
import { DebugTarget } from "../../gdb/target.ts";
import { Machine } from "../../vm/machine.ts";
import { guestElf } from "../corpus.ts";
import type { CaseOutcome, FuzzSurface, Span } from "../surface.ts";

let elf: Uint8Array = new Uint8Array(0);

/** Client sessions as gdb conducts them: connect, look around, break, step, continue, go back, leave. */
const SESSIONS: string[][] = [
  ["qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+", "?", "qAttached", "g", "p10", "m401087,40", "D"],
  [
    "qSupported:swbreak+",
    "QStartNoAckMode",
    "qXfer:features:read:target.xml:0,ffb",
    "Z0,4012e0,1",
    "vCont?",
    "vCont;c",
    "g",
    "s",
    "s",
    "bs",
    "z0,4012e0,1",
    "c",
    "k",
  ],
  [
    "?",
    "Z2,403000,8",
    "c",
    "bc",
    "m403000,8",
    "M403000,4:01020304",
    "X403004,0:",
    "P10=8710400000000000",
    "s",
    "D",
  ],
  [
    "?",
    "qRcmd,68656c70",
    "qRcmd,69636f756e74",
    "qRcmd,6578697473",
    "qRcmd,766d6373",
    "Z4,7ffff0,8",
    "c",
    "k",
  ],
  ["?", "G" + "00".repeat(8 * 16) + "8710400000000000" + "02000000", "g", "s", "qC", "Hg0", "T1", "D"],
];

function pack(packets: string[]): Uint8Array {
  const parts = packets.map((p) => framePacket(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    out[o + p.length] = 0x2b; // the client's '+' for the reply
    o += p.length + 1;
  }
  return out;
}

/** The `$...#cs` packets of a stream. */
function packets(b: Uint8Array): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < b.length && out.length < 4096; i++) {
    if (b[i] !== 0x24) continue;
    const end = b.indexOf(0x23, i + 1);
    if (end < 0 || end + 3 > b.length) break;
    out.push({ offset: i, length: end + 3 - i });
    i = end + 2;
  }
  return out;
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "gdb",
  description: "GDB remote protocol: a client's byte stream read and answered against a booted guest",
  corpus() {
    elf = guestElf("hello");
    return Promise.resolve(SESSIONS.map(pack));
  },
  structure(b) {
    const records = packets(b);
    // the checksum digits of each packet, and the first characters of its data (the command)
    const fields = records.flatMap((r) => [
      { offset: r.offset + 1, size: 1 as const, kind: "type" as const },
      { offset: r.offset + r.length - 2, size: 2 as const, kind: "crc" as const },
    ]);
    return { fields, records };
  },
  reseal(input) {
    // the checksums made right again, so the packet's content reaches the session
    const b = input.slice();
    const hex = (n: number) => "0123456789abcdef".charCodeAt(n);
    for (const r of packets(b)) {
      let sum = 0;
      for (let i = r.offset + 1; i < r.offset + r.length - 3; i++) sum = (sum + b[i]) & 0xff;
      b[r.offset + r.length - 2] = hex(sum >> 4);
      b[r.offset + r.length - 1] = hex(sum & 15);
    }
    return b;
  },
  async run(input): Promise<CaseOutcome> {
    const m = Machine.fromElf(elf, { memory: 8 << 20 }, "hello");
    const target = new DebugTarget(m, { interval: 1000, maxBytes: 16 << 20 });
    let replies = 0, errors = 0;
    const session = new GdbSession(target, (bytes) => {
      replies++;
      if (bytes[0] === 0x24 && bytes[1] === 0x45) errors++; // $E..
      return Promise.resolve();
    }, () => Promise.resolve());
    const defects: string[] = [];
    const log = console.error;
    console.error = (...a: unknown[]) => defects.push(a.join(" "));
    try {
      const reader = new PacketReader();
      for (const ev of reader.feed(input)) {
        await session.onEvent(ev);
        if (session.ended !== null) break;
      }
    } finally {
      console.error = log;
    }
    if (defects.length > 0) throw new Error(`the session reported a defect: ${defects[0]}`);
    return errors > 0
      ? { result: "refused", detail: `${errors} error replies of ${replies}` }
      : { result: "accepted", detail: `${replies} replies, guest at ${m.instructions} instructions` };
  },
};

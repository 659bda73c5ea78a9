/**
 * One client's conversation with the GDB server: acknowledgements and no-ack mode, and the
 * packets gdb 12+ sends to a bare-metal target (the GDB manual, "Remote Protocol": "Packets",
 * "General Query Packets", "Stop Reply Packets"). Whatever a client sends, the answer is a reply
 * (an empty one for a packet it does not know, `E` and a code for a bad one), never a crash.
 *
 * @module
 */

import type { BreakKind, WatchKind } from "../cpu/mod.ts";
import { readMemory, writeMemory } from "./guest_memory.ts";
import { runMonitor } from "./monitor.ts";
import {
  framePacket,
  fromHex,
  MAX_PACKET,
  parseHexNumber,
  type RspEvent,
  textToHex,
  toHex,
  unescapeBinary,
} from "./packet.ts";
import { bytesValue, readRegister, registerBytes, writeRegister } from "./registers.ts";
import { readFeatures, REGISTERS } from "./target_description.ts";
import type { DebugTarget } from "./target.ts";

/** What the features reply advertises. */
export const SUPPORTED: string =
  `PacketSize=${MAX_PACKET.toString(16)};QStartNoAckMode+;qXfer:features:read+;` +
  "ReverseStep+;ReverseContinue+;swbreak+;hwbreak+;vContSupported+";

/** How a session ended, when it has. */
export type SessionEnd = "detach" | "kill" | null;

const ERR_BAD = "E01", ERR_MEMORY = "E14";

/** Largest m read answered (its hex must fit a packet). */
const MAX_READ = (MAX_PACKET - 8) / 2;

/** The protocol state of one connection. */
export class GdbSession {
  /** No-ack mode is on (after QStartNoAckMode). */
  noAck = false;
  /** The client sent 0x03 while the guest ran. */
  interruptRequested = false;
  /** Set once the client detached or killed the guest. */
  ended: SessionEnd = null;
  private lastSent: Uint8Array | null = null;

  /**
   * A session with one client.
   *
   * @param target the guest
   * @param send writes bytes to the client
   * @param pause awaited between slices of a running guest (the connection's bytes are read then)
   * @param progress called after the guest ran (to show its console output)
   */
  constructor(
    readonly target: DebugTarget,
    private readonly send: (bytes: Uint8Array) => Promise<void>,
    private readonly pause: () => Promise<void> = () => new Promise((r) => setTimeout(r, 0)),
    private readonly progress: () => void = () => {},
  ) {}

  /** Handles one event from the client. */
  async onEvent(ev: RspEvent): Promise<void> {
    switch (ev.kind) {
      case "ack":
        return;
      case "nack":
        if (this.lastSent !== null && !this.noAck) await this.send(this.lastSent);
        return;
      case "interrupt":
        this.interruptRequested = true;
        return;
      case "bad-checksum":
        if (!this.noAck) await this.send(new Uint8Array([0x2d])); // -
        return;
      case "oversized":
        if (!this.noAck) await this.send(new Uint8Array([0x2b]));
        await this.reply(ERR_BAD);
        return;
      case "packet": {
        if (!this.noAck) await this.send(new Uint8Array([0x2b])); // +
        const r = await this.handle(ev.data);
        if (r !== null) await this.reply(r);
        if (ev.data.length === 15 && new TextDecoder().decode(ev.data) === "QStartNoAckMode") {
          this.noAck = true;
        }
        return;
      }
    }
  }

  /** Sends one packet. */
  private async reply(text: string): Promise<void> {
    const bytes = framePacket(text);
    this.lastSent = bytes;
    await this.send(bytes);
  }

  /** Answers one packet (its data, still escaped); null means no reply at all. */
  async handle(data: Uint8Array): Promise<string | null> {
    const text = new TextDecoder("latin1").decode(data);
    const t = this.target;
    try {
      switch (text[0]) {
        case "?":
          return t.lastStop;
        case "g":
          return this.readAllRegisters();
        case "G":
          return this.writeAllRegisters(text.slice(1));
        case "p":
          return this.readOneRegister(text.slice(1));
        case "P":
          return this.writeOneRegister(text.slice(1));
        case "m":
          return this.readMem(text.slice(1));
        case "M":
          return this.writeMem(text.slice(1));
        case "X":
          return this.writeBinary(data);
        case "s":
        case "c":
          if (text.length > 1) {
            const addr = parseHexNumber(text.slice(1));
            if (
              addr === null || !writeRegister(t.machine, REGISTERS.findIndex((r) => r.name === "rip"), addr)
            ) {
              return ERR_BAD;
            }
            t.changed();
          }
          return await this.resume(text[0] === "s" ? "step" : "continue");
        case "b":
          if (text === "bs") return this.afterRun(t.reverseStep());
          if (text === "bc") return this.afterRun(t.reverseContinue());
          return "";
        case "Z":
        case "z":
          return this.breakpoint(text);
        case "H":
        case "T":
          return "OK";
        case "D":
          this.ended = "detach";
          return "OK";
        case "k":
          this.ended = "kill";
          return null;
        case "v":
          return await this.vPacket(text);
        case "q":
        case "Q":
          return this.query(text);
        default:
          return "";
      }
    } catch (e) {
      // Whatever went wrong answering, the client gets an error and the server goes on; a defect
      // other than a refused argument is also reported on stderr.
      if (!(e instanceof RangeError)) {
        console.error(`[hvsim] gdb: error answering "${text.slice(0, 40)}": ${(e as Error).message}`);
      }
      return ERR_BAD;
    }
  }

  /** Shows the guest's progress (its console output) and returns the stop reply. */
  private afterRun(reply: string): string {
    this.progress();
    return reply;
  }

  /** Steps or continues the guest until it stops. */
  private async resume(mode: "step" | "continue"): Promise<string> {
    this.interruptRequested = false;
    const t = this.target;
    const r = mode === "step" ? t.step() : await t.cont(() => this.interruptRequested, this.pause);
    this.interruptRequested = false;
    return this.afterRun(r);
  }

  /** The `g` reply: every register in the target description's order. */
  private readAllRegisters(): string {
    let out = "";
    for (let n = 0; n < REGISTERS.length; n++) {
      const v = readRegister(this.target.machine, n);
      out += v === null ? "xx".repeat(REGISTERS[n].bits / 8) : toHex(registerBytes(n, v));
    }
    return out;
  }

  /** `G`: writes every register. */
  private writeAllRegisters(hex: string): string {
    const bytes = fromHex(hex);
    if (bytes === null) return ERR_BAD;
    let off = 0;
    const m = this.target.machine;
    let changed = false;
    for (let n = 0; n < REGISTERS.length && off < bytes.length; n++) {
      const size = REGISTERS[n].bits / 8;
      if (off + size > bytes.length) break;
      const v = bytesValue(bytes.subarray(off, off + size));
      off += size;
      const old = readRegister(m, n);
      if (old === null || old === v) continue;
      if (writeRegister(m, n, v)) changed = true;
    }
    if (changed) this.target.changed();
    return "OK";
  }

  /** `p`: one register. */
  private readOneRegister(arg: string): string {
    const n = parseHexNumber(arg);
    if (n === null || n >= BigInt(REGISTERS.length)) return ERR_BAD;
    const v = readRegister(this.target.machine, Number(n));
    return v === null ? "xx".repeat(REGISTERS[Number(n)].bits / 8) : toHex(registerBytes(Number(n), v));
  }

  /** `P`: writes one register. */
  private writeOneRegister(arg: string): string {
    const eq = arg.indexOf("=");
    const n = parseHexNumber(arg.slice(0, eq));
    if (eq < 0 || n === null || n >= BigInt(REGISTERS.length)) return ERR_BAD;
    const bytes = fromHex(arg.slice(eq + 1));
    const r = Number(n);
    if (bytes === null || bytes.length !== REGISTERS[r].bits / 8) return ERR_BAD;
    if (!writeRegister(this.target.machine, r, bytesValue(bytes))) return ERR_BAD;
    this.target.changed();
    return "OK";
  }

  /** Parses `addr,length` (hex). */
  private parseAddrLen(arg: string): [bigint, number] | null {
    const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(arg);
    if (!m) return null;
    return [BigInt("0x" + m[1]), parseInt(m[2], 16)];
  }

  /** `m`: reads guest-virtual memory. */
  private readMem(arg: string): string {
    const al = this.parseAddrLen(arg);
    if (al === null) return ERR_BAD;
    const [addr, len] = al;
    const bytes = readMemory(this.target.machine, addr, Math.min(len, MAX_READ), this.target.space);
    if (bytes.length === 0 && len > 0) return ERR_MEMORY;
    return toHex(bytes);
  }

  /** `M`: writes guest-virtual memory (hex). */
  private writeMem(arg: string): string {
    const colon = arg.indexOf(":");
    const al = colon < 0 ? null : this.parseAddrLen(arg.slice(0, colon));
    const bytes = colon < 0 ? null : fromHex(arg.slice(colon + 1));
    if (al === null || bytes === null || bytes.length !== al[1]) return ERR_BAD;
    return this.store(al[0], bytes);
  }

  /** `X`: writes guest-virtual memory (binary). */
  private writeBinary(data: Uint8Array): string {
    const colon = data.indexOf(0x3a);
    if (colon < 0) return ERR_BAD;
    const al = this.parseAddrLen(new TextDecoder("latin1").decode(data.subarray(1, colon)));
    if (al === null) return ERR_BAD;
    const bytes = unescapeBinary(data.subarray(colon + 1));
    if (bytes.length !== al[1]) return ERR_BAD;
    return this.store(al[0], bytes);
  }

  /** Writes `bytes` at guest-virtual `addr`; `OK` or an error reply. */
  private store(addr: bigint, bytes: Uint8Array): string {
    if (bytes.length === 0) return "OK";
    if (!writeMemory(this.target.machine, addr, bytes, this.target.space)) return ERR_MEMORY;
    this.target.changed();
    return "OK";
  }

  /** `Z`/`z`: inserts or removes a breakpoint or watchpoint. */
  private breakpoint(text: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(text);
    if (!m) return ERR_BAD;
    const insert = m[1] === "Z", type = Number(m[2]);
    const addr = BigInt("0x" + m[3]), kind = parseInt(m[4], 16);
    const t = this.target;
    if (type <= 1) {
      const k: BreakKind = type === 0 ? "swbreak" : "hwbreak";
      if (insert) t.insertBreakpoint(k, addr);
      else t.removeBreakpoint(addr);
      return "OK";
    }
    if (kind < 1) return ERR_BAD;
    const w: WatchKind = type === 2 ? "watch" : type === 3 ? "rwatch" : "awatch";
    if (insert) t.insertWatchpoint(w, addr, kind);
    else t.removeWatchpoint(w, addr, kind);
    return "OK";
  }

  /** `v` packets (vCont, vCont?). */
  private async vPacket(text: string): Promise<string> {
    if (text === "vCont?") return "vCont;c;C;s;S";
    if (text.startsWith("vCont;")) {
      // The first action that applies to our one thread decides (s/S step, c/C continue).
      for (const action of text.slice(6).split(";")) {
        const a = action[0];
        if (a === "s" || a === "S") return await this.resume("step");
        if (a === "c" || a === "C") return await this.resume("continue");
        if (a === "r") return ERR_BAD; // range stepping was not advertised
      }
      return ERR_BAD;
    }
    if (text === "vKill" || text.startsWith("vKill;")) {
      this.ended = "kill";
      return "OK";
    }
    return "";
  }

  /** `q` queries. */
  private query(text: string): string {
    const t = this.target;
    if (text.startsWith("qSupported")) return SUPPORTED;
    if (text === "QStartNoAckMode") return "OK";
    if (text === "qAttached" || text.startsWith("qAttached:")) return "1";
    if (text === "qOffsets") return "Text=0;Data=0;Bss=0";
    if (text === "qC") return "QC1";
    if (text === "qfThreadInfo") return "m1";
    if (text === "qsThreadInfo") return "l";
    if (text === "qSymbol::") return "OK";
    if (text.startsWith("qXfer:features:read:")) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(text);
      if (!m) return ERR_BAD;
      const r = readFeatures(m[1], parseInt(m[2], 16), Math.min(parseInt(m[3], 16), MAX_PACKET - 8));
      return r ?? "E00";
    }
    if (text.startsWith("qRcmd,")) {
      const cmd = fromHex(text.slice(6));
      if (cmd === null) return ERR_BAD;
      return textToHex(runMonitor(t, new TextDecoder().decode(cmd)));
    }
    return "";
  }
}

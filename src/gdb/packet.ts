/**
 * GDB remote serial protocol framing (the GDB manual, "Remote Protocol", "Overview"): packets
 * `$data#cs` with a two-digit hex checksum (the sum of the data bytes modulo 256), `+`/`-`
 * acknowledgements, the interrupt byte 0x03, `}` escapes (the byte XOR 0x20) and hex encoding.
 *
 * @module
 */

/** Largest packet the server accepts (advertised as PacketSize). */
export const MAX_PACKET = 16384;

/** The interrupt byte a client sends (Ctrl-C) while the target runs. */
export const INTERRUPT = 0x03;

/** What the reader found in the byte stream. */
export type RspEvent =
  /** A packet whose checksum matched (data still escaped as sent; see {@linkcode unescapeBinary}). */
  | { kind: "packet"; data: Uint8Array }
  /** A packet whose checksum did not match (it gets a `-` in ack mode). */
  | { kind: "bad-checksum" }
  /** A packet longer than {@linkcode MAX_PACKET} (dropped; it gets an error reply). */
  | { kind: "oversized" }
  /** `+` */
  | { kind: "ack" }
  /** `-`: resend the last packet. */
  | { kind: "nack" }
  /** 0x03 between packets. */
  | { kind: "interrupt" };

const enum State {
  Idle,
  Data,
  Escape,
  Check1,
  Check2,
}

/** Splits a byte stream from a client into events, whatever the chunking. */
export class PacketReader {
  private state = State.Idle;
  private buf = new Uint8Array(MAX_PACKET);
  private len = 0;
  private sum = 0;
  private check = 0;
  private overflow = false;

  /** Feeds bytes; returns the events they complete, in order. */
  feed(bytes: Uint8Array): RspEvent[] {
    const out: RspEvent[] = [];
    for (const b of bytes) {
      switch (this.state) {
        case State.Idle:
          if (b === 0x24) { // $
            this.state = State.Data;
            this.len = 0;
            this.sum = 0;
            this.overflow = false;
          } else if (b === 0x2b) out.push({ kind: "ack" });
          else if (b === 0x2d) out.push({ kind: "nack" });
          else if (b === INTERRUPT) out.push({ kind: "interrupt" });
          // Anything else between packets is noise and is skipped.
          break;
        case State.Data:
        case State.Escape:
          if (b === 0x23 && this.state === State.Data) { // #
            this.state = State.Check1;
            break;
          }
          this.sum = (this.sum + b) & 0xff;
          this.state = b === 0x7d && this.state === State.Data ? State.Escape : State.Data;
          if (this.len < MAX_PACKET) this.buf[this.len++] = b;
          else this.overflow = true;
          break;
        case State.Check1:
          this.check = hexDigit(b) << 4;
          this.state = State.Check2;
          if (hexDigit(b) < 0) this.check = -1;
          break;
        case State.Check2: {
          this.state = State.Idle;
          const d = hexDigit(b);
          if (this.overflow) out.push({ kind: "oversized" });
          else if (this.check < 0 || d < 0 || ((this.check | d) & 0xff) !== this.sum) {
            out.push({ kind: "bad-checksum" });
          } else out.push({ kind: "packet", data: this.buf.slice(0, this.len) });
          break;
        }
      }
    }
    return out;
  }
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/** Frames `data` as `$data#cs`, escaping `$`, `#`, `}` and `*` (the reply may hold binary data). */
export function framePacket(data: Uint8Array | string): Uint8Array {
  const raw = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const out: number[] = [0x24];
  let sum = 0;
  for (const b of raw) {
    if (b === 0x24 || b === 0x23 || b === 0x7d || b === 0x2a) {
      out.push(0x7d, b ^ 0x20);
      sum += 0x7d + (b ^ 0x20);
    } else {
      out.push(b);
      sum += b;
    }
  }
  out.push(0x23);
  const cs = (sum & 0xff).toString(16).padStart(2, "0");
  out.push(cs.charCodeAt(0), cs.charCodeAt(1));
  return new Uint8Array(out);
}

/** Undoes `}` escapes in a packet's binary part (X, vFile and the like). */
export function unescapeBinary(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x7d && i + 1 < data.length) out[n++] = data[++i] ^ 0x20;
    else out[n++] = data[i];
  }
  return out.subarray(0, n);
}

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Hex to bytes; null if the text is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Text as hex of its UTF-8 bytes (qRcmd output, O packets). */
export function textToHex(text: string): string {
  return toHex(new TextEncoder().encode(text));
}

/** A hex number of at most 16 digits as a bigint, or null. */
export function parseHexNumber(text: string): bigint | null {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return null;
  return BigInt("0x" + text);
}

/**
 * Migration over TCP between two processes (real time, real socket).
 *
 * The destination listens (on 127.0.0.1 unless told otherwise), receives and verifies the whole
 * stream, builds and loads its VM, and only then answers with a confirmation message; on any problem
 * it answers with a refusal naming it. The source considers the migration complete only after the
 * confirmation arrives.
 *
 * Confirmation message: "HVCF", `status u32` (0 accepted, 1 refused), `length u32`, UTF-8 message,
 * and with a key an HMAC-SHA256 tag over all of it, so the confirmation cannot be forged without
 * the key. An accepting message is "ok", followed by "; downtime-seen-ms=N" when the stream had round
 * records: the destination's wall-clock milliseconds from the arrival of the last one (the
 * stop-and-copy pass's) to sending the confirmation.
 *
 * @module
 */

import type { ByteSink } from "./byte_io.ts";
import { PeerTimeoutError, RawReaderSource, withTimeout, writeAll } from "./byte_io.ts";
import type { ReceiveOptions, ReceiveResult } from "./receiver.ts";
import { DestinationRefusedError, receiveStream } from "./receiver.ts";
import { MAC_BYTES, StreamError } from "./stream.ts";
import { wallClockMs } from "./stats.ts";
import type { Confirmation, MigrationTransport } from "./transport.ts";

/** Confirmation magic "HVCF" as a little-endian u32. */
export const CONFIRM_MAGIC = 0x46435648;
/** Confirmation status: the destination has the VM. */
export const CONFIRM_ACCEPTED = 0;
/** Confirmation status: the destination refused the stream or the state. */
export const CONFIRM_REFUSED = 1;

/**
 * The confirmation message a destination sends: `status` ({@link CONFIRM_ACCEPTED} or
 * {@link CONFIRM_REFUSED}), `message` (at most 4,000 characters kept), tagged with `key` if given.
 */
export async function encodeConfirmation(
  status: number,
  message: string,
  key?: CryptoKey,
): Promise<Uint8Array> {
  const msg = new TextEncoder().encode(message.slice(0, 4000));
  const body = new Uint8Array(12 + msg.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, CONFIRM_MAGIC, true);
  v.setUint32(4, status, true);
  v.setUint32(8, msg.length, true);
  body.set(msg, 12);
  if (!key) return body;
  const tag = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
  const out = new Uint8Array(body.length + MAC_BYTES);
  out.set(body);
  out.set(tag, body.length);
  return out;
}

/**
 * `text` from the other side made safe to print on one line: control characters (C0, DEL, C1:
 * newlines, terminal escapes) written as `\xNN`.
 */
export function printableMessage(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** A verdict read from the destination. */
interface Verdict {
  accepted: boolean;
  message: string;
}

async function readConfirmation(conn: Deno.Conn, key?: CryptoKey): Promise<Verdict> {
  const src = new RawReaderSource(conn, 8192);
  const head = (await src.read(12)).slice();
  if (head.length < 12) {
    return { accepted: false, message: "the destination closed the connection without a confirmation" };
  }
  const v = new DataView(head.buffer);
  if (v.getUint32(0, true) !== CONFIRM_MAGIC) {
    return {
      accepted: false,
      message: "the destination answered with something that is not an hvsim confirmation",
    };
  }
  const status = v.getUint32(4, true);
  const len = v.getUint32(8, true);
  if (len > 4096) return { accepted: false, message: `confirmation message length ${len} is invalid` };
  const msg = (await src.read(len)).slice();
  if (msg.length < len) return { accepted: false, message: "the confirmation was truncated" };
  const message = printableMessage(new TextDecoder().decode(msg));
  if (key) {
    const tag = (await src.read(MAC_BYTES)).slice();
    const body = new Uint8Array(12 + len);
    body.set(head);
    body.set(msg, 12);
    if (tag.length < MAC_BYTES || !(await crypto.subtle.verify("HMAC", key, tag, body))) {
      return { accepted: false, message: "the confirmation failed authentication (wrong key?)" };
    }
  }
  if (status === CONFIRM_ACCEPTED) return { accepted: true, message };
  return { accepted: false, message: message || "refused" };
}

/** Options of {@link connectMigration}. */
export interface ConnectOptions {
  /** Destination host (default 127.0.0.1). */
  hostname?: string;
  /** Destination port. */
  port: number;
  /** The key the destination expects (to check its confirmation). */
  key?: CryptoKey;
  /** How long to wait for a refusal reason after a failed write, ms (default 2000). */
  reasonTimeoutMs?: number;
  /**
   * Fail when the destination takes no data (a write does not complete) or does not answer after
   * the end of the stream for this long, ms (default 30000; 0: wait forever).
   */
  timeoutMs?: number;
}

/** Default of {@link ConnectOptions.timeoutMs} and {@link ListenOptions.idleTimeoutMs}: 30 s. */
export const DEFAULT_PEER_TIMEOUT_MS = 30_000;

/** Connect to a listening destination; the returned transport goes to the controller. */
export async function connectMigration(opts: ConnectOptions): Promise<MigrationTransport> {
  const hostname = opts.hostname ?? "127.0.0.1";
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname, port: opts.port });
  } catch (e) {
    throw new Error(
      `Cannot connect to the migration destination ${hostname}:${opts.port}: ${(e as Error).message}`,
    );
  }
  conn.setNoDelay(true);
  // Read the verdict in the background from the start, so a refusal sent mid-stream is not lost.
  const verdict = readConfirmation(conn, opts.key).catch((e) => ({
    accepted: false,
    message: `the connection failed: ${(e as Error).message}`,
  }));
  let early: Verdict | undefined;
  verdict.then((v) => (early = v));
  let closed = false;
  const closeConn = () => {
    if (!closed) {
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const refusal = async (cause: Error): Promise<Error> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((
      r,
    ) => (timer = setTimeout(() => r(undefined), opts.reasonTimeoutMs ?? 2000)));
    const v = await Promise.race([verdict, late]);
    clearTimeout(timer);
    if (v && !v.accepted) return new Error(`Destination refused the migration: ${v.message}`);
    return new Error(`Migration connection to ${hostname}:${opts.port} failed: ${cause.message}`);
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
  const sink: ByteSink = {
    async write(chunk) {
      if (early && !early.accepted) throw new Error(`Destination refused the migration: ${early.message}`);
      try {
        await withTimeout(
          writeAll(conn, chunk),
          timeoutMs,
          `the destination ${hostname}:${opts.port} took no data for ${timeoutMs} ms`,
        );
      } catch (e) {
        if (e instanceof PeerTimeoutError) {
          closeConn();
          throw e;
        }
        throw await refusal(e as Error);
      }
    },
    async close() {
      await conn.closeWrite();
    },
    abort() {
      closeConn();
      return Promise.resolve();
    },
  };
  return {
    sink,
    async confirm() {
      let v: Verdict;
      try {
        v = await withTimeout(
          verdict,
          timeoutMs,
          `the destination ${hostname}:${opts.port} did not confirm within ${timeoutMs} ms of the end of the stream`,
        );
      } finally {
        closeConn();
      }
      if (!v.accepted) throw new Error(`Destination refused the migration: ${v.message}`);
      const seen = /; downtime-seen-ms=([0-9]+(?:\.[0-9]+)?)$/.exec(v.message);
      const out: Confirmation = {};
      if (seen) out.seenMs = Number(seen[1]);
      return out;
    },
    abort() {
      closeConn();
      return verdict.then(() => {});
    },
  };
}

/**
 * Why an incoming migration failed, as one line and the destination's exit status: 2 for a
 * stream it refused (malformed, damaged, truncated, oversized, unauthenticated, or a state the VM
 * cannot take), 3 when the source went silent or its connection failed. Anything else is not a
 * failure of the source and is returned as undefined (a defect, to be reported as such).
 */
export function incomingFailure(e: unknown): { status: 2 | 3; message: string } | undefined {
  if (e instanceof StreamError || e instanceof DestinationRefusedError) {
    return { status: 2, message: e.message };
  }
  if (e instanceof PeerTimeoutError) return { status: 3, message: `source dropped: ${e.message}` };
  if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
    return { status: 3, message: `source dropped: the connection failed: ${e.message}` };
  }
  return undefined;
}

/** Options of {@link listenForMigration}. */
export interface ListenOptions extends ReceiveOptions {
  /** Address to bind (default 127.0.0.1: loopback only unless told otherwise). */
  hostname?: string;
  /** Port (0 picks a free one). */
  port: number;
  /** After a refusal, read and discard the source's bytes this long (ms) so it reads the reason (default 2000). */
  drainMs?: number;
  /** Refuse a source that sends nothing for this long, ms (default 30000; 0: wait forever). */
  idleTimeoutMs?: number;
  /** Called with the source's address once it has connected. */
  onConnection?: (peer: string) => void;
}

/** Half-close, then discard input until the source stops or `ms` pass (so our refusal is not reset away). */
async function drain(conn: Deno.TcpConn, ms: number): Promise<void> {
  try {
    await conn.closeWrite();
  } catch { /* gone */ }
  const buf = new Uint8Array(65536);
  const deadline = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    while (performance.now() < deadline) {
      const n = await Promise.race([conn.read(buf), stop]);
      if (n === null) break;
    }
  } catch {
    /* reset */
  } finally {
    clearTimeout(timer);
  }
}

/** A destination waiting for a source. */
export interface MigrationListener {
  /** The bound address. */
  readonly hostname: string;
  /** The bound port. */
  readonly port: number;
  /**
   * Accept one source, receive and verify its stream, build the VM, confirm, and return it.
   * Rejects (after sending the refusal to the source) if anything is wrong.
   */
  accept(): Promise<ReceiveResult>;
  /** Stop listening. */
  close(): void;
}

/** Listen for one or more incoming migrations. */
export function listenForMigration(opts: ListenOptions): MigrationListener {
  const hostname = opts.hostname ?? "127.0.0.1";
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port: opts.port, transport: "tcp" });
  } catch (e) {
    throw new Error(`Cannot listen on ${hostname}:${opts.port}: ${(e as Error).message}`);
  }
  return {
    hostname,
    port: listener.addr.port,
    async accept() {
      const conn = await listener.accept();
      try {
        const peer = conn.remoteAddr;
        opts.onConnection?.(`${peer.hostname}:${peer.port}`);
        let result: ReceiveResult;
        try {
          result = await receiveStream(
            new RawReaderSource(conn, 1 << 20, opts.idleTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS),
            opts,
          );
        } catch (e) {
          const msg = (e as Error).message;
          await writeAll(conn, await encodeConfirmation(CONFIRM_REFUSED, msg, opts.key)).catch(() => {});
          await drain(conn, opts.drainMs ?? 2000);
          throw e;
        }
        const seen = result.lastRoundAtWallMs > 0
          ? `; downtime-seen-ms=${(wallClockMs() - result.lastRoundAtWallMs).toFixed(3)}`
          : "";
        await writeAll(conn, await encodeConfirmation(CONFIRM_ACCEPTED, `ok${seen}`, opts.key));
        return result;
      } finally {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
    },
  };
}

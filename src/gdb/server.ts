/**
 * The GDB server's TCP side: listens (on loopback unless told otherwise), serves one client at a
 * time, runs the guest while no client holds it stopped, and keeps the guest stopped and
 * reattachable when a client detaches or its connection drops.
 *
 * @module
 */

import { PacketReader, type RspEvent } from "./packet.ts";
import { GdbSession } from "./session.ts";
import type { DebugTarget } from "./target.ts";

/** Options of {@linkcode serveGdb}. */
export interface GdbServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (0: any free port). */
  port: number;
  /** Stop before the first instruction until a client attaches (`--gdb-wait`). */
  wait?: boolean;
  /** Where status lines go (default: stderr). */
  log?: (line: string) => void;
  /** Called after the guest ran for a while (to show its console output). */
  progress?: () => void;
  /** Called once the server listens, with its address. */
  listening?: (addr: Deno.NetAddr) => void;
}

/** How serving ended. */
export type ServeEnd = "finished" | "killed";

/** Whether `hostname` is a loopback address. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * Serves `target` to gdb clients until the guest has ended (and no client is attached) or a
 * client kills it. Throws a Deno error if the address cannot be listened on.
 */
export async function serveGdb(target: DebugTarget, opts: GdbServerOptions): Promise<ServeEnd> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const log = opts.log ?? ((line: string) => console.error(line));
  const listener = Deno.listen({ hostname, port: opts.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  log(
    `[hvsim] gdb: listening on ${addr.hostname}:${addr.port}` +
      (isLoopback(addr.hostname) ? " (loopback only)" : " (reachable from other hosts)") +
      `; attach with: gdb -ex "target remote ${addr.hostname}:${addr.port}" <guest.elf>`,
  );
  opts.listening?.(addr);
  let pending: Deno.Conn | null = null;
  let accepting = false;
  const acceptNext = () => {
    if (accepting || pending !== null) return;
    accepting = true;
    listener.accept().then((c) => {
      accepting = false;
      pending = c;
    }, () => {
      accepting = false;
    });
  };
  try {
    acceptNext();
    if (!opts.wait) {
      await target.runDetached(() => pending !== null, tick);
      opts.progress?.();
    }
    for (;;) {
      if (pending === null) {
        if (target.finished) return "finished";
        acceptNext();
        while (pending === null) await new Promise((r) => setTimeout(r, 20));
      }
      const conn: Deno.Conn = pending;
      pending = null;
      log(`[hvsim] gdb: client attached`);
      const end = await serveConnection(target, conn, opts.progress);
      log(
        `[hvsim] gdb: client ${
          end === "kill" ? "killed the guest" : end === "detach" ? "detached" : "disconnected"
        }`,
      );
      if (end === "kill") return "killed";
      if (target.finished) return "finished";
      acceptNext();
    }
  } finally {
    listener.close();
    const p = pending as Deno.Conn | null;
    if (p !== null) p.close();
  }
}

/** Serves one connection until the client detaches, kills the guest or goes away. */
async function serveConnection(
  target: DebugTarget,
  conn: Deno.Conn,
  progress?: () => void,
): Promise<"detach" | "kill" | "gone"> {
  const reader = new PacketReader();
  const queue: RspEvent[] = [];
  const state: { wake: (() => void) | null; closed: boolean; session: GdbSession | null } = {
    wake: null,
    closed: false,
    session: null,
  };
  // Reads the client's bytes as they come: an interrupt must be seen while the guest runs.
  const pump = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const ev of reader.feed(buf.subarray(0, n))) {
          if (ev.kind === "interrupt" && state.session !== null) state.session.interruptRequested = true;
          else queue.push(ev);
        }
        state.wake?.();
      }
    } catch {
      // A reset connection ends the session like a close.
    }
    state.closed = true;
    state.wake?.();
  })();
  const session = new GdbSession(
    target,
    async (bytes) => {
      if (!state.closed) {
        try {
          await writeAll(conn, bytes);
        } catch {
          state.closed = true;
        }
      }
    },
    tick,
    progress,
  );
  state.session = session;
  try {
    for (;;) {
      while (queue.length === 0 && !state.closed) await new Promise<void>((r) => state.wake = r);
      state.wake = null;
      const ev = queue.shift();
      if (ev === undefined) return "gone";
      await session.onEvent(ev);
      if (session.ended !== null) return session.ended;
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
    await pump;
  }
}

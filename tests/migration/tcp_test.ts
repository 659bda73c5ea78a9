import { equal, ok, rejects } from "node:assert/strict";
import { MigrationController } from "../../src/migration/controller.ts";
import { faultyTransport } from "../../src/migration/fault.ts";
import { RealTimeLink } from "../../src/migration/link.ts";
import {
  importStreamKey,
  RECORD_END,
  RECORD_HEADER_BYTES,
  RECORD_ROUND,
  RECORD_STATE_SECTION,
  STREAM_HEADER_BYTES,
} from "../../src/migration/stream.ts";
import {
  CONFIRM_REFUSED,
  connectMigration,
  encodeConfirmation,
  listenForMigration,
} from "../../src/migration/tcp.ts";
import type { TestVmOptions } from "./_test_vm.ts";
import { diffVms, runToEnd, TestVm } from "./_test_vm.ts";

const OPTS: TestVmOptions = {
  ramBytes: 4 << 20,
  workingSetPages: 200,
  writeEvery: 10_000,
  endAt: 20_000_000,
};
// Real time: the guest runs 10 M instructions per second spent sending.
const link = () => new RealTimeLink(1e7);

function counting(opts = OPTS) {
  const c = {
    created: 0,
    createVm: () => {
      c.created++;
      return TestVm.blank(opts);
    },
  };
  return c;
}

Deno.test("TCP migration on loopback: the destination confirms, then ends equal to an unmigrated run", async () => {
  const key = await importStreamKey(new TextEncoder().encode("a key of sixteen+ bytes"));
  for (const k of [undefined, key]) {
    const dest = counting();
    const l = listenForMigration({ port: 0, createVm: dest.createVm, key: k, expectRamBytes: OPTS.ramBytes });
    equal(l.hostname, "127.0.0.1");
    const src = new TestVm(OPTS);
    src.run(3_000_000);
    const accepted = l.accept();
    const r = await new MigrationController(src).migrate(await connectMigration({ port: l.port, key: k }), {
      link: link(),
      key: k,
    });
    ok(r.ok, r.error?.message);
    equal(r.stats.deterministic, false);
    const got = await accepted;
    l.close();
    equal(dest.created, 1);
    const d = got.vm as TestVm;
    runToEnd(d);
    const ref = new TestVm(OPTS);
    runToEnd(ref);
    equal(diffVms(d, ref), "");
  }
});

Deno.test("TCP: a refused stream reports the destination's reason and the source finishes", async () => {
  const table: [string, () => Promise<CryptoKey | undefined>, number | undefined, RegExp][] = [
    [
      "corrupt record",
      () => Promise.resolve(undefined),
      6,
      /Destination refused the migration: CRC32C mismatch in record 5/,
    ],
    [
      "wrong key",
      () => importStreamKey(new TextEncoder().encode("not the right key at all")),
      undefined,
      /Destination refused the migration: Stream header authentication failed/,
    ],
  ];
  const destKey = await importStreamKey(new TextEncoder().encode("the destination's key!!"));
  for (const [name, srcKey, corrupt, msg] of table) {
    const k = await srcKey();
    const dest = counting();
    const l = listenForMigration({
      port: 0,
      createVm: dest.createVm,
      key: k ? destKey : undefined,
      drainMs: 5000,
    });
    const src = new TestVm(OPTS);
    src.run(1_000);
    const accepted = l.accept();
    accepted.catch(() => {});
    let t = await connectMigration({ port: l.port, key: k ? destKey : undefined });
    if (corrupt !== undefined) t = faultyTransport(t, { corruptChunk: corrupt });
    const c = new MigrationController(src);
    const r = await c.migrate(t, { link: link(), key: k });
    equal(r.ok, false, name);
    ok(msg.test(r.error!.message), `${name}: ${r.error!.message}`);
    await rejects(accepted);
    l.close();
    equal(dest.created, 0, `${name}: no destination VM`);
    runToEnd(src);
    const ref = new TestVm(OPTS);
    runToEnd(ref);
    equal(diffVms(src, ref), "", name);
  }
});

Deno.test("TCP: a dropped connection fails the source cleanly and a retry succeeds", async () => {
  const dest = counting();
  const l = listenForMigration({ port: 0, createVm: dest.createVm });
  const src = new TestVm(OPTS);
  const c = new MigrationController(src);
  const first = l.accept();
  first.catch(() => {});
  const r = await c.migrate(
    faultyTransport(await connectMigration({ port: l.port }), { dropAtByte: 1_000_000 }),
    {
      link: link(),
    },
  );
  equal(r.ok, false);
  await rejects(first, /truncated/);
  equal(dest.created, 0);
  src.run(100_000);
  const second = l.accept();
  const r2 = await c.migrate(await connectMigration({ port: l.port }), { link: link() });
  ok(r2.ok, r2.error?.message);
  const d = (await second).vm as TestVm;
  l.close();
  runToEnd(d);
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  equal(diffVms(d, ref), "");
});

Deno.test("connectMigration() names the address it cannot reach", async () => {
  const l = listenForMigration({ port: 0, createVm: () => TestVm.blank(OPTS) });
  const port = l.port;
  l.close();
  await rejects(
    connectMigration({ port }),
    new RegExp(`Cannot connect to the migration destination 127.0.0.1:${port}`),
  );
});

Deno.test("listenForMigration() refuses a source that goes silent", async () => {
  const dest = counting();
  const l = listenForMigration({ port: 0, createVm: dest.createVm, idleTimeoutMs: 200, drainMs: 0 });
  const accepted = l.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  await conn.write(new Uint8Array([0x48, 0x56])); // two bytes of a header, then nothing
  await rejects(accepted, /no data from the other side for 200 ms/);
  conn.close();
  l.close();
  equal(dest.created, 0);
});

/** A fake destination: reads the whole stream, then answers with `answer` (or nothing) and closes. */
function fakeDestination(answer: Uint8Array | null): { port: number; done: Promise<number> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await l.accept();
    let total = 0;
    const buf = new Uint8Array(1 << 16);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) total += n;
    if (answer) await conn.write(answer);
    conn.close();
    l.close();
    return total;
  })();
  return { port: l.addr.port, done };
}

Deno.test("TCP: the source is complete only after a genuine confirmation", async () => {
  const key = await importStreamKey(new TextEncoder().encode("sixteen bytes at least"));
  const unsignedOk = new Uint8Array(14);
  const v = new DataView(unsignedOk.buffer);
  v.setUint32(0, 0x46435648, true); // "HVCF"
  v.setUint32(4, 0, true); // accepted
  v.setUint32(8, 2, true);
  unsignedOk.set([0x6f, 0x6b], 12); // "ok"
  const table: [string, Uint8Array | null, CryptoKey | undefined, RegExp][] = [
    ["no confirmation", null, undefined, /closed the connection without a confirmation/],
    ["garbage", new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n"), undefined, /not an hvsim confirmation/],
    ["forged (unsigned) confirmation", unsignedOk, key, /confirmation failed authentication/],
    // a hostile destination's words are printed on one line, control characters escaped
    [
      "a refusal with a newline and a terminal escape",
      await encodeConfirmation(CONFIRM_REFUSED, "line one\nline two \x1b[31mred"),
      undefined,
      /^Destination refused the migration: line one\\x0aline two \\x1b\[31mred$/,
    ],
  ];
  for (const [name, answer, k, msg] of table) {
    const fake = fakeDestination(answer);
    const src = new TestVm(OPTS);
    const c = new MigrationController(src);
    const r = await c.migrate(await connectMigration({ port: fake.port, key: k }), { link: link(), key: k });
    ok((await fake.done) > 0, name);
    equal(r.ok, false, name);
    equal(c.state, "Failed", name);
    ok(msg.test(r.error!.message), `${name}: ${r.error!.message}`);
  }
  // the same unsigned confirmation is accepted when no key is in use
  const fake = fakeDestination(unsignedOk);
  const r = await new MigrationController(new TestVm(OPTS)).migrate(
    await connectMigration({ port: fake.port }),
    {
      link: link(),
    },
  );
  ok(r.ok, r.error?.message);
  await fake.done;
});

/**
 * A misbehaving destination: takes the first `take` bytes of the stream (all: Infinity), then
 * closes the connection ("close") or keeps it open and reads nothing more ("stall").
 */
function badDestination(take: number, then: "close" | "stall"): { port: number; stop: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Deno.Conn | undefined;
  (async () => {
    conn = await l.accept();
    const buf = new Uint8Array(1 << 16);
    let got = 0;
    while (got < take) {
      const n = await conn.read(buf.subarray(0, Math.min(buf.length, take - got)));
      if (n === null) break;
      got += n;
    }
    if (then === "close") conn.close();
  })().catch(() => {});
  return {
    port: l.addr.port,
    stop() {
      l.close();
      try {
        conn?.close();
      } catch { /* closed */ }
    },
  };
}

Deno.test("TCP: a destination that stalls or disconnects at any step leaves the source intact and resumable", async () => {
  const table: [number, "close" | "stall", RegExp][] = [
    [0, "close", /failed|refused|closed/],
    [20, "close", /failed|refused|closed/],
    [40_000, "close", /failed|refused|closed/],
    [Infinity, "close", /closed the connection without a confirmation/],
    [0, "stall", /took no data for 300 ms|did not confirm within 300 ms/],
    [40_000, "stall", /took no data for 300 ms|did not confirm within 300 ms/],
    [Infinity, "stall", /did not confirm within 300 ms of the end of the stream/],
  ];
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  for (const [take, then, msg] of table) {
    const name = `${then} after ${take} bytes`;
    const bad = badDestination(take, then);
    const src = new TestVm(OPTS);
    src.run(1_000_000);
    const c = new MigrationController(src);
    const before = src.instructions;
    // A stall is found by the 300 ms timeout; a close must be found as a close, so its rows wait long
    // enough that a loaded machine never turns the close into a timeout.
    const timeoutMs = then === "stall" ? 300 : 30_000;
    const r = await c.migrate(await connectMigration({ port: bad.port, timeoutMs }), { link: link() });
    bad.stop();
    equal(r.ok, false, name);
    equal(c.state, "Failed", name);
    ok(msg.test(r.error!.message), `${name}: ${r.error!.message}`);
    ok(src.instructions >= before, name);
    // resumable: a second attempt to a real destination completes, and the guest ends as the reference
    const dest = counting();
    const l = listenForMigration({ port: 0, createVm: dest.createVm, expectRamBytes: OPTS.ramBytes });
    const accepted = l.accept();
    const r2 = await c.migrate(await connectMigration({ port: l.port }), { link: link() });
    ok(r2.ok, `${name}: retry: ${r2.error?.message}`);
    const d = (await accepted).vm as TestVm;
    l.close();
    runToEnd(d);
    equal(diffVms(d, ref), "", name);
  }
});

/**
 * A destination that follows the stream record by record (an unauthenticated stream) and, once the
 * `nth` record of type `type` has arrived whole, misbehaves: closes the connection, stops reading
 * ("stall"), or answers with a refusal and closes. `reached` says whether that record came.
 */
function phaseDestination(
  type: number,
  nth: number,
  then: "close" | "stall" | "refuse",
): { port: number; reached: Promise<boolean>; stop: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Deno.Conn | undefined;
  const reached = (async () => {
    const c = conn = await l.accept();
    let buf = new Uint8Array(0);
    const take = async (n: number): Promise<Uint8Array | null> => {
      const chunk = new Uint8Array(1 << 16);
      while (buf.length < n) {
        const k = await c.read(chunk);
        if (k === null) return null;
        const b = new Uint8Array(buf.length + k);
        b.set(buf);
        b.set(chunk.subarray(0, k), buf.length);
        buf = b;
      }
      const out = buf.slice(0, n);
      buf = buf.slice(n);
      return out;
    };
    if ((await take(STREAM_HEADER_BYTES)) === null) return false;
    let seen = 0;
    for (;;) {
      const h = await take(RECORD_HEADER_BYTES);
      if (h === null) return false;
      const v = new DataView(h.buffer);
      if ((await take(v.getUint32(4, true))) === null) return false;
      if (v.getUint16(0, true) === type && ++seen === nth) break;
    }
    if (then === "refuse") await c.write(await encodeConfirmation(CONFIRM_REFUSED, "no room for this guest"));
    if (then !== "stall") c.close();
    return true;
  })().catch(() => false);
  return {
    port: l.addr.port,
    reached,
    stop() {
      l.close();
      try {
        conn?.close();
      } catch { /* closed */ }
    },
  };
}

Deno.test("TCP: a destination that refuses, stalls or disconnects in pre-copy, in stop-and-copy or before confirming leaves the source intact and resumable", async () => {
  const failed = /failed|refused|closed/;
  const stalled = /took no data for 300 ms|did not confirm within 300 ms/;
  const table: [string, number, number, "close" | "stall" | "refuse", RegExp][] = [
    // the second pre-copy round's record: the guest runs on at the source while it pre-copies
    ["pre-copy round 2", RECORD_ROUND, 2, "close", failed],
    ["pre-copy round 2", RECORD_ROUND, 2, "stall", stalled],
    [
      "pre-copy round 2",
      RECORD_ROUND,
      2,
      "refuse",
      /Destination refused the migration: no room for this guest/,
    ],
    // the first state section: stop-and-copy, the source's guest paused, its last pages sent
    ["stop-and-copy", RECORD_STATE_SECTION, 1, "close", failed],
    ["stop-and-copy", RECORD_STATE_SECTION, 1, "stall", stalled],
    [
      "stop-and-copy",
      RECORD_STATE_SECTION,
      1,
      "refuse",
      /Destination refused the migration: no room for this guest/,
    ],
    // the end record: all of the stream sent, the confirmation still to come
    ["the end record", RECORD_END, 1, "close", /closed the connection without a confirmation/],
    ["the end record", RECORD_END, 1, "stall", /did not confirm within 300 ms of the end of the stream/],
  ];
  const ref = new TestVm(OPTS);
  runToEnd(ref);
  for (const [phase, type, nth, then, msg] of table) {
    const name = `${then} at ${phase}`;
    const bad = phaseDestination(type, nth, then);
    const src = new TestVm(OPTS);
    src.run(1_000_000);
    const c = new MigrationController(src);
    const before = src.instructions;
    const timeoutMs = then === "stall" ? 300 : 30_000;
    const r = await c.migrate(await connectMigration({ port: bad.port, timeoutMs }), { link: link() });
    equal(await bad.reached, true, `${name}: the stream reached that record`);
    bad.stop();
    equal(r.ok, false, name);
    equal(c.state, "Failed", name);
    ok(msg.test(r.error!.message), `${name}: ${r.error!.message}`);
    ok(!r.error!.message.includes("\n"), `${name}: one line`);
    ok(src.instructions >= before, name);
    // resumable: the guest runs on at the source, then moves to a real destination and ends as the reference
    src.run(50_000);
    const dest = counting();
    const l = listenForMigration({ port: 0, createVm: dest.createVm, expectRamBytes: OPTS.ramBytes });
    const accepted = l.accept();
    const r2 = await c.migrate(await connectMigration({ port: l.port }), { link: link() });
    ok(r2.ok, `${name}: retry: ${r2.error?.message}`);
    const d = (await accepted).vm as TestVm;
    l.close();
    equal(dest.created, 1, name);
    runToEnd(d);
    equal(diffVms(d, ref), "", name);
  }
});

import { equal, ok } from "node:assert/strict";
import { restoreFromFiles } from "../../src/migration/mod.ts";
import { MemorySink } from "../../src/migration/byte_io.ts";
import { PageSender } from "../../src/migration/ram_pages.ts";
import { encodeHeader, STREAM_FLAG_SNAPSHOT, StreamWriter } from "../../src/migration/stream.ts";
import { Machine } from "../../src/vm/machine.ts";

const root = new URL("../../", import.meta.url).pathname;
const GUEST = `${root}guests/build/hello.elf`;

/** Start `migrate --listen` on a free port with `args`; resolves once it says it is waiting. */
async function destination(args: string[]) {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/migrate.ts`, ...args, "--listen", `127.0.0.1:${port}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  let ready = () => {};
  const waiting = new Promise<void>((r) => (ready = r));
  const stderr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      err += dec.decode(chunk, { stream: true });
      if (err.includes("waiting for a migration")) ready();
    }
    ready();
  })();
  const stdout = new Response(child.stdout).text();
  await waiting;
  const done = async () => {
    const status = await child.status;
    await stderr;
    return { code: status.code, out: await stdout, err };
  };
  return { port, done };
}

/** Connect, send `bytes` (then half-close unless `stall`), and return what the destination answered. */
async function send(port: number, bytes: Uint8Array, stall = false): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    let o = 0;
    while (o < bytes.length) o += await conn.write(bytes.subarray(o));
    if (!stall) await conn.closeWrite();
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      chunks.push(...buf.subarray(0, n));
    }
    // "HVCF", status, message length, message (then a tag when the destination holds a key)
    const answer = new Uint8Array(chunks);
    const len = answer.length >= 12 ? new DataView(answer.buffer).getUint32(8, true) : 0;
    return new TextDecoder().decode(answer.subarray(12, 12 + len));
  } catch (e) {
    return String(e);
  } finally {
    conn.close();
  }
}

/** What `restore` says about the same bytes in a file (the words after "FILE: "). */
async function restoreSays(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    await restoreFromFiles((h) => new Machine({ memory: h.ramBytes }), path);
    return "accepted";
  } catch (e) {
    return (e as Error).message.slice(path.length + 2);
  } finally {
    await Deno.remove(path);
  }
}

/** A seeded byte generator (xorshift32), so the "random" bytes are the same on every run. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const noStack = (err: string) => ok(!/^\s+at /m.test(err) && !/Uncaught/.test(err), err);

Deno.test("migrate --listen: hostile, truncated, oversized and stalled sources get one line each; --keep-listening waits for the next", async () => {
  const dir = await Deno.makeTempDir();
  const snap = `${dir}/hello.snap`;
  const made = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/snapshot.ts`, GUEST, "--memory", "8M", "--at", "1000", "--out", snap],
    stdout: "null",
    stderr: "piped",
  }).output();
  equal(made.code, 0, new TextDecoder().decode(made.stderr));
  const valid = await Deno.readFile(snap);
  const flipped = valid.slice();
  flipped[valid.length >>> 1] ^= 0x10;
  const cases: [string, Uint8Array][] = [
    ["random bytes", randomBytes(5000, 20)],
    ["the first 3,000 bytes of a snapshot", valid.subarray(0, 3000)],
    ["a snapshot with one bit flipped", flipped],
    ["nothing at all", new Uint8Array(0)],
  ];
  const d = await destination([GUEST, "--memory", "8M", "--timeout", "1s", "--keep-listening"]);
  const expected: string[] = [];
  for (const [name, bytes] of cases) {
    const words = await restoreSays(bytes);
    ok(words !== "accepted", name);
    equal(await send(d.port, bytes), words, name);
    expected.push(`migrate: ${words}`);
  }
  // a header for 8 TiB of RAM: refused from the header alone
  const huge = await send(d.port, encodeHeader(2 ** 43, 0));
  equal(huge, "Stream is for 8388608 MiB of RAM but the destination has 8 MiB");
  expected.push(`migrate: ${huge}`);
  // a source that connects and stops sending
  equal(await send(d.port, valid.subarray(0, 100), true), "no data from the other side for 1000 ms");
  expected.push("migrate: source dropped: no data from the other side for 1000 ms");
  // then a good source: the destination takes it, runs it on and compares with the reference
  // (accepted: "ok", with the destination's view of the downtime after the stream's last round record)
  const accepted = await send(d.port, valid);
  ok(/^ok; downtime-seen-ms=[0-9]+\.[0-9]{3}$/.test(accepted), accepted);
  const out = await d.done();
  const err = out.err;
  equal(out.code, 0, err);
  noStack(err);
  const lines = err.split("\n").filter((l) => l.startsWith("migrate: "));
  equal(lines.join("\n"), expected.join("\n"));
  ok(/destination equals the unmigrated run/.test(err), err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("migrate --listen exits 2 for a refused stream, 3 for a stalled source, without a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/key`, new TextEncoder().encode("a shared secret of some length\n"));
  // an unauthenticated stream to a destination that holds a key
  let d = await destination(["--memory", "8M", "--key-file", `${dir}/key`]);
  equal(
    await send(d.port, encodeHeader(8 << 20, 0)),
    "Stream is not authenticated but a key was given: refusing an unsigned stream",
  );
  let out = await d.done();
  let err = out.err;
  equal(out.code, 2, err);
  noStack(err);
  ok(
    /^migrate: Stream is not authenticated but a key was given: refusing an unsigned stream$/m.test(err),
    err,
  );
  // a stream for more RAM than --memory, with no guest given: the destination takes at most --memory
  d = await destination(["--memory", "8M"]);
  equal(
    await send(d.port, encodeHeader(16 << 20, 0)),
    "Stream is for 16 MiB of RAM: this destination takes at most 8 MiB",
  );
  out = await d.done();
  equal(out.code, 2, out.err);
  // a stalled source
  d = await destination(["--memory", "8M", "--timeout", "500ms"]);
  await send(d.port, new Uint8Array([0x48, 0x56, 0x53]), true);
  out = await d.done();
  err = out.err;
  equal(out.code, 3, err);
  noStack(err);
  ok(/^migrate: source dropped: no data from the other side for 500 ms$/m.test(err), err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("migrate --to: a destination that cannot be reached, stalls or disconnects leaves the source running to its end", async () => {
  // nobody listens
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const run = async (p: number) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}src/cli/migrate.ts`,
        GUEST,
        "--memory",
        "8M",
        "--to",
        `127.0.0.1:${p}`,
        "--timeout",
        "500ms",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
  };
  const r1 = await run(port);
  equal(r1.code, 3, r1.err);
  noStack(r1.err);
  ok(
    /migration failed: Cannot connect to the migration destination .*; the source is intact and resumes/.test(
      r1.err,
    ),
    r1.err,
  );
  ok(/Hello/.test(r1.out), r1.out);
  // a destination that accepts and never reads or answers
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const c of l) held.push(c);
  })().catch(() => {});
  const r2 = await run(l.addr.port);
  l.close();
  for (const c of held) c.close();
  equal(r2.code, 3, r2.err);
  noStack(r2.err);
  ok(
    /migration failed: .*(took no data|did not confirm).*; the source is intact and resumes/.test(r2.err),
    r2.err,
  );
  equal(r2.out, r1.out);
  // destinations that disconnect: mid-stream (after 40 KB of pre-copy), and after the whole stream
  // without confirming
  for (const [take, said] of [[40_000, /failed|closed/], [Infinity, /without a confirmation/]] as const) {
    const d = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    (async () => {
      const c = await d.accept();
      const buf = new Uint8Array(1 << 16);
      for (let got = 0; got < take;) {
        const n = await c.read(buf.subarray(0, Math.min(buf.length, take - got)));
        if (n === null) break;
        got += n;
      }
      c.close();
    })().catch(() => {});
    const r3 = await run(d.addr.port);
    d.close();
    equal(r3.code, 3, r3.err);
    noStack(r3.err);
    ok(said.test(r3.err), r3.err);
    ok(/migration failed: .*; the source is intact and resumes/.test(r3.err), r3.err);
    equal(r3.out, r1.out);
  }
});

Deno.test("migrate --to --report: the source writes the report with its own view of the downtime; the destination states its view", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dst = await destination([GUEST, "--memory", "8M"]);
    const file = `${dir}/tcp.html`;
    const src = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}src/cli/migrate.ts`,
        GUEST,
        "--memory",
        "8M",
        "--at",
        "1000",
        "--to",
        `127.0.0.1:${dst.port}`,
        "--json",
        "--report",
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = await dst.done();
    equal(src.code, 0, new TextDecoder().decode(src.stderr));
    equal(d.code, 0, d.err);
    const report = JSON.parse(new TextDecoder().decode(src.stdout)).report;
    equal(report.link.deterministic, false);
    // Both ends' wall-clock views: the source's (pause to confirmation) and the destination's, sent back
    // with its confirmation (stop-and-copy round record to confirming), which lies inside the source's.
    equal(report.downtime.wall.length, 2);
    ok(/as the source saw it/.test(report.downtime.wall[0].label));
    ok(/as the destination saw it/.test(report.downtime.wall[1].label));
    ok(report.downtime.wall[1].ms > 0 && report.downtime.wall[1].ms <= report.downtime.wall[0].ms);
    const html = await Deno.readTextFile(file);
    equal(html.match(/<g class="round/g)?.length, report.rounds.length);
    ok(/downtime as this destination saw it: [0-9.]+ ms/.test(d.err), d.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore and migrate --listen refuse a state the machine cannot take with the same line, status 2", async () => {
  // a complete, well-formed snapshot whose "machine" section claims an exit no run can have
  const m = Machine.fromElf(await Deno.readFile(GUEST), { memory: 8 << 20 });
  m.run(1000);
  const sink = new MemorySink();
  const w = await StreamWriter.open(sink, { ramBytes: m.ramBytes, flags: STREAM_FLAG_SNAPSHOT });
  const pages = new PageSender(w, m, 64);
  const all = new Uint32Array(m.ramBytes / 4096).map((_, i) => i);
  for (let i = 0; i < all.length; i += 64) await pages.sendRecord(all, i, 64);
  for (const s of m.saveState()) {
    const data = s.name === "machine"
      ? new TextEncoder().encode(
        JSON.stringify({ ramBytes: m.ramBytes, exit: { reason: "zzz" }, exitCounts: [] }),
      )
      : s.data;
    await w.writeSection({ ...s, data });
  }
  await w.writeEnd();
  const bytes = sink.bytes();
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, bytes);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/restore.ts`, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  equal(r.code, 2, err);
  noStack(err);
  const words =
    'Destination refused the VM state: state section "machine" has an invalid exit {"reason":"zzz"}';
  equal(err.trim(), `restore: ${path}: ${words}`);
  const d = await destination([GUEST, "--memory", "8M"]);
  equal(await send(d.port, bytes), words);
  const out = await d.done();
  equal(out.code, 2, out.err);
  ok(out.err.includes(`\nmigrate: ${words}\n`), out.err);
  await Deno.remove(path);
});

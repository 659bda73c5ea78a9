import { deepEqual, equal, ok } from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;
const GUEST = `${root}guests/build/hash.elf`;

/** Run a CLI file with `args`; return its status and output. */
async function cli(file: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}src/cli/${file}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

Deno.test("migrate --json migrates in one process and reports equality, QEMU statistics and the reference", async () => {
  const r = await cli("migrate.ts", [
    GUEST,
    "--memory",
    "16M",
    "--at",
    "2M",
    "--bandwidth",
    "200mbit",
    "--json",
  ]);
  equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  equal(j.equal, true);
  equal(j.migration.status, "completed");
  for (const k of ["total-time", "setup-time", "downtime", "expected-downtime", "ram"]) {
    ok(k in j.migration, k);
  }
  equal(j.instructions, j.reference.instructions);
  equal(j.digest, j.reference.digest);
  equal(j.console, j.reference.console);
  ok(j.console.includes("hash: all test vectors verified"));
  // the same run through `run` (without dirty tracking, the way the reference runs) gives the same digest
  const run = await cli("run.ts", [GUEST, "--memory", "16M", "--json", "--no-dirty-tracking"]);
  equal(JSON.parse(run.out).digest, j.reference.digest);
});

Deno.test("migrate refuses bad input with one line and status 2", async () => {
  const table: [string[], RegExp][] = [
    [[], /expected a guest ELF file/],
    [[GUEST, "--policy", "postcopy"], /bad --policy "postcopy": expected one of qemu, seed, xen/],
    [[GUEST, "--bandwidth", "fast"], /Bad bandwidth "fast"/],
    [[GUEST, "--to", "host:port"], /bad --to "host:port": expected HOST:PORT/],
    [[GUEST, "--to", "1", "--listen", "2"], /either --to or --listen/],
    [[GUEST, "--key-file", "/nonexistent/key"], /Cannot read key file \/nonexistent\/key/],
  ];
  for (const [args, msg] of table) {
    const r = await cli("migrate.ts", args);
    equal(r.code, 2, args.join(" "));
    ok(msg.test(r.err), `${args.join(" ")}: ${r.err}`);
    equal(r.err.trim().split("\n").length, 1, "one line");
  }
});

Deno.test("snapshot, inspect and restore: the restored guest ends as the unmigrated run", async () => {
  const dir = await Deno.makeTempDir();
  const snap = `${dir}/h.snap`;
  const s = await cli("snapshot.ts", [GUEST, "--memory", "16M", "--at", "3M", "--out", snap]);
  equal(s.code, 0, s.err);
  const i = await cli("inspect.ts", [snap]);
  equal(i.code, 0, i.err);
  ok(i.out.startsWith("HVSM stream version 1.0, page size 4096, RAM 16 MiB"));
  ok(/^OK: \d+ records/m.test(i.out));
  const r = await cli("restore.ts", [snap, "--json"]);
  equal(r.code, 0, r.err);
  const restored = JSON.parse(r.out);
  equal(restored.restoredAt, 3_000_000);
  const run = JSON.parse(
    (await cli("run.ts", [GUEST, "--memory", "16M", "--json", "--no-dirty-tracking"])).out,
  );
  deepEqual([restored.instructions, restored.console, restored.digest], [
    run.instructions,
    run.console,
    run.digest,
  ]);
  const lazy = JSON.parse((await cli("restore.ts", [snap, "--json", "--lazy"])).out);
  deepEqual([lazy.restoredAt, lazy.instructions, lazy.console, lazy.digest], [
    3_000_000,
    run.instructions,
    run.console,
    run.digest,
  ]);
  // an authenticated snapshot cannot be restored lazily: one line, status 2
  await Deno.writeFile(`${dir}/key`, new TextEncoder().encode("a shared secret of some length\n"));
  const ks = await cli("snapshot.ts", [
    GUEST,
    "--memory",
    "16M",
    "--at",
    "1M",
    "--key-file",
    `${dir}/key`,
    "--out",
    `${dir}/k.snap`,
  ]);
  equal(ks.code, 0, ks.err);
  const kl = await cli("restore.ts", [`${dir}/k.snap`, "--lazy", "--key-file", `${dir}/key`]);
  equal(kl.code, 2);
  ok(
    /^restore: .*k\.snap: Stream is authenticated \(HMAC-SHA256\): it cannot be restored lazily/.test(kl.err),
    kl.err,
  );
  equal(kl.err.trim().split("\n").length, 1, "one line");
  // damage one byte: inspect says so (status 1), restore refuses with one line (status 2)
  const b = await Deno.readFile(snap);
  b[200] ^= 1;
  await Deno.writeFile(`${dir}/bad.snap`, b);
  const bi = await cli("inspect.ts", [`${dir}/bad.snap`, "--summary"]);
  equal(bi.code, 1);
  ok(/crc BAD/.test(bi.out));
  const br = await cli("restore.ts", [`${dir}/bad.snap`]);
  equal(br.code, 2);
  ok(/^restore: .*bad\.snap: CRC32C mismatch in record 1 \(ram-pages\) at offset 56/.test(br.err), br.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("snapshot --diff-at writes a diff chain that restore takes back, lazily too", async () => {
  const dir = await Deno.makeTempDir();
  const snap = `${dir}/c.snap`;
  const s = await cli("snapshot.ts", [
    GUEST,
    "--memory",
    "16M",
    "--at",
    "1M",
    "--diff-at",
    "2M,3M",
    "--out",
    snap,
  ]);
  equal(s.code, 0, s.err);
  equal(s.err.trim().split("\n").length, 3, s.err);
  ok(/diff snapshot of .* at 3000000 instructions written to .*c\.snap\.2/.test(s.err), s.err);
  // The full snapshot describes all 4096 pages of 16 MiB; a diff only the pages written since.
  const pages = [...s.err.matchAll(/\((\d+) pages with data, (\d+) zero pages/g)].map((x) => +x[1] + +x[2]);
  equal(pages[0], 4096);
  ok(pages[1] > 0 && pages[1] < 100 && pages[2] > 0 && pages[2] < 100, `${pages}`);
  const run = JSON.parse(
    (await cli("run.ts", [GUEST, "--memory", "16M", "--json", "--no-dirty-tracking"])).out,
  );
  for (const extra of [[], ["--lazy"]]) {
    const r = await cli("restore.ts", [snap, `${snap}.1`, `${snap}.2`, "--json", ...extra]);
    equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    deepEqual([j.restoredAt, j.instructions, j.console, j.digest], [
      3_000_000,
      run.instructions,
      run.console,
      run.digest,
    ]);
  }
  const bad = await cli("snapshot.ts", [GUEST, "--at", "2M", "--diff-at", "3M,1M", "--out", `${dir}/x`]);
  equal(bad.code, 2);
  ok(/^snapshot: bad --diff-at "3M,1M": each count must be above the one before it/.test(bad.err), bad.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("migrate --listen / --to move a guest between two processes with an authenticated stream", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/key`, new TextEncoder().encode("a shared secret of some length\n"));
  // pick a free port, then give it to the listening process
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const listener = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}src/cli/migrate.ts`,
      GUEST,
      "--memory",
      "16M",
      "--listen",
      `127.0.0.1:${port}`,
      "--key-file",
      `${dir}/key`,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let src: { code: number; out: string; err: string } | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    await new Promise((r) => setTimeout(r, 200));
    src = await cli("migrate.ts", [
      GUEST,
      "--memory",
      "16M",
      "--at",
      "1M",
      "--to",
      `127.0.0.1:${port}`,
      "--key-file",
      `${dir}/key`,
      "--json",
    ]);
    if (!/Cannot connect/.test(src.err)) break;
  }
  equal(src!.code, 0, src!.err);
  equal(JSON.parse(src!.out).migration.status, "completed");
  const l = await listener.output();
  equal(l.code, 0, new TextDecoder().decode(l.stderr));
  const j = JSON.parse(new TextDecoder().decode(l.stdout));
  equal(j.equal, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("migrate --report writes the HTML report; --json carries its rounds and per-page counts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/migration.html`;
    const args = [GUEST, "--memory", "16M", "--at", "2M", "--bandwidth", "200mbit", "--policy", "xen"];
    const r = await cli("migrate.ts", [...args, "--json", "--report", file]);
    equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const rep = j.report;
    equal(rep.version, 1);
    equal(rep.equal, true);
    equal(rep.policy.name, "xen");
    deepEqual(rep.rounds.map((x: { pages: number }) => x.pages), j.migration["pages-per-round"]);
    equal(rep.instructions.destinationEnd, j.instructions);
    equal(rep.instructions.referenceEnd, j.reference.instructions);
    ok(rep.pages.runs.length > 0 && rep.pages.dirtied > 0);
    ok(rep.regions.some((x: { kind: string }) => x.kind === "page-tables"));
    ok(rep.downtime.wall.length === 1 && rep.downtime.wall[0].ms > 0);
    const html = await Deno.readTextFile(file);
    ok(html.startsWith("<!DOCTYPE html>"));
    equal(html.match(/<g class="round/g)?.length, rep.rounds.length);
    ok(html.includes("--report"), "the command line is in the facts");
    const bad = await cli("migrate.ts", [...args, "--report", `${dir}/missing/migration.html`]);
    equal(bad.code, 2);
    equal(bad.err.trim().split("\n").at(-1)?.startsWith("migrate: cannot write the report"), true, bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot --diff-at --report writes a report of the chain; --json lists the pages each diff holds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli("snapshot.ts", [
      GUEST,
      "--memory",
      "16M",
      "--at",
      "1M",
      "--diff-at",
      "2M,3M",
      "--out",
      `${dir}/s`,
      "--json",
      "--report",
      `${dir}/chain.html`,
    ]);
    equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    equal(j.length, 3);
    equal(j[0]["page-runs"], undefined, "the first snapshot is full");
    for (const s of j.slice(1)) {
      const held = s["page-runs"].reduce((n: number, [, len]: number[]) => n + len, 0);
      equal(held, s["pages-per-round"][0], "a diff holds exactly the pages it sent");
    }
    const html = await Deno.readTextFile(`${dir}/chain.html`);
    equal(html.match(/<g class="round/g)?.length, 3);
    ok(html.includes("diff snapshot 2"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

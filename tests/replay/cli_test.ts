import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { LOG_RECORD_INPUT } from "../../src/replay/log.ts";
import { editRecord } from "./_tamper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ENTROPY = `${ROOT}guests/build/entropy.elf`;
const HELLO = `${ROOT}guests/build/hello.elf`;

async function cli(
  name: "record" | "replay",
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}src/cli/${name}.ts`, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

const dir = await Deno.makeTempDir({ prefix: "hvsim-replay-cli-" });
Deno.test.afterAll(() => Deno.remove(dir, { recursive: true }));
const log = `${dir}/entropy.hvlog`;
const input = `${dir}/input.txt`;
await Deno.writeTextFile(input, "Barbara Liskov\n");
const recorded = await cli("record", [
  ENTROPY,
  "--log",
  log,
  "--serial-input",
  input,
  "--checkpoint",
  "2000",
]);

Deno.test("record writes a log from host entropy and a serial file, and replay reproduces the output", async () => {
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.match(recorded.stdout, /^entropy: source rdrand \(hvsim\)\n/);
  assert.match(recorded.stdout, /serial: 14 bytes "Barbara Liskov"\n/);
  assert.match(recorded.stderr, /recorded \d+ instructions .*: 19 inputs, \d+ checkpoints/);
  const r = await cli("replay", [log]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, recorded.stdout);
  assert.match(r.stderr, /replay matched the log: \d+ instructions .* 19 inputs; digest [0-9a-f]{64}/);
});

Deno.test("record --serial-input - reads COM1's bytes from stdin; replay --json reports the match", async () => {
  const path = `${dir}/stdin.hvlog`;
  const rec = await cli("record", [
    ENTROPY,
    "--log",
    path,
    "--serial-input",
    "-",
    "--entropy",
    "seed",
    "--json",
  ], "Tu\n");
  assert.equal(rec.code, 0, rec.stderr);
  const a = JSON.parse(rec.stdout);
  assert.match(a.console, /serial: 2 bytes "Tu"/);
  // --entropy seed: the same values a plain run draws (guests/entropy/oracle.py).
  assert.match(a.console, /rdrand\[0\] 0x8cb8da1ba4bb182d\n/);
  assert.equal(a.log.inputs, 4 + 3);
  const rep = await cli("replay", [path, "--json"]);
  assert.equal(rep.code, 0, rep.stderr);
  const b = JSON.parse(rep.stdout);
  assert.equal(b.ok, true);
  assert.equal(b.digest, a.digest);
  assert.equal(b.instructions, a.instructions);
  assert.equal(b.console, a.console);
  assert.equal(b.divergence, null);
});

Deno.test("replay of a tampered log exits 1 and names the first differing instruction", async () => {
  const bad = `${dir}/tampered.hvlog`;
  await Deno.writeFile(
    bad,
    editRecord(await Deno.readFile(log), LOG_RECORD_INPUT, 1, (_p, v) => v.setUint8(16, v.getUint8(16) ^ 4)),
  );
  const r = await cli("replay", [bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^replay diverged from the log: /);
  assert.match(r.stderr, /\n {2}first differing instruction: icount \d+ at 0x[0-9a-f]+: rdrand r[a-z0-9]+\n/);
});

Deno.test("replay refuses a damaged log, a foreign file and the wrong guest with one line and exit 2", async () => {
  const bytes = await Deno.readFile(log);
  const cases: [string, Uint8Array | null, string[], RegExp][] = [
    [
      "flipped",
      (() => {
        const b = bytes.slice();
        b[b.length - 30] ^= 1;
        return b;
      })(),
      [],
      /^replay: .*: CRC32C mismatch in record \d+ \(end\)/,
    ],
    ["truncated", bytes.subarray(0, bytes.length - 100), [], /Replay log truncated in record/],
    ["elf", await Deno.readFile(HELLO), [], /Not an hvsim replay log: magic is "\?ELF", expected "HVRL"/],
    ["guest", bytes, ["--guest", HELLO], /recorded with another guest/],
  ];
  for (const [name, b, extra, re] of cases) {
    const path = `${dir}/${name}.hvlog`;
    await Deno.writeFile(path, b!);
    const r = await cli("replay", [path, ...extra]);
    assert.equal(r.code, 2, name);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line`);
  }
  const missing = await cli("record", [ENTROPY]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^record: missing --log FILE/);
  const badEntropy = await cli("record", [ENTROPY, "--log", `${dir}/x.hvlog`, "--entropy", "dice"]);
  assert.equal(badEntropy.code, 2);
  assert.match(badEntropy.stderr, /bad --entropy "dice": expected host, seed or seed:N/);
});

Deno.test("replay --seek prints the state a plain run has at that instruction", async () => {
  const path = `${dir}/hello.hvlog`;
  const rec = await cli("record", [
    HELLO,
    "--log",
    path,
    "--checkpoint",
    "1000",
    "--cmdline",
    "greeting=hi",
    "--entropy",
    "seed",
  ]);
  assert.equal(rec.code, 0, rec.stderr);
  const r = await cli("replay", [path, "--seek", "2500", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout).seek;
  const plain = Machine.fromElf(await Deno.readFile(HELLO), { cmdline: "greeting=hi" });
  plain.run(2500);
  assert.equal(s.instruction, 2500);
  assert.equal(s.snapshot, 2000);
  assert.equal(s.snapshotSource, "log");
  assert.deepEqual(s.regs, plain.regs());
  assert.equal(s.digest, plain.digest());
  assert.equal(s.console, plain.consoleText());
  const text = await cli("replay", [path, "--seek", "2500"]);
  assert.match(
    text.stdout,
    /^state at instruction 2500 \(from the log's snapshot at 2000\):\n {2}next instruction: 0x[0-9a-f]+: /,
  );
});

Deno.test("replay --info lists what the log holds", async () => {
  const r = await cli("replay", [log, "--info"]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.version, "2.0");
  assert.equal(info.guest.path, ENTROPY);
  assert.deepEqual(info.inputs, { rdrand: 3, rdseed: 1, serial: 15 });
  assert.equal(info.intervals.checkpoint, 2000);
  assert.equal(info.checkpoints.at(-1).icount, info.end.icount);
  assert.equal(info.end.reason, "debug-exit");
});

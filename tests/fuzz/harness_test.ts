import { deepEqual, equal, notDeepEqual, ok } from "node:assert/strict";
import { caseInput } from "../../src/fuzz/cases.ts";
import { loadSurface, surfaceNames } from "../../src/fuzz/registry.ts";
import { resealStream, streamStructure } from "../../src/fuzz/stream_format.ts";
import { receiveStream } from "../../src/migration/receiver.ts";
import { StreamError } from "../../src/migration/stream.ts";
import { Machine } from "../../src/vm/machine.ts";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("every file in src/fuzz/surfaces is a surface under its own name", async () => {
  const names = surfaceNames();
  for (const n of ["elf", "gdb", "replay-log", "snapshot-chain", "stream-file", "stream-tcp", "vmcs-dump"]) {
    ok(names.includes(n), n);
  }
  for (const n of names) equal((await loadSurface(n)).name, n);
});

Deno.test("a case is the same input for the same seed and index, another for another", async () => {
  const s = await loadSurface("stream-file");
  const corpus = await s.corpus();
  const again = await s.corpus();
  deepEqual(corpus, again, "the corpus is made the same way every time");
  for (let i = 0; i < 20; i++) deepEqual(caseInput(s, corpus, 7, i), caseInput(s, again, 7, i));
  notDeepEqual(caseInput(s, corpus, 7, 3), caseInput(s, corpus, 8, 3));
});

Deno.test("resealing makes a stream whose fields were changed pass its CRC and index checks again", async () => {
  const s = await loadSurface("stream-file");
  const [snap] = await s.corpus();
  // swap two records and change a descriptor: without resealing the reader stops at the first CRC
  const st = streamStructure(snap);
  ok(st.records.length > 4);
  const b = snap.slice();
  const addr = st.fields.find((f) => f.kind === "address")!;
  b[addr.offset] ^= 1;
  const createVm = () => new Machine({ memory: 8 << 20 });
  const before = await receiveStream(b, { createVm }).catch((e) => e);
  ok(before instanceof StreamError && /CRC32C mismatch/.test(before.message), String(before));
  // resealed, the same change reaches the check behind the CRC (every page must arrive)
  const after = await receiveStream(resealStream(b), { createVm }).catch((e) => e);
  ok(
    after instanceof StreamError && /Stream is incomplete: page \d+ never arrived/.test(after.message),
    String(after),
  );
  // and the unchanged snapshot resealed is still the same valid snapshot
  deepEqual(resealStream(snap), snap);
});

Deno.test("deno task fuzz: a summary line per surface; a hang is caught, saved and replayable", async () => {
  const out = await Deno.makeTempDir();
  const fuzz = async (args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}src/cli/fuzz.ts`, ...args, "--out", out, "--quiet"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
  };
  const ok1 = await fuzz(["vmcs-dump", "--cases", "40", "--seed", "3"]);
  equal(ok1.code, 0, ok1.err);
  ok(
    /^vmcs-dump\s+40 cases\s+\d+ ran\s+\d+ refused\s+0 crashes\s+0 hangs\s+0 over memory\s+slowest \d+ ms \(case \d+\), most CPU \d+ ms/m
      .test(ok1.out),
    ok1.out,
  );
  // the same cases split over three case processes end the same way: each case depends only on
  // the seed and its number
  const counts = (o: string) => /(\d+) cases\s+(\d+) ran\s+(\d+) refused/.exec(o)?.slice(1);
  const ok3 = await fuzz(["vmcs-dump", "--cases", "40", "--seed", "3", "--jobs", "3"]);
  equal(ok3.code, 0, ok3.err);
  deepEqual(counts(ok3.out), counts(ok1.out));
  // every case "hangs" with a bound of 0 ms (a replay takes longer): the case
  // process is killed, each case saved
  const hung = await fuzz(["replay-log", "--cases", "2", "--case-timeout", "0ms"]);
  equal(hung.code, 1, hung.err);
  ok(/2 hangs/.test(hung.out), hung.out);
  const repro = `${out}/replay-log-seed1-case1.bin`;
  ok((await Deno.stat(repro)).size > 0);
  ok(
    /^hang in surface replay-log, seed 1, case 1/.test(
      await Deno.readTextFile(`${out}/replay-log-seed1-case1.txt`),
    ),
  );
  const again = await fuzz(["replay-log", "--replay", repro]);
  equal(again.code, 0, again.err);
  ok(/^(accepted|refused) in [\d.]+ ms: /.test(again.out), again.out);
  const bad = await fuzz(["no-such-surface"]);
  equal(bad.code, 2);
  ok(/^fuzz: unknown fuzzing surface "no-such-surface": expected one of .*elf/.test(bad.err), bad.err);
  await Deno.remove(out, { recursive: true });
});

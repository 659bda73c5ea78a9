import assert from "node:assert/strict";
import { Machine } from "../../src/vm/mod.ts";
import { GPR_NAMES } from "../../src/cpu/mod.ts";
import {
  assertSameRun,
  ByteInput,
  readLog,
  recordGuest,
  Replayer,
  replayGuest,
} from "../../src/replay/mod.ts";
import { LOG_RECORD_CHECKPOINT, LOG_RECORD_INPUT, LOG_RECORD_SNAPSHOT } from "../../src/replay/log.ts";
import { MAX_KEPT_SNAPSHOTS } from "../../src/replay/replayer.ts";
import { editPoint, editRecord } from "./_tamper.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const read = (p: string) => Deno.readFileSync(ROOT + p);
const ENTROPY = read("guests/build/entropy.elf");

/** A recording of the entropy guest with host entropy and a serial line. */
function recordEntropy(line: string, extra: Parameters<typeof recordGuest>[1] = {}) {
  const input = new ByteInput(new TextEncoder().encode(line));
  return recordGuest(ENTROPY, {
    entropy: "host",
    serialInput: () => input.next(),
    checkpointInterval: 5000,
    traceInterval: 1024,
    memoryInterval: 2048,
    ...extra,
  });
}

Deno.test("recordGuest() logs host entropy and serial input, and replayGuest() reproduces the run", () => {
  const a = recordEntropy("Grace Hopper\n"), b = recordEntropy("Grace Hopper\n");
  assert.match(
    a.result.console,
    /serial: 12 bytes "Grace Hopper"\nmix: 0x[0-9a-f]{16}\nhello, Grace Hopper: /,
  );
  // Host entropy: two recordings differ (with probability 1 - 2^-256), each replays exactly.
  assert.notEqual(a.result.console, b.result.console);
  for (const r of [a, b]) {
    const rep = replayGuest(r.log!, ENTROPY);
    assert.ok(rep.ok, rep.divergence?.report);
    assertSameRun(r.result, rep.result, ["recorded", "replayed"]);
    assert.equal(rep.inputsReplayed, 4 + 12 + 1);
  }
});

Deno.test("a changed RDRAND value in the log is caught and the RDRAND instruction named", () => {
  const r = recordEntropy("x\n");
  const log = readLog(r.log!);
  for (const nth of [0, 2]) {
    const input = log.inputs[nth];
    const bad = editRecord(
      r.log!,
      LOG_RECORD_INPUT,
      nth,
      (_p, v) => v.setUint32(16, v.getUint32(16, true) ^ 0x100, true),
    );
    const rep = replayGuest(bad, ENTROPY);
    assert.equal(rep.ok, false);
    const d = rep.divergence!;
    assert.equal(d.instruction!.icount, input.icount);
    assert.match(d.instruction!.text, /^rdrand r[a-z0-9]+$/);
    assert.match(d.report, /first differing instruction: icount \d+ at 0x[0-9a-f]+: rdrand/);
    assert.ok(d.registers.length > 0 || d.pages.length > 0);
  }
});

Deno.test("a changed serial byte in the log is caught and the IN instruction named", () => {
  const r = recordEntropy("Ada\n");
  const log = readLog(r.log!);
  const nth = log.inputs.findIndex((x) => x.value === BigInt("d".charCodeAt(0)));
  const bad = editRecord(r.log!, LOG_RECORD_INPUT, nth, (p) => (p[16] = "D".charCodeAt(0)));
  const d = replayGuest(bad, ENTROPY).divergence!;
  assert.equal(d.instruction!.icount, log.inputs[nth].icount);
  assert.match(d.instruction!.text, /^in\b/);
  // The byte goes to AL and on into the guest's line buffer.
  assert.ok(
    d.registers.some((x) => x.name === "rax" && x.recorded.endsWith("64") && x.replayed.endsWith("44")),
  );
});

Deno.test("an input moved to another instruction count is caught where the replay departs", () => {
  const r = recordEntropy("");
  const log = readLog(r.log!);
  const bad = editRecord(
    r.log!,
    LOG_RECORD_INPUT,
    1,
    (_p, v) => v.setUint32(8, v.getUint32(8, true) + 3, true),
  );
  const d = replayGuest(bad, ENTROPY).divergence!;
  assert.match(d.reason, /RDRAND but the log's next entropy input is at instruction \d+/);
  assert.equal(d.instruction!.icount, log.inputs[1].icount);
  assert.match(d.instruction!.text, /^rdrand/);
});

Deno.test("a changed checkpoint digest is reported as an altered log, naming the instruction before it", () => {
  const r = recordEntropy("hi\n");
  const ck = readLog(r.log!).checkpoints[0];
  const bad = editRecord(r.log!, LOG_RECORD_CHECKPOINT, 0, (p) => (p[8] ^= 0x80));
  const d = replayGuest(bad, ENTROPY).divergence!;
  assert.match(
    d.reason,
    /checkpoint digest at instruction \d+ differs, but its CPU, device and RAM hashes all match/,
  );
  assert.equal(d.instruction!.icount, ck.icount - 1);
  const part = editRecord(r.log!, LOG_RECORD_CHECKPOINT, 0, (p) => (p[72] ^= 0x80));
  assert.match(
    replayGuest(part, ENTROPY).divergence!.reason,
    /differs in: device state .*; and the log's digest does not cover its own parts/,
  );
});

/**
 * Oracle for the bisection: steps a plain machine from `from` to `to` and returns, for each
 * item `read` gives (as 32-bit words), the instruction count of the last change, or -1 when the
 * item never changed or held its final value before that change too (then "the last writer" is
 * ambiguous).
 */
function lastChanges(
  elf: Uint8Array,
  cmdline: string,
  from: number,
  to: number,
  read: (m: Machine) => Uint32Array[],
): number[] {
  const same = (a: Uint32Array, b: Uint32Array) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  const end = Machine.fromElf(elf, { cmdline });
  end.run(to);
  const final = read(end).map((x) => x.slice());
  const m = Machine.fromElf(elf, { cmdline });
  m.run(from);
  const prev = read(m).map((x) => x.slice());
  const last = prev.map(() => -1), finalSeen = prev.map((x, i) => (same(x, final[i]) ? [0] : [] as number[]));
  for (let k = 1; m.instructions < to; k++) {
    m.run(1);
    const cur = read(m);
    cur.forEach((x, i) => {
      if (!same(x, prev[i])) {
        last[i] = k - 1;
        prev[i] = x.slice();
      }
      if (same(x, final[i])) finalSeen[i].push(k);
    });
  }
  return last.map((l, i) => (l < 0 || finalSeen[i].some((k) => k <= l) ? -1 : from + l));
}

const SORT = read("guests/build/sort-O3.elf");
const SORT_CMD = "n=3000 seed=7";
const sortRec = recordGuest(SORT, {
  cmdline: SORT_CMD,
  checkpointInterval: 200_000,
  traceInterval: 4096,
  memoryInterval: 16384,
});
const sortLog = readLog(sortRec.log!);
const sortTarget = sortLog.points.find((p) => p.memory && p.icount >= 300_000 && p.pages.length > 0)!;
const sortStart = sortLog.points.filter((p) => p.memory && p.icount < sortTarget.icount).at(-1)!.icount;

Deno.test("a changed register in a fine point names the last instruction that wrote it (checked by stepping)", () => {
  const changes = lastChanges(SORT, SORT_CMD, sortStart, sortTarget.icount, (m) => {
    const out: Uint32Array[] = [];
    for (let r = 0; r < 16; r++) out.push(m.cpu.gpr.subarray(2 * r, 2 * r + 2));
    return out;
  });
  const r = changes.findIndex((c) => c >= 0);
  assert.ok(r >= 0, "some register changes in the window");
  const bad = editPoint(sortRec.log!, sortTarget.icount, (v, at) => {
    v.setUint32(at + 16 + 8 * r, v.getUint32(at + 16 + 8 * r, true) ^ 1, true);
  });
  const d = replayGuest(bad, SORT).divergence!;
  assert.deepEqual(d.registers.map((x) => x.name), [GPR_NAMES[r]]);
  assert.equal(d.detectedAt, sortTarget.icount);
  assert.equal(d.instruction!.icount, changes[r]);
  assert.match(d.report, new RegExp(`first differing instruction: icount ${changes[r]} at 0x[0-9a-f]+: `));
});

Deno.test("a changed page hash in a memory point names the page and the last instruction that wrote it", () => {
  const pfns = [...sortTarget.pages].filter((_, i) => i % 2 === 0);
  const changes = lastChanges(
    SORT,
    SORT_CMD,
    sortStart,
    sortTarget.icount,
    (m) => pfns.map((pfn) => new Uint32Array(m.mem.buffer, m.mem.byteOffset + pfn * 4096, 1024)),
  );
  const k = changes.findIndex((c) => c >= 0);
  assert.ok(k >= 0, "some page changes in the window");
  const bad = editPoint(sortRec.log!, sortTarget.icount, (v, at) => {
    v.setUint32(at + 160 + 8 * k + 4, v.getUint32(at + 160 + 8 * k + 4, true) ^ 1, true);
  });
  const d = replayGuest(bad, SORT).divergence!;
  assert.deepEqual(d.pages, [pfns[k]]);
  assert.deepEqual(d.registers, []);
  assert.equal(d.instruction!.icount, changes[k]);
  assert.match(
    d.report,
    /memory that differs at instruction \d+: 1 page\(s\) at guest-physical 0x[0-9a-f]+000/,
  );
});

Deno.test("Replayer.seek() starts from the nearest snapshot and reaches the state a plain run has there", () => {
  const elf = read("guests/build/sort-O3.elf");
  const cmdline = "n=3000 seed=7";
  for (const snapshotEvery of [0, 1]) {
    const rec = recordGuest(elf, { cmdline, checkpointInterval: 1_000_000, snapshotEvery });
    const log = readLog(rec.log!);
    const end = rec.result.instructions;
    assert.equal(
      log.snapshots.length,
      snapshotEvery === 0 ? 0 : Math.floor(Math.ceil(end / 1_000_000) / snapshotEvery),
    );
    const replayer = new Replayer(log, elf);
    for (const n of [0, 1, 999_999, 2_500_000, 1_000_000, end]) {
      const m = replayer.seek(n);
      const plain = Machine.fromElf(elf, { cmdline });
      plain.run(n);
      assert.equal(m.instructions, n);
      assert.deepEqual(m.regs(), plain.regs());
      assert.equal(m.digest(), plain.digest(), `digest at ${n}`);
      assert.equal(m.consoleText(), plain.consoleText());
      const stored = log.snapshots.filter((x) => x.icount <= n).at(-1)?.icount ?? -1;
      const expected = Math.max(stored, ...replayer.snapshots.map((x) => x.icount).filter((x) => x <= n));
      assert.equal(replayer.lastSeek!.from, expected, `seek ${n} starts at the nearest snapshot`);
    }
    if (snapshotEvery === 0) {
      // Without stored snapshots the replay verified its way forward and kept one per checkpoint.
      assert.deepEqual(
        replayer.snapshots.map((x) => x.icount),
        [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000].filter((x) => x < end).concat(
          end,
        ),
      );
    }
    assert.throws(() => replayer.seek(end + 1), /covers instructions 0\.\.\d+/);
  }
});

Deno.test("Replayer.seek() refuses a stored snapshot that does not match its checkpoint", () => {
  const elf = read("guests/build/sort-O3.elf");
  const rec = recordGuest(elf, { cmdline: "n=3000 seed=7", checkpointInterval: 1_000_000 });
  const bad = editRecord(rec.log!, LOG_RECORD_SNAPSHOT, 1, (p) => (p[p.length - 100] ^= 1));
  const replayer = new Replayer(readLog(bad), elf);
  assert.throws(
    () => replayer.seek(2_500_000),
    /snapshot at instruction 2000000 does not match its checkpoint digest/,
  );
});

Deno.test("Replayer folds old verified snapshots into newer ones and still seeks exactly", () => {
  const elf = read("guests/build/sort-O3.elf");
  const cmdline = "n=3000 seed=7";
  const rec = recordGuest(elf, { cmdline, checkpointInterval: 100_000, snapshotEvery: 0 });
  const replayer = new Replayer(readLog(rec.log!), elf);
  assert.ok(replayer.run().ok);
  assert.equal(replayer.snapshots.length, MAX_KEPT_SNAPSHOTS);
  for (const n of [150_000, 3_333_333, rec.result.instructions - 5]) {
    const m = replayer.seek(n);
    const plain = Machine.fromElf(elf, { cmdline });
    plain.run(n);
    assert.equal(m.digest(), plain.digest(), `digest at ${n}`);
  }
});

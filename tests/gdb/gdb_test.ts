// The real gdb (Debian's, in batch mode) against the sample guest gdbdemo (guests/gdbdemo, -O0 -g).
// Expected values come from the guest's C source and symbols: step(i) is called for i = 0..9, each
// call adds one to `counter` and returns 3 * i * i, so after n calls counter == n and the output is
// "total 855 counter 10 scale 3 message abc"; the System V ABI passes i in RDI.
import assert from "node:assert/strict";
import { DebugTarget, serveGdb, type TargetOptions } from "../../src/gdb/mod.ts";
import { Machine } from "../../src/vm/mod.ts";

const root = new URL("../../", import.meta.url);
const elfPath = new URL("guests/build/gdbdemo.elf", root).pathname;
const demo = Deno.readFileSync(elfPath);

async function haveGdb(): Promise<boolean> {
  try {
    return (await new Deno.Command("gdb", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const gdb = await haveGdb();
const ignore = !gdb;
const why = gdb ? "" : " (ignored: gdb is not installed; .ci/run installs Debian's gdb)";

/** Runs gdb in batch mode with `commands` against the server on `port`; returns all it printed. */
async function runGdb(port: number, commands: string[], elf = elfPath): Promise<string> {
  const args = ["-batch", "-nx", "-ex", "set confirm off", "-ex", "set pagination off"];
  args.push("-ex", `target remote 127.0.0.1:${port}`);
  for (const c of commands) args.push("-ex", c);
  args.push(elf);
  const out = await new Deno.Command("gdb", { args, stdout: "piped", stderr: "piped", cwd: root.pathname })
    .output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** Serves a fresh gdbdemo machine; each element of `sessions` is one gdb process, one after the other. */
async function debugSessions(
  sessions: string[][],
  opts: TargetOptions & { cmdline?: string } = {},
): Promise<{ outputs: string[]; machine: Machine }> {
  const machine = Machine.fromElf(demo, { memory: 64 * 2 ** 20, cmdline: opts.cmdline ?? "" }, "gdbdemo");
  machine.setDirtyTracking(true);
  const target = new DebugTarget(machine, opts);
  let port = 0;
  const served = serveGdb(target, { port: 0, wait: true, log: () => {}, listening: (a) => port = a.port });
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const outputs: string[] = [];
  for (const s of sessions) outputs.push(await runGdb(port, s));
  assert.ok(["finished", "killed"].includes(await served), "the last session ends the guest or kills it");
  return { outputs, machine };
}

/** The values gdb printed with `print` ($1 = ..., $2 = ...), in order. */
function printed(out: string): string[] {
  return [...out.matchAll(/^\$\d+ = (.*)$/gm)].map((m) => m[1]);
}

Deno.test({
  name: "gdb: break at a function, continue, read registers and a local, step over a loop iteration" + why,
  ignore,
  fn: async () => {
    const { outputs, machine } = await debugSessions([[
      "break step",
      "continue",
      "continue",
      "print i",
      "print counter",
      "print $rdi",
      "print $pc == step + 12",
      "info registers rip",
      "finish",
      "next",
      "next",
      "print i",
      "print total",
      "delete",
      "continue",
    ]]);
    const out = outputs[0];
    assert.match(out, /Breakpoint 1, step \(i=0\) at guests\/gdbdemo\/gdbdemo\.c:16/);
    assert.match(out, /Breakpoint 1, step \(i=1\) at guests\/gdbdemo\/gdbdemo\.c:16/);
    // i = 1 in the second call; counter counts the first; RDI carries i; the breakpoint is after the
    // 12 bytes of step's prologue (push rbp 1, mov rsp,rbp 3, sub 4, mov rdi 4, per objdump).
    // After finishing step(1) and one more iteration's `next`s, i == 2 and total == 0 + 3 * 1.
    assert.deepEqual(printed(out).slice(0, 4), ["1", "1", "1", "1"]);
    assert.match(out, /rip\s+0x401e50\s+0x401e50 <step\+12>/);
    assert.match(out, /Value returned is \$\d+ = 3/);
    assert.deepEqual(printed(out).slice(-2), ["2", "3"]);
    assert.match(out, /exited normally/);
    assert.equal(machine.consoleText(), "total 855 counter 10 scale 3 message abc\n");
  },
});

Deno.test({
  name: "gdb: write, read and access watchpoints on globals; a hardware breakpoint" + why,
  ignore,
  fn: async () => {
    const { outputs } = await debugSessions([[
      "watch counter",
      "continue",
      "continue",
      "delete",
      "rwatch scale",
      "continue",
      "print i",
      "delete",
      "awatch total",
      "continue",
      "continue",
      "delete",
      "hbreak report",
      "continue",
      "print counter",
      "print total",
      "delete",
      "continue",
    ]]);
    const out = outputs[0];
    // counter goes 0 -> 1 in step(0) and 1 -> 2 in step(1); the stop is after the store (line 18).
    assert.match(
      out,
      /Hardware watchpoint 1: counter\s+Old value = 0\s+New value = 1\s+step \(i=0\) at \S+:18/,
    );
    assert.match(out, /Old value = 1\s+New value = 2\s+step \(i=1\)/);
    // The next read of scale is line 18 of that same call, step(1).
    assert.match(out, /Hardware read watchpoint 2: scale\s+Value = 3\s+\S+ in step \(i=1\)/);
    // main's `total += step(1)` reads total (still 0: step(0) = 0), then writes 0 + 3.
    assert.match(out, /Hardware access \(read\/write\) watchpoint 3: total\s+Value = 0\s+\S+ in main/);
    assert.match(out, /Hardware access \(read\/write\) watchpoint 3: total\s+Old value = 0\s+New value = 3/);
    assert.match(out, /Hardware assisted breakpoint 4 at/);
    assert.match(out, /Breakpoint 4, report \(\) at \S+gdbdemo\.c:23/);
    assert.deepEqual(printed(out), ["1", "10", "855"]);
    assert.match(out, /exited normally/);
  },
});

Deno.test({
  name: "gdb: changing a register and a memory byte changes the guest's output" + why,
  ignore,
  fn: async () => {
    const { outputs, machine } = await debugSessions([[
      "break *step",
      "continue",
      "set $rdi = 20",
      "set var message[0] = 'X'",
      "print message",
      "print/x $mxcsr",
      "set $xmm1.v2_int64[0] = 1234",
      "print $xmm1.v2_int64[0]",
      "delete",
      "continue",
    ]]);
    // The first call becomes step(20) = 3 * 400 = 1200 instead of step(0) = 0: 855 + 1200.
    assert.match(outputs[0], /\$1 = "Xbc"/);
    // MXCSR after reset (SDM Vol. 1 §10.2.3.1); XMM1 written and read back (the guest uses no SSE).
    assert.match(outputs[0], /\$2 = 0x1f80/);
    assert.match(outputs[0], /\$3 = 1234/);
    assert.match(outputs[0], /exited normally/);
    assert.equal(machine.consoleText(), "total 2055 counter 10 scale 3 message Xbc\n");
  },
});

Deno.test({
  name:
    "gdb: reverse-stepi across a store brings the old value back; reverse-continue, -next, -step, -finish" +
    why,
  ignore,
  fn: async () => {
    const { outputs, machine } = await debugSessions([[
      "break step",
      "continue",
      "continue",
      "continue",
      "next",
      "next",
      "print counter",
      "reverse-stepi",
      "print counter",
      "print $pc",
      "reverse-continue",
      "print i",
      "reverse-continue",
      "print i",
      "print counter",
      "reverse-finish",
      "reverse-next",
      "print i",
      "reverse-step",
      "print total",
      "delete",
      "reverse-continue",
      "continue",
    ]]);
    const out = outputs[0];
    const p = printed(out);
    // In step(2): counter is 3 after line 17's store, 2 again once it is undone; the store is the
    // last instruction of line 17 (objdump -d -l: 0x401e67).
    assert.equal(p[0], "3");
    assert.equal(p[1], "2");
    assert.match(p[2], /0x401e67 <step\+35>/);
    // reverse-continue stops at the same call's breakpoint (i = 2), then the one before (i = 1,
    // counter 1 after step(0) only).
    assert.deepEqual(p.slice(3, 6), ["2", "1", "1"]);
    // reverse-finish: back in main at the call of step(1) (line 31); reverse-next goes to the start
    // of that line (i == 1); reverse-step to the loop's line 30 before it, where total is still 0
    // (step(0) = 0).
    assert.match(out, /in main \(ram_size=67108864, cmdline=0x8000 ""\) at \S+gdbdemo\.c:31/);
    assert.match(out, /\$7 = 1\n30\t/);
    assert.equal(p[6], "1");
    assert.equal(p[7], "0");
    assert.match(out, /No more reverse-execution history/);
    assert.match(out, /exited normally/);
    // Going back and forth changes nothing: the same end as a run without a debugger.
    assert.equal(machine.consoleText(), "total 855 counter 10 scale 3 message abc\n");
  },
});

Deno.test({
  name: "gdb: reverse-continue stops at the last write to a watched global, with the value before it" + why,
  ignore,
  fn: async () => {
    const { outputs } = await debugSessions([[
      "break report",
      "continue",
      "print counter",
      "watch counter",
      "reverse-continue",
      "print counter",
      "print i",
      "reverse-continue",
      "print i",
      "delete",
      "continue",
    ]]);
    const out = outputs[0];
    // At report() counter is 10. Going back, the last write is step(9)'s `counter = counter + 1`;
    // gdb stops on that line with the value before the store (9), then at step(8)'s (8).
    assert.deepEqual(printed(out), ["10", "9", "9", "8"]);
    assert.match(out, /Hardware watchpoint 2: counter\s+Old value = 10\s+New value = 9/);
    assert.match(out, /step \(i=9\) at \S+gdbdemo\.c:17/);
    assert.match(out, /exited normally/);
  },
});

Deno.test({
  name: "gdb: a client detaches and another attaches to the guest where it stopped" + why,
  ignore,
  fn: async () => {
    const { outputs, machine } = await debugSessions([
      ["break step", "continue", "continue", "print i", "delete", "detach"],
      ["print i", "print counter", "print $pc", "continue"],
    ]);
    assert.deepEqual(printed(outputs[0]), ["1"]);
    assert.match(outputs[0], /\[Inferior 1 \(Remote target\) detached\]/);
    const p = printed(outputs[1]);
    assert.deepEqual(p.slice(0, 2), ["1", "1"]);
    assert.match(p[2], /<step\+12>/);
    assert.match(outputs[1], /exited normally/);
    assert.equal(machine.consoleText(), "total 855 counter 10 scale 3 message abc\n");
  },
});

/** Runs a hvsim command with `--json`, or under gdb (`gdbCommands` given) on a port it picks. */
async function cli(
  args: string[],
  gdbCommands?: string[],
  elf = elfPath,
): Promise<{ json: Record<string, unknown>; gdb: string; status: number }> {
  const extra = gdbCommands ? ["--gdb", "127.0.0.1:0", "--gdb-wait"] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args, "--json", ...extra],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).arrayBuffer();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "", gdbOut = "";
  if (gdbCommands) {
    // The server says where it listens (port 0: the system picks one), on loopback by default.
    let port = 0;
    while (port === 0) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
      const m = /listening on 127\.0\.0\.1:(\d+) \(loopback only\)/.exec(err);
      if (m) port = Number(m[1]);
    }
    assert.ok(port > 0, err);
    gdbOut = await runGdb(port, gdbCommands, elf);
    // A guest left stopped (a breakpoint still set when gdb ended) would wait for the next client.
    const timer = setTimeout(() => child.kill(), 60_000);
    await child.status;
    clearTimeout(timer);
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    err += value;
  }
  const status = (await child.status).code;
  const text = new TextDecoder().decode(await stdout);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`no JSON from ${args.join(" ")}: ${text}\n${err}\n${gdbOut}`);
  }
  return { json, gdb: gdbOut, status };
}

Deno.test({
  name: "gdb: `run --gdb` with breakpoints set and removed ends with the digest of a run without gdb" + why,
  ignore,
  fn: async () => {
    const args = ["src/cli/run.ts", "guests/build/gdbdemo.elf"];
    const plain = await cli(args);
    const debugged = await cli(args, [
      "break step",
      "hbreak report",
      "watch counter",
      "continue",
      "continue",
      "delete",
      "break main",
      "delete",
      "monitor icount",
      "continue",
    ]);
    assert.match(debugged.gdb, /exited normally/);
    assert.match(debugged.gdb, /\d+ instructions retired/);
    assert.equal(debugged.status, 0);
    assert.equal(debugged.json.digest, plain.json.digest);
    assert.equal(debugged.json.console, plain.json.console);
    assert.equal(debugged.json.instructions, plain.json.instructions);
  },
});

Deno.test({
  name: "gdb: `replay --gdb` hands back the logged inputs, also after reverse-continue; `restore --gdb`" +
    why,
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "hvsim-gdb-" });
    try {
      const name = `${dir}/name.txt`, log = `${dir}/run.hvlog`, snap = `${dir}/snap.hvs`;
      await Deno.writeTextFile(name, "Ada\n");
      const rec = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "src/cli/record.ts",
          "guests/build/entropy.elf",
          "--log",
          log,
          "--serial-input",
          name,
        ],
        cwd: root.pathname,
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(rec.success);
      const plain = await cli(["src/cli/replay.ts", log]);
      assert.equal(plain.json.ok, true);
      // Breaks on each console byte the guest writes (port 0xE9), goes back over several RDRAND
      // and COM1 inputs, then on to the end: the same end as the replay without gdb.
      const debugged = await cli(["src/cli/replay.ts", log], [
        "break hv_console_byte",
        "continue 200",
        "monitor icount",
        "reverse-continue 150",
        "monitor icount",
        "delete",
        "reverse-continue",
        "continue",
      ], new URL("guests/build/entropy.elf", root).pathname);
      assert.match(debugged.gdb, /No more reverse-execution history/);
      assert.match(debugged.gdb, /exited normally/);
      const counts = [...debugged.gdb.matchAll(/(\d+) instructions retired/g)].map((m) => Number(m[1]));
      assert.equal(counts.length, 2);
      assert.ok(counts[1] < counts[0], `went back: ${counts}`);
      assert.equal(debugged.json.ok, true);
      assert.equal(debugged.json.digest, plain.json.digest);
      assert.equal(debugged.json.console, plain.json.console);

      const saved = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "src/cli/snapshot.ts", "guests/build/gdbdemo.elf", "--out", snap, "--at", "60"],
        cwd: root.pathname,
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(saved.success);
      const restored = await cli(["src/cli/restore.ts", snap], [
        "break step",
        "continue",
        "print i",
        "reverse-continue",
        "delete",
        "continue",
      ]);
      // The history starts at the restored instruction: before it there is nothing to go back to.
      assert.match(restored.gdb, /Breakpoint 1, step \(i=0\)/);
      assert.match(restored.gdb, /No more reverse-execution history/);
      assert.match(restored.gdb, /exited normally/);
      assert.equal(restored.json.console, "total 855 counter 10 scale 3 message abc\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

import { equal, ok } from "node:assert/strict";
import { adviseHugePages, allocateGuestMemory, HUGE_PAGE_SIZE } from "../../src/vm/host_memory.ts";

const MiB = 1 << 20;

/** Whether this host can take the advice: Linux with THP in its kernel, and FFI granted (tests run with -A). */
const canAdvise = Deno.build.os === "linux" && exists("/sys/kernel/mm/transparent_hugepage/enabled") &&
  Deno.permissions.querySync({ name: "ffi" }).state === "granted";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function allZero(mem: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < mem.length; i++) acc |= mem[i];
  return acc === 0;
}

function address(mem: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(mem)));
}

/** The VmFlags of the mapping holding `addr`, from the kernel's /proc/self/smaps. */
function vmFlags(addr: bigint): string[] {
  const lines = Deno.readTextFileSync("/proc/self/smaps").split("\n");
  let inside = false;
  for (const line of lines) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) inside = BigInt("0x" + m[1]) <= addr && addr < BigInt("0x" + m[2]);
    else if (inside && line.startsWith("VmFlags:")) return line.slice(8).trim().split(/\s+/);
  }
  throw new Error(`no mapping holds 0x${addr.toString(16)}`);
}

Deno.test(
  "allocateGuestMemory() marks the memory for huge pages only when asked, not by default (kernel's VmFlags)",
  {
    ignore: !canAdvise,
  },
  () => {
    // 40 MiB: above glibc's largest mmap threshold (32 MiB), so each buffer is a mapping of its own.
    // This test comes first and advises last: advice stays on a range after its buffer is freed, and an
    // allocator that keeps freed memory would hand an advised range to the next buffer.
    const size = 40 * MiB;
    const cases: [boolean | undefined, boolean][] = [[undefined, false], [false, false], [true, true]];
    for (const [hugePages, marked] of cases) {
      const mem = allocateGuestMemory(size, { hugePages });
      const aligned = (address(mem) + BigInt(HUGE_PAGE_SIZE - 1)) & ~BigInt(HUGE_PAGE_SIZE - 1);
      equal(vmFlags(aligned).includes("hg"), marked, `hugePages ${hugePages}`);
    }
  },
);

Deno.test("allocateGuestMemory() returns zeroed memory of the size asked, with and without huge pages", () => {
  const sizes = [0, 4096, 2 * MiB - 4096, 2 * MiB + 4096, 8 * MiB, 40 * MiB + 12288];
  for (const hugePages of [true, false]) {
    for (const size of sizes) {
      const mem = allocateGuestMemory(size, { hugePages });
      equal(mem.length, size, `${size} bytes, hugePages ${hugePages}`);
      equal(mem.byteOffset, 0);
      equal(mem.buffer.byteLength, size);
      ok(allZero(mem), `${size} bytes, hugePages ${hugePages}: not zeroed`);
    }
  }
});

Deno.test("adviseHugePages() advises the 2 MiB-aligned interior, or nothing below one huge page", {
  ignore: !canAdvise,
}, () => {
  // A region of n bytes holds n or n - 2 MiB of whole aligned huge pages (n a multiple of 2 MiB).
  const cases: [number, number[]][] = [
    [HUGE_PAGE_SIZE - 1, [0]],
    [8 * MiB, [6 * MiB, 8 * MiB]],
    [40 * MiB, [38 * MiB, 40 * MiB]],
  ];
  for (const [size, expected] of cases) {
    const advised = adviseHugePages(new Uint8Array(size));
    ok(expected.includes(advised), `${size} bytes: advised ${advised}, expected one of ${expected}`);
  }
});

Deno.test("adviseHugePages() falls back silently to plain memory without --allow-ffi", async () => {
  const url = new URL("../../src/vm/host_memory.ts", import.meta.url).href;
  const script = `import { adviseHugePages, allocateGuestMemory } from ${JSON.stringify(url)};
    const mem = allocateGuestMemory(8 * 1024 * 1024);
    let acc = 0; for (let i = 0; i < mem.length; i++) acc |= mem[i];
    console.log(JSON.stringify({ advised: adviseHugePages(mem), length: mem.length, acc }));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  ok(out.success, `child failed: ${stderr}`);
  equal(stderr, "");
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  equal(r.advised, 0);
  equal(r.length, 8 * MiB);
  equal(r.acc, 0);
});

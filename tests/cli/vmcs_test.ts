import { deepEqual, equal, match, ok } from "node:assert/strict";
import { HVSIM_VMCS_REVISION } from "../../src/vmx/capabilities.ts";
import { GUEST_RIP, VMCS_FIELDS } from "../../src/vmx/fields.ts";
import { setupVmcs64 } from "../../src/vmx/setup.ts";
import { Vmcs } from "../../src/vmx/vmcs.ts";
import { decodeVmcsRegion } from "../../src/vmx/vmcs_dump.ts";
import { readVmcsFieldsTsv, VMCS_FIELDS_TSV_COLUMNS } from "../vmx/_vmcs_fields_tsv.ts";

const ROOT = new URL("../../", import.meta.url);
const CLI = new URL("src/cli/vmcs.ts", ROOT).pathname;

async function vmcs(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT.pathname,
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function tempRegion(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".vmcs" });
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("deno task vmcs prints the fields of data/vmcs_fields.tsv with their offsets in the region", async () => {
  const r = await vmcs();
  equal(r.code, 0);
  equal(r.stderr, "");
  const printed = r.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
  const rows = readVmcsFieldsTsv();
  deepEqual(printed[0], [...VMCS_FIELDS_TSV_COLUMNS.slice(0, 4), "offset"]);
  equal(printed.length, rows.length + 1);
  deepEqual(
    printed.slice(1).map((row) => row.slice(0, 4)),
    rows.map((t) => [t.encoding, t.name, t.width, t.type]),
  );
  printed.slice(1).forEach((row, i) => {
    // vmcs12 fields sit at KVM's offsets; the others in hvsim's own area from 0x400 on.
    if (rows[i].vmcs12Offset !== null) equal(Number(row[4]), rows[i].vmcs12Offset, row[1]);
    else ok(Number(row[4]) >= 0x400 && Number(row[4]) === VMCS_FIELDS[i].offset, row[1]);
  });
});

Deno.test("deno task vmcs --dump decodes a 4096-byte region field by field", async () => {
  const mem = new Uint8Array(4096);
  const v = new Vmcs(mem, 0);
  v.format(HVSIM_VMCS_REVISION);
  setupVmcs64(v, { rip: 0xffffffff80001000n });
  v.launchState = 1;
  const path = await tempRegion(mem);
  try {
    const r = await vmcs("--dump", path);
    equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    deepEqual(lines.slice(0, 4), [
      "revision-id\t0x48565331",
      "shadow\t0",
      "abort\t0x00000000",
      "launch-state\tlaunched",
    ]);
    ok(lines.includes("0x681E\tGUEST_RIP\t0xffffffff80001000"));
    ok(lines.includes("0x0802\tGUEST_CS_SELECTOR\t0x0008"));
    ok(lines.includes("0x4816\tGUEST_CS_AR_BYTES\t0x0000a09b"));
    equal(lines.length, 4 + VMCS_FIELDS.filter((f) => f.width !== "64-high").length);
    const nz = await vmcs("--dump", path, "--nonzero");
    ok(nz.stdout.includes("GUEST_RIP"));
    ok(!nz.stdout.includes("GUEST_ES_BASE"), "zero fields are left out");
    equal(
      decodeVmcsRegion(mem).fields.find((f) => f.field.encoding === GUEST_RIP)?.value,
      0xffffffff80001000n,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("deno task vmcs --help exits 0", async () => {
  const r = await vmcs("--help");
  equal(r.code, 0);
  match(r.stdout, /Usage: deno task vmcs/);
});

Deno.test("deno task vmcs refuses bad input with one line and exit status 2", async () => {
  const short = await tempRegion(new Uint8Array(100));
  const foreign = new Uint8Array(4096);
  new DataView(foreign.buffer).setUint32(0, 0x11e57ed0, true);
  const kvm = await tempRegion(foreign);
  try {
    const cases: [string[], RegExp][] = [
      [["--dump", "/nonexistent/vmcs.bin"], /does not exist/],
      [["--dump", short], /is 100 bytes: expected a 4096-byte VMCS region/],
      [["--dump", kvm], /revision 0x11e57ed0: expected hvsim's 0x48565331/],
      [["extra"], /unexpected argument "extra"/],
      [["--nonzero"], /need --dump FILE/],
      [["--dump"], /argument missing|--dump/],
    ];
    for (const [args, msg] of cases) {
      const r = await vmcs(...args);
      equal(r.code, 2, args.join(" "));
      equal(r.stdout, "");
      equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      match(r.stderr, msg);
    }
    const forced = await vmcs("--dump", kvm, "--any-revision");
    equal(forced.code, 0);
    match(forced.stdout, /^revision-id\t0x11e57ed0/);
  } finally {
    await Deno.remove(short);
    await Deno.remove(kvm);
  }
});

Deno.test("vmcsFromSnapshot() reads the VMCS section of a snapshot file that decodes field by field", async () => {
  const { snapshotToFile } = await import("../../src/migration/mod.ts");
  const { Machine } = await import("../../src/vm/mod.ts");
  const { vmcsFromSnapshot } = await import("../../src/cli/vmcs.ts");
  const { decodeVmcsRegion } = await import("../../src/vmx/vmcs_dump.ts");
  const { GUEST_RIP } = await import("../../src/vmx/fields.ts");
  const elf = await Deno.readFile(new URL("../../guests/build/hello.elf", import.meta.url));
  const m = Machine.fromElf(elf, { memory: 8 << 20 });
  m.run(500);
  const dir = await Deno.makeTempDir();
  const r = await snapshotToFile(m, `${dir}/s.hvsnap`, {});
  if (!r.ok) throw new Error(r.error);
  const region = await vmcsFromSnapshot(await Deno.readFile(`${dir}/s.hvsnap`), "s.hvsnap");
  const dump = decodeVmcsRegion(region);
  const rip = dump.fields.find((f) => f.field.encoding === GUEST_RIP)!.value;
  if (rip !== m.vcpu.vmcs.read(GUEST_RIP)) throw new Error(`GUEST_RIP ${rip} in the snapshot`);
  await Deno.remove(dir, { recursive: true });
});

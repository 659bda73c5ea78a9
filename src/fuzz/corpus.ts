/**
 * Real valid inputs for the fuzzing surfaces, made by hvsim itself from the sample guests: snapshots,
 * live-migration streams (with pre-copy rounds, with verification, authenticated), diff snapshot
 * chains, replay logs, VMCS regions and the guests' ELF files. Small guests, 8 MiB of RAM.
 *
 * @module
 */

import { MigrationController } from "../migration/controller.ts";
import { SimulatedLink } from "../migration/link.ts";
import { importStreamKey } from "../migration/stream.ts";
import { memoryTransport } from "../migration/transport.ts";
import { recordGuest } from "../replay/recorder.ts";
import { ByteInput } from "../replay/inputs.ts";
import { Machine } from "../vm/machine.ts";

/** Guest RAM of every corpus machine. */
export const FUZZ_RAM_BYTES = 8 << 20;

/** The key of the corpus's authenticated streams (the fuzzed destination holds it too). */
export async function fuzzKey(): Promise<CryptoKey> {
  return await importStreamKey(new TextEncoder().encode("hvsim fuzzing key, not a secret"));
}

const GUESTS = new URL("../../guests/build/", import.meta.url);

/** A sample guest's ELF file (`guests/build/<name>.elf`). */
export function guestElf(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`${name}.elf`, GUESTS));
}

/** The guests the corpus runs, with their command lines: short runs that touch RAM, devices and entropy. */
export const CORPUS_GUESTS: [string, string][] = [
  ["hello", ""],
  ["entropy", "n=2 spins=200 max=16"],
  ["memwrite", "ws=1M rate=32 iters=8 spin=0 quiet"],
];

/** A machine running guest `name` with `cmdline`, run to `at` instructions. */
export function machineAt(name: string, cmdline: string, at: number): Machine {
  const m = Machine.fromElf(guestElf(name), { memory: FUZZ_RAM_BYTES, cmdline });
  if (at > 0) m.run(at);
  return m;
}

/** Snapshots and live-migration streams of the corpus guests. */
export async function streamCorpus(): Promise<Uint8Array[]> {
  const key = await fuzzKey();
  const out: Uint8Array[] = [];
  for (const [name, cmdline] of CORPUS_GUESTS) {
    for (const at of [0, 1500]) {
      const m = memoryTransport();
      const r = await new MigrationController(machineAt(name, cmdline, at)).snapshot(m.transport, {
        pagesPerRecord: 16,
      });
      if (!r.ok) throw new Error(`corpus snapshot of ${name}: ${r.error?.message}`);
      out.push(m.sink.bytes());
    }
  }
  // live migrations: pre-copy rounds while the guest dirties memory; one verified, one authenticated
  const live: [string, { verify?: boolean; key?: CryptoKey }][] = [["memwrite", {}], ["memwrite", {
    verify: true,
  }], [
    "entropy",
    { key },
  ]];
  for (const [name, opts] of live) {
    const cmdline = CORPUS_GUESTS.find((g) => g[0] === name)![1];
    const m = memoryTransport();
    const r = await new MigrationController(machineAt(name, cmdline, 500)).migrate(m.transport, {
      link: new SimulatedLink({ bandwidth: 50e6, latencyMs: 0, clockHz: 1e9 }),
      pagesPerRecord: 16,
      ...opts,
    });
    if (!r.ok) throw new Error(`corpus migration of ${name}: ${r.error?.message}`);
    out.push(m.sink.bytes());
  }
  return out;
}

/** Diff snapshot chains: a full snapshot, then diffs taken as the guest runs on. */
export async function chainCorpus(): Promise<Uint8Array[][]> {
  const chains: Uint8Array[][] = [];
  for (
    const [name, cmdline, steps] of [["memwrite", CORPUS_GUESTS[2][1], [300, 600, 900]], [
      "entropy",
      CORPUS_GUESTS[1][1],
      [2000, 4000],
    ]] as const
  ) {
    const vm = machineAt(name, cmdline, 200);
    const c = new MigrationController(vm);
    const files: Uint8Array[] = [];
    for (let i = 0; i <= steps.length; i++) {
      if (i > 0) vm.run(steps[i - 1]);
      const m = memoryTransport();
      const r = await c.snapshot(m.transport, { diff: true, pagesPerRecord: 16 });
      if (!r.ok) throw new Error(`corpus diff snapshot of ${name}: ${r.error?.message}`);
      files.push(m.sink.bytes());
    }
    chains.push(files);
  }
  return chains;
}

/** Replay logs of the entropy guest (entropy and serial input, checkpoints, snapshots). */
export function logCorpus(): { elf: Uint8Array; logs: Uint8Array[] } {
  const elf = guestElf("entropy");
  const logs: Uint8Array[] = [];
  for (const [cmdline, interval] of [["n=2 spins=200 max=16", 5000], ["n=1 spins=50 max=8", 2000]] as const) {
    const input = new ByteInput(new TextEncoder().encode("Ada\n"));
    const rec = recordGuest(elf, {
      entropy: 0x5eedn,
      memory: FUZZ_RAM_BYTES,
      cmdline,
      checkpointInterval: interval,
      serialInput: () => input.next(),
    });
    logs.push(rec.log!);
  }
  return { elf, logs };
}

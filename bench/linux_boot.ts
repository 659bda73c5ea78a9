/**
 * Linux boot time: guests/linux/bzImage with the busybox initramfs, from the 64-bit entry to the
 * shell's first prompt ("/ # "), and on through `exit` to the halt: retired instructions (the
 * guest's time: 1 ns each) and wall seconds at each milestone of the console.
 *
 * ```
 * deno run -A bench/linux_boot.ts
 * ```
 *
 * @module
 */

import { REPO_ROOT } from "../guests/build.ts";
import { SerialLine } from "../src/devices/mod.ts";
import { ByteInput } from "../src/replay/inputs.ts";
import { Machine } from "../src/vm/mod.ts";

/** A console milestone of the boot. */
export interface BootMilestone {
  /** What was printed. */
  name: string;
  /** Instructions retired when it was. */
  instructions: number;
  /** Wall seconds since the machine started. */
  seconds: number;
}

/** The milestones, in the order the boot reaches them, by the console text that marks them. */
export const BOOT_MILESTONES: readonly [string, string][] = [
  ["serial console up", "Linux version"],
  ["init runs", "Run /init as init process"],
  ["init's marker", "hvsim-linux: init up"],
  ["shell prompt", "/ # "],
  ["halted", "reboot: System halted"],
];

/** Boots the committed kernel to the shell, types `exit`, and times each milestone. */
export function measureLinuxBoot(maxInstructions = 3e9): { milestones: BootMilestone[]; exit: string } {
  const bytes = new ByteInput(new TextEncoder().encode("exit\n"));
  const line = new SerialLine(() => bytes.next());
  const m = Machine.fromLinux(
    Deno.readFileSync(`${REPO_ROOT}/guests/linux/bzImage`),
    Deno.readFileSync(`${REPO_ROOT}/guests/linux/initramfs.cpio.gz`),
    {
      memory: 128 * 2 ** 20,
      cmdline: "console=ttyS0 panic=-1 hvsim.workload=shell",
      serialInput: line.input,
    },
    "bzImage",
  );
  line.attach(m);
  const milestones: BootMilestone[] = [];
  let text = "";
  const t0 = performance.now();
  m.console.onByte = (b) => {
    text += String.fromCharCode(b);
    const next = BOOT_MILESTONES[milestones.length];
    if (next !== undefined && text.endsWith(next[1])) {
      milestones.push({
        name: next[0],
        instructions: m.instructions,
        seconds: (performance.now() - t0) / 1000,
      });
    }
  };
  let exit = null;
  while (exit === null && m.instructions < maxInstructions) {
    exit = m.run(Math.min(1_000_000, maxInstructions - m.instructions));
    m.serial.poll();
  }
  const how = exit === null
    ? "instruction limit"
    : `${exit.reason}${exit.message ? `: ${exit.message}` : ""}`;
  return { milestones, exit: how };
}

/** Prints the milestones as a table. */
export function printLinuxBoot(r: { milestones: BootMilestone[]; exit: string }): void {
  console.log("Linux 6.1 boot (guests/linux)   instructions   wall s");
  for (const s of r.milestones) {
    console.log(
      `${s.name.padEnd(30)} ${String(s.instructions).padStart(13)} ${s.seconds.toFixed(2).padStart(8)}`,
    );
  }
  if (r.milestones.length < BOOT_MILESTONES.length) {
    console.log(`(stopped before "${BOOT_MILESTONES[r.milestones.length][0]}": ${r.exit})`);
  }
}

if (import.meta.main) printLinuxBoot(measureLinuxBoot());

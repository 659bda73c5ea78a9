/** The README's record/replay example, verbatim apart from paths: it must keep working. */

import { replay } from "../../mod.ts";

Deno.test("README example: record a guest with entropy and serial input, replay it, assert the same run", () => {
  const elf = Deno.readFileSync(new URL("../../guests/build/entropy.elf", import.meta.url));
  const input = new replay.ByteInput(new TextEncoder().encode("Ada\n"));
  const rec = replay.recordGuest(elf, { entropy: "host", serialInput: () => input.next() });
  replay.assertSameRun(rec.result, replay.replayGuest(rec.log!, elf).result, ["recorded", "replayed"]);
});

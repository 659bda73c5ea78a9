// The terminal console's escape keys, as QEMU's -nographic documents them (qemu-doc, "Keys in the
// character backend multiplexer"): Ctrl-A X exits, Ctrl-A H prints help, Ctrl-A Ctrl-A sends Ctrl-A.
import assert from "node:assert/strict";
import { EscapeDecoder } from "../../src/cli/_console.ts";

Deno.test("Ctrl-A X quits, Ctrl-A H asks for help, Ctrl-A Ctrl-A sends one Ctrl-A, other keys pass", () => {
  const d = new EscapeDecoder();
  assert.deepEqual(d.feed(new TextEncoder().encode("ls\r")), { input: [0x6c, 0x73, 0x0d], commands: [] });
  assert.deepEqual(d.feed(new Uint8Array([0x01, 0x68])), { input: [], commands: ["help"] });
  assert.deepEqual(d.feed(new Uint8Array([0x01, 0x01, 0x03])), { input: [0x01, 0x03], commands: [] });
  assert.deepEqual(d.feed(new Uint8Array([0x61, 0x01, 0x78, 0x62])), {
    input: [0x61, 0x62],
    commands: ["quit"],
  });
});

Deno.test("an escape split across two reads still counts", () => {
  const d = new EscapeDecoder();
  assert.deepEqual(d.feed(new Uint8Array([0x01])), { input: [], commands: [] });
  assert.deepEqual(d.feed(new Uint8Array([0x58])), { input: [], commands: ["quit"] });
});

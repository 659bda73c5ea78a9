/**
 * The source's side of a TCP migration, as `deno task migrate G --to HOST:PORT` reads it: a hostile
 * destination takes the stream and answers with the case's bytes in place of a confirmation,
 * either at once (before it has read anything, as a destination refusing mid-stream does) or after
 * the end of the stream. Half the sources hold the key, so a confirmation must carry a valid tag.
 *
 * What the source must conclude is known from the bytes (the confirmation format of
 * `src/migration/tcp.ts`): only a complete, well-formed acceptance (with a valid tag when the source
 * holds the key) completes the migration; anything else fails it with one line naming what was
 * wrong (the destination's own words with control characters escaped), the source's guest intact
 * and running on. A source that completes on anything else, fails for another reason than the
 * answer's, or prints more than one line, is a crash.
 *
 * @module
 */

import { crc32c } from "../../migration/crc32c.ts";
import { MigrationController } from "../../migration/controller.ts";
import { SimulatedLink } from "../../migration/link.ts";
import { MAC_BYTES } from "../../migration/stream.ts";
import {
  CONFIRM_ACCEPTED,
  CONFIRM_MAGIC,
  CONFIRM_REFUSED,
  connectMigration,
  encodeConfirmation,
  printableMessage,
} from "../../migration/tcp.ts";
import { Machine } from "../../vm/machine.ts";
import { FUZZ_RAM_BYTES, fuzzKey, guestElf } from "../corpus.ts";
import { runGuest } from "../run_guest.ts";
import type { CaseOutcome, Field, FuzzSurface, Span } from "../surface.ts";

let key: CryptoKey | undefined;
let elf: Uint8Array = new Uint8Array(0);
let listener: Deno.TcpListener | undefined;

/** Header of a confirmation: "HVCF", status u32, message length u32. */
const HEAD = 12;
/** Longest message the source reads. */
const MAX_MESSAGE = 4096;

/** What the source must conclude from `answer`: null for a genuine acceptance, else the reason it must give. */
async function expected(answer: Uint8Array, k: CryptoKey | undefined): Promise<string | null> {
  if (answer.length < HEAD) return "the destination closed the connection without a confirmation";
  const v = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
  if (v.getUint32(0, true) !== CONFIRM_MAGIC) {
    return "the destination answered with something that is not an hvsim confirmation";
  }
  const len = v.getUint32(8, true);
  if (len > MAX_MESSAGE) return `confirmation message length ${len} is invalid`;
  if (answer.length < HEAD + len) return "the confirmation was truncated";
  if (k) {
    const tag = answer.slice(HEAD + len, HEAD + len + MAC_BYTES);
    if (
      tag.length < MAC_BYTES ||
      !(await crypto.subtle.verify("HMAC", k, tag, answer.slice(0, HEAD + len)))
    ) {
      return "the confirmation failed authentication (wrong key?)";
    }
  }
  if (v.getUint32(4, true) === CONFIRM_ACCEPTED) return null;
  const message = printableMessage(new TextDecoder().decode(answer.subarray(HEAD, HEAD + len)));
  return `Destination refused the migration: ${message || "refused"}`;
}

/** A destination that answers with `answer` at once or after the stream, reading all of it. */
async function answerOne(l: Deno.TcpListener, answer: Uint8Array, early: boolean): Promise<void> {
  const conn = await l.accept();
  try {
    const write = async () => {
      for (let o = 0; o < answer.length;) o += await conn.write(answer.subarray(o));
    };
    if (early) await write();
    const buf = new Uint8Array(1 << 16);
    while ((await conn.read(buf)) !== null);
    if (!early) await write();
  } catch {
    // the source closed first: its verdict is the case's end
  } finally {
    conn.close();
  }
}

/** The surface. */
export const surface: FuzzSurface = {
  name: "confirmation",
  description: "a TCP migration's source reading a hostile destination's answer (early or after the stream)",
  async corpus() {
    key = await fuzzKey();
    elf = guestElf("hello");
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const out: Uint8Array[] = [];
    for (const k of [undefined, key]) {
      out.push(await encodeConfirmation(CONFIRM_ACCEPTED, "ok", k));
      out.push(await encodeConfirmation(CONFIRM_ACCEPTED, "ok; downtime-seen-ms=3.25", k));
      out.push(
        await encodeConfirmation(
          CONFIRM_REFUSED,
          "Bad record 3 (ram-pages) at offset 4144: page 3000 lies outside the guest's 2048 pages",
          k,
        ),
      );
    }
    return out;
  },
  structure(b) {
    const fields: Field[] = [];
    const records: Span[] = [];
    if (b.length < HEAD) return { fields, records };
    fields.push(
      { offset: 0, size: 4, kind: "magic" },
      { offset: 4, size: 4, kind: "type" },
      { offset: 8, size: 4, kind: "length" },
    );
    const len = Math.min(new DataView(b.buffer, b.byteOffset).getUint32(8, true), b.length - HEAD);
    for (let i = HEAD; i < HEAD + Math.min(len, 64); i++) fields.push({ offset: i, size: 1, kind: "text" });
    for (let i = HEAD + len; i + 8 <= Math.min(b.length, HEAD + len + MAC_BYTES); i += 8) {
      fields.push({ offset: i, size: 8, kind: "crc" });
    }
    records.push({ offset: 0, length: HEAD }, { offset: HEAD, length: len });
    if (b.length > HEAD + len) records.push({ offset: HEAD + len, length: b.length - HEAD - len });
    return { fields, records };
  },
  async run(input, ctx): Promise<CaseOutcome> {
    const h = crc32c(input);
    const k = (h & 1) === 1 ? key : undefined;
    const early = (h & 6) === 0;
    const src = Machine.fromElf(elf, { memory: FUZZ_RAM_BYTES }, "hello");
    src.run(2000);
    const dest = answerOne(listener!, input, early);
    const c = new MigrationController(src);
    const r = await c.migrate(
      await connectMigration({ port: listener!.addr.port, key: k, timeoutMs: 10_000 }),
      {
        link: new SimulatedLink({ bandwidth: 1e12, latencyMs: 0, clockHz: 1e9 }),
        key: k,
      },
    );
    await dest;
    const want = await expected(input, k);
    if (r.ok) {
      if (want !== null) throw new Error(`the source completed on an answer that says: ${want}`);
      return { result: "accepted", detail: "the source completed on a genuine confirmation" };
    }
    const said = r.error!.message;
    if (said.includes("\n")) throw new Error(`the source's failure is not one line: ${JSON.stringify(said)}`);
    if (c.state !== "Failed") throw new Error(`the failed migration left the controller in state ${c.state}`);
    // a loaded machine can turn a slow answer into a timeout: still a clean end of the source's attempt
    if (want === null && !/took no data|did not confirm/.test(said)) {
      throw new Error(`the source refused a genuine confirmation: ${said}`);
    }
    if (want !== null && !said.includes(want) && !/took no data|did not confirm/.test(said)) {
      throw new Error(`the source said "${said}" where the answer says: ${want}`);
    }
    // the source's guest is intact: it runs on from where it was
    runGuest(src, ctx.maxInstructions);
    return { result: "refused", detail: said };
  },
  close() {
    listener?.close();
  },
};

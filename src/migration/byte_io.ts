/**
 * Byte sinks and sources for the migration stream: over Web Streams and over memory.
 *
 * A {@link ByteSink} receives whole chunks (the writer hands over each record once and never touches
 * it again); a {@link ByteSource} hands out exact byte counts and reports a clean end of input.
 *
 * @module
 */

/** Where stream bytes go. The writer never mutates a chunk after `write` returns. */
export interface ByteSink {
  /** Deliver one chunk; rejects if the other end is gone. */
  write(chunk: Uint8Array): Promise<void>;
  /** Flush and close. */
  close(): Promise<void>;
  /** Abandon the stream (the reader sees an error or a truncated stream). */
  abort(reason?: unknown): Promise<void>;
}

/** Where stream bytes come from. */
export interface ByteSource {
  /**
   * The next `n` bytes, or fewer only at the end of input. The returned view stays valid until the
   * next call.
   */
  read(n: number): Promise<Uint8Array>;
  /** Whether the input has ended (no byte left). */
  atEnd(): Promise<boolean>;
  /** Stop reading and release the input (cancels a Web Stream, so its writer fails). */
  cancel(reason?: unknown): Promise<void>;
  /**
   * True when every view `read` returns stays valid and unchanged for the life of the source (it
   * owns the memory and never reuses it), so a reader may keep views instead of copying them.
   */
  readonly retainsViews?: boolean;
}

/** A sink that keeps every chunk in memory; {@link MemorySink.bytes} concatenates them. */
export class MemorySink implements ByteSink {
  /** The chunks written so far, in order. */
  readonly chunks: Uint8Array[] = [];
  /** Total bytes written so far. */
  length = 0;
  /** Whether {@link MemorySink.close} was called. */
  closed = false;

  /** Keep `chunk`. */
  write(chunk: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error("Cannot write to a closed memory sink"));
    this.chunks.push(chunk);
    this.length += chunk.length;
    return Promise.resolve();
  }

  /** Mark the sink closed. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Drop what was written. */
  abort(): Promise<void> {
    this.closed = true;
    this.chunks.length = 0;
    this.length = 0;
    return Promise.resolve();
  }

  /** Everything written, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** A sink over a Web `WritableStream` (a socket, a file, a `TransformStream`'s writable side). */
export function sinkFromWritable(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  return {
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason).catch(() => {}),
  };
}

/** A source over an in-memory byte array (no copy: reads are views into `data`). */
export class BufferSource implements ByteSource {
  #data: Uint8Array;
  #pos = 0;

  /** Read from `data`. */
  constructor(data: Uint8Array) {
    this.#data = data;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#pos;
  }

  /** The next `n` bytes (fewer at the end). */
  read(n: number): Promise<Uint8Array> {
    const start = this.#pos;
    const end = Math.min(this.#data.length, start + n);
    this.#pos = end;
    return Promise.resolve(this.#data.subarray(start, end));
  }

  /** Whether every byte was read. */
  atEnd(): Promise<boolean> {
    return Promise.resolve(this.#pos >= this.#data.length);
  }

  /** Nothing to release. */
  cancel(): Promise<void> {
    this.#pos = this.#data.length;
    return Promise.resolve();
  }
}

/** A source over a Web `ReadableStream` of byte chunks, reassembling reads across chunk boundaries. */
export class ReadableSource implements ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #done = false;

  /** Read from `stream` (locks it). */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#done) return false;
      const r = await this.#reader.read();
      if (r.done) {
        this.#done = true;
        return false;
      }
      this.#chunk = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** The next `n` bytes (fewer at the end); a view when they lie in one chunk, else a copy. */
  async read(n: number): Promise<Uint8Array> {
    if (n === 0) return new Uint8Array(0);
    if (!(await this.#fill())) return new Uint8Array(0);
    const avail = this.#chunk.length - this.#pos;
    if (avail >= n) {
      const v = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      return v;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n && (await this.#fill())) {
      const take = Math.min(n - o, this.#chunk.length - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), o);
      this.#pos += take;
      o += take;
    }
    return o === n ? out : out.subarray(0, o);
  }

  /** Whether the stream has ended. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Cancel the stream; its writer's pending and later writes fail. */
  async cancel(reason?: unknown): Promise<void> {
    this.#done = true;
    await this.#reader.cancel(reason).catch(() => {});
  }
}

/** A source for any of: a {@link ByteSource}, a `ReadableStream`, or bytes in memory. */
export function toSource(input: ByteSource | ReadableStream<Uint8Array> | Uint8Array): ByteSource {
  if (input instanceof Uint8Array) return new BufferSource(input);
  if (input instanceof ReadableStream) return new ReadableSource(input);
  return input;
}

/** The other side of a connection sent (or took) nothing for longer than allowed. */
export class PeerTimeoutError extends Error {
  /** Create with one line saying what the peer failed to do and for how long. */
  constructor(message: string) {
    super(message);
    this.name = "PeerTimeoutError";
  }
}

/**
 * `p`, or a {@link PeerTimeoutError} with `message` once `ms` pass first (`ms` 0 or less: no limit).
 * The loser is left to settle on its own (its rejection is handled).
 */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  if (!(ms > 0)) return await p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PeerTimeoutError(message)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Something with Deno's `read(p)` shape (a `Deno.Conn`, a `Deno.FsFile`). */
export interface RawReader {
  /** Read into `p`; the number of bytes read, or null at end of input. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Something with Deno's `write(p)` shape: may write fewer bytes than given. */
export interface RawWriter {
  /** Write from `p`; the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
}

/** A source over a {@link RawReader}, through one reused buffer (cancel does not close the reader). */
export class RawReaderSource implements ByteSource {
  #r: RawReader;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #idleMs: number;

  /**
   * Read from `r` with a buffer of `bufferBytes` (default 1 MiB). With `idleTimeoutMs`, a read
   * that brings no byte for that long fails with a {@link PeerTimeoutError} (a source that went
   * silent is refused, not awaited forever).
   */
  constructor(r: RawReader, bufferBytes = 1 << 20, idleTimeoutMs = 0) {
    this.#r = r;
    this.#buf = new Uint8Array(bufferBytes);
    this.#idleMs = idleTimeoutMs;
  }

  async #read(p: Uint8Array): Promise<number | null> {
    return await withTimeout(
      this.#r.read(p),
      this.#idleMs,
      `no data from the other side for ${this.#idleMs} ms`,
    );
  }

  async #more(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** The next `n` bytes (fewer at the end): a view into the buffer if they fit, else a copy. */
  async read(n: number): Promise<Uint8Array> {
    if (n <= this.#buf.length) {
      if (this.#buf.length - this.#start < n) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      while (this.#end - this.#start < n && (await this.#more()));
      const take = Math.min(n, this.#end - this.#start);
      const v = this.#buf.subarray(this.#start, this.#start + take);
      this.#start += take;
      return v;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (this.#start === this.#end && !(await this.#more())) break;
      const take = Math.min(n - o, this.#end - this.#start);
      out.set(this.#buf.subarray(this.#start, this.#start + take), o);
      this.#start += take;
      o += take;
    }
    return o === n ? out : out.subarray(0, o);
  }

  /** Whether the input has ended. */
  async atEnd(): Promise<boolean> {
    while (this.#start === this.#end) if (!(await this.#more())) return true;
    return false;
  }

  /** Stop reading (the owner closes the reader). */
  cancel(): Promise<void> {
    this.#eof = true;
    this.#start = this.#end = 0;
    return Promise.resolve();
  }
}

/** Options for {@link BlockReaderSource}. */
export interface BlockReaderOptions {
  /** Bytes read per block (default 8 MiB). */
  blockBytes?: number;
  /**
   * Read every block into fresh memory and never reuse it, so views stay valid (the source then
   * {@link ByteSource.retainsViews}); memory grows with the input. Default false: two buffers
   * take turns.
   */
  retain?: boolean;
  /**
   * With `retain`: the expected input size (a file's size). The source then reads the whole input
   * into one buffer of that size, block after block, so nothing is copied twice and only one
   * allocation is made; input beyond it goes to further blocks.
   */
  sizeHint?: number;
}

/** A buffer being filled: `n` bytes at `buf[at..)`, or the read's error. */
interface Fill {
  buf: Uint8Array;
  at: number;
  n: number;
  /** Whether the read stopped short of what it asked for: the input has ended. */
  ended: boolean;
  error?: unknown;
}

/**
 * A source over a {@link RawReader} (a file) that reads big blocks one ahead: while the caller works
 * on one block, the next is already being read (Deno runs file reads off the main thread), so
 * reading overlaps verifying and copying. A read that crosses into a new buffer is made contiguous
 * by copying the current buffer's unread tail into room kept in front of the next block, so no
 * record is copied twice. Cancel does not close the reader; it waits for the read in flight.
 */
export class BlockReaderSource implements ByteSource {
  /** Whether views stay valid for the life of the source (the `retain` option). */
  readonly retainsViews: boolean;
  #r: RawReader;
  #block: number;
  #hint: number;
  #cur: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #spare: Uint8Array | null = null;
  #pending: Promise<Fill> | null = null;
  #eof = false;

  /** Read from `r` in blocks (see {@link BlockReaderOptions}). */
  constructor(r: RawReader, opts: BlockReaderOptions = {}) {
    const block = opts.blockBytes ?? 8 << 20;
    if (!Number.isInteger(block) || block < 1) {
      throw new RangeError(`blockBytes is ${block}: expected a positive integer`);
    }
    this.#r = r;
    this.#block = block;
    this.retainsViews = opts.retain ?? false;
    const hint = opts.sizeHint ?? 0;
    this.#hint = this.retainsViews && Number.isSafeInteger(hint) && hint > 0 ? hint : 0;
  }

  /** Room kept in front of a block for a tail carried over (a quarter block, at least 64 KiB). */
  get #head(): number {
    return Math.max(64 << 10, this.#block >>> 2);
  }

  /** Read up to `len` bytes into `buf[at..)`, looping over short reads. */
  async #fill(buf: Uint8Array, at: number, len: number): Promise<Fill> {
    let n = 0;
    try {
      while (n < len) {
        const k = await this.#r.read(buf.subarray(at + n, at + len));
        if (k === null) return { buf, at, n, ended: true };
        n += k;
      }
    } catch (error) {
      return { buf, at, n, ended: true, error };
    }
    return { buf, at, n, ended: false };
  }

  /** Start reading the next block: after the data in a kept buffer with room, else into a new one. */
  #prefetch(): Promise<Fill> {
    const cur = this.#cur;
    if (this.retainsViews && cur.length > this.#end) {
      return this.#fill(cur, this.#end, Math.min(this.#block, cur.length - this.#end));
    }
    if (this.#hint > 0) {
      // One buffer for the whole input, one byte larger: the read that finds the end fits in it.
      const size = this.#hint + 1;
      this.#hint = 0;
      return this.#fill(new Uint8Array(size), 0, Math.min(this.#block, size));
    }
    const head = this.#head;
    let buf = this.#spare;
    this.#spare = null;
    if (buf === null || buf.length !== head + this.#block) buf = new Uint8Array(head + this.#block);
    return this.#fill(buf, head, this.#block);
  }

  /** Make the next block's bytes available after the unread ones; false at the end of input. */
  async #advance(): Promise<boolean> {
    if (this.#eof) return false;
    const f = await (this.#pending ?? this.#prefetch());
    this.#pending = null;
    if (f.error !== undefined) {
      this.#eof = true;
      throw f.error;
    }
    if (f.buf === this.#cur && f.at === this.#end) {
      this.#end += f.n; // read straight after the data: already contiguous
    } else {
      const tail = this.#end - this.#start;
      let buf = f.buf;
      let at = f.at - tail;
      let end = f.at + f.n;
      if (at < 0) {
        // The tail does not fit in the room in front: one larger buffer (a record over a block).
        buf = new Uint8Array(tail + f.n);
        buf.set(f.buf.subarray(f.at, end), tail);
        at = 0;
        end = tail + f.n;
        if (!this.retainsViews) this.#spare = f.buf;
      }
      buf.set(this.#cur.subarray(this.#start, this.#end), at);
      if (!this.retainsViews && this.#cur.length === this.#head + this.#block) this.#spare = this.#cur;
      this.#cur = buf;
      this.#start = at;
      this.#end = end;
    }
    if (f.ended) this.#eof = true;
    else this.#pending = this.#prefetch();
    return f.n > 0;
  }

  /** The next `n` bytes (fewer at the end), always one contiguous view. */
  async read(n: number): Promise<Uint8Array> {
    while (this.#end - this.#start < n && (await this.#advance()));
    const take = Math.min(n, this.#end - this.#start);
    const v = this.#cur.subarray(this.#start, this.#start + take);
    this.#start += take;
    return v;
  }

  /** Whether the input has ended. */
  async atEnd(): Promise<boolean> {
    while (this.#start === this.#end) if (!(await this.#advance())) return true;
    return false;
  }

  /** Stop reading; waits for a read in flight so that the owner may close the reader. */
  async cancel(): Promise<void> {
    this.#eof = true;
    this.#start = this.#end = 0;
    const p = this.#pending;
    this.#pending = null;
    if (p !== null) await p;
  }
}

/** Write all of `p` to `w`, looping over short writes. */
export async function writeAll(w: RawWriter, p: Uint8Array): Promise<void> {
  let o = 0;
  while (o < p.length) o += await w.write(p.subarray(o));
}

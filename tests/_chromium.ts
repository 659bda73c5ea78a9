/**
 * A headless Chromium driven over the Chrome DevTools Protocol (CDP), with Deno's built-in
 * WebSocket: no npm package, no browser download. Debian's `chromium` at /usr/bin/chromium.
 *
 * The browser starts with `--remote-debugging-port=0` and a fresh profile; it writes the port and
 * the browser target's path to `DevToolsActivePort` in the profile directory.
 */

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why Chromium cannot run here, or null when it can. */
export function chromiumMissing(): string | null {
  try {
    Deno.statSync(CHROMIUM);
    return null;
  } catch {
    return `${CHROMIUM} is not installed (Debian package chromium)`;
  }
}

/** A CDP event: method and params, with the session it came from. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** A running headless Chromium with one page. */
export class Browser {
  readonly #proc: Deno.ChildProcess;
  readonly #ws: WebSocket;
  readonly #dir: string;
  #id = 0;
  readonly #pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  /** Every event received, in order. */
  readonly events: CdpEvent[] = [];
  #listeners: ((e: CdpEvent) => void)[] = [];
  readonly #closed: Promise<void>;
  /** The page's session. */
  session = "";

  private constructor(proc: Deno.ChildProcess, ws: WebSocket, dir: string) {
    this.#proc = proc;
    this.#ws = ws;
    this.#dir = dir;
    this.#closed = new Promise((done) =>
      ws.addEventListener("close", () => {
        for (const p of this.#pending.values()) p.fail(new Error("Chromium's DevTools connection closed"));
        this.#pending.clear();
        done();
      })
    );
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data));
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.fail(new Error(`${msg.error.message} (${msg.error.code})`));
        else p?.ok(msg.result);
      } else {
        const e: CdpEvent = { method: msg.method, params: msg.params ?? {}, sessionId: msg.sessionId };
        this.events.push(e);
        for (const l of this.#listeners) l(e);
      }
    };
  }

  /** Start Chromium headless with a fresh profile and open one blank page with its domains enabled. */
  static async launch(width = 1000, height = 800): Promise<Browser> {
    const dir = await Deno.makeTempDir({ prefix: "hvsim-chromium-" });
    const proc = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--window-size=${width},${height}`,
        `--user-data-dir=${dir}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let text = "";
    for (let i = 0; i < 600 && !text.includes("\n"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        text = await Deno.readTextFile(`${dir}/DevToolsActivePort`);
      } catch { /* not yet written */ }
    }
    if (!text.includes("\n")) {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
      await proc.status;
      throw new Error("Chromium did not write DevToolsActivePort within 30 s");
    }
    const [port, path] = text.trim().split("\n");
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    await new Promise<void>((ok, fail) => {
      ws.onopen = () => ok();
      ws.onerror = () => fail(new Error("cannot connect to Chromium's DevTools WebSocket"));
    });
    const b = new Browser(proc, ws, dir);
    const { targetId } = await b.send("Target.createTarget", { url: "about:blank" }) as { targetId: string };
    const { sessionId } = await b.send("Target.attachToTarget", { targetId, flatten: true }) as {
      sessionId: string;
    };
    b.session = sessionId;
    for (const d of ["Page", "Runtime", "Log", "Network"]) await b.page(`${d}.enable`);
    await b.page("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return b;
  }

  /** Send a browser-level command. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((ok, fail) => {
      this.#pending.set(id, { ok, fail });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Send a command to the page. */
  page(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return this.send(method, params, this.session);
  }

  /** Wait (up to `ms`) for the page event `method`. */
  waitFor(method: string, ms = 20_000): Promise<CdpEvent> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${method} within ${ms} ms`)), ms);
      const l = (e: CdpEvent) => {
        if (e.method === method && e.sessionId === this.session) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((x) => x !== l);
          ok(e);
        }
      };
      this.#listeners.push(l);
    });
  }

  /** Navigate and wait for the load event. */
  async open(url: string): Promise<void> {
    const loaded = this.waitFor("Page.loadEventFired");
    await this.page("Page.navigate", { url });
    await loaded;
  }

  /** Evaluate `expression` in the page and return its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.page("Runtime.evaluate", { expression, returnByValue: true }) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (r.exceptionDetails) throw new Error(`page threw: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the whole page (beyond the viewport). */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.page("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }) as {
      data: string;
    };
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }

  /** Events of the page's session whose method is one of `methods`. */
  pageEvents(...methods: string[]): CdpEvent[] {
    return this.events.filter((e) => e.sessionId === this.session && methods.includes(e.method));
  }

  /** Close the browser and remove its profile. */
  async close(): Promise<void> {
    await within(this.send("Browser.close").catch(() => {}), 3000);
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
    await within(this.#closed, 3000);
    const done = await within(this.#proc.status.then(() => true), 5000);
    if (!done) {
      try {
        this.#proc.kill("SIGKILL");
      } catch { /* gone */ }
      await this.#proc.status;
    }
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** `p`'s value, or false after `ms` (the timer cleared either way). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | false> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<false>((r) => timer = setTimeout(() => r(false), ms))]);
  } finally {
    clearTimeout(timer);
  }
}

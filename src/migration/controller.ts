/**
 * The migration controller: pre-copy live migration and snapshots of one source VM.
 *
 * Live migration: Setup (dirty tracking on, stream header), PreCopy (round 0 sends every page, zero
 * pages as a flag; each later round takes the dirty log and sends what the guest wrote meanwhile,
 * the guest running for as long as each record takes on the link), a switchover policy decides when
 * to stop, StopAndCopy (final harvest, remaining pages, state sections, end record), Completing
 * (waiting for the destination to confirm it verified and took everything), Complete.
 *
 * Until the destination confirms, the source is never changed: on any failure (or a cancel) the
 * throttle is lifted, every dirty bit taken during the attempt is merged back into
 * {@link MigrationController.retained}, dirty tracking stays on, and the VM can run on and migrate
 * again.
 *
 * @module
 */

import { ctz32, DirtyBitmap, type PageSpan, pageSpans, popcount32 } from "./dirty_bitmap.ts";
import type { Link } from "./link.ts";
import { RealTimeLink, SimulatedLink } from "./link.ts";
import type { AutoConvergeOptions, SwitchoverPolicy, SyncReport } from "./policies.ts";
import { AutoConverge, policyByName } from "./policies.ts";
import { DEFAULT_PAGES_PER_RECORD, PageSender } from "./ram_pages.ts";
import type { MigrationState } from "./state.ts";
import { MigrationStateMachine } from "./state.ts";
import type { MigrationStats, RoundStats } from "./stats.ts";
import { BandwidthMeter, emptyStats, wallClockMs } from "./stats.ts";
import {
  RECORD_RAM_PAGES,
  RECORD_VERIFY_PAGES,
  STREAM_FLAG_DIFF,
  STREAM_FLAG_SNAPSHOT,
  StreamWriter,
} from "./stream.ts";
import type { MigrationTransport } from "./transport.ts";
import type { MigratableVm } from "./vm_interface.ts";
import { PAGE_SIZE } from "./vm_interface.ts";

/** Progress of a running migration, for a progress bar. */
export interface MigrationProgress {
  /** Current state. */
  state: MigrationState;
  /** Current round (the final pass has the number after the last pre-copy round). */
  round: number;
  /** Bytes written so far. */
  transferred: number;
  /** Bytes of dirty pages still to send (estimate). */
  remaining: number;
  /** transferred / (transferred + remaining), 0..100. */
  percent: number;
  /** Measured bandwidth, bytes/s (0 until known). */
  bandwidth: number;
  /** Estimated time to send what remains, ms (0 if bandwidth unknown). */
  etaMs: number;
  /** Guest throttle, percent. */
  throttlePercent: number;
  /** Link time since start, ms. */
  elapsedMs: number;
}

/** Options of {@link MigrationController.migrate}. */
export interface MigrateOptions {
  /** Switchover policy or its name: "qemu" (default), "seed", "xen". */
  policy?: SwitchoverPolicy | string;
  /** qemu's downtime-limit in ms when the policy is given by name (default 300). */
  downtimeLimitMs?: number;
  /** Auto-converge throttling (default on, with QEMU's parameters); false turns it off. */
  autoConverge?: boolean | AutoConvergeOptions;
  /** The clock: default a deterministic {@link SimulatedLink} at 1 Gbit/s, 0 latency, 1 GHz guest. */
  link?: Link;
  /** HMAC-SHA256 key: authenticate the stream. */
  key?: CryptoKey;
  /** Pages per ram-pages record (default 64). */
  pagesPerRecord?: number;
  /** Safety limit on pre-copy passes whatever the policy says (default 1000). */
  maxPasses?: number;
  /** Called at every round boundary and every `progressEveryRecords` records. */
  onProgress?: (p: MigrationProgress) => void;
  /** Records between progress calls (default 64). */
  progressEveryRecords?: number;
  /**
   * Switch over exactly when the guest has retired this many instructions: the guest never runs
   * past it during pre-copy, and if the policy wants to stop earlier the guest first runs there
   * (the link idling). For tests that migrate at a precise instruction boundary.
   */
  stopAt?: number;
  /**
   * After the state, re-send every page as verify-pages records so the destination can check that
   * it received exactly the source's final memory (Xen's VERIFY; catches dirty-tracking bugs).
   * Adds a full RAM pass to the downtime. Default false.
   */
  verify?: boolean;
}

/** Options of {@link MigrationController.snapshot}. */
export interface SnapshotOptions {
  /**
   * Only pages written since the last successful snapshot (the first diff is a full snapshot).
   * A diff snapshot turns dirty tracking on (and leaves it on) so the next diff can be small; a
   * plain snapshot leaves tracking as it was.
   */
  diff?: boolean;
  /** HMAC-SHA256 key. */
  key?: CryptoKey;
  /** The clock for statistics (default: wall time). */
  link?: Link;
  /** Pages per ram-pages record (default 64). */
  pagesPerRecord?: number;
}

/** How a migration or snapshot ended. */
export interface MigrationResult {
  /** Whether the destination confirmed. */
  ok: boolean;
  /** Final state: Complete, Failed or Cancelled. */
  state: MigrationState;
  /** Statistics. */
  stats: MigrationStats;
  /** The failure, if any. */
  error?: Error;
}

/** Thrown inside the controller when {@link MigrationController.cancel} takes effect. */
export class MigrationCancelledError extends Error {
  /** Create with the reason given to cancel(). */
  constructor(reason: string) {
    super(reason);
    this.name = "MigrationCancelledError";
  }
}

/** Per-attempt working state. */
interface Attempt {
  live: boolean;
  link: Link;
  writer: StreamWriter;
  sender: PageSender;
  batch: Uint32Array;
  stats: MigrationStats;
  meter: BandwidthMeter;
  t0: number;
  round: RoundStats;
  roundStartInstructions: number;
  runSeconds: number;
  ranInstructions: number;
  startInstructions: number;
  records: number;
  progressEvery: number;
  onProgress?: (p: MigrationProgress) => void;
  pending: DirtyBitmap;
  stopAt?: number;
  /** The pages the last harvest found written, for the round it ends. */
  harvested: PageSpan[];
}

/** Migrates or snapshots one source VM; reusable after a failure or cancel. */
export class MigrationController {
  /** The source VM. */
  readonly vm: MigratableVm;
  /** Guest pages. */
  readonly pages: number;
  /**
   * Pages written since the last successful snapshot (all pages until there is one). Bits taken
   * from the VM's dirty log during a failed attempt are merged back here.
   */
  readonly retained: DirtyBitmap;
  /** Statistics of the last (or current) attempt. */
  stats: MigrationStats;
  #sm = new MigrationStateMachine();
  #tracking = false;
  #migratedAway = false;
  #cancel: string | undefined;
  #taken: DirtyBitmap;

  /** Control migrations of `vm`. */
  constructor(vm: MigratableVm) {
    if (vm.ramBytes % PAGE_SIZE !== 0 || vm.ramBytes <= 0) {
      throw new RangeError(`VM RAM is ${vm.ramBytes} bytes: expected a positive multiple of 4096`);
    }
    this.vm = vm;
    this.pages = vm.ramBytes / PAGE_SIZE;
    this.retained = new DirtyBitmap(this.pages);
    this.retained.setAll();
    this.#taken = new DirtyBitmap(this.pages);
    this.stats = emptyStats(vm.ramBytes);
  }

  /** The current state. */
  get state(): MigrationState {
    return this.#sm.state;
  }

  /** Why the last attempt failed or was cancelled. */
  get reason(): string | undefined {
    return this.#sm.reason;
  }

  /** Whether dirty tracking is on (it stays on after a failure so no write is lost). */
  get tracking(): boolean {
    return this.#tracking;
  }

  /**
   * Ask a running migration to stop at the next record boundary; the source resumes. Throws where
   * cancelling is not allowed (not running, or Completing: the destination may already hold the VM).
   */
  cancel(reason = "cancelled by request"): void {
    if (!this.#sm.can("Cancelled")) {
      throw new Error(`Cannot cancel a migration in state ${this.#sm.state}`);
    }
    this.#cancel = reason;
  }

  /** Return to Idle after a failed or cancelled attempt. */
  reset(): void {
    this.#sm.transition("Idle");
  }

  /** Live-migrate the VM through `transport`. Resolves (never rejects for a failed migration). */
  async migrate(transport: MigrationTransport, opts: MigrateOptions = {}): Promise<MigrationResult> {
    const policy = typeof opts.policy === "object"
      ? opts.policy
      : policyByName(opts.policy ?? "qemu", opts.downtimeLimitMs);
    const auto = opts.autoConverge === false
      ? undefined
      : new AutoConverge(typeof opts.autoConverge === "object" ? opts.autoConverge : {});
    const maxPasses = opts.maxPasses ?? 1000;
    const stopAt = opts.stopAt;
    if (stopAt !== undefined && (!Number.isSafeInteger(stopAt) || stopAt < this.vm.instructions)) {
      throw new RangeError(
        `stopAt is ${stopAt}: expected a whole instruction count at or after the current ${this.vm.instructions}`,
      );
    }
    if (!Number.isInteger(maxPasses) || maxPasses < 1) {
      throw new RangeError(`maxPasses is ${maxPasses}: expected an integer of 1 or more`);
    }
    return await this.#attempt(transport, {
      live: true,
      link: opts.link ?? new SimulatedLink(),
      key: opts.key,
      pagesPerRecord: opts.pagesPerRecord,
      onProgress: opts.onProgress,
      progressEvery: opts.progressEveryRecords ?? 64,
      flags: 0,
      verify: opts.verify,
      stopAt,
    }, async (a) => {
      a.stats.policy = policy.name;
      a.stats.policyParams = { ...policy.params };
      a.stats.pageDirtyRounds = new Uint16Array(this.pages);
      const vm = this.vm;
      auto?.reset(a.link.now(), a.writer.bytesWritten);
      a.pending.setAll();
      this.#sm.transition("PreCopy");
      for (let pass = 0;; pass++) {
        this.#beginRound(a, pass, false, auto?.percent ?? 0);
        await a.writer.writeRound(pass, a.round.pages);
        this.#afterRecord(a, a.writer.recordBytes(8));
        await this.#sendPending(a);
        const newly = this.#sync(a);
        const dirty = a.pending.count();
        this.#endRound(a, dirty, newly);
        if (auto) {
          const t = auto.onSync(a.link.now(), a.writer.bytesWritten, newly);
          if (t !== null) vm.setThrottle(t / 100);
          a.stats.cpuThrottlePercentage = auto.percent;
        }
        const sync: SyncReport = {
          passes: pass + 1,
          dirtyPages: dirty,
          previousPages: a.round.pages,
          totalPages: this.pages,
          bandwidth: a.meter.estimate(a.link.now(), a.writer.bytesWritten),
          elapsed: a.link.now() - a.t0,
        };
        a.round.bandwidth = sync.bandwidth;
        a.round.test = policy.test?.(sync) ?? null;
        let reason = vm.finished
          ? "guest finished"
          : pass + 1 >= maxPasses
          ? `safety limit of ${maxPasses} passes`
          : policy.decide(sync);
        if (reason !== null && stopAt !== undefined && !vm.finished && vm.instructions < stopAt) {
          // Hold the switchover until the guest reaches stop-at exactly (the link idles meanwhile),
          // then make one more pass for what it wrote on the way.
          this.#runGuestTo(a, stopAt, (auto?.percent ?? 0) / 100);
          reason = null;
        }
        if (reason !== null) {
          if (stopAt !== undefined && vm.instructions === stopAt) {
            reason = `reached stop-at ${stopAt} (${reason})`;
          }
          a.stats.switchoverReason = reason;
          a.stats.precopyRounds = pass + 1;
          break;
        }
      }
      // Stop and copy: the guest runs no more.
      this.#sm.transition("StopAndCopy");
      const newly = this.#sync(a);
      this.#beginRound(a, a.stats.precopyRounds, true, auto?.percent ?? 0);
      return newly;
    });
  }

  /**
   * Write a snapshot of the stopped VM (the guest does not run): every page, or with `diff` only
   * the pages written since the last successful snapshot. A failed write merges the taken bits back.
   */
  async snapshot(transport: MigrationTransport, opts: SnapshotOptions = {}): Promise<MigrationResult> {
    let flags = STREAM_FLAG_SNAPSHOT;
    // Decide full or diff before the header is written: harvest into retained first, but never
    // while another attempt runs (its dirty log is not ours to take).
    if (this.#migratedAway) throw new Error("Cannot snapshot: this VM was migrated away");
    if (!this.#sm.can("Setup")) this.#sm.transition("Setup");
    if (this.#tracking) this.retained.or(this.vm.takeDirtyLog());
    const diff = opts.diff === true && this.retained.count() < this.pages;
    if (diff) flags |= STREAM_FLAG_DIFF;
    return await this.#attempt(transport, {
      live: false,
      link: opts.link ?? new RealTimeLink(),
      key: opts.key,
      pagesPerRecord: opts.pagesPerRecord,
      progressEvery: 64,
      flags,
      track: opts.diff === true,
    }, (a) => {
      a.stats.policy = "snapshot";
      a.stats.switchoverReason = diff ? "diff snapshot" : "snapshot";
      if (diff) {
        a.pending.or(this.retained);
        a.stats.pageDirtyRounds = new Uint16Array(this.pages);
        countPages(a.pending.words, a.stats.pageDirtyRounds);
      } else a.pending.setAll();
      this.#sm.transition("StopAndCopy");
      this.#beginRound(a, 0, true, 0);
      return Promise.resolve(0);
    });
  }

  async #attempt(
    transport: MigrationTransport,
    cfg: {
      live: boolean;
      link: Link;
      key?: CryptoKey;
      pagesPerRecord?: number;
      onProgress?: (p: MigrationProgress) => void;
      progressEvery: number;
      flags: number;
      verify?: boolean;
      track?: boolean;
      stopAt?: number;
    },
    precopy: (a: Attempt) => Promise<number>,
  ): Promise<MigrationResult> {
    if (this.#migratedAway) throw new Error("Cannot migrate: this VM was already migrated away");
    this.#sm.transition("Setup");
    this.#cancel = undefined;
    const vm = this.vm;
    const link = cfg.link;
    const stats = emptyStats(vm.ramBytes);
    this.stats = stats;
    stats.status = "Setup";
    stats.deterministic = link.deterministic;
    stats.clockHz = link.clockHz;
    stats.linkBandwidth = link instanceof SimulatedLink ? link.bandwidth : 0;
    stats.linkLatencyMs = link.latency * 1000;
    this.#taken.clearAll();
    const t0 = link.now();
    let a: Attempt | undefined;
    let trackingPaused = false;
    try {
      if (cfg.live) {
        if (this.#tracking) this.#harvestInto(this.retained);
        else {
          vm.setDirtyTracking(true);
          this.#tracking = true;
        }
        stats.dirtySyncCount = 1;
      }
      const writer = await StreamWriter.open(transport.sink, {
        ramBytes: vm.ramBytes,
        flags: cfg.flags,
        key: cfg.key,
      });
      link.transmitted(writer.bytesWritten);
      stats.transferred = writer.bytesWritten;
      stats.setupTime = (link.now() - t0) * 1000;
      const sender = new PageSender(writer, vm, cfg.pagesPerRecord ?? DEFAULT_PAGES_PER_RECORD);
      a = {
        live: cfg.live,
        link,
        writer,
        sender,
        batch: new Uint32Array(sender.pagesPerRecord),
        stats,
        meter: new BandwidthMeter(link.now(), writer.bytesWritten),
        t0,
        round: undefined as unknown as RoundStats,
        roundStartInstructions: vm.instructions,
        runSeconds: 0,
        ranInstructions: 0,
        startInstructions: vm.instructions,
        records: 0,
        progressEvery: Math.max(1, cfg.progressEvery),
        onProgress: cfg.onProgress,
        pending: new DirtyBitmap(this.pages),
        stopAt: cfg.stopAt,
        harvested: [],
      };
      const lastDirtied = await precopy(a);
      // Stop-and-copy: remaining pages, state, end. The guest is paused from here on.
      const tStop = link.now();
      stats.pausedAtWallMs = wallClockMs();
      const dirtyAtStop = a.pending.count();
      const bytesAtStop = writer.bytesWritten;
      a.round.pages = dirtyAtStop;
      await writer.writeRound(a.round.round, dirtyAtStop);
      this.#afterRecord(a, writer.recordBytes(8));
      await this.#sendPending(a);
      this.#endRound(a, 0, lastDirtied);
      // Dirty tracking is the host's business, not the guest's: save the state with it off, so the
      // destination does not inherit it. The guest has not run since the final harvest, so turning
      // it back on later (which clears the log) loses nothing.
      if (this.#tracking) {
        vm.setDirtyTracking(false);
        trackingPaused = true;
      }
      vm.setThrottle(0);
      const sections = vm.saveState();
      let stateBytes = 0;
      for (const s of sections) {
        const before = writer.bytesWritten;
        await writer.writeSection(s);
        stateBytes += s.data.length;
        this.#afterRecord(a, writer.bytesWritten - before);
      }
      stats.stateBytes = stateBytes;
      if (cfg.verify) {
        a.pending.setAll();
        await this.#sendPending(a, RECORD_VERIFY_PAGES);
      }
      const beforeEnd = writer.bytesWritten;
      await writer.writeEnd();
      this.#afterRecord(a, writer.bytesWritten - beforeEnd);
      await transport.sink.close();
      const sent = link.now();
      stats.downtime = (sent - tStop + link.latency) * 1000;
      const bw = link instanceof SimulatedLink ? link.bandwidth : stats.bandwidth;
      // What the pause cannot be shorter than: the bytes it had to send (zero and compressed pages
      // as the small records they are, not as whole pages) at the link's bandwidth, plus one latency.
      const pausedBytes = writer.bytesWritten - bytesAtStop;
      stats.downtimeLowerBound = bw > 0 ? (pausedBytes / bw + link.latency) * 1000 : 0;
      stats.remaining = 0;
      // Last moment a cancel can take effect: after this the destination may take the VM.
      if (this.#cancel !== undefined) throw new MigrationCancelledError(this.#cancel);
      this.#sm.transition("Completing");
      stats.status = "Completing";
      this.#progress(a);
      const confirmation = await transport.confirm();
      stats.confirmedAtWallMs = wallClockMs();
      stats.destinationSeenMs = confirmation?.seenMs ?? 0;
      if (link instanceof SimulatedLink) link.idle(2 * link.latency);
      stats.totalTime = (link.now() - t0) * 1000;
      if (!link.deterministic) stats.downtime = (link.now() - tStop) * 1000;
      stats.guestInstructions = vm.instructions - a.startInstructions;
      this.#sm.transition("Complete");
      stats.status = "Complete";
      if (cfg.live) {
        vm.setThrottle(0);
        vm.setDirtyTracking(false);
        this.#tracking = false;
        this.#migratedAway = true;
      } else if (cfg.track || this.#tracking) {
        // Diff snapshots: from now on the dirty log records what the next diff must hold.
        this.retained.clearAll();
        if (!this.#tracking || trackingPaused) vm.setDirtyTracking(true);
        this.#tracking = true;
      } else {
        // Untracked: anything may change unobserved, so a later diff must hold every page.
        this.retained.setAll();
      }
      return { ok: true, state: "Complete", stats };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      await transport.abort(err).catch(() => {});
      vm.setThrottle(0);
      if (trackingPaused) vm.setDirtyTracking(true);
      // Merge back every dirty bit taken from the VM during this attempt: nothing is lost.
      this.retained.or(this.#taken);
      stats.totalTime = (link.now() - t0) * 1000;
      stats.guestInstructions = a ? vm.instructions - a.startInstructions : 0;
      stats.cpuThrottlePercentage = 0;
      stats.error = err.message;
      if (err instanceof MigrationCancelledError) {
        this.#sm.cancel(err.message);
        stats.status = "Cancelled";
      } else {
        this.#sm.fail(err.message);
        stats.status = "Failed";
      }
      return { ok: false, state: this.#sm.state, stats, error: err };
    }
  }

  /**
   * Take the VM's dirty log into `into` (and into the attempt's taken set); returns newly dirty pages.
   * With `counts`, also count each page found dirty there.
   */
  #harvestInto(into: DirtyBitmap, counts?: Uint16Array, a?: Attempt): number {
    const log = this.vm.takeDirtyLog();
    into.or(log);
    this.#taken.or(log);
    if (a !== undefined) a.harvested = pageSpans(log, this.pages);
    return counts ? countPages(log, counts) : countBits(log);
  }

  #sync(a: Attempt): number {
    if (!a.live) return 0;
    a.stats.dirtySyncCount++;
    return this.#harvestInto(a.pending, a.stats.pageDirtyRounds, a);
  }

  #beginRound(a: Attempt, round: number, final: boolean, throttle: number): void {
    a.round = {
      round,
      final,
      pages: a.pending.count(),
      zeroPages: 0,
      normalPages: 0,
      bytes: 0,
      startMs: (a.link.now() - a.t0) * 1000,
      durationMs: 0,
      dirtyAfter: 0,
      throttlePercent: throttle,
      dirtied: 0,
      instructions: 0,
      bandwidth: 0,
      test: null,
    };
    a.roundStartInstructions = this.vm.instructions;
    a.stats.status = this.#sm.state;
    a.stats.remaining = a.round.pages * PAGE_SIZE;
    this.#progress(a);
  }

  #endRound(a: Attempt, dirtyAfter: number, newly: number): void {
    const r = a.round;
    const s = a.stats;
    r.durationMs = (a.link.now() - a.t0) * 1000 - r.startMs;
    r.dirtyAfter = dirtyAfter;
    r.dirtied = newly;
    r.instructions = this.vm.instructions - a.roundStartInstructions;
    s.rounds.push(r);
    if (a.live) s.roundDirtySpans.push(a.harvested);
    a.harvested = [];
    s.pagesPerRound.push(r.pages);
    s.bytesPerRound.push(r.bytes);
    s.remaining = dirtyAfter * PAGE_SIZE;
    if (!r.final) {
      if (r.durationMs > 0) s.dirtyPagesRate = Math.round(newly / (r.durationMs / 1000));
      s.expectedDowntime = s.bandwidth > 0 ? (dirtyAfter * PAGE_SIZE / s.bandwidth) * 1000 : 0;
    }
    this.#progress(a);
  }

  /** Send every page set in `a.pending`, clearing each as its record goes out. */
  async #sendPending(a: Attempt, type = RECORD_RAM_PAGES): Promise<void> {
    const batch = a.batch;
    const words = a.pending.words;
    const verify = type === RECORD_VERIFY_PAGES;
    let from = 0;
    for (;;) {
      const n = a.pending.collect(batch, from);
      if (n === 0) return;
      const c = await a.sender.sendRecord(batch, 0, n, type);
      for (let i = 0; i < n; i++) {
        const p = batch[i];
        words[p >>> 5] &= ~(1 << (p & 31));
      }
      if (verify) {
        a.stats.verifyBytes += c.bytes;
        this.#afterRecord(a, c.bytes);
        if (n < batch.length) return;
        from = batch[n - 1] + 1;
        continue;
      }
      const r = a.round;
      r.zeroPages += c.zero;
      r.normalPages += c.normal;
      a.stats.duplicate += c.zero;
      a.stats.normal += c.normal;
      a.stats.normalBytes += c.normal * PAGE_SIZE;
      a.stats.remaining = Math.max(0, a.stats.remaining - n * PAGE_SIZE);
      this.#afterRecord(a, c.bytes);
      if (n < batch.length) return;
      from = batch[n - 1] + 1;
    }
  }

  /** A record of `bytes` went out: advance the link, let the guest run that long, check for cancel. */
  #afterRecord(a: Attempt, bytes: number): void {
    const link = a.link;
    const before = link.now();
    link.transmitted(bytes);
    const now = link.now();
    a.round.bytes += bytes;
    a.stats.transferred = a.writer.bytesWritten;
    a.meter.update(now, a.writer.bytesWritten);
    const bw = a.meter.estimate(now, a.writer.bytesWritten);
    a.stats.bandwidth = bw;
    a.stats.mbps = bw * 8 / 1e6;
    if (a.live && this.#sm.state === "PreCopy") {
      a.runSeconds += now - before;
      const target = Math.floor(a.runSeconds * link.clockHz);
      let n = target - a.ranInstructions;
      a.ranInstructions = target;
      if (a.stopAt !== undefined) n = Math.min(n, a.stopAt - this.vm.instructions);
      if (n > 0 && !this.vm.finished) this.vm.run(n);
    }
    if (++a.records % a.progressEvery === 0) this.#progress(a);
    if (this.#cancel !== undefined) throw new MigrationCancelledError(this.#cancel);
  }

  /** Run the guest unthrottled to exactly `target` instructions while the link idles. */
  #runGuestTo(a: Attempt, target: number, throttle: number): void {
    const vm = this.vm;
    const start = vm.instructions;
    if (throttle > 0) vm.setThrottle(0);
    while (!vm.finished && vm.instructions < target) vm.run(target - vm.instructions);
    if (throttle > 0) vm.setThrottle(throttle);
    const seconds = (vm.instructions - start) / a.link.clockHz;
    if (a.link instanceof SimulatedLink) a.link.idle(seconds);
    a.runSeconds += seconds;
    a.ranInstructions = Math.floor(a.runSeconds * a.link.clockHz);
  }

  #progress(a: Attempt): void {
    if (!a.onProgress) return;
    const s = a.stats;
    const done = s.transferred;
    const left = s.remaining;
    a.onProgress({
      state: this.#sm.state,
      round: a.round?.round ?? 0,
      transferred: done,
      remaining: left,
      percent: done + left > 0 ? Math.min(100, (100 * done) / (done + left)) : 100,
      bandwidth: s.bandwidth,
      etaMs: s.bandwidth > 0 ? (left / s.bandwidth) * 1000 : 0,
      throttlePercent: s.cpuThrottlePercentage,
      elapsedMs: (a.link.now() - a.t0) * 1000,
    });
  }
}

/** Set bits in a bitmap. */
function countBits(words: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) n += popcount32(words[i]);
  return n;
}

/**
 * Add one to `counts[p]` (saturating at 65535) for each page p set in `words`; returns how many
 * were set. Costs one step per set bit, as sending those pages does anyway.
 */
function countPages(words: Uint32Array, counts: Uint16Array): number {
  let n = 0;
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (w === 0) continue;
    const base = i << 5;
    while (w !== 0) {
      const p = base + ctz32(w);
      if (p < counts.length && counts[p] !== 0xffff) counts[p]++;
      w &= w - 1;
      n++;
    }
  }
  return n;
}

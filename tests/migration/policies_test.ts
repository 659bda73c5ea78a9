import { equal, ok, throws } from "node:assert/strict";
import type { SyncReport } from "../../src/migration/policies.ts";
import {
  AutoConverge,
  policyByName,
  qemuPolicy,
  seedPolicy,
  xenPolicy,
} from "../../src/migration/policies.ts";

const base: SyncReport = {
  passes: 1,
  dirtyPages: 1000,
  previousPages: 1000,
  totalPages: 16384,
  bandwidth: 0,
  elapsed: 1,
};
const r = (o: Partial<SyncReport>): SyncReport => ({ ...base, ...o });

Deno.test("qemuPolicy() switches over when dirty bytes <= bandwidth x downtime-limit", () => {
  const p = qemuPolicy(); // 300 ms
  const table: [Partial<SyncReport>, boolean][] = [
    [{ bandwidth: 0, dirtyPages: 1 }, false], // no bandwidth measured yet
    [{ bandwidth: 0, dirtyPages: 0 }, true], // nothing left
    [{ bandwidth: 10_000_000, dirtyPages: 732 }, true], // 2,998,272 <= 3,000,000
    [{ bandwidth: 10_000_000, dirtyPages: 733 }, false], // 3,002,368 > 3,000,000
    [{ bandwidth: 125_000_000, dirtyPages: 9155 }, true], // 37,498,880 <= 37,500,000
    [{ bandwidth: 125_000_000, dirtyPages: 9156 }, false],
  ];
  for (const [o, want] of table) equal(p.decide(r(o)) !== null, want, JSON.stringify(o));
  const tight = qemuPolicy({ downtimeLimitMs: 1 });
  equal(tight.decide(r({ bandwidth: 3_000_000, dirtyPages: 1 })), null, "4096 > 3000 bytes");
  ok(qemuPolicy({ maxPasses: 3 }).decide(r({ passes: 3 }))!.includes("pass limit 3"));
  throws(() => qemuPolicy({ downtimeLimitMs: -1 }), RangeError);
});

Deno.test("seedPolicy() continues while the dirty count falls by 20 % and stops when it does not", () => {
  const p = seedPolicy();
  const table: [Partial<SyncReport>, boolean][] = [
    // first sync compares with round 0's full pass, never with "0 before round 1" (seed defect)
    [{ passes: 1, previousPages: 16384, dirtyPages: 5000 }, false],
    [{ passes: 2, previousPages: 5000, dirtyPages: 4000 }, false], // fell exactly 20 %
    [{ passes: 2, previousPages: 5000, dirtyPages: 4001 }, true], // fell less
    [{ passes: 3, previousPages: 100, dirtyPages: 100 }, true],
    [{ passes: 3, previousPages: 100, dirtyPages: 0 }, true], // nothing left
    [{ passes: 29, previousPages: 1000, dirtyPages: 10 }, false],
    [{ passes: 30, previousPages: 1000, dirtyPages: 10 }, true], // round cap
  ];
  for (const [o, want] of table) equal(p.decide(r(o)) !== null, want, JSON.stringify(o));
  equal(
    seedPolicy({ thresholdPercent: 0 }).decide(r({ passes: 2, previousPages: 10, dirtyPages: 10 })),
    null,
  );
  ok(
    seedPolicy({ thresholdPercent: 100 }).decide(r({ passes: 2, previousPages: 10, dirtyPages: 1 })) !== null,
  );
});

Deno.test("seedPolicy() validates its thresholds instead of underflowing (seed defect)", () => {
  for (const t of [101, 120, -1, NaN]) {
    throws(() => seedPolicy({ thresholdPercent: t }), { name: "RangeError", message: /expected 0\.\.100/ });
  }
  for (const c of [0, -3, 2.5]) throws(() => seedPolicy({ maxPasses: c }), RangeError);
});

Deno.test("xenPolicy() stops under 50 dirty pages or after 5 passes", () => {
  const p = xenPolicy();
  const table: [Partial<SyncReport>, boolean][] = [
    [{ passes: 1, dirtyPages: 49 }, true],
    [{ passes: 1, dirtyPages: 50 }, false],
    [{ passes: 4, dirtyPages: 5000 }, false],
    [{ passes: 5, dirtyPages: 5000 }, true],
  ];
  for (const [o, want] of table) equal(p.decide(r(o)) !== null, want, JSON.stringify(o));
});

Deno.test("policyByName() knows qemu, seed and xen and refuses others", () => {
  for (const n of ["qemu", "seed", "xen"]) equal(policyByName(n).name, n);
  throws(
    () => policyByName("postcopy"),
    /Unknown migration policy "postcopy": expected one of qemu, seed, xen/,
  );
});

Deno.test("AutoConverge throttles 20 %, then +10 % per two high periods, up to 99 %", () => {
  const a = new AutoConverge();
  a.reset(0, 0);
  // each 1 s period: 1 MB sent, 1000 pages (4 MB) dirtied: far above 50 %
  const seen: number[] = [];
  let t = 0;
  let sent = 0;
  for (let i = 0; i < 40; i++) {
    t += 1;
    sent += 1_000_000;
    const v = a.onSync(t, sent, 1000);
    if (v !== null) seen.push(v);
  }
  equal(seen.join(","), "20,30,40,50,60,70,80,90,99");
  // a period under one second is accumulated, not evaluated
  const b = new AutoConverge();
  b.reset(0, 0);
  equal(b.onSync(0.5, 1_000_000, 1000), null);
  equal(b.onSync(1.0, 1_000_000, 0), null); // first high period
  equal(b.onSync(2.0, 2_000_000, 1000), 20); // second
  // dirtying under 50 % of what was sent does not count
  const c = new AutoConverge();
  c.reset(0, 0);
  for (let i = 1; i <= 10; i++) equal(c.onSync(i, i * 10_000_000, 1000), null);
  throws(() => new AutoConverge({ maxPercent: 100 }), RangeError);
});

import { describe, expect, test } from "bun:test";
import {
  dedupStage, fingerprint, Inhibitor, ManualClock, needsUpdate, NotificationLog, parseTimeInterval, recordStage, refreshStage,
  retryStage, runStages, Silences, silenceStage, timeIntervalStage, waitStage, inhibitStage,
  type Alert, type Integration, type NflogEntry, type NotifyContext, type NotifyResult, type RetryObserver,
} from "../../src/alertmanager/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";

const T0 = Date.UTC(2024, 0, 1); // a Monday
const HOUR = 3_600_000;

function alert(labels: Record<string, string>, endsAt = 0): Alert {
  return { labels: labelsFromRecord(labels), annotations: [], startsAt: T0 - 1000, endsAt, generatorURL: "", updatedAt: T0, timeout: false };
}

function ctx(over: Partial<NotifyContext> = {}): NotifyContext {
  return {
    groupKey: "{}:{}", receiverName: "r", groupLabels: [], repeatInterval: HOUR, muteTimeIntervals: [],
    activeTimeIntervals: [], signal: new AbortController().signal, ...over,
  };
}

const entry = (firing: string[], resolved: string[], timestamp = T0): NflogEntry => ({
  groupKey: "g", receiver: { groupName: "r", integration: "webhook", idx: 0 }, timestamp, firingAlerts: firing,
  resolvedAlerts: resolved, expiresAt: T0 + 100 * HOUR,
});

describe("needsUpdate", () => {
  const set = (...xs: string[]) => new Set(xs);
  test("no entry: only when something fires", () => {
    expect(needsUpdate(undefined, set("a"), set(), true, HOUR, T0)).toBe(true);
    expect(needsUpdate(undefined, set(), set("a"), true, HOUR, T0)).toBe(false);
  });
  test("new firing alert, all resolved, resolved changes, repeat", () => {
    expect(needsUpdate(entry(["a"], []), set("a", "b"), set(), true, HOUR, T0)).toBe(true);
    expect(needsUpdate(entry(["a", "b"], []), set("a"), set("b"), false, HOUR, T0)).toBe(false);
    expect(needsUpdate(entry(["a", "b"], []), set("a"), set("b"), true, HOUR, T0)).toBe(true);
    expect(needsUpdate(entry(["a"], []), set(), set("a"), false, HOUR, T0)).toBe(true);
    expect(needsUpdate(entry([], ["a"]), set(), set("a"), true, HOUR, T0)).toBe(false);
    expect(needsUpdate(entry(["a"], []), set("a"), set(), true, HOUR, T0 + HOUR - 1)).toBe(false);
    expect(needsUpdate(entry(["a"], []), set("a"), set(), true, HOUR, T0 + HOUR)).toBe(true);
  });
});

describe("muting stages", () => {
  const clock = new ManualClock(T0);
  test("inhibit drops muted alerts", async () => {
    const inh = new Inhibitor([{ source_matchers: ["s=crit"], target_matchers: ["s=warn"] }]);
    const src = alert({ s: "crit" });
    inh.observe(src, fingerprint(src.labels));
    const out = await inhibitStage(() => inh, clock)(ctx(), [src, alert({ s: "warn" })]);
    expect(out).toEqual([src]);
  });

  test("silence drops silenced alerts", async () => {
    const silences = new Silences({ retention: HOUR });
    silences.set({ matchers: [{ name: "a", value: "1", isRegex: false }], startsAt: T0, endsAt: T0 + HOUR, createdBy: "", comment: "" }, T0);
    const keep = alert({ a: "2" });
    expect(await silenceStage(silences, clock)(ctx(), [alert({ a: "1" }), keep])).toEqual([keep]);
  });

  test("mute and active time intervals", async () => {
    const weekend = [parseTimeInterval({ weekdays: ["saturday", "sunday"] })];
    const monday = [parseTimeInterval({ weekdays: ["monday"] })];
    const intervals = new Map([["weekend", weekend], ["monday", monday]]);
    const stage = timeIntervalStage(() => intervals, clock);
    const a = [alert({ a: "1" })];
    expect(await stage(ctx({ muteTimeIntervals: ["monday"] }), a)).toEqual([]);
    expect(await stage(ctx({ muteTimeIntervals: ["weekend"] }), a)).toEqual(a);
    expect(await stage(ctx({ activeTimeIntervals: ["weekend"] }), a)).toEqual([]);
    expect(await stage(ctx({ activeTimeIntervals: ["monday"] }), a)).toEqual(a);
  });
});

describe("wait, dedup, record", () => {
  test("wait is position × peer timeout on the clock", async () => {
    const clock = new ManualClock(T0);
    let done = false;
    const p = waitStage(() => 2, 15_000, clock)(ctx(), [alert({ a: "1" })]);
    void Promise.resolve(p).then(() => { done = true; });
    clock.advance(29_999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    expect((await p).length).toBe(1);
  });

  test("dedup passes once, record makes the next run a no-op", async () => {
    const clock = new ManualClock(T0);
    const nflog = new NotificationLog({ retention: HOUR });
    const recv = { groupName: "r", integration: "webhook", idx: 0 };
    const stages = [dedupStage(nflog, recv, true, clock), recordStage(nflog, recv, clock)];
    const alerts = [alert({ a: "1" }), alert({ a: "2" }, T0 - 1)];
    expect((await runStages(stages, ctx(), alerts)).length).toBe(2);
    const logged = nflog.query("{}:{}", "r/webhook/0")!;
    expect(logged.firingAlerts).toEqual([fingerprint(alerts[0]!.labels)]);
    expect(logged.resolvedAlerts).toEqual([fingerprint(alerts[1]!.labels)]);
    expect(await runStages(stages, ctx(), alerts)).toEqual([]);
  });
});

class FakeIntegration implements Integration {
  readonly name = "webhook";
  readonly index = 0;
  calls: Alert[][] = [];
  constructor(private readonly results: NotifyResult[], readonly sendResolved = true) {}
  async notify(_ctx: NotifyContext, alerts: Alert[]): Promise<NotifyResult> {
    this.calls.push(alerts);
    return this.results.shift() ?? { retry: false };
  }
}

const counting = (): RetryObserver & { attempts: number; failures: number } => {
  const o = { attempts: 0, failures: 0, attempt() { o.attempts++; }, failed() { o.failures++; }, latency() {} };
  return o;
};

async function settle(clock: ManualClock, p: Promise<unknown>): Promise<void> {
  let finished = false;
  void p.then(() => { finished = true; }, () => { finished = true; });
  for (let i = 0; i < 1000 && !finished; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
  }
}

describe("refresh stage", () => {
  test("a firing alert that resolved since the flush began goes on resolved; nothing else changes", async () => {
    const clock = new ManualClock(T0 + 10_000);
    const firing = alert({ a: "1" });
    const stillFiring = alert({ a: "2" });
    const store = new Map<string, Alert>([
      [fingerprint(firing.labels), { ...firing, endsAt: T0 + 5_000, updatedAt: T0 + 5_000 }],
      [fingerprint(stillFiring.labels), { ...stillFiring, endsAt: T0 + 60_000, updatedAt: T0 + 6_000 }],
    ]);
    const out = await runStages([refreshStage((fp) => store.get(fp), clock)], ctx(), [firing, stillFiring]);
    expect(out.map((a) => [a.labels[0]!.value, a.endsAt])).toEqual([["1", T0 + 5_000], ["2", 0]]);
    // With the resolution taken, dedup against an entry that already notified it resolved sends nothing.
    const nflog = new NotificationLog({ retention: HOUR });
    nflog.log("{}:{}", { groupName: "r", integration: "webhook", idx: 0 }, [], [fingerprint(firing.labels)], T0 + 6_000);
    const dedup = dedupStage(nflog, { groupName: "r", integration: "webhook", idx: 0 }, true, clock);
    expect(await runStages([refreshStage((fp) => store.get(fp), clock), dedup], ctx(), [firing])).toEqual([]);
    expect(await runStages([dedup], ctx(), [firing])).toHaveLength(1);
  });
});

describe("retry stage", () => {
  test("retries retryable failures with backoff until success", async () => {
    const clock = new ManualClock(T0);
    const integ = new FakeIntegration([{ retry: true, error: new Error("503") }, { retry: true, error: new Error("503") }]);
    const obs = counting();
    const p = retryStage(integ, clock, obs, nopLogger)(ctx(), [alert({ a: "1" })]);
    await settle(clock, Promise.resolve(p));
    expect((await p).length).toBe(1);
    expect(integ.calls.length).toBe(3);
    expect(obs).toMatchObject({ attempts: 3, failures: 2 });
  });

  test("stops at an unrecoverable error", async () => {
    const integ = new FakeIntegration([{ retry: false, error: new Error("unexpected status code 400") }]);
    const p = retryStage(integ, new ManualClock(T0), counting(), nopLogger)(ctx(), [alert({ a: "1" })]);
    await expect(Promise.resolve(p)).rejects.toThrow("unrecoverable error after 1 attempts: unexpected status code 400");
  });

  test("gives up when the deadline passes", async () => {
    const clock = new ManualClock(T0);
    const deadline = new AbortController();
    clock.setTimer(() => deadline.abort(new Error("deadline")), 2000);
    const integ = new FakeIntegration(Array.from({ length: 100 }, () => ({ retry: true, error: new Error("down") })));
    const p = Promise.resolve(retryStage(integ, clock, counting(), nopLogger)(ctx({ signal: deadline.signal }), [alert({ a: "1" })]));
    await settle(clock, p);
    await expect(p).rejects.toThrow("notify retry canceled after");
    expect(integ.calls.length).toBeGreaterThan(1);
    expect(integ.calls.length).toBeLessThan(10);
  });

  test("without send_resolved only firing alerts go out; all-resolved sends nothing", async () => {
    const clock = new ManualClock(T0);
    const integ = new FakeIntegration([], false);
    const stage = retryStage(integ, clock, counting(), nopLogger);
    const firing = alert({ a: "1" });
    await stage(ctx(), [firing, alert({ a: "2" }, T0 - 1)]);
    expect(integ.calls).toEqual([[firing]]);
    const out = await stage(ctx(), [alert({ a: "2" }, T0 - 1)]);
    expect(out.length).toBe(1);
    expect(integ.calls.length).toBe(1);
  });
});

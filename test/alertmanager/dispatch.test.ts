import { describe, expect, test } from "bun:test";
import { buildRouteTree, Dispatcher, labelSetString, ManualClock, type Alert, type GroupInfo } from "../../src/alertmanager/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { config } from "./helpers.ts";

const SECOND = 1000;

function setup(groupBy: string) {
  const clock = new ManualClock();
  const route = buildRouteTree(config(`route: {receiver: r, group_by: ${groupBy}, group_wait: 30s, group_interval: 1m}\nreceivers: [{name: r}]`).route);
  const flushes: { group: GroupInfo; alerts: Alert[] }[] = [];
  const d = new Dispatcher(route, clock, async (group, alerts) => {
    flushes.push({ group, alerts });
    return true;
  }, nopLogger);
  return { clock, d, flushes };
}

function alert(clock: ManualClock, labels: Record<string, string>, startsAgo = 0, endsIn = 3600 * SECOND): Alert {
  const now = clock.now();
  return { labels: labelsFromRecord(labels), annotations: [], startsAt: now - startsAgo, endsAt: now + endsIn, generatorURL: "", updatedAt: now, timeout: false };
}

describe("dispatcher", () => {
  test("in a cluster, group_interval ticks fall on a grid shared by nodes whose groups were created at different times", async () => {
    const route = buildRouteTree(config(`route: {receiver: r, group_by: [alertname], group_wait: 30s, group_interval: 1m}\nreceivers: [{name: r}]`).route);
    const clock = new ManualClock(Date.UTC(2024, 0, 1, 0, 0, 7));
    const ticks: Record<string, number[]> = { early: [], late: [] };
    const node = (name: string) => new Dispatcher(route, clock, async () => {
      ticks[name]!.push(clock.now());
      return true;
    }, nopLogger, true);
    const early = node("early");
    const late = node("late");
    early.process(alert(clock, { alertname: "A" }));
    clock.advance(17 * SECOND); // the other node's group is created 17 s later (a restart)
    late.process(alert(clock, { alertname: "A" }));
    for (let i = 0; i < 50; i++) {
      clock.advance(6 * SECOND);
      await Promise.all([early.settled(), late.settled()]);
    }
    // First flushes at group_wait after each creation, then both on the same instants, a minute apart.
    expect(ticks.early![0]! + 17 * SECOND).toBe(ticks.late![0]!);
    expect(ticks.early!.slice(1, 4)).toEqual(ticks.late!.slice(1, 4));
    expect(ticks.early![2]! - ticks.early![1]!).toBe(60 * SECOND);
    expect(ticks.early![1]! - ticks.early![0]!).toBeLessThanOrEqual(60 * SECOND);
    early.stop();
    late.stop();
  });

  test("groups by the route's labels and flushes after group_wait, then every group_interval", async () => {
    const { clock, d, flushes } = setup("[alertname]");
    d.process(alert(clock, { alertname: "A", i: "1" }));
    d.process(alert(clock, { alertname: "A", i: "2" }));
    d.process(alert(clock, { alertname: "B" }));
    expect(d.groupCount).toBe(2);
    clock.advance(30 * SECOND - 1);
    expect(flushes.length).toBe(0);
    clock.advance(1);
    await d.settled();
    expect(flushes.map((f) => [f.group.groupKey, f.alerts.length]).sort()).toEqual([
      ['{}:{alertname="A"}', 2], ['{}:{alertname="B"}', 1],
    ]);
    expect(flushes[0]!.alerts.every((a) => a.endsAt === 0)).toBe(true);
    clock.advance(60 * SECOND);
    await d.settled();
    expect(flushes.length).toBe(4);
  });

  test("group_by ['...'] uses all labels; an empty group_by puts everything in one group", () => {
    const all = setup("['...']");
    all.d.process(alert(all.clock, { alertname: "A", i: "1" }));
    all.d.process(alert(all.clock, { alertname: "A", i: "2" }));
    expect(all.d.groups().map((g) => g.groupKey)).toEqual(['{}:{alertname="A", i="1"}', '{}:{alertname="A", i="2"}']);
    const none = setup("[]");
    none.d.process(alert(none.clock, { alertname: "A" }));
    none.d.process(alert(none.clock, { alertname: "B" }));
    expect(none.d.groups().map((g) => [g.groupKey, g.alerts.length])).toEqual([["{}:{}", 2]]);
  });

  test("an alert older than group_wait is flushed at once", async () => {
    const { clock, d, flushes } = setup("[alertname]");
    d.process(alert(clock, { alertname: "A" }, 60 * SECOND));
    clock.advance(0);
    await d.settled();
    expect(flushes.length).toBe(1);
  });

  test("resolved alerts leave after a successful flush and empty groups are removed", async () => {
    const { clock, d, flushes } = setup("[alertname]");
    d.process(alert(clock, { alertname: "A" }, 0, 10 * SECOND));
    clock.advance(30 * SECOND);
    await d.settled();
    expect(flushes[0]!.alerts[0]!.endsAt).toBeGreaterThan(0);
    expect(d.groupCount).toBe(0);
    d.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  test("labelSetString is model.LabelSet.String()", () => {
    expect(labelSetString(labelsFromRecord({ b: "2", a: 'x"y' }))).toBe('{a="x\\"y", b="2"}');
  });
});

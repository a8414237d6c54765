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

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Registry } from "../../src/model/index.ts";
import { alertsAPIData, RuleFileErrors, rulesAPIData, type AlertState, type RuleManager } from "../../src/rules/index.ts";
import { evalAt, fixture, T0, type Fixture } from "./helpers.ts";

const S = 1000;
let f: Fixture;
let m: RuleManager | undefined;
beforeEach(async () => {
  f = await fixture();
});
afterEach(async () => {
  await m?.stop();
  m = undefined;
  await f.close();
});

function alertStates(mgr: RuleManager): { state: AlertState; activeAt: number }[] {
  return mgr.groups().flatMap((g) => g.rules.flatMap((r) => (r.type === "alerting" ? r.alerts.map((a) => ({ state: a.state, activeAt: a.activeAt })) : [])));
}

describe("recording rules", () => {
  test("write results into the DB with the rule's labels and mark vanished series stale", async () => {
    f.write({ __name__: "x", i: "a" }, [[T0, 1], [T0 + 10 * S, 1]]);
    f.write({ __name__: "x", i: "b" }, [[T0, 2]]);
    const file = f.ruleFile("r.yml", `groups:
- name: rec
  rules:
  - record: x:doubled
    expr: x * 2 > 0
    labels: {source: rule}
`);
    m = f.manager({ outageTolerance: 3_600_000 });
    await m.update([file], 10 * S);
    // b ends with a staleness marker, so it is gone from the result at T0+20s.
    f.writeStale({ __name__: "x", i: "b" }, T0 + 16 * S);
    await evalAt(f, m, [T0 + 10 * S, T0 + 20 * S]);
    const got = await f.read({ __name__: "x:doubled" });
    expect(got.map((s) => s.labels)).toEqual(["__name__=x:doubled,i=a,source=rule", "__name__=x:doubled,i=b,source=rule"]);
    expect(got[0]!.points).toEqual([{ t: T0 + 10 * S, v: 2, stale: false }, { t: T0 + 20 * S, v: 2, stale: false }]);
    expect(got[1]!.points[0]).toEqual({ t: T0 + 10 * S, v: 4, stale: false });
    expect(got[1]!.points[1]!.t).toBe(T0 + 20 * S);
    expect(got[1]!.points[1]!.stale).toBe(true);

    const res = await f.engine.instantQuery((a, b) => f.db.querier(a, b), "x:doubled", T0 + 20 * S);
    expect(res.value.type === "vector" && res.value.samples.map((s) => s.v)).toEqual([2]);
    const [g] = m.groups();
    expect(g!.rules[0]).toMatchObject({ type: "recording", health: "ok", lastError: "", query: "x * 2 > 0" });
    expect(f.registry.render()).toContain(`prometheus_rule_evaluations_total{rule_group="${file};rec"} 2`);
    expect(f.registry.render()).toContain(`prometheus_rule_group_last_evaluation_samples{rule_group="${file};rec"} 1`);
  });

  test("a later rule sees what an earlier rule of the group wrote at the same time", async () => {
    f.write({ __name__: "y" }, [[T0, 3]]);
    const file = f.ruleFile("r.yml", "groups:\n- name: chain\n  rules:\n  - record: y1\n    expr: y + 1\n  - record: y2\n    expr: y1 * 10\n");
    m = f.manager();
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + 5 * S]);
    expect((await f.read({ __name__: "y2" }))[0]!.points).toEqual([{ t: T0 + 5 * S, v: 40, stale: false }]);
  });

  test("group labels, rule labels and query_offset", async () => {
    f.write({ __name__: "q", i: "1" }, [[T0, 1], [T0 + 60 * S, 100]]);
    const file = f.ruleFile("r.yml", `groups:
- name: off
  query_offset: 1m
  labels: {team: infra, tier: group}
  rules:
  - record: q:offset
    expr: q
    labels: {tier: rule}
`);
    m = f.manager();
    await m.update([file], 10 * S, { queryOffset: 5 * S });
    await evalAt(f, m, [T0 + 60 * S]);
    const got = await f.read({ __name__: "q:offset" });
    expect(got.map((s) => s.labels)).toEqual(["__name__=q:offset,i=1,team=infra,tier=rule"]);
    expect(got[0]!.points).toEqual([{ t: T0, v: 1, stale: false }]);
    expect(m.groups()[0]!.queryOffset).toBe(60 * S);
  });

  test("limit and query errors make the rule unhealthy and are counted", async () => {
    f.write({ __name__: "z", i: "1" }, [[T0, 1]]);
    f.write({ __name__: "z", i: "2" }, [[T0, 1]]);
    const file = f.ruleFile("r.yml", "groups:\n- name: lim\n  limit: 1\n  rules:\n  - record: zz\n    expr: z\n  - alert: Many\n    expr: z\n");
    m = f.manager();
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + S]);
    const rules = m.groups()[0]!.rules;
    expect(rules[0]).toMatchObject({ health: "err", lastError: "exceeded limit of 1 with 2 series" });
    expect(rules[1]).toMatchObject({ health: "err", lastError: "exceeded limit of 1 with 2 alerts" });
    expect(await f.read({ __name__: "zz" })).toEqual([]);
    expect(f.registry.render()).toContain(`prometheus_rule_evaluation_failures_total{rule_group="${file};lim"} 2`);
    const api = rulesAPIData(m.groups());
    expect(api.groups[0]!.rules[0]).toMatchObject({ health: "err", lastError: "exceeded limit of 1 with 2 series" });
  });
});

describe("alerting rules", () => {
  const ruleText = `groups:
- name: alerts
  rules:
  - alert: InstanceDown
    expr: up == 0
    for: 30s
    labels:
      severity: "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}"
    annotations:
      summary: "{{ $labels.instance }} of {{ $labels.job }} down, value {{ $value }}, cluster {{ $externalLabels.cluster }}"
`;

  test("inactive → pending → firing → resolved at Prometheus's evaluations", async () => {
    const points: [number, number][] = [];
    for (let s = 0; s <= 100; s += 10) points.push([T0 + s * S, s <= 40 ? 0 : 1]);
    f.write({ __name__: "up", job: "node", instance: "h:9100" }, points);
    m = f.manager({ externalLabels: { cluster: "eu1" }, externalURL: "http://prom:9090", resendDelay: 60 * S });
    await m.update([f.ruleFile("a.yml", ruleText)], 10 * S);

    const table: [number, AlertState | "none"][] = [
      [10, "pending"],
      [20, "pending"],
      [30, "pending"],
      [40, "firing"],
      [50, "none"],
    ];
    for (const [s, want] of table) {
      await evalAt(f, m, [T0 + s * S]);
      const states = alertStates(m);
      if (want === "none") expect(alertsAPIData(m.groups()).alerts).toEqual([]);
      else {
        expect(states).toEqual([{ state: want, activeAt: T0 + 10 * S }]);
        expect(alertsAPIData(m.groups()).alerts.map((a) => a.state)).toEqual([want]);
      }
    }
    // The resolved alert is kept as inactive with resolvedAt (not shown by the API).
    const kept = m.groups()[0]!.rules[0]!;
    expect(kept.type === "alerting" && kept.alerts.map((a) => [a.state, a.resolvedAt])).toEqual([["inactive", T0 + 50 * S]]);

    // Sent: firing at 40s (valid for 4 × max(resend, interval)), resolved at 50s.
    expect(f.sent.length).toBe(2);
    const [firing] = f.sent[0]!;
    expect(firing!.startsAt).toBe(T0 + 40 * S);
    expect(firing!.endsAt).toBe(T0 + 40 * S + 4 * 60 * S);
    expect(firing!.generatorURL).toBe("http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
    expect(Object.fromEntries(firing!.labels.map((l) => [l.name, l.value]))).toEqual({ alertname: "InstanceDown", instance: "h:9100", job: "node", severity: "low" });
    expect(firing!.annotations).toEqual([{ name: "summary", value: "h:9100 of node down, value 0, cluster eu1" }]);
    const [resolved] = f.sent[1]!;
    expect(resolved!.endsAt).toBe(T0 + 50 * S);

    // ALERTS / ALERTS_FOR_STATE are written once the for-state is restored (after the second iteration).
    const alerts = await f.read({ __name__: "ALERTS" });
    expect(alerts.map((s) => [s.labels, s.points.map((p) => [(p.t - T0) / S, p.stale ? "stale" : p.v])])).toEqual([
      ["__name__=ALERTS,alertname=InstanceDown,alertstate=firing,instance=h:9100,job=node,severity=low", [[40, 1], [50, "stale"]]],
      ["__name__=ALERTS,alertname=InstanceDown,alertstate=pending,instance=h:9100,job=node,severity=low", [[30, 1], [40, "stale"]]],
    ]);
    const forState = await f.read({ __name__: "ALERTS_FOR_STATE" });
    expect(forState[0]!.points.map((p) => (p.stale ? "stale" : p.v))).toEqual([(T0 + 10 * S) / 1000, (T0 + 10 * S) / 1000, "stale"]);
  });

  test("resolved alerts are re-sent every resend delay while retained", async () => {
    f.write({ __name__: "up", instance: "a" }, [[T0, 0], [T0 + 10 * S, 1], [T0 + 100 * S, 1]]);
    const file = f.ruleFile("a.yml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n");
    m = f.manager({ resendDelay: 20 * S });
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0, T0 + 10 * S, T0 + 20 * S, T0 + 30 * S, T0 + 40 * S]);
    expect(f.sent.map((b) => [(b[0]!.endsAt - T0) / S, (b[0]!.startsAt - T0) / S])).toEqual([
      [80, 0],
      [10, 0],
      [10, 0],
    ]);
  });

  test("keep_firing_for keeps a firing alert after the condition stops", async () => {
    f.write({ __name__: "err" }, [[T0 + 10 * S, 1], [T0 + 15 * S, 0], [T0 + 60 * S, 0]]);
    const file = f.ruleFile("a.yml", "groups:\n- name: g\n  rules:\n  - alert: E\n    expr: err > 0\n    keep_firing_for: 20s\n");
    m = f.manager();
    await m.update([file], 10 * S);
    const seen: string[] = [];
    for (const s of [10, 20, 30, 40]) {
      await evalAt(f, m, [T0 + s * S]);
      const api = alertsAPIData(m.groups()).alerts;
      seen.push(api.map((a) => `${a.state}${a.keepFiringSince ? "+kept" : ""}`).join() || "none");
    }
    expect(seen).toEqual(["firing", "firing+kept", "firing+kept", "none"]);
  });

  test("for state is restored from ALERTS_FOR_STATE by a new manager on the same DB", async () => {
    const points: [number, number][] = [];
    for (let s = 0; s <= 600; s += 10) points.push([T0 + s * S, 0]);
    f.write({ __name__: "up", instance: "a" }, points);
    const file = f.ruleFile("a.yml", "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n");
    const opts = { gracePeriod: 60 * S, outageTolerance: 3600 * S, manual: true } as const;
    const first = f.manager(opts);
    await first.update([file], 60 * S);
    await evalAt(f, first, [T0 + 60 * S, T0 + 120 * S, T0 + 180 * S, T0 + 240 * S]);
    expect(alertStates(first)).toEqual([{ state: "pending", activeAt: T0 + 60 * S }]);
    await first.stop();

    // Down from 240s to 300s: 180s of the 300s `for` were spent, so 120s remain after the restart.
    m = f.manager({ ...opts, registry: new Registry() });
    await m.update([file], 60 * S);
    await evalAt(f, m, [T0 + 300 * S, T0 + 310 * S]);
    expect(alertStates(m)).toEqual([{ state: "pending", activeAt: T0 + 130 * S }]);
    await evalAt(f, m, [T0 + 420 * S]);
    expect(alertStates(m)[0]!.state).toBe("pending");
    await evalAt(f, m, [T0 + 430 * S]);
    expect(alertStates(m)[0]!.state).toBe("firing");
  });

  test("reload keeps alert state of unchanged rules and marks removed rules' series stale", async () => {
    f.write({ __name__: "up", instance: "a" }, [[T0, 0], [T0 + 100 * S, 0]]);
    const v1 = "groups:\n- name: g\n  rules:\n  - record: r1\n    expr: up\n  - alert: A\n    expr: up == 0\n    for: 1m\n";
    const v2 = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n  - record: r2\n    expr: up + 1\n";
    const file = f.ruleFile("a.yml", v1);
    m = f.manager();
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + 10 * S, T0 + 20 * S]);
    expect(alertStates(m)).toEqual([{ state: "pending", activeAt: T0 + 10 * S }]);

    await m.update([file], 10 * S);
    expect(alertStates(m)).toEqual([{ state: "pending", activeAt: T0 + 10 * S }]);

    f.ruleFile("a.yml", v2);
    await m.update([file], 10 * S);
    expect(alertStates(m)).toEqual([{ state: "pending", activeAt: T0 + 10 * S }]);
    await evalAt(f, m, [T0 + 70 * S]);
    expect(alertStates(m)).toEqual([{ state: "firing", activeAt: T0 + 10 * S }]);
    const r1 = (await f.read({ __name__: "r1" }))[0]!.points;
    expect(r1[r1.length - 1]).toEqual({ t: T0 + 70 * S, v: NaN, stale: true });

    f.ruleFile("a.yml", "groups: [{name: g, rules: [{record: r, expr: 'sum('}]}]\n");
    await expect(m.update([file], 10 * S)).rejects.toBeInstanceOf(RuleFileErrors);
    expect(m.groups()[0]!.rules.map((r) => r.name)).toEqual(["A", "r2"]);
  });
});

describe("external labels on reload", () => {
  test("new external labels reach templates and the alert keeps its state", async () => {
    f.write({ __name__: "up", instance: "a" }, [[T0, 0], [T0 + 100 * S, 0]]);
    const file = f.ruleFile("e.yml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n    annotations: {where: '{{ $externalLabels.dc }}'}\n");
    m = f.manager({ externalLabels: { dc: "one" } });
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + 10 * S]);
    const annotations = () => alertsAPIData(m!.groups()).alerts.map((a) => [a.annotations.where, a.activeAt]);
    expect(annotations()).toEqual([["one", new Date(T0 + 10 * S).toISOString().replace(".000Z", "Z")]]);
    await m.update([file], 10 * S, { externalLabels: { dc: "two" } });
    await evalAt(f, m, [T0 + 20 * S]);
    expect(annotations()).toEqual([["two", new Date(T0 + 10 * S).toISOString().replace(".000Z", "Z")]]);
  });
});

describe("template query function", () => {
  test("alert templates can query at the evaluation time; template errors are shown in place", async () => {
    f.write({ __name__: "up", instance: "a" }, [[T0, 0]]);
    f.write({ __name__: "up", instance: "b" }, [[T0, 1]]);
    const file = f.ruleFile("t.yml", `groups:
- name: g
  rules:
  - alert: A
    expr: up == 0
    annotations:
      total: '{{ with query "count(up)" }}{{ . | first | value }}{{ end }} instances'
      broken: '{{ index $labels 5 }}'
`);
    m = f.manager();
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + 10 * S]);
    const [a] = alertsAPIData(m.groups()).alerts;
    expect(a!.annotations.total).toBe("2 instances");
    expect(a!.annotations.broken).toStartWith("<error expanding template: error executing template __alert_A: ");
  });
});

describe("removed groups", () => {
  test("series of a removed group are marked stale two intervals later", async () => {
    f.write({ __name__: "w" }, [[T0, 1]]);
    const file = f.ruleFile("g.yml", "groups:\n- name: gone\n  interval: 20ms\n  rules:\n  - record: w2\n    expr: w\n");
    m = f.manager();
    await m.update([file], 10 * S);
    await evalAt(f, m, [T0 + 10]);
    f.clock.now = T0 + 500;
    await m.update([], 10 * S);
    expect(m.groups()).toEqual([]);
    expect(f.registry.render()).not.toContain(";gone");
    const deadline = Date.now() + 5000;
    while ((await f.read({ __name__: "w2" }))[0]!.points.length < 2 && Date.now() < deadline) await Bun.sleep(5);
    expect((await f.read({ __name__: "w2" }))[0]!.points).toEqual([{ t: T0 + 10, v: 1, stale: false }, { t: T0 + 500, v: NaN, stale: true }]);
  });
});

describe("evaluation loop", () => {
  test("groups evaluate on their own at the interval", async () => {
    f.write({ __name__: "k" }, [[Date.now() - 1000, 5]]);
    const file = f.ruleFile("loop.yml", "groups:\n- name: fast\n  interval: 50ms\n  rules:\n  - record: k2\n    expr: k * 2\n");
    m = f.manager({ manual: false, now: Date.now });
    await m.update([file], 60 * S);
    const deadline = Date.now() + 5000;
    while ((await f.read({ __name__: "k2" })).flatMap((s) => s.points).length < 3 && Date.now() < deadline) await Bun.sleep(10);
    const pts = (await f.read({ __name__: "k2" }))[0]!.points;
    expect(pts.length).toBeGreaterThanOrEqual(3);
    expect(pts[1]!.t - pts[0]!.t).toBe(50);
    expect(pts[0]!.v).toBe(10);
    expect(m.groups()[0]!.interval).toBe(50);
    expect(f.registry.render()).toMatch(/prometheus_rule_group_iterations_total\{rule_group="[^"]*;fast"\} [3-9]/);
  });
});

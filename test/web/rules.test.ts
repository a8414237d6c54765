import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";
import { Notifier } from "../../src/notifier/index.ts";
import { Engine } from "../../src/promql/index.ts";
import { RuleManager, type SentAlert } from "../../src/rules/index.ts";
import { openDB, type DB } from "../../src/tsdb/index.ts";
import { rulesAPI, type RulesSource } from "../../src/web/index.ts";

/** A minute-aligned epoch in ms; samples and evaluations happen around it. */
const T0 = 1_700_000_040_000;

const RULES_A = `groups:
- name: availability
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: InstanceDown
    expr: up == 0
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.instance }} of {{ $labels.job }} is down"
`;

const RULES_B = `groups:
- name: other
  rules:
  - record: answer
    expr: vector(42)
    labels: {kind: constant}
`;

let dir = "";
let db: DB;
let manager: RuleManager;
let app: Hono;
let fileA = "";
let fileB = "";
const sent: SentAlert[][] = [];
const noAlertmanagers = { activeAlertmanagers: [], droppedAlertmanagers: [] };

function writeSamples(series: Record<string, string>[], t: number, values: number[]): void {
  const appender = db.appender();
  const refs = new Uint32Array(series.map((s) => appender.ref(labelsFromRecord(s))));
  appender.appendBatch(refs, new Float64Array(series.length).fill(t), new Float64Array(values), series.length);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-web-rules-"));
  db = await openDB({ dir: join(dir, "data"), compactionIntervalMs: 0 });
  fileA = join(dir, "a.yml");
  fileB = join(dir, "b.yml");
  writeFileSync(fileA, RULES_A);
  writeFileSync(fileB, RULES_B);
  writeSamples(
    [
      { __name__: "up", job: "node", instance: "n1" },
      { __name__: "up", job: "node", instance: "n2" },
    ],
    T0,
    [1, 0],
  );
  manager = new RuleManager({
    engine: new Engine(),
    queryable: (mint, maxt) => db.querier(mint, maxt),
    appendable: () => db.appender(),
    notify: (alerts) => sent.push(alerts),
    now: () => T0 + 5_000,
    manual: true,
  });
  await manager.update([fileA, fileB], 15_000);
  await manager.evaluate(T0 + 5_000);
  const source: RulesSource = { ruleGroups: () => manager.groups(), alertmanagers: () => noAlertmanagers };
  app = new Hono();
  app.route("/api/v1", rulesAPI(source));
});

afterAll(async () => {
  await manager.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function getJSON(path: string): Promise<{ status: number; body: any }> {
  const res = await app.request(path);
  expect(res.headers.get("content-type")).toBe("application/json");
  return { status: res.status, body: await res.json() };
}

function ruleNames(body: any): string[][] {
  return body.data.groups.map((g: any) => g.rules.map((r: any) => r.name));
}

describe("GET /api/v1/rules", () => {
  test("lists every group with its evaluated rules in Prometheus's envelope", async () => {
    const { status, body } = await getJSON("/api/v1/rules");
    expect(status).toBe(200);
    expect(body.status).toBe("success");
    expect(body.data.groups.map((g: any) => [g.name, g.file, g.interval])).toEqual([
      ["availability", fileA, 15],
      ["other", fileB, 15],
    ]);
    const [recording, alerting] = body.data.groups[0].rules;
    expect(recording).toMatchObject({ type: "recording", name: "job:up:sum", query: "sum by (job) (up)", health: "ok" });
    expect(alerting).toMatchObject({
      type: "alerting",
      name: "InstanceDown",
      query: "up == 0",
      state: "firing",
      duration: 0,
      health: "ok",
      labels: { severity: "page" },
    });
    expect(alerting.alerts).toEqual([
      {
        labels: { alertname: "InstanceDown", instance: "n2", job: "node", severity: "page" },
        annotations: { summary: "n2 of node is down" },
        state: "firing",
        activeAt: "2023-11-14T22:14:05Z",
        value: "0e+00",
      },
    ]);
    expect(body.data.groups[1].rules[0]).toMatchObject({ name: "answer", labels: { kind: "constant" }, health: "ok" });
  });

  test("type filters alerting or recording rules, case-insensitively", async () => {
    expect(ruleNames((await getJSON("/api/v1/rules?type=alert")).body)).toEqual([["InstanceDown"]]);
    expect(ruleNames((await getJSON("/api/v1/rules?type=RECORD")).body)).toEqual([["job:up:sum"], ["answer"]]);
  });

  test("rule_name[], rule_group[] and file[] select rules and groups", async () => {
    expect(ruleNames((await getJSON("/api/v1/rules?rule_name[]=answer&rule_name[]=InstanceDown")).body)).toEqual([["InstanceDown"], ["answer"]]);
    expect(ruleNames((await getJSON("/api/v1/rules?rule_group[]=other")).body)).toEqual([["answer"]]);
    expect(ruleNames((await getJSON(`/api/v1/rules?file[]=${encodeURIComponent(fileA)}`)).body)).toEqual([["job:up:sum", "InstanceDown"]]);
    expect((await getJSON("/api/v1/rules?rule_group[]=missing")).body.data).toEqual({ groups: [] });
  });

  test("exclude_alerts=true leaves the alerts out as null", async () => {
    const { body } = await getJSON("/api/v1/rules?type=alert&exclude_alerts=TRUE");
    expect(body.data.groups[0].rules[0].alerts).toBeNull();
    const { body: withAlerts } = await getJSON("/api/v1/rules?type=alert&exclude_alerts=0");
    expect(withAlerts.data.groups[0].rules[0].alerts).toHaveLength(1);
  });

  test("an unsupported type is a 400 bad_data error", async () => {
    const { status, body } = await getJSON("/api/v1/rules?type=Alerting");
    expect(status).toBe(400);
    expect(body).toEqual({ status: "error", errorType: "bad_data", error: 'unsupported type "alerting"' });
  });

  test("a non-boolean exclude_alerts is a 400 bad_data error", async () => {
    const { status, body } = await getJSON("/api/v1/rules?exclude_alerts=maybe");
    expect(status).toBe(400);
    expect(body.errorType).toBe("bad_data");
    expect(body.error).toContain('error converting exclude_alerts: strconv.ParseBool: parsing "maybe": invalid syntax');
  });
});

describe("GET /api/v1/alerts", () => {
  test("lists the firing alert with its labels and templated annotations", async () => {
    const { status, body } = await getJSON("/api/v1/alerts");
    expect(status).toBe(200);
    expect(body.data.alerts).toHaveLength(1);
    expect(body.data.alerts[0]).toMatchObject({
      labels: { alertname: "InstanceDown", instance: "n2", job: "node", severity: "page" },
      annotations: { summary: "n2 of node is down" },
      state: "firing",
    });
  });

  test("the rule manager handed the same alert to the notify callback", () => {
    const labels = sent.flat().map((a) => Object.fromEntries(a.labels.map((l) => [l.name, l.value])));
    expect(labels).toContainEqual({ alertname: "InstanceDown", instance: "n2", job: "node", severity: "page" });
  });
});

describe("GET /api/v1/alertmanagers", () => {
  test("shows the notifier's active and dropped Alertmanagers", async () => {
    const notifier = new Notifier({ drainTimeoutMs: 0 });
    try {
      const { config } = parseConfig(`alerting:
  alertmanagers:
  - static_configs:
    - targets: ["am1:9093", "am2:9093"]
    relabel_configs:
    - source_labels: [__address__]
      regex: am2.*
      action: drop
`, "prometheus.yml");
      notifier.applyConfig(config.alerting);
      const v1 = rulesAPI({ ruleGroups: () => [], alertmanagers: () => notifier.alertmanagers() });
      const res = await v1.request("/alertmanagers");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: "success",
        data: {
          activeAlertmanagers: [{ url: "http://am1:9093/api/v2/alerts" }],
          droppedAlertmanagers: [{ url: "http://am2:9093/api/v2/alerts" }],
        },
      });
    } finally {
      await notifier.stop();
    }
  });

  test("without a notifier both lists are empty, and there are no rules or alerts", async () => {
    const v1 = rulesAPI({ ruleGroups: () => [], alertmanagers: () => noAlertmanagers });
    expect(await (await v1.request("/alertmanagers")).json()).toEqual({ status: "success", data: noAlertmanagers });
    expect(await (await v1.request("/rules")).json()).toEqual({ status: "success", data: { groups: [] } });
    expect(await (await v1.request("/alerts")).json()).toEqual({ status: "success", data: { alerts: [] } });
  });
});

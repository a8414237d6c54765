import { describe, expect, test } from "bun:test";
import { alertsAPIData, formatGoExp, formatGoTime, goQueryEscape, rulesAPIData, type GroupStatus } from "../../src/rules/index.ts";
import { groupEvalTimestamp, groupHash } from "../../src/rules/hash.ts";

const lbl = (rec: Record<string, string>) => Object.keys(rec).sort().map((name) => ({ name, value: rec[name]! }));

const groups: GroupStatus[] = [
  {
    name: "g1",
    file: "a.yml",
    interval: 15_000,
    limit: 0,
    queryOffset: 0,
    evaluationTime: 2.5,
    lastEvaluation: Date.UTC(2024, 0, 2, 3, 4, 5, 120),
    rules: [
      {
        type: "alerting",
        name: "Down",
        query: "up == 0",
        duration: 300_000,
        keepFiringFor: 0,
        labels: lbl({ severity: "page" }),
        annotations: lbl({ summary: "{{ $labels.instance }}" }),
        state: "firing",
        alerts: [
          { labels: lbl({ alertname: "Down", instance: "a" }), annotations: lbl({ summary: "a" }), state: "firing", value: 0, activeAt: Date.UTC(2024, 0, 2, 3, 0, 0), firedAt: 1, resolvedAt: null, keepFiringSince: null, lastSentAt: 1, validUntil: 2 },
          { labels: lbl({ alertname: "Down", instance: "b" }), annotations: lbl({ summary: "b" }), state: "inactive", value: 0, activeAt: 5, firedAt: 1, resolvedAt: 9, keepFiringSince: null, lastSentAt: 1, validUntil: 2 },
        ],
        health: "ok",
        lastError: "",
        evaluationTime: 1,
        lastEvaluation: Date.UTC(2024, 0, 2, 3, 4, 5, 121),
      },
      { type: "recording", name: "job:up", query: "sum by (job) (up)", labels: [], health: "err", lastError: "boom", evaluationTime: 0.5, lastEvaluation: 0 },
    ],
  },
  { name: "g2", file: "b.yml", interval: 60_000, limit: 3, queryOffset: 0, evaluationTime: 0, lastEvaluation: 0, rules: [{ type: "recording", name: "r", query: "1", labels: lbl({ a: "b" }), health: "unknown", lastError: "", evaluationTime: 0, lastEvaluation: 0 }] },
];

describe("rulesAPIData", () => {
  test("matches Prometheus's JSON shape and field order", () => {
    const json = JSON.stringify(rulesAPIData(groups, { group_name: ["g1"] }));
    expect(json).toBe(
      '{"groups":[{"name":"g1","file":"a.yml","rules":[' +
        '{"state":"firing","name":"Down","query":"up == 0","duration":300,"keepFiringFor":0,"labels":{"severity":"page"},' +
        '"annotations":{"summary":"{{ $labels.instance }}"},"alerts":[{"labels":{"alertname":"Down","instance":"a"},' +
        '"annotations":{"summary":"a"},"state":"firing","activeAt":"2024-01-02T03:00:00Z","value":"0e+00"}],' +
        '"health":"ok","evaluationTime":0.001,"lastEvaluation":"2024-01-02T03:04:05.121Z","type":"alerting"},' +
        '{"name":"job:up","query":"sum by (job) (up)","health":"err","lastError":"boom","evaluationTime":0.0005,' +
        '"lastEvaluation":"0001-01-01T00:00:00Z","type":"recording"}],' +
        '"interval":15,"limit":0,"evaluationTime":0.0025,"lastEvaluation":"2024-01-02T03:04:05.12Z"}]}',
    );
  });

  test("filters by type, rule name, file; exclude_alerts gives null", () => {
    expect(rulesAPIData(groups, { type: "record" }).groups.map((g) => g.rules.map((r) => r.name))).toEqual([["job:up"], ["r"]]);
    expect(rulesAPIData(groups, { type: "alert" }).groups.map((g) => g.name)).toEqual(["g1"]);
    expect(rulesAPIData(groups, { rule_name: ["r"] }).groups.map((g) => g.name)).toEqual(["g2"]);
    expect(rulesAPIData(groups, { file: ["a.yml"] }).groups.map((g) => g.name)).toEqual(["g1"]);
    const ex = rulesAPIData(groups, { exclude_alerts: true }).groups[0]!.rules[0]!;
    expect("alerts" in ex && ex.alerts).toBeNull();
    expect(rulesAPIData(groups).groups[1]!.rules[0]).toMatchObject({ labels: { a: "b" }, health: "unknown" });
  });

  test("alertsAPIData lists pending and firing alerts only", () => {
    expect(alertsAPIData(groups).alerts.map((a) => a.labels.instance)).toEqual(["a"]);
  });
});

describe("formatting", () => {
  test("Go float 'e' format and RFC 3339 times", () => {
    expect([1, 0, 1.5, 1234567, 1e-7, -2.5e21, NaN, Infinity, -Infinity].map(formatGoExp)).toEqual([
      "1e+00", "0e+00", "1.5e+00", "1.234567e+06", "1e-07", "-2.5e+21", "NaN", "+Inf", "-Inf",
    ]);
    expect(formatGoTime(1500)).toBe("1970-01-01T00:00:01.5Z");
    expect(formatGoTime(Date.UTC(2020, 1, 3))).toBe("2020-02-03T00:00:00Z");
  });

  test("Go url.QueryEscape", () => {
    expect(goQueryEscape('rate(x{a="b c"}[5m]) > 0.5 * ü~')).toBe("rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29+%3E+0.5+%2A+%C3%BC~");
  });
});

describe("group hash and evaluation slots", () => {
  test("slots are aligned to the interval plus the group's offset", () => {
    const h = groupHash("rules.yml", "g");
    const a = groupEvalTimestamp(h, 10_000, 1_700_000_000_000);
    const b = groupEvalTimestamp(h, 10_000, 1_700_000_000_000 + 10_000);
    expect(b - a).toBe(10_000);
    expect(a).toBeLessThanOrEqual(1_700_000_000_000);
    expect(1_700_000_000_000 - a).toBeLessThan(10_000);
    expect(a % 10_000).toBe(Number((h % 10_000_000_000n) / 1_000_000n));
  });
});

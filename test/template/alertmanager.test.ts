import { describe, expect, test } from "bun:test";
import { alertmanagerFuncs, KV, newAlertmanagerData, TemplateSet, type AlertInput } from "../../src/template/index.ts";

const T0 = Date.UTC(2015, 5, 23, 13, 19, 44, 128);

const alerts: AlertInput[] = [
  {
    status: "firing",
    labels: { alertname: "InstanceDown", job: "node", instance: "a:9100", severity: "page" },
    annotations: { summary: "a is down", runbook: "http://rb/1" },
    startsAt: T0,
    generatorURL: "http://prom/graph?g0.expr=up",
    fingerprint: "0123456789abcdef",
  },
  {
    status: "resolved",
    labels: { alertname: "InstanceDown", job: "node", instance: "b:9100", severity: "page" },
    annotations: { summary: "b is down", runbook: "http://rb/1" },
    startsAt: T0,
    endsAt: T0 + 100_000,
  },
];

function newSet(): TemplateSet {
  return new TemplateSet(alertmanagerFuncs(() => T0 + 3_723_500), { missingKey: "zero" });
}

async function run(text: string, data: unknown = newAlertmanagerData("team-x (ops)", { alertname: "InstanceDown" }, alerts, "http://am:9093")): Promise<string> {
  return newSet().expand(text, data);
}

describe("notification data", () => {
  const cases: [string, string][] = [
    ["{{ .Receiver }} {{ .Status }} {{ .ExternalURL }}", "team-x \\(ops\\) firing http://am:9093"],
    ["{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}", "2 1 1"],
    ["{{ range .Alerts.Firing }}{{ .Labels.instance }} {{ .Annotations.summary }} {{ .Fingerprint }} {{ .GeneratorURL }}{{ end }}", "a:9100 a is down 0123456789abcdef http://prom/graph?g0.expr=up"],
    ["{{ range .Alerts }}{{ .Status }}:{{ .EndsAt.IsZero }} {{ end }}", "firing:true resolved:false "],
    ["{{ .GroupLabels.alertname }} {{ .CommonLabels.job }}|{{ .CommonLabels.instance }}|{{ .CommonAnnotations.runbook }}", "InstanceDown node||http://rb/1"],
    ["{{ .CommonLabels.SortedPairs.Names }} {{ .CommonLabels.SortedPairs.Values }}", "[alertname job severity] [InstanceDown node page]"],
    ["{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}", "alertname=InstanceDown;job=node;severity=page;"],
    ['{{ .CommonLabels.Remove (stringSlice "alertname" "severity") }}', "job=node"],
    ["{{ .CommonLabels }} | {{ .CommonLabels.SortedPairs }}", "alertname=InstanceDown, job=node, severity=page | alertname=InstanceDown, job=node, severity=page"],
    ["{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }} {{ end }}", "alertname=InstanceDown job=node severity=page "],
    ['{{ .CommonLabels.Names | join ", " }}', "alertname, job, severity"],
    ["{{ (index .Alerts 0).StartsAt }}", "2015-06-23 13:19:44.128 +0000 UTC"],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text)).toBe(want));

  test("status is resolved when no alert fires", async () => {
    const data = newAlertmanagerData("r", {}, [alerts[1]!], "");
    expect(await run("{{ .Status }} {{ len .Alerts.Firing }}", data)).toBe("resolved 0");
  });

  test("lower-case keys read entries, never internal helpers", async () => {
    const data = newAlertmanagerData("r", {}, [{ status: "firing", labels: { record: "r1", constructor: "c1" }, startsAt: 0 }], "");
    expect(await run("{{ .CommonLabels.record }} {{ .CommonLabels.constructor }} {{ .CommonLabels.nope }}|", data)).toBe("r1 c1 |");
  });

  test("SortedPairs puts alertname first", () => {
    const kv = new KV({ zeta: "1", alertname: "A", beta: "2" });
    expect(kv.Names()).toEqual(["alertname", "beta", "zeta"]);
    expect(kv.Values()).toEqual(["A", "2", "1"]);
    expect(kv.Remove(["beta"]).Names()).toEqual(["alertname", "zeta"]);
  });

  test("unknown fields name the type", async () => {
    await expect(run("{{ .Nope }}")).rejects.toThrow('template: :1:3: executing "" at <.Nope>: can\'t evaluate field Nope in type *template.Data');
    await expect(run("{{ .Alerts.Nope }}")).rejects.toThrow("can't evaluate field Nope in type template.Alerts");
  });
});

describe("notification functions", () => {
  const cases: [string, string][] = [
    ['{{ "aa bb CC" | title }} {{ "x" | toUpper }} {{ "X" | toLower }}', "Aa Bb Cc X x"],
    ['[{{ trimSpace "  \\t x y \\n" }}]', "[x y]"],
    ['{{ stringSlice "a" "b" | join "-" }}', "a-b"],
    ['{{ match "^Inst" .CommonLabels.alertname }} {{ reReplaceAll ":.*" "" (index .Alerts 0).Labels.instance }}', "true a"],
    ['{{ date "2006-01-02T15:04:05Z07:00" (index .Alerts 0).StartsAt }}', "2015-06-23T13:19:44Z"],
    ['{{ date "Mon Jan _2 3:04PM .000" (index .Alerts 0).StartsAt }}', "Tue Jun 23 1:19PM .128"],
    ['{{ (index .Alerts 0).StartsAt | tz "Europe/Paris" }}', "2015-06-23 15:19:44.128 +0200 CEST"],
    ['{{ (index .Alerts 0).StartsAt | tz "America/New_York" | date "15:04 MST" }}', "09:19 EDT"],
    ["{{ since (index .Alerts 0).StartsAt }} {{ (since (index .Alerts 0).StartsAt).Seconds | humanizeDuration }}", "1h2m3.5s 1h 2m 3s"],
    ['{{ safeHtml "<b>" }} {{ urlUnescape "a%20b+c" }}', "<b> a b c"],
    ['{{ toJson .CommonLabels }}', '{"alertname":"InstanceDown","job":"node","severity":"page"}'],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text)).toBe(want));

  test("tz rejects unknown zones", async () => {
    await expect(run('{{ (index .Alerts 0).StartsAt | tz "Mars/Olympus" }}')).rejects.toThrow("error calling tz: unknown time zone Mars/Olympus");
  });

  test("date needs a time", async () => {
    await expect(run('{{ date "2006" .Receiver }}')).rejects.toThrow('at <.Receiver>: wrong type for value; expected time.Time; got string');
    await expect(run('{{ date "2006" "x" }}')).rejects.toThrow('at <"x">: can\'t handle "x" for arg of type time.Time');
  });

  test("a template library with defines, as loaded from template files", async () => {
    const set = newSet();
    set.parse(
      "default.tmpl",
      `{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end }}`,
    );
    const data = newAlertmanagerData("r", { alertname: "InstanceDown", job: "node" }, alerts, "");
    expect(await set.expand('{{ template "__subject" . }}', data)).toBe("[FIRING:1] InstanceDown node");
    expect(await set.execute("__subject", data)).toBe("[FIRING:1] InstanceDown node");
  });
});

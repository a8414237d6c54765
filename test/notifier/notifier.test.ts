import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord, Registry } from "../../src/model/index.ts";
import { alertsPath, MAX_BATCH_SIZE, Notifier, type Alert, type PostableAlert } from "../../src/notifier/index.ts";
import { pollUntil } from "../support/wait.ts";

interface Received {
  path: string;
  headers: Headers;
  body: PostableAlert[];
}

/** An HTTP server on 127.0.0.1:0 that records POSTs; `hold` delays answers until released; `status` sets the reply. */
function receiver(opts: { status?: number } = {}) {
  const got: Received[] = [];
  let gate: Promise<void> | undefined;
  let release = (): void => {};
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      got.push({ path: new URL(req.url).pathname, headers: req.headers, body: (await req.json()) as PostableAlert[] });
      if (gate) await gate;
      return new Response(opts.status && opts.status !== 200 ? "nope" : "", { status: opts.status ?? 200 });
    },
  });
  return {
    got,
    addr: `127.0.0.1:${server.port}`,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release() {
      gate = undefined;
      release();
    },
    stop: () => server.stop(true),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  await pollUntil(what, cond, { intervalMs: 5 });
}

function alerting(yaml: string) {
  return parseConfig(yaml, "prometheus.yml").config;
}

function alert(name: string, extra: Record<string, string> = {}): Alert {
  return {
    labels: labelsFromRecord({ alertname: name, ...extra }),
    annotations: labelsFromRecord({ summary: `${name} happened` }),
    startsAt: Date.UTC(2024, 0, 1, 0, 0, 0, 500),
    endsAt: Date.UTC(2024, 0, 1, 0, 4, 0),
    generatorURL: "http://prom/graph?g0.expr=up&g0.tab=1",
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function start(yaml: string, opts: ConstructorParameters<typeof Notifier>[0] = {}) {
  const registry = new Registry();
  const cfg = alerting(yaml);
  const n = new Notifier({ registry, drainTimeoutMs: 2000, ...opts });
  n.applyConfig(cfg.alerting, cfg.global.external_labels);
  cleanups.push(() => n.stop());
  return { n, registry };
}

describe("Notifier", () => {
  test("posts every alert to every Alertmanager with the v2 body", async () => {
    const a = receiver(), b = receiver();
    cleanups.push(a.stop, b.stop);
    const { n, registry } = start(`
global: {external_labels: {cluster: eu1, severity: none}}
alerting:
  alertmanagers:
  - path_prefix: /am
    basic_auth: {username: u, password: p}
    static_configs: [{targets: ["${a.addr}", "${b.addr}"]}]
`);
    expect(n.alertmanagers()).toEqual({
      activeAlertmanagers: [{ url: `http://${a.addr}/am/api/v2/alerts` }, { url: `http://${b.addr}/am/api/v2/alerts` }],
      droppedAlertmanagers: [],
    });
    n.send([alert("A", { severity: "page" })]);
    await until(() => a.got.length === 1 && b.got.length === 1, "both receivers");
    for (const r of [a, b]) {
      expect(r.got[0]!.path).toBe("/am/api/v2/alerts");
      expect(r.got[0]!.headers.get("content-type")).toBe("application/json");
      expect(r.got[0]!.headers.get("authorization")).toBe("Basic " + btoa("u:p"));
      expect(r.got[0]!.body).toEqual([
        {
          annotations: { summary: "A happened" },
          endsAt: "2024-01-01T00:04:00.000Z",
          startsAt: "2024-01-01T00:00:00.500Z",
          generatorURL: "http://prom/graph?g0.expr=up&g0.tab=1",
          labels: { alertname: "A", cluster: "eu1", severity: "page" },
        },
      ]);
    }
    await until(() => registry.render().includes(`prometheus_notifications_sent_total{alertmanager="http://${b.addr}/am/api/v2/alerts"} 1`), "sent metric");
    expect(registry.render()).toContain("prometheus_notifications_alertmanagers_discovered 2");
  });

  test("batches at most 64 alerts per request", async () => {
    const a = receiver();
    cleanups.push(a.stop);
    const { n } = start(`alerting: {alertmanagers: [{static_configs: [{targets: ["${a.addr}"]}]}]}`);
    a.hold();
    n.send([alert("first")]);
    await until(() => a.got.length === 1, "first request");
    n.send(Array.from({ length: 150 }, (_, i) => alert(`A${i}`)));
    a.release();
    await until(() => a.got.reduce((s, r) => s + r.body.length, 0) === 151, "all alerts");
    expect(a.got.map((r) => r.body.length)).toEqual([1, MAX_BATCH_SIZE, MAX_BATCH_SIZE, 22]);
    expect(a.got[3]!.body[21]!.labels.alertname).toBe("A149");
  });

  test("a full queue drops the oldest alerts", async () => {
    const a = receiver();
    cleanups.push(a.stop);
    const { n, registry } = start(`alerting: {alertmanagers: [{static_configs: [{targets: ["${a.addr}"]}]}]}`, { queueCapacity: 3 });
    a.hold();
    n.send([alert("busy")]);
    await until(() => a.got.length === 1, "first request");
    n.send([alert("q1"), alert("q2")]);
    n.send([alert("q3"), alert("q4"), alert("q5")]);
    expect(n.queueLength()).toBe(3);
    expect(registry.render()).toContain("prometheus_notifications_dropped_total 2");
    expect(registry.render()).toContain("prometheus_notifications_queue_length 3");
    expect(registry.render()).toContain("prometheus_notifications_queue_capacity 3");
    a.release();
    await until(() => a.got.length === 2, "second request");
    expect(a.got[1]!.body.map((x) => x.labels.alertname)).toEqual(["q3", "q4", "q5"]);
  });

  test("relabeling: alert_relabel_configs globally and per set, Alertmanager relabeling", async () => {
    const a = receiver(), b = receiver();
    cleanups.push(a.stop, b.stop);
    const { n } = start(`
alerting:
  alert_relabel_configs:
  - {source_labels: [alertname], regex: Noise, action: drop}
  - {target_label: via, replacement: promts}
  alertmanagers:
  - static_configs: [{targets: ["${a.addr}"]}]
    alert_relabel_configs: [{regex: via, action: labeldrop}]
  - static_configs: [{targets: ["${b.addr}", "dropme:9093"]}]
    relabel_configs: [{source_labels: [__address__], regex: "dropme.*", action: drop}]
`);
    expect(n.alertmanagers().droppedAlertmanagers).toEqual([{ url: "http://dropme:9093/api/v2/alerts" }]);
    n.send([alert("Noise"), alert("Real")]);
    await until(() => a.got.length === 1 && b.got.length === 1, "both receivers");
    expect(a.got[0]!.body.map((x) => x.labels)).toEqual([{ alertname: "Real" }]);
    expect(b.got[0]!.body.map((x) => x.labels)).toEqual([{ alertname: "Real", via: "promts" }]);
  });

  test("errors are counted per Alertmanager; a batch no Alertmanager took is dropped", async () => {
    const bad = receiver({ status: 500 });
    cleanups.push(bad.stop);
    const { n, registry } = start(`alerting: {alertmanagers: [{static_configs: [{targets: ["${bad.addr}"]}]}]}`);
    n.send([alert("A"), alert("B")]);
    const url = `http://${bad.addr}/api/v2/alerts`;
    await until(() => registry.render().includes("prometheus_notifications_dropped_total 2"), "dropped");
    expect(registry.render()).toContain(`prometheus_notifications_errors_total{alertmanager="${url}"} 2`);
    expect(n.queueLength()).toBe(0);
  });

  test("stop() drains what is queued", async () => {
    const a = receiver();
    cleanups.push(a.stop);
    const { n } = start(`alerting: {alertmanagers: [{static_configs: [{targets: ["${a.addr}"]}]}]}`);
    a.hold();
    n.send([alert("busy")]);
    await until(() => a.got.length === 1, "first request");
    n.send([alert("late")]);
    a.release();
    await n.stop();
    expect(a.got.flatMap((r) => r.body.map((x) => x.labels.alertname))).toEqual(["busy", "late"]);
  });

  test("alerts path joins the prefix like Go's path.Join", () => {
    expect(alertsPath("")).toBe("/api/v2/alerts");
    expect(alertsPath("/am/")).toBe("/am/api/v2/alerts");
    expect(alertsPath("a/../b")).toBe("/b/api/v2/alerts");
  });
});

describe("Alertmanager discovery", () => {
  test("file_sd_configs targets are discovered and updated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-notifier-sd-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = receiver();
    cleanups.push(a.stop);
    const sdFile = join(dir, "ams.json");
    writeFileSync(sdFile, JSON.stringify([{ targets: [a.addr] }]));
    const { n } = start(`alerting: {alertmanagers: [{file_sd_configs: [{files: ["${sdFile}"]}]}]}`, { discoveryUpdateIntervalMs: 10 });
    await until(() => n.alertmanagers().activeAlertmanagers.length === 1, "discovered alertmanager");
    expect(n.alertmanagers().activeAlertmanagers).toEqual([{ url: `http://${a.addr}/api/v2/alerts` }]);
    n.send([alert("Discovered")]);
    await until(() => a.got.length === 1, "alert at the discovered alertmanager");
    writeFileSync(sdFile, JSON.stringify([]));
    await until(() => n.alertmanagers().activeAlertmanagers.length === 0, "alertmanager gone");
  });

  test("alerts also go to every cluster member's Alertmanager, once even when a configured set lists it", async () => {
    const configured = receiver(), member = receiver(), both = receiver();
    cleanups.push(configured.stop, member.stop, both.stop);
    const { n, registry } = start(`
alerting:
  alertmanagers:
  - static_configs: [{targets: ["${configured.addr}", "${both.addr}"]}]
`);
    n.setClusterAlertmanagers([`http://${member.addr}/`, `http://${both.addr}`, `http://${member.addr}`]);
    expect(n.alertmanagers().activeAlertmanagers.map((a) => a.url)).toEqual([
      `http://${configured.addr}/api/v2/alerts`, `http://${both.addr}/api/v2/alerts`, `http://${member.addr}/api/v2/alerts`,
    ]);
    n.send([alert("A")]);
    await until(() => configured.got.length === 1 && member.got.length === 1 && both.got.length === 1, "every Alertmanager");
    expect(member.got[0]!.path).toBe("/api/v2/alerts");
    expect(member.got[0]!.body.map((a) => a.labels.alertname)).toEqual(["A"]);
    n.setClusterAlertmanagers([]);
    n.send([alert("B")]);
    await until(() => configured.got.length === 2 && both.got.length === 2, "the configured Alertmanagers");
    await until(() => registry.render().includes(`prometheus_notifications_sent_total{alertmanager="http://${both.addr}/api/v2/alerts"} 2`), "sent metric");
    expect(member.got.length).toBe(1);
    expect(both.got.length).toBe(2);
  });
});

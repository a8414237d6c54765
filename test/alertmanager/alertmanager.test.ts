import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Alertmanager, fingerprint, ManualClock, type PostableAlert } from "../../src/alertmanager/index.ts";
import { labelsFromRecord, Registry } from "../../src/model/index.ts";
import { config, startReceiver, waitFor } from "./helpers.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "promts-am-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function receiver(statuses: number[] = []) {
  const r = startReceiver(statuses);
  cleanups.push(r.stop);
  return r;
}

function alert(labels: Record<string, string>, extra: Partial<PostableAlert> = {}): PostableAlert {
  return { labels: labelsFromRecord(labels), ...extra };
}

interface Setup {
  am: Alertmanager;
  clock: ManualClock;
  registry: Registry;
}

function start(yaml: string, opts: { clock?: ManualClock; storagePath?: string; peerPosition?: () => number } = {}): Setup {
  const clock = opts.clock ?? new ManualClock();
  const registry = new Registry();
  const am = new Alertmanager({
    config: config(yaml), clock, registry, storagePath: opts.storagePath, externalURL: "http://am.example:9093",
    peerPosition: opts.peerPosition,
  });
  cleanups.push(() => am.stop());
  return { am, clock, registry };
}

/** Advances the manual clock and waits for the flushes it started. */
async function advance(s: Setup, ms: number): Promise<void> {
  s.clock.advance(ms);
  await s.am.settled();
}

function basicConfig(url: string, extra = ""): string {
  return `
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${url}/hook
${extra}`;
}

describe("Alertmanager notifications", () => {
  test("10 alerts sharing group labels become one notification after group_wait", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    s.am.putAlerts(Array.from({ length: 10 }, (_, i) => alert({ alertname: "HighLoad", instance: `host${i}` })));
    await advance(s, 29 * SECOND);
    expect(r.received.length).toBe(0);
    await advance(s, 1 * SECOND);
    expect(r.received.length).toBe(1);
    const body = r.received[0]!.body;
    expect(body.alerts.length).toBe(10);
    expect(body.groupKey).toBe('{}:{alertname="HighLoad"}');
    expect(body.groupLabels).toEqual({ alertname: "HighLoad" });
    expect(body.commonLabels).toEqual({ alertname: "HighLoad" });
    expect(r.received[0]!.path).toBe("/hook");
    expect(s.registry.render()).toContain('alertmanager_notifications_total{integration="webhook"} 1');
  });

  test("nothing new: no re-send until repeat_interval, then one re-send", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    const firing = () => s.am.putAlerts([alert({ alertname: "A" }, { endsAt: s.clock.now() + 3 * 3600 * SECOND })]);
    firing();
    await advance(s, 30 * SECOND);
    expect(r.received.length).toBe(1);
    for (let i = 0; i < 11; i++) await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(1);
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(2);
    expect(r.received[1]!.body.alerts.map((a) => a.labels.alertname)).toEqual(["A"]);
  });

  test("a new alert in the group is sent at the next group_interval", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    s.am.putAlerts([alert({ alertname: "A", instance: "1" })]);
    await advance(s, 30 * SECOND);
    s.am.putAlerts([alert({ alertname: "A", instance: "2" })]);
    await advance(s, 4 * MINUTE);
    expect(r.received.length).toBe(1);
    await advance(s, 1 * MINUTE);
    expect(r.received.length).toBe(2);
    expect(r.received[1]!.body.alerts.length).toBe(2);
  });

  test("a silence suppresses; after it expires the next flush notifies", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    const now = s.clock.now();
    const id = s.am.setSilence({
      matchers: [{ name: "alertname", value: "A", isRegex: false, isEqual: true }],
      startsAt: now, endsAt: now + 3600 * SECOND, createdBy: "test", comment: "quiet",
    });
    s.am.putAlerts([alert({ alertname: "A" }, { endsAt: now + 3 * 3600 * SECOND })]);
    expect(s.am.getAlerts()[0]!.silencedBy).toEqual([id]);
    expect(s.am.getAlerts()[0]!.state).toBe("suppressed");
    await advance(s, 30 * SECOND);
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(0);
    s.am.expireSilence(id);
    expect(s.am.getSilence(id)!.state).toBe("expired");
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(1);
  });

  test("an inhibit rule suppresses the target while the source fires", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url, `
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
`));
    s.am.putAlerts([
      alert({ alertname: "Down", severity: "critical", cluster: "a" }),
      alert({ alertname: "Slow", severity: "warning", cluster: "a" }),
      alert({ alertname: "Slow2", severity: "warning", cluster: "b" }),
    ]);
    await advance(s, 30 * SECOND);
    const names = r.received.map((x) => x.body.alerts[0]!.labels.alertname).sort();
    expect(names).toEqual(["Down", "Slow2"]);
    const slow = s.am.getAlerts().find((a) => a.alert.labels.some((l) => l.value === "Slow"))!;
    expect(slow.inhibitedBy).toEqual([fingerprint(labelsFromRecord({ alertname: "Down", severity: "critical", cluster: "a" }))]);
  });

  test("continue: true fans out to two receivers", async () => {
    const r = receiver();
    const s = start(`
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team="db"]
      receiver: first
      continue: true
    - matchers: [team="db"]
      receiver: second
receivers:
  - name: default
    webhook_configs: [{url: "${r.url}/default"}]
  - name: first
    webhook_configs: [{url: "${r.url}/first"}]
  - name: second
    webhook_configs: [{url: "${r.url}/second"}]
`);
    s.am.putAlerts([alert({ alertname: "X", team: "db" })]);
    await advance(s, 30 * SECOND);
    expect(r.received.map((x) => x.path).sort()).toEqual(["/first", "/second"]);
    const byPath = Object.fromEntries(r.received.map((x) => [x.path, x.body]));
    expect(byPath["/first"]!.groupKey).toBe('{}/{team="db"}:{alertname="X"}');
    expect(byPath["/first"]!.receiver).toBe("first");
    expect(s.am.getAlerts()[0]!.receivers).toEqual(["first", "second"]);
  });

  test("a failing webhook (500, then 200) is retried and succeeds", async () => {
    const r = receiver([500]);
    const s = start(basicConfig(r.url));
    s.am.putAlerts([alert({ alertname: "A" }, { endsAt: s.clock.now() + 3 * 3600 * SECOND })]);
    s.clock.advance(30 * SECOND);
    await waitFor(() => r.received.length === 1, "first attempt");
    const deadline = Date.now() + 5000;
    while (r.received.length < 2 && Date.now() < deadline) {
      s.clock.advance(100);
      await Bun.sleep(1);
    }
    expect(r.received.length).toBe(2);
    await s.am.settled();
    expect(s.registry.render()).toContain('alertmanager_notification_requests_failed_total{integration="webhook"} 1');
    // Logged in the nflog: the next flush sends nothing.
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(2);
  });

  test("a 4xx answer is not retried", async () => {
    const r = receiver([400]);
    const s = start(basicConfig(r.url));
    s.am.putAlerts([alert({ alertname: "A" }, { endsAt: s.clock.now() + 3 * 3600 * SECOND })]);
    await advance(s, 30 * SECOND);
    expect(r.received.length).toBe(1);
    const metrics = s.registry.render();
    expect(metrics).toContain('alertmanager_notifications_total{integration="webhook"} 1');
    expect(metrics).toContain('alertmanager_notifications_failed_total{integration="webhook",reason="clientError"} 1');
    expect(metrics).toContain('alertmanager_notification_requests_total{integration="webhook"} 1');
    expect(metrics).toContain('alertmanager_notification_requests_failed_total{integration="webhook"} 1');
    expect(metrics).toContain('alertmanager_notifications_failed_total{integration="slack",reason="serverError"} 0');
    // Not logged, so the next flush tries again.
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(2);
  });

  test("resolved alerts are sent once with send_resolved, then the group goes away", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    s.am.putAlerts([alert({ alertname: "A" })]);
    await advance(s, 30 * SECOND);
    expect(r.received[0]!.body.status).toBe("firing");
    expect(r.received[0]!.body.alerts[0]!.endsAt).toBe("0001-01-01T00:00:00Z");
    const resolvedAt = s.clock.now();
    s.am.putAlerts([alert({ alertname: "A" }, { endsAt: resolvedAt })]);
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(2);
    const body = r.received[1]!.body;
    expect(body.status).toBe("resolved");
    expect(body.alerts[0]!.status).toBe("resolved");
    expect(body.alerts[0]!.endsAt).toBe(new Date(resolvedAt).toISOString().replace(".000Z", "Z"));
    expect(s.am.groups().length).toBe(0);
    await advance(s, 60 * MINUTE);
    expect(r.received.length).toBe(2);
  });

  test("without send_resolved the resolved notification is not sent", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url).replace(`url: ${r.url}/hook`, `url: ${r.url}/hook\n        send_resolved: false`));
    s.am.putAlerts([alert({ alertname: "A" })]);
    await advance(s, 30 * SECOND);
    s.am.putAlerts([alert({ alertname: "A" }, { endsAt: s.clock.now() })]);
    await advance(s, 5 * MINUTE);
    expect(r.received.length).toBe(1);
    expect(s.am.groups().length).toBe(0);
  });

  test("max_alerts truncates and reports truncatedAlerts", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url).replace(`url: ${r.url}/hook`, `url: ${r.url}/hook\n        max_alerts: 3`));
    s.am.putAlerts(Array.from({ length: 5 }, (_, i) => alert({ alertname: "A", instance: `i${i}` })));
    await advance(s, 30 * SECOND);
    expect(r.received[0]!.body.alerts.length).toBe(3);
    expect(r.received[0]!.body.truncatedAlerts).toBe(2);
  });

  test("payload shape is Alertmanager's webhook message", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    const startsAt = s.clock.now() - 10 * SECOND;
    s.am.putAlerts([
      alert({ alertname: "Disk", instance: "a", severity: "page" }, {
        startsAt, annotations: labelsFromRecord({ summary: "full" }), generatorURL: "http://prom/graph",
      }),
      alert({ alertname: "Disk", instance: "b", severity: "page" }, { startsAt, annotations: labelsFromRecord({ summary: "full" }) }),
    ]);
    await advance(s, 30 * SECOND);
    const { body, headers } = r.received[0]!;
    expect(Object.keys(body).sort()).toEqual([
      "alerts", "commonAnnotations", "commonLabels", "externalURL", "groupKey", "groupLabels", "receiver", "status",
      "truncatedAlerts", "version",
    ]);
    expect(body.version).toBe("4");
    expect(body.receiver).toBe("hook");
    expect(body.status).toBe("firing");
    expect(body.externalURL).toBe("http://am.example:9093");
    expect(body.commonLabels).toEqual({ alertname: "Disk", severity: "page" });
    expect(body.commonAnnotations).toEqual({ summary: "full" });
    expect(body.truncatedAlerts).toBe(0);
    const first = body.alerts[0]!;
    expect(Object.keys(first).sort()).toEqual(["annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"]);
    expect(first.labels).toEqual({ alertname: "Disk", instance: "a", severity: "page" });
    expect(first.startsAt).toBe(new Date(startsAt).toISOString().replace(".000Z", "Z"));
    expect(first.generatorURL).toBe("http://prom/graph");
    expect(first.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(first.fingerprint).toBe(fingerprint(labelsFromRecord(first.labels)));
    expect(headers.get("user-agent")).toMatch(/^Alertmanager\/\d+\.\d+\.\d+$/);
    expect(headers.get("content-type")).toBe("application/json");
  });

  test("restart on the same storage path: no duplicate notification, silences kept", async () => {
    const dir = tempDir();
    const r = receiver();
    const clock = new ManualClock();
    const yaml = basicConfig(r.url);
    const first = start(yaml, { clock, storagePath: dir });
    const id = first.am.setSilence({
      matchers: [{ name: "alertname", value: "Quiet", isRegex: false, isEqual: true }],
      startsAt: clock.now(), endsAt: clock.now() + 24 * 3600 * SECOND, createdBy: "t", comment: "c",
    });
    const posted = [alert({ alertname: "A" }, { endsAt: clock.now() + 3 * 3600 * SECOND })];
    first.am.putAlerts(posted);
    await advance(first, 30 * SECOND);
    expect(r.received.length).toBe(1);
    await first.am.stop();

    const second = start(yaml, { clock, storagePath: dir });
    expect(second.am.getSilence(id)?.state).toBe("active");
    second.am.putAlerts([...posted, alert({ alertname: "Quiet" }), alert({ alertname: "New" }, { endsAt: clock.now() + 3 * 3600 * SECOND })]);
    await advance(second, 30 * SECOND);
    await advance(second, 5 * MINUTE);
    expect(r.received.map((x) => x.body.alerts.map((a) => a.labels.alertname))).toEqual([["A"], ["New"]]);
  });

  test("applyConfig keeps alerts and routes them with the new tree", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url));
    s.am.putAlerts([alert({ alertname: "A", team: "x" })]);
    s.am.applyConfig(config(basicConfig(r.url).replace("group_by: [alertname]", "group_by: [team]")));
    await advance(s, 30 * SECOND);
    expect(r.received.length).toBe(1);
    expect(r.received[0]!.body.groupLabels).toEqual({ team: "x" });
    expect(s.am.receivers()).toEqual([{ name: "hook" }]);
    expect(s.registry.render()).toContain("alertmanager_config_last_reload_successful 1");
  });

  test("invalid alerts are rejected and counted; valid ones in the same batch are kept", () => {
    const s = start(basicConfig("http://127.0.0.1:9"));
    const errors = s.am.putAlerts([alert({}), alert({ alertname: "ok" }), { labels: [{ name: "bad-name", value: "x" }] }]);
    expect(errors).toEqual(["at least one label pair required", 'invalid label set: invalid name "bad-name"']);
    expect(s.am.getAlerts().length).toBe(1);
    const metrics = s.registry.render();
    expect(metrics).toContain("alertmanager_alerts_invalid_total 2");
    expect(metrics).toContain('alertmanager_alerts{state="active"} 1');
    expect(metrics).toContain('alertmanager_alerts_received_total{status="firing"} 3');
  });

  test("a second cluster peer waits position × peer timeout before notifying", async () => {
    const r = receiver();
    const s = start(basicConfig(r.url), { peerPosition: () => 1 });
    const started = s.clock.now();
    s.am.putAlerts([alert({ alertname: "A" })]);
    // Step the clock a second at a time, letting the flush reach its next timer in between.
    const deadline = Date.now() + 5000;
    while (r.received.length === 0 && Date.now() < deadline) {
      s.clock.advance(SECOND);
      await Bun.sleep(1);
    }
    expect(r.received.length).toBe(1);
    // Not before 30s group_wait + 15s peer wait; later steps only when the request was slow to arrive.
    expect(s.clock.now() - started).toBeGreaterThanOrEqual(45 * SECOND);
    expect(s.clock.now() - started).toBeLessThan(60 * SECOND);
  });

  test("alerts without endsAt resolve after resolve_timeout and are garbage-collected", async () => {
    const s = start(basicConfig("http://127.0.0.1:9").replace("route:", "global: {resolve_timeout: 1m}\nroute:"));
    s.am.putAlerts([alert({ alertname: "A" })]);
    expect(s.am.getAlerts()[0]!.alert.timeout).toBe(true);
    s.clock.advance(61 * SECOND);
    expect(s.am.getAlerts().length).toBe(0);
    s.am.maintenance();
    expect(s.am.alerts.size).toBe(0);
  });
});

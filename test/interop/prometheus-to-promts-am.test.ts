/**
 * Interop with the real Prometheus (Debian's /usr/bin/prometheus, 2.42): an
 * alerting rule on `vector(1)` (two series) fires, Prometheus sends the alert to `promts
 * alertmanager` through its API v2, and `promts webhook-logger` receives one
 * grouped notification in Alertmanager's webhook payload. Without
 * Prometheus the test passes with a loud SKIPPED message, unless
 * PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, webhookPayloads } from "../support/processes.ts";
import { peerAvailable } from "../support/peers.ts";

const prometheus = Bun.which("prometheus");

function available(): boolean {
  return peerAvailable(prometheus, "prometheus", "prometheus not installed (apt-get install prometheus)");
}

let dir = "";
beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
  dir = mkdtempSync(join(tmpdir(), "promts-prom-am-"));
});
afterEach(stopAll);
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

test("Prometheus's firing alert reaches the webhook through promts alertmanager as one grouped notification", async () => {
  if (!available()) return;
  const hookPort = freePort();
  const hook = spawnChild("webhook-logger", [PROMTS_BINARY, "webhook-logger", `--listen-address=127.0.0.1:${hookPort}`]);
  await waitUntil("the webhook logger to listen", () => hook.stderr().includes("listening on"), 20_000, [hook]);

  const amConfig = join(dir, "alertmanager.yml");
  writeFileSync(amConfig, `route:
  receiver: logger
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5m
receivers:
  - name: logger
    webhook_configs:
      - url: http://127.0.0.1:${hookPort}/alerts
`);
  const amPort = freePort();
  const am = spawnChild("alertmanager", [
    PROMTS_BINARY, "alertmanager", `--config.file=${amConfig}`, `--storage.path=${join(dir, "am-data")}`,
    `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address=",
  ]);
  await waitForOK(`http://127.0.0.1:${amPort}/-/ready`, am);

  writeFileSync(join(dir, "rules.yml"), `groups:
  - name: interop
    rules:
      - alert: AlwaysFiring
        expr: label_replace(vector(1), "instance", "a", "", "") or label_replace(vector(2), "instance", "b", "", "")
        labels:
          severity: page
        annotations:
          summary: "value is {{ $value }}"
`);
  const promConfig = join(dir, "prometheus.yml");
  writeFileSync(promConfig, `global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:${amPort}"]
`);
  const promPort = freePort();
  const prom = spawnChild("prometheus", [
    prometheus!, `--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, "prom-data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    // Alerts evaluated before the Alertmanager is discovered are dropped; resend every second instead of every minute.
    "--rules.alert.resend-delay=1s",
  ], dir);
  await waitForOK(`http://127.0.0.1:${promPort}/-/ready`, prom, 30_000);

  const payloads = await waitUntil("a notification from Prometheus's alerts", () => {
    const p = webhookPayloads(hook.stdout());
    return p.length > 0 && p;
  }, 30_000, [hook, am, prom]);
  const message = payloads[0]!;
  expect(message).toMatchObject({
    receiver: "logger", status: "firing", version: "4", groupKey: '{}:{alertname="AlwaysFiring"}',
    groupLabels: { alertname: "AlwaysFiring" }, truncatedAlerts: 0,
    externalURL: expect.stringContaining(`:${amPort}`),
  });
  // One rule, two series: Prometheus sends both alerts in one batch, so they form one group.
  const alerts = message.alerts as { status: string; labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string; fingerprint: string }[];
  expect(alerts.map((a) => a.labels.instance)).toEqual(["a", "b"]);
  expect(alerts.map((a) => a.annotations.summary)).toEqual(["value is 1", "value is 2"]);
  expect(message.commonLabels).toEqual({ alertname: "AlwaysFiring", severity: "page" });
  for (const a of alerts) {
    expect(a.status).toBe("firing");
    expect(a.generatorURL).toContain("/graph?g0.expr=label_replace");
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  }
  expect(webhookPayloads(hook.stdout())).toHaveLength(1);

  // The alerts are visible through the API Prometheus posted them to.
  const listed = await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`)).json() as { labels: Record<string, string> }[];
  expect(listed.map((a) => a.labels.instance).sort()).toEqual(["a", "b"]);
}, 90_000);

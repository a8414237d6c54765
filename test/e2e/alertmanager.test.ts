/**
 * End-to-end tests of `dist/promts alertmanager`, `dist/promts
 * webhook-logger`, the amtool-like tool commands and the server's built-in
 * Alertmanager, all on free ports of 127.0.0.1. Every process is stopped by
 * PID when its test ends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, webhookPayloads, type Child,
} from "../support/processes.ts";

/** Each test starts processes and polls them; generous for a loaded 2-core machine. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;

let dir = "";

beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
  dir = mkdtempSync(join(tmpdir(), "promts-am-e2e-"));
});
afterEach(stopAll);
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

function amConfig(hookURL: string, groupWait = "1s"): string {
  return `route:
  receiver: logger
  group_by: [alertname]
  group_wait: ${groupWait}
  group_interval: 1m
receivers:
  - name: logger
    webhook_configs:
      - url: ${hookURL}/hook
`;
}

function startWebhookLogger(): { child: Child; url: string } {
  const port = freePort();
  const child = spawnChild("webhook-logger", [PROMTS_BINARY, "webhook-logger", `--listen-address=127.0.0.1:${port}`]);
  return { child, url: `http://127.0.0.1:${port}` };
}

async function startAlertmanager(configPath: string, storage: string): Promise<{ child: Child; url: string }> {
  const port = freePort();
  const child = spawnChild("alertmanager", [
    PROMTS_BINARY, "alertmanager", `--config.file=${configPath}`, `--storage.path=${storage}`,
    `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitForOK(`${url}/-/ready`, child);
  return { child, url };
}

function tool(args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([PROMTS_BINARY, "tool", ...args], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

async function postAlerts(url: string, alerts: unknown[]): Promise<number> {
  const res = await fetch(`${url}/api/v2/alerts`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alerts) });
  await res.arrayBuffer();
  return res.status;
}

describe("promts alertmanager with promts webhook-logger", () => {
  test("posted alerts arrive as one grouped notification in Alertmanager's payload", async () => {
    const hook = startWebhookLogger();
    await waitUntil("webhook logger to listen", () => hook.child.stderr().includes("listening on"), 20_000, [hook.child]);
    const configPath = join(dir, "grouped.yml");
    writeFileSync(configPath, amConfig(hook.url));
    const am = await startAlertmanager(configPath, join(dir, "grouped-data"));
    expect(await postAlerts(am.url, [
      { labels: { alertname: "DiskFull", instance: "a" }, annotations: { summary: "disk a" } },
      { labels: { alertname: "DiskFull", instance: "b" }, annotations: { summary: "disk b" } },
    ])).toBe(200);

    const [payload] = await waitUntil("one notification", () => {
      const p = webhookPayloads(hook.child.stdout());
      return p.length > 0 && p;
    }, 20_000, [hook.child, am.child]);
    expect(payload).toMatchObject({
      receiver: "logger", status: "firing", version: "4", groupKey: '{}:{alertname="DiskFull"}',
      groupLabels: { alertname: "DiskFull" }, commonLabels: { alertname: "DiskFull" }, truncatedAlerts: 0,
    });
    expect(payload!.alerts.map((a: { labels: { instance: string } }) => a.labels.instance)).toEqual(["a", "b"]);
    // The summary goes to stderr, which may arrive a moment after stdout.
    await waitUntil("the summary line", () => hook.child.stderr().includes('receiver=logger status=firing alerts=2 groupKey={}:{alertname="DiskFull"}'), 5_000);
    // group_interval is 1m: nothing more arrives meanwhile.
    expect(webhookPayloads(hook.child.stdout())).toHaveLength(1);

    const metrics = await (await fetch(`${am.url}/metrics`)).text();
    expect(metrics).toMatch(/alertmanager_notifications_total\{integration="webhook"\} 1/);
    expect(await am.child.stop()).toBe(0);
    expect(am.child.stderr()).toContain("See you next time!");
  }, PROCESS_TEST_TIMEOUT_MS);

  test("silences survive a restart; tool commands add, query, update and expire them", async () => {
    const configPath = join(dir, "restart.yml");
    writeFileSync(configPath, amConfig("http://127.0.0.1:9"));
    const storage = join(dir, "restart-data");
    let am = await startAlertmanager(configPath, storage);

    const added = tool(["silence", "add", "DiskFull", "instance=~a|b", "--comment=maintenance", "--author=ops", `--alertmanager.url=${am.url}`]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const id = added.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    expect(await am.child.stop()).toBe(0);
    am = await startAlertmanager(configPath, storage);

    const quiet = tool(["silence", "query", "--quiet", `--alertmanager.url=${am.url}`]);
    expect(quiet.stdout).toBe(`${id}\n`);
    const table = tool(["silence", "query", `--alertmanager.url=${am.url}`]).stdout.split("\n");
    expect(table[0]).toMatch(/^ID {2,}Matchers {2,}Ends At {2,}Created By {2,}Comment {6}$/);
    expect(table[1]).toContain(`${id}  alertname="DiskFull" instance=~"a|b"  `);
    expect(table[1]).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}ops {3,}maintenance {2}$/);
    const json = JSON.parse(tool(["silence", "query", "--output=json", `--alertmanager.url=${am.url}`]).stdout);
    expect(json[0]).toMatchObject({ id, createdBy: "ops", comment: "maintenance", status: { state: "active" } });

    expect(await postAlerts(am.url, [{ labels: { alertname: "DiskFull", instance: "a" } }, { labels: { alertname: "Other" } }])).toBe(200);
    const active = tool(["alert", "query", `--alertmanager.url=${am.url}`]).stdout;
    expect(active).toContain("Other");
    expect(active).not.toContain("DiskFull");
    const silenced = tool(["alert", "query", "--silenced", "DiskFull", `--alertmanager.url=${am.url}`]).stdout.split("\n");
    expect(silenced[1]).toMatch(/^DiskFull +\d{4}-.* UTC +suppressed {2}$/);

    const updated = tool(["silence", "update", id, "--comment=longer", "--duration=2h", "--quiet", `--alertmanager.url=${am.url}`]);
    expect(updated.stdout).toBe(`${id}\n`);
    const after = JSON.parse(tool(["silence", "query", "--output=json", `--alertmanager.url=${am.url}`]).stdout)[0];
    expect(after.comment).toBe("longer");
    expect(Date.parse(after.endsAt) - Date.parse(after.startsAt)).toBe(2 * 3_600_000);

    const expired = tool(["silence", "expire", id, `--alertmanager.url=${am.url}`]);
    expect(expired.code).toBe(0);
    expect(tool(["silence", "query", "--quiet", `--alertmanager.url=${am.url}`]).stdout).toBe("");
    expect(tool(["silence", "query", "--expired", "--quiet", `--alertmanager.url=${am.url}`]).stdout).toBe(`${id}\n`);
    // Alertmanager answers 200 to deleting an expired silence, so expiring twice succeeds, as with amtool.
    const again = tool(["silence", "expire", id, `--alertmanager.url=${am.url}`]);
    expect(again.code).toBe(0);
    expect(tool(["silence", "query", "--expired", "--quiet", `--alertmanager.url=${am.url}`]).stdout).toBe(`${id}\n`);
  }, PROCESS_TEST_TIMEOUT_MS);

  test("SIGHUP reloads; a broken config is logged and the old one keeps running", async () => {
    const configPath = join(dir, "reload.yml");
    writeFileSync(configPath, amConfig("http://127.0.0.1:9"));
    const am = await startAlertmanager(configPath, join(dir, "reload-data"));
    const receivers = async () => ((await (await fetch(`${am.url}/api/v2/receivers`)).json()) as { name: string }[]).map((r) => r.name);
    expect(await receivers()).toEqual(["logger"]);

    writeFileSync(configPath, amConfig("http://127.0.0.1:9").replaceAll("logger", "renamed"));
    am.child.signal("SIGHUP");
    await waitUntil("the reloaded receivers", async () => (await receivers())[0] === "renamed", 10_000, [am.child]);

    writeFileSync(configPath, "route: [\n");
    am.child.signal("SIGHUP");
    await waitUntil("the failed reload to be logged", () => am.child.stderr().includes("Loading configuration file failed"), 10_000, [am.child]);
    expect(await receivers()).toEqual(["renamed"]);
    const metrics = await (await fetch(`${am.url}/metrics`)).text();
    expect(metrics).toMatch(/^alertmanager_config_last_reload_successful 0$/m);
    const reload = await fetch(`${am.url}/-/reload`, { method: "POST" });
    expect(reload.status).toBe(500);
    expect(await reload.text()).toStartWith("failed to reload config: ");
    expect(await am.child.stop()).toBe(0);
  }, PROCESS_TEST_TIMEOUT_MS);

  test("a bad config at startup exits 1 naming the file", async () => {
    const configPath = join(dir, "bad.yml");
    writeFileSync(configPath, "route:\n  receiver: missing\nreceivers: []\n");
    const p = Bun.spawnSync([PROMTS_BINARY, "alertmanager", `--config.file=${configPath}`, `--storage.path=${join(dir, "bad-data")}`, `--web.listen-address=127.0.0.1:${freePort()}`], { stderr: "pipe", timeout: 20_000 });
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toContain(configPath);
  }, PROCESS_TEST_TIMEOUT_MS);

  test("tool check-config and check alertmanager-config", () => {
    const good = join(dir, "check-good.yml");
    writeFileSync(good, amConfig("http://127.0.0.1:9"));
    const bad = join(dir, "check-bad.yml");
    writeFileSync(bad, "route:\n  receiver: nobody\nreceivers: []\n");
    const ok = tool(["check-config", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`Checking '${good}'  SUCCESS`);
    const failed = tool(["check", "alertmanager-config", good, bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`Checking '${bad}'  FAILED: `);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe("the server's built-in Alertmanager", () => {
  test("serves API v2 on the main listener and notifies the webhook", async () => {
    const hook = startWebhookLogger();
    await waitUntil("webhook logger to listen", () => hook.child.stderr().includes("listening on"), 20_000, [hook.child]);
    const amPath = join(dir, "builtin-am.yml");
    writeFileSync(amPath, amConfig(hook.url, "0s"));
    const promPath = join(dir, "builtin-prom.yml");
    writeFileSync(promPath, "global:\n  scrape_interval: 15s\n");
    const port = freePort();
    const server = spawnChild("server", [
      PROMTS_BINARY, `--config.file=${promPath}`, `--alertmanager.config.file=${amPath}`,
      `--storage.tsdb.path=${join(dir, "builtin-data")}`, `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const url = `http://127.0.0.1:${port}`;
    await waitForOK(`${url}/-/ready`, server);
    expect(await postAlerts(url, [{ labels: { alertname: "Builtin" } }])).toBe(200);
    const payloads = await waitUntil("the notification", () => {
      const p = webhookPayloads(hook.child.stdout());
      return p.length > 0 && p;
    }, 20_000, [hook.child, server]);
    expect(payloads[0]).toMatchObject({ receiver: "logger", groupKey: '{}:{alertname="Builtin"}', status: "firing" });
    const status = await (await fetch(`${url}/api/v2/status`)).json() as { cluster: { status: string } };
    expect(status.cluster.status).toBe("disabled");
    expect(await server.stop()).toBe(0);
  }, PROCESS_TEST_TIMEOUT_MS);
  test("receives the server's own alerts without an alerting section", async () => {
    const hook = startWebhookLogger();
    await waitUntil("webhook logger to listen", () => hook.child.stderr().includes("listening on"), 20_000, [hook.child]);
    const amPath = join(dir, "self-am.yml");
    writeFileSync(amPath, amConfig(hook.url, "0s"));
    const rulesPath = join(dir, "self-rules.yml");
    writeFileSync(rulesPath, "groups:\n  - name: self\n    interval: 1s\n    rules:\n      - alert: SelfAlert\n        expr: vector(1)\n        labels: {severity: page}\n");
    const promPath = join(dir, "self-prom.yml");
    writeFileSync(promPath, `global:\n  evaluation_interval: 1s\nrule_files: [${JSON.stringify(rulesPath)}]\n`);
    const port = freePort();
    const server = spawnChild("server", [
      PROMTS_BINARY, `--config.file=${promPath}`, `--alertmanager.config.file=${amPath}`,
      `--storage.tsdb.path=${join(dir, "self-data")}`, `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const payloads = await waitUntil("the rule's notification", () => {
      const p = webhookPayloads(hook.child.stdout());
      return p.length > 0 && p;
    }, 30_000, [hook.child, server]);
    expect(payloads[0]).toMatchObject({ receiver: "logger", status: "firing", commonLabels: { alertname: "SelfAlert", severity: "page" } });
    expect(await server.stop()).toBe(0);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe("promts alertmanager: receiver integrations in the binary", () => {
  test("slack with a templates: file overriding a default name; the secret URL stays hidden", async () => {
    const bodies: Record<string, any>[] = [];
    const capture = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        bodies.push((await req.json()) as Record<string, any>);
        return new Response("ok");
      },
    });
    try {
      writeFileSync(join(dir, "custom.tmpl"), '{{ define "slack.default.title" }}custom: {{ .CommonLabels.alertname }} x{{ len .Alerts }}{{ end }}\n');
      const amPath = join(dir, "slack-am.yml");
      writeFileSync(amPath, `templates: ['*.tmpl']
route: {receiver: chat, group_by: [alertname], group_wait: 0s, group_interval: 1m}
receivers:
  - name: chat
    slack_configs:
      - api_url: http://127.0.0.1:${capture.port}/hook-secret-path
        channel: '#ops'
`);
      const am = await startAlertmanager(amPath, join(dir, "slack-data"));
      expect(await postAlerts(am.url, [{ labels: { alertname: "Chatty", instance: "a" } }])).toBe(200);
      await waitUntil("the Slack message", () => bodies.length > 0, 20_000, [am.child]);
      expect(bodies[0]).toMatchObject({ channel: "#ops", username: "Alertmanager", attachments: [{ title: "custom: Chatty x1", color: "danger" }] });
      const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as { config: { original: string } };
      expect(status.config.original).toContain("api_url: <secret>");
      expect(status.config.original).not.toContain("hook-secret-path");
    } finally {
      capture.stop(true);
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});

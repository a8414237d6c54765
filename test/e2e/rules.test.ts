/**
 * Rules and alerting end to end through the compiled binary: an in-process
 * exporter is scraped, a recording rule's output becomes queryable, an
 * alerting rule fires and its alert reaches an in-process Alertmanager
 * stand-in (POST /api/v2/alerts) with labels, external labels and
 * annotations; /api/v1/rules, /alerts and /alertmanagers report it all; a
 * broken rule file fails the reload and keeps the old rules; and
 * `promts tool check rules|config` report on rule files. Every promts
 * process is killed by PID when its test ends.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiData, instantQuery, requireBinary, startPromts, waitFor, type PromtsProcess } from "./promts_process.ts";
import { PROMTS_BINARY } from "../support/processes.ts";

const EXPORTER_BODY = ["# TYPE demo_queue_length gauge", 'demo_queue_length{queue="mail"} 7', ""].join("\n");

const GOOD_RULES = `groups:
- name: demo
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: QueueTooLong
    expr: demo_queue_length > 5
    for: 0s
    labels:
      severity: page
    annotations:
      summary: "queue {{ $labels.queue }} on {{ $labels.instance }} holds {{ $value }} items"
`;

/** A rule file with an unparsable expression: the reload must fail and keep GOOD_RULES. */
const BROKEN_RULES = `groups:
- name: demo
  rules:
  - record: job:up:sum
    expr: sum by (job) (up
`;

/** One POST /api/v2/alerts element as the receiver got it. */
interface ReceivedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

let workDir = "";
let exporter: ReturnType<typeof Bun.serve> | undefined;
let receiver: ReturnType<typeof Bun.serve> | undefined;
const received: ReceivedAlert[] = [];
const running: PromtsProcess[] = [];

beforeAll(() => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-rules-"));
  exporter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(EXPORTER_BODY, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      if (req.method !== "POST" || path !== "/api/v2/alerts") return new Response("not found", { status: 404 });
      received.push(...((await req.json()) as ReceivedAlert[]));
      return new Response(null, { status: 200 });
    },
  });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(() => {
  exporter?.stop(true);
  receiver?.stop(true);
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function demoConfig(ruleFile: string): string {
  return [
    "global:",
    "  scrape_interval: 200ms",
    "  scrape_timeout: 200ms",
    "  evaluation_interval: 200ms",
    "  external_labels: {replica: a}",
    `rule_files: [${JSON.stringify(ruleFile)}]`,
    "alerting:",
    "  alertmanagers:",
    "    - static_configs:",
    `        - targets: ["127.0.0.1:${receiver!.port}"]`,
    "scrape_configs:",
    "  - job_name: demo",
    "    static_configs:",
    `      - targets: ["127.0.0.1:${exporter!.port}"]`,
    "",
  ].join("\n");
}

async function runTool(args: string[]): Promise<{ code: number; stdout: string }> {
  const proc = Bun.spawn([PROMTS_BINARY, "tool", ...args], { cwd: workDir, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout };
}

async function rulesByName(url: string): Promise<Map<string, any>> {
  const data = await apiData<{ groups: { rules: any[] }[] }>(url, "/api/v1/rules");
  return new Map(data.groups.flatMap((g) => g.rules.map((r) => [r.name, r] as [string, any])));
}

test("recording and alerting rules run, the alert reaches the Alertmanager, and a broken rule file fails the reload", async () => {
  const ruleFile = join(workDir, "demo.rules.yml");
  const configFile = join(workDir, "prometheus.yml");
  writeAtomic(ruleFile, GOOD_RULES);
  writeAtomic(configFile, demoConfig(ruleFile));
  const p = await startPromts([`--config.file=${configFile}`, `--storage.tsdb.path=${join(workDir, "data")}`, "--web.enable-lifecycle"], workDir);
  running.push(p);

  const recorded = await waitFor("job:up:sum to be recorded", async () => {
    const result = await instantQuery(p.url, "job:up:sum");
    return result.length > 0 ? result : undefined;
  });
  expect(recorded.map((s) => [s.metric, s.value[1]])).toEqual([[{ __name__: "job:up:sum", job: "demo" }, "1"]]);

  const rules = await waitFor("both rules evaluated with health ok", async () => {
    const byName = await rulesByName(p.url);
    return [...byName.values()].every((r) => r.health === "ok") && byName.size === 2 ? byName : undefined;
  });
  expect(rules.get("job:up:sum")).toMatchObject({ type: "recording", query: "sum by (job) (up)" });
  expect(rules.get("QueueTooLong")).toMatchObject({ type: "alerting", query: "demo_queue_length > 5", labels: { severity: "page" } });

  const alerts = await waitFor("the alert to be firing", async () => {
    const data = await apiData<{ alerts: any[] }>(p.url, "/api/v1/alerts");
    return data.alerts.some((a) => a.state === "firing") ? data.alerts : undefined;
  });
  const instance = `127.0.0.1:${exporter!.port}`;
  expect(alerts).toEqual([
    expect.objectContaining({
      labels: { alertname: "QueueTooLong", instance, job: "demo", queue: "mail", severity: "page" },
      annotations: { summary: `queue mail on ${instance} holds 7 items` },
      state: "firing",
      value: "7e+00",
    }),
  ]);

  const sent = await waitFor("the receiver to get the alert", () => received.find((a) => a.labels.alertname === "QueueTooLong"));
  expect(sent.labels).toEqual({ alertname: "QueueTooLong", instance, job: "demo", queue: "mail", replica: "a", severity: "page" });
  expect(sent.annotations).toEqual({ summary: `queue mail on ${instance} holds 7 items` });
  expect(sent.generatorURL).toContain("/graph?g0.expr=demo_queue_length+%3E+5");
  expect(Date.parse(sent.endsAt)).toBeGreaterThan(Date.parse(sent.startsAt));

  expect(await apiData(p.url, "/api/v1/alertmanagers")).toEqual({
    activeAlertmanagers: [{ url: `http://127.0.0.1:${receiver!.port}/api/v2/alerts` }],
    droppedAlertmanagers: [],
  });

  writeAtomic(ruleFile, BROKEN_RULES);
  const reload = await fetch(`${p.url}/-/reload`, { method: "POST" });
  expect(reload.status).toBe(500);
  expect(await reload.text()).toContain("failed to reload config");
  const afterFailure = await rulesByName(p.url);
  expect([...afterFailure.keys()].sort()).toEqual(["QueueTooLong", "job:up:sum"]);
  expect(await (await fetch(`${p.url}/metrics`)).text()).toContain("prometheus_config_last_reload_successful 0");

  writeAtomic(ruleFile, GOOD_RULES.replace("severity: page", "severity: ticket"));
  expect((await fetch(`${p.url}/-/reload`, { method: "POST" })).status).toBe(200);
  const changed = await rulesByName(p.url);
  expect(changed.get("QueueTooLong")!.labels).toEqual({ severity: "ticket" });
  expect(await p.stop()).toBe(0);
});

test("bad type on /api/v1/rules is a 400 bad_data error", async () => {
  const ruleFile = join(workDir, "type.rules.yml");
  const configFile = join(workDir, "type.yml");
  writeAtomic(ruleFile, GOOD_RULES);
  writeAtomic(configFile, demoConfig(ruleFile));
  const p = await startPromts([`--config.file=${configFile}`, `--storage.tsdb.path=${join(workDir, "data-type")}`], workDir);
  running.push(p);
  const res = await fetch(`${p.url}/api/v1/rules?type=bogus`);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ status: "error", errorType: "bad_data", error: 'unsupported type "bogus"' });
});

test("a broken rule file at startup stops the server with exit code 1", async () => {
  const ruleFile = join(workDir, "startup.rules.yml");
  const configFile = join(workDir, "startup.yml");
  writeAtomic(ruleFile, BROKEN_RULES);
  writeAtomic(configFile, demoConfig(ruleFile));
  const proc = Bun.spawn([PROMTS_BINARY, `--config.file=${configFile}`, `--storage.tsdb.path=${join(workDir, "data-startup")}`, "--web.listen-address=127.0.0.1:0"], {
    cwd: workDir, stdin: "ignore", stdout: "ignore", stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  expect(code).toBe(1);
  expect(stderr).toContain("startup.rules.yml");
});

test("tool check rules and tool check config report on rule files", async () => {
  const good = join(workDir, "good.rules.yml");
  const broken = join(workDir, "broken.rules.yml");
  writeAtomic(good, GOOD_RULES);
  writeAtomic(broken, BROKEN_RULES);

  const ok = await runTool(["check", "rules", good]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toBe(`Checking ${good}\n  SUCCESS: 2 rules found\n\n`);

  const bad = await runTool(["check", "rules", good, broken]);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toContain(`Checking ${broken}\n  FAILED:\n`);
  expect(bad.stdout).toContain(broken);

  const configFile = join(workDir, "check.yml");
  writeAtomic(configFile, demoConfig(good));
  const config = await runTool(["check", "config", configFile]);
  expect(config.code).toBe(0);
  expect(config.stdout).toBe(
    `Checking ${configFile}\n  SUCCESS: 1 rule files found\n  SUCCESS: ${configFile} is valid prometheus config file syntax\n\n` +
      `Checking ${good}\n  SUCCESS: 2 rules found\n\n`,
  );

  writeAtomic(configFile, demoConfig(broken));
  const configWithBrokenRules = await runTool(["check", "config", configFile]);
  expect(configWithBrokenRules.code).toBe(1);
  expect(configWithBrokenRules.stdout).toContain(`Checking ${broken}\n  FAILED:\n`);
});

/**
 * Every HTTP integration under the retry stage, against a local server:
 * a 500 then success is retried and delivered once; a 400 is not retried
 * (except where Alertmanager retries every failure: its Telegram bot
 * client treats any non-OK answer as retryable); an endpoint that never
 * answers is cut off by the notification deadline without holding up a
 * healthy integration running beside it. E-mail gets the hung-server case
 * with a TCP server that never greets.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildIntegrations, notificationTemplates } from "../../../src/alertmanager/notifiers/index.ts";
import { PushoverNotifier } from "../../../src/alertmanager/notifiers/pushover.ts";
import { retryStage, systemClock, type Integration, type NotifyContext, type RetryObserver } from "../../../src/alertmanager/index.ts";
import { parseAlertmanagerConfig, type PushoverConfig } from "../../../src/config/index.ts";
import { nopLogger } from "../../../src/log/index.ts";
import { labelsFromRecord } from "../../../src/model/index.ts";

type Mode = "flaky" | "bad" | "hang";

interface Seen {
  integration: string;
  status: number;
  token: boolean;
}

const seen: Record<Mode, Seen[]> = { flaky: [], bad: [], hang: [] };
const releaseHung: (() => void)[] = [];
let server: ReturnType<typeof Bun.serve>;
let silent: { port: number; stop(closeActive?: boolean): void };

function success(integration: string, path: string): Response {
  switch (integration) {
    case "telegram":
      return Response.json({ ok: true, result: { message_id: 1, date: 0, chat: { id: 1, type: "private" } } });
    case "wechat":
      return path.endsWith("/gettoken") ? Response.json({ access_token: "t" }) : Response.json({ errcode: 0 });
    case "rocketchat":
      return Response.json({ success: true });
    case "jira":
      return path.endsWith("/search") ? Response.json({ issues: [] }) : Response.json({ key: "OPS-1" }, { status: 201 });
    case "sns":
      return new Response("<PublishResponse><PublishResult><MessageId>1</MessageId></PublishResult></PublishResponse>", { headers: { "content-type": "text/xml" } });
    default:
      return new Response("ok", { headers: { "content-type": "text/plain" } });
  }
}

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const [, mode, integration] = u.pathname.split("/") as [string, Mode, string];
      await req.text();
      const list = seen[mode];
      // WeChat reads a token from any answer to gettoken (a failed one is final, as in Alertmanager): fail its first message instead.
      const tokenRequest = integration === "wechat" && u.pathname.endsWith("/gettoken");
      const first = !tokenRequest && !list.some((s) => s.integration === integration && !s.token);
      let res: Response;
      if (mode === "hang") {
        await new Promise<void>((r) => releaseHung.push(r));
        res = new Response("late", { status: 503 });
      } else if (mode === "bad" || first) {
        res = new Response(JSON.stringify({ message: "nope", errors: ["x"] }), { status: mode === "bad" ? 400 : 500, headers: { "content-type": "application/json" } });
      } else {
        res = success(integration, u.pathname);
      }
      list.push({ integration, status: res.status, token: tokenRequest });
      return res;
    },
  });
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});

afterAll(() => {
  for (const r of releaseHung) r();
  server.stop(true);
  silent.stop(true);
});

function integrations(mode: Mode): Integration[] {
  const base = `http://127.0.0.1:${server.port}/${mode}`;
  const yaml = `
route: {receiver: all}
receivers:
  - name: all
    webhook_configs: [{url: '${base}/webhook'}]
    slack_configs: [{api_url: '${base}/slack'}]
    pagerduty_configs: [{routing_key: k, url: '${base}/pagerduty'}]
    opsgenie_configs: [{api_key: k, api_url: '${base}/opsgenie/'}]
    victorops_configs: [{api_key: k, routing_key: r, api_url: '${base}/victorops/'}]
    wechat_configs: [{api_secret: s, corp_id: c, api_url: '${base}/wechat/'}]
    telegram_configs: [{bot_token: t, chat_id: 1, api_url: '${base}/telegram'}]
    webex_configs: [{room_id: r, api_url: '${base}/webex', http_config: {authorization: {credentials: x}}}]
    discord_configs: [{webhook_url: '${base}/discord'}]
    msteams_configs: [{webhook_url: '${base}/msteams'}]
    msteamsv2_configs: [{webhook_url: '${base}/msteamsv2'}]
    jira_configs: [{project: OPS, issue_type: Bug, api_url: '${base}/jira/rest/api/2'}]
    rocketchat_configs: [{token: t, token_id: i, api_url: '${base}/rocketchat/'}]
    incidentio_configs: [{url: '${base}/incidentio', alert_source_token: t}]
    sns_configs: [{api_url: '${base}/sns', topic_arn: 'arn:aws:sns:us-east-1:1:t', sigv4: {region: us-east-1, access_key: a, secret_key: s}}]
`;
  const { config } = parseAlertmanagerConfig(yaml, "retry.yml");
  const deps = { templates: notificationTemplates([]), externalURL: "http://am", version: "0.27.0", logger: nopLogger };
  const list = buildIntegrations(config.receivers[0]!, deps);
  const pushover = { ...(config.receivers[0]!.webhook_configs[0]! as object), send_resolved: true, user_key: "u", token: "t", title: "x", message: "m", url: "", priority: "0", retry: 60_000, expire: 3_600_000, html: false, monospace: false } as unknown as PushoverConfig;
  list.push(new PushoverNotifier(pushover, 0, deps, `${base}/pushover`));
  return list;
}

function ctx(deadlineMs: number): NotifyContext {
  return {
    groupKey: '{}:{alertname="X"}', receiverName: "all", groupLabels: labelsFromRecord({ alertname: "X" }), repeatInterval: 3_600_000,
    muteTimeIntervals: [], activeTimeIntervals: [], signal: AbortSignal.timeout(deadlineMs),
  };
}

const ALERT = { labels: labelsFromRecord({ alertname: "X", job: "j" }), annotations: labelsFromRecord({ summary: "s" }), startsAt: Date.now() - 1000, endsAt: 0, generatorURL: "", updatedAt: 0, timeout: true };
const observer = (): RetryObserver & { reasons: string[] } => {
  const o = { reasons: [] as string[], attempt() {}, failed() {}, latency() {}, gaveUp(_i: string, r: string) { o.reasons.push(r); } };
  return o;
};
/** Requests a successful notification makes. */
const NORMAL: Record<string, number> = { wechat: 2, jira: 2 };
/** Integrations for which Alertmanager retries any failed answer (its Telegram bot client). */
const RETRY_ANY = new Set(["telegram"]);
/** WeChat reads the token from any answer: a 400 without one is "invalid APISecret", final, reason other. */
const REASON: Record<string, string> = { wechat: "other" };

describe("retries per integration", () => {
  test("500 then success: retried, delivered once", async () => {
    const list = integrations("flaky");
    expect(list.length).toBe(16);
    await Promise.all(list.map((i) => retryStage(i, systemClock, observer(), nopLogger)(ctx(20_000), [ALERT])));
    for (const i of list) {
      const requests = seen.flaky.filter((s) => s.integration === i.name);
      expect({ integration: i.name, statuses: requests.map((r) => r.status >= 500 ? 500 : 200) })
        .toEqual({ integration: i.name, statuses: i.name === "wechat" ? [200, 500, 200] : [500, ...Array(NORMAL[i.name] ?? 1).fill(200)] });
    }
  }, 30_000);

  test("400: failed at once with reason clientError (Telegram retries any failure, as Alertmanager)", async () => {
    const list = integrations("bad");
    await Promise.all(list.map(async (i) => {
      const o = observer();
      const run = Promise.resolve(retryStage(i, systemClock, o, nopLogger)(ctx(RETRY_ANY.has(i.name) ? 2500 : 20_000), [ALERT]));
      const err = await run.then(() => undefined, (e: Error) => e);
      expect({ integration: i.name, error: err?.message }).toEqual({ integration: i.name, error: expect.stringMatching(RETRY_ANY.has(i.name) ? /notify retry canceled after \d+ attempts/ : /unrecoverable error after 1 attempts/) });
      const n = seen.bad.filter((s) => s.integration === i.name).length;
      if (RETRY_ANY.has(i.name)) expect({ integration: i.name, retried: n > 1 }).toEqual({ integration: i.name, retried: true });
      else expect({ integration: i.name, requests: n, reasons: o.reasons }).toEqual({ integration: i.name, requests: 1, reasons: [REASON[i.name] ?? "clientError"] });
    }));
  }, 30_000);

  test("a hung endpoint hits the deadline and holds nobody else", async () => {
    const healthy = integrations("flaky").find((i) => i.name === "discord")!;
    const hung = integrations("hang");
    const started = Date.now();
    let healthyDone = 0;
    const healthyRun = Promise.resolve(retryStage(healthy, systemClock, observer(), nopLogger)(ctx(20_000), [ALERT])).then(() => {
      healthyDone = Date.now() - started;
    });
    const results = await Promise.allSettled(hung.map((i) => Promise.resolve(retryStage(i, systemClock, observer(), nopLogger)(ctx(1500), [ALERT]))));
    const elapsed = Date.now() - started;
    await healthyRun;
    for (const [k, r] of results.entries()) expect({ integration: hung[k]!.name, status: r.status }).toEqual({ integration: hung[k]!.name, status: "rejected" });
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(10_000);
    expect(healthyDone).toBeGreaterThan(0);
    expect(healthyDone).toBeLessThan(elapsed);
  }, 30_000);

  test("webhook and incident.io timeout cut a hung request short, then retry", async () => {
    const base = `http://127.0.0.1:${server.port}/hang`;
    const { config } = parseAlertmanagerConfig(`
route: {receiver: t}
receivers:
  - name: t
    webhook_configs: [{url: '${base}/webhook-timeout', timeout: 300ms}]
    incidentio_configs: [{url: '${base}/incidentio-timeout', alert_source_token: x, timeout: 300ms}]
`, "timeout.yml");
    const deps = { templates: notificationTemplates([]), externalURL: "", version: "0.27.0", logger: nopLogger };
    for (const i of buildIntegrations(config.receivers[0]!, deps)) {
      let attempts = 0;
      const o = { ...observer(), attempt() { attempts++; } };
      await expect(Promise.resolve(retryStage(i, systemClock, o, nopLogger)(ctx(2500), [ALERT]))).rejects.toThrow(/notify retry canceled after/);
      expect({ integration: i.name, severalAttempts: attempts >= 2 }).toEqual({ integration: i.name, severalAttempts: true });
    }
  }, 20_000);

  test("e-mail to a server that never greets hits the deadline", async () => {
    const { config } = parseAlertmanagerConfig(`
route: {receiver: m}
receivers:
  - name: m
    email_configs: [{to: a@b.test, from: c@d.test, smarthost: '127.0.0.1:${silent.port}', require_tls: false}]
`, "mail.yml");
    const deps = { templates: notificationTemplates([]), externalURL: "", version: "0.27.0", logger: nopLogger };
    const [mail] = buildIntegrations(config.receivers[0]!, deps);
    const started = Date.now();
    const o = observer();
    await expect(Promise.resolve(retryStage(mail!, systemClock, o, nopLogger)(ctx(1200), [ALERT]))).rejects.toThrow(/email\/0: notify retry canceled/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(o.reasons).toEqual(["contextCanceled"]);
  }, 20_000);
});

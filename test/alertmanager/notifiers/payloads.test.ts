/**
 * Requests of the integrations the differential test cannot compare with
 * Alertmanager 0.25 — those 0.25 lacks (MS Teams connector and workflow
 * cards, Jira, Rocket.Chat, incident.io) and those whose endpoint 0.25
 * fixes (Pushover, PagerDuty v1) — checked against the payloads the
 * Alertmanager documentation and the services' API references describe.
 * Also: Slack's chat.postMessage with an app token, Telegram's HTML mode,
 * truncation limits and key hashing.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { buildIntegrations, notificationTemplates, truncateInBytes, truncateInRunes } from "../../../src/alertmanager/notifiers/index.ts";
import { PagerdutyNotifier, PAGERDUTY_V1_URL } from "../../../src/alertmanager/notifiers/pagerduty.ts";
import { PushoverNotifier, PUSHOVER_API_URL } from "../../../src/alertmanager/notifiers/pushover.ts";
import type { Integration, NotifyContext } from "../../../src/alertmanager/index.ts";
import { parseAlertmanagerConfig, type PagerdutyConfig, type PushoverConfig } from "../../../src/config/index.ts";
import { nopLogger } from "../../../src/log/index.ts";
import { labelsFromRecord } from "../../../src/model/index.ts";

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** A fetch that records requests and answers from `reply`. */
function recorder(reply: (url: string) => Response = () => new Response("ok")) {
  const sent: Sent[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    sent.push({ url: String(input), method: init?.method ?? "GET", headers, body: String(init?.body ?? "") });
    return reply(String(input));
  }) as typeof fetch;
  return { sent, fetch: f };
}

const GROUP_KEY = '{}:{alertname="Disk"}';
const HASH = createHash("sha256").update(GROUP_KEY).digest("hex");
const NOW = Date.now();
const ctx: NotifyContext = {
  groupKey: GROUP_KEY, receiverName: "team", groupLabels: labelsFromRecord({ alertname: "Disk" }), repeatInterval: 3_600_000,
  muteTimeIntervals: [], activeTimeIntervals: [], signal: new AbortController().signal,
};
const firing = {
  labels: labelsFromRecord({ alertname: "Disk", instance: "a", severity: "warning" }), annotations: labelsFromRecord({ summary: "full <b>&" }),
  startsAt: Date.parse("2024-01-02T03:04:05Z"), endsAt: 0, generatorURL: "http://prom/g", updatedAt: 0, timeout: true,
};
const resolved = { ...firing, endsAt: NOW - 1000 };
const SUBJECT = "[FIRING:1] Disk (a warning)";
const MD_TEXT = "\n\n# Alerts Firing:\n\nLabels:\n  - alertname = Disk\n  - instance = a\n  - severity = warning\n\nAnnotations:\n  - summary = full <b>&\n\nSource: http://prom/g\n\n\n\n\n";

function build(yaml: string, reply?: (url: string) => Response): { list: Integration[]; sent: Sent[] } {
  const { config } = parseAlertmanagerConfig(`route: {receiver: r}\nreceivers:\n  - name: r\n${yaml}`, "p.yml");
  const r = recorder(reply);
  const deps = { templates: notificationTemplates([]), externalURL: "http://am", version: "0.27.0", fetch: r.fetch, logger: nopLogger };
  return { list: buildIntegrations(config.receivers[0]!, deps), sent: r.sent };
}

describe("documented payloads", () => {
  test("msteams: O365 connector MessageCard", async () => {
    const { list, sent } = build("    msteams_configs: [{webhook_url: 'http://teams/hook'}]\n");
    expect(await list[0]!.notify(ctx, [firing], NOW)).toEqual({ retry: false });
    expect(sent[0]!.url).toBe("http://teams/hook");
    expect(sent[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(sent[0]!.body)).toEqual({
      "@context": "http://schema.org/extensions", type: "MessageCard", title: SUBJECT, summary: SUBJECT, text: MD_TEXT, themeColor: "8C1A1A",
    });
    await list[0]!.notify(ctx, [resolved], NOW);
    expect(JSON.parse(sent[1]!.body).themeColor).toBe("2DC72D");
  });

  test("msteamsv2: Adaptive Card for Teams workflows", async () => {
    const { list, sent } = build("    msteamsv2_configs: [{webhook_url: 'http://flow/hook', title: 'T {{ .Status }}'}]\n");
    await list[0]!.notify(ctx, [resolved], NOW);
    expect(JSON.parse(sent[0]!.body)).toEqual({
      type: "message",
      attachments: [{
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json", type: "AdaptiveCard", version: "1.2",
          body: [
            { type: "TextBlock", text: "T resolved", weight: "Bolder", size: "Medium", wrap: true, style: "heading", color: "Good" },
            {
              type: "TextBlock", wrap: true,
              text: "\n\n\n# Alerts Resolved:\n\nLabels:\n  - alertname = Disk\n  - instance = a\n  - severity = warning\n\nAnnotations:\n  - summary = full <b>&\n\nSource: http://prom/g\n\n\n\n",
            },
          ],
          msteams: { width: "full" },
        },
      }],
    });
  });

  test("rocketchat: chat.postMessage with token headers", async () => {
    const { list, sent } = build(
      "    rocketchat_configs: [{api_url: 'http://rc.example', token: tok, token_id: uid, channel: '#ops', fields: [{title: sev, value: '{{ .CommonLabels.severity }}'}], actions: [{text: Open, url: 'http://x'}]}]\n",
      () => Response.json({ success: true }),
    );
    expect(await list[0]!.notify(ctx, [firing], NOW)).toEqual({ retry: false });
    expect(sent[0]!.url).toBe("http://rc.example/api/v1/chat.postMessage");
    expect(sent[0]!.headers["x-auth-token"]).toBe("tok");
    expect(sent[0]!.headers["x-user-id"]).toBe("uid");
    expect(JSON.parse(sent[0]!.body)).toEqual({
      channel: "#ops",
      attachments: [{
        title: SUBJECT, title_link: "http://am/#/alerts?receiver=team", color: "red",
        fields: [{ short: false, title: "sev", value: "warning" }],
        actions: [{ type: "button", text: "Open", url: "http://x", is_webview: false, msg_in_chat_window: false }],
      }],
    });
  });

  test("rocketchat: a 200 answer saying success false fails", async () => {
    const { list } = build("    rocketchat_configs: [{api_url: 'http://rc.example', token: tok, token_id: uid}]\n", () => Response.json({ success: false, error: "bad room" }));
    const r = await list[0]!.notify(ctx, [firing], NOW);
    expect(r.error?.message).toContain("error response from Rocketchat: bad room");
    expect(r.retry).toBe(false);
  });

  test("incidentio: webhook payload version 1 with the alert source token", async () => {
    const { list, sent } = build("    incidentio_configs: [{url: 'http://inc/alert', alert_source_token: secret-token, max_alerts: 1}]\n");
    await list[0]!.notify(ctx, [firing, { ...firing, labels: labelsFromRecord({ alertname: "Disk", instance: "b" }) }], NOW);
    expect(sent[0]!.headers.authorization).toBe("Bearer secret-token");
    const body = JSON.parse(sent[0]!.body);
    expect(body).toMatchObject({ receiver: "team", status: "firing", version: "1", groupKey: GROUP_KEY, truncatedAlerts: 1, externalURL: "http://am" });
    expect(body.alerts).toHaveLength(1);
  });

  test("jira: search by group label, then create the issue", async () => {
    const { list, sent } = build(
      "    jira_configs: [{api_url: 'http://jira/rest/api/2', project: OPS, issue_type: Bug, labels: ['{{ .CommonLabels.severity }}'], fields: {customfield_1: '{{ .CommonLabels.instance }}'}}]\n",
      (url) => (url.endsWith("/search") ? Response.json({ issues: [] }) : Response.json({ key: "OPS-1" }, { status: 201 })),
    );
    expect(await list[0]!.notify(ctx, [firing], NOW)).toEqual({ retry: false });
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual(["POST http://jira/rest/api/2/search", "POST http://jira/rest/api/2/issue"]);
    expect(JSON.parse(sent[0]!.body)).toEqual({
      jql: `statusCategory != Done and project="OPS" and labels="ALERT{${HASH}}" order by status ASC,resolutiondate DESC`, maxResults: 2, fields: ["status"],
    });
    expect(JSON.parse(sent[1]!.body)).toEqual({
      fields: {
        description: MD_TEXT, issuetype: { name: "Bug" }, labels: [`ALERT{${HASH}}`, "warning"].sort(), priority: { name: "Medium" },
        project: { key: "OPS" }, summary: SUBJECT, customfield_1: "a",
      },
    });
  });

  test("jira: api_type cloud searches with API v3's /search/jql", async () => {
    const { list, sent } = build("    jira_configs: [{api_url: 'http://jira/rest/api/2', api_type: cloud, project: OPS, issue_type: Bug}]\n",
      (url) => (url.endsWith("/jql") ? Response.json({ issues: [] }) : Response.json({ key: "OPS-1" })));
    await list[0]!.notify(ctx, [firing], NOW);
    expect(sent[0]!.url).toBe("http://jira/rest/api/3/search/jql");
  });

  test("jira: an open issue for a resolved group is updated and resolved by transition", async () => {
    const { list, sent } = build(
      "    jira_configs: [{api_url: 'http://jira/rest/api/2', project: OPS, issue_type: Bug, resolve_transition: Done}]\n",
      (url) => (url.endsWith("/search")
        ? Response.json({ issues: [{ key: "OPS-7", fields: { status: { statusCategory: { key: "indeterminate" } } } }] })
        : url.endsWith("/transitions") ? Response.json({ transitions: [{ id: "31", name: "Done" }] }) : new Response(null, { status: 204 })),
    );
    expect(await list[0]!.notify(ctx, [resolved], NOW)).toEqual({ retry: false });
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      "POST http://jira/rest/api/2/search", "PUT http://jira/rest/api/2/issue/OPS-7",
      "GET http://jira/rest/api/2/issue/OPS-7/transitions", "POST http://jira/rest/api/2/issue/OPS-7/transitions",
    ]);
    expect(JSON.parse(sent[3]!.body)).toEqual({ transition: { id: "31" } });
  });

  test("pushover: query parameters on the fixed endpoint, sorted as Go encodes them", async () => {
    const r = recorder();
    const deps = { templates: notificationTemplates([]), externalURL: "http://am", version: "0.27.0", fetch: r.fetch, logger: nopLogger };
    const conf = {
      send_resolved: true, http_config: {}, user_key: "uk", token: "tk", title: `{{ template "pushover.default.title" . }}`,
      message: `{{ template "pushover.default.message" . }}`, url: `{{ template "pushover.default.url" . }}`, priority: `{{ if eq .Status "firing" }}2{{ else }}0{{ end }}`,
      retry: 60_000, expire: 3_600_000, ttl: 7_200_000, html: true, monospace: false, sound: "siren",
    } as unknown as PushoverConfig;
    await new PushoverNotifier(conf, 0, deps).notify(ctx, [firing], NOW);
    const u = new URL(r.sent[0]!.url);
    expect(`${u.origin}${u.pathname}`).toBe(PUSHOVER_API_URL);
    expect([...u.searchParams.keys()]).toEqual(["device", "expire", "html", "message", "priority", "retry", "sound", "title", "token", "ttl", "url", "url_title", "user"]);
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      expire: "3600", html: "1", priority: "2", retry: "60", ttl: "7200", title: SUBJECT, token: "tk", user: "uk", url: "http://am/#/alerts?receiver=team",
      message: "full <b>&\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = a\n - severity = warning\nAnnotations:\n - summary = full <b>&\nSource: http://prom/g",
    });
    expect(r.sent[0]!.headers["content-type"]).toBe("text/plain");
    expect(r.sent[0]!.body).toBe("");
  });

  test("pagerduty v1 (service_key): incident_key, trigger with client fields, resolve without", async () => {
    const r = recorder(() => Response.json({ status: "success" }));
    const deps = { templates: notificationTemplates([]), externalURL: "http://am", version: "0.27.0", fetch: r.fetch, logger: nopLogger };
    const { config } = parseAlertmanagerConfig("route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs: [{service_key: sk}]\n", "pd.yml");
    const pd = new PagerdutyNotifier(config.receivers[0]!.pagerduty_configs[0]! as PagerdutyConfig, 0, deps);
    await pd.notify(ctx, [firing], NOW);
    await pd.notify(ctx, [resolved], NOW);
    expect(r.sent.map((s) => s.url)).toEqual([PAGERDUTY_V1_URL, PAGERDUTY_V1_URL]);
    const trigger = JSON.parse(r.sent[0]!.body);
    expect(trigger).toMatchObject({ service_key: "sk", incident_key: HASH, event_type: "trigger", description: SUBJECT, client: "Alertmanager", client_url: "http://am/#/alerts?receiver=team", event_action: "", payload: null });
    expect(Object.keys(trigger.details).sort()).toEqual(["firing", "num_firing", "num_resolved", "resolved"]);
    const resolve = JSON.parse(r.sent[1]!.body);
    expect(resolve.event_type).toBe("resolve");
    expect("client" in resolve).toBe(false);
  });

  test("slack with app_token: chat.postMessage with a Bearer token; ok:false answers fail", async () => {
    const { list, sent } = build("    slack_configs: [{app_token: xoxb-1, channel: '#c'}]\n", () => Response.json({ ok: false, error: "channel_not_found" }));
    const r = await list[0]!.notify(ctx, [firing], NOW);
    expect(sent[0]!.url).toBe("https://slack.com/api/chat.postMessage");
    expect(sent[0]!.headers.authorization).toBe("Bearer xoxb-1");
    expect(r.error?.message).toContain("channel_not_found");
    expect(r.retry).toBe(false);
  });

  test("telegram in HTML mode escapes values; the message is cut at 4096 runes", async () => {
    const { list, sent } = build(`    telegram_configs: [{bot_token: 'b', chat_id: 5, api_url: 'http://tg', message: '{{ .CommonAnnotations.summary }}{{ range .Alerts }}{{ "é" }}{{ end }}'}]\n`,
      () => Response.json({ ok: true, result: {} }));
    await list[0]!.notify(ctx, [firing], NOW);
    expect(sent[0]!.url).toBe("http://tg/botb/sendMessage");
    expect(JSON.parse(sent[0]!.body)).toEqual({ chat_id: "5", text: "full &lt;b&gt;&amp;é", parse_mode: "HTML", disable_web_page_preview: "true" });
    expect(truncateInRunes("é".repeat(5000), 4096)[0]).toBe(`${"é".repeat(4095)}…`);
  });

  test("truncation helpers as notify.TruncateInRunes / TruncateInBytes", () => {
    expect(truncateInRunes("abcdef", 4)).toEqual(["abc…", true]);
    expect(truncateInRunes("abcdef", 3)).toEqual(["abc", true]);
    expect(truncateInRunes("abc", 3)).toEqual(["abc", false]);
    expect(truncateInBytes("ééééé", 8)).toEqual(["éé…", true]);
    expect(truncateInBytes("abcdefgh", 7)).toEqual(["abcd…", true]);
  });
});

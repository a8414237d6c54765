/**
 * Receiver configs in alertmanager.yml: Alertmanager's defaults per type,
 * its validation messages, the global fallbacks, and secrets shown as
 * `<secret>` in the effective config (/api/v2/status).
 */
import { describe, expect, test } from "bun:test";
import { alertmanagerConfigToYAML, parseAlertmanagerConfig } from "../../src/config/index.ts";

const route = "route: {receiver: r}\n";

function load(receiver: string, global = ""): ReturnType<typeof parseAlertmanagerConfig>["config"] {
  return parseAlertmanagerConfig(`${global ? `global:\n${global}` : ""}${route}receivers:\n  - name: r\n${receiver}`, "am.yml").config;
}

function errorOf(receiver: string, global = ""): string {
  try {
    load(receiver, global);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

describe("receiver defaults", () => {
  test("send_resolved and template defaults per type, as Alertmanager", () => {
    const c = load(`    slack_configs: [{api_url: 'http://s'}]
    email_configs: [{to: a@b, from: c@d, smarthost: 'h:25'}]
    pagerduty_configs: [{routing_key: k}]
    opsgenie_configs: [{api_key: k}]
    wechat_configs: [{api_secret: s, corp_id: c}]
    victorops_configs: [{api_key: k, routing_key: r}]
    pushover_configs: [{user_key: u, token: t}]
    telegram_configs: [{bot_token: t, chat_id: 1}]
    discord_configs: [{webhook_url: 'http://d'}]
    msteams_configs: [{webhook_url: 'http://m'}]
    rocketchat_configs: [{token: t, token_id: i}]
`).receivers[0]!;
    expect(c.slack_configs[0]!.send_resolved).toBe(false);
    expect(c.slack_configs[0]!.title).toBe(`{{ template "slack.default.title" . }}`);
    expect(c.email_configs[0]!.send_resolved).toBe(false);
    expect(c.email_configs[0]!.require_tls).toBe(true);
    expect(c.email_configs[0]!.hello).toBe("localhost");
    expect(c.pagerduty_configs[0]!.send_resolved).toBe(true);
    expect(c.pagerduty_configs[0]!.url).toBe("https://events.pagerduty.com/v2/enqueue");
    expect(c.pagerduty_configs[0]!.source).toBe(c.pagerduty_configs[0]!.client);
    expect(Object.keys(c.pagerduty_configs[0]!.details).sort()).toEqual(["firing", "num_firing", "num_resolved", "resolved"]);
    expect(c.opsgenie_configs[0]!.api_url).toBe("https://api.opsgenie.com/");
    expect(c.wechat_configs[0]!.send_resolved).toBe(false);
    expect(c.wechat_configs[0]!.message_type).toBe("text");
    expect(c.victorops_configs[0]!.api_url).toBe("https://alert.victorops.com/integrations/generic/20131114/alert/");
    expect(c.victorops_configs[0]!.message_type).toBe("CRITICAL");
    expect(c.pushover_configs[0]!).toMatchObject({ send_resolved: true, retry: 60_000, expire: 3_600_000 });
    expect(c.telegram_configs[0]!).toMatchObject({ api_url: "https://api.telegram.org", parse_mode: "HTML", send_resolved: true });
    expect(c.discord_configs[0]!.send_resolved).toBe(true);
    expect(c.msteams_configs[0]!.text).toBe(`{{ template "msteams.default.text" . }}`);
    expect(c.rocketchat_configs[0]!).toMatchObject({ api_url: "https://open.rocket.chat/", send_resolved: false });
  });

  test("global settings fill in what an entry leaves out", () => {
    const c = load(`    slack_configs: [{}]
    email_configs: [{to: ops@x}]
    opsgenie_configs: [{api_url: 'http://og/path'}]
    victorops_configs: [{routing_key: r}]
    wechat_configs: [{}]
`, `  slack_api_url: 'http://slack/hook'
  smtp_smarthost: 'mail:587'
  smtp_from: am@x
  smtp_auth_username: u
  smtp_auth_password: p
  smtp_require_tls: false
  opsgenie_api_key: ogk
  victorops_api_key: vok
  wechat_api_secret: ws
  wechat_api_corp_id: wc
  http_config: {authorization: {credentials: tok}}
`).receivers[0]!;
    expect(c.slack_configs[0]!.api_url).toBe("http://slack/hook");
    expect(c.slack_configs[0]!.http_config.authorization?.credentials).toBe("tok");
    expect(c.email_configs[0]!).toMatchObject({ smarthost: "mail:587", from: "am@x", auth_username: "u", auth_password: "p", require_tls: false });
    expect(c.opsgenie_configs[0]!).toMatchObject({ api_url: "http://og/path/", api_key: "ogk" });
    expect(c.victorops_configs[0]!.api_key).toBe("vok");
    expect(c.wechat_configs[0]!).toMatchObject({ api_secret: "ws", corp_id: "wc", api_url: "https://qyapi.weixin.qq.com/cgi-bin/" });
  });
});

describe("validation messages, as Alertmanager's", () => {
  test.each([
    ["    slack_configs: [{}]\n", "no global Slack API URL set either inline or in a file"],
    ["    slack_configs: [{api_url: 'http://a', api_url_file: f}]\n", "at most one of api_url & api_url_file must be configured"],
    ["    slack_configs: [{api_url: 'http://a', fields: [{title: t}]}]\n", "missing value in Slack field configuration"],
    ["    slack_configs: [{api_url: 'http://a', actions: [{type: button, text: t}]}]\n", "missing name or url in Slack action configuration"],
    ["    email_configs: [{from: a@b, smarthost: 'h:25'}]\n", "missing to address in email config"],
    ["    email_configs: [{to: a@b, from: c@d, smarthost: 'h'}]\n", "address h: missing port in address"],
    ["    email_configs: [{to: a@b, from: c@d, smarthost: 'h:25', headers: {subject: a, Subject: b}}]\n", 'duplicate header "Subject" in email config'],
    ["    pagerduty_configs: [{}]\n", "missing service or routing key in PagerDuty config"],
    ["    opsgenie_configs: [{}]\n", "no global OpsGenie API Key set either inline or in a file"],
    ["    opsgenie_configs: [{api_key: k, responders: [{name: x, type: robot}]}]\n", "type does not match valid options ^(team|teams|user|escalation|schedule)$"],
    ["    victorops_configs: [{api_key: k}]\n", "missing Routing key in VictorOps config"],
    ["    victorops_configs: [{api_key: k, routing_key: r, custom_fields: {entity_id: x}}]\n", "victorOps config contains custom field entity_id which cannot be used"],
    ["    wechat_configs: [{api_secret: s, corp_id: c, message_type: html}]\n", 'weChat message type "html" does not match valid options ^(text|markdown)$'],
    ["    wechat_configs: [{corp_id: c}]\n", "no global Wechat ApiSecret set"],
    ["    pushover_configs: [{token: t}]\n", "one of user_key or user_key_file must be configured"],
    ["    pushover_configs: [{token: t, user_key: u, html: true, monospace: true}]\n", "at most one of monospace & html must be configured"],
    ["    sns_configs: [{sigv4: {region: r}}]\n", "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config"],
    ["    telegram_configs: [{chat_id: 1}]\n", "missing bot_token or bot_token_file on telegram_config"],
    ["    telegram_configs: [{bot_token: t}]\n", "missing chat_id on telegram_config"],
    ["    telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: Text}]\n", "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"],
    ["    webex_configs: [{room_id: r}]\n", "missing webex_configs.http_config.authorization"],
    ["    webex_configs: [{http_config: {authorization: {credentials: x}}}]\n", "missing room_id on webex_config"],
    ["    discord_configs: [{}]\n", "one of webhook_url or webhook_url_file must be configured"],
    ["    msteams_configs: [{webhook_url: 'http://a', webhook_url_file: f}]\n", "at most one of webhook_url & webhook_url_file must be configured"],
    ["    jira_configs: [{api_url: 'http://j', issue_type: Bug}]\n", "missing project in jira_config"],
    ["    jira_configs: [{project: P, issue_type: Bug}]\n", "no global Jira Cloud URL set"],
    ["    rocketchat_configs: [{token: t}]\n", "no global Rocketchat token ID set either inline or in a file"],
    ["    incidentio_configs: [{url: 'http://i', http_config: {}}]\n", "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured"],
    ["    discord_configs: [{webhook_url: 'ftp://x'}]\n", 'unsupported scheme "ftp" for URL'],
  ])("%s", (receiver, message) => {
    expect(errorOf(receiver)).toContain(message);
  });
});

describe("secrets in the effective config", () => {
  test("every secret prints as <secret>; plain URLs stay readable", () => {
    const yaml = alertmanagerConfigToYAML(load(`    slack_configs: [{api_url: 'http://slack/hook-secret', app_token: ignored-not-both}]
`.replace(", app_token: ignored-not-both", "") + `    pagerduty_configs: [{routing_key: rk-secret, url: 'http://pd/enqueue'}]
    opsgenie_configs: [{api_key: og-secret}]
    email_configs: [{to: a@b, from: c@d, smarthost: 'h:25', auth_password: pw-secret, auth_secret: cram-secret}]
    telegram_configs: [{bot_token: bot-secret, chat_id: 1}]
    discord_configs: [{webhook_url: 'http://discord/hook-secret'}]
    pushover_configs: [{user_key: uk-secret, token: tk-secret}]
    victorops_configs: [{api_key: vo-secret, routing_key: r}]
    wechat_configs: [{api_secret: wx-secret, corp_id: c}]
    rocketchat_configs: [{token: rc-secret, token_id: rcid-secret}]
    sns_configs: [{topic_arn: t, sigv4: {region: r, access_key: a, secret_key: sns-secret}}]
    incidentio_configs: [{url: 'http://inc', alert_source_token: inc-secret}]
`));
    expect(yaml).not.toContain("-secret");
    expect(yaml.match(/<secret>/g)!.length).toBe(15);
    expect(yaml).toContain("url: http://pd/enqueue");
    expect(yaml).toContain("send_resolved: true");
  });
});

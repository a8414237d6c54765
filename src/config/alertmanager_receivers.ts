/**
 * The receiver integrations of `alertmanager.yml` other than webhooks:
 * each `*_configs` entry's fields with Alertmanager's defaults (the
 * `{{ template "x.default.y" . }}` texts, `send_resolved` per type) and
 * validation messages, plus how the `global:` section fills in what an
 * entry leaves out (SMTP settings, API URLs and keys, `http_config`).
 * Secrets (`Secret`, `SecretURL` in Alertmanager) print as `<secret>`.
 */
import { atMostOne, HTTPClientConfigType, TLSConfigType } from "./http_schema.ts";
import type { Field, Kind, ObjectType, Validation } from "./schema.ts";

const str: Kind = { t: "string" };
const secret: Kind = { t: "string", secret: true };
const file: Kind = { t: "string", file: true };
const bool: Kind = { t: "bool" };
const int: Kind = { t: "int" };
const uint: Kind = { t: "int", unsigned: true };
const duration: Kind = { t: "duration" };
const strList: Kind = { t: "list", of: str };
const strMap: Kind = { t: "map", of: str };
const raw: Kind = { t: "any" };
const obj = (type: ObjectType): Kind => ({ t: "object", type });
const list = (type: ObjectType): Kind => ({ t: "list", of: obj(type) });

function checkHTTPURL(s: string): string | undefined {
  if (!URL.canParse(s)) return `unsupported URL ${JSON.stringify(s)}: invalid URL`;
  const scheme = new URL(s).protocol.replace(/:$/, "");
  if (scheme !== "http" && scheme !== "https") return `unsupported scheme ${JSON.stringify(scheme)} for URL`;
  return undefined;
}

/** Alertmanager's `config.URL`: an http(s) URL, printed in full. */
const url: Kind = { t: "string", check: checkHTTPURL };
/** Alertmanager's `config.SecretURL`: an http(s) URL printed as `<secret>`. */
const secretURL: Kind = { t: "string", secret: true, check: checkHTTPURL };

const tmpl = (name: string): Field => ({ kind: str, default: `{{ template "${name}" . }}` });
const sendResolved = (on: boolean): Field => ({ kind: bool, default: on });
const httpConfig: Field = { kind: obj(HTTPClientConfigType) };

function requireOne(o: Record<string, any>, v: Validation, a: string, b: string, missing?: string): void {
  const has = (f: string) => o[f] !== undefined && o[f] !== "";
  if (!has(a) && !has(b)) v.fail(missing ?? `one of ${a} or ${b} must be configured`);
  if (has(a) && has(b)) v.fail(`at most one of ${a} & ${b} must be configured`, b);
}

/** Go's textproto.CanonicalMIMEHeaderKey for header names made of token characters. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

// --- email ---------------------------------------------------------------

/** Alertmanager's HostPort: `host:port`, the port required. */
function checkHostPort(s: string): string | undefined {
  if (s === "") return undefined;
  const m = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(s);
  if (!m) return s.includes(":") ? `address ${s}: too many colons in address` : `address ${s}: missing port in address`;
  if (m[2] === "") return "port cannot be empty";
  return undefined;
}

const EmailConfigType: ObjectType = {
  name: "config.EmailConfig",
  fields: {
    send_resolved: sendResolved(false),
    to: { kind: str },
    from: { kind: str },
    hello: { kind: str },
    smarthost: { kind: { t: "string", check: checkHostPort } },
    auth_username: { kind: str },
    auth_password: { kind: secret },
    auth_password_file: { kind: file },
    auth_secret: { kind: secret },
    auth_identity: { kind: str },
    headers: { kind: strMap },
    html: tmpl("email.default.html"),
    text: { kind: str },
    require_tls: { kind: bool },
    force_implicit_tls: { kind: bool },
    tls_config: { kind: obj(TLSConfigType) },
  },
  validate(o, v) {
    if (!o.to) v.fail("missing to address in email config");
    const normalized: Record<string, string> = {};
    for (const [h, value] of Object.entries((o.headers ?? {}) as Record<string, string>)) {
      const key = canonicalHeaderKey(h);
      if (key in normalized) v.fail(`duplicate header ${JSON.stringify(key)} in email config`, "headers");
      normalized[key] = value;
    }
    if (o.headers) o.headers = normalized;
  },
};

// --- pagerduty -----------------------------------------------------------

const PagerdutyImageType: ObjectType = {
  name: "config.PagerdutyImage",
  fields: { src: { kind: str }, alt: { kind: str }, href: { kind: str } },
};
const PagerdutyLinkType: ObjectType = {
  name: "config.PagerdutyLink",
  fields: { href: { kind: str }, text: { kind: str } },
};

/** Details every PagerDuty config gets unless it sets the key itself. */
export const DEFAULT_PAGERDUTY_DETAILS: Readonly<Record<string, string>> = {
  firing: `{{ template "pagerduty.default.instances" .Alerts.Firing }}`,
  resolved: `{{ template "pagerduty.default.instances" .Alerts.Resolved }}`,
  num_firing: `{{ .Alerts.Firing | len }}`,
  num_resolved: `{{ .Alerts.Resolved | len }}`,
};

const PagerdutyConfigType: ObjectType = {
  name: "config.PagerdutyConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    service_key: { kind: secret },
    service_key_file: { kind: file },
    routing_key: { kind: secret },
    routing_key_file: { kind: file },
    url: { kind: url },
    client: tmpl("pagerduty.default.client"),
    client_url: tmpl("pagerduty.default.clientURL"),
    description: { kind: str, default: `{{ template "pagerduty.default.description" .}}` },
    details: { kind: strMap },
    images: { kind: list(PagerdutyImageType) },
    links: { kind: list(PagerdutyLinkType) },
    source: { kind: str },
    severity: { kind: str },
    class: { kind: str },
    component: { kind: str },
    group: { kind: str },
  },
  validate(o, v) {
    if (!o.routing_key && !o.service_key && !o.routing_key_file && !o.service_key_file) {
      v.fail("missing service or routing key in PagerDuty config");
    }
    atMostOne(o, v, ["routing_key", "routing_key_file"], "at most one of routing_key & routing_key_file must be configured");
    atMostOne(o, v, ["service_key", "service_key_file"], "at most one of service_key & service_key_file must be configured");
    o.details ??= {};
    if (!o.source) o.source = o.client;
    for (const [k, t] of Object.entries(DEFAULT_PAGERDUTY_DETAILS)) if (!(k in o.details)) o.details[k] = t;
  },
};

// --- slack ---------------------------------------------------------------

const SlackConfirmType: ObjectType = {
  name: "config.SlackConfirmationField",
  fields: { text: { kind: str }, title: { kind: str }, ok_text: { kind: str }, dismiss_text: { kind: str } },
  validate(o, v) {
    if (!o.text) v.fail("missing text in Slack confirmation configuration");
  },
};

const SlackActionType: ObjectType = {
  name: "config.SlackAction",
  fields: {
    type: { kind: str },
    text: { kind: str },
    url: { kind: str },
    style: { kind: str },
    name: { kind: str },
    value: { kind: str },
    confirm: { kind: obj(SlackConfirmType) },
  },
  validate(o, v) {
    if (!o.type) v.fail("missing type in Slack action configuration");
    if (!o.text) v.fail("missing text in Slack action configuration");
    if (o.url) {
      delete o.name;
      delete o.value;
      delete o.confirm;
    } else if (o.name) {
      delete o.url;
    } else {
      v.fail("missing name or url in Slack action configuration");
    }
  },
};

const SlackFieldType: ObjectType = {
  name: "config.SlackField",
  fields: { title: { kind: str }, value: { kind: str }, short: { kind: bool } },
  validate(o, v) {
    if (!o.title) v.fail("missing title in Slack field configuration");
    if (!o.value) v.fail("missing value in Slack field configuration");
  },
};

const SlackConfigType: ObjectType = {
  name: "config.SlackConfig",
  fields: {
    send_resolved: sendResolved(false),
    http_config: httpConfig,
    api_url: { kind: secretURL },
    api_url_file: { kind: file },
    app_token: { kind: secret },
    app_token_file: { kind: file },
    app_url: { kind: url },
    channel: { kind: str },
    username: tmpl("slack.default.username"),
    color: { kind: str, default: `{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}` },
    title: tmpl("slack.default.title"),
    title_link: tmpl("slack.default.titlelink"),
    pretext: tmpl("slack.default.pretext"),
    text: tmpl("slack.default.text"),
    fields: { kind: list(SlackFieldType) },
    short_fields: { kind: bool, default: false },
    footer: tmpl("slack.default.footer"),
    fallback: tmpl("slack.default.fallback"),
    callback_id: tmpl("slack.default.callbackid"),
    icon_emoji: tmpl("slack.default.iconemoji"),
    icon_url: tmpl("slack.default.iconurl"),
    image_url: { kind: str },
    thumb_url: { kind: str },
    link_names: { kind: bool, default: false },
    mrkdwn_in: { kind: strList },
    actions: { kind: list(SlackActionType) },
  },
  validate(o, v) {
    atMostOne(o, v, ["api_url", "api_url_file"], "at most one of api_url & api_url_file must be configured");
    atMostOne(o, v, ["app_token", "app_token_file"], "at most one of app_token & app_token_file must be configured");
    const hasURL = Boolean(o.api_url || o.api_url_file);
    const hasToken = Boolean(o.app_token || o.app_token_file);
    if (hasURL && hasToken) v.fail("at most one of api_url/api_url_file & app_token/app_token_file must be configured");
  },
};

// --- opsgenie, victorops, wechat, pushover, sns --------------------------

const OpsGenieResponderType: ObjectType = {
  name: "config.OpsGenieConfigResponder",
  fields: { id: { kind: str }, name: { kind: str }, username: { kind: str }, type: { kind: str } },
};

const OPSGENIE_TYPES = "^(team|teams|user|escalation|schedule)$";

const OpsGenieConfigType: ObjectType = {
  name: "config.OpsGenieConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_key: { kind: secret },
    api_key_file: { kind: file },
    api_url: { kind: url },
    message: tmpl("opsgenie.default.message"),
    description: tmpl("opsgenie.default.description"),
    source: tmpl("opsgenie.default.source"),
    details: { kind: strMap },
    entity: { kind: str },
    responders: { kind: list(OpsGenieResponderType) },
    actions: { kind: str },
    tags: { kind: str },
    note: { kind: str },
    priority: { kind: str },
    update_alerts: { kind: bool, default: false },
  },
  validate(o, v) {
    atMostOne(o, v, ["api_key", "api_key_file"], "at most one of api_key & api_key_file must be configured");
    for (const r of (o.responders ?? []) as Record<string, string>[]) {
      const shown = `{${r.id ?? ""} ${r.name ?? ""} ${r.username ?? ""} ${r.type ?? ""}}`;
      if (!r.id && !r.username && !r.name) {
        v.fail(`opsGenieConfig responder ${shown} has to have at least one of id, username or name specified`, "responders");
      }
      const type = r.type ?? "";
      if (type.includes("{{")) {
        // The config room does not run templates; an action left open is the error worth catching here.
        const problem = unclosedAction(type);
        if (problem) v.fail(`opsGenieConfig responder ${shown} type is not a valid template: ${problem}`, "responders");
      } else {
        r.type = type.toLowerCase();
        if (!new RegExp(OPSGENIE_TYPES).test(r.type)) {
          v.fail(`opsGenieConfig responder ${shown} type does not match valid options ${OPSGENIE_TYPES}`, "responders");
        }
      }
    }
  },
};

/** Go's parse error for a `{{` without its `}}`, or undefined. */
function unclosedAction(text: string): string | undefined {
  let at = 0;
  for (;;) {
    const open = text.indexOf("{{", at);
    if (open < 0) return undefined;
    const close = text.indexOf("}}", open + 2);
    if (close < 0) return "template: :1: unclosed action";
    at = close + 2;
  }
}

const VICTOROPS_RESERVED = ["routing_key", "message_type", "state_message", "entity_display_name", "monitoring_tool", "entity_id", "entity_state"];

const VictorOpsConfigType: ObjectType = {
  name: "config.VictorOpsConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_key: { kind: secret },
    api_key_file: { kind: file },
    api_url: { kind: url },
    routing_key: { kind: str },
    message_type: { kind: str, default: "CRITICAL" },
    state_message: tmpl("victorops.default.state_message"),
    entity_display_name: tmpl("victorops.default.entity_display_name"),
    monitoring_tool: tmpl("victorops.default.monitoring_tool"),
    custom_fields: { kind: strMap },
  },
  validate(o, v) {
    if (!o.routing_key) v.fail("missing Routing key in VictorOps config");
    atMostOne(o, v, ["api_key", "api_key_file"], "at most one of api_key & api_key_file must be configured");
    for (const f of VICTOROPS_RESERVED) {
      if (o.custom_fields && f in o.custom_fields) {
        v.fail(`victorOps config contains custom field ${f} which cannot be used as it conflicts with the fixed/static fields`, "custom_fields");
      }
    }
  },
};

const WECHAT_TYPES = "^(text|markdown)$";

const WechatConfigType: ObjectType = {
  name: "config.WechatConfig",
  fields: {
    send_resolved: sendResolved(false),
    http_config: httpConfig,
    api_secret: { kind: secret },
    api_secret_file: { kind: file },
    corp_id: { kind: str },
    message: tmpl("wechat.default.message"),
    api_url: { kind: url },
    to_user: tmpl("wechat.default.to_user"),
    to_party: tmpl("wechat.default.to_party"),
    to_tag: tmpl("wechat.default.to_tag"),
    agent_id: tmpl("wechat.default.agent_id"),
    message_type: { kind: str },
  },
  validate(o, v) {
    atMostOne(o, v, ["api_secret", "api_secret_file"], "at most one of api_secret & api_secret_file must be configured");
    if (!o.message_type) o.message_type = "text";
    if (!new RegExp(WECHAT_TYPES).test(o.message_type)) {
      v.fail(`weChat message type ${JSON.stringify(o.message_type)} does not match valid options ${WECHAT_TYPES}`, "message_type");
    }
  },
};

const PushoverConfigType: ObjectType = {
  name: "config.PushoverConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    user_key: { kind: secret },
    user_key_file: { kind: file },
    token: { kind: secret },
    token_file: { kind: file },
    title: tmpl("pushover.default.title"),
    message: tmpl("pushover.default.message"),
    url: tmpl("pushover.default.url"),
    url_title: { kind: str },
    device: { kind: str },
    sound: { kind: str },
    priority: { kind: str, default: `{{ if eq .Status "firing" }}2{{ else }}0{{ end }}` },
    retry: { kind: duration, default: 60_000 },
    expire: { kind: duration, default: 3_600_000 },
    ttl: { kind: duration },
    html: { kind: bool, default: false },
    monospace: { kind: bool, default: false },
  },
  validate(o, v) {
    requireOne(o, v, "user_key", "user_key_file");
    requireOne(o, v, "token", "token_file");
    if (o.html && o.monospace) v.fail("at most one of monospace & html must be configured");
  },
};

const SigV4Type: ObjectType = {
  name: "sigv4.SigV4Config",
  fields: {
    region: { kind: str },
    access_key: { kind: str },
    secret_key: { kind: secret },
    profile: { kind: str },
    role_arn: { kind: str },
  },
  validate(o, v) {
    if ((o.access_key ? 1 : 0) !== (o.secret_key ? 1 : 0)) v.fail("must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config");
  },
};

const SNSConfigType: ObjectType = {
  name: "config.SNSConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_url: { kind: str },
    sigv4: { kind: obj(SigV4Type), defaultEmpty: true },
    topic_arn: { kind: str },
    phone_number: { kind: str },
    target_arn: { kind: str },
    subject: tmpl("sns.default.subject"),
    message: tmpl("sns.default.message"),
    attributes: { kind: strMap },
  },
  validate(o, v) {
    const set = [o.target_arn, o.topic_arn, o.phone_number].filter((x) => x).length;
    // Alertmanager's check is (a == "") != (b == "") != (c == ""): true when one or all three are empty.
    if ((3 - set) % 2 === 1) v.fail("must provide either a Target ARN, Topic ARN, or Phone Number for SNS config");
  },
};

// --- chat services -------------------------------------------------------

const TelegramConfigType: ObjectType = {
  name: "config.TelegramConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_url: { kind: url },
    bot_token: { kind: secret },
    bot_token_file: { kind: file },
    chat_id: { kind: int },
    message_thread_id: { kind: int },
    message: tmpl("telegram.default.message"),
    disable_notifications: { kind: bool, default: false },
    parse_mode: { kind: str, default: "HTML" },
  },
  validate(o, v) {
    requireOne(o, v, "bot_token", "bot_token_file", "missing bot_token or bot_token_file on telegram_config");
    if (!o.chat_id) v.fail("missing chat_id on telegram_config");
    if (o.parse_mode && !["Markdown", "MarkdownV2", "HTML"].includes(o.parse_mode)) {
      v.fail("unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string", "parse_mode");
    }
  },
};

const WebexConfigType: ObjectType = {
  name: "config.WebexConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_url: { kind: url },
    message: tmpl("webex.default.message"),
    room_id: { kind: str },
  },
  validate(o, v) {
    if (!o.room_id) v.fail("missing room_id on webex_config");
    if (!o.http_config?.authorization) v.fail("missing webex_configs.http_config.authorization");
  },
};

const webhookURLPair = (o: Record<string, any>, v: Validation) => requireOne(o, v, "webhook_url", "webhook_url_file");

const DiscordConfigType: ObjectType = {
  name: "config.DiscordConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    webhook_url: { kind: secretURL },
    webhook_url_file: { kind: file },
    content: { kind: str },
    title: tmpl("discord.default.title"),
    message: tmpl("discord.default.message"),
    username: { kind: str },
    avatar_url: { kind: str },
  },
  validate: webhookURLPair,
};

const MSTeamsConfigType: ObjectType = {
  name: "config.MSTeamsConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    webhook_url: { kind: secretURL },
    webhook_url_file: { kind: file },
    title: tmpl("msteams.default.title"),
    summary: tmpl("msteams.default.summary"),
    text: tmpl("msteams.default.text"),
  },
  validate: webhookURLPair,
};

const MSTeamsV2ConfigType: ObjectType = {
  name: "config.MSTeamsV2Config",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    webhook_url: { kind: secretURL },
    webhook_url_file: { kind: file },
    title: tmpl("msteamsv2.default.title"),
    text: tmpl("msteamsv2.default.text"),
  },
  validate: webhookURLPair,
};

const JiraConfigType: ObjectType = {
  name: "config.JiraConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    api_url: { kind: url },
    api_type: { kind: { t: "enum", values: ["auto", "cloud", "datacenter"], error: (g) => `invalid api_type ${JSON.stringify(g)}: must be auto, cloud or datacenter` }, default: "auto" },
    project: { kind: str },
    summary: tmpl("jira.default.summary"),
    description: tmpl("jira.default.description"),
    labels: { kind: strList },
    priority: tmpl("jira.default.priority"),
    issue_type: { kind: str },
    reopen_transition: { kind: str },
    resolve_transition: { kind: str },
    wont_fix_resolution: { kind: str },
    reopen_duration: { kind: duration },
    fields: { kind: { t: "map", of: raw } },
  },
  validate(o, v) {
    if (!o.project) v.fail("missing project in jira_config");
    if (!o.issue_type) v.fail("missing issue_type in jira_config");
  },
};

const RocketchatFieldType: ObjectType = {
  name: "config.RocketchatAttachmentField",
  fields: { short: { kind: bool }, title: { kind: str }, value: { kind: str } },
};

const RocketchatActionType: ObjectType = {
  name: "config.RocketchatAttachmentAction",
  fields: {
    type: { kind: str },
    text: { kind: str },
    url: { kind: str },
    image_url: { kind: str },
    is_webview: { kind: bool, default: false },
    webview_height_ratio: { kind: str },
    msg: { kind: str },
    msg_in_chat_window: { kind: bool, default: false },
    msg_processing_type: { kind: str },
  },
};

const RocketchatConfigType: ObjectType = {
  name: "config.RocketchatConfig",
  fields: {
    send_resolved: sendResolved(false),
    http_config: httpConfig,
    api_url: { kind: url },
    token_id: { kind: secret },
    token_id_file: { kind: file },
    token: { kind: secret },
    token_file: { kind: file },
    channel: { kind: str },
    color: { kind: str, default: `{{ if eq .Status "firing" }}red{{ else }}green{{ end }}` },
    title: tmpl("rocketchat.default.title"),
    title_link: tmpl("rocketchat.default.titlelink"),
    text: tmpl("rocketchat.default.text"),
    fields: { kind: list(RocketchatFieldType) },
    short_fields: { kind: bool, default: false },
    emoji: tmpl("rocketchat.default.emoji"),
    icon_url: tmpl("rocketchat.default.iconurl"),
    image_url: { kind: str },
    thumb_url: { kind: str },
    link_names: { kind: bool, default: false },
    actions: { kind: list(RocketchatActionType) },
  },
  validate(o, v) {
    atMostOne(o, v, ["token", "token_file"], "at most one of token & token_file must be configured");
    atMostOne(o, v, ["token_id", "token_id_file"], "at most one of token_id & token_id_file must be configured");
  },
};

const IncidentioConfigType: ObjectType = {
  name: "config.IncidentioConfig",
  fields: {
    send_resolved: sendResolved(true),
    http_config: httpConfig,
    url: { kind: url },
    url_file: { kind: file },
    alert_source_token: { kind: secret },
    alert_source_token_file: { kind: file },
    max_alerts: { kind: uint, default: 0 },
    timeout: { kind: duration, default: 0 },
  },
  validate(o, v) {
    requireOne(o, v, "url", "url_file");
    atMostOne(o, v, ["alert_source_token", "alert_source_token_file"], "at most one of alert_source_token & alert_source_token_file must be configured");
    const hasToken = Boolean(o.alert_source_token || o.alert_source_token_file);
    if (o.http_config?.authorization && hasToken) {
      v.fail("cannot specify alert_source_token or alert_source_token_file when using http_config.authorization");
    }
    if (o.http_config && !o.http_config.authorization && !hasToken) {
      v.fail("at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured");
    }
  },
};

/** Every `*_configs` list of a receiver other than webhooks, in Alertmanager's field order. */
export const RECEIVER_INTEGRATION_TYPES = {
  discord_configs: DiscordConfigType,
  email_configs: EmailConfigType,
  incidentio_configs: IncidentioConfigType,
  pagerduty_configs: PagerdutyConfigType,
  slack_configs: SlackConfigType,
  opsgenie_configs: OpsGenieConfigType,
  wechat_configs: WechatConfigType,
  pushover_configs: PushoverConfigType,
  victorops_configs: VictorOpsConfigType,
  sns_configs: SNSConfigType,
  telegram_configs: TelegramConfigType,
  webex_configs: WebexConfigType,
  msteams_configs: MSTeamsConfigType,
  msteamsv2_configs: MSTeamsV2ConfigType,
  jira_configs: JiraConfigType,
  rocketchat_configs: RocketchatConfigType,
} as const;

/** The receiver fields for the integrations above, each a list defaulting to empty. */
export const receiverIntegrationFields: Record<string, Field> = Object.fromEntries(
  Object.entries(RECEIVER_INTEGRATION_TYPES).map(([k, t]) => [k, { kind: list(t), default: [] } satisfies Field]),
);

/** `global:` fields for the integrations beyond Alertmanager 0.25's (newer releases' defaults). */
export const globalReceiverFields: Record<string, Field> = {
  slack_app_token: { kind: secret },
  slack_app_token_file: { kind: file },
  // Newer releases print these two defaults in the global section; promts applies them
  // per receiver instead, so the effective config matches 0.25's output.
  slack_app_url: { kind: url },
  wechat_api_secret_file: { kind: file },
  jira_api_url: { kind: url },
  rocketchat_api_url: { kind: url },
  rocketchat_token: { kind: secret },
  rocketchat_token_file: { kind: file },
  rocketchat_token_id: { kind: secret },
  rocketchat_token_id_file: { kind: file },
};

const DEFAULT_SLACK_APP_URL = "https://slack.com/api/chat.postMessage";
const DEFAULT_ROCKETCHAT_API_URL = "https://open.rocket.chat/";

const withSlash = (u: string) => {
  if (!URL.canParse(u)) return u;
  const parsed = new URL(u);
  if (!parsed.pathname.endsWith("/")) parsed.pathname += "/";
  return parsed.toString();
};

/**
 * What Alertmanager's config.Load does after decoding: every integration
 * without an `http_config` takes the global one, and the global defaults
 * fill in SMTP settings, API URLs and keys, failing with Alertmanager's
 * message when neither side has a required value.
 */
export function applyGlobalReceiverDefaults(receiver: Record<string, any>, global: Record<string, any>, v: Validation): void {
  for (const key of ["webhook_configs", ...Object.keys(RECEIVER_INTEGRATION_TYPES)]) {
    if (key === "email_configs") continue;
    for (const c of (receiver[key] ?? []) as Record<string, any>[]) c.http_config ??= structuredClone(global.http_config);
  }
  const at = (c: Record<string, any>, field: string, msg: string): never => v.failAt(c, field, msg);
  for (const ec of receiver.email_configs ?? []) {
    ec.tls_config ??= global.smtp_tls_config ? structuredClone(global.smtp_tls_config) : {};
    if (!ec.smarthost) {
      if (!global.smtp_smarthost) at(ec, "smarthost", "no global SMTP smarthost set");
      ec.smarthost = global.smtp_smarthost;
    }
    if (!ec.from) {
      if (!global.smtp_from) at(ec, "from", "no global SMTP from set");
      ec.from = global.smtp_from;
    }
    if (!ec.hello) ec.hello = global.smtp_hello;
    if (!ec.auth_username && global.smtp_auth_username) ec.auth_username = global.smtp_auth_username;
    if (!ec.auth_password && !ec.auth_password_file) {
      if (global.smtp_auth_password) ec.auth_password = global.smtp_auth_password;
      if (global.smtp_auth_password_file) ec.auth_password_file = global.smtp_auth_password_file;
    }
    if (!ec.auth_secret && global.smtp_auth_secret) ec.auth_secret = global.smtp_auth_secret;
    if (!ec.auth_identity && global.smtp_auth_identity) ec.auth_identity = global.smtp_auth_identity;
    ec.require_tls ??= global.smtp_require_tls;
    ec.force_implicit_tls ??= global.smtp_force_implicit_tls;
  }
  for (const sc of receiver.slack_configs ?? []) {
    if (!sc.api_url && !sc.api_url_file && !sc.app_token && !sc.app_token_file) {
      if (global.slack_api_url || global.slack_api_url_file) {
        if (global.slack_api_url) sc.api_url = global.slack_api_url;
        if (global.slack_api_url_file) sc.api_url_file = global.slack_api_url_file;
      } else if (global.slack_app_token || global.slack_app_token_file) {
        if (global.slack_app_token) sc.app_token = global.slack_app_token;
        if (global.slack_app_token_file) sc.app_token_file = global.slack_app_token_file;
      } else {
        at(sc, "api_url", "no global Slack API URL set either inline or in a file");
      }
    }
    if ((sc.app_token || sc.app_token_file) && !sc.app_url) sc.app_url = global.slack_app_url ?? DEFAULT_SLACK_APP_URL;
  }
  for (const pd of receiver.pagerduty_configs ?? []) {
    if (!pd.url) {
      if (!global.pagerduty_url) at(pd, "url", "no global PagerDuty URL set");
      pd.url = global.pagerduty_url;
    }
  }
  for (const og of receiver.opsgenie_configs ?? []) {
    if (!og.api_url) {
      if (!global.opsgenie_api_url) at(og, "api_url", "no global OpsGenie URL set");
      og.api_url = global.opsgenie_api_url;
    }
    og.api_url = withSlash(og.api_url);
    if (!og.api_key && !og.api_key_file) {
      if (!global.opsgenie_api_key && !global.opsgenie_api_key_file) at(og, "api_key", "no global OpsGenie API Key set either inline or in a file");
      if (global.opsgenie_api_key) og.api_key = global.opsgenie_api_key;
      if (global.opsgenie_api_key_file) og.api_key_file = global.opsgenie_api_key_file;
    }
  }
  for (const wc of receiver.wechat_configs ?? []) {
    if (!wc.api_url) {
      if (!global.wechat_api_url) at(wc, "api_url", "no global Wechat URL set");
      wc.api_url = global.wechat_api_url;
    }
    if (!wc.api_secret && !wc.api_secret_file) {
      if (!global.wechat_api_secret && !global.wechat_api_secret_file) at(wc, "api_secret", "no global Wechat ApiSecret set");
      if (global.wechat_api_secret) wc.api_secret = global.wechat_api_secret;
      if (global.wechat_api_secret_file) wc.api_secret_file = global.wechat_api_secret_file;
    }
    if (!wc.corp_id) {
      if (!global.wechat_api_corp_id) at(wc, "corp_id", "no global Wechat CorpID set");
      wc.corp_id = global.wechat_api_corp_id;
    }
    wc.api_url = withSlash(wc.api_url);
  }
  for (const vc of receiver.victorops_configs ?? []) {
    if (!vc.api_url) {
      if (!global.victorops_api_url) at(vc, "api_url", "no global VictorOps URL set");
      vc.api_url = global.victorops_api_url;
    }
    vc.api_url = withSlash(vc.api_url);
    if (!vc.api_key && !vc.api_key_file) {
      if (!global.victorops_api_key && !global.victorops_api_key_file) at(vc, "api_key", "no global VictorOps API Key set");
      if (global.victorops_api_key) vc.api_key = global.victorops_api_key;
      if (global.victorops_api_key_file) vc.api_key_file = global.victorops_api_key_file;
    }
  }
  for (const tc of receiver.telegram_configs ?? []) tc.api_url ??= global.telegram_api_url;
  for (const wx of receiver.webex_configs ?? []) {
    if (!wx.api_url) {
      if (!global.webex_api_url) at(wx, "api_url", "no global Webex URL set");
      wx.api_url = global.webex_api_url;
    }
  }
  for (const jc of receiver.jira_configs ?? []) {
    if (!jc.api_url) {
      if (!global.jira_api_url) at(jc, "api_url", "no global Jira Cloud URL set");
      jc.api_url = global.jira_api_url;
    }
  }
  for (const rc of receiver.rocketchat_configs ?? []) {
    rc.api_url ??= global.rocketchat_api_url ?? DEFAULT_ROCKETCHAT_API_URL;
    if (!rc.token && !rc.token_file) {
      if (!global.rocketchat_token && !global.rocketchat_token_file) at(rc, "token", "no global Rocketchat token set either inline or in a file");
      if (global.rocketchat_token) rc.token = global.rocketchat_token;
      if (global.rocketchat_token_file) rc.token_file = global.rocketchat_token_file;
    }
    if (!rc.token_id && !rc.token_id_file) {
      if (!global.rocketchat_token_id && !global.rocketchat_token_id_file) at(rc, "token_id", "no global Rocketchat token ID set either inline or in a file");
      if (global.rocketchat_token_id) rc.token_id = global.rocketchat_token_id;
      if (global.rocketchat_token_id_file) rc.token_id_file = global.rocketchat_token_id_file;
    }
  }
}

// --- decoded shapes ------------------------------------------------------

type HTTPConfig = import("./alertmanager_types.ts").AlertmanagerHTTPConfig;
type TLSConfig = Partial<import("./types.ts").TLSConfig>;

/** Fields every integration config has. */
interface NotifierBase {
  send_resolved: boolean;
  /** The global http_config when the entry has none (not for e-mail). */
  http_config: HTTPConfig;
}

/** `email_configs[]` after global defaults. */
export interface EmailConfig {
  send_resolved: boolean;
  to: string;
  from: string;
  hello: string;
  smarthost: string;
  auth_username?: string;
  auth_password?: string;
  auth_password_file?: string;
  auth_secret?: string;
  auth_identity?: string;
  headers?: Record<string, string>;
  html: string;
  text?: string;
  require_tls: boolean;
  force_implicit_tls?: boolean;
  tls_config: TLSConfig;
}

/** `pagerduty_configs[]`. */
export interface PagerdutyConfig extends NotifierBase {
  service_key?: string;
  service_key_file?: string;
  routing_key?: string;
  routing_key_file?: string;
  url: string;
  client: string;
  client_url: string;
  description: string;
  details: Record<string, string>;
  images?: { src?: string; alt?: string; href?: string }[];
  links?: { href?: string; text?: string }[];
  source: string;
  severity?: string;
  class?: string;
  component?: string;
  group?: string;
}

/** `slack_configs[]`. */
export interface SlackConfig extends NotifierBase {
  api_url?: string;
  api_url_file?: string;
  app_token?: string;
  app_token_file?: string;
  app_url?: string;
  channel?: string;
  username: string;
  color: string;
  title: string;
  title_link: string;
  pretext: string;
  text: string;
  fields?: { title: string; value: string; short?: boolean }[];
  short_fields: boolean;
  footer: string;
  fallback: string;
  callback_id: string;
  icon_emoji: string;
  icon_url: string;
  image_url?: string;
  thumb_url?: string;
  link_names: boolean;
  mrkdwn_in?: string[];
  actions?: {
    type: string; text: string; url?: string; style?: string; name?: string; value?: string;
    confirm?: { text: string; title?: string; ok_text?: string; dismiss_text?: string };
  }[];
}

/** `opsgenie_configs[]`. */
export interface OpsGenieConfig extends NotifierBase {
  api_key?: string;
  api_key_file?: string;
  api_url: string;
  message: string;
  description: string;
  source: string;
  details?: Record<string, string>;
  entity?: string;
  responders?: { id?: string; name?: string; username?: string; type?: string }[];
  actions?: string;
  tags?: string;
  note?: string;
  priority?: string;
  update_alerts: boolean;
}

/** `victorops_configs[]`. */
export interface VictorOpsConfig extends NotifierBase {
  api_key?: string;
  api_key_file?: string;
  api_url: string;
  routing_key: string;
  message_type: string;
  state_message: string;
  entity_display_name: string;
  monitoring_tool: string;
  custom_fields?: Record<string, string>;
}

/** `wechat_configs[]`. */
export interface WechatConfig extends NotifierBase {
  api_secret?: string;
  api_secret_file?: string;
  corp_id: string;
  message: string;
  api_url: string;
  to_user: string;
  to_party: string;
  to_tag: string;
  agent_id: string;
  message_type: string;
}

/** `pushover_configs[]`. Durations in milliseconds. */
export interface PushoverConfig extends NotifierBase {
  user_key?: string;
  user_key_file?: string;
  token?: string;
  token_file?: string;
  title: string;
  message: string;
  url: string;
  url_title?: string;
  device?: string;
  sound?: string;
  priority: string;
  retry: number;
  expire: number;
  ttl?: number;
  html: boolean;
  monospace: boolean;
}

/** `sns_configs[]`. */
export interface SNSConfig extends NotifierBase {
  api_url?: string;
  sigv4: { region?: string; access_key?: string; secret_key?: string; profile?: string; role_arn?: string };
  topic_arn?: string;
  phone_number?: string;
  target_arn?: string;
  subject: string;
  message: string;
  attributes?: Record<string, string>;
}

/** `telegram_configs[]`. */
export interface TelegramConfig extends NotifierBase {
  api_url: string;
  bot_token?: string;
  bot_token_file?: string;
  chat_id: number;
  message_thread_id?: number;
  message: string;
  disable_notifications: boolean;
  parse_mode: string;
}

/** `webex_configs[]`. */
export interface WebexConfig extends NotifierBase {
  api_url: string;
  message: string;
  room_id: string;
}

/** `discord_configs[]`. */
export interface DiscordConfig extends NotifierBase {
  webhook_url?: string;
  webhook_url_file?: string;
  content?: string;
  title: string;
  message: string;
  username?: string;
  avatar_url?: string;
}

/** `msteams_configs[]`. */
export interface MSTeamsConfig extends NotifierBase {
  webhook_url?: string;
  webhook_url_file?: string;
  title: string;
  summary: string;
  text: string;
}

/** `msteamsv2_configs[]`. */
export interface MSTeamsV2Config extends NotifierBase {
  webhook_url?: string;
  webhook_url_file?: string;
  title: string;
  text: string;
}

/** `jira_configs[]`. reopen_duration in milliseconds. */
export interface JiraConfig extends NotifierBase {
  api_url: string;
  /** Which search endpoint: `cloud` (v3 /search/jql), `datacenter` (v2 /search), `auto` (cloud on atlassian.net hosts). */
  api_type: "auto" | "cloud" | "datacenter";
  project: string;
  summary: string;
  description: string;
  labels?: string[];
  priority: string;
  issue_type: string;
  reopen_transition?: string;
  resolve_transition?: string;
  wont_fix_resolution?: string;
  reopen_duration?: number;
  fields?: Record<string, unknown>;
}

/** `rocketchat_configs[]`. */
export interface RocketchatConfig extends NotifierBase {
  api_url: string;
  token_id?: string;
  token_id_file?: string;
  token?: string;
  token_file?: string;
  channel?: string;
  color: string;
  title: string;
  title_link: string;
  text: string;
  fields?: { short?: boolean; title?: string; value?: string }[];
  short_fields: boolean;
  emoji: string;
  icon_url: string;
  image_url?: string;
  thumb_url?: string;
  link_names: boolean;
  actions?: {
    type?: string; text?: string; url?: string; image_url?: string; is_webview: boolean; webview_height_ratio?: string;
    msg?: string; msg_in_chat_window: boolean; msg_processing_type?: string;
  }[];
}

/** `incidentio_configs[]`. timeout in milliseconds (0: none). */
export interface IncidentioConfig extends NotifierBase {
  url?: string;
  url_file?: string;
  alert_source_token?: string;
  alert_source_token_file?: string;
  max_alerts: number;
  timeout: number;
}

/** The integration lists of a receiver, by field name. */
export interface ReceiverIntegrations {
  discord_configs: DiscordConfig[];
  email_configs: EmailConfig[];
  incidentio_configs: IncidentioConfig[];
  pagerduty_configs: PagerdutyConfig[];
  slack_configs: SlackConfig[];
  opsgenie_configs: OpsGenieConfig[];
  wechat_configs: WechatConfig[];
  pushover_configs: PushoverConfig[];
  victorops_configs: VictorOpsConfig[];
  sns_configs: SNSConfig[];
  telegram_configs: TelegramConfig[];
  webex_configs: WebexConfig[];
  msteams_configs: MSTeamsConfig[];
  msteamsv2_configs: MSTeamsV2Config[];
  jira_configs: JiraConfig[];
  rocketchat_configs: RocketchatConfig[];
}

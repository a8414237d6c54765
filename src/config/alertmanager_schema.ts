/**
 * The `alertmanager.yml` schema (Alertmanager 0.25–0.27): global settings,
 * the route tree, inhibit rules, time intervals, templates and receivers,
 * with Alertmanager's defaults and validation messages. The decoder in
 * schema.ts walks the YAML against these descriptions.
 */
import { compileRE2, parseMatchers, parseTimeInterval } from "../model/index.ts";
import { applyGlobalReceiverDefaults, globalReceiverFields, receiverIntegrationFields } from "./alertmanager_receivers.ts";
import { atMostOne, HTTPClientConfigType, TLSConfigType } from "./http_schema.ts";
import type { Field, Kind, ObjectType, Validation } from "./schema.ts";

const str: Kind = { t: "string" };
const secret: Kind = { t: "string", secret: true };
const file: Kind = { t: "string", file: true };
const bool: Kind = { t: "bool" };
const uint: Kind = { t: "int", unsigned: true };
const duration: Kind = { t: "duration" };
const raw: Kind = { t: "any" };
const obj = (type: ObjectType): Kind => ({ t: "object", type });
const list = (type: ObjectType): Kind => ({ t: "list", of: obj(type) });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Alertmanager's route timer defaults for the root route. */
export const DEFAULT_GROUP_WAIT = 30_000;
/** See {@link DEFAULT_GROUP_WAIT}. */
export const DEFAULT_GROUP_INTERVAL = 5 * MINUTE;
/** See {@link DEFAULT_GROUP_WAIT}. */
export const DEFAULT_REPEAT_INTERVAL = 4 * HOUR;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkLabelName(name: string): string | undefined {
  return LABEL_NAME.test(name) ? undefined : `invalid label name ${JSON.stringify(name)}`;
}

function checkRegex(re: string): string | undefined {
  try {
    compileRE2(re);
    return undefined;
  } catch (e) {
    return `error parsing regexp: ${(e as Error).message}`;
  }
}

function checkMatchers(text: string): string | undefined {
  try {
    parseMatchers(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function checkHTTPURL(s: string): string | undefined {
  if (!URL.canParse(s)) return `unsupported URL ${JSON.stringify(s)}: invalid URL`;
  const scheme = new URL(s).protocol.replace(/:$/, "");
  if (scheme !== "http" && scheme !== "https") return `unsupported scheme ${JSON.stringify(scheme)} for URL`;
  return undefined;
}

const labelMap: Kind = { t: "map", of: str, checkKey: checkLabelName };
const regexMap: Kind = { t: "map", of: { t: "string", check: checkRegex }, checkKey: checkLabelName };
const matcherList: Kind = { t: "list", of: { t: "string", check: checkMatchers } };
const labelNameList: Kind = { t: "list", of: { t: "string", check: checkLabelName } };
const url: Kind = { t: "string", url: true, check: checkHTTPURL };

const GlobalType: ObjectType = {
  name: "config.GlobalConfig",
  fields: {
    resolve_timeout: { kind: duration, default: 5 * MINUTE },
    http_config: { kind: obj(HTTPClientConfigType), defaultEmpty: true },
    smtp_from: { kind: str },
    smtp_hello: { kind: str, default: "localhost" },
    smtp_smarthost: { kind: str },
    smtp_auth_username: { kind: str },
    smtp_auth_password: { kind: secret },
    smtp_auth_password_file: { kind: file },
    smtp_auth_secret: { kind: secret },
    smtp_auth_identity: { kind: str },
    smtp_require_tls: { kind: bool, default: true },
    smtp_tls_config: { kind: obj(TLSConfigType) },
    slack_api_url: { kind: { t: "string", secret: true } },
    slack_api_url_file: { kind: file },
    pagerduty_url: { kind: url, default: "https://events.pagerduty.com/v2/enqueue" },
    opsgenie_api_url: { kind: url, default: "https://api.opsgenie.com/" },
    opsgenie_api_key: { kind: secret },
    opsgenie_api_key_file: { kind: file },
    wechat_api_url: { kind: url, default: "https://qyapi.weixin.qq.com/cgi-bin/" },
    wechat_api_secret: { kind: secret },
    wechat_api_corp_id: { kind: str },
    victorops_api_url: { kind: url, default: "https://alert.victorops.com/integrations/generic/20131114/alert/" },
    victorops_api_key: { kind: secret },
    victorops_api_key_file: { kind: file },
    telegram_api_url: { kind: url, default: "https://api.telegram.org" },
    webex_api_url: { kind: url, default: "https://webexapis.com/v1/messages" },
    smtp_force_implicit_tls: { kind: bool },
    ...globalReceiverFields,
  },
  validate(o, v) {
    atMostOne(o, v, ["smtp_auth_password", "smtp_auth_password_file"], "at most one of smtp_auth_password & smtp_auth_password_file must be configured");
    atMostOne(o, v, ["slack_api_url", "slack_api_url_file"], "at most one of slack_api_url & slack_api_url_file must be configured");
    atMostOne(o, v, ["opsgenie_api_key", "opsgenie_api_key_file"], "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured");
    atMostOne(o, v, ["victorops_api_key", "victorops_api_key_file"], "at most one of victorops_api_key & victorops_api_key_file must be configured");
  },
};

/** The route tree is recursive: `routes` is filled in right below. */
const RouteType: ObjectType = {
  name: "config.Route",
  fields: {},
  validate(o, v) {
    const groupBy: string[] | undefined = o.group_by;
    if (groupBy) {
      const seen = new Set<string>();
      for (const name of groupBy) {
        if (name === "...") {
          if (groupBy.length > 1) v.fail("cannot have wildcard group_by (`...`) and other other labels at the same time", "group_by");
          continue;
        }
        if (!LABEL_NAME.test(name)) v.fail(`invalid label name ${JSON.stringify(name)} in group_by list`, "group_by");
        if (seen.has(name)) v.fail(`duplicated label ${JSON.stringify(name)} in group_by`, "group_by");
        seen.add(name);
      }
    }
    if (o.group_interval === 0) v.fail("group_interval cannot be zero", "group_interval");
    if (o.repeat_interval === 0) v.fail("repeat_interval cannot be zero", "repeat_interval");
  },
};
Object.assign(RouteType.fields, {
  receiver: { kind: str },
  group_by: { kind: { t: "list", of: str } },
  match: { kind: labelMap },
  match_re: { kind: regexMap },
  matchers: { kind: matcherList },
  continue: { kind: bool, default: false },
  routes: { kind: list(RouteType), default: [] },
  group_wait: { kind: duration },
  group_interval: { kind: duration },
  repeat_interval: { kind: duration },
  mute_time_intervals: { kind: { t: "list", of: str } },
  active_time_intervals: { kind: { t: "list", of: str } },
} satisfies Record<string, Field>);

const InhibitRuleType: ObjectType = {
  name: "config.InhibitRule",
  fields: {
    source_match: { kind: labelMap },
    source_match_re: { kind: regexMap },
    source_matchers: { kind: matcherList },
    target_match: { kind: labelMap },
    target_match_re: { kind: regexMap },
    target_matchers: { kind: matcherList },
    equal: { kind: labelNameList },
  },
};

const TimeRangeType: ObjectType = {
  name: "timeinterval.TimeRange",
  fields: { start_time: { kind: str }, end_time: { kind: str } },
};

const TimeIntervalSpecType: ObjectType = {
  name: "timeinterval.TimeInterval",
  fields: {
    times: { kind: list(TimeRangeType) },
    weekdays: { kind: { t: "list", of: str } },
    days_of_month: { kind: { t: "list", of: str } },
    months: { kind: { t: "list", of: str } },
    years: { kind: { t: "list", of: str } },
    location: { kind: str },
  },
  validate(o, v) {
    try {
      parseTimeInterval(o);
    } catch (e) {
      v.fail((e as Error).message);
    }
  },
};

const NamedTimeIntervalType: ObjectType = {
  name: "config.TimeInterval",
  fields: {
    name: { kind: str },
    time_intervals: { kind: list(TimeIntervalSpecType), default: [] },
  },
  validate(o, v) {
    if (!o.name) v.fail("missing name in time interval", "name");
  },
};

const WebhookConfigType: ObjectType = {
  name: "config.WebhookConfig",
  fields: {
    send_resolved: { kind: bool, default: true },
    url: { kind: { t: "string", secret: true, check: checkHTTPURL } },
    url_file: { kind: file },
    max_alerts: { kind: uint, default: 0 },
    timeout: { kind: duration, default: 0 },
    http_config: { kind: obj(HTTPClientConfigType) },
  },
  validate(o, v) {
    if (!o.url && !o.url_file) v.fail("one of url or url_file must be configured");
    atMostOne(o, v, ["url", "url_file"], "at most one of url & url_file must be configured");
  },
};

const ReceiverType: ObjectType = {
  name: "config.Receiver",
  fields: {
    name: { kind: str },
    webhook_configs: { kind: list(WebhookConfigType), default: [] },
    ...receiverIntegrationFields,
  },
  validate(o, v) {
    if (!o.name) v.fail("missing name in receiver", "name");
  },
};

/** Walks the route tree checking references, with the root's own rules first. */
function validateRoutes(root: Record<string, any>, v: Validation, receivers: Set<string>, intervals: Set<string>): void {
  if (!root.receiver) v.failAt(root, "receiver", "root route must specify a default receiver");
  const rootMatchers = ["match", "match_re", "matchers"].find((f) => root[f] && Object.keys(root[f]).length > 0);
  if (rootMatchers) v.failAt(root, rootMatchers, "root route must not have any matchers");
  if (root.mute_time_intervals?.length) v.failAt(root, "mute_time_intervals", "root route must not have any mute time intervals");
  if (root.active_time_intervals?.length) v.failAt(root, "active_time_intervals", "root route must not have any active time intervals");
  const walk = (r: Record<string, any>) => {
    if (r.receiver && !receivers.has(r.receiver)) v.failAt(r, "receiver", `undefined receiver ${JSON.stringify(r.receiver)} used in route`);
    for (const f of ["mute_time_intervals", "active_time_intervals"]) {
      for (const name of r[f] ?? []) {
        if (!intervals.has(name)) v.failAt(r, f, `undefined time interval ${JSON.stringify(name)} used in route`);
      }
    }
    for (const child of r.routes) walk(child);
  };
  walk(root);
  root.group_wait ??= DEFAULT_GROUP_WAIT;
  root.group_interval ??= DEFAULT_GROUP_INTERVAL;
  root.repeat_interval ??= DEFAULT_REPEAT_INTERVAL;
}

/** The top level of `alertmanager.yml`, with the cross-section checks Alertmanager's config.Load does. */
export const AlertmanagerConfigType: ObjectType = {
  name: "config.plain",
  fields: {
    global: { kind: obj(GlobalType), defaultEmpty: true },
    route: { kind: obj(RouteType) },
    inhibit_rules: { kind: list(InhibitRuleType), default: [] },
    receivers: { kind: list(ReceiverType), default: [] },
    templates: { kind: { t: "list", of: file }, default: [] },
    time_intervals: { kind: list(NamedTimeIntervalType), default: [] },
    mute_time_intervals: { kind: list(NamedTimeIntervalType), default: [] },
  },
  validate(o, v) {
    const receivers = new Set<string>();
    for (const r of o.receivers) {
      if (receivers.has(r.name)) v.failAt(r, "name", `notification config name ${JSON.stringify(r.name)} is not unique`);
      receivers.add(r.name);
      applyGlobalReceiverDefaults(r, o.global, v);
    }
    const intervals = new Set<string>();
    for (const field of ["mute_time_intervals", "time_intervals"]) {
      for (const ti of o[field]) {
        if (intervals.has(ti.name)) {
          const what = field === "mute_time_intervals" ? "mute time interval" : "time interval";
          v.failAt(ti, "name", `${what} ${JSON.stringify(ti.name)} is not unique`);
        }
        intervals.add(ti.name);
      }
    }
    if (!o.route) v.fail("no routes provided", "route");
    validateRoutes(o.route, v, receivers, intervals);
  },
};

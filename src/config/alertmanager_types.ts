/**
 * The decoded shape of `alertmanager.yml` (Alertmanager 0.25–0.27). Durations
 * are milliseconds. Route timers a child route does not set are left
 * undefined here; the route tree fills them in from its parent.
 */
import type { TimeIntervalConfig } from "../model/index.ts";
import type { ReceiverIntegrations } from "./alertmanager_receivers.ts";
import type { HTTPClientConfig, Millis } from "./types.ts";

/** How Alertmanager reaches a receiver's endpoint: the same prometheus/common HTTPClientConfig as `prometheus.yml`. */
export type AlertmanagerHTTPConfig = HTTPClientConfig;

/** `global:` — resolve_timeout and the defaults other receivers would take. */
export interface AlertmanagerGlobalConfig {
  resolve_timeout: Millis;
  http_config: AlertmanagerHTTPConfig;
  smtp_from?: string;
  smtp_hello: string;
  smtp_smarthost?: string;
  smtp_auth_username?: string;
  smtp_auth_password?: string;
  smtp_auth_password_file?: string;
  smtp_auth_secret?: string;
  smtp_auth_identity?: string;
  smtp_require_tls: boolean;
  slack_api_url?: string;
  slack_api_url_file?: string;
  pagerduty_url: string;
  opsgenie_api_url: string;
  opsgenie_api_key?: string;
  opsgenie_api_key_file?: string;
  wechat_api_url: string;
  wechat_api_secret?: string;
  wechat_api_corp_id?: string;
  victorops_api_url: string;
  victorops_api_key?: string;
  victorops_api_key_file?: string;
  telegram_api_url: string;
  webex_api_url: string;
}

/** One node of the routing tree. `matchers` are Alertmanager matcher strings. */
export interface RouteConfig {
  receiver?: string;
  group_by?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  matchers?: string[];
  continue: boolean;
  routes: RouteConfig[];
  group_wait?: Millis;
  group_interval?: Millis;
  repeat_interval?: Millis;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
}

/** `inhibit_rules[]`: target alerts are muted while a firing source alert has the same `equal` labels. */
export interface InhibitRuleConfig {
  source_match?: Record<string, string>;
  source_match_re?: Record<string, string>;
  source_matchers?: string[];
  target_match?: Record<string, string>;
  target_match_re?: Record<string, string>;
  target_matchers?: string[];
  equal?: string[];
}

/** One `time_intervals[].time_intervals[]` entry as written (its parser is the model room's). */
export type TimeIntervalSpec = TimeIntervalConfig;

/** A named set of time intervals used by routes' mute/active lists. */
export interface NamedTimeInterval {
  name: string;
  time_intervals: TimeIntervalSpec[];
}

/** `webhook_configs[]`: POSTs Alertmanager's JSON payload (version 4). */
export interface WebhookConfig {
  send_resolved: boolean;
  url?: string;
  url_file?: string;
  max_alerts: number;
  /** Newer releases: the longest one request may take (0: none but the flush deadline). */
  timeout?: Millis;
  http_config: AlertmanagerHTTPConfig;
}

/** A named receiver with its integrations (see alertmanager_receivers.ts for the other lists). */
export interface ReceiverConfig extends ReceiverIntegrations {
  name: string;
  webhook_configs: WebhookConfig[];
}

/** The whole `alertmanager.yml`. */
export interface AlertmanagerConfigFile {
  global: AlertmanagerGlobalConfig;
  route: RouteConfig;
  inhibit_rules: InhibitRuleConfig[];
  receivers: ReceiverConfig[];
  templates: string[];
  time_intervals: NamedTimeInterval[];
  mute_time_intervals: NamedTimeInterval[];
}

/**
 * The webhook receiver integration: POSTs Alertmanager's JSON payload
 * (version "4") to the configured URL. Network errors and 5xx answers are
 * retryable; any other non-2xx answer is final, as in Alertmanager.
 *
 * @example
 * const hook = new WebhookIntegration(config.receivers[0].webhook_configs[0], 0, { externalURL, version: "0.27.0" });
 * const result = await hook.notify(ctx, alerts, Date.now());
 */
import { quoteMeta } from "../base/index.ts";
import { httpRequestInit, readSecretFile, type WebhookConfig } from "../config/index.ts";
import { labelsToRecord, type Labels } from "../model/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "./pipeline.ts";
import { alertStatus, fingerprint, formatTime, type Alert } from "./types.ts";

/** One alert of the webhook payload. */
export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook message: template.Data plus version, groupKey and truncatedAlerts. */
export interface WebhookMessage {
  receiver: string;
  status: "firing" | "resolved";
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
}


/** The label pairs every alert shares (same name and value). */
function commonOf(sets: Labels[]): Record<string, string> {
  if (sets.length === 0) return {};
  const common = labelsToRecord(sets[0]!);
  for (const set of sets.slice(1)) {
    const rec = labelsToRecord(set);
    for (const name of Object.keys(common)) if (rec[name] !== common[name]) delete common[name];
  }
  return common;
}

/**
 * Builds the webhook payload for `alerts` (already truncated to
 * max_alerts); `status` is "firing" when any alert fires at `now`.
 */
export function buildWebhookMessage(
  ctx: Pick<NotifyContext, "receiverName" | "groupKey" | "groupLabels">,
  alerts: Alert[], now: number, externalURL: string, truncatedAlerts: number,
): WebhookMessage {
  const out: WebhookAlert[] = alerts.map((a) => ({
    status: alertStatus(a, now),
    labels: labelsToRecord(a.labels),
    annotations: labelsToRecord(a.annotations),
    startsAt: formatTime(a.startsAt),
    endsAt: formatTime(a.endsAt),
    generatorURL: a.generatorURL,
    fingerprint: fingerprint(a.labels),
  }));
  return {
    receiver: quoteMeta(ctx.receiverName),
    status: out.some((a) => a.status === "firing") ? "firing" : "resolved",
    alerts: out,
    groupLabels: labelsToRecord(ctx.groupLabels),
    commonLabels: commonOf(alerts.map((a) => a.labels)),
    commonAnnotations: commonOf(alerts.map((a) => a.annotations)),
    externalURL,
    version: "4",
    groupKey: ctx.groupKey,
    truncatedAlerts,
  };
}

/** Settings shared by all webhook integrations of an Alertmanager. */
export interface WebhookOptions {
  externalURL: string;
  /** Alertmanager version for the User-Agent (`Alertmanager/<version>`). */
  version: string;
  /** Injectable for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

/** A configured webhook; see the module comment. */
export class WebhookIntegration implements Integration {
  readonly name = "webhook";
  readonly sendResolved: boolean;

  constructor(readonly conf: WebhookConfig, readonly index: number, private readonly opts: WebhookOptions) {
    this.sendResolved = conf.send_resolved;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const max = this.conf.max_alerts;
    const kept = max > 0 && alerts.length > max ? alerts.slice(0, max) : alerts;
    const message = buildWebhookMessage(ctx, kept, now, this.opts.externalURL, alerts.length - kept.length);
    let url: string;
    let init: RequestInit;
    try {
      url = this.conf.url ?? readSecretFile(this.conf.url_file!, "url");
      init = httpRequestInit(this.conf.http_config, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": `Alertmanager/${this.opts.version}` },
        body: JSON.stringify(message),
        signal: this.conf.timeout ? AbortSignal.any([ctx.signal, AbortSignal.timeout(this.conf.timeout)]) : ctx.signal,
      });
    } catch (e) {
      return { error: new Error(`webhook: ${(e as Error).message}`), retry: false };
    }
    const doFetch = this.opts.fetch ?? fetch;
    try {
      const res = await doFetch(url, init);
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { retry: false };
      const error = new Error(`unexpected status code ${res.status}`);
      return { error, retry: res.status >= 500 || res.status === 429, reason: res.status >= 500 ? "serverError" : "clientError" };
    } catch (e) {
      return { error: new Error(`webhook: ${(e as Error).message}`), retry: true };
    }
  }
}

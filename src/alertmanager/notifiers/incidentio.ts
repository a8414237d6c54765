/**
 * incident.io alert source: the webhook payload (template data plus
 * `version: "1"`, `groupKey`, `truncatedAlerts`) POSTed to `url` with the
 * alert source token as Bearer token. `max_alerts` truncates; a payload
 * over 512 KiB keeps only the first alert; `timeout` bounds one request.
 */
import type { IncidentioConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { buildWebhookMessage } from "../webhook.ts";
import { checkResponse, failed, postJSON, secretValue, type NotifierDeps } from "./common.ts";

const MAX_PAYLOAD_BYTES = 512 * 1024;

/** A configured incident.io integration. */
export class IncidentioNotifier implements Integration {
  readonly name = "incidentio";
  readonly sendResolved: boolean;

  constructor(readonly conf: IncidentioConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  body(ctx: NotifyContext, alerts: Alert[], now: number): Record<string, unknown> {
    const max = this.conf.max_alerts;
    const kept = max > 0 && alerts.length > max ? alerts.slice(0, max) : alerts;
    const msg = buildWebhookMessage(ctx, kept, now, this.deps.externalURL, alerts.length - kept.length) as unknown as Record<string, unknown>;
    msg.version = "1";
    if (Buffer.byteLength(JSON.stringify(msg)) > MAX_PAYLOAD_BYTES) {
      msg.alerts = (msg.alerts as unknown[]).slice(0, 1);
      this.deps.logger.warn("Truncated alert content due to incident.io payload size limit", { max_size: MAX_PAYLOAD_BYTES });
    }
    return msg;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    let url: string;
    let headers: Record<string, string> = {};
    let http = c.http_config;
    try {
      url = secretValue(c.url, c.url_file, "url");
      const token = secretValue(c.alert_source_token, c.alert_source_token_file, "alert_source_token");
      if (token) {
        http = { ...http, authorization: undefined, basic_auth: undefined };
        headers = { authorization: `Bearer ${token}` };
      }
    } catch (e) {
      return failed("incidentio", e);
    }
    let signal = ctx.signal;
    if (c.timeout > 0) signal = AbortSignal.any([signal, AbortSignal.timeout(c.timeout)]);
    const res = await postJSON(this.deps, http, url, this.body(ctx, alerts, now), signal, headers);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429], errDetails);
  }
}

/** incident.io error bodies: message, error and errors joined with ": ". */
function errDetails(body: string): string {
  try {
    const e = JSON.parse(body) as { message?: string; error?: string; errors?: string[] };
    return [e.message, e.error, (e.errors ?? []).join(", ")].filter(Boolean).join(": ");
  } catch {
    return "";
  }
}

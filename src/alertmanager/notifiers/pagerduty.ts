/**
 * PagerDuty: Events API v2 (`routing_key`, POST to `url`, `dedup_key` =
 * the group key's SHA-256) or v1 (`service_key`, POST to the fixed v1
 * endpoint, `incident_key` likewise). Firing groups trigger, resolved
 * groups resolve. The v2 summary is cut at 1024 runes; an event over
 * 512000 bytes loses its custom details for a note saying so. v1 retries
 * 403 (its rate limit), v2 retries 429.
 */
import type { PagerdutyConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { omitEmpty } from "./slack.ts";
import { failed, groupStatus, hashGroupKey, postJSON, checkResponse, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

/** PagerDuty's v1 endpoint (not configurable in Alertmanager either). */
export const PAGERDUTY_V1_URL = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";
const MAX_EVENT_BYTES = 512_000;
const MAX_V1_DESCRIPTION_RUNES = 1024;
const MAX_V2_SUMMARY_RUNES = 1024;
const TRUNCATED_DETAILS = "Custom details have been removed because the original event exceeds the maximum size of 512KB";

/** A configured PagerDuty integration. */
export class PagerdutyNotifier implements Integration {
  readonly name = "pagerduty";
  readonly sendResolved: boolean;

  constructor(readonly conf: PagerdutyConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  private get v1(): boolean {
    return Boolean(this.conf.service_key || this.conf.service_key_file);
  }

  /** The event for `alerts` and where it goes. */
  async event(ctx: NotifyContext, alerts: Alert[], now: number): Promise<{ url: string; body: Record<string, unknown> }> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const eventType = groupStatus(alerts, now) === "firing" ? "trigger" : "resolve";
    const key = hashGroupKey(ctx.groupKey);
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.details ?? {})) details[k] = await t.text(v);
    let body: Record<string, unknown>;
    let url: string;
    if (this.v1) {
      const [description] = truncateInRunes(await t.text(c.description), MAX_V1_DESCRIPTION_RUNES);
      body = omitEmpty({
        service_key: await t.text(secretValue(c.service_key, c.service_key_file, "service_key")),
        incident_key: key,
        event_type: eventType,
        description,
        details,
      });
      body.event_action = "";
      body.payload = null;
      if (eventType === "trigger") Object.assign(body, omitEmpty({ client: await t.text(c.client), client_url: await t.text(c.client_url) }));
      if (Object.keys(details).length === 0) delete body.details;
      url = PAGERDUTY_V1_URL;
    } else {
      const [summary] = truncateInRunes(await t.text(c.description), MAX_V2_SUMMARY_RUNES);
      const images = [];
      for (const i of c.images ?? []) {
        const img = omitEmpty({ src: await t.text(i.src), alt: await t.text(i.alt), href: await t.text(i.href) });
        if (img.src) images.push(img);
      }
      const links = [];
      for (const l of c.links ?? []) {
        const link = omitEmpty({ href: await t.text(l.href), text: await t.text(l.text) });
        if (link.href) links.push(link);
      }
      const payload = omitEmpty({
        summary,
        source: await t.text(c.source),
        severity: await t.text(c.severity || "error"),
        class: await t.text(c.class),
        component: await t.text(c.component),
        group: await t.text(c.group),
        custom_details: Object.keys(details).length > 0 ? details : undefined,
      }, ["summary", "source", "severity"]);
      body = omitEmpty({
        routing_key: await t.text(secretValue(c.routing_key, c.routing_key_file, "routing_key")),
        dedup_key: key,
        event_action: eventType,
        payload,
        client: await t.text(c.client),
        client_url: await t.text(c.client_url),
        images,
        links,
      }, ["event_action", "payload"]);
      url = c.url;
    }
    if (t.error) throw new Error(`failed to template PagerDuty ${this.v1 ? "v1" : "v2"} message: ${t.error.message}`);
    if (Buffer.byteLength(JSON.stringify(body)) > MAX_EVENT_BYTES) {
      this.deps.logger.warn("Truncated details", { integration: "pagerduty", max_bytes: MAX_EVENT_BYTES });
      if (this.v1) body.details = { error: TRUNCATED_DETAILS };
      else (body.payload as Record<string, unknown>).custom_details = { error: TRUNCATED_DETAILS };
    }
    return { url, body };
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let ev: { url: string; body: Record<string, unknown> };
    try {
      ev = await this.event(ctx, alerts, now);
    } catch (e) {
      return failed("pagerduty", e);
    }
    const res = await postJSON(this.deps, this.conf.http_config, ev.url, ev.body, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, this.v1 ? [403] : [429], errDetails);
  }
}

/** PagerDuty's error answers: `{"status": …, "message": …, "errors": […]}` → "message: errors". */
function errDetails(body: string): string {
  try {
    const e = JSON.parse(body) as { status?: string; message?: string; errors?: string[] };
    const errs = (e.errors ?? []).join(",");
    return [e.message, errs].filter(Boolean).join(": ") || body;
  } catch {
    return body;
  }
}

/**
 * OpsGenie (Alert API v2): a firing group creates an alert (POST
 * `v2/alerts`, alias = the group key's SHA-256, message cut at 130 runes,
 * details = the common labels plus `details`), optionally followed by PUTs
 * updating message and description (`update_alerts`); a resolved group
 * closes it (POST `v2/alerts/<alias>/close?identifierType=alias`).
 * Authorization is `GenieKey <api_key>`.
 */
import type { OpsGenieConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { omitEmpty } from "./slack.ts";
import { failed, groupStatus, hashGroupKey, secretValue, sendChecked, Templater, templateData, truncateInRunes, type NotifierDeps, type OutgoingRequest } from "./common.ts";

const MAX_MESSAGE_RUNES = 130;

/** Splits on `sep` after trimming the whole text, dropping empty items (Alertmanager's safeSplit). */
function safeSplit(s: string, sep: string): string[] {
  return s.trim().split(sep).filter((x) => x !== "");
}

/** A configured OpsGenie integration. */
export class OpsGenieNotifier implements Integration {
  readonly name = "opsgenie";
  readonly sendResolved: boolean;

  constructor(readonly conf: OpsGenieConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  /** The requests for `alerts`, in order. */
  async requests(ctx: NotifyContext, alerts: Alert[], now: number): Promise<OutgoingRequest[]> {
    const c = this.conf;
    const data = templateData(ctx, alerts, now, this.deps.externalURL);
    const t = new Templater(this.deps.templates, data);
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(data.CommonLabels)) details[k] = v as string;
    for (const [k, v] of Object.entries(c.details ?? {})) details[k] = await t.text(v);
    const alias = hashGroupKey(ctx.groupKey);
    const base = c.api_url;
    const out: { url: string; method: string; body: unknown }[] = [];
    if (groupStatus(alerts, now) === "resolved") {
      out.push({ url: `${base}v2/alerts/${alias}/close?identifierType=alias`, method: "POST", body: { source: await t.text(c.source) } });
    } else {
      const [message, cut] = truncateInRunes(await t.text(c.message), MAX_MESSAGE_RUNES);
      if (cut) this.deps.logger.warn("Truncated message", { integration: "opsgenie", alert: alias, max_runes: MAX_MESSAGE_RUNES });
      const responders: Record<string, string>[] = [];
      for (const r of c.responders ?? []) {
        const responder = { id: await t.text(r.id), name: await t.text(r.name), username: await t.text(r.username), type: await t.text(r.type) };
        if (!responder.id && !responder.name && !responder.username && !responder.type) continue;
        if (responder.type === "teams") {
          for (const team of safeSplit(responder.name, ",")) responders.push({ name: await t.text(team), type: "team" });
          continue;
        }
        responders.push(omitEmpty(responder, ["type"]) as Record<string, string>);
      }
      const body = omitEmpty({
        alias,
        message,
        description: await t.text(c.description),
        details,
        source: await t.text(c.source),
        responders,
        tags: safeSplit(await t.text(c.tags), ","),
        note: await t.text(c.note),
        priority: await t.text(c.priority),
        entity: await t.text(c.entity),
        actions: safeSplit(await t.text(c.actions), ","),
      }, ["alias", "message", "details", "source"]);
      out.push({ url: `${base}v2/alerts`, method: "POST", body });
      if (c.update_alerts) {
        out.push({ url: `${base}v2/alerts/${alias}/message?identifierType=alias`, method: "PUT", body: omitEmpty({ message }) });
        out.push({ url: `${base}v2/alerts/${alias}/description?identifierType=alias`, method: "PUT", body: omitEmpty({ description: body.description }) });
      }
    }
    const key = await t.text(secretValue(c.api_key, c.api_key_file, "api_key"));
    if (t.error) throw new Error(`templating error: ${t.error.message}`);
    return out.map((r) => ({
      url: r.url, method: r.method, body: JSON.stringify(r.body),
      headers: { "content-type": "application/json", authorization: `GenieKey ${key}` },
    }));
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let reqs: OutgoingRequest[];
    try {
      reqs = await this.requests(ctx, alerts, now);
    } catch (e) {
      return failed("opsgenie", e);
    }
    for (const req of reqs) {
      const result = await sendChecked(this.deps, this.conf.http_config, req, ctx.signal, [429]);
      if (result.error) return result;
    }
    return { retry: false };
  }
}

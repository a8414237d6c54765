/**
 * Slack: one attachment per notification, POSTed to an incoming webhook
 * (`api_url`) or to `chat.postMessage` (`app_url`) with the `app_token`
 * as Bearer token. Title cut at 1024 runes; fields take `short_fields`
 * when they do not say; a 200 answer whose JSON says `"ok": false` (the
 * Web API's way of failing) is a failure.
 */
import type { SlackConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { checkResponse, failed, postJSON, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

const MAX_TITLE_RUNES = 1024;

/** A configured Slack integration. */
export class SlackNotifier implements Integration {
  readonly name = "slack";
  readonly sendResolved: boolean;

  constructor(readonly conf: SlackConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  /** The request body for `alerts`; exported through the class for tests. */
  async payload(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const [title, cut] = truncateInRunes(await t.text(c.title), MAX_TITLE_RUNES);
    if (cut) this.deps.logger.warn("Truncated title", { integration: "slack", max_runes: MAX_TITLE_RUNES });
    const att: Record<string, unknown> = {
      title,
      title_link: await t.text(c.title_link),
      pretext: await t.text(c.pretext),
      text: await t.text(c.text),
      fallback: await t.text(c.fallback),
      callback_id: await t.text(c.callback_id),
      image_url: await t.text(c.image_url),
      thumb_url: await t.text(c.thumb_url),
      footer: await t.text(c.footer),
      color: await t.text(c.color),
      mrkdwn_in: c.mrkdwn_in && c.mrkdwn_in.length > 0 ? c.mrkdwn_in : ["fallback", "pretext", "text"],
    };
    if (c.fields && c.fields.length > 0) {
      const fields = [];
      for (const f of c.fields) fields.push({ title: await t.text(f.title), value: await t.text(f.value), short: f.short ?? c.short_fields });
      att.fields = fields;
    }
    if (c.actions && c.actions.length > 0) {
      const actions = [];
      for (const a of c.actions) {
        const action: Record<string, unknown> = {
          type: await t.text(a.type), text: await t.text(a.text), url: await t.text(a.url),
          style: await t.text(a.style), name: await t.text(a.name), value: await t.text(a.value),
        };
        if (a.confirm) {
          action.confirm = omitEmpty({
            text: await t.text(a.confirm.text), title: await t.text(a.confirm.title),
            ok_text: await t.text(a.confirm.ok_text), dismiss_text: await t.text(a.confirm.dismiss_text),
          });
        }
        actions.push(omitEmpty(action));
      }
      att.actions = actions;
    }
    const req = omitEmpty({
      channel: await t.text(c.channel),
      username: await t.text(c.username),
      icon_emoji: await t.text(c.icon_emoji),
      icon_url: await t.text(c.icon_url),
      link_names: c.link_names,
    });
    // Attachment fields without omitempty in Alertmanager: text, fallback, callback_id, footer.
    req.attachments = [omitEmpty(att, ["text", "fallback", "callback_id", "footer"])];
    if (t.error) throw t.error;
    return req;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    let body: Record<string, unknown>;
    let url: string;
    const headers: Record<string, string> = {};
    try {
      body = await this.payload(ctx, alerts, now);
      const token = secretValue(c.app_token, c.app_token_file, "app_token");
      if (token) {
        url = c.app_url ?? "https://slack.com/api/chat.postMessage";
        headers.authorization = `Bearer ${token}`;
      } else {
        url = secretValue(c.api_url, c.api_url_file, "api_url");
      }
    } catch (e) {
      return failed("slack", e);
    }
    const res = await postJSON(this.deps, c.http_config, url, body, ctx.signal, headers);
    if (!(res instanceof Response)) return res;
    const contentType = res.headers.get("content-type") ?? "";
    if (res.status >= 200 && res.status < 300 && contentType.includes("application/json")) {
      const text = await res.text();
      try {
        const parsed = JSON.parse(text) as { ok?: boolean; error?: string };
        if (parsed.ok === false) return { error: new Error(`channel ${JSON.stringify(body.channel ?? "")}: error response from Slack: ${parsed.error ?? "unknown"}`), retry: false, reason: "clientError" };
      } catch {
        return { error: new Error(`channel ${JSON.stringify(body.channel ?? "")}: could not unmarshal JSON response ${JSON.stringify(text)}`), retry: false, reason: "other" };
      }
      return { retry: false };
    }
    const result = await checkResponse(res, [429]);
    if (result.error) result.error = new Error(`channel ${JSON.stringify(body.channel ?? "")}: ${result.error.message}`);
    return result;
  }
}

/** Drops empty strings, false and undefined, as Go's `omitempty` does — except the `keep` fields. */
export function omitEmpty(o: Record<string, unknown>, keep: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!keep.includes(k) && (v === "" || v === false || v === undefined || v === null || (Array.isArray(v) && v.length === 0))) continue;
    out[k] = v;
  }
  return out;
}

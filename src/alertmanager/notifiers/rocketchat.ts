/**
 * Rocket.Chat: `chat.postMessage` (POST `<api_url>api/v1/chat.postMessage`)
 * with `X-Auth-Token` / `X-User-Id` headers and one attachment; title cut
 * at 1024 runes; actions are buttons; a 200 answer with `"success": false`
 * is a failure.
 */
import type { RocketchatConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { omitEmpty } from "./slack.ts";
import { checkResponse, failed, postJSON, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

/** A configured Rocket.Chat integration. */
export class RocketchatNotifier implements Integration {
  readonly name = "rocketchat";
  readonly sendResolved: boolean;

  constructor(readonly conf: RocketchatConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const [title] = truncateInRunes(await t.text(c.title), 1024);
    const att = omitEmpty({
      title,
      title_link: await t.text(c.title_link),
      text: await t.text(c.text),
      image_url: await t.text(c.image_url),
      thumb_url: await t.text(c.thumb_url),
      color: await t.text(c.color),
    });
    if (c.fields && c.fields.length > 0) {
      const fields = [];
      for (const f of c.fields) fields.push({ short: f.short ?? c.short_fields, ...omitEmpty({ title: await t.text(f.title), value: await t.text(f.value) }) });
      att.fields = fields;
    }
    if (c.actions && c.actions.length > 0) {
      const actions = [];
      for (const a of c.actions) {
        actions.push({
          type: "button",
          ...omitEmpty({ text: await t.text(a.text), url: await t.text(a.url) }),
          is_webview: false,
          ...omitEmpty({ msg: await t.text(a.msg) }),
          msg_in_chat_window: false,
        });
      }
      att.actions = actions;
    }
    const body = omitEmpty({
      channel: await t.text(c.channel),
      emoji: await t.text(c.emoji),
      avatar: await t.text(c.icon_url),
    });
    body.attachments = [att];
    if (t.error) throw t.error;
    return body;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    let body: Record<string, unknown>;
    let headers: Record<string, string>;
    try {
      body = await this.body(ctx, alerts, now);
      headers = { "x-auth-token": secretValue(c.token, c.token_file, "token"), "x-user-id": secretValue(c.token_id, c.token_id_file, "token_id") };
    } catch (e) {
      return failed("rocketchat", e);
    }
    const url = new URL("api/v1/chat.postMessage", c.api_url.endsWith("/") ? c.api_url : `${c.api_url}/`).toString();
    const res = await postJSON(this.deps, c.http_config, url, body, ctx.signal, headers);
    if (!(res instanceof Response)) return res;
    const channel = JSON.stringify(body.channel ?? "");
    if (res.status >= 200 && res.status < 300) {
      const text = await res.text();
      try {
        const parsed = JSON.parse(text) as { success?: boolean; error?: string };
        if (!parsed.success) return { error: new Error(`channel ${channel}: error response from Rocketchat: ${parsed.error ?? ""}`), retry: false, reason: "clientError" };
        return { retry: false };
      } catch {
        return { error: new Error(`channel ${channel}: could not unmarshal JSON response ${JSON.stringify(text)}`), retry: true, reason: "clientError" };
      }
    }
    const result = await checkResponse(res, [429]);
    if (result.error) result.error = new Error(`channel ${channel}: ${result.error.message}`);
    return result;
  }
}

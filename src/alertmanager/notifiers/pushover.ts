/**
 * Pushover: POST to the messages API with the fields in the query string
 * (sorted, as Go's url.Values encodes them) and an empty text/plain body.
 * Title cut at 250 runes, message at 1024 (then trimmed; empty becomes
 * "(no details)"), URL at 512; retry/expire/ttl in whole seconds.
 */
import type { PushoverConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { encodeQuery, failed, secretValue, sendChecked, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

/** Pushover's messages endpoint. */
export const PUSHOVER_API_URL = "https://api.pushover.net/1/messages.json";

/** A configured Pushover integration. */
export class PushoverNotifier implements Integration {
  readonly name = "pushover";
  readonly sendResolved: boolean;

  constructor(readonly conf: PushoverConfig, readonly index: number, private readonly deps: NotifierDeps, private readonly apiURL = PUSHOVER_API_URL) {
    this.sendResolved = conf.send_resolved;
  }

  /** The query parameters of the request. */
  async params(ctx: NotifyContext, alerts: Alert[], now: number): Promise<URLSearchParams> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const p = new URLSearchParams();
    p.append("token", await t.text(secretValue(c.token, c.token_file, "token")));
    p.append("user", await t.text(secretValue(c.user_key, c.user_key_file, "user_key")));
    p.append("title", truncateInRunes(await t.text(c.title), 250)[0]);
    if (c.html) p.append("html", "1");
    if (c.monospace) p.append("monospace", "1");
    let message = truncateInRunes(await t.text(c.message), 1024)[0].trim();
    if (message === "") message = "(no details)";
    p.append("message", message);
    p.append("url", truncateInRunes(await t.text(c.url), 512)[0]);
    p.append("url_title", await t.text(c.url_title));
    p.append("priority", await t.text(c.priority));
    p.append("retry", String(Math.trunc(c.retry / 1000)));
    p.append("expire", String(Math.trunc(c.expire / 1000)));
    p.append("device", await t.text(c.device));
    p.append("sound", await t.text(c.sound));
    const ttl = Math.trunc((c.ttl ?? 0) / 1000);
    if (ttl > 0) p.append("ttl", String(ttl));
    if (t.error) throw t.error;
    p.sort();
    return p;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let params: URLSearchParams;
    try {
      params = await this.params(ctx, alerts, now);
    } catch (e) {
      return failed("pushover", e);
    }
    const query = encodeQuery([...params.entries()]);
    return sendChecked(this.deps, this.conf.http_config, { url: `${this.apiURL}?${query}`, headers: { "content-type": "text/plain" }, body: "" }, ctx.signal, [429]);
  }
}

/**
 * Discord webhook: `{"content", "embeds": [{title, description, color}]}`
 * with red (firing), green (resolved) or grey; title cut at 256 runes,
 * description at 4096, content at 2000; `username` / `avatar_url` when set.
 */
import type { DiscordConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { checkResponse, failed, groupStatus, postJSON, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

const COLOR_RED = 0x992d22;
const COLOR_GREEN = 0x2ecc71;

/** A configured Discord integration. */
export class DiscordNotifier implements Integration {
  readonly name = "discord";
  readonly sendResolved: boolean;

  constructor(readonly conf: DiscordConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const [title] = truncateInRunes(await t.text(c.title), 256);
    const [description] = truncateInRunes(await t.text(c.message), 4096);
    const [content] = truncateInRunes(await t.text(c.content), 2000);
    const color = groupStatus(alerts, now) === "firing" ? COLOR_RED : COLOR_GREEN;
    const body: Record<string, unknown> = { content, embeds: [{ title, description, color }] };
    if (c.username) body.username = c.username;
    if (c.avatar_url) body.avatar_url = c.avatar_url;
    if (t.error) throw t.error;
    return body;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let body: Record<string, unknown>;
    let url: string;
    try {
      body = await this.body(ctx, alerts, now);
      url = secretValue(this.conf.webhook_url, this.conf.webhook_url_file, "webhook_url");
    } catch (e) {
      return failed("discord", e);
    }
    const res = await postJSON(this.deps, this.conf.http_config, url, body, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429]);
  }
}

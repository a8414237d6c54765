/**
 * Telegram Bot API `sendMessage`: POST `<api_url>/bot<token>/sendMessage`
 * with a JSON object of string values (chat_id, text, parse_mode,
 * disable_web_page_preview, disable_notification, message_thread_id),
 * as Alertmanager's bot client sends it. With parse_mode HTML the message
 * is rendered with html/template escaping. Messages are cut at 4096 runes;
 * an answer that is not `{"ok": true, …}` fails and is retried.
 */
import type { TelegramConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { failed, postJSON, reasonFromStatus, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

const MAX_MESSAGE_RUNES = 4096;

/** A configured Telegram integration. */
export class TelegramNotifier implements Integration {
  readonly name = "telegram";
  readonly sendResolved: boolean;

  constructor(readonly conf: TelegramConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, string>> {
    const c = this.conf;
    let t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    if (c.parse_mode === "HTML") t = t.asHTML();
    const [text, cut] = truncateInRunes(await t.text(c.message), MAX_MESSAGE_RUNES);
    if (cut) this.deps.logger.warn("Truncated message", { integration: "telegram", max_runes: MAX_MESSAGE_RUNES });
    if (t.error) throw t.error;
    const body: Record<string, string> = { chat_id: String(c.chat_id), text, disable_web_page_preview: "true" };
    if (c.disable_notifications) body.disable_notification = "true";
    if (c.parse_mode) body.parse_mode = c.parse_mode;
    if (c.message_thread_id) body.message_thread_id = String(c.message_thread_id);
    return body;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const c = this.conf;
    let body: Record<string, string>;
    let token: string;
    try {
      body = await this.body(ctx, alerts, now);
      token = secretValue(c.bot_token, c.bot_token_file, "bot_token");
    } catch (e) {
      return failed("telegram", e);
    }
    // As Alertmanager's bot client joins them: a trailing slash in api_url is kept.
    const url = `${c.api_url}/bot${token}/sendMessage`;
    const res = await postJSON(this.deps, c.http_config, url, body, ctx.signal);
    if (!(res instanceof Response)) return res;
    const text = await res.text().catch(() => "");
    let answer: { ok?: boolean; description?: string; error_code?: number } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      return { error: new Error(`telegram: unexpected answer (status ${res.status}): ${text.slice(0, 200)}`), retry: true, reason: reasonFromStatus(res.status) };
    }
    if (answer.ok !== true) {
      const code = answer.error_code ?? res.status;
      return { error: new Error(`telegram: ${answer.description ?? `status ${res.status}`} (${code})`), retry: true, reason: reasonFromStatus(code) };
    }
    return { retry: false };
  }
}

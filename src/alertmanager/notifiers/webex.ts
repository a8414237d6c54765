/**
 * Webex: POST `{"markdown": message, "roomId": room_id}` to `api_url`
 * with the `http_config.authorization` token; the message is cut at 7439
 * bytes.
 */
import type { WebexConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { omitEmpty } from "./slack.ts";
import { checkResponse, failed, postJSON, Templater, templateData, truncateInBytes, type NotifierDeps } from "./common.ts";

const MAX_MESSAGE_BYTES = 7439;

/** A configured Webex integration. */
export class WebexNotifier implements Integration {
  readonly name = "webex";
  readonly sendResolved: boolean;

  constructor(readonly conf: WebexConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const [message, cut] = truncateInBytes(await t.text(this.conf.message), MAX_MESSAGE_BYTES);
    if (cut) this.deps.logger.warn("Truncated message", { integration: "webex", max_bytes: MAX_MESSAGE_BYTES });
    const body = omitEmpty({ markdown: message, roomId: await t.text(this.conf.room_id) }, ["markdown"]);
    if (t.error) throw t.error;
    return body;
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let body: Record<string, unknown>;
    try {
      body = await this.body(ctx, alerts, now);
    } catch (e) {
      return failed("webex", e);
    }
    const res = await postJSON(this.deps, this.conf.http_config, this.conf.api_url, body, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429]);
  }
}

/**
 * VictorOps (Splunk On-Call) REST integration: POST to
 * `<api_url><api_key>/<routing_key>` a flat JSON object. Firing groups use
 * `message_type` (CRITICAL unless INFO/WARNING/CRITICAL), resolved ones
 * RECOVERY; `entity_id` is the group key's SHA-256; `state_message` is cut
 * at 20480 runes; `custom_fields` are added as extra keys.
 */
import type { VictorOpsConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { failed, groupStatus, hashGroupKey, postJSON, checkResponse, secretValue, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

const MAX_MESSAGE_RUNES = 20480;
const ALLOWED = new Set(["INFO", "WARNING", "CRITICAL"]);

/** A configured VictorOps integration. */
export class VictorOpsNotifier implements Integration {
  readonly name = "victorops";
  readonly sendResolved: boolean;

  constructor(readonly conf: VictorOpsConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  async request(ctx: NotifyContext, alerts: Alert[], now: number): Promise<{ url: string; body: Record<string, string> }> {
    const c = this.conf;
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const apiKey = secretValue(c.api_key, c.api_key_file, "api_key");
    const url = `${c.api_url}${apiKey}/${await t.text(c.routing_key)}`;
    let messageType = await t.text(c.message_type);
    const status = groupStatus(alerts, now);
    if (status === "firing" && !ALLOWED.has(messageType)) messageType = "CRITICAL";
    if (status === "resolved") messageType = "RECOVERY";
    const [stateMessage] = truncateInRunes(await t.text(c.state_message), MAX_MESSAGE_RUNES);
    const body: Record<string, string> = {
      message_type: messageType,
      entity_id: hashGroupKey(ctx.groupKey),
      entity_display_name: await t.text(c.entity_display_name),
      state_message: stateMessage,
      monitoring_tool: await t.text(c.monitoring_tool),
    };
    for (const [k, v] of Object.entries(c.custom_fields ?? {})) body[k] = await t.text(v);
    if (t.error) throw new Error(`templating error: ${t.error.message}`);
    return { url, body };
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let r: { url: string; body: Record<string, string> };
    try {
      r = await this.request(ctx, alerts, now);
    } catch (e) {
      return failed("victorops", e);
    }
    const res = await postJSON(this.deps, this.conf.http_config, r.url, r.body, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429]);
  }
}

/**
 * Microsoft Teams: the Office 365 connector MessageCard
 * (`msteams_configs`) and the Power Automate workflow Adaptive Card
 * (`msteamsv2_configs`), POSTed to the webhook URL. Colours follow the
 * group status (red/green; v2: Attention/Good).
 */
import type { MSTeamsConfig, MSTeamsV2Config } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { checkResponse, failed, groupStatus, postJSON, secretValue, Templater, templateData, type NotifierDeps } from "./common.ts";

abstract class TeamsBase<C extends MSTeamsConfig | MSTeamsV2Config> implements Integration {
  abstract readonly name: string;
  readonly sendResolved: boolean;

  constructor(readonly conf: C, readonly index: number, protected readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  abstract body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>>;

  protected templater(ctx: NotifyContext, alerts: Alert[], now: number): Templater {
    return new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    let body: Record<string, unknown>;
    let url: string;
    try {
      body = await this.body(ctx, alerts, now);
      url = secretValue(this.conf.webhook_url, this.conf.webhook_url_file, "webhook_url");
    } catch (e) {
      return failed(this.name, e);
    }
    const res = await postJSON(this.deps, this.conf.http_config, url, body, ctx.signal);
    if (!(res instanceof Response)) return res;
    return checkResponse(res, [429]);
  }
}

/** `msteams_configs`: an O365 connector MessageCard. */
export class MSTeamsNotifier extends TeamsBase<MSTeamsConfig> {
  readonly name = "msteams";

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const t = this.templater(ctx, alerts, now);
    const body = {
      "@context": "http://schema.org/extensions",
      type: "MessageCard",
      title: await t.text(this.conf.title),
      summary: await t.text(this.conf.summary),
      text: await t.text(this.conf.text),
      themeColor: groupStatus(alerts, now) === "firing" ? "8C1A1A" : "2DC72D",
    };
    if (t.error) throw t.error;
    return body;
  }
}

/** `msteamsv2_configs`: an Adaptive Card message for Teams workflows. */
export class MSTeamsV2Notifier extends TeamsBase<MSTeamsV2Config> {
  readonly name = "msteamsv2";

  async body(ctx: NotifyContext, alerts: Alert[], now: number): Promise<Record<string, unknown>> {
    const t = this.templater(ctx, alerts, now);
    const title = await t.text(this.conf.title);
    const text = await t.text(this.conf.text);
    if (t.error) throw t.error;
    const titleBlock: Record<string, unknown> = { type: "TextBlock", text: title, weight: "Bolder", size: "Medium", wrap: true, style: "heading" };
    titleBlock.color = groupStatus(alerts, now) === "firing" ? "Attention" : "Good";
    return {
      type: "message",
      attachments: [{
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.2",
          body: [titleBlock, { type: "TextBlock", text, wrap: true }],
          msteams: { width: "full" },
        },
      }],
    };
  }
}

/**
 * The receiver integrations: builds each configured `*_configs` entry of a
 * receiver into an {@link Integration}, and the template set they render
 * with (promts's default.tmpl, then the config's `templates:` files).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { expandGlob, type ReceiverConfig } from "../../config/index.ts";
import { alertmanagerFuncs, TemplateSet } from "../../template/index.ts";
import type { Integration } from "../pipeline.ts";
import { WebhookIntegration } from "../webhook.ts";
import type { NotifierDeps } from "./common.ts";
import { DEFAULT_TEMPLATE_TEXT } from "./default_tmpl.ts";
import { DiscordNotifier } from "./discord.ts";
import { EmailNotifier } from "./email.ts";
import { IncidentioNotifier } from "./incidentio.ts";
import { JiraNotifier } from "./jira.ts";
import { MSTeamsNotifier, MSTeamsV2Notifier } from "./msteams.ts";
import { OpsGenieNotifier } from "./opsgenie.ts";
import { PagerdutyNotifier } from "./pagerduty.ts";
import { PushoverNotifier } from "./pushover.ts";
import { RocketchatNotifier } from "./rocketchat.ts";
import { SlackNotifier } from "./slack.ts";
import { SNSNotifier } from "./sns.ts";
import { TelegramNotifier } from "./telegram.ts";
import { VictorOpsNotifier } from "./victorops.ts";
import { WebexNotifier } from "./webex.ts";
import { WechatNotifier } from "./wechat.ts";

export { FAILURE_REASONS, hashGroupKey, truncateInBytes, truncateInRunes, type FailureReason, type NotifierDeps } from "./common.ts";
export { DEFAULT_TEMPLATE_TEXT } from "./default_tmpl.ts";

/** Every integration name, as the `integration` metric label spells it. */
export const INTEGRATION_NAMES = [
  "discord", "email", "incidentio", "jira", "msteams", "msteamsv2", "opsgenie", "pagerduty", "pushover",
  "rocketchat", "slack", "sns", "telegram", "victorops", "webex", "webhook", "wechat",
] as const;

/**
 * The template set notifications render with: the default templates, then
 * every file matched by `globs` (each may redefine a default name).
 * Throws when a file cannot be read or parsed.
 */
export function notificationTemplates(globs: readonly string[], now?: () => number): TemplateSet {
  const set = new TemplateSet(alertmanagerFuncs(now)).parse("default.tmpl", DEFAULT_TEMPLATE_TEXT);
  for (const pattern of globs) {
    for (const file of expandGlob(pattern)) set.parse(basename(file), readFileSync(file, "utf8"));
  }
  return set;
}

/** The integrations of `receiver`, in Alertmanager's order (by type, then position). */
export function buildIntegrations(receiver: ReceiverConfig, deps: NotifierDeps): Integration[] {
  const out: Integration[] = [];
  const add = <C>(list: C[] | undefined, make: (c: C, i: number) => Integration) => (list ?? []).forEach((c, i) => out.push(make(c, i)));
  add(receiver.webhook_configs, (c, i) => new WebhookIntegration(c, i, deps));
  add(receiver.email_configs, (c, i) => new EmailNotifier(c, i, deps));
  add(receiver.pagerduty_configs, (c, i) => new PagerdutyNotifier(c, i, deps));
  add(receiver.opsgenie_configs, (c, i) => new OpsGenieNotifier(c, i, deps));
  add(receiver.wechat_configs, (c, i) => new WechatNotifier(c, i, deps));
  add(receiver.slack_configs, (c, i) => new SlackNotifier(c, i, deps));
  add(receiver.victorops_configs, (c, i) => new VictorOpsNotifier(c, i, deps));
  add(receiver.pushover_configs, (c, i) => new PushoverNotifier(c, i, deps));
  add(receiver.sns_configs, (c, i) => new SNSNotifier(c, i, deps));
  add(receiver.telegram_configs, (c, i) => new TelegramNotifier(c, i, deps));
  add(receiver.discord_configs, (c, i) => new DiscordNotifier(c, i, deps));
  add(receiver.webex_configs, (c, i) => new WebexNotifier(c, i, deps));
  add(receiver.msteams_configs, (c, i) => new MSTeamsNotifier(c, i, deps));
  add(receiver.msteamsv2_configs, (c, i) => new MSTeamsV2Notifier(c, i, deps));
  add(receiver.jira_configs, (c, i) => new JiraNotifier(c, i, deps));
  add(receiver.rocketchat_configs, (c, i) => new RocketchatNotifier(c, i, deps));
  add(receiver.incidentio_configs, (c, i) => new IncidentioNotifier(c, i, deps));
  return out;
}

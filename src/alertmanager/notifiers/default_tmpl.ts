/**
 * promts's `default.tmpl`: every template name Alertmanager's default
 * template file defines (`slack.default.title`, `email.default.html`, …),
 * written for promts. Each renders the same text as Alertmanager's
 * definition of that name, except `email.default.html`, which is promts's
 * own HTML layout of the same facts (see docs/differences.md). User
 * templates are parsed after these and may redefine any name.
 *
 * The shared pieces, in promts's own helper templates (`__promts_*`):
 * - an alert list in plain text ("Labels:", " - name = value", …) and in
 *   Markdown (blank lines around each section, two-space bullets);
 * - the "Alerts Firing:" / "Alerts Resolved:" sections, in the three
 *   framings the integrations use (loose, tight, Markdown heading).
 */

const NL = "\n";

/** Plain alert list: per alert its labels, annotations and source. */
const alertList = [
  `{{ define "__text_alert_list" }}{{ range . }}Labels:${NL}`,
  `{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}${NL}{{ end }}`,
  `Annotations:${NL}`,
  `{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}${NL}{{ end }}`,
  `Source: {{ .GeneratorURL }}${NL}`,
  `{{ end }}{{ end }}`,
].join("");

/** Markdown alert list (MS Teams, Jira): each section set off by blank lines, and one more line at the end. */
const alertListMarkdown = [
  `{{ define "__text_alert_list_markdown" }}{{ range . }}${NL}Labels:${NL}`,
  `{{ range .Labels.SortedPairs }}  - {{ .Name }} = {{ .Value }}${NL}{{ end }}`,
  `${NL}Annotations:${NL}`,
  `{{ range .Annotations.SortedPairs }}  - {{ .Name }} = {{ .Value }}${NL}{{ end }}`,
  `${NL}Source: {{ .GeneratorURL }}${NL}`,
  `{{ end }}${NL}{{ end }}`,
].join("");

/** "\nAlerts Firing:\n<list>\n" when something fires, then "\n", the same for resolved, then "\n". */
const sectionsLoose = [
  `{{ define "__promts_sections_loose" }}`,
  `{{ with .Alerts.Firing }}${NL}Alerts Firing:${NL}{{ template "__text_alert_list" . }}${NL}{{ end }}${NL}`,
  `{{ with .Alerts.Resolved }}${NL}Alerts Resolved:${NL}{{ template "__text_alert_list" . }}${NL}{{ end }}${NL}`,
  `{{ end }}`,
].join("");

/** "Alerts Firing:\n<list>" when something fires, "\n", then the same for resolved. */
const sectionsTight = [
  `{{ define "__promts_sections_tight" }}`,
  `{{ with .Alerts.Firing }}Alerts Firing:${NL}{{ template "__text_alert_list" . }}{{ end }}${NL}`,
  `{{ with .Alerts.Resolved }}Alerts Resolved:${NL}{{ template "__text_alert_list" . }}{{ end }}`,
  `{{ end }}`,
].join("");

/** The loose framing with Markdown headings and the Markdown list. */
const sectionsMarkdown = [
  `{{ define "__promts_sections_markdown" }}${NL}`,
  `{{ with .Alerts.Firing }}${NL}# Alerts Firing:${NL}{{ template "__text_alert_list_markdown" . }}${NL}{{ end }}${NL}`,
  `{{ with .Alerts.Resolved }}${NL}# Alerts Resolved:${NL}{{ template "__text_alert_list_markdown" . }}${NL}{{ end }}${NL}`,
  `{{ end }}`,
].join("");

/** One step of the Jira priority: critical → High, warning → Medium unless High, info → Low unless set. */
const severityStep = `{{ if eq $s "critical" }}{{ $p = "High" }}{{ else if and (eq $s "warning") (ne $p "High") }}{{ $p = "Medium" }}`
  + `{{ else if and (eq $s "info") (eq $p "") }}{{ $p = "Low" }}{{ end }}`;

const annotationValues = `{{ .CommonAnnotations.SortedPairs.Values | join " " }}`;


/** The subject line every integration's title is built from. */
const subject = [
  `{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ len .Alerts.Firing }}{{ end }}] `,
  `{{ join " " .GroupLabels.SortedPairs.Values }} `,
  `{{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ join " " (.CommonLabels.Remove .GroupLabels.Names).Values }}){{ end }}`,
  `{{ end }}`,
].join("");

/** One alert in the e-mail body: labels, annotations (when any) and the source link. */
const emailAlerts = [
  `{{ define "__promts_email_alerts" }}{{ range . }}`,
  `<tr><td style="padding: 0 0 20px; vertical-align: top;">`,
  `<strong>Labels</strong><br>{{ range .Labels.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}`,
  `{{ if gt (len .Annotations) 0 }}<strong>Annotations</strong><br>{{ end }}`,
  `{{ range .Annotations.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}`,
  `<a href="{{ .GeneratorURL }}" style="color: #348eda;">Source</a>`,
  `</td></tr>${NL}{{ end }}{{ end }}`,
].join("");

/** promts's HTML e-mail: a header bar with the count and group, a link to Alertmanager, then firing and resolved alerts. */
const emailHTML = [
  `{{ define "email.default.html" }}<!DOCTYPE html>${NL}<html>${NL}<head>${NL}`,
  `<meta name="viewport" content="width=device-width">${NL}`,
  `<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">${NL}`,
  `<title>{{ template "__subject" . }}</title>${NL}</head>${NL}`,
  `<body style="margin: 0; padding: 0; background-color: #f6f6f6; font-family: Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.6em;">${NL}`,
  `<table width="100%" cellpadding="0" cellspacing="0" style="background-color: #f6f6f6;"><tr><td align="center" style="padding: 20px;">${NL}`,
  `<table width="600" cellpadding="0" cellspacing="0" style="max-width: 600px; background-color: #fff; border: 1px solid #e9e9e9; border-radius: 3px;">${NL}`,
  `<tr><td style="padding: 20px; color: #fff; font-size: 16px; font-weight: 500; text-align: center; border-radius: 3px 3px 0 0; `,
  `background-color: {{ if eq .Status "firing" }}#E6522C{{ else }}#68B90F{{ end }};">`,
  `{{ len .Alerts }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}</td></tr>${NL}`,
  `<tr><td style="padding: 10px 20px;"><table width="100%" cellpadding="0" cellspacing="0">${NL}`,
  `<tr><td style="padding: 0 0 20px;"><a href="{{ template "__alertmanagerURL" . }}" style="display: inline-block; padding: 10px 20px; `,
  `border-radius: 5px; background-color: #348eda; color: #fff; font-weight: bold; text-decoration: none;">View in {{ template "__alertmanager" . }}</a></td></tr>${NL}`,
  `{{ with .Alerts.Firing }}<tr><td style="padding: 0 0 20px;"><strong>[{{ len . }}] Firing</strong></td></tr>${NL}{{ template "__promts_email_alerts" . }}{{ end }}`,
  `{{ with .Alerts.Resolved }}{{ if $.Alerts.Firing }}<tr><td style="padding: 0 0 20px;"><hr></td></tr>${NL}{{ end }}`,
  `<tr><td style="padding: 0 0 20px;"><strong>[{{ len . }}] Resolved</strong></td></tr>${NL}{{ template "__promts_email_alerts" . }}{{ end }}`,
  `</table></td></tr>${NL}</table>${NL}`,
  `<p style="color: #999; font-size: 12px; text-align: center;"><a href="{{ .ExternalURL }}" style="color: #999;">Sent by {{ template "__alertmanager" . }}</a></p>${NL}`,
  `</td></tr></table>${NL}</body>${NL}</html>${NL}{{ end }}`,
].join("");

const alias = (name: string, target: string) => `{{ define "${name}" }}{{ template "${target}" . }}{{ end }}`;
const empty = (name: string) => `{{ define "${name}" }}{{ end }}`;

const definitions: string[] = [
  `{{ define "__alertmanager" }}Alertmanager{{ end }}`,
  `{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ urlquery .Receiver }}{{ end }}`,
  subject,
  empty("__description"),
  alertList,
  alertListMarkdown,
  sectionsLoose,
  sectionsTight,
  sectionsMarkdown,

  alias("slack.default.title", "__subject"),
  alias("slack.default.username", "__alertmanager"),
  `{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}`,
  empty("slack.default.callbackid"),
  empty("slack.default.pretext"),
  alias("slack.default.titlelink", "__alertmanagerURL"),
  empty("slack.default.iconemoji"),
  empty("slack.default.iconurl"),
  empty("slack.default.text"),
  empty("slack.default.footer"),

  alias("pagerduty.default.description", "__subject"),
  alias("pagerduty.default.client", "__alertmanager"),
  alias("pagerduty.default.clientURL", "__alertmanagerURL"),
  alias("pagerduty.default.instances", "__text_alert_list"),

  alias("opsgenie.default.message", "__subject"),
  `{{ define "opsgenie.default.description" }}${annotationValues}${NL}{{ template "__promts_sections_tight" . }}{{ end }}`,
  alias("opsgenie.default.source", "__alertmanagerURL"),

  `{{ define "wechat.default.message" }}{{ template "__subject" . }}${NL}${annotationValues}${NL}`
    + `{{ template "__promts_sections_tight" . }}${NL}AlertmanagerUrl:${NL}{{ template "__alertmanagerURL" . }}{{ end }}`,
  empty("wechat.default.to_user"),
  empty("wechat.default.to_party"),
  empty("wechat.default.to_tag"),
  empty("wechat.default.agent_id"),

  `{{ define "victorops.default.state_message" }}${annotationValues}${NL}{{ template "__promts_sections_tight" . }}{{ end }}`,
  alias("victorops.default.entity_display_name", "__subject"),
  alias("victorops.default.monitoring_tool", "__alertmanager"),

  alias("pushover.default.title", "__subject"),
  `{{ define "pushover.default.message" }}${annotationValues}${NL}{{ template "__promts_sections_loose" . }}{{ end }}`,
  alias("pushover.default.url", "__alertmanagerURL"),

  alias("sns.default.subject", "__subject"),
  `{{ define "sns.default.message" }}${annotationValues}${NL}{{ template "__promts_sections_loose" . }}{{ end }}`,

  `{{ define "telegram.default.message" }}${NL}{{ template "__promts_sections_loose" . }}{{ end }}`,

  empty("discord.default.content"),
  alias("discord.default.title", "__subject"),
  `{{ define "discord.default.message" }}${NL}{{ template "__promts_sections_loose" . }}{{ end }}`,

  `{{ define "webex.default.message" }}${annotationValues}${NL}{{ template "__promts_sections_loose" . }}{{ end }}`,

  alias("msteams.default.summary", "__subject"),
  alias("msteams.default.title", "__subject"),
  alias("msteams.default.text", "__promts_sections_markdown"),

  alias("msteamsv2.default.title", "__subject"),
  alias("msteamsv2.default.text", "__promts_sections_markdown"),

  alias("jira.default.summary", "__subject"),
  alias("jira.default.description", "__promts_sections_markdown"),
  // The highest severity among firing alerts, else among resolved ones, as a Jira priority name.
  `{{ define "jira.default.priority" }}{{ $p := "" }}`
    + `{{ range .Alerts.Firing }}{{ $s := index .Labels "severity" }}${severityStep}{{ end }}`
    + `{{ if eq $p "" }}{{ range .Alerts.Resolved }}{{ $s := index .Labels "severity" }}${severityStep}{{ end }}{{ end }}`
    + `{{ $p }}{{ end }}`,

  alias("rocketchat.default.title", "__subject"),
  alias("rocketchat.default.alias", "__alertmanager"),
  alias("rocketchat.default.titlelink", "__alertmanagerURL"),
  empty("rocketchat.default.emoji"),
  empty("rocketchat.default.iconurl"),
  empty("rocketchat.default.text"),

  alias("email.default.subject", "__subject"),
  emailAlerts,
  emailHTML,
];

/** The template file text; parsed first into every notification template set. */
export const DEFAULT_TEMPLATE_TEXT = definitions.join(NL) + NL;

/**
 * Jira: one issue per alert group, labelled `ALERT{<group key SHA-256>}`.
 * Each notification searches for it (JQL over POST `…/search`, or
 * `…/3/search/jql` on Jira Cloud), then creates it (POST `issue`) or
 * updates it (PUT `issue/<key>`), and finally moves it through
 * `resolve_transition` / `reopen_transition` when its status category
 * disagrees with the group's state. Resolved groups never create issues.
 * Summary cut at 255 runes, description at 32767; API v3 URLs take the
 * description as Atlassian Document Format JSON.
 */
import type { JiraConfig } from "../../config/index.ts";
import type { Integration, NotifyContext, NotifyResult } from "../pipeline.ts";
import type { Alert } from "../types.ts";
import { checkResponse, failed, groupStatus, hashGroupKey, send, Templater, templateData, truncateInRunes, type NotifierDeps } from "./common.ts";

interface FoundIssue {
  key: string;
  fields?: { status?: { statusCategory?: { key?: string } } };
}

/** A configured Jira integration. */
export class JiraNotifier implements Integration {
  readonly name = "jira";
  readonly sendResolved: boolean;

  constructor(readonly conf: JiraConfig, readonly index: number, private readonly deps: NotifierDeps) {
    this.sendResolved = conf.send_resolved;
  }

  private join(path: string): string {
    return `${this.conf.api_url.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  }

  /** The JQL search for the group's issue. */
  async search(t: Templater, groupID: string, firing: boolean): Promise<{ url: string; body: Record<string, unknown> }> {
    const c = this.conf;
    let jql = "";
    if (c.wont_fix_resolution) jql += `resolution != ${JSON.stringify(c.wont_fix_resolution)} and `;
    const reopenMinutes = Math.trunc((c.reopen_duration ?? 0) / 60_000);
    if (firing && c.reopen_transition && reopenMinutes > 0) jql += `(resolutiondate is EMPTY OR resolutiondate >= -${reopenMinutes}m) and `;
    else jql += "statusCategory != Done and ";
    jql += `project=${JSON.stringify(await t.text(c.project))} and labels=${JSON.stringify(`ALERT{${groupID}}`)} order by status ASC,resolutiondate DESC`;
    const cloud = c.api_type === "cloud" || (c.api_type !== "datacenter" && new URL(c.api_url).host.endsWith("atlassian.net"));
    const url = cloud ? this.join("/search/jql").replace("/2", "/3") : this.join("/search");
    return { url, body: { jql, maxResults: 2, fields: ["status"] } };
  }

  /** The create/update body for the group's issue. */
  async issue(t: Templater, groupID: string): Promise<Record<string, unknown>> {
    const c = this.conf;
    const [summary] = truncateInRunes(await t.text(c.summary), 255);
    const [descText] = truncateInRunes(await t.text(c.description), 32767);
    let description: unknown = descText;
    if (/\/3$/.test(new URL(c.api_url).pathname)) description = JSON.parse(descText);
    const labels: string[] = [];
    for (const l of c.labels ?? []) labels.push(await t.text(l));
    labels.push(`ALERT{${groupID}}`);
    labels.sort();
    const fields: Record<string, unknown> = {};
    if (description !== "") fields.description = description;
    fields.issuetype = { name: await t.text(c.issue_type) };
    fields.labels = labels;
    const priority = await t.text(c.priority);
    if (priority) fields.priority = { name: priority };
    fields.project = { key: await t.text(c.project) };
    fields.summary = summary;
    for (const [k, v] of Object.entries(c.fields ?? {})) fields[k] = await deepTemplate(v, t);
    if (t.error) throw t.error;
    return { fields };
  }

  private async api(method: string, url: string, body: unknown, signal: AbortSignal): Promise<{ result: NotifyResult; text: string }> {
    const res = await send(this.deps, this.conf.http_config, {
      url, method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { "content-type": "application/json", "accept-language": "en" },
    }, signal);
    if (!(res instanceof Response)) return { result: { ...res, retry: false }, text: "" };
    const text = await res.clone().text().catch(() => "");
    return { result: await checkResponse(res, [429]), text };
  }

  async notify(ctx: NotifyContext, alerts: Alert[], now: number): Promise<NotifyResult> {
    const t = new Templater(this.deps.templates, templateData(ctx, alerts, now, this.deps.externalURL));
    const groupID = hashGroupKey(ctx.groupKey);
    const firing = groupStatus(alerts, now) === "firing";
    let search: { url: string; body: Record<string, unknown> };
    let issueBody: Record<string, unknown>;
    try {
      search = await this.search(t, groupID, firing);
      issueBody = await this.issue(t, groupID);
    } catch (e) {
      return failed("jira", e);
    }
    const found = await this.api("POST", search.url, search.body, ctx.signal);
    if (found.result.error) return { ...found.result, error: new Error(`failed to look up existing issues: ${found.result.error.message}`) };
    let existing: FoundIssue | undefined;
    try {
      existing = ((JSON.parse(found.text) as { issues?: FoundIssue[] }).issues ?? [])[0];
    } catch (e) {
      return failed("jira", e);
    }
    if (!existing && !firing) return { retry: false };
    const [method, path] = existing ? ["PUT", `issue/${existing.key}`] : ["POST", "issue"];
    const saved = await this.api(method, this.join(path), issueBody, ctx.signal);
    if (saved.result.error) return { ...saved.result, error: new Error(`failed to ${method} request to ${JSON.stringify(path)}: ${saved.result.error.message}`) };
    const category = existing?.fields?.status?.statusCategory?.key;
    if (!existing || category === undefined) return { retry: false };
    if (firing === (category !== "done")) return { retry: false };
    const transitionName = firing ? this.conf.reopen_transition : this.conf.resolve_transition;
    const transitionsURL = this.join(`issue/${existing.key}/transitions`);
    const list = await this.api("GET", transitionsURL, undefined, ctx.signal);
    if (list.result.error) return list.result;
    let id: string | undefined;
    try {
      id = ((JSON.parse(list.text) as { transitions?: { id: string; name: string }[] }).transitions ?? []).find((x) => x.name === transitionName)?.id;
    } catch (e) {
      return failed("jira", e);
    }
    if (id === undefined) return { error: new Error(`can't find transition ${transitionName ?? ""} for issue ${existing.key}`), retry: false, reason: "other" };
    return (await this.api("POST", transitionsURL, { transition: { id } }, ctx.signal)).result;
  }
}

/** Templates every string inside a custom field value (maps and lists included). */
async function deepTemplate(v: unknown, t: Templater): Promise<unknown> {
  if (typeof v === "string") return t.text(v);
  if (Array.isArray(v)) return Promise.all(v.map((x) => deepTemplate(x, t)));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await deepTemplate(x, t);
    return out;
  }
  return v;
}

/**
 * The amtool equivalents under `promts tool`, speaking Alertmanager's API
 * v2 to any Alertmanager (promts's or the real one) at --alertmanager.url:
 *
 *   promts tool alert query [matchers…] [--silenced --inhibited --active --unprocessed --receiver=RE]
 *   promts tool silence add [matchers…] --comment=C [--author=A] [--duration=1h | --end=TIME] [--start=TIME]
 *   promts tool silence query [matchers…] [--quiet] [--expired] [--within=D] [--created-by=A] [--id=ID]
 *   promts tool silence update ID… [--comment=C] [--duration=D | --end=TIME] [--start=TIME] [--quiet]
 *   promts tool silence expire ID…
 *   promts tool check-config alertmanager.yml…     (also: promts tool check alertmanager-config FILE…)
 *
 * As in amtool, a first matcher that does not parse is taken as the
 * alertname (`silence add DiskFull` = `silence add alertname="DiskFull"`),
 * and output is amtool's `simple` table, `extended` table or `json`
 * (--output), laid out as amtool 0.25 prints them. Times print as
 * `2006-01-02 15:04:05 UTC`.
 */
import { userInfo } from "node:os";
import { parseMatcher } from "../alertmanager/index.ts";
import { goJSON, parseDateTime, type GettableAlert, type GettableSilence } from "../alertmanager/api/index.ts";
import { parseDuration } from "../config/index.ts";
import { checkAlertmanagerConfigFiles } from "./check_alertmanager.ts";
import type { Matcher } from "../model/index.ts";
import { boolFlag, command, customFlag, enumFlag, stringFlag, type Command, type RunRequest } from "../flags/index.ts";

/** Where amtool commands write: `out` for results, `err` for errors (one line each). */
export interface AmtoolOutput {
  out(line: string): void;
  err(line: string): void;
}

function durationFlag(help: string, defaultText: string) {
  return customFlag(help, defaultText, parseDuration, { placeholder: "<duration>" });
}

const clientFlags = {
  "alertmanager.url": stringFlag("Alertmanager to talk to, e.g. http://localhost:9093.", "", { placeholder: "<URL>" }),
  output: enumFlag("Output formatter (simple, extended, json).", ["simple", "extended", "json"], "simple"),
  timeout: durationFlag("Timeout for the executed command.", "30s"),
};

const matcherArgs = [{ name: "matcher-groups", help: "Query filter", required: false, variadic: true }];

const alertQueryCommand = command("query", "View and search through current alerts.", {
  ...clientFlags,
  inhibited: boolFlag("Show inhibited alerts"),
  silenced: boolFlag("Show silenced alerts"),
  active: boolFlag("Show active alerts"),
  unprocessed: boolFlag("Show unprocessed alerts"),
  receiver: stringFlag("Show alerts matching receiver (Supports regex syntax)"),
}, matcherArgs);

let defaultAuthor = "";
try {
  defaultAuthor = userInfo().username;
} catch {
  // No user name (e.g. an unknown uid in a container): the author stays empty, as amtool's does.
}

const silenceAddCommand = command("add", "Add a new alertmanager silence", {
  ...clientFlags,
  author: stringFlag("Username for CreatedBy field", defaultAuthor),
  "require-comment": boolFlag("Require comment to be set", true, { hidden: true }),
  duration: stringFlag("Duration of silence", "1h"),
  start: stringFlag("Set when the silence should start. RFC3339 format 2006-01-02T15:04:05-07:00"),
  end: stringFlag("Set when the silence should end (overwrites duration). RFC3339 format 2006-01-02T15:04:05-07:00"),
  comment: stringFlag("A comment to help describe the silence"),
}, matcherArgs);

const silenceQueryCommand = command("query", "Query Alertmanager silences.", {
  ...clientFlags,
  expired: boolFlag("Show expired silences instead of active"),
  quiet: boolFlag("Only show silence ids"),
  "created-by": stringFlag("Show silences that belong to this creator"),
  id: stringFlag("Get a single silence by its ID"),
  within: durationFlag("Show silences that will expire or have expired within a duration", "0"),
}, matcherArgs);

const silenceUpdateCommand = command("update", "Extend or update existing silence in Alertmanager.", {
  ...clientFlags,
  quiet: boolFlag("Only show silence ids"),
  duration: stringFlag("Duration of silence"),
  start: stringFlag("Set when the silence should start. RFC3339 format 2006-01-02T15:04:05-07:00"),
  end: stringFlag("Set when the silence should end (overwrites duration). RFC3339 format 2006-01-02T15:04:05-07:00"),
  comment: stringFlag("A comment to help describe the silence"),
}, [{ name: "update-ids", help: "Silence IDs to update", required: false, variadic: true }]);

const silenceExpireCommand = command("expire", "expire an alertmanager silence", clientFlags, [
  { name: "silence-ids", help: "Ids of silences to expire", required: false, variadic: true },
]);

const configFilesArg = [{ name: "check-files", help: "Files to be validated", required: true, variadic: true }];

/** `promts tool check alertmanager-config FILE…`, placed under the `check` command by tool.ts. */
export const checkAlertmanagerConfigCommand: Command = command("alertmanager-config", "Validate alertmanager config files (amtool check-config).", {}, configFilesArg);

/** The amtool command trees placed directly under `promts tool`. */
export const amtoolCommands: readonly Command[] = [
  command("alert", "View and search through current alerts", {}, [], [alertQueryCommand]),
  command("silence", "Add, expire or view silences.", {}, [], [silenceAddCommand, silenceQueryCommand, silenceUpdateCommand, silenceExpireCommand]),
  command("check-config", "Validate alertmanager config files", {}, configFilesArg),
];

/** A failed command: the message amtool would print after `error: `. */
class AmtoolError extends Error {}

/**
 * amtool's first-argument rule: a first matcher that does not parse is
 * the alertname's value (quoted for silences, as amtool does).
 */
export function parseMatcherGroups(args: readonly string[], quoteFirst: boolean): Matcher[] {
  const texts = [...args];
  if (texts.length > 0) {
    try {
      parseMatcher(texts[0]!);
    } catch {
      texts[0] = `alertname=${quoteFirst ? JSON.stringify(texts[0]) : texts[0]}`;
    }
  }
  return texts.map((t) => {
    try {
      return parseMatcher(t);
    } catch (e) {
      throw new AmtoolError((e as Error).message);
    }
  });
}

/** A matcher as amtool sends it in `filter` parameters. */
function matcherText(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}

/** Go's time.Format("2006-01-02 15:04:05 MST") for a UTC API time. */
export function formatDate(apiTime: string): string {
  const ms = parseDateTime(apiTime);
  if (ms === undefined || ms === 0) return apiTime;
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * Go's text/tabwriter with minwidth 0, padding 2, padchar ' ' and every
 * cell terminated by a tab (as amtool writes its tables): each column is
 * as wide as its widest cell plus two spaces.
 */
export function tabulate(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]! + 2)).join(""));
}

function silenceMatcherText(m: GettableSilence["matchers"][number]): string {
  return `${m.name}${m.isRegex ? (m.isEqual ? "=~" : "!~") : m.isEqual ? "=" : "!="}${JSON.stringify(m.value)}`;
}

function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
}

/** Silences in amtool's simple or extended table (sorted by end time) or as JSON. */
export function formatSilences(silences: GettableSilence[], output: "simple" | "extended" | "json"): string[] {
  if (output === "json") return [goJSON(silences).trimEnd()];
  const sorted = [...silences].sort((a, b) => (parseDateTime(a.endsAt) ?? 0) - (parseDateTime(b.endsAt) ?? 0));
  if (output === "simple") {
    return tabulate([
      ["ID", "Matchers", "Ends At", "Created By", "Comment"],
      ...sorted.map((s) => [s.id, s.matchers.map(silenceMatcherText).join(" "), formatDate(s.endsAt), s.createdBy, s.comment]),
    ]);
  }
  return tabulate([
    ["ID", "Matchers", "Starts At", "Ends At", "Updated At", "Created By", "Comment"],
    ...sorted.map((s) => [s.id, `{${s.matchers.map(silenceMatcherText).join(",")}}`, formatDate(s.startsAt), formatDate(s.endsAt), formatDate(s.updatedAt), s.createdBy, s.comment]),
  ]);
}

/** Alerts in amtool's simple or extended table (sorted by start time) or as JSON. */
export function formatAlerts(alerts: GettableAlert[], output: "simple" | "extended" | "json"): string[] {
  if (output === "json") return [goJSON(alerts).trimEnd()];
  const sorted = [...alerts].sort((a, b) => (parseDateTime(a.startsAt) ?? 0) - (parseDateTime(b.startsAt) ?? 0));
  if (output === "simple") {
    return tabulate([
      ["Alertname", "Starts At", "Summary", "State"],
      ...sorted.map((a) => [a.labels.alertname ?? "", formatDate(a.startsAt), a.annotations.summary ?? "", a.status.state]),
    ]);
  }
  return tabulate([
    ["Labels", "Annotations", "Starts At", "Ends At", "Generator URL", "State"],
    ...sorted.map((a) => [labelsText(a.labels), labelsText(a.annotations), formatDate(a.startsAt), formatDate(a.endsAt), a.generatorURL ?? "", a.status.state]),
  ]);
}

/** A minimal API v2 client: one request, the decoded JSON answer or an AmtoolError naming the call. */
async function callAPI(baseURL: string, timeoutMs: number, method: string, path: string, body?: unknown): Promise<unknown> {
  if (baseURL === "") throw new AmtoolError("required flag --alertmanager.url not provided");
  if (!URL.canParse(baseURL)) throw new AmtoolError(`invalid --alertmanager.url ${JSON.stringify(baseURL)}`);
  const url = `${baseURL.replace(/\/+$/, "")}/api/v2${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs > 0 ? timeoutMs : 30_000),
    });
  } catch (e) {
    throw new AmtoolError(`${method} ${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new AmtoolError(`${method} ${url}: ${res.status} ${res.statusText}${text.trim() === "" ? "" : `: ${text.trim()}`}`);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AmtoolError(`${method} ${url}: answer is not JSON: ${text.slice(0, 200)}`);
  }
}

type Flags = Record<string, unknown>;

async function alertQuery(flags: Flags, args: string[], io: AmtoolOutput): Promise<number> {
  const matchers = parseMatcherGroups(args, false);
  let { active, silenced, inhibited, unprocessed } = flags as Record<string, boolean>;
  if (!active && !silenced && !inhibited && !unprocessed) active = true;
  const params = new URLSearchParams({
    active: String(active), silenced: String(silenced), inhibited: String(inhibited), unprocessed: String(unprocessed),
  });
  if (flags.receiver) params.set("receiver", flags.receiver as string);
  for (const m of matchers) params.append("filter", matcherText(m));
  const alerts = (await callAPI(flags["alertmanager.url"] as string, flags.timeout as number, "GET", `/alerts?${params}`)) as GettableAlert[];
  for (const line of formatAlerts(alerts ?? [], flags.output as "simple")) io.out(line);
  return 0;
}

function parseRFC3339(text: string, flag: string): number {
  const ms = parseDateTime(text);
  if (ms === undefined || ms === 0 || !/[Zz]|[+-]\d\d:\d\d$/.test(text)) {
    throw new AmtoolError(`parsing time ${JSON.stringify(text)} for --${flag}: expected RFC3339 format 2006-01-02T15:04:05-07:00`);
  }
  return ms;
}

async function silenceAdd(flags: Flags, args: string[], io: AmtoolOutput): Promise<number> {
  const matchers = parseMatcherGroups(args, true);
  if (matchers.length < 1) throw new AmtoolError("no matchers specified");
  const startsAt = flags.start ? parseRFC3339(flags.start as string, "start") : Date.now();
  let endsAt: number;
  if (flags.end) {
    endsAt = parseRFC3339(flags.end as string, "end");
  } else {
    const duration = parseSilenceDuration(flags.duration as string);
    if (duration === 0) throw new AmtoolError("silence duration must be greater than 0");
    endsAt = startsAt + duration;
  }
  if (startsAt > endsAt) throw new AmtoolError("silence cannot start after it ends");
  if (flags["require-comment"] && !flags.comment) throw new AmtoolError("comment required by config");
  const body = {
    matchers: matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.type === "=~" || m.type === "!~", isEqual: m.type === "=" || m.type === "=~" })),
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    createdBy: flags.author as string,
    comment: flags.comment as string,
  };
  const answer = (await callAPI(flags["alertmanager.url"] as string, flags.timeout as number, "POST", "/silences", body)) as { silenceID?: string } | undefined;
  io.out(answer?.silenceID ?? "");
  return 0;
}

async function silenceQuery(flags: Flags, args: string[], io: AmtoolOutput): Promise<number> {
  const matchers = parseMatcherGroups(args, true);
  const params = new URLSearchParams();
  for (const m of matchers) params.append("filter", matcherText(m));
  const query = params.size > 0 ? `?${params}` : "";
  const silences = ((await callAPI(flags["alertmanager.url"] as string, flags.timeout as number, "GET", `/silences${query}`)) ?? []) as GettableSilence[];
  const now = Date.now();
  const within = flags.within as number;
  const expired = flags.expired as boolean;
  const shown = silences.filter((s) => {
    const endsAt = parseDateTime(s.endsAt) ?? 0;
    if (!expired && endsAt < now) return false;
    if (expired && endsAt > now) return false;
    if (!expired && within > 0 && endsAt > now + within) return false;
    if (expired && within > 0 && endsAt < now - within) return false;
    if (flags["created-by"] && s.createdBy !== flags["created-by"]) return false;
    if (flags.id && s.id !== flags.id) return false;
    return true;
  });
  if (flags.quiet) {
    for (const s of shown) io.out(s.id);
  } else {
    for (const line of formatSilences(shown, flags.output as "simple")) io.out(line);
  }
  return 0;
}

function parseSilenceDuration(text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new AmtoolError((e as Error).message);
  }
}

async function silenceUpdate(flags: Flags, ids: string[], io: AmtoolOutput): Promise<number> {
  if (ids.length === 0) throw new AmtoolError("no silence IDs specified");
  const url = flags["alertmanager.url"] as string;
  const updated: GettableSilence[] = [];
  for (const id of ids) {
    const s = (await callAPI(url, flags.timeout as number, "GET", `/silence/${encodeURIComponent(id)}`)) as GettableSilence;
    let startsAt = parseDateTime(s.startsAt) ?? 0;
    let endsAt = parseDateTime(s.endsAt) ?? 0;
    if (flags.start) startsAt = parseRFC3339(flags.start as string, "start");
    if (flags.end) {
      endsAt = parseRFC3339(flags.end as string, "end");
    } else if (flags.duration) {
      const duration = parseSilenceDuration(flags.duration as string);
      if (duration === 0) throw new AmtoolError("silence duration must be greater than 0");
      endsAt = startsAt + duration;
    }
    if (startsAt > endsAt) throw new AmtoolError("silence cannot start after it ends");
    const body = {
      id: s.id, matchers: s.matchers, createdBy: s.createdBy, comment: (flags.comment as string) || s.comment,
      startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString(),
    };
    const answer = (await callAPI(url, flags.timeout as number, "POST", "/silences", body)) as { silenceID?: string } | undefined;
    const newID = answer?.silenceID ?? s.id;
    updated.push((await callAPI(url, flags.timeout as number, "GET", `/silence/${encodeURIComponent(newID)}`)) as GettableSilence);
  }
  if (flags.quiet) {
    for (const s of updated) io.out(s.id);
  } else {
    for (const line of formatSilences(updated, flags.output as "simple")) io.out(line);
  }
  return 0;
}

async function silenceExpire(flags: Flags, ids: string[]): Promise<number> {
  if (ids.length === 0) throw new AmtoolError("no silence IDs specified");
  for (const id of ids) {
    await callAPI(flags["alertmanager.url"] as string, flags.timeout as number, "DELETE", `/silence/${encodeURIComponent(id)}`);
  }
  return 0;
}

/**
 * Runs the amtool command named by `request.path` (["promts", "tool", …]);
 * undefined when the path is not an amtool command. Errors print as
 * `promts: error: …` with exit code 1.
 */
export function runAmtoolCommand(request: RunRequest, io: AmtoolOutput): Promise<number> | undefined {
  const name = request.path.slice(2).join(" ");
  const matcherGroups = (request.args["matcher-groups"] as string[] | undefined) ?? [];
  let run: () => Promise<number>;
  switch (name) {
    case "check-config":
    case "check alertmanager-config":
      return Promise.resolve(checkAlertmanagerConfigFiles(request.args["check-files"] as string[], io.out));
    case "alert query":
      run = () => alertQuery(request.flags, matcherGroups, io);
      break;
    case "silence add":
      run = () => silenceAdd(request.flags, matcherGroups, io);
      break;
    case "silence query":
      run = () => silenceQuery(request.flags, matcherGroups, io);
      break;
    case "silence update":
      run = () => silenceUpdate(request.flags, (request.args["update-ids"] as string[] | undefined) ?? [], io);
      break;
    case "silence expire":
      run = () => silenceExpire(request.flags, (request.args["silence-ids"] as string[] | undefined) ?? []);
      break;
    default:
      return undefined;
  }
  return run().catch((e: unknown) => {
    if (!(e instanceof AmtoolError)) throw e;
    io.err(`promts: error: ${e.message}`);
    return 1;
  });
}

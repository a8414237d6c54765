/**
 * Prometheus's template functions (docs: "Template reference") and the
 * expansion of alerting-rule labels and annotations with the
 * `$labels`/`$externalLabels`/`$externalURL`/`$value` preamble.
 */

import { parseDuration as parseModelDuration } from "../base/index.ts";
import { labelsToRecord, type Labels } from "../model/index.ts";
import { TemplateError } from "./errors.ts";
import { formatFloat } from "./fmt.ts";
import { queryEscape, typedFunc, type ExecContext, type FuncMap } from "./funcs.ts";
import { matchString, replaceAllString } from "./regexp.ts";
import { TemplateSet } from "./template.ts";
import { GoDuration, GoTime } from "./time.ts";
import { asStringMap, GO_TYPE, goTypeName } from "./values.ts";

/** A label set as the model room keeps it (sorted pairs) or as a plain record. */
export type LabelInput = Labels | Readonly<Record<string, string>>;

function labelMap(ls: LabelInput): Record<string, string> {
  return asStringMap(Array.isArray(ls) ? labelsToRecord(ls as Labels) : { ...(ls as Readonly<Record<string, string>>) });
}

/** One element of a query result as templates see it: `.Labels` (a string map) and `.Value` (a float64). */
export class Sample {
  readonly [GO_TYPE] = "*template.sample";
  readonly Labels: Record<string, string>;

  constructor(
    labels: LabelInput,
    readonly Value: number,
  ) {
    this.Labels = labelMap(labels);
  }
}

/** Runs an instant PromQL query for templates; returns the vector (a scalar as one sample without labels). */
export type TemplateQueryFunc = (query: string) => Promise<readonly { labels: LabelInput; value: number }[]>;

/** What Prometheus's functions depend on. */
export interface PrometheusFuncOptions {
  /** Backs `query`; without it `query` fails with "no query function configured". */
  query?: TemplateQueryFunc;
  /** The server's external URL (`--web.external-url`), for `externalURL` and `pathPrefix`. */
  externalURL?: string;
  /** The evaluation time in Unix milliseconds, returned by `now` (in seconds); the current time when omitted. */
  timestamp?: number;
}

/** Go's `strconv.ParseFloat` over a template string: accepts what Go accepts (Inf, NaN, hex, underscores in literals not). */
function parseGoFloat(s: string): number {
  const t = s.trim() === s ? s : "";
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
  throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/**
 * prometheus/common's `ConvertToFloat`: floats as is, ints, strings parsed,
 * durations in seconds; anything else is an error.
 */
export function convertToFloat(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") return parseGoFloat(v);
  if (v instanceof GoDuration) return v.Seconds();
  throw new Error(`can't convert ${goTypeName(v)} to float`);
}

const BIG_PREFIXES = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SMALL_PREFIXES = ["m", "u", "n", "p", "f", "a", "z", "y"];
const BINARY_PREFIXES = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

function g4(v: number): string {
  return formatFloat(v, "g", 4);
}

/**
 * `humanize`: SI prefixes and 4 significant digits.
 *
 * @example humanize(1234567) // "1.235M"
 * @example humanize(0.001234) // "1.234m"
 */
export function humanize(input: unknown): string {
  let v = convertToFloat(input);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  let prefix = "";
  if (Math.abs(v) >= 1) {
    for (const p of BIG_PREFIXES) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  for (const p of SMALL_PREFIXES) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

/**
 * `humanize1024`: binary prefixes (Ki, Mi, …) and 4 significant digits.
 *
 * @example humanize1024(1048576) // "1Mi"
 */
export function humanize1024(input: unknown): string {
  let v = convertToFloat(input);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = "";
  for (const p of BINARY_PREFIXES) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

/**
 * `humanizeDuration` (prometheus/common): seconds as "1d 2h 3m 4s", or
 * with ms/us/ns… for less than a second.
 *
 * @example humanizeDuration(90061) // "1d 1h 1m 1s"
 * @example humanizeDuration(0.1234) // "123.4ms"
 */
export function humanizeDuration(input: unknown): string {
  let v = convertToFloat(input);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return `${g4(v)}s`;
  if (Math.abs(v) >= 1) {
    let sign = "";
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = "";
  for (const p of SMALL_PREFIXES) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

/**
 * `humanizePercentage`: a ratio as a percentage with 4 significant digits.
 *
 * @example humanizePercentage(0.1234) // "12.34%"
 */
export function humanizePercentage(input: unknown): string {
  return `${g4(convertToFloat(input) * 100)}%`;
}

/** prometheus/common's `FloatToTime`: Unix seconds to a UTC time at millisecond precision. */
export function floatToTime(v: number): GoTime {
  if (!Number.isFinite(v)) throw new Error("value is NaN or Inf");
  const ns = v * 1e9;
  if (ns > 9.223372036854775807e18 || ns < -9.223372036854775808e18) {
    throw new Error(`${formatFloat(v, "g", -1)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ms = BigInt(Math.trunc(ns)) / 1_000_000n;
  return new GoTime(ms * 1_000_000n, "UTC");
}

/**
 * `humanizeTimestamp`: Unix seconds as Go prints a UTC time.
 *
 * @example humanizeTimestamp(1435065584.128) // "2015-06-23 13:19:44.128 +0000 UTC"
 */
export function humanizeTimestamp(input: unknown): string {
  if (input instanceof GoTime) return input.String();
  const v = convertToFloat(input);
  if (!Number.isFinite(v)) return g4(v);
  return floatToTime(v).String();
}

/** Go's `net.SplitHostPort`; throws for input without a port. */
export function splitHostPort(hostPort: string): [string, string] {
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close < 0) throw new Error(`address ${hostPort}: missing ']' in address`);
    if (close + 1 === hostPort.length) throw new Error(`address ${hostPort}: missing port in address`);
    if (hostPort[close + 1] !== ":") throw new Error(`address ${hostPort}: missing port in address`);
    const port = hostPort.slice(close + 2);
    if (port.includes(":")) throw new Error(`address ${hostPort}: too many colons in address`);
    return [hostPort.slice(1, close), port];
  }
  const i = hostPort.lastIndexOf(":");
  if (i < 0) throw new Error(`address ${hostPort}: missing port in address`);
  const host = hostPort.slice(0, i);
  if (host.includes(":")) throw new Error(`address ${hostPort}: too many colons in address`);
  return [host, hostPort.slice(i + 1)];
}

function joinHostPort(host: string, port: string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIP(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (!host.includes(":")) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

/** `stripPort`: the host of "host:port", or the input unchanged when it has no port. */
export function stripPort(hostPort: string): string {
  try {
    return splitHostPort(hostPort)[0];
  } catch {
    return hostPort;
  }
}

/** `stripDomain`: the first label of a host name, keeping the port; IP addresses are left alone. */
export function stripDomain(hostPort: string): string {
  let host = hostPort;
  let port = "";
  try {
    [host, port] = splitHostPort(hostPort);
  } catch {
    host = hostPort;
  }
  if (isIP(host)) return hostPort;
  host = host.split(".")[0]!;
  return port !== "" ? joinHostPort(host, port) : host;
}

/** Go's `strings.Title`-like capitalisation; `lowerRest` also lowercases the rest of each word (x/text `cases.Title`). */
export function titleCase(s: string, lowerRest: boolean): string {
  let out = "";
  let prevLetter = false;
  for (const ch of s) {
    const isWordChar = /[\p{L}\p{N}\p{M}_']/u.test(ch);
    if (isWordChar && !prevLetter) out += ch.toUpperCase();
    else out += lowerRest && isWordChar ? ch.toLowerCase() : ch;
    prevLetter = isWordChar;
  }
  return out;
}

function sampleLabel(s: unknown, label: string): string {
  if (s === null || s === undefined) return "";
  if (!(s instanceof Sample)) throw new Error(`wrong type for value; expected *template.sample; got ${goTypeName(s)}`);
  return s.Labels[label] ?? "";
}

const SAMPLE: { name: string; test(v: unknown): boolean } = { name: "*template.sample", test: (v) => v instanceof Sample };
const QUERY_RESULT: { name: string; test(v: unknown): boolean } = {
  name: "template.queryResult",
  test: (v) => Array.isArray(v) && v.every((x) => x instanceof Sample),
};

function urlPath(externalURL: string): string {
  try {
    return new URL(externalURL).pathname.replace(/^\/$/, "");
  } catch {
    return "";
  }
}

/**
 * Prometheus's template functions, for alert templates and consoles.
 *
 * @example
 * const set = new TemplateSet(prometheusFuncs({ externalURL: "http://prom:9090/p" }));
 * await set.parse("t", "{{ humanize 1234567.0 }} {{ pathPrefix }}").execute("t", null); // "1.235M /p"
 */
export function prometheusFuncs(opts: PrometheusFuncOptions = {}): FuncMap {
  const externalURL = opts.externalURL ?? "";
  return {
    query: typedFunc(["string"], async (q: string) => {
      if (!opts.query) throw new Error("no query function configured");
      const vector = await opts.query(q);
      return vector.map((s) => new Sample(s.labels, s.value));
    }),
    first: typedFunc([QUERY_RESULT], (v: Sample[] | null) => {
      if (v && v.length > 0) return v[0];
      throw new Error("first() called on vector with no elements");
    }),
    label: typedFunc(["string", SAMPLE], (label: string, s: Sample | null) => sampleLabel(s, label)),
    value: typedFunc([SAMPLE], (s: Sample | null) => (s ? s.Value : 0)),
    strvalue: typedFunc([SAMPLE], (s: Sample | null) => sampleLabel(s, "__value__")),
    sortByLabel: typedFunc(["string", QUERY_RESULT], (label: string, v: Sample[] | null) => {
      const items = v ?? [];
      return [...items].sort((a, b) => {
        const x = a.Labels[label] ?? "";
        const y = b.Labels[label] ?? "";
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }),
    args: typedFunc(
      [],
      (...args: unknown[]) => Object.fromEntries(args.map((a, i) => [`arg${i}`, a])),
      "any",
    ),
    tmpl: typedFunc(["string", "any"], function (this: ExecContext, name: string, data: unknown) {
      return this.executeTemplate(name, data);
    }),
    safeHtml: typedFunc(["string"], (s: string) => s),
    match: typedFunc(["string", "string"], matchString),
    reReplaceAll: typedFunc(["string", "string", "string"], replaceAllString),
    title: typedFunc(["string"], (s: string) => titleCase(s, false)),
    toUpper: typedFunc(["string"], (s: string) => s.toUpperCase()),
    toLower: typedFunc(["string"], (s: string) => s.toLowerCase()),
    graphLink: typedFunc(["string"], (expr: string) => `/graph?g0.expr=${queryEscape(expr)}&g0.tab=0`),
    tableLink: typedFunc(["string"], (expr: string) => `/graph?g0.expr=${queryEscape(expr)}&g0.tab=1`),
    humanize: typedFunc(["any"], humanize),
    humanize1024: typedFunc(["any"], humanize1024),
    humanizeDuration: typedFunc(["any"], humanizeDuration),
    humanizePercentage: typedFunc(["any"], humanizePercentage),
    humanizeTimestamp: typedFunc(["any"], humanizeTimestamp),
    toTime: typedFunc(["any"], (v: unknown) => floatToTime(convertToFloat(v))),
    toDuration: typedFunc(["any"], (v: unknown) => GoDuration.fromSeconds(convertToFloat(v))),
    now: typedFunc([], () => (opts.timestamp ?? Date.now()) / 1000),
    urlQueryEscape: typedFunc(["string"], queryEscape),
    pathPrefix: typedFunc([], () => urlPath(externalURL)),
    externalURL: typedFunc([], () => externalURL),
    parseDuration: typedFunc(["string"], (d: string) => parseModelDuration(d) / 1000),
    stripPort: typedFunc(["string"], stripPort),
    stripDomain: typedFunc(["string"], stripDomain),
  };
}

/** The data of an alerting rule's label and annotation templates. */
export interface RuleTemplateData {
  labels: LabelInput;
  externalLabels: LabelInput;
  externalURL: string;
  value: number;
}

/** The `.` of alert templates: Prometheus's `AlertTemplateData` struct. */
class AlertTemplateData {
  readonly [GO_TYPE] = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";
  readonly Labels: Record<string, string>;
  readonly ExternalLabels: Record<string, string>;
  readonly ExternalURL: string;
  readonly Value: number;

  constructor(d: RuleTemplateData) {
    this.Labels = labelMap(d.labels);
    this.ExternalLabels = labelMap(d.externalLabels);
    this.ExternalURL = d.externalURL;
    this.Value = d.value;
  }
}

/** The variables Prometheus declares in front of every alert template, in its order. */
export const RULE_TEMPLATE_PREAMBLE = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/** Parsed rule templates by name and text: rules expand the same texts every evaluation. */
const ruleTemplateCache = new Map<string, TemplateSet>();
const RULE_TEMPLATE_CACHE_SIZE = 4096;
const PARSE_FUNCS = prometheusFuncs();

function parsedRuleTemplate(name: string, text: string): TemplateSet {
  const key = `${name}\u0000${text}`;
  let set = ruleTemplateCache.get(key);
  if (set) {
    ruleTemplateCache.delete(key);
  } else {
    set = new TemplateSet(PARSE_FUNCS, { missingKey: "zero" }).parse(name, RULE_TEMPLATE_PREAMBLE + text);
    if (ruleTemplateCache.size >= RULE_TEMPLATE_CACHE_SIZE) ruleTemplateCache.delete(ruleTemplateCache.keys().next().value!);
  }
  ruleTemplateCache.set(key, set);
  return set;
}

/**
 * Checks an alerting rule's label or annotation template at rule-file load,
 * as `promtool check rules` does. Throws {@link TemplateError} with Go's
 * message (positions count the preamble, as in Prometheus).
 *
 * @example checkRuleTemplate("HighLoad", "{{ $labels.instance }"); // throws: template: __alert_HighLoad:1: unexpected "}" in operand
 */
export function checkRuleTemplate(ruleName: string, text: string): void {
  new TemplateSet(PARSE_FUNCS, { missingKey: "zero" }).parse(`__alert_${ruleName}`, RULE_TEMPLATE_PREAMBLE + text);
}

/**
 * Expands an alerting rule's label or annotation template the way
 * Prometheus does: the preamble declares `$labels`, `$externalLabels`,
 * `$externalURL` and `$value`, and `.` holds the same as `.Labels`,
 * `.ExternalLabels`, `.ExternalURL`, `.Value`. `name` is the template name
 * (Prometheus uses `__alert_` + the rule name).
 *
 * Throws {@link TemplateError} prefixed like Prometheus (`error parsing
 * template NAME: …` / `error executing template NAME: …`); Prometheus
 * rules then show `<error expanding template: MESSAGE>` in place of the text.
 *
 * @example
 * await expandRuleTemplate("__alert_Down", "{{ $labels.job }} at {{ $value }}",
 *   { labels: { job: "node" }, externalLabels: {}, externalURL: "", value: 1 });
 * // "node at 1"
 */
export async function expandRuleTemplate(name: string, text: string, data: RuleTemplateData, opts: PrometheusFuncOptions = {}): Promise<string> {
  let set: TemplateSet;
  try {
    set = parsedRuleTemplate(name, text);
  } catch (e) {
    throw new TemplateError(`error parsing template ${name}: ${(e as Error).message}`, "parse");
  }
  try {
    return await set.execute(name, new AlertTemplateData(data), prometheusFuncs({ externalURL: data.externalURL, ...opts }));
  } catch (e) {
    throw new TemplateError(`error executing template ${name}: ${(e as Error).message}`, "exec");
  }
}

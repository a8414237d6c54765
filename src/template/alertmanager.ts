/**
 * Alertmanager's notification template data (`Data`, `Alert`, `Alerts`,
 * `KV`, `Pairs`) and functions (docs: "Notification template reference").
 */

import { typedFunc, type FuncMap } from "./funcs.ts";
import { humanizeDuration, titleCase } from "./prometheus.ts";
import { matchString, quoteMeta, replaceAllString } from "./regexp.ts";
import { GO_ZERO_TIME_NANOS, GoDuration, GoTime, loadLocation } from "./time.ts";
import { GO_TYPE, STRING_MAP } from "./values.ts";

/** A label or annotation name with its value. */
export class Pair {
  readonly [GO_TYPE] = "template.Pair";
  constructor(
    readonly Name: string,
    readonly Value: string,
  ) {}
}

/** A list of pairs, as `KV.SortedPairs` returns it. */
export class Pairs extends Array<Pair> {
  readonly [GO_TYPE] = "template.Pairs";

  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** The names, in order. */
  Names(): string[] {
    return this.map((p) => p.Name);
  }

  /** The values, in order. */
  Values(): string[] {
    return this.map((p) => p.Value);
  }

  /** "name=value, name=value". */
  String(): string {
    return this.map((p) => `${p.Name}=${p.Value}`).join(", ");
  }
}

/**
 * Alertmanager's `KV` (a `map[string]string` with methods): its own
 * enumerable properties are the entries, so `.CommonLabels.severity` reads
 * one and `range` walks them in key order; methods are on the prototype.
 */
export class KV {
  readonly [STRING_MAP] = true;
  readonly [GO_TYPE] = "template.KV";

  constructor(entries: Readonly<Record<string, string>> = {}) {
    for (const k of Object.keys(entries)) {
      Object.defineProperty(this, k, { value: entries[k], enumerable: true, writable: false, configurable: false });
    }
  }

  /** The entries as a plain record. */
  private record(): Record<string, string> {
    return Object.fromEntries(Object.keys(this).map((k) => [k, (this as unknown as Record<string, string>)[k]!]));
  }

  /** The pairs sorted by name, with `alertname` first when present. */
  SortedPairs(): Pairs {
    const rec = this.record();
    const keys = Object.keys(rec).sort((a, b) => (a === "alertname" ? -1 : b === "alertname" ? 1 : a < b ? -1 : a > b ? 1 : 0));
    const pairs = new Pairs();
    for (const k of keys) pairs.push(new Pair(k, rec[k]!));
    return pairs;
  }

  /** A copy without the given keys. */
  Remove(keys: readonly string[] | null): KV {
    const rec = this.record();
    for (const k of keys ?? []) delete rec[k];
    return new KV(rec);
  }

  /** The sorted names (alertname first). */
  Names(): string[] {
    return this.SortedPairs().Names();
  }

  /** The values in the order of `Names`. */
  Values(): string[] {
    return this.SortedPairs().Values();
  }

  /** "name=value, name=value" in the order of `SortedPairs`. */
  String(): string {
    return this.SortedPairs().String();
  }
}

/** One alert of a notification. */
export class Alert {
  readonly [GO_TYPE] = "template.Alert";
  readonly Status: string;
  readonly Labels: KV;
  readonly Annotations: KV;
  readonly StartsAt: GoTime;
  readonly EndsAt: GoTime;
  readonly GeneratorURL: string;
  readonly Fingerprint: string;

  constructor(a: AlertInput) {
    this.Status = a.status;
    this.Labels = new KV(a.labels);
    this.Annotations = new KV(a.annotations ?? {});
    this.StartsAt = GoTime.fromUnixMillis(a.startsAt);
    this.EndsAt = a.endsAt === undefined ? new GoTime(GO_ZERO_TIME_NANOS) : GoTime.fromUnixMillis(a.endsAt);
    this.GeneratorURL = a.generatorURL ?? "";
    this.Fingerprint = a.fingerprint ?? "";
  }
}

/** The alerts of a notification, with `.Firing` and `.Resolved`. */
export class Alerts extends Array<Alert> {
  readonly [GO_TYPE] = "template.Alerts";

  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** The firing alerts. */
  Firing(): Alert[] {
    return this.filter((a) => a.Status === "firing");
  }

  /** The resolved alerts. */
  Resolved(): Alert[] {
    return this.filter((a) => a.Status === "resolved");
  }
}

/** An alert as the dispatcher hands it over. Times are Unix milliseconds. */
export interface AlertInput {
  status: "firing" | "resolved";
  labels: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  startsAt: number;
  /** Omitted for alerts without an end (Go's zero time). */
  endsAt?: number;
  generatorURL?: string;
  /** The alert's label fingerprint as 16 hex digits (computed by the alertmanager room). */
  fingerprint?: string;
}

/** The `.` of a notification template. */
export class AlertmanagerData {
  readonly [GO_TYPE] = "*template.Data";
  readonly Receiver: string;
  readonly Status: string;
  readonly Alerts: Alerts;
  readonly GroupLabels: KV;
  readonly CommonLabels: KV;
  readonly CommonAnnotations: KV;
  readonly ExternalURL: string;

  constructor(receiver: string, status: string, alerts: Alerts, groupLabels: KV, commonLabels: KV, commonAnnotations: KV, externalURL: string) {
    this.Receiver = receiver;
    this.Status = status;
    this.Alerts = alerts;
    this.GroupLabels = groupLabels;
    this.CommonLabels = commonLabels;
    this.CommonAnnotations = commonAnnotations;
    this.ExternalURL = externalURL;
  }
}

function common(records: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  if (records.length === 0) return {};
  const out: Record<string, string> = { ...records[0] };
  for (const r of records.slice(1)) {
    for (const k of Object.keys(out)) if (r[k] !== out[k]) delete out[k];
  }
  return out;
}

/**
 * Builds notification data as Alertmanager's `Template.Data` does: the
 * receiver name regexp-quoted, status "firing" if any alert fires, and the
 * labels and annotations common to all alerts.
 *
 * @example
 * const data = newAlertmanagerData("team-x", { alertname: "Down" },
 *   [{ status: "firing", labels: { alertname: "Down", job: "node" }, startsAt: 0 }], "http://am:9093");
 * // {{ .CommonLabels.job }} → "node"; {{ len .Alerts.Firing }} → "1"
 */
export function newAlertmanagerData(receiver: string, groupLabels: Readonly<Record<string, string>>, alerts: readonly AlertInput[], externalURL: string): AlertmanagerData {
  const list = new Alerts();
  for (const a of alerts) list.push(new Alert(a));
  const status = alerts.some((a) => a.status === "firing") ? "firing" : "resolved";
  return new AlertmanagerData(
    quoteMeta(receiver),
    status,
    list,
    new KV(groupLabels),
    new KV(common(alerts.map((a) => a.labels))),
    new KV(common(alerts.map((a) => a.annotations ?? {}))),
    externalURL,
  );
}

const TIME = { name: "time.Time", test: (v: unknown) => v instanceof GoTime };

/**
 * Alertmanager's template functions. `now` gives the current time in
 * milliseconds (for `since`); tests pass a fixed clock.
 */
export function alertmanagerFuncs(now: () => number = Date.now): FuncMap {
  return {
    toUpper: typedFunc(["string"], (s: string) => s.toUpperCase()),
    toLower: typedFunc(["string"], (s: string) => s.toLowerCase()),
    title: typedFunc(["string"], (s: string) => titleCase(s, true)),
    trimSpace: typedFunc(["string"], (s: string) => s.replace(/^[\s\u0085]+|[\s\u0085]+$/gu, "")),
    join: typedFunc(["string", "[]string"], (sep: string, s: string[] | null) => (s ?? []).join(sep)),
    match: typedFunc(["string", "string"], matchString),
    safeHtml: typedFunc(["string"], (s: string) => s),
    safeUrl: typedFunc(["string"], (s: string) => s),
    urlUnescape: typedFunc(["string"], (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, " "));
      } catch {
        throw new Error(`invalid URL escape ${JSON.stringify(s)}`);
      }
    }),
    reReplaceAll: typedFunc(["string", "string", "string"], replaceAllString),
    stringSlice: typedFunc([], (...s: string[]) => s, "string"),
    date: typedFunc(["string", TIME], (layout: string, t: GoTime) => t.Format(layout)),
    tz: typedFunc(["string", TIME], (name: string, t: GoTime) => t.In(loadLocation(name))),
    since: typedFunc([TIME], (t: GoTime) => new GoDuration(BigInt(Math.round(now() * 1e6)) - t.unixNanos)),
    humanizeDuration: typedFunc(["any"], humanizeDuration),
    toJson: typedFunc(["any"], (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x instanceof GoTime ? x.Format("2006-01-02T15:04:05.999999999Z07:00") : x))),
  };
}

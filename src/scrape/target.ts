/**
 * Targets: turning a discovered label set into the labels and URL of a scrape
 * target by Prometheus's rules, and the per-target health state the targets
 * API shows.
 *
 * Label population order (Prometheus's `PopulateLabels`): group labels, then
 * the target's own labels; then defaults when absent — `job`,
 * `__scrape_interval__`, `__scrape_timeout__`, `__metrics_path__`,
 * `__scheme__`, `__param_<name>` (first value of each `params` entry); then
 * `relabel_configs`; then `__meta_*` labels are removed and `instance`
 * defaults to `__address__`. Labels starting with `__` never reach series.
 */
import { formatDuration, parseDuration } from "../config/index.ts";
import { labelsHash, relabel, type Label, type Labels } from "../model/index.ts";
import type { ActiveTarget, ScrapeJobConfig, TargetHealth } from "./types.ts";

/** The outcome of label population for one discovered target. */
export type PopulatedTarget =
  | { kind: "active"; labels: Labels; discovered: Labels }
  | { kind: "dropped"; discovered: Labels; error?: string };

function mergeInto(m: Map<string, string>, ls: Labels): void {
  for (const l of ls) m.set(l.name, l.value);
}

function sortedLabels(m: Map<string, string>): Labels {
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== "") out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Computes a target's labels from its group's labels and its own, following
 * Prometheus's rules (see the module comment). Relabeling may drop the
 * target; a missing address or a bad interval/timeout makes it invalid.
 *
 * @example
 * populateTargetLabels([], labelsFromRecord({ __address__: "h:9100" }), cfg);
 * // { kind: "active", labels: {__address__, __metrics_path__, __scheme__, …, instance: "h:9100", job: cfg.job_name} }
 */
export function populateTargetLabels(groupLabels: Labels, targetLabels: Labels, cfg: ScrapeJobConfig): PopulatedTarget {
  const m = new Map<string, string>();
  mergeInto(m, groupLabels);
  mergeInto(m, targetLabels);
  const defaults: [string, string][] = [
    ["job", cfg.job_name],
    ["__scrape_interval__", formatDuration(cfg.scrape_interval)],
    ["__scrape_timeout__", formatDuration(cfg.scrape_timeout)],
    ["__metrics_path__", cfg.metrics_path],
    ["__scheme__", cfg.scheme],
  ];
  for (const [name, value] of defaults) if (!m.get(name)) m.set(name, value);
  for (const [name, values] of Object.entries(cfg.params ?? {})) {
    const ln = `__param_${name}`;
    if (!m.get(ln) && values.length > 0) m.set(ln, values[0]!);
  }
  const discovered = sortedLabels(m);
  const relabeled = relabel(discovered, cfg.relabel_configs, { nameValidation: cfg.metric_name_validation_scheme ?? "utf8" });
  if (relabeled === null) return { kind: "dropped", discovered };
  const out = new Map<string, string>();
  for (const l of relabeled) if (!l.name.startsWith("__meta_")) out.set(l.name, l.value);
  const address = out.get("__address__") ?? "";
  if (address === "") return { kind: "dropped", discovered, error: "no address" };
  if (address.includes("/")) return { kind: "dropped", discovered, error: `${JSON.stringify(address)} is not a valid hostname` };
  let interval: number, timeout: number;
  try {
    interval = parseDuration(out.get("__scrape_interval__") ?? "");
  } catch (e) {
    return { kind: "dropped", discovered, error: `error parsing scrape interval: ${(e as Error).message}` };
  }
  try {
    timeout = parseDuration(out.get("__scrape_timeout__") ?? "");
  } catch (e) {
    return { kind: "dropped", discovered, error: `error parsing scrape timeout: ${(e as Error).message}` };
  }
  if (interval === 0) return { kind: "dropped", discovered, error: "scrape interval cannot be 0" };
  if (timeout === 0) return { kind: "dropped", discovered, error: "scrape timeout cannot be 0" };
  if (timeout > interval) {
    return {
      kind: "dropped",
      discovered,
      error: `scrape timeout cannot be greater than scrape interval (${JSON.stringify(formatDuration(timeout))} > ${JSON.stringify(formatDuration(interval))})`,
    };
  }
  if (!out.get("instance")) out.set("instance", address);
  return { kind: "active", labels: sortedLabels(out), discovered };
}

/**
 * One scrape target: its full label set (with `__` labels), derived URL and
 * settings, and the health state its loop updates after every scrape.
 */
export class Target {
  /** Labels without `__`-prefixed names: added to every scraped series. */
  readonly publicLabels: Labels;
  readonly url: string;
  readonly interval: number;
  readonly timeout: number;
  /** Stable identity within a pool: the URL and all labels, `__` ones included. */
  readonly key: string;
  health: TargetHealth = "unknown";
  lastError = "";
  lastScrape = 0;
  lastScrapeDuration = 0;

  constructor(readonly labels: Labels, readonly discoveredLabels: Labels, readonly pool: string, params: Readonly<Record<string, readonly string[]>> | undefined) {
    this.publicLabels = labels.filter((l) => !l.name.startsWith("__"));
    const get = (n: string): string => labels.find((l) => l.name === n)?.value ?? "";
    this.interval = parseDuration(get("__scrape_interval__"));
    this.timeout = parseDuration(get("__scrape_timeout__"));
    this.url = targetURL(labels, params);
    this.key = this.url + "\u0000" + JSON.stringify(labels.map((l) => [l.name, l.value]));
  }

  /**
   * Delay (ms) before the first scrape so that this target's scrapes land at
   * a stable phase within the interval, derived from its label hash — the
   * same spreading Prometheus does so targets are not all scraped at once.
   */
  offset(nowMs: number): number {
    const phase = labelsHash(this.labels) % this.interval;
    return (phase - (nowMs % this.interval) + this.interval) % this.interval;
  }

  /** A snapshot for the targets API. */
  info(): ActiveTarget {
    return {
      discoveredLabels: this.discoveredLabels,
      labels: this.publicLabels,
      scrapePool: this.pool,
      scrapeUrl: this.url,
      globalUrl: this.url,
      lastError: this.lastError,
      lastScrape: this.lastScrape,
      lastScrapeDuration: this.lastScrapeDuration,
      health: this.health,
      scrapeInterval: this.interval,
      scrapeTimeout: this.timeout,
    };
  }
}

/** Builds `scheme://address/path?params`; `__param_*` labels override the first value of a param. */
export function targetURL(labels: Labels, params: Readonly<Record<string, readonly string[]>> | undefined): string {
  const q = new Map<string, string[]>();
  for (const [k, v] of Object.entries(params ?? {})) q.set(k, [...v]);
  let scheme = "http", address = "", path = "/metrics";
  for (const l of labels) {
    if (l.name === "__scheme__") scheme = l.value;
    else if (l.name === "__address__") address = l.value;
    else if (l.name === "__metrics_path__") path = l.value;
    else if (l.name.startsWith("__param_")) {
      const k = l.name.slice("__param_".length);
      const vs = q.get(k);
      if (vs && vs.length > 0) vs[0] = l.value;
      else q.set(k, [l.value]);
    }
  }
  const parts: string[] = [];
  for (const k of [...q.keys()].sort()) {
    for (const v of q.get(k)!) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  if (!path.startsWith("/")) path = "/" + path;
  return `${scheme}://${address}${path}${parts.length ? "?" + parts.join("&") : ""}`;
}

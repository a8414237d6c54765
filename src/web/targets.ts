/**
 * The scrape-target endpoints of Prometheus's HTTP API, as a Hono sub-app
 * mounted at /api/v1 beside the query API: `/targets`, `/targets/metadata`
 * and `/scrape_pools`, answering in Prometheus's JSON shapes. Also the
 * aggregation that feeds `/api/v1/metadata` from per-target metadata.
 *
 * Handlers only read a {@link TargetsSource} (the server's scrape service);
 * they hold no scrape logic.
 */
import { Hono } from "hono";
import { formatDuration } from "../config/index.ts";
import { type Labels, type Matcher } from "../model/index.ts";
import type { ActiveTarget, DroppedTarget } from "../scrape/index.ts";
import { ApiError, goJSON, handleForm, labelsJSON, type MetricMetadata, parseMetricSelector, type RequestForm, successResponse } from "./api/index.ts";

/** The metadata of one metric as a target exposed it (`# TYPE`, `# HELP`, `# UNIT`). */
export interface TargetMetricMetadata {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

/** An active target with the metadata of the metrics it exposed in its last scrapes. */
export interface TargetWithMetadata {
  target: ActiveTarget;
  metadata: readonly TargetMetricMetadata[];
}

/**
 * What the target endpoints read. `targetsMetadata` is optional: without it
 * `/targets/metadata` and `/metadata` answer with no entries.
 */
export interface TargetsSource {
  activeTargets(): ActiveTarget[];
  droppedTargets(): DroppedTarget[];
  /** The scrape pools (jobs) of the configuration in effect. */
  scrapePools(): string[];
  targetsMetadata?(): TargetWithMetadata[];
}

/**
 * How scrape URLs on this host are rewritten into `globalUrl`s (Prometheus's
 * GlobalURLOptions): the --web.listen-address port, and the host ("name:port")
 * and scheme of --web.external-url.
 */
export interface GlobalURLOptions {
  listenPort: string;
  host: string;
  scheme: string;
}

/** Options of {@link targetsAPI}. */
export interface TargetsAPIOptions {
  /** Without it `globalUrl` equals `scrapeUrl`. */
  globalURL?: GlobalURLOptions;
}

const LOCALHOST_NAMES = new Set(["127.0.0.1", "localhost", "::1"]);

/** Go's net.SplitHostPort for "host:port" / "[v6]:port"; null when there is no port. */
function splitHostPort(hostPort: string): [string, string] | null {
  if (hostPort.startsWith("[")) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(hostPort);
    return m ? [m[1]!, m[2]!] : null;
  }
  const i = hostPort.lastIndexOf(":");
  if (i < 0 || hostPort.indexOf(":") !== i) return null;
  return [hostPort.slice(0, i), hostPort.slice(i + 1)];
}

/**
 * The URL under which a target is reachable from elsewhere, as Prometheus
 * computes it: a target on a loopback name and on this server's own port is
 * this server, so it gets the external scheme and host; another loopback
 * target gets the external hostname with its own port. Other URLs, and URLs
 * that cannot be split, stay as they are.
 *
 * @example
 * globalURL("http://localhost:9100/metrics", { listenPort: "9090", host: "prom.example:9090", scheme: "https" });
 * // "http://prom.example:9100/metrics"
 */
export function globalURL(scrapeUrl: string, opts: GlobalURLOptions): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(scrapeUrl);
  if (!m) return scrapeUrl;
  const [, scheme, hostPort, rest] = m;
  const split = splitHostPort(hostPort!);
  if (!split || !LOCALHOST_NAMES.has(split[0])) return scrapeUrl;
  if (split[1] === opts.listenPort) return `${opts.scheme}://${opts.host}${rest}`;
  const external = splitHostPort(opts.host);
  if (!external) return scrapeUrl;
  const host = external[0].includes(":") ? `[${external[0]}]` : external[0];
  return `${scheme}://${host}:${split[1]}${rest}`;
}

/**
 * A time as Go's RFC3339Nano in UTC: fraction without trailing zeros, and
 * "0001-01-01T00:00:00Z" (Go's zero time) for a target never scraped (0).
 *
 * @example rfc3339Nano(1700000000120) // "2023-11-14T22:13:20.12Z"
 */
export function rfc3339Nano(ms: number): string {
  if (ms === 0) return "0001-01-01T00:00:00Z";
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d+)Z$/, (_, frac: string) => {
    const trimmed = frac.replace(/0+$/, "");
    return trimmed === "" ? "Z" : `.${trimmed}Z`;
  });
}

/** Groups items by scrape pool, pools in sorted order (as Prometheus sorts the pool keys). */
function byPool<T extends { scrapePool: string }>(items: readonly T[], onlyPool: string): T[] {
  const pools = new Map<string, T[]>();
  for (const it of items) {
    if (onlyPool !== "" && it.scrapePool !== onlyPool) continue;
    let list = pools.get(it.scrapePool);
    if (!list) pools.set(it.scrapePool, (list = []));
    list.push(it);
  }
  return [...pools.keys()].sort().flatMap((k) => pools.get(k)!);
}

function activeTargetJSON(t: ActiveTarget, opts: TargetsAPIOptions): string {
  const global = opts.globalURL ? globalURL(t.scrapeUrl, opts.globalURL) : t.scrapeUrl;
  return `{"discoveredLabels":${labelsJSON(t.discoveredLabels)},"labels":${labelsJSON(t.labels)},` +
    `"scrapePool":${goJSON(t.scrapePool)},"scrapeUrl":${goJSON(t.scrapeUrl)},"globalUrl":${goJSON(global)},` +
    `"lastError":${goJSON(t.lastError)},"lastScrape":${goJSON(rfc3339Nano(t.lastScrape))},` +
    `"lastScrapeDuration":${goJSON(t.lastScrapeDuration)},"health":${goJSON(t.health)},` +
    `"scrapeInterval":${goJSON(formatDuration(t.scrapeInterval))},"scrapeTimeout":${goJSON(formatDuration(t.scrapeTimeout))}}`;
}

/** GET /targets: `state` (active, dropped, any; default any) and `scrapePool` filter. */
function targets(source: TargetsSource, form: RequestForm, opts: TargetsAPIOptions): Response {
  const pool = form.get("scrapePool");
  const state = form.get("state").toLowerCase();
  const showActive = state === "" || state === "any" || state === "active";
  const showDropped = state === "" || state === "any" || state === "dropped";
  const active = showActive ? byPool(source.activeTargets(), pool).map((t) => activeTargetJSON(t, opts)) : [];
  let dropped: string[] = [];
  let counts = "null";
  if (showDropped) {
    const all = source.droppedTargets();
    const perPool = new Map<string, number>(source.scrapePools().map((p) => [p, 0]));
    for (const d of all) perPool.set(d.scrapePool, (perPool.get(d.scrapePool) ?? 0) + 1);
    counts = `{${[...perPool.keys()].sort().map((k) => `${goJSON(k)}:${perPool.get(k)}`).join(",")}}`;
    dropped = byPool(all, pool).map((d) => `{"discoveredLabels":${labelsJSON(d.discoveredLabels)}}`);
  }
  return successResponse(`{"activeTargets":[${active.join(",")}],"droppedTargets":[${dropped.join(",")}],"droppedTargetCounts":${counts}}`);
}

function matchesAll(ls: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => m.matches(ls.find((l) => l.name === m.name)?.value ?? ""));
}

function parseLimit(form: RequestForm): number {
  const s = form.get("limit");
  if (s === "") return -1;
  if (!/^[+-]?\d+$/.test(s)) throw new ApiError("bad_data", "limit must be a number");
  return Number(s);
}

function metadataEntryJSON(labels: Labels, md: TargetMetricMetadata, withMetric: boolean): string {
  const metric = withMetric && md.metric !== "" ? `"metric":${goJSON(md.metric)},` : "";
  return `{"target":${labelsJSON(labels)},${metric}"type":${goJSON(md.type)},"help":${goJSON(md.help)},"unit":${goJSON(md.unit)}}`;
}

/**
 * GET /targets/metadata: `match_target` (a series selector over target
 * labels), `metric`, `limit`. As in Prometheus, `limit` is checked before
 * each target, so the last target's entries may go past it.
 */
function targetMetadata(source: TargetsSource, form: RequestForm): Response {
  const limit = parseLimit(form);
  const matchTarget = form.get("match_target");
  let matchers: Matcher[] = [];
  if (matchTarget !== "") {
    try {
      matchers = parseMetricSelector(matchTarget);
    } catch (e) {
      throw new ApiError("bad_data", e instanceof Error ? e.message : String(e));
    }
  }
  const metric = form.get("metric");
  const out: string[] = [];
  const withMetadata = source.targetsMetadata?.() ?? [];
  for (const { target, metadata } of byPool(withMetadata.map((w) => ({ ...w, scrapePool: w.target.scrapePool })), "")) {
    if (limit >= 0 && out.length >= limit) break;
    if (!matchesAll(target.labels, matchers)) continue;
    for (const md of metadata) {
      if (metric !== "" && md.metric !== metric) continue;
      out.push(metadataEntryJSON(target.labels, md, metric === ""));
      if (metric !== "") break;
    }
  }
  return successResponse(`[${out.join(",")}]`);
}

/** GET /scrape_pools: the configured pools, sorted. */
function scrapePools(source: TargetsSource): Response {
  return successResponse(`{"scrapePools":${goJSON([...source.scrapePools()].sort())}}`);
}

/**
 * The metadata of every scraped metric by name, distinct entries only, for
 * the query API's `/metadata` (its ApiContext `metadata` hook).
 *
 * @example
 * apiV1({ ...ctx, metadata: () => metricMetadataByName(scraping) });
 */
export function metricMetadataByName(source: TargetsSource): Map<string, MetricMetadata[]> {
  const out = new Map<string, MetricMetadata[]>();
  const seen = new Set<string>();
  for (const { metadata } of source.targetsMetadata?.() ?? []) {
    for (const md of metadata) {
      const key = JSON.stringify([md.metric, md.type, md.help, md.unit]);
      if (seen.has(key)) continue;
      seen.add(key);
      let list = out.get(md.metric);
      if (!list) out.set(md.metric, (list = []));
      list.push({ type: md.type, help: md.help, unit: md.unit });
    }
  }
  return out;
}

/**
 * The target routes, relative to /api/v1.
 *
 * @example
 * const v1 = new Hono();
 * v1.route("/", targetsAPI(scraping, { globalURL: { listenPort: "9090", host: "prom:9090", scheme: "http" } }));
 * await v1.request("/targets?state=active");
 */
export function targetsAPI(source: TargetsSource, opts: TargetsAPIOptions = {}): Hono {
  const app = new Hono();
  app.get("/targets", handleForm((form) => targets(source, form, opts)));
  app.get("/targets/metadata", handleForm((form) => targetMetadata(source, form)));
  app.get("/scrape_pools", handleForm(() => scrapePools(source)));
  return app;
}

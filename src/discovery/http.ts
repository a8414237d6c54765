/**
 * http_sd: GETs a JSON list of target groups from `url` every
 * `refresh_interval`, as Prometheus's discovery/http. Each group is labeled
 * `__meta_url` and sourced `<url>:<index>`; groups that disappear from the
 * list are reported empty so their targets go away. A failed request
 * (network error, non-200, wrong Content-Type, bad JSON) keeps the last
 * targets and counts prometheus_sd_http_failures_total.
 */
import type { HTTPSDConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { checkHTTPClientConfig, readBodyLimited, sdRequestInit, type SDHTTPClientConfig } from "./httpclient.ts";
import { httpSDMetrics, refreshMetrics, type HTTPSDMetrics, type RefreshMetrics } from "./metrics.ts";
import { runRefreshLoop } from "./refresh.ts";
import { decodeTargetGroups } from "./targetgroup.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** Prometheus's http_sd default refresh interval (1m). */
export const DEFAULT_HTTP_SD_REFRESH_MS = 60_000;

/** Largest response body accepted from an http_sd endpoint. */
export const HTTP_SD_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

const JSON_CONTENT_TYPE = /^application\/json(;\s*charset=("utf-8"|utf-8))?$/i;

/** What http_sd reads from its config (the config room's `HTTPSDConfig` fits). */
export type HTTPSDOptions = Pick<HTTPSDConfig, "url"> & Partial<Pick<HTTPSDConfig, "refresh_interval">> & SDHTTPClientConfig;

/**
 * One http_sd_configs entry.
 *
 * @example
 * const d = new HTTPDiscoverer({ url: "http://127.0.0.1:8000/sd", refresh_interval: 60_000 }, { logger });
 * void d.run((groups) => console.log(groups), controller.signal);
 */
export class HTTPDiscoverer implements Discoverer {
  private readonly url: string;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly metrics: HTTPSDMetrics;
  private readonly refreshMetrics: RefreshMetrics;
  private readonly fetch: typeof fetch;
  private lastGroupCount = 0;

  /** Throws on an invalid URL or unsupported client settings. */
  constructor(private readonly cfg: HTTPSDOptions, opts: DiscovererOptions) {
    let parsed: URL;
    try {
      parsed = new URL(cfg.url);
    } catch {
      throw new Error(`http_sd: invalid url ${JSON.stringify(cfg.url)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`http_sd: URL scheme must be 'http' or 'https': ${cfg.url}`);
    if (parsed.host === "") throw new Error(`http_sd: host is missing in URL ${cfg.url}`);
    checkHTTPClientConfig(cfg, "http_sd");
    this.url = cfg.url;
    this.intervalMs = cfg.refresh_interval ?? DEFAULT_HTTP_SD_REFRESH_MS;
    if (!(this.intervalMs > 0)) throw new Error(`http_sd: refresh_interval must be positive, got ${this.intervalMs}ms`);
    this.logger = opts.logger.with({ discovery: "http", url: cfg.url });
    this.metrics = httpSDMetrics(opts.registry);
    this.refreshMetrics = refreshMetrics(opts.registry, "http");
    this.fetch = opts.fetch ?? fetch;
  }

  /** See {@link Discoverer.run}. */
  run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    return runRefreshLoop({
      refresh: async (s) => {
        const start = performance.now();
        try {
          return await this.refresh(s);
        } finally {
          this.refreshMetrics.duration.observe((performance.now() - start) / 1000);
        }
      },
      intervalMs: this.intervalMs,
      update,
      signal,
      logger: this.logger,
      onFailure: () => {
        this.metrics.failures.inc();
        this.refreshMetrics.failures.inc();
      },
    });
  }

  /** One request; the groups to report (with empty ones for groups that vanished). */
  async refresh(signal: AbortSignal): Promise<TargetGroup[]> {
    const headers = {
      Accept: "application/json",
      "User-Agent": "promts",
      "X-Prometheus-Refresh-Interval-Seconds": String(this.intervalMs / 1000),
    };
    // A request still unanswered when the next one is due has failed.
    const reqSignal = AbortSignal.any([signal, AbortSignal.timeout(this.intervalMs)]);
    const res = await this.fetch(this.url, sdRequestInit(this.cfg, headers, reqSignal));
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
    }
    const contentType = res.headers.get("Content-Type") ?? "";
    if (!JSON_CONTENT_TYPE.test(contentType)) {
      await res.body?.cancel();
      throw new Error(`unsupported content type ${JSON.stringify(contentType)}`);
    }
    const text = await readBodyLimited(res, HTTP_SD_BODY_LIMIT_BYTES, this.url);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error(`${this.url}: invalid JSON: ${(e as Error).message}`);
    }
    const groups = decodeTargetGroups(data, this.url, this.url, { __meta_url: this.url });
    const count = groups.length;
    for (let i = count; i < this.lastGroupCount; i++) groups.push({ source: `${this.url}:${i}`, targets: [], labels: [] });
    this.lastGroupCount = count;
    return groups;
  }
}

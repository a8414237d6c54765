/**
 * A scrape loop: the I/O shell around `TargetSeries` for one target. It
 * scrapes on a fixed schedule (phase from the target's label hash), fetches
 * with timeout, auth, TLS and a body size limit, appends the body and the
 * report series, and updates the target's health.
 *
 * Stopping a loop for good ("retire": the target or its pool went away)
 * writes staleness markers for its series after the next two scheduled
 * scrapes would have happened, as Prometheus does, so a target that comes
 * straight back does not flap. Stopping for shutdown writes no markers.
 */
import { httpRequestInit } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { WALWriteError, type Appender } from "../tsdb/index.ts";
import type { ScrapeMetrics } from "./metrics.ts";
import { BodySizeLimitError, readBody, type RawBody } from "./body.ts";
import type { ScrapeJob, ScrapeScheduler } from "./scheduler.ts";
import { TargetSeries, type AppendSettings, type BodyAppendResult } from "./series.ts";
import type { Target } from "./target.ts";
import type { ScrapeJobConfig } from "./types.ts";

/** What every loop shares: storage, metrics, logging, clock and the set of retiring loops. */
export interface LoopDeps {
  appender: () => Appender;
  metrics: ScrapeMetrics;
  logger: Logger;
  /** Wall clock in ms for sample timestamps. */
  now: () => number;
  /** Loops waiting to write end-of-run staleness markers; `ScrapeManager.stop` cancels them. */
  retiring: Set<ScrapeLoop>;
  /** Set on shutdown: loops stopping afterwards schedule no staleness markers. */
  shuttingDown: boolean;
  /** Shares the event loop between the loops' parsing and appending. */
  scheduler: ScrapeScheduler;
}

/** How a loop stops: "retire" writes end-of-run staleness markers later, "shutdown" does not. */
export type StopMode = "retire" | "shutdown";

const PROTOCOL_MEDIA_TYPES: Readonly<Record<string, string>> = {
  "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
  "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
  "PrometheusText1.0.0": "text/plain;version=1.0.0",
  "PrometheusText0.0.4": "text/plain;version=0.0.4",
};

const DEFAULT_PROTOCOLS = ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"];

/**
 * The Accept header for the configured scrape protocols, weighted as
 * Prometheus does (first protocol highest, then `*` / `*` lowest). Protobuf is
 * not supported and is left out.
 *
 * @example
 * acceptHeader(["PrometheusText0.0.4"]); // "text/plain;version=0.0.4;q=0.2,*\/*;q=0.1"
 */
export function acceptHeader(protocols: readonly string[] | undefined): string {
  const known = (protocols && protocols.length > 0 ? protocols : DEFAULT_PROTOCOLS).filter((p) => PROTOCOL_MEDIA_TYPES[p]);
  const list = known.length > 0 ? known : ["PrometheusText0.0.4"];
  let weight = list.length + 1;
  const parts = list.map((p) => `${PROTOCOL_MEDIA_TYPES[p]};q=0.${weight--}`);
  parts.push(`*/*;q=0.${weight}`);
  return parts.join(",");
}

/** The append settings a job config implies. */
export function appendSettings(cfg: ScrapeJobConfig): AppendSettings {
  return {
    honorLabels: cfg.honor_labels,
    honorTimestamps: cfg.honor_timestamps,
    trackTimestampsStaleness: cfg.track_timestamps_staleness ?? false,
    sampleLimit: cfg.sample_limit,
    labelLimit: cfg.label_limit,
    labelNameLengthLimit: cfg.label_name_length_limit,
    labelValueLengthLimit: cfg.label_value_length_limit,
    metricRelabel: cfg.metric_relabel_configs,
    nameValidation: cfg.metric_name_validation_scheme ?? "utf8",
  };
}

/** One target's scrape schedule and state. */
export class ScrapeLoop {
  readonly series: TargetSeries;
  private accept: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private staleTimer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private abort = new AbortController();
  private stopped = false;
  private nextAt = 0;
  private lastStartReal = 0;
  private lastTs = 0;

  constructor(readonly target: Target, private cfg: ScrapeJobConfig, private readonly deps: LoopDeps, series?: TargetSeries) {
    this.series = series ?? new TargetSeries(target.publicLabels, appendSettings(cfg));
    this.accept = acceptHeader(cfg.scrape_protocols);
  }

  /** Applies a reloaded job config to this running loop (same target); flushes the series cache. */
  reconfigure(cfg: ScrapeJobConfig): void {
    this.cfg = cfg;
    this.accept = acceptHeader(cfg.scrape_protocols);
    this.series.reconfigure(this.target.publicLabels, appendSettings(cfg));
  }

  /** Schedules the first scrape at this target's phase in the interval, then one per interval. */
  start(): void {
    const delay = this.target.offset(this.deps.now());
    this.nextAt = performance.now() + delay;
    this.timer = setTimeout(this.tick, delay);
  }

  private readonly tick = async (): Promise<void> => {
    this.timer = null;
    if (this.stopped) return;
    this.running = this.scrapeOnce().catch((e) => {
      this.deps.logger.error("Scrape loop failed", { target: this.target.url, err: e });
    });
    await this.running;
    this.running = null;
    if (this.stopped) return;
    const interval = this.target.interval;
    const now = performance.now();
    this.nextAt += interval;
    while (this.nextAt <= now) this.nextAt += interval;
    this.timer = setTimeout(this.tick, this.nextAt - now);
  };

  /**
   * Stops scraping: cancels the timer, aborts an in-flight scrape and waits
   * for it. With "retire", end-of-run staleness markers are written later.
   */
  async stop(mode: StopMode): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    if (this.running) await this.running;
    if (mode === "retire" && this.lastTs > 0) this.scheduleEndOfRunStaleness();
  }

  /** Drops pending end-of-run staleness markers (server shutdown). */
  cancelStaleness(): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = null;
    this.deps.retiring.delete(this);
  }

  private scheduleEndOfRunStaleness(): void {
    if (this.deps.shuttingDown) return;
    const interval = this.target.interval;
    const untilNext = Math.max(0, this.nextAt - performance.now());
    const staleTs = Math.max(this.lastTs + 1, Math.round(this.deps.now() + untilNext));
    this.deps.retiring.add(this);
    this.staleTimer = setTimeout(() => {
      this.staleTimer = null;
      this.deps.retiring.delete(this);
      try {
        const app = this.deps.appender();
        this.series.appendStaleAll(app, staleTs);
        this.series.appendReportStale(app, staleTs);
      } catch (e) {
        this.deps.logger.warn("Stale append failed", { target: this.target.url, err: e });
      }
    }, untilNext + interval + interval / 10);
  }

  /** Performs one scrape now: fetch, append, report, health. The schedule calls it; tests may too. */
  async scrapeOnce(): Promise<void> {
    const { metrics, logger } = this.deps;
    const target = this.target;
    const ts = Math.round(this.deps.now());
    const startReal = performance.now();
    if (this.lastStartReal > 0) {
      metrics.intervalLength.get([target.labels.find((l) => l.name === "__scrape_interval__")?.value ?? ""]).observe((startReal - this.lastStartReal) / 1000);
    }
    this.lastStartReal = startReal;
    let result: BodyAppendResult | null = null;
    let error = "";
    const job = this.deps.scheduler.job();
    try {
      const { body, contentType } = await this.fetchBody(job);
      if (this.stopped) return;
      result = await this.series.appendRaw(this.deps.appender, body, contentType, ts, job, this.abort.signal);
      if (this.stopped) return;
      if (result.error !== null) error = result.error;
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof WALWriteError) {
        // Storage refused the samples (disk full): the target is still up, as in Prometheus,
        // where the scrape succeeded and only the commit failed.
        logger.error("Scrape commit failed", { scrape_pool: target.pool, target: target.url, err: e.message });
        this.finish(ts, startReal, "");
        return;
      }
      error = (e as Error).message;
      if (e instanceof BodySizeLimitError) metrics.exceededBodySizeLimit.inc();
      try {
        await this.series.appendStaleAllPaused(this.deps.appender, ts, job);
      } catch (appendErr) {
        logger.warn("Stale append failed", { target: target.url, err: appendErr });
      }
    }
    if (result) {
      if (result.exceeded === "sample") metrics.exceededSampleLimit.inc();
      if (result.exceeded === "label") metrics.exceededLabelLimits.inc();
      if (result.outOfOrder) metrics.sampleOutOfOrder.inc(result.outOfOrder);
      if (result.duplicate) metrics.sampleDuplicate.inc(result.duplicate);
      if (result.outOfBounds) metrics.sampleOutOfBounds.inc(result.outOfBounds);
    }
    const duration = (performance.now() - startReal) / 1000;
    try {
      this.series.appendReport(this.deps.appender(), ts, {
        up: error === "" ? 1 : 0,
        durationSeconds: duration,
        scraped: result?.scraped ?? 0,
        postRelabel: result?.postRelabel ?? 0,
        added: result?.added ?? 0,
      });
    } catch (e) {
      logger.warn("Appending scrape report failed", { target: target.url, err: e });
    }
    if (error !== "") logger.debug("Scrape failed", { scrape_pool: target.pool, target: target.url, err: error });
    this.finish(ts, startReal, error);
  }

  /** Records the scrape's outcome on the target. */
  private finish(ts: number, startReal: number, error: string): void {
    const target = this.target;
    this.lastTs = ts;
    target.health = error === "" ? "up" : "down";
    target.lastError = error;
    target.lastScrape = ts;
    target.lastScrapeDuration = (performance.now() - startReal) / 1000;
  }

  private requestHeaders(): Headers {
    const cfg = this.cfg;
    const h = new Headers({
      Accept: this.accept,
      "User-Agent": "promts",
      "X-Prometheus-Scrape-Timeout-Seconds": String(this.target.timeout / 1000),
    });
    // Like Prometheus: gzip or nothing. The body is decompressed here (see body.ts), not by the HTTP client.
    h.set("Accept-Encoding", cfg.enable_compression === false ? "identity" : "gzip");
    return h;
  }

  /**
   * Fetches the target and reads its body within the scrape timeout (the
   * parse and append that follow are not timed, as in Prometheus); throws an
   * Error whose message is what the targets page shows.
   */
  private async fetchBody(job: ScrapeJob): Promise<{ body: RawBody; contentType: string }> {
    const url = this.target.url;
    const timeout = AbortSignal.timeout(this.target.timeout);
    const signal = AbortSignal.any([this.abort.signal, timeout]);
    const failure = (e: unknown): Error => new Error(`Get ${JSON.stringify(url)}: ${timeout.aborted ? "context deadline exceeded" : (e as Error).message}`);
    let res: Response;
    try {
      // decompress: false (a Bun fetch option) hands over the body as sent; see readBody.
      res = await fetch(url, { ...httpRequestInit(this.cfg, { headers: this.requestHeaders(), signal }), decompress: false } as RequestInit);
    } catch (e) {
      throw failure(e);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`server returned HTTP status ${res.status} ${res.statusText}`.trimEnd());
    }
    const contentType = res.headers.get("content-type") ?? "";
    try {
      return { body: await readBody(res.body, res.headers.get("content-encoding"), this.cfg.body_size_limit, job), contentType };
    } catch (e) {
      if (e instanceof BodySizeLimitError) throw e;
      throw failure(e);
    }
  }
}

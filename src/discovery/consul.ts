/**
 * Consul catalog service discovery, as Prometheus's `consul_sd_configs`.
 *
 * Unless `services` lists every service to watch (and no `tags` are set),
 * the service list is watched with a blocking query on
 * /v1/catalog/services; each service that passes the `services` and
 * `tags` filters gets its own watcher, a blocking query on
 * /v1/health/service/:name (the health endpoint, as Prometheus uses, so
 * `__meta_consul_health` can be set). Each watcher reports one target group
 * whose source is the service name; a service that disappears from the list
 * is reported as a group without targets.
 *
 * Blocking queries follow Consul's rules for `X-Consul-Index`: an unchanged
 * index means the wait timed out (nothing reported), an index that went
 * backwards is reset to 0, and an index of 0 is treated as 1. Between two
 * queries a watcher waits until `refresh_interval` has passed since the
 * previous one started (Prometheus's ticker). Failed requests are counted,
 * logged and retried with exponential backoff; the last reported targets
 * stay until Consul answers again.
 *
 * @example
 * const d = new ConsulDiscoverer(cfg.scrape_configs[0].consul_sd_configs[0], { logger });
 * d.run((groups) => console.log(groups.map((g) => g.source)), ac.signal);
 */
import type { ConsulSDConfig } from "../config/index.ts";
import { labelsFromRecord, type Counter, type Labels, type Registry } from "../model/index.ts";
import { checkHTTPClientConfig, readBodyLimited, sdRequestInit } from "./httpclient.ts";
import { sharedMetrics } from "./metrics.ts";
import { sleepUnlessAborted } from "./refresh.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** Prometheus's blocking-query wait. */
export const CONSUL_WATCH_TIMEOUT_MS = 2 * 60_000;
/** Prometheus's retry interval after a failed request; here the cap of the exponential backoff. */
export const CONSUL_RETRY_INTERVAL_MS = 15_000;
const INITIAL_BACKOFF_MS = 500;
const MAX_RESPONSE_BYTES = 64 << 20;

const META = "__meta_consul_";

/** Options beyond the common ones, for tests and tuning. */
export interface ConsulDiscovererOptions extends DiscovererOptions {
  /** The `wait` of blocking queries; default {@link CONSUL_WATCH_TIMEOUT_MS}. */
  watchTimeoutMs?: number;
  /** The longest pause between retries of a failing request; default {@link CONSUL_RETRY_INTERVAL_MS}. */
  retryIntervalMs?: number;
  /** The first pause after a failure, doubled on each further failure; default 500ms. */
  initialBackoffMs?: number;
}

/** One node running one instance of a service, as /v1/health/service/:name returns it (the fields used here). */
export interface ConsulHealthEntry {
  Node: { Node: string; Address: string; Meta?: Record<string, string> | null; TaggedAddresses?: Record<string, string> | null };
  Service: { ID: string; Service: string; Tags?: string[] | null; Address: string; Port: number; Meta?: Record<string, string> | null; Namespace?: string; Partition?: string };
  Checks?: { CheckID: string; Status: string }[] | null;
}

/** Replaces every character not allowed in a legacy label name with "_", as Prometheus's strutil.SanitizeLabelName. */
function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * A service instance's overall health as Consul's HealthChecks.AggregatedStatus:
 * maintenance beats critical beats warning beats passing; no checks is
 * passing; an unknown status makes it "".
 */
export function aggregatedHealth(checks: readonly { CheckID: string; Status: string }[]): string {
  let warning = false, critical = false, maintenance = false;
  for (const c of checks) {
    if (c.CheckID === "_node_maintenance" || c.CheckID.startsWith("_service_maintenance:")) {
      maintenance = true;
      continue;
    }
    if (c.Status === "passing") continue;
    if (c.Status === "warning") warning = true;
    else if (c.Status === "critical") critical = true;
    else return "";
  }
  return maintenance ? "maintenance" : critical ? "critical" : warning ? "warning" : "passing";
}

function joinHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** The target labels of one health entry, exactly as Prometheus builds them. */
export function consulTargetLabels(e: ConsulHealthEntry, tagSeparator: string): Labels {
  const tags = e.Service.Tags ?? [];
  const l: Record<string, string> = {
    __address__: joinHostPort(e.Service.Address !== "" ? e.Service.Address : e.Node.Address, e.Service.Port),
    [META + "address"]: e.Node.Address,
    [META + "node"]: e.Node.Node,
    [META + "namespace"]: e.Service.Namespace ?? "",
    [META + "partition"]: e.Service.Partition ?? "",
    // Separators at both ends let relabeling regexes match ",tag," anywhere.
    [META + "tags"]: tagSeparator + tags.join(tagSeparator) + tagSeparator,
    [META + "service_address"]: e.Service.Address,
    [META + "service_port"]: String(e.Service.Port),
    [META + "service_id"]: e.Service.ID,
    [META + "health"]: aggregatedHealth(e.Checks ?? []),
  };
  for (const [k, v] of Object.entries(e.Node.Meta ?? {})) l[META + "metadata_" + sanitizeLabelName(k)] = v;
  for (const [k, v] of Object.entries(e.Service.Meta ?? {})) l[META + "service_metadata_" + sanitizeLabelName(k)] = v;
  for (const [k, v] of Object.entries(e.Node.TaggedAddresses ?? {})) l[META + "tagged_address_" + sanitizeLabelName(k)] = v;
  return labelsFromRecord(l);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkHealthEntries(data: unknown, where: string): ConsulHealthEntry[] {
  if (!Array.isArray(data)) throw new Error(`${where}: expected a JSON list`);
  data.forEach((e, i) => {
    if (!isRecord(e) || !isRecord(e.Node) || !isRecord(e.Service)) throw new Error(`${where}: entry ${i}: expected an object with Node and Service`);
    const { Node: n, Service: s } = e;
    if (typeof n.Node !== "string" || typeof n.Address !== "string") throw new Error(`${where}: entry ${i}: Node.Node and Node.Address must be strings`);
    if (typeof s.ID !== "string" || typeof s.Address !== "string" || typeof s.Port !== "number") {
      throw new Error(`${where}: entry ${i}: Service.ID, Service.Address and Service.Port are required`);
    }
    if (s.Tags != null && (!Array.isArray(s.Tags) || s.Tags.some((t) => typeof t !== "string"))) throw new Error(`${where}: entry ${i}: Service.Tags must be a list of strings`);
    for (const [what, m] of [["Node.Meta", n.Meta], ["Service.Meta", s.Meta], ["Node.TaggedAddresses", n.TaggedAddresses]] as const) {
      if (m != null && (!isRecord(m) || Object.values(m).some((v) => typeof v !== "string"))) throw new Error(`${where}: entry ${i}: ${what} must map strings to strings`);
    }
    if (e.Checks != null && (!Array.isArray(e.Checks) || e.Checks.some((c) => !isRecord(c) || typeof c.CheckID !== "string" || typeof c.Status !== "string"))) {
      throw new Error(`${where}: entry ${i}: Checks must be a list of {CheckID, Status}`);
    }
  });
  return data as ConsulHealthEntry[];
}

function checkServiceList(data: unknown, where: string): Record<string, string[]> {
  if (!isRecord(data)) throw new Error(`${where}: expected a JSON object of service names to tags`);
  for (const [name, tags] of Object.entries(data)) {
    if (tags !== null && (!Array.isArray(tags) || tags.some((t) => typeof t !== "string"))) throw new Error(`${where}: service ${JSON.stringify(name)}: tags must be a list of strings`);
  }
  return data as Record<string, string[]>;
}

/**
 * The index to send with the next blocking query, given the previous one and
 * the `X-Consul-Index` just received: reset to 0 when it went backwards,
 * and at least 1 otherwise (Consul's documented client rules).
 */
export function nextConsulIndex(previous: number, received: number): number {
  if (received < previous) return 0;
  return Math.max(received, 1);
}

interface ConsulMetrics {
  rpcFailures: Counter;
  rpcDuration: ReturnType<Registry["histogramVec"]>;
}

function consulMetrics(registry: Registry | undefined): ConsulMetrics {
  return sharedMetrics(registry, "consul", (r) => ({
    rpcFailures: r.counter("prometheus_sd_consul_rpc_failures_total", "The number of Consul RPC call failures."),
    // A histogram here; Prometheus exports a summary under the same name.
    rpcDuration: r.histogramVec("prometheus_sd_consul_rpc_duration_seconds", "The duration of a Consul RPC call in seconds.", ["endpoint", "call"]),
  }));
}

/** Grows a pause from the initial value up to a cap on consecutive failures; resets on success. */
class Backoff {
  private failures = 0;
  constructor(private readonly initialMs: number, private readonly maxMs: number) {}
  next(): number {
    const ms = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return ms;
  }
  reset(): void {
    this.failures = 0;
  }
}

/** Watches a Consul catalog; see the module comment. */
export class ConsulDiscoverer implements Discoverer {
  private readonly cfg: ConsulSDConfig;
  private readonly opts: ConsulDiscovererOptions;
  private readonly fetchFn: typeof fetch;
  private readonly metrics: ConsulMetrics;
  private readonly baseURL: string;
  private readonly watchTimeoutMs: number;
  private readonly retryIntervalMs: number;
  private readonly initialBackoffMs: number;
  private datacenter: string | undefined;

  constructor(cfg: ConsulSDConfig, opts: ConsulDiscovererOptions) {
    checkHTTPClientConfig(cfg, "consul_sd_config");
    if (cfg.scheme !== "http" && cfg.scheme !== "https") throw new Error(`consul_sd_config: scheme must be http or https, got ${JSON.stringify(cfg.scheme)}`);
    const base = `${cfg.scheme}://${cfg.server}${cfg.path_prefix ?? ""}`.replace(/\/+$/, "");
    if (!URL.canParse(base)) throw new Error(`consul_sd_config: invalid server ${JSON.stringify(cfg.server)} (with path_prefix ${JSON.stringify(cfg.path_prefix ?? "")})`);
    this.cfg = cfg;
    this.opts = opts;
    this.baseURL = base;
    this.fetchFn = opts.fetch ?? fetch;
    this.metrics = consulMetrics(opts.registry);
    this.watchTimeoutMs = opts.watchTimeoutMs ?? CONSUL_WATCH_TIMEOUT_MS;
    this.retryIntervalMs = opts.retryIntervalMs ?? CONSUL_RETRY_INTERVAL_MS;
    this.initialBackoffMs = Math.min(opts.initialBackoffMs ?? INITIAL_BACKOFF_MS, this.retryIntervalMs);
    this.datacenter = cfg.datacenter || undefined;
  }

  /** Watches until `signal` aborts. Never throws. */
  async run(consumer: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    // A throwing consumer must not end a watcher (run never throws).
    const update = (groups: TargetGroup[]) => {
      try {
        consumer(groups);
      } catch (err) {
        this.opts.logger.error("Target group consumer failed", { err });
      }
    };
    const datacenter = await this.initialize(signal);
    if (datacenter === undefined) return;
    const services = this.cfg.services ?? [];
    if (services.length === 0 || (this.cfg.tags ?? []).length > 0) {
      await this.watchCatalog(update, datacenter, signal);
      return;
    }
    await Promise.all(services.map((name) => this.watchService(name, datacenter, update, signal)));
  }

  /** The datacenter for labels: configured, else the agent's (/v1/agent/self), retried until known. */
  private async initialize(signal: AbortSignal): Promise<string | undefined> {
    const backoff = new Backoff(this.initialBackoffMs, this.retryIntervalMs);
    while (!signal.aborted) {
      if (this.datacenter !== undefined) return this.datacenter;
      try {
        const { body } = await this.get("/v1/agent/self", new URLSearchParams(), signal, 30_000);
        const dc = isRecord(body) && isRecord(body.Config) ? body.Config.Datacenter : undefined;
        if (typeof dc !== "string" || dc === "") throw new Error(`invalid value ${JSON.stringify(dc)} for Config.Datacenter`);
        this.datacenter = dc;
      } catch (err) {
        if (signal.aborted) return undefined;
        this.metrics.rpcFailures.inc();
        this.opts.logger.error("Error retrieving datacenter name", { err });
        await sleepUnlessAborted(backoff.next(), signal);
      }
    }
    return undefined;
  }

  /** Query parameters every read carries. */
  private baseParams(): URLSearchParams {
    const p = new URLSearchParams();
    if (this.cfg.datacenter) p.set("dc", this.cfg.datacenter);
    if (this.cfg.namespace) p.set("ns", this.cfg.namespace);
    if (this.cfg.partition) p.set("partition", this.cfg.partition);
    if (this.cfg.allow_stale) p.set("stale", "");
    for (const [k, v] of Object.entries(this.cfg.node_meta ?? {})) p.append("node-meta", `${k}:${v}`);
    if (this.cfg.filter) p.set("filter", this.cfg.filter);
    return p;
  }

  private blockingParams(index: number): URLSearchParams {
    const p = this.baseParams();
    if (index > 0) {
      p.set("index", String(index));
      p.set("wait", `${this.watchTimeoutMs}ms`);
    }
    return p;
  }

  /** One GET; returns the decoded JSON and the X-Consul-Index header, or throws naming the path. */
  private async get(path: string, params: URLSearchParams, signal: AbortSignal, timeoutMs: number): Promise<{ body: unknown; rawIndex: string | null }> {
    const query = params.toString().replace(/=(&|$)/g, "$1");
    const url = `${this.baseURL}${path}${query ? "?" + query : ""}`;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.cfg.token) headers["X-Consul-Token"] = this.cfg.token;
    const res = await this.fetchFn(url, sdRequestInit(this.cfg, headers, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])));
    const text = await readBodyLimited(res, MAX_RESPONSE_BYTES, `consul ${path}`);
    if (res.status !== 200) throw new Error(`consul ${path}: unexpected response code ${res.status} (${text.trim().slice(0, 200)})`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new Error(`consul ${path}: invalid JSON: ${(err as Error).message}`);
    }
    return { body, rawIndex: res.headers.get("X-Consul-Index") };
  }

  /** A blocking GET, timed under prometheus_sd_consul_rpc_duration_seconds{endpoint="catalog",call}. */
  private async blockingGet(path: string, params: URLSearchParams, call: string, signal: AbortSignal): Promise<{ body: unknown; index: number }> {
    const start = performance.now();
    try {
      // Consul may hold a query up to wait + wait/16; allow that and a little more.
      const { body, rawIndex } = await this.get(path, params, signal, this.watchTimeoutMs + this.watchTimeoutMs / 16 + 10_000);
      // Without the index a blocking query cannot block; Consul's own client refuses such answers too.
      if (rawIndex === null || !/^\d+$/.test(rawIndex) || !Number.isSafeInteger(Number(rawIndex))) {
        throw new Error(`consul ${path}: missing or invalid X-Consul-Index header ${JSON.stringify(rawIndex)}`);
      }
      return { body, index: Number(rawIndex) };
    } finally {
      this.metrics.rpcDuration.get(["catalog", call]).observe((performance.now() - start) / 1000);
    }
  }

  private shouldWatch(name: string, tags: readonly string[]): boolean {
    const services = this.cfg.services ?? [];
    if (services.length > 0 && !services.includes(name)) return false;
    return (this.cfg.tags ?? []).every((t) => tags.includes(t));
  }

  /** Pauses until `refresh_interval` has passed since `startedAt` (Prometheus's ticker). */
  private async pace(startedAt: number, signal: AbortSignal): Promise<void> {
    await sleepUnlessAborted(startedAt + this.cfg.refresh_interval - performance.now(), signal);
  }

  private async watchCatalog(update: (groups: TargetGroup[]) => void, datacenter: string, signal: AbortSignal): Promise<void> {
    const watchers = new Map<string, { stop: AbortController; done: Promise<void> }>();
    const backoff = new Backoff(this.initialBackoffMs, this.retryIntervalMs);
    let index = 0;
    while (!signal.aborted) {
      const startedAt = performance.now();
      let services: Record<string, string[]>;
      let received: number;
      try {
        const res = await this.blockingGet("/v1/catalog/services", this.blockingParams(index), "services", signal);
        services = checkServiceList(res.body, "consul /v1/catalog/services");
        received = res.index;
      } catch (err) {
        if (signal.aborted) break;
        this.metrics.rpcFailures.inc();
        this.opts.logger.error("Error refreshing service list", { err });
        await sleepUnlessAborted(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      if (received !== index || index === 0) {
        index = nextConsulIndex(index, received);
        for (const [name, tags] of Object.entries(services)) {
          if (watchers.has(name) || !this.shouldWatch(name, tags ?? [])) continue;
          const stop = new AbortController();
          const done = this.watchService(name, datacenter, update, AbortSignal.any([signal, stop.signal]));
          watchers.set(name, { stop, done });
        }
        const removed: TargetGroup[] = [];
        for (const [name, w] of watchers) {
          if (name in services) continue;
          this.opts.logger.debug("removing service", { service: name });
          w.stop.abort();
          await w.done;
          watchers.delete(name);
          removed.push({ source: name, targets: [], labels: [] });
        }
        if (removed.length > 0 && !signal.aborted) update(removed);
        // Like Prometheus, say "nothing here" so consumers know discovery ran.
        if (watchers.size === 0 && !signal.aborted) update([{ source: "", targets: [], labels: [] }]);
      }
      await this.pace(startedAt, signal);
    }
    await Promise.all([...watchers.values()].map((w) => w.done));
  }

  private async watchService(name: string, datacenter: string, update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    const groupLabels: Record<string, string> = { [META + "service"]: name, [META + "dc"]: datacenter };
    if (this.cfg.namespace) groupLabels[META + "namespace"] = this.cfg.namespace;
    if (this.cfg.partition) groupLabels[META + "partition"] = this.cfg.partition;
    const labels = labelsFromRecord(groupLabels);
    const path = `/v1/health/service/${encodeURIComponent(name)}`;
    const backoff = new Backoff(this.initialBackoffMs, this.retryIntervalMs);
    let index = 0;
    while (!signal.aborted) {
      const startedAt = performance.now();
      const params = this.blockingParams(index);
      for (const t of this.cfg.tags ?? []) params.append("tag", t);
      let entries: ConsulHealthEntry[];
      let received: number;
      try {
        const res = await this.blockingGet(path, params, "service", signal);
        entries = checkHealthEntries(res.body, `consul ${path}`);
        received = res.index;
      } catch (err) {
        if (signal.aborted) return;
        this.metrics.rpcFailures.inc();
        this.opts.logger.error("Error refreshing service", { service: name, tags: (this.cfg.tags ?? []).join(","), err });
        await sleepUnlessAborted(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      if (received !== index || index === 0) {
        index = nextConsulIndex(index, received);
        const targets = entries.map((e) => consulTargetLabels(e, this.cfg.tag_separator));
        if (!signal.aborted) update([{ source: name, targets, labels }]);
      }
      await this.pace(startedAt, signal);
    }
  }
}

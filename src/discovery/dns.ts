/**
 * dns_sd: resolves each name every `refresh_interval` (SRV by default; A,
 * AAAA, MX or NS with a configured port), as Prometheus's discovery/dns.
 * One group per name, sourced by the name. A name that does not exist (or
 * has no records of the type) yields an empty group, removing its targets;
 * any other lookup error is logged and counted, and the name keeps its last
 * targets.
 */
import { promises as dnsPromises } from "node:dns";
import type { DNSSDConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { labelsFromRecord, type Labels } from "../model/index.ts";
import { dnsSDMetrics, refreshMetrics, type DNSSDMetrics, type RefreshMetrics } from "./metrics.ts";
import { runRefreshLoop } from "./refresh.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** Prometheus's dns_sd default refresh interval (30s). */
export const DEFAULT_DNS_SD_REFRESH_MS = 30_000;

/** The DNS record types dns_sd queries. */
export type DNSRecordType = DNSSDConfig["type"];

/**
 * The lookups dns_sd makes; node:dns's `promises.Resolver` fits. Tests inject
 * their own answers.
 */
export interface DNSResolver {
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolveNs(name: string): Promise<string[]>;
}

/** What dns_sd reads from its config (the config room's `DNSSDConfig` fits). */
export type DNSSDOptions = Pick<DNSSDConfig, "names"> & Partial<Pick<DNSSDConfig, "refresh_interval" | "type" | "port">>;

/** `DiscovererOptions` plus an optional resolver (node:dns by default). */
export interface DNSDiscovererOptions extends DiscovererOptions {
  resolver?: DNSResolver;
}

/** Codes node:dns uses for "no such name" and "no records of that type". */
const NO_ANSWER_CODES = new Set(["ENOTFOUND", "ENODATA"]);

/** host:port with IPv6 literals bracketed, as Go's net.JoinHostPort. */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function trimDot(name: string): string {
  return name.replace(/\.+$/, "");
}

/**
 * One dns_sd_configs entry.
 *
 * @example
 * const d = new DNSDiscoverer({ names: ["_node._tcp.example.com"], type: "SRV" }, { logger });
 * void d.run((groups) => console.log(groups), controller.signal);
 */
export class DNSDiscoverer implements Discoverer {
  private readonly names: readonly string[];
  private readonly type: DNSRecordType;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly metrics: DNSSDMetrics;
  private readonly refreshMetrics: RefreshMetrics;
  private readonly resolver: DNSResolver;
  /** The resolver this discoverer created (and cancels on stop), when none was injected. */
  private readonly ownResolver: InstanceType<typeof dnsPromises.Resolver> | undefined;

  /** Throws when the config is invalid (no names, unknown type, missing port). */
  constructor(cfg: DNSSDOptions, opts: DNSDiscovererOptions) {
    if (!Array.isArray(cfg.names) || cfg.names.length === 0) throw new Error("dns_sd: DNS-SD config must contain at least one SRV record name");
    this.type = cfg.type ?? "SRV";
    if (!["SRV", "A", "AAAA", "MX", "NS"].includes(this.type)) throw new Error(`dns_sd: invalid DNS-SD records type ${JSON.stringify(this.type)}`);
    this.port = cfg.port ?? 0;
    if (this.type !== "SRV" && !(this.port > 0)) throw new Error("dns_sd: a port is required in DNS-SD configs for all record types except SRV");
    this.names = cfg.names;
    this.intervalMs = cfg.refresh_interval ?? DEFAULT_DNS_SD_REFRESH_MS;
    if (!(this.intervalMs > 0)) throw new Error(`dns_sd: refresh_interval must be positive, got ${this.intervalMs}ms`);
    this.logger = opts.logger.with({ discovery: "dns" });
    this.metrics = dnsSDMetrics(opts.registry);
    this.refreshMetrics = refreshMetrics(opts.registry, "dns");
    if (opts.resolver) {
      this.resolver = opts.resolver;
    } else {
      this.ownResolver = new dnsPromises.Resolver();
      this.resolver = this.ownResolver;
    }
  }

  /** See {@link Discoverer.run}. */
  async run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    const cancel = () => this.ownResolver?.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const refresh = async () => {
      const start = performance.now();
      const groups = await this.refresh(signal);
      this.refreshMetrics.duration.observe((performance.now() - start) / 1000);
      return groups;
    };
    try {
      await runRefreshLoop({ refresh, intervalMs: this.intervalMs, update, signal, logger: this.logger });
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  /** Looks every name up; names whose lookup failed are left out (keeping their last targets). */
  async refresh(signal: AbortSignal): Promise<TargetGroup[]> {
    const results = await Promise.all(this.names.map(async (name): Promise<TargetGroup | undefined> => {
      this.metrics.lookups.inc();
      try {
        return { source: name, targets: await this.lookup(name), labels: [] };
      } catch (err) {
        if (NO_ANSWER_CODES.has((err as { code?: string }).code ?? "")) return { source: name, targets: [], labels: [] };
        if (!signal.aborted) {
          this.metrics.lookupFailures.inc();
          this.logger.error("Error refreshing DNS targets", { name, err });
        }
        return undefined;
      }
    }));
    return results.filter((g): g is TargetGroup => g !== undefined);
  }

  private async lookup(name: string): Promise<Labels[]> {
    const resolver = this.resolver;
    const target = (address: string, extra: Record<string, string>) => labelsFromRecord({ __address__: address, __meta_dns_name: name, ...extra });
    switch (this.type) {
      case "SRV":
        return (await resolver.resolveSrv(name)).map((r) => {
          const host = trimDot(r.name);
          return target(joinHostPort(host, r.port), { __meta_dns_srv_record_target: host, __meta_dns_srv_record_port: String(r.port) });
        });
      case "A":
        return (await resolver.resolve4(name)).map((ip) => target(joinHostPort(ip, this.port), {}));
      case "AAAA":
        return (await resolver.resolve6(name)).map((ip) => target(joinHostPort(ip, this.port), {}));
      case "MX":
        return (await resolver.resolveMx(name)).map((r) => {
          const host = trimDot(r.exchange);
          return target(joinHostPort(host, this.port), { __meta_dns_mx_record_target: host });
        });
      case "NS":
        return (await resolver.resolveNs(name)).map((ns) => {
          const host = trimDot(ns);
          return target(joinHostPort(host, this.port), { __meta_dns_ns_record_target: host });
        });
    }
  }
}

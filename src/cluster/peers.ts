/**
 * Where `--cluster.peer` values lead: the addresses to join, re-resolved
 * while the node runs.
 *
 *   host:port                  a name or IP; names are resolved again at
 *                              every refresh, so a peer whose name
 *                              resolves late still joins (alertmanager#1449)
 *   ec2:tag:<Key>=<Value>      the private IPs of the running EC2 instances
 *                              with that tag, at this node's cluster port
 *                              (or the instance's `promts-cluster-port` tag)
 *   consul:<service>           the instances of that Consul service, at
 *                              their registered address and port
 *
 * EC2 reuses src/discovery's EC2 discoverer (region and credentials from
 * AWS_REGION / AWS_ACCESS_KEY_ID… / the shared credentials file / the
 * instance role through IMDS; endpoint AWS_ENDPOINT_URL_EC2 or
 * AWS_ENDPOINT_URL when set). Consul reuses the Consul discoverer against
 * CONSUL_HTTP_ADDR (default `localhost:8500`; `https://` or
 * CONSUL_HTTP_SSL=true for TLS) with CONSUL_HTTP_TOKEN. Both keep watching
 * and report every change, so a new instance joins without a restart.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { ConsulSDConfig, EC2SDConfig } from "../config/index.ts";
import { ConsulDiscoverer, EC2Discoverer, type TargetGroup } from "../discovery/index.ts";
import type { Logger } from "../log/index.ts";
import { labelsToRecord } from "../model/index.ts";
import { joinHostPort, splitHostPort } from "./wire.ts";

/** The instance tag that overrides the cluster port of an `ec2:` peer. */
export const EC2_PORT_TAG = "promts-cluster-port";

export type PeerSpec =
  | { kind: "static"; spec: string; host: string; port: number }
  | { kind: "ec2"; spec: string; tagKey: string; tagValue: string }
  | { kind: "consul"; spec: string; service: string };

/** Parses one `--cluster.peer` value; throws naming what is wrong. */
export function parsePeerSpec(spec: string): PeerSpec {
  const s = spec.trim();
  if (s.startsWith("ec2:")) {
    const m = /^ec2:tag:([^=]+)=(.*)$/.exec(s);
    if (!m || m[1]!.trim() === "") throw new Error(`--cluster.peer=${spec}: expected ec2:tag:<Key>=<Value>`);
    return { kind: "ec2", spec: s, tagKey: m[1]!, tagValue: m[2]! };
  }
  if (s.startsWith("consul:")) {
    const service = s.slice("consul:".length);
    if (service === "" || /[\s/]/.test(service)) throw new Error(`--cluster.peer=${spec}: expected consul:<service>`);
    return { kind: "consul", spec: s, service };
  }
  let hp;
  try {
    hp = splitHostPort(s);
  } catch (err) {
    throw new Error(`--cluster.peer=${spec}: ${(err as Error).message}`);
  }
  if (hp.host === "" || hp.port === 0) throw new Error(`--cluster.peer=${spec}: expected host:port`);
  return { kind: "static", spec: s, host: hp.host, port: hp.port };
}

/** Resolves a host name to IP addresses. */
export type HostResolver = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS). */
export const systemResolver: HostResolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export interface PeerSourcesOptions {
  specs: PeerSpec[];
  /** This node's cluster port: the port of `ec2:` peers. */
  clusterPort: number;
  logger: Logger;
  resolver?: HostResolver;
  /** Environment for AWS_* and CONSUL_* (process.env by default). */
  env?: Record<string, string | undefined>;
  /** How often EC2 is asked again; Consul watches with blocking queries and re-asks at least this often. */
  discoveryRefreshMs: number;
  /** Called when a discovery source reports a change. */
  onChange(): void;
  fetch?: typeof fetch;
}

/** Every peer source of a node: static names resolved on demand, discovery kept running. */
export class PeerSources {
  private readonly opts: PeerSourcesOptions;
  private readonly discovered = new Map<string, string[]>();
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[] = [];

  constructor(opts: PeerSourcesOptions) {
    this.opts = opts;
  }

  /** Starts the discovery sources (ec2:, consul:). */
  start(): void {
    for (const spec of this.opts.specs) {
      if (spec.kind === "static") continue;
      const logger = this.opts.logger.with({ peer_source: spec.spec });
      try {
        const d = spec.kind === "ec2" ? this.ec2(spec, logger) : this.consul(spec, logger);
        this.running.push(d.run((groups) => this.update(spec, groups), this.abort.signal));
      } catch (err) {
        logger.error("Cannot discover cluster peers", { err });
      }
    }
  }

  private ec2(spec: Extract<PeerSpec, { kind: "ec2" }>, logger: Logger): EC2Discoverer {
    const env = this.opts.env ?? process.env;
    const cfg: EC2SDConfig = {
      endpoint: env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || undefined,
      refresh_interval: this.opts.discoveryRefreshMs,
      port: this.opts.clusterPort,
      filters: [{ name: `tag:${spec.tagKey}`, values: [spec.tagValue] }, { name: "instance-state-name", values: ["running"] }],
      tls_config: { insecure_skip_verify: false },
      follow_redirects: true,
      enable_http2: true,
    };
    return new EC2Discoverer(cfg, { logger, env, fetch: this.opts.fetch });
  }

  private consul(spec: Extract<PeerSpec, { kind: "consul" }>, logger: Logger): ConsulDiscoverer {
    const env = this.opts.env ?? process.env;
    let server = env.CONSUL_HTTP_ADDR || "localhost:8500";
    let scheme = /^(1|true)$/i.test(env.CONSUL_HTTP_SSL ?? "") ? "https" : "http";
    const m = /^(https?):\/\/(.*)$/.exec(server);
    if (m) {
      scheme = m[1]!;
      server = m[2]!.replace(/\/+$/, "");
    }
    const cfg: ConsulSDConfig = {
      server, scheme, token: env.CONSUL_HTTP_TOKEN || undefined, services: [spec.service], tag_separator: ",",
      allow_stale: true, refresh_interval: this.opts.discoveryRefreshMs,
      tls_config: { insecure_skip_verify: false }, follow_redirects: true, enable_http2: true,
    };
    return new ConsulDiscoverer(cfg, { logger, fetch: this.opts.fetch, watchTimeoutMs: Math.max(1000, this.opts.discoveryRefreshMs) });
  }

  private update(spec: PeerSpec, groups: TargetGroup[]): void {
    const addrs: string[] = [];
    for (const g of groups) {
      for (const t of g.targets) {
        const rec = labelsToRecord(t);
        let addr = rec.__address__;
        if (!addr) continue;
        const port = rec[`__meta_ec2_tag_${EC2_PORT_TAG.replace(/[^a-zA-Z0-9_]/g, "_")}`];
        if (spec.kind === "ec2" && port && /^\d{1,5}$/.test(port)) {
          try {
            addr = joinHostPort(splitHostPort(addr).host, Number(port));
          } catch {
            continue;
          }
        }
        addrs.push(addr);
      }
    }
    const key = spec.spec;
    const before = (this.discovered.get(key) ?? []).join(",");
    // Consul reports one group per service; EC2 one per region. Either way the latest report is the whole set.
    this.discovered.set(key, addrs.sort());
    if (addrs.join(",") !== before) this.opts.onChange();
  }

  /**
   * Every address to join now: static names resolved again (a name that
   * does not resolve yet is skipped and logged), plus the latest discovery
   * results.
   */
  async resolve(): Promise<string[]> {
    const out = new Set<string>();
    const resolver = this.opts.resolver ?? systemResolver;
    await Promise.all(this.opts.specs.map(async (spec) => {
      if (spec.kind !== "static") {
        for (const a of this.discovered.get(spec.spec) ?? []) out.add(a);
        return;
      }
      if (isIP(spec.host)) {
        out.add(joinHostPort(spec.host, spec.port));
        return;
      }
      try {
        const ips = await resolver(spec.host);
        if (ips.length === 0) throw new Error("no addresses");
        for (const ip of ips) out.add(joinHostPort(ip, spec.port));
      } catch (err) {
        this.opts.logger.warn("Cannot resolve cluster peer; will retry", { peer: spec.spec, err });
      }
    }));
    return [...out].sort();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }
}

/**
 * The server role as one of an HA pair (or more) in a gossip cluster
 * (docs/cluster.md, "The server in a cluster"):
 *
 * - **Gap-free queries.** At startup, before scraping, the interval since
 *   the newest stored sample is remembered ({@link GapStore},
 *   <data>/gaps.json). Queries touching such an interval also read it from
 *   a live peer by remote read (`GapFillQueryable`, merged by the fan-out
 *   queryable with local storage); other queries stay local.
 * - **One remote writer per endpoint.** Each remote_write queue asks the
 *   cluster's election (`WriterElection`) whether it sends.
 *
 * Member metadata this node announces: `web` (its HTTP base URL, where
 * peers remote-read), `ext` (a hash of its external labels: only a peer
 * with the same external labels has the same series) and `rw` (the
 * endpoints it writes to).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ClusterPeer } from "../cluster/index.ts";
import type { PrometheusConfig, RemoteWriteConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Registry } from "../model/index.ts";
import { GapFillQueryable, WriterElection, type GapPeer, type WriteGate } from "../remote/index.ts";
import { MIN_TIME, type Queryable } from "../tsdb/index.ts";
import { announcedWebURL, listenerOf } from "./cluster_component.ts";
import { GapStore } from "./gaps.ts";
import type { ServerComponent } from "./prometheus.ts";
import { effectiveRetention, routePrefix, type ServerFlags } from "./server_flags.ts";

/** Member metadata keys. */
export const WEB_META = "web";
export const EXTERNAL_LABELS_META = "ext";

/** A short hash of a label set, announced so peers with other series are not read from. */
export function externalLabelsHash(labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels).sort().map((k) => [k, labels[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 12);
}

/** The longest scrape interval of a configuration, in ms. */
export function maxScrapeInterval(config: PrometheusConfig): number {
  let max = config.global.scrape_interval;
  for (const sc of config.scrape_configs) if (sc.scrape_interval > max) max = sc.scrape_interval;
  return max;
}

/** The shortest scrape interval of a configuration, in ms. */
export function minScrapeInterval(config: PrometheusConfig): number {
  let min = config.global.scrape_interval;
  for (const sc of config.scrape_configs) if (sc.scrape_interval < min) min = sc.scrape_interval;
  return min;
}

export class HAService {
  readonly election: WriterElection;
  private peer: ClusterPeer | undefined;
  private gapStore: GapStore | undefined;
  private gapFill: GapFillQueryable | undefined;
  private listenURL: string | undefined;
  private externalLabels: Readonly<Record<string, string>> = {};
  private minInterval = 0;
  private readonly log: Logger;

  constructor(private readonly flags: ServerFlags, logger: Logger, private readonly registry: Registry) {
    this.log = logger.with({ component: "ha" });
    this.election = new WriterElection({ registry, logger, claimWaitMs: flags["cluster.gossip-interval"] + 20 });
  }

  /** The HTTP listener's URL (known before components start). */
  setListenURL(url: string): void {
    this.listenURL = url;
    this.announceWeb();
  }

  /** Called with the cluster peer before it joins: registers the replicated state and the metadata. */
  attach(peer: ClusterPeer): void {
    this.peer = peer;
    this.election.attach(peer);
    this.announceWeb();
    peer.setMeta(EXTERNAL_LABELS_META, externalLabelsHash(this.externalLabels));
  }

  private announceWeb(): void {
    const peer = this.peer;
    if (!peer) return;
    const self = peer.members().find((m) => m.name === peer.name);
    if (!self) return;
    const web = { externalURL: this.flags["web.external-url"], routePrefix: routePrefix(this.flags), ...listenerOf(this.listenURL, this.flags["web.listen-address"].port) };
    peer.setMeta(WEB_META, announcedWebURL(web, self.address));
  }

  /**
   * Runs once storage is open and before scraping: remembers the gap since
   * the newest stored sample; on every configuration, announces the
   * external labels and remote_write endpoints.
   */
  readonly component: ServerComponent = (ctx) => {
    if (!this.peer) return; // not clustered: nothing to fill from, nobody to elect
    const store = new GapStore(join(ctx.flags["storage.tsdb.path"], "gaps.json"), this.log);
    this.gapStore = store;
    const head = ctx.db.head().maxTime();
    const blocks = ctx.db.blocks();
    const blockMax = blocks.length > 0 ? Math.max(...blocks.map((b) => b.maxTime - 1)) : MIN_TIME;
    const last = Math.max(head, blockMax);
    store.recordStart(last === MIN_TIME ? undefined : last, Date.now(), maxScrapeInterval(ctx.config), effectiveRetention(ctx.flags).timeMs);
    this.registry.gaugeFunc("promts_ha_gaps", "Intervals when this node was down that it remembers (queries over them read from a cluster peer).", () => store.gaps().length);
    this.gapFill = new GapFillQueryable({
      local: ctx.db,
      gaps: () => store.gaps(),
      peers: () => this.livePeers(),
      externalLabels: () => this.externalLabels,
      registry: this.registry,
    });
    ctx.reloadHooks.push((config) => {
      this.externalLabels = config.global.external_labels ?? {};
      this.peer?.setMeta(EXTERNAL_LABELS_META, externalLabelsHash(this.externalLabels));
      // A node that comes back becomes a candidate writer only once its first scrapes are in.
      this.election.setAnnounceDelay(maxScrapeInterval(config) + 1000);
      this.minInterval = minScrapeInterval(config);
      this.election.setEndpoints(config.remote_write.map((rw) => rw.url));
    });
  };

  /** Alive peers announcing a web URL and the same external labels, by name. */
  livePeers(): GapPeer[] {
    const peer = this.peer;
    if (!peer) return [];
    const ext = externalLabelsHash(this.externalLabels);
    return peer.members()
      .filter((m) => m.name !== peer.name && m.state === "alive" && m.meta[WEB_META] && (m.meta[EXTERNAL_LABELS_META] ?? ext) === ext)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((m) => ({ name: m.name, url: m.meta[WEB_META]!.replace(/\/+$/, "") }));
  }

  /** What the fan-out queryable adds for gaps (nothing without a cluster). */
  readQueryables(): Queryable[] {
    return this.peer && this.gapFill ? [this.gapFill] : [];
  }

  /** The election gate of a remote_write queue (none without a cluster: every queue sends). */
  writeGate(cfg: RemoteWriteConfig, name: string): WriteGate | undefined {
    // A writer that hears another (lower-named) writer's claims holds back until they stop for two batch deadlines.
    // Samples up to half the shortest scrape interval past the last writer's claim are its scrape interval.
    return this.peer ? this.election.gate(cfg.url, name, { yieldMs: 2 * cfg.queue_config.batch_send_deadline + 1000, marginMs: this.minInterval / 2 }) : undefined;
  }
}

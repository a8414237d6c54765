/**
 * The cluster peer: Alertmanager's `cluster.Peer` on top of the SWIM engine
 * (./memberlist.ts). It holds the replicated states and their broadcast
 * channels, joins the initial peers, re-joins failed peers every reconnect
 * interval until the reconnect timeout, re-resolves the configured peers
 * (names, ec2:, consul:) and joins new ones, settles, and exports
 * Alertmanager's cluster metrics.
 *
 * Rules this file owns (documented in docs/cluster.md):
 * - position(): index of this node among the members that are alive or
 *   suspect (memberlist's Members(), as Alertmanager), sorted by name.
 * - settle(): Alertmanager's Peer.Settle — poll every 10 × gossip interval;
 *   settled once the member count was the same for 3 consecutive polls after
 *   the first; gives up after --cluster.settle-timeout.
 * - inMinority(): this node sees (alive or suspect, itself included) fewer than half of
 *   the last stable membership. The stable membership grows to the member
 *   count once that count held for 3 settle polls; it shrinks when members
 *   leave gracefully, or when a smaller count held for `stableShrinkMs`
 *   (default 10 minutes) — so a partition keeps the minority side in the
 *   minority, while after real deaths the survivors stop counting the dead
 *   after that window. 1 of 2 is exactly half, so a pair is never a minority.
 */
import { networkInterfaces } from "node:os";
import { isIP } from "node:net";
import type { Logger } from "../log/index.ts";
import type { Counter, Gauge, Histogram, Registry } from "../model/index.ts";
import { readClusterKeyFile } from "./key.ts";
import { BroadcastQueue, Memberlist, MEMBERLIST_DEFAULTS, retransmitLimit, type MemberNode } from "./memberlist.ts";
import { parsePeerSpec, PeerSources, type HostResolver } from "./peers.ts";
import type { ClusterChannel, ClusterMember, ClusterPeer, ClusterState, ClusterStatus } from "./types.ts";
import { DROP_REASONS, encodeMessage, joinHostPort, MAX_META_BYTES, cborEncode, splitHostPort, type DropReason } from "./wire.ts";

/** Alertmanager's defaults. */
export const CLUSTER_DEFAULTS = {
  listenAddress: "0.0.0.0:9094",
  peerTimeoutMs: 15_000,
  gossipIntervalMs: 200,
  pushPullIntervalMs: 60_000,
  tcpTimeoutMs: 10_000,
  probeTimeoutMs: 500,
  probeIntervalMs: 1_000,
  settleTimeoutMs: 60_000,
  reconnectIntervalMs: 10_000,
  reconnectTimeoutMs: 6 * 3_600_000,
  /** Alertmanager's DefaultRefreshInterval: how often configured peers are resolved again. */
  refreshIntervalMs: 15_000,
  /** How often ec2: peers are listed again (Consul watches). */
  discoveryRefreshMs: 30_000,
  stableShrinkMs: 10 * 60_000,
} as const;

/** Alertmanager's maxQueueSize of gossip messages; older ones are pruned. */
const MAX_QUEUED_MESSAGES = 4096;
/** Alertmanager's oversized-message queue length. */
const OVERSIZE_QUEUE = 200;
/** Settle polls needed with an unchanged member count (Alertmanager's NumOkayRequired). */
const SETTLE_OKAY_REQUIRED = 3;

/** The --cluster.* settings; durations in milliseconds. */
export interface ClusterOptions {
  /** host:port to listen on (UDP and TCP); port 0 picks a free one. */
  listenAddress: string;
  /** host:port to advertise; derived from the listen address when empty. */
  advertiseAddress?: string;
  /** --cluster.peer values: host:port, ec2:tag:K=V, consul:service. */
  peers?: string[];
  /** --cluster.peer-name; a fresh ULID when empty, as Alertmanager. */
  peerName?: string;
  gossipIntervalMs?: number;
  pushPullIntervalMs?: number;
  tcpTimeoutMs?: number;
  probeTimeoutMs?: number;
  probeIntervalMs?: number;
  settleTimeoutMs?: number;
  reconnectIntervalMs?: number;
  reconnectTimeoutMs?: number;
  /** --cluster.label. */
  label?: string;
  /** --cluster.key-file (see ./key.ts for the accepted forms). */
  keyFile?: string;
  /** The key itself (instead of keyFile). */
  key?: Uint8Array;
  refreshIntervalMs?: number;
  discoveryRefreshMs?: number;
  stableShrinkMs?: number;
  /** Host name resolution for host:port peers (the system resolver by default). */
  resolver?: HostResolver;
  /** Environment for ec2:/consul: peers (process.env by default). */
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

/** A {@link ClusterPeer} that can be joined and inspected. */
export interface Cluster extends ClusterPeer {
  /** The advertised host:port. */
  readonly address: string;
  /** Joins the configured peers (logging, not throwing, when none answers) and starts the background loops and settling. */
  join(): Promise<number>;
  /** Joins the given addresses now; resolves with how many answered. */
  joinAddresses(addrs: string[]): Promise<number>;
  /** Members that failed and are being reconnected to. */
  failedPeers(): string[];
  /** The last stable membership size the minority rule compares against. */
  stableMembers(): number;
  /** Stops without announcing a leave (a crash, for tests). */
  stop(): Promise<void>;
}

interface Metrics {
  joined: Counter;
  left: Counter;
  updated: Counter;
  reconnections: Counter;
  reconnectionsFailed: Counter;
  refreshJoin: Counter;
  refreshJoinFailed: Counter;
  received: { get(v: readonly string[]): Counter };
  receivedSize: { get(v: readonly string[]): Counter };
  sent: { get(v: readonly string[]): Counter };
  sentSize: { get(v: readonly string[]): Counter };
  pruned: Counter;
  alive: { get(v: readonly string[]): Counter };
  pings: { get(v: readonly string[]): Histogram };
  dropped: { get(v: readonly string[]): Counter };
  peerInfo: { get(v: readonly string[]): Gauge };
  oversizeSent: { get(v: readonly string[]): Counter };
  oversizeFailed: { get(v: readonly string[]): Counter };
  oversizeDropped: { get(v: readonly string[]): Counter };
  oversizeDuration: { get(v: readonly string[]): Histogram };
}

function registerMetrics(reg: Registry, peer: ClusterPeerImpl): Metrics {
  reg.gaugeFunc("alertmanager_cluster_members", "Number indicating current number of members in cluster.", () => peer.numMembers());
  reg.gaugeFunc("alertmanager_cluster_failed_peers", "Number indicating the current number of failed peers in the cluster.", () => peer.failedPeers().length);
  reg.gaugeFunc("alertmanager_cluster_health_score", "Health score of the cluster. Lower values are better and zero means 'totally healthy'.", () => peer.healthScore());
  reg.gaugeFunc("alertmanager_cluster_messages_queued", "Number of cluster messages which are queued.", () => peer.queued());
  reg.gaugeFunc("alertmanager_peer_position", "Position the Alertmanager instance believes it's in. The position determines a peer's behavior in the cluster.", () => peer.position());
  const m: Metrics = {
    joined: reg.counter("alertmanager_cluster_peers_joined_total", "A counter of the number of peers that have joined."),
    left: reg.counter("alertmanager_cluster_peers_left_total", "A counter of the number of peers that have left."),
    updated: reg.counter("alertmanager_cluster_peers_update_total", "A counter of the number of peers that have updated metadata."),
    reconnections: reg.counter("alertmanager_cluster_reconnections_total", "A counter of the number of cluster peer reconnections."),
    reconnectionsFailed: reg.counter("alertmanager_cluster_reconnections_failed_total", "A counter of the number of failed cluster peer reconnection attempts."),
    refreshJoin: reg.counter("alertmanager_cluster_refresh_join_total", "A counter of the number of cluster peer joined via refresh."),
    refreshJoinFailed: reg.counter("alertmanager_cluster_refresh_join_failed_total", "A counter of the number of failed cluster peer joined attempts via refresh."),
    received: reg.counterVec("alertmanager_cluster_messages_received_total", "Total number of cluster messages received.", ["msg_type"]),
    receivedSize: reg.counterVec("alertmanager_cluster_messages_received_size_total", "Total size of cluster messages received.", ["msg_type"]),
    sent: reg.counterVec("alertmanager_cluster_messages_sent_total", "Total number of cluster messages sent.", ["msg_type"]),
    sentSize: reg.counterVec("alertmanager_cluster_messages_sent_size_total", "Total size of cluster messages sent.", ["msg_type"]),
    pruned: reg.counter("alertmanager_cluster_messages_pruned_total", "Total number of cluster messages pruned."),
    alive: reg.counterVec("alertmanager_cluster_alive_messages_total", "Total number of received alive messages.", ["peer"]),
    pings: reg.histogramVec("alertmanager_cluster_pings_seconds", "Histogram of latencies for ping messages.", ["peer"], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5]),
    dropped: reg.counterVec("promts_cluster_packets_dropped_total", "Cluster packets and messages dropped, by reason (too_large, malformed, decrypt, unencrypted, label, state).", ["reason"]),
    peerInfo: reg.gaugeVec("alertmanager_cluster_peer_info", "A metric with a constant '1' value labeled by peer name.", ["peer"]),
    oversizeSent: reg.counterVec("alertmanager_oversized_gossip_message_sent_total", "Number of oversized gossip message sent.", ["key"]),
    oversizeFailed: reg.counterVec("alertmanager_oversized_gossip_message_failure_total", "Number of oversized gossip message sends that failed.", ["key"]),
    oversizeDropped: reg.counterVec("alertmanager_oversized_gossip_message_dropped_total", "Number of oversized gossip messages that were dropped due to a full message queue.", ["key"]),
    oversizeDuration: reg.histogramVec("alertmanager_oversize_gossip_message_duration_seconds", "Duration of oversized gossip message requests.", ["key"]),
  };
  for (const t of ["full_state", "update"]) {
    m.received.get([t]);
    m.receivedSize.get([t]);
    m.sent.get([t]);
    m.sentSize.get([t]);
  }
  for (const r of [...DROP_REASONS, "state"]) m.dropped.get([r]);
  return m;
}

/** A fresh ULID (Crockford base32: 48-bit time, 80 random bits), Alertmanager's default peer name. */
export function newULID(now = Date.now()): string {
  const A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let out = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = A[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const r = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 16; i++) out += A[r[i]! % 32];
  return out;
}

function isWildcard(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** A private IPv4 of this host (Alertmanager's advertise-address discovery), else any non-loopback one, else 127.0.0.1. */
export function privateIP(): string {
  const all = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined && !a.internal && a.family === "IPv4");
  const priv = all.find((a) => /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a!.address));
  return (priv ?? all[0])?.address ?? "127.0.0.1";
}

interface FailedPeer {
  name: string;
  addr: string;
  since: number;
}

class ClusterPeerImpl implements Cluster {
  readonly name: string;
  private readonly opts: Required<Pick<ClusterOptions, "gossipIntervalMs" | "settleTimeoutMs" | "reconnectIntervalMs" | "reconnectTimeoutMs" | "refreshIntervalMs" | "stableShrinkMs" | "pushPullIntervalMs">>;
  private readonly logger: Logger;
  private readonly ml: Memberlist;
  private readonly metrics: Metrics;
  private readonly states = new Map<string, ClusterState>();
  private readonly userQueue: BroadcastQueue;
  private readonly listeners = new Set<() => void>();
  private readonly failed = new Map<string, FailedPeer>();
  private readonly sources: PeerSources;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private oversize: { key: string; data: Uint8Array }[] = [];
  private oversizeBusy = false;
  private settled: Promise<void> | undefined;
  private ready = false;
  private stopped = false;
  private meta: Record<string, string> = {};
  // Stable membership (inMinority).
  private stableSize = 1;
  private viewSize = 1;
  private viewSince = Date.now();

  constructor(name: string, opts: ClusterPeerImpl["opts"], logger: Logger, registry: Registry, sources: (self: ClusterPeerImpl) => PeerSources, mlFactory: (self: ClusterPeerImpl) => Memberlist) {
    this.name = name;
    this.opts = opts;
    this.logger = logger;
    this.userQueue = new BroadcastQueue(() => retransmitLimit(MEMBERLIST_DEFAULTS.retransmitMult, this.numMembers()));
    this.metrics = registerMetrics(registry, this);
    this.metrics.peerInfo.get([name]).set(1);
    this.ml = mlFactory(this);
    this.sources = sources(this);
  }

  get address(): string {
    return this.ml.addr;
  }

  /** The memberlist delegate. */
  delegate(): import("./memberlist.ts").MemberlistDelegate {
    return {
      localState: () => {
        const out = new Map<string, Uint8Array>();
        let size = 0;
        for (const [k, s] of this.states) {
          try {
            const b = s.marshal();
            out.set(k, b);
            size += b.length;
          } catch (err) {
            this.logger.error("Cannot marshal cluster state", { key: k, err });
          }
        }
        this.metrics.sent.get(["full_state"]).inc();
        this.metrics.sentSize.get(["full_state"]).inc(size);
        return out;
      },
      mergeRemoteState: (states) => {
        let size = 0;
        for (const b of states.values()) size += b.length;
        this.metrics.received.get(["full_state"]).inc();
        this.metrics.receivedSize.get(["full_state"]).inc(size);
        for (const [k, b] of states) this.mergeInto(k, b, "full state");
      },
      notifyUser: (key, data) => {
        this.metrics.received.get(["update"]).inc();
        this.metrics.receivedSize.get(["update"]).inc(data.length);
        this.mergeInto(key, data, "update");
      },
      userBroadcasts: (limit, overhead) => {
        const msgs = this.userQueue.take(limit, overhead);
        for (const m of msgs) {
          this.metrics.sent.get(["update"]).inc();
          this.metrics.sentSize.get(["update"]).inc(m.length);
        }
        return msgs;
      },
      onJoin: (n) => {
        this.metrics.joined.inc();
        this.failed.delete(n.name);
        // A peer known only by its address (its initial join failed) is now this member: not failed any more.
        for (const [k, f] of this.failed) if (f.name === f.addr && f.addr === n.addr) this.failed.delete(k);
        if (n.name !== this.name) this.logger.debug("Cluster peer joined", { peer: n.name, addr: n.addr });
        this.membershipChanged();
      },
      onLeave: (n) => {
        // A dead member later heard to have left is reported again, as left; count it once.
        if (!this.failed.has(n.name) || n.state !== "left") this.metrics.left.inc();
        this.logger.info(n.state === "left" ? "Cluster peer left" : "Cluster peer failed", { peer: n.name, addr: n.addr });
        this.failed.set(n.name, { name: n.name, addr: n.addr, since: Date.now() });
        if (n.state === "left") this.stableSize = Math.max(this.ml.numAlive(), this.stableSize - 1);
        this.membershipChanged();
      },
      onUpdate: () => {
        this.metrics.updated.inc();
        this.notify();
      },
      onAlive: (name) => this.metrics.alive.get([name]).inc(),
      onPing: (name, rtt) => this.metrics.pings.get([name]).observe(rtt),
      onDrop: (reason: DropReason, err: Error) => {
        this.metrics.dropped.get([reason]).inc();
        this.logger.debug("Dropped cluster packet", { reason, err });
      },
    };
  }

  private mergeInto(key: string, data: Uint8Array, what: string): void {
    const s = this.states.get(key);
    if (!s) {
      this.logger.debug("Cluster state for an unknown key; ignored", { key, what });
      return;
    }
    try {
      s.merge(data);
    } catch (err) {
      this.metrics.dropped.get(["state"]).inc();
      this.logger.warn("Cannot merge cluster state", { key, what, err });
    }
  }

  private notify(): void {
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch (err) {
        this.logger.error("Cluster change listener failed", { err });
      }
    }
  }

  private membershipChanged(): void {
    this.observeView();
    this.notify();
  }

  private observeView(): void {
    const n = this.ml?.numAlive?.() ?? 1;
    const now = Date.now();
    if (n !== this.viewSize) {
      this.viewSize = n;
      this.viewSince = now;
    }
    const held = now - this.viewSince;
    if (n > this.stableSize && held >= SETTLE_OKAY_REQUIRED * this.settleInterval()) this.stableSize = n;
    else if (n < this.stableSize && held >= this.opts.stableShrinkMs) this.stableSize = n;
  }

  private settleInterval(): number {
    return this.opts.gossipIntervalMs * 10;
  }

  stableMembers(): number {
    return this.stableSize;
  }

  numMembers(): number {
    return this.ml?.numAlive() ?? 1;
  }

  healthScore(): number {
    return this.ml?.healthScore() ?? 0;
  }

  queued(): number {
    return this.userQueue.length;
  }

  failedPeers(): string[] {
    return [...this.failed.values()].map((f) => f.name);
  }

  // -------------------------------------------------------------------------
  // ClusterPeer

  addState(key: string, state: ClusterState): ClusterChannel {
    if (this.states.has(key)) throw new Error(`cluster state ${JSON.stringify(key)} registered twice`);
    this.states.set(key, state);
    // Alertmanager creates the per-key oversize series with the channel.
    for (const v of [this.metrics.oversizeSent, this.metrics.oversizeFailed, this.metrics.oversizeDropped]) v.get([key]);
    this.metrics.oversizeDuration.get([key]);
    return {
      broadcast: (data: Uint8Array) => {
        if (this.stopped) return;
        const msg = encodeMessage({ t: "user", key, data });
        if (msg.length > this.ml.maxUDPMessage() / 2) {
          this.sendOversize(key, data);
          return;
        }
        this.userQueue.queue(undefined, msg);
        const pruned = this.userQueue.prune(MAX_QUEUED_MESSAGES);
        if (pruned > 0) this.metrics.pruned.inc(pruned);
      },
    };
  }

  /** Oversized broadcasts go to every member over TCP, from a bounded queue (Alertmanager's). */
  private sendOversize(key: string, data: Uint8Array): void {
    if (this.oversize.length >= OVERSIZE_QUEUE) {
      this.metrics.oversizeDropped.get([key]).inc();
      return;
    }
    this.oversize.push({ key, data });
    if (!this.oversizeBusy) void this.drainOversize();
  }

  private async drainOversize(): Promise<void> {
    this.oversizeBusy = true;
    try {
      while (this.oversize.length > 0 && !this.stopped) {
        const { key, data } = this.oversize.shift()!;
        const started = performance.now();
        const targets = this.ml.members().filter((m) => m.name !== this.name && m.state === "alive");
        await Promise.all(targets.map(async (m) => {
          try {
            await this.ml.sendReliable(m.addr, key, data);
            this.metrics.oversizeSent.get([key]).inc();
            this.metrics.sent.get(["update"]).inc();
            this.metrics.sentSize.get(["update"]).inc(data.length);
          } catch (err) {
            this.metrics.oversizeFailed.get([key]).inc();
            this.logger.debug("Oversized cluster message not sent", { peer: m.name, key, err });
          }
        }));
        this.metrics.oversizeDuration.get([key]).observe((performance.now() - started) / 1000);
      }
    } finally {
      this.oversizeBusy = false;
    }
  }

  async syncAhead(timeoutMs: number): Promise<void> {
    const ahead = this.ml.members().filter((m) => m.name < this.name && m.state === "alive");
    if (ahead.length === 0 || this.stopped) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    const syncs = Promise.allSettled(ahead.map((m) => this.ml.pushPull(m.addr, false).catch((err) => {
      this.logger.debug("Cluster push/pull before dedup failed", { peer: m.name, err });
    })));
    await Promise.race([syncs, deadline]);
    clearTimeout(timer);
  }

  position(): number {
    const names = this.ml.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.name).sort();
    return Math.max(0, names.indexOf(this.name));
  }

  members(): ClusterMember[] {
    return this.ml.members().map((m) => ({ name: m.name, address: m.addr, state: m.state, meta: Object.freeze({ ...m.meta }) }));
  }

  setMeta(key: string, value: string): void {
    const next = { ...this.meta, [key]: value };
    const size = cborEncode(next).length;
    if (size > MAX_META_BYTES) throw new Error(`cluster metadata of ${size} bytes exceeds ${MAX_META_BYTES}`);
    this.meta = next;
    this.ml.setMeta(next);
    this.notify();
  }

  settle(signal?: AbortSignal): Promise<void> {
    const base = this.settled ?? new Promise<void>(() => {});
    if (!signal) return base;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      void base.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  private async runSettle(): Promise<void> {
    const started = performance.now();
    const interval = this.settleInterval();
    this.logger.info("Waiting for gossip to settle...", { interval: `${interval}ms` });
    let nPeers = 0;
    let nOkay = 0;
    let polls = 0;
    for (;;) {
      const left = this.opts.settleTimeoutMs - (performance.now() - started);
      if (left <= 0 || this.stopped) {
        this.logger.info("Gossip not settled but continuing anyway", { polls, elapsed: `${Math.round(performance.now() - started)}ms` });
        break;
      }
      await Bun.sleep(Math.min(interval, left));
      if (performance.now() - started >= this.opts.settleTimeoutMs) continue;
      const n = this.numMembers();
      if (nOkay >= SETTLE_OKAY_REQUIRED) {
        this.logger.info("Gossip settled; proceeding", { elapsed: `${Math.round(performance.now() - started)}ms` });
        break;
      }
      if (n === nPeers) {
        nOkay++;
        this.logger.debug("Gossip looks settled", { elapsed: `${Math.round(performance.now() - started)}ms` });
      } else {
        nOkay = 0;
        this.logger.info("Gossip not settled", { polls, before: nPeers, now: n, elapsed: `${Math.round(performance.now() - started)}ms` });
      }
      nPeers = n;
      polls++;
    }
    this.ready = true;
  }

  status(): ClusterStatus {
    return this.ready ? "ready" : "settling";
  }

  inMinority(): boolean {
    this.observeView();
    return this.ml.numAlive() * 2 < this.stableSize;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // -------------------------------------------------------------------------
  // Joining, reconnecting, refreshing

  async joinAddresses(addrs: string[]): Promise<number> {
    let ok = 0;
    await Promise.all(addrs.map(async (a) => {
      try {
        await this.ml.pushPull(a, true);
        ok++;
      } catch (err) {
        this.logger.debug("Cannot join cluster peer", { addr: a, err });
      }
    }));
    return ok;
  }

  private others(addrs: string[]): string[] {
    return addrs.filter((a) => a !== this.address);
  }

  async join(): Promise<number> {
    if (this.settled) throw new Error("cluster already joined");
    this.sources.start();
    const addrs = this.others(await this.sources.resolve());
    const n = addrs.length > 0 ? await this.joinAddresses(addrs) : 0;
    if (addrs.length > 0 && n === 0) {
      this.logger.warn("Failed to join cluster; will keep trying", { peers: addrs.join(",") });
      // As Alertmanager: the initial peers become failed peers, reconnected to.
      for (const a of addrs) this.failed.set(a, { name: a, addr: a, since: Date.now() });
    } else if (addrs.length > 0) {
      this.logger.info("Joined cluster", { peers: n, members: this.numMembers() });
    }
    this.timers.push(setInterval(() => void this.reconnect(), this.opts.reconnectIntervalMs));
    this.timers.push(setInterval(() => void this.refresh(), this.opts.refreshIntervalMs));
    this.timers.push(setInterval(() => this.observeView(), this.settleInterval()));
    this.settled = this.runSettle();
    return n;
  }

  private reconnecting = false;

  private async reconnect(): Promise<void> {
    if (this.stopped || this.reconnecting) return;
    this.reconnecting = true;
    try {
      const now = Date.now();
      for (const f of [...this.failed.values()]) {
        if (now - f.since > this.opts.reconnectTimeoutMs) {
          this.logger.debug("Giving up on failed cluster peer", { peer: f.name, addr: f.addr });
          this.failed.delete(f.name);
          this.ml.forget(f.name);
        }
      }
      await Promise.all([...this.failed.values()].map(async (f) => {
        try {
          await this.ml.pushPull(f.addr, true);
          this.metrics.reconnections.inc();
          this.logger.debug("Reconnected to cluster peer", { peer: f.name, addr: f.addr });
          // A peer known only by its address (initial join failed) is replaced by the member it turned out to be.
          if (f.name === f.addr) this.failed.delete(f.name);
        } catch (err) {
          this.metrics.reconnectionsFailed.inc();
          this.logger.debug("Cannot reconnect to cluster peer", { peer: f.name, addr: f.addr, err });
        }
      }));
    } finally {
      this.reconnecting = false;
    }
  }

  private refreshing = false;

  /** Resolves the configured peers again and joins those that are not members (Alertmanager's refresh). */
  async refresh(): Promise<void> {
    if (this.stopped || this.refreshing) return;
    this.refreshing = true;
    try {
      const known = new Set(this.ml.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.addr));
      const addrs = this.others(await this.sources.resolve()).filter((a) => !known.has(a));
      await Promise.all(addrs.map(async (a) => {
        try {
          await this.ml.pushPull(a, true);
          this.metrics.refreshJoin.inc();
          this.logger.debug("Joined cluster peer on refresh", { addr: a });
        } catch (err) {
          this.metrics.refreshJoinFailed.inc();
          this.logger.debug("Cannot join cluster peer on refresh", { addr: a, err });
        }
      }));
    } finally {
      this.refreshing = false;
    }
  }

  async leave(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.logger.info("Leaving the cluster");
    await this.ml.leave(timeoutMs);
    await this.shutdown();
  }

  async stop(): Promise<void> {
    await this.ml.stop();
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.ready = true;
    await this.sources.stop();
  }
}

/**
 * Creates the cluster peer: reads the key, binds UDP and TCP on the listen
 * address and starts the SWIM engine (probing, gossip, push/pull). Call
 * `join()` next. Throws on bad options (naming the flag) or when the
 * address cannot be bound.
 *
 * @example
 * const peer = await createClusterPeer({ listenAddress: "0.0.0.0:9094", peers: ["am-2:9094"] }, logger, registry);
 * const silences = peer.addState("sil", silenceState);
 * await peer.join();
 * await peer.settle();
 */
export async function createClusterPeer(options: ClusterOptions, logger: Logger, registry: Registry): Promise<Cluster> {
  const d = CLUSTER_DEFAULTS;
  let listen;
  try {
    listen = splitHostPort(options.listenAddress);
  } catch (err) {
    throw new Error(`--cluster.listen-address: ${(err as Error).message}`);
  }
  let advertiseHost = "";
  let advertisePort = 0;
  if (options.advertiseAddress) {
    try {
      const a = splitHostPort(options.advertiseAddress);
      advertiseHost = a.host;
      advertisePort = a.port;
    } catch (err) {
      throw new Error(`--cluster.advertise-address: ${(err as Error).message}`);
    }
  }
  if (advertiseHost === "" || isWildcard(advertiseHost)) advertiseHost = isWildcard(listen.host) ? privateIP() : listen.host;
  if (isIP(advertiseHost) === 0 && advertiseHost !== "") logger.warn("Cluster advertise address is a name, not an IP", { host: advertiseHost });
  const specs = (options.peers ?? []).filter((p) => p.trim() !== "").map(parsePeerSpec);
  const key = options.key ?? (options.keyFile ? readClusterKeyFile(options.keyFile) : undefined);
  if (key && key.length !== 32) throw new Error(`cluster key must be 32 bytes, got ${key.length}`);
  const name = options.peerName || newULID();
  const probeIntervalMs = options.probeIntervalMs ?? d.probeIntervalMs;
  const gossipIntervalMs = options.gossipIntervalMs ?? d.gossipIntervalMs;
  const pushPullIntervalMs = options.pushPullIntervalMs ?? d.pushPullIntervalMs;
  for (const [flag, v] of [["gossip-interval", gossipIntervalMs], ["probe-interval", probeIntervalMs], ["pushpull-interval", pushPullIntervalMs]] as const) {
    if (!(v > 0)) throw new Error(`--cluster.${flag} must be positive, got ${v}ms`);
  }
  const clusterLogger = logger.with({ component: "cluster" });
  // Alertmanager: retransmit multiplier of half the initial peers, at least 3.
  const retransmitMult = Math.max(3, Math.floor(specs.length / 2));
  let ml: Memberlist | undefined;
  let boundPort = 0;
  const peer = new ClusterPeerImpl(name, {
    gossipIntervalMs,
    pushPullIntervalMs,
    settleTimeoutMs: options.settleTimeoutMs ?? d.settleTimeoutMs,
    reconnectIntervalMs: options.reconnectIntervalMs ?? d.reconnectIntervalMs,
    reconnectTimeoutMs: options.reconnectTimeoutMs ?? d.reconnectTimeoutMs,
    refreshIntervalMs: options.refreshIntervalMs ?? d.refreshIntervalMs,
    stableShrinkMs: options.stableShrinkMs ?? d.stableShrinkMs,
  }, clusterLogger, registry, (self) => new PeerSources({
    specs, clusterPort: advertisePort || boundPort || listen.port, logger: clusterLogger, resolver: options.resolver, env: options.env,
    discoveryRefreshMs: options.discoveryRefreshMs ?? d.discoveryRefreshMs, fetch: options.fetch,
    onChange: () => void self.refresh(),
  }), (self) => (ml = new Memberlist({
    name, bindHost: listen.host || "0.0.0.0", bindPort: listen.port, advertiseHost, advertisePort,
    label: options.label ?? "", key, meta: {},
    probeIntervalMs, probeTimeoutMs: options.probeTimeoutMs ?? d.probeTimeoutMs, gossipIntervalMs, pushPullIntervalMs,
    tcpTimeoutMs: options.tcpTimeoutMs ?? d.tcpTimeoutMs, retransmitMult,
    suspicionMult: MEMBERLIST_DEFAULTS.suspicionMult, suspicionMaxTimeoutMult: MEMBERLIST_DEFAULTS.suspicionMaxTimeoutMult,
    indirectChecks: MEMBERLIST_DEFAULTS.indirectChecks, gossipNodes: MEMBERLIST_DEFAULTS.gossipNodes, gossipToTheDeadMs: MEMBERLIST_DEFAULTS.gossipToTheDeadMs,
  }, self.delegate(), clusterLogger)));
  await ml!.start();
  boundPort = ml!.port;
  clusterLogger.info("Cluster peer started", { peer: name, addr: ml!.addr, label: options.label ?? "", encrypted: key !== undefined });
  return peer;
}

/** The subset of parsed flags {@link clusterOptionsFromFlags} reads (both roles' flag sets fit). */
export interface ClusterFlagValues {
  "cluster.listen-address": string;
  "cluster.advertise-address": string;
  "cluster.peer": string[];
  "cluster.peer-name"?: string;
  "cluster.gossip-interval": number;
  "cluster.pushpull-interval": number;
  "cluster.tcp-timeout"?: number;
  "cluster.probe-timeout"?: number;
  "cluster.probe-interval"?: number;
  "cluster.settle-timeout"?: number;
  "cluster.reconnect-interval"?: number;
  "cluster.reconnect-timeout"?: number;
  "cluster.label"?: string;
  "cluster.key-file"?: string;
}

/** Maps parsed --cluster.* flags to {@link ClusterOptions}. */
export function clusterOptionsFromFlags(f: ClusterFlagValues): ClusterOptions {
  return {
    listenAddress: f["cluster.listen-address"],
    advertiseAddress: f["cluster.advertise-address"],
    peers: f["cluster.peer"],
    peerName: f["cluster.peer-name"],
    gossipIntervalMs: f["cluster.gossip-interval"],
    pushPullIntervalMs: f["cluster.pushpull-interval"],
    tcpTimeoutMs: f["cluster.tcp-timeout"],
    probeTimeoutMs: f["cluster.probe-timeout"],
    probeIntervalMs: f["cluster.probe-interval"],
    settleTimeoutMs: f["cluster.settle-timeout"],
    reconnectIntervalMs: f["cluster.reconnect-interval"],
    reconnectTimeoutMs: f["cluster.reconnect-timeout"],
    label: f["cluster.label"],
    keyFile: f["cluster.key-file"] || undefined,
  };
}

export type { MemberNode };

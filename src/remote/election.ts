/**
 * One remote writer per HA pair: the cluster elects, for each remote_write
 * endpoint, the node that sends to it; the others tail the WAL without
 * sending.
 *
 * - **Who.** Every node announces the endpoints it writes to in its member
 *   metadata (`rw` = comma-separated 8-hex-digit hashes of the URLs). The
 *   writer of an endpoint is the member with the lowest name among those
 *   alive or suspect that announce it — deterministic, so every node agrees
 *   without a vote, and re-evaluated on every membership change. A suspect
 *   member keeps the role until it is declared dead, so a slow probe does
 *   not make two writers.
 * - **From where.** The writer gossips, per endpoint, the newest timestamp
 *   the receiver acknowledged (`acked`: every sample up to it delivered)
 *   and the newest timestamp it has put on the wire (`claimed`). Both only
 *   grow; merges keep the maximum. A standby drops the samples it reads at
 *   or before max(acked, claimed): they are the writer's. So its WAL
 *   position follows the writer's.
 *   A claim is gossiped at once, and the batch goes out only after the
 *   gossip interval (`claimWaitMs`): the claim is on the wire first.
 * - **Takeover.** A node that becomes the writer waits {@link TAKEOVER_GRACE_MS}
 *   (for the previous writer's last gossip), then sends every sample after
 *   max(acked, claimed) as last gossiped. Taking `claimed` rather than
 *   `acked` means a batch in flight when the writer died is not sent
 *   again: Prometheus rejects the whole request on an out-of-order sample
 *   (its series already have the newer samples), and a second copy at the
 *   other node's scrape phase would count that interval twice.
 *
 * @example
 * const election = new WriterElection({ registry, logger });
 * peer.addState(election.stateKey, election.state);
 * election.attach(peer);
 * const gate = election.gate(cfg.url, "out");   // WriteQueue option `gate`
 */
import { createHash } from "node:crypto";
import { nopLogger, type Logger } from "../log/index.ts";
import type { Registry } from "../model/index.ts";
import type { ClusterChannel, ClusterPeer, ClusterState } from "../cluster/index.ts";

/** How long a new writer waits before sending. */
export const TAKEOVER_GRACE_MS = 2000;
/** How long a writer that lost the role (to a node that came back) goes on flushing what it holds. */
export const HANDOFF_MS = 500;
/** At most one gossip per endpoint per this many ms (the latest values go out). */
const GOSSIP_EVERY_MS = 100;
/** Member metadata key listing the endpoints a node writes to. */
export const ENDPOINTS_META = "rw";

/** What a WriteQueue asks before sending and tells after delivering. */
export interface WriteGate {
  /** Whether this node sends now. */
  canSend(): boolean;
  /** True while handing the role over: send everything held now, without waiting for full batches. */
  flushing(): boolean;
  /** Samples at or before this timestamp are another writer's: skipped (−Infinity when none). */
  floor(): number;
  /**
   * A batch whose newest sample is `t` is about to be sent: gossips it and
   * returns how long to wait before sending (until the claim is on the
   * wire, so a survivor knows about every batch that may have landed).
   */
  claim(t: number): number;
  /** Every sample up to `t` was delivered. */
  acked(t: number): void;
}

/** The endpoint key announced and gossiped: 8 hex digits of the URL's SHA-256. */
export function endpointKey(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 8);
}

interface Progress {
  acked: number;
  claimed: number;
  /** The node whose claim is `claimed`. */
  writer?: string;
}

/** Decodes a gossiped progress map, throwing on anything else. */
export function decodeProgress(data: Uint8Array): Map<string, Progress> {
  if (data.length > 1 << 20) throw new Error("remote write progress: too large");
  const obj = JSON.parse(new TextDecoder().decode(data)) as unknown;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error("remote write progress: not an object");
  const out = new Map<string, Progress>();
  for (const [k, v] of Object.entries(obj)) {
    if (!/^[0-9a-f]{8}$/.test(k)) throw new Error(`remote write progress: bad endpoint key ${JSON.stringify(k).slice(0, 40)}`);
    const p = v as { a?: number | null; c?: number | null; w?: unknown };
    if (typeof p !== "object" || p === null || !timestampOrNull(p.a) || !timestampOrNull(p.c)) throw new Error(`remote write progress: bad entry for ${k}`);
    if (p.w !== undefined && (typeof p.w !== "string" || p.w.length > 256)) throw new Error(`remote write progress: bad writer for ${k}`);
    out.set(k, { acked: p.a ?? -Infinity, claimed: p.c ?? -Infinity, writer: p.w });
  }
  return out;
}

function timestampOrNull(x: unknown): x is number | null {
  return x === null || (typeof x === "number" && Number.isFinite(x));
}

function encodeProgress(entries: Iterable<[string, Progress]>): Uint8Array {
  const obj: Record<string, { a: number | null; c: number | null; w?: string }> = {};
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  for (const [k, p] of entries) obj[k] = { a: finite(p.acked), c: finite(p.claimed), ...(p.writer !== undefined ? { w: p.writer } : {}) };
  return new TextEncoder().encode(JSON.stringify(obj));
}

export interface WriterElectionOptions {
  /**
   * How long after its first queue starts this node waits before it
   * announces its endpoints (so a node that comes back takes the role only
   * once it has scraped; default 0).
   */
  announceDelayMs?: number;
  registry?: Registry;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
  /** How long a claim takes to go out: the cluster's gossip interval plus a margin (default 0). */
  claimWaitMs?: number;
}

/** See the module comment. */
export class WriterElection {
  readonly stateKey = "rw";
  private peer: ClusterPeer | undefined;
  private channel: ClusterChannel | undefined;
  private readonly progress = new Map<string, Progress>();
  private readonly announced = new Set<string>();
  /** Whether this node's endpoints are announced yet (it is a candidate). */
  private candidate = false;
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Per endpoint: until when a writer that lost the role still flushes. */
  private readonly handoffUntil = new Map<string, number>();
  /** Per endpoint: until when this node holds back because a lower-named node is writing. */
  private readonly yieldUntil = new Map<string, number>();
  private readonly yieldMs = new Map<string, number>();
  /** Per endpoint: since when this node is the writer (undefined when standby). */
  private readonly writerSince = new Map<string, number | undefined>();
  private readonly labels = new Map<string, [string, string]>();
  /** The role last logged and exported per endpoint. */
  private readonly reported = new Map<string, boolean>();
  private readonly gossipTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastGossip = new Map<string, number>();
  private readonly logger: Logger;
  private readonly elected;
  private readonly now: () => number;
  private announceDelayMs: number;
  private readonly claimWaitMs: number;

  constructor(opts: WriterElectionOptions = {}) {
    this.logger = (opts.logger ?? nopLogger).with({ component: "remote" });
    this.now = opts.now ?? Date.now;
    this.announceDelayMs = opts.announceDelayMs ?? 0;
    this.claimWaitMs = opts.claimWaitMs ?? 0;
    this.elected = opts.registry?.gaugeVec("promts_remote_write_elected", "1 when this node is the cluster's elected writer for the remote_write endpoint, 0 when another node writes to it.", ["remote_name", "url"]);
  }

  /** The replicated state: every endpoint's acked/claimed timestamps, merged by maximum. */
  readonly state: ClusterState = {
    marshal: () => encodeProgress(this.progress),
    merge: (data) => {
      for (const [k, p] of decodeProgress(data)) {
        const before = this.progress.get(k)?.claimed ?? -Infinity;
        this.raise(k, p);
        if (p.claimed > before && p.writer !== undefined) this.heardClaim(k, p.writer);
      }
    },
  };

  private raise(key: string, p: Progress): boolean {
    const cur = this.progress.get(key);
    if (cur && cur.acked >= p.acked && cur.claimed >= p.claimed) return false;
    const newer = p.claimed > (cur?.claimed ?? -Infinity);
    this.progress.set(key, {
      acked: Math.max(cur?.acked ?? -Infinity, p.acked),
      claimed: Math.max(cur?.claimed ?? -Infinity, p.claimed),
      writer: newer ? p.writer : cur?.writer,
    });
    return true;
  }

  /**
   * Another node claimed a batch. When this node also writes and the other
   * has the lower name (it wins wherever both are seen alive), this node
   * stands by until that node's claims stop: membership views can differ
   * for a while (a node wrongly declared dead, a partition healing).
   */
  private heardClaim(key: string, writer: string): void {
    const peer = this.peer;
    if (!peer || writer === peer.name || !(writer < peer.name) || this.writerSince.get(key) === undefined) return;
    const until = this.now() + (this.yieldMs.get(key) ?? TAKEOVER_GRACE_MS);
    if (this.now() >= (this.yieldUntil.get(key) ?? 0)) {
      const l = this.labels.get(key);
      this.logger.warn("Another node is also writing to this endpoint; standing by while it does", { url: l?.[1], remote_name: l?.[0], writer });
    }
    this.yieldUntil.set(key, until);
  }

  /** Registers the state on the peer (before it joins) and follows its membership. */
  attach(peer: ClusterPeer): void {
    this.peer = peer;
    this.channel = peer.addState(this.stateKey, this.state);
    peer.onChange(() => this.evaluate());
    this.announce();
  }

  /** See {@link WriterElectionOptions.announceDelayMs}; takes effect if no queue started yet. */
  setAnnounceDelay(ms: number): void {
    this.announceDelayMs = ms;
  }

  /** The endpoints this node writes to (after every configuration load). */
  setEndpoints(urls: readonly string[]): void {
    this.announced.clear();
    for (const u of urls) this.announced.add(endpointKey(u));
    this.announce();
  }

  private announce(): void {
    if (!this.peer) return;
    this.peer.setMeta(ENDPOINTS_META, this.candidate ? [...this.announced].sort().join(",") : "");
    this.evaluate();
  }

  /** Becomes a candidate once the announce delay after the first queue's start has passed. */
  private scheduleCandidacy(): void {
    if (this.candidate || this.announceTimer) return;
    const delay = this.announceDelayMs;
    const go = () => {
      this.candidate = true;
      this.announce();
    };
    if (delay <= 0) return go();
    this.announceTimer = setTimeout(go, delay);
    (this.announceTimer as { unref?: () => void }).unref?.();
  }

  /** The elected writer of an endpoint key: the lowest-named live member announcing it (this node when alone). */
  writerOf(key: string): string | undefined {
    const peer = this.peer;
    if (!peer) return undefined;
    let best: string | undefined;
    for (const m of peer.members()) {
      if (m.state !== "alive" && m.state !== "suspect") continue;
      const keys = m.name === peer.name ? (this.candidate ? [...this.announced] : []) : (m.meta[ENDPOINTS_META] ?? "").split(",");
      if (!keys.includes(key)) continue;
      if (best === undefined || m.name < best) best = m.name;
    }
    return best;
  }

  private evaluate(): void {
    const peer = this.peer;
    if (!peer) return;
    for (const [key, since] of this.writerSince) {
      const mine = this.writerOf(key) === peer.name;
      if (mine && since === undefined) {
        this.writerSince.set(key, this.now());
      } else if (!mine && since !== undefined) {
        this.writerSince.set(key, undefined);
        // Lost to a node that (re)joined: flush what was read so far, claims gossiped first.
        if (this.now() - since >= TAKEOVER_GRACE_MS) this.handoffUntil.set(key, this.now() + HANDOFF_MS);
      }
      const l = this.labels.get(key);
      if (!l) continue;
      if (this.reported.get(key) !== mine) {
        this.reported.set(key, mine);
        if (mine) this.logger.info("Elected the remote writer for this endpoint; sending after the takeover grace", { url: l[1], remote_name: l[0], peer: peer.name });
        else this.logger.info("Another node is the remote writer for this endpoint; standing by", { url: l[1], remote_name: l[0], writer: this.writerOf(key) ?? "" });
      }
      this.elected?.get(l).set(mine ? 1 : 0);
    }
  }

  /** max(acked, claimed) last known for an endpoint key. */
  private known(key: string): number {
    const p = this.progress.get(key);
    return p ? Math.max(p.acked, p.claimed) : -Infinity;
  }

  /** Broadcasts an endpoint's progress: at once when `now`, else at most every GOSSIP_EVERY_MS. */
  private gossip(key: string, now = false): void {
    if (!this.channel) return;
    if (now) {
      clearTimeout(this.gossipTimers.get(key));
      this.gossipTimers.delete(key);
      this.lastGossip.set(key, this.now());
      const p = this.progress.get(key);
      if (p) this.channel.broadcast(encodeProgress([[key, p]]));
      return;
    }
    if (this.gossipTimers.has(key)) return;
    const wait = Math.max(0, (this.lastGossip.get(key) ?? -Infinity) + GOSSIP_EVERY_MS - this.now());
    const send = () => {
      this.gossipTimers.delete(key);
      this.lastGossip.set(key, this.now());
      const p = this.progress.get(key);
      if (p) this.channel?.broadcast(encodeProgress([[key, p]]));
    };
    if (wait === 0) return send();
    const t = setTimeout(send, wait);
    (t as { unref?: () => void }).unref?.();
    this.gossipTimers.set(key, t);
  }

  /** The gate of one queue (see {@link WriteGate}); without a cluster peer it always sends. */
  /**
   * `yieldMs`: how long a writer holds back after hearing a lower-named
   * writer's claim. `marginMs`: how far past the other writer's newest
   * claim samples still belong to it (half the shortest scrape interval:
   * the nodes scrape a target at nearly the same phase, a few ms apart, so
   * the first sample after a claim may be the same scrape interval).
   */
  gate(url: string, remoteName: string, opts: { yieldMs?: number; marginMs?: number } = {}): WriteGate {
    const margin = Math.max(0, opts.marginMs ?? 0);
    const key = endpointKey(url);
    if (opts.yieldMs !== undefined) this.yieldMs.set(key, Math.max(TAKEOVER_GRACE_MS, opts.yieldMs));
    this.labels.set(key, [remoteName, url]);
    if (!this.writerSince.has(key)) this.writerSince.set(key, undefined);
    this.evaluate();
    this.scheduleCandidacy();
    let frozen: number | undefined;
    return {
      canSend: () => {
        if (!this.peer) return true;
        const since = this.writerSince.get(key);
        if (since === undefined && this.now() < (this.handoffUntil.get(key) ?? 0)) return true;
        if (since === undefined || this.now() - since < TAKEOVER_GRACE_MS || this.now() < (this.yieldUntil.get(key) ?? 0)) {
          frozen = undefined;
          return false;
        }
        if (frozen === undefined) {
          frozen = this.known(key);
          this.logger.info("Remote writer takes over", { url, remote_name: remoteName, from: Number.isFinite(frozen) ? new Date(frozen).toISOString() : "its own WAL position" });
        }
        return true;
      },
      flushing: () => this.peer !== undefined && this.writerSince.get(key) === undefined && this.now() < (this.handoffUntil.get(key) ?? 0),
      floor: () => {
        if (!this.peer) return -Infinity;
        return (frozen ?? this.known(key)) + margin;
      },
      claim: (t) => {
        if (!this.peer || !this.raise(key, { acked: -Infinity, claimed: t, writer: this.peer.name })) return 0;
        this.gossip(key, true);
        return this.claimWaitMs;
      },
      acked: (t) => {
        if (this.peer && this.raise(key, { acked: t, claimed: -Infinity })) this.gossip(key);
      },
    };
  }
}

/**
 * The Alertmanager's replicated state: silences (key `sil`), the
 * notification log (`nfl`) and — which Alertmanager itself does not do —
 * alerts (`alerts`), each a {@link ClusterState} registered on the cluster
 * peer. The rules are Alertmanager's:
 *
 * - a full state (push/pull) and a broadcast delta are read the same way:
 *   each entry is taken when it is newer than the known one (silences by
 *   updatedAt, nflog entries by timestamp, alerts by updatedAt) and not
 *   expired (silences past retention, nflog entries past expiresAt, alerts
 *   already resolved and unknown here);
 * - entries a merge took are broadcast again, so a delta reaches peers the
 *   sender could not reach;
 * - local changes (a silence set or expired, a notification logged, an
 *   alert received by the API) are broadcast at once.
 *
 * Alerts taken from peers go through the alert store like posted ones, so
 * the dispatcher groups them and the inhibitor sees them: a node restarted
 * mid-incident gets its alerts (and the inhibitions they cause) back from
 * its peers on the join push/pull.
 */
import type { ClusterChannel, ClusterPeer, ClusterState } from "../cluster/index.ts";
import type { Counter } from "../model/index.ts";
import { decodeAlerts, decodeNflog, decodeSilences, encodeAlerts, encodeNflog, encodeSilences } from "./gossip_codec.ts";
import type { NotificationLog } from "./nflog.ts";
import type { Silences } from "./silences.ts";
import type { Alert } from "./types.ts";

/** The state keys, as Alertmanager names silences and the nflog. */
export const STATE_KEYS = { silences: "sil", nflog: "nfl", alerts: "alerts" } as const;

/** What the replication needs of the Alertmanager. */
export interface ReplicaSources {
  silences: Silences;
  nflog: NotificationLog;
  /** Every alert the store holds. */
  alerts(): Alert[];
  /**
   * Takes alerts from a peer: validates them all (throwing on the first
   * invalid one, before taking any), stores the newer ones and returns
   * what it took; a large batch may be applied in slices, those after the
   * first reported through `later`.
   */
  mergeAlerts(alerts: Alert[], later: (taken: Alert[]) => void): Alert[];
  /** Called after a merge changed silences (gauges, alert states). */
  silencesMerged(): void;
  now(): number;
}

/** Counters of entries re-broadcast after a merge took them. */
export interface ReplicaMetrics {
  silencesPropagated: Counter;
  nflogPropagated: Counter;
  alertsPropagated: Counter;
}

/** One piece of replicated state: decode, merge, re-broadcast what was taken. */
class Replica<T> implements ClusterState {
  channel: ClusterChannel | undefined;
  /** Set when the Alertmanager stopped: the peer may still deliver until it has left; nothing is taken then. */
  closed = false;

  constructor(
    private readonly all: () => T[],
    private readonly encode: (items: readonly T[]) => Uint8Array,
    private readonly decode: (data: Uint8Array) => T[],
    private readonly take: (items: T[], later: (taken: T[]) => void) => T[],
    private readonly propagated: Counter,
  ) {}

  marshal(): Uint8Array {
    return this.encode(this.all());
  }

  merge(data: Uint8Array): void {
    const items = this.decode(data);
    if (this.closed) return;
    this.propagate(this.take(items, (taken) => {
      if (!this.closed) this.propagate(taken);
    }));
  }

  private propagate(taken: T[]): void {
    if (taken.length === 0) return;
    this.propagated.inc(taken.length);
    this.channel?.broadcast(this.encode(taken));
  }

  /** Broadcasts local changes. */
  send(items: readonly T[]): void {
    if (items.length > 0) this.channel?.broadcast(this.encode(items));
  }
}

/**
 * Registers the three states on `peer` and broadcasts local changes;
 * {@link AlertmanagerReplication.close} stops the local broadcasts.
 */
export class AlertmanagerReplication {
  private readonly alertsReplica: Replica<Alert>;
  private readonly replicas: Replica<unknown>[];
  private readonly unsubscribe: (() => void)[] = [];

  constructor(peer: ClusterPeer, src: ReplicaSources, metrics: ReplicaMetrics) {
    const silences = new Replica(
      () => src.silences.list(), encodeSilences, decodeSilences,
      (items) => {
        const taken = src.silences.merge(items, src.now());
        if (taken.length > 0) src.silencesMerged();
        return taken;
      },
      metrics.silencesPropagated,
    );
    const nflog = new Replica(
      () => src.nflog.list(), encodeNflog, decodeNflog,
      (items) => src.nflog.merge(items, src.now()),
      metrics.nflogPropagated,
    );
    this.alertsReplica = new Replica(() => src.alerts(), encodeAlerts, decodeAlerts, (items, later) => src.mergeAlerts(items, later), metrics.alertsPropagated);
    silences.channel = peer.addState(STATE_KEYS.silences, silences);
    nflog.channel = peer.addState(STATE_KEYS.nflog, nflog);
    this.alertsReplica.channel = peer.addState(STATE_KEYS.alerts, this.alertsReplica);
    this.replicas = [silences, nflog, this.alertsReplica] as Replica<unknown>[];
    this.unsubscribe.push(
      src.silences.onChange((s) => silences.send([s])),
      src.nflog.onChange((e) => nflog.send([e])),
    );
  }

  /** Broadcasts alerts this node received through its API. */
  alertsReceived(alerts: readonly Alert[]): void {
    this.alertsReplica.send(alerts);
  }

  /** Stops broadcasting local changes and taking peers' state. */
  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const r of this.replicas) r.closed = true;
  }
}

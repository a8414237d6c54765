/**
 * The cluster contract: what the rest of promts sees of the gossip cluster
 * (Alertmanager's `cluster.Peer` and `cluster.State`, plus what promts adds:
 * member metadata for the server's notifier and remote-writer election, and
 * the minority view used to hold notifications during a partition).
 *
 * `src/cluster/` implements it over UDP/TCP (SWIM membership, CBOR messages,
 * optional AES-256-GCM). Everything above the cluster (the Alertmanager's
 * silences, notification log and alerts; the server's notifier and remote
 * writer) depends only on these interfaces.
 */

/** A piece of replicated state (silences, the notification log, alerts, …). */
export interface ClusterState {
  /** The whole state, for a full push/pull with a peer. */
  marshal(): Uint8Array;
  /**
   * Takes a peer's full state or one broadcast delta. Validates what it
   * reads and throws on bad input (the cluster drops and counts it); must
   * be idempotent (the same delta can arrive twice).
   */
  merge(data: Uint8Array): void;
}

/** What `addState` gives back: gossips deltas of that state to every peer. */
export interface ClusterChannel {
  /** Sends `data` to the peers' `merge` of the same key (UDP when small, TCP otherwise). */
  broadcast(data: Uint8Array): void;
}

export type MemberState = "alive" | "suspect" | "dead" | "left";

export interface ClusterMember {
  /** `--cluster.peer-name` (a ULID by default in Alertmanager). */
  name: string;
  /** host:port of its cluster listener. */
  address: string;
  state: MemberState;
  /** Metadata the member announces (for example `web` = its HTTP base URL). */
  meta: Readonly<Record<string, string>>;
}

export type ClusterStatus = "ready" | "settling" | "disabled";

export interface ClusterPeer {
  /** This node's name. */
  readonly name: string;
  /**
   * Registers replicated state under `key` (one per kind, before `join`
   * completes or at any time after); peers with the same key exchange it.
   */
  addState(key: string, state: ClusterState): ClusterChannel;
  /** This node's index among the alive members sorted by name (0 when alone). */
  position(): number;
  /**
   * A full state exchange (push/pull over TCP) with every alive member
   * ahead of this node in position order, bounded by `timeoutMs`; resolves
   * either way. The notification pipeline calls it after its position wait,
   * so the dedup sees what the nodes ahead sent even when their gossip was
   * delayed or lost. Optional: without it the dedup relies on gossip.
   */
  syncAhead?(timeoutMs: number): Promise<void>;
  /** Every known member, this node included. */
  members(): ClusterMember[];
  /** Sets a metadata value this node announces to the others. */
  setMeta(key: string, value: string): void;
  /**
   * Resolves once the number of alive members has stayed the same for a
   * few push/pull rounds, or after `--cluster.settle-timeout`, or when
   * `signal` aborts.
   */
  settle(signal?: AbortSignal): Promise<void>;
  status(): ClusterStatus;
  /**
   * True while this node sees fewer than half of the last stable
   * membership (a minority side of a partition). A 2-node cluster is never
   * in a minority.
   */
  inMinority(): boolean;
  /** Called on every join, leave, death or metadata change. Returns the unsubscribe. */
  onChange(fn: () => void): () => void;
  /** Leaves the cluster gracefully (announces `left`) and stops. */
  leave(timeoutMs: number): Promise<void>;
}

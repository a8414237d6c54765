/**
 * The gossip cluster as a component of a role: the `--cluster.*` flags
 * (Alertmanager's names, defaults and help, plus promts's
 * `--cluster.key-file`), and the one peer a process shares: created first,
 * every replicated state registered on it (before the first exchange, so a
 * joining node gets the peers' state at once), joined once all registered,
 * left on shutdown.
 */
import { boolFlag, customFlag, stringFlag, stringsFlag } from "../flags/index.ts";
import { createClusterPeer, type ClusterOptions, type ClusterPeer } from "../cluster/index.ts";
import { parseDuration } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Registry } from "../model/index.ts";
import type { Component } from "./runtime.ts";

function durationFlag(help: string, defaultText: string) {
  return customFlag(help, defaultText, parseDuration, { placeholder: "<duration>" });
}

/**
 * Every `--cluster.*` flag; `defaultListen` is "0.0.0.0:9094" for the
 * alertmanager role (as Alertmanager) and "" (off) where clustering is an
 * addition.
 */
export function clusterFlags(defaultListen: string) {
  return {
    "cluster.listen-address": stringFlag("Listen address for cluster. Set to empty string to disable HA mode.", defaultListen, { placeholder: "<address>" }),
    "cluster.advertise-address": stringFlag("Explicit address to advertise in cluster.", "", { placeholder: "<address>" }),
    "cluster.peer": stringsFlag("Initial peers: host:port (names are resolved again periodically), ec2:tag:<Key>=<Value> or consul:<service> (see docs/cluster.md). May be repeated.", { placeholder: "<address>" }),
    "cluster.peer-name": stringFlag("Explicit name of the peer, rather than generating a random one.", "", { placeholder: "<name>" }),
    "cluster.peer-timeout": durationFlag("Time to wait between peers to send notifications.", "15s"),
    "cluster.gossip-interval": durationFlag("Interval between sending gossip messages. By lowering this value (more frequent) gossip messages are propagated across the cluster more quickly at the expense of increased bandwidth.", "200ms"),
    "cluster.pushpull-interval": durationFlag("Interval for gossip state syncs. Setting this interval lower (more frequent) will increase convergence speeds across larger clusters at the expense of increased bandwidth usage.", "1m0s"),
    "cluster.tcp-timeout": durationFlag("Timeout for establishing a stream connection with a remote node for a full state sync, and for stream read and write operations.", "10s"),
    "cluster.probe-timeout": durationFlag("Timeout to wait for an ack from a probed node before assuming it is unhealthy. This should be set to 99-percentile of RTT (round-trip time) on your network.", "500ms"),
    "cluster.probe-interval": durationFlag("Interval between random node probes. Setting this lower (more frequent) will cause the cluster to detect failed nodes more quickly at the expense of increased bandwidth usage.", "1s"),
    "cluster.settle-timeout": durationFlag("Maximum time to wait for cluster connections to settle before evaluating notifications.", "1m0s"),
    "cluster.reconnect-interval": durationFlag("Interval between attempting to reconnect to lost peers.", "10s"),
    "cluster.reconnect-timeout": durationFlag("Length of time to attempt to reconnect to a lost peer.", "6h0m0s"),
    "cluster.tls-config": stringFlag("[EXPERIMENTAL] Path to config yaml file that can enable mutual TLS within the gossip protocol."),
    "cluster.allow-insecure-public-advertise-address-discovery": boolFlag("[EXPERIMENTAL] Allow alertmanager to discover and listen on a public IP address."),
    "cluster.label": stringFlag("The cluster label is an optional string to include on each packet and stream. It uniquely identifies the cluster and prevents cross-communication issues when sending gossip messages."),
    "cluster.key-file": stringFlag("File holding the 32-byte key (raw, 64 hex digits or base64) that seals every gossip packet and stream with AES-256-GCM. Without it, gossip is plain.", "", { placeholder: "<file>" }),
  };
}

/**
 * The one cluster peer of a process, shared by everything that replicates
 * (the Alertmanager, the Pushgateway, dashboards, the HA pair).
 */
export interface SharedCluster {
  /** Creates the peer (when clustering is on) and runs every {@link onPeer} registration; put it before the components that register. */
  component: Component<unknown>;
  /** Joins once every registration ran; its stop leaves. Put it after the components that register at their start. */
  joinComponent: Component<unknown>;
  /** The peer once created; undefined before, or when clustering is off. */
  peer(): JoinableCluster | undefined;
  /** Runs `fn` with the peer when it is created (before the join), so state registered there goes out with the first exchange. */
  onPeer(fn: (peer: JoinableCluster) => void): void;
  /**
   * The shared peer for a component written to create its own (the
   * Alertmanager's): its `join`, `leave` and `stop` do nothing, since this
   * component joins and leaves for everyone. Rejects when clustering is off.
   */
  lend(): Promise<JoinableCluster>;
}

/**
 * The cluster of a role: `options` undefined runs without one. The peer is
 * created at the start of {@link SharedCluster.component}; a peer that does
 * not answer the join is logged and retried by the cluster, not fatal.
 */
export function clusterComponent(
  options: ClusterOptions | undefined,
  logger: Logger,
  registry: Registry,
  create: (options: ClusterOptions, logger: Logger, registry: Registry) => Promise<JoinableCluster> = createClusterPeer,
): SharedCluster {
  let peer: JoinableCluster | undefined;
  const registrations: ((peer: JoinableCluster) => void)[] = [];
  const log = logger.with({ component: "cluster" });
  return {
    peer: () => peer,
    onPeer: (fn) => {
      registrations.push(fn);
      if (peer) fn(peer);
    },
    lend: async () => {
      const p = peer;
      if (!p) throw new Error("the cluster peer is not created yet");
      return {
        get name() { return p.name; },
        addState: (key, state) => p.addState(key, state),
        position: () => p.position(),
        syncAhead: p.syncAhead ? (timeoutMs) => p.syncAhead!(timeoutMs) : undefined,
        members: () => p.members(),
        setMeta: (key, value) => p.setMeta(key, value),
        settle: (signal) => p.settle(signal),
        status: () => p.status(),
        inMinority: () => p.inMinority(),
        onChange: (fn) => p.onChange(fn),
        leave: async () => {},
        join: async () => 0,
        stop: async () => {},
      };
    },
    component: {
      name: "cluster",
      start: async () => {
        if (!options) return;
        peer = await create(options, log, registry);
        for (const fn of registrations) fn(peer);
      },
      stop: async () => {
        // Normally the join component has left already; after a failed start, stop without a leave.
        const p = peer;
        peer = undefined;
        await (p?.stop ? p.stop() : p?.leave(0));
      },
    },
    joinComponent: {
      name: "cluster join",
      start: async () => {
        if (!peer) return;
        const joined = await peer.join();
        log.info("joined the cluster", { peer: peer.name, answered: joined });
      },
      stop: async () => {
        const p = peer;
        peer = undefined;
        await p?.leave(CLUSTER_LEAVE_TIMEOUT_MS);
      },
    },
  };
}

/** How long a stopping node waits for its leave to be gossiped. */
const CLUSTER_LEAVE_TIMEOUT_MS = 5_000;

/** A cluster peer as a role creates it: state is registered on it first, then it joins. */
export interface JoinableCluster extends ClusterPeer {
  join(): Promise<unknown>;
  /** Stops without announcing a leave (after a failed start). */
  stop?(): Promise<void>;
}

/**
 * `--cluster.minority-hold`, on the roles that run an Alertmanager: how
 * long a node that sees fewer than half of the last stable membership
 * holds its notifications (docs/ha.md).
 */
export function minorityHoldFlag() {
  return durationFlag("How long a node that sees fewer than half of the cluster's last stable membership (the minority side of a partition) holds its notifications, so that the merged notification log dedups them if the partition heals. After this it sends anyway (at-least-once). 0 disables the hold.", "30s");
}

/**
 * The base URL to announce to cluster peers: --web.external-url when it was
 * given (peers are expected to reach it), else this node's advertised
 * cluster host with the web listener's port, scheme and route prefix.
 *
 * @example announcedWebURL({ externalURL: "", scheme: "http", port: 9090, routePrefix: "/" }, "10.0.0.2:9094") // "http://10.0.0.2:9090"
 */
export function announcedWebURL(
  web: { externalURL: string; scheme: string; port: number; routePrefix: string },
  clusterAddress: string,
): string {
  if (web.externalURL !== "") return web.externalURL.replace(/\/+$/, "");
  const host = clusterAddress.slice(0, clusterAddress.lastIndexOf(":"));
  const prefix = web.routePrefix === "/" ? "" : web.routePrefix.replace(/\/+$/, "");
  return `${web.scheme}://${host}:${web.port}${prefix}`;
}

/**
 * The scheme and port peers should use for this node's HTTP listener: from
 * the URL it listens on once known (a port 0 flag became a real port),
 * else the flag's port over http.
 */
export function listenerOf(listenURL: string | undefined, flagPort: number): { scheme: string; port: number } {
  if (!listenURL) return { scheme: "http", port: flagPort };
  const url = new URL(listenURL);
  return { scheme: url.protocol.replace(/:$/, ""), port: Number(url.port) || flagPort };
}

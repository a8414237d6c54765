/**
 * The gossip cluster as a component of a role: the `--cluster.*` flags
 * (Alertmanager's names, defaults and help, plus promts's
 * `--cluster.key-file`), and a component that creates the peer, lets the
 * role register its replicated states (before the first exchange, so a
 * joining node gets the peers' state at once), joins, and leaves on
 * shutdown. No cluster when the listen address is empty.
 */
import { boolFlag, customFlag, stringFlag, stringsFlag } from "../flags/index.ts";
import { clusterOptionsFromFlags, createClusterPeer, type Cluster, type ClusterPeer } from "../cluster/index.ts";
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

/** The flag values {@link clusterComponent} reads. */
export interface ClusterFlagSet {
  "cluster.listen-address": string;
  "cluster.advertise-address": string;
  "cluster.peer": string[];
  "cluster.peer-name": string;
  "cluster.gossip-interval": number;
  "cluster.pushpull-interval": number;
  "cluster.tcp-timeout": number;
  "cluster.probe-timeout": number;
  "cluster.probe-interval": number;
  "cluster.settle-timeout": number;
  "cluster.reconnect-interval": number;
  "cluster.reconnect-timeout": number;
  "cluster.label": string;
  "cluster.key-file": string;
}

export interface ClusterComponent {
  component: Component<unknown>;
  /** The peer once started; undefined before, or when clustering is off. */
  peer(): Cluster | undefined;
}

/**
 * Creates the peer at start (when `--cluster.listen-address` is set), calls
 * `register` so the role adds its states and metadata, then joins (a peer
 * that does not answer is logged and retried by the cluster, not fatal);
 * stop leaves gracefully.
 */
export function clusterComponent(flags: ClusterFlagSet, logger: Logger, registry: Registry, register: (peer: Cluster) => void): ClusterComponent {
  let peer: Cluster | undefined;
  const log = logger.with({ component: "cluster" });
  return {
    peer: () => peer,
    component: {
      name: "cluster",
      start: async () => {
        if (flags["cluster.listen-address"] === "") return;
        peer = await createClusterPeer(clusterOptionsFromFlags(flags), log, registry);
        register(peer);
        const joined = await peer.join();
        log.info("joined the cluster", { peer: peer.name, address: peer.address, answered: joined });
      },
      stop: async () => {
        await peer?.leave(Math.min(flags["cluster.tcp-timeout"], 5000));
        peer = undefined;
      },
    },
  };
}

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

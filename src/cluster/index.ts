/**
 * The cluster room's door: the contract (types.ts) and its implementation —
 * SWIM membership over UDP, full-state push/pull over TCP, CBOR messages
 * with the cluster label, optional AES-256-GCM (docs/cluster.md).
 */
export type { ClusterChannel, ClusterMember, ClusterPeer, ClusterState, ClusterStatus, MemberState } from "./types.ts";
export { CLUSTER_DEFAULTS, clusterOptionsFromFlags, createClusterPeer, newULID, type Cluster, type ClusterFlagValues, type ClusterOptions } from "./peer.ts";
export { parseClusterKey, readClusterKeyFile, CLUSTER_KEY_BYTES } from "./key.ts";
export { EC2_PORT_TAG, parsePeerSpec, systemResolver, type HostResolver, type PeerSpec } from "./peers.ts";
export { MAX_UDP_PACKET, MAX_STREAM_FRAME, MAX_META_BYTES } from "./wire.ts";

/** The cluster room's door: the contract (see types.ts); the gossip implementation lands here. */
export type { ClusterChannel, ClusterMember, ClusterPeer, ClusterState, ClusterStatus, MemberState } from "./types.ts";

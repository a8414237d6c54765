/**
 * Replicated states of several in-process nodes joined directly, for unit
 * tests of what sits on the cluster contract (dashboards, Pushgateway
 * groups): a node's broadcast goes straight to every connected peer's
 * `merge`; `exchange(a, b)` is a full push/pull between two nodes; cutting a
 * node off drops its broadcasts both ways (a partition). The real gossip is
 * tested in test/cluster/.
 */
import type { ClusterChannel, ClusterPeer, ClusterState } from "../../src/cluster/index.ts";

export interface LinkedNode {
  /** What the code under test calls `addState` on. */
  cluster: Pick<ClusterPeer, "addState">;
  /** The state registered under each key. */
  states: Map<string, ClusterState>;
  /** False: this node neither sends nor receives broadcasts. */
  connected: boolean;
}

export function linkedNodes(n: number): LinkedNode[] {
  const nodes: LinkedNode[] = [];
  for (let i = 0; i < n; i++) {
    const node: LinkedNode = {
      states: new Map(),
      connected: true,
      cluster: {
        addState(key: string, state: ClusterState): ClusterChannel {
          node.states.set(key, state);
          return {
            broadcast(data: Uint8Array) {
              if (!node.connected) return;
              for (const peer of nodes) if (peer !== node && peer.connected) peer.states.get(key)?.merge(data);
            },
          };
        },
      },
    };
    nodes.push(node);
  }
  return nodes;
}

/** A full push/pull between two nodes: each merges the other's whole state, for every key both have. */
export function exchange(a: LinkedNode, b: LinkedNode): void {
  for (const [key, sa] of a.states) {
    const sb = b.states.get(key);
    if (!sb) continue;
    const fromA = sa.marshal();
    const fromB = sb.marshal();
    sb.merge(fromA);
    sa.merge(fromB);
  }
}

/**
 * In-process cluster nodes for tests: 127.0.0.1, free ports (port 0), short
 * intervals, one registry each, and a replicated set of strings as state.
 */
import { createClusterPeer, type Cluster, type ClusterChannel, type ClusterOptions, type ClusterState } from "../../src/cluster/index.ts";
import { newLogger, nopLogger, type Logger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";

/** Fast timings for tests (Alertmanager's ratios, scaled down). */
export const FAST: Partial<ClusterOptions> = {
  gossipIntervalMs: 20,
  probeIntervalMs: 100,
  probeTimeoutMs: 50,
  pushPullIntervalMs: 300,
  tcpTimeoutMs: 1000,
  settleTimeoutMs: 3000,
  reconnectIntervalMs: 200,
  reconnectTimeoutMs: 60_000,
  refreshIntervalMs: 200,
  discoveryRefreshMs: 200,
};

/** A replicated grow-only set of strings: marshal is the whole set, merge adds. */
export class SetState implements ClusterState {
  readonly items = new Set<string>();
  merges = 0;
  marshal(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.items]));
  }
  merge(data: Uint8Array): void {
    const v: unknown = JSON.parse(new TextDecoder().decode(data));
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error("not a list of strings");
    for (const x of v) this.items.add(x);
    this.merges++;
  }
}

export interface TestNode {
  peer: Cluster;
  registry: Registry;
  state: SetState;
  channel: ClusterChannel;
  /** Adds an item locally and broadcasts it. */
  add(item: string): void;
}

const nodes: TestNode[] = [];

function testLogger(): Logger {
  return process.env.PROMTS_TEST_CLUSTER_LOG ? newLogger({ level: "debug" }) : nopLogger;
}

export async function startNode(opts: Partial<ClusterOptions> = {}, join = true): Promise<TestNode> {
  const registry = new Registry();
  const peer = await createClusterPeer({ listenAddress: "127.0.0.1:0", ...FAST, ...opts }, testLogger().with({ node: opts.peerName ?? "" }), registry);
  const state = new SetState();
  const channel = peer.addState("set", state);
  const node: TestNode = {
    peer, registry, state, channel,
    add(item) {
      state.items.add(item);
      channel.broadcast(new TextEncoder().encode(JSON.stringify([item])));
    },
  };
  nodes.push(node);
  if (join) await peer.join();
  return node;
}

/** Stops every node started by startNode (for afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all(nodes.splice(0).map((n) => n.peer.stop()));
}

/** Names of the members a node sees alive. */
export function aliveNames(n: TestNode): string[] {
  return n.peer.members().filter((m) => m.state === "alive").map((m) => m.name).sort();
}

export function stateOf(n: TestNode, name: string): string | undefined {
  return n.peer.members().find((m) => m.name === name)?.state;
}

/** A metric's value from the node's registry (sum over series matching the label filter). */
export function metric(n: TestNode, name: string, labels = ""): number {
  let sum = 0;
  for (const line of n.registry.render().split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(" ") || rest.startsWith("{"))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

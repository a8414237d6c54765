import { afterEach, describe, expect, it } from "bun:test";
import { pollUntil } from "../support/wait.ts";
import { aliveNames, metric, startNode, stateOf, stopAll } from "./helpers.ts";

afterEach(stopAll);

describe("cluster membership", () => {
  it("joins two nodes, exchanges full state on join and broadcasts updates", async () => {
    const a = await startNode({ peerName: "a" });
    a.state.items.add("from-a-before-join");
    const b = await startNode({ peerName: "b", peers: [a.peer.address] }, false);
    b.state.items.add("from-b-before-join");
    expect(await b.peer.join()).toBe(1);
    // The join's push/pull carried both states both ways.
    expect(a.state.items.has("from-b-before-join")).toBe(true);
    expect(b.state.items.has("from-a-before-join")).toBe(true);
    await pollUntil("both to see both", () => aliveNames(a).join() === "a,b" && aliveNames(b).join() === "a,b");
    a.add("x1");
    await pollUntil("b to get a's broadcast", () => b.state.items.has("x1"));
    b.add("y1");
    await pollUntil("a to get b's broadcast", () => a.state.items.has("y1"));
    expect(a.peer.position()).toBe(0);
    expect(b.peer.position()).toBe(1);
    expect(metric(a, "alertmanager_cluster_members")).toBe(2);
    expect(metric(b, "alertmanager_cluster_messages_received_total", 'msg_type="update"')).toBeGreaterThanOrEqual(1);
    expect(metric(a, "alertmanager_cluster_messages_received_total", 'msg_type="full_state"')).toBeGreaterThanOrEqual(1);
    expect(a.peer.inMinority()).toBe(false);
    await a.peer.settle();
    expect(a.peer.status()).toBe("ready");
  });

  it("detects a stopped node as dead and a left node as left", async () => {
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    const c = await startNode({ peerName: "c", peers: [a.peer.address] });
    await pollUntil("all three to see three", () => [a, b, c].every((n) => aliveNames(n).length === 3));
    const stoppedAt = performance.now();
    await c.peer.stop();
    await pollUntil("a to see c dead", () => stateOf(a, "c") === "dead", { deadlineMs: 8000 });
    // suspicion: 4 × max(1, log10(3)) × 100 ms = 400 ms, after a failed probe round; allow for load.
    expect(performance.now() - stoppedAt).toBeLessThan(6000);
    await pollUntil("b to see c dead", () => stateOf(b, "c") === "dead");
    expect(b.peer.failedPeers()).toContain("c");
    await b.peer.leave(1000);
    await pollUntil("a to see b left", () => stateOf(a, "b") === "left");
    expect(metric(a, "alertmanager_cluster_peers_left_total")).toBe(2);
  });
});

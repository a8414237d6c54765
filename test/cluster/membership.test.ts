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
  }, 20_000);
});

describe("cluster refutation, restart and state changes", () => {
  it("a member declared dead by someone else refutes with a higher incarnation", async () => {
    const { buildPacket, encodeMessage, splitHostPort } = await import("../../src/cluster/wire.ts");
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    await pollUntil("both to see both", () => aliveNames(a).length === 2 && aliveNames(b).length === 2);
    const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const { host, port } = splitHostPort(b.peer.address);
      sock.send(buildPacket({ label: "", from: "x", messages: [encodeMessage({ t: "dead", node: "a", inc: 0, from: "x" })] }, undefined), port, host);
      await pollUntil("b to believe a is dead", () => stateOf(b, "a") === "dead");
      // a hears about it through gossip to the dead and refutes: alive again at incarnation 1.
      await pollUntil("b to see a alive again", () => stateOf(b, "a") === "alive");
      // A stale claim (incarnation 0 < 1) is now ignored; the broadcast behind it in the same packet shows it was read.
      sock.send(buildPacket({ label: "", from: "x", messages: [
        encodeMessage({ t: "dead", node: "a", inc: 0, from: "x" }),
        encodeMessage({ t: "user", key: "set", data: new TextEncoder().encode('["marker"]') }),
      ] }, undefined), port, host);
      await pollUntil("the packet to be read", () => b.state.items.has("marker"));
      expect(stateOf(b, "a")).toBe("alive");
      expect(metric(b, "alertmanager_cluster_peers_joined_total")).toBeGreaterThanOrEqual(3);
    } finally {
      sock.close();
    }
  });

  it("a leave that races a false death is still recorded as left", async () => {
    const { buildPacket, encodeMessage, splitHostPort } = await import("../../src/cluster/wire.ts");
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    await pollUntil("both to see both", () => aliveNames(a).length === 2 && aliveNames(b).length === 2);
    const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const { host, port } = splitHostPort(a.peer.address);
      // a wrongly believes b dead, and b leaves before it could refute.
      sock.send(buildPacket({ label: "", from: "x", messages: [encodeMessage({ t: "dead", node: "b", inc: 0, from: "x" })] }, undefined), port, host);
      await pollUntil("a to believe b dead", () => stateOf(a, "b") === "dead");
      await b.peer.leave(500);
      await pollUntil("a to record b's leave", () => stateOf(a, "b") === "left");
      expect(metric(a, "alertmanager_cluster_peers_left_total")).toBe(1);
    } finally {
      sock.close();
    }
  });

  it("a restarted node (same name and port) rejoins through its peers' reconnect loop", async () => {
    const a = await startNode({ peerName: "a" });
    let c = await startNode({ peerName: "c", peers: [a.peer.address] });
    const addr = c.peer.address;
    await pollUntil("a to see c", () => aliveNames(a).join() === "a,c");
    await c.peer.stop();
    await pollUntil("a to see c dead", () => stateOf(a, "c") === "dead", { deadlineMs: 8000 });
    // Restart without peers: a must find it again by itself (reconnect to failed peers).
    c = await startNode({ peerName: "c", listenAddress: addr }, true);
    await pollUntil("a to see c alive again", () => stateOf(a, "c") === "alive" && aliveNames(c).join() === "a,c", { deadlineMs: 8000 });
    expect(metric(a, "alertmanager_cluster_reconnections_total")).toBeGreaterThanOrEqual(1);
    expect(a.peer.failedPeers()).not.toContain("c");
  }, 20_000);

  it("keeps reconnecting to a failed peer until the reconnect timeout, then forgets it", async () => {
    const a = await startNode({ peerName: "a", reconnectTimeoutMs: 1500 });
    const c = await startNode({ peerName: "c", peers: [a.peer.address] });
    await pollUntil("a to see c", () => aliveNames(a).join() === "a,c");
    await c.peer.stop();
    await pollUntil("a to see c dead", () => stateOf(a, "c") === "dead", { deadlineMs: 8000 });
    expect(a.peer.failedPeers()).toEqual(["c"]);
    await pollUntil("reconnect attempts to fail", () => metric(a, "alertmanager_cluster_reconnections_failed_total") >= 2);
    await pollUntil("a to forget c", () => stateOf(a, "c") === undefined, { deadlineMs: 8000 });
    expect(a.peer.failedPeers()).toEqual([]);
    expect(metric(a, "alertmanager_cluster_failed_peers")).toBe(0);
  }, 20_000);

  it("metadata travels with membership and fires onChange", async () => {
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    await pollUntil("both to see both", () => aliveNames(a).length === 2);
    let changes = 0;
    const off = a.peer.onChange(() => changes++);
    b.peer.setMeta("web", "http://127.0.0.1:9090");
    await pollUntil("a to see b's meta", () => a.peer.members().find((m) => m.name === "b")?.meta.web === "http://127.0.0.1:9090");
    expect(changes).toBeGreaterThanOrEqual(1);
    expect(metric(a, "alertmanager_cluster_peers_update_total")).toBeGreaterThanOrEqual(1);
    off();
    expect(() => b.peer.setMeta("big", "x".repeat(600))).toThrow(/exceeds 512/);
  });

  it("sends broadcasts too large for a UDP packet over TCP", async () => {
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    await pollUntil("both to see both", () => aliveNames(a).length === 2);
    const big = "z".repeat(5000);
    a.add(big);
    await pollUntil("b to get the oversized broadcast", () => b.state.items.has(big));
    expect(metric(a, "alertmanager_oversized_gossip_message_sent_total", 'key="set"')).toBe(1);
  });
});

describe("settling and the minority rule", () => {
  it("settles once the member count is stable, and settle(signal) returns on abort", async () => {
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] }, false);
    expect(b.peer.status()).toBe("settling");
    const ac = new AbortController();
    const waiting = b.peer.settle(ac.signal);
    ac.abort();
    await waiting;
    await b.peer.join();
    expect(b.peer.status()).toBe("settling");
    const started = performance.now();
    await b.peer.settle();
    // 4 polls of 10 × gossip interval (200 ms).
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
    expect(b.peer.status()).toBe("ready");
  });

  it("gives up settling after the settle timeout", async () => {
    const a = await startNode({ peerName: "a", settleTimeoutMs: 300 });
    const started = performance.now();
    await a.peer.settle();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(a.peer.status()).toBe("ready");
  });

  it("a survivor of 3 is in the minority until the smaller view has held for stableShrinkMs; a pair never is", async () => {
    const opts = { stableShrinkMs: 2500 };
    const a = await startNode({ peerName: "a", ...opts });
    const b = await startNode({ peerName: "b", peers: [a.peer.address], ...opts });
    const c = await startNode({ peerName: "c", peers: [a.peer.address], ...opts });
    await pollUntil("three members", () => aliveNames(a).length === 3);
    // The view becomes the stable membership after 3 settle polls (600 ms).
    await a.peer.settle();
    await pollUntil("the 3-member view to become the stable membership", () => a.peer.stableMembers() === 3);
    await b.peer.stop();
    await pollUntil("a to see b dead", () => stateOf(a, "b") === "dead", { deadlineMs: 8000 });
    expect(a.peer.inMinority()).toBe(false); // 2 of 3
    await c.peer.stop();
    await pollUntil("a to see c dead", () => stateOf(a, "c") === "dead", { deadlineMs: 8000 });
    expect(a.peer.inMinority()).toBe(true); // 1 of 3
    await pollUntil("a to accept the smaller cluster", () => !a.peer.inMinority(), { deadlineMs: 8000 });

    const p = await startNode({ peerName: "p" });
    const q = await startNode({ peerName: "q", peers: [p.peer.address] });
    await pollUntil("a pair", () => aliveNames(p).length === 2);
    await pollUntil("the pair to become p's stable membership", () => p.peer.stableMembers() === 2);
    await q.peer.stop();
    await pollUntil("p to see q dead", () => stateOf(p, "q") === "dead", { deadlineMs: 8000 });
    expect(p.peer.inMinority()).toBe(false);
  }, 30_000);
});

describe("state exchange with the nodes ahead", () => {
  it("syncAhead takes the state of every alive node ahead in position order, not of those behind", async () => {
    const a = await startNode({ peerName: "a" });
    const b = await startNode({ peerName: "b", peers: [a.peer.address] });
    const c = await startNode({ peerName: "c", peers: [a.peer.address] });
    await pollUntil("all three to see three", () => [a, b, c].every((n) => aliveNames(n).length === 3));
    // Changes made without a broadcast: only a full exchange can carry them.
    a.state.items.add("only-on-a");
    c.state.items.add("only-on-c");
    await b.peer.syncAhead!(2000);
    expect(b.state.items.has("only-on-a")).toBe(true);
    expect(b.state.items.has("only-on-c")).toBe(false);
    // The exchange is both ways: a got b's state.
    b.state.items.add("only-on-b");
    await c.peer.syncAhead!(2000);
    expect(c.state.items.has("only-on-a") && c.state.items.has("only-on-b")).toBe(true);
    // The first node has nobody ahead.
    await a.peer.syncAhead!(2000);
    expect(a.state.items.has("only-on-c")).toBe(true); // from c's exchange with a just before
  }, 20_000);
});

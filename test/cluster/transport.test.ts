import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseClusterKey, readClusterKeyFile } from "../../src/cluster/index.ts";
import { buildPacket, decodeMessage, DropError, encodeMessage, openPacket } from "../../src/cluster/wire.ts";
import { pollUntil } from "../support/wait.ts";
import { aliveNames, metric, startNode, stopAll } from "./helpers.ts";

afterEach(stopAll);

const KEY = new Uint8Array(32).map((_, i) => i + 1);
const OTHER_KEY = new Uint8Array(32).map((_, i) => 100 + i);

describe("cluster wire format", () => {
  it("seals packets with AES-256-GCM so neither label nor payload shows, and opens them back", () => {
    const msg = encodeMessage({ t: "user", key: "sil", data: new TextEncoder().encode("secret-silence") });
    const sealed = buildPacket({ label: "prod-cluster", from: "node-a", messages: [msg] }, KEY);
    const text = Buffer.from(sealed).toString("latin1");
    expect(text.includes("prod-cluster")).toBe(false);
    expect(text.includes("secret-silence")).toBe(false);
    const env = openPacket(sealed, KEY, "prod-cluster", 1400);
    expect(env.from).toBe("node-a");
    expect(decodeMessage(env.messages[0]!)).toMatchObject({ t: "user", key: "sil" });
    // Two seals of the same message differ (random nonce).
    expect(Buffer.from(buildPacket({ label: "prod-cluster", from: "node-a", messages: [msg] }, KEY)).equals(Buffer.from(sealed))).toBe(false);
    const reason = (f: () => unknown) => { try { f(); return "none"; } catch (e) { return (e as DropError).reason; } };
    expect(reason(() => openPacket(sealed, OTHER_KEY, "prod-cluster", 1400))).toBe("decrypt");
    expect(reason(() => openPacket(sealed, undefined, "prod-cluster", 1400))).toBe("decrypt");
    expect(reason(() => openPacket(sealed, KEY, "other", 1400))).toBe("label");
    const flipped = sealed.slice();
    flipped[20]! ^= 1;
    expect(reason(() => openPacket(flipped, KEY, "prod-cluster", 1400))).toBe("decrypt");
    const plain = buildPacket({ label: "prod-cluster", from: "node-a", messages: [msg] }, undefined);
    expect(reason(() => openPacket(plain, KEY, "prod-cluster", 1400))).toBe("unencrypted");
    expect(reason(() => openPacket(new Uint8Array(1401), undefined, "", 1400))).toBe("too_large");
  });

  it("reads the key file as raw bytes, hex or base64, and refuses anything else", () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-cluster-key-"));
    try {
      const raw = join(dir, "raw");
      writeFileSync(raw, KEY);
      expect([...readClusterKeyFile(raw)]).toEqual([...KEY]);
      expect([...parseClusterKey(new TextEncoder().encode(Buffer.from(KEY).toString("hex") + "\n"))]).toEqual([...KEY]);
      expect([...parseClusterKey(new TextEncoder().encode(Buffer.from(KEY).toString("base64")))]).toEqual([...KEY]);
      expect(() => parseClusterKey(new TextEncoder().encode("too short"))).toThrow(/expected 32 raw bytes/);
      expect(() => readClusterKeyFile(join(dir, "missing"))).toThrow(/--cluster.key-file=.*missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cluster label and encryption", () => {
  it("keeps clusters with different labels apart and counts what it ignores", async () => {
    const a = await startNode({ peerName: "a", label: "blue" });
    const b = await startNode({ peerName: "b", label: "green", peers: [a.peer.address] }, false);
    expect(await b.peer.join()).toBe(0);
    expect(metric(a, "promts_cluster_packets_dropped_total", 'reason="label"')).toBeGreaterThanOrEqual(1);
    // Same label: joins. The green node keeps knocking (reconnect) and keeps being ignored.
    const c = await startNode({ peerName: "c", label: "blue", peers: [a.peer.address] });
    await pollUntil("c to join a", () => aliveNames(a).join() === "a,c");
    const before = metric(a, "promts_cluster_packets_dropped_total", 'reason="label"');
    await pollUntil("b's retries to be dropped", () => metric(a, "promts_cluster_packets_dropped_total", 'reason="label"') > before);
    expect(aliveNames(a)).toEqual(["a", "c"]);
    expect(aliveNames(b)).toEqual(["b"]);
  });

  it("with a shared key, nodes join and gossip; a wrong key or no key is dropped and counted", async () => {
    const a = await startNode({ peerName: "a", key: KEY });
    const b = await startNode({ peerName: "b", key: KEY, peers: [a.peer.address] });
    await pollUntil("a and b to see each other", () => aliveNames(a).length === 2 && aliveNames(b).length === 2);
    a.add("sealed-item");
    await pollUntil("b to get the sealed broadcast", () => b.state.items.has("sealed-item"));
    const wrong = await startNode({ peerName: "w", key: OTHER_KEY, peers: [a.peer.address] }, false);
    expect(await wrong.peer.join()).toBe(0);
    expect(metric(a, "promts_cluster_packets_dropped_total", 'reason="decrypt"')).toBeGreaterThanOrEqual(1);
    const none = await startNode({ peerName: "n", peers: [a.peer.address] }, false);
    expect(await none.peer.join()).toBe(0);
    expect(metric(a, "promts_cluster_packets_dropped_total", 'reason="unencrypted"')).toBeGreaterThanOrEqual(1);
    expect(aliveNames(a)).toEqual(["a", "b"]);
    b.add("still-works");
    await pollUntil("a to get b's broadcast", () => a.state.items.has("still-works"));
  });
});

describe("large push/pull", () => {
  it("carries a multi-MiB state through a sealed push/pull intact", async () => {
    const { createClusterPeer } = await import("../../src/cluster/index.ts");
    const { Registry } = await import("../../src/model/index.ts");
    const { nopLogger } = await import("../../src/log/index.ts");
    const blob = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff);
    let received: Uint8Array | undefined;
    const a = await createClusterPeer({ listenAddress: "127.0.0.1:0", peerName: "a", key: KEY }, nopLogger, new Registry());
    const b = await createClusterPeer({ listenAddress: "127.0.0.1:0", peerName: "b", key: KEY, peers: [a.address] }, nopLogger, new Registry());
    try {
      a.addState("blob", { marshal: () => blob, merge: () => {} });
      b.addState("blob", { marshal: () => new Uint8Array(0), merge: (d) => { if (d.length > 0) received = d.slice(); } });
      await a.join();
      expect(await b.join()).toBe(1);
      expect(received?.length).toBe(blob.length);
      expect(Buffer.from(received!).equals(Buffer.from(blob))).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

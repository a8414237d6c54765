/**
 * The compiled binary in a cluster: three `promts alertmanager` processes
 * gossiping on 127.0.0.1 with a shared key. Killing one (SIGKILL) is
 * noticed within the failure-detection bound; restarting it (same name and
 * port) brings the cluster back to three without touching the others.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-e2e-cluster-"));
beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
});
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Node {
  name: string;
  web: number;
  cluster: number;
  child?: Child;
}

function start(n: Node, peers: Node[]): Child {
  n.child = spawnChild(n.name, [
    PROMTS_BINARY, "alertmanager", `--config.file=${join(dir, "am.yml")}`, `--storage.path=${join(dir, n.name)}`,
    `--web.listen-address=127.0.0.1:${n.web}`, `--cluster.listen-address=127.0.0.1:${n.cluster}`, `--cluster.peer-name=${n.name}`,
    ...peers.map((p) => `--cluster.peer=127.0.0.1:${p.cluster}`), `--cluster.key-file=${join(dir, "gossip.key")}`,
    "--cluster.gossip-interval=50ms", "--cluster.probe-interval=200ms", "--cluster.probe-timeout=100ms",
    "--cluster.reconnect-interval=500ms", "--cluster.pushpull-interval=2s", "--log.level=debug",
  ]);
  return n.child;
}

async function metric(n: Node, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${n.web}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("promts alertmanager cluster (binary)", () => {
  test("three nodes: kill one, it is found dead; restart it, it rejoins", async () => {
    writeFileSync(join(dir, "am.yml"), "route:\n  receiver: r\nreceivers:\n- name: r\n");
    writeFileSync(join(dir, "gossip.key"), Buffer.alloc(32, 7).toString("hex") + "\n");
    const nodes: Node[] = ["am0", "am1", "am2"].map((name) => ({ name, web: freePort(), cluster: freePort() }));
    const [a, b, c] = nodes as [Node, Node, Node];
    for (const n of nodes) start(n, nodes.filter((p) => p !== n));
    for (const n of nodes) await waitForOK(`http://127.0.0.1:${n.web}/-/ready`, n.child!);
    const children = () => nodes.map((n) => n.child!).filter((ch) => !ch.exited());
    await waitUntil("three members everywhere", async () => {
      for (const n of nodes) if ((await metric(n, "alertmanager_cluster_members")) !== 3) return false;
      return true;
    }, 20_000, children());
    expect(await metric(a, "alertmanager_peer_position")).toBe(0);
    expect(await metric(c, "alertmanager_peer_position")).toBe(2);

    c.child!.signal("SIGKILL");
    const killedAt = performance.now();
    await waitUntil("the others to count am2 as failed", async () =>
      (await metric(a, "alertmanager_cluster_failed_peers")) === 1 && (await metric(b, "alertmanager_cluster_failed_peers")) === 1, 20_000, [a.child!, b.child!]);
    // Bound: a probe round (≤ 2 × 200 ms), one failed probe, suspicion 4 × 200 ms; margin for a loaded machine.
    expect(performance.now() - killedAt).toBeLessThan(10_000);
    expect(await metric(a, "alertmanager_cluster_members")).toBe(2);

    start(c, []);
    await waitForOK(`http://127.0.0.1:${c.web}/-/ready`, c.child!);
    await waitUntil("am2 back everywhere", async () => {
      for (const n of nodes) if ((await metric(n, "alertmanager_cluster_members")) !== 3) return false;
      return (await metric(a, "alertmanager_cluster_failed_peers")) === 0;
    }, 20_000, children());
    expect(await metric(a, "promts_cluster_packets_dropped_total{reason=\"decrypt\"}")).toBe(0);
  }, 90_000);
});

/**
 * The membership layer on a real network: three `dist/promts alertmanager`
 * nodes, each in its own network namespace (test/support/netns.ts). One is
 * cut off the network: both sides declare the other dead; when the link
 * comes back, the reconnect loop brings all three together again, without
 * a restart. Needs root and iproute2; skips loudly without them (fails under
 * PROMTS_REQUIRE_PEERS=1).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NetnsLab, netnsAvailable } from "../support/netns.ts";
import { PROMTS_BINARY } from "../support/processes.ts";
import { pollUntil } from "../support/wait.ts";

const enabled = netnsAvailable("cluster membership partition test");
const dir = mkdtempSync(join(tmpdir(), "promts-netns-cluster-"));
let lab: NetnsLab | undefined;
afterAll(async () => {
  await lab?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const WEB = 9093;
const CLUSTER = 9094;

describe("cluster membership across a network partition", () => {
  test.if(enabled)("an isolated node and the rest declare each other dead, then rejoin when the link heals", async () => {
    writeFileSync(join(dir, "am.yml"), "route:\n  receiver: r\nreceivers:\n- name: r\n");
    lab = NetnsLab.create({ nodes: 3, networks: ["cluster"] });
    const l = lab;
    const addr = (i: number) => l.nodeAddress(i, "cluster");
    for (let i = 0; i < 3; i++) {
      l.spawn(i, `am${i}`, [
        PROMTS_BINARY, "alertmanager", `--config.file=${join(dir, "am.yml")}`, `--storage.path=${join(dir, `n${i}`)}`,
        `--web.listen-address=${addr(i)}:${WEB}`, `--cluster.listen-address=${addr(i)}:${CLUSTER}`, `--cluster.peer-name=am${i}`,
        ...[0, 1, 2].filter((j) => j !== i).map((j) => `--cluster.peer=${addr(j)}:${CLUSTER}`),
        "--cluster.gossip-interval=50ms", "--cluster.probe-interval=200ms", "--cluster.probe-timeout=100ms",
        "--cluster.reconnect-interval=1s", "--cluster.pushpull-interval=5s",
      ]);
    }
    // Each node's metrics, read inside its own namespace (so a partitioned node can still be asked).
    const members = (i: number): number | undefined => {
      const r = l.exec(i, ["curl", "-s", "--max-time", "2", `http://${addr(i)}:${WEB}/metrics`]);
      const m = /^alertmanager_cluster_members (\d+)$/m.exec(r.stdout);
      return m ? Number(m[1]) : undefined;
    };
    const opts = { deadlineMs: 30_000, intervalMs: 100, details: () => l.running().map((c) => `--- ${c.name}\n${c.stderr().slice(-3000)}`).join("\n") };
    await pollUntil("three members on every node", () => [0, 1, 2].every((i) => members(i) === 3), opts);

    l.partition(2, "cluster");
    const cutAt = performance.now();
    await pollUntil("the isolated node alone, the others two", () => members(2) === 1 && members(0) === 2 && members(1) === 2, opts);
    const detectedMs = performance.now() - cutAt;
    // A probe round, one failed probe and 4 × 200 ms of suspicion; margin for a loaded machine.
    expect(detectedMs).toBeLessThan(15_000);

    l.heal(2, "cluster");
    const healedAt = performance.now();
    await pollUntil("three members again everywhere", () => [0, 1, 2].every((i) => members(i) === 3), opts);
    // The reconnect loop runs every second.
    expect(performance.now() - healedAt).toBeLessThan(15_000);
    console.log(`partition: detected in ${Math.round(detectedMs)} ms, healed in ${Math.round(performance.now() - healedAt)} ms`);
  }, 90_000);
});

/**
 * ★ The HA Pushgateway: three `promts pushgateway` processes clustered on
 * 127.0.0.1. A push to one node is served by the others within a second;
 * a pushadd on another node merges into the replicated group; a delete on
 * any node removes the group everywhere; a node stopped while pushes and
 * deletes happened comes back (from its persistence file) with exactly the
 * groups the others have; every node serves the same /metrics.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? "4");
const dir = mkdtempSync(join(tmpdir(), "promts-pg-cluster-"));
const started: Child[] = [];
afterAll(async () => {
  for (const c of started) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Node {
  name: string;
  web: number;
  gossip: number;
  child?: Child;
  url: string;
}

const nodes: Node[] = ["a", "b", "c"].map((name) => {
  const web = freePort();
  return { name, web, gossip: freePort(), url: `http://127.0.0.1:${web}` };
});

async function start(n: Node): Promise<void> {
  const peers = nodes.filter((o) => o !== n).map((o) => `--cluster.peer=127.0.0.1:${o.gossip}`);
  n.child = spawnChild(`pushgateway-${n.name}`, [
    PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${n.web}`,
    `--persistence.file=${join(dir, `${n.name}.json`)}`, "--persistence.interval=1h",
    `--cluster.listen-address=127.0.0.1:${n.gossip}`, `--cluster.peer-name=${n.name}`, ...peers,
    "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=1s", "--cluster.probe-interval=200ms", "--cluster.probe-timeout=100ms",
    "--cluster.reconnect-interval=500ms",
  ]);
  started.push(n.child);
  await waitForOK(`${n.url}/-/ready`, n.child);
}

async function push(n: Node, path: string, body: string, method = "PUT"): Promise<void> {
  const r = await fetch(`${n.url}${path}`, { method, body: method === "DELETE" ? undefined : body });
  const text = await r.text();
  if (r.status !== (method === "DELETE" ? 202 : 200) && r.status !== 200) throw new Error(`${method} ${path} on ${n.name}: ${r.status} ${text}`);
}

/** The pushed series a node serves (its own metrics and push times left out). */
async function series(n: Node): Promise<string[]> {
  const text = await fetch(`${n.url}/metrics`).then((r) => r.text());
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !/^(process_|pushgateway_|push_|alertmanager_|promts_)/.test(l)).sort();
}

/** Waits until every node serves `want`; returns how long that took. */
async function everywhere(what: string, want: string[], on = nodes): Promise<number> {
  const t0 = performance.now();
  await waitUntil(what, async () => {
    for (const n of on) if (JSON.stringify(await series(n)) !== JSON.stringify(want)) return undefined;
    return true;
  }, 15_000, on.map((n) => n.child!));
  return performance.now() - t0;
}

describe("HA Pushgateway", () => {
  test("pushes, pushadds and deletes replicate; a restarted node gets what it missed", async () => {
    await Promise.all(nodes.map(start));
    const [a, b, c] = nodes as [Node, Node, Node];

    await push(a, "/metrics/job/backup/instance/db1", "# TYPE backup_ok gauge\nbackup_ok 1\n");
    const took = await everywhere("the push on a served by b and c", ['backup_ok{instance="db1",job="backup"} 1']);
    expect(took).toBeLessThan(1000 * SLACK);

    await push(b, "/metrics/job/backup/instance/db1", "backup_bytes 42\n", "POST");
    await everywhere("b's pushadd merged everywhere", ['backup_bytes{instance="db1",job="backup"} 42', 'backup_ok{instance="db1",job="backup"} 1']);

    await push(c, "/metrics/job/batch", "runs 3\n");
    await push(c, "/metrics/job/backup/instance/db1", "", "DELETE");
    await everywhere("c's delete everywhere", ['runs{instance="",job="batch"} 3']);

    // b is away while a group is pushed and another deleted.
    expect(await b.child!.stop()).toBe(0);
    await push(a, "/metrics/job/nightly/instance@base64/L3Zhci9sb2c", "# TYPE size gauge\nsize 7\n");
    await push(c, "/metrics/job/batch", "", "DELETE");
    const want = ['size{instance="/var/log",job="nightly"} 7'];
    await everywhere("a and c agree while b is away", want, [a, c]);
    await start(b);
    await everywhere("b back with what it missed", want);
    // Every node answers the same group list.
    const lists = await Promise.all(nodes.map(async (n) => (await (await fetch(`${n.url}/api/v1/metrics`)).json() as { data: { labels: Record<string, string> }[] }).data.map((g) => g.labels)));
    expect(lists[1]).toEqual(lists[0]!);
    expect(lists[2]).toEqual(lists[0]!);
  }, 90_000);
});

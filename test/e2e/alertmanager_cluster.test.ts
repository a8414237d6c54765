/**
 * ★ Clustered Alertmanagers, end to end: `dist/promts alertmanager` pairs
 * and `dist/promts` server pairs gossiping on 127.0.0.1, notifying a webhook
 * counter in this process.
 *
 * - a pair notifies each group once; a silence set on one node is listed on
 *   the other within a second;
 * - after one node is killed, the other notifies alone;
 * - a node restarted during an incident has its alerts back from the peer
 *   within a second and sends nothing that inhibition suppresses;
 * - two servers with the same rules, clustered, notify each group once (each
 *   sends its alerts to both Alertmanagers, the other one learnt from
 *   membership); after one is killed, the other notifies alone.
 *
 * "Once" is checked after the node that waits (position 1) has run its
 * dedup stage, read from its alertmanager_nflog_queries_total.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? "4");
const TEST_TIMEOUT_MS = 120_000;

let dir = "";
beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
  dir = mkdtempSync(join(tmpdir(), "promts-am-cluster-"));
});
afterEach(stopAll);
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** Counts webhook notifications by alertname of the group and status. */
function webhookCounter() {
  const got: { alertname: string; status: string }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as { groupLabels: Record<string, string>; status: string };
      got.push({ alertname: body.groupLabels.alertname ?? "", status: body.status });
      return new Response("");
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    count: (alertname: string, status = "firing") => got.filter((g) => g.alertname === alertname && g.status === status).length,
    names: () => got.map((g) => g.alertname),
    stop: () => server.stop(true),
  };
}

const GOSSIP_FLAGS = [
  "--cluster.gossip-interval=100ms", "--cluster.probe-interval=200ms", "--cluster.probe-timeout=100ms",
  "--cluster.reconnect-interval=500ms", "--cluster.settle-timeout=3s", "--cluster.peer-timeout=2s",
];

function amYAML(hook: string, extra = ""): string {
  return `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: ${hook}
${extra}`;
}

interface Node {
  name: string;
  web: number;
  gossip: number;
  url: string;
  child?: Child;
}

function nodes(names: string[]): Node[] {
  return names.map((name) => {
    const web = freePort();
    return { name, web, gossip: freePort(), url: `http://127.0.0.1:${web}` };
  });
}

function peerFlags(n: Node, all: Node[]): string[] {
  return [
    `--cluster.listen-address=127.0.0.1:${n.gossip}`, `--cluster.peer-name=${n.name}`,
    ...all.filter((o) => o !== n).map((o) => `--cluster.peer=127.0.0.1:${o.gossip}`), ...GOSSIP_FLAGS,
  ];
}

async function startAM(n: Node, all: Node[], config: string): Promise<void> {
  n.child = spawnChild(`alertmanager-${n.name}`, [
    PROMTS_BINARY, "alertmanager", `--config.file=${config}`, `--storage.path=${join(dir, `am-${n.name}-${n.gossip}`)}`,
    `--web.listen-address=127.0.0.1:${n.web}`, ...peerFlags(n, all),
  ]);
  await waitForOK(`${n.url}/-/ready`, n.child);
}

async function clusterPeers(n: Node): Promise<string[]> {
  const status = await (await fetch(`${n.url}/api/v2/status`)).json() as { cluster: { status: string; peers: { name: string }[] } };
  return status.cluster.status === "ready" ? status.cluster.peers.map((p) => p.name) : [];
}

async function waitForCluster(all: Node[], names: string[]): Promise<void> {
  for (const n of all) {
    await waitUntil(`${n.name} to see a settled cluster of ${names.join(",")}`, async () => JSON.stringify(await clusterPeers(n)) === JSON.stringify(names) || undefined,
      20_000, all.map((o) => o.child!));
  }
}

async function postAlerts(n: Node, alerts: Record<string, string>[]): Promise<void> {
  const res = await fetch(`${n.url}/api/v2/alerts`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alerts.map((labels) => ({ labels }))),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`posting alerts to ${n.name}: ${res.status}`);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Waits until `n`'s dedup stage has answered at least `queries` notification-log queries. */
async function dedupRan(n: Node, queries: number, all: Node[]): Promise<void> {
  await waitUntil(`${n.name}'s dedup stage to run ${queries} times`, async () => (await metric(n.url, "alertmanager_nflog_queries_total")) >= queries || undefined,
    30_000, all.filter((o) => o.child && !o.child.exited()).map((o) => o.child!));
}

describe("clustered promts alertmanager", () => {
  test("a pair notifies each group once, shares silences within a second, and one notifies alone once the other is killed", async () => {
    const hook = webhookCounter();
    try {
      const config = join(dir, "pair.yml");
      writeFileSync(config, amYAML(hook.url));
      const all = nodes(["a", "b"]);
      const [a, b] = all as [Node, Node];
      await Promise.all(all.map((n) => startAM(n, all, config)));
      await waitForCluster(all, ["a", "b"]);

      for (const n of all) {
        await postAlerts(n, [{ alertname: "DiskFull", instance: "h1" }, { alertname: "DiskFull", instance: "h2" }, { alertname: "Down", instance: "h3" }]);
      }
      await waitUntil("both groups notified", () => (hook.count("DiskFull") >= 1 && hook.count("Down") >= 1) || undefined, 20_000, [a.child!, b.child!]);
      await dedupRan(b, 2, all);
      expect(hook.count("DiskFull")).toBe(1);
      expect(hook.count("Down")).toBe(1);

      const now = Date.now();
      const res = await fetch(`${a.url}/api/v2/silences`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          matchers: [{ name: "alertname", value: "Maintenance", isRegex: false }], startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + 3_600_000).toISOString(), createdBy: "e2e", comment: "replicated",
        }),
      });
      const { silenceID } = await res.json() as { silenceID: string };
      const t0 = performance.now();
      await waitUntil("the silence listed on b", async () => {
        const list = await (await fetch(`${b.url}/api/v2/silences`)).json() as { id: string }[];
        return list.some((s) => s.id === silenceID) || undefined;
      }, 10_000, [a.child!, b.child!]);
      expect(performance.now() - t0).toBeLessThan(1000 * SLACK);

      a.child!.signal("SIGKILL");
      await postAlerts(b, [{ alertname: "AfterKill", instance: "h4" }]);
      await waitUntil("b to notify alone", () => hook.count("AfterKill") >= 1 || undefined, 30_000, [b.child!]);
      await dedupRan(b, 3, [b]);
      expect(hook.count("AfterKill")).toBe(1);
    } finally {
      hook.stop();
    }
  }, TEST_TIMEOUT_MS);

  test("a node restarted during an incident has its alerts back within a second and sends nothing inhibition suppresses", async () => {
    const hook = webhookCounter();
    try {
      const config = join(dir, "inhibit.yml");
      writeFileSync(config, amYAML(hook.url, `inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [instance]
`));
      const all = nodes(["a", "b"]);
      const [a, b] = all as [Node, Node];
      await Promise.all(all.map((n) => startAM(n, all, config)));
      await waitForCluster(all, ["a", "b"]);
      const source = { alertname: "HostDown", severity: "critical", instance: "h1" };
      const target = { alertname: "DiskSlow", severity: "warning", instance: "h1" };
      for (const n of all) await postAlerts(n, [source, target]);
      await waitUntil("the source group notified", () => hook.count("HostDown") >= 1 || undefined, 20_000, [a.child!, b.child!]);
      // The incident is under way once b found a's record (a killed between its send and its record would resend: at-least-once).
      await dedupRan(b, 1, all);
      expect(hook.count("HostDown")).toBe(1);

      // Kill the position-0 node, the one that notifies without waiting, and bring it back with its storage.
      a.child!.signal("SIGKILL");
      await waitUntil("a to exit", () => a.child!.exited() || undefined, 10_000);
      await startAM(a, all, config);
      const ready = performance.now();
      // Prometheus resends the warning first; the critical one comes back only from b.
      await postAlerts(a, [target]);
      const states = await waitUntil("a to have both alerts back", async () => {
        const alerts = await (await fetch(`${a.url}/api/v2/alerts`)).json() as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
        const byName = Object.fromEntries(alerts.map((x) => [x.labels.alertname, x.status.state]));
        return byName.HostDown && byName.DiskSlow ? byName : undefined;
      }, 10_000, [a.child!, b.child!]);
      expect(performance.now() - ready).toBeLessThan(1000 * SLACK);
      expect(states).toEqual({ DiskSlow: "suppressed", HostDown: "active" });
      // a flushes the HostDown group as soon as it settled (the alert started long ago) and dedups it against b's record.
      await dedupRan(a, 1, all);
      expect(hook.count("HostDown")).toBe(1);
      expect(hook.count("DiskSlow")).toBe(0);
    } finally {
      hook.stop();
    }
  }, TEST_TIMEOUT_MS);
});

describe("two clustered promts servers with the same rules", () => {
  test("the webhook gets each group's notification once; after one is killed the other notifies alone", async () => {
    const hook = webhookCounter();
    try {
      const amConfig = join(dir, "server-am.yml");
      writeFileSync(amConfig, amYAML(hook.url));
      const all = nodes(["s1", "s2"]);
      const rulesOf = (n: Node) => join(dir, `rules-${n.name}.yml`);
      const rule = (name: string) => `      - alert: ${name}\n        expr: vector(1)\n        labels: {severity: page}\n`;
      for (const n of all) {
        writeFileSync(rulesOf(n), `groups:\n  - name: ha\n    interval: 1s\n    rules:\n${rule("AlwaysFiring")}`);
        writeFileSync(join(dir, `prom-${n.name}.yml`), `global:\n  evaluation_interval: 1s\nrule_files: [${JSON.stringify(rulesOf(n))}]\n`);
      }
      for (const n of all) {
        n.child = spawnChild(`server-${n.name}`, [
          PROMTS_BINARY, `--config.file=${join(dir, `prom-${n.name}.yml`)}`, `--storage.tsdb.path=${join(dir, `data-${n.name}-${n.gossip}`)}`,
          `--web.listen-address=127.0.0.1:${n.web}`, `--alertmanager.config.file=${amConfig}`, ...peerFlags(n, all),
        ]);
      }
      for (const n of all) await waitForOK(`${n.url}/-/ready`, n.child!, 30_000);
      await waitForCluster(all, ["s1", "s2"]);
      const [s1, s2] = all as [Node, Node];
      // Each server sends to its own Alertmanager and to the other's, learnt from membership.
      await waitUntil("s1 to know s2's Alertmanager", async () => {
        const body = await (await fetch(`${s1.url}/api/v1/alertmanagers`)).json() as { data: { activeAlertmanagers: { url: string }[] } };
        return body.data.activeAlertmanagers.some((a) => a.url === `${s2.url}/api/v2/alerts`) || undefined;
      }, 20_000, [s1.child!, s2.child!]);

      await waitUntil("AlwaysFiring notified", () => hook.count("AlwaysFiring") >= 1 || undefined, 30_000, [s1.child!, s2.child!]);
      await dedupRan(s2, 1, all);
      expect(hook.count("AlwaysFiring")).toBe(1);

      s1.child!.signal("SIGKILL");
      writeFileSync(rulesOf(s2), `groups:\n  - name: ha\n    interval: 1s\n    rules:\n${rule("AlwaysFiring")}${rule("AfterKill")}`);
      s2.child!.signal("SIGHUP");
      await waitUntil("s2 to notify AfterKill alone", () => hook.count("AfterKill") >= 1 || undefined, 40_000, [s2.child!]);
      await dedupRan(s2, 2, [s2]);
      expect(hook.count("AfterKill")).toBe(1);
      expect(hook.count("AlwaysFiring")).toBe(1);
    } finally {
      hook.stop();
    }
  }, TEST_TIMEOUT_MS);
});

/**
 * The roles in a cluster, in process, on the cluster bus
 * (test/support/cluster_bus.ts) standing in for the gossip transport:
 * `promts alertmanager` nodes replicate what their APIs receive and report
 * the cluster in /api/v2/status; the server's built-in Alertmanager joins
 * and its notifier learns the other members' Alertmanagers.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCommand } from "../../src/cli/main.ts";
import { command, parseCommandLine } from "../../src/flags/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import {
  alertmanagerFlags, announcedWebURL, clusterAlertmanagerURLs, runAlertmanager, runServer,
  type AlertmanagerFlags, type ServerFlags,
} from "../../src/server/index.ts";
import type { DB } from "../../src/tsdb/index.ts";
import { ClusterBus, type BusPeer } from "../support/cluster_bus.ts";
import { pollUntil } from "../support/wait.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "promts-cluster-roles-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const AM_CONFIG = "route:\n  receiver: a\n  group_wait: 1h\nreceivers:\n  - name: a\n";

function amFlags(args: string[]): AlertmanagerFlags {
  const parsed = parseCommandLine(command("alertmanager", "", alertmanagerFlags), args);
  if (parsed.kind !== "run") throw new Error("expected flags");
  return parsed.flags as AlertmanagerFlags;
}

/** Starts `promts alertmanager` in process as cluster member `name` of `bus`. */
async function startAM(bus: ClusterBus, name: string, dir: string): Promise<{ url: string; peer: () => BusPeer }> {
  const config = join(dir, `${name}.yml`);
  writeFileSync(config, AM_CONFIG);
  const stop = new AbortController();
  let url = "";
  let peer: BusPeer | undefined;
  const exit = runAlertmanager(amFlags([`--config.file=${config}`, `--storage.path=${join(dir, name)}`, "--web.listen-address=127.0.0.1:0"]), {
    logger: nopLogger, handleSignals: false, stop: stop.signal, onListening: (u) => { url = u; },
    createCluster: async () => (peer = bus.peer(name)),
  });
  cleanups.push(async () => {
    stop.abort();
    await exit;
  });
  await pollUntil(`${name} to be ready`, async () => url !== "" && (await fetch(`${url}/-/ready`)).ok, { deadlineMs: 10_000 });
  return { url, peer: () => peer! };
}

interface StatusCluster {
  name: string;
  status: string;
  peers: { name: string; address: string }[];
}

describe("promts alertmanager in a cluster", () => {
  test("an alert posted to one node is listed by the other; status lists both members", async () => {
    const dir = tempDir();
    const bus = new ClusterBus();
    const a = await startAM(bus, "a", dir);
    const b = await startAM(bus, "b", dir);
    expect(a.peer().meta.web).toBe(a.url);
    expect(b.peer().meta.web).toBe(b.url);
    const posted = await fetch(`${a.url}/api/v2/alerts`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify([{ labels: { alertname: "Down", instance: "x" } }]),
    });
    expect(posted.status).toBe(200);
    const listed = await pollUntil("the alert on b", async () => {
      const alerts = await (await fetch(`${b.url}/api/v2/alerts`)).json() as { labels: Record<string, string> }[];
      return alerts.length > 0 && alerts;
    });
    expect(listed.map((x) => x.labels)).toEqual([{ alertname: "Down", instance: "x" }]);
    const status = await (await fetch(`${b.url}/api/v2/status`)).json() as { cluster: StatusCluster };
    expect(status.cluster).toEqual({
      name: "b", status: "ready",
      peers: [{ name: "a", address: a.peer().address }, { name: "b", address: b.peer().address }],
    });
  });

  test("stopping a node leaves the cluster", async () => {
    const dir = tempDir();
    const bus = new ClusterBus();
    const a = await startAM(bus, "a", dir);
    const b = await startAM(bus, "b", dir);
    await cleanups.splice(-1)[0]!(); // stops b, the last started
    expect(b.peer().left).toBe(true);
    const status = await (await fetch(`${a.url}/api/v2/status`)).json() as { cluster: StatusCluster };
    expect(status.cluster.peers.map((p) => p.name)).toEqual(["a"]);
  });
});

describe("the server's built-in Alertmanager in a cluster", () => {
  test("joins, announces its URL, and the notifier sends to the other members' Alertmanagers", async () => {
    const dir = tempDir();
    const bus = new ClusterBus();
    const other = bus.peer("other");
    other.setMeta("web", "http://127.0.0.1:19093/am");
    await other.join();
    const configPath = join(dir, "prometheus.yml");
    writeFileSync(configPath, "global:\n  scrape_interval: 15s\n");
    const amConfig = join(dir, "am.yml");
    writeFileSync(amConfig, AM_CONFIG);
    const parsed = parseCommandLine(rootCommand, [
      `--config.file=${configPath}`, "--web.listen-address=127.0.0.1:0", `--storage.tsdb.path=${join(dir, "data")}`,
      `--alertmanager.config.file=${amConfig}`, "--cluster.peer=127.0.0.1:9094",
    ]);
    if (parsed.kind !== "run") throw new Error("expected flags");
    const flags = parsed.flags as ServerFlags;
    let createdWith = "";
    let self: BusPeer | undefined;
    const stop = new AbortController();
    let url = "";
    // Storage as the HA component sees it at start: empty (nothing stored yet, so no gap to remember).
    const db = { close: async () => undefined, head: () => ({ maxTime: () => Number.MIN_SAFE_INTEGER }), blocks: () => [] } as unknown as DB;
    const exit = runServer(flags, {
      handleSignals: false, logger: nopLogger, stop: stop.signal, onListening: (u) => { url = u; },
      openStorage: async () => db,
      createCluster: async (f) => {
        createdWith = f.listenAddress;
        return (self = bus.peer("server"));
      },
    });
    cleanups.push(async () => {
      stop.abort();
      await exit;
    });
    await pollUntil("the server to be ready", async () => url !== "" && (await fetch(`${url}/-/ready`)).ok, { deadlineMs: 10_000 });
    expect(createdWith).toBe("0.0.0.0:9094");
    expect(self!.joined).toBe(true);
    expect(self!.meta.web).toBe(url);
    const listed = async () => ((await (await fetch(`${url}/api/v1/alertmanagers`)).json()) as { data: { activeAlertmanagers: { url: string }[] } })
      .data.activeAlertmanagers.map((a) => a.url);
    expect(await listed()).toEqual([`${url}/api/v2/alerts`, "http://127.0.0.1:19093/am/api/v2/alerts"]);
    await other.leave(1000);
    expect(await listed()).toEqual([`${url}/api/v2/alerts`]);
    const status = await (await fetch(`${url}/api/v2/status`)).json() as { cluster: StatusCluster };
    expect(status.cluster.name).toBe("server");
  });

  test("the URLs announced and learnt", () => {
    expect(announcedWebURL({ externalURL: "", scheme: "https", port: 9090, routePrefix: "/prom/" }, "[fd00::2]:9094")).toBe("https://[fd00::2]:9090/prom");
    expect(announcedWebURL({ externalURL: "https://prom.example/p/", scheme: "http", port: 9090, routePrefix: "/" }, "10.0.0.2:9094")).toBe("https://prom.example/p");
    expect(clusterAlertmanagerURLs("me", [
      { name: "me", address: "a:1", state: "alive", meta: { web: "http://me" } },
      { name: "b", address: "b:1", state: "suspect", meta: { web: "http://b" } },
      { name: "c", address: "c:1", state: "dead", meta: { web: "http://c" } },
      { name: "d", address: "d:1", state: "alive", meta: {} },
    ])).toEqual(["http://b"]);
  });
});

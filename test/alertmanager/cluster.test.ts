/**
 * The Alertmanager in a cluster, on the in-process cluster bus
 * (test/support/cluster_bus.ts): replicated silences, notification log and
 * alerts; the pipeline's settle, position wait, dedup and minority hold.
 * Time is a shared ManualClock; the bus delivers asynchronously, so every
 * test waits for delivery (quiesce) before it looks.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Alertmanager, ManualClock, type PostableAlert } from "../../src/alertmanager/index.ts";
import { labelsFromRecord, Registry } from "../../src/model/index.ts";
import { ClusterBus, type BusPeer } from "../support/cluster_bus.ts";
import { pollUntil } from "../support/wait.ts";
import { config, startReceiver } from "./helpers.ts";

const SECOND = 1000;
const PEER_TIMEOUT = 15 * SECOND;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function receiver() {
  const r = startReceiver();
  cleanups.push(r.stop);
  return r;
}

function alert(labels: Record<string, string>): PostableAlert {
  return { labels: labelsFromRecord(labels) };
}

function amConfig(url: string, extra = ""): string {
  return `
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${url}/hook
${extra}`;
}

const INHIBIT = `inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [instance]
`;

interface Node {
  peer: BusPeer;
  am: Alertmanager;
  registry: Registry;
}

function node(bus: ClusterBus, name: string, yaml: string, clock: ManualClock, opts: { storagePath?: string; minorityHold?: number } = {}): Node {
  const peer = bus.peer(name);
  const registry = new Registry();
  const am = new Alertmanager({
    config: config(yaml), clock, registry, cluster: peer, peerTimeout: PEER_TIMEOUT,
    storagePath: opts.storagePath, minorityHold: opts.minorityHold,
  });
  cleanups.push(() => am.stop());
  return { peer, am, registry };
}

async function cluster(names: string[], yaml: string, clock = new ManualClock()): Promise<{ bus: ClusterBus; nodes: Node[]; clock: ManualClock }> {
  const bus = new ClusterBus();
  const nodes = names.map((n) => node(bus, n, yaml, clock));
  for (const n of nodes) await n.peer.join();
  bus.stabilize();
  return { bus, nodes, clock };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "promts-am-cluster-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Moves the shared clock, then lets running flushes and gossip finish (bounded rounds). */
async function step(bus: ClusterBus, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  for (let i = 0; i < 20; i++) {
    await bus.quiesce();
    await Bun.sleep(5);
  }
}

describe("replicated silences and notification log", () => {
  test("a silence set on one node is on the others after delivery, and so is its expiry", async () => {
    const r = receiver();
    const { bus, nodes: [a, b], clock } = await cluster(["a", "b"], amConfig(r.url));
    const now = clock.now();
    const id = a!.am.setSilence({
      matchers: [{ name: "alertname", value: "Down", isRegex: false, isEqual: true }],
      startsAt: now, endsAt: now + 3_600_000, createdBy: "me", comment: "maintenance",
    });
    await bus.quiesce();
    expect(b!.am.getSilence(id)).toMatchObject({ id, comment: "maintenance", state: "active" });
    clock.advance(SECOND); // the expiry must be newer (updatedAt) than the creation to win
    b!.am.expireSilence(id);
    await bus.quiesce();
    expect(a!.am.getSilence(id)?.state).toBe("expired");
  });

  test("a merge that took something is gossiped on, so it reaches members the sender cannot reach", async () => {
    const r = receiver();
    const { bus, nodes: [a, , c], clock } = await cluster(["a", "b", "c"], amConfig(r.url));
    bus.partition(["a"], ["c"]);
    const now = clock.now();
    const id = a!.am.setSilence({
      matchers: [{ name: "job", value: "db", isRegex: false, isEqual: true }],
      startsAt: now, endsAt: now + 3_600_000, createdBy: "me", comment: "",
    });
    await bus.quiesce();
    await bus.quiesce();
    expect(c!.am.getSilence(id)?.state).toBe("active");
  });

  test("silences merged from a peer are written to the snapshot", async () => {
    const r = receiver();
    const clock = new ManualClock();
    const bus = new ClusterBus();
    const dir = tempDir();
    const a = node(bus, "a", amConfig(r.url), clock);
    const b = node(bus, "b", amConfig(r.url), clock, { storagePath: dir });
    await a.peer.join();
    await b.peer.join();
    const id = a.am.setSilence({
      matchers: [{ name: "job", value: "db", isRegex: false, isEqual: true }],
      startsAt: clock.now(), endsAt: clock.now() + 3_600_000, createdBy: "me", comment: "",
    });
    await bus.quiesce();
    expect(existsSync(join(dir, "silences"))).toBe(true);
    expect(readFileSync(join(dir, "silences"), "utf8")).toContain(id);
  });

  test("a joining node gets silences and nflog entries by push/pull", async () => {
    const r = receiver();
    const clock = new ManualClock();
    const bus = new ClusterBus();
    const a = node(bus, "a", amConfig(r.url), clock);
    await a.peer.join();
    const id = a.am.setSilence({
      matchers: [{ name: "job", value: "db", isRegex: false, isEqual: true }],
      startsAt: clock.now(), endsAt: clock.now() + 3_600_000, createdBy: "me", comment: "",
    });
    a.am.nflog.log("{}:{alertname=\"X\"}", { groupName: "hook", integration: "webhook", idx: 0 }, ["0123456789abcdef"], [], clock.now());
    const b = node(bus, "b", amConfig(r.url), clock);
    await b.peer.join();
    expect(b.am.getSilence(id)?.state).toBe("active");
    expect(b.am.nflog.query("{}:{alertname=\"X\"}", "hook/webhook/0")?.firingAlerts).toEqual(["0123456789abcdef"]);
  });

  test("malformed gossip is refused and counted; the state is unchanged", async () => {
    const r = receiver();
    const { bus, nodes: [a, b] } = await cluster(["a", "b"], amConfig(r.url));
    const before = b!.am.listSilences().length;
    bus.broadcast(a!.peer, "sil", new Uint8Array([0xff, 0x00, 0x13]));
    bus.broadcast(a!.peer, "alerts", new Uint8Array([0x82, 0x01]));
    await bus.quiesce();
    expect(b!.peer.dropped).toBe(2);
    expect(b!.peer.dropErrors.join("\n")).toMatch(/silences: bad CBOR/);
    expect(b!.am.listSilences().length).toBe(before);
  });
});

describe("replicated alerts", () => {
  test("an alert received by one node is known to every node, and resolving it too", async () => {
    const r = receiver();
    const { bus, nodes: [a, b, c], clock } = await cluster(["a", "b", "c"], amConfig(r.url));
    a!.am.putAlerts([alert({ alertname: "Down", instance: "x" })]);
    await bus.quiesce();
    for (const n of [b!, c!]) expect(n.am.getAlerts().map((s) => s.alert.labels)).toEqual([labelsFromRecord({ alertname: "Down", instance: "x" })]);
    expect(c!.am.groups().map((g) => g.groupKey)).toEqual(["{}:{alertname=\"Down\"}"]);
    clock.advance(SECOND);
    b!.am.putAlerts([{ ...alert({ alertname: "Down", instance: "x" }), endsAt: clock.now() }]);
    await bus.quiesce();
    clock.advance(SECOND);
    expect(a!.am.getAlerts()).toEqual([]);
    expect(c!.am.getAlerts()).toEqual([]);
  });

  test("a node restarted mid-incident gets its alerts back and holds inhibition before it notifies", async () => {
    const r = receiver();
    const yaml = amConfig(r.url, INHIBIT);
    const { bus, nodes: [b], clock } = await cluster(["b", "c"], yaml);
    b!.am.putAlerts([
      alert({ alertname: "HostDown", severity: "critical", instance: "h1" }),
      alert({ alertname: "DiskSlow", severity: "warning", instance: "h1" }),
    ]);
    await step(bus, clock, 31 * SECOND);
    expect(r.received.map((m) => m.body.groupLabels.alertname)).toEqual(["HostDown"]);
    // A node named "a" (position 0: no peer wait) starts with empty state; Prometheus sends it the warning first.
    const restarted = node(bus, "a", yaml, clock);
    restarted.am.putAlerts([alert({ alertname: "DiskSlow", severity: "warning", instance: "h1" })]);
    await step(bus, clock, 31 * SECOND);
    expect(r.received.length).toBe(1); // not joined, not settled: nothing goes out
    await restarted.peer.join();
    const states = Object.fromEntries(restarted.am.getAlerts().map((s) => [s.alert.labels.find((l) => l.name === "alertname")!.value, s.state]));
    expect(states).toEqual({ DiskSlow: "suppressed", HostDown: "active" });
    await step(bus, clock, 5 * SECOND);
    await step(bus, clock, PEER_TIMEOUT * 2);
    expect(r.received.map((m) => m.body.groupLabels.alertname)).toEqual(["HostDown"]);
  });

  test("a large state is applied in slices over several event-loop turns, each slice gossiped on", async () => {
    const { encodeAlerts } = await import("../../src/alertmanager/index.ts");
    const r = receiver();
    const { bus, nodes: [a, b], clock } = await cluster(["a", "b"], amConfig(r.url));
    const now = clock.now();
    const alerts = Array.from({ length: 1000 }, (_, i) => ({
      labels: labelsFromRecord({ alertname: `A${i % 10}`, instance: `h${i}` }), annotations: [], startsAt: now, endsAt: now + 60_000,
      generatorURL: "", updatedAt: now, timeout: false,
    }));
    b!.peer.deliver("alerts", encodeAlerts(alerts));
    expect(b!.am.alerts.size).toBe(250);
    await pollUntil("every alert applied", () => b!.am.alerts.size === 1000);
    await bus.quiesce();
    expect(b!.registry.render()).toContain("alertmanager_alerts_gossip_messages_propagated_total 1000");
    expect(a!.am.alerts.size).toBe(1000);
  });

  test("an invalid alert from a peer is refused with the whole message", async () => {
    const { encodeAlerts } = await import("../../src/alertmanager/index.ts");
    const r = receiver();
    const { bus, nodes: [a, b], clock } = await cluster(["a", "b"], amConfig(r.url));
    const good = { labels: labelsFromRecord({ alertname: "A" }), annotations: [], startsAt: clock.now(), endsAt: clock.now() + 60_000, generatorURL: "", updatedAt: clock.now(), timeout: false };
    const bad = { ...good, labels: [{ name: "bad-name", value: "x" }] };
    bus.broadcast(a!.peer, "alerts", encodeAlerts([good, bad]));
    await bus.quiesce();
    expect(b!.peer.dropErrors.at(-1)).toMatch(/alert 1 from peer: invalid label set/);
    expect(b!.am.getAlerts()).toEqual([]);
  });
});

describe("the clustered notification pipeline", () => {
  test("a pair notifies each group once: position 0 sends, position 1 finds the nflog entry", async () => {
    const r = receiver();
    const { bus, nodes: [a, b], clock } = await cluster(["a", "b"], amConfig(r.url));
    expect([a!.peer.position(), b!.peer.position()]).toEqual([0, 1]);
    for (const n of [a!, b!]) n.am.putAlerts([alert({ alertname: "Down", instance: "x" }), alert({ alertname: "Slow", instance: "y" })]);
    await step(bus, clock, 30 * SECOND);
    expect(r.received.length).toBe(2);
    await step(bus, clock, PEER_TIMEOUT + SECOND);
    expect(r.received.map((m) => m.body.groupLabels.alertname).sort()).toEqual(["Down", "Slow"]);
    expect(a!.registry.render()).toContain("alertmanager_cluster_enabled 1");
  });

  test("after the position-0 node dies, the other notifies alone", async () => {
    const r = receiver();
    const { bus, nodes: [a, b], clock } = await cluster(["a", "b"], amConfig(r.url));
    await a!.am.stop();
    bus.kill("a");
    expect(b!.peer.position()).toBe(0);
    b!.am.putAlerts([alert({ alertname: "Down", instance: "x" })]);
    await step(bus, clock, 30 * SECOND);
    expect(r.received.length).toBe(1);
  });

  test("the first notification waits for the cluster to settle", async () => {
    const r = receiver();
    const clock = new ManualClock();
    const bus = new ClusterBus();
    const a = node(bus, "a", amConfig(r.url), clock);
    await a.peer.join({ settle: false });
    expect(a.am.clusterStatus().status).toBe("settling");
    a.am.putAlerts([alert({ alertname: "Down" })]);
    await step(bus, clock, 31 * SECOND);
    expect(r.received.length).toBe(0);
    a.peer.markSettled();
    await step(bus, clock, 0);
    expect(r.received.length).toBe(1);
  });

  test("a node cut off in a minority holds; the partition heals within the hold and the merged nflog dedups", async () => {
    const r = receiver();
    const { bus, nodes: [a, b, c], clock } = await cluster(["a", "b", "c"], amConfig(r.url));
    for (const n of [a!, b!, c!]) n.am.putAlerts([alert({ alertname: "Down" })]);
    await step(bus, clock, 20 * SECOND);
    bus.partition(["c"], ["a", "b"]);
    expect(c!.peer.inMinority()).toBe(true);
    expect(c!.peer.position()).toBe(0);
    await step(bus, clock, 10 * SECOND);
    expect(r.received.length).toBe(1); // a, position 0 of the majority
    await step(bus, clock, 15 * SECOND);
    expect(r.received.length).toBe(1); // c holds (for 30s from the partition)
    await bus.heal();
    await step(bus, clock, 1 * SECOND);
    await step(bus, clock, 2 * PEER_TIMEOUT);
    expect(r.received.length).toBe(1);
  });

  test("a minority node sends once the hold has passed (at-least-once)", async () => {
    const r = receiver();
    const { bus, nodes: [a, b, c], clock } = await cluster(["a", "b", "c"], amConfig(r.url));
    for (const n of [a!, b!, c!]) n.am.putAlerts([alert({ alertname: "Down" })]);
    await step(bus, clock, 20 * SECOND);
    bus.partition(["c"], ["a", "b"]);
    await step(bus, clock, 10 * SECOND);
    expect(r.received.length).toBe(1);
    await step(bus, clock, 19 * SECOND);
    expect(r.received.length).toBe(1);
    await step(bus, clock, 1 * SECOND);
    expect(r.received.length).toBe(2);
  });

  test("status lists the live members as Alertmanager does", async () => {
    const r = receiver();
    const { bus, nodes: [a] } = await cluster(["a", "b", "c"], amConfig(r.url));
    bus.kill("c");
    expect(a!.am.clusterStatus()).toEqual({
      name: "a", status: "ready",
      peers: [{ name: "a", address: "127.0.0.1:9094" }, { name: "b", address: "127.0.0.1:9095" }],
    });
  });
});

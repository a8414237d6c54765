import { afterEach, describe, expect, it } from "bun:test";
import type { ConsulSDConfig } from "../../src/config/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { labelsToRecord, Registry } from "../../src/model/index.ts";
import { aggregatedHealth, ConsulDiscoverer, nextConsulIndex, type ConsulDiscovererOptions } from "../../src/discovery/consul.ts";
import type { TargetGroup } from "../../src/discovery/types.ts";
import { startFakeConsul, type FakeConsul } from "./fakes/consul_server.ts";

const stops: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
});

function fakeConsul(opts: Parameters<typeof startFakeConsul>[0] = {}): FakeConsul {
  const c = startFakeConsul(opts);
  stops.push(() => c.stop());
  return c;
}

function consulConfig(consul: FakeConsul, over: Partial<ConsulSDConfig> = {}): ConsulSDConfig {
  return {
    server: `127.0.0.1:${consul.port}`,
    tag_separator: ",",
    scheme: "http",
    allow_stale: true,
    refresh_interval: 10,
    tls_config: { insecure_skip_verify: false },
    follow_redirects: true,
    enable_http2: true,
    ...over,
  };
}

/** A running discoverer and the current view its updates add up to (source → group). */
interface Watch {
  updates: TargetGroup[][];
  groups: Map<string, TargetGroup>;
  until(cond: () => boolean, deadlineMs?: number): Promise<number>;
  stop(): Promise<void>;
}

function watch(cfg: ConsulSDConfig, opts: Partial<ConsulDiscovererOptions> = {}): Watch {
  const d = new ConsulDiscoverer(cfg, { logger: nopLogger, watchTimeoutMs: 10_000, initialBackoffMs: 10, retryIntervalMs: 100, ...opts });
  const updates: TargetGroup[][] = [];
  const groups = new Map<string, TargetGroup>();
  const ac = new AbortController();
  const running = d.run((gs) => {
    updates.push(gs);
    for (const g of gs) groups.set(g.source, g);
  }, ac.signal);
  const stop = async () => {
    ac.abort();
    await running;
  };
  stops.push(stop);
  return {
    updates,
    groups,
    async until(cond, deadlineMs = 5000) {
      const start = Date.now();
      while (!cond() && Date.now() - start < deadlineMs) await Bun.sleep(2);
      expect(cond()).toBe(true);
      return Date.now() - start;
    },
    stop,
  };
}

const addresses = (g: TargetGroup | undefined) => (g?.targets ?? []).map((t) => labelsToRecord(t).__address__).sort();

describe("ConsulDiscoverer", () => {
  it("reports targets with exactly Prometheus's labels", async () => {
    const consul = fakeConsul({ datacenter: "eu1" });
    consul.register({
      node: "node-a", address: "10.0.0.1", nodeMeta: { rack: "r1", "os-name": "linux" }, taggedAddresses: { lan: "10.0.0.1", wan: "203.0.113.1" },
      service: { id: "web-1", service: "web", tags: ["prod", "v2"], address: "10.0.9.9", port: 8080, meta: { version: "1.2", "team.name": "sre" } },
      checks: [{ checkId: "serfHealth", status: "passing" }, { checkId: "web-http", status: "warning", serviceId: "web-1" }],
    });
    consul.register({ node: "node-b", address: "10.0.0.2", service: { id: "web-2", service: "web", port: 8081 } });
    const w = watch(consulConfig(consul));
    await w.until(() => w.groups.get("web")?.targets.length === 2);
    const group = w.groups.get("web")!;
    expect(labelsToRecord(group.labels)).toEqual({ __meta_consul_dc: "eu1", __meta_consul_service: "web" });
    expect(group.targets.map(labelsToRecord)).toEqual([
      {
        __address__: "10.0.9.9:8080",
        __meta_consul_address: "10.0.0.1",
        __meta_consul_health: "warning",
        __meta_consul_metadata_os_name: "linux",
        __meta_consul_metadata_rack: "r1",
        __meta_consul_node: "node-a",
        __meta_consul_service_address: "10.0.9.9",
        __meta_consul_service_id: "web-1",
        __meta_consul_service_metadata_team_name: "sre",
        __meta_consul_service_metadata_version: "1.2",
        __meta_consul_service_port: "8080",
        __meta_consul_tagged_address_lan: "10.0.0.1",
        __meta_consul_tagged_address_wan: "203.0.113.1",
        __meta_consul_tags: ",prod,v2,",
      },
      {
        // No service address: the node's address is used.
        __address__: "10.0.0.2:8081",
        __meta_consul_address: "10.0.0.2",
        __meta_consul_health: "passing",
        __meta_consul_node: "node-b",
        __meta_consul_service_id: "web-2",
        __meta_consul_service_port: "8081",
        __meta_consul_tags: ",,",
      },
    ]);
    // The datacenter came from /v1/agent/self; stale reads were asked for.
    expect(consul.requests.some((r) => r.path === "/v1/agent/self")).toBe(true);
    expect(consul.requests.find((r) => r.path === "/v1/health/service/web")!.params.has("stale")).toBe(true);
  });

  it("sees a registration within one blocking query, long before the wait ends, and a deregistration as an empty group", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "api", port: 80 } });
    const w = watch(consulConfig(consul), { watchTimeoutMs: 10_000 });
    await w.until(() => addresses(w.groups.get("api")).length === 1);
    // Let both watchers park in a blocking query, then change the catalog.
    await w.until(() => consul.blockedQueries === 2);
    consul.register({ node: "n2", address: "10.0.0.2", service: { service: "api", port: 80 } });
    const addedAfter = await w.until(() => addresses(w.groups.get("api")).length === 2);
    expect(addedAfter).toBeLessThan(2000);
    const answered = consul.requests.filter((r) => r.path === "/v1/health/service/api" && r.params.has("index"));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered[0]!.params.get("wait")).toBe("10000ms");

    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "cache", port: 6379 } });
    await w.until(() => addresses(w.groups.get("cache")).join() === "10.0.0.1:6379");

    consul.deregister("n1", "api");
    await w.until(() => addresses(w.groups.get("api")).join() === "10.0.0.2:80");
    consul.deregister("n2", "api");
    const removedAfter = await w.until(() => w.groups.get("api")?.targets.length === 0);
    expect(removedAfter).toBeLessThan(2000);
    expect(w.groups.get("cache")!.targets.length).toBe(1);
  });

  it("watches only services with every configured tag, on nodes with the node_meta", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", nodeMeta: { env: "prod" }, service: { service: "a", port: 1, tags: ["metrics", "http"] } });
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "b", port: 2, tags: ["metrics"] } });
    consul.register({ node: "n2", address: "10.0.0.2", nodeMeta: { env: "dev" }, service: { service: "a", port: 1, tags: ["metrics", "http"] } });
    const w = watch(consulConfig(consul, { tags: ["metrics", "http"], node_meta: { env: "prod" } }));
    await w.until(() => w.groups.has("a"));
    expect(addresses(w.groups.get("a"))).toEqual(["10.0.0.1:1"]);
    // b lacks the "http" tag: never watched.
    expect(consul.requests.some((r) => r.path === "/v1/health/service/b")).toBe(false);
    const q = consul.requests.find((r) => r.path === "/v1/health/service/a")!.params;
    expect(q.getAll("tag")).toEqual(["metrics", "http"]);
    expect(q.getAll("node-meta")).toEqual(["env:prod"]);
  });

  it("with only `services`, watches those directly and never lists the catalog", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "a", port: 1 } });
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "b", port: 2 } });
    const w = watch(consulConfig(consul, { services: ["b", "missing"], datacenter: "dc1" }));
    await w.until(() => w.groups.has("b") && w.groups.has("missing"));
    expect(addresses(w.groups.get("b"))).toEqual(["10.0.0.1:2"]);
    expect(w.groups.get("missing")!.targets).toEqual([]);
    expect(w.groups.has("a")).toBe(false);
    expect(consul.requests.some((r) => r.path === "/v1/catalog/services" || r.path === "/v1/agent/self")).toBe(false);
    expect(consul.requests.find((r) => r.path === "/v1/health/service/b")!.params.get("dc")).toBe("dc1");
  });

  it("passes `filter` to Consul, which applies it", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", service: { id: "a1", service: "a", port: 1, meta: { scrape: "true" } } });
    consul.register({ node: "n2", address: "10.0.0.2", service: { id: "a2", service: "a", port: 1, meta: { scrape: "false" } } });
    const w = watch(consulConfig(consul, { services: ["a"], datacenter: "dc1", filter: 'Service.Meta.scrape == "true"' }));
    await w.until(() => w.groups.has("a"));
    expect(addresses(w.groups.get("a"))).toEqual(["10.0.0.1:1"]);
    expect(consul.requests.find((r) => r.path === "/v1/health/service/a")!.params.get("filter")).toBe('Service.Meta.scrape == "true"');
  });

  it("needs the right ACL token", async () => {
    const consul = fakeConsul({ aclTokens: ["s3cret"] });
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "a", port: 1 } });
    const registry = new Registry();
    const wrong = watch(consulConfig(consul, { token: "guess" }), { registry });
    const failures = () => Number(/prometheus_sd_consul_rpc_failures_total (\d+)/.exec(registry.render())?.[1] ?? 0);
    await wrong.until(() => failures() >= 2);
    await wrong.stop();
    expect(wrong.updates).toEqual([]);
    expect(consul.requests.filter((r) => r.status === 403).length).toBeGreaterThanOrEqual(2);
    expect(await (await fetch(`${consul.url}/v1/catalog/services`, { headers: { "X-Consul-Token": "guess" } })).text()).toBe("ACL not found");

    const right = watch(consulConfig(consul, { token: "s3cret" }), { registry });
    await right.until(() => addresses(right.groups.get("a")).length === 1);
    expect(registry.render()).toMatch(/prometheus_sd_consul_rpc_duration_seconds_count\{endpoint="catalog",call="service"\} \d+/);
  });

  it("keeps the last targets while Consul is down, backs off, and resumes when it is back", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "a", port: 1 } });
    const registry = new Registry();
    const w = watch(consulConfig(consul), { registry, watchTimeoutMs: 10_000, initialBackoffMs: 10, retryIntervalMs: 80 });
    await w.until(() => addresses(w.groups.get("a")).length === 1);
    const updatesBefore = w.updates.length;
    consul.stop();
    const failures = () => Number(/prometheus_sd_consul_rpc_failures_total (\d+)/.exec(registry.render())![1]);
    await w.until(() => failures() >= 8);
    const t0 = Date.now(), f0 = failures();
    await w.until(() => failures() >= f0 + 4);
    // Backoff reached its cap (80ms) by now: 4 more failures of two watchers take at least one full interval.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(w.updates.length).toBe(updatesBefore);
    expect(addresses(w.groups.get("a"))).toEqual(["10.0.0.1:1"]);
    consul.register({ node: "n2", address: "10.0.0.2", service: { service: "a", port: 1 } });
    consul.restart();
    await w.until(() => addresses(w.groups.get("a")).length === 2);
  });

  it("resets an index that went backwards (snapshot restore) instead of blocking on a stale one", async () => {
    const consul = fakeConsul();
    for (let n = 0; n < 5; n++) consul.register({ node: `n${n}`, address: `10.0.0.${n}`, service: { service: "a", port: 1 } });
    const w = watch(consulConfig(consul, { services: ["a"], datacenter: "dc1" }), { watchTimeoutMs: 1000 });
    await w.until(() => addresses(w.groups.get("a")).length === 5);
    await w.until(() => consul.blockedQueries === 1);
    const blockedOn = Number(consul.requests.at(-1)!.params.get("index"));
    consul.restoreSnapshot(2);
    consul.deregister("n4", "a");
    expect(consul.index).toBeLessThan(blockedOn);
    // The held query ends at its wait with the lower index and the restored data.
    await w.until(() => addresses(w.groups.get("a")).length === 4);
    // The watcher then starts over without an index and blocks on the current one…
    const health = () => consul.requests.filter((r) => r.path === "/v1/health/service/a");
    await w.until(() => health().filter((r) => !r.params.has("index")).length === 2);
    await w.until(() => consul.blockedQueries === 1 && Number(health().at(-1)!.params.get("index")) === consul.index);
    // …so a change is seen at once rather than after a whole wait.
    consul.register({ node: "n9", address: "10.0.0.9", service: { service: "a", port: 1 } });
    expect(await w.until(() => addresses(w.groups.get("a")).length === 5)).toBeLessThan(500);
  });

  it("logs and counts answers that are not what Consul sends, reporting nothing", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/v1/health/service/no-index") return Response.json([]);
        if (path === "/v1/health/service/bad-shape") return Response.json([{ Node: 1 }], { headers: { "X-Consul-Index": "5" } });
        return new Response("not json", { headers: { "X-Consul-Index": "5" } });
      },
    });
    stops.push(() => void server.stop(true));
    const lines: string[] = [];
    const { newLogger } = await import("../../src/log/index.ts");
    const registry = new Registry();
    const cfg = consulConfig(fakeConsul(), { server: `127.0.0.1:${server.port}`, services: ["no-index", "bad-shape", "garbage"], datacenter: "dc1" });
    const d = new ConsulDiscoverer(cfg, { logger: newLogger({ write: (l) => lines.push(l) }), registry, initialBackoffMs: 1000, retryIntervalMs: 1000 });
    const updates: TargetGroup[][] = [];
    const ac = new AbortController();
    const running = d.run((g) => updates.push(g), ac.signal);
    const deadline = Date.now() + 5000;
    while (lines.length < 3 && Date.now() < deadline) await Bun.sleep(2);
    ac.abort();
    await running;
    expect(updates).toEqual([]);
    const log = lines.join("\n");
    expect(log).toContain("missing or invalid X-Consul-Index header null");
    expect(log).toContain("consul /v1/health/service/bad-shape: entry 0: expected an object with Node and Service");
    expect(log).toContain("consul /v1/health/service/garbage: invalid JSON");
    expect(registry.render()).toContain("prometheus_sd_consul_rpc_failures_total 3");
  });

  it("computes health and the next index as Consul's client rules say", () => {
    expect(aggregatedHealth([])).toBe("passing");
    expect(aggregatedHealth([{ CheckID: "a", Status: "warning" }, { CheckID: "b", Status: "critical" }])).toBe("critical");
    expect(aggregatedHealth([{ CheckID: "_node_maintenance", Status: "critical" }, { CheckID: "b", Status: "passing" }])).toBe("maintenance");
    expect(aggregatedHealth([{ CheckID: "a", Status: "bogus" }])).toBe("");
    expect(nextConsulIndex(10, 12)).toBe(12);
    expect(nextConsulIndex(10, 3)).toBe(0);
    expect(nextConsulIndex(0, 0)).toBe(1);
  });

  it("rejects a bad config with a clear error", () => {
    const consul = fakeConsul();
    expect(() => new ConsulDiscoverer(consulConfig(consul, { scheme: "ftp" }), { logger: nopLogger })).toThrow(/scheme must be http or https/);
    expect(() => new ConsulDiscoverer(consulConfig(consul, { server: "bad host:x" }), { logger: nopLogger })).toThrow(/invalid server/);
  });
});

describe("fake Consul", () => {
  it("answers like Consul: index header, blocking until wait, errors for bad input", async () => {
    const consul = fakeConsul();
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "a", port: 1, tags: ["x"] } });
    const res = await fetch(`${consul.url}/v1/catalog/services`);
    expect(res.status).toBe(200);
    const idx = Number(res.headers.get("X-Consul-Index"));
    expect(idx).toBe(consul.index);
    expect(await res.json()).toEqual({ a: ["x"] });
    const t0 = Date.now();
    const held = await fetch(`${consul.url}/v1/catalog/services?index=${idx}&wait=100ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(held.headers.get("X-Consul-Index")).toBe(String(idx));
    expect((await fetch(`${consul.url}/v1/catalog/services?index=abc`)).status).toBe(400);
    expect(await (await fetch(`${consul.url}/v1/catalog/services?index=1&wait=soon`)).text()).toBe("Invalid wait time");
    const dc = await fetch(`${consul.url}/v1/catalog/services?dc=mars`);
    expect([dc.status, await dc.text()]).toEqual([500, "No path to datacenter"]);
    expect((await fetch(`${consul.url}/v1/catalog/nope`)).status).toBe(404);
    expect((await fetch(`${consul.url}/v1/catalog/services`, { method: "POST" })).status).toBe(405);
    const filtered = await fetch(`${consul.url}/v1/catalog/services?filter=${encodeURIComponent('ServiceTags contains "y"')}`);
    expect(await filtered.json()).toEqual({});
    const bad = await fetch(`${consul.url}/v1/health/service/a?filter=${encodeURIComponent("Bogus == 1")}`);
    expect([bad.status, await bad.text()]).toEqual([400, 'Failed to create boolean expression evaluator: Selector "Bogus" is not valid']);
    const reg = await fetch(`${consul.url}/v1/catalog/register`, { method: "PUT", body: JSON.stringify({ Node: "n2", Address: "10.0.0.2", Service: { Service: "b", Port: 9 } }) });
    expect(reg.status).toBe(200);
    const b = (await (await fetch(`${consul.url}/v1/catalog/service/b`)).json()) as { ServiceName: string; ServicePort: number }[];
    expect(b.map((e) => [e.ServiceName, e.ServicePort])).toEqual([["b", 9]]);
  });
});

describe("ConsulDiscoverer from prometheus.yml", () => {
  it("runs from a config the config room parsed, with its defaults", async () => {
    const { parseConfig } = await import("../../src/config/index.ts");
    const consul = fakeConsul({ aclTokens: ["t0k"] });
    consul.register({ node: "n1", address: "10.0.0.1", service: { service: "node-exporter", port: 9100, tags: ["a", "b"] } });
    const yml = `scrape_configs:
  - job_name: consul
    consul_sd_configs:
      - server: 127.0.0.1:${consul.port}
        token: t0k
        tag_separator: ";"
        refresh_interval: 10ms
`;
    const cfg = parseConfig(yml, "prometheus.yml").config.scrape_configs[0]!.consul_sd_configs[0]!;
    expect(cfg.scheme).toBe("http");
    expect(cfg.allow_stale).toBe(true);
    const w = watch(cfg);
    await w.until(() => w.groups.get("node-exporter")?.targets.length === 1);
    expect(labelsToRecord(w.groups.get("node-exporter")!.targets[0]!).__meta_consul_tags).toBe(";a;b;");
  });
});

describe("fake Consul filter expressions", () => {
  it("evaluates go-bexpr operators, logic and selectors", async () => {
    const { compileConsulFilter } = await import("./fakes/consul_filter.ts");
    const rec = { Service: { Tags: ["http", "prod"], Meta: { "env-name": "prod" }, Port: 80 }, Node: { Node: "web-1", Meta: {} } };
    const f = (src: string) => compileConsulFilter(src, ["Service", "Node"])(rec);
    expect(f('"http" in Service.Tags and Service.Port == 80')).toBe(true);
    expect(f('Service.Tags contains "dev" or Node.Node matches "^web-"')).toBe(true);
    expect(f('not (Service.Meta["env-name"] == prod)')).toBe(false);
    expect(f('"grpc" not in Service.Tags and Node.Meta is empty and Service.Meta is not empty')).toBe(true);
    expect(f("Node.Node != `web-1`")).toBe(false);
    expect(() => f("Service.Port >")).toThrow('unexpected character ">" at position 13');
    expect(() => f("Service.Port like 1")).toThrow(/unknown operator "like"/);
    expect(() => f("(Service.Port == 1")).toThrow(/expected \)/);
  });
});

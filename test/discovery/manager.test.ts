import { afterEach, describe, expect, test } from "bun:test";
import {
  DiscoveryManager, sdConfigsOf, unsupportedSDConfigs,
  type Discoverer, type DiscovererKind, type SDConfigs, type TargetGroup,
} from "../../src/discovery/index.ts";
import { parseConfig } from "../../src/config/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { labelsFromRecord, Registry } from "../../src/model/index.ts";
import { metricValue, plain, waitFor, type PlainGroup } from "./helpers.ts";

/** A discoverer driven by the test: `push` reports groups while it runs. */
class FakeDiscoverer implements Discoverer {
  push: (groups: TargetGroup[]) => void = () => { throw new Error("not running"); };
  running = false;
  stopped = false;
  constructor(readonly kind: DiscovererKind, readonly cfg: unknown) {}
  run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void> {
    this.push = update;
    this.running = true;
    return new Promise((resolve) => signal.addEventListener("abort", () => {
      this.running = false;
      this.stopped = true;
      resolve();
    }, { once: true }));
  }
}

function group(source: string, ...addresses: string[]): TargetGroup {
  return { source, targets: addresses.map((a) => labelsFromRecord({ __address__: a })), labels: labelsFromRecord({ g: source }) };
}

const files = (...names: string[]): SDConfigs => ({ file_sd_configs: names.map((n) => ({ files: [n], refresh_interval: 1000 })) });

interface Harness {
  dm: DiscoveryManager;
  registry: Registry;
  created: FakeDiscoverer[];
  calls: { job: string; groups: PlainGroup[] }[];
  /** Current groups per job, applied like ScrapeManager.setTargetGroups. */
  state: Map<string, Map<string, PlainGroup>>;
  addresses(job: string): string[];
  discoverer(file: string): FakeDiscoverer;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function harness(opts: { failFor?: string; updateIntervalMs?: number } = {}): Harness {
  const registry = new Registry();
  const created: FakeDiscoverer[] = [];
  const calls: Harness["calls"] = [];
  const state = new Map<string, Map<string, PlainGroup>>();
  const dm = new DiscoveryManager({
    logger: nopLogger,
    registry,
    updateIntervalMs: opts.updateIntervalMs ?? 20,
    onUpdate: (job, groups) => {
      calls.push({ job, groups: groups.map(plain) });
      let m = state.get(job);
      if (!m) state.set(job, (m = new Map()));
      for (const g of groups) {
        if (g.targets.length === 0) m.delete(g.source);
        else m.set(g.source, plain(g));
      }
    },
    newDiscoverer: (kind, cfg) => {
      if (opts.failFor !== undefined && JSON.stringify(cfg).includes(opts.failFor)) throw new Error("bad config");
      const d = new FakeDiscoverer(kind, cfg);
      created.push(d);
      return d;
    },
  });
  cleanups.push(() => dm.stop());
  return {
    dm, registry, created, calls, state,
    addresses: (job) => [...(state.get(job)?.values() ?? [])].flatMap((g) => g.targets.map((t) => t.__address__!)).sort(),
    discoverer: (file) => {
      const found = created.filter((d) => JSON.stringify(d.cfg).includes(`"${file}"`) && !d.stopped);
      if (found.length !== 1) throw new Error(`expected one running discoverer for ${file}, found ${found.length}`);
      return found[0]!;
    },
  };
}

describe("DiscoveryManager", () => {
  test("groups reach their job with sources namespaced per discoverer", async () => {
    const h = harness();
    h.dm.applyConfig([{ name: "a", configs: files("a.json") }, { name: "b", configs: files("b.json", "b2.json") }]);
    expect(h.created.length).toBe(3);
    h.discoverer("a.json").push([group("a.json:0", "a:1")]);
    h.discoverer("b.json").push([group("x:0", "b:1")]);
    h.discoverer("b2.json").push([group("x:0", "b2:1")]);
    await waitFor("both jobs updated", () => h.addresses("a").length === 1 && h.addresses("b").length === 2);
    expect(h.addresses("a")).toEqual(["a:1"]);
    expect(h.addresses("b")).toEqual(["b2:1", "b:1"]);
    expect([...h.state.get("b")!.keys()].sort()).toEqual(["file_sd/1/x:0", "file_sd/2/x:0"]);
    expect(h.dm.targetGroups("b").map((g) => g.source)).toEqual(["file_sd/1/x:0", "file_sd/2/x:0"]);
    expect(h.state.get("a")!.get("file_sd/0/a.json:0")!.labels).toEqual({ g: "a.json:0" });
    expect(metricValue(h.registry, 'prometheus_sd_discovered_targets{config="b",name="scrape"}')).toBe(2);
    expect(metricValue(h.registry, 'prometheus_sd_received_updates_total{name="scrape"}')).toBe(3);
  });

  test("updates within one interval are batched into one call per job", async () => {
    const h = harness({ updateIntervalMs: 100 });
    h.dm.applyConfig([{ name: "a", configs: files("a.json") }]);
    const d = h.discoverer("a.json");
    d.push([group("s0", "t:1")]);
    d.push([group("s0", "t:2")]);
    d.push([group("s1", "u:1")]);
    await waitFor("one call", () => h.calls.length === 1);
    expect(h.calls[0]!.groups.map((g) => [g.source, g.targets.map((t) => t.__address__)])).toEqual([
      ["file_sd/0/s0", ["t:2"]],
      ["file_sd/0/s1", ["u:1"]],
    ]);
    expect(metricValue(h.registry, 'prometheus_sd_updates_total{name="scrape"}')).toBe(1);
    d.push([group("s0", "t:2")]);
    d.push([{ source: "s1", targets: [], labels: [] }]);
    await waitFor("second call", () => h.calls.length === 2);
    expect(h.calls[1]!.groups.map((g) => [g.source, g.targets.length])).toEqual([["file_sd/0/s1", 0]]);
  });

  test("a config used by two jobs runs once and feeds both", async () => {
    const h = harness();
    h.dm.applyConfig([{ name: "a", configs: files("shared.json") }, { name: "b", configs: files("shared.json") }]);
    expect(h.created.length).toBe(1);
    h.discoverer("shared.json").push([group("s", "t:1")]);
    await waitFor("both jobs", () => h.addresses("a").length === 1 && h.addresses("b").length === 1);
  });

  test("applyConfig restarts only changed discoverers and retracts the groups of stopped ones", async () => {
    const h = harness();
    h.dm.applyConfig([{ name: "a", configs: files("keep.json", "old.json") }]);
    const keep = h.discoverer("keep.json");
    const old = h.discoverer("old.json");
    keep.push([group("k", "keep:1")]);
    old.push([group("o", "old:1")]);
    await waitFor("initial targets", () => h.addresses("a").length === 2);

    h.dm.applyConfig([{ name: "a", configs: files("keep.json", "new.json") }]);
    expect(keep.running).toBe(true);
    expect(old.stopped).toBe(true);
    expect(h.created.length).toBe(3);
    expect(h.dm.discovererCount).toBe(2);
    await waitFor("old targets gone", () => h.addresses("a").join() === "keep:1");
    h.discoverer("new.json").push([group("n", "new:1")]);
    await waitFor("new targets", () => h.addresses("a").join() === "keep:1,new:1");
    // A late report from the stopped discoverer is ignored.
    old.push([group("o", "zombie:1")]);
    keep.push([group("k", "keep:2")]);
    await waitFor("keep updated", () => h.addresses("a").join() === "keep:2,new:1");
  });

  test("moving a config to another job retracts it from the old job and announces it to the new one", async () => {
    const h = harness();
    h.dm.applyConfig([{ name: "a", configs: files("f.json") }, { name: "b", configs: {} }]);
    const d = h.discoverer("f.json");
    d.push([group("s", "t:1")]);
    await waitFor("a has target", () => h.addresses("a").length === 1);
    h.dm.applyConfig([{ name: "b", configs: files("f.json") }]);
    expect(d.running).toBe(true);
    await waitFor("moved", () => h.addresses("a").length === 0 && h.addresses("b").join() === "t:1");
    expect(metricValue(h.registry, 'prometheus_sd_discovered_targets{config="a",name="scrape"}')).toBeUndefined();
    expect(metricValue(h.registry, 'prometheus_sd_discovered_targets{config="b",name="scrape"}')).toBe(1);
  });

  test("a config that fails to load is counted; the others run", async () => {
    const h = harness({ failFor: "bad.json" });
    h.dm.applyConfig([{ name: "a", configs: files("bad.json", "good.json") }]);
    expect(h.dm.discovererCount).toBe(1);
    expect(metricValue(h.registry, 'prometheus_sd_failed_configs{name="scrape"}')).toBe(1);
    h.dm.applyConfig([{ name: "a", configs: files("good.json") }]);
    expect(metricValue(h.registry, 'prometheus_sd_failed_configs{name="scrape"}')).toBe(0);
  });

  test("the real factory rejects invalid configs as failed configs", async () => {
    const registry = new Registry();
    const dm = new DiscoveryManager({ logger: nopLogger, registry, onUpdate: () => {}, updateIntervalMs: 10 });
    cleanups.push(() => dm.stop());
    dm.applyConfig([{ name: "a", configs: { dns_sd_configs: [{ names: ["x"], type: "A", refresh_interval: 1000 }] } }]);
    expect(metricValue(registry, 'prometheus_sd_failed_configs{name="scrape"}')).toBe(1);
    expect(dm.discovererCount).toBe(0);
  });

  test("the real factory runs http_sd with the injected fetch", async () => {
    const fake = (async () => Response.json([{ targets: ["h:1"] }])) as unknown as typeof fetch;
    const got: PlainGroup[] = [];
    const dm = new DiscoveryManager({ logger: nopLogger, onUpdate: (_job, groups) => got.push(...groups.map(plain)), updateIntervalMs: 10, fetch: fake });
    cleanups.push(() => dm.stop());
    dm.applyConfig([{ name: "j", configs: { http_sd_configs: [{ url: "http://sd.invalid/targets", refresh_interval: 60_000 }] } }]);
    await waitFor("http_sd groups", () => got.length > 0);
    expect(got).toEqual([{
      source: "http_sd/0/http://sd.invalid/targets:0",
      targets: [{ __address__: "h:1" }],
      labels: { __meta_url: "http://sd.invalid/targets" },
    }]);
  });

  test("stop() stops every discoverer; the manager cannot be reused", async () => {
    const h = harness();
    h.dm.applyConfig([{ name: "a", configs: files("a.json", "b.json") }]);
    const [a, b] = [h.discoverer("a.json"), h.discoverer("b.json")];
    a.push([group("s", "t:1")]);
    await h.dm.stop();
    expect(a.stopped && b.stopped).toBe(true);
    expect(h.dm.discovererCount).toBe(0);
    expect(() => h.dm.applyConfig([])).toThrow("discovery manager is stopped");
  });

  test("two managers can share a registry (scrape and notify)", () => {
    const registry = new Registry();
    const one = new DiscoveryManager({ registry, onUpdate: () => {}, name: "scrape" });
    const two = new DiscoveryManager({ registry, onUpdate: () => {}, name: "notify" });
    one.applyConfig([]);
    two.applyConfig([]);
    expect(metricValue(registry, 'prometheus_sd_failed_configs{name="notify"}')).toBe(0);
    expect(metricValue(registry, 'prometheus_sd_failed_configs{name="scrape"}')).toBe(0);
  });

  test("sdConfigsOf and unsupportedSDConfigs read a parsed scrape config", () => {
    const { config } = parseConfig(
      [
        "scrape_configs:",
        "  - job_name: j",
        "    file_sd_configs: [{files: [sd/*.json]}]",
        "    dns_sd_configs: [{names: [_x._tcp.example.com]}]",
        "    kubernetes_sd_configs: [{role: pod}]",
      ].join("\n"),
      "/etc/promts/prometheus.yml",
    );
    const sd = sdConfigsOf(config.scrape_configs[0]!);
    expect(sd.file_sd_configs!.map((c) => c.files)).toEqual([["/etc/promts/sd/*.json"]]);
    expect(sd.file_sd_configs![0]!.refresh_interval).toBe(300_000);
    expect(sd.dns_sd_configs![0]!.type).toBe("SRV");
    expect(sd.http_sd_configs).toEqual([]);
    expect(unsupportedSDConfigs(config.scrape_configs[0]!)).toEqual(["kubernetes_sd_configs"]);
  });
});

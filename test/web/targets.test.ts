import { describe, expect, test } from "bun:test";
import { labelsFromRecord } from "../../src/model/index.ts";
import type { ActiveTarget, DroppedTarget } from "../../src/scrape/index.ts";
import { globalURL, metricMetadataByName, rfc3339Nano, targetsAPI, type TargetsSource, type TargetWithMetadata } from "../../src/web/index.ts";

function active(pool: string, address: string, extra: Partial<ActiveTarget> = {}): ActiveTarget {
  return {
    discoveredLabels: labelsFromRecord({ __address__: address, __metrics_path__: "/metrics", __scheme__: "http", job: pool }),
    labels: labelsFromRecord({ instance: address, job: pool }),
    scrapePool: pool,
    scrapeUrl: `http://${address}/metrics`,
    globalUrl: `http://${address}/metrics`,
    lastError: "",
    lastScrape: 0,
    lastScrapeDuration: 0,
    health: "unknown",
    scrapeInterval: 15_000,
    scrapeTimeout: 10_000,
    ...extra,
  };
}

function dropped(pool: string, address: string): DroppedTarget {
  return { discoveredLabels: labelsFromRecord({ __address__: address, job: pool }), scrapePool: pool };
}

const node = active("node", "10.0.0.1:9100", {
  health: "up", lastScrape: Date.UTC(2026, 0, 2, 3, 4, 5, 120), lastScrapeDuration: 0.25, scrapeInterval: 60_000,
});
const nodeDown = active("node", "10.0.0.2:9100", { health: "down", lastError: "server returned HTTP status 500 Internal Server Error" });
const self = active("prometheus", "localhost:9090");

const metadata: TargetWithMetadata[] = [
  {
    target: node,
    metadata: [
      { metric: "node_load1", type: "gauge", help: "1m load average.", unit: "" },
      { metric: "node_cpu_seconds_total", type: "counter", help: "Seconds the CPUs spent in each mode.", unit: "seconds" },
    ],
  },
  { target: nodeDown, metadata: [{ metric: "node_load1", type: "gauge", help: "1m load average.", unit: "" }] },
  { target: self, metadata: [{ metric: "up", type: "gauge", help: "Whether the target is up.", unit: "" }] },
];

function source(withMetadata = true): TargetsSource {
  const s: TargetsSource = {
    // Deliberately not in pool order: the API sorts pools.
    activeTargets: () => [self, node, nodeDown],
    droppedTargets: () => [dropped("node", "10.0.0.3:9100")],
    scrapePools: () => ["prometheus", "node", "empty"],
  };
  if (withMetadata) s.targetsMetadata = () => metadata;
  return s;
}

async function get(path: string, src: TargetsSource = source()): Promise<{ status: number; body: any }> {
  const res = await targetsAPI(src, { globalURL: { listenPort: "9090", host: "prom.example:9090", scheme: "https" } }).request(path);
  return { status: res.status, body: await res.json() };
}

describe("/targets", () => {
  test("lists active targets pool by pool, in Prometheus's shape", async () => {
    const { status, body } = await get("/targets");
    expect(status).toBe(200);
    expect(body.status).toBe("success");
    expect(body.data.activeTargets.map((t: any) => t.scrapePool)).toEqual(["node", "node", "prometheus"]);
    expect(body.data.activeTargets[0]).toEqual({
      discoveredLabels: { __address__: "10.0.0.1:9100", __metrics_path__: "/metrics", __scheme__: "http", job: "node" },
      labels: { instance: "10.0.0.1:9100", job: "node" },
      scrapePool: "node",
      scrapeUrl: "http://10.0.0.1:9100/metrics",
      globalUrl: "http://10.0.0.1:9100/metrics",
      lastError: "",
      lastScrape: "2026-01-02T03:04:05.12Z",
      lastScrapeDuration: 0.25,
      health: "up",
      scrapeInterval: "1m",
      scrapeTimeout: "10s",
    });
    expect(body.data.activeTargets[1].lastError).toBe("server returned HTTP status 500 Internal Server Error");
    expect(body.data.activeTargets[1].lastScrape).toBe("0001-01-01T00:00:00Z");
    // The server scraping itself gets the external scheme and host.
    expect(body.data.activeTargets[2].globalUrl).toBe("https://prom.example:9090/metrics");
    expect(body.data.droppedTargets).toEqual([{ discoveredLabels: { __address__: "10.0.0.3:9100", job: "node" } }]);
    expect(body.data.droppedTargetCounts).toEqual({ empty: 0, node: 1, prometheus: 0 });
  });

  test("state=active leaves dropped targets out (counts null), state=dropped the active ones", async () => {
    const activeOnly = (await get("/targets?state=active")).body.data;
    expect(activeOnly.activeTargets).toHaveLength(3);
    expect(activeOnly.droppedTargets).toEqual([]);
    expect(activeOnly.droppedTargetCounts).toBeNull();
    const droppedOnly = (await get("/targets?state=Dropped")).body.data;
    expect(droppedOnly.activeTargets).toEqual([]);
    expect(droppedOnly.droppedTargets).toHaveLength(1);
    const any = (await get("/targets?state=any")).body.data;
    expect(any.activeTargets).toHaveLength(3);
    expect(any.droppedTargets).toHaveLength(1);
  });

  test("scrapePool filters both lists but not the dropped counts", async () => {
    const { body } = await get("/targets?scrapePool=prometheus");
    expect(body.data.activeTargets.map((t: any) => t.labels.instance)).toEqual(["localhost:9090"]);
    expect(body.data.droppedTargets).toEqual([]);
    expect(body.data.droppedTargetCounts.node).toBe(1);
  });
});

describe("/targets/metadata", () => {
  test("lists every target's metadata, with the metric name", async () => {
    const { status, body } = await get("/targets/metadata");
    expect(status).toBe(200);
    expect(body.data).toHaveLength(4);
    expect(body.data[0]).toEqual({
      target: { instance: "10.0.0.1:9100", job: "node" }, metric: "node_load1", type: "gauge", help: "1m load average.", unit: "",
    });
    expect(body.data[1].unit).toBe("seconds");
  });

  test("metric= gives one entry per target that has it, without the metric field", async () => {
    const { body } = await get("/targets/metadata?metric=node_load1");
    expect(body.data).toEqual([
      { target: { instance: "10.0.0.1:9100", job: "node" }, type: "gauge", help: "1m load average.", unit: "" },
      { target: { instance: "10.0.0.2:9100", job: "node" }, type: "gauge", help: "1m load average.", unit: "" },
    ]);
  });

  test("match_target selects targets by their labels; limit stops before the next target", async () => {
    const matched = (await get(`/targets/metadata?match_target=${encodeURIComponent('{instance=~"10.0.0.2:.*"}')}`)).body.data;
    expect(matched.map((m: any) => m.target.instance)).toEqual(["10.0.0.2:9100"]);
    const limited = (await get("/targets/metadata?limit=1")).body.data;
    expect(limited.map((m: any) => m.metric)).toEqual(["node_load1", "node_cpu_seconds_total"]);
    expect((await get("/targets/metadata?limit=0")).body.data).toEqual([]);
  });

  test("bad parameters are bad_data errors", async () => {
    const badLimit = await get("/targets/metadata?limit=ten");
    expect(badLimit.status).toBe(400);
    expect(badLimit.body).toEqual({ status: "error", errorType: "bad_data", error: "limit must be a number" });
    const badSelector = await get(`/targets/metadata?match_target=${encodeURIComponent("{job=")}`);
    expect(badSelector.status).toBe(400);
    expect(badSelector.body.errorType).toBe("bad_data");
  });

  test("a source without metadata answers an empty list", async () => {
    expect((await get("/targets/metadata", source(false))).body.data).toEqual([]);
  });
});

test("/scrape_pools lists the configured pools sorted", async () => {
  expect((await get("/scrape_pools")).body).toEqual({ status: "success", data: { scrapePools: ["empty", "node", "prometheus"] } });
});

test("metricMetadataByName keeps distinct entries per metric", () => {
  const byName = metricMetadataByName(source());
  expect([...byName.keys()].sort()).toEqual(["node_cpu_seconds_total", "node_load1", "up"]);
  expect(byName.get("node_load1")).toEqual([{ type: "gauge", help: "1m load average.", unit: "" }]);
  expect(metricMetadataByName(source(false)).size).toBe(0);
});

describe("globalURL", () => {
  const opts = { listenPort: "9090", host: "prom.example:9090", scheme: "https" };
  test.each([
    ["http://localhost:9090/metrics", "https://prom.example:9090/metrics"],
    ["http://127.0.0.1:9100/metrics?a=b", "http://prom.example:9100/metrics?a=b"],
    ["http://[::1]:9100/metrics", "http://prom.example:9100/metrics"],
    ["http://10.1.2.3:9100/metrics", "http://10.1.2.3:9100/metrics"],
    ["http://localhost/metrics", "http://localhost/metrics"],
  ])("%s → %s", (input, want) => {
    expect(globalURL(input, opts)).toBe(want);
  });

  test("an external host without a port leaves other local ports alone", () => {
    expect(globalURL("http://localhost:9100/metrics", { ...opts, host: "prom.example" })).toBe("http://localhost:9100/metrics");
  });
});

test("rfc3339Nano trims fraction zeros like Go", () => {
  expect(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 0))).toBe("2026-01-02T03:04:05Z");
  expect(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 7))).toBe("2026-01-02T03:04:05.007Z");
  expect(rfc3339Nano(0)).toBe("0001-01-01T00:00:00Z");
});

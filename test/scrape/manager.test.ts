import { afterEach, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord, labelsKey, Registry } from "../../src/model/index.ts";
import { ScrapeManager, type ScrapeManagerConfig } from "../../src/scrape/index.ts";
import { RecordingAppender, waitFor } from "./helpers.ts";

interface TestServer {
  url: string;
  address: string;
  body: string;
  status: number;
  headers: Headers[];
  handler?: (req: Request) => Response | Promise<Response>;
  stop(): void;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serve(body: string): TestServer {
  const s: TestServer = {
    url: "", address: "", body, status: 200, headers: [],
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      s.headers.push(req.headers);
      if (s.handler) return s.handler(req);
      return new Response(s.body, { status: s.status, headers: { "Content-Type": "text/plain; version=0.0.4" } });
    },
  });
  s.address = `127.0.0.1:${server.port}`;
  s.url = `http://${s.address}/metrics`;
  cleanups.push(() => server.stop(true));
  return s;
}

function config(yaml: string): ScrapeManagerConfig {
  return parseConfig(yaml, "test.yml").config;
}

function jobYaml(name: string, address: string, extra = ""): string {
  return `  - job_name: ${name}\n    scrape_interval: 100ms\n    static_configs: [{targets: ["${address}"], labels: {env: test}}]\n${extra}`;
}

function start(yaml: string): { sm: ScrapeManager; app: RecordingAppender; registry: Registry } {
  const app = new RecordingAppender();
  const registry = new Registry();
  const sm = new ScrapeManager({ appender: () => app, registry });
  sm.applyConfig(config(yaml));
  cleanups.push(() => sm.stop());
  return { sm, app, registry };
}

const key = (job: string, address: string, rec: Record<string, string>) => labelsKey(labelsFromRecord({ job, instance: address, env: "test", ...rec }));

describe("ScrapeManager", () => {
  test("scrapes a target: samples, report series, health, headers, metrics", async () => {
    const srv = serve('# TYPE temp gauge\ntemp{room="a"} 21.5\nrequests_total 7\n');
    const { sm, app, registry } = start(`scrape_configs:\n${jobYaml("j", "")}`.replace('[""]', `["${srv.address}"]`));
    await waitFor("up=1", () => app.series(key("j", srv.address, { __name__: "up" })).some((s) => s.v === 1));
    expect(app.series(key("j", srv.address, { __name__: "temp", room: "a" }))[0]!.v).toBe(21.5);
    expect(app.series(key("j", srv.address, { __name__: "requests_total" }))[0]!.v).toBe(7);
    expect(app.series(key("j", srv.address, { __name__: "scrape_samples_scraped" }))[0]!.v).toBe(2);
    expect(app.series(key("j", srv.address, { __name__: "scrape_series_added" }))[0]!.v).toBe(2);
    expect(app.series(key("j", srv.address, { __name__: "scrape_duration_seconds" }))[0]!.v).toBeGreaterThan(0);
    const accept = srv.headers[0]!.get("accept")!;
    expect(accept.startsWith("application/openmetrics-text;version=1.0.0;q=0.5")).toBe(true);
    expect(accept).toContain("text/plain;version=0.0.4;q=0.2");
    expect(srv.headers[0]!.get("x-prometheus-scrape-timeout-seconds")).toBe("0.1");
    const [t] = sm.activeTargets();
    expect(t).toMatchObject({ scrapePool: "j", scrapeUrl: srv.url, health: "up", lastError: "", scrapeInterval: 100, scrapeTimeout: 100 });
    expect(t!.lastScrape).toBeGreaterThan(0);
    expect(t!.labels).toEqual(labelsFromRecord({ env: "test", instance: srv.address, job: "j" }));
    const rendered = registry.render();
    expect(rendered).toContain('prometheus_target_scrape_pool_targets{scrape_job="j"} 1');
    expect(rendered).toContain("prometheus_target_scrape_pools_total 1");
  });

  test("a series that disappears gets a staleness marker; up stays 1", async () => {
    const srv = serve("a 1\nb 2\n");
    const { app } = start(`scrape_configs:\n${jobYaml("j", srv.address)}`);
    const bKey = key("j", srv.address, { __name__: "b" });
    await waitFor("b scraped", () => app.series(bKey).length > 0);
    srv.body = "a 1\n";
    await waitFor("b stale", () => app.series(bKey).some((s) => s.stale));
    const b = app.series(bKey);
    expect(b[b.length - 1]!.stale).toBe(true);
    expect(b.filter((s) => s.stale).length).toBe(1);
    const aKey = key("j", srv.address, { __name__: "a" });
    await waitFor("a scraped after b went stale", () => app.series(aKey).some((s) => s.t > b[b.length - 1]!.t));
    expect(app.series(aKey).some((s) => s.stale)).toBe(false);
  });

  test("a target that goes down: up=0, stale markers, lastError", async () => {
    const srv = serve("a 1\n");
    const { sm, app } = start(`scrape_configs:\n${jobYaml("j", srv.address)}`);
    const aKey = key("j", srv.address, { __name__: "a" });
    const upKey = key("j", srv.address, { __name__: "up" });
    await waitFor("a scraped", () => app.series(aKey).length > 0);
    srv.stop();
    await waitFor("up=0", () => app.series(upKey).some((s) => s.v === 0));
    expect(app.series(aKey).some((s) => s.stale)).toBe(true);
    const [t] = sm.activeTargets();
    expect(t!.health).toBe("down");
    expect(t!.lastError).toStartWith(`Get "${srv.url}": `);
    expect(app.series(key("j", srv.address, { __name__: "scrape_samples_scraped" })).at(-1)!.v).toBe(0);
  });

  test("an unparsable body: up=0, nothing of the body stored, error shown", async () => {
    const srv = serve("good 1\n");
    const { sm, app } = start(`scrape_configs:\n${jobYaml("j", srv.address)}`);
    await waitFor("good scraped", () => app.series(key("j", srv.address, { __name__: "good" })).length > 0);
    srv.body = "fresh 1\nbad{ 1\n";
    await waitFor("up=0", () => app.series(key("j", srv.address, { __name__: "up" })).some((s) => s.v === 0));
    expect(app.series(key("j", srv.address, { __name__: "fresh" }))).toEqual([]);
    expect(app.series(key("j", srv.address, { __name__: "good" })).some((s) => s.stale)).toBe(true);
    expect(sm.activeTargets()[0]!.lastError).toContain("expected label name");
  });

  test("metric_relabel_configs drop series; gzip bodies are decoded", async () => {
    const srv = serve("");
    srv.handler = () => new Response(gzipSync("keep_me 1\ndrop_me 2\n"), { headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" } });
    const extra = "    metric_relabel_configs: [{source_labels: [__name__], regex: drop_.*, action: drop}]\n";
    const { app } = start(`scrape_configs:\n${jobYaml("j", srv.address, extra)}`);
    await waitFor("keep_me", () => app.series(key("j", srv.address, { __name__: "keep_me" })).length > 0);
    expect(app.series(key("j", srv.address, { __name__: "drop_me" }))).toEqual([]);
    expect(app.series(key("j", srv.address, { __name__: "scrape_samples_post_metric_relabeling" }))[0]!.v).toBe(1);
    expect(app.series(key("j", srv.address, { __name__: "scrape_samples_scraped" }))[0]!.v).toBe(2);
  });

  test("basic auth and bearer credentials are sent", async () => {
    const basic = serve("a 1\n");
    const bearer = serve("b 1\n");
    const yaml = `scrape_configs:\n${jobYaml("basic", basic.address, "    basic_auth: {username: u, password: p}\n")}${jobYaml("bearer", bearer.address, "    authorization: {credentials: tok}\n")}`;
    const { app } = start(yaml);
    await waitFor("both scraped", () => basic.headers.length > 0 && bearer.headers.length > 0 && app.series(key("bearer", bearer.address, { __name__: "b" })).length > 0);
    expect(basic.headers[0]!.get("authorization")).toBe("Basic " + btoa("u:p"));
    expect(bearer.headers[0]!.get("authorization")).toBe("Bearer tok");
  });

  test("body_size_limit and scrape timeout fail the scrape", async () => {
    const big = serve("a 1\n".repeat(100));
    const slow = serve("");
    let release: () => void = () => {};
    const blocked = new Promise<void>((r) => (release = r));
    cleanups.push(() => release());
    slow.handler = async () => {
      await blocked;
      return new Response("late 1\n");
    };
    const yaml = `scrape_configs:\n${jobYaml("big", big.address, "    body_size_limit: 100B\n")}${jobYaml("slow", slow.address)}`;
    const { sm, registry } = start(yaml);
    await waitFor("both failed", () => sm.activeTargets().every((t) => t.health === "down"));
    const byPool = Object.fromEntries(sm.activeTargets().map((t) => [t.scrapePool, t.lastError]));
    expect(byPool.big).toBe("body size limit exceeded");
    expect(byPool.slow).toBe(`Get "${slow.url}": context deadline exceeded`);
    expect(registry.render()).toMatch(/prometheus_target_scrapes_exceeded_body_size_limit_total [1-9]/);
  });

  test("relabel-dropped targets are listed as dropped", async () => {
    const yaml = `scrape_configs:
  - job_name: j
    scrape_interval: 100ms
    static_configs: [{targets: ["keep:1", "other:2"]}]
    relabel_configs: [{source_labels: [__address__], regex: "keep:.*", action: keep}]
`;
    const { sm } = start(yaml);
    expect(sm.activeTargets().map((t) => t.scrapeUrl)).toEqual(["http://keep:1/metrics"]);
    expect(sm.droppedTargets()).toEqual([{ scrapePool: "j", discoveredLabels: expect.arrayContaining([{ name: "__address__", value: "other:2" }]) }]);
  });

  test("applyConfig keeps unchanged pools, reloads changed ones, retires removed ones with staleness", async () => {
    const s1 = serve("one 1\n");
    const s2 = serve("two 1\n");
    const yaml1 = `scrape_configs:\n${jobYaml("a", s1.address)}${jobYaml("b", s2.address)}`;
    const { sm, app, registry } = start(yaml1);
    await waitFor("both scraped", () => app.series(key("a", s1.address, { __name__: "one" })).length > 0 && app.series(key("b", s2.address, { __name__: "two" })).length > 0);
    const loopA = sm.pool("a")!.runningLoops()[0];
    sm.applyConfig(config(yaml1));
    expect(sm.pool("a")!.runningLoops()[0]).toBe(loopA);
    sm.applyConfig(config(`scrape_configs:\n${jobYaml("a", s1.address, "    honor_labels: true\n")}`));
    expect(sm.pool("a")!.runningLoops()[0]).toBe(loopA);
    expect(sm.pool("b")).toBeUndefined();
    const twoKey = key("b", s2.address, { __name__: "two" });
    const upB = key("b", s2.address, { __name__: "up" });
    await waitFor("b's series stale", () => app.series(twoKey).some((s) => s.stale) && app.series(upB).some((s) => s.stale));
    const upMarker = app.series(upB).at(-1)!;
    expect(upMarker.stale).toBe(true);
    expect(app.series(twoKey).at(-1)!.t).toBe(upMarker.t);
    expect(registry.render()).toContain("prometheus_target_scrape_pool_reloads_total 1");
  });

  test("setTargetGroups adds and removes discovered targets", async () => {
    const srv = serve("d 1\n");
    const { sm, app } = start(`scrape_configs:\n  - job_name: disc\n    scrape_interval: 100ms\n`);
    expect(sm.activeTargets()).toEqual([]);
    sm.setTargetGroups("disc", [{ source: "file/0", targets: [labelsFromRecord({ __address__: srv.address })], labels: labelsFromRecord({ env: "test" }) }]);
    const dKey = key("disc", srv.address, { __name__: "d" });
    await waitFor("discovered target scraped", () => app.series(dKey).length > 0);
    sm.setTargetGroups("disc", [{ source: "file/0", targets: [], labels: [] }]);
    expect(sm.activeTargets()).toEqual([]);
    await waitFor("stale after removal", () => app.series(dKey).some((s) => s.stale));
  });

  test("target_limit holds back all targets of the pool", () => {
    const yaml = `scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    target_limit: 1\n    static_configs: [{targets: ["a:1", "b:2"]}]\n`;
    const { sm, registry } = start(yaml);
    const ts = sm.activeTargets();
    expect(ts.length).toBe(2);
    for (const t of ts) expect(t).toMatchObject({ health: "down", lastError: "target_limit exceeded (number of targets: 2, limit: 1)" });
    expect(sm.pool("j")!.runningLoops()).toEqual([]);
    expect(registry.render()).toContain("prometheus_target_scrape_pool_exceeded_target_limit_total 1");
  });

  test("a job that cannot be set up fails alone", () => {
    const base = config(`scrape_configs:\n  - job_name: ok\n    scrape_interval: 100ms\n  - job_name: bad\n    scrape_interval: 100ms\n    static_configs: [{targets: ["x:1"]}]\n`);
    const bad = { ...base.scrape_configs[1]!, relabel_configs: [{ source_labels: ["a"], regex: "(", action: "keep" as const }] };
    const registry = new Registry();
    const sm = new ScrapeManager({ appender: () => new RecordingAppender(), registry });
    cleanups.push(() => sm.stop());
    sm.applyConfig({ scrape_configs: [base.scrape_configs[0]!, bad] });
    expect(sm.pool("ok")).toBeDefined();
    expect(sm.pool("bad")).toBeUndefined();
    expect(registry.render()).toContain("prometheus_target_scrape_pools_failed_total 1");
  });

  test("stop() ends scraping without staleness markers", async () => {
    const srv = serve("a 1\n");
    const { sm, app } = start(`scrape_configs:\n${jobYaml("j", srv.address)}`);
    const aKey = key("j", srv.address, { __name__: "a" });
    await waitFor("a scraped", () => app.series(aKey).length > 0);
    await sm.stop();
    const count = srv.headers.length;
    const samples = app.series(aKey).length;
    // A fresh target on another job proves time passed; the stopped one must not have scraped again.
    const witness = serve("w 1\n");
    const other = start(`scrape_configs:\n${jobYaml("w", witness.address)}`);
    await waitFor("witness scraped twice", () => other.app.series(key("w", witness.address, { __name__: "w" })).length >= 3);
    expect(srv.headers.length).toBe(count);
    expect(app.series(aKey).length).toBe(samples);
    expect(app.series(aKey).some((s) => s.stale)).toBe(false);
  });
});

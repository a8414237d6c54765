import { afterEach, expect, test } from "bun:test";
import { ScrapeService, type ServerContext } from "../../src/server/index.ts";
import { parseConfig } from "../../src/config/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import { targetsAPI } from "../../src/web/index.ts";
import { RecordingAppender, waitFor } from "./helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BODY = [
  "# HELP http_requests_total Requests served.",
  "# TYPE http_requests_total counter",
  'http_requests_total{code="200"} 7',
  "# TYPE temperature_celsius gauge",
  "temperature_celsius 21.5",
  "",
].join("\n");

/** A ScrapeService started as the server starts it, scraping one local target. */
async function startScraping(): Promise<ScrapeService> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(BODY, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  cleanups.push(() => server.stop(true));
  const app = new RecordingAppender();
  const ctx = {
    db: { appender: () => app },
    logger: nopLogger,
    registry: new Registry(),
    reloadHooks: [],
    closeHooks: [],
  } as unknown as ServerContext;
  const scraping = new ScrapeService();
  expect(scraping.targetsMetadata()).toEqual([]);
  scraping.component(ctx);
  cleanups.push(async () => {
    for (const close of ctx.closeHooks) await close();
  });
  const yaml = `scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs: [{targets: ["127.0.0.1:${server.port}"]}]\n`;
  for (const hook of ctx.reloadHooks) await hook(parseConfig(yaml, "test.yml").config);
  await waitFor("a successful scrape", () => scraping.activeTargets().some((t) => t.health === "up"));
  return scraping;
}

test("ScrapeService serves scraped metadata on /targets/metadata and to /metadata", async () => {
  const scraping = await startScraping();
  const api = targetsAPI(scraping);

  const all = (await (await api.request("/targets/metadata")).json()) as { status: string; data: Record<string, unknown>[] };
  expect(all.status).toBe("success");
  const target = scraping.activeTargets()[0]!;
  const targetLabels = Object.fromEntries(target.labels.map((l) => [l.name, l.value]));
  expect(all.data).toEqual([
    { target: targetLabels, metric: "http_requests_total", type: "counter", help: "Requests served.", unit: "" },
    { target: targetLabels, metric: "temperature_celsius", type: "gauge", help: "", unit: "" },
  ]);

  const one = (await (await api.request("/targets/metadata?metric=temperature_celsius&match_target={job=\"app\"}")).json()) as { data: unknown[] };
  expect(one.data).toEqual([{ target: targetLabels, type: "gauge", help: "", unit: "" }]);
  const none = (await (await api.request("/targets/metadata?match_target={job=\"other\"}")).json()) as { data: unknown[] };
  expect(none.data).toEqual([]);

  const byName = scraping.metricMetadata();
  expect([...byName.keys()].sort()).toEqual(["http_requests_total", "temperature_celsius"]);
  expect(byName.get("http_requests_total")).toEqual([{ type: "counter", help: "Requests served.", unit: "" }]);
});

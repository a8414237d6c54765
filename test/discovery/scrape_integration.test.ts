/**
 * End to end inside one process: file_sd → DiscoveryManager → ScrapeManager
 * → a real Head, with a real exporter on 127.0.0.1.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { DiscoveryManager, sdConfigsOf } from "../../src/discovery/index.ts";
import { labelsToRecord, newMatcher, Registry } from "../../src/model/index.ts";
import { ScrapeManager } from "../../src/scrape/index.ts";
import { Head, STALE_NAN_BITS, type SampleBatch } from "../../src/tsdb/index.ts";
import { metricValue, waitFor } from "./helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeAtomic(path: string, text: string): void {
  writeFileSync(path + ".tmp", text);
  renameSync(path + ".tmp", path);
}

function isStale(batch: SampleBatch, i: number): boolean {
  return new BigUint64Array(batch.v.buffer, batch.v.byteOffset, batch.length)[i] === STALE_NAN_BITS;
}

test("a target written to an SD file is scraped into the head; removing it marks its series stale", async () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-sd-e2e-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const exporter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("# TYPE demo_metric gauge\ndemo_metric 42\n", { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  cleanups.push(() => exporter.stop(true));
  const address = `127.0.0.1:${exporter.port}`;
  const sdFile = join(dir, "targets.json");
  writeFileSync(sdFile, "[]");
  const { config } = parseConfig(
    `scrape_configs:\n  - job_name: demo\n    scrape_interval: 50ms\n    file_sd_configs: [{files: ["${sdFile}"], refresh_interval: 1h}]\n`,
    join(dir, "prometheus.yml"),
  );

  const registry = new Registry();
  const head = await Head.open({ dir: join(dir, "data"), registry });
  cleanups.push(() => head.close());
  const sm = new ScrapeManager({ appender: () => head.appender(), registry });
  cleanups.push(() => sm.stop());
  sm.applyConfig(config);
  const dm = new DiscoveryManager({ registry, updateIntervalMs: 20, onUpdate: (job, groups) => sm.setTargetGroups(job, groups) });
  cleanups.push(() => dm.stop());
  dm.applyConfig(config.scrape_configs.map((sc) => ({ name: sc.job_name, configs: sdConfigsOf(sc) })));

  const demoSeries = () => head.querier(0, Date.now() + 60_000).select([newMatcher("=", "__name__", "demo_metric")], 0, Date.now() + 60_000);
  writeAtomic(sdFile, JSON.stringify([{ targets: [address], labels: { team: "a" } }]));
  await waitFor("demo_metric scraped", () => demoSeries().some((s) => s.samples().length > 0));
  const [series] = demoSeries();
  expect(labelsToRecord(series!.labels)).toEqual({ __name__: "demo_metric", instance: address, job: "demo", team: "a" });
  expect(series!.samples().v[0]).toBe(42);
  expect(sm.activeTargets().map((t) => labelsToRecord(t.discoveredLabels).__meta_filepath)).toEqual([sdFile]);
  expect(metricValue(registry, 'prometheus_sd_discovered_targets{config="demo",name="scrape"}')).toBe(1);

  writeAtomic(sdFile, "[]");
  await waitFor("demo_metric marked stale", () => {
    const batch = demoSeries()[0]!.samples();
    return batch.length > 0 && isStale(batch, batch.length - 1);
  });
  expect(sm.activeTargets()).toEqual([]);
  expect(metricValue(registry, 'prometheus_sd_discovered_targets{config="demo",name="scrape"}')).toBe(0);
});

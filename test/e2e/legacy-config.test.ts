/**
 * A configuration written for Prometheus 0.x, as old guides show it
 * (`global.labels`, `target_groups`), started with the single-dash flags of
 * those releases: promts reads the old names, scrapes as expected and warns
 * about each deprecated name. The promts process is killed by PID at the end.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiData, instantQuery, requireBinary, startPromts, waitFor, type PromtsProcess } from "./promts_process.ts";

let workDir = "";
let exporter: ReturnType<typeof Bun.serve> | undefined;
let promts: PromtsProcess | undefined;

beforeAll(() => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-legacy-"));
  exporter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("# TYPE legacy_jobs_processed_total counter\nlegacy_jobs_processed_total 12\n", { headers: { "Content-Type": "text/plain" } }),
  });
});

afterAll(async () => {
  await promts?.stop();
  exporter?.stop(true);
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

test("a 0.x config started with -config.file scrapes its target_groups and warns about the old names", async () => {
  const address = `127.0.0.1:${exporter!.port}`;
  const configFile = join(workDir, "prometheus.yml");
  writeFileSync(configFile, [
    "# my global config",
    "global:",
    "  scrape_interval: 500ms",
    "  scrape_timeout: 500ms",
    "  labels:",
    "    monitor: codelab-monitor",
    "",
    "scrape_configs:",
    "  - job_name: legacy",
    "    target_groups:",
    `      - targets: ['${address}']`,
    "        labels:",
    "          group: production",
    "",
  ].join("\n"));
  promts = await startPromts([`-config.file=${configFile}`, `-storage.tsdb.path=${join(workDir, "data")}`], workDir, "-web.listen-address");

  const series = await waitFor("legacy_jobs_processed_total scraped", async () => {
    const r = await instantQuery(promts!.url, "legacy_jobs_processed_total");
    return r.length === 1 ? r : undefined;
  });
  // External labels (the old global.labels) are not stored with scraped series, as in Prometheus.
  expect(series[0]!.metric).toEqual({ __name__: "legacy_jobs_processed_total", group: "production", instance: address, job: "legacy" });
  expect(series[0]!.value[1]).toBe("12");
  expect((await instantQuery(promts!.url, 'up{job="legacy"}'))[0]!.value[1]).toBe("1");
  expect((await apiData(promts!.url, "/api/v1/targets")).activeTargets.map((t: any) => t.scrapePool)).toEqual(["legacy"]);
  expect((await apiData(promts!.url, "/api/v1/status/config")).yaml).toContain("monitor: codelab-monitor");

  const warnings = promts.logs().split("\n").filter((l) => l.includes("level=warn") && l.includes("deprecated Prometheus 0.x name"));
  expect(warnings.some((l) => l.includes("external_labels"))).toBe(true);
  expect(warnings.some((l) => l.includes("static_configs"))).toBe(true);
}, 30_000);

/**
 * Invalid UTF-8 from a real HTTP target (issue 9): a body whose label value
 * holds the bytes \xff\xfe\xc3( fails the scrape with Prometheus's error
 * "invalid UTF-8 label value", the target is shown down with it, and nothing
 * of the body is stored; the same target's valid body is stored. The
 * promts process is killed by PID when the test ends.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiData, instantQuery, requireBinary, startPromts, waitFor, type PromtsProcess } from "./promts_process.ts";

const enc = new TextEncoder();
const VALID = enc.encode('bu_metric{v="ok"} 1\n');
const INVALID = Uint8Array.from([...enc.encode('bu_metric{v="'), 0xff, 0xfe, 0xc3, 0x28, ...enc.encode('"} 1\nbu_other 2\n')]);

let workDir = "";
let target: ReturnType<typeof Bun.serve> | undefined;
let promts: PromtsProcess | undefined;
let invalid = false;

beforeAll(async () => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-utf8-"));
  target = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(invalid ? INVALID : VALID, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  const config = join(workDir, "prometheus.yml");
  writeFileSync(config, [
    "global:",
    "  scrape_interval: 500ms",
    "  scrape_timeout: 500ms",
    "scrape_configs:",
    "  - job_name: utf8",
    `    static_configs: [{targets: ["127.0.0.1:${target.port}"]}]`,
    "",
  ].join("\n"));
  promts = await startPromts([`--config.file=${config}`, `--storage.tsdb.path=${join(workDir, "data")}`], workDir);
});

afterAll(async () => {
  await promts?.stop();
  target?.stop(true);
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

interface Target {
  scrapePool: string;
  health: string;
  lastError: string;
}

test("invalid UTF-8 in a scraped label value fails the scrape as in Prometheus; nothing of it is stored", async () => {
  const url = promts!.url;
  await waitFor("the valid body to be stored", async () => ((await instantQuery(url, "bu_metric")).length === 1 ? true : undefined));
  invalid = true;
  const down = await waitFor("the target to be down", async () => {
    const t = (await apiData<{ activeTargets: Target[] }>(url, "/api/v1/targets")).activeTargets.find((x) => x.scrapePool === "utf8");
    return t?.health === "down" ? t : undefined;
  });
  expect(down.lastError).toBe("invalid UTF-8 label value");
  expect((await instantQuery(url, 'up{job="utf8"}'))[0]!.value[1]).toBe("0");
  // Nothing of the invalid body: no bu_other ever, and bu_metric only ever with the valid value (now stale).
  expect(await instantQuery(url, "count_over_time(bu_other[1h])")).toEqual([]);
  const values = await instantQuery(url, "count by (v) (count_over_time(bu_metric[1h]))");
  expect(values.map((s) => s.metric.v)).toEqual(["ok"]);
  expect(await instantQuery(url, "bu_metric")).toEqual([]);
});

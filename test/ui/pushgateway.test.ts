/**
 * The Pushgateway page in headless Chromium, on `promts pushgateway` and on
 * the server with --pushgateway.enable: every pushed group shows with its
 * labels, last push and metrics; "Delete group" deletes exactly that group
 * (a value with "/" goes base64-encoded in the path), which the API then
 * confirms. Skips loudly without Chromium (fails under PROMTS_REQUIRE_PEERS=1).
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil } from "../support/processes.ts";
import { browserSuite, watchedPage } from "./chromium.ts";

const TIMEOUT_MS = 90_000;
const suite = browserSuite("promts-ui-pg-");

async function push(url: string, path: string, body: string): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: "PUT", body });
  if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

async function groups(apiURL: string): Promise<Record<string, string>[]> {
  const body = await (await fetch(apiURL)).json() as { data: { labels: Record<string, string> }[] };
  return body.data.map((g) => g.labels);
}

/** Pushes two groups, checks the page shows both, deletes the one whose instance has a "/", checks the API. */
async function exercise(pageURL: string, pushBase: string, apiURL: string, shot: string): Promise<void> {
  await push(pushBase, "/metrics/job/backup/instance/db1", "# TYPE backup_ok gauge\nbackup_ok 1\n# TYPE backup_bytes_total counter\nbackup_bytes_total 42\n");
  await push(pushBase, "/metrics/job/batch/instance@base64/L3Zhci9ydW4", "batch_runs 7\n");
  expect((await groups(apiURL)).map((g) => g.instance).sort()).toEqual(["/var/run", "db1"]);

  const w = await watchedPage(suite.browser!);
  const page = w.page;
  await page.goto(pageURL);
  await page.waitForSelector(".pg-group", { timeout: 15_000 });
  expect(await page.locator(".pg-group").count()).toBe(2);
  const batch = page.locator(".pg-group", { hasText: 'instance="/var/run"' });
  await batch.locator("summary").click();
  expect(await batch.locator("table").innerText()).toContain("batch_runs");
  expect(await batch.locator("table").innerText()).toContain("7");
  const backup = page.locator(".pg-group", { hasText: 'instance="db1"' });
  await backup.locator("summary").click();
  expect(await backup.locator("table").innerText()).toContain("backup_bytes_total");
  await w.screenshot(shot);

  page.on("dialog", (d) => void d.accept());
  await batch.locator("button", { hasText: "Delete group" }).click();
  await waitUntil("the group deleted from the UI is gone from the API", async () => {
    const left = await groups(apiURL);
    return (left.length === 1 && left[0]!.instance === "db1") || undefined;
  }, 15_000);
  await page.waitForFunction(() => document.querySelectorAll(".pg-group").length === 1, undefined, { timeout: 15_000 });
  expect(w.errors).toEqual([]);
  await page.context().close();
}

describe("Pushgateway page in Chromium", () => {
  test("promts pushgateway: groups listed, one deleted from the page", async () => {
    if (!suite.ok) return;
    const port = freePort();
    const child = spawnChild(`pushgateway:${port}`, [PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${port}`]);
    suite.started.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForOK(`${url}/-/ready`, child);
    // "/" leads to the page, as the Pushgateway's UI lives at its root.
    const root = await fetch(`${url}/`, { redirect: "manual" });
    expect(root.headers.get("location")).toBe("/pushgateway");
    await exercise(`${url}/pushgateway`, url, `${url}/api/v1/metrics`, "pushgateway/role");
  }, TIMEOUT_MS);

  test("server with --pushgateway.enable: the page under the server's UI", async () => {
    if (!suite.ok) return;
    const port = freePort();
    writeFileSync(join(suite.dir, "prometheus.yml"), "global:\n  scrape_interval: 15s\n");
    const child = spawnChild(`promts:${port}`, [PROMTS_BINARY, `--config.file=${join(suite.dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(suite.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`, "--pushgateway.enable"]);
    suite.started.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForOK(`${url}/-/ready`, child);
    await exercise(`${url}/pushgateway`, url, `${url}/pushgateway/api/v1/metrics`, "pushgateway/server");
  }, TIMEOUT_MS);
});

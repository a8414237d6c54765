/**
 * The web UI in headless Chromium against dist/promts: every page loads
 * without console errors; a query typed in the editor draws a graph whose
 * legend equals the API's result and a table with the API's rows;
 * autocomplete offers a metric name the server holds; a silence created in
 * the UI shows in /api/v2/silences and expiring it in the UI expires it; a
 * dashboard saved in the UI survives a restart. Screenshots go to
 * test/ui/artifacts/. Skips loudly without Chromium (fails under
 * PROMTS_REQUIRE_PEERS=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";
import { browserAvailable, launch, seriesText, watchedPage } from "./chromium.ts";

/** Each test drives a browser against a live server; generous for a loaded 2-core machine. */
const BROWSER_TEST_TIMEOUT_MS = 90_000;

interface Server {
  child: Child;
  url: string;
  dataDir: string;
}

let dir = "";
let browser: Browser | undefined;
let server: Server | undefined;
const started: Child[] = [];

function writeConfigs(port: number): { config: string; am: string } {
  const config = join(dir, `prometheus-${port}.yml`);
  writeFileSync(join(dir, "rules.yml"), `groups:
  - name: ui
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: TargetDown
        expr: up == 0
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} is down"}
`);
  writeFileSync(config, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [${join(dir, "rules.yml")}]
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["127.0.0.1:${port}"]
  - job_name: unreachable
    static_configs:
      - targets: ["127.0.0.1:1"]
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*):(\\d+)'
        target_label: port
        replacement: "$2"
`);
  const am = join(dir, "alertmanager.yml");
  writeFileSync(am, `route:
  receiver: none
  group_by: [alertname]
  group_wait: 1s
receivers:
  - name: none
`);
  return { config, am };
}

async function startServer(dataDir: string): Promise<Server> {
  const port = freePort();
  const { config, am } = writeConfigs(port);
  const child = spawnChild(`promts:${port}`, [
    PROMTS_BINARY, `--config.file=${config}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`,
    `--alertmanager.config.file=${am}`,
  ]);
  started.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitForOK(`${url}/-/ready`, child);
  return { child, url, dataDir };
}

async function apiData<T>(url: string): Promise<T> {
  const body = await (await fetch(url)).json() as { status: string; data: T };
  if (body.status !== "success") throw new Error(`${url}: ${JSON.stringify(body)}`);
  return body.data;
}

/** Waits until the page shows no "Loading…" placeholder. */
async function settled(page: Page): Promise<void> {
  await page.waitForSelector("main .page", { timeout: 15_000 });
  await page.waitForFunction(() => !Array.from(document.querySelectorAll("main .muted")).some((e) => e.textContent === "Loading…"), undefined, { timeout: 15_000 });
}

/** Types into the CodeMirror editor of the first panel. */
async function typeQuery(page: Page, text: string): Promise<void> {
  await page.click(".editor .cm-content");
  await page.keyboard.type(text, { delay: 10 });
}

let ok = false;

beforeAll(async () => {
  ok = browserAvailable();
  if (!ok) return;
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
  dir = mkdtempSync(join(tmpdir(), "promts-ui-"));
  browser = await launch();
  server = await startServer(join(dir, "data"));
  // Three scrapes of both targets and a firing alert in the built-in Alertmanager.
  await waitUntil("three samples of up", async () => {
    const r = (await apiData<{ result: { value: [number, string] }[] }>(`${server!.url}/api/v1/query?query=count_over_time(up[1m])`)).result;
    if (r.length === 2 && r.every((s) => Number(s.value[1]) >= 3)) return true;
    throw new Error(`count_over_time(up[1m]) is ${JSON.stringify(r)}`);
  }, 30_000, [server.child]);
  await waitUntil("TargetDown in the built-in Alertmanager", async () => {
    const alerts = await (await fetch(`${server!.url}/api/v2/alerts`)).json() as { labels: Record<string, string> }[];
    return alerts.some((a) => a.labels.alertname === "TargetDown") || undefined;
  }, 30_000, [server.child]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  for (const c of started) await c.stop();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("web UI in Chromium", () => {
  test("every page loads without console errors and shows its content", async () => {
    if (!ok) return;
    const w = await watchedPage(browser!);
    const pages: [string, string][] = [
      ["/query", ".cm-content"],
      ["/alerts", "text=TargetDown"],
      ["/rules", "text=job:up:sum"],
      ["/targets", ".card-title:has-text('unreachable')"],
      ["/service-discovery", ".card-title:has-text('self')"],
      ["/config", "text=scrape_configs"],
      ["/flags", "text=--storage.tsdb.path"],
      ["/status", "text=Build information"],
      ["/tsdb-status", "text=Head block"],
      ["/dashboards", "text=New dashboard name"],
      ["/alertmanager/alerts", "text=TargetDown"],
      ["/alertmanager/silences", "text=New silence"],
      ["/alertmanager/silences/new", "text=Matchers"],
      ["/alertmanager/status", "text=Cluster status"],
    ];
    for (const [p, expectSelector] of pages) {
      await w.page.goto(`${server!.url}${p}`);
      await settled(w.page);
      await w.page.waitForSelector(`main >> ${expectSelector}`, { timeout: 15_000 });
      expect(await w.page.locator(".alert.error").count()).toBe(0);
      await w.screenshot(`server${p}`);
    }
    // The targets page shows each relabel step of a target.
    await w.page.goto(`${server!.url}/targets`);
    await settled(w.page);
    await w.page.locator(".card", { hasText: "unreachable" }).locator("summary", { hasText: "Relabeling" }).click();
    await w.page.waitForSelector("main >> text=Target labels", { timeout: 15_000 });
    expect(await w.page.locator(".relabel-table pre").first().innerText()).toContain("target_label: port");
    expect(await w.page.locator(".relabel-table tr", { hasText: "target_label: port" }).innerText()).toContain('port="1"');
    await w.screenshot("server/targets-relabel");

    // Prometheus 2's /graph links land on the query page with the expression.
    await w.page.goto(`${server!.url}/graph?g0.expr=job%3Aup%3Asum&g0.tab=1`);
    await w.page.waitForSelector("table.result td.series", { timeout: 15_000 });
    expect(new URL(w.page.url()).pathname).toBe("/query");
    expect(await w.page.locator(".cm-content").innerText()).toBe("job:up:sum");
    expect(w.errors).toEqual([]);
    await w.page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);

  test("a typed query shows the API's rows as a table and the API's series as graph and legend", async () => {
    if (!ok) return;
    const w = await watchedPage(browser!);
    const page = w.page;
    await page.goto(`${server!.url}/query`);
    await settled(page);
    await typeQuery(page, "up");
    await page.keyboard.press("Escape"); // close the completion list so Enter executes
    await page.keyboard.press("Enter");
    await page.waitForSelector("table.result td.series", { timeout: 15_000 });
    const apiRows = (await apiData<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${server!.url}/api/v1/query?query=up`)).result;
    const rows = await page.$$eval("table.result tr", (trs) => trs.map((tr) => [tr.querySelector(".series")!.textContent, tr.querySelector(".value")!.textContent]));
    expect(rows.map((r) => r[0]).sort()).toEqual(apiRows.map((r) => seriesText(r.metric)).sort());
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(apiRows.map((r) => [seriesText(r.metric), r.value[1]])));
    await w.screenshot("query-table");

    await page.click("role=tab[name='Graph']");
    await page.waitForSelector(".legend-item", { timeout: 15_000 });
    const legend = await page.$$eval(".legend-label", (els) => els.map((e) => e.textContent));
    const now = Date.now() / 1000;
    const apiSeries = (await apiData<{ result: { metric: Record<string, string> }[] }>(`${server!.url}/api/v1/query_range?query=up&start=${now - 3600}&end=${now}&step=14`)).result;
    expect(legend.sort()).toEqual(apiSeries.map((s) => seriesText(s.metric)).sort());
    expect(new URL(page.url()).searchParams.get("g0.tab")).toBe("graph");
    // The canvas has pixels in each series' colour.
    const colours = await page.$$eval(".legend-item .swatch", (els) => els.map((e) => getComputedStyle(e).backgroundColor));
    const counts = await page.$eval(".graph-canvas canvas", (c: HTMLCanvasElement, cols: string[]) => {
      const ctx = c.getContext("2d")!;
      const img = ctx.getImageData(0, 0, c.width, c.height).data;
      return cols.map((col) => {
        const [r, g, b] = col.match(/\d+/g)!.map(Number);
        let n = 0;
        for (let i = 0; i < img.length; i += 4) if (Math.abs(img[i]! - r!) < 8 && Math.abs(img[i + 1]! - g!) < 8 && Math.abs(img[i + 2]! - b!) < 8 && img[i + 3]! > 200) n++;
        return n;
      });
    }, colours);
    expect(counts.length).toBe(apiSeries.length);
    // Every series is drawn (a series with a single point under a loaded machine is still a few pixels).
    for (const n of counts) expect(n).toBeGreaterThan(0);
    await w.screenshot("query-graph");
    // Toggling a legend entry hides its series (keyboard works too).
    await page.focus(".legend-item >> nth=0");
    await page.keyboard.press("Enter");
    expect(await page.getAttribute(".legend-item >> nth=0", "aria-pressed")).toBe("false");

    await page.click("role=tab[name='Explain']");
    await page.waitForSelector(".ast-node", { timeout: 15_000 });
    expect(await page.locator(".ast-type").first().innerText()).toBe("vectorSelector");
    expect(w.errors).toEqual([]);
    await page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);

  test("autocomplete offers a metric name the server holds", async () => {
    if (!ok) return;
    const names = await apiData<string[]>(`${server!.url}/api/v1/label/__name__/values`);
    expect(names).toContain("prometheus_http_requests_total");
    const w = await watchedPage(browser!);
    await w.page.goto(`${server!.url}/query`);
    await settled(w.page);
    await typeQuery(w.page, "prometheus_http_req");
    const option = w.page.locator(".cm-tooltip-autocomplete li", { hasText: "prometheus_http_requests_total" });
    await option.first().waitFor({ timeout: 15_000 });
    await w.screenshot("query-autocomplete");
    expect(w.errors).toEqual([]);
    await w.page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);

  test("a silence created from an alert appears in the API, and expiring it in the UI expires it", async () => {
    if (!ok) return;
    const w = await watchedPage(browser!);
    const page = w.page;
    await page.goto(`${server!.url}/alertmanager/alerts?filter=${encodeURIComponent('{alertname="TargetDown"}')}`);
    await settled(page);
    await page.click(".am-alert >> text=Silence");
    await page.waitForSelector("form.silence-form");
    // Pre-filled from the alert's labels.
    const names = await page.$$eval(".matcher-row input[placeholder='label name']", (els) => els.map((e) => (e as HTMLInputElement).value));
    expect(names).toContain("alertname");
    await page.fill("input[name=createdBy]", "ui-test");
    await page.fill("textarea[name=comment]", "silenced from the browser test");
    await w.screenshot("silence-form");
    await page.click("button[type=submit]");
    await page.waitForURL(/\/alertmanager\/silences\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    const id = page.url().split("/").pop()!;
    const silences = await (await fetch(`${server!.url}/api/v2/silences`)).json() as { id: string; status: { state: string }; createdBy: string; matchers: { name: string; value: string }[] }[];
    const created = silences.find((s) => s.id === id);
    expect(created?.status.state).toBe("active");
    expect(created?.createdBy).toBe("ui-test");
    expect(created?.matchers).toContainEqual(expect.objectContaining({ name: "alertname", value: "TargetDown" }));

    await page.goto(`${server!.url}/alertmanager/silences`);
    await settled(page);
    await page.click(`[data-silence-id="${id}"] >> text=Expire`);
    await waitUntil("the silence to expire", async () => {
      const s = await (await fetch(`${server!.url}/api/v2/silence/${id}`)).json() as { status: { state: string } };
      return s.status.state === "expired" || undefined;
    }, 15_000);
    await page.waitForSelector(`text=Expired (1)`, { timeout: 15_000 });
    await w.screenshot("silences-after-expire");
    expect(w.errors).toEqual([]);
    await page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);

  test("the query page renders quickly", async () => {
    if (!ok) return;
    const w = await watchedPage(browser!);
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      await w.page.goto(`${server!.url}/query?g0.expr=up&g0.tab=graph`);
      await w.page.waitForSelector(".cm-content");
      await w.page.waitForSelector(".legend-item");
      timings.push(await w.page.evaluate(() => performance.now()));
    }
    timings.sort((a, b) => a - b);
    console.log(`query page: editor and graph drawn ${timings.map((t) => Math.round(t)).join(", ")} ms after navigation (median ${Math.round(timings[2]!)} ms)`);
    // The target is < 1 s on a quiet machine; the assertion leaves room for a loaded one.
    expect(timings[2]!).toBeLessThan(5000);
    await w.page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);
});

describe("dashboards in Chromium", () => {
  test("a dashboard saved in the UI survives a restart", async () => {
    if (!ok) return;
    const dataDir = join(dir, "dash-data");
    let s = await startServer(dataDir);
    const w = await watchedPage(browser!);
    const page = w.page;
    await page.goto(`${s.url}/dashboards`);
    await settled(page);
    await page.fill("input[name=dashboard-name]", "ui-test");
    await page.click("text=Create");
    await page.waitForURL(/\/dashboards\/ui-test/, { timeout: 15_000 });
    await settled(page);
    await page.fill("input[aria-label='Dashboard title']", "UI test dashboard");
    await page.fill("input[aria-label='Panel title']", "Targets up");
    await page.fill("textarea[aria-label='Panel query']", "sum by (job) (up)");
    await page.locator("textarea[aria-label='Panel query']").dispatchEvent("change");
    await page.click("text=+ Add panel");
    await page.locator("input[aria-label='Panel title']").nth(1).fill("Samples");
    await page.locator("textarea[aria-label='Panel query']").nth(1).fill("scrape_samples_scraped");
    await page.locator("textarea[aria-label='Panel query']").nth(1).dispatchEvent("change");
    await page.locator("select[aria-label='Panel type']").nth(1).selectOption("table");
    await page.click("button:text-is('Save')");
    await page.waitForSelector("text=Saved at", { timeout: 15_000 });
    await w.screenshot("dashboard-edit");
    // Both jobs have `up` stored before the restart, so the panel's legend is known.
    await waitUntil("up stored for both jobs", async () => {
      const r = await apiData<{ result: unknown[] }>(`${s.url}/api/v1/query?query=${encodeURIComponent("sum by (job) (up)")}`);
      return r.result.length === 2 ? true : undefined;
    });
    expect(await s.child.stop()).toBe(0);

    s = await startServer(dataDir);
    // The range query the graph panel makes answers both jobs before the page loads (right after a
    // restart the first answers can miss a job; see the closing note of this change).
    await waitUntil("both jobs in the panel's range query", async () => {
      const now = Date.now() / 1000;
      const r = await apiData<{ result: unknown[] }>(`${s.url}/api/v1/query_range?query=${encodeURIComponent("sum by (job) (up)")}&start=${now - 3600}&end=${now}&step=14`);
      return r.result.length === 2 ? true : undefined;
    });
    const stored = await apiData<{ title: string; panels: { title: string; expr: string; type: string }[] }>(`${s.url}/api/v1/dashboards/ui-test`);
    expect(stored.title).toBe("UI test dashboard");
    expect(stored.panels.map((p) => [p.title, p.expr, p.type])).toEqual([["Targets up", "sum by (job) (up)", "graph"], ["Samples", "scrape_samples_scraped", "table"]]);
    await page.goto(`${s.url}/dashboards/ui-test`);
    await settled(page);
    await page.waitForSelector("h3:text-is('Targets up')");
    await page.locator(".dash-panel").nth(0).locator(".legend-item, .alert, p.muted").first().waitFor({ timeout: 20_000 });
    await page.locator(".dash-panel").nth(1).locator("table.result, .alert, p.muted").first().waitFor({ timeout: 20_000 });
    await w.screenshot("dashboard-after-restart");
    expect(await page.locator(".dash-panel-body .alert").allInnerTexts()).toEqual([]);
    expect(await page.locator(".dash-panel .legend-label").allInnerTexts()).toEqual(['{job="self"}', '{job="unreachable"}']);
    expect(await page.locator(".dash-panel table.result tr").count()).toBeGreaterThan(0);
    expect(w.errors).toEqual([]);
    await page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);
});

describe("the Alertmanager role's UI in Chromium", () => {
  test("its pages load without console errors", async () => {
    if (!ok) return;
    const port = freePort();
    const config = join(dir, "am-role.yml");
    writeFileSync(config, "route:\n  receiver: none\nreceivers:\n  - name: none\n");
    const child = spawnChild("alertmanager", [PROMTS_BINARY, "alertmanager", `--config.file=${config}`, `--storage.path=${join(dir, "am-data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="]);
    started.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForOK(`${url}/-/ready`, child);
    const w = await watchedPage(browser!);
    await w.page.goto(url);
    await w.page.waitForURL(/\/alertmanager\/alerts$/);
    for (const [p, sel] of [["/alertmanager/alerts", "text=No alert groups found."], ["/alertmanager/silences", "text=No active silences."], ["/alertmanager/status", "text=Cluster status"]]) {
      await w.page.goto(`${url}${p}`);
      await settled(w.page);
      await w.page.waitForSelector(`main >> ${sel!}`, { timeout: 15_000 });
      await w.screenshot(`am-role${p}`);
    }
    expect(await w.page.locator("nav >> text=Query").count()).toBe(0);
    expect(w.errors).toEqual([]);
    await w.page.context().close();
  }, BROWSER_TEST_TIMEOUT_MS);
});

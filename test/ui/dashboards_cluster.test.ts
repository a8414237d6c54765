/**
 * Dashboards on a cluster, in headless Chromium: two promts servers joined
 * by --cluster.peer; a dashboard saved in the UI of one shows up, with its
 * panels, in the UI of the other; deleting it on the second removes it from
 * the first. Skips loudly without Chromium (fails under PROMTS_REQUIRE_PEERS=1).
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";
import { browserSuite, watchedPage } from "./chromium.ts";

const TIMEOUT_MS = 90_000;
const suite = browserSuite("promts-ui-dash-cluster-");

interface Node {
  name: string;
  url: string;
  child: Child;
}

async function startNodes(): Promise<[Node, Node]> {
  const names = ["n1", "n2"];
  const web = names.map(() => freePort());
  const gossip = names.map(() => freePort());
  writeFileSync(join(suite.dir, "prometheus.yml"), "global:\n  scrape_interval: 15s\n");
  const nodes = names.map((name, i) => {
    const child = spawnChild(`promts-${name}`, [
      PROMTS_BINARY, `--config.file=${join(suite.dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(suite.dir, `data-${name}`)}`,
      `--web.listen-address=127.0.0.1:${web[i]}`, `--cluster.listen-address=127.0.0.1:${gossip[i]}`, `--cluster.peer-name=${name}`,
      `--cluster.peer=127.0.0.1:${gossip[1 - i]}`, "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=1s",
      "--cluster.probe-interval=200ms", "--cluster.reconnect-interval=500ms",
    ]);
    suite.started.push(child);
    return { name, url: `http://127.0.0.1:${web[i]}`, child };
  });
  for (const n of nodes) await waitForOK(`${n.url}/-/ready`, n.child);
  return nodes as [Node, Node];
}

async function dashboardNames(url: string): Promise<string[]> {
  const body = await (await fetch(`${url}/api/v1/dashboards`)).json() as { data: { name: string }[] };
  return body.data.map((d) => d.name);
}

describe("dashboards on a cluster, in Chromium", () => {
  test("saved on one node, shown on the other; deleted there, gone from the first", async () => {
    if (!suite.ok) return;
    const [a, b] = await startNodes();
    const w = await watchedPage(suite.browser!);
    const page = w.page;
    await page.goto(`${a.url}/dashboards`);
    await page.fill("input[name=dashboard-name]", "shared");
    await page.click("text=Create");
    await page.waitForURL(/\/dashboards\/shared/, { timeout: 15_000 });
    await page.fill("input[aria-label='Dashboard title']", "Shared dashboard");
    await page.fill("input[aria-label='Panel title']", "Replicated panel");
    await page.fill("textarea[aria-label='Panel query']", "up");
    await page.locator("textarea[aria-label='Panel query']").dispatchEvent("change");
    await page.click("button:text-is('Save')");
    await page.waitForSelector("text=Saved at", { timeout: 15_000 });

    await waitUntil("the dashboard saved on n1 listed by n2", async () => (await dashboardNames(b.url)).includes("shared") || undefined, 15_000, [a.child, b.child]);
    await page.goto(`${b.url}/dashboards/shared`);
    await page.waitForSelector("h3:text-is('Replicated panel')", { timeout: 15_000 });
    await page.waitForSelector("main >> text=Shared dashboard", { timeout: 15_000 });
    const stored = await (await fetch(`${b.url}/api/v1/dashboards/shared`)).json() as { data: { title: string; panels: { title: string; expr: string }[] } };
    expect({ title: stored.data.title, panels: stored.data.panels.map((p) => [p.title, p.expr]) }).toEqual({ title: "Shared dashboard", panels: [["Replicated panel", "up"]] });
    await w.screenshot("dashboard-on-the-other-node");

    const del = await fetch(`${b.url}/api/v1/dashboards/shared`, { method: "DELETE" });
    expect(del.status).toBe(200);
    await waitUntil("the deletion on n2 reaching n1", async () => !(await dashboardNames(a.url)).includes("shared") || undefined, 15_000, [a.child, b.child]);
    expect(w.errors).toEqual([]);
    await page.context().close();
  }, TIMEOUT_MS);
});

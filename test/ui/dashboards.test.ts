/** The dashboards store and API, and the Grafana import, without a browser. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DashboardStore, dashboardsAPI, importGrafana, validateDashboard } from "../../src/ui/index.ts";

const dirs: string[] = [];
function tempStore(): DashboardStore {
  const d = mkdtempSync(join(tmpdir(), "promts-dash-"));
  dirs.push(d);
  return new DashboardStore(join(d, "dashboards"));
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sample = {
  title: "Node overview",
  range: "6h",
  panels: [
    { title: "CPU", expr: "rate(node_cpu_seconds_total[5m])", type: "graph", stacked: true, gridPos: { x: 0, y: 0, w: 12, h: 8 } },
    { title: "Up", expr: "up", type: "table", range: "1h", gridPos: { x: 12, y: 0, w: 12, h: 8 } },
  ],
};

describe("validateDashboard", () => {
  test("keeps what a dashboard says and fills defaults", () => {
    const d = validateDashboard({ panels: [{ expr: "up" }] }, "a");
    expect(d).toEqual({ name: "a", title: "a", range: "1h", panels: [{ title: "", expr: "up", type: "graph", gridPos: { x: 0, y: 0, w: 12, h: 8 } }] });
  });

  test.each([
    [{ panels: "x" }, "n", "panels: must be an array"],
    [{ panels: [{ expr: 1 }] }, "n", "panels[0].expr: must be a string"],
    [{ panels: [{ expr: "up", type: "pie" }] }, "n", 'panels[0].type: must be "graph" or "table", got "pie"'],
    [{ panels: [{ expr: "up", gridPos: { x: 30, y: 0, w: 1, h: 1 } }] }, "n", "panels[0].gridPos.x: must be an integer from 0 to 23, got 30"],
    [{ range: "soon", panels: [] }, "n", 'range: "soon" is not a duration like 1h'],
    [{ panels: [] }, "../etc", 'name "../etc": must match'],
    [{ name: "other", panels: [] }, "n", 'name: body says "other" but the URL says "n"'],
    [[], "n", "dashboard: must be a JSON object"],
  ])("rejects %j named %s", (input, name, message) => {
    expect(() => validateDashboard(input, name)).toThrow(message);
  });
});

describe("DashboardStore", () => {
  test("put, get, list and delete through files", () => {
    const store = tempStore();
    expect(store.list()).toEqual([]);
    const stored = store.put("nodes", sample, new Date("2026-01-02T03:04:05Z"));
    expect(stored.updated).toBe("2026-01-02T03:04:05.000Z");
    expect(readdirSync(store.dir)).toEqual(["nodes.json"]);
    // A new store over the same directory sees it: what a restart does.
    const again = new DashboardStore(store.dir);
    expect(again.get("nodes")).toEqual({ ...validateDashboard(sample, "nodes"), updated: "2026-01-02T03:04:05.000Z" });
    expect(again.list()).toEqual([{ name: "nodes", title: "Node overview", panels: 2, updated: "2026-01-02T03:04:05.000Z" }]);
    expect(again.delete("nodes")).toBe(true);
    expect(again.delete("nodes")).toBe(false);
    expect(again.get("nodes")).toBeUndefined();
  });

  test("skips files that are not valid dashboards", () => {
    const store = tempStore();
    mkdirSync(store.dir, { recursive: true });
    writeFileSync(join(store.dir, "broken.json"), "{not json");
    store.put("ok", { panels: [] });
    expect(store.list().map((d) => d.name)).toEqual(["ok"]);
  });
});

describe("dashboardsAPI", () => {
  test("answers list, get, put and delete like the Prometheus API", async () => {
    const app = dashboardsAPI(tempStore());
    const put = await app.request("/nodes", { method: "PUT", body: JSON.stringify(sample) });
    expect(put.status).toBe(200);
    const putBody = await put.json() as { status: string; data: { name: string; panels: unknown[] } };
    expect(putBody.status).toBe("success");
    expect(putBody.data.panels).toHaveLength(2);
    const list = await (await app.request("/")).json() as { data: { name: string }[] };
    expect(list.data.map((d) => d.name)).toEqual(["nodes"]);
    const got = await (await app.request("/nodes")).json() as { data: { title: string } };
    expect(got.data.title).toBe("Node overview");
    expect((await app.request("/nodes", { method: "DELETE" })).status).toBe(200);
    const missing = await app.request("/nodes");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ status: "error", errorType: "not_found", error: 'dashboard "nodes" not found' });
  });

  test("bad bodies answer 400 naming the field", async () => {
    const app = dashboardsAPI(tempStore());
    const notJSON = await app.request("/x", { method: "PUT", body: "{" });
    expect(notJSON.status).toBe(400);
    expect((await notJSON.json() as { error: string }).error).toStartWith('dashboard "x": body is not JSON');
    const bad = await app.request("/x", { method: "PUT", body: JSON.stringify({ panels: [{ expr: "up", type: "pie" }] }) });
    expect(bad.status).toBe(400);
    expect((await bad.json() as { error: string }).error).toBe('dashboard "x": panels[0].type: must be "graph" or "table", got "pie"');
  });
});

describe("importGrafana", () => {
  test("maps Prometheus panels' expr, titles and grid positions, flattening rows", () => {
    const grafana = {
      dashboard: {
        title: "Node Exporter / Nodes",
        time: { from: "now-6h", to: "now" },
        panels: [
          { type: "row", title: "CPU", gridPos: { x: 0, y: 0, w: 24, h: 1 }, panels: [
            { type: "timeseries", title: "CPU usage", gridPos: { x: 0, y: 1, w: 12, h: 7 },
              fieldConfig: { defaults: { custom: { stacking: { mode: "normal" } } } },
              targets: [{ refId: "A", expr: "sum by (mode) (rate(node_cpu_seconds_total[5m]))" }] },
          ] },
          { type: "table", title: "Targets", gridPos: { x: 12, y: 1, w: 12, h: 7 }, targets: [{ expr: "up" }, { expr: "", refId: "B" }] },
          { type: "text", title: "Notes", gridPos: { x: 0, y: 8, w: 24, h: 3 } },
          { type: "graph", title: "Two queries", gridPos: { x: 0, y: 11, w: 24, h: 6 }, targets: [{ refId: "A", expr: "a" }, { refId: "B", expr: "b" }] },
        ],
      },
    };
    const { dashboard, skipped } = importGrafana(grafana);
    expect(dashboard.name).toBe("node-exporter-nodes");
    expect(dashboard.title).toBe("Node Exporter / Nodes");
    expect(dashboard.range).toBe("6h");
    expect(dashboard.panels).toEqual([
      { title: "CPU usage", expr: "sum by (mode) (rate(node_cpu_seconds_total[5m]))", type: "graph", stacked: true, gridPos: { x: 0, y: 1, w: 12, h: 7 } },
      { title: "Targets", expr: "up", type: "table", gridPos: { x: 12, y: 1, w: 12, h: 7 } },
      { title: "Two queries (A)", expr: "a", type: "graph", gridPos: { x: 0, y: 11, w: 24, h: 6 } },
      { title: "Two queries (B)", expr: "b", type: "graph", gridPos: { x: 0, y: 17, w: 24, h: 6 } },
    ]);
    expect(skipped).toEqual(['panel "Notes" (text): no Prometheus query']);
    // What it produces is a valid dashboard.
    expect(() => validateDashboard(dashboard, dashboard.name)).not.toThrow();
  });

  test("old row-based dashboards stack panels without gridPos", () => {
    const { dashboard } = importGrafana({ title: "Old", rows: [{ panels: [{ title: "a", targets: [{ expr: "up" }] }, { title: "b", targets: [{ expr: "up" }] }] }] });
    expect(dashboard.panels.map((p) => p.gridPos)).toEqual([{ x: 0, y: 0, w: 24, h: 8 }, { x: 0, y: 8, w: 24, h: 8 }]);
  });

  test("rejects what is not a dashboard", () => {
    expect(() => importGrafana([])).toThrow("Grafana dashboard: must be a JSON object");
    expect(() => importGrafana({ title: "x" })).toThrow("Grafana dashboard: has neither panels nor rows");
  });
});

/** The UI's HTTP routes: pages, redirects, embedded assets, per role. */
import { describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { DashboardStore, ROLE_PAGES, uiRoutes } from "../../src/ui/index.ts";
import { newWebApp } from "../../src/web/index.ts";
import { Registry } from "../../src/model/index.ts";

function mounted(prefix: string, ui: Hono): Hono {
  const app = new Hono();
  app.route(prefix, ui);
  return app;
}

describe("uiRoutes", () => {
  const server = uiRoutes({ roles: ["prometheus", "alertmanager"], routePrefix: "/", title: "T <&>", version: "1.2.3" });

  test("every page of every role answers the one HTML page with its config", async () => {
    for (const p of [...ROLE_PAGES.prometheus, ...ROLE_PAGES.alertmanager].filter((p) => !p.startsWith("/dashboards"))) {
      const res = await server.request(p.replace(":id", "abc").replace(":name", "x"));
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      const text = await res.text();
      expect(text).toContain("<title>T &#60;&#38;&#62;</title>");
      expect(text).toContain('"roles":["prometheus","alertmanager"]');
      expect(text).toMatch(/src="\/assets\/app\.js\?v=[0-9a-f]{12}"/);
    }
    // No dashboards store: no dashboard pages and no API.
    expect((await server.request("/dashboards")).status).toBe(404);
    expect((await server.request("/api/v1/dashboards")).status).toBe(404);
  });

  test("/ goes to the query page and /graph keeps its query string", async () => {
    const home = await server.request("/");
    expect(home.status).toBe(302);
    expect(home.headers.get("Location")).toBe("/query");
    const graph = await server.request("/graph?g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=0");
    expect(graph.status).toBe(302);
    expect(graph.headers.get("Location")).toBe("/query?g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=0");
  });

  test("assets are served plain or gzipped, the same bytes either way", async () => {
    const plain = await server.request("/assets/app.js");
    expect(plain.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(plain.headers.get("Content-Encoding")).toBeNull();
    const js = await plain.text();
    expect(js.length).toBeGreaterThan(1000);
    const gz = await server.request("/assets/app.js", { headers: { "Accept-Encoding": "gzip, br" } });
    expect(gz.headers.get("Content-Encoding")).toBe("gzip");
    expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString()).toBe(js);
    const css = await server.request("/assets/app.css");
    expect(await css.text()).toContain(".u-legend"); // uPlot's stylesheet is bundled in
  });

  test("the Alertmanager role's home is its alerts page, under a prefix", async () => {
    const am = mounted("/am", uiRoutes({ roles: ["alertmanager"], routePrefix: "/am", title: "Alertmanager", version: "0.27.0" }));
    const home = await am.request("/am");
    expect(home.headers.get("Location")).toBe("/am/alertmanager/alerts");
    const page = await (await am.request("/am/alertmanager/silences")).text();
    expect(page).toContain('"prefix":"/am"');
    expect(page).toContain('href="/am/assets/app.css');
    expect((await am.request("/am/query")).status).toBe(404);
  });

  test("the server's web app serves the UI instead of the landing page, with dashboards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promts-ui-routes-"));
    try {
      const app = newWebApp({
        registry: new Registry(), enableLifecycle: false, isReady: () => true, quit() {}, reload: async () => {},
        routePrefix: "/prom",
        ui: uiRoutes({ roles: ["prometheus"], routePrefix: "/prom", title: "P", version: "v", dashboards: new DashboardStore(join(dir, "d")) }),
      });
      expect((await app.request("/prom")).headers.get("Location")).toBe("/prom/query");
      expect((await app.request("/prom/dashboards/x")).status).toBe(200);
      const put = await app.request("/prom/api/v1/dashboards/x", { method: "PUT", body: JSON.stringify({ panels: [{ expr: "up" }] }) });
      expect(put.status).toBe(200);
      expect((await app.request("/prom/-/healthy")).status).toBe(200);
      expect((await app.request("/prom/metrics")).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

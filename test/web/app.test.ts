import { describe, expect, test } from "bun:test";
import { newLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import { Hono } from "hono";
import { newWebApp, readyOnly, TEXT_FORMAT_CONTENT_TYPE, type WebOptions } from "../../src/web/index.ts";
import { pollUntil } from "../support/wait.ts";

function setup(overrides: Partial<WebOptions> = {}) {
  const state = { ready: false, quits: 0, reloads: 0 };
  const registry = new Registry();
  const app = newWebApp({
    registry,
    enableLifecycle: false,
    isReady: () => state.ready,
    quit: () => { state.quits++; },
    reload: async () => { state.reloads++; },
    ...overrides,
  });
  return { app, registry, state };
}

function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<true> {
  return pollUntil("the condition", () => cond() || undefined, { deadlineMs: timeoutMs, intervalMs: 5 });
}

describe("lifecycle endpoints", () => {
  test("/-/healthy answers at once", async () => {
    const { app } = setup();
    const res = await app.request("/-/healthy");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Prometheus Server is Healthy.\n");
  });

  test("/-/ready is 503 until ready, then 200", async () => {
    const { app, state } = setup();
    expect((await app.request("/-/ready", { method: "HEAD" })).status).toBe(503);
    const before = await app.request("/-/ready");
    expect(before.status).toBe(503);
    expect(await before.text()).toBe("Service Unavailable");
    state.ready = true;
    const head = await app.request("/-/ready", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const after = await app.request("/-/ready");
    expect(after.status).toBe(200);
    expect(await after.text()).toBe("Prometheus Server is Ready.\n");
  });

  test("quit and reload are forbidden without --web.enable-lifecycle", async () => {
    const { app, state } = setup();
    for (const path of ["/-/quit", "/-/reload"]) {
      for (const method of ["POST", "PUT"]) {
        const res = await app.request(path, { method });
        expect(res.status).toBe(403);
        expect(await res.text()).toBe("Lifecycle API is not enabled.");
      }
    }
    expect(state.quits).toBe(0);
    expect(state.reloads).toBe(0);
  });

  test("GET on quit and reload is 405", async () => {
    const { app } = setup({ enableLifecycle: true });
    for (const path of ["/-/quit", "/-/reload"]) {
      const res = await app.request(path);
      expect(res.status).toBe(405);
      expect(await res.text()).toBe("Only POST or PUT requests allowed");
    }
  });

  test("with lifecycle enabled, quit calls the hook and reload reports errors", async () => {
    let failWith: string | undefined;
    const { app, state } = setup({
      enableLifecycle: true,
      reload: async () => {
        state.reloads++;
        if (failWith) throw new Error(failWith);
      },
    });
    const quit = await app.request("/-/quit", { method: "POST" });
    expect(quit.status).toBe(200);
    expect(await quit.text()).toBe("Requesting termination... Goodbye!");
    await waitFor(() => state.quits === 1);

    const ok = await app.request("/-/reload", { method: "PUT" });
    expect(ok.status).toBe(200);
    failWith = "prometheus.yml:3:5: field scrape_interval: bad duration";
    const bad = await app.request("/-/reload", { method: "POST" });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toBe("failed to reload config: prometheus.yml:3:5: field scrape_interval: bad duration\n");
    expect(state.reloads).toBe(2);
  });
});

describe("/metrics", () => {
  test("serves the registry in text format 0.0.4 and counts requests per handler", async () => {
    const { app, registry, state } = setup();
    registry.counter("promts_test_total", "A test counter.").inc(3);
    await app.request("/-/healthy");
    await app.request("/-/ready");
    state.ready = true;
    await app.request("/-/ready");
    await app.request("/no/such/path");
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(TEXT_FORMAT_CONTENT_TYPE);
    const body = await res.text();
    expect(body).toContain("promts_test_total 3\n");
    expect(body).toContain("prometheus_ready 1\n");
    expect(body).toContain('prometheus_http_requests_total{code="200",handler="/-/healthy"} 1\n');
    expect(body).toContain('prometheus_http_requests_total{code="503",handler="/-/ready"} 1\n');
    expect(body).toContain('prometheus_http_requests_total{code="200",handler="/-/ready"} 1\n');
    expect(body).toContain('prometheus_http_request_duration_seconds_count{handler="/-/ready"} 2\n');
    expect(body).not.toContain("/no/such/path");
  });
});

describe("route prefix", () => {
  test("routes live under the prefix, / redirects there, labels omit it", async () => {
    const { app } = setup({ routePrefix: "/prom/" });
    expect((await app.request("/prom/-/healthy")).status).toBe(200);
    expect((await app.request("/-/healthy")).status).toBe(404);
    const root = await app.request("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/prom");
    const page = await app.request("/prom");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('href="/prom/metrics"');
    const metrics = await (await app.request("/prom/metrics")).text();
    expect(metrics).toContain('prometheus_http_requests_total{code="200",handler="/-/healthy"} 1\n');
  });

  test("the landing page escapes the page title", async () => {
    const { app } = setup({ pageTitle: "<b>My & Co</b>" });
    const body = await (await app.request("/")).text();
    expect(body).toContain("<title>&#60;b&#62;My &#38; Co&#60;/b&#62;</title>");
  });
});

describe("readyOnly", () => {
  test("answers 503 until ready, then passes requests on", async () => {
    let ready = false;
    const api = new Hono();
    api.use("*", readyOnly(() => ready));
    api.get("/api/v1/query", (c) => c.json({ status: "success" }));
    const before = await api.request("/api/v1/query");
    expect(before.status).toBe(503);
    expect(await before.text()).toBe("Service Unavailable");
    ready = true;
    const after = await api.request("/api/v1/query");
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ status: "success" });
  });
});

describe("API mount", () => {
  function withAPI(corsOrigin?: RegExp) {
    const api = new Hono();
    api.on(["GET", "POST"], "/query", (c) => c.json({ status: "success" }));
    return setup({ apiV1: api, corsOrigin });
  }

  test("/api/v1 is 503 until ready, then served and instrumented by route", async () => {
    const { app, state } = withAPI();
    expect((await app.request("/api/v1/query")).status).toBe(503);
    state.ready = true;
    const res = await app.request("/api/v1/query", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "success" });
    expect((await app.request("/api/v1/nope")).status).toBe(404);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('prometheus_http_requests_total{code="200",handler="/api/v1/query"} 1\n');
    expect(metrics).toContain('prometheus_http_requests_total{code="503",handler="/api/v1/query"} 1\n');
    expect(metrics).not.toContain("/api/v1/nope");
    expect(metrics).not.toContain('handler="/api/v1/*"');
  });

  test("CORS: '*' by default, the origin itself when it matches, nothing without an Origin", async () => {
    const open = withAPI();
    open.state.ready = true;
    const anyOrigin = await open.app.request("/api/v1/query", { headers: { Origin: "https://grafana.example" } });
    expect(anyOrigin.headers.get("access-control-allow-origin")).toBe("*");
    expect(anyOrigin.headers.get("vary")).toBe("Origin");
    expect((await open.app.request("/api/v1/query")).headers.get("access-control-allow-origin")).toBeNull();

    const strict = withAPI(/^(?:https?:\/\/(a|b)\.com)$/);
    strict.state.ready = true;
    const allowed = await strict.app.request("/api/v1/query", { headers: { Origin: "https://a.com" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://a.com");
    const denied = await strict.app.request("/api/v1/query", { headers: { Origin: "https://evil.com" } });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    expect(denied.headers.get("access-control-allow-methods")).toBe("GET, POST, OPTIONS");
    const preflight = await strict.app.request("/api/v1/query", { method: "OPTIONS", headers: { Origin: "https://b.com" } });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://b.com");
  });
});

describe("errors", () => {
  test("a failing handler answers 500 and is logged", async () => {
    const lines: string[] = [];
    const api = new Hono();
    api.get("/boom", () => { throw new Error("kaboom"); });
    const { app, state } = setup({ apiV1: api, logger: newLogger({ write: (l) => lines.push(l) }) });
    state.ready = true;
    const res = await app.request("/api/v1/boom");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("Internal Server Error");
    expect(lines.join("\n")).toContain('msg="HTTP handler failed" path=/api/v1/boom err=kaboom');
  });
});

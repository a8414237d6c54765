import { afterEach, describe, expect, test } from "bun:test";
import { HTTPDiscoverer } from "../../src/discovery/index.ts";
import { nopLogger } from "../../src/log/index.ts";
import { Registry } from "../../src/model/index.ts";
import { GroupRecorder, metricValue, plain, waitFor } from "./helpers.ts";

interface SDServer {
  url: string;
  status: number;
  contentType: string;
  body: string;
  /** Method and a copy of the headers of each request (a Request is not valid after its response). */
  requests: { method: string; headers: Headers }[];
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function serveSD(groups: unknown): SDServer {
  const s: SDServer = { url: "", status: 200, contentType: "application/json", body: JSON.stringify(groups), requests: [] };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      s.requests.push({ method: req.method, headers: new Headers(req.headers) });
      return new Response(s.body, { status: s.status, headers: { "Content-Type": s.contentType } });
    },
  });
  s.url = `http://127.0.0.1:${server.port}/sd`;
  cleanups.push(() => server.stop(true));
  return s;
}

const never = new AbortController().signal;

describe("HTTPDiscoverer", () => {
  test("fetches groups, labels them __meta_url, sends Prometheus's headers and basic auth", async () => {
    const srv = serveSD([{ targets: ["a:1"], labels: { env: "prod" } }, { targets: ["b:1", "c:1"] }]);
    const d = new HTTPDiscoverer({ url: srv.url, refresh_interval: 15_000, basic_auth: { username: "u", password: "p" } }, { logger: nopLogger });
    const groups = await d.refresh(never);
    expect(groups.map(plain)).toEqual([
      { source: `${srv.url}:0`, targets: [{ __address__: "a:1" }], labels: { __meta_url: srv.url, env: "prod" } },
      { source: `${srv.url}:1`, targets: [{ __address__: "b:1" }, { __address__: "c:1" }], labels: { __meta_url: srv.url } },
    ]);
    const req = srv.requests[0]!;
    expect(req.method).toBe("GET");
    expect(req.headers.get("X-Prometheus-Refresh-Interval-Seconds")).toBe("15");
    expect(req.headers.get("Accept")).toBe("application/json");
    expect(req.headers.get("Authorization")).toBe("Basic " + btoa("u:p"));
  });

  test("authorization credentials are sent with their type", async () => {
    const srv = serveSD([]);
    const d = new HTTPDiscoverer({ url: srv.url, authorization: { type: "Bearer", credentials: "tok" } }, { logger: nopLogger });
    expect(await d.refresh(never)).toEqual([]);
    expect(srv.requests[0]!.headers.get("Authorization")).toBe("Bearer tok");
  });

  test("the Content-Type must be application/json", async () => {
    const srv = serveSD([{ targets: ["a:1"] }]);
    srv.contentType = "text/plain";
    const d = new HTTPDiscoverer({ url: srv.url }, { logger: nopLogger });
    await expect(d.refresh(never)).rejects.toThrow('unsupported content type "text/plain"');
    srv.contentType = "application/json; charset=utf-8";
    expect((await d.refresh(never)).length).toBe(1);
  });

  test("non-200 and bad JSON fail the refresh", async () => {
    const srv = serveSD([]);
    srv.status = 503;
    const d = new HTTPDiscoverer({ url: srv.url }, { logger: nopLogger });
    await expect(d.refresh(never)).rejects.toThrow("server returned HTTP status 503");
    srv.status = 200;
    srv.body = "[{";
    await expect(d.refresh(never)).rejects.toThrow("invalid JSON");
    srv.body = "[null]";
    await expect(d.refresh(never)).rejects.toThrow("nil target group item found (index 0)");
  });

  test("groups that disappear from the list are reported empty", async () => {
    const srv = serveSD([{ targets: ["a:1"] }, { targets: ["b:1"] }, { targets: ["c:1"] }]);
    const d = new HTTPDiscoverer({ url: srv.url }, { logger: nopLogger });
    expect((await d.refresh(never)).length).toBe(3);
    srv.body = JSON.stringify([{ targets: ["a:1"] }]);
    const second = (await d.refresh(never)).map(plain);
    expect(second.map((g) => [g.source, g.targets.length])).toEqual([[`${srv.url}:0`, 1], [`${srv.url}:1`, 0], [`${srv.url}:2`, 0]]);
    expect((await d.refresh(never)).length).toBe(1);
  });

  test("run polls every refresh_interval; a failing endpoint keeps the last targets and counts failures", async () => {
    const srv = serveSD([{ targets: ["a:1"] }]);
    const registry = new Registry();
    const rec = new GroupRecorder();
    const abort = new AbortController();
    const d = new HTTPDiscoverer({ url: srv.url, refresh_interval: 20 }, { logger: nopLogger, registry });
    const done = d.run(rec.update, abort.signal);
    cleanups.push(async () => {
      abort.abort();
      await done;
    });
    await waitFor("first targets", () => rec.addresses().join() === "a:1");
    srv.status = 500;
    await waitFor("two failures", () => (metricValue(registry, "prometheus_sd_http_failures_total") ?? 0) >= 2);
    expect(rec.addresses()).toEqual(["a:1"]);
    srv.status = 200;
    srv.body = JSON.stringify([{ targets: ["b:1"] }]);
    await waitFor("new targets", () => rec.addresses().join() === "b:1");
    abort.abort();
    await done;
  });

  test("the injected fetch is used", async () => {
    let seen = "";
    const fake = (async (input: string | URL | Request) => {
      seen = String(input);
      return new Response("[]", { headers: { "Content-Type": "application/json" } });
    }) as typeof fetch;
    const d = new HTTPDiscoverer({ url: "http://sd.invalid/x" }, { logger: nopLogger, fetch: fake });
    expect(await d.refresh(never)).toEqual([]);
    expect(seen).toBe("http://sd.invalid/x");
  });

  test("invalid configs are rejected", () => {
    expect(() => new HTTPDiscoverer({ url: "not a url" }, { logger: nopLogger })).toThrow('http_sd: invalid url "not a url"');
    expect(() => new HTTPDiscoverer({ url: "ftp://h/x" }, { logger: nopLogger })).toThrow("URL scheme must be 'http' or 'https'");
    expect(() => new HTTPDiscoverer({ url: "http://h/x", oauth2: { client_id: "c" } }, { logger: nopLogger })).toThrow("oauth2 is not supported");
  });
});

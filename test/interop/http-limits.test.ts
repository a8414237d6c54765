/**
 * Request-size limits of the HTTP server, side by side with Prometheus 2.42
 * on the same raw requests: Go's net/http accepts request heads (request
 * line and headers) of up to 1 MiB + 4096 bytes and answers 431 beyond;
 * dist/promts must answer each request with the same status. Every request
 * is written on its own raw TCP connection so nothing normalises it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerAvailable } from "../support/peers.ts";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK } from "../support/processes.ts";

const prometheusBin = Bun.which("prometheus");
let dir = "";
let promURL = "";
let promtsURL = "";
let ready = false;

beforeAll(async () => {
  if (!peerAvailable(prometheusBin, "prometheus", "Prometheus 2.42 not installed (apt-get install prometheus): HTTP limits not compared")) return;
  dir = mkdtempSync(join(tmpdir(), "promts-http-limits-"));
  const cfg = join(dir, "prometheus.yml");
  writeFileSync(cfg, "global:\n  scrape_interval: 1m\nscrape_configs: []\n");
  const pp = freePort(), tp = freePort();
  const prom = spawnChild("prometheus", [prometheusBin, `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, "prom")}`, `--web.listen-address=127.0.0.1:${pp}`]);
  const promts = spawnChild("promts", [PROMTS_BINARY, `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, "promts")}`, `--web.listen-address=127.0.0.1:${tp}`]);
  promURL = `http://127.0.0.1:${pp}`;
  promtsURL = `http://127.0.0.1:${tp}`;
  await waitForOK(`${promURL}/-/ready`, prom, 30_000);
  await waitForOK(`${promtsURL}/-/ready`, promts, 30_000);
  ready = true;
}, 60_000);
afterAll(async () => {
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes `data` on a fresh connection and returns the status line of the answer. */
function statusLine(url: string, data: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname);
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${url} within 15s (got ${JSON.stringify(out.slice(0, 80))})`));
    }, 15_000);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out.split("\r\n")[0]!.replace(/^(HTTP\/1\.1 \d+).*$/, "$1"));
    };
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (out.includes("\r\n")) done();
    });
    s.on("error", () => done());
    s.on("close", () => done());
    s.write(data);
  });
}

/** A GET whose head (request line, headers, blank line) is exactly `size` bytes, padded in a header. */
function headerRequest(size: number): string {
  const head = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const tail = "\r\nConnection: close\r\n\r\n";
  return head + "a".repeat(size - head.length - tail.length) + tail;
}

/** A GET whose head is exactly `size` bytes, padded in the query string. */
function urlRequest(size: number): string {
  const head = "GET /api/v1/query?query=vector(1)&pad=";
  const tail = " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  return head + "a".repeat(size - head.length - tail.length) + tail;
}

const LIMIT = (1 << 20) + 4096;

test("request heads up to 1 MiB + 4 KiB are served and larger ones get 431, as Prometheus answers", async () => {
  if (!ready) return;
  const cases: [string, string][] = [
    ["16 KiB + 1 of headers", headerRequest(16 * 1024 + 1)],
    ["64 KiB of headers", headerRequest(64 * 1024)],
    ["limit of headers", headerRequest(LIMIT)],
    ["limit + 1 of headers", headerRequest(LIMIT + 1)],
    ["2 MiB of headers", headerRequest(2 << 20)],
    ["100 KiB URL", urlRequest(100 * 1024)],
    ["limit URL", urlRequest(LIMIT)],
    ["limit + 1 URL", urlRequest(LIMIT + 1)],
  ];
  const got: Record<string, [string, string]> = {};
  for (const [name, req] of cases) got[name] = [await statusLine(promURL, req), await statusLine(promtsURL, req)];
  console.log("status lines [prometheus, promts]:", got);
  for (const [name] of cases) expect({ name, promts: got[name]![1] }).toEqual({ name, promts: got[name]![0] });
  expect(got["limit of headers"]![1]).toBe("HTTP/1.1 200");
  expect(got["limit + 1 of headers"]![1]).toBe("HTTP/1.1 431");
  // The server goes on serving.
  expect((await fetch(`${promtsURL}/-/healthy`)).status).toBe(200);
}, 60_000);

test("invalid UTF-8 in matchers and label names answers 400 with Prometheus's error", async () => {
  if (!ready) return;
  const paths = [
    "/api/v1/series?match[]=up%7Ba%3D%22%FF%22%7D",
    "/api/v1/query?query=up%7Ba%3D%22%FF%22%7D",
    "/api/v1/query?query=up%7Ba%3D%22%C3%A9%FF%22%7D",
    "/api/v1/query?query=up%7Ba%3D%22%EF%BF%BD%22%7D",
    "/api/v1/query?query=up%7Ba%3D%60x%FF%60%7D",
    "/api/v1/query?query=label_replace(up,%22a%22,%22%FF%22,%22b%22,%22c%22)",
    "/api/v1/query?query=up%7Ba%3D%22%FF",
    "/api/v1/label/%FF/values",
    "/api/v1/label/a%C3%A9%C3/values",
    "/federate?match[]=up%7Ba%3D%22%FF%22%7D",
  ];
  for (const path of paths) {
    const [p, t] = await Promise.all([promURL, promtsURL].map(async (base) => {
      const r = await fetch(base + path);
      return { status: r.status, body: (await r.text()).trim() };
    }));
    expect({ path, ...t }).toEqual({ path, ...p! });
    expect(t!.status).toBe(400);
  }
});

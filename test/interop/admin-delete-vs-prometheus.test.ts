/**
 * delete_series and clean_tombstones side by side with a real Prometheus
 * 2.42: both receive the same samples by remote write (5 h of 1-minute
 * samples, enough for blocks besides the head), get the same deletes
 * through the admin API, and must then answer the same series and range
 * queries — after the deletes, and again after clean_tombstones. The
 * answers' status codes and error bodies are compared too. Skips loudly
 * without Prometheus unless PROMTS_REQUIRE_PEERS=1; processes stopped by PID.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWriteV1, snappyEncode } from "../../src/remote/index.ts";
import { requireBinary, startPromts, type PromtsProcess } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, stopAll, waitForOK } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
let dir = "";
let promts: PromtsProcess | undefined;

afterAll(async () => {
  await stopAll();
  await promts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function get(base: string, path: string, params: Record<string, string | string[]>): Promise<unknown> {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
  const res = await fetch(`${base}${path}?${u}`);
  return res.json();
}

async function admin(base: string, path: string, params: Record<string, string | string[]>): Promise<{ status: number; body: string }> {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
  const res = await fetch(`${base}/api/v1/admin/tsdb/${path}`, { method: "POST", body: u.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  return { status: res.status, body: await res.text() };
}

test("delete_series and clean_tombstones leave promts answering as Prometheus", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (admin API interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-admin-interop-"));
  writeFileSync(join(dir, "config.yml"), "global:\n  scrape_interval: 1h\n");
  const promAddr = `127.0.0.1:${freePort()}`;
  const prom = spawnChild("prometheus", [prometheusBinary!, `--config.file=${join(dir, "config.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`,
    `--web.listen-address=${promAddr}`, "--web.enable-remote-write-receiver", "--web.enable-admin-api", "--log.level=warn"], dir);
  await waitForOK(`http://${promAddr}/-/ready`, prom, 30_000);
  promts = await startPromts([`--config.file=${join(dir, "config.yml")}`, `--storage.tsdb.path=${join(dir, "promts-data")}`, "--web.enable-remote-write-receiver", "--web.enable-admin-api"], dir);
  const peers = [`http://${promAddr}`, promts.url];

  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - 300 * 60_000;
  const series = Array.from({ length: 30 }, (_, s) => ({
    labels: [{ name: "__name__", value: s % 2 ? "dl_a" : "dl_b" }, { name: "job", value: `j${s % 3}` }, { name: "s", value: String(s) }],
    t: Array.from({ length: 300 }, (_, i) => start + i * 60_000),
    v: Array.from({ length: 300 }, (_, i) => s * 1000 + i),
  }));
  for (const base of peers) {
    const res = await fetch(`${base}/api/v1/write`, { method: "POST", body: snappyEncode(encodeWriteV1(series)), headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0" } });
    expect(res.status).toBe(204);
  }

  // Error answers: same status and body.
  // (Prometheus 2.42 takes a selector whose matchers all match "" and deletes every series; promts refuses it: docs/differences.md.)
  const errorCases: Record<string, string>[] = [{}, { "match[]": "dl_a{" }, { "match[]": "dl_a", start: "yesterday" }];
  for (const params of errorCases) {
    const [theirs, ours] = await Promise.all(peers.map((b) => admin(b, "delete_series", params)));
    expect({ params, status: ours!.status }).toEqual({ params, status: theirs!.status });
    if (theirs!.status === 400 && !("match[]" in params && params["match[]"] === "dl_a{")) expect(JSON.parse(ours!.body)).toEqual(JSON.parse(theirs!.body));
  }

  const deletes: Record<string, string | string[]>[] = [
    { "match[]": 'dl_a{job="j1"}', start: String((start + 30 * 60_000) / 1000), end: String((start + 200 * 60_000) / 1000) },
    { "match[]": ['dl_b{s="4"}', 'dl_a{s="5"}'] },
    { "match[]": '{job="j2"}', start: String((start + 250 * 60_000) / 1000) },
  ];
  for (const params of deletes) {
    const [theirs, ours] = await Promise.all(peers.map((b) => admin(b, "delete_series", params)));
    expect({ params, status: theirs!.status, body: theirs!.body }).toEqual({ params, status: 204, body: "" });
    expect({ params, status: ours!.status, body: ours!.body }).toEqual({ params, status: 204, body: "" });
  }

  const compare = async (stage: string) => {
    const at = String((end - 7_000) / 1000);
    const checks: [string, Record<string, string | string[]>][] = [
      ["/api/v1/series", { "match[]": '{__name__=~"dl_.+"}', start: String(start / 1000 - 60), end: String(end / 1000 + 60) }],
      ["/api/v1/query", { query: 'dl_a{job=~"j1|j2"}', time: at }],
      ["/api/v1/query", { query: "count_over_time(dl_a[5h])", time: at }],
      ["/api/v1/query", { query: "sum by (job) (count_over_time({__name__=~\"dl_.+\"}[5h]))", time: at }],
      ["/api/v1/query_range", { query: "count by (job) (dl_a)", start: String(start / 1000 + 33), end: String(end / 1000), step: "300" }],
    ];
    for (const [path, params] of checks) {
      const [theirs, ours] = await Promise.all(peers.map((b) => get(b, path, params)));
      expect({ stage, path, params, ours }).toEqual({ stage, path, params, ours: theirs });
    }
  };
  await compare("after delete_series");
  const cleaned = await Promise.all(peers.map((b) => admin(b, "clean_tombstones", {})));
  expect(cleaned.map((c) => c.status)).toEqual([204, 204]);
  await compare("after clean_tombstones");
  await prom.stop();
}, 180_000);

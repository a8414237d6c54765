/**
 * A real Prometheus 2.42 with `remote_read` pointed at promts answers PromQL
 * over promts's data with the same results as promts itself (its own TSDB
 * holds nothing). promts is filled through its remote-write receiver with
 * 40 series x 120 samples of the last 30 minutes. Skips loudly without
 * Prometheus unless PROMTS_REQUIRE_PEERS=1; processes stopped by PID.
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

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** Same series and timestamps; values equal to 1e-12 relative. */
function expectClose(q: string, theirs: Sample[], ours: Sample[]): void {
  expect({ q, metrics: ours.map((s) => s.metric) }).toEqual({ q, metrics: theirs.map((s) => s.metric) });
  theirs.forEach((s, i) => {
    const a = s.values ?? [s.value!];
    const b = ours[i]!.values ?? [ours[i]!.value!];
    expect(b.map((p) => p[0])).toEqual(a.map((p) => p[0]));
    a.forEach(([, v], k) => expect(Math.abs(Number(v) - Number(b[k]![1]))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(Number(v)))));
  });
}

async function query(base: string, path: string, params: Record<string, string>): Promise<unknown> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: { result: unknown }; error?: string };
  if (body.status !== "success") throw new Error(`${base}${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data.result;
}

test("Prometheus remote_read from promts gives promts's PromQL results", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (remote read interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-rr-interop-"));
  writeFileSync(join(dir, "promts.yml"), "global:\n  scrape_interval: 1h\n");
  promts = await startPromts([`--config.file=${join(dir, "promts.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, "--web.enable-remote-write-receiver"], dir);
  const end = Math.floor(Date.now() / 15_000) * 15_000;
  const start = end - 120 * 15_000;
  const series = Array.from({ length: 40 }, (_, s) => ({
    labels: [{ name: "__name__", value: s % 2 ? "rr_requests_total" : "rr_temperature" }, { name: "instance", value: `h${s % 5}` }, { name: "s", value: String(s) }],
    t: Array.from({ length: 120 }, (_, i) => start + i * 15_000),
    v: Array.from({ length: 120 }, (_, i) => (s % 2 ? s * 100 + i * (s % 7) : Math.sin(s + i / 10) * 20 + s)),
  }));
  const res = await fetch(`${promts.url}/api/v1/write`, { method: "POST", body: snappyEncode(encodeWriteV1(series)), headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" } });
  expect(res.status).toBe(204);

  const promAddress = `127.0.0.1:${freePort()}`;
  writeFileSync(join(dir, "prometheus.yml"), `global:
  scrape_interval: 1h
remote_read:
  - url: ${promts.url}/api/v1/read
    read_recent: true
`);
  const prom = spawnChild("prometheus", [prometheusBinary!, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`, `--web.listen-address=${promAddress}`, "--log.level=warn"], dir);
  await waitForOK(`http://${promAddress}/-/ready`, prom, 30_000);

  // Off the 15 s grid: Prometheus 2.42 selects ranges closed on the left, promts (as Prometheus 3) open; no sample sits on the boundary here.
  const at = String((end - 53_000) / 1000);
  // Raw data (selectors, range selectors, max/count) must be equal exactly; computed floats
  // (rate extrapolation, sums) may differ in the last bit from Prometheus's order of operations.
  const exact = ["rr_temperature", "rr_requests_total[10m]", "max_over_time(rr_temperature{s=~\"1.*\"}[10m])", "count(rr_requests_total > 1000)"];
  const computed = ["rate(rr_requests_total[5m])", "sum by (instance) (rr_temperature)"];
  for (const q of [...exact, ...computed]) {
    const theirs = (await query(`http://${promAddress}`, "/api/v1/query", { query: q, time: at })) as Sample[];
    const ours = (await query(promts.url, "/api/v1/query", { query: q, time: at })) as Sample[];
    expect(theirs.length).toBeGreaterThan(0);
    if (exact.includes(q)) expect({ q, r: theirs }).toEqual({ q, r: ours });
    else expectClose(q, theirs, ours);
  }
  const range = { query: "avg by (instance) (rr_temperature)", start: String(start / 1000), end: String(end / 1000), step: "60" };
  const theirRange = (await query(`http://${promAddress}`, "/api/v1/query_range", range)) as Sample[];
  expectClose(range.query, theirRange, (await query(promts.url, "/api/v1/query_range", range)) as Sample[]);
  await prom.stop();
}, 120_000);

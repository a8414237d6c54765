/**
 * promts's remote_read client against a real Prometheus 2.42's
 * /api/v1/read (which answers streamed XOR chunks), side by side with a
 * second real Prometheus given the same remote_read configuration: the
 * same queries give the same results (external labels filtered the same
 * way), and an unreachable second endpoint gives both a warning rather
 * than a failed query. Skips loudly without Prometheus unless
 * PROMTS_REQUIRE_PEERS=1; processes stopped by PID.
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

interface Answer {
  status: string;
  data?: { result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
  warnings?: string[];
  error?: string;
}

async function query(base: string, path: string, params: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as Answer;
}

test("promts remote_read from a real Prometheus answers as a Prometheus with the same remote_read", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (remote read client interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-rrc-interop-"));
  // The source: a real Prometheus receiving remote write.
  const sourceAddr = `127.0.0.1:${freePort()}`;
  writeFileSync(join(dir, "source.yml"), "global:\n  scrape_interval: 1h\n");
  const source = spawnChild("prometheus-source", [prometheusBinary!, `--config.file=${join(dir, "source.yml")}`, `--storage.tsdb.path=${join(dir, "source-data")}`,
    `--web.listen-address=${sourceAddr}`, "--web.enable-remote-write-receiver", "--log.level=warn"], dir);
  await waitForOK(`http://${sourceAddr}/-/ready`, source, 30_000);
  const end = Math.floor(Date.now() / 15_000) * 15_000;
  const start = end - 120 * 15_000;
  const series = Array.from({ length: 40 }, (_, s) => ({
    labels: [
      { name: "__name__", value: s % 2 ? "rrc_requests_total" : "rrc_temperature" },
      { name: "instance", value: `h${s % 5}` },
      { name: "s", value: String(s) },
      { name: "site", value: s % 3 === 0 ? "b" : "a" },
    ],
    t: Array.from({ length: 120 }, (_, i) => start + i * 15_000),
    v: Array.from({ length: 120 }, (_, i) => (s % 2 ? s * 100 + i * (s % 7) : Math.sin(s + i / 10) * 20 + s)),
  }));
  const res = await fetch(`http://${sourceAddr}/api/v1/write`, { method: "POST", body: snappyEncode(encodeWriteV1(series)), headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0" } });
  expect(res.status).toBe(204);

  // The readers: a real Prometheus and promts with one configuration, one endpoint of which is down.
  const down = freePort();
  const readerConfig = `global:
  scrape_interval: 1h
  external_labels:
    site: a
remote_read:
  - url: http://${sourceAddr}/api/v1/read
    read_recent: true
  - url: http://127.0.0.1:${down}/api/v1/read
    name: down
    read_recent: true
    remote_timeout: 5s
`;
  writeFileSync(join(dir, "reader.yml"), readerConfig);
  const promAddr = `127.0.0.1:${freePort()}`;
  const prom = spawnChild("prometheus-reader", [prometheusBinary!, `--config.file=${join(dir, "reader.yml")}`, `--storage.tsdb.path=${join(dir, "reader-data")}`, `--web.listen-address=${promAddr}`, "--log.level=warn"], dir);
  await waitForOK(`http://${promAddr}/-/ready`, prom, 30_000);
  promts = await startPromts([`--config.file=${join(dir, "reader.yml")}`, `--storage.tsdb.path=${join(dir, "promts-data")}`], dir);

  // Off the 15 s grid: Prometheus 2.42 selects ranges closed on the left, promts (as Prometheus 3) open.
  const at = String((end - 53_000) / 1000);
  const exact = ["rrc_temperature", "rrc_requests_total[10m]", "max_over_time(rrc_temperature{s=~\"1.*\"}[10m])", "count(rrc_requests_total > 1000)", "rrc_temperature{site=\"b\"}"];
  for (const q of exact) {
    const theirs = await query(`http://${promAddr}`, "/api/v1/query", { query: q, time: at });
    const ours = await query(promts.url, "/api/v1/query", { query: q, time: at });
    expect({ q, status: theirs.status }).toEqual({ q, status: "success" });
    expect(theirs.data!.result.length).toBeGreaterThan(0);
    expect({ q, r: ours.data?.result }).toEqual({ q, r: theirs.data!.result });
    // Both answer from the live endpoint and warn about the one that is down.
    expect({ q, theirs: (theirs.warnings ?? []).length > 0, ours: (ours.warnings ?? []).length > 0 }).toEqual({ q, theirs: true, ours: true });
    expect(ours.warnings!.join("\n")).toContain(`127.0.0.1:${down}`);
  }
  // External labels: site="a" series come back without the site label; site="b" only when asked for.
  const temps = (await query(promts.url, "/api/v1/query", { query: "rrc_temperature", time: at })).data!.result;
  expect(temps.every((r) => r.metric.site === undefined)).toBe(true);
  expect(temps.length).toBe(series.filter((s, i) => i % 2 === 0 && s.labels[3]!.value === "a").length);

  const range = { query: "max by (instance) (rrc_temperature)", start: String(start / 1000), end: String(end / 1000), step: "60" };
  const theirRange = await query(`http://${promAddr}`, "/api/v1/query_range", range);
  const ourRange = await query(promts.url, "/api/v1/query_range", range);
  expect(ourRange.data!.result).toEqual(theirRange.data!.result);
  await prom.stop();
  await source.stop();
}, 180_000);

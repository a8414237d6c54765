/**
 * `promts pushgateway` with its real clients and consumers:
 * - the official Python client (Debian's python3-prometheus-client):
 *   push_to_gateway, pushadd_to_gateway and delete_from_gateway with
 *   grouping keys give the same groups as on the real Pushgateway 1.5;
 * - a real Prometheus 2.42 scraping the role with honor_labels: true stores
 *   the pushed job and instance.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerAvailable } from "../support/peers.ts";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, type Child } from "../support/processes.ts";

const python = "/usr/bin/python3";
const realPG = Bun.which("prometheus-pushgateway");
const prometheus = Bun.which("prometheus");

function pythonClientAvailable(): boolean {
  const r = Bun.spawnSync([python, "-c", "import prometheus_client"], { stdout: "ignore", stderr: "ignore" });
  return r.exitCode === 0;
}

const SCRIPT = `
import sys
from prometheus_client import CollectorRegistry, Gauge, Counter, Summary, Histogram, push_to_gateway, pushadd_to_gateway, delete_from_gateway
gw = sys.argv[1]
r = CollectorRegistry()
g = Gauge('job_last_success_unixtime', 'Last time a batch job successfully finished', registry=r)
g.set(1234567890.5)
c = Counter('records_processed', 'Records processed', ['kind'], registry=r)
c.labels('a').inc(3)
c.labels('b').inc(4)
s = Summary('batch_duration_seconds', 'Duration', registry=r)
s.observe(1.5)
h = Histogram('batch_size', 'Size', buckets=(1, 10, 100), registry=r)
h.observe(5)
push_to_gateway(gw, job='batch', registry=r, grouping_key={'instance': 'host1', 'shard': 'x/y'})
push_to_gateway(gw, job='batch', registry=r, grouping_key={'instance': 'host2'})
r2 = CollectorRegistry()
g2 = Gauge('extra_metric', 'Extra', registry=r2)
g2.set(7)
pushadd_to_gateway(gw, job='batch', registry=r2, grouping_key={'instance': 'host1', 'shard': 'x/y'})
delete_from_gateway(gw, job='batch', grouping_key={'instance': 'host2'})
push_to_gateway(gw, job='other job', registry=r2)
print("ok")
`;

function pushedSeries(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#") && !/^(go_|process_|pushgateway_|python_)/.test(l))
    .map((l) => (/^push_(failure_)?time_seconds/.test(l) ? l.replace(/ [^ ]+$/, (v) => (v === " 0" ? " 0" : " T")) : l))
    .map((l) => l.replace(/(batch_duration_seconds_created|records_processed_created|batch_size_created)(\{[^}]*\}) .*/, "$1$2 C"))
    .sort();
}

describe("Python client", () => {
  let ours: Child | undefined, real: Child | undefined;
  let oursURL = "", realURL = "";
  beforeAll(async () => {
    if (!peerAvailable(pythonClientAvailable() || null, "python3-prometheus-client", "python3-prometheus-client not installed (apt-get install python3-prometheus-client)")) return;
    if (!peerAvailable(realPG, "prometheus-pushgateway", "real Pushgateway not installed")) return;
    const op = freePort(), rp = freePort();
    ours = spawnChild("promts-pushgateway", [PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${op}`]);
    real = spawnChild("pushgateway", [realPG, `--web.listen-address=127.0.0.1:${rp}`, "--persistence.file="]);
    oursURL = `127.0.0.1:${op}`;
    realURL = `127.0.0.1:${rp}`;
    await waitForOK(`http://${oursURL}/-/ready`, ours);
    await waitForOK(`http://${realURL}/-/ready`, real);
  }, 30_000);
  afterAll(stopAll);

  test("push, pushadd and delete with grouping keys give the real Pushgateway's groups", async () => {
    if (!ours || !real) return;
    for (const gw of [oursURL, realURL]) {
      const r = Bun.spawnSync([python, "-c", SCRIPT, gw], { stdout: "pipe", stderr: "pipe" });
      expect(`${r.stdout.toString()}${r.stderr.toString()}`.trim()).toBe("ok");
    }
    const [om, rm] = await Promise.all([fetch(`http://${oursURL}/metrics`).then((r) => r.text()), fetch(`http://${realURL}/metrics`).then((r) => r.text())]);
    const ourSeries = pushedSeries(om);
    expect(ourSeries).toContain('extra_metric{instance="host1",job="batch",shard="x/y"} 7');
    expect(ourSeries).toContain('job_last_success_unixtime{instance="host1",job="batch",shard="x/y"} 1.2345678905e+09');
    expect(ourSeries.some((l) => l.includes('instance="host2"'))).toBe(false);
    // The client quote_plus-encodes path values; a path keeps '+' as it is, as Go's router does.
    expect(ourSeries).toContain('extra_metric{instance="",job="other+job"} 7');
    expect(ourSeries).toEqual(pushedSeries(rm));
  }, 30_000);
});

describe("Prometheus scraping the role", () => {
  let ours: Child | undefined, prom: Child | undefined;
  let promURL = "";
  beforeAll(async () => {
    if (!peerAvailable(prometheus, "prometheus", "real Prometheus not installed (apt-get install prometheus)")) return;
    const op = freePort(), pp = freePort();
    ours = spawnChild("promts-pushgateway", [PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${op}`]);
    await waitForOK(`http://127.0.0.1:${op}/-/ready`, ours);
    const push = await fetch(`http://127.0.0.1:${op}/metrics/job/nightly_backup/instance/db1`, { method: "PUT", body: "# TYPE backup_bytes gauge\nbackup_bytes 123456\n" });
    expect(push.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), "promts-pg-prom-"));
    writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ["127.0.0.1:${op}"]\n`);
    prom = spawnChild("prometheus", [prometheus, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${pp}`]);
    promURL = `http://127.0.0.1:${pp}`;
    await waitForOK(`${promURL}/-/ready`, prom);
  }, 30_000);
  afterAll(stopAll);

  test("honor_labels keeps the pushed job and instance", async () => {
    if (!prom) return;
    const result = await waitUntil("backup_bytes scraped by Prometheus", async () => {
      const r = await fetch(`${promURL}/api/v1/query?query=backup_bytes`).then((x) => x.json() as Promise<any>);
      return r.data.result.length > 0 ? r.data.result : undefined;
    }, 20_000, prom ? [prom] : []);
    expect(result[0].metric).toEqual({ __name__: "backup_bytes", job: "nightly_backup", instance: "db1" });
    expect(result[0].value[1]).toBe("123456");
  }, 30_000);
});

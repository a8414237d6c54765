/**
 * ★ Gap-free queries on an HA pair (prometheus#18073): two clustered
 * promts servers scrape the same target every second; one is stopped for
 * ~15 s and restarted with its data. Over the whole window, its `up` series
 * has no hole (no two neighbouring samples further apart than two scrape
 * intervals), and as many samples as the peer's (no duplicates from the
 * merge); a query entirely before the gap makes no remote read (neither the
 * restarted node's gap-fill counter nor the peer's /api/v1/read counter
 * moves). Every process is stopped by PID.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, type Child } from "../support/processes.ts";
import { requireBinary, waitFor } from "./promts_process.ts";

const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? "1");
const dir = mkdtempSync(join(tmpdir(), "promts-ha-gap-"));
const children: Child[] = [];
const target = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("demo_value 1\n") });

afterAll(async () => {
  for (const c of children) await c.stop();
  target.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

interface Node {
  name: string;
  web: number;
  gossip: number;
  url: string;
  child?: Child;
}

const nodes: Node[] = ["a", "b"].map((name) => {
  const web = freePort();
  return { name, web, gossip: freePort(), url: `http://127.0.0.1:${web}` };
});

writeFileSync(join(dir, "promts.yml"), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: { cluster: ha }
scrape_configs:
  - job_name: t
    static_configs: [{ targets: ["127.0.0.1:${target.port}"] }]
`);

async function start(n: Node): Promise<void> {
  const other = nodes.find((o) => o !== n)!;
  n.child = spawnChild(`promts-${n.name}`, [
    PROMTS_BINARY, `--config.file=${join(dir, "promts.yml")}`, `--storage.tsdb.path=${join(dir, n.name)}`,
    `--web.listen-address=127.0.0.1:${n.web}`,
    `--cluster.listen-address=127.0.0.1:${n.gossip}`, `--cluster.peer-name=${n.name}`, `--cluster.peer=127.0.0.1:${other.gossip}`,
    "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=1s", "--cluster.probe-interval=200ms", "--cluster.probe-timeout=100ms",
    "--cluster.reconnect-interval=500ms",
  ]);
  children.push(n.child);
  await waitForOK(`${n.url}/-/ready`, n.child);
}

/** The raw samples of `expr` (a range selector) at `time` (s), by series. */
async function rawSamples(n: Node, expr: string, time: number): Promise<{ t: number[]; warnings: string[] }> {
  const res = await fetch(`${n.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`);
  const body = (await res.json()) as { status: string; error?: string; warnings?: string[]; data: { result: { values: [number, string][] }[] } };
  if (body.status !== "success") throw new Error(`${expr} on ${n.name}: ${body.error}`);
  expect(body.data.result.length).toBeLessThanOrEqual(1);
  return { t: (body.data.result[0]?.values ?? []).map(([t]) => t), warnings: body.warnings ?? [] };
}

/** The value of one series of a node's /metrics (0 when absent). */
async function metric(n: Node, line: RegExp): Promise<number> {
  const text = await fetch(`${n.url}/metrics`).then((r) => r.text());
  const m = text.split("\n").find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(" ") + 1)) : 0;
}

function maxDelta(ts: number[]): number {
  let max = 0;
  for (let i = 1; i < ts.length; i++) max = Math.max(max, ts[i]! - ts[i - 1]!);
  return max;
}

function minDelta(ts: number[]): number {
  let min = Infinity;
  for (let i = 1; i < ts.length; i++) min = Math.min(min, ts[i]! - ts[i - 1]!);
  return min;
}

const UP = 'up{job="t"}';

test("a restarted node answers over its downtime from its live peer, without holes or duplicates", async () => {
  requireBinary();
  await Promise.all(nodes.map(start));
  const [a, b] = nodes as [Node, Node];
  // Both scrape, and each knows the other as a member.
  await waitFor("both nodes to have 4 s of samples", async () => {
    const now = Date.now() / 1000;
    const [sa, sb] = await Promise.all([rawSamples(a, `${UP}[10s]`, now), rawSamples(b, `${UP}[10s]`, now)]);
    return sa.t.length >= 4 && sb.t.length >= 4;
  }, 20_000 * SLACK);
  const before = Date.now() / 1000;
  await waitFor("a to see b in the cluster", async () => (await metric(a, /^alertmanager_cluster_members /)) === 2, 15_000 * SLACK);

  await a.child!.stop();
  const stoppedAt = Date.now() / 1000;
  await Bun.sleep(15_000); // the downtime under test
  await start(a);
  const restartedAt = Date.now() / 1000;
  await waitFor("a to see b again", async () => (await metric(a, /^alertmanager_cluster_members /)) === 2, 15_000 * SLACK);
  // Scraping again for a few intervals.
  await waitFor("a to have 4 s of samples after its restart", async () => {
    const s = await rawSamples(a, `${UP}[${Math.ceil(Date.now() / 1000 - restartedAt)}s]`, Date.now() / 1000);
    return s.t.filter((t) => t > restartedAt).length >= 4;
  }, 20_000 * SLACK);

  const at = Date.now() / 1000 - 1;
  const range = `${Math.floor(at - before + 10)}s`;
  const [sa, sb] = await Promise.all([rawSamples(a, `${UP}[${range}]`, at), rawSamples(b, `${UP}[${range}]`, at)]);
  expect(sa.warnings).toEqual([]);
  // Without the peer, a's series has a hole of the whole downtime.
  const localOnly = sa.t.filter((t) => t < stoppedAt || t > restartedAt);
  expect(maxDelta(localOnly)).toBeGreaterThan(10);
  // With it: no hole longer than two scrape intervals, no interval counted twice.
  expect(maxDelta(sa.t)).toBeLessThanOrEqual(2.05);
  expect(minDelta(sa.t)).toBeGreaterThanOrEqual(0.7);
  expect(Math.abs(sa.t.length - sb.t.length)).toBeLessThanOrEqual(2);
  expect(await metric(a, /^promts_ha_gap_fill_reads_total\{result="success"\}/)).toBeGreaterThan(0);

  // A query entirely before the gap stays local: no remote read from a, none served by b.
  const readsA = await metric(a, /^promts_ha_gap_fill_reads_total\{result="success"\}/);
  const servedB = await metric(b, /^prometheus_http_requests_total\{code="(200|204)",handler="\/api\/v1\/read"\}/);
  const pre = sa.t.filter((t) => t < stoppedAt);
  expect(pre.length).toBeGreaterThanOrEqual(4);
  // [pre[0], pre[2]] lies before the last sample a stored before it stopped, where its gap starts.
  const early = await rawSamples(a, `${UP}[1500ms]`, pre[2]! + 0.001);
  expect(early.t.length).toBeGreaterThanOrEqual(1);
  expect(await metric(a, /^promts_ha_gap_fill_reads_total\{result="success"\}/)).toBe(readsA);
  expect(await metric(b, /^prometheus_http_requests_total\{code="(200|204)",handler="\/api\/v1\/read"\}/)).toBe(servedB);
  expect(servedB).toBeGreaterThan(0);
}, 90_000);

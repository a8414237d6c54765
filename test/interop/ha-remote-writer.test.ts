/**
 * ★ One remote writer per HA pair, into a real Prometheus 2.42 receiver
 * (--web.enable-remote-write-receiver): two clustered promts servers with
 * the same configuration and external labels scrape the same target every
 * second and remote-write to the receiver. Only the elected node sends
 * (promts_remote_write_elected); the elected node is killed (SIGKILL) mid-run,
 * the other takes over; the killed node is restarted and takes the role
 * back (lower name) once it has scraped. Across all of it, the receiver's
 * series have no hole longer than two scrape intervals and no interval
 * written by both nodes. Skips loudly
 * without the peer unless PROMTS_REQUIRE_PEERS=1; every process is stopped
 * by PID.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, waitFor } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, type Child } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? "1");
const SERIES = 5;
const dir = mkdtempSync(join(tmpdir(), "promts-ha-rw-"));
const children: Child[] = [];
const target = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response(Array.from({ length: SERIES }, (_, i) => `demo_value{i="${i}"} ${i}\n`).join("")),
});

afterAll(async () => {
  for (const c of children) await c.stop();
  target.stop(true);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Node {
  name: string;
  web: number;
  gossip: number;
  url: string;
  child?: Child;
}

/** The value of one line of a node's /metrics (undefined when absent). */
async function metric(n: Node, line: RegExp): Promise<number | undefined> {
  const text = await fetch(`${n.url}/metrics`).then((r) => r.text());
  const m = text.split("\n").find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(" ") + 1)) : undefined;
}

const ELECTED = /^promts_remote_write_elected\{/;
const SENT = /^prometheus_remote_storage_samples_total\{/;

/** Every series of `expr` (a range selector) at the receiver, as sample timestamps in s. */
async function receiverSeries(base: string, expr: string, time: number): Promise<Map<string, number[]>> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return new Map(body.data.result.map((r) => [JSON.stringify(r.metric), r.values.map(([t]) => t)]));
}

test("the cluster elects one remote writer; after it is killed the other takes over with no hole and no duplicate", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (HA remote writer interop)")) return;
  requireBinary();
  const promAddress = `127.0.0.1:${freePort()}`;
  writeFileSync(join(dir, "prometheus.yml"), "global:\n  scrape_interval: 1h\n");
  const receiver = spawnChild("prometheus", [
    prometheusBinary!, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`,
    `--web.listen-address=${promAddress}`, "--web.enable-remote-write-receiver", "--log.level=warn",
  ], dir);
  children.push(receiver);
  await waitForOK(`http://${promAddress}/-/ready`, receiver, 30_000);

  writeFileSync(join(dir, "promts.yml"), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: { cluster: ha }
scrape_configs:
  - job_name: t
    static_configs: [{ targets: ["127.0.0.1:${target.port}"] }]
remote_write:
  - url: http://${promAddress}/api/v1/write
    name: out
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
`);
  const nodes: Node[] = ["a", "b"].map((name) => {
    const web = freePort();
    return { name, web, gossip: freePort(), url: `http://127.0.0.1:${web}` };
  });
  const start = async (n: Node) => {
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
  };
  await Promise.all(nodes.map(start));
  const [a, b] = nodes as [Node, Node];

  // "a" has the lower name: it writes, "b" stands by and sends nothing.
  await waitFor("a elected, b standing by", async () => (await metric(a, ELECTED)) === 1 && (await metric(b, ELECTED)) === 0, 20_000 * SLACK);
  const runStart = Date.now() / 1000;
  await waitFor("8 s of samples at the receiver", async () => {
    const s = await receiverSeries(`http://${promAddress}`, 'up{job="t"}[20s]', Date.now() / 1000);
    return (s.values().next().value?.length ?? 0) >= 8;
  }, 30_000 * SLACK);
  expect((await metric(a, SENT)) ?? 0).toBeGreaterThan(0);
  expect(await metric(b, SENT)).toBe(0);
  expect(b.child!.stderr()).toContain("Another node is the remote writer");

  // Kill the writer; b takes over within peer death detection + the takeover grace.
  a.child!.signal("SIGKILL");
  const killedAt = Date.now() / 1000;
  await waitFor("b elected", async () => (await metric(b, ELECTED)) === 1, 20_000 * SLACK);
  const tookOverIn = Date.now() / 1000 - killedAt;
  await waitFor("b sending", async () => ((await metric(b, SENT)) ?? 0) > 0, 20_000 * SLACK);
  expect(b.child!.stderr()).toContain("Remote writer takes over");
  // Eight more seconds of b's samples.
  const until = Date.now() / 1000 + 8;
  await waitFor("8 s of samples after the takeover", async () => {
    const s = await receiverSeries(`http://${promAddress}`, 'up{job="t"}[5s]', Date.now() / 1000);
    return Date.now() / 1000 >= until && (s.values().next().value ?? []).some((t: number) => t > until - 2);
  }, 30_000 * SLACK);

  // a comes back with its data: once it has scraped, it takes the role back (lower name); b hands over.
  await start(a);
  const restartedAt = Date.now() / 1000;
  await waitFor("a elected again, b standing by", async () => (await metric(a, ELECTED)) === 1 && (await metric(b, ELECTED)) === 0, 30_000 * SLACK);
  await waitFor("a sending again", async () => ((await metric(a, SENT)) ?? 0) > 0, 20_000 * SLACK);
  const backAt = Date.now() / 1000;
  await waitFor("8 s of samples after the handback", async () => {
    const s = await receiverSeries(`http://${promAddress}`, 'up{job="t"}[5s]', Date.now() / 1000);
    return Date.now() / 1000 >= backAt + 8 && (s.values().next().value ?? []).some((t: number) => t > backAt + 6);
  }, 30_000 * SLACK);
  expect(a.child!.stderr()).toContain("Remote writer takes over");

  const at = Date.now() / 1000 - 2;
  const range = `${Math.ceil(at - runStart + 5)}s`;
  for (const expr of [`up{job="t"}[${range}]`, `demo_value{job="t"}[${range}]`]) {
    const series = await receiverSeries(`http://${promAddress}`, expr, at);
    expect(series.size).toBe(expr.startsWith("up") ? 1 : SERIES);
    for (const [key, ts] of series) {
      // One series from both nodes (same labels), running across the kill.
      expect(JSON.parse(key).cluster).toBe("ha");
      expect(ts[0]!).toBeLessThan(killedAt - 3);
      expect(ts[ts.length - 1]!).toBeGreaterThan(backAt + 3);
      expect(ts.some((t) => t > killedAt + tookOverIn && t < restartedAt)).toBe(true);
      // No hole longer than two scrape intervals (+100 ms of scrape jitter); no interval from both nodes.
      const bad: string[] = [];
      for (let i = 1; i < ts.length; i++) {
        const d = ts[i]! - ts[i - 1]!;
        if (d > 2.1 || d < 0.7) bad.push(`${d.toFixed(3)} s between samples at kill${(ts[i - 1]! - killedAt).toFixed(2)} and kill${(ts[i]! - killedAt).toFixed(2)} (restart at kill+${(restartedAt - killedAt).toFixed(2)})`);
      }
      if (bad.length > 0) console.log(`killedAt=${new Date(killedAt * 1000).toISOString()}\n` + [a, b].map((n) => n.child!.stderr().split("\n").filter((l) => /writer|Elected|cluster msg/.test(l)).join("\n")).join("\n----\n"));
      expect({ key, bad }).toEqual({ key, bad: [] });
    }
  }
  console.log(`HA remote writer: takeover ${tookOverIn.toFixed(1)} s after the kill; handback ${(backAt - restartedAt).toFixed(1)} s after the restart`);
}, 120_000);

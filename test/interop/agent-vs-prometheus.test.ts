/**
 * Agent mode side by side with a real Prometheus 2.42 agent
 * (--enable-feature=agent): both scrape the same target and remote-write
 * into a real Prometheus receiver. The agents' HTTP answers (the refused
 * query, rules and admin APIs, federation, readiness) must be the same, the
 * same config sections are refused, and every sample promts scraped must
 * arrive (the same number of `up` samples per second of scraping as the
 * real agent's, and nothing but a WAL on disk). Skips loudly without
 * Prometheus unless PROMTS_REQUIRE_PEERS=1; processes stopped by PID.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
let dir = "";

afterAll(async () => {
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function answer(url: string, method = "GET"): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.text() };
}

test("promts --agent answers, refuses and forwards as Prometheus's agent", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (agent interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-agent-interop-"));
  const recvAddr = `127.0.0.1:${freePort()}`;
  writeFileSync(join(dir, "recv.yml"), "global:\n  scrape_interval: 1h\n");
  const recv = spawnChild("receiver", [prometheusBinary!, `--config.file=${join(dir, "recv.yml")}`, `--storage.tsdb.path=${join(dir, "recv")}`,
    `--web.listen-address=${recvAddr}`, "--web.enable-remote-write-receiver", "--log.level=warn"], dir);
  await waitForOK(`http://${recvAddr}/-/ready`, recv, 30_000);

  const theirPort = freePort(), ourPort = freePort();
  const config = (agent: string, port: number) => `global:
  scrape_interval: 1s
  external_labels:
    agent: ${agent}
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ["127.0.0.1:${port}"]
remote_write:
  - url: http://${recvAddr}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
`;
  writeFileSync(join(dir, "theirs.yml"), config("prometheus", theirPort));
  writeFileSync(join(dir, "ours.yml"), config("promts", ourPort));
  const theirs = spawnChild("prometheus-agent", [prometheusBinary!, "--enable-feature=agent", `--config.file=${join(dir, "theirs.yml")}`,
    `--storage.agent.path=${join(dir, "theirs")}`, `--web.listen-address=127.0.0.1:${theirPort}`, "--web.enable-admin-api", "--log.level=warn"], dir);
  const ours = spawnChild("promts-agent", [PROMTS_BINARY, "--agent", `--config.file=${join(dir, "ours.yml")}`,
    `--storage.agent.path=${join(dir, "ours")}`, `--web.listen-address=127.0.0.1:${ourPort}`, "--web.enable-admin-api"], dir);
  await waitForOK(`http://127.0.0.1:${theirPort}/-/ready`, theirs, 30_000);
  await waitForOK(`http://127.0.0.1:${ourPort}/-/ready`, ours, 30_000);
  const started = Date.now();

  // The same answers, status and body.
  const gets = ["/api/v1/query?query=up", "/api/v1/query_range?query=up&start=1&end=2&step=1", "/api/v1/labels", "/api/v1/label/job/values",
    "/api/v1/series?match[]=up", "/api/v1/status/tsdb", "/api/v1/rules", "/api/v1/alerts", "/api/v1/alertmanagers",
    "/api/v1/query_exemplars?query=up", "/federate?match[]=up", "/-/ready", "/-/healthy"];
  const posts = ["/api/v1/query?query=up", "/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series?match[]=up", "/api/v1/admin/tsdb/clean_tombstones"];
  for (const [method, paths] of [["GET", gets], ["POST", posts]] as const) {
    for (const path of paths) {
      const [a, b] = await Promise.all([answer(`http://127.0.0.1:${theirPort}${path}`, method), answer(`http://127.0.0.1:${ourPort}${path}`, method)]);
      expect({ method, path, status: b.status, body: b.body.trim() }).toEqual({ method, path, status: a.status, body: a.body.trim() });
    }
  }
  expect((await answer(`http://127.0.0.1:${ourPort}/api/v1/targets`)).status).toBe(200);

  // The same config sections are refused.
  for (const [name, body] of [["rules", "rule_files: [x.yml]\n"], ["read", "remote_read:\n  - url: http://127.0.0.1:1/\n"], ["alerting", "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: [a:1]\n"]]) {
    writeFileSync(join(dir, `bad-${name}.yml`), body);
    const run = Bun.spawnSync([PROMTS_BINARY, "--agent", `--config.file=${join(dir, `bad-${name}.yml`)}`, `--storage.agent.path=${join(dir, `bad-${name}`)}`, `--web.listen-address=127.0.0.1:${freePort()}`]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr.toString()).toContain(`field ${name === "rules" ? "rule_files" : name === "read" ? "remote_read" : "alerting"} is not allowed in agent mode`);
  }
  const conflict = Bun.spawnSync([PROMTS_BINARY, "--agent", "--storage.tsdb.path=x", "--query.timeout=1m", `--config.file=${join(dir, "ours.yml")}`]);
  expect(conflict.exitCode).toBe(3);
  expect(conflict.stderr.toString()).toContain('The following flag(s) can not be used in agent mode: ["--storage.tsdb.path" "--query.timeout"]');

  // Both forward: after ~10 s of scraping, the receiver has each agent's up samples.
  const count = async (agent: string): Promise<number> => {
    const q = new URLSearchParams({ query: `count_over_time(up{agent="${agent}"}[5m])` });
    const body = (await (await fetch(`http://${recvAddr}/api/v1/query?${q}`)).json()) as { data: { result: { value: [number, string] }[] } };
    return Number(body.data.result[0]?.value[1] ?? 0);
  };
  await waitUntil("10 up samples from the promts agent at the receiver", async () => (await count("promts")) >= 10, 60_000, [ours, recv]);
  const elapsed = (Date.now() - started) / 1000;
  const ourCount = await count("promts");
  const theirCount = await count("prometheus");
  // One scrape a second each, for the same time (up to a few seconds of startup and send delay).
  expect(ourCount).toBeGreaterThanOrEqual(theirCount - 4);
  expect(ourCount).toBeLessThanOrEqual(elapsed + 3);
  const values = (await (await fetch(`http://${recvAddr}/api/v1/query?${new URLSearchParams({ query: 'min_over_time(up{agent="promts"}[5m])' })}`)).json()) as { data: { result: { value: [number, string] }[] } };
  expect(values.data.result[0]!.value[1]).toBe("1");

  // A WAL and nothing else: no blocks, no chunks_head.
  expect(readdirSync(join(dir, "ours")).sort()).toEqual(["lock", "remote_write", "wal"]);
  expect(existsSync(join(dir, "ours", "wal", "00000000"))).toBe(true);
  expect(await ours.stop()).toBe(0);
  await theirs.stop();
  await recv.stop();
}, 180_000);

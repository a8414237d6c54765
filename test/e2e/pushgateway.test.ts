/**
 * `promts pushgateway` as a process: persistence across SIGTERM (nothing
 * lost) and SIGKILL (at most the last --persistence.interval lost), a corrupt
 * persistence file refused with its name, group expiry with --push.group-ttl,
 * and bad bodies (over the size limit, a gzip bomb) refused with nothing stored.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil } from "../support/processes.ts";

afterEach(stopAll);

function start(args: string[]) {
  const port = freePort();
  const child = spawnChild("promts-pushgateway", [PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${port}`, ...args]);
  return { child, url: `http://127.0.0.1:${port}` };
}

async function push(url: string, path: string, body: string | Uint8Array, method = "PUT", headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(url + path, { method, body: body as BodyInit, headers });
  await r.arrayBuffer();
  return r.status;
}

async function series(url: string): Promise<string[]> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !/^(process_|pushgateway_|push_)/.test(l)).sort();
}

describe("persistence", () => {
  test("after SIGTERM every group is back", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "promts-pg-")), "pg.json");
    let gw = start([`--persistence.file=${file}`, "--persistence.interval=1h"]);
    await waitForOK(`${gw.url}/-/ready`, gw.child);
    expect(await push(gw.url, "/metrics/job/a/instance/x", "m_one 1\nm_nan NaN\n")).toBe(200);
    expect(await push(gw.url, "/metrics/job/b", "# TYPE s summary\ns{quantile=\"0.5\"} 2\ns_sum 4\ns_count 2\n")).toBe(200);
    const before = await series(gw.url);
    expect(before.length).toBe(5);
    expect(await gw.child.stop()).toBe(0);
    gw = start([`--persistence.file=${file}`, "--persistence.interval=1h"]);
    await waitForOK(`${gw.url}/-/ready`, gw.child);
    expect(await series(gw.url)).toEqual(before);
  }, 30_000);

  test("after SIGKILL at most the last interval is lost", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "promts-pg-")), "pg.json");
    let gw = start([`--persistence.file=${file}`, "--persistence.interval=200ms"]);
    await waitForOK(`${gw.url}/-/ready`, gw.child);
    expect(await push(gw.url, "/metrics/job/k", "kept 1\n")).toBe(200);
    // Wait until the interval has written the push, then kill without a chance to flush.
    await waitUntil("persistence file holds the push", () => {
      try {
        return readFileSync(file, "utf8").includes("kept") || undefined;
      } catch {
        return undefined;
      }
    }, 10_000);
    gw.child.signal("SIGKILL");
    await gw.child.stop();
    gw = start([`--persistence.file=${file}`]);
    await waitForOK(`${gw.url}/-/ready`, gw.child);
    expect(await series(gw.url)).toEqual(['kept{instance="",job="k"} 1']);
  }, 30_000);

  test("a corrupt persistence file is refused with its name", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "promts-pg-")), "pg.json");
    writeFileSync(file, "{not json");
    const gw = start([`--persistence.file=${file}`]);
    await waitUntil("the role exits", () => gw.child.exited() || undefined, 10_000);
    expect(await gw.child.stop()).toBe(1);
    expect(gw.child.stderr() + gw.child.stdout()).toContain(file);
    expect(readFileSync(file, "utf8")).toBe("{not json"); // left as it was
  }, 30_000);
});

test("--push.group-ttl drops groups not pushed to for longer than the TTL", async () => {
  const gw = start(["--push.group-ttl=1s"]);
  await waitForOK(`${gw.url}/-/ready`, gw.child);
  expect(await push(gw.url, "/metrics/job/old", "old_metric 1\n")).toBe(200);
  expect(await series(gw.url)).toEqual(['old_metric{instance="",job="old"} 1']);
  // Keep pushing to one group while the other ages out: each poll pushes, then looks.
  await waitUntil("old group expired while the fresh one stays", async () => {
    expect(await push(gw.url, "/metrics/job/fresh", "fresh_metric 1\n")).toBe(200);
    const s = await series(gw.url);
    return !s.some((l) => l.startsWith("old_metric")) ? s : undefined;
  }, 10_000);
  expect(await series(gw.url)).toEqual(['fresh_metric{instance="",job="fresh"} 1']);
  const api = await fetch(`${gw.url}/api/v1/metrics`).then((r) => r.json() as Promise<any>);
  expect(api.data.map((g: any) => g.labels.job)).toEqual(["fresh"]);
}, 30_000);

test("bodies over the size limit and gzip bombs get 400 and store nothing", async () => {
  const gw = start([]);
  await waitForOK(`${gw.url}/-/ready`, gw.child);
  const huge = "x 1\n".repeat((65 << 20) / 4);
  expect(await push(gw.url, "/metrics/job/huge", huge)).toBe(400);
  const bomb = gzipSync(Buffer.alloc(200 << 20, "a"));
  expect(await push(gw.url, "/metrics/job/bomb", bomb, "PUT", { "content-encoding": "gzip" })).toBe(400);
  expect(await push(gw.url, "/metrics/job/badgz", new Uint8Array([0x1f, 0x8b, 1, 2, 3]), "PUT", { "content-encoding": "gzip" })).toBe(400);
  const api = await fetch(`${gw.url}/api/v1/metrics`).then((r) => r.json() as Promise<any>);
  expect(api.data).toEqual([]);
  expect(await fetch(`${gw.url}/-/healthy`).then((r) => r.status)).toBe(200);
}, 60_000);

test("the server serves the Pushgateway with --pushgateway.enable and scrapes it with honor_labels", async () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-pg-server-"));
  const port = freePort();
  writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    metrics_path: /pushgateway/metrics\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`);
  const args = [PROMTS_BINARY, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--pushgateway.enable"];
  let p = spawnChild("promts", args);
  const url = `http://127.0.0.1:${port}`;
  await waitForOK(`${url}/-/ready`, p);
  expect(await push(url, "/metrics/job/backup/instance/db1", "# TYPE backup_ok gauge\nbackup_ok 1\n")).toBe(200);
  expect(await push(url, "/pushgateway/metrics/job/other", "other_metric 2\n")).toBe(200);
  expect(await push(url, "/metrics/job/bad", "a 1\na 1\n")).toBe(400);
  // The server's own /metrics is untouched; the groups are on /pushgateway/metrics.
  expect(await fetch(`${url}/metrics`).then((r) => r.text())).not.toContain("backup_ok");
  expect(await series(`${url}/pushgateway`)).toEqual(['backup_ok{instance="db1",job="backup"} 1', 'other_metric{instance="",job="other"} 2']);
  const stored = await waitUntil("the pushed group scraped with its own job and instance", async () => {
    const r = (await fetch(`${url}/api/v1/query?query=backup_ok`).then((x) => x.json())) as any;
    return r.data?.result?.length ? r.data.result : undefined;
  }, 20_000, [p]);
  expect(stored[0].metric).toEqual({ __name__: "backup_ok", job: "backup", instance: "db1" });
  // Groups persist in the data directory across a restart.
  expect(await p.stop()).toBe(0);
  p = spawnChild("promts", args);
  await waitForOK(`${url}/-/ready`, p);
  expect(await series(`${url}/pushgateway`)).toEqual(['backup_ok{instance="db1",job="backup"} 1', 'other_metric{instance="",job="other"} 2']);
}, 60_000);

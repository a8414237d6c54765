/**
 * Disk full, at the filesystem level: promts stores its data on a 20 MB
 * tmpfs and scrapes itself every second. The disk is filled, then freed;
 * the process is killed with SIGKILL and restarted. Every sample stored after
 * the space came back is there, the server answered queries and /-/ready
 * throughout, and the failure showed in prometheus_tsdb_wal_writes_failed_total.
 *
 * Mounting needs root; without it the test skips loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, type Child } from "../support/processes.ts";

let mountDir = "";

function tryMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  mountDir = mkdtempSync(join(tmpdir(), "promts-diskfull-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", mountDir], { stdout: "ignore", stderr: "pipe" });
  return r.exitCode === 0;
}

let mounted = false;
beforeAll(() => {
  mounted = tryMount();
  if (!mounted) console.warn("\n*** SKIPPED: disk-full test needs root to mount a tmpfs ***\n");
});
afterAll(async () => {
  await stopAll();
  if (mounted) Bun.spawnSync(["umount", "-l", mountDir]);
  if (mountDir) rmSync(mountDir, { recursive: true, force: true });
});

/** Fills the filesystem until write fails with ENOSPC. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = new Uint8Array(1 << 20).fill(7);
  try {
    for (let i = 0; i < 100; i++) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  // Top up the last bytes.
  const small = new Uint8Array(512);
  const fd2 = openSync(`${file}.2`, "w");
  try {
    for (let i = 0; i < 10_000; i++) writeSync(fd2, small);
  } catch {
    // full
  } finally {
    closeSync(fd2);
  }
}

async function upSamples(url: string): Promise<number[]> {
  const r = (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="self"}[10m]')}`).then((x) => x.json())) as any;
  const s = r.data?.result?.[0];
  return s ? s.values.map((v: [number, string]) => Math.round(v[0] * 1000)) : [];
}

async function metric(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

test("samples stored after a full disk is freed survive kill -9", async () => {
  if (!mounted) return;
  const data = join(mountDir, "data");
  mkdirSync(data);
  const port = freePort();
  const cfg = join(mountDir, "..", `promts-diskfull-${port}.yml`);
  writeFileSync(cfg, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`);
  const args = [PROMTS_BINARY, `--config.file=${cfg}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`];
  const url = `http://127.0.0.1:${port}`;
  let p: Child = spawnChild("promts", args);
  try {
    await waitForOK(`${url}/-/ready`, p);
    await waitUntil("a few scrapes stored", async () => ((await upSamples(url)).length >= 3 ? true : undefined), 20_000, [p]);

    fillDisk(join(mountDir, "fill"));
    await waitUntil("a WAL write failed", async () => ((await metric(url, "prometheus_tsdb_wal_writes_failed_total")) > 0 ? true : undefined), 20_000, [p]);
    // While full: ready, answering queries from memory, and no up=0 stored for a target that is up.
    expect((await fetch(`${url}/-/ready`)).status).toBe(200);
    const during = await upSamples(url);
    expect(during.length).toBeGreaterThanOrEqual(3);
    const r = (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('min_over_time(up{job="self"}[10m])')}`).then((x) => x.json())) as any;
    expect(r.data.result[0].value[1]).toBe("1");

    rmSync(join(mountDir, "fill"));
    rmSync(join(mountDir, "fill.2"), { force: true });
    const freedAt = Date.now();
    const after = await waitUntil("8 samples stored after the space came back", async () => {
      const ts = (await upSamples(url)).filter((t) => t > freedAt + 1000);
      return ts.length >= 8 ? ts : undefined;
    }, 30_000, [p]);

    p.signal("SIGKILL");
    await p.stop();
    p = spawnChild("promts", args);
    await waitForOK(`${url}/-/ready`, p, 60_000);
    const back = await upSamples(url);
    for (const t of after) expect(back).toContain(t);
  } finally {
    await p.stop();
    rmSync(cfg, { force: true });
  }
}, 120_000);

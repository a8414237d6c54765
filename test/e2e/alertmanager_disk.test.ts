/**
 * The Alertmanager role with its `--storage.path` on a 1 MB tmpfs that turns
 * read-only, then full: silences posted meanwhile answer 200 (as
 * Alertmanager 0.25, which snapshots later), the previous snapshot stays
 * intact, the failures are counted; once the disk is writable again the
 * snapshot catches up, and after kill -9 and a restart every acknowledged
 * silence is there.
 *
 * Mounting needs root; without it the test skips loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, waitUntil, type Child } from "../support/processes.ts";

let mountDir = "";
let mounted = false;
const configDir = mkdtempSync(join(tmpdir(), "promts-am-disk-cfg-"));

beforeAll(() => {
  if (process.getuid?.() === 0) {
    mountDir = mkdtempSync(join(tmpdir(), "promts-am-disk-"));
    mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountDir], { stdout: "ignore", stderr: "pipe" }).exitCode === 0;
  }
  if (!mounted) console.warn("\n*** SKIPPED: Alertmanager disk-failure test needs root to mount a tmpfs ***\n");
});
afterAll(async () => {
  await stopAll();
  if (mounted) Bun.spawnSync(["umount", "-l", mountDir]);
  if (mountDir) rmSync(mountDir, { recursive: true, force: true });
  rmSync(configDir, { recursive: true, force: true });
});

function remount(mode: "ro" | "rw"): void {
  const r = Bun.spawnSync(["mount", "-o", `remount,${mode}`, mountDir], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`remount ${mode}: ${r.stderr.toString()}`);
}

/** Fills the filesystem until a write fails with ENOSPC. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = new Uint8Array(4096).fill(7);
  try {
    for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
}

async function postSilence(url: string, value: string): Promise<number> {
  const now = Date.now();
  const res = await fetch(`${url}/api/v2/silences`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      matchers: [{ name: "alertname", value, isRegex: false }],
      startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), createdBy: "e2e", comment: "disk",
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function silenceValues(url: string): Promise<string[]> {
  const list = (await fetch(`${url}/api/v2/silences`).then((r) => r.json())) as { matchers: { value: string }[] }[];
  return list.map((s) => s.matchers[0]!.value).sort();
}

async function metric(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

function snapshotValues(file: string): string[] {
  const list = JSON.parse(readFileSync(file, "utf8")) as { matchers: { value: string }[] }[];
  return list.map((s) => s.matchers[0]!.value).sort();
}

test("silences acknowledged while the disk is read-only or full survive kill -9 once it is writable", async () => {
  if (!mounted) return;
  const storage = join(mountDir, "am");
  const config = join(configDir, "am.yml");
  writeFileSync(config, "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n");
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [PROMTS_BINARY, "alertmanager", `--config.file=${config}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="];
  let am: Child = spawnChild("alertmanager", args);
  try {
    await waitForOK(`${url}/-/ready`, am);
    const file = join(storage, "silences");
    expect(await postSilence(url, "before")).toBe(200);
    expect(snapshotValues(file)).toEqual(["before"]);

    remount("ro");
    expect(await postSilence(url, "read-only")).toBe(200);
    expect(await silenceValues(url)).toEqual(["before", "read-only"]);
    expect(await metric(url, "alertmanager_silences_maintenance_errors_total")).toBeGreaterThanOrEqual(1);
    expect(snapshotValues(file)).toEqual(["before"]);
    expect(am.stderr()).toContain("Writing silences snapshot failed");
    remount("rw");
    await waitUntil("the snapshot written once the disk is writable", () => snapshotValues(file).length === 2, 20_000, [am]);

    const errors = await metric(url, "alertmanager_silences_maintenance_errors_total");
    fillDisk(join(mountDir, "fill"));
    expect(await postSilence(url, "full")).toBe(200);
    expect(await metric(url, "alertmanager_silences_maintenance_errors_total")).toBeGreaterThan(errors);
    expect(snapshotValues(file)).toEqual(["before", "read-only"]);
    rmSync(join(mountDir, "fill"));
    await waitUntil("the snapshot written once space is back", () => snapshotValues(file).length === 3, 30_000, [am]);

    am.signal("SIGKILL");
    await am.stop();
    am = spawnChild("alertmanager", args);
    await waitForOK(`${url}/-/ready`, am);
    expect(await silenceValues(url)).toEqual(["before", "full", "read-only"]);
  } finally {
    await am.stop();
  }
}, 90_000);

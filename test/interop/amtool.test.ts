/**
 * Interop with the real amtool (Debian's /usr/bin/amtool, 0.25): it creates,
 * lists and expires silences and lists alerts through `promts
 * alertmanager`'s API v2, and its check-config agrees with promts's.
 * Without amtool the tests pass with a loud SKIPPED message, unless
 * PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, type Child } from "../support/processes.ts";
import { peerAvailable } from "../support/peers.ts";

const amtool = Bun.which("amtool");

function available(): boolean {
  return peerAvailable(amtool, "amtool", "amtool not installed (apt-get install prometheus-alertmanager)");
}

/** Each test starts processes and polls them; generous for a loaded 2-core machine. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;

let dir = "";
beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\``);
  dir = mkdtempSync(join(tmpdir(), "promts-amtool-"));
});
afterEach(stopAll);
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const CONFIG = `route:
  receiver: nowhere
  group_by: [alertname]
receivers:
  - name: nowhere
`;

async function startAlertmanager(): Promise<{ child: Child; url: string }> {
  const configPath = join(dir, "alertmanager.yml");
  writeFileSync(configPath, CONFIG);
  const port = freePort();
  const child = spawnChild("alertmanager", [
    PROMTS_BINARY, "alertmanager", `--config.file=${configPath}`, `--storage.path=${join(dir, `data-${port}`)}`,
    `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitForOK(`${url}/-/ready`, child);
  return { child, url };
}

/** Runs amtool; stderr carries its version-mismatch warning, so only failures look at it. */
function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([amtool!, ...args], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function ok(args: string[]): string {
  const r = run(args);
  if (r.code !== 0) throw new Error(`amtool ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface AmtoolSilence {
  id: string;
  status: { state: string };
  createdBy: string;
  comment: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
}

describe("amtool against promts alertmanager", () => {
  test("silence add, query (json, quiet, table) and expire", async () => {
    if (!available()) return;
    const { url } = await startAlertmanager();
    const flag = `--alertmanager.url=${url}`;
    const id = ok([flag, "silence", "add", "alertname=x", 'job=~"a|b"', "--comment=c", "--author=a"]).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const listed = JSON.parse(ok([flag, "silence", "query", "-o", "json"])) as AmtoolSilence[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id, status: { state: "active" }, createdBy: "a", comment: "c",
      matchers: [
        { name: "alertname", value: "x", isRegex: false, isEqual: true },
        { name: "job", value: "a|b", isRegex: true, isEqual: true },
      ],
    });
    expect(ok([flag, "silence", "query", "-q"])).toBe(`${id}\n`);
    const table = ok([flag, "silence", "query"]).split("\n");
    expect(table[1]).toStartWith(`${id}  alertname="x" job=~"a|b"  `);

    const updated = ok([flag, "silence", "update", id, "--comment=longer"]).split("\n");
    expect(updated[1]).toStartWith(`${id}  `);
    expect((JSON.parse(ok([flag, "silence", "query", "-o", "json"])) as AmtoolSilence[])[0]!.comment).toBe("longer");

    expect(run([flag, "silence", "expire", id]).code).toBe(0);
    expect(ok([flag, "silence", "query", "-q"])).toBe("");
    expect(ok([flag, "silence", "query", "--expired", "-q"])).toBe(`${id}\n`);
    const state = await (await fetch(`${url}/api/v2/silence/${id}`)).json() as AmtoolSilence;
    expect(state.status.state).toBe("expired");
  }, PROCESS_TEST_TIMEOUT_MS);

  test("alert add and alert query", async () => {
    if (!available()) return;
    const { url } = await startAlertmanager();
    const flag = `--alertmanager.url=${url}`;
    ok([flag, "alert", "add", "DiskFull", "instance=a", "--annotation=summary=disk is full"]);
    const rows = ok([flag, "alert", "query"]).split("\n");
    expect(rows[0]).toMatch(/^Alertname +Starts At +Summary +State/);
    expect(rows[1]).toMatch(/^DiskFull +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +disk is full +active/);
    const json = JSON.parse(ok([flag, "alert", "query", "-o", "json"])) as { labels: Record<string, string>; receivers: { name: string }[] }[];
    expect(json[0]).toMatchObject({ labels: { alertname: "DiskFull", instance: "a" }, receivers: [{ name: "nowhere" }] });
    const id = ok([flag, "silence", "add", "DiskFull", "--comment=quiet"]).trim();
    expect(ok([flag, "alert", "query"]).split("\n").filter((l) => l.startsWith("DiskFull"))).toEqual([]);
    const silenced = JSON.parse(ok([flag, "alert", "query", "--silenced", "-o", "json"])) as { status: { silencedBy: string[] } }[];
    expect(silenced[0]!.status.silencedBy).toEqual([id]);
  }, PROCESS_TEST_TIMEOUT_MS);

  test("check-config output matches promts tool check-config", () => {
    if (!available()) return;
    const good = join(dir, "check.yml");
    writeFileSync(good, CONFIG);
    const theirs = run(["check-config", good]);
    const ours = Bun.spawnSync([PROMTS_BINARY, "tool", "check-config", good], { stdout: "pipe", stderr: "pipe" });
    expect(theirs.code).toBe(0);
    expect(ours.exitCode).toBe(0);
    expect(ours.stdout.toString()).toBe(theirs.stdout);
  }, PROCESS_TEST_TIMEOUT_MS);
});

/**
 * The cli pieces around the API, in process: amtool-style parsing and
 * tables (src/cli/amtool.ts), the webhook logger (src/cli/webhook_logger.ts)
 * and the Alertmanager role's start, reload and stop
 * (src/server/alertmanager.ts), on 127.0.0.1 with free ports.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GettableAlert, GettableSilence } from "../../../src/alertmanager/api/index.ts";
import { formatAlerts, formatDate, formatSilences, parseMatcherGroups, tabulate } from "../../../src/cli/amtool.ts";
import { alertmanagerComponent, alertmanagerExternalURL, alertmanagerFlags, runAlertmanager, type AlertmanagerFlags } from "../../../src/server/index.ts";
import { loadAlertmanagerConfigFile } from "../../../src/config/index.ts";
import { parseCommandLine, command } from "../../../src/flags/index.ts";
import { main } from "../../../src/cli/main.ts";
import { startWebhookLogger, summarizeNotification } from "../../../src/cli/webhook_logger.ts";
import { nopLogger } from "../../../src/log/index.ts";
import { Registry } from "../../../src/model/index.ts";
import { freePort, waitUntil } from "../../support/processes.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "promts-am-roles-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const CONFIG = "route:\n  receiver: a\nreceivers:\n  - name: a\n";

describe("amtool formatting", () => {
  test("a first argument that is not a matcher is the alertname", () => {
    expect(parseMatcherGroups(["DiskFull", "job=~a|b"], true).map((m) => [m.name, m.type, m.value])).toEqual([
      ["alertname", "=", "DiskFull"], ["job", "=~", "a|b"],
    ]);
    expect(parseMatcherGroups(["severity!=page"], false).map((m) => [m.name, m.type, m.value])).toEqual([["severity", "!=", "page"]]);
    expect(() => parseMatcherGroups(["ok=1", "=bad"], true)).toThrow("bad matcher format");
  });

  test("tables pad every column to its widest cell plus two spaces", () => {
    expect(tabulate([["ID", "Comment"], ["1234", "x"]])).toEqual(["ID    Comment  ", "1234  x        "]);
  });

  test("dates print like Go's 2006-01-02 15:04:05 MST in UTC", () => {
    expect(formatDate("2024-03-04T05:06:07.890Z")).toBe("2024-03-04 05:06:07 UTC");
  });

  test("silences: simple table sorted by end, extended table, json", () => {
    const silence = (id: string, endsAt: string): GettableSilence => ({
      id, status: { state: "active" }, updatedAt: "2024-01-01T00:00:00.000Z", comment: "c", createdBy: "me",
      endsAt, startsAt: "2024-01-01T00:00:00.000Z",
      matchers: [{ isEqual: true, isRegex: false, name: "alertname", value: "x" }, { isEqual: false, isRegex: true, name: "job", value: "a.*" }],
    });
    const later = silence("later", "2024-01-02T00:00:00.000Z");
    const sooner = silence("sooner", "2024-01-01T12:00:00.000Z");
    expect(formatSilences([later, sooner], "simple")).toEqual([
      "ID      Matchers                  Ends At                  Created By  Comment  ",
      'sooner  alertname="x" job!~"a.*"  2024-01-01 12:00:00 UTC  me          c        ',
      'later   alertname="x" job!~"a.*"  2024-01-02 00:00:00 UTC  me          c        ',
    ]);
    expect(formatSilences([sooner], "extended")[1]).toContain('{alertname="x",job!~"a.*"}  2024-01-01 00:00:00 UTC  2024-01-01 12:00:00 UTC');
    expect(JSON.parse(formatSilences([sooner], "json")[0]!)).toEqual([sooner]);
  });

  test("alerts: simple table sorted by start", () => {
    const alert = (name: string, startsAt: string, summary?: string): GettableAlert => ({
      annotations: summary ? { summary } : {}, endsAt: "2024-01-02T00:00:00.000Z", fingerprint: "0", receivers: [],
      startsAt, status: { inhibitedBy: [], silencedBy: [], state: "active" }, updatedAt: startsAt, labels: { alertname: name },
    });
    expect(formatAlerts([alert("B", "2024-01-01T01:00:00.000Z"), alert("A", "2024-01-01T00:00:00.000Z", "sum")], "simple")).toEqual([
      "Alertname  Starts At                Summary  State   ",
      "A          2024-01-01 00:00:00 UTC  sum      active  ",
      "B          2024-01-01 01:00:00 UTC           active  ",
    ]);
  });

  test("tool commands report an unreachable or missing Alertmanager URL as errors", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    expect(await main(["tool", "silence", "query"], io)).toBe(1);
    expect(err.join("")).toContain("required flag --alertmanager.url not provided");
    expect(await main(["tool", "alert", "query", `--alertmanager.url=http://127.0.0.1:${freePort()}`], io)).toBe(1);
    expect(err.join("")).toContain("GET http://127.0.0.1:");
    expect(await main(["tool", "silence", "add", "--comment=c", "--alertmanager.url=http://127.0.0.1:9"], io)).toBe(1);
    expect(err.join("")).toContain("no matchers specified");
    expect(out).toEqual([]);
  });
});

describe("webhook logger", () => {
  test("logs each notification as a JSON line and a summary; refuses non-JSON", async () => {
    const out: string[] = [];
    const log: string[] = [];
    const logger = startWebhookLogger("127.0.0.1:0", { out: (l) => out.push(l), log: (l) => log.push(l) });
    cleanups.push(() => logger.stop());
    const payload = { receiver: "team", status: "firing", alerts: [{}, {}], groupKey: '{}:{alertname="x"}' };
    const ok = await fetch(`${logger.url}/hook`, { method: "POST", body: JSON.stringify(payload) });
    expect(ok.status).toBe(200);
    expect(out.map((l) => JSON.parse(l))).toEqual([payload]);
    expect(log.at(-1)).toEndWith('/hook receiver=team status=firing alerts=2 groupKey={}:{alertname="x"}');
    const bad = await fetch(`${logger.url}/hook`, { method: "POST", body: "{" });
    expect(bad.status).toBe(400);
    expect(log.at(-1)).toContain("body is not JSON");
    expect(out).toHaveLength(1);
    expect((await fetch(logger.url)).status).toBe(405);
  });

  test("summary of odd payloads", () => {
    expect(summarizeNotification(null)).toBe("receiver= status= alerts=0 groupKey=");
  });
});

describe("alertmanager role", () => {
  function flags(args: string[]): AlertmanagerFlags {
    const parsed = parseCommandLine(command("alertmanager", "", alertmanagerFlags), args);
    if (parsed.kind !== "run") throw new Error("expected a run");
    return parsed.flags as AlertmanagerFlags;
  }

  test("Alertmanager's flag defaults", () => {
    const f = flags([]);
    expect(f["config.file"]).toBe("alertmanager.yml");
    expect(f["storage.path"]).toBe("data/");
    expect(f["data.retention"]).toBe(120 * 3_600_000);
    expect(f["web.listen-address"]).toEqual({ hostname: "0.0.0.0", port: 9093 });
    expect(alertmanagerExternalURL(f, "box")).toBe("http://box:9093");
    expect(alertmanagerExternalURL(flags(["--web.external-url=https://x.example/am/"]))).toBe("https://x.example/am");
  });

  test("reload applies a good file and keeps the old config on a bad one", async () => {
    const dir = tempDir();
    const path = join(dir, "am.yml");
    writeFileSync(path, CONFIG);
    const registry = new Registry();
    // As the server's built-in Alertmanager uses it: the component re-reads its own file.
    const am = alertmanagerComponent<unknown>({
      storagePath: join(dir, "data"), retention: 3_600_000, externalURL: "http://am", peerTimeout: 15_000,
      logger: nopLogger, registry,
    }, () => loadAlertmanagerConfigFile(path));
    await am.component.start!(undefined);
    cleanups.push(async () => { await am.component.stop!(); });
    writeFileSync(path, CONFIG.replaceAll("a\n", "b\n"));
    await am.component.reload!(undefined);
    expect(am.alertmanager()!.receivers()).toEqual([{ name: "b" }]);
    writeFileSync(path, "route: {receiver: nobody}\nreceivers: []\n");
    await expect(Promise.resolve().then(() => am.component.reload!(undefined))).rejects.toThrow();
    expect(am.alertmanager()!.receivers()).toEqual([{ name: "b" }]);
    expect(registry.render()).toMatch(/^alertmanager_config_last_reload_successful 0$/m);
  });

  test("runs, serves the API, keeps silences on disk and stops when asked", async () => {
    const dir = tempDir();
    const path = join(dir, "am.yml");
    writeFileSync(path, CONFIG);
    const stop = new AbortController();
    let url = "";
    const exit = runAlertmanager(flags([`--config.file=${path}`, `--storage.path=${join(dir, "data")}`, "--web.listen-address=127.0.0.1:0", "--cluster.listen-address="]), {
      logger: nopLogger, handleSignals: false, stop: stop.signal, onListening: (u) => { url = u; },
    });
    cleanups.push(async () => {
      stop.abort();
      await exit;
    });
    await waitUntil("the role to listen", () => url !== "" || undefined, 10_000);
    const res = await fetch(`${url}/api/v2/silences`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        matchers: [{ name: "alertname", value: "x", isRegex: false }], startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(), createdBy: "me", comment: "c",
      }),
    });
    const { silenceID } = await res.json() as { silenceID: string };
    expect(readFileSync(join(dir, "data", "silences"), "utf8")).toContain(silenceID);
    stop.abort();
    expect(await exit).toBe(0);
  });

  test("exits 1 when the config file is missing", async () => {
    const dir = tempDir();
    const code = await runAlertmanager(flags([`--config.file=${join(dir, "missing.yml")}`, `--storage.path=${dir}`, "--web.listen-address=127.0.0.1:0", "--cluster.listen-address="]), {
      logger: nopLogger, handleSignals: false,
    });
    expect(code).toBe(1);
  });
});

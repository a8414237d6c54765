import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine } from "../../src/flags/index.ts";
import { rootCommand } from "../../src/cli/main.ts";
import { runServer, type OpenStorage, type ServerComponent, type ServerFlags, type ServerOptions } from "../../src/server/index.ts";
import type { PrometheusConfig } from "../../src/config/index.ts";
import { newLogger } from "../../src/log/index.ts";
import { PartsQuerier, type DB } from "../../src/tsdb/index.ts";
import { pollUntil } from "../support/wait.ts";

const GOOD_CONFIG = "global:\n  scrape_interval: 15s\n";
const OTHER_CONFIG = "global:\n  scrape_interval: 30s\n";
const BAD_CONFIG = "global:\n  scrape_interval: soon\n";

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-server-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serverFlags(configText: string, extra: string[] = [], listen = "127.0.0.1:0"): { flags: ServerFlags; flagText: Record<string, string>; configPath: string } {
  const configPath = join(dir, `config-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(configPath, configText);
  const parsed = parseCommandLine(rootCommand, [
    `--config.file=${configPath}`, `--web.listen-address=${listen}`, `--storage.tsdb.path=${join(dir, "data")}`, ...extra,
  ]);
  if (parsed.kind !== "run") throw new Error("expected flags");
  return { flags: parsed.flags as ServerFlags, flagText: parsed.flagText, configPath };
}

/** A storage whose opening the test finishes by hand, recording close(). */
function fakeStorage() {
  const state = { opened: 0, closed: 0, dir: "" };
  let finishOpen!: () => void;
  const opening = new Promise<void>((resolve) => { finishOpen = resolve; });
  const db = { close: async () => { state.closed++; }, querier: () => new PartsQuerier([]), blocks: () => [] } as unknown as DB;
  const open: OpenStorage = async (opts) => {
    state.opened++;
    state.dir = opts.dir;
    await opening;
    return db;
  };
  return { state, open, finishOpen };
}

interface Harness {
  url: Promise<string>;
  exit: Promise<number>;
  logs: string[];
}

function start(flags: ServerFlags, opts: ServerOptions): Harness {
  const logs: string[] = [];
  let gotURL!: (url: string) => void;
  const url = new Promise<string>((resolve) => { gotURL = resolve; });
  const exit = runServer(flags, {
    handleSignals: false,
    logger: newLogger({ level: "debug", write: (line) => logs.push(line) }),
    onListening: gotURL,
    ...opts,
  });
  return { url, exit, logs };
}

async function until(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  await pollUntil("the condition", cond, { deadlineMs: timeoutMs });
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("server role", () => {
  test("answers /-/healthy at once and /-/ready 503 until storage is open; /-/quit stops it", async () => {
    const { flags, flagText } = serverFlags(GOOD_CONFIG, ["--web.enable-lifecycle"]);
    const storage = fakeStorage();
    const h = start(flags, { openStorage: storage.open, flagText });
    const url = await h.url;
    expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
    const notReady = await fetch(`${url}/-/ready`);
    expect(notReady.status).toBe(503);
    expect(await metric(url, "prometheus_ready")).toBe(0);
    expect((await fetch(`${url}/api/v1/status/buildinfo`)).status).toBe(503);
    expect(storage.state.dir).toBe(join(dir, "data"));

    storage.finishOpen();
    await until(async () => (await fetch(`${url}/-/ready`)).status === 200);
    expect(await metric(url, "prometheus_ready")).toBe(1);
    expect(await metric(url, "prometheus_config_last_reload_successful")).toBe(1);
    const exposition = await (await fetch(`${url}/metrics`)).text();
    expect(exposition).toMatch(/^prometheus_build_info\{branch="[^"]*",goarch="\w+",goos="\w+",goversion="bun[\d.]+",revision="[^"]*",tags="",version="\d+\.\d+\.\d+"\} 1$/m);

    const runtime = await (await fetch(`${url}/api/v1/status/runtimeinfo`)).json() as { data: Record<string, unknown> };
    expect(runtime.data.reloadConfigSuccess).toBe(true);
    expect(runtime.data.storageRetention).toBe("15d");
    const flagsAnswer = await (await fetch(`${url}/api/v1/status/flags`)).json() as { data: Record<string, string> };
    expect(flagsAnswer.data["web.enable-lifecycle"]).toBe("true");

    const quit = await fetch(`${url}/-/quit`, { method: "POST" });
    expect(quit.status).toBe(200);
    expect(await h.exit).toBe(0);
    expect(storage.state.closed).toBe(1);
    expect(h.logs.join("\n")).toContain("See you next time!");
  });

  test("reload hooks see every good config; a bad one keeps the old config and fails with 500", async () => {
    const { flags, configPath } = serverFlags(GOOD_CONFIG, ["--web.enable-lifecycle"]);
    const storage = fakeStorage();
    storage.finishOpen();
    const seen: number[] = [];
    const closed: string[] = [];
    let current: () => PrometheusConfig = () => { throw new Error("component not started"); };
    const component: ServerComponent = (ctx) => {
      current = () => ctx.config;
      ctx.reloadHooks.push((config) => { seen.push(config.global.scrape_interval); });
      ctx.closeHooks.push(() => { closed.push("first"); });
      ctx.closeHooks.push(() => { closed.push("second"); });
    };
    const h = start(flags, { openStorage: storage.open, components: [component] });
    const url = await h.url;
    await until(async () => (await fetch(`${url}/-/ready`)).status === 200);
    expect(seen).toEqual([15000]);

    writeFileSync(configPath, BAD_CONFIG);
    const bad = await fetch(`${url}/-/reload`, { method: "POST" });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain(`${configPath}:2:`);
    expect(await metric(url, "prometheus_config_last_reload_successful")).toBe(0);
    expect(current().global.scrape_interval).toBe(15000);

    writeFileSync(configPath, OTHER_CONFIG);
    expect((await fetch(`${url}/-/reload`, { method: "PUT" })).status).toBe(200);
    expect(await metric(url, "prometheus_config_last_reload_successful")).toBe(1);
    expect(current().global.scrape_interval).toBe(30000);
    expect(seen).toEqual([15000, 30000]);

    await fetch(`${url}/-/quit`, { method: "POST" });
    expect(await h.exit).toBe(0);
    expect(closed).toEqual(["second", "first"]);
  });

  test("a config error exits 1 before listening, logging file:line:col", async () => {
    const { flags, configPath } = serverFlags(BAD_CONFIG);
    const storage = fakeStorage();
    const h = start(flags, { openStorage: storage.open });
    expect(await h.exit).toBe(1);
    expect(storage.state.opened).toBe(0);
    const log = h.logs.join("\n");
    expect(log).toContain("level=error");
    expect(log).toContain(`${configPath}:2:`);
  });

  test("a failing component exits 1 and still closes storage", async () => {
    const { flags } = serverFlags(GOOD_CONFIG);
    const storage = fakeStorage();
    storage.finishOpen();
    const h = start(flags, { openStorage: storage.open, components: [() => { throw new Error("rule files missing"); }] });
    expect(await h.exit).toBe(1);
    expect(storage.state.closed).toBe(1);
    expect(h.logs.join("\n")).toContain("rule files missing");
  });

  test("serves HTTPS with basic auth from --web.config.file", async () => {
    const testdata = join(import.meta.dir, "../web/testdata");
    const hash = await Bun.password.hash("pw", { algorithm: "bcrypt", cost: 4 });
    const webConfig = join(dir, "web.yml");
    writeFileSync(webConfig, `tls_server_config:\n  cert_file: ${testdata}/server.crt\n  key_file: ${testdata}/server.key\nbasic_auth_users:\n  ops: "${hash}"\n`);
    const { flags } = serverFlags(GOOD_CONFIG, [`--web.config.file=${webConfig}`, "--web.enable-lifecycle"]);
    const storage = fakeStorage();
    storage.finishOpen();
    const h = start(flags, { openStorage: storage.open });
    const url = await h.url;
    expect(url).toStartWith("https://127.0.0.1:");
    const tls = { ca: readFileSync(join(testdata, "server.crt"), "utf8") };
    expect((await fetch(`${url}/-/healthy`, { tls })).status).toBe(401);
    const authorization = `Basic ${btoa("ops:pw")}`;
    await until(async () => (await fetch(`${url}/-/ready`, { tls, headers: { authorization } })).status === 200);
    expect((await fetch(`${url}/-/quit`, { method: "POST", tls, headers: { authorization } })).status).toBe(200);
    expect(await h.exit).toBe(0);
  });

  test("an invalid --web.config.file exits 1 naming the problem", async () => {
    const webConfig = join(dir, "bad-web.yml");
    writeFileSync(webConfig, "basic_auth_users:\n  ops: plaintext\n");
    const { flags } = serverFlags(GOOD_CONFIG, [`--web.config.file=${webConfig}`]);
    const storage = fakeStorage();
    const h = start(flags, { openStorage: storage.open });
    expect(await h.exit).toBe(1);
    expect(storage.state.opened).toBe(0);
    expect(h.logs.join("\n")).toContain("field basic_auth_users.ops: expected a bcrypt hash");
  });

  test("an address in use exits 1", async () => {
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const { flags } = serverFlags(GOOD_CONFIG, [], `127.0.0.1:${busy.port}`);
      const h = start(flags, { openStorage: fakeStorage().open });
      expect(await h.exit).toBe(1);
      expect(h.logs.join("\n")).toContain("Unable to start web listener");
    } finally {
      busy.stop(true);
    }
  });
  test("remote_write starts a queue per endpoint; queries read every remote_read endpoint, and a reload applies remote_read", async () => {
    const remote = `${GOOD_CONFIG}remote_write:\n  - url: http://127.0.0.1:1/write\n  - url: http://127.0.0.1:2/write\nremote_read:\n  - url: http://127.0.0.1:3/read\n    read_recent: true\n`;
    const { flags, configPath } = serverFlags(remote, ["--web.enable-lifecycle"]);
    const storage = fakeStorage();
    storage.finishOpen();
    const h = start(flags, { openStorage: storage.open });
    const url = await h.url;
    await until(async () => (await fetch(`${url}/-/ready`)).status === 200);
    const answer = async () => (await (await fetch(`${url}/api/v1/query?query=up&time=1000`)).json()) as { status: string; warnings?: string[] };
    const first = await answer();
    expect(first.status).toBe("success");
    expect(first.warnings?.join("\n")).toContain('remote_read: error sending request: Post "http://127.0.0.1:3/read"');
    const series = (await (await fetch(`${url}/api/v1/series?match[]=up`)).json()) as { status: string; warnings?: string[] };
    expect(series.status).toBe("success");
    expect(series.warnings?.join("\n")).toContain('remote_read: error sending request: Post "http://127.0.0.1:3/read"');
    const shards = (await (await fetch(`${url}/metrics`)).text()).split("\n").filter((l) => l.startsWith("prometheus_remote_storage_shards{"));
    expect(shards.length).toBe(2);
    writeFileSync(configPath, GOOD_CONFIG);
    expect((await fetch(`${url}/-/reload`, { method: "POST" })).status).toBe(200);
    expect(await answer()).toEqual({ status: "success", data: { resultType: "vector", result: [] } } as never);
    writeFileSync(configPath, remote);
    expect((await fetch(`${url}/-/reload`, { method: "POST" })).status).toBe(200);
    expect((await answer()).warnings?.length).toBe(1);
    await fetch(`${url}/-/quit`, { method: "POST" });
    expect(await h.exit).toBe(0);
  });
  test("a reload naming a file that is not a rule file answers 500 without echoing it", async () => {
    const { flags, configPath } = serverFlags(GOOD_CONFIG, ["--web.enable-lifecycle"]);
    const storage = fakeStorage();
    storage.finishOpen();
    const h = start(flags, { openStorage: storage.open });
    const url = await h.url;
    await until(async () => (await fetch(`${url}/-/ready`)).status === 200);
    const shadow = join(dir, `shadow-${Math.random().toString(36).slice(2)}`);
    writeFileSync(shadow, "root:$6$topSecretHash$xyz:20228:0:99999:7:::\n");
    writeFileSync(configPath, `${GOOD_CONFIG}rule_files: [${JSON.stringify(shadow)}]\n`);
    const res = await fetch(`${url}/-/reload`, { method: "POST" });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain(`${shadow}:1:1`);
    expect(body).not.toContain("topSecretHash");
    expect(h.logs.join("\n")).not.toContain("topSecretHash");
    await fetch(`${url}/-/quit`, { method: "POST" });
    expect(await h.exit).toBe(0);
  });
});

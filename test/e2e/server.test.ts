/**
 * End-to-end tests of the compiled binary dist/promts (built by `npx bun
 * build.ts`; `npm test` builds it first). Every process started here is
 * killed by PID when its test ends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { freePort, PROMTS_BINARY } from "../support/processes.ts";
import { pollUntil } from "../support/wait.ts";

const STARTUP_DEADLINE_MS = 20000;
const EXIT_DEADLINE_MS = 10000;

interface Started {
  proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  stdout: Promise<string>;
  stderr: Promise<string>;
}

const running = new Set<Started>();
let workDir = "";

function start(args: string[]): Started {
  const proc = Bun.spawn([PROMTS_BINARY, ...args], { cwd: workDir, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const started = { proc, stdout: new Response(proc.stdout).text(), stderr: new Response(proc.stderr).text() };
  running.add(started);
  return started;
}

/** Resolves with the exit code, or kills the process and throws after the deadline. */
async function exitCode(p: Started, deadlineMs = EXIT_DEADLINE_MS): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`promts (pid ${p.proc.pid}) did not exit within ${deadlineMs}ms`)), deadlineMs);
  });
  try {
    return await Promise.race([p.proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runToEnd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = start(args);
  const code = await exitCode(p);
  return { code, stdout: await p.stdout, stderr: await p.stderr };
}

/** Polls `url` until it answers `status`, or throws after the deadline (at once when promts exits). */
async function waitForStatus(url: string, status: number, p: Started): Promise<void> {
  await pollUntil(`${url} to answer ${status}`, async () => (await fetch(url)).status === status, {
    deadlineMs: STARTUP_DEADLINE_MS,
    intervalMs: 50,
    abortIf: () => (p.proc.exitCode !== null ? `promts exited with ${p.proc.exitCode}` : undefined),
  });
}

function writeFile(name: string, text: string): string {
  const path = join(workDir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD_CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n";
const BAD_CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: abc\n";

function startServer(config: string, extra: string[] = [], data = mkdtempSync(join(workDir, "data-"))): { p: Started; url: string; data: string } {
  const port = freePort();
  const p = start([
    `--config.file=${config}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--storage.tsdb.path=${data}`,
    ...extra,
  ]);
  return { p, url: `http://127.0.0.1:${port}`, data };
}

beforeAll(() => {
  if (!existsSync(PROMTS_BINARY)) throw new Error(`${PROMTS_BINARY} does not exist: build it with \`npx bun build.ts\` (npm test does this first)`);
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-"));
});

afterEach(() => {
  for (const p of running) {
    if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
  }
  running.clear();
});

afterAll(() => {
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

describe("command line", () => {
  test("--version prints Prometheus-style build information", async () => {
    const { code, stdout } = await runToEnd(["--version"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith(`promts, version ${packageJson.version} (branch: `);
    expect(stdout).toMatch(/\n {2}bun version: +bun\d+\.\d+/);
    expect(stdout).toMatch(/\n {2}platform: +\w+\/\w+\n$/);
  });

  test("--help lists the server flags with their defaults", async () => {
    const { code, stdout } = await runToEnd(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain('--config.file="prometheus.yml"');
    expect(stdout).toContain('--web.listen-address="0.0.0.0:9090"');
    expect(stdout).toContain('--storage.tsdb.path="data/"');
  });

  test("an unknown flag exits 2 with kingpin's message", async () => {
    const { code, stderr } = await runToEnd(["--foo"]);
    expect(code).toBe(2);
    expect(stderr).toBe("promts: error: unknown long flag '--foo', try --help\n");
  });

  test("a bad flag value exits 2 naming the flag", async () => {
    const { code, stderr } = await runToEnd(["--storage.tsdb.retention.time=abc"]);
    expect(code).toBe(2);
    expect(stderr).toContain("'--storage.tsdb.retention.time'");
    expect(stderr).toContain('"abc"');
  });

  test("tool check config: 0 for a good file, 1 for a bad one", async () => {
    const good = writeFile("check-good.yml", GOOD_CONFIG);
    const bad = writeFile("check-bad.yml", BAD_CONFIG);
    expect((await runToEnd(["tool", "check", "config", good])).code).toBe(0);
    const failed = await runToEnd(["tool", "check", "config", good, bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout + failed.stderr).toContain("check-bad.yml:3:");
    expect((await runToEnd(["tool", "check", "config"])).code).toBe(2);
  });
});

describe("server", () => {
  test("becomes ready, serves metrics, and exits 0 on SIGTERM", async () => {
    const config = writeFile("good.yml", GOOD_CONFIG);
    const { p, url, data } = startServer(config);
    await waitForStatus(`${url}/-/ready`, 200, p);
    const healthy = await fetch(`${url}/-/healthy`);
    expect(await healthy.text()).toBe("Prometheus Server is Healthy.\n");

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await metrics.text();
    for (const name of ["prometheus_tsdb_head_series", "process_resident_memory_bytes", "prometheus_build_info", "prometheus_ready 1", "prometheus_config_last_reload_successful 1"]) {
      expect(body).toContain(name);
    }
    expect((await fetch(`${url}/-/quit`, { method: "POST" })).status).toBe(403);

    const second = startServer(config, [], data);
    expect(await exitCode(second.p)).toBe(1);
    expect(await second.p.stderr).toContain(`held by running process ${p.proc.pid}`);

    p.proc.kill("SIGTERM");
    expect(await exitCode(p)).toBe(0);
    const log = await p.stderr;
    expect(log).toContain("Received shutdown signal");
    expect(log).toContain("See you next time!");
  });

  test("restarts at once after kill -9: the data directory lock died with the process", async () => {
    const config = writeFile("killed.yml", GOOD_CONFIG);
    const first = startServer(config);
    await waitForStatus(`${first.url}/-/ready`, 200, first.p);
    first.p.proc.kill("SIGKILL");
    // No wait for the exit to be reaped: the kernel drops the flock when the process dies.
    const second = startServer(config, [], first.data);
    await waitForStatus(`${second.url}/-/ready`, 200, second.p);
    second.p.proc.kill("SIGTERM");
    expect(await exitCode(second.p)).toBe(0);
    expect(await second.p.stderr).not.toContain("lock DB directory");
  });

  test("loads blocks written by tool tsdb create-blocks-from openmetrics", async () => {
    const t = Math.floor(Date.now() / 1000) - 3 * 3600;
    const input = writeFile("backfill.om", `# TYPE up gauge\nup{job="a"} 1 ${t}\nup{job="a"} 0 ${t + 15}\nup{job="b"} 1 ${t + 15}\n# EOF\n`);
    const data = mkdtempSync(join(workDir, "backfill-"));
    const backfill = await runToEnd(["tool", "tsdb", "create-blocks-from", "openmetrics", input, data]);
    expect(backfill.code).toBe(0);
    expect(backfill.stdout).toContain("2 series, 3 samples");

    const { p, url } = startServer(writeFile("backfill.yml", GOOD_CONFIG), [], data);
    await waitForStatus(`${url}/-/ready`, 200, p);
    const body = await (await fetch(`${url}/metrics`)).text();
    expect(body).toMatch(/^prometheus_tsdb_blocks_loaded 1$/m);

    const query = await (await fetch(`${url}/api/v1/query?query=sum(up)&time=${t + 15}`)).json();
    expect(query).toEqual({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [t + 15, "1"] }] } });
    const flagsAnswer = await (await fetch(`${url}/api/v1/status/flags`)).json() as { data: Record<string, string> };
    expect(flagsAnswer.data["storage.tsdb.path"]).toBe(data);
    expect(flagsAnswer.data["query.lookback-delta"]).toBe("5m");
    p.proc.kill("SIGINT");
    expect(await exitCode(p)).toBe(0);
  });

  test("a config error exits 1 naming file, line and column", async () => {
    const config = writeFile("bad.yml", BAD_CONFIG);
    const { p } = startServer(config);
    expect(await exitCode(p)).toBe(1);
    expect(await p.stderr).toMatch(/bad\.yml:3:\d+/);
  });

  test("reload keeps the old config on error; /-/quit stops the server", async () => {
    const config = writeFile("reload.yml", GOOD_CONFIG);
    const { p, url } = startServer(config, ["--web.enable-lifecycle"]);
    await waitForStatus(`${url}/-/ready`, 200, p);

    writeFileSync(config, BAD_CONFIG);
    const failed = await fetch(`${url}/-/reload`, { method: "POST" });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/^failed to reload config: .*reload\.yml:3:\d+/);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("prometheus_config_last_reload_successful 0\n");

    writeFileSync(config, GOOD_CONFIG);
    p.proc.kill("SIGHUP");
    const deadline = Date.now() + STARTUP_DEADLINE_MS;
    while (!(await (await fetch(`${url}/metrics`)).text()).includes("prometheus_config_last_reload_successful 1\n")) {
      if (Date.now() > deadline) throw new Error("SIGHUP did not reload the config");
      await Bun.sleep(50);
    }

    const quit = await fetch(`${url}/-/quit`, { method: "POST" });
    expect(await quit.text()).toBe("Requesting termination... Goodbye!");
    expect(await exitCode(p)).toBe(0);
  });
});

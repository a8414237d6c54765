import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { main } from "../../src/cli/main.ts";

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "promts-main-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("main", () => {
  test("--version prints the version block and exits 0", async () => {
    const { code, stdout, stderr } = await run(["--version"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^promts, version ${packageJson.version.replace(/\./g, "\\.")} \\(branch: \\S+, revision: \\S+\\)$`));
    expect(lines.slice(1).map((l) => l.split(":")[0]!.trim())).toEqual(["build user", "build date", "bun version", "platform"]);
  });

  test("--help lists every visible server flag and the tool command", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const flag of [
      '--config.file="prometheus.yml"', '--web.listen-address="0.0.0.0:9090"', "--[no-]web.enable-lifecycle",
      '--storage.tsdb.path="data/"', '--storage.tsdb.retention.size="0"', '--query.lookback-delta="5m"',
      "--query.max-samples=50000000", '--cluster.peer-timeout="15s"', '--cluster.gossip-interval="200ms"',
      '--log.format="logfmt"', "--enable-feature=<name>",
    ]) expect(stdout).toContain(flag);
    expect(stdout).not.toContain("--storage.tsdb.retention=");
    expect(stdout).toMatch(/Commands:\n {2}tool /);
  });

  test.each([
    [["--foo"], "promts: error: unknown long flag '--foo', try --help\n"],
    [["--storage.tsdb.retention.time=abc"], `promts: error: invalid value "abc" for flag '--storage.tsdb.retention.time': not a valid duration string: "abc", try --help\n`],
    [["--storage.tsdb.retention.size=lots"], `promts: error: invalid value "lots" for flag '--storage.tsdb.retention.size': units: invalid lots, try --help\n`],
    [["--web.listen-address=9090"], `promts: error: invalid value "9090" for flag '--web.listen-address': address 9090: expected host:port with a port from 0 to 65535, try --help\n`],
    [["--web.external-url=not a url"], `promts: error: invalid value "not a url" for flag '--web.external-url': not an absolute URL, try --help\n`],
    [["--web.cors.origin=("], `promts: error: invalid value "(" for flag '--web.cors.origin': invalid regular expression`],
    [["--log.level=trace"], `promts: error: invalid value "trace" for flag '--log.level': enum value must be one of debug,info,warn,error, got 'trace', try --help\n`],
    [["alertmanagers"], "promts: error: unknown command 'alertmanagers', try --help\n"],
  ])("%j exits 2", async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(message);
  });

  test("tool check config reports each file and exits 1 if any is bad", async () => {
    const good = file("good.yml", "global:\n  scrape_interval: 10s\n");
    const bad = file("bad.yml", "scrape_configs:\n  - job_name: x\n    scrape_interval: often\n");
    const ok = await run(["tool", "check", "config", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`  SUCCESS: ${good} is valid prometheus config file syntax`);
    const failed = await run(["tool", "check", "config", good, bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`  FAILED: ${bad}:3:`);
  });

  test("tool tsdb create-blocks-from openmetrics writes blocks into the given directory", async () => {
    const input = file("in.om", '# TYPE up gauge\nup{job="a"} 1 1700000000\nup{job="a"} 0 1700000015\nup{job="b"} 1 1700000015\n# EOF\n');
    const out = join(dir, "blocks");
    const { code, stdout } = await run(["tool", "tsdb", "create-blocks-from", "openmetrics", input, out]);
    expect(code).toBe(0);
    const blocks = readdirSync(out);
    expect(blocks.length).toBe(1);
    expect(existsSync(join(out, blocks[0]!, "meta.json"))).toBe(true);
    expect(stdout).toContain(`block ${blocks[0]}\n`);
    expect(stdout).toContain("1 blocks, 2 series, 3 samples written to");
  });

  test("tool tsdb create-blocks-from openmetrics exits 1 naming a bad input", async () => {
    const input = file("bad.om", "up{job=\"a\" 1\n");
    const { code, stderr } = await run(["tool", "tsdb", "create-blocks-from", "openmetrics", input, join(dir, "unused")]);
    expect(code).toBe(1);
    expect(stderr).toStartWith(`promts: error: create blocks from ${input}: `);
  });
});

import { describe, expect, test } from "bun:test";
import { parseCommandLine } from "../../src/flags/index.ts";
import { rootCommand } from "../../src/cli/main.ts";
import { effectiveRetention, externalURL, parseListenAddress, retentionText, routePrefix, type ServerFlags } from "../../src/server/index.ts";

function flags(argv: string[]): ServerFlags {
  const parsed = parseCommandLine(rootCommand, argv);
  if (parsed.kind !== "run") throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.flags as ServerFlags;
}

const DAY = 24 * 3600 * 1000;

describe("server flags", () => {
  test("Prometheus's defaults", () => {
    const f = flags([]);
    expect(f["config.file"]).toBe("prometheus.yml");
    expect(f["web.listen-address"]).toEqual({ hostname: "0.0.0.0", port: 9090 });
    expect(f["storage.tsdb.path"]).toBe("data/");
    expect(f["web.read-timeout"]).toBe(5 * 60000);
    expect(f["web.max-connections"]).toBe(512);
    expect(f["query.lookback-delta"]).toBe(5 * 60000);
    expect(f["query.timeout"]).toBe(2 * 60000);
    expect(f["query.max-concurrency"]).toBe(20);
    expect(f["query.max-samples"]).toBe(50000000);
    expect(f["rules.alert.for-outage-tolerance"]).toBe(3600000);
    expect(f["rules.alert.for-grace-period"]).toBe(600000);
    expect(f["rules.alert.resend-delay"]).toBe(60000);
    expect(f["alertmanager.notification-queue-capacity"]).toBe(10000);
    expect(f["cluster.peer-timeout"]).toBe(15000);
    expect(f["cluster.gossip-interval"]).toBe(200);
    expect(f["cluster.pushpull-interval"]).toBe(60000);
    expect(f["cluster.peer"]).toEqual([]);
    expect(f["log.level"]).toBe("info");
    expect(f["log.format"]).toBe("logfmt");
    expect(f["web.enable-lifecycle"]).toBe(false);
    expect(f["web.cors.origin"].test("https://anything.example")).toBe(true);
  });

  test("old single-dash spellings and repeatable cluster peers", () => {
    const f = flags(["-config.file=old.yml", "-storage.tsdb.path", "/var/lib/p", "--cluster.peer=a:9094", "--cluster.peer=b:9094", "--enable-feature=x,y", "--enable-feature=z"]);
    expect(f["config.file"]).toBe("old.yml");
    expect(f["storage.tsdb.path"]).toBe("/var/lib/p");
    expect(f["cluster.peer"]).toEqual(["a:9094", "b:9094"]);
    expect(f["enable-feature"]).toEqual(["x", "y", "z"]);
  });

  test("the CORS origin is fully anchored", () => {
    const origin = flags(["--web.cors.origin=https?://(a|b)\\.com"])["web.cors.origin"];
    expect(origin.test("https://a.com")).toBe(true);
    expect(origin.test("https://a.com.evil")).toBe(false);
  });
});

describe("parseListenAddress", () => {
  test.each([
    [":9090", "0.0.0.0", 9090],
    ["127.0.0.1:0", "127.0.0.1", 0],
    ["localhost:8080", "localhost", 8080],
    ["[::1]:9090", "::1", 9090],
    ["[::]:9090", "::", 9090],
  ])("%s", (address, hostname, port) => {
    expect(parseListenAddress(address)).toEqual({ hostname, port });
  });

  test.each(["9090", "host:", "host:65536", "::1:9090", "host:port"])("rejects %s", (address) => {
    expect(() => parseListenAddress(address)).toThrow(`address ${address}: expected host:port`);
  });
});

describe("effectiveRetention", () => {
  test.each([
    [[], 15 * DAY, 0],
    [["--storage.tsdb.retention.time=30d"], 30 * DAY, 0],
    [["--storage.tsdb.retention=7d"], 7 * DAY, 0],
    [["--storage.tsdb.retention=7d", "--storage.tsdb.retention.time=1d"], DAY, 0],
    [["--storage.tsdb.retention.size=1GB"], 0, 1024 ** 3],
    [["--storage.tsdb.retention.size=1GB", "--storage.tsdb.retention.time=2d"], 2 * DAY, 1024 ** 3],
  ])("%j", (argv, timeMs, sizeBytes) => {
    expect(effectiveRetention(flags(argv))).toEqual({ timeMs, sizeBytes });
  });
});

describe("routePrefix", () => {
  test.each([
    [[], "/"],
    [["--web.external-url=http://example.com/prometheus/"], "/prometheus"],
    [["--web.external-url=http://example.com/prometheus", "--web.route-prefix=/"], "/"],
    [["--web.route-prefix=internal"], "/internal"],
  ])("%j → %s", (argv, prefix) => {
    expect(routePrefix(flags(argv))).toBe(prefix);
  });
});

describe("externalURL", () => {
  test.each([
    [[], "http://box:9090"],
    [["--web.listen-address=127.0.0.1:8080"], "http://box:8080"],
    [["--web.external-url=https://example.com/prometheus/"], "https://example.com/prometheus"],
    [["--web.external-url=http://example.com"], "http://example.com"],
  ])("%j → %s", (argv, url) => {
    expect(externalURL(flags(argv), "box")).toBe(url);
  });
});

describe("retentionText", () => {
  test.each([
    [[], "15d"],
    [["--storage.tsdb.retention.size=512MB"], "512MiB"],
    [["--storage.tsdb.retention.time=1w", "--storage.tsdb.retention.size=1GB"], "1w or 1GiB"],
    [["--storage.tsdb.retention.time=0"], "unlimited"],
  ])("%j → %s", (argv, text) => {
    expect(retentionText(flags(argv))).toBe(text);
  });
});

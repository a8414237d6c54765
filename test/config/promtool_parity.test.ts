/**
 * Decisions that the differential test against promtool 2.42
 * (test/interop/config-diff.test.ts) found promts getting wrong, pinned
 * here so they hold without promtool installed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfigFiles } from "../../src/cli/index.ts";
import { ConfigError, parseConfig } from "../../src/config/index.ts";

function reason(text: string): string | undefined {
  try {
    parseConfig(text, "prometheus.yml");
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e.reason;
    throw e;
  }
}

function configError(text: string): ConfigError {
  try {
    parseConfig(text, "prometheus.yml");
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError, the config loaded");
}

const job = (body: string) => `scrape_configs:\n  - job_name: a\n${body}`;
const relabel = (rule: string) => job(`    relabel_configs:\n      - ${rule}\n`);

describe("YAML decoding like Go's yaml.v2", () => {
  test("an explicit null gives the Go zero value, not the default", () => {
    expect(reason(relabel("{action: null, target_label: x}"))).toBe("relabel action cannot be empty");
    expect(reason(relabel("{action: labelmap, replacement: null}"))).toBe(`"" is invalid 'replacement' for labelmap action`);
    const sc = parseConfig(job("    honor_timestamps: null\n    metrics_path: ~\n"), "p.yml").config.scrape_configs[0]!;
    expect([sc.honor_timestamps, sc.metrics_path]).toEqual([false, ""]);
    expect(parseConfig(job("    honor_timestamps:\n"), "p.yml").config.scrape_configs[0]!.honor_timestamps).toBe(false);
    expect(parseConfig(job(""), "p.yml").config.scrape_configs[0]!.honor_timestamps).toBe(true);
  });

  test("integers: floats truncate, underscores allowed, quoted strings refused", () => {
    const limit = (v: string) => parseConfig(job(`    sample_limit: ${v}\n`), "p.yml").config.scrape_configs[0]!.sample_limit;
    expect(limit("1.9")).toBe(1);
    expect(limit("1_000")).toBe(1000);
    expect(limit("-1.5")).toBe(0);
    expect(limit("1e3")).toBe(1000);
    expect(reason(job("    sample_limit: '10'\n"))).toBe("cannot unmarshal !!str `10` into uint");
    expect(reason(job("    sample_limit: -1\n"))).toBe("cannot unmarshal !!int `-1` into uint");
    expect(reason(job("    sample_limit: 99999999999999999999\n"))).toStartWith("cannot unmarshal");
  });

  test("YAML 1.1 booleans only when unquoted", () => {
    expect(parseConfig(job("    honor_labels: yes\n"), "p.yml").config.scrape_configs[0]!.honor_labels).toBe(true);
    expect(reason(job("    honor_labels: 'yes'\n"))).toBe("cannot unmarshal !!str `yes` into bool");
  });

  test("an explicit tag that does not fit its text is an error", () => {
    expect(configError("global:\n  scrape_interval: !!int 15s\n").message).toBe("prometheus.yml:2:26: yaml: cannot decode !!str `15s` as a !!int");
    expect(parseConfig("global:\n  scrape_interval: !!str 15s\n", "p.yml").config.global.scrape_interval).toBe(15_000);
  });

  test("only the first YAML document is read", () => {
    expect(parseConfig("global: {evaluation_interval: 7s}\n---\nglobal: [\n", "p.yml").config.global.evaluation_interval).toBe(7000);
  });
});

describe("validation Prometheus does (and does not do)", () => {
  test("scheme is any string", () => {
    expect(parseConfig(job("    scheme: ftp\n"), "p.yml").config.scrape_configs[0]!.scheme).toBe("ftp");
    expect(reason("alerting:\n  alertmanagers:\n    - scheme: HTTP\n")).toBeUndefined();
  });

  test("URL-looking targets are refused only without relabeling, at the target", () => {
    const e = configError(job("    static_configs: [{targets: ['a:1', 'http://b:2/']}]\n"));
    expect([e.path, e.reason, e.line, e.col]).toEqual(["scrape_configs[0].static_configs[0].targets[1]", '"http://b:2/" is not a valid hostname', 3, 40]);
    expect(reason(job("    static_configs: [{targets: ['http://b:2/']}]\n    relabel_configs: [{target_label: x, replacement: y}]\n"))).toBeUndefined();
  });

  test("URLs are checked like Go's url.Parse", () => {
    expect(reason("remote_write:\n  - url: ''\n")).toBeUndefined();
    expect(reason("remote_write:\n  - url: /relative\n")).toBeUndefined();
    expect(reason("remote_write:\n  - url:\n")).toBe("url for remote_write is empty");
    expect(reason("remote_read:\n  - name: x\n")).toBe("url for remote_read is empty");
    expect(reason("remote_write:\n  - url: http://a/%zz\n")).toBe('parse "http://a/%zz": invalid URL escape "%zz"');
    expect(reason(job("    proxy_url: not a url\n"))).toBeUndefined();
    expect(reason(job("    http_sd_configs: [{url: 'http:///x'}]\n"))).toBe("host is missing in URL");
    expect(reason(job("    http_sd_configs: [{url: 'ftp://h/x'}]\n"))).toBe("URL scheme must be 'http' or 'https'");
  });

  test("tracing is validated only when written", () => {
    expect(reason("tracing: {}\n")).toBe("tracing endpoint must be set");
    expect(reason("tracing:\n")).toBeUndefined();
    expect(reason("tracing: {endpoint: 'a:1', compression: zstd}\n")).toBe("invalid compression type zstd provided, valid options: gzip");
    expect(reason("tracing: {endpoint: 'a:1', headers: {Authorization: x}}\n")).toBe("custom authorization header configuration is not yet supported");
    expect(reason("tracing: {endpoint: 'a:1', compression: gzip}\n")).toBeUndefined();
  });

  test("EC2 SD filters need values, not names; a region may come later from the instance metadata service", () => {
    expect(reason(job("    ec2_sd_configs: [{region: r, filters: [{values: [a]}]}]\n"))).toBeUndefined();
    expect(reason(job("    ec2_sd_configs: [{region: r, filters: [{name: a}]}]\n"))).toBe("EC2 SD configuration filter values cannot be empty");
    expect(reason(job("    ec2_sd_configs: [{port: 9100}]\n"))).toBeUndefined();
  });

  test("relabel checks that depend on what was written", () => {
    expect(reason(relabel("{action: keepequal, source_labels: [a], target_label: b, regex: '(.*)'}"))).toBe(
      "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
    );
    expect(reason(relabel("{action: keepequal, source_labels: [a], target_label: b}"))).toBeUndefined();
    expect(reason(relabel("{action: labeldrop, source_labels: [], regex: x}"))).toBe("labeldrop action requires only 'regex', and no other fields");
    expect(reason(relabel("{action: labeldrop, source_labels: ~, regex: x}"))).toBeUndefined();
    expect(reason(relabel("{action: lowercase, source_labels: [a], target_label: '${1}_x'}"))).toBeUndefined();
    expect(reason(relabel("{action: lowercase, source_labels: [a], target_label: '0bad'}"))).toBe(`"0bad" is invalid 'target_label' for lowercase action`);
    expect(reason(relabel("{action: keep, source_labels: [a], regex: 'a\\C'}"))).toBe("error parsing regexp: invalid escape sequence: `\\C`");
    expect(reason(relabel("{action: keep, source_labels: [a], regex: 'a\\\\C'}"))).toBeUndefined();
  });
});

describe("checkConfigFiles builds static targets like promtool", () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-parity-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function check(text: string): string[] {
    const path = join(dir, "p.yml");
    writeFileSync(path, text);
    const lines: string[] = [];
    checkConfigFiles([path], (l) => lines.push(l));
    return lines;
  }

  test("a target left without an address fails, located at its job", () => {
    const lines = check(job("    static_configs: [{targets: ['a:1']}, {targets: ['']}]\n"));
    expect(lines[1]).toBe(`  FAILED: ${join(dir, "p.yml")}:2:5: field scrape_configs[0].static_configs[1].targets[0]: instance 0 in group 1: no address`);
  });

  test("relabeling that sets the address (or drops the target) makes it fine", () => {
    expect(check(job("    static_configs: [{targets: ['']}]\n    relabel_configs: [{target_label: __address__, replacement: 'x:1'}]\n"))[1]).toStartWith("  SUCCESS");
    expect(check(job("    static_configs: [{targets: ['']}]\n    relabel_configs: [{action: drop, source_labels: [job], regex: a}]\n"))[1]).toStartWith("  SUCCESS");
  });
});

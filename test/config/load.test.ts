import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  ConfigError,
  configToYAML,
  DEFAULT_SCRAPE_PROTOCOLS,
  loadConfigFile,
  parseConfig,
} from "../../src/config/index.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const S = 1000;
const M = 60 * S;

/** Parses `text` expecting a ConfigError and returns it. */
function configError(text: string, filename = "prometheus.yml"): ConfigError {
  try {
    parseConfig(text, filename);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError, the config loaded");
}

describe("defaults", () => {
  test("an empty file gets Prometheus's defaults", () => {
    const { config, warnings } = parseConfig("", "prometheus.yml");
    expect(warnings).toEqual([]);
    expect(config.global.scrape_interval).toBe(M);
    expect(config.global.scrape_timeout).toBe(10 * S);
    expect(config.global.evaluation_interval).toBe(M);
    expect(config.global.rule_query_offset).toBe(0);
    expect(config.global.external_labels).toEqual({});
    expect(config.global.scrape_protocols).toEqual([...DEFAULT_SCRAPE_PROTOCOLS]);
    expect(config.global.body_size_limit).toBe(0);
    expect(config.global.sample_limit).toBe(0);
    expect(config.rule_files).toEqual([]);
    expect(config.scrape_configs).toEqual([]);
    expect(config.alerting).toEqual({ alert_relabel_configs: [], alertmanagers: [] });
    expect(config.remote_write).toEqual([]);
    expect(config.remote_read).toEqual([]);
  });

  test("an empty global block keeps the defaults", () => {
    const { config } = parseConfig("global:\n", "prometheus.yml");
    expect(config.global.scrape_interval).toBe(M);
    expect(config.global.scrape_timeout).toBe(10 * S);
  });

  test("a short global interval caps the default timeout", () => {
    const { config } = parseConfig("global:\n  scrape_interval: 5s\n", "prometheus.yml");
    expect(config.global.scrape_timeout).toBe(5 * S);
  });

  test("a scrape config inherits and defaults like Prometheus", () => {
    const { config } = parseConfig(
      [
        "global:",
        "  scrape_interval: 20s",
        "  scrape_timeout: 15s",
        "  sample_limit: 100",
        "  body_size_limit: 1MB",
        "scrape_configs:",
        "  - job_name: a",
        "  - job_name: b",
        "    scrape_interval: 10s",
        "    sample_limit: 7",
      ].join("\n"),
      "prometheus.yml",
    );
    const [a, b] = config.scrape_configs;
    expect(a!.scrape_interval).toBe(20 * S);
    expect(a!.scrape_timeout).toBe(15 * S);
    expect(a!.sample_limit).toBe(100);
    expect(a!.body_size_limit).toBe(1024 * 1024);
    expect(a!.metrics_path).toBe("/metrics");
    expect(a!.scheme).toBe("http");
    expect(a!.honor_labels).toBe(false);
    expect(a!.honor_timestamps).toBe(true);
    expect(a!.track_timestamps_staleness).toBe(false);
    expect(a!.enable_compression).toBe(true);
    expect(a!.follow_redirects).toBe(true);
    expect(a!.enable_http2).toBe(true);
    expect(a!.tls_config).toEqual({ insecure_skip_verify: false });
    expect(a!.scrape_protocols).toEqual([...DEFAULT_SCRAPE_PROTOCOLS]);
    expect(a!.static_configs).toEqual([]);
    expect(a!.relabel_configs).toEqual([]);
    // The global timeout is longer than b's interval, so b's timeout is capped.
    expect(b!.scrape_interval).toBe(10 * S);
    expect(b!.scrape_timeout).toBe(10 * S);
    expect(b!.sample_limit).toBe(7);
  });

  test("relabel, SD, alerting and remote defaults", () => {
    const { config } = parseConfig(
      [
        "scrape_configs:",
        "  - job_name: j",
        "    relabel_configs: [{target_label: x}]",
        "    file_sd_configs: [{files: [a.json]}]",
        "    consul_sd_configs: [{}]",
        "    ec2_sd_configs: [{region: r}]",
        "    http_sd_configs: [{url: 'http://h/sd'}]",
        "    dns_sd_configs: [{names: [_x._tcp.example.org]}]",
        "alerting:",
        "  alertmanagers: [{static_configs: [{targets: ['am:9093']}]}]",
        "remote_write: [{url: 'http://rw/w'}]",
        "remote_read: [{url: 'http://rr/r'}]",
        "storage: {exemplars: {}}",
      ].join("\n"),
      "/etc/prometheus/prometheus.yml",
    );
    const sc = config.scrape_configs[0]!;
    expect(sc.relabel_configs[0]).toEqual({
      source_labels: [],
      separator: ";",
      regex: "(.*)",
      modulus: 0,
      target_label: "x",
      replacement: "$1",
      action: "replace",
    });
    expect(sc.file_sd_configs[0]).toEqual({ files: ["/etc/prometheus/a.json"], refresh_interval: 5 * M });
    const consul = sc.consul_sd_configs[0]!;
    expect([consul.server, consul.refresh_interval, consul.tag_separator, consul.allow_stale, consul.scheme])
      .toEqual(["localhost:8500", 30 * S, ",", true, "http"]);
    expect([sc.ec2_sd_configs[0]!.refresh_interval, sc.ec2_sd_configs[0]!.port]).toEqual([60 * S, 80]);
    expect(sc.http_sd_configs[0]!.refresh_interval).toBe(60 * S);
    expect([sc.dns_sd_configs[0]!.refresh_interval, sc.dns_sd_configs[0]!.type]).toEqual([30 * S, "SRV"]);

    const am = config.alerting.alertmanagers[0]!;
    expect([am.scheme, am.path_prefix, am.timeout, am.api_version, am.follow_redirects])
      .toEqual(["http", "", 10 * S, "v2", true]);

    const rw = config.remote_write[0]!;
    expect(rw.remote_timeout).toBe(30 * S);
    expect(rw.enable_http2).toBe(false);
    expect(rw.protobuf_message).toBe("prometheus.WriteRequest");
    expect(rw.queue_config).toEqual({
      capacity: 10000,
      max_shards: 50,
      min_shards: 1,
      max_samples_per_send: 2000,
      batch_send_deadline: 5 * S,
      min_backoff: 30,
      max_backoff: 5 * S,
      retry_on_http_429: false,
      sample_age_limit: 0,
    });
    expect(rw.metadata_config).toEqual({ send: true, send_interval: M, max_samples_per_send: 2000 });

    const rr = config.remote_read[0]!;
    expect([rr.remote_timeout, rr.read_recent, rr.filter_external_labels]).toEqual([M, false, true]);
    expect(config.storage.exemplars).toEqual({ max_exemplars: 100000 });
    expect(config.storage.tsdb).toBeUndefined();
  });
});

describe("a realistic full config", () => {
  const path = join(FIXTURES, "full.yml");
  const { config, warnings } = loadConfigFile(path);

  test("loads without warnings", () => expect(warnings).toEqual([]));

  test("global section", () => {
    expect(config.global.scrape_interval).toBe(15 * S);
    expect(config.global.scrape_timeout).toBe(10 * S);
    expect(config.global.evaluation_interval).toBe(30 * S);
    expect(config.global.external_labels).toEqual({ cluster: "eu-1", replica: "a" });
    expect(config.global.query_log_file).toBe(join(FIXTURES, "logs/queries.log"));
    expect(config.global.body_size_limit).toBe(64 * 1024 * 1024);
  });

  test("relative paths are resolved against the config file's directory", () => {
    expect(config.rule_files).toEqual([join(FIXTURES, "rules/*.yml"), "/etc/prometheus/extra.rules.yml"]);
    const node = config.scrape_configs.find((s) => s.job_name === "node")!;
    expect(node.basic_auth).toEqual({ username: "admin", password_file: join(FIXTURES, "secrets/node.pass") });
    expect(node.tls_config).toEqual({
      ca_file: join(FIXTURES, "certs/ca.pem"),
      cert_file: join(FIXTURES, "certs/client.pem"),
      key_file: join(FIXTURES, "certs/client.key"),
      insecure_skip_verify: true,
      min_version: "TLS12",
    });
    expect(node.file_sd_configs[0]!.files).toEqual([join(FIXTURES, "targets/*.json")]);
  });

  test("scrape jobs, including those from scrape_config_files", () => {
    expect(config.scrape_configs.map((s) => s.job_name)).toEqual(["prometheus", "node", "consul-services", "from-file"]);
    const node = config.scrape_configs[1]!;
    expect([node.scrape_interval, node.scrape_timeout, node.scheme, node.metrics_path]).toEqual([5 * S, 3 * S, "https", "/probe"]);
    expect(node.params).toEqual({ module: ["http_2xx"] });
    expect(node.sample_limit).toBe(50000);
    expect(node.relabel_configs.map((r) => r.action)).toEqual(["replace", "labeldrop", "hashmod"]);
    expect(node.relabel_configs[2]!.modulus).toBe(4);
    expect(node.metric_relabel_configs[0]!.regex).toBe("go_.*");
    const fromFile = config.scrape_configs[3]!;
    expect(fromFile.scrape_interval).toBe(M);
    expect(fromFile.file_sd_configs[0]!.files).toEqual([join(FIXTURES, "scrape.d/more/*.yml")]);
  });

  test("unimplemented SD mechanisms are kept as parsed YAML", () => {
    expect(config.scrape_configs[2]!["kubernetes_sd_configs"]).toEqual([{ role: "pod" }]);
    expect(config.scrape_configs[2]!.ec2_sd_configs[0]!.filters).toEqual([{ name: "tag:Env", values: ["prod"] }]);
  });

  test("alerting, remote, storage and tracing", () => {
    expect(config.alerting.alert_relabel_configs[0]!.action).toBe("labeldrop");
    expect(config.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(["am1:9093", "am2:9093"]);
    expect(config.alerting.alertmanagers[0]!.path_prefix).toBe("/am");
    const rw = config.remote_write[0]!;
    expect(rw.authorization).toEqual({ type: "Bearer", credentials: "s3cret" });
    expect(rw.queue_config.max_shards).toBe(10);
    expect(rw.queue_config.capacity).toBe(10000);
    expect(config.remote_read[0]!.read_recent).toBe(true);
    expect(config.storage.tsdb).toEqual({ out_of_order_time_window: 30 * M });
    expect(config.storage.exemplars).toEqual({ max_exemplars: 5000 });
    expect(config.tracing.endpoint).toBe("otel:4317");
  });

  test("configToYAML hides secrets, spells durations and round-trips", () => {
    const yaml = configToYAML(config);
    expect(yaml).toContain("credentials: <secret>");
    expect(yaml).not.toContain("s3cret");
    expect(yaml).toContain("scrape_interval: 15s");
    expect(yaml).toContain("out_of_order_time_window: 30m");
    expect(yaml).toContain("body_size_limit: 64MiB");
    expect(yaml).not.toContain("scrape_config_files");
    const again = parseConfig(yaml, path).config;
    expect(again.scrape_configs.map((s) => s.job_name)).toEqual(config.scrape_configs.map((s) => s.job_name));
    expect(again.remote_write[0]!.authorization).toEqual({ type: "Bearer", credentials: "<secret>" });
    expect({ ...again, remote_write: [] }).toEqual({ ...config, scrape_config_files: [], remote_write: [] });
    expect(configToYAML(again)).toBe(yaml);
  });
});

describe("Prometheus 0.x syntax", () => {
  test("target_groups and global.labels load in the modern shape with warnings", () => {
    const path = join(FIXTURES, "legacy.yml");
    const { config, warnings } = loadConfigFile(path);
    expect(config.global.external_labels).toEqual({ monitor: "codelab-monitor" });
    expect(config.scrape_configs[0]!.static_configs).toEqual([
      { targets: ["localhost:9090"], labels: { group: "production" } },
    ]);
    expect(config.scrape_configs[0]!.scrape_interval).toBe(5 * S);
    expect(warnings).toEqual([
      `${path}:4:3: field global.labels: deprecated Prometheus 0.x name, read as external_labels; rename it`,
      `${path}:10:5: field scrape_configs[0].target_groups: deprecated Prometheus 0.x name, read as static_configs; rename it`,
    ]);
    expect(configToYAML(config)).toContain("external_labels:");
    expect(configToYAML(config)).not.toContain("target_groups");
  });

  test("old and new spelling together is an error", () => {
    const e = configError("global:\n  external_labels: {a: b}\n  labels: {c: d}\n");
    expect([e.line, e.col, e.path]).toEqual([3, 3, "global.labels"]);
    expect(e.reason).toBe("cannot be used together with external_labels");
  });
});

describe("errors carry file:line:col and the field path", () => {
  test("unknown field", () => {
    const e = configError(
      ["global:", "  scrape_interval: 1m", "scrape_configs:", "  - job_name: a", "    scrape_intervl: 5s"].join("\n"),
    );
    expect(e.message).toBe("prometheus.yml:5:5: field scrape_configs[0].scrape_intervl not found in type config.ScrapeConfig");
    expect([e.file, e.line, e.col, e.path]).toEqual(["prometheus.yml", 5, 5, "scrape_configs[0].scrape_intervl"]);
  });

  test("unknown top-level field", () => {
    const e = configError("global: {}\nnonexistent_field: 1\n");
    expect(e.message).toBe("prometheus.yml:2:1: field nonexistent_field not found in type config.plain");
  });

  test("wrong types", () => {
    const cases: [string, number, number, string, string][] = [
      ["scrape_configs:\n  - job_name: a\n    sample_limit: lots\n", 3, 19, "scrape_configs[0].sample_limit", "cannot unmarshal !!str `lots` into uint"],
      ["scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", 3, 19, "scrape_configs[0].honor_labels", "cannot unmarshal !!str `maybe` into bool"],
      ["scrape_configs: {job_name: a}\n", 1, 17, "scrape_configs", "cannot unmarshal !!map into []config.ScrapeConfig"],
      ["global:\n  external_labels: [a, b]\n", 2, 20, "global.external_labels", "cannot unmarshal !!seq into map[string]string"],
      ["scrape_configs:\n  - job_name: [a]\n", 2, 15, "scrape_configs[0].job_name", "cannot unmarshal !!seq into string"],
      ["global: 5\n", 1, 9, "global", "cannot unmarshal !!int `5` into config.GlobalConfig"],
    ];
    for (const [text, line, col, path, reason] of cases) {
      const e = configError(text);
      expect({ line: e.line, col: e.col, path: e.path, reason: e.reason }).toEqual({ line, col, path, reason });
    }
  });

  test("bad durations and sizes", () => {
    let e = configError("global:\n  scrape_interval: 1x\n");
    expect(e.message).toBe('prometheus.yml:2:20: field global.scrape_interval: not a valid duration string: "1x"');
    e = configError("global:\n  evaluation_interval: 1.5m\n");
    expect([e.line, e.col, e.reason]).toEqual([2, 24, 'not a valid duration string: "1.5m"']);
    e = configError("scrape_configs:\n  - job_name: a\n    body_size_limit: 10XB\n");
    expect([e.line, e.col, e.path, e.reason]).toEqual([3, 22, "scrape_configs[0].body_size_limit", "units: unknown unit XB in 10XB"]);
  });

  test("bad regex", () => {
    const e = configError(
      ["scrape_configs:", "  - job_name: a", "    relabel_configs:", "      - source_labels: [x]", "        regex: '(foo'", "        target_label: y"].join("\n"),
    );
    expect([e.line, e.col, e.path]).toEqual([5, 16, "scrape_configs[0].relabel_configs[0].regex"]);
    expect(e.reason).toStartWith("error parsing regexp");
  });

  test("duplicate job names point at the second one", () => {
    const e = configError("scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n");
    expect(e.message).toBe('prometheus.yml:4:15: field scrape_configs[2].job_name: found multiple scrape configs with job name "a"');
  });

  test("missing job_name", () => {
    const e = configError("scrape_configs:\n  - scrape_interval: 5s\n");
    expect([e.line, e.col, e.path, e.reason]).toEqual([2, 5, "scrape_configs[0].job_name", "job_name is empty"]);
  });

  test("scrape_timeout greater than scrape_interval", () => {
    const e = configError("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n");
    expect(e.message).toBe(
      'prometheus.yml:4:21: field scrape_configs[0].scrape_timeout: scrape timeout greater than scrape interval for scrape config with job name "a"',
    );
    const g = configError("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n");
    expect([g.line, g.col, g.reason]).toEqual([3, 19, "global scrape timeout greater than scrape interval"]);
  });

  test("invalid relabel configs", () => {
    const rule = (body: string) => `scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - ${body}\n`;
    const cases: [string, string, number, number, string][] = [
      // A missing field is reported at the start of its object.
      ["{action: replace}", "relabel configuration for replace action requires 'target_label' value", 4, 9, "target_label"],
      ["{action: hashmod, target_label: t}", "relabel configuration for hashmod requires non-zero modulus", 4, 9, "modulus"],
      ["{action: labeldrop, source_labels: [a], regex: x}", "labeldrop action requires only 'regex', and no other fields", 4, 44, "source_labels"],
      ["{action: labeldrop, separator: ':'}", "labeldrop action requires only 'regex', and no other fields", 4, 9, ""],
      ["{action: frobnicate}", 'unknown relabel action "frobnicate"', 4, 18, "action"],
      ["{action: lowercase, target_label: t, replacement: x}", "'replacement' can not be set for lowercase action", 4, 59, "replacement"],
    ];
    for (const [body, reason, line, col, field] of cases) {
      const e = configError(rule(body));
      const path = "scrape_configs[0].relabel_configs[0]" + (field ? `.${field}` : "");
      expect({ reason: e.reason, line: e.line, col: e.col, path: e.path }).toEqual({ reason, line, col, path });
    }
  });

  test("null list entries", () => {
    const e = configError("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      -\n");
    expect(e.reason).toBe("empty or null target relabeling rule in scrape config");
    expect(e.path).toBe("scrape_configs[0].relabel_configs[0]");
  });

  test("YAML syntax errors are located", () => {
    const e = configError("global:\n  scrape_interval: 1m\n scrape_timeout: [\n");
    expect(e.line).toBe(3);
    expect(e.path).toBe("");
    expect(e.message).toStartWith("prometheus.yml:3:");
    // Like Prometheus (Go's YAML decoder), only the first document is read; later ones are not even parsed.
    const firstOnly = parseConfig("global: {scrape_interval: 7s}\n---\n[[[not yaml\n", "prometheus.yml");
    expect(firstOnly.config.global.scrape_interval).toBe(7000);
    const dup = configError("global:\n  scrape_interval: 1m\n  scrape_interval: 2m\n");
    expect([dup.line, dup.col, dup.reason]).toEqual([3, 3, "yaml: Map keys must be unique"]);
  });

  test("section-specific validation", () => {
    const cases: [string, string, string][] = [
      ["remote_write:\n  - name: x\n", "remote_write[0].url", "url for remote_write is empty"],
      ["remote_write:\n  - {url: 'http://a/w', name: q}\n  - {url: 'http://b/w', name: q}\n", "remote_write[1].name", 'found multiple remote write configs with job name "q"'],
      ["remote_write:\n  - url: http://a/w\n    headers: {X-Prometheus-Remote-Write-Version: '2'}\n", "remote_write[0].headers", "X-Prometheus-Remote-Write-Version is a reserved header. It must not be changed"],
      ["scrape_configs:\n  - job_name: a\n    bearer_token: x\n    bearer_token_file: y\n", "scrape_configs[0].bearer_token_file", "at most one of bearer_token & bearer_token_file must be configured"],
      ["scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    authorization: {credentials: c}\n", "scrape_configs[0].authorization", "at most one of basic_auth, oauth2 & authorization must be configured"],
      ["scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://x:80/']}]\n", "scrape_configs[0].static_configs[0].targets[0]", '"http://x:80/" is not a valid hostname'],
      ["scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [targets.txt]}]\n", "scrape_configs[0].file_sd_configs[0].files[0]", 'path name "targets.txt" is not valid for file discovery'],
      ["scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: A}]\n", "scrape_configs[0].dns_sd_configs[0].port", "a port is required in DNS-SD configs for all record types except SRV"],
      ["tracing:\n  insecure: true\n", "tracing.endpoint", "tracing endpoint must be set"],
      ["scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS9}\n", "scrape_configs[0].tls_config.min_version", "unknown TLS version: TLS9"],
      ["alerting:\n  alertmanagers:\n    - api_version: v1\n", "alerting.alertmanagers[0].api_version", "expected Alertmanager api version to be one of [v2] but got v1"],
      ["rule_files: ['rules/*/x.yml']\n", "rule_files[0]", 'invalid rule file path "rules/*/x.yml"'],
    ];
    for (const [text, path, reason] of cases) {
      const e = configError(text);
      expect({ path: e.path, reason: e.reason }).toEqual({ path, reason });
    }
  });

  test("a missing file is a ConfigError without position", () => {
    const path = join(FIXTURES, "does-not-exist.yml");
    expect(() => loadConfigFile(path)).toThrow(`${path}: open ${path}: no such file or directory`);
  });
});

describe("YAML features", () => {
  test("anchors, aliases and merge keys", () => {
    const { config } = parseConfig(
      [
        "scrape_configs:",
        "  - &base",
        "    job_name: a",
        "    scrape_interval: 5s",
        "    scrape_timeout: 2s",
        "  - <<: *base",
        "    job_name: b",
      ].join("\n"),
      "prometheus.yml",
    );
    expect(config.scrape_configs.map((s) => [s.job_name, s.scrape_interval, s.scrape_timeout])).toEqual([
      ["a", 5 * S, 2 * S],
      ["b", 5 * S, 2 * S],
    ]);
  });

  test("numbers in string fields keep their spelling", () => {
    const { config } = parseConfig("scrape_configs:\n  - job_name: 010\n    relabel_configs: [{target_label: t, replacement: 1.50}]\n", "p.yml");
    expect(config.scrape_configs[0]!.job_name).toBe("010");
    expect(config.scrape_configs[0]!.relabel_configs[0]!.replacement).toBe("1.50");
  });
});

describe("hostile YAML", () => {
  test("a recursive alias is an error, not a crash", () => {
    const e = configError("scrape_configs: &s\n  - job_name: a\n    static_configs: *s\n");
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toStartWith("prometheus.yml:");
  });

  test("alias fan-out is bounded", () => {
    const inner = Array.from({ length: 100 }, () => "{targets: *t}").join(", ");
    const lines = ["scrape_configs:", `  - {job_name: j0, static_configs: &sc [{targets: &t [a, b]}, ${inner}]}`];
    for (let i = 1; i < 200; i++) lines.push(`  - {job_name: j${i}, static_configs: *sc}`);
    const e = configError(lines.join("\n"));
    expect(e.reason).toBe("yaml: document contains too many aliases");
  });

  test("recursive aliases in sections kept as parsed YAML", () => {
    for (const text of ["runtime: &r {a: *r}\n", "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: &k [*k]\n"]) {
      const e = configError(text);
      expect(e.reason).toBe("yaml: document nests too deeply (recursive alias?)");
    }
  });
});

describe("more validation", () => {
  test("a job in scrape_config_files clashing with the main file is located in that file", () => {
    const main = join(FIXTURES, "dup/main.yml");
    const jobs = join(FIXTURES, "dup/jobs.yml");
    expect(() => loadConfigFile(main)).toThrow(
      `${jobs}:3:15: field scrape_configs[1].job_name: found multiple scrape configs with job name "node", first found in main config file`,
    );
  });

  test("duplicated scrape protocols", () => {
    const e = configError("scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusProto, PrometheusProto]\n");
    expect([e.line, e.col, e.path]).toEqual([3, 23, "scrape_configs[0].scrape_protocols"]);
    expect(e.reason).toBe('duplicated protocol in scrape_protocols, got [PrometheusProto PrometheusProto] for scrape config with job name "a"');
    const u = configError("global:\n  scrape_protocols: [Carrier-Pigeon]\n");
    expect(u.path).toBe("global.scrape_protocols[0]");
    expect(u.reason).toStartWith("unknown scrape protocol Carrier-Pigeon, supported: [PrometheusProto ");
  });

  test("merge keys: explicit keys win, the first merged source wins, recursion is an error", () => {
    const { config } = parseConfig(
      "scrape_configs:\n  - <<: [{job_name: x, metrics_path: /one}, {metrics_path: /two, scheme: https}]\n    job_name: y\n",
      "p.yml",
    );
    const sc = config.scrape_configs[0]!;
    expect([sc.job_name, sc.metrics_path, sc.scheme]).toEqual(["y", "/one", "https"]);
    const e = configError("scrape_configs:\n  - &a {job_name: a, <<: *a}\n");
    expect(e).toBeInstanceOf(ConfigError);
  });

  test("YAML 1.1 booleans that Prometheus accepts", () => {
    const { config } = parseConfig("scrape_configs:\n  - {job_name: a, honor_labels: yes, enable_compression: off}\n", "p.yml");
    expect([config.scrape_configs[0]!.honor_labels, config.scrape_configs[0]!.enable_compression]).toEqual([true, false]);
  });

  test("legacy bearer_token_file becomes an authorization block", () => {
    const { config } = parseConfig("scrape_configs:\n  - {job_name: a, bearer_token_file: tok}\n", "/etc/p/prometheus.yml");
    expect(config.scrape_configs[0]!.authorization).toEqual({ type: "Bearer", credentials_file: "/etc/p/tok" });
    expect("bearer_token_file" in config.scrape_configs[0]!).toBe(false);
  });

  test("remote write allows one auth mechanism", () => {
    const e = configError("remote_write:\n  - url: http://a/w\n    basic_auth: {username: u}\n    sigv4: {region: eu}\n");
    expect([e.path, e.reason]).toEqual([
      "remote_write[0].sigv4",
      "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [basic_auth sigv4]",
    ]);
  });
});

describe("configToYAML secrets", () => {
  test("secrets are hidden in typed and in raw sections", () => {
    const { config } = parseConfig(
      [
        "scrape_configs:",
        "  - job_name: k",
        "    basic_auth: {username: u, password: hunter2}",
        "    http_headers: {X-Token: {secrets: [tok1]}}",
        "    kubernetes_sd_configs:",
        "      - role: node",
        "        basic_auth: {username: u, password: hunter3}",
        "    consul_sd_configs: [{token: hunter4}]",
        "remote_write:",
        "  - url: http://user:hunter7@x/w",
        "    sigv4: {region: eu, access_key: AK, secret_key: hunter5}",
        "    tls_config: {cert: c, key: hunter6}",
      ].join("\n"),
      "p.yml",
    );
    const yaml = configToYAML(config);
    for (const secret of ["hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7", "tok1"]) expect(yaml).not.toContain(secret);
    expect(yaml).toContain("access_key: AK");
    expect(yaml).toContain("url: http://user:xxxxx@x/w");
    expect(yaml).toContain("role: node");
    expect(config.scrape_configs[0]!["kubernetes_sd_configs"]).toEqual([{ role: "node", basic_auth: { username: "u", password: "hunter3" } }]);
  });
});

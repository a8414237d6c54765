/**
 * Fuzz targets: every parser that reads outside input. A target runs one
 * input; a thrown error is *expected* when it is the parser's own refusal (a
 * located, named error), and a *crash* otherwise (TypeError, RangeError such
 * as a stack overflow, a non-Error throw, …). Hangs are caught by the runner.
 *
 * Seeds are valid inputs to mutate from; the dictionary holds tokens the
 * mutator splices in.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseAlertmanagerConfig, parseConfig } from "../../src/config/index.ts";
import { OpenMetricsParseError, parseOpenMetrics, parseText, TextParseError } from "../../src/model/index.ts";
import { ParseError, parseExpr } from "../../src/promql/index.ts";
import { parseRuleFile } from "../../src/rules/index.ts";
import { decodeXor, encodeXor } from "../../src/tsdb/chunkenc/index.ts";
import { IndexReader } from "../../src/tsdb/block/index_format.ts";
import { BlockFormatError } from "../../src/tsdb/block/index.ts";
import { writeBlock } from "../../src/tsdb/index.ts";
import { CorruptionError, decodeSamples, decodeSeries, encodeSamples, encodeSeries, segmentRecords, WAL } from "../../src/tsdb/wal/index.ts";
import { ApiError, parseDurationParam, parseMetricSelector, parseTime } from "../../src/web/api/index.ts";
import { decodeWriteV1, decodeWriteV2, encodeWriteV1, encodeWriteV2, ProtoError, SnappyError, snappyDecode, snappyEncode } from "../../src/remote/index.ts";
import { APIError, decodePostableAlerts, decodePostableSilence } from "../../src/alertmanager/api/index.ts";

export interface FuzzTarget {
  name: string;
  seeds: () => Uint8Array[] | Promise<Uint8Array[]>;
  dictionary: string[];
  /** Runs one input; throws what the code under test throws. */
  run: (input: Uint8Array) => void;
  /** Whether a thrown value is the parser's own refusal. */
  expected: (err: unknown) => boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (...s: string[]) => () => s.map((x) => enc.encode(x));

/** A refusal thrown on purpose: one of the named classes, or a plain Error with a message. */
function refusal(...classes: (abstract new (...a: never[]) => Error)[]) {
  return (err: unknown): boolean => {
    if (!(err instanceof Error)) return false;
    if (classes.some((c) => err instanceof c)) return true;
    return err.constructor === Error && err.message.length > 0;
  };
}

const EXPOSITION_SEEDS = text(
  '# HELP http_requests_total The total.\n# TYPE http_requests_total counter\nhttp_requests_total{method="post",code="200"} 1027 1395066363000\nhttp_requests_total{method="post",code="400"}    3 1395066363000\n',
  '# TYPE h histogram\nh_bucket{le="0.05"} 24054\nh_bucket{le="+Inf"} 144320\nh_sum 53423\nh_count 144320\n# TYPE s summary\ns{quantile="0.5"} 4773\ns_sum 1.7560473e+07\ns_count 2693\n',
  'metric_without_timestamp_and_labels 12.47\nsomething_weird{problem="division by zero"} +Inf -3982045\n{"quoted.name", "a.b"="c"} 1\nescaped{a="x\\"y\\\\z\\n"} NaN\n',
);

const OPENMETRICS_SEEDS = text(
  '# TYPE foo_seconds counter\n# HELP foo_seconds A counter.\n# UNIT foo_seconds seconds\nfoo_seconds_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67\nfoo_seconds_created 1520430000.123\n# TYPE g gauge\ng 1\n# EOF\n',
  '# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 3\nh_count 3\nh_sum 2\n# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\ns_sum 1\n# TYPE i info\ni_info{v="1"} 1\n# TYPE ss stateset\nss{ss="a"} 1\n# EOF\n',
);

const PROMQL_SEEDS = text(
  'sum by (job) (rate(http_requests_total{job=~"api|web", code!="200"}[5m] offset 1h @ 1609746000))',
  'histogram_quantile(0.9, sum without (instance) (rate(h_bucket[5m]))) > bool 0.5',
  'a * on (job) group_left (x) b and on (job) c',
  'max_over_time(deriv(m[1h:5m])[1d:1h]) / ignoring(a) (-(+3 ^ 2 % 4) * x) unless absent(nonexistent)',
  'label_replace(up, "d", "$1", "s", "(.*)") or count_values("v", topk(3, x)) or quantile(0.5, y) or {__name__=~".+"}',
  '"a string literal"',
);

const CONFIG_SEEDS = text(
  `global:
  scrape_interval: 15s
  external_labels: {region: eu}
rule_files: ["rules/*.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["localhost:9093"]}]
scrape_configs:
  - job_name: node
    honor_labels: true
    metrics_path: /metrics
    basic_auth: {username: u, password: p}
    static_configs:
      - targets: ["a:9100", "b:9100"]
        labels: {team: x}
    relabel_configs:
      - source_labels: [__address__]
        regex: "(.*):9100"
        target_label: host
        replacement: "$1"
    metric_relabel_configs:
      - action: drop
        regex: go_.*
        source_labels: [__name__]
  - job_name: files
    file_sd_configs: [{files: ["sd/*.json"], refresh_interval: 1m}]
  - job_name: consul
    consul_sd_configs: [{server: "localhost:8500", services: [web]}]
  - job_name: ec2
    ec2_sd_configs: [{region: eu-west-1, port: 9100, filters: [{name: "tag:env", values: [prod]}]}]
`,
);

const RULE_SEEDS = text(
  `groups:
  - name: example
    interval: 30s
    limit: 10
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels: {team: a}
      - alert: HighErrorRate
        expr: job:http_requests:rate5m > 0.5
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: "High error rate on {{ $labels.job }}: {{ $value | humanize }}"
`,
);

const AM_SEEDS = text(
  `global:
  resolve_timeout: 5m
route:
  receiver: team-x
  group_by: [alertname, cluster]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"', 'team=~"a|b"']
      receiver: pager
      continue: true
      mute_time_intervals: [offhours]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
receivers:
  - name: team-x
    webhook_configs: [{url: "http://localhost:5001/", send_resolved: true}]
  - name: pager
    webhook_configs: [{url: "http://localhost:5002/", max_alerts: 3}]
time_intervals:
  - name: offhours
    time_intervals:
      - times: [{start_time: "18:00", end_time: "24:00"}]
        weekdays: ["monday:friday"]
templates: ["/etc/am/*.tmpl"]
`,
);

async function walSegmentSeeds(): Promise<Uint8Array[]> {
  // A real segment: written by the WAL to a temporary directory, read back.
  const dir = mkdtempSync(join(tmpdir(), "promts-fuzz-wal-"));
  try {
    const wal = await WAL.open({ dir });
    wal.log([
      encodeSeries([{ ref: 1, labels: [{ name: "__name__", value: "up" }, { name: "job", value: "a" }] }, { ref: 2, labels: [{ name: "__name__", value: "x" }] }]),
      encodeSamples(Uint32Array.of(1, 2, 1), Float64Array.of(1000, 1000, 2000), Float64Array.of(1, 2.5, NaN), 3),
    ]);
    await wal.close();
    return [new Uint8Array(readFileSync(join(dir, "00000000")))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const AM_API_SEEDS = text(
  '[{"labels":{"alertname":"Down","job":"node"},"annotations":{"summary":"down"},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T01:00:00.123+01:00","generatorURL":"http://x/graph"}]',
  '{"matchers":[{"name":"alertname","value":"Down|Up","isRegex":true,"isEqual":false}],"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-02T00:00:00Z","createdBy":"me","comment":"c","id":"0b9e8c4e-1d0e-4a5a-9a3e-52b2d0c0a001"}',
);

export const TARGETS: FuzzTarget[] = [
  {
    name: "exposition-text",
    seeds: EXPOSITION_SEEDS,
    dictionary: ["# HELP ", "# TYPE ", " counter", " histogram", "{", "}", '="', '"', ",", "\\", "\n", " NaN", " +Inf", "_bucket", 'le="', "1e308", "\t"],
    run: (b) => { parseText(dec.decode(b)); },
    expected: refusal(TextParseError),
  },
  {
    name: "openmetrics",
    seeds: OPENMETRICS_SEEDS,
    dictionary: ["# EOF\n", "# TYPE ", "# UNIT ", "# HELP ", " # {", "_total", "_created", "stateset", "info", "gaugehistogram", "{", "}", '="', "\n", " 1.5e9"],
    run: (b) => { parseOpenMetrics(dec.decode(b)); },
    expected: refusal(OpenMetricsParseError),
  },
  {
    name: "promql",
    seeds: PROMQL_SEEDS,
    dictionary: ["(", ")", "[", "]", "{", "}", "[5m:1m]", " offset ", " @ ", "start()", "by", "without", "on", "ignoring", "group_left", "bool", "=~", "!~", '"', "`", "'", "\\", "1e400", "0x1f", "Inf", "NaN", "-", "^", "%", "atan2", "sum", "topk", "quantile_over_time", "histogram_quantile", "label_join", "#"],
    run: (b) => { parseExpr(dec.decode(b)); },
    expected: refusal(ParseError),
  },
  {
    name: "prometheus-yml",
    seeds: CONFIG_SEEDS,
    dictionary: [": ", "\n  ", "- ", "[", "]", "{", "}", "&a", "*a", "<<: *a", "!!binary", "~", "'", '"', "regex: ", "scrape_interval: ", "1y", "0s", "-1", "job_name: ", "targets: ", "%", "tls_config: {}", "oauth2: {}"],
    run: (b) => { parseConfig(dec.decode(b), "fuzz.yml"); },
    expected: refusal(ConfigError),
  },
  {
    name: "rule-file",
    seeds: RULE_SEEDS,
    dictionary: ["expr: ", "record: ", "alert: ", "for: ", "{{", "}}", "{{ $value }}", "{{ range . }}", "{{ end }}", "- ", "\n      ", "labels: ", "annotations: "],
    run: (b) => {
      const { errors } = parseRuleFile(dec.decode(b), "fuzz.rules.yml");
      if (errors.length > 0) throw errors[0];
    },
    expected: refusal(ConfigError),
  },
  {
    name: "alertmanager-yml",
    seeds: AM_SEEDS,
    dictionary: ["matchers: ", "receiver: ", "routes:", "- ", "=~", "!=", '"', "{{ .GroupLabels }}", "time_intervals:", "weekdays: ", "months: ", "days_of_month: ", "location: ", "'-1'", "inhibit_rules:"],
    run: (b) => { parseAlertmanagerConfig(dec.decode(b), "fuzz.am.yml"); },
    expected: refusal(ConfigError),
  },
  {
    name: "wal-records",
    seeds: walSegmentSeeds,
    dictionary: ["\x01", "\x02", "\x03", "\x04", "\x00\x00\x00\x00", "\xff\xff"],
    run: (b) => {
      const records = segmentRecords(b, "fuzz", 0);
      for (let r = records.next(); !r.done; r = records.next()) {
        const rec = r.value;
        if (rec[0] === 1) decodeSeries(rec);
        else if (rec[0] === 2) decodeSamples(rec);
      }
    },
    expected: refusal(CorruptionError),
  },
  {
    name: "xor-chunk",
    seeds: () => [encodeXor(Float64Array.of(1000, 2000, 3000, 4500, 9000), Float64Array.of(1, 1, 2.5, -7, NaN))],
    dictionary: ["\x00", "\xff", "\x00\x05", "\x80"],
    run: (b) => { decodeXor(b); },
    // The decoder refuses a bad chunk with a RangeError naming it; any other RangeError (a stack overflow) is a crash.
    expected: (err) => err instanceof RangeError && /^(XOR chunk|chunk of)/.test(err.message),
  },
  {
    name: "block-index",
    seeds: blockIndexSeeds,
    dictionary: ["\xba\xaa\xd7\x00", "\x02", "\x00\x00\x00\x00", "\xff\xff\xff\xff"],
    run: (b) => {
      const r = new IndexReader(b, "fuzz/index");
      const refs = r.allPostings();
      for (let i = 0; i < Math.min(refs.length, 100); i++) r.series(refs[i]!);
      for (const n of r.labelNames()) r.labelValues(n);
    },
    expected: refusal(BlockFormatError),
  },
  {
    name: "api-params",
    seeds: text("1609746000.123", "2021-01-04T07:40:00.123Z", "5m30s", "15.5", 'up{job=~"a|b",instance!=""}', "{a=\"b\"}", "-9223372036854775808"),
    dictionary: ["{", "}", "=~", "!~", '"', "1e30", "Inf", "NaN", "ms", "y", "T", "Z", "+01:00", "."],
    run: (b) => {
      const s = dec.decode(b);
      let refused: unknown;
      let accepted = false;
      for (const f of [parseTime, parseDurationParam, parseMetricSelector] as ((s: string) => unknown)[]) {
        try {
          f(s);
          accepted = true;
        } catch (err) {
          if (!(err instanceof ApiError) && !(err instanceof ParseError) && !(err instanceof Error && err.constructor === Error)) throw err;
          refused = err;
        }
      }
      if (!accepted) throw refused;
    },
    expected: refusal(ApiError, ParseError),
  },
  {
    name: "remote-write",
    seeds: remoteWriteSeeds,
    dictionary: ["\x0a", "\x12", "\x1a", "\x22", "\x08", "\x10", "\x09", "\xff\xff\xff\xff\x0f", "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", "\x00"],
    // The same bytes as a 1.0 WriteRequest and as a 2.0 Request; either may accept them.
    run: (b) => {
      let refused: unknown;
      let accepted = false;
      for (const decode of [decodeWriteV1, decodeWriteV2]) {
        try {
          decode(b);
          accepted = true;
        } catch (err) {
          refused = err;
        }
      }
      if (!accepted) throw refused;
    },
    expected: refusal(ProtoError),
  },
  {
    name: "snappy",
    seeds: () => remoteWriteSeeds().map((b) => snappyEncode(b)),
    dictionary: ["\x00", "\xff\xff\xff\xff\x0f", "\x01", "\x02", "\x03", "\xfc", "\xfd", "\xfe", "\xff"],
    run: (b) => { snappyDecode(b, 1 << 20); },
    expected: refusal(SnappyError),
  },
  {
    name: "alertmanager-api",
    seeds: AM_API_SEEDS,
    dictionary: ["[", "]", "{", "}", '"labels":', '"matchers":', '"startsAt":', '"isRegex":true', "null", "\\ud800", "\\u0000", "1e400", "T25:", "+99:99", ",", ":"],
    // A body of either endpoint; the API answers both with its own errors.
    run: (b) => {
      const s = dec.decode(b);
      let refused: unknown;
      let accepted = false;
      for (const decode of [decodePostableAlerts, decodePostableSilence] as ((s: string) => unknown)[]) {
        try {
          decode(s);
          accepted = true;
        } catch (err) {
          refused = err;
        }
      }
      if (!accepted) throw refused;
    },
    expected: refusal(APIError),
  },
];

function remoteWriteSeeds(): Uint8Array[] {
  const labels = (name: string, i: number) => [{ name: "__name__", value: name }, { name: "instance", value: `h${i}:9100` }, { name: "job", value: "node" }];
  return [
    encodeWriteV1([0, 1].map((i) => ({ labels: labels("up", i), t: [1000, 2000], v: [1, 0] })), [{ type: "counter", metricFamilyName: "up", help: "Up.", unit: "" }]),
    encodeWriteV2([0, 1].map((i) => ({ labels: labels("x_total", i), t: [1000], v: [i], metadata: { type: "counter", help: "X.", unit: "" }, createdTimestamp: 500 }))),
  ];
}

function blockIndexSeeds(): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), "promts-fuzz-block-"));
  try {
    const series = [0, 1, 2].map((i) => ({
      labels: [{ name: "__name__", value: "m" }, { name: "i", value: String(i) }],
      chunks: [{ mint: 0, maxt: 2000, data: encodeXor(Float64Array.of(0, 1000, 2000), Float64Array.of(i, i + 1, i + 2)) }],
    }));
    const meta = writeBlock(dir, series, { minTime: 0, maxTime: 3000 });
    return [new Uint8Array(readFileSync(join(dir, meta.ulid, "index")))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Differential test of `prometheus.yml` validation: every file of a
 * seeded corpus (valid configs and thousands of mutations of them) goes
 * through the real `promtool check config` (2.42, one process for all
 * files) and through promts's `checkConfigFiles`; both must accept or
 * reject it alike, except where the table below names a Prometheus version
 * difference (promts follows Prometheus 3.x). promts's failure messages
 * must also say FILE:LINE:COL and the field.
 *
 * Without promtool the test passes with a loud SKIPPED, unless
 * PROMTS_REQUIRE_PEERS=1. PROMTS_DIFF_SEED changes the random part of the
 * corpus.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configCorpus } from "./fixtures/config-diff/corpus.ts";
import { compare, runPromtool, runPromts, writeCorpus, type Comparison } from "./fixtures/config-diff/harness.ts";
import { formatTable, judge, unlocatedMessages, type KnownDifference } from "./fixtures/config-diff/verdicts.ts";
import { peerAvailable } from "../support/peers.ts";

const promtool = Bun.which("promtool");
const SEED = Number(process.env.PROMTS_DIFF_SEED ?? 1);

function available(): boolean {
  return peerAvailable(promtool, "promtool", "promtool not installed (apt-get install prometheus); config differential test not run");
}

const LABEL_NAMES_3X = "Prometheus 3.0 accepts any UTF-8 label name; 2.42 only [a-zA-Z_][a-zA-Z0-9_]*";

/**
 * Disagreements explained by a Prometheus version difference. Each entry
 * names the difference; everything not listed must agree.
 */
const KNOWN_DIFFERENCES: KnownDifference[] = [
  // UTF-8 label names (Prometheus 3.0).
  { match: /:value\d+:global\.external_labels=\{"(0bad|bad-name|with space|é|a\.b)"/, promtool: "reject", why: LABEL_NAMES_3X },
  { match: /:value\d+:.*static_configs\[\d+\]\.labels=\{"(0bad|bad-name|with space|é|a\.b)"/, promtool: "reject", why: LABEL_NAMES_3X },
  { match: /:value\d+:.*relabel_configs\[\d+\]\.source_labels=\["0bad"/, promtool: "reject", why: LABEL_NAMES_3X },
  { match: /:value\d+:remote_read\[0\]\.required_matchers=\{"(0bad|bad-name|with space|é|a\.b)"/, promtool: "reject", why: LABEL_NAMES_3X },
  // Go's regexp: Prometheus 3 is built with Go ≥ 1.22, whose regexp accepts (?<name>…); 2.42 used Go 1.19.
  { match: /\.regex="\(\?<n>a\)"$/, promtool: "reject", why: "Prometheus 3 (Go ≥ 1.22 regexp) accepts (?<name>…) groups; 2.42 (Go 1.19) does not" },
  // Discovery and HTTP client changes.
  { match: /dns_sd_configs\[1\]\.type="NS"$/, promtool: "reject", why: "DNS-SD record type NS was added in Prometheus 2.49" },
  { match: /^full:((delete|null|emptystring):scrape_configs\[3\]\.oauth2\.client_secret|random\d+-\d+:scrape_configs\[3\]\.oauth2\.client_secret=(""|null))$/, promtool: "reject", why: "prometheus/common in Prometheus 3 no longer requires an oauth2 client_secret" },
  { match: /^(full:value0:alerting\.alertmanagers\[0\]\.api_version="v1"|yaml:am-api-v1)$/, promtool: "accept", why: "Alertmanager api_version v1 was removed in Prometheus 3.0" },
  // Fields added after 2.42 (2.42 rejects them as unknown).
  { match: /^newer:global\.rule_query_offset$/, promtool: "reject", why: "global rule_query_offset was added in Prometheus 2.53" },
  { match: /^newer:global\.(body_size_limit|sample_limit)$/, promtool: "reject", why: "global scrape limits were added in Prometheus 2.45" },
  { match: /^newer:(global|scrape_configs\[0\])\.keep_dropped_targets$/, promtool: "reject", why: "keep_dropped_targets was added in Prometheus 2.47" },
  { match: /^newer:(global|scrape_configs\[0\])\.scrape_protocols$/, promtool: "reject", why: "scrape_protocols was added in Prometheus 2.49" },
  { match: /^newer:global\.metric_name_validation_scheme$/, promtool: "reject", why: "metric_name_validation_scheme was added after 2.42 (UTF-8 names, Prometheus 3)" },
  { match: /^newer:global\.scrape_failure_log_file$/, promtool: "reject", why: "scrape_failure_log_file was added in Prometheus 3.0" },
  { match: /^newer:scrape_configs\[0\]\.enable_compression$/, promtool: "reject", why: "enable_compression was added in Prometheus 2.49" },
  { match: /^newer:scrape_configs\[0\]\.track_timestamps_staleness$/, promtool: "reject", why: "track_timestamps_staleness was added in Prometheus 2.48" },
  { match: /^newer:scrape_configs\[0\]\.native_histogram_bucket_limit$/, promtool: "reject", why: "native_histogram_bucket_limit was added in Prometheus 2.45" },
  { match: /^newer:scrape_configs\[0\]\.native_histogram_min_bucket_factor$/, promtool: "reject", why: "native_histogram_min_bucket_factor was added in Prometheus 2.50" },
  { match: /^newer:scrape_configs\[0\]\.scrape_classic_histograms$/, promtool: "reject", why: "scrape_classic_histograms was added in Prometheus 2.45 (renamed always_scrape_classic_histograms in 3.0)" },
  { match: /^newer:scrape_configs\[0\]\.(always_scrape_classic_histograms|convert_classic_histograms_to_nhcb|fallback_scrape_protocol)$/, promtool: "reject", why: "added in Prometheus 3.0" },
  { match: /^newer:scrape_configs\[0\]\.http_headers$/, promtool: "reject", why: "http_headers (prometheus/common) arrived after 2.42, in the Prometheus 3 line" },
  { match: /^newer:scrape_configs\[\d\]\.(no_proxy|proxy_from_environment)$/, promtool: "reject", why: "no_proxy and proxy_from_environment were added in Prometheus 2.43" },
  { match: /^newer:remote_write\[0\]\.(round_robin_dns|protobuf_message)$/, promtool: "reject", why: "round_robin_dns and protobuf_message (remote write 2.0) were added in Prometheus 3.0" },
  { match: /^newer:remote_write\[0\]\.queue_config\.sample_age_limit$/, promtool: "reject", why: "queue_config.sample_age_limit was added in Prometheus 2.50" },
  { match: /^newer:alerting\.alertmanagers\[0\]\.sigv4$/, promtool: "reject", why: "sigv4 for Alertmanagers was added after 2.42 (Prometheus 2.48)" },
  { match: /^newer:scrape_config_files$/, promtool: "reject", why: "scrape_config_files was added in Prometheus 2.43" },
  { match: /^newer:otlp$/, promtool: "reject", why: "the otlp section was added in Prometheus 2.47" },
];

/**
 * Not a version difference: Prometheus (2.42 and 3.x alike) asks the EC2
 * instance metadata service for a missing ec2_sd_configs region while
 * loading the file, so off EC2 it refuses the file; promts asks when
 * discovery starts, so loading accepts it everywhere.
 */
const ENVIRONMENT_DIFFERENCES: KnownDifference[] = [
  { match: /^(full:(delete|null|emptystring):scrape_configs\[2\]\.ec2_sd_configs\[0\]\.region|yaml:ec2-no-region)$/, promtool: "reject", why: "EC2 region looked up from instance metadata at load time (Prometheus) vs at discovery time (promts)" },
];

let dir = "";
let comparisons: Comparison[] = [];

beforeAll(() => {
  if (!promtool) return;
  dir = mkdtempSync(join(tmpdir(), "promts-config-diff-"));
  const cases = configCorpus(SEED);
  const files = writeCorpus(dir, cases);
  comparisons = compare(cases, files, runPromtool(promtool, "config", dir, files), runPromts("config", dir, files));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("prometheus.yml validation against promtool 2.42", () => {
  test("the corpus is large and both verdicts occur", () => {
    if (!available()) return;
    expect(comparisons.length).toBeGreaterThan(2000);
    expect(comparisons.filter((c) => c.promtool.accepted).length).toBeGreaterThan(500);
    expect(comparisons.filter((c) => !c.promtool.accepted).length).toBeGreaterThan(1000);
    expect(comparisons.find((c) => c.case.name === "full:base")?.promtool.accepted).toBe(true);
  });

  test("promts accepts and rejects the same files, version differences aside", () => {
    if (!available()) return;
    const { unexplained, stale, overclaimed } = judge(comparisons, [...KNOWN_DIFFERENCES, ...ENVIRONMENT_DIFFERENCES]);
    if (unexplained.length > 0) console.error(`Unexplained disagreements (files in ${dir}):\n${formatTable(unexplained)}`);
    if (overclaimed.length > 0) console.error(`Known-difference entries matching agreeing cases:\n${formatTable(overclaimed)}`);
    expect(unexplained.map((c) => c.case.name)).toEqual([]);
    expect(overclaimed.map((c) => c.case.name)).toEqual([]);
    expect(stale.map((k) => k.why)).toEqual([]);
  });

  test("every promts rejection says FILE:LINE:COL and the field", () => {
    if (!available()) return;
    const unlocated = unlocatedMessages(comparisons);
    if (unlocated.length > 0) console.error(`Messages without a place:\n${formatTable(unlocated)}`);
    expect(unlocated.map((c) => c.case.name)).toEqual([]);
  });
});

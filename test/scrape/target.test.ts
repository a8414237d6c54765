import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord, labelsToRecord } from "../../src/model/index.ts";
import { acceptHeader, populateTargetLabels, targetURL, type ScrapeJobConfig } from "../../src/scrape/index.ts";

function job(yaml: string): ScrapeJobConfig {
  return parseConfig(`scrape_configs:\n${yaml}`, "test.yml").config.scrape_configs[0]!;
}

describe("populateTargetLabels", () => {
  test("adds Prometheus's defaults, instance and keeps group labels", () => {
    const cfg = job(`  - job_name: node\n    scrape_interval: 30s\n    scrape_timeout: 5s\n    params: {module: [if_mib, x]}\n`);
    const r = populateTargetLabels(labelsFromRecord({ env: "prod", team: "a" }), labelsFromRecord({ __address__: "h:9100", team: "b" }), cfg);
    expect(r.kind).toBe("active");
    if (r.kind !== "active") return;
    expect(labelsToRecord(r.labels)).toEqual({
      __address__: "h:9100", __metrics_path__: "/metrics", __param_module: "if_mib", __scheme__: "http",
      __scrape_interval__: "30s", __scrape_timeout__: "5s", env: "prod", instance: "h:9100", job: "node", team: "b",
    });
    expect(labelsToRecord(r.discovered)).not.toHaveProperty("instance");
  });

  test("relabel_configs run on the discovered labels; __meta_ labels are removed afterwards", () => {
    const cfg = job(`  - job_name: node
    relabel_configs:
      - source_labels: [__meta_port]
        regex: (.+)
        target_label: __address__
        replacement: host:$1
      - source_labels: [__meta_zone]
        target_label: zone
      - source_labels: [__address__]
        regex: (.*):.*
        target_label: instance
`);
    const r = populateTargetLabels([], labelsFromRecord({ __address__: "x", __meta_port: "9100", __meta_zone: "eu" }), cfg);
    expect(r.kind).toBe("active");
    if (r.kind !== "active") return;
    const rec = labelsToRecord(r.labels);
    expect(rec.__address__).toBe("host:9100");
    expect(rec.zone).toBe("eu");
    expect(rec.instance).toBe("host");
    expect(Object.keys(rec).some((k) => k.startsWith("__meta_"))).toBe(false);
  });

  test("a keep that does not match drops the target", () => {
    const cfg = job(`  - job_name: node\n    relabel_configs: [{source_labels: [__address__], regex: "keep.*", action: keep}]\n`);
    const r = populateTargetLabels([], labelsFromRecord({ __address__: "other:1" }), cfg);
    expect(r).toEqual({ kind: "dropped", discovered: expect.anything() });
  });

  test("invalid targets are dropped with an error", () => {
    const cfg = job(`  - job_name: node\n    relabel_configs: [{target_label: __address__, replacement: ""}]\n`);
    expect(populateTargetLabels([], labelsFromRecord({ __address__: "h:1" }), cfg)).toMatchObject({ kind: "dropped", error: "no address" });
    const cfg2 = job(`  - job_name: node\n`);
    expect(populateTargetLabels([], labelsFromRecord({ __address__: "h:1", __scrape_timeout__: "1h" }), cfg2)).toMatchObject({
      kind: "dropped",
      error: 'scrape timeout cannot be greater than scrape interval ("1h" > "1m")',
    });
    expect(populateTargetLabels([], labelsFromRecord({ __address__: "h:1/x" }), cfg2)).toMatchObject({ error: '"h:1/x" is not a valid hostname' });
    expect(populateTargetLabels([], labelsFromRecord({ __address__: "h:1", __scrape_interval__: "soon" }), cfg2)).toMatchObject({
      error: 'error parsing scrape interval: not a valid duration string: "soon"',
    });
  });
});

describe("targetURL", () => {
  test("__param_ labels override the first value of a param", () => {
    const ls = labelsFromRecord({ __address__: "h:1", __scheme__: "https", __metrics_path__: "/probe", __param_target: "a b", __param_extra: "1" });
    expect(targetURL(ls, { target: ["orig", "second"], module: ["m"] })).toBe("https://h:1/probe?extra=1&module=m&target=a%20b&target=second");
  });
});

describe("acceptHeader", () => {
  test("weights protocols in order and skips unsupported ones", () => {
    expect(acceptHeader(["PrometheusText0.0.4"])).toBe("text/plain;version=0.0.4;q=0.2,*/*;q=0.1");
    expect(acceptHeader(["PrometheusProto", "OpenMetricsText1.0.0", "PrometheusText0.0.4"])).toBe(
      "application/openmetrics-text;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
    );
  });
});

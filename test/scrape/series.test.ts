import { describe, expect, test } from "bun:test";
import { labelsFromRecord, labelsKey } from "../../src/model/index.ts";
import { mergeTargetLabels, TargetSeries, type AppendSettings } from "../../src/scrape/index.ts";
import { RecordingAppender } from "./helpers.ts";

const TARGET = labelsFromRecord({ job: "node", instance: "h:9100" });

function settings(over: Partial<AppendSettings> = {}): AppendSettings {
  return {
    honorLabels: false, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0,
    labelNameLengthLimit: 0, labelValueLengthLimit: 0, metricRelabel: [], nameValidation: "utf8", ...over,
  };
}

const key = (rec: Record<string, string>) => labelsKey(labelsFromRecord({ job: "node", instance: "h:9100", ...rec }));

describe("TargetSeries.appendBody", () => {
  test("appends samples with target labels and caches series", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    const body = '# TYPE a counter\na{x="1"} 10\nb 2\n';
    const r1 = ts.appendBody(app, body, "text/plain; version=0.0.4", 1000);
    expect(r1).toEqual({ scraped: 2, postRelabel: 2, added: 2, error: null, outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
    expect(app.series(key({ __name__: "a", x: "1" }))).toEqual([{ t: 1000, v: 10, stale: false }]);
    const refCalls = app.refCalls;
    const r2 = ts.appendBody(app, body, "text/plain", 2000);
    expect(r2.added).toBe(0);
    expect(app.refCalls).toBe(refCalls); // cache hit: no new ref lookups
    expect(app.series(key({ __name__: "b" }))).toEqual([{ t: 1000, v: 2, stale: false }, { t: 2000, v: 2, stale: false }]);
    expect(ts.cacheSize()).toBe(2);
  });

  test("a series missing from the next scrape gets a staleness marker once", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1\nb 2\n", "", 1000);
    ts.appendBody(app, "a 1\n", "", 2000);
    ts.appendBody(app, "a 1\n", "", 3000);
    expect(app.series(key({ __name__: "b" }))).toEqual([{ t: 1000, v: 2, stale: false }, { t: 2000, v: NaN, stale: true }]);
    expect(app.series(key({ __name__: "a" })).every((s) => !s.stale)).toBe(true);
    expect(ts.cacheSize()).toBe(1);
  });

  test("a NaN value is not a staleness marker", () => {
    const app = new RecordingAppender();
    new TargetSeries(TARGET, settings()).appendBody(app, "a NaN\n", "", 1000);
    expect(app.series(key({ __name__: "a" }))).toEqual([{ t: 1000, v: NaN, stale: false }]);
  });

  test("a parse error appends nothing of the body and marks previous series stale", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1\n", "", 1000);
    const r = ts.appendBody(app, "new_series 1\na{b=} 1\n", "", 2000);
    expect(r.error).toContain("expected label value");
    expect(r.scraped).toBe(1);
    expect(r.postRelabel).toBe(0);
    expect(app.series(key({ __name__: "new_series" }))).toEqual([]);
    expect(app.seriesKeys()).toEqual([key({ __name__: "a" })]);
    expect(app.series(key({ __name__: "a" }))[1]).toEqual({ t: 2000, v: NaN, stale: true });
  });

  test("duplicate label names fail the scrape", () => {
    const app = new RecordingAppender();
    const r = new TargetSeries(TARGET, settings()).appendBody(app, 'a{x="1",x="2"} 1\n', "", 1000);
    expect(r.error).toContain('label name "x" is not unique');
    expect(app.batches).toBe(0);
  });

  test("explicit timestamps are honored and not tracked for staleness", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1 500\n", "", 1000);
    ts.appendBody(app, "", "", 2000);
    expect(app.series(key({ __name__: "a" }))).toEqual([{ t: 500, v: 1, stale: false }]);
  });

  test("honor_timestamps=false uses the scrape time", () => {
    const app = new RecordingAppender();
    new TargetSeries(TARGET, settings({ honorTimestamps: false })).appendBody(app, "a 1 500\n", "", 1000);
    expect(app.series(key({ __name__: "a" }))).toEqual([{ t: 1000, v: 1, stale: false }]);
  });

  test("sample_limit fails the whole scrape", () => {
    const app = new RecordingAppender();
    const r = new TargetSeries(TARGET, settings({ sampleLimit: 2 })).appendBody(app, "a 1\nb 1\nc 1\n", "", 1000);
    expect(r.error).toBe("sample limit exceeded");
    expect(r.exceeded).toBe("sample");
    expect(app.seriesKeys()).toEqual([]);
  });

  test("label limits fail the scrape with Prometheus's messages", () => {
    const app = new RecordingAppender();
    const r = new TargetSeries(TARGET, settings({ labelLimit: 3 })).appendBody(app, 'a{x="1"} 1\n', "", 1000);
    expect(r.error).toBe("label_limit exceeded (metric: a, number of labels: 4, limit: 3)");
    expect(r.exceeded).toBe("label");
    const r2 = new TargetSeries(TARGET, settings({ labelValueLengthLimit: 7 })).appendBody(app, 'a{x="longvalue"} 1\n', "", 1000);
    expect(r2.error).toBe('label_value_length_limit exceeded (metric: a, label name: x, value: "longvalue", length: 9, limit: 7)');
    const r3 = new TargetSeries(TARGET, settings({ labelNameLengthLimit: 8 })).appendBody(app, 'a{longername="v"} 1\n', "", 1000);
    expect(r3.error).toContain("label_name_length_limit exceeded (metric: a, label name: longername, length: 10, limit: 8)");
  });

  test("metric_relabel_configs drop series and are cached as dropped", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings({ metricRelabel: [{ source_labels: ["__name__"], regex: "drop_.*", action: "drop" }] }));
    const r = ts.appendBody(app, "drop_me 1\nkeep_me 2\n", "", 1000);
    expect(r).toMatchObject({ scraped: 2, postRelabel: 1, added: 1 });
    expect(app.seriesKeys()).toEqual([key({ __name__: "keep_me" })]);
    const r2 = ts.appendBody(app, "drop_me 1\nkeep_me 2\n", "", 2000);
    expect(r2).toMatchObject({ scraped: 2, postRelabel: 1, added: 0 });
  });

  test("a storage ref that became unknown is re-resolved", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1\n", "", 1000);
    app.forget(key({ __name__: "a" }));
    ts.appendBody(app, "a 2\n", "", 2000);
    expect(app.series(key({ __name__: "a" }))).toEqual([{ t: 2000, v: 2, stale: false }]);
  });

  test("OpenMetrics bodies go through the OpenMetrics parser", () => {
    const app = new RecordingAppender();
    const r = new TargetSeries(TARGET, settings()).appendBody(app, "# TYPE a counter\na_total 3 1.5\n# EOF\n", "application/openmetrics-text; version=1.0.0", 9000);
    expect(r.error).toBeNull();
    expect(app.series(key({ __name__: "a_total" }))).toEqual([{ t: 1500, v: 3, stale: false }]);
  });

  test("report series and their end-of-run staleness", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendReport(app, 1000, { up: 1, durationSeconds: 0.5, scraped: 3, postRelabel: 2, added: 1 });
    expect(app.series(key({ __name__: "up" }))).toEqual([{ t: 1000, v: 1, stale: false }]);
    expect(app.series(key({ __name__: "scrape_samples_post_metric_relabeling" }))[0]!.v).toBe(2);
    ts.appendReportStale(app, 2000);
    expect(app.series(key({ __name__: "scrape_series_added" }))[1]).toEqual({ t: 2000, v: NaN, stale: true });
  });
});

describe("mergeTargetLabels", () => {
  const sample = labelsFromRecord({ __name__: "m", job: "exported", instance: "i", exported_job: "taken" });
  test("target labels win and conflicts become exported_*", () => {
    expect(mergeTargetLabels(sample, TARGET, false)).toEqual(
      labelsFromRecord({ __name__: "m", job: "node", instance: "h:9100", exported_instance: "i", exported_job: "taken", exported_exported_job: "exported" }),
    );
  });
  test("honor_labels keeps the sample's labels", () => {
    expect(mergeTargetLabels(labelsFromRecord({ __name__: "m", job: "exported" }), TARGET, true)).toEqual(
      labelsFromRecord({ __name__: "m", job: "exported", instance: "h:9100" }),
    );
  });
});

describe("TargetSeries series-order guesses", () => {
  test("reordered, inserted and removed series keep their own refs and values", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, 'a{x="1"} 1\na{x="2"} 2\nb 3\nc 4\n', "", 1000);
    const r = ts.appendBody(app, 'c 40\nz 9\na{x="1"} 10\nb 30\n', "", 2000);
    expect(r.added).toBe(1);
    expect(app.series(key({ __name__: "a", x: "1" })).map((s) => s.v)).toEqual([1, 10]);
    expect(app.series(key({ __name__: "b" })).map((s) => s.v)).toEqual([3, 30]);
    expect(app.series(key({ __name__: "c" })).map((s) => s.v)).toEqual([4, 40]);
    expect(app.series(key({ __name__: "z" })).map((s) => s.v)).toEqual([9]);
    expect(app.series(key({ __name__: "a", x: "2" })).map((s) => s.stale)).toEqual([false, true]);
    ts.appendBody(app, 'c 41\nz 91\na{x="1"} 11\nb 31\n', "", 3000);
    expect(app.series(key({ __name__: "z" })).map((s) => s.v)).toEqual([9, 91]);
    expect(ts.cacheSize()).toBe(4);
  });

  test("a name that prefixes the next series is not mistaken for it", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1\n", "", 1000);
    ts.appendBody(app, 'a {x="1"} 2\n', "", 2000);
    expect(app.series(key({ __name__: "a", x: "1" })).map((s) => s.v)).toEqual([2]);
    expect(app.series(key({ __name__: "a" })).map((s) => s.stale)).toEqual([false, true]);
  });

  test("a failed scrape does not leave uncommitted series behind as guesses", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "a 1\n", "", 1000);
    expect(ts.appendBody(app, "new 1\nbroken{\n", "", 2000).error).not.toBeNull();
    const r = ts.appendBody(app, "new 5\na 2\n", "", 3000);
    expect(r.error).toBeNull();
    expect(app.series(key({ __name__: "new" })).map((s) => s.v)).toEqual([5]);
    expect(app.series(key({ __name__: "a" })).map((s) => s.v)).toEqual([1, NaN, 2]);
  });
});

describe("TargetSeries.metadata", () => {
  test("text format TYPE and HELP per family; untyped is reported as unknown", () => {
    const ts = new TargetSeries(TARGET, settings());
    const body = "# HELP a_total Things done.\\n\n# TYPE a_total counter\na_total 1\n# TYPE u untyped\nu 2\n# HELP h Only help.\nh 3\nplain 4\n";
    expect(ts.appendBody(new RecordingAppender(), body, "text/plain", 1000).error).toBeNull();
    expect(ts.metadata()).toEqual([
      { metric: "a_total", type: "counter", help: "Things done.\n", unit: "" },
      { metric: "u", type: "unknown", help: "", unit: "" },
      { metric: "h", type: "unknown", help: "Only help.", unit: "" },
    ]);
  });

  test("OpenMetrics TYPE, HELP and UNIT; undeclared families are not listed", () => {
    const ts = new TargetSeries(TARGET, settings());
    const body = "# TYPE req_seconds histogram\n# UNIT req_seconds seconds\n# HELP req_seconds Latency.\nreq_seconds_count 1\nreq_seconds_sum 2\nother 3\n# EOF\n";
    expect(ts.appendBody(new RecordingAppender(), body, "application/openmetrics-text; version=1.0.0", 1000).error).toBeNull();
    expect(ts.metadata()).toEqual([{ metric: "req_seconds", type: "histogram", help: "Latency.", unit: "seconds" }]);
  });

  test("a family's metadata outlives its last scrape by 10 scrapes, then goes", () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, settings());
    ts.appendBody(app, "# TYPE old gauge\nold 1\n# TYPE keep gauge\nkeep 1\n", "", 1000);
    for (let i = 1; i <= 10; i++) ts.appendBody(app, "# TYPE keep gauge\nkeep 1\n", "", 1000 + i * 1000);
    expect(ts.metadata().map((m) => m.metric)).toEqual(["old", "keep"]);
    ts.appendBody(app, "# TYPE keep gauge\nkeep 1\n", "", 20_000);
    expect(ts.metadata()).toEqual([{ metric: "keep", type: "gauge", help: "", unit: "" }]);
  });
});

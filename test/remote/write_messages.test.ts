import { describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import { decodeWriteV1, decodeWriteV2, encodeWriteV1, encodeWriteV2, ProtoError, ProtoReader, ProtoWriter } from "../../src/remote/index.ts";
import { seededRandom } from "../support/random.ts";

// The message shapes of prometheus/prompb and io/prometheus/write/v2, written by an independent encoder.
const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: "repeated", type: "TimeSeries", id: 1 }, metadata: { rule: "repeated", type: "MetricMetadata", id: 3 } } },
        TimeSeries: {
          fields: {
            labels: { rule: "repeated", type: "Label", id: 1 },
            samples: { rule: "repeated", type: "Sample", id: 2 },
            exemplars: { rule: "repeated", type: "Exemplar", id: 3 },
            histograms: { rule: "repeated", type: "Histogram", id: 4 },
          },
        },
        Label: { fields: { name: { type: "string", id: 1 }, value: { type: "string", id: 2 } } },
        Sample: { fields: { value: { type: "double", id: 1 }, timestamp: { type: "int64", id: 2 } } },
        Exemplar: { fields: { labels: { rule: "repeated", type: "Label", id: 1 }, value: { type: "double", id: 2 }, timestamp: { type: "int64", id: 3 } } },
        Histogram: { fields: { count_int: { type: "uint64", id: 1 }, sum: { type: "double", id: 3 }, timestamp: { type: "int64", id: 15 } } },
        MetricMetadata: { fields: { type: { type: "int32", id: 1 }, metric_family_name: { type: "string", id: 2 }, help: { type: "string", id: 4 }, unit: { type: "string", id: 5 } } },
      },
    },
    v2: {
      nested: {
        Request: { fields: { symbols: { rule: "repeated", type: "string", id: 4 }, timeseries: { rule: "repeated", type: "TimeSeries", id: 5 } } },
        TimeSeries: {
          fields: {
            labels_refs: { rule: "repeated", type: "uint32", id: 1 },
            samples: { rule: "repeated", type: "prometheus.Sample", id: 2 },
            histograms: { rule: "repeated", type: "prometheus.Histogram", id: 3 },
            exemplars: { rule: "repeated", type: "Exemplar", id: 4 },
            metadata: { type: "Metadata", id: 5 },
            created_timestamp: { type: "int64", id: 6 },
          },
        },
        Exemplar: { fields: { labels_refs: { rule: "repeated", type: "uint32", id: 1 }, value: { type: "double", id: 2 }, timestamp: { type: "int64", id: 3 } } },
        Metadata: { fields: { type: { type: "int32", id: 1 }, help_ref: { type: "uint32", id: 3 }, unit_ref: { type: "uint32", id: 4 } } },
      },
    },
  },
});
const V1 = root.lookupType("prometheus.WriteRequest");
const V2 = root.lookupType("v2.Request");

describe("Remote-Write 1.0 messages", () => {
  test("decodes what an independent encoder writes: labels, samples, exemplars, histograms, metadata", () => {
    const bytes = V1.encode(V1.fromObject({
      timeseries: [
        {
          labels: [{ name: "__name__", value: "up" }, { name: "job", value: "nödé ☃" }],
          samples: [{ value: 1, timestamp: 1_700_000_000_000 }, { value: -0.5, timestamp: -1500 }, { value: 0, timestamp: 0 }],
          exemplars: [{ labels: [{ name: "trace_id", value: "abc" }], value: 1, timestamp: 5 }],
        },
        { labels: [{ name: "__name__", value: "h" }], histograms: [{ count_int: 3, sum: 1.5, timestamp: 7 }, { count_int: 1, sum: 2, timestamp: 8 }] },
      ],
      metadata: [{ type: 1, metric_family_name: "up", help: "Up.", unit: "" }],
    })).finish();
    const d = decodeWriteV1(bytes);
    expect(d.series).toEqual([
      [{ name: "__name__", value: "up" }, { name: "job", value: "nödé ☃" }],
      [{ name: "__name__", value: "h" }],
    ]);
    expect(d.samples).toBe(3);
    expect(Array.from(d.sampleSeries.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(d.t.subarray(0, 3))).toEqual([1_700_000_000_000, -1500, 0]);
    expect(Array.from(d.v.subarray(0, 3))).toEqual([1, -0.5, 0]);
    expect(d.exemplars).toBe(1);
    expect(d.histograms).toBe(2);
    expect(d.histogramsBySeries.get(1)).toBe(2);
    expect(d.metadata).toEqual([{ metricFamilyName: "up", type: "counter", help: "Up.", unit: "" }]);
  });

  test("what promts encodes, an independent decoder reads back", () => {
    const random = seededRandom(3);
    const series = Array.from({ length: 50 }, (_, s) => ({
      labels: [{ name: "__name__", value: `m${s}` }, { name: "long", value: "x".repeat(s * 7 + 1) }],
      t: Array.from({ length: s % 5 }, (_, i) => Math.floor((random() - 0.3) * 2 ** 52)),
      v: Array.from({ length: s % 5 }, () => (random() - 0.5) * 1e300),
    }));
    const obj = V1.toObject(V1.decode(encodeWriteV1(series)), { longs: Number }) as { timeseries: { labels: unknown[]; samples?: { value: number; timestamp: number }[] }[] };
    expect(obj.timeseries.length).toBe(50);
    obj.timeseries.forEach((ts, s) => {
      expect(ts.labels).toEqual(series[s]!.labels.map((l) => ({ ...l })));
      expect((ts.samples ?? []).map((x) => x.timestamp)).toEqual(series[s]!.t);
      expect((ts.samples ?? []).map((x) => x.value)).toEqual(series[s]!.v);
    });
    const back = decodeWriteV1(encodeWriteV1(series));
    expect(back.samples).toBe(series.reduce((n, s) => n + s.t.length, 0));
  });

  test("refuses invalid UTF-8 in a label, naming the series", () => {
    const w = new ProtoWriter();
    w.fork(1);
    w.fork(1);
    w.string(1, "__name__");
    w.bytes(2, Uint8Array.of(0x61, 0xff, 0x62));
    w.join();
    w.join();
    expect(() => decodeWriteV1(w.finish())).toThrow("timeseries[0]: Label.value at byte");
    expect(() => decodeWriteV1(w.finish())).toThrow("invalid UTF-8");
  });

  test("truncated and mutated messages give ProtoError, never anything else", () => {
    const bytes = encodeWriteV1([{ labels: [{ name: "__name__", value: "up" }, { name: "job", value: "x" }], t: [1, 2, 3], v: [1, 2, 3] }]);
    for (let cut = 1; cut < bytes.length; cut++) {
      let err: unknown;
      try {
        decodeWriteV1(bytes.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      // Some prefixes end on a field boundary of the outer message only if cut at its end; none do here but the last.
      expect(err).toBeInstanceOf(ProtoError);
    }
    const random = seededRandom(5);
    for (let i = 0; i < 3000; i++) {
      const m = bytes.slice();
      m[Math.floor(random() * m.length)] = Math.floor(random() * 256);
      try {
        decodeWriteV1(m);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtoError);
      }
    }
  });
});

describe("Remote-Write 2.0 messages", () => {
  test("decodes symbols, label refs, samples, metadata, created timestamps from an independent encoder", () => {
    const bytes = V2.encode(V2.fromObject({
      symbols: ["", "__name__", "http_requests_total", "job", "api", "Requests.", "requests"],
      timeseries: [
        {
          labels_refs: [1, 2, 3, 4],
          samples: [{ value: 10, timestamp: 1000 }, { value: 11, timestamp: 2000 }],
          metadata: { type: 1, help_ref: 5, unit_ref: 6 },
          created_timestamp: 500,
          exemplars: [{ labels_refs: [], value: 1, timestamp: 1000 }],
        },
        { labels_refs: [1, 4], histograms: [{ count_int: 1, sum: 1, timestamp: 3 }] },
      ],
    })).finish();
    const d = decodeWriteV2(bytes);
    expect(d.series).toEqual([
      [{ name: "__name__", value: "http_requests_total" }, { name: "job", value: "api" }],
      [{ name: "__name__", value: "api" }],
    ]);
    expect(d.samples).toBe(2);
    expect(Array.from(d.t.subarray(0, 2))).toEqual([1000, 2000]);
    expect(d.metadata).toEqual([{ metricFamilyName: "http_requests_total", type: "counter", help: "Requests.", unit: "requests" }]);
    expect(d.createdTimestamps.get(0)).toBe(500);
    expect(d.exemplars).toBe(1);
    expect(d.histogramsBySeries.get(1)).toBe(1);
  });

  test("round-trips through promts's encoder", () => {
    const series = [
      { labels: [{ name: "__name__", value: "a" }, { name: "x", value: "1" }], t: [1, 2], v: [3, 4], metadata: { type: "gauge" as const, help: "A.", unit: "" }, createdTimestamp: 1 },
      { labels: [{ name: "__name__", value: "b" }, { name: "x", value: "1" }], t: [5], v: [6] },
    ];
    const d = decodeWriteV2(encodeWriteV2(series));
    expect(d.series).toEqual(series.map((s) => s.labels));
    expect(Array.from(d.v.subarray(0, d.samples))).toEqual([3, 4, 6]);
    expect(d.metadata[0]).toEqual({ metricFamilyName: "a", type: "gauge", help: "A.", unit: "" });
  });

  test("refuses symbol references outside the table and an odd number of refs", () => {
    const outside = V2.encode(V2.fromObject({ symbols: ["", "__name__"], timeseries: [{ labels_refs: [1, 9] }] })).finish();
    expect(() => decodeWriteV2(outside)).toThrow("symbol reference 9 is outside the symbol table of 2 entries");
    const odd = V2.encode(V2.fromObject({ symbols: ["", "__name__"], timeseries: [{ labels_refs: [1] }] })).finish();
    expect(() => decodeWriteV2(odd)).toThrow("odd number of references");
    const first = V2.encode(V2.fromObject({ symbols: ["x"], timeseries: [] })).finish();
    expect(() => decodeWriteV2(first)).toThrow("must be the empty string");
  });
});

describe("protobuf primitives", () => {
  test("int64 varints round-trip across the float64-exact range, negatives included", () => {
    for (const v of [0, 1, -1, 127, 128, -128, 2 ** 31, -(2 ** 31), 2 ** 32 + 5, -(2 ** 40) - 3, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      const w = new ProtoWriter();
      w.int64(v);
      const bytes = w.finish();
      expect(new ProtoReader(bytes, 0, bytes.length).int64("v")).toBe(v);
      expect(Number(protobuf.Reader.create(bytes).int64().toString())).toBe(v);
    }
  });

  test("nested messages longer than 127 bytes get their length patched", () => {
    const w = new ProtoWriter(4);
    w.fork(1);
    w.string(1, "y".repeat(300));
    w.join();
    const r = new ProtoReader(w.finish(), 0, w.pos);
    expect(r.tag()).toBe(10);
    const end = r.len("outer");
    expect(end).toBe(w.pos);
    r.end = end;
    r.tag();
    expect(r.string("inner")).toBe("y".repeat(300));
  });
});

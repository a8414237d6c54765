import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { labelsFromRecord } from "../../src/model/index.ts";
import { openDB, type DB } from "../../src/tsdb/index.ts";
import { acceptsProtoDelimited, federate, FEDERATE_PROTO_CONTENT_TYPE } from "../../src/web/index.ts";

let dir: string;
let db: DB;
const NOW = 1_700_000_000_000;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-fed-"));
  db = await openDB({ dir, compactionIntervalMs: 0 });
  const app = db.appender();
  const add = (rec: Record<string, string>, t: number[], v: number[], staleLast = false) => {
    const ref = app.ref(labelsFromRecord(rec));
    const values = Float64Array.from(v);
    // A staleness marker is written by its bits: a NaN passed as a JS number may lose its payload.
    if (staleLast) new BigUint64Array(values.buffer)[v.length - 1] = 0x7ff0000000000002n;
    app.appendBatch(new Uint32Array(t.length).fill(ref), Float64Array.from(t), values, t.length);
  };
  add({ __name__: "b_metric", job: "j", instance: "i1" }, [NOW - 20_000, NOW - 10_000], [1, 2]);
  add({ __name__: "a_metric", job: "j", zone: 'quo"te\\d\nnl' }, [NOW - 5_000], [1e6]);
  add({ __name__: "a_metric", job: "j", cluster: "own" }, [NOW - 1_000], [-0.5]);
  add({ __name__: "old_metric", job: "j" }, [NOW - 600_000], [7]);
  add({ __name__: "stale_metric", job: "j" }, [NOW - 3_000, NOW - 2_000], [1, 0], true);
  add({ __name__: "other", job: "k" }, [NOW - 1_000], [3]);
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const opts = (external: Record<string, string>) => ({
  querier: (mint: number, maxt: number) => db.querier(mint, maxt),
  lookbackDelta: 300_000,
  externalLabels: () => external,
  now: () => NOW,
});

const get = (query: string, headers: Record<string, string> = {}) => new Request(`http://x/federate?${query}`, { headers });

describe("/federate", () => {
  test("text format: latest sample per series, sorted by name, external labels appended, instance=\"\" added", async () => {
    const res = await federate(get("match[]=%7Bjob%3D%22j%22%7D"), opts({ cluster: "c1" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toBe([
      "# TYPE a_metric untyped",
      `a_metric{cluster="own",job="j",instance=""} -0.5 ${NOW - 1_000}`,
      `a_metric{job="j",zone="quo\\"te\\\\d\\nnl",cluster="c1",instance=""} 1e+06 ${NOW - 5_000}`,
      "# TYPE b_metric untyped",
      `b_metric{instance="i1",job="j",cluster="c1"} 2 ${NOW - 10_000}`,
      "",
    ].join("\n"));
  });

  test("several match[] are a union without duplicates; no match[] gives an empty body", async () => {
    const res = await federate(get("match[]=other&match[]=%7Bjob%3D~%22k%7Cj%22%2C__name__%3D%22other%22%7D&match[]=b_metric"), opts({}));
    const text = await res.text();
    expect(text.match(/^other/gm)?.length).toBe(1);
    expect(text).toContain(`b_metric{instance="i1",job="j"} 2 ${NOW - 10_000}`);
    expect(await (await federate(get(""), opts({}))).text()).toBe("");
  });

  test("a bad selector is a 400 with the parser's message", async () => {
    const res = await federate(get("match[]=rate(x%5B5m%5D)"), opts({}));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("expected a series selector");
  });

  test("protobuf-delimited MetricFamily messages when the Accept header asks", async () => {
    const accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3";
    expect(acceptsProtoDelimited(accept)).toBe(true);
    expect(acceptsProtoDelimited("text/plain")).toBe(false);
    const res = await federate(get("match[]=%7Bjob%3D%22j%22%7D", { Accept: accept }), opts({ cluster: "c1" }));
    expect(res.headers.get("Content-Type")).toBe(FEDERATE_PROTO_CONTENT_TYPE);
    const root = protobuf.Root.fromJSON({
      nested: {
        MetricFamily: { fields: { name: { type: "string", id: 1 }, type: { type: "int32", id: 3 }, metric: { rule: "repeated", type: "Metric", id: 4 } } },
        Metric: { fields: { label: { rule: "repeated", type: "LabelPair", id: 1 }, untyped: { type: "Untyped", id: 5 }, timestamp_ms: { type: "int64", id: 6 } } },
        LabelPair: { fields: { name: { type: "string", id: 1 }, value: { type: "string", id: 2 } } },
        Untyped: { fields: { value: { type: "double", id: 1 } } },
      },
    });
    const MF = root.lookupType("MetricFamily");
    const reader = protobuf.Reader.create(new Uint8Array(await res.arrayBuffer()));
    const families: any[] = [];
    while (reader.pos < reader.len) families.push(MF.toObject(MF.decodeDelimited(reader), { longs: Number, defaults: true }));
    expect(families.map((f) => [f.name, f.type, f.metric.length])).toEqual([["a_metric", 3, 2], ["b_metric", 3, 1]]);
    expect(families[1].metric[0]).toEqual({
      label: [{ name: "instance", value: "i1" }, { name: "job", value: "j" }, { name: "cluster", value: "c1" }],
      untyped: { value: 2 },
      timestamp_ms: NOW - 10_000,
    });
  });
});

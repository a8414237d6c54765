import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newMatcher } from "../../src/model/index.ts";
import {
  encodeWriteV1,
  encodeWriteV2,
  EXEMPLARS_WRITTEN_HEADER,
  HISTOGRAMS_WRITTEN_HEADER,
  PROTO_V1,
  PROTO_V2,
  ProtoWriter,
  remoteWriteHandler,
  SAMPLES_WRITTEN_HEADER,
  snappyEncode,
  type EncodeSeries,
  type RemoteWriteProtoMsg,
} from "../../src/remote/index.ts";
import { isStaleAt } from "../../src/promql/index.ts";
import { MAX_TIME, MIN_TIME, openDB, type DB } from "../../src/tsdb/index.ts";
import { seededRandom } from "../support/random.ts";

let dir: string;
let db: DB;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-rw-"));
  db = await openDB({ dir, compactionIntervalMs: 0 });
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const V2_TYPE = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

function handler(accepted: readonly RemoteWriteProtoMsg[] = [PROTO_V1, PROTO_V2]) {
  return remoteWriteHandler({ appender: () => db.appender(), acceptedMessages: accepted });
}

function post(body: Uint8Array<ArrayBuffer>, headers: Record<string, string> = { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" }): Request {
  return new Request("http://127.0.0.1/api/v1/write", { method: "POST", body, headers });
}

async function stored(name: string): Promise<{ t: number[]; v: number[] }[]> {
  const series = await db.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", name)], MIN_TIME, MAX_TIME);
  return series.map((s) => {
    const b = s.samples();
    return { t: Array.from(b.t.subarray(0, b.length)), v: Array.from(b.v.subarray(0, b.length)) };
  });
}

async function totalSamples(): Promise<number> {
  const series = await db.querier(MIN_TIME, MAX_TIME).select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME);
  return series.reduce((n, s) => n + s.samples().length, 0);
}

const ls = (name: string, extra: Record<string, string> = {}) => [{ name: "__name__", value: name }, ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v }))];

describe("remote write receiver", () => {
  test("1.0: stores every sample and answers 204 without 2.0 headers", async () => {
    const series: EncodeSeries[] = Array.from({ length: 300 }, (_, s) => ({ labels: ls("m", { s: String(s) }), t: [1000, 2000, 3000], v: [s, s + 0.5, -s] }));
    const res = await handler()(post(snappyEncode(encodeWriteV1(series))));
    expect(res.status).toBe(204);
    expect(res.headers.get(SAMPLES_WRITTEN_HEADER)).toBeNull();
    expect(await totalSamples()).toBe(900);
    const one = await db.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "s", "7")], MIN_TIME, MAX_TIME);
    expect(Array.from(one[0]!.samples().v.subarray(0, 3))).toEqual([7, 7.5, -7]);
  });

  test("staleness markers arrive bit for bit", async () => {
    const v = Float64Array.of(1, 0);
    new BigUint64Array(v.buffer)[1] = 0x7ff0000000000002n;
    const res = await handler()(post(snappyEncode(encodeWriteV1([{ labels: ls("st"), t: Float64Array.of(1, 2), v }]))));
    expect(res.status).toBe(204);
    const s = await db.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "st")], MIN_TIME, MAX_TIME);
    const b = s[0]!.samples();
    expect(b.length).toBe(2);
    expect(isStaleAt(b.v, 1)).toBe(true);
    expect(isStaleAt(b.v, 0)).toBe(false);
  });

  test("no Content-Type means 1.0; unsorted labels and empty values are normalised", async () => {
    const body = snappyEncode(encodeWriteV1([{ labels: [{ name: "z", value: "1" }, { name: "__name__", value: "u" }, { name: "empty", value: "" }], t: [5], v: [1] }]));
    const res = await handler()(post(body, {}));
    expect(res.status).toBe(204);
    const s = await db.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "u")], MIN_TIME, MAX_TIME);
    expect(s[0]!.labels).toEqual([{ name: "__name__", value: "u" }, { name: "z", value: "1" }]);
  });

  test("2.0: 204 with the written headers", async () => {
    const body = snappyEncode(encodeWriteV2([
      { labels: ls("a"), t: [1, 2], v: [1, 2], metadata: { type: "gauge", help: "A", unit: "" }, createdTimestamp: 1 },
      { labels: ls("b"), t: [3], v: [3] },
    ]));
    const res = await handler()(post(body, { "Content-Type": V2_TYPE, "Content-Encoding": "snappy" }));
    expect(res.status).toBe(204);
    expect(res.headers.get(SAMPLES_WRITTEN_HEADER)).toBe("3");
    expect(res.headers.get(HISTOGRAMS_WRITTEN_HEADER)).toBe("0");
    expect(res.headers.get(EXEMPLARS_WRITTEN_HEADER)).toBe("0");
    expect(await stored("a")).toEqual([{ t: [1, 2], v: [1, 2] }]);
  });

  test("415 for other content types, unknown or refused messages, and other encodings", async () => {
    const body = snappyEncode(encodeWriteV1([{ labels: ls("a"), t: [1], v: [1] }]));
    const cases: [Record<string, string>, string][] = [
      [{ "Content-Type": "application/json" }, "unsupported Content-Type"],
      [{ "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v3.Request" }, "unknown remote write protobuf message"],
      [{ "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip" }, "unsupported Content-Encoding"],
    ];
    for (const [headers, msg] of cases) {
      const res = await handler()(post(body, headers));
      expect(res.status).toBe(415);
      expect(await res.text()).toContain(msg);
    }
    const onlyV1 = await handler([PROTO_V1])(post(body, { "Content-Type": V2_TYPE }));
    expect(onlyV1.status).toBe(415);
    expect(await onlyV1.text()).toContain("is not accepted by this server");
    expect(await totalSamples()).toBe(0);
  });

  test("out-of-order, duplicate and too-old samples are reported with 400 while the good ones are stored", async () => {
    expect((await handler()(post(snappyEncode(encodeWriteV1([{ labels: ls("m"), t: [10_000], v: [1] }]))))).status).toBe(204);
    const body = snappyEncode(encodeWriteV2([
      { labels: ls("m"), t: [5_000, 10_000, 10_000, 20_000], v: [9, 1, 2, 3] }, // out of order, exact dup (ok), dup other value, good
      { labels: ls("n"), t: [1, 2], v: [1, 2] },
    ]));
    const res = await handler()(post(body, { "Content-Type": V2_TYPE }));
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('out of order sample for series {__name__="m"} at timestamp 5000');
    expect(text).toContain('duplicate sample for timestamp for series {__name__="m"} at timestamp 10000');
    expect(res.headers.get(SAMPLES_WRITTEN_HEADER)).toBe("4");
    expect(await stored("m")).toEqual([{ t: [10_000, 20_000], v: [1, 3] }]);
    expect(await stored("n")).toEqual([{ t: [1, 2], v: [1, 2] }]);
  });

  test("native histograms are counted and refused clearly; floats beside them are stored", async () => {
    const w = new ProtoWriter();
    for (const [name, hist] of [["h", true], ["f", false]] as const) {
      w.fork(1);
      w.fork(1);
      w.string(1, "__name__");
      w.string(2, name);
      w.join();
      w.fork(2);
      w.tag(1, 1);
      w.double(4);
      w.tag(2, 0);
      w.int64(100);
      w.join();
      if (hist) {
        w.fork(4);
        w.tag(3, 1);
        w.double(1.5);
        w.join();
      }
      w.join();
    }
    const res = await handler()(post(snappyEncode(w.finish())));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('native histograms are not supported by promts yet: 1 histogram samples refused for series {__name__="h"}');
    expect(await stored("f")).toEqual([{ t: [100], v: [4] }]);
    expect(await stored("h")).toEqual([{ t: [100], v: [4] }]);
  });

  test("series with invalid labels are refused by name; others stored", async () => {
    const body = snappyEncode(encodeWriteV1([
      { labels: [{ name: "job", value: "x" }], t: [1], v: [1] },
      { labels: [{ name: "__name__", value: "d" }, { name: "a", value: "1" }, { name: "a", value: "2" }], t: [1], v: [1] },
      { labels: ls("ok"), t: [1], v: [1] },
    ]));
    const res = await handler()(post(body));
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('invalid labels (missing metric name) for series {job="x"}: 1 samples refused');
    expect(text).toContain('invalid labels (duplicate label name "a")');
    expect(await totalSamples()).toBe(1);
  });

  test("a body over the decompressed-size limit is refused before decoding", async () => {
    const small = remoteWriteHandler({ appender: () => db.appender(), acceptedMessages: [PROTO_V1], maxDecodedBytes: 100 });
    const body = snappyEncode(encodeWriteV1([{ labels: ls("m", { pad: "x".repeat(200) }), t: [1], v: [1] }]));
    const res = await small(post(body));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/snappy: decompressed size \d+ bytes exceeds the limit of 100 bytes/);
  });

  test("fuzz: mutated and truncated bodies get 400 with a message and append nothing", async () => {
    const random = seededRandom(42);
    const series = Array.from({ length: 20 }, (_, s) => ({ labels: ls("fz", { s: String(s), v: "välue" }), t: [1000, 2000], v: [s, s] }));
    const raws = [encodeWriteV1(series), encodeWriteV2(series)];
    const h = handler();
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      const v2 = i % 2 === 1;
      const raw = raws[i % 2]!.slice();
      let body: Uint8Array<ArrayBuffer>;
      const mode = i % 4;
      if (mode < 2) {
        // Corrupt the protobuf, then compress validly: exercises the message decoder.
        for (let k = 0; k < 1 + (i % 5); k++) raw[Math.floor(random() * raw.length)] = Math.floor(random() * 256);
        body = snappyEncode(mode === 0 ? raw : raw.subarray(0, Math.floor(random() * raw.length)));
      } else {
        // Corrupt or truncate the snappy stream.
        body = snappyEncode(raw);
        if (mode === 2) body[Math.floor(random() * body.length)] ^= 1 << Math.floor(random() * 8);
        else body = body.subarray(0, Math.floor(random() * body.length));
      }
      const before = await totalSamples();
      const res = await h(post(body, { "Content-Type": v2 ? V2_TYPE : "application/x-protobuf" }));
      expect([204, 400]).toContain(res.status);
      if (res.status === 400) {
        const text = await res.text();
        expect(text.length).toBeGreaterThan(5);
        if (/^(snappy:|decoding )/.test(text)) {
          rejected++;
          expect(await totalSamples()).toBe(before);
        }
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});

describe("remote write receiver: large requests", () => {
  test("decompressing, decoding and storing a large request let the event loop turn (1.0 and 2.0)", async () => {
    const now = Date.now();
    const series = (from: number): EncodeSeries[] => Array.from({ length: 20_000 }, (_, s) => ({
      labels: ls("big_metric", { s: String(s), instance: `h${s % 100}` }),
      t: Array.from({ length: 20 }, (_, i) => from + i * 1000),
      v: Float64Array.from({ length: 20 }, (_, i) => s + i),
    }));
    for (const [type, raw] of [["application/x-protobuf", encodeWriteV1(series(now - 60_000))], [V2_TYPE, encodeWriteV2(series(now - 30_000))]] as const) {
      let turns = 0;
      let running = true;
      const tick = () => {
        turns++;
        if (running) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const res = await handler()(post(snappyEncode(raw), { "Content-Type": type, "Content-Encoding": "snappy" }));
      running = false;
      expect(res.status).toBe(204);
      // Done in one piece, the request would let no timer run; in ~10 ms slices, many run (however loaded the host).
      expect({ type, turns: turns >= 10 }).toEqual({ type, turns: true });
    }
    expect(await totalSamples()).toBe(800_000);
  }, 60_000);
});

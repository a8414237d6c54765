import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher } from "../../src/model/index.ts";
import {
  decodeChunkedFrames,
  decodeWriteV1,
  encodeReadRequest,
  ProtoReader,
  remoteReadHandler,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
  snappyDecode,
  snappyEncode,
  STREAMED_CONTENT_TYPE,
} from "../../src/remote/index.ts";
import { decodeXor, openDB, type DB } from "../../src/tsdb/index.ts";

let dir: string;
let db: DB;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-rr-"));
  db = await openDB({ dir, compactionIntervalMs: 0 });
  const app = db.appender();
  for (let s = 0; s < 30; s++) {
    const ref = app.ref(labelsFromRecord({ __name__: "rr_metric", s: String(s), job: "j" }));
    const n = 300;
    app.appendBatch(new Uint32Array(n).fill(ref), Float64Array.from({ length: n }, (_, i) => i * 15_000), Float64Array.from({ length: n }, (_, i) => s + i / 4), n);
  }
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const handler = (over: Partial<Parameters<typeof remoteReadHandler>[0]> = {}) =>
  remoteReadHandler({ querier: (a, b) => db.querier(a, b), externalLabels: () => ({ site: "x" }), sampleLimit: 0, concurrencyLimit: 2, maxBytesInFrame: 1 << 20, ...over });

function request(types: number[], start = 0, end = 1_000_000, extra = [newMatcher("=", "site", "x")]): Request {
  const body = snappyEncode(encodeReadRequest({ queries: [{ startMs: start, endMs: end, matchers: [newMatcher("=", "__name__", "rr_metric"), newMatcher("=~", "s", "1.?"), ...extra] }], acceptedResponseTypes: types }));
  return new Request("http://x/api/v1/read", { method: "POST", body, headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" } });
}

/** The QueryResults of a ReadResponse, each decoded like a WriteRequest (same TimeSeries field). */
function results(buf: Uint8Array) {
  const r = new ProtoReader(buf, 0, buf.length);
  const out = [];
  while (r.more()) {
    r.tag();
    const end = r.len("results");
    out.push(decodeWriteV1(buf.subarray(r.pos, end)));
    r.pos = end;
  }
  return out;
}

describe("remote read server", () => {
  test("SAMPLES: matching series in range, external labels added and their matchers ignored", async () => {
    const res = await handler()(request([RESPONSE_SAMPLES]));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Encoding")).toBe("snappy");
    const [q] = results(snappyDecode(new Uint8Array(await res.arrayBuffer()), 1 << 26));
    expect(q!.series.length).toBe(11); // s=1, 10..19
    expect(q!.series[0]).toEqual([{ name: "__name__", value: "rr_metric" }, { name: "job", value: "j" }, { name: "s", value: "1" }, { name: "site", value: "x" }]);
    expect(q!.samples).toBe(11 * 67); // t in [0, 1_000_000]: 0..990_000
    expect(q!.v[1]).toBe(1.25);
  });

  test("the sample limit refuses with 400", async () => {
    const res = await handler({ sampleLimit: 100 })(request([RESPONSE_SAMPLES]));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("exceeded sample limit (100)");
  });

  test("STREAMED_XOR_CHUNKS: framed chunks as stored, frames bounded, every sample present", async () => {
    const res = await handler({ maxBytesInFrame: 512 })(request([RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES], 0, 10_000_000));
    expect(res.headers.get("Content-Type")).toBe(STREAMED_CONTENT_TYPE);
    const frames = decodeChunkedFrames(new Uint8Array(await res.arrayBuffer()));
    expect(frames.length).toBeGreaterThan(1);
    const series = frames.flatMap((f) => f.series);
    expect(series.length).toBe(11);
    expect(frames.every((f) => f.queryIndex === 0)).toBe(true);
    for (const s of series) {
      expect(s.labels.find((l) => l.name === "site")?.value).toBe("x");
      let n = 0;
      for (const c of s.chunks) {
        expect(c.type).toBe(1);
        const d = decodeXor(c.data);
        n += d.t.length;
        expect(d.t[0]).toBe(c.mint);
        expect(d.t[d.t.length - 1]).toBe(c.maxt);
      }
      expect(n).toBe(300);
    }
  });

  test("malformed bodies get 400", async () => {
    const res = await handler()(new Request("http://x/api/v1/read", { method: "POST", body: Uint8Array.of(5, 1, 2) }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("snappy:");
  });
});

/**
 * The remote_read client against promts's own /api/v1/read handler on a
 * local HTTP server: SAMPLES and STREAMED_XOR_CHUNKS responses, external
 * labels, required_matchers, read_recent, and failures that become
 * warnings of the fan-out (and of a PromQL query) instead of errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type RemoteReadConfig } from "../../src/config/index.ts";
import { labelsFromRecord, labelsToRecord, newMatcher, Registry, type Matcher } from "../../src/model/index.ts";
import { Engine } from "../../src/promql/index.ts";
import {
  decodeReadRequest,
  encodeReadRequest,
  RemoteReadMetrics,
  RemoteReadQueryable,
  RemoteReadStorage,
  remoteReadHandler,
  RESPONSE_SAMPLES,
  snappyDecode,
  snappyEncode,
} from "../../src/remote/index.ts";
import { fanoutQueryable, openDB, type DB, type Querier, type StoredSeries } from "../../src/tsdb/index.ts";


let dir = "";
let remoteDB: DB;
let localDB: DB;
let server: ReturnType<typeof Bun.serve>;
/** How the test server answers: the real handler, SAMPLES only, a 500, or never. */
let mode: "auto" | "samples" | "fail" | "hang" = "auto";
let requests: { matchers: Matcher[]; start: number; end: number; types: number[]; headers: Headers }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-rrc-"));
  remoteDB = await openDB({ dir: join(dir, "remote"), compactionIntervalMs: 0 });
  localDB = await openDB({ dir: join(dir, "local"), compactionIntervalMs: 0 });
  const app = remoteDB.appender();
  for (let s = 0; s < 20; s++) {
    for (const site of ["x", "y"]) {
      const ref = app.ref(labelsFromRecord({ __name__: "rr", s: String(s), site }));
      const n = 400;
      const t = Float64Array.from({ length: n }, (_, i) => i * 15_000);
      const v = Float64Array.from({ length: n }, (_, i) => s * 1000 + i + (site === "y" ? 0.5 : 0));
      // A staleness marker, written as bits (reading a NaN into a JS number may canonicalise it).
      if (s === 3) new BigUint64Array(v.buffer)[n - 1] = 0x7ff0000000000002n;
      app.appendBatch(new Uint32Array(n).fill(ref), t, v, n);
    }
  }
  // Local storage holds the newer samples of one series the remote also holds.
  const local = localDB.appender();
  const lref = local.ref(labelsFromRecord({ __name__: "rr", s: "0" }));
  local.appendBatch(new Uint32Array([lref, lref]), Float64Array.of(5_985_000, 6_000_000), Float64Array.of(-1, -2), 2);

  const handler = remoteReadHandler({ querier: (a, b) => remoteDB.querier(a, b), externalLabels: () => ({}), sampleLimit: 0, concurrencyLimit: 4, maxBytesInFrame: 2048 });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = new Uint8Array(await req.arrayBuffer());
      const parsed = decodeReadRequest(snappyDecode(body, 1 << 20));
      const q = parsed.queries[0]!;
      requests.push({ matchers: q.matchers, start: q.startMs, end: q.endMs, types: parsed.acceptedResponseTypes, headers: req.headers });
      if (mode === "fail") return new Response("storage on fire\n", { status: 500 });
      if (mode === "hang") return new Promise<Response>(() => {});
      const sent = mode === "samples" ? snappyEncode(encodeReadRequest({ queries: parsed.queries, acceptedResponseTypes: [RESPONSE_SAMPLES] })) : body;
      return handler(new Request(req.url, { method: "POST", body: sent, headers: req.headers }));
    },
  });
});

afterAll(async () => {
  server?.stop(true);
  await remoteDB?.close();
  await localDB?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function readConfig(extra = "", global = ""): { config: RemoteReadConfig; external: Record<string, string> } {
  const text = `${global}remote_read:\n  - url: http://127.0.0.1:${server.port}/api/v1/read\n    read_recent: true\n${extra}`;
  const { config } = parseConfig(text, "test.yml");
  return { config: config.remote_read[0]!, external: config.global.external_labels ?? {} };
}

function client(extra = "", global = "", localStartTime = () => Number.MAX_SAFE_INTEGER): RemoteReadQueryable {
  const { config, external } = readConfig(extra, global);
  return new RemoteReadQueryable({ config, name: "test", externalLabels: external, localStartTime });
}

async function selectAll(q: Querier, matchers: Matcher[], mint: number, maxt: number, warnings: string[] = []): Promise<StoredSeries[]> {
  try {
    return await q.select(matchers, mint, maxt, { onWarning: (w) => warnings.push(w) });
  } finally {
    q.close();
  }
}

const RR = newMatcher("=", "__name__", "rr");

function flatten(series: StoredSeries[]): { labels: Record<string, string>; t: number[]; v: string[] }[] {
  return series.map((s) => {
    const b = s.samples();
    const bits = new BigUint64Array(b.v.buffer, b.v.byteOffset, b.length);
    return { labels: labelsToRecord(s.labels), t: Array.from(b.t.subarray(0, b.length)), v: Array.from(bits, (x) => x.toString(16)) };
  });
}

describe("remote read client", () => {
  test("streamed chunks and samples give what the remote storage holds, staleness markers bit for bit", async () => {
    const want = flatten(await selectAll(remoteDB.querier(100_000, 3_000_000), [RR, newMatcher("=~", "s", "[0-5]")], 100_000, 3_000_000));
    expect(want.length).toBe(12);
    for (const m of ["auto", "samples"] as const) {
      mode = m;
      requests = [];
      const got = flatten(await selectAll(client().querier(100_000, 3_000_000), [RR, newMatcher("=~", "s", "[0-5]")], 100_000, 3_000_000));
      expect({ m, got }).toEqual({ m, got: want });
      expect(requests.length).toBe(1);
      expect(requests[0]!.types).toEqual([1, 0]);
      expect(requests[0]!.headers.get("X-Prometheus-Remote-Read-Version")).toBe("0.1.0");
      expect(requests[0]!.headers.get("Content-Encoding")).toBe("snappy");
    }
    mode = "auto";
    const stale = flatten(await selectAll(client().querier(0, 10_000_000), [RR, newMatcher("=", "s", "3"), newMatcher("=", "site", "x")], 0, 10_000_000));
    expect(stale[0]!.v.at(-1)).toBe("7ff0000000000002");
  });

  test("external labels: a matcher is added for each, and the label is removed from what comes back", async () => {
    mode = "auto";
    requests = [];
    const got = await selectAll(client("", "global:\n  external_labels:\n    site: x\n").querier(0, 10_000_000), [RR, newMatcher("=", "s", "7")], 0, 10_000_000);
    expect(got.map((s) => labelsToRecord(s.labels))).toEqual([{ __name__: "rr", s: "7" }]);
    expect(got[0]!.samples().v[0]).toBe(7000);
    expect(requests[0]!.matchers.map((m) => `${m.name}${m.type}${m.value}`)).toEqual(["__name__=rr", "s=7", "site=x"]);

    // A select that names the external label keeps its own matcher (and the label).
    requests = [];
    const own = await selectAll(client("", "global:\n  external_labels:\n    site: x\n").querier(0, 10_000_000), [RR, newMatcher("=", "s", "7"), newMatcher("=", "site", "y")], 0, 10_000_000);
    expect(own.map((s) => labelsToRecord(s.labels))).toEqual([{ __name__: "rr", s: "7", site: "y" }]);

    // filter_external_labels: false sends the select as it is.
    requests = [];
    const unfiltered = await selectAll(client("    filter_external_labels: false\n", "global:\n  external_labels:\n    site: x\n").querier(0, 10_000_000), [RR, newMatcher("=", "s", "7")], 0, 10_000_000);
    expect(unfiltered.map((s) => labelsToRecord(s.labels))).toEqual([{ __name__: "rr", s: "7", site: "x" }, { __name__: "rr", s: "7", site: "y" }]);
    expect(requests[0]!.matchers.length).toBe(2);
  });

  test("required_matchers: selects without them do not reach the endpoint", async () => {
    mode = "auto";
    requests = [];
    const rr = client("    required_matchers:\n      site: y\n");
    expect(await selectAll(rr.querier(0, 10_000_000), [RR, newMatcher("=", "s", "1")], 0, 10_000_000)).toEqual([]);
    expect(await selectAll(rr.querier(0, 10_000_000), [RR, newMatcher("=~", "site", "y")], 0, 10_000_000)).toEqual([]);
    expect(requests.length).toBe(0);
    const got = await selectAll(rr.querier(0, 10_000_000), [RR, newMatcher("=", "s", "1"), newMatcher("=", "site", "y")], 0, 10_000_000);
    expect(got.length).toBe(1);
    expect(requests.length).toBe(1);
  });

  test("without read_recent, ranges local storage covers are not read remotely", async () => {
    mode = "auto";
    requests = [];
    const { config } = readConfig();
    const rr = new RemoteReadQueryable({ config: { ...config, read_recent: false }, name: "t", externalLabels: {}, localStartTime: () => 1_000_000 });
    expect(await selectAll(rr.querier(2_000_000, 3_000_000), [RR], 2_000_000, 3_000_000)).toEqual([]);
    expect(requests.length).toBe(0);
    const got = await selectAll(rr.querier(0, 3_000_000), [RR, newMatcher("=", "s", "2"), newMatcher("=", "site", "x")], 0, 3_000_000);
    expect(requests.length).toBe(1);
    expect(requests[0]!.end).toBe(1_000_000);
    expect(got[0]!.samples().t.at(-1)).toBe(990_000);
  });

  test("the fan-out merges local and remote series; a failing endpoint is a warning, not an error", async () => {
    mode = "auto";
    const rr = client();
    const merged = await selectAll(fanoutQueryable(localDB, [rr]).querier(5_970_000, 6_000_000), [RR, newMatcher("=~", "s", "0|1")], 5_970_000, 6_000_000);
    expect(merged.map((s) => labelsToRecord(s.labels))).toEqual([
      { __name__: "rr", s: "0" },
      { __name__: "rr", s: "0", site: "x" },
      { __name__: "rr", s: "0", site: "y" },
      { __name__: "rr", s: "1", site: "x" },
      { __name__: "rr", s: "1", site: "y" },
    ]);
    expect(Array.from(merged[0]!.samples().v)).toEqual([-1, -2]);

    mode = "fail";
    const warnings: string[] = [];
    const local = await selectAll(fanoutQueryable(localDB, [rr]).querier(0, 6_000_000), [RR], 0, 6_000_000, warnings);
    expect(local.length).toBe(1);
    expect(warnings).toEqual([`remote_read: remote server http://127.0.0.1:${server.port}/api/v1/read returned HTTP status 500 Internal Server Error: storage on fire`]);

    // Through PromQL: the query answers from local storage and carries the warning.
    const engine = new Engine({ lookbackDelta: 300_000, timeout: 10_000, maxSamples: 1e7, maxConcurrency: 2 });
    const all = fanoutQueryable(localDB, [rr]);
    const res = await engine.instantQuery((a, b) => all.querier(a, b), "rr", 6_000_000);
    expect(res.warnings.some((w) => w.includes("returned HTTP status 500"))).toBe(true);
    expect(JSON.stringify(res.value)).toContain("-2");
    mode = "auto";
  });

  test("remote_timeout bounds a hung endpoint", async () => {
    mode = "hang";
    const rr = client("    remote_timeout: 300ms\n");
    const warnings: string[] = [];
    const started = performance.now();
    const got = await selectAll(fanoutQueryable(localDB, [rr]).querier(0, 6_000_000), [RR], 0, 6_000_000, warnings);
    expect(got.length).toBe(1);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain("remote_read: error sending request");
    expect(performance.now() - started).toBeLessThan(10_000);
    mode = "auto";
  });

  test("read metrics count queries by status code", async () => {
    mode = "auto";
    const reg = new Registry();
    const metrics = new RemoteReadMetrics(reg);
    const { config } = readConfig();
    const rr = new RemoteReadQueryable({ config, name: "m", externalLabels: {}, localStartTime: () => 0, metrics });
    await selectAll(rr.querier(0, 1000), [RR], 0, 1000);
    expect(reg.render()).toContain(`prometheus_remote_storage_read_queries_total{remote_name="m",url="${config.url}",code="200"} 1`);
  });

  test("RemoteReadStorage refuses two endpoints with one name", () => {
    const s = new RemoteReadStorage({ registry: new Registry(), localStartTime: () => 0 });
    const { config } = parseConfig("remote_read:\n  - url: http://a/\n    name: same\n  - url: http://b/\n    name: other\n", "t.yml");
    config.remote_read[1]!.name = "same";
    expect(() => s.applyConfig(config)).toThrow("duplicate remote read configs are not allowed, found duplicate for URL: http://b/");
  });
});

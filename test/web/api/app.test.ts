import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../../../src/model/index.ts";
import { Engine } from "../../../src/promql/index.ts";
import { openDB, type DB } from "../../../src/tsdb/index.ts";
import { apiV1, type ApiContext, type MetricMetadata } from "../../../src/web/api/index.ts";
import type { Hono } from "hono";

const T0 = 1_700_000_000_000;
const STEP = 15_000;
const POINTS = 41; // 10 minutes
let dir: string;
let db: DB;
let app: Hono;
let ctx: ApiContext;

const SERIES: Record<string, string>[] = [
  { __name__: "http_requests_total", job: "api", instance: "a:80" },
  { __name__: "http_requests_total", job: "api", instance: "b:80" },
  { __name__: "http_requests_total", job: "db", instance: "c:80" },
  { __name__: "temperature", job: "db", instance: "c:80", "<odd>": "x&y" },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-api-"));
  db = await openDB({ dir, compactionIntervalMs: 0 });
  const appender = db.appender();
  const refs = SERIES.map((s) => appender.ref(labelsFromRecord(s)));
  const n = refs.length * POINTS;
  const r = new Uint32Array(n), t = new Float64Array(n), v = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < POINTS; i++) {
    for (let s = 0; s < refs.length; s++) {
      r[k] = refs[s]!;
      t[k] = T0 + i * STEP;
      v[k] = s === 3 ? 20 + s : (s + 1) * i;
      k++;
    }
  }
  appender.appendBatch(r, t, v, n);
  const metadata = new Map<string, MetricMetadata[]>([
    ["http_requests_total", [{ type: "counter", help: "Requests.", unit: "" }, { type: "counter", help: "Requests (old).", unit: "" }]],
    ["temperature", [{ type: "gauge", help: "Temperature.", unit: "celsius" }]],
  ]);
  ctx = {
    engine: new Engine(),
    queryable: (mint, maxt) => db.querier(mint, maxt),
    config: () => ({ yaml: "global:\n  scrape_interval: 15s\n" }),
    flags: () => ({ "storage.tsdb.path": "data/", "web.enable-lifecycle": "false" }),
    buildInfo: { version: "0.1.0", revision: "abc", branch: "main", buildUser: "me@host", buildDate: "20240101-00:00:00", goVersion: "bun1" },
    runtimeInfo: () => ({ startTime: "2024-01-01T00:00:00Z", CWD: "/", reloadConfigSuccess: true, storageRetention: "15d" }),
    metadata: () => metadata,
    now: () => T0 + 5 * 60_000,
  };
  app = apiV1(ctx);
});

afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; text: string; json: any }> {
  const res = await app.request(path);
  const text = await res.text();
  expect(res.headers.get("content-type")).toBe("application/json");
  return { status: res.status, text, json: JSON.parse(text) };
}

async function post(path: string, form: Record<string, string | string[]>): Promise<{ status: number; json: any }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  const res = await app.request(path, { method: "POST", body: body.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  return { status: res.status, json: await res.json() };
}

function q(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

async function expectError(path: string, status: number, errorType: string, error: string): Promise<void> {
  const res = await get(path);
  expect(res.json).toEqual({ status: "error", errorType, error });
  expect(res.status).toBe(status);
}

const at = (ms: number) => String(ms / 1000);

describe("/query", () => {
  test("instant vector in Prometheus's exact JSON", async () => {
    const res = await get(`/query?${q({ query: 'http_requests_total{job="db"}', time: at(T0 + 60_000) })}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"http_requests_total","instance":"c:80","job":"db"},"value":[1700000060,"12"]}]}}',
    );
  });
  test("time as RFC 3339, and the default time is now", async () => {
    const rfc = await get(`/query?${q({ query: "sum(http_requests_total)", time: "2023-11-14T22:14:20.5Z" })}`);
    expect(rfc.json.data.result).toEqual([{ metric: {}, value: [1700000060.5, String(4 * (1 + 2 + 3))] }]);
    const now = await get(`/query?${q({ query: "time()" })}`);
    expect(now.json.data).toEqual({ resultType: "scalar", result: [(T0 + 300_000) / 1000, String((T0 + 300_000) / 1000)] });
  });
  test("scalar and string results", async () => {
    expect((await get(`/query?${q({ query: "1e21", time: "10" })}`)).text).toBe('{"status":"success","data":{"resultType":"scalar","result":[10,"1000000000000000000000"]}}');
    expect((await get(`/query?${q({ query: '"a<b"', time: "10.5" })}`)).text).toBe('{"status":"success","data":{"resultType":"string","result":[10.5,"a\\u003cb"]}}');
  });
  test("a range selector gives a matrix with raw sample times", async () => {
    const res = await get(`/query?${q({ query: 'temperature[30s]', time: at(T0 + 60_000) })}`);
    expect(res.json.data.resultType).toBe("matrix");
    expect(res.json.data.result[0].metric["<odd>"]).toBe("x&y");
    expect(res.text).toContain('"\\u003codd\\u003e":"x\\u0026y"');
    expect(res.json.data.result[0].values).toEqual([[1700000045, "23"], [1700000060, "23"]]);
  });
  test("limit truncates with a warning", async () => {
    const res = await get(`/query?${q({ query: "http_requests_total", time: at(T0), limit: "2" })}`);
    expect(res.json.data.result).toHaveLength(2);
    expect(res.json.warnings).toEqual(["results truncated due to limit"]);
    const all = await get(`/query?${q({ query: "http_requests_total", time: at(T0), limit: "0" })}`);
    expect(all.json.data.result).toHaveLength(3);
    expect(all.json.warnings).toBeUndefined();
  });
  test("annotations are returned as infos", async () => {
    const res = await get(`/query?${q({ query: "rate(temperature[5m])", time: at(T0 + 300_000) })}`);
    expect(res.json.status).toBe("success");
    expect(res.json.infos?.[0]).toStartWith("PromQL info: metric might not be a counter");
  });
  test("POST form bodies are read", async () => {
    const res = await post("/query", { query: 'count(http_requests_total{job="api"})', time: at(T0) });
    expect(res.json.data.result).toEqual([{ metric: {}, value: [T0 / 1000, "2"] }]);
  });
  test("parameter errors", async () => {
    await expectError(`/query?${q({ query: "sum(" })}`, 400, "bad_data", 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis');
    await expectError(`/query?${q({ query: "" })}`, 400, "bad_data", 'invalid parameter "query": 1:1: parse error: no expression found in input');
    await expectError(`/query?${q({ query: "up", time: "abc" })}`, 400, "bad_data",
      "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a valid timestamp");
    await expectError(`/query?${q({ query: "up", limit: "-1" })}`, 400, "bad_data", 'invalid parameter "limit": limit must be non-negative');
    await expectError(`/query?${q({ query: "up", limit: "x" })}`, 400, "bad_data", 'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax');
    await expectError(`/query?${q({ query: "up", timeout: "soon" })}`, 400, "bad_data", 'invalid parameter "timeout": cannot parse "soon" to a valid duration');
  });
  test("evaluation errors are execution errors (422)", async () => {
    await expectError(`/query?${q({ query: 'label_replace(http_requests_total, "instance", "x", "", "")', time: at(T0) })}`, 422, "execution",
      "vector cannot contain metrics with the same labelset");
  });
});

describe("/query_range", () => {
  const base = { query: 'http_requests_total{instance="a:80"}', start: at(T0), end: at(T0 + 60_000) };
  test("matrix with step as a duration or float seconds", async () => {
    const want = [{ metric: { __name__: "http_requests_total", instance: "a:80", job: "api" }, values: [[T0 / 1000, "0"], [T0 / 1000 + 30, "2"], [T0 / 1000 + 60, "4"]] }];
    for (const step of ["30s", "30", "30.0", "30000ms", "3e1"]) {
      const res = await get(`/query_range?${q({ ...base, step })}`);
      expect(res.json.data).toEqual({ resultType: "matrix", result: want });
    }
    const posted = await post("/query_range", { ...base, step: "30" });
    expect(posted.json.data.result).toEqual(want);
  });
  test("a scalar expression yields a one-series matrix", async () => {
    const res = await get(`/query_range?${q({ query: "1 + 1", start: "0", end: "1", step: "0.5" })}`);
    expect(res.json.data.result).toEqual([{ metric: {}, values: [[0, "2"], [0.5, "2"], [1, "2"]] }]);
  });
  test("errors with Prometheus's messages", async () => {
    await expectError(`/query_range?${q({ ...base, start: at(T0 + 1000), end: at(T0), step: "1" })}`, 400, "bad_data", "end timestamp must not be before start time");
    await expectError(`/query_range?${q({ ...base, step: "0" })}`, 400, "bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
    await expectError(`/query_range?${q({ ...base, step: "-5" })}`, 400, "bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
    await expectError(`/query_range?${q({ ...base, start: "0", end: "11001", step: "1" })}`, 400, "bad_data",
      "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    const ok = await get(`/query_range?${q({ query: "1", start: "0", end: "11000", step: "1" })}`);
    expect(ok.json.data.result[0].values).toHaveLength(11001);
    await expectError(`/query_range?${q({ query: "up", end: "1", step: "1" })}`, 400, "bad_data", 'invalid parameter "start": cannot parse "" to a valid timestamp');
    await expectError(`/query_range?${q({ query: "up", start: "1", end: "x", step: "1" })}`, 400, "bad_data", 'invalid parameter "end": cannot parse "x" to a valid timestamp');
    await expectError(`/query_range?${q({ ...base, step: "" })}`, 400, "bad_data", 'invalid parameter "step": cannot parse "" to a valid duration');
    await expectError(`/query_range?${q({ ...base, query: "up[5m]", step: "15" })}`, 400, "bad_data",
      'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    await expectError(`/query_range?${q({ ...base, query: '"s"', step: "15" })}`, 400, "bad_data",
      'invalid parameter "query": invalid expression type "string" for range query, must be Scalar or instant Vector');
  });
});

describe("/series, /labels, /label/<name>/values", () => {
  test("series requires match[]", async () => {
    await expectError("/series", 400, "bad_data", "no match[] parameter provided");
    await expectError(`/series?${q({ "match[]": "up{" })}`, 400, "bad_data", 'invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces');
  });
  test("series unions several selectors, sorted, with limit", async () => {
    const res = await get(`/series?match[]=temperature&match[]=${encodeURIComponent('http_requests_total{job="db"}')}`);
    // Label sets compare label by label, so "<odd>" (0x3c) sorts before "__name__".
    expect(res.json.data).toEqual([
      { "<odd>": "x&y", __name__: "temperature", instance: "c:80", job: "db" },
      { __name__: "http_requests_total", instance: "c:80", job: "db" },
    ]);
    const limited = await get(`/series?${q({ "match[]": "http_requests_total", limit: "1" })}`);
    expect(limited.json.data).toHaveLength(1);
    expect(limited.json.warnings).toEqual(["results truncated due to limit"]);
  });
  test("series outside the time range are not returned", async () => {
    const res = await post("/series", { "match[]": "http_requests_total", start: at(T0 - 3_600_000), end: at(T0 - 1_800_000) });
    expect(res.json).toEqual({ status: "success", data: [] });
  });
  test("labels", async () => {
    expect((await get("/labels")).json.data).toEqual(["<odd>", "__name__", "instance", "job"]);
    expect((await get(`/labels?${q({ "match[]": "http_requests_total" })}`)).json.data).toEqual(["__name__", "instance", "job"]);
    const limited = await get("/labels?limit=2");
    expect(limited.json.data).toHaveLength(2);
    expect(limited.json.warnings).toEqual(["results truncated due to limit"]);
  });
  test("label values", async () => {
    expect((await get("/label/job/values")).json.data).toEqual(["api", "db"]);
    expect((await get("/label/__name__/values")).json.data).toEqual(["http_requests_total", "temperature"]);
    expect((await get(`/label/instance/values?${q({ "match[]": '{job="api"}' })}`)).json.data).toEqual(["a:80", "b:80"]);
    expect((await get("/label/missing/values")).json.data).toEqual([]);
    expect((await get("/label/%3Codd%3E/values")).json.data).toEqual(["x&y"]);
    expect((await get("/label/U___3c_odd_3e_/values")).json.data).toEqual(["x&y"]);
    await expectError("/label/%FF/values", 400, "bad_data", 'invalid label name: "\\xff"');
  });
});

describe("/metadata", () => {
  test("all, by metric, and limited", async () => {
    const all = await get("/metadata");
    expect(Object.keys(all.json.data)).toEqual(["http_requests_total", "temperature"]);
    expect(all.json.data.temperature).toEqual([{ type: "gauge", help: "Temperature.", unit: "celsius" }]);
    expect((await get("/metadata?metric=temperature")).json.data).toEqual({ temperature: [{ type: "gauge", help: "Temperature.", unit: "celsius" }] });
    expect(Object.keys((await get("/metadata?limit=1")).json.data)).toHaveLength(1);
    expect((await get("/metadata?limit_per_metric=1")).json.data.http_requests_total).toHaveLength(1);
    expect((await get("/metadata?metric=nope")).json.data).toEqual({});
    await expectError("/metadata?limit=x", 400, "bad_data", "limit must be a number");
    await expectError("/metadata?limit_per_metric=x", 400, "bad_data", "limit_per_metric must be a number");
  });
});

describe("format, parse, exemplars", () => {
  test("format_query pretty-prints", async () => {
    expect((await get(`/format_query?${q({ query: "sum by(job)(rate(x[5m]))" })}`)).json.data).toBe("sum by (job) (rate(x[5m]))");
    await expectError(`/format_query?${q({ query: "sum by" })}`, 400, "bad_data", 'invalid parameter "query": 1:7: parse error: unexpected end of input in grouping opts, expected "("');
  });
  test("parse_query returns the syntax tree", async () => {
    const res = await post("/parse_query", { query: 'sum by (job) (rate(x{a="b"}[5m] offset 1m)) > bool 1' });
    expect(res.json.data).toEqual({
      bool: true,
      lhs: {
        expr: {
          args: [{
            matchers: [{ name: "a", type: "=", value: "b" }, { name: "__name__", type: "=", value: "x" }],
            name: "x",
            offset: 60000,
            range: 300000,
            startOrEnd: null,
            timestamp: null,
            type: "matrixSelector",
          }],
          func: { argTypes: ["matrix"], name: "rate", returnType: "vector", variadic: 0 },
          type: "call",
        },
        grouping: ["job"],
        op: "sum",
        param: null,
        type: "aggregation",
        without: false,
      },
      matching: null,
      op: ">",
      rhs: { type: "numberLiteral", val: "1" },
      type: "binaryExpr",
    });
  });
  test("parse_query shows vector matching", async () => {
    const res = await get(`/parse_query?${q({ query: "a / on(job) group_left(x) b" })}`);
    expect(res.json.data.matching).toEqual({ card: "many-to-one", include: ["x"], labels: ["job"], on: true });
    expect(res.json.data.bool).toBe(false);
  });
  test("parse_query covers subqueries, @ and unary/paren/string nodes", async () => {
    const res = await get(`/parse_query?${q({ query: '-(max_over_time(up[1h:5m] @ end()))' })}`);
    const sub = res.json.data.expr.expr.args[0];
    expect(res.json.data.type).toBe("unaryExpr");
    expect(res.json.data.expr.type).toBe("parenExpr");
    expect(sub).toMatchObject({ type: "subquery", range: 3600000, step: 300000, offset: 0, timestamp: null, startOrEnd: "end" });
    const str = await get(`/parse_query?${q({ query: '"x"' })}`);
    expect(str.json.data).toEqual({ type: "stringLiteral", val: "x" });
  });
  test("query_exemplars is empty but validates", async () => {
    expect((await get(`/query_exemplars?${q({ query: "up" })}`)).json).toEqual({ status: "success", data: [] });
    const bad = await get(`/query_exemplars?${q({ query: "up(" })}`);
    expect(bad.status).toBe(400);
    expect(bad.json.errorType).toBe("bad_data");
    expect(bad.json.error).toBe('1:1: parse error: unknown function with name "up"');
    await expectError(`/query_exemplars?${q({ query: "up", start: "10", end: "5" })}`, 400, "bad_data", "end timestamp must not be before start timestamp");
  });
});

describe("/status", () => {
  test("buildinfo, runtimeinfo, flags, config", async () => {
    expect((await get("/status/buildinfo")).json.data).toEqual(ctx.buildInfo);
    expect((await get("/status/runtimeinfo")).json.data.storageRetention).toBe("15d");
    expect((await get("/status/flags")).json.data["storage.tsdb.path"]).toBe("data/");
    expect((await get("/status/config")).json).toEqual({ status: "success", data: { yaml: "global:\n  scrape_interval: 15s\n" } });
  });
  test("tsdb statistics computed from the querier", async () => {
    const res = await get("/status/tsdb?limit=2");
    expect(res.json.data.headStats).toMatchObject({ numSeries: 4, minTime: T0, maxTime: T0 + (POINTS - 1) * STEP });
    expect(res.json.data.seriesCountByMetricName).toEqual([{ name: "http_requests_total", value: 3 }, { name: "temperature", value: 1 }]);
    expect(res.json.data.seriesCountByLabelValuePair).toEqual([{ name: "__name__=http_requests_total", value: 3 }, { name: "instance=c:80", value: 2 }]);
    expect(res.json.data.labelValueCountByLabelName[0]).toEqual({ name: "instance", value: 3 });
    await expectError("/status/tsdb?limit=0", 400, "bad_data", "limit must be a positive number");
  });
});

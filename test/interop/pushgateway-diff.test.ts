/**
 * Differential test: the same sequence of pushes, push-adds, deletes,
 * inconsistent pushes and bad bodies goes to the real Pushgateway 1.5
 * (Debian's prometheus-pushgateway) and to `promts pushgateway`; both must
 * answer with the same status codes and end with the same `/metrics` series
 * and values and the same `/api/v1/metrics` content, push times aside.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { peerAvailable } from "../support/peers.ts";
import { freePort, PROMTS_BINARY, spawnChild, stopAll, waitForOK, type Child } from "../support/processes.ts";
import { encodeDelimited, PROTOBUF_CONTENT_TYPE } from "../pushgateway/protobuf_encode.ts";

const realBinary = Bun.which("prometheus-pushgateway");

interface Step {
  method: "PUT" | "POST" | "DELETE";
  path: string;
  body?: string | Uint8Array;
  contentType?: string;
  gzip?: boolean;
}

const b64 = (s: string) => Buffer.from(s).toString("base64url");

const STEPS: Step[] = [
  { method: "PUT", path: "/metrics/job/some_job/instance/some_instance", body: '# TYPE some_metric counter\n# HELP some_metric Some help.\nsome_metric{label="val1"} 42\nanother_metric 2398.283\n' },
  { method: "POST", path: "/metrics/job/some_job/instance/some_instance", body: "another_metric 12\nthird_metric 1e-7\n" },
  { method: "PUT", path: "/metrics/job/j4", body: "some_metric 3\n" }, // type clash with a counter: refused
  { method: "PUT", path: "/metrics/job/dup", body: "a 1\na 2\n" }, // repeated series: refused
  { method: "PUT", path: "/metrics/job/ts", body: "ts_metric 3 1000\n" }, // timestamps: refused
  { method: "PUT", path: "/metrics/job/bad", body: "bad metric\n" }, // parse error
  { method: "PUT", path: "/metrics/job/badlabel", body: 'a{1x="y"} 1\n' },
  // Invalid UTF-8 in a label value: refused naming the bytes, as Go's text parser does.
  { method: "PUT", path: "/metrics/job/badutf8", body: Buffer.from('ok 1\nbu_metric{v="\xff\xfe\xc3("} 1\n', "latin1") },
  { method: "PUT", path: "/metrics/job/badutf8b", body: Buffer.from('m{a="ok",b="x\xc3"} 1\n', "latin1") },
  { method: "PUT", path: "/metrics/job/x/lab", body: "a 1\n" }, // odd components
  { method: "PUT", path: "/metrics/job/x/1ab/v", body: "a 1\n" },
  { method: "PUT", path: "/metrics/job/x/__name__/v", body: "a 1\n" },
  { method: "PUT", path: "/metrics/job/x/lab@base64/!!!", body: "a 1\n" },
  { method: "PUT", path: "/metrics/job@base64/=", body: "a 1\n" },
  { method: "PUT", path: `/metrics/job@base64/${b64("job/with/slashes")}/path@base64/${b64("/var/tmp")}`, body: "slash_metric 1\n" },
  { method: "PUT", path: "/metrics/job/empty/a@base64/=", body: "x_metric 3\n" },
  { method: "PUT", path: "/metrics/job/y/a/b/a/c", body: "y_metric 1\n" },
  { method: "PUT", path: "/metrics/job/override", body: 'g{job="other",instance="i2",x="y"} 5\n' },
  { method: "PUT", path: "/metrics/job/override2/instance/i1", body: 'g{instance="i2",x="z"} 6\n' },
  { method: "PUT", path: "/metrics/job/hs", body: '# TYPE s summary\n# HELP s A summary.\ns{quantile="0.5"} 1\ns{quantile="0.9"} 2\ns_sum 10\ns_count 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n' },
  { method: "PUT", path: "/metrics/job/special", body: "nan_metric NaN\ninf_metric +Inf\nneg_metric -Inf\nbig_metric 1.5e+300\n" },
  {
    method: "PUT", path: "/metrics/job/proto/instance/p1", contentType: PROTOBUF_CONTENT_TYPE,
    body: encodeDelimited([
      { name: "pb_counter_total", help: "A counter.", type: "counter", metrics: [{ labels: { code: "200" }, value: 7 }, { labels: { code: "500" }, value: 1 }] },
      { name: "pb_gauge", type: "gauge", metrics: [{ value: 2.5 }] },
      { name: "pb_summary", help: "S.", type: "summary", metrics: [{ summary: { count: 4, sum: 8, quantiles: [[0.5, 2], [0.99, 3]] } }] },
      { name: "pb_histogram", help: "H.", type: "histogram", metrics: [{ histogram: { count: 3, sum: 1.5, buckets: [[0.1, 1], [1, 2], [Infinity, 3]] } }] },
    ]),
  },
  { method: "PUT", path: "/metrics/job/proto_ts", contentType: PROTOBUF_CONTENT_TYPE, body: encodeDelimited([{ name: "pbts", type: "gauge", metrics: [{ value: 1, timestampMs: 1000 }] }]) },
  { method: "PUT", path: "/metrics/job/gz", gzip: true, body: "gz_metric 9\n" },
  { method: "PUT", path: "/metrics/job/pp", body: "pa 1\npb 2\n" },
  { method: "POST", path: "/metrics/job/pp", body: "pa 5\npc 3\n" },
  { method: "PUT", path: "/metrics/job/emptied", body: "will_go 1\n" },
  { method: "PUT", path: "/metrics/job/emptied", body: "" },
  { method: "PUT", path: "/metrics/job/gone", body: "gone_metric 1\n" },
  { method: "DELETE", path: "/metrics/job/gone" },
  { method: "DELETE", path: "/metrics/job/never_existed" },
  { method: "PUT", path: "/metrics/job/clash2", body: "# TYPE some_metric gauge\nsome_metric 1\n" }, // gauge vs counter: refused
  { method: "POST", path: "/metrics/job/some_job/instance/some_instance", body: "# TYPE another_metric gauge\nanother_metric 1\n" }, // re-typing in place: allowed
  { method: "PUT", path: "/metrics/job/pushtime", body: "push_time_seconds 1\n" },
  { method: "PUT", path: "/metrics/job/utf", body: 'u{x="\xff"} 1\n' },
];

async function send(base: string, s: Step): Promise<number> {
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined = s.body;
  if (s.contentType) headers["content-type"] = s.contentType;
  if (s.gzip && body !== undefined) {
    body = gzipSync(typeof body === "string" ? Buffer.from(body) : body);
    headers["content-encoding"] = "gzip";
  }
  const res = await fetch(base + s.path, { method: s.method, body: (typeof body === "string" ? Buffer.from(body, "latin1") : body) as BodyInit | undefined, headers, redirect: "manual" });
  await res.arrayBuffer();
  return res.status;
}

const OWN = /^(go_|process_|pushgateway_)/;

/** The pushed series of a /metrics body: `name{labels} value`, push times reduced to 0 or T. */
function normalizeExposition(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const name = line.startsWith("#") ? line.split(" ")[2] ?? "" : line.split(/[{ ]/)[0]!;
    if (OWN.test(name)) continue;
    if (/^push_(failure_)?time_seconds/.test(name) && !line.startsWith("#")) {
      const i = line.lastIndexOf(" ");
      out.push(`${line.slice(0, i)} ${line.slice(i + 1) === "0" ? "0" : "T"}`);
    } else out.push(line);
  }
  return out;
}

function normalizeAPI(json: any): any {
  const groups = (json.data as any[]).map((g) => {
    const o: any = {};
    for (const [k, v] of Object.entries(g)) {
      if (v && typeof v === "object" && "time_stamp" in (v as object)) {
        const f = { ...(v as any) };
        delete f.time_stamp;
        if (k === "push_time_seconds" || k === "push_failure_time_seconds") {
          f.metrics = f.metrics.map((m: any) => ({ ...m, value: m.value === "0" ? "0" : "T" }));
        }
        o[k] = f;
      } else o[k] = v;
    }
    return o;
  });
  return groups.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

describe("pushgateway vs real Pushgateway 1.5", () => {
  let real: Child | undefined, ours: Child | undefined;
  let realURL = "", oursURL = "";
  beforeAll(async () => {
    if (!peerAvailable(realBinary, "prometheus-pushgateway", "real Pushgateway not installed (apt-get install prometheus-pushgateway)")) return;
    const rp = freePort(), op = freePort();
    real = spawnChild("pushgateway", [realBinary, `--web.listen-address=127.0.0.1:${rp}`, "--persistence.file="]);
    ours = spawnChild("promts-pushgateway", [PROMTS_BINARY, "pushgateway", `--web.listen-address=127.0.0.1:${op}`]);
    realURL = `http://127.0.0.1:${rp}`;
    oursURL = `http://127.0.0.1:${op}`;
    await waitForOK(`${realURL}/-/ready`, real);
    await waitForOK(`${oursURL}/-/ready`, ours);
  }, 30_000);
  afterAll(stopAll);

  test("same status codes, /metrics series and /api/v1/metrics", async () => {
    if (!real || !ours) return;
    const codes: string[] = [];
    for (const s of STEPS) {
      const [a, b] = [await send(realURL, s), await send(oursURL, s)];
      codes.push(`${s.method} ${s.path}: real ${a}, promts ${b}`);
      expect(`${s.method} ${s.path}: ${b}`).toBe(`${s.method} ${s.path}: ${a}`);
    }
    const [rm, om] = await Promise.all([fetch(`${realURL}/metrics`).then((r) => r.text()), fetch(`${oursURL}/metrics`).then((r) => r.text())]);
    // The comparison covers every pushed family (not an empty set on both sides).
    expect(normalizeExposition(rm).filter((l) => !l.startsWith("#")).length).toBeGreaterThan(40);
    expect(normalizeExposition(om)).toEqual(normalizeExposition(rm));
    const [ra, oa] = await Promise.all([fetch(`${realURL}/api/v1/metrics`).then((r) => r.json()), fetch(`${oursURL}/api/v1/metrics`).then((r) => r.json())]);
    expect(ra.data.length).toBeGreaterThan(15);
    expect(normalizeAPI(oa)).toEqual(normalizeAPI(ra));
  }, 60_000);

  test("lifecycle and admin endpoints answer alike when disabled", async () => {
    if (!real || !ours) return;
    for (const [method, path] of [["PUT", "/-/quit"], ["PUT", "/api/v1/admin/wipe"], ["GET", "/-/healthy"], ["GET", "/-/ready"]] as const) {
      const [a, b] = await Promise.all([fetch(realURL + path, { method }), fetch(oursURL + path, { method })]);
      expect(`${method} ${path}: ${b.status}`).toBe(`${method} ${path}: ${a.status}`);
    }
  });
});

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { labelsFromRecord, newMatcher, Registry } from "../../src/model/index.ts";
import { isStaleAt } from "../../src/promql/index.ts";
import { PROTO_V1, PROTO_V2, RemoteWriteStorage, remoteWriteHandler, retryableStatus, retryAfterMs } from "../../src/remote/index.ts";
import { MAX_TIME, MIN_TIME, openDB, type DB } from "../../src/tsdb/index.ts";
import { waitUntil } from "../support/processes.ts";

let dir: string;
let src: DB;
let dst: DB;
let server: ReturnType<typeof Bun.serve>;
let mode: "up" | "503" | "429" | "400" = "up";
let requests = 0;
let storages: RemoteWriteStorage[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-rwq-"));
  src = await openDB({ dir: join(dir, "src"), compactionIntervalMs: 0 });
  dst = await openDB({ dir: join(dir, "dst"), compactionIntervalMs: 0 });
  mode = "up";
  requests = 0;
  const write = remoteWriteHandler({ appender: () => dst.appender(), acceptedMessages: [PROTO_V1, PROTO_V2] });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => {
      requests++;
      if (mode === "503") return new Response("down", { status: 503 });
      if (mode === "429") return new Response("slow down", { status: 429, headers: { "Retry-After": "0" } });
      if (mode === "400") return new Response("bad", { status: 400 });
      return write(req);
    },
  });
});

afterEach(async () => {
  for (const s of storages) await s.close();
  storages = [];
  server.stop(true);
  await src.close();
  await dst.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(extra = "", message = "prometheus.WriteRequest") {
  return parseConfig(`global:
  external_labels: { site: a }
remote_write:
  - url: http://127.0.0.1:${server.port}/api/v1/write
    name: test
    protobuf_message: ${message}
    queue_config: { batch_send_deadline: 50ms, max_samples_per_send: 100, min_backoff: 10ms, max_backoff: 50ms, retry_on_http_429: true }
${extra}`, "test.yml").config;
}

function storage(registry = new Registry()): RemoteWriteStorage {
  const s = new RemoteWriteStorage({ walDir: join(dir, "src", "wal"), progressDir: join(dir, "src", "remote_write"), registry, flushDeadlineMs: 200 });
  storages.push(s);
  return s;
}

/** Appends `n` samples to each of `series` series, at times from `t0` (1s apart). */
function appendSrc(series: number, n: number, t0: number): void {
  const app = src.appender();
  const refs = Array.from({ length: series }, (_, s) => app.ref(labelsFromRecord({ __name__: "q_metric", s: String(s) })));
  const R = new Uint32Array(series * n), T = new Float64Array(series * n), V = new Float64Array(series * n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < series; s++) {
      R[k] = refs[s]!;
      T[k] = t0 + i * 1000;
      V[k] = s * 1e6 + t0 / 1000 + i;
      k++;
    }
  }
  app.appendBatch(R, T, V, k);
}

async function dstSamples(): Promise<number> {
  const series = await dst.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "q_metric")], MIN_TIME, MAX_TIME);
  return series.reduce((n, s) => n + s.samples().length, 0);
}

function metric(registry: Registry, name: string): number {
  const line = registry.render().split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : NaN;
}

describe("remote write queue", () => {
  test("sends what is appended after it starts, with external labels and exact values", async () => {
    appendSrc(5, 3, 1_000_000); // before the queue starts: not sent
    const registry = new Registry();
    await storage(registry).applyConfig(config());
    appendSrc(50, 10, 2_000_000);
    await waitUntil("500 samples at the receiver", async () => (await dstSamples()) === 500);
    const one = await dst.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "s", "7")], MIN_TIME, MAX_TIME);
    expect(one[0]!.labels).toEqual(labelsFromRecord({ __name__: "q_metric", s: "7", site: "a" }));
    const b = one[0]!.samples();
    expect(Array.from(b.t.subarray(0, b.length))).toEqual(Array.from({ length: 10 }, (_, i) => 2_000_000 + i * 1000));
    expect(Array.from(b.v.subarray(0, b.length))).toEqual(Array.from({ length: 10 }, (_, i) => 7e6 + 2000 + i));
    await waitUntil("samples_total", () => metric(registry, "prometheus_remote_storage_samples_total") === 500);
    expect(metric(registry, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")).toBe(2009);
    expect(metric(registry, "prometheus_remote_storage_samples_pending")).toBe(0);
  });

  test("2.0 messages, staleness markers bit for bit", async () => {
    await storage().applyConfig(config("", "io.prometheus.write.v2.Request"));
    const app = src.appender();
    const ref = app.ref(labelsFromRecord({ __name__: "q_metric", s: "stale" }));
    const v = Float64Array.of(1, 0);
    new BigUint64Array(v.buffer)[1] = 0x7ff0000000000002n;
    app.appendBatch(Uint32Array.of(ref, ref), Float64Array.of(5000, 6000), v, 2);
    await waitUntil("2 samples", async () => (await dstSamples()) === 2);
    const s = await dst.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "s", "stale")], MIN_TIME, MAX_TIME);
    expect(isStaleAt(s[0]!.samples().v, 1)).toBe(true);
  });

  test("5xx and 429 are retried until the endpoint is back; nothing is lost", async () => {
    const registry = new Registry();
    await storage(registry).applyConfig(config());
    mode = "503";
    appendSrc(20, 5, 3_000_000);
    await waitUntil("retries", () => metric(registry, "prometheus_remote_storage_samples_retried_total") > 0);
    mode = "429";
    await waitUntil("more requests", () => requests > 10);
    mode = "up";
    await waitUntil("100 samples at the receiver", async () => (await dstSamples()) === 100);
    expect(metric(registry, "prometheus_remote_storage_samples_failed_total")).toBe(0);
  });

  test("other 4xx drop the batch and count it failed", async () => {
    const registry = new Registry();
    await storage(registry).applyConfig(config());
    mode = "400";
    appendSrc(10, 1, 4_000_000);
    await waitUntil("failed samples", () => metric(registry, "prometheus_remote_storage_samples_failed_total") === 10);
    mode = "up";
    appendSrc(10, 1, 4_100_000);
    await waitUntil("the later samples", async () => (await dstSamples()) === 10);
  });

  test("an outage plus a restart loses nothing still in the WAL", async () => {
    const first = storage();
    await first.applyConfig(config());
    appendSrc(10, 2, 5_000_000);
    await waitUntil("first samples", async () => (await dstSamples()) === 20);
    mode = "503";
    appendSrc(10, 3, 5_100_000); // pending when the queue stops
    await waitUntil("a failed attempt", () => requests > 3);
    await first.close();
    appendSrc(10, 4, 5_200_000); // appended while no queue runs
    const second = storage();
    await second.applyConfig(config());
    appendSrc(10, 1, 5_300_000);
    const before = requests;
    await waitUntil("the new queue to try and be refused", () => requests > before);
    expect(await dstSamples()).toBe(20);
    mode = "up";
    await waitUntil("every sample", async () => (await dstSamples()) === 100);
  });

  test("a reload with the same config keeps the queue without resending", async () => {
    const s = storage();
    await s.applyConfig(config());
    appendSrc(10, 2, 6_000_000);
    await waitUntil("samples", async () => (await dstSamples()) === 20);
    const before = requests;
    await s.applyConfig(config());
    await Bun.sleep(300);
    expect(requests).toBe(before);
    expect(s.queueNames()).toEqual(["test"]);
    await s.applyConfig(parseConfig("global: {}\n", "x.yml").config);
    expect(s.queueNames()).toEqual([]);
  });

  test("write_relabel_configs drop series before sending", async () => {
    const registry = new Registry();
    await storage(registry).applyConfig(config(`    write_relabel_configs: [{ source_labels: [s], regex: "1.*", action: drop }]`));
    appendSrc(20, 1, 7_000_000);
    await waitUntil("kept samples", async () => (await dstSamples()) === 9);
    expect(metric(registry, "prometheus_remote_storage_samples_dropped_total")).toBe(11);
  });
});

describe("retry decisions", () => {
  test("Retry-After in seconds or as a date; which statuses retry", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryableStatus(500, false)).toBe(true);
    expect(retryableStatus(429, false)).toBe(false);
    expect(retryableStatus(429, true)).toBe(true);
    expect(retryableStatus(400, true)).toBe(false);
  });
});

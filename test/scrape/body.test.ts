/**
 * Reading and decoding scrape bodies in steps: line-aligned segments,
 * streaming decompression bounded by body_size_limit, invalid UTF-8, the
 * shared scrape scheduler, and appending a raw body in paused steps.
 */
import { describe, expect, test } from "bun:test";
import { labelsFromRecord, labelsKey } from "../../src/model/index.ts";
import { TargetSeries, type AppendSettings } from "../../src/scrape/index.ts";
import { bodySegments, BodySizeLimitError, readBody, type RawBody } from "../../src/scrape/body.ts";
import { ScrapeScheduler } from "../../src/scrape/scheduler.ts";
import { RecordingAppender } from "./helpers.ts";

const enc = new TextEncoder();

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < parts.length) controller.enqueue(parts[i++]!);
      else controller.close();
    },
  });
}

function chunked(bytes: Uint8Array, size: number): RawBody {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return { chunks, size: bytes.length };
}

function lines(n: number, prefix = "m"): string {
  let s = "";
  for (let i = 0; i < n; i++) s += `${prefix}{i="${i}"} ${i}\n`;
  return s;
}

describe("bodySegments", () => {
  test("segments end at line ends, whatever the chunking, and join to the body", () => {
    const text = lines(500);
    for (const chunkSize of [1, 7, 100, 4096, 1 << 20]) {
      const segs = [...bodySegments(chunked(enc.encode(text), chunkSize), 256)];
      expect(segs.map((s) => s.text).join("")).toBe(text);
      expect(segs.length).toBeGreaterThan(10);
      for (const s of segs) {
        expect(s.text.endsWith("\n")).toBe(true);
        expect(s.invalidUtf8).toBe(false);
      }
    }
  });

  test("a line longer than a segment stays whole; a last line without a line end is kept", () => {
    const long = `m{v="${"x".repeat(2000)}"} 1\n`;
    const segs = [...bodySegments(chunked(enc.encode(`a 1\n${long}b 2`), 64), 256)].map((s) => s.text);
    expect(segs.join("")).toBe(`a 1\n${long}b 2`);
    expect(segs.some((s) => s.includes(long))).toBe(true);
    expect(segs[segs.length - 1]!.endsWith("b 2")).toBe(true);
  });

  test("multi-byte characters split across chunks decode intact; invalid bytes are flagged", () => {
    const text = 'm{v="größe ✓"} 1\n';
    const ok = [...bodySegments(chunked(enc.encode(text), 1))];
    expect(ok.map((s) => s.text).join("")).toBe(text);
    expect(ok.every((s) => !s.invalidUtf8)).toBe(true);
    const bad = Uint8Array.from([...enc.encode('m{v="'), 0xff, 0xfe, 0xc3, 0x28, ...enc.encode('"} 1\n')]);
    const segs = [...bodySegments(chunked(bad, 3))];
    expect(segs.some((s) => s.invalidUtf8)).toBe(true);
    expect(segs.map((s) => s.text).join("")).toContain("\uFFFD");
  });
});

describe("readBody", () => {
  test("reads a plain body and enforces the limit on its bytes", async () => {
    const body = enc.encode(lines(100));
    const r = await readBody(streamOf([body.subarray(0, 50), body.subarray(50)]), null, 0);
    expect(r.size).toBe(body.length);
    expect(Buffer.concat(r.chunks).toString()).toBe(lines(100));
    expect(readBody(streamOf([body]), "identity", body.length - 1)).rejects.toBeInstanceOf(BodySizeLimitError);
    expect((await readBody(streamOf([body]), "", body.length)).size).toBe(body.length);
  });

  test("decompresses gzip and deflate as it reads", async () => {
    const text = lines(2000);
    const gz = Bun.gzipSync(enc.encode(text));
    const r = await readBody(streamOf([gz.subarray(0, 100), gz.subarray(100)]), "gzip", 0);
    expect(Buffer.concat(r.chunks).toString()).toBe(text);
    const deflated = Bun.deflateSync(enc.encode(text));
    // HTTP "deflate" is the zlib format: a 2-byte header, the raw stream and an Adler-32 trailer.
    const zlib = await import("node:zlib");
    const z = zlib.deflateSync(Buffer.from(text));
    expect(deflated.length).toBeGreaterThan(0);
    const r2 = await readBody(streamOf([z]), "deflate", 0);
    expect(Buffer.concat(r2.chunks).toString()).toBe(text);
  });

  test("a gzip bomb stops at the limit after inflating little more than the limit", async () => {
    // 64 gzip members of 4 MiB of zeros each: 256 MiB inflated (gunzip reads concatenated members).
    const member = Bun.gzipSync(new Uint8Array(4 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    const started = performance.now();
    let err: unknown;
    try {
      await readBody(streamOf([bomb]), "gzip", 1024 * 1024);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BodySizeLimitError);
    expect((err as Error).message).toBe("body size limit exceeded");
    // Inflating all 256 MiB takes seconds; stopping at 1 MiB takes milliseconds (generous margin for a loaded machine).
    expect(performance.now() - started).toBeLessThan(3000);
  }, 20_000);

  test("corrupt compression and unknown encodings fail with a message naming them", async () => {
    expect(readBody(streamOf([enc.encode("not gzip at all")]), "gzip", 0)).rejects.toThrow(/^gzip: /);
    expect(readBody(streamOf([enc.encode("x")]), "br", 0)).rejects.toThrow('unsupported Content-Encoding "br"');
  });
});

describe("ScrapeScheduler", () => {
  test("a job may work until the turn's budget is used", async () => {
    const sched = new ScrapeScheduler(5);
    const job = sched.job();
    expect(job.due()).toBe(false);
    const until = performance.now() + 6;
    while (performance.now() < until) {
      // busy
    }
    expect(job.due()).toBe(true);
    // Other jobs in the same turn share the budget.
    expect(sched.job().due()).toBe(true);
    await job.pause();
    expect(job.slices).toBe(1);
    expect(job.due()).toBe(false);
  });

  test("paused jobs resume one per turn, fewest slices first", async () => {
    const sched = new ScrapeScheduler(5);
    const heavy = sched.job(), light = sched.job(), fresh = sched.job();
    heavy.slices = 10;
    light.slices = 2;
    const order: string[] = [];
    await Promise.all([
      heavy.pause().then(() => order.push("heavy")),
      light.pause().then(() => order.push("light")),
      fresh.pause().then(() => order.push("fresh")),
    ]);
    expect(order).toEqual(["fresh", "light", "heavy"]);
  });
});

const TARGET = labelsFromRecord({ job: "node", instance: "h:9100" });
const SETTINGS: AppendSettings = {
  honorLabels: false, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0,
  labelNameLengthLimit: 0, labelValueLengthLimit: 0, metricRelabel: [], nameValidation: "utf8",
};
const key = (rec: Record<string, string>) => labelsKey(labelsFromRecord({ job: "node", instance: "h:9100", ...rec }));

describe("TargetSeries.appendRaw", () => {
  test("a body of many segments, text and OpenMetrics, appends as appendBody does, pausing on the way", async () => {
    const sched = new ScrapeScheduler(0.01);
    const text = lines(12_000);
    const om = `# TYPE m gauge\n${text}# EOF\n`;
    for (const [body, ct] of [[text, "text/plain"], [om, "application/openmetrics-text; version=1.0.0"]] as const) {
      const a = new RecordingAppender(), b = new RecordingAppender();
      const raw = chunked(enc.encode(body), 1000);
      const job = sched.job();
      const r1 = await new TargetSeries(TARGET, SETTINGS).appendRaw(() => a, raw, ct, 1000, job);
      const r2 = new TargetSeries(TARGET, SETTINGS).appendBody(b, body, ct, 1000);
      expect(r1).toEqual(r2);
      expect(r1).toMatchObject({ scraped: 12_000, added: 12_000, error: null });
      expect(job.slices).toBeGreaterThan(2);
      expect(a.series(key({ __name__: "m", i: "11999" }))).toEqual([{ t: 1000, v: 11999, stale: false }]);
      expect(a.seriesKeys().length).toBe(12_000);
    }
  }, 30_000);

  test("an OpenMetrics body whose # EOF is missing fails even when split into segments", async () => {
    const r = await new TargetSeries(TARGET, SETTINGS).appendRaw(() => new RecordingAppender(), chunked(enc.encode(lines(12_000)), 4096), "application/openmetrics-text", 1000, new ScrapeScheduler().job());
    expect(r.error).toContain("data does not end with # EOF");
  });

  test("invalid UTF-8 in a label value fails the scrape with Prometheus's error and stores nothing of it", async () => {
    const app = new RecordingAppender();
    const ts = new TargetSeries(TARGET, SETTINGS);
    const job = new ScrapeScheduler().job();
    await ts.appendRaw(() => app, chunked(enc.encode("ok 1\n"), 10), "text/plain", 1000, job);
    const bad = Uint8Array.from([...enc.encode('ok 2\nbu_metric{v="'), 0xff, 0xfe, 0xc3, 0x28, ...enc.encode('"} 1\n')]);
    const r = await ts.appendRaw(() => app, chunked(bad, 7), "text/plain", 2000, job);
    expect(r.error).toBe("invalid UTF-8 label value");
    expect(app.seriesKeys()).toEqual([key({ __name__: "ok" })]);
    expect(app.series(key({ __name__: "ok" }))).toEqual([{ t: 1000, v: 1, stale: false }, { t: 2000, v: NaN, stale: true }]);
    // A U+FFFD sent as valid UTF-8 is a character like any other.
    const r2 = await ts.appendRaw(() => app, chunked(enc.encode('fine{v="\uFFFD"} 1\n'), 5), "text/plain", 3000, job);
    expect(r2.error).toBeNull();
  });

  test("an abort while paused stops the append without storing anything", async () => {
    const app = new RecordingAppender();
    const ctl = new AbortController();
    const sched = new ScrapeScheduler(0.01);
    const pending = new TargetSeries(TARGET, SETTINGS).appendRaw(() => app, chunked(enc.encode(lines(12_000)), 4096), "text/plain", 1000, sched.job(), ctl.signal);
    ctl.abort();
    const r = await pending;
    expect(r.error).toBe("scrape aborted");
    expect(app.batches).toBe(0);
  });
});

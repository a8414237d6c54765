import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../../../src/model/index.ts";
import { Head, MemPostings, postingsStats } from "../../../src/tsdb/head/index.ts";
import { MAX_TIME, MIN_TIME } from "../../../src/tsdb/types.ts";

const dirs: string[] = [];
const heads: Head[] = [];
afterEach(async () => {
  for (const h of heads.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openHead(): Promise<Head> {
  const dir = mkdtempSync(join(tmpdir(), "promts-stats-"));
  dirs.push(dir);
  const head = await Head.open({ dir });
  heads.push(head);
  return head;
}

/** Prometheus's label size estimate: each string as uvarint length + bytes. */
const size = (name: string, value: string) => 1 + name.length + 1 + value.length;

describe("head.stats", () => {
  test("an empty head reports zero counts and the empty time bounds", async () => {
    const head = await openHead();
    expect(head.stats()).toEqual({
      headStats: { numSeries: 0, numLabelPairs: 0, chunkCount: 0, minTime: MAX_TIME, maxTime: MIN_TIME },
      seriesCountByMetricName: [],
      labelValueCountByLabelName: [],
      memoryInBytesByLabelName: [],
      seriesCountByLabelValuePair: [],
    });
  });

  test("counts series, label pairs and chunks, with top-N lists sorted by value then name", async () => {
    const head = await openHead();
    const app = head.appender();
    const sets: Record<string, string>[] = [
      { __name__: "up", job: "api", instance: "a" },
      { __name__: "up", job: "api", instance: "b" },
      { __name__: "up", job: "node", instance: "a" },
      { __name__: "http_requests_total", job: "api", instance: "a", code: "200" },
      { __name__: "http_requests_total", job: "api", instance: "a", code: "500" },
      { __name__: "go_goroutines", job: "api", instance: "c" },
    ];
    const refs = Uint32Array.from(sets.map((s) => app.ref(labelsFromRecord(s))));
    app.appendBatch(refs, new Float64Array(refs.length).fill(5000), new Float64Array(refs.length).fill(1), refs.length);
    app.appendBatch(refs, new Float64Array(refs.length).fill(9000), new Float64Array(refs.length).fill(2), refs.length);

    const stats = head.stats(3);
    expect(stats.headStats).toEqual({ numSeries: 6, numLabelPairs: 3 + 2 + 3 + 2, chunkCount: 6, minTime: 5000, maxTime: 9000 });
    expect(stats.seriesCountByMetricName).toEqual([
      { name: "up", value: 3 },
      { name: "http_requests_total", value: 2 },
      { name: "go_goroutines", value: 1 },
    ]);
    expect(stats.labelValueCountByLabelName).toEqual([
      { name: "__name__", value: 3 },
      { name: "instance", value: 3 },
      { name: "code", value: 2 },
    ]);
    expect(stats.seriesCountByLabelValuePair).toEqual([
      { name: "job=api", value: 5 },
      { name: "instance=a", value: 4 },
      { name: "__name__=up", value: 3 },
    ]);
    const nameBytes = 3 * size("__name__", "up") + 2 * size("__name__", "http_requests_total") + size("__name__", "go_goroutines");
    const jobBytes = 5 * size("job", "api") + size("job", "node");
    const instanceBytes = 4 * size("instance", "a") + size("instance", "b") + size("instance", "c");
    expect(stats.memoryInBytesByLabelName).toEqual([
      { name: "__name__", value: nameBytes },
      { name: "instance", value: instanceBytes },
      { name: "job", value: jobBytes },
    ]);
    expect(head.stats().seriesCountByMetricName.length).toBe(3);
  });

  test("series removed by truncation no longer count", async () => {
    const head = await openHead();
    const app = head.appender();
    const old = app.ref(labelsFromRecord({ __name__: "old", job: "x" }));
    const kept = app.ref(labelsFromRecord({ __name__: "kept", job: "y" }));
    app.appendBatch(Uint32Array.of(old, kept, kept), Float64Array.of(1000, 1000, 5000), Float64Array.of(1, 1, 1), 3);
    await head.truncate(3000);
    const stats = head.stats();
    expect(stats.headStats.numSeries).toBe(1);
    expect(stats.seriesCountByMetricName).toEqual([{ name: "kept", value: 1 }]);
    expect(stats.labelValueCountByLabelName).toEqual([{ name: "__name__", value: 1 }, { name: "job", value: 1 }]);
  });

  test("a bad limit is a clear error", () => {
    expect(() => postingsStats(new MemPostings(), "__name__", 0)).toThrow(/limit must be a positive integer/);
    expect(() => postingsStats(new MemPostings(), "__name__", 1.5)).toThrow(/got 1.5/);
  });
});

/**
 * What a target's series cache keeps in memory: its keys are cut out of the
 * scrape body, and in Bun a slice shares the buffer of the string it was cut
 * from, so a cache holding slices would hold every body it was built from.
 * The cache (and the head's label interner, and the metadata) keep copies of
 * their own instead.
 */
import { describe, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { ownString } from "../../src/base/index.ts";
import { labelsFromRecord, type Labels } from "../../src/model/index.ts";
import { TargetSeries, type AppendSettings } from "../../src/scrape/index.ts";
import { MemPostings } from "../../src/tsdb/head/postings.ts";
import type { AppendResult, Appender } from "../../src/tsdb/index.ts";

const SETTINGS: AppendSettings = {
  honorLabels: false, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0,
  labelNameLengthLimit: 0, labelValueLengthLimit: 0, metricRelabel: [], nameValidation: "utf8",
};

class DiscardingAppender implements Appender {
  private next = 1;
  ref(_labels: Labels): number {
    return this.next++;
  }
  appendBatch(_refs: Uint32Array, _t: Float64Array, _v: Float64Array, n: number): AppendResult {
    return { appended: n, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 };
  }
}

/** Bytes held outside the JS object heap (string buffers among them) after a full collection. */
function retainedBytes(): number {
  Bun.gc(true);
  Bun.gc(true);
  return heapStats().extraMemorySize;
}

/** A body decoded from bytes as the scrape loop does: 1,000 series, each after a long comment line. */
function body(target: number): string {
  const pad = "x".repeat(400);
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) lines.push(`# ${pad} ${target}`, `m_${i % 50}{t="${target}",i="${i}"} ${i}`);
  return new TextDecoder().decode(new TextEncoder().encode(lines.join("\n") + "\n"));
}

describe("memory held by scrape caches", () => {
  test("ownString gives a copy that does not keep the string it was cut from", () => {
    const before = retainedBytes();
    const kept: string[] = [];
    for (let i = 0; i < 40; i++) {
      const big = body(i);
      kept.push(ownString(big.slice(400, 440)));
    }
    const held = retainedBytes() - before;
    expect(kept.every((k) => k.length === 40)).toBe(true);
    expect(ownString("välue ✓")).toBe("välue ✓");
    // 40 bodies of ~430 KB each: kept whole they would be ~17 MB.
    expect(held).toBeLessThan(2_000_000);
  });

  test("a target's series cache holds its keys, not the bodies they were parsed from", () => {
    const app = new DiscardingAppender();
    const targets: TargetSeries[] = [];
    const before = retainedBytes();
    let bodyBytes = 0;
    for (let i = 0; i < 30; i++) {
      const ts = new TargetSeries(labelsFromRecord({ job: "j", instance: `h${i}` }), SETTINGS);
      const b = body(i);
      bodyBytes += b.length;
      const r = ts.appendBody(app, b, "text/plain", 1000);
      expect(r.error).toBeNull();
      expect(ts.cacheSize()).toBe(1000);
      targets.push(ts);
    }
    const held = retainedBytes() - before;
    console.log(`30 targets × 1,000 series: ${(held / 1e6).toFixed(1)} MB held outside the object heap for ${(bodyBytes / 1e6).toFixed(1)} MB of bodies`);
    // The keys are ~25 bytes each (0.75 MB in all); the bodies were ~13 MB.
    expect(held).toBeLessThan(bodyBytes * 0.25);
    expect(targets.length).toBe(30);
  });

  test("the head's label interner keeps copies of the strings it is handed", () => {
    const p = new MemPostings();
    const before = retainedBytes();
    for (let i = 0; i < 40; i++) {
      const big = body(i);
      // A new (name, value) pair from each body: the value's length differs.
      p.add(i + 1, [p.intern(big.slice(2, 6), big.slice(2, 40 + i))]);
    }
    const held = retainedBytes() - before;
    expect(p.get("xxxx", "x".repeat(38)).length).toBe(1);
    expect(p.get("xxxx", "x".repeat(77)).length).toBe(1);
    expect(held).toBeLessThan(2_000_000);
  });
});

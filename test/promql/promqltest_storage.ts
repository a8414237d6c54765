/**
 * A minimal in-memory Querier for engine tests: series are appended as
 * (t, v) arrays and selected by matchers. Kept for unit tests that must not
 * depend on the on-disk storage.
 *
 * @example
 * const st = new MemStorage();
 * st.append(labelsFromRecord({ __name__: "x" }), new Float64Array([0, 60000]), new Float64Array([1, 2]));
 * const q = st.querier();
 */
import { compareLabels, getLabel, labelsKey, type Labels, type Matcher } from "../../src/model/index.ts";
import type { ChunkMeta, LabelQueryOptions, Querier, SampleBatch, StoredSeries } from "../../src/tsdb/types.ts";

interface MemSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

/** In-memory series store; samples per series are kept sorted by time (later appends of the same t win). */
export class MemStorage {
  private readonly series = new Map<string, MemSeries>();

  /** Appends samples; values are copied bit for bit so staleness markers survive. */
  append(labels: Labels, t: Float64Array, v: Float64Array): void {
    const key = labelsKey(labels);
    const prev = this.series.get(key);
    const allT = new Float64Array((prev?.t.length ?? 0) + t.length);
    const allV = new Float64Array(allT.length);
    if (prev) {
      allT.set(prev.t);
      allV.set(prev.v);
    }
    allT.set(t, prev?.t.length ?? 0);
    allV.set(v, prev?.v.length ?? 0);
    const order = Array.from(allT.keys()).sort((a, b) => allT[a]! - allT[b]! || b - a);
    const keep = order.filter((idx, k) => k === 0 || allT[idx]! !== allT[order[k - 1]!]!);
    const outT = new Float64Array(keep.length), outV = new Float64Array(keep.length);
    const srcBits = new BigUint64Array(allV.buffer), dstBits = new BigUint64Array(outV.buffer);
    keep.forEach((idx, k) => {
      outT[k] = allT[idx]!;
      dstBits[k] = srcBits[idx]!;
    });
    this.series.set(key, { labels, t: outT, v: outV });
  }

  clear(): void {
    this.series.clear();
  }

  querier(): Querier {
    const all = [...this.series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    const matching = (ms: readonly Matcher[]): MemSeries[] => all.filter((s) => ms.every((m) => m.matches(getLabel(s.labels, m.name))));
    return {
      async select(matchers, mint, maxt): Promise<StoredSeries[]> {
        return matching(matchers).map((s) => ({
          labels: s.labels,
          chunks: (): ChunkMeta[] => [],
          samples: (): SampleBatch => {
            let lo = 0;
            while (lo < s.t.length && s.t[lo]! < mint) lo++;
            let hi = lo;
            while (hi < s.t.length && s.t[hi]! <= maxt) hi++;
            return { t: s.t.slice(lo, hi), v: s.v.slice(lo, hi), length: hi - lo };
          },
        }));
      },
      async labelNames(opts?: LabelQueryOptions): Promise<string[]> {
        const names = new Set<string>();
        for (const s of matching(opts?.matchers ?? [])) for (const l of s.labels) names.add(l.name);
        return [...names].sort();
      },
      async labelValues(name: string, opts?: LabelQueryOptions): Promise<string[]> {
        const values = new Set<string>();
        for (const s of matching(opts?.matchers ?? [])) {
          const v = getLabel(s.labels, name);
          if (v !== "") values.add(v);
        }
        return [...values].sort();
      },
      close(): void {},
    };
  }
}

/**
 * The HA gap filler's merge rule: inside a gap window a peer's sample is
 * kept only when no local sample of the series lies within 3/4 of the
 * step; outside the windows nothing is taken; a query not touching a gap
 * never reads the peer.
 */
import { expect, test } from "bun:test";
import { GapFillQueryable, gapsWithin, medianStep, missingSamples } from "../../src/remote/index.ts";
import type { SampleBatch } from "../../src/tsdb/index.ts";

function batch(ts: number[]): SampleBatch {
  return { t: Float64Array.from(ts), v: Float64Array.from(ts.map((t) => t / 1000)), length: ts.length };
}

test("peer samples fill the hole at their own phase, without landing next to local samples", () => {
  // Local scrapes at whole seconds, down from 10 s to 30 s; the peer scrapes at +500 ms.
  const local = batch([...Array.from({ length: 11 }, (_, i) => i * 1000), ...Array.from({ length: 11 }, (_, i) => 30_000 + i * 1000)]);
  const remote = batch(Array.from({ length: 40 }, (_, i) => 500 + i * 1000));
  expect(medianStep(remote)).toBe(1000);
  const kept = missingSamples(remote, local, [{ start: 10_001, end: 32_000 }], 1000);
  const ts = Array.from(kept.t);
  expect(ts[0]).toBe(11_500);
  expect(ts[ts.length - 1]).toBe(28_500);
  expect(ts.length).toBe(18);
  const all = [...Array.from(local.t), ...ts].sort((a, b) => a - b);
  for (let i = 1; i < all.length; i++) {
    expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(750);
    expect(all[i]! - all[i - 1]!).toBeLessThanOrEqual(1500);
  }
  // Values travel with their timestamps, NaN payloads included.
  expect(kept.v[0]).toBe(11.5);
});

test("with no local series the whole window is taken, and nothing outside it", () => {
  const remote = batch([1000, 2000, 3000, 4000, 5000]);
  expect(Array.from(missingSamples(remote, undefined, [{ start: 2000, end: 4000 }], 1000).t)).toEqual([2000, 3000, 4000]);
  expect(Array.from(missingSamples(remote, undefined, [{ start: 1500, end: 1600 }, { start: 4500, end: 9000 }], 1000).t)).toEqual([5000]);
});

test("equal timestamps count as present even with an unknown step", () => {
  expect(Array.from(missingSamples(batch([1000, 2000]), batch([2000]), [{ start: 0, end: 5000 }], 0).t)).toEqual([1000]);
});

test("gaps are clipped to the query range; a query not touching one does not reach the peer", async () => {
  expect(gapsWithin([{ start: 10, end: 20 }, { start: 40, end: 50 }], 15, 45)).toEqual([{ start: 15, end: 20 }, { start: 40, end: 45 }]);
  expect(gapsWithin([{ start: 10, end: 20 }], 21, 30)).toEqual([]);
  // Overlapping gaps (two quick restarts) are read as one window.
  expect(gapsWithin([{ start: 40, end: 60 }, { start: 10, end: 20 }, { start: 15, end: 30 }], 0, 100)).toEqual([{ start: 10, end: 30 }, { start: 40, end: 60 }]);
  let peerAsked = 0;
  const q = new GapFillQueryable({
    local: { querier: () => { throw new Error("local read"); } },
    gaps: () => [{ start: 10_000, end: 20_000 }],
    peers: () => {
      peerAsked++;
      return [];
    },
    externalLabels: () => ({}),
  });
  const outside = q.querier(0, 9_999);
  expect(await outside.select([], 0, 9_999)).toEqual([]);
  outside.close();
  expect(peerAsked).toBe(0);
  // Touching the gap with no live peer: an error the fan-out reports as a warning.
  const inside = q.querier(0, 15_000);
  const err = await inside.select([], 0, 15_000).then(() => undefined, (e: Error) => e);
  expect(err?.message).toContain("no live cluster peer");
  expect(peerAsked).toBe(1);
});

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, type Labels } from "../../../src/model/index.ts";
import { DEFAULT_MAX_REF, Head, type HeadFootprint } from "../../../src/tsdb/head/index.ts";
import { AppendStatus, MAX_TIME, MIN_TIME } from "../../../src/tsdb/types.ts";
import { WAL, encodeSamples, encodeSeries } from "../../../src/tsdb/wal/index.ts";

const dirs: string[] = [];
const heads: Head[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-churn-"));
  dirs.push(d);
  return d;
}
async function openHead(dir: string, maxRef?: number): Promise<Head> {
  const h = await Head.open({ dir, maxRef });
  heads.push(h);
  return h;
}
afterEach(async () => {
  for (const h of heads.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const seriesOf = (round: number, i: number): Labels => labelsFromRecord({ __name__: "churn", i: String(i), round: String(round) });

/** Creates `n` series of `round` and appends one sample (t, value round*1e6+i) to each; returns their refs. */
function addRound(head: Head, round: number, n: number, t: number): Uint32Array {
  const app = head.appender();
  const refs = new Uint32Array(n);
  for (let i = 0; i < n; i++) refs[i] = app.ref(seriesOf(round, i));
  const ts = new Float64Array(n).fill(t), vs = new Float64Array(n);
  for (let i = 0; i < n; i++) vs[i] = round * 1e6 + i;
  const res = app.appendBatch(refs, ts, vs, n);
  expect(res.appended).toBe(n);
  return refs;
}

/** Every live series' labels and samples, keyed by labels. */
async function dump(head: Head): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  const all = await head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "churn")], MIN_TIME, MAX_TIME);
  for (const s of all) out.set(labelsKey(s.labels), Array.from(s.samples().v));
  return out;
}

describe("series refs and slots", () => {
  test("refs wrap around maxRef, skip live refs, and replay keeps every series with its samples", async () => {
    const dir = tempDir();
    const head = await openHead(dir, 1000);
    const live = new Map<number, Labels>();
    let created = 0;
    for (let r = 1; r <= 20; r++) {
      const refs = addRound(head, r, 300, r * 1000);
      created += 300;
      // Rounds r-1 and r stay; older ones are truncated away.
      await head.truncate((r - 1) * 1000);
      for (const [ref] of live) if (head.seriesLabels(ref) === undefined) live.delete(ref);
      for (let i = 0; i < refs.length; i++) {
        expect(refs[i]!).toBeGreaterThanOrEqual(1);
        expect(refs[i]!).toBeLessThanOrEqual(1000);
        expect(live.has(refs[i]!)).toBe(false); // never a ref a live series holds
        live.set(refs[i]!, seriesOf(r, i));
      }
      expect(head.numSeries()).toBe(r === 1 ? 300 : 600);
    }
    expect(created).toBeGreaterThan(5 * 1000);
    for (const [ref, ls] of live) expect(labelsKey(head.seriesLabels(ref)!)).toBe(labelsKey(ls));
    const before = await dump(head);
    expect(before.size).toBe(600);
    expect(before.get(labelsKey(seriesOf(20, 7)))).toEqual([20e6 + 7]);
    await head.close();

    const reopened = await openHead(dir, 1000);
    expect(reopened.numSeries()).toBe(600);
    expect(await dump(reopened)).toEqual(before);
    for (const [ref, ls] of live) expect(labelsKey(reopened.seriesLabels(ref)!)).toBe(labelsKey(ls));
    // New series after replay continue the sequence without taking a live ref.
    const more = addRound(reopened, 21, 300, 21_000);
    for (const ref of more) expect(live.has(ref)).toBe(false);
    expect(reopened.numSeries()).toBe(900);
  });

  test("a truncated series' ref gets UnknownRef, and the same labels get a new ref", async () => {
    const head = await openHead(tempDir());
    const [old] = addRound(head, 1, 1, 1000);
    addRound(head, 2, 1, 5000);
    await head.truncate(2000);
    const app = head.appender();
    const status = new Uint8Array(1);
    const res = app.appendBatch(Uint32Array.of(old!), Float64Array.of(6000), Float64Array.of(1), 1, status);
    expect(res.unknownRef).toBe(1);
    expect(status[0]).toBe(AppendStatus.UnknownRef);
    const again = app.ref(seriesOf(1, 0));
    expect(again).not.toBe(old!);
    expect(app.appendBatch(Uint32Array.of(again), Float64Array.of(6000), Float64Array.of(1), 1).appended).toBe(1);
  });

  test("with the default maxRef, refs past 2^26 work and the counter wraps after 2^32 - 1", async () => {
    expect(DEFAULT_MAX_REF).toBe(2 ** 32 - 1);
    const dir = tempDir();
    // A WAL as a long-running head would have left it: live series with refs far past 2^26 and near 2^32.
    const high = [2 ** 26 + 5, 2 ** 31, DEFAULT_MAX_REF - 3];
    const wal = await WAL.open({ dir: join(dir, "wal") });
    wal.log([
      encodeSeries(high.map((ref, i) => ({ ref, labels: seriesOf(0, i) }))),
      encodeSamples(Uint32Array.from(high), new Float64Array(3).fill(1000), Float64Array.of(1, 2, 3), 3),
    ]);
    await wal.close();
    const head = await openHead(dir);
    expect(head.numSeries()).toBe(3);
    expect(head.footprint().nextRef).toBe(DEFAULT_MAX_REF - 2);
    // The next refs run up to 2^32 - 1, then wrap to 1, 2, …
    const refs = addRound(head, 1, 6, 2000);
    expect(Array.from(refs)).toEqual([DEFAULT_MAX_REF - 2, DEFAULT_MAX_REF - 1, DEFAULT_MAX_REF, 1, 2, 3]);
    const app = head.appender();
    const res = app.appendBatch(Uint32Array.from([...high, ...refs]), new Float64Array(9).fill(3000), new Float64Array(9).fill(9), 9);
    expect(res.appended).toBe(9);
    const before = await dump(head);
    expect(before.get(labelsKey(seriesOf(0, 1)))).toEqual([2, 9]);
    expect(before.get(labelsKey(seriesOf(1, 3)))).toEqual([1e6 + 3, 9]);
    await head.close();
    const reopened = await openHead(dir);
    expect(await dump(reopened)).toEqual(before);
    expect(reopened.footprint().nextRef).toBe(4);
    expect(labelsKey(reopened.seriesLabels(2 ** 31)!)).toBe(labelsKey(seriesOf(0, 1)));
  });

  test("after most series go at once, truncation compacts the tables; moved series keep refs, labels and samples", async () => {
    const head = await openHead(tempDir());
    const all = addRound(head, 1, 30_000, 1000);
    const peak = head.footprint();
    expect(peak.slotsInUse).toBe(30_000);
    // Every 100th series gets a newer sample; the others are truncated away.
    const keep = all.filter((_, i) => i % 100 === 0);
    const app = head.appender();
    expect(app.appendBatch(keep, new Float64Array(keep.length).fill(5000), new Float64Array(keep.length).fill(7), keep.length).appended).toBe(keep.length);
    await head.truncate(2000);
    const after = head.footprint();
    expect(after.series).toBe(300);
    expect(after.slotsInUse).toBe(300);
    expect(after.slotCapacity).toBeLessThanOrEqual(1024);
    expect(after.indexBytes).toBeLessThan(peak.indexBytes / 8);
    expect(after.chunkStoreBytes).toBeLessThan(peak.chunkStoreBytes / 8);
    for (let k = 0; k < keep.length; k++) expect(labelsKey(head.seriesLabels(keep[k]!)!)).toBe(labelsKey(seriesOf(1, k * 100)));
    const got = await dump(head);
    expect(got.size).toBe(300);
    expect(got.get(labelsKey(seriesOf(1, 29_900)))).toEqual([7]);
    // Appends to moved series and new series go on working.
    const res = app.appendBatch(keep, new Float64Array(keep.length).fill(6000), new Float64Array(keep.length).fill(8), keep.length);
    expect(res.appended).toBe(keep.length);
    addRound(head, 2, 500, 6000);
    expect((await dump(head)).get(labelsKey(seriesOf(1, 29_900)))).toEqual([7, 8]);
    expect(head.numSeries()).toBe(800);
  });
});

interface ChurnLine {
  round: number;
  created: number;
  live: number;
  rss: number;
  truncateCpuMs: number;
  footprint: HeadFootprint;
}

const CHILD = join(import.meta.dir, "fixtures", "churn_child.ts");

test("2M series created over time, 20k live: memory and truncation time follow the 20k", async () => {
  const dir = tempDir();
  const rounds = 100, perRound = 20_000;
  const child = Bun.spawn([process.execPath, CHILD, dir, String(rounds), String(perRound), "10"], { stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => child.kill(), 560_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  if (code !== 0) throw new Error(`churn child exited ${code}: ${err}`);
  const lines = out.trim().split("\n").map((l) => JSON.parse(l) as ChurnLine);
  const first = lines[0]!, early = lines.find((l) => l.round === 10)!, last = lines[lines.length - 1]!;
  expect(last.created).toBe(2_000_000);
  for (const l of lines) {
    expect(l.live).toBe(perRound);
    // Tables sized by the live series (at most two rounds' worth of slots), not by the 2M created.
    expect(l.footprint.slotsInUse).toBeLessThanOrEqual(2 * perRound);
    expect(l.footprint.slotCapacity).toBeLessThanOrEqual(4 * 2 * perRound);
    expect(l.footprint.indexBytes).toBeLessThanOrEqual(2 * perRound * 64);
    expect(l.footprint.chunkStoreBytes).toBeLessThanOrEqual(2 * perRound * 256);
  }
  // RSS after 2M created is about what it was after 200k: growth bounded well below what 1.8M more
  // series would cost if anything were kept per series ever created (over 100 B each, 180 MB).
  expect(last.rss - early.rss).toBeLessThan(64 * 2 ** 20);
  // Truncation costs the same at 2M created as at 20k (generous bounds: a loaded machine).
  const lateCpu = Math.min(...lines.slice(-3).map((l) => l.truncateCpuMs));
  expect(lateCpu).toBeLessThan(4 * Math.max(first.truncateCpuMs, early.truncateCpuMs) + 250);
}, 600_000);

/**
 * The agent's WAL-only storage: appends land in the WAL only (the remote
 * write WAL watcher reads them), a restart keeps every series' ref,
 * truncation drops series not appended to since and older samples, and
 * reads are refused as Prometheus's agent refuses them.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher } from "../../src/model/index.ts";
import { WALWatcher } from "../../src/remote/index.ts";
import { AGENT_UNSUPPORTED, agentTruncationTime, openAgentDB } from "../../src/tsdb/index.ts";

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

/** Every sample in the WAL as "ref@t=v", read as the remote_write queue reads it. */
function walSamples(walDir: string): string[] {
  const w = new WALWatcher(walDir);
  w.start({ segment: 0, offset: 0 });
  const out: string[] = [];
  w.read(1e9, (rec) => {
    for (let i = 0; i < rec.length; i++) out.push(`${rec.refs[i]}@${rec.t[i]}=${rec.v[i]}`);
  });
  return out;
}

describe("agent storage", () => {
  test("appends go to the WAL only; a restart keeps refs; reads are refused", async () => {
    dir = mkdtempSync(join(tmpdir(), "promts-agent-"));
    let db = await openAgentDB({ dir, truncateFrequencyMs: 0 });
    const app = db.appender();
    const a = app.ref(labelsFromRecord({ __name__: "m", i: "a" }));
    const b = app.ref(labelsFromRecord({ __name__: "m", i: "b" }));
    expect(app.ref(labelsFromRecord({ i: "a", __name__: "m" }))).toBe(a);
    const res = app.appendBatch(Uint32Array.of(a, b, 999), Float64Array.of(1000, 1000, 1000), Float64Array.of(1, 2, 3), 3);
    expect(res).toEqual({ appended: 2, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 1 });
    await db.close();
    expect(readdirSync(dir)).toEqual(["wal"]);
    db = await openAgentDB({ dir, truncateFrequencyMs: 0 });
    expect(db.appender().ref(labelsFromRecord({ __name__: "m", i: "b" }))).toBe(b);
    const c = db.appender().ref(labelsFromRecord({ __name__: "m", i: "c" }));
    expect(c).toBeGreaterThan(b);
    db.appender().appendBatch(Uint32Array.of(c), Float64Array.of(2000), Float64Array.of(4), 1);
    expect(walSamples(join(dir, "wal"))).toEqual([`${a}@1000=1`, `${b}@1000=2`, `${c}@2000=4`]);
    const q = db.querier(0, 1);
    const err = await q.select([newMatcher("=", "__name__", "m")], 0, 1).then(() => undefined, (e: Error) => e);
    expect(err?.message).toBe(AGENT_UNSUPPORTED);
    await db.close();
  });

  test("truncation drops series idle since the truncation time and older samples", async () => {
    dir = mkdtempSync(join(tmpdir(), "promts-agent-"));
    const db = await openAgentDB({ dir, truncateFrequencyMs: 0, walSegmentSize: 64 * 1024 });
    const app = db.appender();
    const idle = app.ref(labelsFromRecord({ __name__: "idle" }));
    const live = app.ref(labelsFromRecord({ __name__: "live" }));
    app.appendBatch(Uint32Array.of(idle, live), Float64Array.of(1000, 1000), Float64Array.of(1, 1), 2);
    app.appendBatch(Uint32Array.of(live), Float64Array.of(9000), Float64Array.of(2), 1);
    await db.truncate(5000);
    expect(walSamples(join(dir, "wal"))).toEqual([`${live}@9000=2`]);
    // The idle series is gone: its ref is unknown, asking again gives a new one.
    expect(app.appendBatch(Uint32Array.of(idle), Float64Array.of(10_000), Float64Array.of(3), 1).unknownRef).toBe(1);
    expect(app.ref(labelsFromRecord({ __name__: "idle" }))).not.toBe(idle);
    expect(app.ref(labelsFromRecord({ __name__: "live" }))).toBe(live);
    await db.close();
  });

  test("the truncation time follows what remote write sent, within the retention bounds", () => {
    const now = 10 * 3600_000;
    expect(agentTruncationTime(now - 60_000, now)).toBe(now - 60_000 - 5 * 60_000);
    expect(agentTruncationTime(0, now)).toBe(now - 4 * 3600_000);
    expect(agentTruncationTime(now, now, 0, 3600_000)).toBe(now);
    expect(agentTruncationTime(Infinity, now)).toBe(Infinity);
  });
});

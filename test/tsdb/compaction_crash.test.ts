import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newMatcher } from "../../src/model/index.ts";
import { openDB } from "../../src/tsdb/index.ts";
import { MAX_TIME, MIN_TIME } from "../../src/tsdb/types.ts";
import { SERIES, SPAN, STEP, batchTime, valueAt } from "./fixtures/compact_child.ts";

const FIXTURE = join(import.meta.dir, "fixtures", "compact_child.ts");
const root = mkdtempSync(join(tmpdir(), "promts-compact-crash-"));
const template = join(root, "template");
let run = 0;

interface ChildRun {
  lines: string[];
  killed: boolean;
}

/** When to SIGKILL the child: `delayMs` after its `afterLogs`-th log line once compacting (0: after "compacting"). */
interface KillPoint {
  afterLogs: number;
  delayMs: number;
}

/** Runs the child, SIGKILLing it at `kill` when given. */
async function runChild(mode: "prepare" | "compact", dir: string, kill?: KillPoint): Promise<ChildRun> {
  const child = Bun.spawn([process.execPath, FIXTURE, mode, dir], { stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  let killed = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let compacting = false, logs = 0;
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`child ${mode} did not finish in time; last lines: ${lines.slice(-3).join(" | ")}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => { timer = setTimeout(() => resolve("timeout"), remaining); });
      const next = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (next === "timeout") continue;
      if (next.done) break;
      pending += decoder.decode(next.value, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line === "compacting") compacting = true;
        else if (compacting && line.startsWith("log ")) logs++;
        else continue;
        if (kill && !killTimer && logs === kill.afterLogs) {
          killTimer = setTimeout(() => {
            killed = child.exitCode === null;
            if (killed) process.kill(child.pid, "SIGKILL");
          }, kill.delayMs);
        }
      }
    }
  } finally {
    clearTimeout(killTimer);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
    await child.exited;
  }
  if (!killed && child.exitCode !== 0) throw new Error(`child ${mode} failed: ${await new Response(child.stderr).text()}`);
  return { lines, killed };
}

/** Timestamps every series must hold: the base data plus acknowledged batches; `extra` is a batch that may or may not have made it. */
function expectedTimes(lines: string[]): { times: number[]; extra: number } {
  const acks = lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4)));
  acks.forEach((k, i) => expect(k).toBe(i));
  const times: number[] = [];
  for (let t = 0; t < SPAN; t += STEP) times.push(t);
  for (const k of acks) times.push(batchTime(k));
  return { times, extra: batchTime(acks.length) };
}

/** Opens the DB in `dir` and checks it holds exactly the expected samples, each stored once; compacts and checks again. */
async function verify(dir: string, lines: string[]): Promise<void> {
  const db = await openDB({ dir, compactionIntervalMs: 0 });
  try {
    const leftovers = readdirSync(dir).filter((n) => n.includes(".tmp"));
    const walLeftovers = existsSync(join(dir, "wal")) ? readdirSync(join(dir, "wal")).filter((n) => n.includes(".tmp")) : [];
    expect([...leftovers, ...walLeftovers]).toEqual([]);
    const { times, extra } = expectedTimes(lines);
    for (let pass = 0; pass < 2; pass++) {
      const q = db.querier(MIN_TIME, MAX_TIME);
      const series = await q.select([newMatcher("=", "__name__", "crash_compact")], MIN_TIME, MAX_TIME);
      q.close();
      expect(series.length).toBe(SERIES);
      let total = 0;
      for (const s of series) {
        const i = Number(s.labels.find((l) => l.name === "series")!.value);
        const b = s.samples();
        const got = [...b.t.subarray(0, b.length)];
        const want = got.length === times.length + 1 && got[got.length - 1] === extra ? [...times, extra] : times;
        if (got.length !== want.length || got.some((t, j) => t !== want[j])) {
          throw new Error(`series ${i}: ${got.length} samples, want ${want.length}; first difference at ${got.findIndex((t, j) => t !== want[j])}`);
        }
        for (let j = 0; j < b.length; j++) if (b.v[j] !== valueAt(i, b.t[j]!)) throw new Error(`series ${i}: wrong value at ${b.t[j]}`);
        total += b.length;
      }
      // Stored once: what the blocks and the head hold adds up to what the query returns.
      const inBlocks = db.blocks().reduce((n, m) => n + m.stats.numSamples, 0);
      const inHead = db.head().querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "crash_compact")], MIN_TIME, MAX_TIME)
        .reduce((n, s) => n + s.samples().length, 0);
      expect(inBlocks + inHead).toBe(total);
      if (pass === 0) await db.compact();
    }
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  const prepared = await runChild("prepare", template);
  expect(prepared.lines).toEqual(["prepared"]);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function freshCopy(): string {
  const dir = join(root, `run-${run++}`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

test("SIGKILL at any point of a compaction loses nothing and duplicates nothing", async () => {
  const full = freshCopy();
  const done = await runChild("compact", full);
  expect(done.lines[done.lines.length - 1]).toMatch(/^compacted /);
  const steps = done.lines.filter((l) => l.startsWith("log ")).length;
  expect(steps).toBeGreaterThanOrEqual(5); // blocks written, checkpoints, blocks merged
  await verify(full, done.lines);

  // Kill points spread over the steps (while cutting blocks off the head, checkpointing, merging blocks), a few random milliseconds after each.
  const points: KillPoint[] = [0, 0.15, 0.3, 0.45, 0.65, 0.85].map((f) => ({ afterLogs: Math.floor(f * (steps - 1)), delayMs: Math.random() * 20 }));
  let killedRuns = 0;
  for (const point of points) {
    const dir = freshCopy();
    const res = await runChild("compact", dir, point);
    if (res.killed) killedRuns++;
    try {
      await verify(dir, res.lines);
    } catch (err) {
      throw new Error(`after a kill ${point.delayMs.toFixed(1)}ms after step ${point.afterLogs}: ${(err as Error).message}`);
    }
  }
  expect(killedRuns).toBeGreaterThanOrEqual(4);
}, 120_000);

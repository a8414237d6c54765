import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newMatcher } from "../../../src/model/index.ts";
import { Head } from "../../../src/tsdb/head/index.ts";
import { MAX_TIME, MIN_TIME } from "../../../src/tsdb/types.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const FIXTURE = join(import.meta.dir, "fixtures", "append_child.ts");
const SERIES = 50;

/** Runs the child until it has acknowledged at least `minBatches`, SIGKILLs it, and returns every acknowledged batch number. */
async function runAndKill(dir: string, minBatches: number): Promise<number[]> {
  const child = Bun.spawn([process.execPath, FIXTURE, dir, String(SERIES), "1000000"], { stdout: "pipe", stderr: "pipe" });
  const acked: number[] = [];
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const deadline = Date.now() + 30_000;
  let killed = false;
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`child acknowledged only ${acked.length} batches before the deadline`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => { timer = setTimeout(() => resolve("timeout"), remaining); });
      const next = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (next === "timeout") continue;
      const { value, done } = next;
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) acked.push(Number(l));
      if (!killed && acked.length >= minBatches) {
        process.kill(child.pid, "SIGKILL");
        killed = true;
      }
    }
  } finally {
    if (!killed) process.kill(child.pid, "SIGKILL");
    await child.exited;
  }
  expect(killed).toBe(true);
  expect(child.signalCode).toBe("SIGKILL");
  return acked;
}

test("every batch acknowledged before SIGKILL is there after reopening", async () => {
  const dir = mkdtempSync(join(tmpdir(), "promts-crash-"));
  dirs.push(dir);
  const acked = await runAndKill(dir, 200);
  expect(acked.length).toBeGreaterThanOrEqual(200);
  const head = await Head.open({ dir });
  try {
    const series = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "crash_test")], MIN_TIME, MAX_TIME);
    expect(series.length).toBe(SERIES);
    for (const s of series) {
      const i = Number(s.labels.find((l) => l.name === "series")!.value);
      const got = s.samples();
      const ts = new Set(got.t.subarray(0, got.length));
      for (const b of acked) {
        if (!ts.has(b * 1000)) throw new Error(`series ${i} lost acknowledged batch ${b}`);
      }
      const idx = got.t.indexOf(acked[acked.length - 1]! * 1000);
      expect(got.v[idx]).toBe(acked[acked.length - 1]! * SERIES + i);
    }
    // The reopened head keeps accepting appends after the last replayed sample.
    const app = head.appender();
    const ref = app.ref(series[0]!.labels);
    const res = app.appendBatch(Uint32Array.of(ref), Float64Array.of(head.maxTime() + 1000), Float64Array.of(1), 1);
    expect(res.appended).toBe(1);
  } finally {
    await head.close();
  }
});
